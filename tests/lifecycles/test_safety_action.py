"""The safety-action lifecycle driven through the real engine (psirf-rules §9.2, §5 SoD 6).

Every test cites the rule it checks. Safety actions are NAT-G/INF in psirf-rules (the
safety action development guide could not be read in full), so the citations name the
section of psirf-rules that proposes each rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from psirf_flow import (
    Actor,
    Case,
    DefinitionRegistry,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidPayload,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.domain import SystemReader
from psirf_flow.testing import ManualClock, engine_state_machine
from psirf_flow.workflows import SAFETY_ACTION


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
OWNER = Actor("owner-1", [Role.ACTION_OWNER], ORG)
OTHER_OWNER = Actor("owner-2", [Role.ACTION_OWNER], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
SENIOR = Actor("senior-1", [Role.SENIOR_LEADER], ORG)
# The owner who is also a patient safety specialist: may verify others' actions, not their own.
OWNER_PSS = Actor("owner-1", [Role.ACTION_OWNER, Role.PATIENT_SAFETY_SPECIALIST], ORG)

PLAN = {
    "owner_id": "owner-1",
    "measure_ref": "MEAS-1",
    "baseline_ref": "BASE-1",
    "target_ref": "TARGET-1",
    "due_on": "2026-06-30",
}
OPENING = {"learning_response_ids": ["LR-1"], "area_for_improvement_ids": ["AFI-1", "AFI-2"]}
MONITORING = {"monitoring_until": "2026-09-30", "data_source_ref": "DATA-1"}
EFFECTIVE = {"effectiveness_review_ref": "REV-1", "target_met": True}
NOT_EFFECTIVE = {"effectiveness_review_ref": "REV-1", "not_effective_reason": "target_not_met"}
REVISION = {"revision_ref": "PLAN-2", "due_on": "2026-12-31", "target_ref": "TARGET-2"}
TIER = {"decision_tier": "executive", "decision_ref": "DEC-1", "risk_register_ref": "RR-7"}
DEFER = {**TIER, "defer_reason": "resources", "review_on": "2026-08-01"}

#: The main path, and the step (trigger, actor, payload) that reaches each state.
PATH: tuple[tuple[str, str, Actor, Mapping[str, object]], ...] = (
    ("agreed", "agree", OWNER, {}),
    ("in_progress", "start", OWNER, {}),
    ("implemented", "mark_implemented", OWNER, {}),
    ("monitoring", "begin_monitoring", OWNER, MONITORING),
    ("not_effective", "confirm_not_effective", PSS, NOT_EFFECTIVE),
)
ACTIVE = ("proposed", *(state for state, *_ in PATH))


class Driver:
    """Opens safety actions and moves them through the engine, an hour per step."""

    def __init__(self, engine: Engine, clock: ManualClock) -> None:
        self.engine = engine
        self.clock = clock

    def open(self, **payload: object) -> str:
        """Open a proposed action (with the full plan unless overridden) and return its id."""
        opened = self.engine.open(
            "safety_action", actor=LEAD, payload={**OPENING, **PLAN, **payload}
        )
        return opened.case.id

    def fire(
        self, case_id: str, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None
    ) -> Case:
        """Fire one trigger an hour after the previous one."""
        self.clock.advance(timedelta(hours=1))
        return self.engine.fire(case_id, trigger, actor=actor, payload=payload).case

    def at(self, state: str) -> str:
        """Open an action and move it along the main path to ``state``."""
        case_id = self.open()
        for reached, trigger, actor, payload in PATH:
            if state == "proposed":
                break
            if trigger == "mark_implemented":
                self.fire(case_id, "attach_evidence", OWNER, {"evidence_ref": "EVID-1"})
            self.fire(case_id, trigger, actor, payload)
            if reached == state:
                break
        assert self.engine.get(case_id, reader=READER).state == state
        return case_id


@pytest.fixture(name="driver")
def _driver(clock: ManualClock) -> Driver:
    return Driver(Engine(InMemoryStore(), clock=clock), clock)


class TestMainPath:
    """Psirf-rules §9.2: proposed, agreed, in progress, implemented, monitoring, closed."""

    def test_full_path_to_closed_effective(self, driver: Driver) -> None:
        """Psirf-rules §9.2: an effective action closes with a verified audit trail."""
        case_id = driver.at("monitoring")

        case = driver.fire(case_id, "confirm_effective", PSS, EFFECTIVE)

        assert case.state == "closed_effective"
        assert case.facts["verified_by"] == "pss-1"
        assert case.facts["agreed_by"] == "owner-1"
        assert [e.to_state for e in driver.engine.history(case_id, reader=READER)] == [
            "proposed",
            "agreed",
            "in_progress",
            "in_progress",
            "implemented",
            "monitoring",
            "closed_effective",
        ]
        assert driver.engine.verify(case_id, reader=READER).ok

    def test_plan_may_be_completed_after_opening(self, driver: Driver) -> None:
        """Psirf-rules §9.2: owner, measure and due date may be settled while proposed."""
        case_id = driver.engine.open("safety_action", actor=PSS, payload=OPENING).case.id

        driver.fire(case_id, "update_proposal", LEAD, PLAN)
        case = driver.fire(case_id, "agree", OWNER)

        assert case.state == "agreed"

    def test_monitoring_needs_period_and_data_source(self, driver: Driver) -> None:
        """Psirf-rules §9.2: monitoring starts with a measurement period and data source."""
        case_id = driver.at("implemented")

        with pytest.raises(InvalidPayload, match="data_source_ref"):
            driver.fire(case_id, "begin_monitoring", OWNER, {"monitoring_until": "2026-09-30"})


class TestOpening:
    """Psirf-rules §9.2: an action is linked to the areas for improvement of a response."""

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            ({"area_for_improvement_ids": []}, "areas_for_improvement_not_linked"),
            ({"learning_response_ids": []}, "learning_response_not_linked"),
        ],
        ids=["no-areas", "no-learning-response"],
    )
    def test_links_are_required(
        self, driver: Driver, payload: dict[str, object], code: str
    ) -> None:
        """Psirf-rules §9.2: linked to ≥1 area for improvement of a learning response."""
        with pytest.raises(GuardFailed) as refused:
            driver.open(**payload)

        assert refused.value.reason_code == code

    def test_link_fields_are_required(self, driver: Driver) -> None:
        """Psirf-rules §9.2: the link fields must be present at all."""
        with pytest.raises(InvalidPayload, match="area_for_improvement_ids"):
            driver.engine.open(
                "safety_action", actor=LEAD, payload={"learning_response_ids": ["LR-1"]}
            )

    @pytest.mark.parametrize("actor", [OWNER, EXEC, SENIOR], ids=["owner", "exec", "senior"])
    def test_proposed_by_lead_or_specialist(self, driver: Driver, actor: Actor) -> None:
        """Psirf-rules §6 stage 6: actions are drafted from the learning response."""
        with pytest.raises(RoleNotPermitted):
            driver.engine.open("safety_action", actor=actor, payload=OPENING)


class TestAgreement:
    """Psirf-rules §9.2: owner accepted, measurable and time-bound before agreement."""

    @pytest.mark.parametrize(
        ("missing", "code"),
        [
            ("measure_ref", "action_not_measurable"),
            ("baseline_ref", "action_not_measurable"),
            ("target_ref", "action_not_measurable"),
            ("due_on", "action_not_time_bound"),
            ("owner_id", "actor_not_action_owner"),
        ],
    )
    def test_each_requirement_is_checked(self, driver: Driver, missing: str, code: str) -> None:
        """Psirf-rules §9.2: an action lacking one requirement is not agreed, with its code."""
        case_id = driver.engine.open(
            "safety_action",
            actor=LEAD,
            payload={**OPENING, **{k: v for k, v in PLAN.items() if k != missing}},
        ).case.id

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "agree", OWNER)

        assert [r.reason_code for r in refused.value.failures] == [code]
        if code == "action_not_measurable":
            assert missing.removesuffix("_ref") in str(refused.value)

    def test_everything_missing_is_listed(self, driver: Driver) -> None:
        """Psirf-rules §9.2: every unmet requirement is reported at once."""
        case_id = driver.engine.open("safety_action", actor=LEAD, payload=OPENING).case.id

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "agree", OWNER)

        assert [r.reason_code for r in refused.value.failures] == [
            "actor_not_action_owner",
            "action_not_measurable",
            "action_not_time_bound",
        ]

    def test_another_owner_cannot_accept(self, driver: Driver) -> None:
        """Psirf-rules §9.2: the owner named in the proposal is the one who accepts."""
        case_id = driver.at("proposed")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "agree", OTHER_OWNER)

        assert refused.value.reason_code == "actor_not_action_owner"

    @pytest.mark.parametrize("actor", [LEAD, PSS, EXEC], ids=["lead", "pss", "exec"])
    def test_only_an_action_owner_agrees(self, driver: Driver, actor: Actor) -> None:
        """Psirf-rules §9.2: agreement is the owner's acceptance, not anyone else's."""
        case_id = driver.at("proposed")

        with pytest.raises(RoleNotPermitted):
            driver.fire(case_id, "agree", actor)

    def test_options_show_what_the_owner_still_needs(self, driver: Driver) -> None:
        """Psirf-rules §9.2: the owner sees why they cannot agree yet."""
        case_id = driver.open(measure_ref=None, due_on=None)

        options = {o.trigger: o for o in driver.engine.options(case_id, OWNER)}

        assert options["agree"].reason_codes == ("action_not_measurable", "action_not_time_bound")


class TestImplementation:
    """Psirf-rules §9.2: evidence before an action counts as implemented."""

    def test_evidence_is_required(self, driver: Driver) -> None:
        """Psirf-rules §9.2: IN_PROGRESS -> IMPLEMENTED needs evidence attached."""
        case_id = driver.at("in_progress")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "mark_implemented", OWNER)

        assert refused.value.reason_code == "implementation_evidence_missing"

    def test_only_the_owner_marks_it_implemented(self, driver: Driver) -> None:
        """Psirf-rules §9.2: the owner, not another owner, reports their action done."""
        case_id = driver.at("in_progress")
        driver.fire(case_id, "attach_evidence", PSS, {"evidence_ref": "EVID-9"})

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "mark_implemented", OTHER_OWNER)

        assert refused.value.reason_code == "actor_not_action_owner"


class TestVerification:
    """Psirf-rules §5 SoD 6: the verifier of effectiveness is never the action's owner."""

    @pytest.mark.parametrize(
        ("trigger", "payload"),
        [("confirm_effective", EFFECTIVE), ("confirm_not_effective", NOT_EFFECTIVE)],
        ids=["effective", "not-effective"],
    )
    def test_owner_cannot_verify(
        self, driver: Driver, trigger: str, payload: Mapping[str, object]
    ) -> None:
        """Psirf-rules §5 SoD 6: an owner holding a verifier role is still refused."""
        case_id = driver.at("monitoring")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, trigger, OWNER_PSS, payload)

        assert refused.value.reason_code == "verifier_is_owner"
        assert driver.engine.get(case_id, reader=READER).state == "monitoring"

    def test_target_must_be_met_to_close_as_effective(self, driver: Driver) -> None:
        """Psirf-rules §9.2: MONITORING -> EFFECTIVE when the data shows the target met."""
        case_id = driver.at("monitoring")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, "confirm_effective", SENIOR, {**EFFECTIVE, "target_met": False})

        assert refused.value.reason_code == "target_not_met"

    def test_action_owner_role_cannot_verify(self, driver: Driver) -> None:
        """Psirf-rules §9.2: only a specialist, senior leader or executive verifies."""
        case_id = driver.at("monitoring")

        with pytest.raises(RoleNotPermitted):
            driver.fire(case_id, "confirm_effective", OTHER_OWNER, EFFECTIVE)


