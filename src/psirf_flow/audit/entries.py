"""Audit entries: their fields, their two formats, their hashes and the case digest.

Each accepted command produces one [`AuditEntry`][psirf_flow.audit.entries.AuditEntry]. Entries of a
case are numbered 1, 2, 3 … without gaps; each carries the previous entry's hash and its own hash
over a canonical encoding of every other field, so that changing, removing, reordering or
inserting an entry changes a hash a later entry (or the case's head) depends on.

Two formats coexist in one trail:

* **Format 1** (entries written before audit v2): SHA-256 over sorted-key compact JSON
  ([`legacy_canonical_bytes`][psirf_flow.audit.canonical.legacy_canonical_bytes]). They keep
  verifying byte for byte as before.
* **Format 2** (every new entry): the content also holds ``format``, ``case_digest`` (a
  digest of the case as it stands after the step,
  [`case_digest`][psirf_flow.audit.entries.case_digest]) and ``key_id``; it is encoded with RFC 8785
  ([`jcs_bytes`][psirf_flow.audit.canonical.jcs_bytes]) and hashed with HMAC-SHA-256 under the named
  key, or SHA-256 when no key is used (``key_id`` ``None``).

Entries hold opaque ids, codes, flags, counts, dates and digests only. Free text never
reaches them: payload checking has already replaced it by a keyed or salted digest
(psirf-rules §7.2, Caldicott principles).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from psirf_flow.audit.canonical import (
    SAFE_INTEGER,
    format_time,
    jcs_bytes,
    legacy_canonical_bytes,
)
from psirf_flow.audit.keys import AuditKeys
from psirf_flow.domain import Case, FactValue, GuardResult, frozen_facts
from psirf_flow.errors import InvalidInput, shown


__all__ = [
    "CASE_FIELDS",
    "CURRENT_FORMAT",
    "GENESIS_HASH",
    "LEGACY_FORMAT",
    "AuditEntry",
    "canonical_bytes",
    "case_differences",
    "case_digest",
    "case_digest_of",
    "entry_hash",
    "expected_hash",
    "hashes_match",
    "make_entry",
]

GENESIS_HASH: Final = "0" * 64
"""The ``previous_hash`` of a case's first entry."""
LEGACY_FORMAT: Final = 1
"""Entries written before audit v2: legacy JSON, SHA-256, no case digest."""
CURRENT_FORMAT: Final = 2
"""Entries written now: RFC 8785, HMAC-SHA-256 or SHA-256, with a case digest."""
CASE_FIELDS: Final = (
    "state",
    "held_from",
    "organisation",
    "workflow",
    "workflow_version",
    "version",
    "facts",
    "retention_class",
)
"""The case row fields a format 2 entry's ``case_digest`` covers, in this order."""
_FIELD_DIGITS: Final = 32
"""Hex digits kept of each field's SHA-256 in a case digest (128 bits)."""


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
        previous_hash: The previous entry's hash
            ([`GENESIS_HASH`][psirf_flow.audit.entries.GENESIS_HASH] for the first).
        hash: The hash over the canonical encoding of every other field (see the module).
        format: 1 for entries written before audit v2, 2 for new entries.
        case_digest: Format 2: the digest of the case after this step
            ([`case_digest`][psirf_flow.audit.entries.AuditEntry]).
        key_id: Format 2: the id of the HMAC key that made ``hash`` (``None``: SHA-256).
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
    format: int = LEGACY_FORMAT
    case_digest: str | None = None
    key_id: str | None = None

    def content(self) -> dict[str, Any]:
        """Every field but ``hash``, as JSON-ready values (the hashed content).

        A format 1 entry's content has exactly the fields format 1 hashed.
        """
        content: dict[str, Any] = {
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
        if self.format != LEGACY_FORMAT:
            content["format"] = self.format
            content["case_digest"] = self.case_digest
            content["key_id"] = self.key_id
        return content


def canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """Encode entry ``content`` canonically for its format.

    Content with ``"format": 2`` is encoded with RFC 8785; anything else as format 1 did
    (sorted keys, compact separators, UTF-8).
    """
    if content.get("format") == CURRENT_FORMAT:
        return jcs_bytes(content)
    return legacy_canonical_bytes(content)


def entry_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of the canonical encoding of ``content`` (an unkeyed entry's hash)."""
    return hashlib.sha256(canonical_bytes(content)).hexdigest()


def expected_hash(entry: AuditEntry, keys: AuditKeys | None) -> str | None:
    """The hash ``entry`` should carry, or ``None`` when its key is not in ``keys``.

    Raises:
        ValueError: If the entry's content has no canonical encoding any more.
        TypeError: Likewise, for a value of a type entries never hold.
    """
    if entry.format == LEGACY_FORMAT or entry.key_id is None:
        return entry_hash(entry.content())
    if keys is None:
        return None
    return keys.sign_with(entry.key_id, canonical_bytes(entry.content()))


def hashes_match(stored: str, expected: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode(), expected.encode())


# ------------------------------------------------------------------ the case digest


def _field_digest(value: Any) -> str:
    return hashlib.sha256(jcs_bytes(value)).hexdigest()[:_FIELD_DIGITS]


_scalar_digest = functools.lru_cache(maxsize=4096, typed=True)(_field_digest)
"""Digests of the text and number fields (states, codes, names, versions) recur on every
command: keep them (typed, so that ``1`` and ``True`` never share a digest)."""
_DIGEST_ORDER: Final = tuple(sorted(CASE_FIELDS))
"""The case digest's members in JCS order (all ASCII, so sorted by code point)."""


def case_digest_of(
    *,
    state: str,
    held_from: str | None,
    organisation: str,
    workflow: str,
    workflow_version: str,
    version: int,
    facts: Mapping[str, FactValue],
    retention_class: str,
) -> str:
    """The case digest of these field values (see `case_digest`)."""
    return _digest_text(
        {
            "state": state,
            "held_from": held_from,
            "organisation": organisation,
            "workflow": workflow,
            "workflow_version": workflow_version,
            "version": version,
            "facts": dict(facts),
            "retention_class": retention_class,
        }
    )


def _digest_text(values: Mapping[str, Any]) -> str:
    # What jcs_bytes gives for {name: digest} (ASCII names in sorted order, hex values),
    # written directly; a test checks it against the general encoder.
    parts = []
    for name in _DIGEST_ORDER:
        value = values[name]
        kind = type(value)
        if kind is str or value is None:
            digest = _scalar_digest(value)
        elif kind is int and -SAFE_INTEGER <= value <= SAFE_INTEGER:
            # A version number: its JCS encoding is its decimal digits.
            digest = hashlib.sha256(str(value).encode()).hexdigest()[:_FIELD_DIGITS]
        else:
            digest = _field_digest(value)
        parts.append(f'"{name}":"{digest}"')
    return "{" + ",".join(parts) + "}"


def _case_values(case: Case) -> dict[str, Any]:
    return {
        "state": case.state,
        "held_from": case.held_from,
        "organisation": case.organisation,
        "workflow": case.workflow,
        "workflow_version": case.workflow_version,
        "version": case.version,
        "facts": dict(case.facts),
        "retention_class": case.retention_class,
    }


def case_digest(case: Case) -> str:
    """Digest the case row fields an entry binds: `CASE_FIELDS`.

    The digest is the RFC 8785 encoding of an object naming each field with the first 32
    hex digits of the SHA-256 of that field's RFC 8785 encoding, so a mismatch can say
    *which* fields differ without recording their values. Timestamps and ``head_hash`` are
    not covered (the entry itself records its time and the chain its hash).

    Raises:
        InvalidInput: If ``case`` is not a [`Case`][psirf_flow.domain.Case].
    """
    if not isinstance(case, Case):
        raise InvalidInput("case", f"must be a Case, got {shown(case)}")
    return _known_digest(case)


def _known_digest(case: Case) -> str:
    """The case digest of ``case``: the one the decision core recorded with it, if any.

    The core stores on each case it makes the digest its entry recorded (computed from
    the same frozen fields); any other case (a row read from a database, a case built by
    hand or changed with ``attrs.evolve``) is digested afresh.
    """
    known = getattr(case, "_audit_digest", None)
    if type(known) is str:
        return known
    return _digest_text(_case_values(case))


def case_differences(case: Case, digest: str) -> tuple[str, ...]:
    """Name the fields of ``case`` that do not match ``digest`` (empty when they all do).

    A digest that cannot be read names every field.
    """
    if _known_digest(case) == digest:
        return ()
    values = _case_values(case)
    try:
        recorded = json.loads(digest)
    except ValueError:
        recorded = None
    if not isinstance(recorded, dict):
        return CASE_FIELDS
    return tuple(name for name in CASE_FIELDS if recorded.get(name) != _field_digest(values[name]))


# ------------------------------------------------------------------ building entries


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
    case_digest: str | None = None,
    keys: AuditKeys | None = None,
) -> AuditEntry:
    """Build a format 2 entry and compute its hash (one encoding, one hash).

    Args:
        case_id: The case.
        sequence: Its number in the case's trail.
        workflow: The workflow name.
        workflow_version: The pinned definition version.
        trigger: The trigger fired.
        from_state: The state before (``None`` when opening).
        to_state: The state after.
        actor_id: Who acted.
        role: The role they acted in.
        organisation: The organisation they acted for.
        guards: Every guard evaluated.
        rules: The rule references behind the step.
        data: The checked payload.
        recorded_at: When the command was accepted.
        previous_hash: The previous entry's hash.
        case_digest: [`case_digest`][psirf_flow.audit.entries.case_digest] of the case after the
            step.
        keys: When given, the hash is an HMAC under the active key, which the entry names.
    """
    guard_rows = tuple((g.name, g.ok, g.reason_code) for g in guards)
    rule_refs = tuple(rules)
    values = dict(data)
    key_id = keys.active if keys is not None else None
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
        "format": CURRENT_FORMAT,
        "case_digest": case_digest,
        "key_id": key_id,
    }
    encoded = jcs_bytes(content)
    digest = hashlib.sha256(encoded).hexdigest() if keys is None else keys.sign(encoded)
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
        hash=digest,
        format=CURRENT_FORMAT,
        case_digest=case_digest,
        key_id=key_id,
    )
