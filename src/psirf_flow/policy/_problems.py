"""Problems found in a TOML document: their paths, their plain-words messages and their lines.

Three things live here, shared by the plan loader and the national rule set loader:

* `Invalid`, the exception a structuring hook raises with a plain-words message;
* `problems_from`, which walks the exception groups cattrs raises (``detailed
  validation``: `cattrs.errors.ClassValidationError` and
  `cattrs.errors.IterableValidationError`, whose sub-exceptions carry notes naming
  the attribute or index) and turns them into ``(path, message)`` pairs, one per problem;
* `LineLocator`, a best-effort map from a TOML path to the line it is written on.

How the locator works (best effort, documented for maintainers): it reads the text line
by line, following table headers (``[a.b]``) and array-of-tables headers (``[[a]]``,
counting them to know the index), and records the line of every ``key = value``. A value
written inline (``{ ... }`` or ``[ ... ]``, on one line or several) is parsed on its own;
every path inside it is given the line of its key, except that the elements of an array
spread over several lines get the line each element starts on. A path that is not written
in the file (a missing setting) is given the line of the nearest enclosing table that is.
It never raises: text it cannot follow simply yields no line.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Final

import attrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from psirf_flow.errors import SHOWN_LENGTH, shown


__all__ = [
    "Invalid",
    "LineLocator",
    "Located",
    "Path",
    "close_match",
    "describe",
    "fix_for",
    "format_path",
    "problems_from",
    "syntax_error_place",
    "syntax_hint",
]

Path = tuple[str | int, ...]
"""A location in a document: table keys and array indices from the root."""

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
_LARGEST_SHOWN: Final = 10**9
"""Whole numbers from this size up are not repeated in messages."""


class Invalid(ValueError):
    """A value that does not fit; the message is plain words for the person editing the file."""


class Located(Invalid):
    """Several problems found inside one value, each at a path relative to that value.

    Attributes:
        problems: ``(relative path, message)`` pairs.
    """

    def __init__(self, problems: Sequence[tuple[Path, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(message for _, message in self.problems))


def format_path(path: Sequence[str | int]) -> str:
    """Write ``path`` the way TOML readers think of it: ``priorities[2].responses.default``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if len(part) > SHOWN_LENGTH:  # a hostile key stays short in messages
            part = part[:SHOWN_LENGTH] + "\u2026"  # noqa: PLW2901
        key = part if _BARE_KEY.fullmatch(part) else '"' + part.replace('"', '\\"') + '"'
        out += f".{key}" if out else key
    return out


def describe(value: object) -> str:
    """Name the kind of a TOML value in plain words, for messages."""
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int):
        if abs(value) < _LARGEST_SHOWN:
            return f"a whole number ({value})"
        return "a very large whole number"
    if isinstance(value, float):
        return f"a decimal number ({value})"
    if isinstance(value, str):
        return f"text ({shown(value)})"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time of day"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def problems_from(exc: BaseException, path: Path = ()) -> list[tuple[Path, str]]:
    """Every problem inside a structuring exception, as ``(path, message)`` pairs.

    Follows the notes cattrs attaches to each sub-exception of a
    `ClassValidationError` (attribute names) or
    `IterableValidationError` (list indices and mapping keys).
    """
    if isinstance(exc, IterableValidationError):
        out: list[tuple[Path, str]] = []
        with_index, without = exc.group_exceptions()
        for sub, index_note in with_index:
            out += problems_from(sub, (*path, index_note.index))
        for sub in without:
            out += problems_from(sub, path)
        return out
    if isinstance(exc, ClassValidationError):
        out = []
        with_name, others = exc.group_exceptions()
        for sub, name_note in with_name:
            out += problems_from(sub, (*path, name_note.name))
        for sub in others:
            if isinstance(sub, ForbiddenExtraKeysError):
                known = [a.name for a in attrs.fields(sub.cl)] if attrs.has(sub.cl) else []
                for key in sorted(sub.extra_fields):
                    out.append(((*path, key), _unknown_key(key, known)))
            else:
                out += problems_from(sub, path)
        return out
    if isinstance(exc, Located):
        return [((*path, *relative), message) for relative, message in exc.problems]
    if isinstance(exc, KeyError):
        return [(path, "is required but missing")]
    if isinstance(exc, Invalid):
        return [(path, str(exc))]
    return [(path, f"is not acceptable ({shown(str(exc))})")]


