"""Duty of candour lateness: a step after the plan's working-day target needs a reason.

psirf-rules §4.2: regulation 20 says "as soon as reasonably practicable" and sets no day
count; ten working days is a LOCAL (historic contractual) target, configurable in the plan,
and the reason for any delay is recorded. Counted by issue 10's rule "N working days from
event E": day 0 is E's Europe/London date; the due date is the Nth working day after it
under the plan's calendar (England and Wales without a plan). Dates are typed by hand from
the 2026 and 2027 bank holidays: Christmas Day Friday 25 December 2026, Boxing Day's
substitute Monday 28 December, New Year's Day Friday 1 January 2027.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    Case,
    Command,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidPayload,
    ReasonMissing,
    Role,
    decide,
)
from psirf_flow.domain import SystemReader
from psirf_flow.policy import load_plan
from psirf_flow.policy.calendars import Region, WorkingDayCalendar
from psirf_flow.policy.plan import CalendarSettings, CandourTargets, Plan
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import DUTY_OF_CANDOUR
from psirf_flow.workflows.candour.guards import candour_due_date


READER = SystemReader("test-suite")
ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
HCP = Actor("hcp-1", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
FAC = Actor("fac-1", [Role.FACILITATOR], ORG)
SENIOR = Actor("sl-1", [Role.SENIOR_LEADER], ORG)

VERBAL = {
    "in_person": True,
    "facts_given": True,
    "further_enquiries_explained": True,
    "apology_given": True,
    "support_offered": True,
    "verbal_record_ref": "DOC-VERBAL-1",
    "relevant_person_basis": "patient",
}
WRITTEN = {
    "facts_included": True,
    "enquiries_included": True,
    "results_to_date_included": True,
    "apology_included": True,
    "written_copy_ref": "DOC-LETTER-1",
    "written_delivery": "post",
}
FINDINGS = {"results_letter_ref": "DOC-RESULTS-1", "results_delivery": "post"}
CONCLUDED = {"enquiries_concluded_ref": "DOC-EXT-1", "enquiries": "external_investigation"}
DETERMINED = {"harm_category": "severe", "harm_basis": "appears_to_have_resulted"}

PLAN = """
schema = 1

[plan]
id = "rx1-psirp"
version = "1.0"
organisation = "RX1"
effective_from = 2026-01-01
review_date = 2027-12-31

[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
"""


def at(day: str, hour: int = 10) -> datetime:
    """``hour``:00 UTC on the ISO date ``day``."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC).replace(
        hour=hour
    )


def plan(targets: CandourTargets, region: Region = Region.ENGLAND_AND_WALES) -> Plan:
    """The test plan with the given candour targets and calendar region."""
    loaded = load_plan(PLAN, source="test-plan")
    return attrs.evolve(loaded, duty_of_candour=targets, calendar=CalendarSettings(region=region))


class World:
    """A candour case on a manual clock, under an optional plan."""

    def __init__(self, governing: Plan | None = None, start: str = "2026-12-23") -> None:
        self.clock = ManualClock(at(start, 9))
        counter = itertools.count(1)
        self.engine = Engine(
            InMemoryStore(),
            clock=self.clock,
            new_id=lambda: f"case-{next(counter):04d}",
            plan=governing,
        )
        self.case_id = ""

    def opened(self, aware_on: str | None = "2026-12-23") -> Case:
        """Open the candour case (aware on ``aware_on``) and find it notifiable."""
        payload: dict[str, object] = {"incident_ids": ["INC-1"]}
        if aware_on is not None:
            payload["aware_on"] = aware_on
        case = self.engine.open("duty_of_candour", actor=HCP, payload=payload).case
        self.case_id = case.id
        return self.fire("determine_notifiable", HCP, DETERMINED)

    def fire(self, trigger: str, actor: Actor, payload: Mapping[str, object]) -> Case:
        """Fire ``trigger`` on the candour case."""
        return self.engine.fire(self.case_id, trigger, actor=actor, payload=payload).case

    def on(self, day: str, hour: int = 10) -> None:
        """Move the clock to ``hour``:00 UTC on ``day``."""
        self.clock.set(at(day, hour))


