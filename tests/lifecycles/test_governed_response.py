"""A learning response run under the trust's plan: sign-off, delegation, gaps, review.

psirf-rules §5 (sign-off, SoD 2 and 7, delegation), §6 stages 4, 7, 8 and 9 and §9.1: the
plan's ``sign_off`` chain is signed step by step, a delegate signs for a role they do not
hold, terms of reference come before gathering where the plan asks, a response type without
a sharing step closes from approval, hold and override reasons are codes with a reason, and
review records responses to comments, draft versions and the revision on reopening.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

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
    RoleNotPermitted,
    decide,
)
from psirf_flow.domain import FactValue, SystemReader
from psirf_flow.errors import PlanError
from psirf_flow.policy import (
    Approver,
    IncidentFacts,
    LifecycleVariant,
    Plan,
    intake_payload,
    load_national_rules,
    load_plan,
    triage,
)
from psirf_flow.policy.governance import Governance
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import (
    AFTER_ACTION_REVIEW,
    GUARDS,
    LEARNING_RESPONSES,
    PSII,
    DefinitionRegistry,
    GuardInput,
)
from psirf_flow.workflows.couplings import COUPLINGS, learning_response_id
from psirf_flow.workflows.guards import CaseSummary
from psirf_flow.workflows.learning_response import AFTER_ACTION_REVIEW_V1


ORG = "RX1"
READER = SystemReader("test-suite")
DECIDED_AT = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)

PLAN_TOML = """
schema = 1

[plan]
id = "rx1-psirp"
version = "1.0"
organisation = "RX1"
effective_from = 2026-01-01
review_date = 2027-01-01

[committees.psg]
title = "Patient safety group"
kind = "committee"

[response_types.psii]
maps_to = "psii"
sign_off = [{ committee = "psg" }, { role = "executive_lead" }]

[response_types.after_action_review]
maps_to = "after_action_review"
sign_off = [{ role = "patient_safety_specialist" }]
sharing_step = false

[response_types.mdt_review]
maps_to = "mdt_review"
sign_off = [{ role = "senior_leader" }]
terms_of_reference_required = true

[response_types.swarm_huddle]
maps_to = "swarm_huddle"
sign_off = [{ role = "senior_leader" }]

[response_types.round_table_review]
maps_to = "mdt_review"
title = "Round table review"
sign_off = [{ role = "patient_safety_specialist" }]

