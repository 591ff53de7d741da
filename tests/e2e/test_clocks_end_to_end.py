"""The clocks end to end: an example plan, the manual clock, the sweeper, the relay.

Issue 10's "Done when", driven through the public API only: deadlines computed from the
mental health trust's example plan (its ladders, candour targets and ``[timescales]``),
tiers fired by :class:`~psirf_flow.Sweeper` at their instants and never a second earlier,
notifications and actions delivered by :class:`~psirf_flow.relay.OutboxRelay`, and the
audit trail verified after every sweep. Dates are typed by hand from the counting rules in
:mod:`psirf_flow.policy.timing` and the England and Wales bank holidays of 2026 and 2027
(Christmas Day Friday 25 December 2026, Boxing Day's substitute Monday 28 December, New
Year's Day Friday 1 January 2027, the summer bank holiday Monday 31 August 2026, the early
May bank holiday Monday 3 May 2027); British Summer Time ends at 01:00 UTC on Sunday 25
October 2026 (psirf-rules §4, §9.4).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    Case,
    Engine,
    GuardFailed,
    InMemoryNotifier,
    InMemoryStore,
    ReasonMissing,
    Role,
    Sweeper,
    SweepReport,
    reports,
)
from psirf_flow.domain import SYSTEM_ACTOR_ID, Deadline, Escalation, FactValue, SystemReader
from psirf_flow.notify import Notification
from psirf_flow.policy import load_plan_file
from psirf_flow.policy.timing import local_date
from psirf_flow.ports import CaseQuery, Store
from psirf_flow.relay import OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import referral_case_id


READER = SystemReader("clock-tests")
PLAN = load_plan_file(
    Path(__file__).resolve().parents[2]
    / "examples"
    / "plans"
    / "mental-health-community-trust.toml"
)
ORG = PLAN.plan.organisation
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENG = Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)
PEER = Actor("rev-05", [Role.PEER_REVIEWER], ORG)
SENIOR = Actor("sl-08", [Role.SENIOR_LEADER], ORG)
MEMBER = Actor("sl-09", [Role.SENIOR_LEADER], ORG, committees=frozenset({"patient-safety-group"}))
HCP = Actor("hcp-04", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
FAC = Actor("fac-01", [Role.FACILITATOR], ORG)
OWNER = Actor("own-11", [Role.ACTION_OWNER], ORG)

NOTHING = SweepReport()
ONE = SweepReport(claimed=1, fired=1)
NO_MESSAGES = RelayReport()
VERBAL = {
    "in_person": True,
    "facts_given": True,
    "further_enquiries_explained": True,
    "apology_given": True,
    "support_offered": True,
    "verbal_record_ref": "DOC-V-1",
    "relevant_person_basis": "patient",
}
SWARM_OPENING = {
    "incident_ids": ["INC-9"],
    "involved_staff_ids": ["st-1"],
    "basis": "local_priority",
}

PG = pytest.param("postgresql", marks=pytest.mark.postgres, id="postgresql")


def utc(*parts: int) -> datetime:
    """An aware UTC instant from year, month, day, hour, minute, second."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


@pytest.fixture(name="store")
def _store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store named by the test's ``store_kind`` parameter (memory, SQLite, PostgreSQL)."""
    kind = getattr(request, "param", "memory")
    if kind == "memory":
        yield InMemoryStore()
        return
    url = (
        str(tmp_path / "clocks.sqlite3") if kind == "sqlite" else request.getfixturevalue("pg_url")
    )
    sql = SqlStore.open(url, migrate=True)
    try:
        yield sql
    finally:
        sql.dispose()


ALL_STORES = pytest.mark.parametrize(
    "store", ["memory", "sqlite", PG], indirect=True, ids=["memory", "sqlite", "postgresql"]
)


class World:
    """One trust under the example plan: engine, sweeper, relay and notifier on one clock."""

    def __init__(self, store: Store, start: datetime) -> None:
        self.store = store
        self.clock = ManualClock(start)
        self.engine = Engine(store, clock=self.clock, plan=PLAN)
        self.sweeper = Sweeper(self.engine, claimant="sweeper-1")
        self.notifier = InMemoryNotifier()
        self.relay = OutboxRelay(
            self.engine, notifier=self.notifier, response_types=PLAN.response_variants()
        )

    def fire(
        self, case_id: str, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None
    ) -> Case:
        """Fire ``trigger`` on ``case_id`` now; the case after it."""
        return self.engine.fire(case_id, trigger, actor=actor, payload=payload).case

    def at(self, moment: datetime) -> None:
        """Move the clock to ``moment``."""
        self.clock.set(moment)

    def sweep_at(self, moment: datetime, case_id: str) -> SweepReport:
        """Sweep at ``moment`` and check ``case_id``'s trail still verifies."""
        self.clock.set(moment)
        report = self.sweeper.sweep()
        self.verified(case_id)
        return report

    def verified(self, case_id: str) -> None:
        """Assert the case's audit trail verifies."""
        assert self.engine.verify(case_id, reader=READER).ok

    def rows(self, case_id: str) -> list[tuple[Any, ...]]:
        """The case's deadlines as (kind, cycle, status, started_at, due_date, due_at, owner)."""
        return sorted(
            (d.kind, d.cycle, d.status, d.started_at, d.due_date, d.due_at, d.owner)
            for d in self.store.deadlines(case_id)
        )

    def deadline(self, case_id: str, kind: str, cycle: int) -> Deadline:
        """The case's deadline of ``kind`` and ``cycle``."""
        return next(d for d in self.store.deadlines(case_id) if (d.kind, d.cycle) == (kind, cycle))

    def tiers(self, case_id: str, kind: str, cycle: int) -> list[tuple[Any, ...]]:
        """A deadline's tiers as (tier, stage, fire_at, notify, action, status, fired_at)."""
        return [
            (e.tier, e.stage, e.fire_at, e.notify, e.action, e.status, e.fired_at)
            for e in sorted(self.store.escalations(case_id), key=_tier_key)
            if (e.kind, e.cycle) == (kind, cycle)
        ]

    def fired_entries(self, case_id: str) -> list[tuple[str, str, dict[str, object]]]:
        """The case's ``escalation_fired`` entries as (actor, role, payload)."""
        return [
            (e.actor_id, e.role, dict(e.data))
            for e in self.engine.history(case_id, reader=READER)
            if e.trigger == "escalation_fired"
        ]

    def sent(self) -> list[Notification]:
        """Relay what is pending; the notifications the host received, in order."""
        self.relay.run_until_idle()
        return list(self.notifier.sent)


def _tier_key(tier: Escalation) -> tuple[int, int]:
    return (tier.cycle, tier.tier)


def fired(  # noqa: PLR0917 - one audit payload reads best positionally
    kind: str,
    cycle: int,
    tier: int,
    stage: str,
    scheduled: str,
    fired_at: str,
    due_at: str,
    late: int = 0,
    action: str | None = None,
) -> dict[str, object]:
    """The payload an ``escalation_fired`` entry records."""
    payload: dict[str, object] = {
        "deadline": kind,
        "cycle": cycle,
        "tier": tier,
        "stage": stage,
        "scheduled_at": scheduled,
        "fired_at": fired_at,
        "late_seconds": late,
        "due_at": due_at,
    }
    if action is not None:
        payload["action"] = action
    return payload


