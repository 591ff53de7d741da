"""Scheduled thematic reviews: which are due on a day, with the incidents they gathered.

A plan schedules thematic reviews (``[[thematic_reviews]]``: a response type on the
``thematic_review`` lifecycle, ``every`` and ``first_due``, and optionally ``criteria``;
psirf-rules §2, thematic review NAT-G ◐, the schedule LOCAL). Triage lists the reviews
whose criteria an incident meets
([`thematic_reviews_matched`][psirf_flow.policy.triage.Recommendation]) and the intake
records the incidents added to a review (``add_to_thematic_review``). The function here is
pure: given the plan, a day and the incidents gathered so far, it says which reviews are
due and with what. Commissioning the review itself is the host's step: a
``thematic_review`` learning response opened with the payload
[`commissioning_payload`][psirf_flow.policy.thematic.commissioning_payload] builds, which (under a
plan) the guard ``scheduled_review_as_planned`` checks: the review is the plan's, due, and gathers
only incidents added to it (see the how-to "Commission scheduled thematic reviews").

Occurrences are ``first_due`` plus whole multiples of ``every``, counted from
``first_due`` each time (so monthly reviews from the 31st fall on the last day of shorter
months and never drift), on the Europe/London calendar of the plan (working days skip its
bank holidays and closure days).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time

import attrs

from psirf_flow.errors import InvalidInput
from psirf_flow.policy.calendars import UK_TIME, Timescale, WorkingDayCalendar
from psirf_flow.policy.plan import Plan, ScheduledReview


__all__ = [
    "MIN_GATHERED",
    "ThematicReviewDue",
    "commissioning_payload",
    "gathered_reviews",
    "not_yet_reviewed",
    "thematic_reviews_due",
]

MIN_GATHERED = 2
"""The fewest incidents a thematic review links (the lifecycle's ``several_incidents_linked``)."""

_MAX_STEPS = 11_000
"""The most occurrences looked at per review (a daily review over thirty years)."""


@attrs.frozen(kw_only=True)
class ThematicReviewDue:
    """A scheduled thematic review that is due, and the incidents gathered for it.

    Attributes:
        review_id: The review's id in the plan.
        response_type: The response type it is run as.
        due_on: The latest occurrence on or before the day asked about.
        next_due: The occurrence after that one.
        incident_ids: The incidents gathered for the review, sorted, without duplicates.
    """

    review_id: str
    response_type: str
    due_on: date
    next_due: date
    incident_ids: tuple[str, ...] = ()


def _occurrence(calendar: WorkingDayCalendar, review: ScheduledReview, steps: int) -> date:
    start = datetime.combine(review.first_due, time(12), tzinfo=UK_TIME)
    every = review.every
    moment = calendar.add(start, Timescale(every.amount * steps, every.unit))
    return moment.astimezone(UK_TIME).date()


def thematic_reviews_due(
    plan: Plan, *, on: date, gathered: Mapping[str, Iterable[str]] | None = None
) -> tuple[ThematicReviewDue, ...]:
    """The plan's scheduled thematic reviews due on ``on``, in plan order (pure).

    A review is due once its ``first_due`` has come; ``due_on`` is its latest occurrence
    on or before ``on``.

    Args:
        plan: The trust's plan.
        on: The day asked about (a Europe/London calendar date).
        gathered: The incidents gathered so far, by review id (for example read from the
            intakes' ``thematic_review_ids``); reviews not named gather none.

    Raises:
        InvalidInput: If ``plan`` is not a ``Plan``, ``on`` not a date or ``gathered`` not
            a mapping.
    """
    if not isinstance(plan, Plan):
        raise InvalidInput("plan", f"must be a Plan, got {type(plan).__name__}")
    if not isinstance(on, date):
        raise InvalidInput("on", f"must be a date, got {type(on).__name__}")
    if gathered is not None and not isinstance(gathered, Mapping):
        raise InvalidInput("gathered", f"must be a mapping, got {type(gathered).__name__}")
    calendar = plan.working_calendar()
    incidents = gathered or {}
    due: list[ThematicReviewDue] = []
    for review in plan.thematic_reviews:
        if review.first_due > on or review.every.amount <= 0:
            continue
        steps = 0
        latest = review.first_due
        following = _occurrence(calendar, review, 1)
        while following <= on and steps < _MAX_STEPS:
            steps += 1
            latest = following
            following = _occurrence(calendar, review, steps + 1)
        due.append(
            ThematicReviewDue(
                review_id=review.id,
                response_type=review.response_type,
                due_on=latest,
                next_due=following,
                incident_ids=tuple(sorted(set(incidents.get(review.id, ())))),
            )
        )
    return tuple(due)


def gathered_reviews(intakes: Iterable[Mapping[str, object]]) -> dict[str, tuple[str, ...]]:
    """The incidents gathered by each scheduled review, from intakes' facts (pure).

    Reads each intake's ``incident_id`` and ``thematic_review_ids`` (what
    ``add_to_thematic_review`` collects), so a host passes the facts of its intake cases and
    gives the result to [`thematic_reviews_due`][psirf_flow.policy.thematic.thematic_reviews_due] as
    ``gathered``. Facts of another shape are skipped.

    Args:
        intakes: The facts of intake cases (for example ``case.facts`` of each listed case).

    Raises:
        InvalidInput: If ``intakes`` is not a collection of mappings.
    """
    if not isinstance(intakes, Iterable):  # text is refused below: its items are not mappings
        raise InvalidInput("intakes", f"must be intakes' facts, got {type(intakes).__name__}")
    found: dict[str, set[str]] = {}
    for facts in intakes:
        if not isinstance(facts, Mapping):
            raise InvalidInput("intakes", f"must hold mappings, got {type(facts).__name__}")
        incident = facts.get("incident_id")
        reviews = facts.get("thematic_review_ids")
        if not isinstance(incident, str) or not isinstance(reviews, (tuple, list)):
            continue
        for review in reviews:
            if isinstance(review, str):
                found.setdefault(review, set()).add(incident)
    return {review: tuple(sorted(ids)) for review, ids in sorted(found.items())}


def not_yet_reviewed(
    due: ThematicReviewDue, earlier: Iterable[Mapping[str, object]]
) -> tuple[str, ...]:
    """The incidents of ``due`` that no earlier commissioning of the same review took (pure).

    The intakes keep every review an incident was added to, so ``due.incident_ids`` still
    lists the incidents an earlier occurrence reviewed; the guard
    ``scheduled_review_as_planned`` refuses those (psirf-rules §2). Pass the facts of the
    organisation's thematic reviews that were not stood down: those naming
    ``scheduled_review_id`` equal to ``due.review_id`` take their ``incident_ids``.

    Args:
        due: A review [`thematic_reviews_due`][psirf_flow.policy.thematic.thematic_reviews_due]
            returned.
        earlier: The facts of thematic reviews already opened (not stood down); facts of
            another shape or of another review are skipped.

    Returns:
        The incidents left to review, sorted.

    Raises:
        InvalidInput: If ``due`` is not a ``ThematicReviewDue`` or ``earlier`` is not a
            collection of mappings.
    """
    if not isinstance(due, ThematicReviewDue):
        raise InvalidInput("due", f"must be a ThematicReviewDue, got {type(due).__name__}")
    given: object = earlier
    if isinstance(given, str | bytes) or not isinstance(given, Iterable):
        raise InvalidInput("earlier", "must be the facts of earlier thematic reviews")
    taken: set[str] = set()
    for facts in earlier:
        if not isinstance(facts, Mapping):
            raise InvalidInput("earlier", f"must hold mappings, got {type(facts).__name__}")
        if facts.get("scheduled_review_id") != due.review_id:
            continue
        incidents = facts.get("incident_ids")
        if isinstance(incidents, tuple | list):
            taken.update(i for i in incidents if isinstance(i, str))
    return tuple(sorted(set(due.incident_ids) - taken))


def commissioning_payload(
    due: ThematicReviewDue, incident_ids: Iterable[str] | None = None
) -> dict[str, object]:
    """The opening payload that commissions the scheduled review ``due`` (pure; psirf-rules §2).

    Open a ``thematic_review`` learning response with it (``Engine.open``); under a plan
    the guard ``scheduled_review_as_planned`` checks the review is due and every incident
    was added to it.

    Args:
        due: A review [`thematic_reviews_due`][psirf_flow.policy.thematic.thematic_reviews_due]
            returned.
        incident_ids: The incidents to gather (default: ``due.incident_ids``), for example
            leaving out those an earlier occurrence already reviewed.

    Raises:
        InvalidInput: If fewer than two distinct incidents are gathered (a thematic review
            links at least two), an incident id is not text, or ``due`` is not a
            ``ThematicReviewDue``.
    """
    if not isinstance(due, ThematicReviewDue):
        raise InvalidInput("due", f"must be a ThematicReviewDue, got {type(due).__name__}")
    if incident_ids is not None and (
        isinstance(incident_ids, str | bytes) or not isinstance(incident_ids, Iterable)
    ):
        raise InvalidInput("incident_ids", "must be a collection of incident ids")
    chosen = due.incident_ids if incident_ids is None else tuple(incident_ids)
    if not all(isinstance(i, str) for i in chosen):
        raise InvalidInput("incident_ids", "must be incident ids (text)")
    distinct = sorted(set(chosen))
    if len(distinct) < MIN_GATHERED:
        raise InvalidInput(
            "incident_ids",
            f"must name at least {MIN_GATHERED} incidents for the thematic review "
            f"{due.review_id} (got {len(distinct)})",
        )
    return {
        "incident_ids": distinct,
        "scheduled_review_id": due.review_id,
        "response_type": due.response_type,
    }