def codes(refused: pytest.ExceptionInfo[GuardFailed]) -> tuple[str, ...]:
    """The reason codes of every failed guard of a refusal."""
    return tuple(r.reason_code for r in refused.value.failures)


class TestVerbalNotification:
    """Psirf-rules §4.2: the in-person notification's target counts from awareness."""

    @pytest.mark.parametrize(
        ("recorded_on", "late"),
        [
            ("2026-12-24", False),
            ("2027-01-08", False),
            ("2027-01-11", False),
            ("2027-01-12", True),
            ("2027-02-01", True),
        ],
    )
    def test_aware_wednesday_23_december_2026_due_monday_11_january(
        self, recorded_on: str, late: bool
    ) -> None:
        """Ten working days from Wed 23 Dec 2026 end Mon 11 Jan 2027; later needs a reason."""
        world = World()
        world.opened()
        world.on(recorded_on)

        if not late:
            case = world.fire("record_verbal_notification", HCP, VERBAL)
            assert case.state == "written_due"
            assert case.facts["verbal_notified_on"] == recorded_on
            return
        with pytest.raises(ReasonMissing) as refused:
            world.fire("record_verbal_notification", HCP, VERBAL)
        case = world.fire(
            "record_verbal_notification",
            HCP,
            {**VERBAL, "verbal_delay_reason": "relevant_person_unavailable"},
        )
        assert codes(refused) == ("reason_missing",)
        assert case.facts["verbal_delay_reason"] == "relevant_person_unavailable"

    def test_the_due_date_is_typed_out_by_hand(self) -> None:
        """Wed 23 Dec 2026 + 10 working days, England and Wales: Mon 11 January 2027."""
        due = candour_due_date("verbal", {"aware_on": "2026-12-23"}, at("2026-12-23"))

        assert due == date(2027, 1, 11)

    def test_awareness_defaults_to_the_opening_date(self) -> None:
        """Psirf-rules §4.2: without ``aware_on`` the case's opening is when it became aware."""
        world = World()
        case = world.opened(aware_on=None)
        world.on("2027-01-12")

        with pytest.raises(ReasonMissing):
            world.fire("record_verbal_notification", HCP, VERBAL)
        assert "aware_on" not in case.facts

    def test_an_earlier_awareness_brings_the_due_date_forward(self) -> None:
        """Aware on Wed 9 Dec 2026: due Wed 23 Dec, so Thu 24 Dec is late."""
        world = World()
        world.opened(aware_on="2026-12-09")
        world.on("2026-12-24")

        with pytest.raises(ReasonMissing):
            world.fire("record_verbal_notification", HCP, VERBAL)

    def test_awareness_cannot_be_in_the_future(self) -> None:
        """An organisation cannot have become aware after the case is opened."""
        world = World()

        with pytest.raises(GuardFailed) as refused:
            world.opened(aware_on="2026-12-24")

        assert codes(refused) == ("aware_in_future",)

    def test_the_local_date_decides_lateness(self) -> None:
        """At 00:30 BST on Tue 12 May 2026, a target of Mon 11 May is already missed."""
        world = World(start="2026-04-24")
        world.opened(aware_on="2026-04-24")  # Fri + 10 working days (4 May holiday): 11 May
        on_time = World(start="2026-04-24")
        on_time.opened(aware_on="2026-04-24")
        on_time.clock.set(datetime(2026, 5, 11, 22, 30, tzinfo=UTC))  # 23:30 BST, 11 May
        world.clock.set(datetime(2026, 5, 11, 23, 30, tzinfo=UTC))  # 00:30 BST, 12 May

        case = on_time.fire("record_verbal_notification", HCP, VERBAL)
        with pytest.raises(ReasonMissing):
            world.fire("record_verbal_notification", HCP, VERBAL)

        assert case.facts["verbal_notified_on"] == "2026-05-11"

    def test_an_unknown_delay_reason_is_refused(self) -> None:
        """The delay reason is a code, never free text."""
        world = World()
        world.opened()
        world.on("2027-01-12")

        with pytest.raises(InvalidPayload, match="'verbal_delay_reason' must be one of"):
            world.fire("record_verbal_notification", HCP, {**VERBAL, "verbal_delay_reason": "busy"})


