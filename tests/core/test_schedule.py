"""The pure schedule core: which step starts, meets, clears, pauses and moves each clock."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psirf_flow.domain import (
    Case,
    Deadline,
    DeadlineStatus,
    Escalation,
    EscalationStatus,
    FactValue,
    Role,
)
from psirf_flow.policy import (
    EscalationLadder,
    EscalationTier,
    Plan,
    Timescale,
    TimeUnit,
    load_plan,
)
from psirf_flow.policy.calendars import WorkingDayCalendar
from psirf_flow.policy.timing import breach_instant
from psirf_flow.schedule import (
    CANDOUR_FINDINGS,
    CANDOUR_NOTIFICATION,
    CANDOUR_WRITTEN,
    DEFAULT_LADDER,
    KINDS,
    REFERRAL_NOTIFICATION,
    RESPONSE_HARD_CAP,
    RESPONSE_TARGET,
    SAFETY_ACTION_DUE,
    TRIAGE_REVIEW,
    FiredTier,
    Recipient,
    ScheduleChange,
    build_tiers,
    fired_tier,
    plan_deadlines,
    tiers_after_fire,
)
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.spec import PREVIOUS_STATE, SAME_STATE, WorkflowDefinition


REGISTRY = DefinitionRegistry.default()
ORG = "RX1"
PSS = Role.PATIENT_SAFETY_SPECIALIST.value


def utc(  # noqa: PLR0917 - the parts of an instant
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """An aware UTC instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _facts(payload: Mapping[str, object] | None) -> dict[str, FactValue]:
    """The payload's values as facts (text, numbers and id lists in these tests)."""
    found: dict[str, FactValue] = {}
    for name, value in (payload or {}).items():
        assert isinstance(value, str | int | tuple)
        found[name] = value
    return found


def _escalation(**fields: Any) -> Escalation:
    """An escalation row (built through keywords, however ``notify`` is typed)."""
    return Escalation(**fields)


class Sim:
    """A case moved step by step through :func:`plan_deadlines`, applying each change."""

    def __init__(
        self,
        workflow: str,
        *,
        plan: Plan | None = None,
        facts: Mapping[str, FactValue] | None = None,
        payload: dict[str, object] | None = None,
        at: datetime,
    ) -> None:
        definition = REGISTRY.latest(workflow)
        assert definition is not None
        self.definition: WorkflowDefinition = definition
        self.plan = plan
        self.deadlines: dict[tuple[str, str, int], Deadline] = {}
        self.tiers: dict[tuple[str, str, int, int], Escalation] = {}
        self.case = Case(
            id="case-1",
            workflow=workflow,
            workflow_version=definition.version,
            organisation=ORG,
            state=definition.initial,
            version=1,
            facts=dict(facts or {}),
            opened_at=at,
            updated_at=at,
        )
        self.last = self._apply(None, "open", payload, at)

    def _apply(
        self, before: Case | None, trigger: str, payload: dict[str, object] | None, at: datetime
    ) -> ScheduleChange:
        change = plan_deadlines(
            definition=self.definition,
            before=before,
            after=self.case,
            trigger=trigger,
            now=at,
            plan=self.plan,
            existing=tuple(self.deadlines.values()),
            tiers=tuple(self.tiers.values()),
        )
        for d in change.deadlines:
            self.deadlines[d.key] = d
        for t in change.escalations:
            self.tiers[t.key] = t
        return change

    def step(
        self,
        trigger: str,
        at: datetime,
        *,
        facts: Mapping[str, FactValue] | None = None,
        payload: dict[str, object] | None = None,
        state: str | None = None,
    ) -> ScheduleChange:
        """Fire ``trigger`` at ``at`` (its destination from the definition unless given)."""
        before = self.case
        spec = self.definition.transitions[trigger]
        held_from = before.held_from
        if state is None:
            if spec.dest == SAME_STATE:
                state = before.state
            elif spec.dest == PREVIOUS_STATE:
                assert before.held_from is not None
                state = before.held_from
            else:
                state = spec.dest
        if spec.holds:
            held_from = before.state
        elif spec.dest == PREVIOUS_STATE:
            held_from = None
        self.case = attrs.evolve(
            before,
            state=state,
            version=before.version + 1,
            facts={**before.facts, **(facts or {}), **_facts(payload)},
            updated_at=at,
            held_from=held_from,
        )
        self.last = self._apply(before, trigger, payload, at)
        return self.last

    def row(self, kind: str, cycle: int = 0) -> Deadline:
        """The deadline of ``kind`` and ``cycle``."""
        return self.deadlines[("case-1", kind, cycle)]

    def tiers_of(self, kind: str, cycle: int = 0) -> list[Escalation]:
        """The tiers of the deadline of ``kind`` and ``cycle``, in tier order."""
        return [t for k, t in sorted(self.tiers.items()) if k[1:3] == (kind, cycle)]


PLAN = """\
schema = 1

[plan]
id = "rx1-psirp"
version = "1.0"
organisation = "RX1"
status = "board_approved"
effective_from = 2026-01-01
review_date = 2027-01-31
board_approved_on = 2025-12-01

[response_types.psii]
maps_to = "psii"
timescale = { amount = 3, unit = "months" }
sign_off = [{ role = "executive_lead" }]
escalation_ladder = "psii-late"

[response_types.swarm]
maps_to = "swarm_huddle"
timescale = { amount = 24, unit = "hours" }
sign_off = [{ role = "senior_leader" }]
escalation_ladder = "swarm-not-held"

[response_types.aar]
maps_to = "after_action_review"
timescale = { amount = 20, unit = "working_days" }
sign_off = [{ role = "senior_leader" }]

[duty_of_candour]
verbal_working_days = 5
written_working_days = 7
findings_working_days = 15
escalation_ladder = "candour-late"

[[escalation_ladders.psii-late.tiers]]
before = { amount = 5, unit = "working_days" }
notify = ["learning_response_lead", "engagement_lead"]

[[escalation_ladders.psii-late.tiers]]
after = { amount = 0, unit = "working_days" }
notify = ["patient_safety_specialist"]

[[escalation_ladders.psii-late.tiers]]
after = { amount = 10, unit = "working_days" }
notify = ["executive_lead"]

[[escalation_ladders.swarm-not-held.tiers]]
before = { amount = 4, unit = "hours" }
notify = ["facilitator"]

[[escalation_ladders.swarm-not-held.tiers]]
after = { amount = 0, unit = "hours" }
notify = ["patient_safety_specialist"]
action = "convert_to_after_action_review"

[escalation_ladders.candour-late]
tiers = [
  { after = { amount = 0, unit = "working_days" }, notify = ["patient_safety_specialist"] },
  { after = { amount = 3, unit = "working_days" }, notify = ["executive_lead"] },
]

[escalation_ladders.quick]
tiers = [
  { after = { amount = 0, unit = "hours" }, notify = ["senior_leader"] },
]
"""


def _plan(extra: str = "") -> Plan:
    return load_plan(PLAN + extra, source="plan.toml")


# ---------------------------------------------------------------- PSII clocks


