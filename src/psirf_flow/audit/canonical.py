"""Canonical encodings of audit content: the legacy one (format 1) and RFC 8785 (format 2).

Format 1 entries were hashed over sorted-key compact JSON as Python's ``json`` module writes
it; [`legacy_canonical_bytes`][psirf_flow.audit.canonical.legacy_canonical_bytes] keeps that
encoding byte for byte, so old trails verify.

Format 2 entries use the JSON Canonicalization Scheme (JCS, RFC 8785): keys sorted by their
UTF-16 code units, no insignificant white space, UTF-8, the shortest escapes. The reference
implementation is the ``rfc8785`` package. [`jcs_bytes`][psirf_flow.audit.canonical.jcs_bytes] is a
fast path over the value domain audit content holds (``str``, ``int`` within ±(2**53 - 1), ``bool``,
``None``, lists and tuples, dicts with ``str`` keys): it checks the value once and lets the standard
library's C encoder write it, sorting keys itself when every key is ASCII (where code-point
order and UTF-16 order agree) and in UTF-16 order otherwise. A property test proves it
byte-equal to ``rfc8785.dumps`` over that domain. Anything outside the domain (a float, a
larger integer, a lone surrogate, a non-string key) raises `ValueError` or
`TypeError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final


__all__ = ["SAFE_INTEGER", "format_time", "jcs_bytes", "legacy_canonical_bytes"]

SAFE_INTEGER: Final = 2**53 - 1
"""The largest integer magnitude JCS represents exactly (an IEEE 754 double's safe range)."""

_FOUR_DIGIT_YEAR: Final = 1000
_LEGACY: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""The format 1 encoder, built once (what ``json.dumps`` with these options builds per call)."""
_JCS_SORTING: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""The format 2 writer for values whose keys are all ASCII: code-point order is JCS order."""
_JCS_WRITER: Final = json.JSONEncoder(
    sort_keys=False, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""The format 2 writer for other values: keys arrive in JCS order and must stay so."""


def format_time(moment: datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with microseconds and a ``Z``."""
    utc = moment.astimezone(UTC)
    if utc.year >= _FOUR_DIGIT_YEAR:
        # The same text as the strftime below, about three times faster: isoformat pads
        # the year to four digits and, in UTC, always ends with "+00:00".
        return utc.isoformat(timespec="microseconds")[:-6] + "Z"
    # strftime does not pad years before 1000; keep its text so old hashes still verify.
    return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def legacy_canonical_bytes(content: Mapping[str, Any]) -> bytes:
    """Encode ``content`` as format 1 did: code-point-sorted keys, compact, UTF-8."""
    return _LEGACY.encode(content).encode()


def _utf16_key(item: tuple[str, Any]) -> bytes:
    return item[0].encode("utf-16-be")


def _in_jcs_order(value: Any) -> Any:
    """Return ``value`` with every dict rebuilt in JCS key order; refuse what JCS cannot hold."""
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int):
        if -SAFE_INTEGER <= value <= SAFE_INTEGER:
            return value
        msg = "an integer outside the range JSON numbers hold exactly"
        raise ValueError(msg)
    if isinstance(value, list | tuple):
        return [_in_jcs_order(v) for v in value]
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                msg = "a mapping key that is not text"
                raise TypeError(msg)
        # UTF-16-BE bytes compare exactly as JCS's UTF-16 code units do (a lone surrogate
        # cannot be encoded and raises UnicodeEncodeError, a ValueError).
        return {k: _in_jcs_order(v) for k, v in sorted(value.items(), key=_utf16_key)}
    msg = f"a {type(value).__name__} has no place in audit content"
    raise TypeError(msg)


def _plain(value: Any) -> bool:
    """Check ``value`` is in the audit domain; tell whether the C encoder may sort its keys.

    True when every mapping is a ``dict`` whose keys are ASCII text (code-point order is
    then UTF-16 order). A value outside the domain makes it False (the general path then
    refuses it); an integer beyond the safe range raises `ValueError`. Text, flags
    and ``None`` are tested inline, as most values are one of them.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        if -SAFE_INTEGER <= value <= SAFE_INTEGER:
            return True
        msg = "an integer outside the range JSON numbers hold exactly"
        raise ValueError(msg)
    plain = True
    if kind is list or kind is tuple:
        for item in value:
            inner = type(item)
            if inner is str or inner is bool or item is None:
                continue
            if not _plain(item):
                plain = False
        return plain
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                plain = False
            inner = type(item)
            if inner is str or inner is bool or item is None:
                continue
            if not _plain(item):
                plain = False
        return plain
    # A subclass (an enum member, a read-only mapping…) or a value outside the domain:
    # the general path copies or refuses it.
    return False


def jcs_bytes(content: Any) -> bytes:
    """Encode ``content`` with RFC 8785 (JCS), over the audit value domain.

    Raises:
        ValueError: A value JCS cannot hold exactly (a float, a lone surrogate, an integer
            beyond ±(2**53 - 1)).
        TypeError: A value of another type, or a non-string key.
    """
    if _plain(content):
        return _JCS_SORTING.encode(content).encode()
    return _JCS_WRITER.encode(_in_jcs_order(content)).encode()
