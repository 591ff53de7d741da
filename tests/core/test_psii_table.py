"""Every (state, trigger, role) of the PSII definition against a table written by hand.

The expectations below are typed out from psirf-rules §4.1, §5, §6 and §9.1 as the library
implements them; they are deliberately *not* derived from ``psirf_flow.workflows.PSII``, so
a change to the definition that is not also made here fails the table.

Each case is built directly in its state (with the facts a case has by then) and the
command is decided by the pure core, which keeps ~3,500 cases fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import attrs
import pytest

from psirf_flow import (
    Actor,
    Case,
    Command,
    GuardFailed,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
    decide,
)
from psirf_flow.domain import FactValue
from psirf_flow.workflows import PSII


ORG = "RX1"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

STATES = (
    "commissioned",
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
    "approved",
    "shared",
    "closed",
    "on_hold",
    "stood_down",
)
OPEN_WORK = STATES[:6]
ENGAGING = ("planning", "gathering_and_analysis", "drafting", "review")
#: Where the executive lead may extend the target date (psirf-rules §4.1, §9.1): from the
#: start of the clock until approval, and while on hold.
EXTENDABLE = (
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
    "on_hold",
)


@attrs.frozen
class Refused:
    """Expected refusal by guards, with the reason codes of every failed guard, in order."""

    codes: tuple[str, ...]
    #: Codes for a role whose holder (in :func:`actor_with`) fails more guards.
    by_role: Mapping[Role, tuple[str, ...]] = attrs.field(factory=dict)

    def codes_for(self, role: Role) -> tuple[str, ...]:
        """The codes expected when a holder of ``role`` fires the trigger."""
        return self.by_role.get(role, self.codes)


Expected = str | Refused

PSS = Role.PATIENT_SAFETY_SPECIALIST
EXEC = Role.EXECUTIVE_LEAD
LRL = Role.LEARNING_RESPONSE_LEAD
ENG = Role.ENGAGEMENT_LEAD
PEER = Role.PEER_REVIEWER
SENIOR = Role.SENIOR_LEADER

#: Everyone who may sign a step of a plan's sign-off chain (all but reporters, overseers
#: and psirf_flow itself).
SIGNERS = frozenset(Role) - {
    Role.REPORTER,
    Role.PATIENT_SAFETY_PARTNER,
    Role.ICB_OVERSIGHT,
    Role.SYSTEM,
}
NO_CHAIN = Refused(("no_sign_off_chain",), by_role={LRL: ("no_sign_off_chain", "approver_is_lead")})

#: trigger -> (roles that may fire it, {state it may be fired from: expected outcome}).
#: An outcome is the destination state, or :class:`Refused` with the failed guards' codes.
TABLE: Mapping[str, tuple[frozenset[Role], Mapping[str, Expected]]] = {
    "assign_lead": (frozenset({PSS, EXEC}), {"commissioned": "planning"}),
    "begin_gathering": (frozenset({LRL}), {"planning": "gathering_and_analysis"}),
    "complete_analysis": (frozenset({LRL}), {"gathering_and_analysis": "drafting"}),
    "submit_draft": (frozenset({LRL}), {"drafting": "review"}),
    # The case in review has terms of reference and an engagement outcome but none of the
    # review records yet, so every missing review step is listed.
    "request_approval": (
        frozenset({LRL}),
        {
            "review": Refused(
                (
                    "peer_review_missing",
                    "expert_input_missing",
                    "staff_accuracy_check_missing",
                    "family_draft_review_missing",
                    "findings_not_agreed",
                )
            )
        },
    ),
    "return_for_rework": (frozenset({EXEC}), {"awaiting_approval": "drafting"}),
    "approve": (frozenset({EXEC}), {"awaiting_approval": "approved"}),
    "share": (frozenset({ENG, LRL}), {"approved": "shared"}),
    "close": (frozenset({PSS}), {"shared": "closed"}),
    "record_terms_of_reference": (frozenset({LRL}), {s: s for s in ENGAGING}),
    "record_engagement": (frozenset({ENG, LRL}), {s: s for s in ENGAGING}),
    # psirf-rules §5 rule 1: staff found to be involved are added while the work is open.
    "record_staff_involved": (frozenset({PSS, EXEC, LRL}), {s: s for s in OPEN_WORK}),
    "record_peer_review": (frozenset({PEER}), {"review": "review"}),
    "record_expert_input": (frozenset({LRL}), {"review": "review"}),
    "record_staff_accuracy_check": (frozenset({LRL}), {"review": "review"}),
    "record_family_draft_response": (frozenset({ENG}), {"review": "review"}),
    "agree_findings": (frozenset({SENIOR}), {"review": "review"}),
    # psirf-rules §4.1, §6 stage 4: the lead agrees the target date while planning or
    # gathering; the executive lead (never the lead, §5 rule 5) extends it or overrides the
    # hard cap.
    "agree_timescale": (
        frozenset({LRL}),
        {"planning": "planning", "gathering_and_analysis": "gathering_and_analysis"},
    ),
    # psirf-rules §4.1, §5 rule 5: extensions are steps. The lead requests, the engagement
    # lead records the family's position and the executive lead approves or refuses; only
    # the held case below has a request pending with the family's position recorded.
    "request_extension": (frozenset({LRL}), {s: s for s in EXTENDABLE}),
    "record_family_position": (
        frozenset({ENG}),
        {
            s: "on_hold" if s == "on_hold" else Refused(("no_extension_requested",))
            for s in EXTENDABLE
        },
    ),
    "approve_extension": (
        frozenset({EXEC}),
        {
            s: "on_hold"
            if s == "on_hold"
            else Refused(("no_extension_requested", "family_position_missing"))
            for s in EXTENDABLE
        },
    ),
    "refuse_extension": (
        frozenset({EXEC}),
        {
            s: "on_hold" if s == "on_hold" else Refused(("no_extension_requested",))
            for s in EXTENDABLE
        },
    ),
    "override_hard_cap": (frozenset({EXEC}), {s: s for s in EXTENDABLE}),
    "hold": (frozenset({EXEC}), dict.fromkeys(OPEN_WORK, "on_hold")),
    # The on-hold case below was held from drafting.
    "resume": (frozenset({EXEC}), {"on_hold": "drafting"}),
    "stand_down": (frozenset({EXEC}), dict.fromkeys((*OPEN_WORK, "on_hold"), "stood_down")),
    "reopen": (frozenset({EXEC}), {"closed": "gathering_and_analysis"}),
    # Without a plan there is no sign-off chain: only 'approve' approves (psirf-rules §5);
    # the lead (who wrote the report) is refused as well (SoD 2).
    "record_sign_off": (SIGNERS, {"awaiting_approval": NO_CHAIN}),
    "sign_off": (SIGNERS, {"awaiting_approval": NO_CHAIN}),
    "return_from_sign_off": (SIGNERS, {"awaiting_approval": NO_CHAIN}),
    # Without a plan every response type has a sharing step (psirf-rules §6 stage 9).
    "close_without_sharing": (
        frozenset({PSS}),
        {"approved": Refused(("sharing_step_required",))},
    ),
    # psirf-rules §6 stage 7: responses to comments and draft versions during review.
    "record_comment_response": (frozenset({LRL}), {"review": "review"}),
    "record_draft_version": (frozenset({LRL}), {"review": "review"}),
    # psirf-rules §5 rule 1, issue 9 item 7: the lead or engagement lead is replaced while
    # the work is open (not before anyone is named).
    "reassign_lead": (frozenset({PSS, EXEC}), {s: s for s in OPEN_WORK if s != "commissioned"}),
    "reassign_engagement_lead": (
        frozenset({PSS, EXEC}),
        {s: s for s in OPEN_WORK if s != "commissioned"},
    ),
}

#: A valid payload for each trigger.
PAYLOADS: Mapping[str, Mapping[str, object]] = {
    "assign_lead": {"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
    "begin_gathering": {},
    "complete_analysis": {},
    "submit_draft": {"draft_ref": "DOC-draft-2"},
    "request_approval": {},
    "return_for_rework": {"rework_reason": "factual_gaps"},
    "approve": {"report_ref": "DOC-report-1"},
    "share": {"family_sharing": "shared", "shared_with_staff": True},
    "close": {"safety_action_ids": ["SA-1"]},
    "record_terms_of_reference": {
        "terms_of_reference_ref": "DOC-tor-2",
        "family_involvement_in_terms": "involved",
    },
    "record_engagement": {"person_id": "pat-1", "person_kind": "patient", "engagement": "declined"},
    "record_staff_involved": {"involved_staff_ids": ["staff-1", "staff-2"]},
    "reassign_lead": {
        "lead_id": "lead-2",
        "replaced_lead_id": "lead-1",
        "reassign_reason": "unavailable",
    },
    "reassign_engagement_lead": {
        "engagement_lead_id": "eng-2",
        "replaced_engagement_lead_id": "eng-1",
        "reassign_reason": "involved_in_incident",
    },
    "record_peer_review": {"peer_review_ref": "DOC-peer-1"},
    "record_expert_input": {"expert_input": "panel", "expert_ids": ["sme-1"]},
    "record_staff_accuracy_check": {"staff_accuracy_check": "confirmed"},
    "record_family_draft_response": {"family_draft_response": "no_comments"},
    "agree_findings": {},
    # Started 2026-01-05 and decided 2026-03-02, without a plan: the timescale ends
    # 2026-04-07 (3 months, after Easter) and the hard cap 2026-07-06 (6 months).
    "agree_timescale": {"target_date": "2026-03-31", "family_timescale_agreement": "agreed"},
    "request_extension": {
        "requested_target_date": "2026-05-29",
        "extension_reason": "external_process",
    },
    "record_family_position": {"family_extension_position": "agreed"},
    "approve_extension": {"target_date": "2026-05-29"},
    "refuse_extension": {"extension_refusal_reason": "not_justified"},
    "override_hard_cap": {
        "target_date": "2026-08-31",
        "extension_reason": "external_process",
        "hard_cap_override_reason": "external_process",
        "family_extension_agreement": "declined",
    },
    "hold": {"hold_reason": "external_process"},
    "resume": {},
    "stand_down": {"stand_down_reason": "duplicate"},
    "reopen": {"new_information_ref": "DOC-new-1", "reopen_reason": "inquest"},
    "record_sign_off": {"sign_off_step": 1},
    "sign_off": {"report_ref": "DOC-report-1"},
    "return_from_sign_off": {"rework_reason": "other"},
    "close_without_sharing": {"safety_action_ids": ["SA-1"]},
    "record_comment_response": {
        "commenter": "family",
        "comment_ref": "DOC-comment-1",
        "comment_response_ref": "DOC-reply-1",
    },
    "record_draft_version": {"draft_ref": "DOC-draft-3", "draft_digest": "ab" * 32},
}

_OPENED_FACTS: dict[str, FactValue] = {
    "incident_ids": ("INC-1",),
    "involved_staff_ids": ("staff-1",),
    "involved_line_manager_ids": ("mgr-1",),
    "opened_by": "pss-1",
}
_ASSIGNED = {
    **_OPENED_FACTS,
    "lead_id": "lead-1",
    "engagement_lead_id": "eng-1",
    "started_on": "2026-01-05",
}
_PLANNED = {
    **_ASSIGNED,
    "terms_of_reference_ref": "DOC-tor-1",
    "family_involvement_in_terms": "involved",
    "family_engagement": "involved",
    "target_date": "2026-03-20",
    "family_timescale_agreement": "agreed",
}
_DRAFTED = {**_PLANNED, "draft_ref": "DOC-draft-1", "author_id": "lead-1"}
_REVIEWED = {
    **_DRAFTED,
    "peer_review_ref": "DOC-peer-1",
    "peer_reviewer_id": "peer-1",
    "expert_input": "panel",
    "expert_ids": ("sme-1",),
    "staff_accuracy_check": "confirmed",
    "family_draft_response": "commented",
    "findings_agreed_by": "senior-1",
}
_APPROVED = {**_REVIEWED, "report_ref": "DOC-report-1", "approved_by": "exec-1"}
_SHARED = {**_APPROVED, "family_sharing": "shared"}

#: The facts a case has gathered by the time it is in each state.
FACTS: Mapping[str, Mapping[str, FactValue]] = {
    "commissioned": _OPENED_FACTS,
    "planning": _ASSIGNED,
    "gathering_and_analysis": _PLANNED,
    "drafting": _PLANNED,
    "review": _DRAFTED,
    "awaiting_approval": _REVIEWED,
    "approved": _APPROVED,
    "shared": _SHARED,
    "closed": {**_SHARED, "safety_action_ids": ("SA-1",)},
    "on_hold": {
        **_PLANNED,
        "hold_reason": "other",
        "requested_target_date": "2026-05-29",
        "extension_requested_by": "lead-1",
        "family_extension_position": "agreed",
    },
    "stood_down": {**_ASSIGNED, "stand_down_reason": "duplicate"},
}


def case_in(state: str) -> Case:
    """A PSII case standing in ``state``."""
    return Case(
        id="case-table",
        workflow="psii",
        workflow_version="1",
        organisation=ORG,
        state=state,
        version=7,
        facts=FACTS[state],
        opened_at=OPENED,
        updated_at=OPENED,
        held_from="drafting" if state == "on_hold" else None,
        head_hash="ab" * 32,
    )


def actor_with(role: Role) -> Actor:
    """A person holding exactly ``role``; a learning response lead is the assigned lead."""
    actor_id = {
        LRL: "lead-1",
        ENG: "eng-1",
        PEER: "peer-1",
        SENIOR: "senior-1",
        EXEC: "exec-1",
        PSS: "pss-1",
    }.get(role, role.value.replace("_", "-") + "-1")
    return Actor(actor_id, [role], ORG)


CASES = [
    pytest.param(state, trigger, role, id=f"{state}-{trigger}-{role.value}")
    for state in STATES
    for trigger in TABLE
    for role in Role
]


class TestPsiiTable:
    """Every (state, trigger, role) of the PSII."""

    def test_table_covers_every_trigger_and_state(self) -> None:
        """The table names exactly the PSII's triggers and states, so none goes untested."""
        assert set(TABLE) == set(PSII.triggers)
        assert set(STATES) == set(PSII.states)
        assert len(CASES) == len(STATES) * len(TABLE) * len(Role)

    @pytest.mark.parametrize(("state", "trigger", "role"), CASES)
    def test_outcome(self, state: str, trigger: str, role: Role) -> None:
        """The command is refused or accepted exactly as the hand-written table says."""
        roles, outcomes = TABLE[trigger]
        case = case_in(state)
        command = Command(trigger=trigger, actor=actor_with(role), payload=PAYLOADS[trigger])
        if state not in outcomes:
            with pytest.raises(TransitionNotAllowed) as not_allowed:
                decide(PSII, case, command, now=NOW)
            assert not_allowed.value.state == state
            assert not_allowed.value.allowed_from == tuple(sorted(outcomes))
            return
        if role not in roles:
            with pytest.raises(RoleNotPermitted) as not_permitted:
                decide(PSII, case, command, now=NOW)
            assert set(not_permitted.value.permitted_roles) == {r.value for r in roles}
            return
        expected = outcomes[state]
        if isinstance(expected, Refused):
            with pytest.raises(GuardFailed) as refused:
                decide(PSII, case, command, now=NOW)
            assert tuple(r.reason_code for r in refused.value.failures) == expected.codes_for(role)
            return
        decision = decide(PSII, case, command, now=NOW)
        assert decision.case.state == expected
        assert decision.entry.from_state == state
        assert decision.entry.to_state == expected
        assert decision.entry.role == role.value
        assert decision.entry.sequence == case.version + 1
        assert all(r.ok for r in decision.guard_results)

    def test_request_approval_from_complete_review_is_accepted(self) -> None:
        """With every review record present, request approval moves review to awaiting approval."""
        case = attrs.evolve(case_in("review"), facts=_REVIEWED)
        command = Command(trigger="request_approval", actor=actor_with(LRL))

        decision = decide(PSII, case, command, now=NOW)

        assert decision.case.state == "awaiting_approval"
        assert [r.name for r in decision.guard_results] == [
            "actor_is_lead",
            "terms_of_reference_recorded",
            "engagement_outcome_recorded",
            "peer_review_recorded",
            "expert_input_recorded",
            "staff_accuracy_checked",
            "family_draft_review_recorded",
            "findings_agreed",
            "team_independent",
        ]