SIMILAR_ENOUGH: Final = 0.8
"""How alike two names must be (difflib's ratio) for one to be offered as a "did you mean".
High enough that a different word sharing a prefix is not offered (``improvement_route``
is 0.73 like ``improvement_plan``), low enough for a slip of one or two letters."""
_LISTED: Final = 40
"""The most names listed when an unknown name has no close match."""


def close_match(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` is most likely a misspelling of, or ``None`` when none is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=SIMILAR_ENOUGH)
    return found[0] if found else None


def _unknown_key(key: str, known: Sequence[str]) -> str:
    close = close_match(key, known)
    if close is not None:
        return f"is not a known setting here; did you mean {close!r}?"
    if not known:
        return "is not a known setting here"
    names = sorted(known)
    listed = ", ".join(names[:_LISTED]) + (", …" if len(names) > _LISTED else "")
    return f"is not a known setting here; the settings here are: {listed}"


_SYNTAX_HINTS: Final = (
    (
        "Invalid value",
        'a value is "quoted text", a number, true or false (lower case), a date such as '
        "2026-04-01, a [list] or an { inline table }",
    ),
    ("Illegal character '\\n'", "a quote or bracket is not closed on this line"),
    ("Unclosed", "a quote or bracket is not closed"),
    ("Cannot overwrite a value", "a setting or table is written twice"),
    ("Cannot declare", "a table is declared twice"),
    ("Expected '=' after a key", "each setting is written as key = value"),
    ("Invalid statement", "each line is a [table], a key = value or a # comment"),
    (
        "Expected newline or end of document",
        'one setting per line, and text in quotes (version = "1.0.0")',
    ),
)
"""Plain-words fixes for the TOML parser's terse messages, by the message's start."""


_EXPECTED_TEXT: Final = re.compile(r"^expected (.+?), got .*$", re.DOTALL)
_SUGGESTED: Final = re.compile(r"did you mean ('[^']*')\?")


def fix_for(message: str) -> str | None:
    """A one-line fix for a problem's ``message``, when one follows from its words.

    Messages already say what is wrong in plain words; this turns the common ones into an
    instruction for ``psirf-flow plan check``. ``None`` means the message is the fix.
    """
    suggested = _SUGGESTED.search(message)
    if suggested is not None:
        return f"rename it to {suggested.group(1)}"
    if message.startswith("the file cannot be read"):
        return "check the path, and that the file is UTF-8 text"
    if message == "is required but missing":
        return "add this setting"
    if message.startswith("is not a known setting here"):
        return "remove it, or rename it to one of the settings listed"
    if message.startswith("this is not valid TOML"):
        _, _, hint = message.rpartition("; ")
        return hint if hint != message else "correct the TOML syntax on this line"
    expected = _EXPECTED_TEXT.match(message)
    if expected is not None:
        return f"write {expected.group(1)} here"
    return None


def syntax_hint(message: str) -> str | None:
    """A plain-words fix for the TOML parser's ``message``, when one is known."""
    for start, hint in _SYNTAX_HINTS:
        if message.startswith(start):
            return hint
    return None


def syntax_error_place(text: str, line: int) -> Path:
    """The setting (or else the table) that line ``line`` of ``text`` is written in.

    Best effort and never raises: it follows table headers and ``key =`` lines up to
    ``line`` (counting array-of-tables headers for their index), so a syntax error can be
    reported as "in the setting ``plan.version``" rather than in the whole file. A line
    inside a value spread over several lines belongs to the key the value started on.
    """
    tables: dict[Path, int] = {}
    current: Path = ()
    key: Path = ()
    for text_line in text.splitlines()[: max(line, 0)]:
        header = _HEADER.match(text_line)
        if header is not None and not _KEY_LINE.match(text_line):
            names = _segments(header.group(2))
            if names and header.group(1) == "[[":
                tables[names] = tables.get(names, 0) + 1
                current = (*names, tables[names] - 1)
            elif names:
                current = names
            key = ()
            continue
        found = _KEY_LINE.match(text_line)
        if found is not None:
            key = _segments(found.group(1))
        elif text_line.strip().startswith("["):  # a broken header: its table, as written
            current, key = _segments(text_line.strip().strip("[]")), ()
    return (*current, *key)


_HEADER: Final = re.compile(r"^\s*(\[\[|\[)(.*?)(\]\]|\])\s*(#.*)?$")
_KEY_PART: Final = r"(?:[A-Za-z0-9_-]+|\"(?:[^\"\\]|\\.)*\"|'[^']*')"
_KEY_LINE: Final = re.compile(rf"^\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=(.*)$")
_SEGMENT: Final = re.compile(_KEY_PART)
_MAX_VALUE_LINES: Final = 500


def _segments(dotted: str) -> tuple[str, ...]:
    out = []
    for raw in _SEGMENT.findall(dotted):
        if raw[0] == '"':
            out.append(raw[1:-1].replace('\\"', '"').replace("\\\\", "\\"))
        elif raw[0] == "'":
            out.append(raw[1:-1])
        else:
            out.append(raw)
    return tuple(out)


class LineLocator:
    """Best-effort lines for TOML paths in one document (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}
        with contextlib.suppress(ValueError, IndexError, RecursionError):
            self._scan(text.splitlines())

    def line_for(self, path: Sequence[str | int]) -> int | None:
        """The line ``path`` is written on, or that of its nearest written ancestor."""
        probe = tuple(path)
        while probe:
            line = self._lines.get(probe)
            if line is not None:
                return line
            probe = probe[:-1]
        return None

    def _note(self, path: Path, line: int) -> None:
        self._lines.setdefault(path, line)

    def _resolve(self, names: Sequence[str]) -> Path:
        resolved: Path = ()
        for name in names:
            resolved = (*resolved, name)
            count = self._arrays.get(resolved)
            if count is not None:
                resolved = (*resolved, count - 1)
        return resolved

    def _scan(self, lines: list[str]) -> None:
        current: Path = ()
        number = 0
        while number < len(lines):
            text = lines[number]
            number += 1
            header = _HEADER.match(text)
            if header is not None and not _KEY_LINE.match(text):
                names = _segments(header.group(2))
                if not names:
                    continue
                if header.group(1) == "[[":
                    base = (*self._resolve(names[:-1]), names[-1])
                    self._arrays[base] = self._arrays.get(base, 0) + 1
                    self._note(base, number)
                    current = (*base, self._arrays[base] - 1)
                else:
                    current = self._resolve(names)
                self._note(current, number)
                continue
            key = _KEY_LINE.match(text)
            if key is None:
                continue
            path = (*current, *_segments(key.group(1)))
            for i in range(len(current) + 1, len(path) + 1):
                self._note(path[:i], number)
            consumed = self._value(path, key.group(2), lines, number)
            number += consumed

    def _value(self, path: Path, first: str, lines: list[str], number: int) -> int:
        """Record paths inside an inline value; return how many extra lines it used."""
        stripped = first.strip()
        if not stripped.startswith(("[", "{")):
            return 0
        chunk = [first]
        for extra in range(_MAX_VALUE_LINES):
            try:
                value = tomllib.loads("v =" + "\n".join(chunk))["v"]
            except tomllib.TOMLDecodeError:
                if number + extra >= len(lines):
                    return 0
                chunk.append(lines[number + extra])
                continue
            starts = dict(_element_starts("\n".join(chunk))) if isinstance(value, list) else {}
            self._record(path, value, number, starts)
            return extra
        return 0

    def _record(self, path: Path, value: object, line: int, starts: dict[int, int]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self._note((*path, key), line)
                self._record((*path, key), item, line, {})
        elif isinstance(value, list):
            for index, item in enumerate(value):
                at = line + starts.get(index, 0)
                self._note((*path, index), at)
                self._record((*path, index), item, at, {})


def _element_starts(text: str) -> Iterator[tuple[int, int]]:  # noqa: PLR0912 - one scanning loop
    """Yield ``(index, line offset)`` for each element of the outer array written in ``text``."""
    depth = 0
    offset = 0
    index = 0
    expecting = False
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
            elif char == "\n":
                offset += 1
        elif char == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif char == "\n":
            offset += 1
        elif depth == 1 and char == ",":
            index += 1
            expecting = True
        elif depth == 1 and char == "]":
            return
        elif char in "[{":
            if depth == 1 and expecting:
                yield index, offset
                expecting = False
            depth += 1
            expecting = expecting or depth == 1
        elif char in "]}":
            depth -= 1
        elif depth == 1 and not char.isspace():
            if expecting:
                yield index, offset
                expecting = False
            if char in "\"'":
                quote = char
        elif char in "\"'":
            quote = char
        i += 1