def test_psii_clock_starts_on_the_local_date_its_lead_is_appointed() -> None:
    """A lead appointed at 00:30 BST on Monday 15 June starts the clock on that Monday."""
    sim = Sim("psii", at=utc(2026, 6, 10, 9))
    assert sim.last == ScheduleChange()
    appointed = utc(2026, 6, 14, 23, 30)  # Monday 15 June 00:30 BST
    sim.step("assign_lead", appointed, payload={"lead_id": "lead-1", "engagement_lead_id": "el-1"})
    target = sim.row(RESPONSE_TARGET)
    assert target == Deadline(
        case_id="case-1",
        kind=RESPONSE_TARGET,
        cycle=0,
        organisation=ORG,
        workflow="psii",
        started_at=appointed,
        due_date=date(2026, 9, 15),  # 3 months from Monday 15 June: Tuesday 15 September
        due_at=utc(2026, 9, 15, 23),  # 00:00 BST on the 16th
        status="open",
        owner="lead-1",
        ladder=None,
        tier=0,
        paused_at=None,
        met_at=None,
    )
    cap = sim.row(RESPONSE_HARD_CAP)
    assert cap.due_date == date(2026, 12, 15)
    assert cap.due_at == utc(2026, 12, 16, 0)
    assert [
        (t.tier, t.stage, t.fire_at, t.notify, t.action, t.status)
        for t in sim.tiers_of(RESPONSE_TARGET)
    ] == [(0, "breach", utc(2026, 9, 15, 23), (PSS,), None, "pending")]


def test_months_roll_forward_to_a_working_day() -> None:
    """Three months from Saturday 14 March is Sunday 14 June, rolled to Monday 15 June."""
    sim = Sim("psii", at=utc(2026, 3, 14, 9))
    sim.step("assign_lead", utc(2026, 3, 14, 10), payload={"lead_id": "lead-1"})
    assert sim.row(RESPONSE_TARGET).due_date == date(2026, 6, 15)
    assert sim.row(RESPONSE_HARD_CAP).due_date == date(2026, 9, 14)


def test_plan_ladder_gives_warnings_breach_and_escalation_at_local_midnights() -> None:
    """The plan's ladder: a warning 5 working days before, the breach, 10 working days after."""
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    target = sim.row(RESPONSE_TARGET)
    assert (target.due_date, target.ladder) == (date(2026, 6, 16), "psii-late")
    assert [(t.tier, t.stage, t.fire_at, t.notify) for t in sim.tiers_of(RESPONSE_TARGET)] == [
        (0, "warning", utc(2026, 6, 8, 23), ("learning_response_lead", "engagement_lead")),
        (1, "breach", utc(2026, 6, 16, 23), (PSS,)),
        (2, "escalation", utc(2026, 6, 29, 23), ("executive_lead",)),
    ]
    cap = sim.row(RESPONSE_HARD_CAP)
    assert cap.due_date == date(2026, 9, 16)
    assert [t.fire_at for t in sim.tiers_of(RESPONSE_HARD_CAP)] == [
        utc(2026, 9, 8, 23),
        utc(2026, 9, 16, 23),
        utc(2026, 9, 29, 23),
    ]


def test_agreed_target_date_supersedes_the_target() -> None:
    """agree_timescale replaces the target with the agreed date in a new cycle; the cap stays."""
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    agreed_at = utc(2026, 3, 20, 12)
    sim.step("begin_gathering", utc(2026, 3, 19, 12))
    change = sim.step("agree_timescale", agreed_at, payload={"target_date": "2026-05-29"})
    old = sim.row(RESPONSE_TARGET, 0)
    assert (old.status, old.met_at) == ("superseded", agreed_at)
    assert all(t.status == "cancelled" for t in sim.tiers_of(RESPONSE_TARGET, 0))
    new = sim.row(RESPONSE_TARGET, 1)
    assert (new.status, new.due_date, new.due_at, new.started_at, new.ladder) == (
        "open",
        date(2026, 5, 29),
        utc(2026, 5, 29, 23),
        agreed_at,
        "psii-late",
    )
    assert [t.fire_at for t in sim.tiers_of(RESPONSE_TARGET, 1)] == [
        utc(2026, 5, 20, 23),  # Thursday 21 May: 25 May is the spring bank holiday
        utc(2026, 5, 29, 23),
        utc(2026, 6, 11, 23),  # Friday 12 June: 10 working days after
    ]
    assert sim.row(RESPONSE_HARD_CAP, 0).status == "open"
    assert {d.kind for d in change.deadlines} == {RESPONSE_TARGET}


def test_extension_and_override_supersede_their_clocks() -> None:
    """An approved extension moves the target; an override moves the target and the cap."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("approve_extension", utc(2026, 5, 1, 9), payload={"target_date": "2026-07-10"})
    assert sim.row(RESPONSE_TARGET, 0).status == "superseded"
    assert sim.row(RESPONSE_TARGET, 1).due_date == date(2026, 7, 10)
    assert sim.row(RESPONSE_HARD_CAP, 0).status == "open"
    sim.step("override_hard_cap", utc(2026, 7, 1, 9), payload={"target_date": "2026-10-30"})
    assert sim.row(RESPONSE_TARGET, 1).status == "superseded"
    assert sim.row(RESPONSE_TARGET, 2).due_date == date(2026, 10, 30)
    assert sim.row(RESPONSE_HARD_CAP, 0).status == "superseded"
    assert sim.row(RESPONSE_HARD_CAP, 1).due_date == date(2026, 10, 30)


def test_refused_extension_changes_nothing() -> None:
    """A step that touches no clock (a refusal, a recording step) returns an empty change."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    change = sim.step("record_terms_of_reference", utc(2026, 3, 17, 9), payload={})
    assert change == ScheduleChange()


def test_approval_meets_and_reopening_starts_a_new_cycle() -> None:
    """Approval meets target and cap; reopening runs new ones from the reopening date."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    approved_at = utc(2026, 5, 20, 10)
    sim.step("approve", approved_at, state="approved")
    for kind in (RESPONSE_TARGET, RESPONSE_HARD_CAP):
        row = sim.row(kind)
        assert (row.status, row.met_at) == ("met", approved_at)
        assert all(t.status == "cancelled" for t in sim.tiers_of(kind))
    sim.step("share", utc(2026, 5, 21, 10))
    change = sim.step("close", utc(2026, 5, 22, 10))
    assert change == ScheduleChange()
    reopened = utc(2027, 1, 5, 10)
    sim.step("reopen", reopened)
    assert sim.row(RESPONSE_TARGET, 0).status == "met"
    new = sim.row(RESPONSE_TARGET, 1)
    assert (new.status, new.started_at, new.due_date) == ("open", reopened, date(2027, 4, 5))
    assert sim.row(RESPONSE_HARD_CAP, 1).due_date == date(2027, 7, 5)


def test_stand_down_clears_open_clocks() -> None:
    """Standing a response down clears its clocks and cancels their tiers."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("stand_down", utc(2026, 3, 18, 10))
    assert {sim.row(k).status for k in (RESPONSE_TARGET, RESPONSE_HARD_CAP)} == {"cleared"}
    assert {t.status for t in sim.tiers.values()} == {"cancelled"}


