"""Conditions over incident facts, shared by plan priorities and national requirements.

A condition is written in TOML as one of::

    { all = [ <condition>, ... ] }         # every one holds
    { any = [ <condition>, ... ] }         # at least one holds
    { not = <condition> }                  # it does not hold
    { fact = "<fact>", <test> = <value> }  # a test of one fact

The facts are those of :data:`psirf_flow.policy.facts.FACTS`. The tests are:

============  ===========================  ======================================================
test          value                        holds when
============  ===========================  ======================================================
``is``        true/false, a code, a harm   the fact equals the value
``in``        list of codes or harms       the fact is one of them (a set fact: shares any)
``includes``  a code                       a set fact (``categories``, ``patient_groups``) has it
``at_least``  a harm level name            the harm is this severe or more (LFPSE order)
``present``   true/false                   a single-code fact is set (or, with false, is not)
============  ===========================  ======================================================

Harm levels are written by name: ``none``, ``low``, ``moderate``, ``severe`` and (physical
harm only) ``fatal`` (psirf-rules §8.1). Conditions are pure data; :func:`evaluate` is a
pure function and :func:`condition_problems` lists every mistake in a condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

import attrs

from psirf_flow.domain import check_identifier
from psirf_flow.policy._problems import Located, Path, describe
from psirf_flow.policy.facts import (
    FACTS,
    FactKind,
    IncidentFacts,
    PhysicalHarm,
    PsychologicalHarm,
)


__all__ = [
    "AllOf",
    "AnyOf",
    "Comparison",
    "Condition",
    "FactTest",
    "Not",
    "condition_problems",
    "evaluate",
    "structure_condition",
    "unstructure_condition",
]


class Comparison(StrEnum):
    """How a :class:`FactTest` compares a fact with its value."""

    IS = "is"
    IN = "in"
    INCLUDES = "includes"
    AT_LEAST = "at_least"
    PRESENT = "present"


_ALLOWED_TESTS: Final[Mapping[FactKind, frozenset[Comparison]]] = {
    FactKind.FLAG: frozenset({Comparison.IS}),
    FactKind.CODE: frozenset({Comparison.IS, Comparison.IN, Comparison.PRESENT}),
    FactKind.CODES: frozenset({Comparison.INCLUDES, Comparison.IN}),
    FactKind.PHYSICAL_HARM: frozenset({Comparison.IS, Comparison.IN, Comparison.AT_LEAST}),
    FactKind.PSYCHOLOGICAL_HARM: frozenset({Comparison.IS, Comparison.IN, Comparison.AT_LEAST}),
}

_HARM_NAMES: Final[Mapping[FactKind, tuple[str, ...]]] = {
    FactKind.PHYSICAL_HARM: tuple(h.label for h in PhysicalHarm),
    FactKind.PSYCHOLOGICAL_HARM: tuple(h.label for h in PsychologicalHarm),
}

#: A test's value: a flag, a code or harm name, or a list of codes or harm names.
TestValue = bool | str | tuple[str, ...]


@attrs.frozen
class FactTest:
    """A test of one fact, such as ``{ fact = "categories", includes = "falls" }``.

    Attributes:
        fact: The fact's name (a key of :data:`~psirf_flow.policy.facts.FACTS`).
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


#: A condition over incident facts.
Condition = AllOf | AnyOf | Not | FactTest


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
    kind = FACTS[test.fact]
    actual = facts.value_of(test.fact)
    value = test.value
    if kind is FactKind.CODES:
        assert isinstance(actual, frozenset)
        if test.test is Comparison.INCLUDES:
            return value in actual
        return bool(actual.intersection(value if isinstance(value, tuple) else ()))
    if isinstance(actual, PhysicalHarm | PsychologicalHarm):
        if test.test is Comparison.AT_LEAST:
            assert isinstance(value, str)
            return actual.value <= type(actual)[value.upper()].value
        actual = actual.label
    if test.test is Comparison.PRESENT:
        return (actual is not None) is value
    if test.test is Comparison.IN:
        return isinstance(value, tuple) and actual in value
    return actual == value and type(actual) is type(value)


def condition_problems(condition: Condition, path: Path = ()) -> list[tuple[Path, str]]:
    """Every mistake in ``condition``, as ``(path, message)`` pairs (empty when valid)."""
    if isinstance(condition, AllOf | AnyOf):
        key = "all" if isinstance(condition, AllOf) else "any"
        if not condition.conditions:
            return [((*path, key), "needs at least one condition")]
        out: list[tuple[Path, str]] = []
        for i, sub in enumerate(condition.conditions):
            out += condition_problems(sub, (*path, key, i))
        return out
    if isinstance(condition, Not):
        return condition_problems(condition.condition, (*path, "not"))
    return _test_problems(condition, path)


def _test_problems(test: FactTest, path: Path) -> list[tuple[Path, str]]:
    kind = FACTS.get(test.fact)
    if kind is None:
        known = ", ".join(sorted(FACTS))
        return [((*path, "fact"), f"{test.fact!r} is not a known fact; known facts: {known}")]
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
            return [(at, f"expected true or false, got {describe(value)}")]
        return []
    return _one_value(kind, value, at)


def _one_value(kind: FactKind, value: object, at: Path) -> list[tuple[Path, str]]:
    if kind in _HARM_NAMES:
        names = _HARM_NAMES[kind]
        if value not in names:
            return [(at, f"expected a harm level, one of: {', '.join(names)}")]
        return []
    problem = check_identifier(value)
    if problem is not None:
        return [(at, f"expected a code: {problem}")]
    return []


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
        problems += condition_problems(condition)
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
        problems.append(((*path, key), f"is not a known test; use one of: {', '.join(_TESTS)}"))
    tests = [k for k in _TESTS if k in obj]
    if len(tests) != 1:
        problems.append(
            (path, f"a fact test needs exactly one of {', '.join(_TESTS)}; found {len(tests)}")
        )
        return None
    raw = obj[tests[0]]
    value: TestValue
    if isinstance(raw, bool | str):
        value = raw
    elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        value = tuple(raw)
    else:
        problems.append(
            ((*path, tests[0]), f"expected true/false, text or a list of text, got {describe(raw)}")
        )
        return None
    if len(problems) != before or not isinstance(fact, str):
        return None
    return FactTest(fact, Comparison(tests[0]), value)


def unstructure_condition(condition: Condition) -> dict[str, object]:
    """The TOML form of ``condition`` (the inverse of :func:`structure_condition`)."""
    if isinstance(condition, AllOf):
        return {"all": [unstructure_condition(c) for c in condition.conditions]}
    if isinstance(condition, AnyOf):
        return {"any": [unstructure_condition(c) for c in condition.conditions]}
    if isinstance(condition, Not):
        return {"not": unstructure_condition(condition.condition)}
    value = list(condition.value) if isinstance(condition.value, tuple) else condition.value
    return {"fact": condition.fact, condition.test.value: value}
