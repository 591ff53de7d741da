"""The sweeper's commissioning of the plan's scheduled thematic reviews (private to it).

A plan schedules thematic reviews (``[[thematic_reviews]]``, psirf-rules §2, the schedule
LOCAL). `commission_due` opens, as psirf_flow itself, one ``thematic_review``
learning response for each review whose latest occurrence is due on or before a
Europe/London date and has not been commissioned yet. The rules are the pure helpers of
[`psirf_flow.policy.thematic`][psirf_flow.policy.thematic]; this module only reads and writes:

* The case id is derived from the plan id, the review id and the occurrence's due date
  (`review_case_id`), and is also the idempotency key, so a second sweeper (in this
  process or another) finds the case already there, or replays the first opening, or is
  refused as a duplicate: never a second review.
* An occurrence whose case exists is left alone without reading anything else, so once
  every due occurrence is commissioned a pass costs one read per scheduled review.
* Otherwise the plan organisation's intakes are listed (paging, as a
  [`SystemReader`][psirf_flow.domain.SystemReader]) and the incidents added to each review
  gathered ([`gathered_reviews`][psirf_flow.policy.thematic.gathered_reviews]), leaving out those an
  earlier commissioning of the same review took, unless it was stood down
  ([`not_yet_reviewed`][psirf_flow.policy.thematic.not_yet_reviewed], what the guard
  ``scheduled_review_as_planned`` checks).
* A review gathering fewer than two incidents (a thematic review links at least two) is
  skipped: nothing is written, and the next pass looks again.

Only the latest occurrence of a review is commissioned: a sweeper down over several
occurrences commissions the latest one late, once, gathering every incident not yet
reviewed (the incidents of the missed occurrences among them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Final

import attrs

from psirf_flow.domain import Case, FactValue, SystemReader
from psirf_flow.engine import Engine
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CommandRejected,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    PsirfFlowError,
)
from psirf_flow.log import enabled, get_logger, safe_fields
from psirf_flow.policy.plan import Plan
from psirf_flow.policy.thematic import (
    MIN_GATHERED,
    ThematicReviewDue,
    commissioning_payload,
    gathered_reviews,
    not_yet_reviewed,
    thematic_reviews_due,
)
from psirf_flow.ports import CaseQuery
from psirf_flow.workflows.couplings import FollowUp, derived_id


__all__ = ["Commissioned", "commission_due", "review_case_id"]

_REVIEW_WORKFLOW: Final = "thematic_review"
"""The workflow a scheduled thematic review opens, and the intakes' workflow."""
_INTAKE_WORKFLOW: Final = "incident_intake"
_STOOD_DOWN: Final = "stood_down"
_PAGE: Final = 500
"""Cases listed per page."""
_READER: Final = SystemReader("psirf-flow-sweeper")
"""Who the sweeper reads intakes as."""


@attrs.frozen
class Commissioned:
    """What one commissioning pass did.

    Attributes:
        commissioned: Reviews opened now.
        skipped: Due reviews that gathered fewer than two incidents not yet reviewed.
        failed: Due reviews whose opening was refused or failed.
        retry: A failure may pass (the store): look again on the next sweep.
    """

    commissioned: int = 0
    skipped: int = 0
    failed: int = 0
    retry: bool = False


def review_case_id(plan: Plan, due: ThematicReviewDue) -> str:
    """The case id of the occurrence ``due`` of a plan's scheduled review (deterministic).

    ``<plan id>/<review id>/<due date>``, shortened stably when too long for an id.
    """
    return derived_id(f"{plan.plan.id}/{due.review_id}", f"/{due.due_on.isoformat()}")


def _exists(engine: Engine, case_id: str) -> bool:
    try:
        engine.store.load(case_id)
    except CaseNotFound:
        return False
    return True


def _cases(engine: Engine, workflow: str, organisation: str) -> Iterator[Case]:
    after: str | None = None
    while True:
        query = CaseQuery(workflow=workflow, organisation=organisation, after=after, limit=_PAGE)
        page = engine.list_cases(query, reader=_READER)
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def commission_due(engine: Engine, on: date) -> Commissioned:
    """Commission every scheduled review of the engine's plan due on or before ``on``.

    Args:
        engine: The engine (its store, clock and current plan); without a plan nothing
            is done.
        on: The Europe/London date of the sweep.

    Raises:
        StoreError: If the store fails while reading (a failure while opening one review
            is counted in ``failed``).
    """
    book = engine.plan_book
    if book is None:
        return Commissioned()
    plan = book.current.plan
    organisation = plan.plan.organisation
    pending = [
        (due, case_id)
        for due in thematic_reviews_due(plan, on=on)
        if not _exists(engine, case_id := review_case_id(plan, due))
    ]
    if not pending:
        return Commissioned()
    gathered = gathered_reviews(c.facts for c in _cases(engine, _INTAKE_WORKFLOW, organisation))
    earlier = [
        c.facts for c in _cases(engine, _REVIEW_WORKFLOW, organisation) if c.state != _STOOD_DOWN
    ]
    done = Commissioned()
    for listed, case_id in pending:
        due = attrs.evolve(listed, incident_ids=gathered.get(listed.review_id, ()))
        chosen = not_yet_reviewed(due, earlier)
        if len(chosen) < MIN_GATHERED:
            done = attrs.evolve(done, skipped=done.skipped + 1)
            continue
        done = _open(engine, organisation, case_id, commissioning_payload(due, chosen), done)
    return done


def _open(
    engine: Engine,
    organisation: str,
    case_id: str,
    payload: Mapping[str, object],
    done: Commissioned,
) -> Commissioned:
    facts: dict[str, FactValue] = {}
    for name, value in payload.items():  # ids and codes only
        if isinstance(value, list):
            facts[name] = tuple(str(v) for v in value)
        elif isinstance(value, str):
            facts[name] = value
    follow_up = FollowUp(
        action="open", target_case_id=case_id, workflow=_REVIEW_WORKFLOW, payload=facts
    )
    try:
        outcome = engine._apply_follow_up(  # the sweeper acts as psirf_flow itself
            follow_up,
            workflow=_REVIEW_WORKFLOW,
            organisation=organisation,
            idempotency_key=case_id,
        )
    except (CaseAlreadyExists, IdempotencyKeyReused):
        return done  # another sweeper commissioned it first
    except ConcurrencyConflict:
        return attrs.evolve(done, retry=True)  # committing at once: look again next sweep
    except CommandRejected as refused:
        _warn(case_id, organisation, refused.code)
        return attrs.evolve(done, failed=done.failed + 1)
    except PsirfFlowError as error:
        _warn(case_id, organisation, error.code)
        return attrs.evolve(done, failed=done.failed + 1, retry=True)
    if outcome.replayed:
        return done
    return attrs.evolve(done, commissioned=done.commissioned + 1)


def _warn(case_id: str, organisation: str, code: str) -> None:
    if enabled(logging.WARNING):
        get_logger().warning(
            "psirf_flow.thematic_review_failed",
            **safe_fields({"case_id": case_id, "organisation": organisation, "error_code": code}),
        )
