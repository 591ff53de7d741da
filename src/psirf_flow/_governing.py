"""The engine's plan versions: which plan and rule pack each case's decisions run under.

The engine is given the trust's current plan and national rule pack, and the earlier
versions cases still in flight were opened under (psirf-rules §1.8, §3). A new case
records the current versions (``governing_plan_ref``, ``governing_rules_version``, set by
[`psirf_flow.decide.decide_open`][psirf_flow.decide.decide_open]); every later decision on it uses
the versions it recorded, never the current ones. A case that recorded none was opened without a
plan and keeps deciding without one.
"""

from __future__ import annotations

from typing import TypeVar

from psirf_flow.domain import Case
from psirf_flow.errors import InvalidInput, PlanVersionUnavailable
from psirf_flow.policy import NationalRuleSet, Plan, load_national_rules
from psirf_flow.policy.governance import (
    GOVERNING_PLAN_FACT,
    GOVERNING_RULES_FACT,
    Governance,
    PlanBook,
)


__all__ = ["governance_for", "plan_book"]

_T = TypeVar("_T")


def _listed(argument: str, value: object, kind: type[_T]) -> tuple[_T, ...]:
    """``value`` as a tuple of ``kind`` values, or `InvalidInput` naming ``argument``."""
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(argument, f"must be a list, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, kind):
            msg = f"must hold only {kind.__name__} values, got {type(item).__name__}"
            raise InvalidInput(argument, msg)
    return tuple(value)


def plan_book(
    plan: Plan | None,
    national_rules: NationalRuleSet | None,
    earlier_plans: object,
    earlier_rules: object,
) -> PlanBook | None:
    """The versions the engine runs new cases under, and the earlier ones it knows.

    The shipped national rule pack is used when a plan is given without one.

    Raises:
        InvalidInput: If the earlier versions are not lists of plans and rule packs, or
            are given without a current plan.
    """
    earlier = _listed("earlier_plans", earlier_plans, Plan)
    earlier_packs = _listed("earlier_rules", earlier_rules, NationalRuleSet)
    if plan is None:
        if earlier or earlier_packs:
            raise InvalidInput("earlier_plans", "needs a current plan (plan=...) as well")
        return None
    rules = national_rules if national_rules is not None else load_national_rules()
    return PlanBook.of(plan, rules, earlier_plans=earlier, earlier_rules=earlier_packs)


def governance_for(book: PlanBook | None, case: Case) -> Governance | None:
    """The plan and rule pack versions ``case``'s decisions run under (see the module).

    Raises:
        PlanVersionUnavailable: If the case records versions ``book`` does not hold.
    """
    plan_ref = case.facts.get(GOVERNING_PLAN_FACT)
    rules_version = case.facts.get(GOVERNING_RULES_FACT)
    if plan_ref is None and rules_version is None:
        return None
    found = (
        book.governing(plan_ref, rules_version)
        if book is not None and isinstance(plan_ref, str) and isinstance(rules_version, str)
        else None
    )
    if found is None:
        raise PlanVersionUnavailable(case.id, str(plan_ref), str(rules_version))
    return found