def test_reassigned_lead_becomes_the_owner() -> None:
    """Open deadlines follow the case's lead when it is reassigned."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("reassign_lead", utc(2026, 3, 17, 10), payload={"lead_id": "lead-2"})
    assert {sim.row(k).owner for k in (RESPONSE_TARGET, RESPONSE_HARD_CAP)} == {"lead-2"}


# ---------------------------------------------------------------- hold and resume


def test_hold_pauses_and_resume_moves_day_rules_by_whole_local_days() -> None:
    """Ten local days on hold move the due date, the breach and every tier ten days later."""
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    held = utc(2026, 3, 20, 9)
    sim.step("hold", held)
    row = sim.row(RESPONSE_TARGET)
    assert (row.status, row.paused_at) == ("paused", held)
    assert {t.status for t in sim.tiers_of(RESPONSE_TARGET)} == {"paused"}
    sim.step("resume", utc(2026, 3, 30, 8))  # ten local days later, across the clock change
    row = sim.row(RESPONSE_TARGET)
    assert (row.status, row.paused_at, row.due_date, row.due_at) == (
        "open",
        None,
        date(2026, 6, 26),
        utc(2026, 6, 26, 23),
    )
    assert [(t.status, t.fire_at) for t in sim.tiers_of(RESPONSE_TARGET)] == [
        ("pending", utc(2026, 6, 18, 23)),
        ("pending", utc(2026, 6, 26, 23)),
        ("pending", utc(2026, 7, 9, 23)),
    ]
    assert sim.row(RESPONSE_HARD_CAP).due_date == date(2026, 9, 26)


def test_clock_started_on_hold_starts_paused() -> None:
    """An extension approved while the case is on hold starts paused, with its tiers."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("hold", utc(2026, 4, 1, 9))
    approved = utc(2026, 4, 2, 9)
    sim.step("approve_extension", approved, payload={"target_date": "2026-07-10"})
    row = sim.row(RESPONSE_TARGET, 1)
    assert (row.status, row.paused_at, row.due_date) == ("paused", approved, date(2026, 7, 10))
    assert {t.status for t in sim.tiers_of(RESPONSE_TARGET, 1)} == {"paused"}
    old = sim.row(RESPONSE_TARGET, 0)
    assert (old.status, old.paused_at) == ("superseded", None)


def test_resume_moves_hours_rules_by_exact_elapsed_time() -> None:
    """A swarm huddle's 24 hours move by exactly the time on hold, across the clock change."""
    opened = utc(2026, 10, 24, 12)
    sim = Sim("swarm_huddle", plan=_plan(), facts={"response_type": "swarm"}, at=opened)
    row = sim.row(RESPONSE_TARGET)
    assert (row.due_date, row.due_at) == (None, utc(2026, 10, 25, 12))
    sim.step("hold", utc(2026, 10, 24, 14, 15))
    sim.step("resume", utc(2026, 10, 24, 19, 45))
    row = sim.row(RESPONSE_TARGET)
    assert (row.status, row.due_at) == ("open", utc(2026, 10, 25, 17, 30))
    assert [t.fire_at for t in sim.tiers_of(RESPONSE_TARGET)] == [
        utc(2026, 10, 25, 13, 30),
        utc(2026, 10, 25, 17, 30),
    ]


def test_safety_action_deferral_pauses_and_resume_moves_it() -> None:
    """Deferring a safety action pauses its due date; resuming moves it by the days deferred."""
    sim = Sim(
        "safety_action",
        facts={"owner_id": "owner-1", "due_on": "2026-12-24"},
        at=utc(2026, 11, 2, 9),
    )
    sim.step("agree", utc(2026, 11, 3, 9))
    sim.step("defer", utc(2026, 11, 10, 9))
    assert sim.row(SAFETY_ACTION_DUE).status == "paused"
    sim.step("resume", utc(2026, 11, 13, 9))
    row = sim.row(SAFETY_ACTION_DUE)
    assert (row.status, row.due_date, row.due_at) == ("open", date(2026, 12, 27), utc(2026, 12, 28))


# ---------------------------------------------------------------- other lifecycles


def test_swarm_huddle_held_meets_and_carries_the_expiry_action() -> None:
    """A swarm huddle's clock runs from opening; its breach converts it; holding it meets it."""
    opened = utc(2026, 6, 1, 8)
    sim = Sim("swarm_huddle", plan=_plan(), facts={"response_type": "swarm"}, at=opened)
    assert [(t.stage, t.fire_at, t.notify, t.action) for t in sim.tiers_of(RESPONSE_TARGET)] == [
        ("warning", utc(2026, 6, 2, 4), ("facilitator",), None),
        ("breach", utc(2026, 6, 2, 8), (PSS,), "convert_to_after_action_review"),
    ]
    sim.step("assign_facilitator", utc(2026, 6, 1, 9), payload={"facilitator_id": "fac-1"})
    assert sim.row(RESPONSE_TARGET).owner == "fac-1"
    sim.step("begin_gathering", utc(2026, 6, 1, 10))
    sim.step("complete_analysis", utc(2026, 6, 1, 15))
    assert (sim.row(RESPONSE_TARGET).status, sim.row(RESPONSE_TARGET).met_at) == (
        "met",
        utc(2026, 6, 1, 15),
    )


def test_variant_without_timescale_has_no_clock() -> None:
    """Without a plan, a swarm huddle has no national clock, so no deadline (psirf-rules §4.1)."""
    sim = Sim("swarm_huddle", at=utc(2026, 6, 1, 8))
    assert sim.last == ScheduleChange()


def test_after_action_review_target_runs_from_opening() -> None:
    """A non-PSII response with a plan timescale starts at opening, not at the lead."""
    sim = Sim(
        "after_action_review", plan=_plan(), facts={"response_type": "aar"}, at=utc(2026, 6, 1, 8)
    )
    row = sim.row(RESPONSE_TARGET)
    assert (row.due_date, row.ladder) == (date(2026, 6, 29), None)
    assert [(t.stage, t.notify) for t in sim.tiers_of(RESPONSE_TARGET)] == [("breach", (PSS,))]
    assert ("case-1", RESPONSE_HARD_CAP, 0) not in sim.deadlines


def test_candour_falls_due_on_11_january_from_23_december() -> None:
    """Aware on Wednesday 23 December 2026, 10 working days: due Monday 11 January 2027."""
    sim = Sim("duty_of_candour", at=utc(2026, 12, 23, 15))
    row = sim.row(CANDOUR_NOTIFICATION)
    assert (row.due_date, row.due_at, row.started_at, row.owner) == (
        date(2027, 1, 11),
        utc(2027, 1, 12),
        utc(2026, 12, 23, 15),
        None,
    )


def test_candour_awareness_fact_starts_the_clock() -> None:
    """An awareness date given with the case starts the notification clock from that date."""
    sim = Sim("duty_of_candour", facts={"aware_on": "2026-12-23"}, at=utc(2026, 12, 29, 9))
    row = sim.row(CANDOUR_NOTIFICATION)
    assert (row.started_at, row.due_date) == (utc(2026, 12, 23), date(2027, 1, 11))


