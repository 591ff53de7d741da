"""Checkpoints, without an engine: exact findings, signatures and documents.

Each row compares a checkpoint of three cases with what a store holds now and gives the
whole :class:`CheckpointVerification` (ok, signature status, every finding with its words,
how many cases were checked).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from psirf_flow.audit import (
    AuditKeys,
    Checkpoint,
    CheckpointedTrail,
    CheckpointFinding,
    CheckpointVerification,
    CurrentTrail,
    jcs_bytes,
    make_checkpoint,
    verify_against_checkpoint,
)
from psirf_flow.errors import CheckpointInvalid


MADE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BEFORE = MADE - timedelta(days=1)
KEYS = AuditKeys({"k1": b"s" * 32}, active="k1")
H = {n: f"{n:x}" * 64 for n in range(1, 10)}
RECORDED = {
    "C-1": CheckpointedTrail(2, H[2]),
    "C-2": CheckpointedTrail(1, H[4]),
    "C-3": CheckpointedTrail(0, ""),
    "C-Z": CheckpointedTrail(1, H[9]),
}
NOW_HELD = {
    "C-1": CurrentTrail(BEFORE, (H[1], H[2])),
    "C-2": CurrentTrail(BEFORE, (H[4],)),
    "C-3": CurrentTrail(BEFORE, ()),
    "C-Z": CurrentTrail(BEFORE, (H[9],)),
}


def _checkpoint(keys: AuditKeys | None = None) -> Checkpoint:
    return make_checkpoint(MADE, RECORDED.items(), keys=keys)


def _valid(*findings: CheckpointFinding) -> CheckpointVerification:
    return CheckpointVerification(not findings, "valid", findings, 4)


CHANGES = [
    pytest.param({}, _valid(), id="untouched"),
    pytest.param({"C-1": CurrentTrail(BEFORE, (H[1], H[2], H[3]))}, _valid(), id="grown-is-fine"),
    pytest.param(
        {"C-1": None},
        _valid(CheckpointFinding("C-1", "deleted", "the case is gone")),
        id="deleted",
    ),
    pytest.param(
        {"C-1": CurrentTrail(BEFORE, (H[1],))},
        _valid(
            CheckpointFinding(
                "C-1", "truncated", "the checkpoint recorded 2 entries; the trail now holds 1"
            )
        ),
        id="cut",
    ),
    pytest.param(
        {"C-1": CurrentTrail(BEFORE, (H[1], H[5], H[2]))},
        _valid(
            CheckpointFinding(
                "C-1",
                "truncated",
                "entry 2 is no longer the one the checkpoint recorded (the trail was cut and "
                "regrown, or rewritten)",
            )
        ),
        id="regrown",
    ),
    pytest.param(
        {"C-2": CurrentTrail(BEFORE, (H[6],))},
        _valid(
            CheckpointFinding(
                "C-2",
                "truncated",
                "entry 1 is no longer the one the checkpoint recorded (the trail was cut and "
                "regrown, or rewritten)",
            )
        ),
        id="first-entry-rewritten",
    ),
    pytest.param(
        {"C-0": CurrentTrail(BEFORE, (H[7],)), "C-9": CurrentTrail(MADE, (H[8],))},
        _valid(
            CheckpointFinding(
                "C-0", "unexpected", "opened before the checkpoint was made but not listed in it"
            )
        ),
        id="smuggled-before-not-at-the-moment",
    ),
    pytest.param(
        {"C-3": None, "C-1": None, "C-0": CurrentTrail(BEFORE, ())},
        _valid(
            CheckpointFinding(
                "C-0", "unexpected", "opened before the checkpoint was made but not listed in it"
            ),
            CheckpointFinding("C-1", "deleted", "the case is gone"),
            CheckpointFinding("C-3", "deleted", "the case is gone"),
        ),
        id="sorted-by-case",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), CHANGES)
@pytest.mark.parametrize("keys", [None, KEYS], ids=["unkeyed", "keyed"])
def test_findings_are_exact(
    changes: dict[str, CurrentTrail | None],
    expected: CheckpointVerification,
    keys: AuditKeys | None,
) -> None:
    """Each difference from the checkpoint is one finding, in words, ordered by case."""
    current = {**NOW_HELD, **changes}
    held = {k: v for k, v in current.items() if v is not None}

    assert verify_against_checkpoint(_checkpoint(keys), held, keys=keys) == expected


def test_signatures_are_sha256_or_hmac_of_the_rfc8785_document() -> None:
    """Unkeyed: SHA-256; keyed: HMAC-SHA-256 under the active key, over RFC 8785 bytes."""
    document = {
        "psirf_flow_checkpoint": 1,
        "made_at": "2026-03-01T12:00:00.000000Z",
        "key_id": None,
        "cases": {k: [t.entries, t.head_hash] for k, t in RECORDED.items()},
    }
    unkeyed = _checkpoint()
    keyed = _checkpoint(KEYS)

    assert unkeyed.signed_bytes() == jcs_bytes(document)
    assert (unkeyed.key_id, unkeyed.signature) == (
        None,
        hashlib.sha256(jcs_bytes(document)).hexdigest(),
    )
    keyed_bytes = jcs_bytes({**document, "key_id": "k1"})
    assert keyed.signed_bytes() == keyed_bytes
    assert (keyed.key_id, keyed.signature) == (
        "k1",
        hmac.new(b"s" * 32, keyed_bytes, hashlib.sha256).hexdigest(),
    )


@pytest.mark.parametrize(
    ("keys", "edit", "status"),
    [
        (None, {}, "valid"),
        (KEYS, {}, "valid"),
        (None, {"signature": "0" * 64}, "invalid"),
        (KEYS, {"signature": "0" * 64}, "invalid"),
        (None, {"made_at": "2026-03-01T12:00:01+00:00"}, "invalid"),
        (None, {"cases": {"C-1": [2, H[2]]}}, "invalid"),
        (None, {"key_id": "k1"}, "unchecked"),
        (AuditKeys({"k2": b"t" * 32}, active="k2"), {"key_id": "k1"}, "unchecked"),
        (KEYS, {"key_id": None}, "invalid"),
    ],
)
def test_signature_status(keys: AuditKeys | None, edit: dict[str, object], status: str) -> None:
    """An edited checkpoint is invalid; one signed with a key not supplied is unchecked."""
    document = json.loads(_checkpoint().to_json() if keys is None else _checkpoint(keys).to_json())
    document.update(edit)
    checkpoint = Checkpoint.from_json(json.dumps(document))
    checked = len(checkpoint.cases)

    result = verify_against_checkpoint(checkpoint, dict(NOW_HELD), keys=keys)

    assert (result.ok, result.signature, result.checked) == (
        status == "valid" and not result.findings,
        status,
        checked,
    )


@pytest.mark.parametrize("length", [0, 63, 65, 128])
def test_signature_of_the_wrong_length_is_invalid(length: int) -> None:
    """A signature that is not 64 hex digits is invalid, keyed or not."""
    for keys in (None, KEYS):
        made = _checkpoint(keys)
        bad = Checkpoint(made.made_at, made.cases, made.key_id, (made.signature * 3)[:length])

        assert verify_against_checkpoint(bad, NOW_HELD, keys=keys).signature == "invalid"


def test_document_round_trips_exactly() -> None:
    """``to_json`` writes every field, sorted and indented; ``from_json`` reads it back."""
    made = _checkpoint(KEYS)
    text = made.to_json()

    assert text == (
        json.dumps(
            {
                "psirf_flow_checkpoint": 1,
                "made_at": "2026-03-01T12:00:00.000000Z",
                "key_id": "k1",
                "cases": {
                    "C-1": [2, H[2]],
                    "C-2": [1, H[4]],
                    "C-3": [0, ""],
                    "C-Z": [1, H[9]],
                },
                "signature": made.signature,
            },
            indent=1,
            ensure_ascii=False,
        )
        + "\n"
    )
    assert Checkpoint.from_json(text) == made
    assert dict(Checkpoint.from_json(text).cases) == RECORDED


_HEAD = '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "signature": "a"'
_MALFORMED = "the checkpoint document is malformed: "
_NOT_A_PAIR = _MALFORMED + "a case is not [entries, head_hash]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "the checkpoint is not valid JSON"),
        ("[]", _MALFORMED + "it is not a format 1 psirf_flow checkpoint"),
        ('{"psirf_flow_checkpoint": 2}', _MALFORMED + "it is not a format 1 psirf_flow checkpoint"),
        (
            '{"psirf_flow_checkpoint": 1, "made_at": "yesterday"}',
            _MALFORMED + "made_at is not an ISO 8601 UTC time",
        ),
        (
            '{"psirf_flow_checkpoint": 1, "made_at": 5}',
            _MALFORMED + "made_at is not an ISO 8601 UTC time",
        ),
        (
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00"}',
            _MALFORMED + "made_at is not an ISO 8601 UTC time",
        ),
        (_HEAD + ', "key_id": 1, "cases": {}}', _MALFORMED + "key_id is not an audit key id"),
        (
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "cases": {}}',
            _MALFORMED + "signature is not text",
        ),
        (_HEAD + "}", _MALFORMED + "cases is not an object"),
        (_HEAD + ', "cases": []}', _MALFORMED + "cases is not an object"),
        (
            _HEAD + ', "cases": {"C-1": [true, "x"]}}',
            _NOT_A_PAIR,
        ),
        (_HEAD + ', "cases": {"C-1": [1, 2]}}', _NOT_A_PAIR),
        (
            _HEAD + ', "cases": {"C-1": ["1", "x"]}}',
            _NOT_A_PAIR,
        ),
        (
            _HEAD + ', "cases": {"C-1": [1, "x", 2]}}',
            _NOT_A_PAIR,
        ),
        (_HEAD + ', "cases": {"C-1": [1]}}', _NOT_A_PAIR),
        (
            _HEAD + ', "cases": {"C-1": {"n": 1}}}',
            _NOT_A_PAIR,
        ),
    ],
)
def test_malformed_documents_are_refused_with_the_reason(text: str, message: str) -> None:
    """Each malformed document is refused, saying which part is wrong."""
    with pytest.raises(CheckpointInvalid) as refused:
        Checkpoint.from_json(text)

    assert str(refused.value) == f"[PSF520] {message}"


def test_a_well_formed_document_is_read_field_by_field() -> None:
    """A minimal document gives its time, key id, signature and cases."""
    head = H[3]
    text = _HEAD + ', "key_id": "k1", "cases": {"C-1": [2, "' + head + '"], "C-2": [0, ""]}}'

    assert Checkpoint.from_json(text) == Checkpoint(
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        {"C-1": CheckpointedTrail(2, head), "C-2": CheckpointedTrail(0, "")},
        "k1",
        "a",
    )