class TestRevision:
    """Psirf-rules §9.2: not effective -> revised -> agreed, the revision linked to the old."""

    def test_revise_loop_to_closed_effective(self, driver: Driver) -> None:
        """Psirf-rules §9.2: a revised action goes round again and can then close."""
        case_id = driver.at("not_effective")

        revised = driver.fire(case_id, "revise", OWNER, REVISION)
        assert revised.state == "agreed"
        assert revised.facts["revision_ref"] == "PLAN-2"
        assert revised.facts["target_ref"] == "TARGET-2"
        assert "evidence_ref" not in revised.facts
        assert "verified_by" not in revised.facts

        driver.fire(case_id, "start", OWNER)
        with pytest.raises(GuardFailed):
            driver.fire(case_id, "mark_implemented", OWNER)
        driver.fire(case_id, "attach_evidence", OWNER, {"evidence_ref": "EVID-2"})
        driver.fire(case_id, "mark_implemented", OWNER)
        driver.fire(case_id, "begin_monitoring", OWNER, MONITORING)
        case = driver.fire(case_id, "confirm_effective", EXEC, EFFECTIVE)

        assert case.state == "closed_effective"
        reviews = [
            e
            for e in driver.engine.history(case_id, reader=READER)
            if e.trigger.startswith("confirm_")
        ]
        assert [e.actor_id for e in reviews] == ["pss-1", "exec-1"]
        assert driver.engine.verify(case_id, reader=READER).ok

    def test_revision_needs_its_link_and_due_date(self, driver: Driver) -> None:
        """Psirf-rules §9.2: the revision is linked and time-bound."""
        case_id = driver.at("not_effective")

        with pytest.raises(InvalidPayload, match="revision_ref"):
            driver.fire(case_id, "revise", OWNER, {"due_on": "2026-12-31"})

    @pytest.mark.parametrize("state", ["monitoring", "closed_effective"])
    def test_revise_only_after_not_effective(self, driver: Driver, state: str) -> None:
        """Psirf-rules §9.2: only an action found not effective is revised."""
        case_id = driver.at("monitoring")
        if state == "closed_effective":
            driver.fire(case_id, "confirm_effective", PSS, EFFECTIVE)

        with pytest.raises(TransitionNotAllowed):
            driver.fire(case_id, "revise", OWNER, REVISION)


