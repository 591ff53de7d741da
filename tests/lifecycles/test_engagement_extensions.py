"""Engagement and timescale of a PSII, driven through the real engine with a manual clock.

Every test cites the rule it checks: psirf-rules §4.1 (start, "ordinarily one to three
months", "no longer than six months", timeframe and extensions agreed with those
affected), §5 rule 5 (extension approver is not the lead), §5 rule 7 (overrides by the
executive lead with a reason, visible to oversight), §6 stage 4 (terms of reference and an
agreed target date), §7.1 (involvement is voluntary) and §9.1 (the ``extension`` event and
``psii_max``). The extension steps themselves are in ``test_extensions.py``.

The dates are typed out by hand: the manual clock starts on Monday 5 January 2026, so a
PSII whose lead is assigned that day has, without a plan, its timescale (3 months) end on
Tuesday 7 April 2026 (5 April is Easter Sunday and 6 April Easter Monday) and its hard cap
(6 months) on Monday 6 July 2026 (5 July is a Sunday), unless the plan says otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    Case,
    CaseNotFound,
    Command,
    DefinitionError,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidPayload,
    ReasonMissing,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
    decide,
)
from psirf_flow.domain import FactValue, SystemReader
from psirf_flow.policy import Plan, load_national_rules, load_plan
from psirf_flow.policy.calendars import Timescale, TimeUnit
from psirf_flow.policy.governance import Governance
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import GUARDS, LEARNING_RESPONSES, PSII, GuardInput, define
from psirf_flow.workflows.diagram import to_markdown_table
from psirf_flow.workflows.learning_response.engagement import current_target_date
from psirf_flow.workflows.spec import FieldKind, FieldSpec


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
OTHER_LEAD = Actor("lead-2", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENG = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)
# A lead who is also an executive lead: may lead, but never approve their own extension.
LEAD_EXEC = Actor("lead-9", [Role.LEARNING_RESPONSE_LEAD, Role.EXECUTIVE_LEAD], ORG)

START = date(2026, 1, 5)
TIMESCALE_END = "2026-04-07"
HARD_CAP_END = "2026-07-06"

OVERRIDE_RULE = "psirf.timescale.hard_cap_override@1"

BASE_PLAN = """
schema = 1

[plan]
id = "rx1-psirp"
version = "1.0"
organisation = "RX1"
effective_from = 2026-01-01
review_date = 2027-01-01

[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
"""


def plan_with(timescale: Timescale | None = None, hard_cap: Timescale | None = None) -> Plan:
    """The test plan with its PSII response type's ``timescale`` and ``hard_cap`` set."""
    plan = load_plan(BASE_PLAN, source="test-plan")
    psii_type = attrs.evolve(plan.response_types["psii"], timescale=timescale, hard_cap=hard_cap)
    return attrs.evolve(plan, response_types={**plan.response_types, "psii": psii_type})


def days(n: int) -> Timescale:
    """``n`` calendar days."""
    return Timescale(n, TimeUnit.CALENDAR_DAYS)


def agreement(target: str, family: str | None = "agreed") -> dict[str, object]:
    """An ``agree_timescale`` payload (without the family's position when ``family`` is None)."""
    payload: dict[str, object] = {"target_date": target}
    if family is not None:
        payload["family_timescale_agreement"] = family
    return payload


def override(
    target: str, reason: str | None = "external_process", family: str | None = "agreed"
) -> dict[str, object]:
    """An ``override_hard_cap`` payload; ``None`` leaves a field out."""
    payload: dict[str, object] = {"target_date": target, "extension_reason": "external_process"}
    if family is not None:
        payload["family_extension_agreement"] = family
    if reason is not None:
        payload["hard_cap_override_reason"] = reason
    return payload


class Driver:
    """Opens PSIIs and fires commands through the engine on a manual clock."""

    def __init__(self) -> None:
        self.clock = ManualClock()
        counter = itertools.count(1)
        self.engine = Engine(
            InMemoryStore(), clock=self.clock, new_id=lambda: f"case-{next(counter):04d}"
        )

    def started(
        self,
        *,
        plan: Plan | None = None,
        lead: Actor = LEAD,
        after_days: int = 0,
        workflow: str = "psii",
    ) -> str:
        """Open a case (not facilitated) and assign its lead ``after_days`` later; return its id.

        With ``plan``, the engine runs under it (its PSII timescale and hard cap apply).
        """
        if plan is not None:
            self.engine = Engine(
                InMemoryStore(), clock=self.clock, new_id=lambda: "case-0001", plan=plan
            )
        opened = self.engine.open(
            workflow, actor=PSS, payload={"incident_ids": ["INC-1", "INC-2"]}
        ).case
        self.clock.advance(timedelta(days=after_days))
        self.fire(opened.id, "assign_lead", PSS, {"lead_id": lead.id, "engagement_lead_id": ENG.id})
        return opened.id

    def fire(
        self,
        case_id: str,
        trigger: str,
        actor: Actor,
        payload: Mapping[str, object] | None = None,
    ) -> Case:
        """Fire ``trigger`` and return the case after it."""
        return self.engine.fire(case_id, trigger, actor=actor, payload=payload).case

    def extend(self, case_id: str, target: str, family: str = "agreed") -> Case:
        """Request an extension to ``target``, record the family's position and approve it."""
        self.fire(
            case_id,
            "request_extension",
            LEAD,
            {"requested_target_date": target, "extension_reason": "external_process"},
        )
        self.fire(case_id, "record_family_position", ENG, {"family_extension_position": family})
        return self.fire(case_id, "approve_extension", EXEC, {"target_date": target})

    def day(self, n: int) -> None:
        """Move the clock to ``n`` days after 5 January 2026, 09:00 UTC."""
        self.clock.set(datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=n))

    def rules_of(self, case_id: str) -> tuple[str, ...]:
        """The rule references of the case's latest audit entry."""
        return self.engine.history(case_id, reader=READER)[-1].rules


