"""The response types differ from the PSII exactly where the rules say they do."""

from __future__ import annotations

from typing import Any

import pytest

from psirf_flow import Engine, GuardFailed, Role, RoleNotPermitted, UnknownTrigger
from psirf_flow.domain import SystemReader
from psirf_flow.workflows import (
    AFTER_ACTION_REVIEW,
    HOT_DEBRIEF,
    LEARNING_RESPONSES,
    MDT_REVIEW,
    PSII,
    SWARM_HUDDLE,
    THEMATIC_REVIEW,
)


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ALL = (
    "psii",
    "after_action_review",
    "swarm_huddle",
    "hot_debrief",
    "mdt_review",
    "thematic_review",
)


class TestEveryVariant:
    """What every response type shares."""

    @pytest.mark.parametrize("workflow", ALL)
    def test_runs_the_whole_lifecycle(self, lifecycle: Any, engine: Engine, workflow: str) -> None:
        """Every response type runs from commissioned to closed with a valid trail (§9.1)."""
        case = lifecycle.to("closed", workflow=workflow)

        states = [e.to_state for e in engine.history(case.id, reader=READER)]
        for state in ("commissioned", "planning", "drafting", "review", "approved", "closed"):
            assert state in states
        assert engine.verify(case.id, reader=READER).ok

    @pytest.mark.parametrize("workflow", ALL)
    def test_share_the_same_states(self, workflow: str) -> None:
        """Variants share one skeleton of eleven states with two final states (§9.1)."""
        definition = LEARNING_RESPONSES[workflow]

        assert definition.states == PSII.states
        assert definition.final_states == {"closed", "stood_down"}
        assert definition.family == "learning_response"