[overrides]
rationale_codes = ["awaiting_hssib_report"]
"""

REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
PSS_2 = Actor("pss-2", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
#: Leads investigations and facilitates huddles; sits on the patient safety group too.
LEAD = Actor(
    "lead-1",
    [Role.LEARNING_RESPONSE_LEAD, Role.FACILITATOR],
    ORG,
    committees=frozenset({"psg"}),
)
ENG = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)
PEER = Actor("peer-1", [Role.PEER_REVIEWER], ORG)
SENIOR = Actor("senior-1", [Role.SENIOR_LEADER], ORG)
MEMBER = Actor("member-1", [Role.SENIOR_LEADER], ORG, committees=frozenset({"psg"}))
CHAIR = Actor("chair-1", [Role.SENIOR_LEADER], ORG, committees=frozenset({"psg"}))
#: Sits on the patient safety group and is the executive lead.
BOTH = Actor("both-1", [Role.EXECUTIVE_LEAD], ORG, committees=frozenset({"psg"}))


@pytest.fixture(name="plan", scope="module")
def _plan() -> Plan:
    return load_plan(PLAN_TOML, source="test-plan")


class Driver:
    """Moves learning responses through a real engine, with or without the plan."""

    def __init__(self, plan: Plan | None) -> None:
        self.clock = ManualClock()
        counter = itertools.count(1)
        self.engine = Engine(
            InMemoryStore(),
            clock=self.clock,
            new_id=lambda: f"case-{next(counter):04d}",
            plan=plan,
        )

    def fire(
        self, case_id: str, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None
    ) -> Case:
        """Fire one trigger an hour after the previous one."""
        self.clock.advance(timedelta(hours=1))
        return self.engine.fire(case_id, trigger, actor=actor, payload=payload).case

    def open(self, workflow: str = "psii") -> str:
        """Open a response of ``workflow`` linking two incidents, one member of staff involved."""
        return self.engine.open(
            workflow,
            actor=PSS,
            payload={"incident_ids": ["INC-1", "INC-2"], "involved_staff_ids": ["staff-1"]},
        ).case.id

    def planned(self, workflow: str = "psii", *, terms: bool = True, target: bool = True) -> str:
        """A case in planning, its lead assigned (and terms and a target date recorded)."""
        case_id = self.open(workflow)
        facilitated = workflow in {"swarm_huddle", "after_action_review"}
        lead_fact = "facilitator_id" if facilitated else "lead_id"
        assign = "assign_facilitator" if facilitated else "assign_lead"
        self.fire(case_id, assign, PSS, {lead_fact: LEAD.id, "engagement_lead_id": ENG.id})
        if terms:
            payload: dict[str, object] = {"terms_of_reference_ref": "DOC-tor-1"}
            if workflow == "psii":
                payload["family_involvement_in_terms"] = "involved"
            self.fire(case_id, "record_terms_of_reference", LEAD, payload)
        if target and workflow == "psii":
            self.fire(
                case_id,
                "agree_timescale",
                LEAD,
                {"target_date": "2026-03-01", "family_timescale_agreement": "agreed"},
            )
        self.fire(
            case_id,
            "record_engagement",
            ENG,
            {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
        )
        return case_id

    def in_review(self, workflow: str = "psii") -> str:
        """A case whose draft is in review."""
        case_id = self.planned(workflow)
        self.fire(case_id, "begin_gathering", LEAD)
        self.fire(case_id, "complete_analysis", LEAD)
        self.fire(case_id, "submit_draft", LEAD, {"draft_ref": "DOC-draft-1"})
        return case_id

    def awaiting_approval(self, workflow: str = "psii") -> str:
        """A case whose review is complete and which awaits approval."""
        case_id = self.in_review(workflow)
        definition = LEARNING_RESPONSES[workflow]
        assert definition is not None
        steps: tuple[tuple[str, Actor, dict[str, object]], ...] = (
            ("record_peer_review", PEER, {"peer_review_ref": "DOC-peer-1"}),
            ("record_expert_input", LEAD, {"expert_input": "panel", "expert_ids": ["sme-1"]}),
            ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"}),
            ("record_family_draft_response", ENG, {"family_draft_response": "commented"}),
            ("agree_findings", SENIOR, {}),
        )
        for trigger, actor, payload in steps:
            if definition.transition(trigger) is not None:
                self.fire(case_id, trigger, actor, payload)
        self.fire(case_id, "request_approval", LEAD)
        return case_id

    def delegation(
        self,
        *,
        by: Actor = EXEC,
        to: Actor = CHAIR,
        role: str = "executive_lead",
        types: tuple[str, ...] = ("psii",),
        valid_from: str = "2026-01-01",
        valid_to: str = "2026-12-31",
    ) -> str:
        """Open a delegation (by default: the executive lead's PSII sign-off, to the chair)."""
        return self.engine.open(
            "delegation",
            actor=by,
            payload={
                "delegate_id": to.id,
                "delegated_role": role,
                "response_types": list(types),
                "valid_from": valid_from,
                "valid_to": valid_to,
            },
        ).case.id


@pytest.fixture(name="governed")
def _governed(plan: Plan) -> Driver:
    return Driver(plan)


@pytest.fixture(name="ungoverned")
def _ungoverned() -> Driver:
    return Driver(None)


def codes(refused: pytest.ExceptionInfo[GuardFailed]) -> tuple[str, ...]:
    """The reason codes of every failed guard of a refusal."""
    return tuple(r.reason_code for r in refused.value.failures)


def entries(driver: Driver, case_id: str) -> list[tuple[str, str, str, Mapping[str, object]]]:
    """(trigger, actor, role, data) of every audit entry of a case."""
    return [
        (e.trigger, e.actor_id, e.role, dict(e.data))
        for e in driver.engine.history(case_id, reader=READER)
    ]


STEP_1 = {"sign_off_step": 1, "meeting_ref": "PSG-2026-02"}


class TestSignOffChain:
    """psirf-rules §5 SoD 2, §6 stage 8: the plan's chain, signed step by step."""

    def test_committee_then_executive_approves(self, governed: Driver) -> None:
        """The group signs step 1 at its meeting; the executive lead's step approves."""
        case_id = governed.awaiting_approval()

        signed = governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)
        approval = {"report_ref": "DOC-report-1", "report_digest": "cd" * 32}
        approved = governed.fire(case_id, "approve", EXEC, approval)

        assert signed.state == "awaiting_approval"
        assert signed.facts["sign_off_step"] == 1
        assert signed.facts["sign_off_last_by"] == MEMBER.id
        assert signed.facts["meeting_ref"] == "PSG-2026-02"
        assert approved.state == "approved"
        assert approved.facts["approved_by"] == EXEC.id
        assert entries(governed, case_id)[-2:] == [
            ("record_sign_off", MEMBER.id, "senior_leader", STEP_1),
            ("approve", EXEC.id, "executive_lead", approval),
        ]
        assert approved.facts["report_digest"] == "cd" * 32

    def test_last_step_waits_for_the_earlier_ones(self, governed: Driver) -> None:
        """The executive lead cannot approve before the group has signed."""
        case_id = governed.awaiting_approval()

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "approve", EXEC, {"report_ref": "DOC-report-1"})

        assert codes(refused) == ("sign_off_steps_missing",)

    @pytest.mark.parametrize(
        ("actor", "payload", "expected"),
        [
            pytest.param(SENIOR, STEP_1, ("signer_not_in_sign_off_chain",), id="not-a-member"),
            pytest.param(
                MEMBER,
                {"sign_off_step": 1},
                ("signer_not_in_sign_off_chain",),
                id="no-meeting",
            ),
            pytest.param(
                MEMBER,
                {"sign_off_step": 2, "meeting_ref": "PSG-2026-02"},
                ("sign_off_step_not_due",),
                id="wrong-step",
            ),
            pytest.param(
                Actor("lead-1", [Role.SENIOR_LEADER], ORG, committees=frozenset({"psg"})),
                STEP_1,
                ("approver_is_lead",),
                id="the-lead-sits-on-the-group",
            ),
        ],
    )
    def test_committee_step_refusals(
        self,
        governed: Driver,
        actor: Actor,
        payload: Mapping[str, object],
        expected: tuple[str, ...],
    ) -> None:
        """Only a member, with the meeting, for the step due, and never the lead (SoD 2)."""
        case_id = governed.awaiting_approval()

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "record_sign_off", actor, payload)

        assert codes(refused) == expected

    def test_the_last_step_is_not_recorded_as_an_earlier_one(self, governed: Driver) -> None:
        """After the group, the executive step approves; it cannot be a mere record."""
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "record_sign_off", EXEC, {"sign_off_step": 2})

        assert codes(refused) == ("sign_off_step_is_last",)

    def test_no_one_signs_two_steps_in_a_row(self, governed: Driver) -> None:
        """A group member who is also the executive lead signs only one of the steps."""
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", BOTH, STEP_1)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "approve", BOTH, {"report_ref": "DOC-report-1"})

        assert codes(refused) == ("signer_signed_previous_step",)

    def test_rework_starts_the_chain_again(self, governed: Driver) -> None:
        """A report sent back for rework is signed from the first step again."""
        case_id = governed.awaiting_approval()
        signed = governed.fire(
            case_id, "record_sign_off", MEMBER, {**STEP_1, "report_digest": "ef" * 32}
        )

        reworked = governed.fire(case_id, "return_for_rework", EXEC, {"rework_reason": "other"})

        assert signed.facts["report_digest"] == "ef" * 32
        assert reworked.state == "drafting"
        for fact in ("sign_off_step", "sign_off_last_by", "meeting_ref", "report_digest"):
            assert fact not in reworked.facts

    @pytest.mark.parametrize(
        ("signed_first", "actor", "payload", "expected"),
        [
            pytest.param(False, MEMBER, {"meeting_ref": "PSG-3"}, None, id="group-member"),
            pytest.param(True, EXEC, {}, None, id="executive-after-the-group"),
            pytest.param(
                False, EXEC, {}, ("signer_not_in_sign_off_chain",), id="executive-too-early"
            ),
            pytest.param(
                False, MEMBER, {}, ("signer_not_in_sign_off_chain",), id="member-no-meeting"
            ),
        ],
    )
    def test_the_signer_due_sends_the_report_back(
        self,
        governed: Driver,
        signed_first: bool,
        actor: Actor,
        payload: dict[str, object],
        expected: tuple[str, ...] | None,
    ) -> None:
        """Under the plan, whoever may sign the step that is due may return the report."""
        case_id = governed.awaiting_approval()
        if signed_first:
            governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)
        command = {"rework_reason": "analysis_incomplete", **payload}

        if expected is not None:
            with pytest.raises(GuardFailed) as refused:
                governed.fire(case_id, "return_from_sign_off", actor, command)
            assert codes(refused) == expected
            return
        returned = governed.fire(case_id, "return_from_sign_off", actor, command)
        assert returned.state == "drafting"
        assert returned.facts["rework_reason"] == "analysis_incomplete"
        assert "sign_off_step" not in returned.facts
        assert "findings_agreed_by" not in returned.facts

    def test_plan_lets_a_specialist_approve_an_aar(self, governed: Driver) -> None:
        """Where the plan says so, a patient safety specialist signs off an AAR."""
        case_id = governed.awaiting_approval("after_action_review")

        approved = governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "DOC-report-1"})

        assert approved.state == "approved"
        assert approved.facts["approved_by"] == PSS_2.id
        assert entries(governed, case_id)[-1][:3] == (
            "sign_off",
            PSS_2.id,
            "patient_safety_specialist",
        )

    def test_plan_refuses_the_fixed_approver_it_does_not_name(self, governed: Driver) -> None:
        """Under the plan, the AAR's usual senior leader is not its approver."""
        case_id = governed.awaiting_approval("after_action_review")

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "approve", SENIOR, {"report_ref": "DOC-report-1"})

        assert codes(refused) == ("signer_not_in_sign_off_chain",)

    @pytest.mark.parametrize("trigger", ["sign_off", "record_sign_off"])
    def test_without_a_plan_only_approve_approves(self, ungoverned: Driver, trigger: str) -> None:
        """Without a plan there is no chain: the fixed approvers use 'approve' as before."""
        case_id = ungoverned.awaiting_approval("after_action_review")
        payload = {"report_ref": "R-1"} if trigger == "sign_off" else {"sign_off_step": 1}

        with pytest.raises(GuardFailed) as refused:
            ungoverned.fire(case_id, trigger, PSS_2, payload)
        approved = ungoverned.fire(case_id, "approve", SENIOR, {"report_ref": "R-1"})

        assert codes(refused) == ("no_sign_off_chain",)
        assert approved.state == "approved"