def note(  # noqa: PLR0917 - one notification reads best positionally
    case_id: str,
    kind: str,
    cycle: int,
    tier: int,
    stage: str,
    role: str,
    due_at: str,
    person: str | None = None,
) -> Notification:
    """The notification one recipient of a fired tier receives."""
    body: dict[str, FactValue] = {
        "case_id": case_id,
        "organisation": ORG,
        "kind": kind,
        "cycle": cycle,
        "tier": tier,
        "stage": stage,
        "role": role,
        "due_at": due_at,
    }
    if person is not None:
        body["person_id"] = person
    return Notification(
        id=f"escalation:{case_id}:{kind}:{cycle}:{tier}:{role}",
        kind="notify.escalation",
        case_id=case_id,
        organisation=ORG,
        body=body,
    )


def as_tuple(notification: Notification) -> tuple[Any, ...]:
    """A notification's fields, its body as a plain dict."""
    return (
        notification.id,
        notification.kind,
        notification.case_id,
        notification.organisation,
        dict(notification.body),
    )


# ------------------------------------------------------------------ 1. duty of candour

CANDOUR_PSS = ("patient_safety_specialist",)
CANDOUR_DUE_AT = "2027-01-12T00:00:00Z"


def open_candour(world: World) -> str:
    """Open the candour case, aware on Wednesday 23 December 2026, found notifiable."""
    world.engine.open(
        "duty_of_candour",
        actor=HCP,
        case_id="DOC-1",
        payload={"incident_ids": ["INC-1"], "aware_on": "2026-12-23"},
    )
    world.fire(
        "DOC-1",
        "determine_notifiable",
        HCP,
        {"harm_category": "severe", "harm_basis": "appears_to_have_resulted"},
    )
    return "DOC-1"


@ALL_STORES
def test_candour_notification_falls_due_fires_its_ladder_and_is_met_late(store: Store) -> None:
    """Aware Wed 23 Dec 2026: due Mon 11 Jan 2027, tiers fire on time, late notice needs reason."""
    world = World(store, utc(2026, 12, 23, 15))
    case_id = open_candour(world)

    assert world.rows(case_id) == [
        (
            "candour_notification",
            0,
            "open",
            utc(2026, 12, 23),
            date(2027, 1, 11),
            utc(2027, 1, 12),
            None,
        )
    ]
    # Warning two working days before Mon 11 Jan: Thu 7 Jan (Fri 8 is the first); the breach
    # at 00:00 on Tue 12 Jan; five working days after the due date: Mon 18 Jan.
    ladder = [
        (0, "warning", utc(2027, 1, 7), CANDOUR_PSS, None, "pending", None),
        (1, "breach", utc(2027, 1, 12), CANDOUR_PSS, None, "pending", None),
        (2, "escalation", utc(2027, 1, 18), ("executive_lead",), None, "pending", None),
    ]
    assert world.tiers(case_id, "candour_notification", 0) == ladder
    assert world.deadline(case_id, "candour_notification", 0).ladder == "candour-overdue"

    # Never early: one second before each instant nothing fires; at the instant, one tier.
    assert world.sweep_at(utc(2027, 1, 6, 23, 59, 59), case_id) == NOTHING
    assert world.sweep_at(utc(2027, 1, 7), case_id) == ONE
    assert world.sweep_at(utc(2027, 1, 7, 12), case_id) == NOTHING
    assert world.sweep_at(utc(2027, 1, 11, 23, 59, 59), case_id) == NOTHING
    assert world.sweep_at(utc(2027, 1, 12), case_id) == ONE

    assert world.fired_entries(case_id) == [
        (
            SYSTEM_ACTOR_ID,
            "system",
            fired(
                "candour_notification",
                0,
                0,
                "warning",
                "2027-01-07T00:00:00Z",
                "2027-01-07T00:00:00Z",
                CANDOUR_DUE_AT,
            ),
        ),
        (
            SYSTEM_ACTOR_ID,
            "system",
            fired(
                "candour_notification",
                0,
                1,
                "breach",
                "2027-01-12T00:00:00Z",
                "2027-01-12T00:00:00Z",
                CANDOUR_DUE_AT,
            ),
        ),
    ]
    assert world.deadline(case_id, "candour_notification", 0).tier == 2
    assert [as_tuple(n) for n in world.sent()] == [
        as_tuple(note(case_id, "candour_notification", 0, t, s, r, CANDOUR_DUE_AT))
        for t, s, r in ((0, "warning", CANDOUR_PSS[0]), (1, "breach", CANDOUR_PSS[0]))
    ]

    # Recorded on Wed 13 January, after the due date: a reason for the delay is needed.
    world.at(utc(2027, 1, 13, 10))
    with pytest.raises(ReasonMissing):
        world.fire(case_id, "record_verbal_notification", HCP, VERBAL)
    case = world.fire(
        case_id,
        "record_verbal_notification",
        HCP,
        {**VERBAL, "verbal_delay_reason": "relevant_person_unavailable"},
    )

    assert case.facts["verbal_delay_reason"] == "relevant_person_unavailable"
    met = world.deadline(case_id, "candour_notification", 0)
    assert (met.status, met.met_at, met.tier) == ("met", utc(2027, 1, 13, 10), 2)
    assert world.tiers(case_id, "candour_notification", 0) == [
        (*ladder[0][:5], "fired", utc(2027, 1, 7)),
        (*ladder[1][:5], "fired", utc(2027, 1, 12)),
        (*ladder[2][:5], "cancelled", None),
    ]
    # The written notification's clock starts at the verbal one: ten working days from Wed
    # 13 January is Wed 27 January.
    assert world.rows(case_id)[0] == (
        "candour_notification",
        0,
        "met",
        utc(2026, 12, 23),
        date(2027, 1, 11),
        utc(2027, 1, 12),
        None,
    )
    assert world.rows(case_id)[1] == (
        "candour_written",
        0,
        "open",
        utc(2027, 1, 13, 10),
        date(2027, 1, 27),
        utc(2027, 1, 28),
        None,
    )
    assert world.tiers(case_id, "candour_written", 0) == [
        (0, "warning", utc(2027, 1, 25), CANDOUR_PSS, None, "pending", None),
        (1, "breach", utc(2027, 1, 28), CANDOUR_PSS, None, "pending", None),
        (2, "escalation", utc(2027, 2, 3), ("executive_lead",), None, "pending", None),
    ]

    # The cancelled escalation never fires, whenever the sweeper runs.
    assert world.sweep_at(utc(2027, 1, 18, 12), case_id) == NOTHING
    assert len(world.fired_entries(case_id)) == 2
    assert len(world.sent()) == 2