@pytest.fixture(name="driver")
def _driver() -> Driver:
    """A fresh engine, store and manual clock."""
    return Driver()


def codes(refused: pytest.ExceptionInfo[GuardFailed]) -> tuple[str, ...]:
    """The reason codes of every failed guard of a refusal."""
    return tuple(r.reason_code for r in refused.value.failures)


class TestClock:
    """Psirf-rules §4.1 and §9.1: a PSII's clock starts when its lead is assigned."""

    def test_assigning_the_lead_stamps_the_start_date(self, driver: Driver) -> None:
        """Psirf-rules §9.1: ``assign_lead`` records the decision's date as ``started_on``."""
        case_id = driver.started(after_days=3)

        case = driver.engine.get(case_id, reader=READER)
        opening = driver.engine.history(case_id, reader=READER)[0]

        assert case.facts["started_on"] == "2026-01-08"
        assert "started_on" not in opening.data

    def test_the_reference_shows_the_stamp(self) -> None:
        """Psirf-rules §9.1: the generated reference says assigning the lead starts the clock."""
        table = to_markdown_table(PSII)
        row = next(line for line in table.splitlines() if "**`assign_lead`**" in line)

        assert "records the date as `started_on`" in row

    def test_no_clock_settings_are_kept_on_the_case(self, driver: Driver) -> None:
        """Psirf-rules §4.1: the timescale comes from the plan, so the case carries no days."""
        case_id = driver.started()

        facts = driver.engine.get(case_id, reader=READER).facts

        assert {"timescale_days", "hard_cap_days"}.isdisjoint(facts)
        assert PSII.opening.preset == {}

    @pytest.mark.parametrize(
        "settings",
        [
            {"timescale_days": 365},
            {"hard_cap_days": 3650},
            {"timescale_days": 400, "hard_cap_days": 4000},
            {"timescale_days": -1},
            {"hard_cap_days": "six months"},
        ],
        ids=["long-timescale", "long-cap", "both", "negative", "words"],
    )
    def test_opener_cannot_set_the_timescale(
        self, driver: Driver, settings: Mapping[str, object]
    ) -> None:
        """Psirf-rules §4.1, §5 rule 5: an opener's timescale or hard cap is refused, unwritten."""
        with pytest.raises(InvalidPayload) as refused:
            driver.engine.open(
                "psii", actor=PSS, case_id="P-1", payload={"incident_ids": ["INC-1"], **settings}
            )

        assert all("is not a field of this step" in p for p in refused.value.problems)
        assert len(refused.value.problems) == len(settings)
        with pytest.raises(CaseNotFound):
            driver.engine.store.load("P-1")
        assert tuple(driver.engine.store.history("P-1")) == ()

    def test_documented_ways_still_move_the_target(self, driver: Driver) -> None:
        """Psirf-rules §4.1, §5 rule 5: agree, extend and override move the target date."""
        case_id = driver.started()

        agreed = driver.fire(case_id, "agree_timescale", LEAD, agreement("2026-03-01"))
        extended = driver.extend(case_id, "2026-06-01")
        beyond = driver.fire(case_id, "override_hard_cap", EXEC, override("2026-09-01"))

        assert [c.facts["target_date"] for c in (agreed, extended, beyond)] == [
            "2026-03-01",
            "2026-06-01",
            "2026-09-01",
        ]
        assert driver.rules_of(case_id)[0] == OVERRIDE_RULE

    def test_a_preset_fact_cannot_be_an_opening_field(self) -> None:
        """A definition may not both preset a fact and let the opener give it."""
        opening = PSII.opening
        clash = attrs.evolve(
            opening,
            fields=(*opening.fields, FieldSpec("hard_cap_days", FieldKind.COUNT)),
            preset={"hard_cap_days": 183},
        )

        with pytest.raises(DefinitionError) as refused:
            define(
                name="clash",
                version="1",
                family="learning_response",
                title="Clash",
                states=PSII.states,
                initial=PSII.initial,
                final_states=tuple(PSII.final_states),
                opening=clash,
                transitions=list(PSII.transitions.values()),
            )

        assert refused.value.problems == (
            "opening: preset fact 'hard_cap_days' is also an opening field",
        )

    @pytest.mark.parametrize(
        "workflow",
        ["after_action_review", "swarm_huddle", "hot_debrief", "mdt_review", "thematic_review"],
    )
    def test_other_responses_have_no_national_clock(self, workflow: str) -> None:
        """Psirf-rules §4.1: no national clock for non-PSII responses, so no timescale steps."""
        definition = LEARNING_RESPONSES[workflow]

        assert {
            "agree_timescale",
            "request_extension",
            "record_family_position",
            "approve_extension",
            "refuse_extension",
            "override_hard_cap",
        }.isdisjoint(definition.triggers)
        assert all(spec.stamp_fact is None for spec in definition.transitions.values())
        assert {"timescale_days", "hard_cap_days"}.isdisjoint(
            f.name for f in definition.opening.fields
        )