@pytest.mark.parametrize(
    ("role", "refused"),
    [
        ("reporter", True),
        ("patient_safety_partner", True),
        ("icb_oversight", True),
        ("system", True),
        ("patient_safety_specialist", False),
        ("engagement_lead", False),
    ],
)
def test_a_chain_names_only_roles_that_sign(role: str, refused: bool) -> None:
    """Reporters, overseers and psirf_flow itself never sign a response off (§5)."""
    text = PLAN_TOML.replace(
        'sign_off = [{ role = "senior_leader" }]\nterms_of_reference_required',
        f'sign_off = [{{ role = "{role}" }}]\nterms_of_reference_required',
    )
    assert text != PLAN_TOML

    if not refused:
        assert load_plan(text).response_types["mdt_review"].sign_off[0].role == role
        return
    with pytest.raises(PlanError) as error:
        load_plan(text, source="bad-plan")
    assert [(p.path, p.message) for p in error.value.problems] == [
        ("response_types.mdt_review.sign_off[0].role", f"{role} cannot sign off a response")
    ]


class TestResponseTypeOfTheCase:
    """The plan's response type a case runs as is its ``response_type`` fact (§2, LOCAL)."""

    def _awaiting_mdt(self, governed: Driver, response_type: str | None) -> str:
        payload: dict[str, object] = {"incident_ids": ["INC-1"]}
        if response_type is not None:
            payload["response_type"] = response_type
        case_id = governed.engine.open("mdt_review", actor=PSS, payload=payload).case.id
        governed.fire(case_id, "assign_lead", PSS, {"lead_id": LEAD.id})
        governed.fire(case_id, "record_terms_of_reference", LEAD, {"terms_of_reference_ref": "T"})
        for trigger, actor, step in (
            ("begin_gathering", LEAD, {}),
            ("complete_analysis", LEAD, {}),
            ("submit_draft", LEAD, {"draft_ref": "D-1"}),
            ("record_expert_input", LEAD, {"expert_input": "panel", "expert_ids": ["sme-1"]}),
            ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"}),
            ("agree_findings", SENIOR, {}),
            ("request_approval", LEAD, {}),
        ):
            governed.fire(case_id, trigger, actor, step)
        return case_id

    def test_a_coined_response_type_uses_its_own_chain(self, governed: Driver) -> None:
        """A round table review (run as an MDT review) is signed off as the plan says for it."""
        case_id = self._awaiting_mdt(governed, "round_table_review")

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "approve", SENIOR, {"report_ref": "R-1"})
        approved = governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})

        assert codes(refused) == ("signer_not_in_sign_off_chain",)
        assert approved.facts["response_type"] == "round_table_review"
        assert approved.state == "approved"

    def test_without_the_fact_the_workflow_name_is_the_type(self, governed: Driver) -> None:
        """An MDT review opened without a response type is signed off as ``mdt_review``."""
        case_id = self._awaiting_mdt(governed, None)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})
        approved = governed.fire(case_id, "approve", SENIOR, {"report_ref": "R-1"})

        assert codes(refused) == ("signer_not_in_sign_off_chain",)
        assert approved.state == "approved"

    def test_a_type_the_plan_does_not_list_keeps_the_fixed_approvers(
        self, governed: Driver
    ) -> None:
        """A response type unknown to the plan is approved as without a plan."""
        case_id = self._awaiting_mdt(governed, "not_in_the_plan")

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})
        approved = governed.fire(case_id, "approve", SENIOR, {"report_ref": "R-1"})

        assert codes(refused) == ("no_sign_off_chain",)
        assert approved.state == "approved"


