"""A PSII's clock: Europe/London dates, the plan's timescale, and a new clock on reopening.

Issue 10's counting rules: every day-based rule uses the Europe/London local date of its
starting event, so a lead appointed at 00:30 BST on a Monday starts the PSII that Monday;
"N months" is the same day of the month N months later, rolled forward to a working day of
the plan's calendar; on reopening, a new target and cap run from the reopening date
(psirf-rules §4.1, §9.1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import Actor, Case, Command, Engine, GuardFailed, InMemoryStore, Role, decide
from psirf_flow.domain import FactValue, SystemReader
from psirf_flow.policy import Plan, load_national_rules, load_plan
from psirf_flow.policy.calendars import UK_TIME, Region, Timescale, TimeUnit
from psirf_flow.policy.governance import Governance
from psirf_flow.policy.plan import CalendarSettings
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII
from psirf_flow.workflows.learning_response.engagement import (
    ResponseClock,
    current_target_date,
    response_clock,
)
from psirf_flow.workflows.payload import check_payload
from psirf_flow.workflows.spec import FieldKind, FieldSpec


READER = SystemReader("test-suite")
ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENG = Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)

PLAN = """
schema = 1

[plan]
id = "rxy-psirp"
version = "1.0"
organisation = "RXY"
effective_from = 2026-01-01
review_date = 2027-12-31