class TestInvolvementInTermsOfReference:
    """Psirf-rules §6 stage 4 and §7.1: a PSII records the family's part in its terms."""

    @pytest.mark.parametrize("involvement", ["involved", "declined", "uncontactable"])
    def test_each_outcome_is_a_complete_record(self, driver: Driver, involvement: str) -> None:
        """Psirf-rules §7.1: involved, declined and uncontactable are each accepted."""
        case_id = driver.started()

        case = driver.fire(
            case_id,
            "record_terms_of_reference",
            LEAD,
            {"terms_of_reference_ref": "DOC-TOR-1", "family_involvement_in_terms": involvement},
        )

        assert case.facts["family_involvement_in_terms"] == involvement

    @pytest.mark.parametrize(
        ("involvement", "problem"),
        [
            (None, "'family_involvement_in_terms' is required"),
            ("maybe", "'family_involvement_in_terms' must be one of"),
        ],
        ids=["missing", "unknown"],
    )
    def test_psii_terms_need_the_family_position(
        self, driver: Driver, involvement: str | None, problem: str
    ) -> None:
        """Psirf-rules §6 stage 4: PSII terms of reference without the family's part are refused."""
        case_id = driver.started()
        payload: dict[str, object] = {"terms_of_reference_ref": "DOC-TOR-1"}
        if involvement is not None:
            payload["family_involvement_in_terms"] = involvement

        with pytest.raises(InvalidPayload, match=problem):
            driver.fire(case_id, "record_terms_of_reference", LEAD, payload)

    def test_thematic_review_terms_do_not_ask_for_a_family(self, driver: Driver) -> None:
        """Psirf-rules §2: a thematic review spans incidents, so its terms name no family."""
        case_id = driver.started(workflow="thematic_review")

        with pytest.raises(InvalidPayload, match="is not a field of this step"):
            driver.fire(
                case_id,
                "record_terms_of_reference",
                LEAD,
                {"terms_of_reference_ref": "DOC-TOR-1", "family_involvement_in_terms": "involved"},
            )


