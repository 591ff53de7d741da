"""Guards of scheduled thematic reviews: who is added to one, and when one is commissioned.

Sources (psirf-rules §2, thematic review NAT-G ◐; the schedule and its criteria LOCAL,
plan ``[[thematic_reviews]]``):

* An incident is added to a scheduled review (the intake's ``add_to_thematic_review``) only if
  triage found it met the review's criteria or its plan priority routes it there
  (``thematic_review_met``). Triage records both as ``thematic_reviews_met``
  ([`psirf_flow.policy.triage.intake_payload`][psirf_flow.policy.triage.intake_payload]); the guard
  also reads the priorities recorded in ``plan_priority_ids``, so a priority's route counts even
  when the host recorded triage without the list.
* A ``thematic_review`` learning response opened for a scheduled review (its opening names
  ``scheduled_review_id``) must be a review the plan schedules, run as its response type on the
  thematic lifecycle, due on the Europe/London date of the decision
  ([`psirf_flow.policy.thematic.thematic_reviews_due`][psirf_flow.policy.thematic.thematic_reviews_due]),
  and gather only incidents whose intake recorded ``add_to_thematic_review`` for it and that no
  earlier commissioning of the same review took (``scheduled_review_as_planned``). That it links at
  least two incidents is the variant's own guard (``several_incidents_linked``).

Without a plan (``GuardInput.governance`` is ``None``) both guards pass, as before; a
thematic review opened without ``scheduled_review_id`` is an unscheduled one and is not
checked against the schedule.

The commissioning guard is registered with ``reads_incident_records``: the engine loads
the other records of the incidents named (same organisation only), among them each
incident's intake and earlier thematic reviews, into
`references`.

Two lifecycles run these guards (the intake adds an incident to a review; a thematic
learning response is commissioned for one), so this module sits below both lifecycle
packages, next to [`psirf_flow.workflows.guards`][psirf_flow.workflows.guards]: each registers
`THEMATIC_GUARD_SPECS` (built once, so both hold the same objects) and
`psirf_flow.workflows.registry.GUARDS` assembles them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from psirf_flow.domain import GuardResult
from psirf_flow.policy.calendars import UK_TIME
from psirf_flow.policy.plan import LifecycleVariant
from psirf_flow.policy.thematic import thematic_reviews_due
from psirf_flow.workflows.guards import GuardSpec


if TYPE_CHECKING:
    from psirf_flow.policy.plan import Plan, ScheduledReview
    from psirf_flow.workflows.guards import CaseSummary, GuardInput


__all__ = ["SCHEDULED_REVIEW_FACT", "THEMATIC_GUARDS", "THEMATIC_GUARD_SPECS"]

ThematicGuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool, bool]
"""A guard registered from this module: name, check, summary, uses_payload,
reads_incident_records."""

SCHEDULED_REVIEW_FACT: Final = "scheduled_review_id"
"""The opening fact of a thematic review that names the plan's scheduled review."""
_INTAKE_FAMILY: Final = "intake"
_RESPONSE_FAMILY: Final = "learning_response"
_STOOD_DOWN: Final = "stood_down"

_result = GuardResult.judge


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _review(plan: Plan, review_id: str) -> ScheduledReview | None:
    return next((r for r in plan.thematic_reviews if r.id == review_id), None)


def _routed_by_priority(g: GuardInput, plan: Plan) -> set[str]:
    """The reviews the recorded plan priorities route the incident to."""
    recorded = set(g.ids("plan_priority_ids"))
    return {
        p.thematic_review
        for p in plan.priorities
        if p.thematic_review is not None and plan.priority_ref(p) in recorded
    }


def _thematic_review_met(g: GuardInput) -> GuardResult:
    """Added only to a review the incident met or its priority routes to (§2, LOCAL).

    Rule: [Scheduled thematic reviews are the plan's, and gather the incidents it routes to
    them][thematic-reviews-as-planned].
    """
    name = "thematic_review_met"
    review = _str(g.payload.get("thematic_review_id"))
    if g.governance is None or review is None:
        return GuardResult(name, ok=True)
    plan = g.governance.plan
    if _review(plan, review) is None:
        # ``thematic_review_in_plan`` says so; one refusal per cause.
        return GuardResult(name, ok=True)
    met = set(g.ids("thematic_reviews_met")) | _routed_by_priority(g, plan)
    return _result(
        name,
        review in met,
        "thematic_review_criteria_not_met",
        f"triage did not find that the incident meets the criteria of the thematic review "
        f"{review}, and no priority it matched routes it there",
    )


