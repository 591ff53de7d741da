"""Verification: recompute a case's chain, check its links and its states, bind its case row.

[`verify_chain`][psirf_flow.audit.verify.verify_chain] names the first entry that does not fit and
says why; [`row_mismatch`][psirf_flow.audit.verify.row_mismatch] names the case-row fields that
disagree with the case's latest entry (the engine refuses to build on such a row). Both are pure.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from psirf_flow.audit.entries import (
    CURRENT_FORMAT,
    GENESIS_HASH,
    LEGACY_FORMAT,
    AuditEntry,
    case_differences,
    expected_hash,
    hashes_match,
)
from psirf_flow.audit.keys import AuditKeys
from psirf_flow.domain import Case
from psirf_flow.errors import AuditChainBroken, InvalidInput, shown


__all__ = [
    "ChainVerification",
    "describe_fields",
    "raise_if_broken",
    "row_mismatch",
    "verify_chain",
]


@attrs.frozen
class ChainVerification:
    """The result of verifying one case's audit trail.

    Attributes:
        case_id: The case.
        ok: True when every entry fits (and, when the case row was given, it matches).
        entries: How many entries were checked.
        first_broken: Sequence number (position, counting from 1) of the first entry that
            does not fit, or ``None``.
        reason: What is wrong with it (empty when ``ok``).
        cannot_check: True when an entry is signed with a key the verifier was not given:
            it is not known to be broken, but it cannot be shown to be intact either.
        mismatched_fields: The case-row fields that disagree with the latest entry.
    """

    case_id: str
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""
    cannot_check: bool = False
    mismatched_fields: tuple[str, ...] = ()


def describe_fields(fields: Sequence[str]) -> str:
    """Plain words for the differing ``fields``: "its state differs", "its state, facts differ"."""
    verb = "differs" if len(fields) == 1 else "differ"
    return f"its {', '.join(fields)} {verb}"


def row_mismatch(case: Case, head: AuditEntry | None) -> tuple[str, ...]:
    """Name the fields of the case row that disagree with its latest audit entry ``head``.

    ``version`` and ``head_hash`` must point at ``head``. A format 2 head binds every field
    of [`CASE_FIELDS`][psirf_flow.audit.entries.CASE_FIELDS] through its case digest; a format 1
    head records no digest, so only its ``to_state`` is compared (the rest is accepted).
    ``("audit_trail",)`` means the case has no entry at all.
    """
    if head is None:
        return ("audit_trail",)
    found: list[str] = []
    if head.sequence != case.version:
        found.append("version")
    if head.hash != case.head_hash:
        found.append("head_hash")
    if head.format == LEGACY_FORMAT:
        if head.to_state != case.state:
            found.append("state")
    elif head.case_digest is None:
        found.append("case_digest")
    else:
        found.extend(f for f in case_differences(case, head.case_digest) if f not in found)
    return tuple(found)


def _entry_problem(
    case_id: str, position: int, entry: AuditEntry, before: AuditEntry | None
) -> str:
    if entry.case_id != case_id:
        return f"it belongs to case {entry.case_id!r}"
    if entry.sequence != position:
        return f"its sequence number is {entry.sequence}, expected {position}"
    if entry.format not in {LEGACY_FORMAT, CURRENT_FORMAT}:
        return f"its format {entry.format} is unknown (it was altered)"
    if before is not None and entry.format < before.format:
        return "it is in the old format after a newer entry (it was forged or rewritten)"
    if before is not None and before.key_id is not None and entry.key_id is None:
        return "it carries no key after a keyed entry (it was forged without the key)"
    return ""


def _hash_problem(entry: AuditEntry, keys: AuditKeys | None) -> tuple[str, bool]:
    try:
        recomputed = expected_hash(entry, keys)
    except (TypeError, ValueError):
        # Altered into something with no canonical encoding (a lone surrogate, NaN, …).
        return "its content cannot be encoded any more (it was altered)", False
    if recomputed is None:
        return (
            f"it is signed with audit key {shown(entry.key_id)}, which was not supplied "
            "(it cannot be checked)",
            True,
        )
    if not hashes_match(entry.hash, recomputed):
        return "its content does not match its hash (it was altered)", False
    return "", False


def _state_problem(entry: AuditEntry, before: AuditEntry | None) -> str:
    expected = None if before is None else before.to_state
    if entry.from_state == expected:
        return ""
    if before is None:
        return f"it starts from state {entry.from_state!r} but opens the case"
    return (
        f"it starts from state {entry.from_state!r} but the entry before it ended in {expected!r}"
    )


def _head_problem(
    case_id: str,
    entries: Sequence[AuditEntry],
    last_hash: str,
    head_hash: str | None,
    expected_entries: int | None,
) -> ChainVerification | None:
    count = len(entries)
    previous = last_hash
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
    return None


def _check_arguments(  # noqa: PLR0917 - the arguments of verify_chain, checked together
    case_id: object,
    entries: object,
    head_hash: object,
    expected_entries: object,
    case: object,
    keys: object,
) -> None:
    """Refuse arguments of the wrong type with InvalidInput, before anything is compared."""
    if not isinstance(case_id, str):
        raise InvalidInput("case_id", f"must be text, got {shown(case_id)}")
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InvalidInput("entries", f"must be a sequence of audit entries, got {shown(entries)}")
    if not all(isinstance(entry, AuditEntry) for entry in entries):
        raise InvalidInput("entries", "must hold audit entries only")
    if head_hash is not None and not isinstance(head_hash, str):
        raise InvalidInput("head_hash", f"must be text or None, got {shown(head_hash)}")
    if expected_entries is not None and (
        isinstance(expected_entries, bool) or not isinstance(expected_entries, int)
    ):
        raise InvalidInput("expected_entries", "must be a whole number or None")
    if case is not None and not isinstance(case, Case):
        raise InvalidInput("case", f"must be a Case or None, got {shown(case)}")
    if keys is not None and not isinstance(keys, AuditKeys):
        raise InvalidInput("keys", f"must be AuditKeys or None, got {shown(keys)}")


def verify_chain(
    case_id: str,
    entries: Sequence[AuditEntry],
    *,
    head_hash: str | None = None,
    expected_entries: int | None = None,
    case: Case | None = None,
    keys: AuditKeys | None = None,
) -> ChainVerification:
    """Recompute a case's chain and name the first entry that does not fit.

    For each position ``n`` (counting from 1) the entry must belong to the case, carry
    sequence number ``n``, be in a known format no older than the entry before (and keyed
    if that one was), and hash to its stored hash (HMAC under its ``key_id`` for a keyed
    format 2 entry); its ``from_state`` must be the previous entry's ``to_state`` (``None``
    for the first); then its ``previous_hash`` must be the hash of entry ``n-1`` (or
    [`GENESIS_HASH`][psirf_flow.audit.entries.GENESIS_HASH]). Because each entry's
    ``previous_hash`` is covered by its own hash, a self-consistent entry whose link does
    not match proves that the entry *before* it was rewritten (altered and re-hashed), and
    that earlier entry is the one named.

    Args:
        case_id: The case.
        entries: Its audit entries in stored order.
        head_hash: The hash the case row records as its latest entry; when given, the last
            entry must have it (catches a re-hashed last entry). Taken from ``case`` when
            omitted.
        expected_entries: How many entries the case says it has (its version); when given,
            a shorter trail is reported as missing entries. Taken from ``case`` when
            omitted.
        case: The case row; when given it must match the last entry
            ([`row_mismatch`][psirf_flow.audit.verify.row_mismatch]): a difference names that entry
            and the fields.
        keys: The audit keys; a keyed entry whose key is not here cannot be checked, and
            the result is not ok (``cannot_check``).

    Raises:
        InvalidInput: If an argument is not of the type above (nothing is verified).
    """
    _check_arguments(case_id, entries, head_hash, expected_entries, case, keys)
    if case is not None:
        head_hash = case.head_hash if head_hash is None else head_hash
        expected_entries = case.version if expected_entries is None else expected_entries
    count = len(entries)
    previous = GENESIS_HASH
    before: AuditEntry | None = None
    for position, entry in enumerate(entries, start=1):
        problem = _entry_problem(case_id, position, entry, before)
        if problem:
            return ChainVerification(case_id, False, count, position, problem)
        problem, unknown_key = _hash_problem(entry, keys)
        if problem:
            return ChainVerification(
                case_id, False, count, position, problem, cannot_check=unknown_key
            )
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
        problem = _state_problem(entry, before)
        if problem:
            return ChainVerification(case_id, False, count, position, problem)
        previous = entry.hash
        before = entry
    found = _head_problem(case_id, entries, previous, head_hash, expected_entries)
    if found is not None:
        return found
    if case is not None and before is not None:
        fields = row_mismatch(case, before)
        if fields:
            return ChainVerification(
                case_id,
                False,
                count,
                count,
                f"the case row does not match this entry: {describe_fields(fields)} "
                "(the case row was altered)",
                mismatched_fields=fields,
            )
    return ChainVerification(case_id, True, count)


def raise_if_broken(result: ChainVerification) -> None:
    """Raise [`AuditChainBroken`][psirf_flow.errors.AuditChainBroken] if ``result`` is not ok."""
    if not result.ok:
        raise AuditChainBroken(result.case_id, result.first_broken or 0, result.reason)