def test_intake_coupling_carries_the_response_type() -> None:
    """The learning response the intake commissions records the plan's response type."""
    coupling = next(c for c in COUPLINGS if c.kind == "coupling.open_learning_response")
    decided = Case(
        id="INT-1",
        workflow="incident_intake",
        workflow_version="1",
        organisation=ORG,
        state="response_decided",
        version=4,
        facts={"incident_id": "INC-1", "response_type": "round_table_review", "basis": "x"},
        opened_at=DECIDED_AT,
        updated_at=DECIDED_AT,
    )

    follow_up = coupling.react(decided, "decide_response", 4)

    assert follow_up is not None
    assert follow_up.workflow == "round_table_review"
    assert follow_up.payload["response_type"] == "round_table_review"


class TestDelegation:
    """psirf-rules §5: a delegation is a record; a delegate signs without the role."""

    def test_delegated_chair_approves(self, governed: Driver) -> None:
        """The chair, delegated the executive lead's sign-off for PSIIs, approves."""
        delegation = governed.delegation()
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)

        approved = governed.fire(
            case_id,
            "sign_off",
            CHAIR,
            {"report_ref": "DOC-report-1", "delegation_id": delegation},
        )

        assert approved.state == "approved"
        assert approved.facts["approved_by"] == CHAIR.id
        assert approved.facts["delegation_id"] == delegation
        assert entries(governed, case_id)[-1][:3] == ("sign_off", CHAIR.id, "senior_leader")

    def test_revoked_delegation_refused(self, governed: Driver) -> None:
        """A revoked delegation no longer lets the chair sign."""
        delegation = governed.delegation()
        governed.fire(delegation, "revoke", EXEC, {"revoke_reason": "no_longer_needed"})
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(
                case_id, "sign_off", CHAIR, {"report_ref": "R-1", "delegation_id": delegation}
            )

        assert codes(refused) == ("signer_not_in_sign_off_chain",)
        assert "is revoked" in str(refused.value)

    @pytest.mark.parametrize(
        ("changes", "words"),
        [
            pytest.param({"valid_to": "2026-01-04"}, "not in force", id="expired"),
            pytest.param({"valid_from": "2026-02-01"}, "not in force", id="not-yet"),
            pytest.param({"types": ("mdt_review",)}, "does not cover psii", id="other-type"),
            pytest.param({"to": SENIOR}, "does not name chair-1", id="other-delegate"),
            pytest.param({"role": "senior_leader", "by": SENIOR}, "does not delegate", id="role"),
        ],
    )
    def test_delegation_that_does_not_fit_is_refused(
        self, governed: Driver, changes: dict[str, object], words: str
    ) -> None:
        """Expired, not yet in force, another type, another delegate or role: refused."""
        delegation = governed.delegation(**changes)  # type: ignore[arg-type]
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(
                case_id, "sign_off", CHAIR, {"report_ref": "R-1", "delegation_id": delegation}
            )

        assert codes(refused) == ("signer_not_in_sign_off_chain",)
        assert words in str(refused.value)

    def test_unknown_delegation_refused(self, governed: Driver) -> None:
        """A delegation that does not exist lets nobody sign."""
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(
                case_id, "sign_off", CHAIR, {"report_ref": "R-1", "delegation_id": "case-9999"}
            )

        assert codes(refused) == ("signer_not_in_sign_off_chain",)

    def test_delegate_still_passes_separation_of_duties(self, governed: Driver) -> None:
        """The lead, delegated the executive role, still cannot approve their own report."""
        lead_as_senior = Actor("lead-1", [Role.SENIOR_LEADER], ORG)
        delegation = governed.delegation(to=lead_as_senior)
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(
                case_id,
                "sign_off",
                lead_as_senior,
                {"report_ref": "R-1", "delegation_id": delegation},
            )

        assert codes(refused) == ("approver_is_lead",)

    def test_end_date_is_a_london_date(self, governed: Driver) -> None:
        """At 23:30 UTC on 30 June, London is already on 1 July: a June delegation is over."""
        delegation = governed.delegation(valid_to="2026-06-30")
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)
        governed.clock.set(datetime(2026, 6, 30, 22, 30, tzinfo=UTC))

        with pytest.raises(GuardFailed) as refused:
            governed.fire(
                case_id, "sign_off", CHAIR, {"report_ref": "R-1", "delegation_id": delegation}
            )

        assert "not in force on 2026-07-01" in str(refused.value)

    @pytest.mark.parametrize(
        ("by", "payload", "expected"),
        [
            pytest.param(
                SENIOR,
                {"delegated_role": "executive_lead"},
                "delegator_lacks_role",
                id="delegator-lacks-role",
            ),
            pytest.param(EXEC, {"delegate_id": EXEC.id}, "delegate_is_delegator", id="self"),
            pytest.param(
                EXEC,
                {"valid_from": "2026-03-01", "valid_to": "2026-02-01"},
                "delegation_dates_reversed",
                id="reversed",
            ),
        ],
    )
    def test_opening_refusals(
        self, governed: Driver, by: Actor, payload: dict[str, object], expected: str
    ) -> None:
        """Only a holder of the role delegates it, to someone else, for a real period."""
        base: dict[str, object] = {
            "delegate_id": CHAIR.id,
            "delegated_role": "executive_lead",
            "response_types": ["psii"],
            "valid_from": "2026-01-01",
            "valid_to": "2026-12-31",
        }
        with pytest.raises(GuardFailed) as refused:
            governed.engine.open("delegation", actor=by, payload={**base, **payload})

        assert codes(refused) == (expected,)

    def test_only_the_delegator_or_executive_revokes(self, governed: Driver) -> None:
        """The chair cannot revoke the delegation made to them."""
        delegation = governed.delegation()

        with pytest.raises(GuardFailed) as refused:
            governed.fire(delegation, "revoke", CHAIR, {"revoke_reason": "other"})

        assert codes(refused) == ("not_the_delegator",)