def test_candour_steps_chain_their_clocks() -> None:
    """Verbal meets the notification and starts the written; approval starts the findings."""
    sim = Sim("duty_of_candour", plan=_plan(), at=utc(2026, 6, 1, 9))
    assert sim.row(CANDOUR_NOTIFICATION).due_date == date(2026, 6, 8)  # 5 working days
    sim.step("determine_notifiable", utc(2026, 6, 2, 9))
    sim.step("record_verbal_notification", utc(2026, 6, 3, 9))
    assert sim.row(CANDOUR_NOTIFICATION).status == "met"
    written = sim.row(CANDOUR_WRITTEN)
    assert (written.due_date, written.ladder) == (date(2026, 6, 12), "candour-late")
    assert [(t.stage, t.fire_at) for t in sim.tiers_of(CANDOUR_WRITTEN)] == [
        ("breach", utc(2026, 6, 12, 23)),
        ("escalation", utc(2026, 6, 16, 23)),
    ]
    sim.step("record_written_notification", utc(2026, 6, 10, 9))
    assert sim.row(CANDOUR_WRITTEN).status == "met"
    sim.step("learning_response_approved", utc(2026, 7, 1, 9))
    sim.step("learning_response_approved", utc(2026, 7, 2, 9))  # a second response
    assert ("case-1", CANDOUR_FINDINGS, 1) not in sim.deadlines
    assert sim.row(CANDOUR_FINDINGS).due_date == date(2026, 7, 22)  # 15 working days
    sim.step("record_findings_shared", utc(2026, 7, 20, 9))
    assert sim.row(CANDOUR_FINDINGS).status == "met"


def test_candour_findings_clock_starts_when_other_enquiries_conclude() -> None:
    """Enquiries concluded without a learning response start the findings clock once."""
    sim = Sim("duty_of_candour", plan=_plan(), at=utc(2026, 6, 1, 9))
    sim.step("determine_notifiable", utc(2026, 6, 2, 9))
    sim.step("record_verbal_notification", utc(2026, 6, 3, 9))
    sim.step("record_written_notification", utc(2026, 6, 10, 9))
    sim.step("record_enquiries_concluded", utc(2026, 7, 1, 9))
    sim.step("learning_response_approved", utc(2026, 7, 2, 9))  # a later response
    assert ("case-1", CANDOUR_FINDINGS, 1) not in sim.deadlines
    row = sim.row(CANDOUR_FINDINGS)
    assert (row.status, row.started_at, row.due_date) == (
        "open",
        utc(2026, 7, 1, 9),
        date(2026, 7, 22),
    )


@pytest.mark.parametrize(
    ("trigger", "state"),
    [("determine_not_notifiable", None), ("mark_uncontactable_or_declined", None)],
)
def test_candour_notification_cleared(trigger: str, state: str | None) -> None:
    """Not notifiable, or uncontactable or declined, clears the notification clock."""
    sim = Sim("duty_of_candour", at=utc(2026, 6, 1, 9))
    if trigger == "mark_uncontactable_or_declined":
        sim.step("determine_notifiable", utc(2026, 6, 2, 9))
    sim.step(trigger, utc(2026, 6, 3, 9), state=state)
    assert sim.row(CANDOUR_NOTIFICATION).status == "cleared"


def test_candour_reassessment_starts_a_new_cycle() -> None:
    """Reassessing a case found not notifiable starts a new notification clock."""
    sim = Sim("duty_of_candour", at=utc(2026, 6, 1, 9))
    sim.step("determine_not_notifiable", utc(2026, 6, 2, 9))
    sim.step("reassess", utc(2026, 6, 10, 9))
    assert sim.row(CANDOUR_NOTIFICATION, 0).status == "cleared"
    row = sim.row(CANDOUR_NOTIFICATION, 1)
    assert (row.status, row.due_date) == ("open", date(2026, 6, 24))


@pytest.mark.parametrize(
    ("trigger", "state", "status"),
    [
        ("decide_response", "response_decided", "met"),
        ("decide_no_further_response", "no_further_response", "met"),
        ("refer", "referred", "met"),
        ("transfer_to_another_organisation", "transferred", "met"),
        ("record_triage", "under_review", "open"),
    ],
)
def test_triage_review_met_by_leaving_review(trigger: str, state: str, status: str) -> None:
    """A decision, a referral or a transfer meets the triage review; recording triage does not."""
    sim = Sim("incident_intake", at=utc(2026, 10, 24, 12))
    row = sim.row(TRIAGE_REVIEW)
    assert (row.due_date, row.due_at) == (None, utc(2026, 10, 27, 12))  # 72 real hours
    sim.step("begin_review", utc(2026, 10, 24, 13))
    sim.step(trigger, utc(2026, 10, 25, 9), state=state)
    assert sim.row(TRIAGE_REVIEW).status == status


def test_referral_notification_default_and_met() -> None:
    """A referral is due in 2 working days over Christmas and met by recording the notice."""
    sim = Sim("referral", at=utc(2026, 12, 24, 10))
    assert sim.row(REFERRAL_NOTIFICATION).due_date == date(2026, 12, 30)
    sim.step("record_notification", utc(2026, 12, 29, 10))
    assert sim.row(REFERRAL_NOTIFICATION).status == "met"


def test_referral_withdrawn_clears() -> None:
    """Withdrawing a referral clears its notification clock."""
    sim = Sim("referral", at=utc(2026, 12, 24, 10))
    sim.step("withdraw", utc(2026, 12, 24, 11))
    assert sim.row(REFERRAL_NOTIFICATION).status == "cleared"


@pytest.mark.parametrize(
    ("ending", "status"),
    [("mark_implemented", "met"), ("cancel", "cleared"), ("accept_risk", "cleared")],
)
def test_safety_action_due_on_its_date(ending: str, status: str) -> None:
    """Agreeing starts the action's own due date; implementing meets it, cancelling clears it."""
    sim = Sim(
        "safety_action",
        facts={"owner_id": "owner-1", "due_on": "2026-12-24"},
        at=utc(2026, 11, 2, 9),
    )
    assert sim.last == ScheduleChange()
    sim.step("agree", utc(2026, 11, 3, 9))
    row = sim.row(SAFETY_ACTION_DUE)
    assert (row.due_date, row.due_at, row.owner) == (
        date(2026, 12, 24),
        utc(2026, 12, 25),
        "owner-1",
    )
    if ending == "mark_implemented":
        sim.step("start", utc(2026, 11, 4, 9))
    sim.step(ending, utc(2026, 11, 5, 9))
    assert sim.row(SAFETY_ACTION_DUE).status == status


def test_revised_safety_action_gets_a_new_cycle() -> None:
    """Revising an action that did not work starts a new cycle on its new date."""
    sim = Sim(
        "safety_action",
        facts={"owner_id": "owner-1", "due_on": "2026-12-24"},
        at=utc(2026, 11, 2, 9),
    )
    sim.step("agree", utc(2026, 11, 3, 9))
    sim.step("start", utc(2026, 11, 4, 9))
    sim.step("mark_implemented", utc(2026, 11, 5, 9))
    sim.step("begin_monitoring", utc(2026, 11, 6, 9))
    sim.step("confirm_not_effective", utc(2027, 1, 6, 9))
    sim.step("revise", utc(2027, 1, 7, 9), payload={"due_on": "2027-03-31"})
    assert sim.row(SAFETY_ACTION_DUE, 0).status == "met"
    assert sim.row(SAFETY_ACTION_DUE, 1).due_date == date(2027, 3, 31)


