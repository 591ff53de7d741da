"""The tamper-evident audit trail: entries, their canonical encoding, hashing and verification.

Each accepted command produces one :class:`AuditEntry`. Entries of a case are numbered
1, 2, 3 … without gaps; each carries the previous entry's hash and its own SHA-256 hash
over a canonical encoding (sorted-key JSON, no insignificant white space, UTF-8, times as
ISO 8601 UTC with microseconds). Changing, removing, reordering or inserting any entry
changes a hash that a later entry or the case's head depends on, and :func:`verify_chain`
names the first entry that no longer fits.

Entries hold opaque ids, codes, flags, counts, dates and digests only. Free text never
reaches them: payload checking has already replaced it by a salted digest
(psirf-rules §7.2, Caldicott principles).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import attrs

from psirf_flow.domain import FactValue, GuardResult, frozen_facts
from psirf_flow.errors import AuditChainBroken


__all__ = [
    "GENESIS_HASH",
    "AuditEntry",
    "ChainVerification",
    "canonical_bytes",
    "entry_hash",
    "idempotency_digest",
    "make_entry",
    "raise_if_broken",
    "verify_chain",
]

#: The ``previous_hash`` of a case's first entry.
GENESIS_HASH: Final = "0" * 64

_FOUR_DIGIT_YEAR: Final = 1000
#: The canonical encoder, built once (what ``json.dumps`` with these options builds per call).
_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


@attrs.frozen
class AuditEntry:
    """One accepted command, as recorded forever.

    Attributes:
        case_id: The case.
        sequence: 1 for the opening entry, then one more for each accepted command.
        workflow: The workflow name.
        workflow_version: The definition version the case is pinned to.
        trigger: The trigger fired (``"open"`` for the opening entry).
        from_state: The state before (``None`` for the opening entry).
        to_state: The state after.
        actor_id: Who acted.
        role: The role they acted in.
        organisation: The organisation they acted for.
        guards: ``(name, ok, reason_code)`` for every guard evaluated.
        rules: Rule references (``rule_id@version``) behind the transition.
        data: The checked payload (ids, codes, flags, counts, dates, digests).
        recorded_at: When the command was accepted (aware UTC).
        previous_hash: The previous entry's hash (:data:`GENESIS_HASH` for the first).
        hash: SHA-256 over the canonical encoding of every other field.
    """

    case_id: str
    sequence: int
    workflow: str
    workflow_version: str
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    role: str
    organisation: str
    guards: tuple[tuple[str, bool, str], ...]
    rules: tuple[str, ...]
    data: Mapping[str, FactValue] = attrs.field(converter=frozen_facts, hash=False)
    recorded_at: datetime
    previous_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """Every field but ``hash``, as JSON-ready values (the hashed content)."""
        return {
            "case_id": self.case_id,
            "sequence": self.sequence,
            "workflow": self.workflow,
            "workflow_version": self.workflow_version,
            "trigger": self.trigger,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "actor_id": self.actor_id,
            "role": self.role,
            "organisation": self.organisation,
            "guards": [list(g) for g in self.guards],
            "rules": list(self.rules),
            "data": {k: list(v) if isinstance(v, tuple) else v for k, v in self.data.items()},
            "recorded_at": format_time(self.recorded_at),
            "previous_hash": self.previous_hash,
        }


def format_time(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with microseconds and a ``Z``."""
    utc = moment.astimezone(UTC)
    if utc.year >= _FOUR_DIGIT_YEAR:
        # The same text as the strftime below, about three times faster: isoformat pads
        # the year to four digits and, in UTC, always ends with "+00:00".
        return utc.isoformat(timespec="microseconds")[:-6] + "Z"
    # strftime does not pad years before 1000; keep its text so old hashes still verify.
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """Encode ``content`` canonically: sorted keys, compact separators, UTF-8."""
    return _CANONICAL.encode(content).encode()


