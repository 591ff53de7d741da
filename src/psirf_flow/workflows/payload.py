"""Check a command's payload against the fields its trigger declares.

Unknown fields are refused, required fields must be present, and every value must fit its
[`FieldKind`][psirf_flow.workflows.spec.FieldKind]. A problem names a declared field by its name
and an unknown one through [`shown`][psirf_flow.errors.shown] (redacted and cut short); it
never repeats a refused value. Free text is never kept: a ``TEXT`` field is replaced by a
digest of the case id and the text. With the host's audit key (passed in as ``text_key``)
it is an HMAC-SHA-256 (``hmac-sha256:…``), which nobody without the key can confirm
against a guessed note; without keys it is a SHA-256 salted with the case id
(``sha256:…``), so two cases holding the same words still do not share a digest.
Identifiers are checked with [`check_identifier`][psirf_flow.domain.check_identifier], which refuses
names and NHS numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Final

from psirf_flow.domain import FactValue, check_identifier
from psirf_flow.errors import shown
from psirf_flow.policy.timing import local_date
from psirf_flow.workflows.spec import FieldKind, FieldSpec


__all__ = ["EARLIEST_DATE", "LATEST_DATE", "MAX_COUNT", "check_payload", "text_digest"]

_SHA256_HEX: Final = re.compile(r"[0-9A-Fa-f]{64}")

MAX_COUNT: Final = 999_999_999
"""The largest count a ``COUNT`` field takes (kept well inside every store's integers, and
inside RFC 8785's exact integers, 2**53 - 1)."""
EARLIEST_DATE: Final = date(1900, 1, 1)
"""The earliest date a ``DATE`` field takes."""
LATEST_DATE: Final = date(2199, 12, 31)
"""The latest date a ``DATE`` field takes."""


def text_digest(salt: str, text: str, key: bytes | None = None) -> str:
    """Return the digest stored in place of free text.

    Args:
        salt: The case id.
        text: The free text, which is not kept.
        key: The active audit key, when the host supplies keys: the digest is then an
            HMAC-SHA-256 under it.
    """
    data = f"{salt}\x1f{text}".encode()
    if key is not None:
        return f"hmac-sha256:{hmac.new(key, data, hashlib.sha256).hexdigest()}"
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def check_payload(
    fields: Sequence[FieldSpec],
    payload: Mapping[str, object],
    *,
    salt: str,
    text_key: bytes | None = None,
) -> tuple[dict[str, FactValue], list[str]]:
    """Check ``payload`` and return ``(clean values, problems)``.

    The clean values hold only declared fields, with free text replaced by digests (keyed
    with ``text_key`` when given, see [`text_digest`][psirf_flow.workflows.payload.text_digest]) and
    lists of ids sorted. ``problems`` is empty when the payload is acceptable.
    """
    declared = {f.name: f for f in fields}
    names: list[object] = list(payload)  # a hostile caller's keys may be anything
    unknown = [name for name in names if not isinstance(name, str) or name not in declared]
    problems = [f"{shown(name)} is not a field of this step" for name in sorted(unknown, key=repr)]
    clean: dict[str, FactValue] = {}
    for spec in fields:
        if spec.name not in payload or payload[spec.name] is None:
            if spec.required:
                problems.append(f"{spec.name!r} is required")
            continue
        value, problem = _check_value(spec, payload[spec.name], salt, text_key)
        if problem is not None:
            problems.append(f"{spec.name!r} {problem}")
        elif value is not None:
            clean[spec.name] = value
    return clean, problems


def _check_value(
    spec: FieldSpec, value: object, salt: str, key: bytes | None
) -> tuple[FactValue | None, str | None]:
    match spec.kind:
        case FieldKind.IDENTIFIER | FieldKind.REFERENCE | FieldKind.CASE_REF:
            problem = check_identifier(value)
            return (value, None) if problem is None and isinstance(value, str) else (None, problem)
        case FieldKind.IDENTIFIERS:
            return _check_ids(value)
        case FieldKind.CHOICE:
            chosen = value if isinstance(value, str) and value in spec.choices else None
            return (
                chosen,
                None if chosen is not None else f"must be one of: {', '.join(spec.choices)}",
            )
        case FieldKind.FLAG:
            return (value, None) if isinstance(value, bool) else (None, "must be true or false")
        case FieldKind.COUNT:
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
                return value, None
            return None, "must be a whole number from 0 to 999,999,999"
        case FieldKind.DATE:
            return _check_date(value)
        case FieldKind.DIGEST:
            return _check_digest(value)
        case FieldKind.TEXT:
            # Lone surrogates (possible after decoding JSON) cannot be encoded to hash.
            if isinstance(value, str) and _encodable(value):
                return text_digest(salt, value, key), None
            return None, "must be text"


def _check_digest(value: object) -> tuple[FactValue | None, str | None]:
    if isinstance(value, str) and _SHA256_HEX.fullmatch(value):
        return value.lower(), None
    return None, "must be a SHA-256 digest written as 64 hexadecimal digits"


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_ids(value: object) -> tuple[FactValue | None, str | None]:
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        return None, "must be a list of identifiers"
    items = list(value)
    for position, item in enumerate(items, start=1):
        problem = check_identifier(item)
        if problem is not None:
            # Named by position: the refused value may be a name or an NHS number.
            return None, f"item {position} {problem}"
    return tuple(sorted(set(items))), None


def _day_of(moment: datetime) -> date:
    """The date a datetime given for a date field names: its Europe/London date when aware."""
    return local_date(moment) if moment.utcoffset() is not None else moment.date()


def _check_date(value: object) -> tuple[FactValue | None, str | None]:
    day: date | None = None
    if isinstance(value, date):
        day = _day_of(value) if isinstance(value, datetime) else value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    if day is None:
        return None, "must be a date written YYYY-MM-DD"
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        # Far dates would overflow the working-day and timescale arithmetic of guards.
        return None, "must be a date from 1900 to 2199"
    return day.isoformat(), None