# ---------------------------------------------------------------- the timescales section

TIMESCALES = [
    (
        "triage_review",
        '[timescales]\ntriage_review = { amount = 24, unit = "hours" }\n',
        "incident_intake",
        TRIAGE_REVIEW,
        None,
        ("due_at", utc(2026, 12, 24, 10)),
    ),
    (
        "triage_review_working_days",
        '[timescales]\ntriage_review = { amount = 2, unit = "working_days" }\n',
        "incident_intake",
        TRIAGE_REVIEW,
        None,
        ("due_date", date(2026, 12, 29)),  # Thursday 24, then Tuesday 29 (bank holidays)
    ),
    (
        "triage_review_ladder",
        '[timescales]\ntriage_review_ladder = "quick"\n',
        "incident_intake",
        TRIAGE_REVIEW,
        None,
        ("ladder", "quick"),
    ),
    (
        "referral_notification",
        '[timescales]\nreferral_notification = { amount = 5, unit = "working_days" }\n',
        "referral",
        REFERRAL_NOTIFICATION,
        None,
        ("due_date", date(2027, 1, 4)),
    ),
    (
        "referral_ladder",
        '[timescales]\nreferral_ladder = "quick"\n',
        "referral",
        REFERRAL_NOTIFICATION,
        None,
        ("ladder", "quick"),
    ),
    (
        "safety_action_ladder",
        '[timescales]\nsafety_action_ladder = "quick"\n',
        "safety_action",
        SAFETY_ACTION_DUE,
        "agree",
        ("ladder", "quick"),
    ),
]


@pytest.mark.parametrize(
    ("extra", "workflow", "kind", "step", "expected"),
    [t[1:] for t in TIMESCALES],
    ids=[t[0] for t in TIMESCALES],
)
def test_each_timescales_setting_has_an_effect(
    extra: str, workflow: str, kind: str, step: str | None, expected: tuple[str, Any]
) -> None:
    """Each [timescales] setting changes the deadline it governs (and a ladder its tiers)."""
    opened = utc(2026, 12, 23, 10)
    facts = {"due_on": "2027-02-26"} if workflow == "safety_action" else {}
    plain = Sim(workflow, plan=_plan(), facts=facts, at=opened)
    tuned = Sim(workflow, plan=_plan(extra), facts=facts, at=opened)
    if step is not None:
        plain.step(step, opened)
        tuned.step(step, opened)
    field, value = expected
    assert getattr(tuned.row(kind), field) == value
    assert getattr(plain.row(kind), field) != value
    if field == "ladder":
        assert [(t.stage, t.notify) for t in tuned.tiers_of(kind)] == [
            ("breach", ("senior_leader",))
        ]
        assert [(t.stage, t.notify) for t in plain.tiers_of(kind)] == [("breach", (PSS,))]


def test_no_plan_uses_built_in_defaults() -> None:
    """Without a plan: 72 hours, 2 working days, 10 working days, the default ladder."""
    at = utc(2026, 6, 1, 9)
    assert Sim("incident_intake", at=at).row(TRIAGE_REVIEW).due_at == utc(2026, 6, 4, 9)
    assert Sim("referral", at=at).row(REFERRAL_NOTIFICATION).due_date == date(2026, 6, 3)
    candour = Sim("duty_of_candour", at=at)
    assert candour.row(CANDOUR_NOTIFICATION).due_date == date(2026, 6, 15)
    assert [(t.stage, t.notify) for t in candour.tiers_of(CANDOUR_NOTIFICATION)] == [
        ("breach", (PSS,))
    ]
    assert DEFAULT_LADDER.tiers == (
        EscalationTier(
            after=Timescale(0, TimeUnit.WORKING_DAYS), notify=(Role.PATIENT_SAFETY_SPECIALIST,)
        ),
    )
    assert set(KINDS) == {
        TRIAGE_REVIEW,
        RESPONSE_TARGET,
        RESPONSE_HARD_CAP,
        CANDOUR_NOTIFICATION,
        CANDOUR_WRITTEN,
        CANDOUR_FINDINGS,
        REFERRAL_NOTIFICATION,
        SAFETY_ACTION_DUE,
    }


# ---------------------------------------------------------------- firing


def _psii_with_people() -> Sim:
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 3, 16, 9))
    sim.step(
        "assign_lead",
        utc(2026, 3, 16, 10),
        payload={"lead_id": "lead-1", "engagement_lead_id": "el-1"},
    )
    return sim


def test_fired_tier_payload_recipients_and_rows() -> None:
    """Firing a tier records kind, cycle, tier, stage, both instants and the lateness."""
    sim = _psii_with_people()
    warning = sim.tiers_of(RESPONSE_TARGET)[0]
    deadline = sim.row(RESPONSE_TARGET)
    now = warning.fire_at + timedelta(minutes=90, seconds=30, microseconds=500)
    fired = fired_tier(warning, deadline, sim.case, now)
    assert fired == FiredTier(
        payload={
            "deadline": RESPONSE_TARGET,
            "cycle": 0,
            "tier": 0,
            "stage": "warning",
            "scheduled_at": "2026-06-08T23:00:00Z",
            "fired_at": "2026-06-09T00:30:30.000500Z",
            "late_seconds": 5430,
            "due_at": "2026-06-16T23:00:00Z",
        },
        recipients=(
            Recipient("learning_response_lead", "lead-1"),
            Recipient("engagement_lead", "el-1"),
        ),
        escalation=attrs.evolve(warning, status="fired", fired_at=now),
        deadline=attrs.evolve(deadline, tier=1),
    )
    breach = sim.tiers_of(RESPONSE_TARGET)[1]
    on_time = fired_tier(breach, deadline, sim.case, breach.fire_at)
    assert on_time.payload["late_seconds"] == 0
    assert on_time.recipients == (Recipient(PSS, None),)


def test_fired_tier_records_the_expiry_action_and_facilitator() -> None:
    """A tier with an action records it; the facilitator is the lead of a swarm huddle."""
    sim = Sim("swarm_huddle", plan=_plan(), facts={"response_type": "swarm"}, at=utc(2026, 6, 1, 8))
    sim.step("assign_facilitator", utc(2026, 6, 1, 9), payload={"facilitator_id": "fac-1"})
    warning, breach = sim.tiers_of(RESPONSE_TARGET)
    late = breach.fire_at + timedelta(hours=2)
    fired = fired_tier(breach, sim.row(RESPONSE_TARGET), sim.case, late)
    assert fired.payload == {
        "deadline": RESPONSE_TARGET,
        "cycle": 0,
        "tier": 1,
        "stage": "breach",
        "scheduled_at": "2026-06-02T08:00:00Z",
        "fired_at": "2026-06-02T10:00:00Z",
        "late_seconds": 7200,
        "due_at": "2026-06-02T08:00:00Z",
        "action": "convert_to_after_action_review",
    }
    assert fired.recipients == (Recipient(PSS, None),)
    assert fired_tier(warning, sim.row(RESPONSE_TARGET), sim.case, late).recipients == (
        Recipient("facilitator", "fac-1"),
    )