def entry_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical encoding of ``content``."""
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def idempotency_digest(organisation: str, key: str) -> str:
    """What a store keeps for an idempotency key: a digest scoped by organisation.

    The key itself is never stored or echoed, and two organisations using the same key
    never meet: a replay is looked up within the actor's organisation only.
    """
    return hashlib.sha256(f"{organisation}\x1f{key}".encode()).hexdigest()


def make_entry(
    *,
    case_id: str,
    sequence: int,
    workflow: str,
    workflow_version: str,
    trigger: str,
    from_state: str | None,
    to_state: str,
    actor_id: str,
    role: str,
    organisation: str,
    guards: Iterable[GuardResult],
    rules: Iterable[str],
    data: Mapping[str, FactValue],
    recorded_at: datetime,
    previous_hash: str,
) -> AuditEntry:
    """Build an entry and compute its hash."""
    guard_rows = tuple((g.name, g.ok, g.reason_code) for g in guards)
    rule_refs = tuple(rules)
    values = dict(data)
    # Exactly what AuditEntry.content() returns for the entry built below, computed from
    # the values directly so that the entry is built once, with its hash.
    content: dict[str, Any] = {
        "case_id": case_id,
        "sequence": sequence,
        "workflow": workflow,
        "workflow_version": workflow_version,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "role": role,
        "organisation": organisation,
        "guards": [list(g) for g in guard_rows],
        "rules": list(rule_refs),
        "data": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
        "recorded_at": format_time(recorded_at),
        "previous_hash": previous_hash,
    }
    return AuditEntry(
        case_id=case_id,
        sequence=sequence,
        workflow=workflow,
        workflow_version=workflow_version,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor_id,
        role=role,
        organisation=organisation,
        guards=guard_rows,
        rules=rule_refs,
        data=values,
        recorded_at=recorded_at,
        previous_hash=previous_hash,
        hash=entry_hash(content),
    )


@attrs.frozen
class ChainVerification:
    """The result of verifying one case's audit trail.

    Attributes:
        case_id: The case.
        ok: True when every entry fits.
        entries: How many entries were checked.
        first_broken: Sequence number (position, counting from 1) of the first entry that
            does not fit, or ``None``.
        reason: What is wrong with it (empty when ``ok``).
    """

    case_id: str
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""


def verify_chain(
    case_id: str,
    entries: Sequence[AuditEntry],
    *,
    head_hash: str | None = None,
    expected_entries: int | None = None,
) -> ChainVerification:
    """Recompute a case's chain and name the first entry that does not fit.

    For each position ``n`` (counting from 1) the entry must belong to the case, carry
    sequence number ``n`` and hash to its stored hash; then its ``previous_hash`` must be
    the hash of entry ``n-1`` (or :data:`GENESIS_HASH`). Because each entry's
    ``previous_hash`` is covered by its own hash, a self-consistent entry whose link does
    not match proves that the entry *before* it was rewritten (altered and re-hashed), and
    that earlier entry is the one named.

    Args:
        case_id: The case.
        entries: Its audit entries in stored order.
        head_hash: The hash the case row records as its latest entry; when given, the last
            entry must have it (catches a re-hashed last entry).
        expected_entries: How many entries the case says it has (its version); when given,
            a shorter trail is reported as missing entries.
    """
    count = len(entries)
    previous = GENESIS_HASH
    for position, entry in enumerate(entries, start=1):
        problem = _entry_problem(case_id, position, entry)
        if problem:
            return ChainVerification(case_id, False, count, position, problem)
        if entry.previous_hash != previous:
            if position == 1:
                return ChainVerification(
                    case_id, False, count, 1, "it does not start the chain (it was rewritten)"
                )
            return ChainVerification(
                case_id,
                False,
                count,
                position - 1,
                "its hash is not the one the next entry recorded (it was altered and "
                "its hash recomputed)",
            )
        previous = entry.hash
    if expected_entries is not None and count < expected_entries:
        return ChainVerification(
            case_id,
            False,
            count,
            count + 1,
            f"the case records {expected_entries} entries but the trail holds {count} "
            "(entries are missing)",
        )
    if head_hash is not None and head_hash != (previous if entries else ""):
        if not entries:
            return ChainVerification(
                case_id, False, 0, 1, "the case records entries but the trail is empty"
            )
        if expected_entries is None:
            return ChainVerification(
                case_id,
                False,
                count,
                count + 1,
                "the last entry is not the one the case records (entries are missing, or "
                "the last entry was altered and its hash recomputed)",
            )
        return ChainVerification(
            case_id,
            False,
            count,
            count,
            "its hash is not the one the case records (it was altered and its hash recomputed)",
        )
    return ChainVerification(case_id, True, count)


def _entry_problem(case_id: str, position: int, entry: AuditEntry) -> str:
    if entry.case_id != case_id:
        return f"it belongs to case {entry.case_id!r}"
    if entry.sequence != position:
        return f"its sequence number is {entry.sequence}, expected {position}"
    try:
        recomputed = entry_hash(entry.content())
    except (TypeError, ValueError):
        # Altered into something with no canonical encoding (a lone surrogate, NaN, …).
        return "its content cannot be encoded any more (it was altered)"
    if recomputed != entry.hash:
        return "its content does not match its hash (it was altered)"
    return ""


def raise_if_broken(result: ChainVerification) -> None:
    """Raise :class:`~psirf_flow.errors.AuditChainBroken` if ``result`` is not ok."""
    if not result.ok:
        raise AuditChainBroken(result.case_id, result.first_broken or 0, result.reason)