#: Plan targets and calendars, aware Wed 23 Dec 2026: (targets, region, last on time, late).
PLAN_TARGETS = [
    pytest.param(
        CandourTargets(verbal_working_days=5),
        Region.ENGLAND_AND_WALES,
        "2027-01-04",
        "2027-01-05",
        id="five-days",
    ),
    pytest.param(
        CandourTargets(verbal_working_days=3),
        Region.ENGLAND_AND_WALES,
        "2026-12-30",
        "2026-12-31",
        id="three-days",
    ),
    # Scotland: 2 January 2027 (a Saturday) is a holiday there, substituted on Monday 4th.
    pytest.param(
        CandourTargets(verbal_working_days=5),
        Region.SCOTLAND,
        "2027-01-05",
        "2027-01-06",
        id="scotland",
    ),
]


class TestPlanTargets:
    """Psirf-rules §4.2: the plan sets the working days and the calendar."""

    @pytest.mark.parametrize(("targets", "region", "last_on_time", "first_late"), PLAN_TARGETS)
    def test_the_plan_decides_when_the_verbal_step_is_late(
        self, targets: CandourTargets, region: Region, last_on_time: str, first_late: str
    ) -> None:
        """On the last day no reason is needed; on the next working day it is."""
        on_time, late = World(plan(targets, region)), World(plan(targets, region))
        on_time.opened()
        late.opened()
        on_time.on(last_on_time, hour=23)
        late.on(first_late, hour=0)

        case = on_time.fire("record_verbal_notification", HCP, VERBAL)
        with pytest.raises(ReasonMissing):
            late.fire("record_verbal_notification", HCP, VERBAL)

        assert case.state == "written_due"


def _verbal_on(world: World, day: str) -> None:
    """Record the verbal notification on ``day`` (with a delay reason, in case it is late)."""
    world.on(day)
    world.fire(
        "record_verbal_notification", HCP, {**VERBAL, "verbal_delay_reason": "awaiting_information"}
    )


class TestWrittenNotification:
    """Psirf-rules §4.2: the written notification counts from the verbal one."""

    @pytest.mark.parametrize(
        ("recorded_on", "late"),
        [("2027-01-25", False), ("2027-01-26", True)],
        ids=["last-day", "day-after"],
    )
    def test_ten_working_days_from_the_verbal_notification(
        self, recorded_on: str, late: bool
    ) -> None:
        """Verbal on Mon 11 Jan 2027: the letter is due by Mon 25 Jan."""
        world = World()
        world.opened()
        _verbal_on(world, "2027-01-11")
        world.on(recorded_on)

        if not late:
            assert world.fire("record_written_notification", PSS, WRITTEN).state == "results_due"
            return
        with pytest.raises(ReasonMissing):
            world.fire("record_written_notification", PSS, WRITTEN)
        case = world.fire(
            "record_written_notification", PSS, {**WRITTEN, "written_delay_reason": "other"}
        )
        assert case.facts["written_delay_reason"] == "other"