class TestSideExits:
    """Psirf-rules §9.2: deferred, risk accepted and cancelled, approved above the owner."""

    @pytest.mark.parametrize("state", ACTIVE)
    def test_defer_and_resume_where_it_stopped(self, driver: Driver, state: str) -> None:
        """Psirf-rules §9.2: a deferred action resumes in the state it was deferred from."""
        case_id = driver.at(state)

        deferred = driver.fire(case_id, "defer", EXEC, DEFER)
        assert deferred.state == "deferred"
        assert deferred.facts["risk_register_ref"] == "RR-7"

        assert driver.fire(case_id, "resume", PSS).state == state

    @pytest.mark.parametrize("state", [*ACTIVE, "deferred"])
    def test_risk_accepted_from_anywhere_open(self, driver: Driver, state: str) -> None:
        """Psirf-rules §9.2: any open action may end with the risk accepted at exec tier."""
        case_id = driver.at("proposed" if state == "deferred" else state)
        if state == "deferred":
            driver.fire(case_id, "defer", EXEC, DEFER)

        case = driver.fire(case_id, "accept_risk", EXEC, TIER)

        assert case.state == "risk_accepted"
        assert case.facts["risk_accepted_by"] == "exec-1"

    @pytest.mark.parametrize(
        ("tier", "expected"),
        [("committee", "risk_accepted"), ("executive", "decision_tier_not_met")],
    )
    def test_specialist_records_only_a_committee_decision(
        self, driver: Driver, tier: str, expected: str
    ) -> None:
        """Psirf-rules §9.2: committee or executive tier; only the executive lead is the exec."""
        case_id = driver.at("in_progress")
        payload = {**TIER, "decision_tier": tier}

        try:
            outcome = driver.fire(case_id, "accept_risk", PSS, payload).state
        except GuardFailed as refused:
            outcome = refused.reason_code

        assert outcome == expected

    def test_risk_register_reference_is_required(self, driver: Driver) -> None:
        """Psirf-rules §9.2: accepting a risk links the risk register."""
        case_id = driver.at("agreed")
        payload = {k: v for k, v in TIER.items() if k != "risk_register_ref"}

        with pytest.raises(InvalidPayload, match="risk_register_ref"):
            driver.fire(case_id, "accept_risk", EXEC, payload)

    @pytest.mark.parametrize("state", [*ACTIVE, "deferred"])
    def test_cancel_with_reason_and_approver(self, driver: Driver, state: str) -> None:
        """Psirf-rules §9.2: any open action may be cancelled with a reason and an approver."""
        case_id = driver.at("proposed" if state == "deferred" else state)
        if state == "deferred":
            driver.fire(case_id, "defer", EXEC, DEFER)

        case = driver.fire(case_id, "cancel", SENIOR, {"cancel_reason": "duplicate"})

        assert case.state == "cancelled"
        assert case.facts["cancelled_by"] == "senior-1"

    @pytest.mark.parametrize(
        ("trigger", "payload"),
        [("cancel", {"cancel_reason": "duplicate"}), ("defer", DEFER), ("accept_risk", TIER)],
    )
    def test_owner_cannot_approve_their_own_exit(
        self, driver: Driver, trigger: str, payload: Mapping[str, object]
    ) -> None:
        """Psirf-rules §9.2 (INF): an owner does not approve dropping their own action."""
        case_id = driver.at("in_progress")

        with pytest.raises(GuardFailed) as refused:
            driver.fire(case_id, trigger, OWNER_PSS, payload)

        assert refused.value.reason_code == "approver_is_owner"

    @pytest.mark.parametrize("final", ["closed_effective", "risk_accepted", "cancelled"])
    def test_final_states_stay_final(self, driver: Driver, final: str) -> None:
        """Psirf-rules §9.2: a closed, accepted or cancelled action takes no further step."""
        case_id = driver.at("monitoring")
        steps = {
            "closed_effective": ("confirm_effective", EFFECTIVE),
            "risk_accepted": ("accept_risk", TIER),
            "cancelled": ("cancel", {"cancel_reason": "other"}),
        }
        trigger, payload = steps[final]
        driver.fire(case_id, trigger, EXEC, payload)

        with pytest.raises(TransitionNotAllowed):
            driver.fire(case_id, "defer", EXEC, DEFER)


