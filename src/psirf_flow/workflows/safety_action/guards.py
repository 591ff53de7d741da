"""Guards of the safety-action lifecycle (psirf-rules §9.2 and §5 SoD 6).

A safety action is agreed by the person who will own it, is measurable (a measure with a
baseline and a target) and time-bound (a due date), is linked to at least one area for
improvement of a learning response, needs evidence before it counts as implemented, and
is judged effective or not by someone other than its owner. These rules come from NHS
England guidance that this project could not read in full (the safety action development
guide, psirf-rules §10 item 8): they are NAT-G/INF defaults, documented as such.

Open safety actions never block the approval or closure of a learning response; nothing
here looks at a learning response's state (psirf-rules §6 design note).

The guards are merged into `psirf_flow.workflows.registry.GUARDS`; this module only
depends on [`psirf_flow.domain`][psirf_flow.domain] at run time, so the registry stays single.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from psirf_flow.domain import GuardResult, Role


if TYPE_CHECKING:
    from psirf_flow.workflows.guards import GuardInput


__all__ = ["ACTION_GUARDS", "MEASURE_FACTS"]

MEASURE_FACTS: Final = ("measure_ref", "baseline_ref", "target_ref")
"""Facts that make an action measurable: what is measured, where it starts, what it aims at."""

GuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool]
"""A guard registered from this module: name, check, summary, uses_payload."""


_result = GuardResult.judge


def _actor_is_owner(g: GuardInput) -> GuardResult:
    """Only the named owner acts on the action (psirf-rules §9.2, INF); ids ignore case.

    Rule: [The owner carries the action out and attaches evidence][safety-action-owner-acts].
    """
    return _result(
        "actor_is_owner",
        g.actor_is(g.facts.get("owner_id")),
        "actor_not_action_owner",
        f"{g.actor.id} is not the owner named for this safety action",
    )


def _not_owner(name: str, code: str, what: str) -> Callable[[GuardInput], GuardResult]:
    def check(g: GuardInput) -> GuardResult:
        """SoD 6 (psirf-rules §5 rule 6, INF): the owner never judges their own action.

        Rules: [Someone other than the owner judges the action effective, on its
        target][safety-action-verifier-not-owner]; [Deferring, accepting the risk or cancelling is a
        committee's or the executive lead's decision, not the owner's][safety-action-decision-tier].
        """
        return _result(
            name,
            not g.actor_is(g.facts.get("owner_id")),
            code,
            f"{g.actor.id} owns this safety action and so cannot {what} it",
        )

    return check


def _areas_linked(g: GuardInput) -> GuardResult:
    """The action is linked to a learning response and at least one area for improvement.

    Rule: [A safety action is linked to an area for improvement, measurable and
    time-bound][safety-action-agreed].
    """
    if not g.ids("learning_response_ids"):
        return _result(
            "areas_for_improvement_linked",
            False,
            "learning_response_not_linked",
            "the safety action is not linked to a learning response",
        )
    return _result(
        "areas_for_improvement_linked",
        bool(g.ids("area_for_improvement_ids")),
        "areas_for_improvement_not_linked",
        "the safety action is not linked to any area for improvement",
    )


def _measurable(g: GuardInput) -> GuardResult:
    """A measure, its baseline and its target are recorded.

    Rule: [A safety action is linked to an area for improvement, measurable and
    time-bound][safety-action-agreed].
    """
    missing = [f for f in MEASURE_FACTS if not isinstance(g.facts.get(f), str)]
    return _result(
        "action_measurable",
        not missing,
        "action_not_measurable",
        "the safety action has no "
        + " or ".join(f.removesuffix("_ref") for f in missing)
        + " recorded, so its effect cannot be measured",
    )


def _time_bound(g: GuardInput) -> GuardResult:
    """A due date is recorded.

    Rule: [A safety action is linked to an area for improvement, measurable and
    time-bound][safety-action-agreed].
    """
    return _result(
        "action_time_bound",
        isinstance(g.facts.get("due_on"), str),
        "action_not_time_bound",
        "the safety action has no due date",
    )


def _evidence(g: GuardInput) -> GuardResult:
    """Evidence of implementation is attached.

    Rule: [The owner carries the action out and attaches evidence][safety-action-owner-acts].
    """
    return _result(
        "implementation_evidence_recorded",
        isinstance(g.facts.get("evidence_ref"), str),
        "implementation_evidence_missing",
        "no evidence that the safety action has been implemented has been attached",
    )


def _target_met(g: GuardInput) -> GuardResult:
    """The effectiveness review shows the target met.

    Rule: [Someone other than the owner judges the action effective, on its
    target][safety-action-verifier-not-owner].
    """
    return _result(
        "target_met",
        g.facts.get("target_met") is True,
        "target_not_met",
        "the effectiveness review does not show the target met; record the action as not "
        "effective instead",
    )


def _decision_tier(g: GuardInput) -> GuardResult:
    """The decision is the executive lead's, or a committee's recorded by someone else.

    Rule: [Deferring, accepting the risk or cancelling is a committee's or the executive lead's
    decision, not the owner's][safety-action-decision-tier].
    """
    tier = g.facts.get("decision_tier")
    ok = g.role is Role.EXECUTIVE_LEAD or tier == "committee"
    return _result(
        "decision_at_committee_or_executive_tier",
        ok,
        "decision_tier_not_met",
        "only the executive lead may record an executive decision; anyone else may only "
        "record a committee's decision",
    )


ACTION_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "actor_is_owner",
        _actor_is_owner,
        "The person acting is the safety action's named owner.",
        False,
    ),
    (
        "verifier_not_owner",
        _not_owner("verifier_not_owner", "verifier_is_owner", "verify"),
        "The person judging effectiveness is not the action's owner (SoD 6).",
        False,
    ),
    (
        "approver_not_owner",
        _not_owner("approver_not_owner", "approver_is_owner", "approve this decision on"),
        "The person approving a deferral, risk acceptance or cancellation is not the owner.",
        False,
    ),
    (
        "areas_for_improvement_linked",
        _areas_linked,
        "The action is linked to a learning response and at least one area for improvement.",
        True,
    ),
    (
        "action_measurable",
        _measurable,
        "A measure, its baseline and its target are recorded.",
        False,
    ),
    ("action_time_bound", _time_bound, "A due date is recorded.", False),
    (
        "implementation_evidence_recorded",
        _evidence,
        "Evidence of implementation is attached.",
        False,
    ),
    (
        "target_met",
        _target_met,
        "The effectiveness review shows the target met.",
        True,
    ),
    (
        "decision_at_committee_or_executive_tier",
        _decision_tier,
        "The decision is the executive lead's, or a committee's recorded by someone else.",
        True,
    ),
)
"""Every safety-action guard, registered with its lifecycle's definition."""