class TestTermsBeforeGathering:
    """psirf-rules §6 stage 4: terms of reference and an agreed target date first."""

    @pytest.mark.parametrize(
        ("workflow", "terms", "target", "expected"),
        [
            pytest.param("psii", False, True, "terms of reference", id="psii-no-terms"),
            pytest.param("psii", True, False, "agreed with those affected", id="psii-no-date"),
            pytest.param("psii", True, True, None, id="psii-both"),
            pytest.param("mdt_review", False, False, "terms of reference", id="mdt-plan-on"),
            pytest.param("mdt_review", True, False, None, id="mdt-no-clock-no-date"),
            pytest.param("swarm_huddle", False, False, None, id="swarm-default-off"),
        ],
    )
    def test_plan_setting(
        self, governed: Driver, workflow: str, terms: bool, target: bool, expected: str | None
    ) -> None:
        """On for a PSII by default and where the plan sets it; off otherwise."""
        case_id = governed.planned(workflow, terms=terms, target=target)

        if expected is None:
            assert governed.fire(case_id, "begin_gathering", LEAD).state == (
                "gathering_and_analysis"
            )
            return
        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "begin_gathering", LEAD)
        assert codes(refused) == ("terms_not_agreed",)
        assert expected in str(refused.value)

    def test_without_a_plan_gathering_starts_as_before(self, ungoverned: Driver) -> None:
        """Without a plan a PSII may start gathering before its terms (today's rule)."""
        case_id = ungoverned.planned("psii", terms=False, target=False)

        assert ungoverned.fire(case_id, "begin_gathering", LEAD).state == "gathering_and_analysis"

    @pytest.mark.parametrize(
        ("maps_to", "setting", "expected"),
        [
            (LifecycleVariant.PSII, None, True),
            (LifecycleVariant.PSII, False, False),
            (LifecycleVariant.AFTER_ACTION_REVIEW, None, False),
            (LifecycleVariant.MDT_REVIEW, True, True),
        ],
    )
    def test_default_follows_the_lifecycle(
        self, plan: Plan, maps_to: LifecycleVariant, setting: bool | None, expected: bool
    ) -> None:
        """Unset means on for the psii lifecycle and off for the others."""
        rt = attrs.evolve(
            plan.response_types["psii"], maps_to=maps_to, terms_of_reference_required=setting
        )

        assert rt.needs_terms_before_gathering is expected


class TestClosingWithoutSharing:
    """psirf-rules §6 stage 9: a plan without a sharing step closes from approval."""

    def test_no_sharing_step_closes_from_approval(self, governed: Driver) -> None:
        """An AAR whose plan has no sharing step closes straight after approval."""
        case_id = governed.awaiting_approval("after_action_review")
        governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})

        closed = governed.fire(
            case_id, "close_without_sharing", PSS, {"no_actions_rationale": "no_new_learning"}
        )

        assert closed.state == "closed"
        assert closed.facts["no_actions_rationale"] == "no_new_learning"

    def test_sharing_step_required_by_default(self, governed: Driver) -> None:
        """A PSII (sharing on by default) must be shared before it is closed."""
        case_id = governed.awaiting_approval()
        governed.fire(case_id, "record_sign_off", MEMBER, STEP_1)
        governed.fire(case_id, "approve", EXEC, {"report_ref": "R-1"})

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "close_without_sharing", PSS, {"safety_action_ids": ["SA-1"]})

        assert codes(refused) == ("sharing_step_required",)

    def test_closing_still_needs_actions_or_a_rationale(self, governed: Driver) -> None:
        """Skipping sharing does not skip the actions-or-rationale rule."""
        case_id = governed.awaiting_approval("after_action_review")
        governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})

        with pytest.raises(GuardFailed) as refused:
            governed.fire(case_id, "close_without_sharing", PSS, {})

        assert codes(refused) == ("actions_or_rationale_missing",)