class TestDoesNotBlockTheReport:
    """Psirf-rules §6 design note and §9.4: open safety actions never block the report."""

    def test_psii_closes_while_its_action_is_still_proposed(self, driver: Driver) -> None:
        """Psirf-rules §6: a PSII is approved and closed while its safety action is open."""
        engine = driver.engine
        eng = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)
        peer = Actor("peer-1", [Role.PEER_REVIEWER], ORG)
        psii = engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}).case.id
        steps: tuple[tuple[str, Actor, Mapping[str, object]], ...] = (
            ("assign_lead", PSS, {"lead_id": "lead-1", "engagement_lead_id": "eng-1"}),
            ("begin_gathering", LEAD, {}),
            (
                "record_terms_of_reference",
                LEAD,
                {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
            ),
            (
                "record_engagement",
                eng,
                {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
            ),
            ("complete_analysis", LEAD, {}),
            ("submit_draft", LEAD, {"draft_ref": "DRAFT-1"}),
            ("record_peer_review", peer, {"peer_review_ref": "PEER-1"}),
            (
                "record_expert_input",
                LEAD,
                {"expert_input": "panel", "expert_ids": ["exp-1"]},
            ),
            ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"}),
            ("record_family_draft_response", eng, {"family_draft_response": "no_comments"}),
            ("agree_findings", SENIOR, {}),
            ("request_approval", LEAD, {}),
            ("approve", EXEC, {"report_ref": "REPORT-1"}),
        )
        for trigger, actor, payload in steps:
            driver.fire(psii, trigger, actor, payload)
        action = engine.open(
            "safety_action",
            actor=LEAD,
            payload={"learning_response_ids": [psii], "area_for_improvement_ids": ["AFI-1"]},
        ).case.id

        driver.fire(psii, "share", eng, {"family_sharing": "shared"})
        closed = driver.fire(psii, "close", PSS, {"safety_action_ids": [action]})

        assert closed.state == "closed"
        assert engine.get(action, reader=READER).state == "proposed"
        driver.fire(action, "update_proposal", LEAD, PLAN)
        assert driver.fire(action, "agree", OWNER).state == "agreed"


class TestAgainstTheReferenceModel:
    """Random command sequences: the engine agrees with the reference model throughout."""

    def test_engine_matches_model(self) -> None:
        """Psirf-rules §9.2: random runs keep the chain sound and final states final."""
        run_state_machine_as_test(
            engine_state_machine(SAFETY_ACTION),
            settings=settings(max_examples=10, stateful_step_count=25, deadline=None),
        )


class TestDefinition:
    """The definition's identity and shape."""

    def test_identity_and_registration(self) -> None:
        """Issue 5 item 5: one definition named safety_action, family safety_action, v1."""
        assert SAFETY_ACTION.key == "safety_action@1"
        assert SAFETY_ACTION.family == "safety_action"
        assert SAFETY_ACTION.final_states == {"closed_effective", "risk_accepted", "cancelled"}
        assert DefinitionRegistry.default().latest("safety_action") is SAFETY_ACTION

    def test_every_state_is_on_the_table(self) -> None:
        """Psirf-rules §9.2: the proposed states, with "revised" folded into agreed."""
        assert set(SAFETY_ACTION.states) == {
            *ACTIVE,
            "closed_effective",
            "deferred",
            "risk_accepted",
            "cancelled",
        }
