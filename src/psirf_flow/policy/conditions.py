"""Conditions over incident facts, shared by plan priorities and national requirements.

A condition is written in TOML as one of:

```toml
{ all = [ <condition>, ... ] }         # every one holds
{ any = [ <condition>, ... ] }         # at least one holds
{ not = <condition> }                  # it does not hold
{ fact = "<fact>", <test> = <value> }  # a test of one fact
```

The facts are those of [`psirf_flow.policy.facts.FACTS`][psirf_flow.policy.facts.FACTS] plus any the
plan declares (``[facts.<name>]``). The tests are:

===============  ===========================  ================================================
test             value                        holds when
===============  ===========================  ================================================
``is``           true/false, a code, a harm,  the fact equals the value
                 a number
``in``           list of codes or harms       the fact is one of them (a set fact: shares any)
``includes``     a code                       a set fact (``categories``, ``patient_groups``)
                                              has it
``at_least``     a harm level name, a number, the harm is this severe or more (LFPSE order);
                 a duration or a time         otherwise the fact is this value or more
``at_most``      a number, duration or time   the fact is this value or less
``more_than``    a number, duration or time   the fact is greater than the value
``less_than``    a number, duration or time   the fact is less than the value
``between``      ``[low, high]``              low <= fact <= high (both ends included); for a
                                              time of day, ``["22:00", "06:00"]`` wraps
                                              midnight
``within``       a duration                   the duration fact is this long or shorter
``on_or_after``  a date                       the date fact is this day or later
``before``       a date                       the date fact is earlier than this day
``present``      true/false                   the fact is given (or, with false, is not)
===============  ===========================  ================================================

Harm levels are written by name: ``none``, ``low``, ``moderate``, ``severe`` and (physical
harm only) ``fatal`` (psirf-rules §8.1). Durations are written ``"48 hours"``, ``"7 days"``,
``"30 minutes"`` or ``"2 weeks"`` (a whole number and a unit; fixed lengths, not working
days); times of day ``"22:00"`` (24-hour clock, or a TOML time); dates as TOML dates.

**A missing fact never matches a comparison.** When the host has not given a fact (an
age, a time since admission, a plan's own fact), every test on it except ``present =
false`` is false, so ``not`` of such a test is true: write ``{ all = [{ fact = "age_years",
present = true }, { not = ... }] }`` when the fact must be known. Conditions are pure data;
[`evaluate`][psirf_flow.policy.conditions.evaluate] is a pure function and
[`condition_problems`][psirf_flow.policy.conditions.condition_problems] lists every mistake in a
condition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

import attrs

from psirf_flow.domain import check_identifier
from psirf_flow.errors import InvalidInput
from psirf_flow.policy._problems import Located, Path, close_match, describe
from psirf_flow.policy.facts import (
    FACTS,
    Duration,
    FactKind,
    IncidentFacts,
    PhysicalHarm,
    PsychologicalHarm,
    parse_duration,
    parse_time_of_day,
)


__all__ = [
    "AllOf",
    "AnyOf",
    "Comparison",
    "Condition",
    "FactTest",
    "Not",
    "TestValue",
    "condition_problems",
    "evaluate",
    "structure_condition",
    "unstructure_condition",
]


class Comparison(StrEnum):
    """How a [`FactTest`][psirf_flow.policy.conditions.FactTest] compares a fact with its value."""

    IS = "is"
    IN = "in"
    INCLUDES = "includes"
    AT_LEAST = "at_least"
    PRESENT = "present"
    AT_MOST = "at_most"
    MORE_THAN = "more_than"
    LESS_THAN = "less_than"
    BETWEEN = "between"
    WITHIN = "within"
    ON_OR_AFTER = "on_or_after"
    BEFORE = "before"


_ORDERED: Final = frozenset(
    {
        Comparison.AT_LEAST,
        Comparison.AT_MOST,
        Comparison.MORE_THAN,
        Comparison.LESS_THAN,
        Comparison.BETWEEN,
    }
)
_P: Final = Comparison.PRESENT
_ALLOWED_TESTS: Final[Mapping[FactKind, frozenset[Comparison]]] = {
    # A built-in flag or set is always given; a plan's own may be missing, hence present.
    FactKind.FLAG: frozenset({Comparison.IS, _P}),
    FactKind.CODE: frozenset({Comparison.IS, Comparison.IN, _P}),
    FactKind.CODES: frozenset({Comparison.INCLUDES, Comparison.IN, _P}),
    FactKind.PHYSICAL_HARM: frozenset({Comparison.IS, Comparison.IN, Comparison.AT_LEAST}),
    FactKind.PSYCHOLOGICAL_HARM: frozenset({Comparison.IS, Comparison.IN, Comparison.AT_LEAST}),
    FactKind.NUMBER: _ORDERED | {Comparison.IS, _P},
    FactKind.DURATION: _ORDERED | {Comparison.WITHIN, _P},
    FactKind.TIME: _ORDERED | {_P},
    FactKind.DATE: frozenset({Comparison.ON_OR_AFTER, Comparison.BEFORE, Comparison.BETWEEN, _P}),
}
_EXPECTED: Final[Mapping[FactKind, str]] = {
    FactKind.NUMBER: "a number",
    FactKind.DURATION: 'a duration such as "48 hours" (minutes, hours, days or weeks)',
    FactKind.TIME: 'a time of day such as "22:00" (24-hour clock)',
    FactKind.DATE: "a date such as 2026-04-01",
}
"""What a comparison's value must be, by the kind of fact, in messages."""