class TestAfterActionReview:
    """After action review: a facilitated team discussion, without a family draft review."""

    def test_has_no_family_draft_review_step(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """An AAR has no family draft review step (psirf-rules §2; the PSII has it, §6 stage 7)."""
        case = lifecycle.to("review", workflow="after_action_review")

        assert AFTER_ACTION_REVIEW.transition("record_family_draft_response") is None
        with pytest.raises(UnknownTrigger):
            engine.fire(
                case.id,
                "record_family_draft_response",
                actor=cast.engagement,
                payload={"family_draft_response": "commented"},
            )

    def test_approved_without_family_response(self, lifecycle: Any) -> None:
        """An AAR reaches approval with no family engagement or draft response recorded (§2)."""
        case = lifecycle.to("approved", workflow="after_action_review", engagement=None)

        assert "family_draft_response" not in case.facts
        assert "family_engagement" not in case.facts
        assert case.state == "approved"

    def test_does_not_need_terms_of_reference(self, lifecycle: Any) -> None:
        """Terms of reference are mandatory for a PSII only (psirf-rules §6 stage 4)."""
        case = lifecycle.to("awaiting_approval", workflow="after_action_review", terms=False)

        assert "terms_of_reference_ref" not in case.facts

    def test_needs_staff_accuracy_check_and_agreed_findings(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """An AAR still needs the staff accuracy check and agreed findings (§5, §6 stage 7)."""
        case = lifecycle.to("review", workflow="after_action_review", review=False)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.facilitator)

        assert [f.reason_code for f in refused.value.failures] == [
            "staff_accuracy_check_missing",
            "findings_not_agreed",
        ]


class TestFacilitatedResponses:
    """Swarm huddles and hot debriefs are led by a facilitator, not an investigator."""

    @pytest.mark.parametrize("workflow", ["swarm_huddle", "hot_debrief"])
    def test_facilitator_is_assigned_instead_of_a_lead(
        self, lifecycle: Any, engine: Engine, cast: Any, workflow: str
    ) -> None:
        """The step is ``assign_facilitator``, recording ``facilitator_id`` (psirf-rules §2)."""
        case = lifecycle.open(workflow)

        with pytest.raises(UnknownTrigger):
            engine.fire(case.id, "assign_lead", actor=cast.pss, payload={"lead_id": "fac-1"})
        planned = engine.fire(
            case.id, "assign_facilitator", actor=cast.pss, payload={"facilitator_id": "fac-1"}
        ).case

        assert planned.facts["facilitator_id"] == "fac-1"
        assert "lead_id" not in planned.facts

    @pytest.mark.parametrize("workflow", ["swarm_huddle", "hot_debrief"])
    def test_investigator_role_cannot_lead(
        self, lifecycle: Any, engine: Engine, cast: Any, workflow: str
    ) -> None:
        """A learning response lead may not take the facilitator's steps (psirf-rules §2, §5)."""
        case = lifecycle.to("planning", workflow=workflow)

        with pytest.raises(RoleNotPermitted) as refused:
            engine.fire(case.id, "begin_gathering", actor=cast.lead)

        assert refused.value.permitted_roles == ("facilitator",)
        assert engine.fire(case.id, "begin_gathering", actor=cast.facilitator).case.state == (
            "gathering_and_analysis"
        )

    def test_facilitator_must_be_independent(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A facilitator involved in the incident is refused like a lead (psirf-rules §5 rule 1)."""
        case = lifecycle.open("swarm_huddle")

        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                case.id, "assign_facilitator", actor=cast.pss, payload={"facilitator_id": "staff-1"}
            )

        assert refused.value.reason_code == "lead_involved_in_incident"

    def test_hot_debrief_needs_only_the_staff_accuracy_check(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A hot debrief asks only for the staff accuracy check before approval (§2, LOCAL)."""
        case = lifecycle.to("review", workflow="hot_debrief", review=False)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.facilitator)

        assert [f.reason_code for f in refused.value.failures] == ["staff_accuracy_check_missing"]


class TestThematicReview:
    """A thematic review links several incidents."""

    def test_refuses_to_open_with_one_incident(self, lifecycle: Any, engine: Engine) -> None:
        """Opening with one incident is refused and writes nothing (psirf-rules §2)."""
        with pytest.raises(GuardFailed) as refused:
            lifecycle.open("thematic_review", incidents=("INC-1",), case_id="case-theme")

        assert refused.value.reason_code == "too_few_incidents"
        assert engine.store.history("case-theme") == ()

    def test_the_same_incident_twice_counts_once(self, lifecycle: Any) -> None:
        """Listing one incident twice is still one incident (§2)."""
        with pytest.raises(GuardFailed):
            lifecycle.open("thematic_review", incidents=("INC-1", "INC-1"))

    def test_opens_with_two_incidents(self, lifecycle: Any) -> None:
        """Two distinct incidents are enough to open a thematic review (§2)."""
        case = lifecycle.open("thematic_review", incidents=("INC-2", "INC-1"))

        assert case.facts["incident_ids"] == ("INC-1", "INC-2")
        assert case.state == "commissioned"

    def test_needs_terms_of_reference_and_peer_review(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A thematic review needs terms of reference and a peer review before approval (§6)."""
        case = lifecycle.to("review", workflow="thematic_review", terms=False, review=False)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.lead)

        assert [f.reason_code for f in refused.value.failures] == [
            "terms_of_reference_missing",
            "peer_review_missing",
            "findings_not_agreed",
        ]


class TestPsiiRequirements:
    """The PSII has the fullest set of requirements."""

    def test_needs_terms_of_reference_and_engagement_outcome(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A PSII needs terms of reference and an engagement outcome to approve (§6 st. 4, §7.1)."""
        case = lifecycle.record_review(lifecycle.to("review", terms=False, engagement=None))

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.lead)

        assert [f.reason_code for f in refused.value.failures] == [
            "terms_of_reference_missing",
            "engagement_outcome_missing",
        ]

    def test_needs_an_engagement_lead_when_assigning(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Assigning a PSII lead without an engagement lead is refused (§5: engagement lead)."""
        case = lifecycle.open("psii")

        with pytest.raises(Exception, match="'engagement_lead_id' is required"):
            engine.fire(case.id, "assign_lead", actor=cast.pss, payload={"lead_id": "lead-1"})

    def test_mdt_review_needs_expert_input(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """An MDT review records multidisciplinary (expert) input before approval (§2)."""
        case = lifecycle.to("review", workflow="mdt_review", review=False)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.lead)

        assert refused.value.failures[0].reason_code == "expert_input_missing"
        assert MDT_REVIEW.transition("record_peer_review") is None


#: Who approves each response type: the executive lead for a PSII, otherwise a senior leader
#: (psirf-rules §5: local choice; these are the library's defaults).
APPROVERS = {
    "psii": ("executive_lead",),
    "after_action_review": ("senior_leader",),
    "swarm_huddle": ("senior_leader",),
    "hot_debrief": ("senior_leader",),
    "mdt_review": ("senior_leader",),
    "thematic_review": ("senior_leader",),
}


class TestApprovers:
    """Approver roles per response type."""

    @pytest.mark.parametrize("workflow", ALL)
    def test_approver_roles(self, workflow: str) -> None:
        """Approve and return-for-rework name the approver roles in the table (psirf-rules §5)."""
        definition = LEARNING_RESPONSES[workflow]

        for trigger in ("approve", "return_for_rework"):
            assert (
                tuple(r.value for r in definition.transitions[trigger].roles)
                == (APPROVERS[workflow])
            )

    def test_senior_leader_cannot_approve_a_psii(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A senior leader may not approve a PSII; the executive lead may (psirf-rules §5)."""
        case = lifecycle.to("awaiting_approval")

        with pytest.raises(RoleNotPermitted):
            engine.fire(case.id, "approve", actor=cast.senior, payload={"report_ref": "R-1"})
        approved = engine.fire(
            case.id, "approve", actor=cast.executive, payload={"report_ref": "R-1"}
        )
        assert approved.entry.role == Role.EXECUTIVE_LEAD

    def test_executive_lead_cannot_approve_an_aar(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """An AAR is approved by a senior leader, not the executive lead (psirf-rules §5)."""
        case = lifecycle.to("awaiting_approval", workflow="after_action_review")

        with pytest.raises(RoleNotPermitted):
            engine.fire(case.id, "approve", actor=cast.executive, payload={"report_ref": "R-1"})
        assert (
            engine.fire(
                case.id, "approve", actor=cast.senior, payload={"report_ref": "R-1"}
            ).case.state
            == "approved"
        )

    def test_every_variant_is_listed(self) -> None:
        """The built-in variants are exactly the six response types of psirf-rules §2."""
        assert {d.name for d in (PSII, AFTER_ACTION_REVIEW, SWARM_HUDDLE, HOT_DEBRIEF)} | {
            MDT_REVIEW.name,
            THEMATIC_REVIEW.name,
        } == set(ALL)