#: Agreeing a target: (plan, (day the lead is assigned, day the timescale is agreed), target,
#: expected codes or "ok"). ``None``: no plan (3 and 6 months under England and Wales).
AGREEMENTS = [
    pytest.param(None, (0, 0), TIMESCALE_END, "ok", id="last-day-of-timescale-after-easter"),
    pytest.param(None, (0, 0), "2026-01-05", "ok", id="start-day"),
    pytest.param(
        None, (0, 0), "2026-04-08", ("target_beyond_timescale",), id="day-after-timescale"
    ),
    pytest.param(None, (0, 0), "2026-07-07", ("target_beyond_hard_cap",), id="beyond-hard-cap"),
    pytest.param(None, (0, 60), TIMESCALE_END, "ok", id="counted-from-start-not-agreement"),
    pytest.param(None, (0, 60), "2026-03-05", ("target_in_past",), id="already-past"),
    pytest.param(
        None, (0, 95), "2026-04-10", ("target_beyond_timescale",), id="late-agreement-extension"
    ),
    # Issue 10: started Monday 16 March 2026, 3 months is Tuesday 16 June, not 90 days (14 June).
    pytest.param(None, (70, 70), "2026-06-16", "ok", id="three-months-not-ninety-days"),
    pytest.param(
        None, (70, 70), "2026-06-17", ("target_beyond_timescale",), id="three-months-and-a-day"
    ),
    pytest.param(plan_with(days(30)), (0, 0), "2026-02-04", "ok", id="plan-30-days-last-day"),
    pytest.param(
        plan_with(days(30)), (0, 0), "2026-02-05", ("target_beyond_timescale",), id="plan-30-days"
    ),
    # 20 working days from Monday 5 January 2026 is Monday 2 February.
    pytest.param(
        plan_with(Timescale(20, TimeUnit.WORKING_DAYS)), (0, 0), "2026-02-02", "ok", id="wd-last"
    ),
    pytest.param(
        plan_with(Timescale(20, TimeUnit.WORKING_DAYS)),
        (0, 0),
        "2026-02-03",
        ("target_beyond_timescale",),
        id="wd-beyond",
    ),
    # A plan's PSII without a timescale uses the default 3 months (and its 6-month cap).
    pytest.param(plan_with(), (0, 0), TIMESCALE_END, "ok", id="plan-without-timescale"),
    # A timescale longer than the hard cap is held to the hard cap (100 days: 15 April).
    pytest.param(plan_with(days(120), days(100)), (0, 0), "2026-04-15", "ok", id="capped-last"),
    pytest.param(
        plan_with(days(120), days(100)),
        (0, 0),
        "2026-04-16",
        ("target_beyond_hard_cap",),
        id="capped-beyond",
    ),
]


class TestAgreeTimescale:
    """Psirf-rules §4.1 and §6 stage 4: the lead records the target agreed with the family."""

    @pytest.mark.parametrize(("plan", "when", "target", "expected"), AGREEMENTS)
    def test_target_date_checks(
        self,
        driver: Driver,
        plan: Plan | None,
        when: tuple[int, int],
        target: str,
        expected: str | tuple[str, ...],
    ) -> None:
        """Psirf-rules §4.1: a target within the plan's timescale from the start, not past."""
        start, day = when
        case_id = driver.started(plan=plan, after_days=start)
        driver.day(day)

        if expected == "ok":
            case = driver.fire(case_id, "agree_timescale", LEAD, agreement(target))
            assert case.facts["target_date"] == target
            assert driver.rules_of(case_id) == ("psirf.timescale.agreed_with_family@1",)
            return
        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "agree_timescale", LEAD, agreement(target))
        assert codes(refused) == expected

    @pytest.mark.parametrize("family", ["agreed", "declined", "uncontactable"])
    def test_family_position_is_recorded(self, driver: Driver, family: str) -> None:
        """Psirf-rules §4.1, §7.1: agreement, declining or no contact is each a full record."""
        case_id = driver.started()

        case = driver.fire(case_id, "agree_timescale", LEAD, agreement("2026-03-31", family))

        assert case.facts["family_timescale_agreement"] == family

    def test_family_position_is_required(self, driver: Driver) -> None:
        """Psirf-rules §4.1: a timescale with no record of the family's position is refused."""
        case_id = driver.started()

        with pytest.raises(InvalidPayload, match="'family_timescale_agreement' is required"):
            driver.fire(case_id, "agree_timescale", LEAD, agreement("2026-03-31", None))

    def test_only_the_assigned_lead_agrees_it(self, driver: Driver) -> None:
        """Psirf-rules §5: another learning response lead cannot agree this case's timescale."""
        case_id = driver.started()

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "agree_timescale", OTHER_LEAD, agreement("2026-03-31"))

        assert codes(refused) == ("actor_not_assigned_lead",)

    def test_not_after_analysis(self, driver: Driver) -> None:
        """Psirf-rules §6 stage 4: the timescale is agreed while planning or gathering."""
        case_id = driver.started()
        driver.fire(case_id, "begin_gathering", LEAD)
        driver.fire(case_id, "complete_analysis", LEAD)

        with pytest.raises(TransitionNotAllowed):
            driver.fire(case_id, "agree_timescale", LEAD, agreement("2026-03-31"))

    def test_agreeing_afresh_supersedes_an_extension(self, driver: Driver) -> None:
        """Psirf-rules §4.1: a new agreed target replaces the extension's date and records."""
        case_id = driver.started()
        driver.extend(case_id, "2026-05-20")

        case = driver.fire(case_id, "agree_timescale", LEAD, agreement("2026-04-01"))

        assert case.facts["target_date"] == "2026-04-01"
        assert "extension_approved_by" not in case.facts
        assert "family_extension_position" not in case.facts