class TestHoldReasons:
    """psirf-rules §9.1 ``hold``: police, coroner, or another reason with a note."""

    @pytest.mark.parametrize(
        ("payload", "accepted"),
        [
            ({"hold_reason": "police"}, True),
            ({"hold_reason": "coroner"}, True),
            ({"hold_reason": "other", "note": "awaiting an external review"}, True),
            ({"hold_reason": "other"}, False),
        ],
    )
    def test_under_a_plan(
        self, governed: Driver, payload: dict[str, object], accepted: bool
    ) -> None:
        """Under a plan a hold for another reason needs a note, refused as ReasonMissing."""
        case_id = governed.open()

        if accepted:
            held = governed.fire(case_id, "hold", EXEC, payload)
            assert held.state == "on_hold"
            assert held.facts["hold_reason"] == payload["hold_reason"]
            return
        with pytest.raises(ReasonMissing) as refused:
            governed.fire(case_id, "hold", EXEC, payload)
        assert refused.value.code == "PSF210"
        assert codes(refused) == ("reason_missing",)

    def test_unknown_reason_refused(self, governed: Driver) -> None:
        """A reason outside the vocabulary is not accepted."""
        case_id = governed.open()

        with pytest.raises(InvalidPayload):
            governed.fire(case_id, "hold", EXEC, {"hold_reason": "busy"})

    def test_without_a_plan_other_needs_no_note(self, ungoverned: Driver) -> None:
        """Without a plan, today's rule stands: 'other' alone is accepted."""
        case_id = ungoverned.open()

        assert ungoverned.fire(case_id, "hold", EXEC, {"hold_reason": "other"}).state == "on_hold"


class TestReview:
    """psirf-rules §6 stage 7: comment responses and draft versions; revisions on reopening."""

    def test_comment_responses_and_draft_versions(self, governed: Driver) -> None:
        """Each response to a comment and each new draft version is recorded and audited."""
        case_id = governed.in_review()
        digest = "AB" * 32

        governed.fire(
            case_id,
            "record_comment_response",
            LEAD,
            {"commenter": "family", "comment_ref": "C-1", "comment_response_ref": "R-1"},
        )
        case = governed.fire(
            case_id,
            "record_draft_version",
            LEAD,
            {"draft_ref": "DOC-draft-2", "draft_digest": digest},
        )

        assert case.state == "review"
        assert case.facts["commenter"] == "family"
        assert case.facts["comment_response_ref"] == "R-1"
        assert case.facts["draft_ref"] == "DOC-draft-2"
        assert case.facts["draft_digest"] == digest.lower()
        assert [e[0] for e in entries(governed, case_id)[-2:]] == [
            "record_comment_response",
            "record_draft_version",
        ]

    @pytest.mark.parametrize("digest", ["ab" * 31, "zz" * 32, "sha256:" + "ab" * 32, 12])
    def test_draft_digest_must_be_sha256_hex(self, governed: Driver, digest: object) -> None:
        """A draft version is named by 64 hexadecimal digits, nothing else."""
        case_id = governed.in_review()

        with pytest.raises(InvalidPayload, match="SHA-256"):
            governed.fire(
                case_id, "record_draft_version", LEAD, {"draft_ref": "D-2", "draft_digest": digest}
            )

    def test_only_the_lead_answers_comments(self, governed: Driver) -> None:
        """Another lead cannot record a response on this case."""
        case_id = governed.in_review()
        other = Actor("lead-2", [Role.LEARNING_RESPONSE_LEAD], ORG)

        with pytest.raises(GuardFailed) as refused:
            governed.fire(
                case_id,
                "record_comment_response",
                other,
                {"commenter": "staff", "comment_ref": "C-1", "comment_response_ref": "R-1"},
            )

        assert codes(refused) == ("actor_not_assigned_lead",)

    def test_each_reopening_bumps_the_revision(self, governed: Driver) -> None:
        """Reopened once: revision 1; reopened again after closing: revision 2."""
        case_id = governed.awaiting_approval("after_action_review")
        governed.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})
        closing = {"no_actions_rationale": "no_new_learning"}
        reopening = {"new_information_ref": "DOC-new-1", "reopen_reason": "inquest"}
        governed.fire(case_id, "close_without_sharing", PSS, closing)

        first = governed.fire(case_id, "reopen", EXEC, reopening)
        assert first.facts["revision"] == 1
        governed.fire(case_id, "complete_analysis", LEAD)
        governed.fire(case_id, "submit_draft", LEAD, {"draft_ref": "DOC-draft-2"})
        for trigger, actor, payload in (
            ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "amended"}),
            ("agree_findings", SENIOR, {}),
            ("request_approval", LEAD, {}),
            ("sign_off", PSS_2, {"report_ref": "R-2"}),
            ("close_without_sharing", PSS, closing),
        ):
            governed.fire(case_id, trigger, actor, payload)
        second = governed.fire(case_id, "reopen", EXEC, reopening)

        assert second.facts["revision"] == 2
        assert "revision" not in entries(governed, case_id)[-1][3]