_HARM_NAMES: Final[Mapping[FactKind, tuple[str, ...]]] = {
    FactKind.PHYSICAL_HARM: tuple(h.label for h in PhysicalHarm),
    FactKind.PSYCHOLOGICAL_HARM: tuple(h.label for h in PsychologicalHarm),
}

Scalar = bool | int | float | str | Duration | date | time
"""One value in a test: a flag, a code or harm name, a number, a duration, a date or a time."""
TestValue = Scalar | tuple[Scalar, ...]
"""A test's value: one value, or a list of them (``in``, ``between``)."""


@attrs.frozen
class FactTest:
    """A test of one fact, such as ``{ fact = "categories", includes = "falls" }``.

    Attributes:
        fact: The fact's name (a key of [`FACTS`][psirf_flow.policy.facts.FACTS]).
        test: How to compare.
        value: What to compare with.
    """

    fact: str
    test: Comparison
    value: TestValue


@attrs.frozen
class AllOf:
    """Holds when every one of ``conditions`` holds (and there is at least one)."""

    conditions: tuple[Condition, ...]


@attrs.frozen
class AnyOf:
    """Holds when at least one of ``conditions`` holds."""

    conditions: tuple[Condition, ...]


@attrs.frozen
class Not:
    """Holds when ``condition`` does not hold."""

    condition: Condition


Condition = AllOf | AnyOf | Not | FactTest
"""A condition over incident facts."""


def evaluate(condition: Condition, facts: IncidentFacts) -> bool:
    """Tell whether ``condition`` holds for ``facts``. Pure; assumes a valid condition."""
    if isinstance(condition, AllOf):
        return all(evaluate(c, facts) for c in condition.conditions)
    if isinstance(condition, AnyOf):
        return any(evaluate(c, facts) for c in condition.conditions)
    if isinstance(condition, Not):
        return not evaluate(condition.condition, facts)
    return _test(condition, facts)


def _test(test: FactTest, facts: IncidentFacts) -> bool:
    actual = facts.value_of(test.fact)
    value = test.value
    if test.test is Comparison.PRESENT:
        return (actual is not None) is value
    if actual is None:  # a missing fact never matches a comparison
        return False
    if isinstance(actual, frozenset):
        if test.test is Comparison.INCLUDES:
            return value in actual
        return bool(actual.intersection(value if isinstance(value, tuple) else ()))
    if isinstance(actual, PhysicalHarm | PsychologicalHarm):
        if test.test is Comparison.AT_LEAST:
            assert isinstance(value, str)
            return actual.value <= type(actual)[value.upper()].value
        actual = actual.label
    if test.test in _ORDERED or test.test in _DATE_TESTS or test.test is Comparison.WITHIN:
        return _compare(test, actual)
    if test.test is Comparison.IN:
        return isinstance(value, tuple) and actual in value
    if _is_number(actual) and _is_number(value):
        return actual == value  # 37 and 37.0 weeks are the same number
    return actual == value and type(actual) is type(value)