class TestHardCapOverride:
    """Psirf-rules §4.1 ("no longer than six months") and §5 rule 7: executive override."""

    def test_accepted_with_executive_override_and_reason(self, driver: Driver) -> None:
        """Psirf-rules §5 rule 7: beyond the cap with the executive lead's override and reason."""
        case_id = driver.started()
        driver.day(200)  # 24 July 2026: past the hard cap

        with pytest.raises(GuardFailed) as refused:
            driver.fire(
                case_id,
                "request_extension",
                LEAD,
                {"requested_target_date": "2026-08-31", "extension_reason": "complexity"},
            )
        case = driver.fire(case_id, "override_hard_cap", EXEC, override("2026-08-31"))

        assert codes(refused) == ("hard_cap_exceeded",)
        assert case.facts["target_date"] == "2026-08-31"
        assert case.facts["hard_cap_override_reason"] == "external_process"
        assert case.facts["hard_cap_override_by"] == EXEC.id
        assert driver.rules_of(case_id) == (OVERRIDE_RULE, "psirf.sod.extension_approver@1")

    def test_refused_without_a_reason(self, driver: Driver) -> None:
        """Psirf-rules §5 rule 7: an override without a reason is refused as ReasonMissing."""
        case_id = driver.started()

        with pytest.raises(ReasonMissing) as refused:
            driver.fire(case_id, "override_hard_cap", EXEC, override("2026-08-31", reason=None))

        assert refused.value.code == "PSF210"
        assert refused.value.reason_code == "reason_missing"
        assert codes(refused) == ("reason_missing",)

    def test_refused_without_the_family_position(self, driver: Driver) -> None:
        """Psirf-rules §4.1, §5 rule 5: an override is an extension, so the family is asked."""
        case_id = driver.started()

        with pytest.raises(InvalidPayload, match="'family_extension_agreement' is required"):
            driver.fire(case_id, "override_hard_cap", EXEC, override("2026-08-31", family=None))

    def test_refused_within_the_cap(self, driver: Driver) -> None:
        """Psirf-rules §5 rule 7: an override is only for going beyond the cap, never within."""
        case_id = driver.started()

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "override_hard_cap", EXEC, override(HARD_CAP_END))

        assert codes(refused) == ("hard_cap_not_exceeded",)

    def test_refused_when_the_executive_is_the_lead(self, driver: Driver) -> None:
        """Psirf-rules §5 rule 5: the lead never approves going beyond their own cap."""
        case_id = driver.started(lead=LEAD_EXEC)

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "override_hard_cap", LEAD_EXEC, override("2026-08-31"))

        assert codes(refused) == ("extension_approver_is_lead",)

    @pytest.mark.parametrize("actor", [LEAD, PSS], ids=["lead", "specialist"])
    def test_only_the_executive_lead_overrides(self, driver: Driver, actor: Actor) -> None:
        """Psirf-rules §5 rule 7: only the executive lead may override the hard cap."""
        case_id = driver.started()

        with pytest.raises(RoleNotPermitted):
            driver.fire(case_id, "override_hard_cap", actor, override("2026-08-31"))

    def test_a_timescale_longer_than_the_cap_is_held_to_the_cap(self, driver: Driver) -> None:
        """Psirf-rules §4.1: the hard cap bounds the timescale (100 days: 15 April 2026)."""
        plan = plan_with(days(120), days(100))
        governance = Governance(plan=plan, rules=load_national_rules())
        case_id = driver.started(plan=plan)

        case = driver.fire(case_id, "override_hard_cap", EXEC, override("2026-04-20"))
        unset = {**case.facts, "target_date": "?"}

        assert case.facts["target_date"] == "2026-04-20"
        assert current_target_date(case.facts, governance) == date(2026, 4, 20)
        assert current_target_date(unset, governance) == date(2026, 4, 15)
        assert current_target_date(unset) == date(2026, 4, 7)

    def test_every_override_is_found_by_its_rule(self, driver: Driver) -> None:
        """Psirf-rules §5 rule 7: oversight finds overrides by rule reference alone."""
        case_id = driver.started()
        driver.extend(case_id, "2026-06-01")
        driver.fire(case_id, "override_hard_cap", EXEC, override("2026-08-31"))
        driver.fire(case_id, "override_hard_cap", EXEC, override("2026-10-01", "family_request"))

        history = driver.engine.history(case_id, reader=READER)
        overrides = [e for e in history if OVERRIDE_RULE in e.rules]
        extensions = [e for e in history if "psirf.timescale.extension@1" in e.rules]

        assert [e.trigger for e in overrides] == ["override_hard_cap", "override_hard_cap"]
        assert [e.data["target_date"] for e in overrides] == ["2026-08-31", "2026-10-01"]
        assert [e.trigger for e in extensions] == ["approve_extension"]