@ALL_STORES
def test_a_sweeper_that_was_down_fires_what_fell_due_once_with_its_lateness(
    store: Store,
) -> None:
    """Swept first on Tue 19 Jan: all three candour tiers fire once, each with its lateness."""
    world = World(store, utc(2026, 12, 23, 15))
    case_id = open_candour(world)

    first = world.sweep_at(utc(2027, 1, 19, 9), case_id)
    again = world.sweep_at(utc(2027, 1, 19, 9, 0, 1), case_id)

    late = [
        int((utc(2027, 1, 19, 9) - scheduled).total_seconds())
        for scheduled in (utc(2027, 1, 7), utc(2027, 1, 12), utc(2027, 1, 18))
    ]
    assert first == SweepReport(
        claimed=3, fired=3, late_seconds_max=max(late), late_seconds_total=sum(late)
    )
    assert again == NOTHING
    assert [payload["late_seconds"] for _, _, payload in world.fired_entries(case_id)] == late
    assert [payload["fired_at"] for _, _, payload in world.fired_entries(case_id)] == [
        "2027-01-19T09:00:00Z"
    ] * 3
    assert [n.id for n in world.sent()] == [
        "escalation:DOC-1:candour_notification:0:0:patient_safety_specialist",
        "escalation:DOC-1:candour_notification:0:1:patient_safety_specialist",
        "escalation:DOC-1:candour_notification:0:2:executive_lead",
    ]


# ------------------------------------------------------------------ 3. swarm huddle not held

SWARM_DUE_AT = "2026-10-26T10:00:00Z"
CONVERT = "convert_to_after_action_review"


@ALL_STORES
def test_swarm_huddle_not_held_in_48_real_hours_becomes_an_after_action_review_once(
    store: Store,
) -> None:
    """Opened Sat 24 Oct 11:00 BST: breach 48 real hours later, the action applied once."""
    world = World(store, utc(2026, 10, 24, 10))
    world.engine.open("swarm_huddle", actor=PSS, case_id="SH-1", payload=SWARM_OPENING)
    world.fire("SH-1", "assign_facilitator", PSS, {"facilitator_id": FAC.id})

    # 48 hours of real time across the end of summer time: 10:00 UTC on Monday 26 October
    # (10:00 GMT, not 11:00). The local hard cap (5 working days) is Fri 30 October.
    assert world.rows("SH-1") == [
        ("response_hard_cap", 0, "open", utc(2026, 10, 24, 10), date(2026, 10, 30),
         utc(2026, 10, 31), FAC.id),
        ("response_target", 0, "open", utc(2026, 10, 24, 10), None, utc(2026, 10, 26, 10),
         FAC.id),
    ]  # fmt: skip
    assert world.tiers("SH-1", "response_target", 0) == [
        (0, "warning", utc(2026, 10, 26, 6), ("facilitator",), None, "pending", None),
        (
            1,
            "breach",
            utc(2026, 10, 26, 10),
            ("patient_safety_specialist", "facilitator"),
            CONVERT,
            "pending",
            None,
        ),
    ]
    assert world.deadline("SH-1", "response_target", 0).ladder == "swarm-not-held"

    assert world.sweep_at(utc(2026, 10, 26, 5, 59, 59), "SH-1") == NOTHING
    assert world.sweep_at(utc(2026, 10, 26, 6), "SH-1") == ONE
    assert world.sweep_at(utc(2026, 10, 26, 9, 59, 59), "SH-1") == NOTHING
    assert world.sweep_at(utc(2026, 10, 26, 10), "SH-1") == ONE

    assert world.fired_entries("SH-1") == [
        (
            SYSTEM_ACTOR_ID,
            "system",
            fired(
                "response_target",
                0,
                0,
                "warning",
                "2026-10-26T06:00:00Z",
                "2026-10-26T06:00:00Z",
                SWARM_DUE_AT,
            ),
        ),
        (
            SYSTEM_ACTOR_ID,
            "system",
            fired(
                "response_target",
                0,
                1,
                "breach",
                SWARM_DUE_AT,
                SWARM_DUE_AT,
                SWARM_DUE_AT,
                action=CONVERT,
            ),
        ),
    ]
    # The relay delivers the notifications, applies the action as psirf_flow and the
    # coupling opens the after action review for the same incident.
    sent = world.sent()
    assert [as_tuple(n) for n in sent] == [
        as_tuple(note("SH-1", "response_target", 0, 0, "warning", "facilitator", SWARM_DUE_AT,
                      FAC.id)),
        as_tuple(note("SH-1", "response_target", 0, 1, "breach", "patient_safety_specialist",
                      SWARM_DUE_AT)),
        as_tuple(note("SH-1", "response_target", 0, 1, "breach", "facilitator", SWARM_DUE_AT,
                      FAC.id)),
    ]  # fmt: skip
    huddle = world.engine.get("SH-1", reader=READER)
    assert huddle.state == "stood_down"
    last = world.engine.history("SH-1", reader=READER)[-1]
    assert (last.trigger, last.actor_id, last.to_state) == (CONVERT, SYSTEM_ACTOR_ID, "stood_down")
    cases = {
        c.id: (c.workflow, c.state, c.facts["incident_ids"])
        for c in store.list_cases(CaseQuery()).items
    }
    assert cases == {
        "SH-1": ("swarm_huddle", "stood_down", ("INC-9",)),
        "SH-1/aar": ("after_action_review", "commissioned", ("INC-9",)),
    }
    # The review starts its own plan clock (20 working days: Mon 23 November) with the
    # default ladder: a breach at due to the patient safety specialist.
    assert world.rows("SH-1/aar") == [
        ("response_target", 0, "open", utc(2026, 10, 26, 10), date(2026, 11, 23),
         utc(2026, 11, 24), None),
    ]  # fmt: skip
    assert world.tiers("SH-1/aar", "response_target", 0) == [
        (0, "breach", utc(2026, 11, 24), ("patient_safety_specialist",), None, "pending", None)
    ]
    # Leaving the stage clears every open clock of the huddle; no tier is left to fire.
    assert [(d.kind, d.status, d.met_at) for d in sorted(
        store.deadlines("SH-1"), key=lambda d: d.kind
    )] == [
        ("response_hard_cap", "cleared", utc(2026, 10, 26, 10)),
        ("response_target", "cleared", utc(2026, 10, 26, 10)),
    ]  # fmt: skip
    assert {e.status for e in store.escalations("SH-1") if e.kind == "response_hard_cap"} == {
        "cancelled"
    }
    world.verified("SH-1")
    world.verified("SH-1/aar")

    # Sweeping and relaying again, even past the hard cap, changes nothing.
    history = len(world.engine.history("SH-1", reader=READER))
    assert world.sweep_at(utc(2026, 11, 2), "SH-1") == NOTHING
    assert world.relay.run_until_idle() == NO_MESSAGES
    assert len(world.engine.history("SH-1", reader=READER)) == history
    assert len(store.list_cases(CaseQuery()).items) == 2
    assert world.sent() == sent


# ------------------------------------------------------------------ 2. PSII

LR_LEAD = ("learning_response_lead",)
TARGET_LADDER_ROLES = (
    LR_LEAD,
    ("learning_response_lead", "engagement_lead"),
    ("patient_safety_specialist", "learning_response_lead"),
    ("executive_lead",),
)
STAGES = ("warning", "warning", "breach", "escalation")


