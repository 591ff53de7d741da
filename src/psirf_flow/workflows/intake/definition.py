"""The incident intake lifecycle: from report, through triage, to the response decision.

Main path (psirf-rules §6 stages 0 and 2, §9.0):

```text
reported -> under_review -> response_decided
                         -> no_further_response
                         -> referred -> closed
reported | under_review  -> transferred
```

* ``reported``: opened by a reporter or patient safety specialist with the incident id, the
  LFPSE reference and the LFPSE harm codes (§8.1, the one vocabulary of
  [`psirf_flow.policy.harm`][psirf_flow.policy.harm]). The LFPSE record may be updated later (§0.5
  rule 8, §4.3), so ``update_incident_record`` is allowed at any stage, after the decision too; harm
  graded moderate or above, at the report or on any re-grade, opens a duty-of-candour assessment
  (the ``open_candour_screening`` and ``rescreen_candour`` couplings, §9.4).
* ``under_review``: the patient safety team records the triage recommendation
  (``record_triage``: national rule references, plan priorities, the plan version and
  whether an executive decision is required) and then decides. The triage itself is done
  elsewhere ([`psirf_flow.policy`][psirf_flow.policy] or the host's own process); the lifecycle
  keeps only its result, as opaque codes and ids, and enforces the order of §0.5 rule 1.
* ``response_decided``: a learning response type was chosen (the plan's open vocabulary),
  with its basis, a rationale code and the decider.
* ``no_further_response``: with a rationale code; refused while a national requirement is
  outstanding.
* ``referred``: referred to one body or more (``refer``, then ``add_referral``), each a
  body a national rule names or a local body the plan declares, at most once each. Every
  referral is its own record ([`psirf_flow.workflows.referral`][psirf_flow.workflows.referral],
  opened by the coupling ``open_referral``) that tracks the notification (reference and date) and,
  where the body leads, the trust's contribution. A local response can be commissioned alongside (§3
  rows 5 to 7, "locally-led PSII may be required"). ``close_referral`` ends the intake once
  every referral of the incident is completed or withdrawn.
* ``transferred``: not our incident; transferred to another organisation (its code as
  data) with a reason code.

Along the way the intake records which of the plan's regulator notification steps apply
(``record_required_notifications``) and each one made (``record_regulator_notification``;
none may be outstanding when the response is decided or the referral closed), and the
scheduled thematic reviews the incident was added to (``add_to_thematic_review``; under a
plan only a review triage found the incident met, ``thematic_reviews_met``, or one its
priority routes to: the guard ``thematic_review_met``, psirf-rules §2). A
decision may draw on the plan's reserve capacity (``reserve_capacity_used``).

A national requirement is set aside only by ``override_national_requirement``: executive
lead only, with a reason code (recording triage again may add national rules but never
drop one that no override has set aside: the guard ``national_rules_kept``), and its
audit entry carries
[`NATIONAL_OVERRIDE_RULE`][psirf_flow.workflows.intake.definition.NATIONAL_OVERRIDE_RULE] so
[`psirf_flow.oversight.overridden_national_requirements`][psirf_flow.oversight.overridden_national_requirements]
lists it for board and ICB dashboards (§5 segregation rule 7, §9.4 escalation matrix).
"""

from __future__ import annotations

from typing import Final

from psirf_flow.domain import Role
from psirf_flow.policy.harm import PHYSICAL_HARM_CODES, PSYCHOLOGICAL_HARM_CODES
from psirf_flow.policy.plan import DECIDER_ROLES
from psirf_flow.workflows.guards import GuardSpec, lifecycle_guards
from psirf_flow.workflows.guards_referral import REFERRAL_GUARD_SPECS
from psirf_flow.workflows.guards_thematic import THEMATIC_GUARD_SPECS
from psirf_flow.workflows.intake.guards import INTAKE_GUARDS
from psirf_flow.workflows.spec import (
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)


__all__ = [
    "BASES",
    "DEPARTURE_REASONS",
    "INTAKE",
    "NATIONAL_OVERRIDE_RULE",
    "NO_RESPONSE_RATIONALES",
    "OVERRIDE_REASONS",
    "PHYSICAL_HARM",
    "PLAN_DEPARTURE_RULE",
    "PSYCHOLOGICAL_HARM",
    "RESPONSE_RATIONALES",
    "SCREENED_FROM_REPORT",
    "STATES",
    "TRANSFER_REASONS",
]