[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
timescale = { amount = 3, unit = "months" }

[response_types.rapid_psii]
maps_to = "psii"
title = "Rapid PSII"
sign_off = [{ role = "executive_lead" }]
timescale = { amount = 1, unit = "months" }
hard_cap = { amount = 2, unit = "months" }
"""


@pytest.fixture(name="engine")
def _engine(clock: ManualClock) -> Engine:
    """An engine without a plan on the shared manual clock."""
    return Engine(InMemoryStore(), clock=clock)


def plan(calendar: CalendarSettings | None = None) -> Plan:
    """The test plan, with ``calendar`` as its calendar settings when given."""
    loaded = load_plan(PLAN, source="test-plan")
    return loaded if calendar is None else attrs.evolve(loaded, calendar=calendar)


def assign_at(engine: Engine, clock: ManualClock, moment: datetime, **payload: object) -> Case:
    """Open a PSII (with ``payload``) and assign its lead at ``moment``; return the case."""
    opened = engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"], **payload}).case
    clock.set(moment)
    return engine.fire(
        opened.id,
        "assign_lead",
        actor=PSS,
        payload={"lead_id": LEAD.id, "engagement_lead_id": ENG.id},
    ).case


def agree(engine: Engine, case_id: str, target: str) -> Case:
    """The lead records ``target`` as agreed with the family."""
    return engine.fire(
        case_id,
        "agree_timescale",
        actor=LEAD,
        payload={"target_date": target, "family_timescale_agreement": "agreed"},
    ).case


class TestLocalDates:
    """Issue 10: day rules use the Europe/London date of the event, not its UTC date."""

    @pytest.mark.parametrize(
        ("moment", "started_on"),
        [
            # 00:30 BST on Monday 1 June 2026 is 23:30 UTC on Sunday 31 May.
            (datetime(2026, 5, 31, 23, 30, tzinfo=UTC), "2026-06-01"),
            # 00:30 GMT on Monday 12 January 2026: UTC and local dates agree in winter.
            (datetime(2026, 1, 12, 0, 30, tzinfo=UTC), "2026-01-12"),
            # 23:30 BST on Sunday 31 May is still Sunday locally.
            (datetime(2026, 5, 31, 22, 30, tzinfo=UTC), "2026-05-31"),
            # The night the clocks go forward (29 March 2026): 01:30 UTC is 02:30 BST.
            (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03-29"),
            # The night they go back (25 October 2026): 23:30 UTC on the 24th is 00:30 BST.
            (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "2026-10-25"),
        ],
        ids=["bst-after-midnight", "gmt", "bst-before-midnight", "spring-change", "autumn-eve"],
    )
    def test_the_start_date_is_the_local_date(
        self, engine: Engine, clock: ManualClock, moment: datetime, started_on: str
    ) -> None:
        """A lead appointed at 00:30 BST on a Monday starts the PSII that Monday."""
        clock.set(moment - timedelta(hours=1))

        case = assign_at(engine, clock, moment)

        assert case.facts["started_on"] == started_on

    def test_started_on_a_local_monday_the_timescale_counts_from_it(
        self, engine: Engine, clock: ManualClock
    ) -> None:
        """Counted from Monday 1 June, 3 months end on Tuesday 1 September (after 31 August)."""
        clock.set(datetime(2026, 5, 31, 22, 0, tzinfo=UTC))
        case = assign_at(engine, clock, datetime(2026, 5, 31, 23, 30, tzinfo=UTC))

        agreed = agree(engine, case.id, "2026-09-01")
        with pytest.raises(GuardFailed) as refused:
            agree(engine, case.id, "2026-09-02")

        assert agreed.facts["target_date"] == "2026-09-01"
        assert [f.reason_code for f in refused.value.failures] == ["target_beyond_timescale"]

    def test_today_is_the_local_date_for_a_target(self, engine: Engine, clock: ManualClock) -> None:
        """At 00:30 BST on 1 June, 31 May is already past even though UTC says 31 May."""
        clock.set(datetime(2026, 5, 30, 9, tzinfo=UTC))
        case = assign_at(engine, clock, datetime(2026, 5, 30, 10, tzinfo=UTC))
        clock.set(datetime(2026, 5, 31, 23, 30, tzinfo=UTC))

        with pytest.raises(GuardFailed) as refused:
            agree(engine, case.id, "2026-05-31")
        agreed = agree(engine, case.id, "2026-06-01")

        assert [f.reason_code for f in refused.value.failures] == ["target_in_past"]
        assert agreed.facts["target_date"] == "2026-06-01"

    @given(
        moment=st.datetimes(
            min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - bounds of an aware strategy
            max_value=datetime(2027, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        )
    )
    def test_the_stamp_is_the_local_day_containing_the_instant(self, moment: datetime) -> None:
        """For any instant, the stamped date's local midnight is at or before it, the next after."""
        case = Case(
            id="P-1",
            workflow="psii",
            workflow_version=PSII.version,
            organisation=ORG,
            state="commissioned",
            version=1,
            facts={"incident_ids": ("INC-1",)},
            opened_at=moment,
            updated_at=moment,
            head_hash="ab" * 32,
        )
        command = Command("assign_lead", PSS, {"lead_id": LEAD.id, "engagement_lead_id": ENG.id})

        stamped = decide(PSII, case, command, now=moment).case.facts["started_on"]

        day = date.fromisoformat(str(stamped))
        after = day + timedelta(days=1)
        start = datetime(day.year, day.month, day.day, tzinfo=UK_TIME)
        end = datetime(after.year, after.month, after.day, tzinfo=UK_TIME)
        assert start <= moment < end

    def test_an_aware_datetime_given_for_a_date_is_read_as_its_local_date(self) -> None:
        """A host passing an aware instant for a date field gets the Europe/London date."""
        field = FieldSpec("target_date", FieldKind.DATE)

        data, problems = check_payload(
            (field,), {"target_date": datetime(2026, 5, 31, 23, 30, tzinfo=UTC)}, salt="s"
        )

        assert problems == []
        assert data == {"target_date": "2026-06-01"}


class TestPlanClock:
    """Psirf-rules §4.1: the timescale and hard cap are the governing plan's."""

    @pytest.mark.parametrize(
        ("settings", "last_ok"),
        [
            # 3 months from Monday 5 January 2026 is Sunday 5 April (Easter); Monday 6 is
            # Easter Monday, so Tuesday 7 April.
            (CalendarSettings(), "2026-04-07"),
            # A trust closure day on Tuesday 7 April rolls it to Wednesday 8.
            (CalendarSettings(closure_days=(date(2026, 4, 7),)), "2026-04-08"),
            # Easter Monday is a working day in Scotland: Monday 6 April.
            (CalendarSettings(region=Region.SCOTLAND), "2026-04-06"),
        ],
        ids=["england-and-wales", "closure-day", "scotland"],
    )
    def test_months_roll_forward_on_the_plan_calendar(
        self, clock: ManualClock, settings: CalendarSettings, last_ok: str
    ) -> None:
        """Months land on the same day, then the next working day of the plan's calendar."""
        engine = Engine(InMemoryStore(), clock=clock, plan=plan(settings))
        case = assign_at(engine, clock, clock.now())
        after = (date.fromisoformat(last_ok) + timedelta(days=1)).isoformat()

        agreed = agree(engine, case.id, last_ok)
        with pytest.raises(GuardFailed) as refused:
            agree(engine, case.id, after)

        assert agreed.facts["target_date"] == last_ok
        assert [f.reason_code for f in refused.value.failures] == ["target_beyond_timescale"]

    def test_a_local_response_type_uses_its_own_timescale_and_cap(self, clock: ManualClock) -> None:
        """A case run as the plan's ``rapid_psii`` has 1 month and a 2-month cap."""
        engine = Engine(InMemoryStore(), clock=clock, plan=plan())
        case = assign_at(engine, clock, clock.now(), response_type="rapid_psii")

        within = agree(engine, case.id, "2026-02-05")
        with pytest.raises(GuardFailed) as beyond_timescale:
            agree(engine, case.id, "2026-02-06")
        with pytest.raises(GuardFailed) as beyond_cap:
            agree(engine, case.id, "2026-03-06")

        assert within.facts["target_date"] == "2026-02-05"
        assert beyond_timescale.value.failures[0].reason_code == "target_beyond_timescale"
        assert beyond_cap.value.failures[0].reason_code == "target_beyond_hard_cap"

    def test_without_a_plan_the_defaults_are_three_and_six_months(
        self, engine: Engine, clock: ManualClock
    ) -> None:
        """Psirf-rules §4.1 (NAT-G ✖): 3 months to Tue 7 April, 6 months to Mon 6 July 2026."""
        case = assign_at(engine, clock, clock.now())

        agree(engine, case.id, "2026-04-07")
        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                case.id,
                "request_extension",
                actor=LEAD,
                payload={"requested_target_date": "2026-07-07", "extension_reason": "complexity"},
            )
        requested = engine.fire(
            case.id,
            "request_extension",
            actor=LEAD,
            payload={"requested_target_date": "2026-07-06", "extension_reason": "complexity"},
        ).case

        assert [f.reason_code for f in refused.value.failures] == ["hard_cap_exceeded"]
        assert requested.facts["requested_target_date"] == "2026-07-06"