def test_tiers_after_fire_never_goes_back() -> None:
    """The deadline's tier count covers the fired tier and never decreases."""
    sim = _psii_with_people()
    deadline = sim.row(RESPONSE_TARGET)
    first, second, _third = sim.tiers_of(RESPONSE_TARGET)
    assert tiers_after_fire(deadline, second).tier == 2
    assert tiers_after_fire(attrs.evolve(deadline, tier=3), first).tier == 3


# ---------------------------------------------------------------- invariants

_UNITS = st.sampled_from(list(TimeUnit))


@st.composite
def _ladders(draw: st.DrawFn) -> EscalationLadder:
    befores = sorted(draw(st.lists(st.integers(1, 30), max_size=3, unique=True)), reverse=True)
    unit = draw(st.sampled_from([TimeUnit.WORKING_DAYS, TimeUnit.HOURS, TimeUnit.CALENDAR_DAYS]))
    afters = sorted(draw(st.lists(st.integers(0, 30), min_size=1, max_size=3, unique=True)))
    roles = (Role.PATIENT_SAFETY_SPECIALIST,)
    return EscalationLadder(
        tiers=(
            *(EscalationTier(before=Timescale(n, unit), notify=roles) for n in befores),
            *(EscalationTier(after=Timescale(n, unit), notify=roles) for n in afters),
        )
    )


@settings(max_examples=200, deadline=None)
@given(
    ladder=_ladders(),
    start=st.datetimes(
        min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive
        max_value=datetime(2027, 12, 31),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    amount=st.integers(1, 12),
    unit=_UNITS,
)
def test_tiers_fire_in_order_and_warnings_before_the_breach(
    ladder: EscalationLadder, start: datetime, amount: int, unit: TimeUnit
) -> None:
    """Tiers fire in non-decreasing order; every warning precedes the breach."""
    from psirf_flow.policy.timing import due

    when = due(start, Timescale(amount, unit), WorkingDayCalendar())
    deadline = Deadline(
        case_id="case-1",
        kind=RESPONSE_TARGET,
        started_at=start,
        due_date=when.due_date,
        due_at=when.breach_at,
    )
    tiers = build_tiers(deadline, ladder, WorkingDayCalendar(), not_before=start)
    assert [t.tier for t in tiers] == list(range(len(tiers)))
    assert all(a.fire_at <= b.fire_at for a, b in itertools.pairwise(tiers))
    assert all(t.fire_at < deadline.due_at for t in tiers if t.stage == "warning")
    assert all(t.fire_at >= start for t in tiers if t.stage == "warning")
    breaches = [t for t in tiers if t.stage == "breach"]
    assert all(t.fire_at == deadline.due_at for t in breaches)
    # K working days after a due date D fire at 00:00 on the Kth working day after D, which
    # for K = 1 may be the breach instant itself; never earlier.
    assert all(t.fire_at >= deadline.due_at for t in tiers if t.stage == "escalation")
    if when.due_date is not None:
        assert deadline.due_at == breach_instant(when.due_date)


@settings(max_examples=50, deadline=None)
@given(
    held=st.integers(0, 60 * 24 * 40),
    start_minutes=st.integers(0, 60 * 24 * 300),
)
def test_resume_never_moves_a_clock_earlier(held: int, start_minutes: int) -> None:
    """However long a hold lasts, resuming moves the deadline and its tiers later or keeps them."""
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 1, 1))
    at = utc(2026, 1, 1) + timedelta(minutes=start_minutes)
    sim.step("assign_lead", at, payload={"lead_id": "lead-1"})
    before = dict(sim.tiers)
    due_before = sim.row(RESPONSE_TARGET).due_at
    sim.step("hold", at + timedelta(hours=1))
    sim.step("resume", at + timedelta(hours=1, minutes=held))
    assert sim.row(RESPONSE_TARGET).due_at >= due_before
    assert sim.row(RESPONSE_TARGET).status == DeadlineStatus.OPEN.value
    for key, tier in sim.tiers.items():
        assert tier.fire_at >= before[key].fire_at
        assert tier.status == EscalationStatus.PENDING.value


def test_response_type_falls_back_to_the_lifecycle_name() -> None:
    """Without a response_type fact, the plan's type named after the lifecycle applies."""
    extra = """
[response_types.quick_aar]
maps_to = "after_action_review"
timescale = { amount = 5, unit = "working_days" }
sign_off = [{ role = "senior_leader" }]

[response_types.after_action_review]
maps_to = "after_action_review"
timescale = { amount = 10, unit = "working_days" }
sign_off = [{ role = "senior_leader" }]
"""
    plan = load_plan(
        PLAN.replace("[response_types.aar]", "[response_types.x_aar]") + extra, source="plan.toml"
    )
    sim = Sim("after_action_review", plan=plan, at=utc(2026, 6, 1, 8))
    assert sim.row(RESPONSE_TARGET).due_date == date(2026, 6, 15)
    named = Sim(
        "after_action_review",
        plan=plan,
        facts={"response_type": "quick_aar"},
        at=utc(2026, 6, 1, 8),
    )
    assert named.row(RESPONSE_TARGET).due_date == date(2026, 6, 8)


_WALK_PAYLOADS: dict[str, dict[str, object]] = {
    "assign_lead": {"lead_id": "lead-1", "engagement_lead_id": "el-1"},
    "assign_facilitator": {"facilitator_id": "fac-1"},
    "reassign_lead": {"lead_id": "lead-2"},
    "agree_timescale": {"target_date": "2026-05-29"},
    "approve_extension": {"target_date": "2026-07-10"},
    "override_hard_cap": {"target_date": "2026-10-30"},
    "revise": {"due_on": "2027-03-31"},
}


def _check_rows(sim: Sim) -> None:
    """The invariants every step keeps on a case's deadlines and tiers."""
    live_kinds: list[str] = []
    for key, deadline in sim.deadlines.items():
        cycles = sorted(k[2] for k in sim.deadlines if k[1] == key[1])
        assert cycles == list(range(len(cycles)))
        tiers = {t.status for t in sim.tiers_of(deadline.kind, deadline.cycle)}
        if deadline.status == "open":
            live_kinds.append(deadline.kind)
            assert sim.case.held_from is None
            assert tiers <= {"pending", "fired"}
        elif deadline.status == "paused":
            live_kinds.append(deadline.kind)
            assert sim.case.held_from is not None
            assert deadline.paused_at is not None
            assert tiers <= {"paused", "fired"}
        else:
            assert deadline.met_at is not None
            assert deadline.paused_at is None
            assert tiers <= {"cancelled", "fired"}
    assert len(live_kinds) == len(set(live_kinds))
    if sim.case.state in sim.definition.final_states:
        assert not live_kinds