def _override(reason: str | None, **extra: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "target_date": "2026-08-31",
        "extension_reason": "external_process",
        "family_extension_agreement": "agreed",
        **extra,
    }
    if reason is not None:
        payload["hard_cap_override_reason"] = reason
    return payload


class TestOverrideRationale:
    """psirf-rules §5 SoD 7, §4.1: an override's rationale, extensible by the plan."""

    @pytest.mark.parametrize(
        ("governed_by_plan", "reason", "error", "expected"),
        [
            (True, "awaiting_hssib_report", None, None),
            (True, "exceptional_complexity", None, None),
            (False, "awaiting_hssib_report", GuardFailed, "override_rationale_unknown"),
            (True, "made_up", GuardFailed, "override_rationale_unknown"),
            (True, None, ReasonMissing, "reason_missing"),
            (False, None, ReasonMissing, "reason_missing"),
        ],
    )
    def test_rationale(
        self,
        plan: Plan,
        governed_by_plan: bool,
        reason: str | None,
        error: type[GuardFailed] | None,
        expected: str | None,
    ) -> None:
        """Built-in codes always, the plan's own codes under the plan, never none at all."""
        driver = Driver(plan if governed_by_plan else None)
        case_id = driver.planned()

        if error is None:
            case = driver.fire(
                case_id,
                "override_hard_cap",
                EXEC,
                _override(reason, override_rationale_ref="DOC-x"),
            )
            assert case.facts["hard_cap_override_reason"] == reason
            assert case.facts["override_rationale_ref"] == "DOC-x"
            assert case.facts["hard_cap_override_by"] == EXEC.id
            return
        with pytest.raises(error) as refused:
            driver.fire(case_id, "override_hard_cap", EXEC, _override(reason))
        assert type(refused.value) is error
        assert codes(refused) == (expected,)

    @pytest.mark.parametrize(
        ("codes_toml", "words"),
        [
            ('["a", "a"]', "lists a code more than once"),
            ('["Jane Smith"]', "not an opaque identifier"),
        ],
    )
    def test_plan_codes_are_checked(self, codes_toml: str, words: str) -> None:
        """The plan's rationale codes are codes, each given once."""
        text = PLAN_TOML.replace(
            'rationale_codes = ["awaiting_hssib_report"]', f"rationale_codes = {codes_toml}"
        )

        with pytest.raises(PlanError, match=words):
            load_plan(text, source="bad-plan")


class TestAfterActionReviewFacilitator:
    """psirf-rules §2: an after action review is led by a trained facilitator."""

    def test_new_reviews_are_led_by_a_facilitator(self, ungoverned: Driver) -> None:
        """A new AAR (version 2) names a facilitator; a learning response lead cannot run it."""
        case_id = ungoverned.open("after_action_review")
        investigator = Actor("lrl-9", [Role.LEARNING_RESPONSE_LEAD], ORG)
        assigned = ungoverned.fire(case_id, "assign_facilitator", PSS, {"facilitator_id": LEAD.id})

        with pytest.raises(RoleNotPermitted) as refused:
            ungoverned.fire(case_id, "begin_gathering", investigator)
        started = ungoverned.fire(case_id, "begin_gathering", LEAD)

        assert AFTER_ACTION_REVIEW.key == "after_action_review@2"
        assert "assign_lead" not in AFTER_ACTION_REVIEW.transitions
        assert assigned.workflow_version == "2"
        assert assigned.facts["facilitator_id"] == LEAD.id
        assert refused.value.permitted_roles == ("facilitator",)
        assert started.state == "gathering_and_analysis"

    def test_version_one_stays_for_cases_in_flight(self) -> None:
        """Version 1 (led by a learning response lead) stays registered for its cases."""
        registry = DefinitionRegistry.default()
        v1 = registry.get("after_action_review", "1")

        assert v1 is AFTER_ACTION_REVIEW_V1
        assert registry.latest("after_action_review") is AFTER_ACTION_REVIEW
        assert v1.transitions["assign_lead"].roles == (
            Role.PATIENT_SAFETY_SPECIALIST,
            Role.EXECUTIVE_LEAD,
        )
        assert v1.transitions["begin_gathering"].roles == (Role.LEARNING_RESPONSE_LEAD,)


#: Roles a chain of the property below is drawn from (each signer holds just one).
CHAIN_ROLES = (
    Role.SENIOR_LEADER,
    Role.EXECUTIVE_LEAD,
    Role.PATIENT_SAFETY_SPECIALIST,
    Role.ENGAGEMENT_LEAD,
    Role.PEER_REVIEWER,
)


def _awaiting(facts: Mapping[str, FactValue] | None = None) -> Case:
    return Case(
        id="case-chain",
        workflow="psii",
        workflow_version="1",
        organisation=ORG,
        state="awaiting_approval",
        version=12,
        facts={"incident_ids": ("INC-1",), "lead_id": "lead-1", "author_id": "lead-1"}
        | dict(facts or {}),
        opened_at=DECIDED_AT - timedelta(days=40),
        updated_at=DECIDED_AT - timedelta(days=1),
        head_hash="ab" * 32,
    )