LIFECYCLE_GUARDS: Final = lifecycle_guards(
    (GuardSpec(*row) for row in INTAKE_GUARDS), REFERRAL_GUARD_SPECS, THEMATIC_GUARD_SPECS
)
"""The guards this lifecycle resolves its guard names against: the shared ones and its own."""

SCREENED_FROM_REPORT: Final = "candour_screened_from_report"
"""Preset on every intake: duty-of-candour screening follows its harm grading from the
report on (the ``open_candour_screening`` coupling); intakes opened before carry no such
fact and are screened at their decision instead."""

NATIONAL_OVERRIDE_RULE: Final = "psirf.sod.national_override@1"
"""Rule reference carried by the audit entry of every national-requirement override; the
oversight query looks for it (psirf-rules §5 segregation rule 7)."""

STATES: Final = (
    "reported",
    "under_review",
    "referred",
    "response_decided",
    "no_further_response",
    "closed",
    "transferred",
)
"""Every state an intake can be in."""

PHYSICAL_HARM: Final = PHYSICAL_HARM_CODES
"""LFPSE physical harm levels (psirf-rules §8.1), the one harm vocabulary of
[`psirf_flow.policy.harm`][psirf_flow.policy.harm] (``none`` replaced the old ``no_harm``)."""
PSYCHOLOGICAL_HARM: Final = PSYCHOLOGICAL_HARM_CODES
"""LFPSE psychological harm levels (psirf-rules §8.1; experimental in LFPSE)."""
BASES: Final = ("national_requirement", "local_priority", "emergent_risk", "proportionate")
"""Where a response decision comes from, in the order of psirf-rules §0.5 rule 1."""
RESPONSE_RATIONALES: Final = (
    "national_requirement_applies",
    "plan_planned_response",
    "plan_response_changed_case_by_case",
    "significant_risk_identified",
    "learning_opportunity",
    "concern_raised_by_patient_family_or_staff",
    "other",
)
"""Why a learning response was chosen."""
NO_RESPONSE_RATIONALES: Final = (
    "no_new_learning",
    "learning_captured_elsewhere",
    "covered_by_existing_improvement_plan",
    "immediate_actions_sufficient",
    "not_a_patient_safety_incident",
    "duplicate_report",
    "other",
)
"""Why no further learning response is needed (psirf-rules §2, last row)."""
PLAN_DEPARTURE_RULE: Final = "psirf.plan.departure@1"
"""Rule reference carried by every response decision, which the plan may permit to depart
from its allowed responses; the oversight query lists the entries that did, with their
reason (psirf-rules §0.5 rule 1, §1.8;
[`psirf_flow.oversight.plan_departures`][psirf_flow.oversight.plan_departures]).
"""
DEPARTURE_REASONS: Final = (
    "more_proportionate_response",
    "greater_learning_opportunity",
    "patient_or_family_wishes",
    "already_examined_elsewhere",
    "other",
)
"""Why a response outside the plan's allowed list was chosen (where the plan permits it)."""
OVERRIDE_REASONS: Final = (
    "criteria_not_met_on_review",
    "already_investigated_elsewhere",
    "national_rule_under_review",
    "other",
)
"""Why an executive lead set a national requirement aside."""

_DECIDERS: Final = DECIDER_ROLES
"""Who may take a response decision step: every role a plan may name as decider; the guard
``decider_per_plan`` does the real check (without a plan: specialist or executive lead)."""
_TEAM: Final = (Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD)
_REFERRAL_OPEN: Final = ("referred",)
_TRIAGE_FACTS: Final = (
    "national_rule_refs",
    "national_psii_rule_refs",
    "plan_priority_ids",
    "plan_ref",
    "executive_decision_required",
    "recommended_response",
    "thematic_reviews_met",
)
_DECISION_NOTE: Final = FieldSpec("decision_note", FieldKind.TEXT)
_DECIDER_FIELDS: Final = (
    FieldSpec("decider_committee", FieldKind.IDENTIFIER),
    FieldSpec("meeting_ref", FieldKind.REFERENCE),
)
"""A committee's decision names the committee and its meeting (the plan's decided_by)."""
_RESPONSE_FIELDS: Final = (
    FieldSpec("response_type", FieldKind.IDENTIFIER, required=True),
    FieldSpec.choice("basis", BASES, required=True),
    FieldSpec.choice("rationale", RESPONSE_RATIONALES, required=True),
    FieldSpec("plan_priority_id", FieldKind.IDENTIFIER),
    _DECISION_NOTE,
    FieldSpec.choice("departure_reason", DEPARTURE_REASONS),
    FieldSpec("departure_note", FieldKind.TEXT),
    *_DECIDER_FIELDS,
    FieldSpec("reserve_capacity_used", FieldKind.FLAG),
)
_HARM_FIELDS: Final = (
    FieldSpec("lfpse_ref", FieldKind.REFERENCE),
    FieldSpec.choice("physical_harm", PHYSICAL_HARM),
    FieldSpec.choice("psychological_harm", PSYCHOLOGICAL_HARM),
)

