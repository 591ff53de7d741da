"""Scheduled thematic reviews: which are due on a day, with the incidents they gathered.

A plan schedules thematic reviews (``[[thematic_reviews]]``: a response type on the
``thematic_review`` lifecycle, ``every`` and ``first_due``, and optionally ``criteria``;
psirf-rules §2, thematic review NAT-G ◐, the schedule LOCAL). Triage lists the reviews
whose criteria an incident meets
(:attr:`~psirf_flow.policy.triage.Recommendation.thematic_reviews_matched`) and the intake
records the incidents added to a review (``add_to_thematic_review``). The function here is
pure: given the plan, a day and the incidents gathered so far, it says which reviews are
due and with what. Commissioning the review itself is the host's step (a
``thematic_review`` learning response opened with those incidents).

Occurrences are ``first_due`` plus whole multiples of ``every``, counted from
``first_due`` each time (so monthly reviews from the 31st fall on the last day of shorter
months and never drift), on the Europe/London calendar of the plan (working days skip its
bank holidays and closure days).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time

import attrs

from psirf_flow.policy.calendars import UK_TIME, Timescale, WorkingDayCalendar
from psirf_flow.policy.plan import Plan, ScheduledReview


__all__ = ["ThematicReviewDue", "thematic_reviews_due"]

#: The most occurrences looked at per review (a daily review over thirty years).
_MAX_STEPS = 11_000


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
    """
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