class TestFindingsShared:
    """Psirf-rules §4.2, §9.3: findings count from when they became available."""

    def _at_results(self, world: World) -> None:
        world.opened()
        _verbal_on(world, "2027-01-04")
        world.on("2027-01-05")
        world.fire("record_written_notification", PSS, WRITTEN)

    @pytest.mark.parametrize(
        ("recorded_on", "late"),
        [("2027-02-15", False), ("2027-02-16", True)],
        ids=["last-day", "day-after"],
    )
    def test_ten_working_days_from_other_enquiries_concluding(
        self, recorded_on: str, late: bool
    ) -> None:
        """Enquiries concluded Mon 1 Feb 2027: findings are due by Mon 15 Feb."""
        world = World()
        self._at_results(world)
        world.on("2027-02-01")
        concluded = world.fire("record_enquiries_concluded", PSS, CONCLUDED)
        world.on(recorded_on)

        assert concluded.facts["findings_available_on"] == "2027-02-01"
        if not late:
            assert world.fire("record_findings_shared", PSS, FINDINGS).state == "complete"
            return
        with pytest.raises(ReasonMissing):
            world.fire("record_findings_shared", PSS, FINDINGS)
        case = world.fire(
            "record_findings_shared", PSS, {**FINDINGS, "results_delay_reason": "other"}
        )
        assert case.state == "complete"

    def test_counted_from_the_learning_response_approval(self) -> None:
        """The approval's coupling stamps the date; ten working days later a reason is needed."""
        world = World()
        self._at_results(world)
        world.on("2027-02-01")
        response = _approved_swarm(world.engine)
        world.fire(
            "learning_response_approved",
            PSS,
            {"learning_response_id": response, "learning_response_approved_ref": "DOC-R-1"},
        )
        world.on("2027-02-16")

        with pytest.raises(ReasonMissing):
            world.fire("record_findings_shared", PSS, FINDINGS)
        assert world.engine.get(world.case_id, reader=READER).facts["findings_available_on"] == (
            "2027-02-01"
        )

    def test_the_plan_target_applies(self) -> None:
        """A plan's ``findings_working_days = 20`` keeps Tue 16 Feb on time."""
        world = World(plan(CandourTargets(findings_working_days=20)))
        self._at_results(world)
        world.on("2027-02-01")
        world.fire("record_enquiries_concluded", PSS, CONCLUDED)
        world.on("2027-02-16")

        assert world.fire("record_findings_shared", PSS, FINDINGS).state == "complete"


def _approved_swarm(engine: Engine) -> str:
    """Open a swarm huddle for INC-1 and drive it to approval; return its id."""
    case = engine.open(
        "swarm_huddle", actor=PSS, case_id="LR-1", payload={"incident_ids": ["INC-1"]}
    ).case
    steps: tuple[tuple[Actor, str, dict[str, object]], ...] = (
        (PSS, "assign_facilitator", {"facilitator_id": FAC.id}),
        (FAC, "begin_gathering", {}),
        (FAC, "complete_analysis", {}),
        (FAC, "submit_draft", {"draft_ref": "DRAFT-1"}),
        (SENIOR, "agree_findings", {}),
        (FAC, "request_approval", {}),
        (SENIOR, "approve", {"report_ref": "DOC-R-1"}),
    )
    for actor, trigger, payload in steps:
        engine.fire(case.id, trigger, actor=actor, payload=payload)
    return case.id


def _working_days_between(start: date, end: date) -> int:
    """Working days (England and Wales) strictly after ``start`` up to and including ``end``."""
    calendar = WorkingDayCalendar()
    return sum(
        1
        for n in range(1, (end - start).days + 1)
        if calendar.is_working_day(start + timedelta(days=n))
    )


class TestProperties:
    """Invariant: a reason is needed exactly when recorded after the tenth working day."""

    @given(
        aware=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 1)),
        offset=st.integers(min_value=0, max_value=30),
    )
    def test_reason_needed_exactly_after_ten_working_days(self, aware: date, offset: int) -> None:
        """Counted day by day: on time up to the 10th working day, late on any day after it."""
        recorded = aware + timedelta(days=offset)
        opened = datetime.combine(aware, time(12), tzinfo=UTC)
        case = Case(
            id="DOC-1",
            workflow="duty_of_candour",
            workflow_version=DUTY_OF_CANDOUR.version,
            organisation=ORG,
            state="verbal_due",
            version=2,
            facts={"incident_ids": ("INC-1",), "aware_on": aware.isoformat(), **DETERMINED},
            opened_at=opened,
            updated_at=opened,
            head_hash="cd" * 32,
        )
        command = Command("record_verbal_notification", HCP, VERBAL)
        now = datetime.combine(recorded, time(12), tzinfo=UTC)

        # Late once the day before the record already closes the tenth working day.
        late = _working_days_between(aware, recorded - timedelta(days=1)) >= 10
        try:
            decided = decide(DUTY_OF_CANDOUR, case, command, now=now)
        except ReasonMissing:
            assert late
        else:
            assert not late
            assert decided.case.facts["verbal_notified_on"] == recorded.isoformat()