_STAFF_FIELDS: Final = (
    FieldSpec("involved_staff_ids", FieldKind.IDENTIFIERS),
    FieldSpec("involved_line_manager_ids", FieldKind.IDENTIFIERS),
)
"""Staff involved in the incident and their line managers, as opaque person ids (psirf-rules
§5 rule 1): the learning response a decision opens receives them, and its independence
guards check its lead, engagement lead and peer reviewer against them."""

_OPENING: Final = OpeningSpec(
    roles=(Role.REPORTER, Role.PATIENT_SAFETY_SPECIALIST),
    fields=(
        FieldSpec("incident_id", FieldKind.IDENTIFIER, required=True),
        *_HARM_FIELDS,
        *_STAFF_FIELDS,
    ),
    rules=("psirf.intake.report@1",),
    # Every intake opened since candour screening follows the harm grading (from the report
    # on) says so; an older one is still screened at its decision (psirf-rules §9.4).
    preset={SCREENED_FROM_REPORT: True},
)

_TRIAGE: Final = (
    TransitionSpec(
        trigger="update_incident_record",
        # At any stage (psirf-rules §4.3, §9.4): the LFPSE record may change after the
        # decision, and every re-grade re-screens for duty of candour.
        sources=STATES,
        dest=SAME_STATE,
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        fields=_HARM_FIELDS,
        rules=("psirf.intake.lfpse_update@1",),
        reopens=True,
        summary="Update the LFPSE reference or harm levels as facts become clearer, at any "
        "stage; a re-grade re-screens for duty of candour.",
    ),
    TransitionSpec(
        trigger="record_staff_involved",
        sources=("reported", "under_review", *_REFERRAL_OPEN),
        dest=SAME_STATE,
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        guards=("staff_involved_kept",),
        fields=(
            FieldSpec("involved_staff_ids", FieldKind.IDENTIFIERS, required=True),
            FieldSpec("involved_line_manager_ids", FieldKind.IDENTIFIERS),
        ),
        rules=("psirf.sod.independent_lead@1",),
        summary="Record the staff involved in the incident (and their line managers), as "
        "the full list so far: a list adds people, never drops one.",
    ),
    TransitionSpec(
        trigger="begin_review",
        sources=("reported",),
        dest="under_review",
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        rules=("psirf.intake.review@1",),
        actor_fact="reviewed_by",
        summary="The patient safety team starts reviewing the incident against the plan.",
    ),
    TransitionSpec(
        trigger="record_triage",
        sources=("under_review",),
        dest=SAME_STATE,
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        guards=("triage_refs_consistent", "national_rules_kept", "triage_under_governing_plan"),
        fields=(
            FieldSpec("national_rule_refs", FieldKind.IDENTIFIERS),
            FieldSpec("national_psii_rule_refs", FieldKind.IDENTIFIERS),
            FieldSpec("plan_priority_ids", FieldKind.IDENTIFIERS),
            FieldSpec("plan_ref", FieldKind.REFERENCE, required=True),
            FieldSpec("executive_decision_required", FieldKind.FLAG),
            FieldSpec("recommended_response", FieldKind.IDENTIFIER),
            # H9: the scheduled thematic reviews the incident met (criteria or priority).
            FieldSpec("thematic_reviews_met", FieldKind.IDENTIFIERS),
        ),
        rules=("psirf.triage.order@1",),
        actor_fact="triaged_by",
        clears=_TRIAGE_FACTS,
        summary="Record the triage recommendation and the rule references behind it "
        "(recording it again replaces it, but never drops a national rule already recorded "
        "unless the executive override set it aside).",
    ),
    TransitionSpec(
        trigger="override_national_requirement",
        sources=("under_review", *_REFERRAL_OPEN),
        dest=SAME_STATE,
        roles=(Role.EXECUTIVE_LEAD,),
        guards=("triage_recorded", "override_confirmed", "override_matches_triage"),
        fields=(
            FieldSpec("overridden_rule_refs", FieldKind.IDENTIFIERS, required=True),
            FieldSpec("national_requirement_overridden", FieldKind.FLAG, required=True),
            FieldSpec.choice("override_reason", OVERRIDE_REASONS, required=True),
            FieldSpec("override_note", FieldKind.TEXT),
        ),
        rules=(NATIONAL_OVERRIDE_RULE,),
        actor_fact="overridden_by",
        summary="The executive lead sets national requirements aside, with a reason; "
        "flagged for board and ICB oversight.",
    ),
)