@settings(max_examples=60, deadline=None)
@given(
    workflow=st.sampled_from(["psii", "swarm_huddle", "safety_action", "duty_of_candour"]),
    picks=st.lists(st.integers(0, 1000), min_size=1, max_size=25),
    gaps=st.lists(st.integers(1, 60 * 24 * 9), min_size=25, max_size=25),
)
def test_random_walks_keep_the_rows_consistent(
    workflow: str, picks: list[int], gaps: list[int]
) -> None:
    """Any sequence of steps leaves one live row per kind, tiers matching their deadline."""
    facts: dict[str, FactValue] = {"response_type": "swarm"} if workflow == "swarm_huddle" else {}
    if workflow == "safety_action":
        facts = {"owner_id": "owner-1", "due_on": "2026-12-24"}
    at = utc(2026, 3, 16, 9)
    sim = Sim(workflow, plan=_plan(), facts=facts, at=at)
    _check_rows(sim)
    for pick, gap in zip(picks, gaps, strict=False):
        state = sim.case.state
        offered = sorted(
            t.trigger
            for t in sim.definition.transitions.values()
            if state in t.sources and t.roles != (Role.SYSTEM,)
        )
        if not offered:
            break
        trigger = offered[pick % len(offered)]
        at += timedelta(minutes=gap)
        sim.step(trigger, at, payload=_WALK_PAYLOADS.get(trigger))
        _check_rows(sim)


# ---------------------------------------------------------------- sharper edges


def test_fired_tier_text_is_utc_and_roles_are_told_once() -> None:
    """Instants given in BST are written in UTC; a role listed twice is told once."""
    deadline = Deadline(
        case_id="case-1",
        kind=SAFETY_ACTION_DUE,
        started_at=utc(2026, 6, 1),
        due_date=date(2026, 6, 15),
        due_at=utc(2026, 6, 15, 23),
    )
    tier = _escalation(
        case_id="case-1",
        kind=SAFETY_ACTION_DUE,
        tier=0,
        stage="breach",
        fire_at=utc(2026, 6, 15, 23),
        notify=("executive_lead", "executive_lead", "action_owner"),
    )
    case = Sim("safety_action", facts={"owner_id": "owner-1"}, at=utc(2026, 6, 1)).case
    bst = timezone(timedelta(hours=1))
    fired = fired_tier(tier, deadline, case, datetime(2026, 6, 16, 1, 30, tzinfo=bst))
    assert fired.payload["fired_at"] == "2026-06-16T00:30:00Z"
    assert fired.payload["late_seconds"] == 5400
    assert fired.recipients == (
        Recipient("executive_lead", None),
        Recipient("action_owner", "owner-1"),
    )
    assert fired.escalation.fired_at == utc(2026, 6, 16, 0, 30)


def test_an_empty_lead_id_falls_back_to_the_facilitator() -> None:
    """A blank fact names nobody: the next fact for the role is used."""
    sim = Sim("swarm_huddle", facts={"lead_id": "", "facilitator_id": "fac-1"}, at=utc(2026, 6, 1))
    tier = _escalation(
        case_id="case-1",
        kind=RESPONSE_TARGET,
        tier=0,
        stage="breach",
        fire_at=utc(2026, 6, 2),
        notify=("learning_response_lead",),
    )
    deadline = Deadline(
        case_id="case-1", kind=RESPONSE_TARGET, started_at=utc(2026, 6, 1), due_at=utc(2026, 6, 2)
    )
    assert fired_tier(tier, deadline, sim.case, utc(2026, 6, 2)).recipients == (
        Recipient("learning_response_lead", "fac-1"),
    )


def test_unknown_response_type_falls_back_to_the_lifecycles_type() -> None:
    """A response_type the plan lacks, or none, takes the type mapped to the lifecycle."""
    for facts in ({"response_type": "gone"}, {}):
        sim = Sim("after_action_review", plan=_plan(), facts=facts, at=utc(2026, 6, 1, 8))
        assert sim.row(RESPONSE_TARGET).due_date == date(2026, 6, 29)  # aar: 20 working days


@pytest.mark.parametrize(
    ("settings_text", "target", "cap"),
    [
        ("", date(2026, 6, 16), date(2026, 9, 16)),
        ('timescale = { amount = 2, unit = "months" }\n', date(2026, 5, 18), date(2026, 9, 16)),
        (
            'timescale = { amount = 2, unit = "months" }\n'
            'hard_cap = { amount = 4, unit = "months" }\n',
            date(2026, 5, 18),
            date(2026, 7, 16),
        ),
    ],
    ids=["plan-default", "two-months", "four-month-cap"],
)
def test_psii_timescale_and_cap_from_the_plan(settings_text: str, target: date, cap: date) -> None:
    """A PSII takes the plan's timescale and cap, three and six months when it sets none."""
    text = PLAN.replace('timescale = { amount = 3, unit = "months" }\n', settings_text, 1)
    sim = Sim(
        "psii",
        plan=load_plan(text, source="p.toml"),
        facts={"response_type": "psii"},
        at=utc(2026, 3, 16, 9),
    )
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    assert sim.row(RESPONSE_TARGET).due_date == target
    assert sim.row(RESPONSE_HARD_CAP).due_date == cap


def test_response_type_without_timescale_has_no_clock() -> None:
    """A non-PSII response type without a timescale starts no deadline."""
    text = PLAN.replace('timescale = { amount = 20, unit = "working_days" }\n', "", 1)
    sim = Sim(
        "after_action_review",
        plan=load_plan(text, source="p.toml"),
        facts={"response_type": "aar"},
        at=utc(2026, 6, 1, 8),
    )
    assert sim.last == ScheduleChange()
    assert sim.deadlines == {}


def test_candour_clocks_are_independent() -> None:
    """Findings started early stay open while the notification and written ones are met."""
    sim = Sim("duty_of_candour", at=utc(2026, 6, 1, 9))
    sim.step("determine_notifiable", utc(2026, 6, 2, 9))
    sim.step("learning_response_approved", utc(2026, 6, 2, 10))
    assert sim.row(CANDOUR_NOTIFICATION).status == "open"
    assert sim.row(CANDOUR_FINDINGS).status == "open"
    sim.step("record_verbal_notification", utc(2026, 6, 3, 9))
    sim.step("record_written_notification", utc(2026, 6, 4, 9))
    assert [
        sim.row(k).status for k in (CANDOUR_NOTIFICATION, CANDOUR_WRITTEN, CANDOUR_FINDINGS)
    ] == [
        "met",
        "met",
        "open",
    ]


def test_uncontactable_clears_only_the_notification() -> None:
    """Marking the person uncontactable clears the notification, not the findings."""
    sim = Sim("duty_of_candour", at=utc(2026, 6, 1, 9))
    sim.step("determine_notifiable", utc(2026, 6, 2, 9))
    sim.step("learning_response_approved", utc(2026, 6, 2, 10))
    sim.step("mark_uncontactable_or_declined", utc(2026, 6, 3, 9))
    assert sim.row(CANDOUR_NOTIFICATION).status == "cleared"
    assert sim.row(CANDOUR_FINDINGS).status == "open"
    sim.step("relevant_person_engages", utc(2026, 6, 8, 9))
    row = sim.row(CANDOUR_NOTIFICATION, 1)
    assert (row.status, row.started_at, row.due_date) == (
        "open",
        utc(2026, 6, 8, 9),
        date(2026, 6, 22),
    )