@given(chain=st.lists(st.sampled_from(CHAIN_ROLES), min_size=1, max_size=4, unique=True))
def test_a_chain_approves_only_at_its_last_step(chain: list[Role]) -> None:
    """Whatever the chain, each step signs in turn and only the last one approves (§5)."""
    plan = load_plan(PLAN_TOML, source="test-plan")
    psii = attrs.evolve(
        plan.response_types["psii"], sign_off=tuple(Approver(role=r) for r in chain)
    )
    governance = Governance(
        plan=attrs.evolve(plan, response_types={**plan.response_types, "psii": psii}),
        rules=load_national_rules(),
    )
    signers = [Actor(f"signer-{i}", [role], ORG) for i, role in enumerate(chain)]
    case = _awaiting()

    def attempt(trigger: str, signer: Actor, payload: dict[str, object]) -> Case:
        command = Command(trigger=trigger, actor=signer, payload=payload)
        return decide(PSII, case, command, now=DECIDED_AT, governance=governance).case

    for step, signer in enumerate(signers[:-1], start=1):
        with pytest.raises(GuardFailed) as early:
            attempt("sign_off", signer, {"report_ref": "R-1"})
        assert codes(early) == ("sign_off_steps_missing",)
        case = attempt("record_sign_off", signer, {"sign_off_step": step})
        assert (case.state, case.facts["sign_off_step"]) == ("awaiting_approval", step)

    last = signers[-1]
    with pytest.raises(GuardFailed) as as_record:
        attempt("record_sign_off", last, {"sign_off_step": len(chain)})
    approved = attempt("sign_off", last, {"report_ref": "R-1"})

    assert codes(as_record) == ("sign_off_step_is_last",)
    assert approved.state == "approved"
    assert approved.facts["approved_by"] == last.id


def _delegation_summary(**facts: FactValue) -> CaseSummary:
    base: dict[str, FactValue] = {
        "opened_by": EXEC.id,
        "delegate_id": CHAIR.id,
        "delegated_role": "executive_lead",
        "response_types": ("psii",),
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
    }
    return CaseSummary("D-1", "delegation", "delegation", "active", ORG, facts=base | facts)


@pytest.mark.parametrize(
    ("summary", "now", "words"),
    [
        pytest.param(_delegation_summary(), DECIDED_AT, None, id="fits"),
        pytest.param(_delegation_summary(), None, "time of the decision", id="no-time"),
        pytest.param(
            _delegation_summary(valid_to="31/12/2026"), DECIDED_AT, "not in force", id="bad-date"
        ),
        pytest.param(
            _delegation_summary(response_types="psii"), DECIDED_AT, "does not cover", id="one-type"
        ),
        pytest.param(
            attrs.evolve(_delegation_summary(), family="learning_response"),
            DECIDED_AT,
            "does not exist",
            id="not-a-delegation",
        ),
    ],
)
def test_delegation_guard_reads_the_summary(
    plan: Plan, summary: CaseSummary, now: datetime | None, words: str | None
) -> None:
    """The guard judges the delegation as the engine summarised it, and nothing else."""
    case = _awaiting({"sign_off_step": 1, "sign_off_last_by": MEMBER.id})
    guard_input = GuardInput(
        case=case,
        trigger="sign_off",
        actor=CHAIR,
        role=Role.SENIOR_LEADER,
        facts=case.facts,
        payload={"report_ref": "R-1", "delegation_id": "D-1"},
        now=now,
        references={"D-1": summary},
        governance=Governance(plan=plan, rules=load_national_rules()),
    )

    result = GUARDS["sign_off_as_planned"].check(guard_input)

    assert result.ok is (words is None)
    assert (words or "") in result.explanation


def test_from_intake_to_sign_off_under_the_plan() -> None:
    """A decided round table review opens as an MDT review and is signed off as planned."""
    text = PLAN_TOML + (
        "\n[[priorities]]\n"
        'id = "falls"\n'
        'criteria = { fact = "categories", includes = "falls" }\n'
        'responses = { allowed = ["round_table_review"], default = "round_table_review" }\n'
        'decided_by = "senior_leader"\n'
    )
    governing = load_plan(text, source="plan-with-falls")
    rules = load_national_rules()
    driver = Driver(governing)
    engine = driver.engine
    engine.open("incident_intake", actor=REPORTER, case_id="INT-1", payload={"incident_id": "I-1"})
    engine.fire("INT-1", "begin_review", actor=PSS)
    advice = triage(IncidentFacts(incident_id="I-1", categories={"falls"}), governing, rules)
    engine.fire("INT-1", "record_triage", actor=PSS, payload=intake_payload(advice, rules))
    decision = {
        "response_type": "round_table_review",
        "basis": "local_priority",
        "rationale": "plan_planned_response",
    }
    decided = engine.fire("INT-1", "decide_response", actor=SENIOR, payload=decision).case
    OutboxRelay(engine, response_types=governing.response_variants()).run_once()
    case_id = learning_response_id("INT-1", decided.version)
    opened = engine.get(case_id, reader=READER)
    for trigger, actor, payload in (
        ("assign_lead", PSS, {"lead_id": LEAD.id}),
        ("begin_gathering", LEAD, {}),
        ("complete_analysis", LEAD, {}),
        ("submit_draft", LEAD, {"draft_ref": "D-1"}),
        ("record_expert_input", LEAD, {"expert_input": "panel", "expert_ids": ["sme-1"]}),
        ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"}),
        ("agree_findings", SENIOR, {}),
        ("request_approval", LEAD, {}),
    ):
        driver.fire(case_id, trigger, actor, payload)

    with pytest.raises(GuardFailed) as refused:
        driver.fire(case_id, "approve", SENIOR, {"report_ref": "R-1"})
    approved = driver.fire(case_id, "sign_off", PSS_2, {"report_ref": "R-1"})

    assert (opened.workflow, opened.facts["response_type"]) == ("mdt_review", "round_table_review")
    assert codes(refused) == ("signer_not_in_sign_off_chain",)
    assert (approved.state, approved.facts["approved_by"]) == ("approved", PSS_2.id)