_DECISIONS: Final = (
    TransitionSpec(
        trigger="decide_response",
        sources=("under_review",),
        dest="response_decided",
        roles=_DECIDERS,
        guards=(
            "triage_recorded",
            "executive_decides_significant_risk",
            "decider_per_plan",
            "basis_consistent_with_triage",
            "national_psii_respected",
            "national_referral_respected",
            "response_within_plan",
            "required_notifications_made",
            "reserve_draw_allowed",
        ),
        fields=_RESPONSE_FIELDS,
        rules=(
            "psirf.triage.order@1",
            "psirf.triage.executive_decision@1",
            PLAN_DEPARTURE_RULE,
        ),
        actor_fact="decided_by",
        summary="Decide the learning response, its basis and rationale; under a plan, one "
        "the plan allows (or a departure it permits, with a reason), by the decider it names.",
    ),
    TransitionSpec(
        trigger="decide_no_further_response",
        sources=("under_review",),
        dest="no_further_response",
        roles=_DECIDERS,
        guards=(
            "triage_recorded",
            "executive_decides_significant_risk",
            "decider_per_plan",
            "no_outstanding_national_requirement",
            "no_further_response_within_plan",
            "required_notifications_made",
        ),
        fields=(
            FieldSpec.choice("no_response_rationale", NO_RESPONSE_RATIONALES, required=True),
            _DECISION_NOTE,
            *_DECIDER_FIELDS,
        ),
        rules=("psirf.triage.order@1", "psirf.triage.no_further_response@1"),
        actor_fact="decided_by",
        summary="Decide that no further learning response is needed, with a rationale.",
    ),
)

_REFERRAL_FIELDS: Final = (
    FieldSpec("referral_body", FieldKind.IDENTIFIER, required=True),
    FieldSpec("referral_rule_ref", FieldKind.IDENTIFIER),
    FieldSpec("body_leads_investigation", FieldKind.FLAG),
    FieldSpec("local_response_also_required", FieldKind.FLAG),
)
_REFERRAL_FACTS: Final = tuple(f.name for f in _REFERRAL_FIELDS)
_REFERRAL_GUARDS: Final = ("triage_recorded", "referral_body_allowed", "one_referral_per_body")

_REFERRAL: Final = (
    TransitionSpec(
        trigger="refer",
        sources=("under_review",),
        dest="referred",
        roles=_TEAM,
        guards=_REFERRAL_GUARDS,
        fields=_REFERRAL_FIELDS,
        rules=("psirf.national.referral@1",),
        actor_fact="referred_by",
        clears=_REFERRAL_FACTS,
        collects=(("referral_body", "referral_bodies"),),
        summary="Refer the incident to a body a national rule names (or a local body the "
        "plan declares); the coupling opens the referral's own record.",
    ),
    TransitionSpec(
        trigger="add_referral",
        sources=("referred",),
        dest=SAME_STATE,
        roles=_TEAM,
        guards=_REFERRAL_GUARDS,
        fields=_REFERRAL_FIELDS,
        rules=("psirf.national.referral@1",),
        clears=_REFERRAL_FACTS,
        collects=(("referral_body", "referral_bodies"),),
        summary="Refer the incident to one more body (one referral per body).",
    ),
    TransitionSpec(
        trigger="commission_local_response",
        sources=_REFERRAL_OPEN,
        dest=SAME_STATE,
        roles=_DECIDERS,
        guards=(
            "triage_recorded",
            "executive_decides_significant_risk",
            "decider_per_plan",
            "basis_consistent_with_triage",
            "national_psii_respected",
            "response_within_plan",
            "reserve_draw_allowed",
        ),
        fields=_RESPONSE_FIELDS,
        rules=(
            "psirf.national.parallel_local_response@1",
            "psirf.triage.order@1",
            PLAN_DEPARTURE_RULE,
        ),
        actor_fact="decided_by",
        summary="Commission a local learning response alongside the referral.",
    ),
    TransitionSpec(
        trigger="close_referral",
        sources=_REFERRAL_OPEN,
        dest="closed",
        roles=_TEAM,
        guards=(
            "referrals_completed",
            "national_referrals_made",
            "local_response_if_referral_requires",
            "required_notifications_made",
        ),
        fields=(_DECISION_NOTE,),
        rules=("psirf.national.referral_closed@1",),
        actor_fact="closed_by",
        summary="Close the intake once every referral of the incident is completed (its "
        "notification recorded) or withdrawn.",
    ),
)