def ladder(instants: tuple[datetime, ...], status: str = "pending") -> list[tuple[Any, ...]]:
    """The plan's ``response-overdue`` ladder firing at ``instants``, every tier ``status``."""
    return [
        (n, STAGES[n], instant, TARGET_LADDER_ROLES[n], None, status, None)
        for n, instant in enumerate(instants)
    ]


def _to_approval(world: World, case_id: str) -> Case:
    """Take the PSII from gathering to the executive's approval, now."""
    steps: tuple[tuple[str, Actor, dict[str, object]], ...] = (
        ("complete_analysis", LEAD, {}),
        ("submit_draft", LEAD, {"draft_ref": "DRAFT-1"}),
        ("record_peer_review", PEER, {"peer_review_ref": "PR-1"}),
        ("record_expert_input", LEAD, {"expert_input": "panel", "expert_ids": ["sme-1"]}),
        ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"}),
        ("record_family_draft_response", ENG, {"family_draft_response": "commented"}),
        ("agree_findings", SENIOR, {}),
        ("request_approval", LEAD, {}),
        ("record_sign_off", MEMBER, {"sign_off_step": 1, "meeting_ref": "PSG-2026-11"}),
    )
    for trigger, actor, payload in steps:
        world.fire(case_id, trigger, actor, payload)
    return world.fire(case_id, "approve", EXEC, {"report_ref": "REPORT-1"})


START = utc(2026, 6, 7, 23, 30)
AGREED_AT = utc(2026, 6, 9, 10)
EXTENDED_AT = utc(2026, 6, 19, 10)
CAP_TIERS = (utc(2026, 11, 24), utc(2026, 12, 1), utc(2026, 12, 9), utc(2026, 12, 22))


def _appointed(world: World, case_id: str) -> None:
    """Open the PSII and appoint its lead at 00:30 BST on Monday 8 June 2026."""
    world.engine.open("psii", actor=PSS, case_id=case_id, payload={"incident_ids": ["INC-2"]})
    assert world.rows(case_id) == []

    # The lead is appointed at 00:30 BST on Monday 8 June 2026 (23:30 UTC on Sunday).
    world.at(utc(2026, 6, 7, 23, 30))
    case = world.fire(
        case_id, "assign_lead", PSS, {"lead_id": LEAD.id, "engagement_lead_id": ENG.id}
    )
    assert case.facts["started_on"] == "2026-06-08"
    assert local_date(world.deadline(case_id, "response_target", 0).started_at) == date(2026, 6, 8)
    # Three months from Mon 8 June: Tue 8 September (due at 00:00 BST on the 9th); the cap,
    # six months by default: Tue 8 December (00:00 GMT on the 9th).
    assert world.rows(case_id) == [
        ("response_hard_cap", 0, "open", START, date(2026, 12, 8), utc(2026, 12, 9), LEAD.id),
        ("response_target", 0, "open", START, date(2026, 9, 8), utc(2026, 9, 8, 23), LEAD.id),
    ]
    # Ten working days before Tue 8 September skips the summer bank holiday (Mon 31 August):
    # Mon 24 August; five: Tue 1 September; ten after: Tue 22 September.
    assert world.tiers(case_id, "response_target", 0) == ladder(
        (utc(2026, 8, 23, 23), utc(2026, 8, 31, 23), utc(2026, 9, 8, 23), utc(2026, 9, 21, 23))
    )
    assert world.tiers(case_id, "response_hard_cap", 0) == ladder(CAP_TIERS)