_DATE_TESTS: Final = frozenset({Comparison.ON_OR_AFTER, Comparison.BEFORE})


def _comparable(fact: str, actual: object, value: Scalar) -> tuple[object, object]:
    """``actual`` and ``value`` as two values of one ordered type, or `InvalidInput`."""
    if isinstance(actual, timedelta) and isinstance(value, Duration):
        return actual, value.delta
    same = (
        (isinstance(actual, time) and isinstance(value, time))
        or (_is_date(actual) and _is_date(value))
        or (_is_number(actual) and _is_number(value))
    )
    if not same:
        raise InvalidInput(
            f"facts.{fact}",
            f"is {describe(actual) if not isinstance(actual, timedelta) else 'a duration'}, "
            "which the plan's condition cannot compare with its value; give the declared kind",
        )
    return actual, value


def _compare(test: FactTest, actual: object) -> bool:
    value = test.value
    if test.test is Comparison.BETWEEN:
        assert isinstance(value, tuple)
        low_value, high_value = value
        a, low = _comparable(test.fact, actual, low_value)
        _, high = _comparable(test.fact, actual, high_value)
        if isinstance(a, time) and low > high:  # type: ignore[operator]
            return bool(a >= low or a <= high)  # type: ignore[operator]
        return bool(low <= a <= high)  # type: ignore[operator]
    assert not isinstance(value, tuple)
    a, v = _comparable(test.fact, actual, value)
    result: object
    if test.test in {Comparison.AT_LEAST, Comparison.ON_OR_AFTER}:
        result = a >= v  # type: ignore[operator]
    elif test.test in {Comparison.AT_MOST, Comparison.WITHIN}:
        result = a <= v  # type: ignore[operator]
    elif test.test is Comparison.MORE_THAN:
        result = a > v  # type: ignore[operator]
    else:  # LESS_THAN, BEFORE
        result = a < v  # type: ignore[operator]
    return bool(result)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def condition_problems(
    condition: Condition,
    path: Path = (),
    *,
    facts: Mapping[str, FactKind] = FACTS,
    skip_unknown: bool = False,
) -> list[tuple[Path, str]]:
    """Every mistake in ``condition``, as ``(path, message)`` pairs (empty when valid).

    Args:
        condition: The condition.
        path: Where it is written, prefixed to every problem's path.
        facts: The facts it may test
            ([`psirf_flow.policy.facts.catalogue`][psirf_flow.policy.facts.catalogue] of a plan).
        skip_unknown: Leave tests of facts outside ``facts`` unjudged (the loader checks
            them later, against the plan's own declarations).
    """
    if isinstance(condition, AllOf | AnyOf):
        key = "all" if isinstance(condition, AllOf) else "any"
        if not condition.conditions:
            return [((*path, key), "needs at least one condition")]
        out: list[tuple[Path, str]] = []
        for i, sub in enumerate(condition.conditions):
            out += condition_problems(sub, (*path, key, i), facts=facts, skip_unknown=skip_unknown)
        return out
    if isinstance(condition, Not):
        return condition_problems(
            condition.condition, (*path, "not"), facts=facts, skip_unknown=skip_unknown
        )
    kind = facts.get(condition.fact)
    if kind is None:
        if skip_unknown:
            return []
        return [((*path, "fact"), _unknown_fact(condition.fact, facts))]
    return _test_problems(condition, kind, path)


def _unknown_fact(name: str, facts: Mapping[str, FactKind]) -> str:
    close = close_match(name, facts)
    hint = f"did you mean {close!r}? " if close else ""
    known = ", ".join(sorted(facts))
    return (
        f"{name!r} is not a known fact; {hint}declare the plan's own facts under "
        f"[facts.<name>]; known facts: {known}"
    )