REVIEWER = Actor("rev-05", [Role.PEER_REVIEWER], ORG)
SENIOR = Actor("sl-08", [Role.SENIOR_LEADER], ORG)
#: A PSII from its lead's assignment to closure, agreeing 31 March 2026 as its target.
CLOSING_STEPS: tuple[tuple[Actor, str, dict[str, object]], ...] = (
    (PSS, "assign_lead", {"lead_id": LEAD.id, "engagement_lead_id": ENG.id}),
    (
        LEAD,
        "agree_timescale",
        {"target_date": "2026-03-31", "family_timescale_agreement": "agreed"},
    ),
    (
        LEAD,
        "record_terms_of_reference",
        {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    ),
    (
        ENG,
        "record_engagement",
        {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
    ),
    (LEAD, "begin_gathering", {}),
    (LEAD, "complete_analysis", {}),
    (LEAD, "submit_draft", {"draft_ref": "DRAFT-1"}),
    (REVIEWER, "record_peer_review", {"peer_review_ref": "PR-1"}),
    (LEAD, "record_expert_input", {"expert_input": "panel", "expert_ids": ["sme-1"]}),
    (LEAD, "record_staff_accuracy_check", {"staff_accuracy_check": "confirmed"}),
    (ENG, "record_family_draft_response", {"family_draft_response": "commented"}),
    (SENIOR, "agree_findings", {}),
    (LEAD, "request_approval", {}),
    (EXEC, "approve", {"report_ref": "REPORT-1"}),
    (ENG, "share", {"family_sharing": "shared"}),
    (PSS, "close", {"no_actions_rationale": "no_new_learning"}),
)


class TestReopening:
    """Issue 10, psirf-rules §4.1: reopening starts a new clock; the old one stays on record."""

    @pytest.fixture(name="closed")
    def _closed(self, engine: Engine) -> str:
        """A PSII started 5 January 2026 with a target of 31 March, approved and closed."""
        case = engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}).case
        for actor, trigger, payload in CLOSING_STEPS:
            engine.fire(case.id, trigger, actor=actor, payload=payload)
        return case.id

    def test_reopening_stamps_a_new_start_and_clears_the_old_target(
        self, engine: Engine, clock: ManualClock, closed: str
    ) -> None:
        """The reopening's local date is the new start; the agreed target no longer binds."""
        clock.set(datetime(2026, 9, 30, 23, 30, tzinfo=UTC))  # 00:30 BST, 1 October

        case = engine.fire(
            closed,
            "reopen",
            actor=EXEC,
            payload={"new_information_ref": "INQ-1", "reopen_reason": "inquest"},
        ).case

        assert case.state == "gathering_and_analysis"
        assert case.facts["started_on"] == "2026-10-01"
        assert "target_date" not in case.facts
        assert case.facts["revision"] == 1

    def test_the_lead_agrees_a_new_target_without_an_override(
        self, engine: Engine, clock: ManualClock, closed: str
    ) -> None:
        """A new target within 3 months of the reopening needs no executive override."""
        clock.set(datetime(2026, 10, 1, 9, tzinfo=UTC))
        engine.fire(
            closed,
            "reopen",
            actor=EXEC,
            payload={"new_information_ref": "INQ-1", "reopen_reason": "inquest"},
        )

        agreed = agree(engine, closed, "2027-01-01")  # a bank holiday: rolls to 4 January
        with pytest.raises(GuardFailed) as refused:
            agree(engine, closed, "2027-01-05")

        assert agreed.facts["target_date"] == "2027-01-01"
        assert [f.reason_code for f in refused.value.failures] == ["target_beyond_timescale"]

    def test_the_old_clock_stays_in_the_audit_trail(
        self, engine: Engine, clock: ManualClock, closed: str
    ) -> None:
        """The first start and target remain readable from the trail after reopening."""
        clock.set(datetime(2026, 10, 1, 9, tzinfo=UTC))
        engine.fire(
            closed,
            "reopen",
            actor=EXEC,
            payload={"new_information_ref": "INQ-1", "reopen_reason": "inquest"},
        )
        agree(engine, closed, "2026-12-01")

        history = engine.history(closed, reader=READER)
        assigned = next(e for e in history if e.trigger == "assign_lead")
        targets = [e.data["target_date"] for e in history if e.trigger == "agree_timescale"]
        reopened = next(e for e in history if e.trigger == "reopen")

        assert assigned.recorded_at.date() == date(2026, 1, 5)
        assert targets == ["2026-03-31", "2026-12-01"]
        assert reopened.recorded_at == datetime(2026, 10, 1, 9, tzinfo=UTC)
        assert engine.verify(closed, reader=READER).ok