def _agreed_and_extended(world: World, case_id: str) -> None:
    """The family agree a target date; then an extension is requested and approved."""
    # The lead agrees Tue 1 September with the family: a new row, the old one superseded.
    world.at(utc(2026, 6, 9, 10))
    world.fire(
        case_id,
        "record_terms_of_reference",
        LEAD,
        {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    )
    world.fire(
        case_id,
        "agree_timescale",
        LEAD,
        {"target_date": "2026-09-01", "family_timescale_agreement": "agreed"},
    )
    superseded = world.deadline(case_id, "response_target", 0)
    assert (superseded.status, superseded.met_at) == ("superseded", AGREED_AT)
    assert {t[5] for t in world.tiers(case_id, "response_target", 0)} == {"cancelled"}
    assert world.rows(case_id)[2] == (
        "response_target", 1, "open", AGREED_AT, date(2026, 9, 1), utc(2026, 9, 1, 23), LEAD.id
    )  # fmt: skip

    # An extension: requested by the lead, the family's position, the executive's approval.
    world.fire(
        case_id,
        "record_engagement",
        ENG,
        {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
    )
    world.fire(case_id, "begin_gathering", LEAD)
    world.at(utc(2026, 6, 19, 10))
    world.fire(
        case_id,
        "request_extension",
        LEAD,
        {"requested_target_date": "2026-10-30", "extension_reason": "external_process"},
    )
    assert world.deadline(case_id, "response_target", 1).status == "open"
    world.fire(case_id, "record_family_position", ENG, {"family_extension_position": "agreed"})
    assert world.deadline(case_id, "response_target", 1).status == "open"
    world.fire(case_id, "approve_extension", EXEC, {"target_date": "2026-10-30"})
    assert [(r[0], r[1], r[2]) for r in world.rows(case_id)] == [
        ("response_hard_cap", 0, "open"),
        ("response_target", 0, "superseded"),
        ("response_target", 1, "superseded"),
        ("response_target", 2, "open"),
    ]
    # Fri 30 October is after the clocks go back: due at 00:00 GMT on the 31st.
    assert world.rows(case_id)[3] == (
        "response_target", 2, "open", EXTENDED_AT, date(2026, 10, 30), utc(2026, 10, 31), LEAD.id
    )  # fmt: skip
    assert world.tiers(case_id, "response_target", 2) == ladder(
        (utc(2026, 10, 15, 23), utc(2026, 10, 22, 23), utc(2026, 10, 31), utc(2026, 11, 13))
    )


def _held_and_resumed(world: World, case_id: str) -> None:
    """On hold for 14 days: nothing fires; then every date and tier moves 14 days later."""
    # On hold for 14 days (Mon 12 to Mon 26 October): nothing fires, even past a tier.
    world.at(utc(2026, 10, 12, 10))
    world.fire(case_id, "hold", EXEC, {"hold_reason": "police"})
    paused = world.deadline(case_id, "response_target", 2)
    assert (paused.status, paused.paused_at) == ("paused", utc(2026, 10, 12, 10))
    assert world.deadline(case_id, "response_hard_cap", 0).status == "paused"
    assert {t[5] for t in world.tiers(case_id, "response_target", 2)} == {"paused"}
    assert world.sweep_at(utc(2026, 10, 23, 12), case_id) == NOTHING
    assert reports.caseload(world.engine, LEAD.id, reader=READER, now=utc(2026, 10, 23, 12)) == (
        reports.CaseloadItem(
            case_id=case_id,
            organisation=ORG,
            workflow="psii",
            state="on_hold",
            next_kind="response_target",
            next_due_date=date(2026, 10, 30),
            next_due_at=utc(2026, 10, 31),
            overdue=False,
            on_hold=True,
            deadlines=2,
        ),
    )
    world.at(utc(2026, 10, 26, 10))
    world.fire(case_id, "resume", EXEC)

    # Due dates and every tier move 14 local days later; 00:00 local stays 00:00 local.
    assert world.rows(case_id)[0] == (
        "response_hard_cap", 0, "open", START, date(2026, 12, 22), utc(2026, 12, 23), LEAD.id
    )  # fmt: skip
    assert world.rows(case_id)[3] == (
        "response_target", 2, "open", EXTENDED_AT, date(2026, 11, 13), utc(2026, 11, 14), LEAD.id
    )  # fmt: skip
    resumed = world.deadline(case_id, "response_target", 2)
    assert resumed.paused_at is None
    assert world.tiers(case_id, "response_target", 2) == ladder(
        (utc(2026, 10, 30), utc(2026, 11, 6), utc(2026, 11, 14), utc(2026, 11, 27))
    )
    assert world.tiers(case_id, "response_hard_cap", 0) == ladder(
        tuple(instant + timedelta(days=14) for instant in CAP_TIERS)
    )
    assert world.sweep_at(utc(2026, 10, 29, 23, 59, 59), case_id) == NOTHING
    assert world.sweep_at(utc(2026, 10, 30), case_id) == ONE
    assert world.fired_entries(case_id) == [
        (
            SYSTEM_ACTOR_ID,
            "system",
            fired(
                "response_target",
                2,
                0,
                "warning",
                "2026-10-30T00:00:00Z",
                "2026-10-30T00:00:00Z",
                "2026-11-14T00:00:00Z",
            ),
        )
    ]
    assert [as_tuple(n) for n in world.sent()] == [
        as_tuple(
            note(case_id, "response_target", 2, 0, "warning", LR_LEAD[0],
                 "2026-11-14T00:00:00Z", LEAD.id)
        )
    ]  # fmt: skip


def _approved_and_closed(world: World, case_id: str) -> None:
    """Approval meets both clocks; closing leaves nothing to fire."""
    # Approval meets the target and the cap; their pending tiers are cancelled.
    world.at(utc(2026, 11, 2, 10))
    assert _to_approval(world, case_id).state == "approved"
    target = world.deadline(case_id, "response_target", 2)
    cap = world.deadline(case_id, "response_hard_cap", 0)
    assert (target.status, target.met_at, target.tier) == ("met", utc(2026, 11, 2, 10), 1)
    assert (cap.status, cap.met_at, cap.tier) == ("met", utc(2026, 11, 2, 10), 0)
    assert [t[5] for t in world.tiers(case_id, "response_target", 2)] == [
        "fired", "cancelled", "cancelled", "cancelled"
    ]  # fmt: skip
    world.fire(case_id, "share", ENG, {"family_sharing": "shared"})
    world.fire(case_id, "close", PSS, {"no_actions_rationale": "no_new_learning"})
    assert world.sweep_at(utc(2027, 1, 20), case_id) == NOTHING


def _reopened(world: World, case_id: str) -> None:
    """Reopening starts new clocks; the lead agrees a new target without an override."""
    # Reopened on Wed 3 February 2027: a new cycle from the reopening date. Three months is
    # Mon 3 May, the early May bank holiday, so Tue 4 May; the cap is Tue 3 August.
    reopened_at = utc(2027, 2, 3, 14)
    world.at(reopened_at)
    case = world.fire(
        case_id, "reopen", EXEC, {"new_information_ref": "NEW-1", "reopen_reason": "inquest"}
    )
    assert case.facts["started_on"] == "2027-02-03"
    assert world.rows(case_id) == [
        ("response_hard_cap", 0, "met", START, date(2026, 12, 22), utc(2026, 12, 23), LEAD.id),
        ("response_hard_cap", 1, "open", reopened_at, date(2027, 8, 3), utc(2027, 8, 3, 23),
         LEAD.id),
        ("response_target", 0, "superseded", START, date(2026, 9, 8), utc(2026, 9, 8, 23),
         LEAD.id),
        ("response_target", 1, "superseded", AGREED_AT, date(2026, 9, 1), utc(2026, 9, 1, 23),
         LEAD.id),
        ("response_target", 2, "met", EXTENDED_AT, date(2026, 11, 13), utc(2026, 11, 14),
         LEAD.id),
        ("response_target", 3, "open", reopened_at, date(2027, 5, 4), utc(2027, 5, 4, 23),
         LEAD.id),
    ]  # fmt: skip

    # The lead agrees a new target within the plan's timescale: no executive override.
    world.at(utc(2027, 2, 4, 10))
    with pytest.raises(GuardFailed):
        world.fire(
            case_id,
            "agree_timescale",
            LEAD,
            {"target_date": "2027-05-05", "family_timescale_agreement": "agreed"},
        )
    world.fire(
        case_id,
        "agree_timescale",
        LEAD,
        {"target_date": "2027-05-04", "family_timescale_agreement": "agreed"},
    )
    assert [(r[0], r[1], r[2]) for r in world.rows(case_id)][-2:] == [
        ("response_target", 3, "superseded"),
        ("response_target", 4, "open"),
    ]
    assert world.rows(case_id)[-1] == (
        "response_target", 4, "open", utc(2027, 2, 4, 10), date(2027, 5, 4), utc(2027, 5, 4, 23),
        LEAD.id,
    )  # fmt: skip
    assert "override_hard_cap" not in [
        e.trigger for e in world.engine.history(case_id, reader=READER)
    ]
    world.verified(case_id)


def test_psii_clock_from_lead_appointment_through_extension_hold_approval_and_reopening() -> None:
    """A PSII's target and cap: agreed, extended, paused, met, and restarted on reopening."""
    world = World(InMemoryStore(), utc(2026, 6, 5, 9))
    _appointed(world, "LR-1")
    _agreed_and_extended(world, "LR-1")
    _held_and_resumed(world, "LR-1")
    _approved_and_closed(world, "LR-1")
    _reopened(world, "LR-1")


def test_after_a_hold_the_lifecycle_moves_the_hard_cap_as_the_deadline_rows_do() -> None:
    """On hold 61 days: an extension up to the moved cap needs no executive override."""
    world = World(InMemoryStore(), utc(2026, 6, 5, 9))
    _appointed(world, "LR-1")
    world.at(utc(2026, 7, 1, 10))
    world.fire("LR-1", "hold", EXEC, {"hold_reason": "police"})
    assert world.engine.get("LR-1", reader=READER).facts["held_on"] == "2026-07-01"
    world.at(utc(2026, 8, 31, 10))
    case = world.fire("LR-1", "resume", EXEC)

    assert (case.facts["days_on_hold"], "held_on" in case.facts) == (61, False)
    # Tue 8 December 2026 + 61 days: Sun 7 February 2027 (a hold moves whole days).
    assert world.rows("LR-1") == [
        ("response_hard_cap", 0, "open", START, date(2027, 2, 7), utc(2027, 2, 8), LEAD.id),
        ("response_target", 0, "open", START, date(2026, 11, 8), utc(2026, 11, 9), LEAD.id),
    ]
    world.fire(
        "LR-1",
        "record_terms_of_reference",
        LEAD,
        {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    )
    # The plan's timescale moved too: the lead may agree Sun 8 November, not a day more.
    with pytest.raises(GuardFailed):
        world.fire(
            "LR-1",
            "agree_timescale",
            LEAD,
            {"target_date": "2026-11-09", "family_timescale_agreement": "agreed"},
        )
    world.fire("LR-1", "agree_timescale", LEAD,
               {"target_date": "2026-11-08", "family_timescale_agreement": "agreed"})  # fmt: skip
    beyond = {"requested_target_date": "2027-02-08", "extension_reason": "external_process"}
    with pytest.raises(GuardFailed):
        world.fire("LR-1", "request_extension", LEAD, beyond)
    world.fire(
        "LR-1",
        "request_extension",
        LEAD,
        {"requested_target_date": "2027-02-05", "extension_reason": "external_process"},
    )
    world.fire("LR-1", "record_family_position", ENG, {"family_extension_position": "agreed"})
    world.fire("LR-1", "approve_extension", EXEC, {"target_date": "2027-02-05"})

    assert world.rows("LR-1")[-1] == (
        "response_target", 2, "open", utc(2026, 8, 31, 10), date(2027, 2, 5), utc(2027, 2, 6),
        LEAD.id,
    )  # fmt: skip
    world.verified("LR-1")


# ------------------------------------------------------------------ candour findings

WRITTEN = {
    "facts_included": True,
    "enquiries_included": True,
    "results_to_date_included": True,
    "apology_included": True,
    "written_copy_ref": "DOC-W-1",
    "written_delivery": "post",
}


def test_candour_findings_clock_starts_at_approval_or_when_other_enquiries_conclude() -> None:
    """Findings available Mon 1 Feb 2027 (approval, or other enquiries): due Mon 15 Feb."""
    world = World(InMemoryStore(), utc(2026, 12, 23, 15))
    open_candour(world)
    world.engine.open(
        "duty_of_candour",
        actor=HCP,
        case_id="DOC-2",
        payload={"incident_ids": ["INC-5"], "aware_on": "2026-12-23"},
    )
    world.fire(
        "DOC-2",
        "determine_notifiable",
        HCP,
        {"harm_category": "severe", "harm_basis": "appears_to_have_resulted"},
    )
    world.engine.open(
        "psii",
        actor=PSS,
        case_id="LR-2",
        payload={"incident_ids": ["INC-1"], "candour_case_id": "DOC-1"},
    )
    world.fire("LR-2", "assign_lead", PSS, {"lead_id": LEAD.id, "engagement_lead_id": ENG.id})
    world.fire(
        "LR-2",
        "record_terms_of_reference",
        LEAD,
        {"terms_of_reference_ref": "TOR-2", "family_involvement_in_terms": "involved"},
    )
    world.fire(
        "LR-2",
        "agree_timescale",
        LEAD,
        {"target_date": "2027-03-23", "family_timescale_agreement": "agreed"},
    )
    world.fire(
        "LR-2",
        "record_engagement",
        ENG,
        {"person_id": "pat-2", "person_kind": "patient", "engagement": "involved"},
    )
    world.fire("LR-2", "begin_gathering", LEAD)
    world.at(utc(2027, 1, 4, 10))
    for case_id in ("DOC-1", "DOC-2"):
        world.fire(case_id, "record_verbal_notification", HCP, VERBAL)
        world.fire(case_id, "record_written_notification", ENG, WRITTEN)

    available = utc(2027, 2, 1, 10)
    world.at(available)
    _to_approval(world, "LR-2")
    world.relay.run_until_idle()
    world.fire(
        "DOC-2",
        "record_enquiries_concluded",
        PSS,
        {"enquiries_concluded_ref": "EXT-2", "enquiries": "external_investigation"},
    )

    for case_id in ("DOC-1", "DOC-2"):
        case = world.engine.get(case_id, reader=READER)
        assert (case.state, case.facts["findings_available_on"]) == ("results_due", "2027-02-01")
        assert world.rows(case_id)[0] == (
            "candour_findings", 0, "open", available, date(2027, 2, 15), utc(2027, 2, 16), None
        )  # fmt: skip
        assert world.tiers(case_id, "candour_findings", 0) == [
            (0, "warning", utc(2027, 2, 11), CANDOUR_PSS, None, "pending", None),
            (1, "breach", utc(2027, 2, 16), CANDOUR_PSS, None, "pending", None),
            (2, "escalation", utc(2027, 2, 22), ("executive_lead",), None, "pending", None),
        ]

    # Shared on Tue 16 February, a day late: a reason is needed, and the clock is met.
    swept = world.sweep_at(utc(2027, 2, 16), "DOC-2")  # warnings late, breaches on time
    assert (swept.claimed, swept.fired, swept.late_seconds_max) == (4, 4, 5 * 86400)
    world.at(utc(2027, 2, 16, 11))
    findings = {"results_letter_ref": "DOC-R-2", "results_delivery": "post"}
    with pytest.raises(ReasonMissing):
        world.fire("DOC-2", "record_findings_shared", ENG, findings)
    world.fire(
        "DOC-2", "record_findings_shared", ENG, {**findings, "results_delay_reason": "other"}
    )
    shared = world.deadline("DOC-2", "candour_findings", 0)
    assert (shared.status, shared.met_at, shared.tier) == ("met", utc(2027, 2, 16, 11), 2)
    assert world.sweep_at(utc(2027, 2, 22), "DOC-2") == ONE  # DOC-1's escalation alone
    world.verified("DOC-1")
    world.verified("LR-2")


def _not_notifiable_then_reassessed(world: World) -> None:
    world.fire(
        "DOC-1",
        "determine_not_notifiable",
        HCP,
        {
            "not_notifiable_reason": "harm_below_threshold",
            "harm_category": "low",
            "harm_basis": "appears_to_have_resulted",
        },
    )
    world.at(utc(2027, 3, 1, 10))
    world.fire(
        "DOC-1", "reassess", HCP, {"new_information_ref": "NI-1", "reassess_reason": "harm_revised"}
    )
    world.fire(
        "DOC-1",
        "determine_notifiable",
        HCP,
        {"harm_category": "severe", "harm_basis": "appears_to_have_resulted"},
    )


def _declined_then_engaged(world: World) -> None:
    world.fire(
        "DOC-1",
        "determine_notifiable",
        HCP,
        {"harm_category": "severe", "harm_basis": "appears_to_have_resulted"},
    )
    world.fire("DOC-1", "record_declined", ENG, {"declined_record_ref": "DOC-DEC-1"})
    world.fire("DOC-1", "mark_uncontactable_or_declined", ENG, {"unable_reason": "declined"})
    world.at(utc(2027, 3, 1, 10))
    world.fire("DOC-1", "relevant_person_engages", ENG,
               {"engaged_via": "relevant_person_contacted_us"})  # fmt: skip


@pytest.mark.parametrize(
    ("restart", "recorded_at", "late"),
    [
        (_not_notifiable_then_reassessed, utc(2027, 3, 15, 16), False),
        (_not_notifiable_then_reassessed, utc(2027, 3, 16, 9), True),
        (_declined_then_engaged, utc(2027, 3, 3, 10), False),
        (_declined_then_engaged, utc(2027, 3, 16, 0), True),
    ],
    ids=["reassessed-on-time", "reassessed-late", "engaged-on-time", "engaged-late"],
)
def test_a_restarted_candour_notification_is_late_by_its_new_clock_alone(
    restart: Any, recorded_at: datetime, late: bool
) -> None:
    """Restarted Mon 1 Mar 2027: the new cycle is due Mon 15 Mar and lateness agrees with it."""
    world = World(InMemoryStore(), utc(2026, 12, 23, 15))
    world.engine.open(
        "duty_of_candour",
        actor=HCP,
        case_id="DOC-1",
        payload={"incident_ids": ["INC-1"], "aware_on": "2026-12-23"},
    )
    world.at(utc(2027, 1, 4, 10))
    restart(world)

    assert world.engine.get("DOC-1", reader=READER).facts["notification_restarted_on"] == (
        "2027-03-01"
    )
    assert world.rows("DOC-1")[1] == (
        "candour_notification", 1, "open", utc(2027, 3, 1, 10), date(2027, 3, 15),
        utc(2027, 3, 16), None,
    )  # fmt: skip
    world.at(recorded_at)
    if late:
        with pytest.raises(ReasonMissing):
            world.fire("DOC-1", "record_verbal_notification", HCP, VERBAL)
        return
    world.fire("DOC-1", "record_verbal_notification", HCP, VERBAL)
    met = world.deadline("DOC-1", "candour_notification", 1)
    assert (met.status, met.met_at) == ("met", recorded_at)
    world.verified("DOC-1")


def test_a_candour_case_opened_by_a_late_relay_counts_from_the_report() -> None:
    """Reported severe Wed 23 Dec 2026, relayed Tue 29 Dec: the notification is due 11 Jan."""
    world = World(InMemoryStore(), utc(2026, 12, 23, 15))
    world.engine.open(
        "incident_intake",
        actor=PSS,
        case_id="INT-2",
        payload={"incident_id": "INC-4", "lfpse_ref": "LFPSE-4", "physical_harm": "severe"},
    )
    world.at(utc(2026, 12, 29, 9))
    world.relay.run_until_idle()

    candour = world.engine.get("INT-2/doc", reader=READER)
    assert (candour.workflow, candour.facts["aware_on"]) == ("duty_of_candour", "2026-12-23")
    assert world.rows("INT-2/doc") == [
        ("candour_notification", 0, "open", utc(2026, 12, 23), date(2027, 1, 11),
         utc(2027, 1, 12), None),
    ]  # fmt: skip
    world.verified("INT-2/doc")


# ------------------------------------------------------------------ 4. safety actions

ACTION_DUE_AT = "2027-01-05T00:00:00Z"


def open_action(world: World, case_id: str) -> None:
    """Open a safety action due on Monday 4 January 2027 and have its owner agree it."""
    world.engine.open(
        "safety_action",
        actor=LEAD,
        case_id=case_id,
        payload={
            "learning_response_ids": ["LR-9"],
            "area_for_improvement_ids": ["AFI-1"],
            "owner_id": OWNER.id,
            "measure_ref": "M-1",
            "baseline_ref": "B-1",
            "target_ref": "T-1",
            "due_on": "2027-01-04",
        },
    )
    assert world.rows(case_id) == []
    world.fire(case_id, "agree", OWNER)


def test_safety_action_falls_due_on_its_date_is_reported_overdue_or_met_in_time() -> None:
    """Due Mon 4 Jan 2027: warning Wed 23 Dec, breach 5 Jan, overdue; implemented ones: met."""
    world = World(InMemoryStore(), utc(2026, 12, 1, 10))
    open_action(world, "SA-1")
    open_action(world, "SA-2")

    for case_id in ("SA-1", "SA-2"):
        assert world.rows(case_id) == [
            ("safety_action_due", 0, "open", utc(2026, 12, 1, 10), date(2027, 1, 4),
             utc(2027, 1, 5), OWNER.id),
        ]  # fmt: skip
        # Five working days before Mon 4 January skip New Year's Day, Boxing Day's substitute
        # and Christmas Day: Wed 23 December; twenty after: Mon 1 February.
        assert world.tiers(case_id, "safety_action_due", 0) == [
            (0, "warning", utc(2026, 12, 23), ("action_owner",), None, "pending", None),
            (1, "breach", utc(2027, 1, 5), ("action_owner", "patient_safety_specialist"),
             None, "pending", None),
            (2, "escalation", utc(2027, 2, 1), ("senior_leader",), None, "pending", None),
        ]  # fmt: skip

    assert world.sweep_at(utc(2026, 12, 22, 23, 59, 59), "SA-1") == NOTHING
    assert world.sweep_at(utc(2026, 12, 23), "SA-1") == SweepReport(claimed=2, fired=2)

    # SA-2 is implemented on Wed 30 December, before its due date.
    world.at(utc(2026, 12, 30, 11))
    world.fire("SA-2", "start", OWNER)
    world.fire("SA-2", "attach_evidence", OWNER, {"evidence_ref": "EV-2"})
    world.fire("SA-2", "mark_implemented", OWNER)
    met = world.deadline("SA-2", "safety_action_due", 0)
    assert (met.status, met.met_at, met.tier) == ("met", utc(2026, 12, 30, 11), 1)
    assert [t[5] for t in world.tiers("SA-2", "safety_action_due", 0)] == [
        "fired",
        "cancelled",
        "cancelled",
    ]

    assert world.sweep_at(utc(2027, 1, 4, 23, 59, 59), "SA-1") == NOTHING
    assert world.sweep_at(utc(2027, 1, 5), "SA-1") == ONE
    assert world.sweep_at(utc(2027, 2, 1), "SA-1") == ONE
    world.verified("SA-2")
    assert [payload["stage"] for _, _, payload in world.fired_entries("SA-1")] == [
        "warning",
        "breach",
        "escalation",
    ]
    assert [payload["stage"] for _, _, payload in world.fired_entries("SA-2")] == ["warning"]
    assert world.fired_entries("SA-1")[1][2] == fired(
        "safety_action_due", 0, 1, "breach", ACTION_DUE_AT, ACTION_DUE_AT, ACTION_DUE_AT
    )
    assert [n.id for n in world.sent()] == [
        "escalation:SA-1:safety_action_due:0:0:action_owner",
        "escalation:SA-2:safety_action_due:0:0:action_owner",
        "escalation:SA-1:safety_action_due:0:1:action_owner",
        "escalation:SA-1:safety_action_due:0:1:patient_safety_specialist",
        "escalation:SA-1:safety_action_due:0:2:senior_leader",
    ]
    assert dict(world.notifier.sent[0].body) == {
        "case_id": "SA-1",
        "organisation": ORG,
        "kind": "safety_action_due",
        "cycle": 0,
        "tier": 0,
        "stage": "warning",
        "role": "action_owner",
        "due_at": ACTION_DUE_AT,
        "person_id": OWNER.id,
    }

    items = reports.safety_actions(world.engine, reader=READER, now=utc(2027, 2, 1, 9))
    assert [
        (i.case_id, i.kind, i.cycle, i.status, i.owner, i.due_date, i.due_at, i.tiers_fired)
        for i in items
    ] == [
        ("SA-1", "safety_action_due", 0, "open", OWNER.id, date(2027, 1, 4), utc(2027, 1, 5), 3),
    ]
    # Working days overdue: Tue 5 January to Mon 1 February.
    assert (items[0].overdue, items[0].days_overdue) == (True, 20)


# ------------------------------------------------------------------ 5. intake and referral

CHILD_DEATH = "child_death@2"


def test_triage_review_in_real_hours_and_referral_notice_in_working_days() -> None:
    """72 real hours across the spring change, met by a referral; 2 working days, met."""
    # Reported at 16:00 GMT on Friday 27 March 2026; summer time starts on Sunday 29 March.
    world = World(InMemoryStore(), utc(2026, 3, 27, 16))
    world.engine.open(
        "incident_intake",
        actor=PSS,
        case_id="INT-1",
        payload={"incident_id": "INC-3", "physical_harm": "low"},
    )
    reported = utc(2026, 3, 27, 16)
    assert world.rows("INT-1") == [
        ("triage_review", 0, "open", reported, None, utc(2026, 3, 30, 16), None)
    ]
    # 24 real hours before, at due, and two working days after Mon 30 March (00:00 BST on
    # Wed 1 April).
    assert world.tiers("INT-1", "triage_review", 0) == [
        (0, "warning", utc(2026, 3, 29, 16), CANDOUR_PSS, None, "pending", None),
        (1, "breach", utc(2026, 3, 30, 16), ("patient_safety_specialist", "senior_leader"),
         None, "pending", None),
        (2, "escalation", utc(2026, 3, 31, 23), ("executive_lead",), None, "pending", None),
    ]  # fmt: skip
    assert world.deadline("INT-1", "triage_review", 0).ladder == "triage-overdue"

    # Reviewing and recording the triage do not meet it; the warning fires on time.
    world.fire("INT-1", "begin_review", PSS)
    world.fire(
        "INT-1",
        "record_triage",
        PSS,
        {
            "plan_ref": "rxm-psirp@1.0",
            "national_rule_refs": [CHILD_DEATH],
            "national_psii_rule_refs": [],
        },
    )
    assert world.deadline("INT-1", "triage_review", 0).status == "open"
    assert world.sweep_at(utc(2026, 3, 29, 15, 59, 59), "INT-1") == NOTHING
    assert world.sweep_at(utc(2026, 3, 29, 16), "INT-1") == ONE

    # The referral leaves review: the triage review is met.
    referred_at = utc(2026, 3, 30, 9)
    world.at(referred_at)
    outcome = world.engine.fire(
        "INT-1",
        "refer",
        actor=PSS,
        payload={"referral_body": "cdop", "referral_rule_ref": CHILD_DEATH},
    )
    met = world.deadline("INT-1", "triage_review", 0)
    assert (met.status, met.met_at, met.tier) == ("met", referred_at, 1)
    assert [t[5] for t in world.tiers("INT-1", "triage_review", 0)] == [
        "fired",
        "cancelled",
        "cancelled",
    ]

    # The relay opens the referral record; telling the body is due in two working days
    # (Tue 31 March through Wed 1 April: Wed 1 April, due at 00:00 BST on Thu 2 April).
    world.relay.run_until_idle()
    referral = referral_case_id("INT-1", outcome.entry.sequence)
    assert world.rows(referral) == [
        ("referral_notification", 0, "open", referred_at, date(2026, 4, 1),
         utc(2026, 4, 1, 23), None),
    ]  # fmt: skip
    # "One working day after" Wed 1 April is 00:00 on Thu 2 April, the breach's own instant
    # (the counting rule counts working days strictly after the due date).
    assert world.tiers(referral, "referral_notification", 0) == [
        (0, "breach", utc(2026, 4, 1, 23), CANDOUR_PSS, None, "pending", None),
        (1, "escalation", utc(2026, 4, 1, 23), ("executive_lead",), None, "pending", None),
    ]
    assert world.deadline(referral, "referral_notification", 0).ladder == "referral-overdue"

    notified_at = utc(2026, 4, 1, 15)
    world.at(notified_at)
    world.fire(
        referral,
        "record_notification",
        PSS,
        {"notification_ref": "CDOP-1", "notification_date": "2026-04-01"},
    )
    done = world.deadline(referral, "referral_notification", 0)
    assert (done.status, done.met_at, done.tier) == ("met", notified_at, 0)
    assert {t[5] for t in world.tiers(referral, "referral_notification", 0)} == {"cancelled"}

    assert world.sweep_at(utc(2026, 4, 10), referral) == NOTHING
    world.verified("INT-1")
    assert world.fired_entries(referral) == []
    assert [n.id for n in world.sent()] == [
        "escalation:INT-1:triage_review:0:0:patient_safety_specialist"
    ]


# ------------------------------------------------------------------ invariant


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    aware=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 11, 30)),
    gaps=st.lists(st.integers(min_value=1, max_value=6 * 86400), min_size=1, max_size=12),
)
def test_every_candour_tier_fires_once_never_early_whenever_the_sweeper_runs(
    aware: date, gaps: list[int]
) -> None:
    """Sweeps at arbitrary instants fire each tier once, at or after its instant."""
    world = World(InMemoryStore(), datetime.combine(aware, time(12), tzinfo=UTC))
    world.engine.open(
        "duty_of_candour",
        actor=HCP,
        case_id="DOC-1",
        payload={"incident_ids": ["INC-1"], "aware_on": aware.isoformat()},
    )
    tiers = world.store.escalations("DOC-1")
    moment = world.clock.now()
    for gap in gaps:
        moment += timedelta(seconds=gap)
        world.clock.set(moment)
        world.sweeper.sweep()
        for entry in world.fired_entries("DOC-1"):
            assert str(entry[2]["scheduled_at"]) <= str(entry[2]["fired_at"])
    last = max(t.fire_at for t in tiers) + timedelta(seconds=1)
    if last > moment:
        world.clock.set(last)
    world.sweeper.sweep()

    fired_tiers = [int(str(payload["tier"])) for _, _, payload in world.fired_entries("DOC-1")]
    assert sorted(fired_tiers) == [t.tier for t in sorted(tiers, key=_tier_key)]
    assert {t.status for t in world.store.escalations("DOC-1")} == {"fired"}
    for tier in world.store.escalations("DOC-1"):
        assert tier.fired_at is not None
        assert tier.fired_at >= tier.fire_at
    world.verified("DOC-1")
