"""Loading a plan from TOML (all problems at once, never half-loaded) and writing it back.

This module holds the policy package's only file reading:
[`load_plan_file`][psirf_flow.policy.loading.load_plan_file] reads a file the caller names, and
[`packaged_text`][psirf_flow.policy.loading.packaged_text] reads data shipped inside the package
(the national requirements) through `importlib.resources`.

Loading happens in three steps, and every problem from each step is collected:

1. the text is parsed as TOML (a syntax error is reported with its line, its column, the
   setting or table it is in and a fix for common causes, and stops here, since nothing
   after it can be trusted);
2. the data is structured into frozen records by the strict cattrs converter
   (`psirf_flow.policy._convert`), which reports every wrong type, missing setting
   and unknown key with its path;
3. the parts that could be structured are cross-checked
   ([`plan_problems`][psirf_flow.policy.plan_checks.plan_problems]): default responses among the
   allowed ones, references to response types, ladders and reviews that exist, dates in order,
   timescales within hard caps, unique ids and so on. When step 2 found problems, step 3 still runs
   on every part that could be read, so one pass shows as much as possible.

If anything was found, [`PlanError`][psirf_flow.errors.PlanError] is raised listing every
problem with its TOML path and, where it can be located, its line (see
`psirf_flow.policy._problems.LineLocator` for how lines are found).

Hostile documents are refused the same way, never with a Python error: text that is not
a string, a file path that cannot be opened (a NUL in it, a wrong type), nesting too deep
for the parser, numbers too long to read and documents over
[`MAX_DOCUMENT_LENGTH`][psirf_flow.policy.loading.MAX_DOCUMENT_LENGTH] characters all become a
[`PlanError`][psirf_flow.errors.PlanError] with one problem.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, Final, TypeVar

import tomli_w
from cattrs.errors import BaseValidationError

from psirf_flow.errors import PlanError, PlanProblem
from psirf_flow.policy._convert import CONVERTER
from psirf_flow.policy._problems import (
    Invalid,
    LineLocator,
    Path,
    format_path,
    problems_from,
    syntax_error_place,
    syntax_hint,
)
from psirf_flow.policy.facts import FactDeclaration
from psirf_flow.policy.plan import (
    CalendarSettings,
    CandourTargets,
    ClockSettings,
    Committee,
    EscalationLadder,
    LocalReferralBody,
    OverrideSettings,
    Plan,
    PlanHeader,
    Priority,
    RegulatorNotification,
    ReserveCapacity,
    ResponseType,
    RetentionSettings,
    ScheduledReview,
    TriageSettings,
)
from psirf_flow.policy.plan_checks import PlanView, plan_problems


__all__ = [
    "MAX_DOCUMENT_LENGTH",
    "dump_plan",
    "load_document",
    "load_plan",
    "load_plan_file",
    "packaged_text",
]

T = TypeVar("T")
V = TypeVar("V")

_POLICY_PACKAGE: Final = "psirf_flow.policy"
_DECODE_POSITION: Final = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_DECODE_END: Final = re.compile(r"\s*\(at end of document\)\s*$")
_STRUCTURE_ERRORS: Final = (BaseValidationError, Invalid)
MAX_DOCUMENT_LENGTH: Final = 2_000_000
"""The longest document loaded (a plan is a few kilobytes; this leaves a wide margin)."""


def load_plan(text: str, *, source: str = "<plan>") -> Plan:
    """Load and validate a plan written in TOML.

    Args:
        text: The plan file's text.
        source: A name for the text in messages (a file name, for instance).

    Returns:
        The plan, entirely valid.

    Raises:
        PlanError: Listing every problem found, each with its TOML path and line.
    """
    return load_document(text, source, Plan, _plan_view, plan_problems)


def load_plan_file(path: str | os.PathLike[str]) -> Plan:
    """Read the plan file at ``path`` (UTF-8) and load it with `load_plan`.

    Raises:
        PlanError: If the file cannot be read, is not UTF-8 or has any problem.
    """
    source = _path_name(path)
    if source is None:
        problem = f"expected a file path, got {type(path).__name__}"
        raise PlanError("<plan>", [PlanProblem("", None, problem)])
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read(MAX_DOCUMENT_LENGTH + 1)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # ValueError: a NUL in the path.
        raise PlanError(
            source, [PlanProblem("", None, f"the file cannot be read ({type(exc).__name__})")]
        ) from None
    return load_plan(text, source=source)


def _path_name(path: object) -> str | None:
    """``path`` as text, or ``None`` when it is not a text path.

    A number would be taken for an open file descriptor, and bytes for a path in another
    encoding: both are refused.
    """
    if not isinstance(path, str | os.PathLike):
        return None
    name = os.fspath(path)
    return name if isinstance(name, str) else None


def dump_plan(plan: Plan) -> str:
    """Write ``plan`` as TOML that `load_plan` reads back to an equal plan.

    Settings equal to their defaults are left out.
    """
    return tomli_w.dumps(CONVERTER.unstructure(plan))


def packaged_text(name: str) -> str:
    """The text of a data file shipped in ``psirf_flow/policy/data``."""
    return resources.files(_POLICY_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")


def load_document(
    text: str,
    source: str,
    root: type[T],
    salvage: Callable[[dict[str, Any]], V],
    check: Callable[[T | V], list[tuple[Path, str]]],
) -> T:
    """Parse, structure and cross-check one TOML document; all problems or a whole result.

    Args:
        text: The document.
        source: Its name in messages.
        root: The record type it holds.
        salvage: Builds a partial view from the raw data when structuring fails, so that
            ``check`` can still run on the parts that could be read.
        check: Cross-field checks, on the full record or on the partial view.

    Raises:
        PlanError: Listing every problem found.
    """
    source = _path_name(source) or "<plan>"
    refused = _refused_text(text)
    if refused is not None:
        raise PlanError(source, [PlanProblem("", None, refused)])
    try:
        return _load_document(text, source, root, salvage, check)
    except (RecursionError, ValueError):
        # RecursionError: nesting deeper than the parser follows; ValueError: an integer
        # longer than Python converts (over 4,300 digits).
        raise PlanError(
            source, [PlanProblem("", None, "it nests too deeply or holds a number too long")]
        ) from None


def _refused_text(text: object) -> str | None:
    """Why ``text`` cannot be a document at all, or ``None``."""
    if not isinstance(text, str):
        return f"expected the text of a TOML document, got {type(text).__name__}"
    if len(text) > MAX_DOCUMENT_LENGTH:
        return f"it is longer than {MAX_DOCUMENT_LENGTH:,} characters"
    return None


def _load_document(
    text: str,
    source: str,
    root: type[T],
    salvage: Callable[[dict[str, Any]], V],
    check: Callable[[T | V], list[tuple[Path, str]]],
) -> T:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(source, [_syntax_problem(text, str(exc))]) from None
    found: list[tuple[Path, str]]
    try:
        result = CONVERTER.structure(raw, root)
    except _STRUCTURE_ERRORS as exc:
        found = problems_from(exc)
        found += check(salvage(raw))
        raise _plan_error(source, text, found) from None
    found = check(result)
    if found:
        raise _plan_error(source, text, found)
    return result


def _syntax_problem(text: str, message: str) -> PlanProblem:
    """A TOML syntax error as a problem: its line, column, setting and a fix when known."""
    position = _DECODE_POSITION.search(message)
    line = int(position.group(1)) if position else None
    column = f", column {position.group(2)}" if position else ""
    message = _DECODE_END.sub("", _DECODE_POSITION.sub("", message))
    where = format_path(syntax_error_place(text, line)) if line is not None else ""
    inside = f" in {where}" if where else ""
    fix = syntax_hint(message)
    hint = f"; {fix}" if fix else ""
    at_end = "" if position else " (at the end of the file)"
    return PlanProblem(
        where, line, f"this is not valid TOML{inside}{column}{at_end}: {message}{hint}"
    )


def _plan_error(source: str, text: str, found: list[tuple[Path, str]]) -> PlanError:
    locator = LineLocator(text)
    problems: list[PlanProblem] = []
    for path, message in found:
        problem = PlanProblem(format_path(path), locator.line_for(path), message)
        if problem not in problems:
            problems.append(problem)
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    return PlanError(source, problems)


# ---------------------------------------------------------------- salvage


def _part(raw: Mapping[str, Any], key: str, kind: Any, default: Any = None) -> Any:
    if key not in raw:
        return default
    try:
        return CONVERTER.structure(raw[key], kind)
    except _STRUCTURE_ERRORS:
        return None


def _entries(
    raw: Mapping[str, Any], key: str, kind: type[T], default: frozenset[str] | None
) -> tuple[list[Any], frozenset[str] | None]:
    """The entries of a table or list that structure on their own, and all names present.

    The names are ``default`` when the key is absent and ``None`` when it holds neither a
    table nor a list (so references into it cannot be judged).
    """
    if key not in raw:
        return [], default
    value = raw[key]
    pairs: list[tuple[Any, T]] = []
    if isinstance(value, dict):
        items: list[tuple[Any, Any]] = list(value.items())
        names = frozenset(value)
    elif isinstance(value, list):
        items = list(enumerate(value))
        names = frozenset(
            item["id"]
            for item in value
            if isinstance(item, dict) and isinstance(item.get("id"), str)
        )
    else:
        return [], None
    for name, item in items:
        try:
            pairs.append((name, CONVERTER.structure(item, kind)))
        except _STRUCTURE_ERRORS:
            continue
    return pairs, names


def _plan_view(raw: dict[str, Any]) -> PlanView:
    response_types, response_type_names = _entries(raw, "response_types", ResponseType, None)
    priorities, _ = _entries(raw, "priorities", Priority, frozenset())
    reviews, review_ids = _entries(raw, "thematic_reviews", ScheduledReview, frozenset())
    ladders, ladder_names = _entries(raw, "escalation_ladders", EscalationLadder, frozenset())
    facts, fact_names = _entries(raw, "facts", FactDeclaration, frozenset())
    committees, committee_names = _entries(raw, "committees", Committee, frozenset())
    schema = raw.get("schema")
    return PlanView(
        schema=schema if isinstance(schema, int) and not isinstance(schema, bool) else None,
        header=_part(raw, "plan", PlanHeader),
        calendar=_part(raw, "calendar", CalendarSettings, CalendarSettings()),
        response_types=response_types,
        response_type_names=response_type_names,
        triage=_part(raw, "triage", TriageSettings, TriageSettings()),
        priorities=priorities,
        thematic_reviews=reviews,
        thematic_review_ids=review_ids,
        reserve_capacity=_part(raw, "reserve_capacity", ReserveCapacity, ReserveCapacity()),
        duty_of_candour=_part(raw, "duty_of_candour", CandourTargets, CandourTargets()),
        escalation_ladders=ladders,
        escalation_ladder_names=ladder_names,
        retention=_part(raw, "retention", RetentionSettings, RetentionSettings()),
        facts=facts,
        fact_names=fact_names,
        committees=committees,
        committee_names=committee_names,
        referral_bodies=_entries(raw, "referral_bodies", LocalReferralBody, frozenset())[0],
        notifications=_entries(raw, "notifications", RegulatorNotification, frozenset())[0],
        overrides=_part(raw, "overrides", OverrideSettings, OverrideSettings()),
        timescales=_part(raw, "timescales", ClockSettings, ClockSettings()),
    )