def _gathered_by(g: GuardInput, incident: str) -> tuple[list[CaseSummary], list[CaseSummary]]:
    """The incident's intakes and its open or finished thematic reviews, from the references."""
    intakes: list[CaseSummary] = []
    reviews: list[CaseSummary] = []
    for ref in g.references.values():
        if incident not in ref.incident_ids:
            continue
        if ref.family == _INTAKE_FAMILY:
            intakes.append(ref)
        elif ref.family == _RESPONSE_FAMILY and ref.state != _STOOD_DOWN:
            reviews.append(ref)
    return intakes, reviews


def _incidents_problem(g: GuardInput, review_id: str) -> tuple[str, str] | None:
    """Why the incidents gathered cannot be reviewed, as (code, explanation), or ``None``."""
    not_added: list[str] = []
    taken: list[str] = []
    own = g.case.id if g.case is not None else None
    for incident in sorted(set(g.ids("incident_ids"))):
        intakes, reviews = _gathered_by(g, incident)
        if not any(review_id in _ids(i.facts.get("thematic_review_ids")) for i in intakes):
            not_added.append(incident)
        if any(r.id != own and r.facts.get(SCHEDULED_REVIEW_FACT) == review_id for r in reviews):
            taken.append(incident)
    if not_added:
        return (
            "incident_not_added_to_thematic_review",
            "no intake of the incident " + ", ".join(not_added) + " recorded that it was "
            f"added to the thematic review {review_id}",
        )
    if taken:
        return (
            "incident_already_in_thematic_review",
            "the incident " + ", ".join(taken) + f" was already gathered by an earlier "
            f"commissioning of the thematic review {review_id}",
        )
    return None


def _ids(value: object) -> tuple[str, ...]:
    if isinstance(value, tuple):
        return tuple(v for v in value if isinstance(v, str))
    return (value,) if isinstance(value, str) else ()


def _scheduled_review_as_planned(g: GuardInput) -> GuardResult:
    """A scheduled review is the plan's, thematic, due, with incidents added to it (§2).

    Rule: [Scheduled thematic reviews are the plan's, and gather the incidents it routes to
    them][thematic-reviews-as-planned].
    """
    name = "scheduled_review_as_planned"
    review_id = _str(g.facts.get(SCHEDULED_REVIEW_FACT))
    if g.governance is None or review_id is None:
        return GuardResult(name, ok=True)
    plan = g.governance.plan
    review = _review(plan, review_id)
    if review is None:
        return _result(
            name,
            False,
            "thematic_review_not_in_plan",
            f"the plan schedules no thematic review {review_id}",
        )
    response_type = plan.response_types.get(review.response_type)
    if response_type is None or response_type.maps_to is not LifecycleVariant.THEMATIC_REVIEW:
        return _result(
            name,
            False,
            "scheduled_review_not_thematic",
            f"the thematic review {review_id} runs as {review.response_type}, which is not a "
            "response type of the thematic review lifecycle",
        )
    named = _str(g.facts.get("response_type"))
    if named is not None and named != review.response_type:
        return _result(
            name,
            False,
            "scheduled_review_other_response_type",
            f"the thematic review {review_id} runs as {review.response_type}, not {named}",
        )
    if g.now is None:
        return _result(
            name,
            False,
            "decision_time_unknown",
            "the time of the decision is not known, so whether the review is due cannot be checked",
        )
    today = g.now.astimezone(UK_TIME).date()
    if not any(d.review_id == review_id for d in thematic_reviews_due(plan, on=today)):
        return _result(
            name,
            False,
            "thematic_review_not_due",
            f"the thematic review {review_id} is first due on {review.first_due.isoformat()}",
        )
    problem = _incidents_problem(g, review_id)
    if problem is not None:
        return _result(name, False, *problem)
    return GuardResult(name, ok=True)


THEMATIC_GUARDS: Final[tuple[ThematicGuardRow, ...]] = (
    (
        "thematic_review_met",
        _thematic_review_met,
        "Under a plan, triage found the incident meets the thematic review's criteria, or "
        "a priority it matched routes it there.",
        True,
        False,
    ),
    (
        "scheduled_review_as_planned",
        _scheduled_review_as_planned,
        "Under a plan, a scheduled thematic review is one the plan schedules, on the "
        "thematic lifecycle, due today, and gathers only incidents added to it and not "
        "already reviewed by it.",
        True,
        True,
    ),
)
"""The thematic-review guards, registered by the intake and learning-response definitions."""


THEMATIC_GUARD_SPECS: Final[tuple[GuardSpec, ...]] = tuple(
    GuardSpec(*row) for row in THEMATIC_GUARDS
)
"""The rows above as registered guards, built once so the intake and the learning
responses (which both run some of them) share the same
[`GuardSpec`][psirf_flow.workflows.guards.GuardSpec] objects.
"""
