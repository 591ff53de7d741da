"""The audit functions refuse arguments of the wrong kind with exact, value-free messages.

Each refusal names the argument and the kind of value it got, never the value itself, so
a caller's mistake cannot put an identifier into an error message or a log line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import pytest

from psirf_flow.audit import (
    AuditKeys,
    Checkpoint,
    CheckpointedTrail,
    case_digest,
    verify_against_checkpoint,
    verify_chain,
)
from psirf_flow.errors import AuditKeyError, CheckpointInvalid, InvalidInput, PsirfFlowError


_GOT_INT = "got (a value of type int)"
_DOCUMENT = '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "signature": "a"'

#: A call with one argument of the wrong kind, the error, the argument named, the message.
REFUSALS: list[tuple[Callable[[], object], type[PsirfFlowError], str | None, str]] = [
    (lambda: verify_chain(5, []), InvalidInput, "case_id", f"case_id must be text, {_GOT_INT}"),
    (
        lambda: verify_chain("c-1", 5),
        InvalidInput,
        "entries",
        f"entries must be a sequence of audit entries, {_GOT_INT}",
    ),
    (
        lambda: verify_chain("c-1", [5]),
        InvalidInput,
        "entries",
        "entries must hold audit entries only",
    ),
    (
        lambda: verify_chain("c-1", [], head_hash=5),
        InvalidInput,
        "head_hash",
        f"head_hash must be text or None, {_GOT_INT}",
    ),
    (
        lambda: verify_chain("c-1", [], expected_entries="x"),
        InvalidInput,
        "expected_entries",
        "expected_entries must be a whole number or None",
    ),
    (
        lambda: verify_chain("c-1", [], case=5),
        InvalidInput,
        "case",
        f"case must be a Case or None, {_GOT_INT}",
    ),
    (
        lambda: verify_chain("c-1", [], keys=5),
        InvalidInput,
        "keys",
        f"keys must be AuditKeys or None, {_GOT_INT}",
    ),
    (lambda: case_digest(5), InvalidInput, "case", f"case must be a Case, {_GOT_INT}"),
    (
        lambda: verify_against_checkpoint(5, {}, keys=None),
        InvalidInput,
        "checkpoint",
        f"checkpoint must be a Checkpoint (see Checkpoint.from_json), {_GOT_INT}",
    ),
    (
        lambda: Checkpoint.from_json(5),
        CheckpointInvalid,
        None,
        f"the checkpoint must be JSON text, {_GOT_INT}",
    ),
    (
        lambda: Checkpoint.from_json(_DOCUMENT + ', "cases": {"C 1": [1, ""]}}'),
        CheckpointInvalid,
        None,
        "the checkpoint document is malformed: a case id is not an opaque identifier",
    ),
    (
        lambda: AuditKeys(keys=5, active="k"),
        AuditKeyError,
        None,
        f"the audit key ring must be a mapping of key ids to bytes, {_GOT_INT}",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "argument", "message"),
    REFUSALS,
    ids=[
        "verify-case-id",
        "verify-entries",
        "verify-entry-kind",
        "verify-head-hash",
        "verify-expected-entries",
        "verify-case",
        "verify-keys",
        "digest-case",
        "checkpoint-kind",
        "checkpoint-text",
        "checkpoint-case-id",
        "key-ring",
    ],
)
def test_wrong_arguments_are_refused_exactly(
    call: Callable[[], object], error: type[PsirfFlowError], argument: str | None, message: str
) -> None:
    """Each wrong argument gets its own error class, argument name and exact message."""
    with pytest.raises(error) as refused:
        call()

    assert str(refused.value) == f"[{error.code}] {message}"
    assert getattr(refused.value, "argument", None) == argument


def test_the_largest_entry_count_is_read() -> None:
    """A checkpoint may record up to 999,999,999 entries for a case, and not one more."""
    largest = Checkpoint.from_json(_DOCUMENT + ', "cases": {"C-1": [999999999, ""]}}')

    assert largest.cases == {"C-1": CheckpointedTrail(999_999_999, "")}
    with pytest.raises(CheckpointInvalid):
        Checkpoint.from_json(_DOCUMENT + ', "cases": {"C-1": [1000000000, ""]}}')


def test_a_checkpoint_time_is_read_in_utc() -> None:
    """A checkpoint's time is read as UTC itself, whatever the machine's zone."""
    made = Checkpoint.from_json(_DOCUMENT + ', "cases": {}}')

    assert made.made_at.tzinfo is UTC
    assert made.made_at.isoformat() == "2026-01-05T09:00:00+00:00"
