"""Guards of the delegation record: who may delegate a sign-off role, and who may revoke it.

Delegation is a record (psirf-rules §5; issue 9 item 4): the delegator holds the role they
delegate, names someone else, for a real period; only the delegator or the executive lead
revokes it. The sign-off guards that honour a delegation live with the learning responses
([`psirf_flow.workflows.learning_response.sign_off`][psirf_flow.workflows.learning_response.sign_off]).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from psirf_flow.domain import GuardResult, Role
from psirf_flow.workflows.guards import GuardInput, fact_date


__all__ = ["DELEGATION_GUARDS"]

GuardRow = tuple[str, Callable[[GuardInput], GuardResult], str, bool]

_result = GuardResult.judge


def _delegation_well_formed(g: GuardInput) -> GuardResult:
    """The delegator holds the role, delegates to someone else, for a real period (§5).

    Rule: [Only the holder of a role delegates it, to someone else, for a real period; the delegator
    or the executive lead revokes][delegation-by-role-holder].
    """
    name = "delegation_well_formed"
    role = g.facts.get("delegated_role")
    if not any(r.value == role and g.actor.holds(r) for r in Role):
        return _result(
            name,
            False,
            "delegator_lacks_role",
            f"{g.actor.id} does not hold the role they delegate, so cannot delegate it",
        )
    if g.actor_is(g.facts.get("delegate_id")):
        return _result(
            name, False, "delegate_is_delegator", "a person cannot delegate to themselves"
        )
    start, end = fact_date(g.facts.get("valid_from")), fact_date(g.facts.get("valid_to"))
    return _result(
        name,
        start is not None and end is not None and start <= end,
        "delegation_dates_reversed",
        "the delegation ends before it starts",
    )


def _actor_is_delegator(g: GuardInput) -> GuardResult:
    """Only the person who delegated, or the executive lead, revokes a delegation.

    Rule: [Only the holder of a role delegates it, to someone else, for a real period; the delegator
    or the executive lead revokes][delegation-by-role-holder].
    """
    return _result(
        "actor_is_delegator",
        g.actor_is(g.facts.get("opened_by")) or g.actor.holds(Role.EXECUTIVE_LEAD),
        "not_the_delegator",
        f"{g.actor.id} did not make this delegation and is not the executive lead",
    )


DELEGATION_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "delegation_well_formed",
        _delegation_well_formed,
        "The delegator holds the delegated role, names someone else, and the period is real.",
        True,
    ),
    (
        "actor_is_delegator",
        _actor_is_delegator,
        "The person revoking made the delegation or is the executive lead.",
        False,
    ),
)
"""The delegation guards, registered by the delegation definition."""