def _test_problems(test: FactTest, kind: FactKind, path: Path) -> list[tuple[Path, str]]:
    at = (*path, test.test.value)
    if test.test not in _ALLOWED_TESTS[kind]:
        allowed = ", ".join(sorted(t.value for t in _ALLOWED_TESTS[kind]))
        return [(at, f"cannot be used with the fact {test.fact!r}; use one of: {allowed}")]
    value = test.value
    if test.test is Comparison.IN:
        if not isinstance(value, tuple) or not value:
            return [(at, "needs a non-empty list")]
        return [p for i, v in enumerate(value) for p in _one_value(kind, v, (*at, i))]
    if kind is FactKind.FLAG or test.test is Comparison.PRESENT:
        if not isinstance(value, bool):
            return [(at, f"expected true or false, got {_described(value)}")]
        return []
    if test.test is Comparison.BETWEEN:
        return _between_problems(kind, value, at)
    if test.test is Comparison.INCLUDES and isinstance(value, tuple):
        return [
            (
                at,
                "takes one code; to match any of several write in = [...] instead, "
                "or all = [...] with one includes test each to need every one",
            )
        ]
    if isinstance(value, tuple):
        return [(at, f"expected one value, got {_described(value)}")]
    return _one_value(kind, value, at)


def _between_problems(kind: FactKind, value: TestValue, at: Path) -> list[tuple[Path, str]]:
    if not isinstance(value, tuple) or len(value) != 2:
        return [(at, f"expected [low, high], two values, got {_described(value)}")]
    problems = [p for i, v in enumerate(value) for p in _one_value(kind, v, (*at, i))]
    if problems or kind is FactKind.TIME:  # a time window may wrap midnight
        return problems
    low, high = value
    if isinstance(low, Duration) and isinstance(high, Duration):
        low, high = low.delta, high.delta  # type: ignore[assignment]
    if low > high:  # type: ignore[operator]
        return [(at, "the low end is above the high end; write [low, high]")]
    return []


def _one_value(kind: FactKind, value: object, at: Path) -> list[tuple[Path, str]]:
    if kind in _HARM_NAMES:
        names = _HARM_NAMES[kind]
        if value not in names:
            return [(at, f"expected a harm level, one of: {', '.join(names)}")]
        return []
    if kind in _EXPECTED:
        fits = {
            FactKind.NUMBER: _is_number(value),
            FactKind.DURATION: isinstance(value, Duration),
            FactKind.TIME: isinstance(value, time),
            FactKind.DATE: _is_date(value),
        }[kind]
        if not fits:
            return [(at, f"expected {_EXPECTED[kind]}, got {_described(value)}")]
        return []
    problem = check_identifier(value)
    if problem is not None:
        return [(at, f"expected a code: {problem}")]
    return []


def _described(value: object) -> str:
    if isinstance(value, Duration):
        return f"a duration ({value})"
    if isinstance(value, tuple):
        return f"a list of {len(value)}"
    return describe(value)


# ---------------------------------------------------------------- structuring

_FORMS: Final = ("all", "any", "not", "fact")
_TESTS: Final = tuple(t.value for t in Comparison)


def structure_condition(obj: object, _type: object = None) -> Condition:
    """Build a condition from its TOML form, reporting every mistake with its path.

    Raises:
        Located: Listing every problem, each with its path relative to the condition.
    """
    problems: list[tuple[Path, str]] = []
    condition = _build(obj, (), problems)
    if condition is not None and not problems:
        problems += condition_problems(condition, skip_unknown=True)
    if problems or condition is None:
        raise Located(problems)
    return condition