class TestTimeIsAnArgument:
    """The decision core stays pure: guards judge dates by the ``now`` they are given."""

    def test_options_defer_the_date_checks(self, driver: Driver) -> None:
        """Psirf-rules §4.1: date checks need the step's dates, so they are judged on firing."""
        case_id = driver.started()
        before = {o.trigger: o for o in driver.engine.options(case_id, EXEC)}
        driver.fire(
            case_id,
            "request_extension",
            LEAD,
            {"requested_target_date": "2026-05-01", "extension_reason": "complexity"},
        )
        driver.fire(case_id, "record_family_position", ENG, {"family_extension_position": "agreed"})

        options = {o.trigger: o for o in driver.engine.options(case_id, EXEC)}

        assert before["approve_extension"].reason_codes == (
            "no_extension_requested",
            "family_position_missing",
        )
        assert options["approve_extension"].allowed
        assert options["approve_extension"].checked_on_fire == (
            "extension_within_request",
            "extension_later_than_target",
            "extension_within_hard_cap",
            "target_not_in_past",
            "family_disagreement_explained",
        )

    def test_options_tell_the_lead_they_cannot_extend(self, driver: Driver) -> None:
        """Psirf-rules §5 rule 5: the lead-executive is told why before trying."""
        case_id = driver.started(lead=LEAD_EXEC)
        driver.fire(
            case_id,
            "request_extension",
            LEAD_EXEC,
            {"requested_target_date": "2026-05-01", "extension_reason": "complexity"},
        )

        options = {o.trigger: o for o in driver.engine.options(case_id, LEAD_EXEC)}

        assert options["approve_extension"].reason_codes == (
            "family_position_missing",
            "extension_approver_is_lead",
        )
        assert options["refuse_extension"].reason_codes == ("extension_approver_is_lead",)

    @pytest.mark.parametrize(
        "guard",
        [
            "target_within_timescale",
            "extension_later_than_target",
            "extension_within_hard_cap",
            "override_beyond_hard_cap",
        ],
    )
    @pytest.mark.parametrize(
        ("facts", "expected"),
        [
            ({"target_date": "2026-03-01"}, "clock_not_started"),
            ({"started_on": "2026-01-05"}, "target_date_missing"),
            ({"started_on": "5 January", "target_date": "2026-03-01"}, "clock_not_started"),
        ],
        ids=["no-start", "no-target", "start-not-a-date"],
    )
    def test_date_guards_refuse_without_their_dates(
        self, guard: str, facts: Mapping[str, FactValue], expected: str
    ) -> None:
        """Psirf-rules §4.1: no start or no target date is a refusal, never a silent pass."""
        guard_input = GuardInput(
            case=None,
            trigger="t",
            actor=EXEC,
            role=Role.EXECUTIVE_LEAD,
            facts=facts,
            payload={},
            now=datetime(2026, 2, 1, tzinfo=UTC),
        )

        result = GUARDS[guard].check(guard_input)

        assert (result.ok, result.reason_code) == (False, expected)

    def test_a_guard_without_a_time_refuses(self) -> None:
        """Psirf-rules §4.1: with no decision time, "not in the past" cannot pass."""
        guard_input = GuardInput(
            case=None,
            trigger="agree_timescale",
            actor=LEAD,
            role=Role.LEARNING_RESPONSE_LEAD,
            facts={"target_date": "2099-01-01"},
            payload={"target_date": "2099-01-01"},
        )

        result = GUARDS["target_not_in_past"].check(guard_input)

        assert (result.ok, result.reason_code) == (False, "decision_time_unknown")