#: response_clock by hand: (response type fact, plan?, timescale end, hard cap end).
CLOCKS = [
    pytest.param(None, False, date(2026, 4, 7), date(2026, 7, 6), id="no-plan"),
    pytest.param(None, True, date(2026, 4, 7), date(2026, 7, 6), id="plan-psii"),
    pytest.param("rapid_psii", True, date(2026, 2, 5), date(2026, 3, 5), id="plan-local-type"),
    pytest.param("unlisted", True, date(2026, 4, 7), date(2026, 7, 6), id="plan-unlisted-type"),
]


class TestResponseClock:
    """The public reading of a clock that the schedule and reports rely on."""

    @pytest.mark.parametrize(("response_type", "governed", "ends", "cap"), CLOCKS)
    def test_clock_ends(
        self, response_type: str | None, governed: bool, ends: date, cap: date
    ) -> None:
        """Started Monday 5 January 2026: the timescale's and the cap's last dates."""
        facts: dict[str, FactValue] = {"started_on": "2026-01-05"}
        if response_type is not None:
            facts["response_type"] = response_type
        governance = Governance(plan=plan(), rules=load_national_rules()) if governed else None

        clock = response_clock(facts, governance)

        assert clock is not None
        assert (clock.started_on, clock.timescale_ends_on, clock.hard_cap_ends_on) == (
            date(2026, 1, 5),
            ends,
            cap,
        )
        assert current_target_date(facts, governance) == ends
        assert current_target_date({**facts, "target_date": "2026-02-01"}) == date(2026, 2, 1)

    def test_the_workflow_names_the_type_when_the_facts_do_not(self) -> None:
        """Without a ``response_type`` fact the case's workflow picks the plan's type."""
        facts: dict[str, FactValue] = {"started_on": "2026-01-05"}
        governance = Governance(plan=plan(), rules=load_national_rules())

        assert current_target_date(facts, governance, "rapid_psii") == date(2026, 2, 5)
        assert current_target_date(facts, governance) == date(2026, 4, 7)

    def test_the_psii_type_is_read_when_nothing_names_another(self) -> None:
        """``response_clock`` without a workflow reads the plan's ``psii`` type (here 1 month)."""
        loaded = plan()
        quick = attrs.evolve(
            loaded,
            response_types={**loaded.response_types, "psii": loaded.response_types["rapid_psii"]},
        )
        governance = Governance(plan=quick, rules=load_national_rules())

        clock = response_clock({"started_on": "2026-01-05"}, governance)

        assert clock is not None
        assert (clock.timescale_ends_on, clock.hard_cap_ends_on) == (
            date(2026, 2, 5),
            date(2026, 3, 5),
        )

    def test_an_unlisted_type_counts_on_the_plan_calendar(self) -> None:
        """A type the plan does not list gets the defaults, counted on the plan's calendar."""
        scottish = plan(CalendarSettings(region=Region.SCOTLAND))
        governance = Governance(plan=scottish, rules=load_national_rules())
        facts: dict[str, FactValue] = {"started_on": "2026-01-05", "response_type": "unlisted"}

        clock = response_clock(facts, governance)

        # 5 April 2026 is Easter Sunday; Easter Monday is a working day in Scotland.
        assert clock is not None
        assert clock.timescale_ends_on == date(2026, 4, 6)
        assert clock.calendar == scottish.working_calendar()

    def test_a_timescale_in_hours_ends_on_the_local_date_it_runs_out(self) -> None:
        """An hours timescale ends on the Europe/London date of its last instant."""
        clock = ResponseClock(
            started_on=date(2026, 1, 5), timescale=Timescale(48, TimeUnit.HOURS), hard_cap=None
        )

        assert (clock.timescale_ends_on, clock.hard_cap_ends_on) == (date(2026, 1, 7), None)
        assert clock.within_hard_cap(date(2030, 1, 1))

    def test_no_clock_before_the_start(self) -> None:
        """Without ``started_on`` there is no clock and no target."""
        assert response_clock({"target_date": "2026-02-01"}) is None
        assert current_target_date({}) is None