# -- H2: the intake's other outcomes and records (psirf-rules §2, §3, §0.5 rule 1) --------

TRANSFER_REASONS: Final = (
    "care_provided_by_other_organisation",
    "incident_occurred_elsewhere",
    "reported_to_wrong_organisation",
    "other",
)
"""Why an incident is transferred to another organisation (INF)."""

_OTHER_OUTCOMES: Final = (
    TransitionSpec(
        trigger="transfer_to_another_organisation",
        sources=("reported", "under_review"),
        dest="transferred",
        roles=_TEAM,
        guards=("receiving_organisation_other",),
        fields=(
            FieldSpec("receiving_organisation", FieldKind.IDENTIFIER, required=True),
            FieldSpec.choice("transfer_reason", TRANSFER_REASONS, required=True),
            FieldSpec("transfer_ref", FieldKind.REFERENCE),
            _DECISION_NOTE,
        ),
        rules=("psirf.intake.transferred@1",),
        actor_fact="transferred_by",
        summary="Not our incident: transferred to another organisation (an opaque code, "
        "for example its ODS code), with a reason.",
    ),
    TransitionSpec(
        trigger="record_required_notifications",
        sources=("reported", "under_review"),
        dest=SAME_STATE,
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        guards=("notifications_in_plan", "required_notifications_kept"),
        fields=(FieldSpec("required_notification_ids", FieldKind.IDENTIFIERS, required=True),),
        rules=("psirf.intake.regulator_notifications@1",),
        summary="Record which of the plan's regulator notification steps triage found "
        "required (Recommendation.notifications); recording again may add steps, never drop "
        "one.",
    ),
    TransitionSpec(
        trigger="record_regulator_notification",
        sources=("reported", "under_review", *_REFERRAL_OPEN),
        dest=SAME_STATE,
        roles=_TEAM,
        guards=("notifications_in_plan",),
        fields=(
            FieldSpec("notification_id", FieldKind.IDENTIFIER, required=True),
            FieldSpec("regulator_notification_ref", FieldKind.REFERENCE, required=True),
            FieldSpec("regulator_notification_date", FieldKind.DATE, required=True),
        ),
        rules=("psirf.intake.regulator_notifications@1",),
        collects=(("notification_id", "regulator_notifications_made"),),
        summary="Record one regulator notification step (for example to the CQC): its "
        "reference and date.",
    ),
    TransitionSpec(
        trigger="add_to_thematic_review",
        sources=("reported", "under_review", *_REFERRAL_OPEN),
        dest=SAME_STATE,
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        guards=("thematic_review_in_plan", "thematic_review_met"),
        fields=(FieldSpec("thematic_review_id", FieldKind.IDENTIFIER, required=True),),
        rules=("psirf.intake.thematic_review@1",),
        collects=(("thematic_review_id", "thematic_review_ids"),),
        summary="Record that the incident was added to a scheduled thematic review; under a "
        "plan, only one whose criteria triage found met or that its priority routes to.",
    ),
)


def _build() -> WorkflowDefinition:
    return define(
        guards=LIFECYCLE_GUARDS,
        name="incident_intake",
        version="1",
        family="intake",
        title="Incident intake and response decision",
        states=STATES,
        initial="reported",
        final_states=("response_decided", "no_further_response", "closed", "transferred"),
        opening=_OPENING,
        transitions=(*_TRIAGE, *_DECISIONS, *_REFERRAL, *_OTHER_OUTCOMES),
    )


INTAKE: Final = _build()
"""The incident intake lifecycle, ``incident_intake@1``."""