def _build(obj: object, path: Path, problems: list[tuple[Path, str]]) -> Condition | None:
    if not isinstance(obj, dict):
        problems.append(
            (path, f"expected a condition such as {{ fact = ..., is = ... }}, got {describe(obj)}")
        )
        return None
    forms = [k for k in _FORMS if k in obj]
    if len(forms) != 1:
        found = f"; found {', '.join(forms)}" if forms else ""
        problems.append((path, f"a condition needs exactly one of all, any, not or fact{found}"))
        return None
    form = forms[0]
    if form == "fact":
        return _build_test(obj, path, problems)
    for key in sorted(set(obj) - {form}):
        problems.append(((*path, key), f"is not allowed beside {form!r}"))
    if form == "not":
        inner = _build(obj["not"], (*path, "not"), problems)
        return None if inner is None else Not(inner)
    items = obj[form]
    if not isinstance(items, list):
        problems.append(((*path, form), f"expected a list of conditions, got {describe(items)}"))
        return None
    parts = [_build(item, (*path, form, i), problems) for i, item in enumerate(items)]
    built = tuple(p for p in parts if p is not None)
    if len(built) != len(parts):
        return None
    return AllOf(built) if form == "all" else AnyOf(built)


def _build_test(
    obj: dict[str, object], path: Path, problems: list[tuple[Path, str]]
) -> FactTest | None:
    before = len(problems)
    fact = obj["fact"]
    if not isinstance(fact, str):
        problems.append(((*path, "fact"), f"expected the name of a fact, got {describe(fact)}"))
    for key in sorted(set(obj) - {"fact", *_TESTS}):
        close = close_match(key, _TESTS)
        hint = f"did you mean {close!r}? " if close else ""
        problems.append(
            ((*path, key), f"is not a known test; {hint}use one of: {', '.join(_TESTS)}")
        )
    tests = [k for k in _TESTS if k in obj]
    if not tests and len(problems) != before:
        return None  # the unknown test reported above is the mistake
    if len(tests) != 1:
        problems.append(
            (path, f"a fact test needs exactly one of {', '.join(_TESTS)}; found {len(tests)}")
        )
        return None
    test = Comparison(tests[0])
    raw = obj[tests[0]]
    value: TestValue | None
    if isinstance(raw, list):
        items = [_scalar(item, test) for item in raw]
        value = None if None in items else tuple(i for i in items if i is not None)
    else:
        value = _scalar(raw, test)
    if value is None:
        problems.append(
            (
                (*path, tests[0]),
                "expected true/false, text, a number, a date, a time or a list of them, "
                f"got {describe(raw)}",
            )
        )
        return None
    if len(problems) != before or not isinstance(fact, str):
        return None
    return FactTest(fact, test, value)


def _scalar(raw: object, test: Comparison) -> Scalar | None:
    """One value as written in TOML, read for ``test`` (``None`` when it cannot be a value).

    For the comparisons, text is read as a duration (``"48 hours"``) or a time of day
    (``"22:00"``) when it is written as one; otherwise text stays text (a code or a harm
    level), and the condition's checks say what was expected.
    """
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw if math.isfinite(raw) else None
    if isinstance(raw, datetime):
        return None
    if isinstance(raw, date | time):
        return raw
    if not isinstance(raw, str):
        return None
    if test in _ORDERED or test is Comparison.WITHIN:
        parsed = parse_duration(raw) or parse_time_of_day(raw)
        if parsed is not None:
            return parsed
    if test in _DATE_TESTS or test is Comparison.BETWEEN:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    return raw


def unstructure_condition(condition: Condition) -> dict[str, object]:
    """The TOML form of ``condition`` (the inverse of `structure_condition`)."""
    if isinstance(condition, AllOf):
        return {"all": [unstructure_condition(c) for c in condition.conditions]}
    if isinstance(condition, AnyOf):
        return {"any": [unstructure_condition(c) for c in condition.conditions]}
    if isinstance(condition, Not):
        return {"not": unstructure_condition(condition.condition)}
    value = condition.value
    written = [_written(v) for v in value] if isinstance(value, tuple) else _written(value)
    return {"fact": condition.fact, condition.test.value: written}


def _written(value: Scalar) -> object:
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, time):
        return value.strftime("%H:%M") if not value.second else value.isoformat()
    return value