def test_candour_reopened_after_completion_starts_a_new_notification() -> None:
    """Reopening a completed candour case starts a new notification clock from that instant."""
    sim = Sim("duty_of_candour", at=utc(2026, 6, 1, 9))
    sim.step("determine_notifiable", utc(2026, 6, 2, 9))
    sim.step("record_verbal_notification", utc(2026, 6, 3, 9))
    sim.step("record_written_notification", utc(2026, 6, 4, 9))
    sim.step("learning_response_approved", utc(2026, 6, 5, 9))
    sim.step("record_findings_shared", utc(2026, 6, 8, 9))
    assert sim.case.state == "complete"
    sim.step("reopen", utc(2026, 7, 1, 9))
    assert sim.row(CANDOUR_NOTIFICATION, 1).due_date == date(2026, 7, 15)


@pytest.mark.parametrize(
    ("value", "started"),
    [
        ("2026-06-01T10:30:00+01:00", utc(2026, 6, 1, 9, 30)),
        ("2026-06-01T10:30:00", utc(2026, 6, 3, 9)),  # naive: ignored
        ("soon", utc(2026, 6, 3, 9)),  # not a date: ignored
        ("2026-06-09", utc(2026, 6, 3, 9)),  # later than the opening: the opening
    ],
    ids=["aware-instant", "naive-instant", "not-a-date", "future"],
)
def test_candour_awareness_instants(value: str, started: datetime) -> None:
    """An aware awareness instant is used; naive, malformed or later ones are not."""
    sim = Sim("duty_of_candour", facts={"aware_at": value}, at=utc(2026, 6, 3, 9))
    assert sim.row(CANDOUR_NOTIFICATION).started_at == started


def test_warnings_before_the_clock_starts_are_left_out() -> None:
    """A target agreed 3 working days ahead keeps its breach and escalation, not the warning."""
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("agree_timescale", utc(2026, 3, 17, 9), payload={"target_date": "2026-03-20"})
    assert [(t.tier, t.stage) for t in sim.tiers_of(RESPONSE_TARGET, 1)] == [
        (0, "breach"),
        (1, "escalation"),
    ]
    exact = utc(2026, 3, 13, 0)  # 00:00 GMT Friday 13 March: 5 working days before the 20th
    sim.step("agree_timescale", exact, payload={"target_date": "2026-03-20"})
    assert [t.stage for t in sim.tiers_of(RESPONSE_TARGET, 2)] == [
        "warning",
        "breach",
        "escalation",
    ]


def test_steps_after_an_agreed_date_leave_it_alone() -> None:
    """Once a target date is agreed, later steps do not restart the clocks."""
    sim = Sim("psii", at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("agree_timescale", utc(2026, 3, 17, 9), payload={"target_date": "2026-05-29"})
    assert sim.step("begin_gathering", utc(2026, 3, 18, 9)) == ScheduleChange()
    assert sim.step("record_terms_of_reference", utc(2026, 3, 19, 9)) == ScheduleChange()


def test_override_keeps_the_plan_ladder() -> None:
    """The clocks an override moves keep the response type's ladder."""
    sim = Sim("psii", plan=_plan(), facts={"response_type": "psii"}, at=utc(2026, 3, 16, 9))
    sim.step("assign_lead", utc(2026, 3, 16, 10), payload={"lead_id": "lead-1"})
    sim.step("override_hard_cap", utc(2026, 7, 1, 9), payload={"target_date": "2026-10-30"})
    assert sim.row(RESPONSE_TARGET, 1).ladder == "psii-late"
    assert sim.row(RESPONSE_HARD_CAP, 1).ladder == "psii-late"
    assert len(sim.tiers_of(RESPONSE_HARD_CAP, 1)) == 3


def test_build_tiers_orders_by_instant_and_keeps_ties_in_ladder_order() -> None:
    """Tiers are numbered by firing instant; tiers due together keep the ladder's order."""
    deadline = Deadline(
        case_id="case-1",
        kind=SAFETY_ACTION_DUE,
        cycle=2,
        organisation=ORG,
        started_at=utc(2026, 6, 1),
        due_date=date(2026, 6, 15),
        due_at=utc(2026, 6, 15, 23),
    )
    ladder = EscalationLadder(
        tiers=(
            EscalationTier(
                after=Timescale(5, TimeUnit.WORKING_DAYS), notify=(Role.EXECUTIVE_LEAD,)
            ),
            EscalationTier(after=Timescale(0, TimeUnit.HOURS), notify=(Role.SENIOR_LEADER,)),
            EscalationTier(
                after=Timescale(0, TimeUnit.WORKING_DAYS),
                notify=(Role.ACTION_OWNER,),
                action="convert_to_after_action_review",
            ),
        )
    )
    assert build_tiers(deadline, ladder, WorkingDayCalendar()) == (
        _escalation(
            case_id="case-1",
            kind=SAFETY_ACTION_DUE,
            cycle=2,
            tier=0,
            stage="breach",
            organisation=ORG,
            fire_at=utc(2026, 6, 15, 23),
            notify=("senior_leader",),
        ),
        _escalation(
            case_id="case-1",
            kind=SAFETY_ACTION_DUE,
            cycle=2,
            tier=1,
            stage="breach",
            organisation=ORG,
            fire_at=utc(2026, 6, 15, 23),
            notify=("action_owner",),
            action="convert_to_after_action_review",
        ),
        _escalation(
            case_id="case-1",
            kind=SAFETY_ACTION_DUE,
            cycle=2,
            tier=2,
            stage="escalation",
            organisation=ORG,
            fire_at=utc(2026, 6, 21, 23),
            notify=("executive_lead",),
        ),
    )


@pytest.mark.parametrize(
    ("held", "resumed", "due_date"),
    [
        (utc(2026, 6, 1, 23, 30), utc(2026, 6, 2, 9), date(2026, 12, 24)),  # same BST day
        (utc(2026, 6, 1, 22, 30), utc(2026, 6, 1, 23, 30), date(2026, 12, 25)),  # over midnight
        (utc(2026, 6, 1, 9), utc(2026, 6, 1, 10), date(2026, 12, 24)),  # an hour
    ],
    ids=["same-local-day", "over-local-midnight", "one-hour"],
)
def test_day_rules_move_by_local_days_only(
    held: datetime, resumed: datetime, due_date: date
) -> None:
    """A hold within one local day moves nothing; one over local midnight moves a day."""
    sim = Sim(
        "safety_action",
        facts={"owner_id": "owner-1", "due_on": "2026-12-24"},
        at=utc(2026, 5, 1, 9),
    )
    sim.step("agree", utc(2026, 5, 2, 9))
    sim.step("defer", held)
    sim.step("resume", resumed)
    row = sim.row(SAFETY_ACTION_DUE)
    assert (row.due_date, row.due_at) == (due_date, breach_instant(due_date))


def test_unknown_step_on_a_closed_case_changes_nothing() -> None:
    """A step the lifecycle does not define (an escalation entry) on a closed case is a no-op."""
    sim = Sim("referral", at=utc(2026, 6, 1, 9))
    sim.step("withdraw", utc(2026, 6, 1, 10))
    change = plan_deadlines(
        definition=sim.definition,
        before=sim.case,
        after=sim.case,
        trigger="escalation_fired",
        now=utc(2026, 6, 2, 9),
        plan=None,
        existing=tuple(sim.deadlines.values()),
        tiers=tuple(sim.tiers.values()),
    )
    assert change == ScheduleChange()
