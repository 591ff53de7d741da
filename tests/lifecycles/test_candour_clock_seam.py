"""The verbal notification's clock after the relevant person engages again (psirf-rules §4.2).

When the relevant person who declined later engages (``relevant_person_engages``), the
schedule starts a new ``candour_notification`` deadline (cycle 1) from that moment, and the
lifecycle's lateness guard (``verbal_delay_explained``) counts from the same restart (the
``notification_restarted_on`` stamp): a verbal notification recorded on the day the person
engages is on time for both, and needs no delay reason. The time the person declined is not
counted as the trust's delay.
"""

from __future__ import annotations

from tests.lifecycles.test_candour_lateness import HCP, PSS, READER, VERBAL, World

from psirf_flow.domain import DeadlineStatus
from psirf_flow.ports import DeadlineQuery


def _engaged_again() -> World:
    """Aware on 23 Dec 2026; declined on 24 Dec; the person engages on 1 Mar 2027."""
    world = World()
    world.opened()
    world.on("2026-12-24")
    world.fire("record_declined", PSS, {"declined_record_ref": "DOC-DECL-1"})
    world.fire("mark_uncontactable_or_declined", PSS, {"unable_reason": "declined"})
    world.on("2027-03-01")
    world.fire("relevant_person_engages", PSS, {"engaged_via": "relevant_person_contacted_us"})
    return world


def test_engaging_again_starts_a_new_verbal_deadline() -> None:
    """The schedule clears the first verbal deadline and starts cycle 1 from the engagement."""
    world = _engaged_again()

    rows = world.engine.find_deadlines(DeadlineQuery(case_ids=(world.case_id,)), reader=READER)

    assert [(d.kind, d.cycle, d.status) for d in rows] == [
        ("candour_notification", 0, DeadlineStatus.CLEARED),
        ("candour_notification", 1, DeadlineStatus.OPEN),
    ]


def test_a_verbal_notification_on_the_day_of_engagement_is_on_time() -> None:
    """Recorded the day the person engages again, the notification needs no delay reason."""
    world = _engaged_again()

    case = world.fire("record_verbal_notification", HCP, VERBAL)

    assert case.state == "written_due"
