"""Signed checkpoints: anchors that catch truncated trails, deleted and smuggled cases.

A hash chain proves that the entries it holds fit together, not that none are missing at
its end or that a whole case was not removed with its trail. A
[`Checkpoint`][psirf_flow.audit.checkpoint.Checkpoint] records, at a moment, every case's entry
count and head hash, signed with HMAC-SHA-256 under the active audit key (a plain SHA-256 digest
without keys, which catches careless edits but not a forger). Kept outside the database (a file, a
write-once bucket), it lets
[`verify_against_checkpoint`][psirf_flow.audit.checkpoint.verify_against_checkpoint] report per
case:

* ``truncated``: the trail holds fewer entries than checkpointed, or its entry ``N`` is no
  longer the head the checkpoint recorded;
* ``deleted``: the case is gone;
* ``unexpected``: a case opened before the checkpoint was made that it does not list (a
  case opened at the very moment it was made may have been missed by it, and is not);

and whether the checkpoint itself was tampered with (its signature does not match).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs

from psirf_flow.audit.canonical import format_time, jcs_bytes
from psirf_flow.audit.entries import AuditEntry, hashes_match
from psirf_flow.audit.keys import KEY_ID, AuditKeys
from psirf_flow.domain import Case, check_identifier
from psirf_flow.errors import CheckpointInvalid, InvalidInput, shown


__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointFinding",
    "CheckpointVerification",
    "CheckpointedTrail",
    "CurrentTrail",
    "make_checkpoint",
    "verify_against_checkpoint",
]

CHECKPOINT_FORMAT: Final = 1
"""The version of the checkpoint document."""
_HEX_DIGITS: Final = 64
_PAIR: Final = 2
_MOST_ENTRIES: Final = 999_999_999
"""The most entries a checkpoint may record for one case (a case's version is below 10**9)."""
_HEAD: Final = re.compile(r"(?:[0-9a-f]{64})?")
"""A head hash: 64 hex digits, or empty for a case whose trail was empty."""

Problem = Literal["truncated", "deleted", "unexpected"]
"""What a checkpoint shows is wrong with one case: its trail cut short, the case gone, or a case
the checkpoint should list and does not."""
SignatureStatus = Literal["valid", "invalid", "unchecked"]
"""A checkpoint signature: valid, invalid (edited) or unchecked (its key was not supplied)."""


@attrs.frozen
class CheckpointedTrail:
    """One case as a checkpoint saw it.

    Attributes:
        entries: How many entries its trail held.
        head_hash: The hash of its last entry.
    """

    entries: int
    head_hash: str


def _frozen_trails(value: Mapping[str, CheckpointedTrail]) -> Mapping[str, CheckpointedTrail]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Checkpoint:
    """Every case's entry count and head hash at a moment, signed.

    Attributes:
        made_at: When it was made (aware UTC).
        cases: Case id to what its trail held.
        key_id: The audit key that signed it (``None``: an unkeyed SHA-256 digest).
        signature: HMAC-SHA-256 (or SHA-256) of
            [`signed_bytes`][psirf_flow.audit.checkpoint.Checkpoint.signed_bytes], 64 hex digits.
    """

    made_at: datetime
    cases: Mapping[str, CheckpointedTrail] = attrs.field(converter=_frozen_trails, hash=False)
    key_id: str | None
    signature: str

    def signed_bytes(self) -> bytes:
        """The RFC 8785 encoding of everything but the signature (what is signed)."""
        return _signed_bytes(self.made_at, self.cases, self.key_id)

    def to_json(self) -> str:
        """Export as a JSON document (see the audit format reference)."""
        document = {
            "psirf_flow_checkpoint": CHECKPOINT_FORMAT,
            "made_at": format_time(self.made_at),
            "key_id": self.key_id,
            "cases": {k: [t.entries, t.head_hash] for k, t in sorted(self.cases.items())},
            "signature": self.signature,
        }
        return json.dumps(document, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Import a checkpoint exported by `to_json` (the signature is not checked).

        Raises:
            CheckpointInvalid: If ``text`` is not a checkpoint document.
        """
        found: object = text  # the annotation is a promise callers may break
        if not isinstance(found, str | bytes):
            msg = f"the checkpoint must be JSON text, got {shown(found)}"
            raise CheckpointInvalid(msg)
        try:
            document = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            msg = "the checkpoint is not valid JSON"
            raise CheckpointInvalid(msg) from None
        return _from_document(document)


def _invalid(what: str) -> CheckpointInvalid:
    return CheckpointInvalid(f"the checkpoint document is malformed: {what}")


def _from_document(document: Any) -> Checkpoint:
    if not isinstance(document, dict) or document.get("psirf_flow_checkpoint") != (
        CHECKPOINT_FORMAT
    ):
        raise _invalid(f"it is not a format {CHECKPOINT_FORMAT} psirf_flow checkpoint")
    moment = _made_at(document.get("made_at"))
    key_id = document.get("key_id")
    signature = document.get("signature")
    cases = document.get("cases")
    if key_id is not None and not (isinstance(key_id, str) and KEY_ID.fullmatch(key_id)):
        raise _invalid("key_id is not an audit key id")
    if not isinstance(signature, str):
        raise _invalid("signature is not text")
    if not isinstance(cases, dict):
        raise _invalid("cases is not an object")
    trails: dict[str, CheckpointedTrail] = {}
    for case_id, value in cases.items():
        if check_identifier(case_id) is not None:
            raise _invalid("a case id is not an opaque identifier")
        if not (
            isinstance(value, list)
            and len(value) == _PAIR
            and isinstance(value[0], int)
            and not isinstance(value[0], bool)
            and 0 <= value[0] <= _MOST_ENTRIES
            and isinstance(value[1], str)
            and _HEAD.fullmatch(value[1])
        ):
            raise _invalid("a case is not [entries, head_hash]")
        trails[case_id] = CheckpointedTrail(value[0], value[1])
    return Checkpoint(moment, trails, key_id, signature)


def _made_at(value: object) -> datetime:
    """``value`` read as an aware ISO 8601 time that can be expressed in UTC."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is not None and moment.tzinfo is not None:
            moment.astimezone(UTC)  # an aware time at the ends of the calendar may not be
            return moment
    except (ValueError, OverflowError):
        pass
    raise _invalid("made_at is not an ISO 8601 UTC time")


def _signed_bytes(
    made_at: datetime, cases: Mapping[str, CheckpointedTrail], key_id: str | None
) -> bytes:
    return jcs_bytes(
        {
            "psirf_flow_checkpoint": CHECKPOINT_FORMAT,
            "made_at": format_time(made_at),
            "key_id": key_id,
            "cases": {k: [t.entries, t.head_hash] for k, t in cases.items()},
        }
    )


def make_checkpoint(
    made_at: datetime,
    trails: Iterable[tuple[str, CheckpointedTrail]],
    *,
    keys: AuditKeys | None = None,
) -> Checkpoint:
    """Make a checkpoint of ``trails`` (case id, what its trail holds) at ``made_at``.

    Signed with HMAC-SHA-256 under the active key when ``keys`` are given; otherwise the
    signature is a SHA-256 digest, which a forger can recompute.
    """
    cases = dict(trails)
    key_id = keys.active if keys is not None else None
    data = _signed_bytes(made_at, cases, key_id)
    signature = hashlib.sha256(data).hexdigest() if keys is None else keys.sign(data)
    return Checkpoint(made_at, cases, key_id, signature)


@attrs.frozen
class CurrentTrail:
    """One case as it stands now, to compare with a checkpoint.

    Attributes:
        opened_at: When the case was opened.
        hashes: The hashes of its entries, in sequence order.
    """

    opened_at: datetime
    hashes: tuple[str, ...]

    @classmethod
    def of(cls, case: Case, entries: Sequence[AuditEntry]) -> CurrentTrail:
        """The current trail of ``case`` with ``entries``."""
        return cls(case.opened_at, tuple(e.hash for e in entries))


@attrs.frozen
class CheckpointFinding:
    """Something a checkpoint shows is wrong with one case.

    Attributes:
        case_id: The case.
        problem: ``"truncated"``, ``"deleted"`` or ``"unexpected"``.
        detail: The same in plain words.
    """

    case_id: str
    problem: Problem
    detail: str


@attrs.frozen
class CheckpointVerification:
    """The result of comparing the store with a checkpoint.

    Attributes:
        ok: True when the signature is valid and there are no findings.
        signature: ``"valid"``; ``"invalid"`` (the checkpoint was edited); ``"unchecked"``
            (signed with a key that was not supplied).
        findings: One per case that does not fit, ordered by case id.
        checked: How many checkpointed cases were compared.
    """

    ok: bool
    signature: SignatureStatus
    findings: tuple[CheckpointFinding, ...]
    checked: int

    def problems(self) -> dict[str, str]:
        """Case id to problem, for every finding."""
        return {f.case_id: f.problem for f in self.findings}


def _signature_status(checkpoint: Checkpoint, keys: AuditKeys | None) -> SignatureStatus:
    data = checkpoint.signed_bytes()
    if checkpoint.key_id is None:
        expected: str | None = hashlib.sha256(data).hexdigest()
    else:
        expected = None if keys is None else keys.sign_with(checkpoint.key_id, data)
    if expected is None:
        return "unchecked"
    if len(checkpoint.signature) != _HEX_DIGITS:
        return "invalid"
    return "valid" if hashes_match(checkpoint.signature, expected) else "invalid"


def verify_against_checkpoint(
    checkpoint: Checkpoint,
    current: Mapping[str, CurrentTrail],
    *,
    keys: AuditKeys | None = None,
) -> CheckpointVerification:
    """Compare what the store holds now (``current``, by case id) with ``checkpoint``.

    Args:
        checkpoint: A checkpoint made earlier (imported with
            [`Checkpoint.from_json`][psirf_flow.audit.checkpoint.Checkpoint.from_json]).
        current: Every case the store holds now.
        keys: The audit keys; needed to check a keyed checkpoint's signature.

    Raises:
        InvalidInput: If ``checkpoint`` is not a
            [`Checkpoint`][psirf_flow.audit.checkpoint.Checkpoint].
    """
    if not isinstance(checkpoint, Checkpoint):  # the annotation is a promise callers may break
        raise InvalidInput(
            "checkpoint",
            f"must be a Checkpoint (see Checkpoint.from_json), got {shown(checkpoint)}",
        )
    findings: list[CheckpointFinding] = []
    for case_id, recorded in checkpoint.cases.items():
        trail = current.get(case_id)
        if trail is None:
            findings.append(CheckpointFinding(case_id, "deleted", "the case is gone"))
        elif len(trail.hashes) < recorded.entries:
            findings.append(
                CheckpointFinding(
                    case_id,
                    "truncated",
                    f"the checkpoint recorded {recorded.entries} entries; the trail now "
                    f"holds {len(trail.hashes)}",
                )
            )
        elif recorded.entries and trail.hashes[recorded.entries - 1] != recorded.head_hash:
            findings.append(
                CheckpointFinding(
                    case_id,
                    "truncated",
                    f"entry {recorded.entries} is no longer the one the checkpoint recorded "
                    "(the trail was cut and regrown, or rewritten)",
                )
            )
    findings.extend(
        CheckpointFinding(
            case_id, "unexpected", "opened before the checkpoint was made but not listed in it"
        )
        for case_id, trail in current.items()
        if case_id not in checkpoint.cases and trail.opened_at < checkpoint.made_at
    )
    findings.sort(key=lambda f: f.case_id)
    status = _signature_status(checkpoint, keys)
    return CheckpointVerification(
        ok=status == "valid" and not findings,
        signature=status,
        findings=tuple(findings),
        checked=len(checkpoint.cases),
    )