def _planning_case(facts: Mapping[str, FactValue]) -> Case:
    """A PSII in planning, started on 5 January 2026 and led by ``lead-1``."""
    opened = datetime(2026, 1, 5, 9, tzinfo=UTC)
    return Case(
        id="case-prop",
        workflow="psii",
        workflow_version=PSII.version,
        organisation=ORG,
        state="planning",
        version=3,
        facts={
            "incident_ids": ("INC-1",),
            "lead_id": "lead-1",
            "engagement_lead_id": "eng-1",
            "started_on": START.isoformat(),
            **facts,
        },
        opened_at=opened,
        updated_at=opened,
        head_hash="ef" * 32,
    )


#: The national rule pack, for governance built by hand in the properties below.
RULES = load_national_rules()


class TestProperties:
    """Invariants of the date rules over any start, setting, decision day and target."""

    @given(
        timescale=st.integers(min_value=0, max_value=400),
        cap=st.integers(min_value=0, max_value=400),
        today=st.integers(min_value=0, max_value=450),
        target=st.integers(min_value=-10, max_value=450),
    )
    def test_agreement_is_accepted_exactly_within_the_window(
        self, timescale: int, cap: int, today: int, target: int
    ) -> None:
        """Psirf-rules §4.1: accepted iff today <= target <= start + min(timescale, cap)."""
        governance = Governance(plan=plan_with(days(timescale), days(cap)), rules=RULES)
        case = _planning_case({})
        day = START + timedelta(days=target)
        now = datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=today)
        command = Command("agree_timescale", LEAD, agreement(day.isoformat()))
        expected = today <= target <= min(timescale, cap)

        try:
            decided = decide(PSII, case, command, now=now, governance=governance)
        except GuardFailed:
            accepted = False
        else:
            accepted = decided.case.facts["target_date"] == day.isoformat()

        assert accepted is expected

    @given(
        agreed=st.integers(min_value=0, max_value=90),
        today=st.integers(min_value=0, max_value=300),
        target=st.integers(min_value=0, max_value=300),
    )
    def test_extension_or_override_never_both(self, agreed: int, today: int, target: int) -> None:
        """Psirf-rules §4.1: a later, future date is requested within the cap, else overridden."""
        case = _planning_case({"target_date": (START + timedelta(days=agreed)).isoformat()})
        now = datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=today)
        day = (START + timedelta(days=target)).isoformat()
        accepted = set()
        for trigger, actor, payload in (
            (
                "request_extension",
                LEAD,
                {"requested_target_date": day, "extension_reason": "complexity"},
            ),
            ("override_hard_cap", EXEC, override(day)),
        ):
            try:
                decide(PSII, case, Command(trigger, actor, payload), now=now)
            except GuardFailed:
                continue
            accepted.add(trigger)

        # Without a plan the hard cap ends on Monday 6 July 2026, 182 days after the start.
        if target <= agreed or target < today:
            assert accepted == set()
        elif target <= 182:
            assert accepted == {"request_extension"}
        else:
            assert accepted == {"override_hard_cap"}
