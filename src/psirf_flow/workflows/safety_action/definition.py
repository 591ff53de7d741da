"""The safety-action lifecycle, as data (psirf-rules §9.2; NAT-G/INF).

Main path:

```text
proposed --agree--> agreed --start--> in_progress --mark_implemented--> implemented
  --begin_monitoring--> monitoring --confirm_effective--> closed_effective
monitoring --confirm_not_effective--> not_effective --revise--> agreed
```

Side exits: ``defer`` (to ``deferred``, remembering the state; ``resume`` goes back),
``accept_risk`` (to ``risk_accepted``) and ``cancel`` (to ``cancelled``), each approved by
someone other than the owner. ``closed_effective``, ``risk_accepted`` and ``cancelled`` are
final, and every other state can reach one of them.

Rules, each a guard (see
[`psirf_flow.workflows.safety_action.guards`][psirf_flow.workflows.safety_action.guards]):

* Opened linked to at least one learning response and one of its areas for improvement.
* ``agree`` is fired by the owner named in the proposal (owner accepted), and needs a
  measure with a baseline and a target (measurable) and a due date (time-bound).
* ``mark_implemented`` needs evidence attached with ``attach_evidence``.
* ``confirm_effective`` and ``confirm_not_effective`` are never fired by the owner
  (psirf-rules §5 SoD 6); ``confirm_effective`` needs the target met.
* ``revise`` (owner) goes back to ``agreed`` with a reference to the revised plan and a new
  due date; the revision is linked through ``revision_ref`` and the audit trail keeps every
  earlier version's facts.
* ``defer`` and ``accept_risk`` are decided at executive or committee tier and name the risk
  register entry; ``cancel`` records a reason and who approved it.

A safety action never blocks the approval or closure of its learning response: the
learning response only links safety action ids, and nothing here reads its state
(psirf-rules §6 design note). The due date's escalations (owner, manager, committee) are a
later issue; they will attach to the ``due_on`` fact and the ``monitoring_until`` fact.
"""

from __future__ import annotations

from typing import Final

from psirf_flow.domain import Role
from psirf_flow.workflows.guards import GuardSpec, lifecycle_guards
from psirf_flow.workflows.safety_action.guards import ACTION_GUARDS
from psirf_flow.workflows.spec import (
    NOTE_FIELD,
    PREVIOUS_STATE,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)


__all__ = ["SAFETY_ACTION", "STATES", "build_safety_action"]

LIFECYCLE_GUARDS: Final = lifecycle_guards(GuardSpec(*row) for row in ACTION_GUARDS)
"""The guards this lifecycle resolves its guard names against: the shared ones and its own."""

NAME: Final = "safety_action"
FAMILY: Final = "safety_action"
VERSION: Final = "1"

STATES: Final = (
    "proposed",
    "agreed",
    "in_progress",
    "implemented",
    "monitoring",
    "not_effective",
    "closed_effective",
    "deferred",
    "risk_accepted",
    "cancelled",
)
"""Every state a safety action can be in."""
_ACTIVE: Final = (
    "proposed",
    "agreed",
    "in_progress",
    "implemented",
    "monitoring",
    "not_effective",
)
_PLANNERS: Final = (
    Role.LEARNING_RESPONSE_LEAD,
    Role.PATIENT_SAFETY_SPECIALIST,
    Role.ACTION_OWNER,
)
_VERIFIERS: Final = (
    Role.PATIENT_SAFETY_SPECIALIST,
    Role.SENIOR_LEADER,
    Role.EXECUTIVE_LEAD,
)
_DECIDERS: Final = (Role.EXECUTIVE_LEAD, Role.PATIENT_SAFETY_SPECIALIST)
_OWNER: Final = (Role.ACTION_OWNER,)
_PLAN_FIELDS: Final = (
    FieldSpec("owner_id", FieldKind.IDENTIFIER),
    FieldSpec("measure_ref", FieldKind.REFERENCE),
    FieldSpec("baseline_ref", FieldKind.REFERENCE),
    FieldSpec("target_ref", FieldKind.REFERENCE),
    FieldSpec("due_on", FieldKind.DATE),
)
_TIER_FIELDS: Final = (
    FieldSpec.choice("decision_tier", ("executive", "committee"), required=True),
    FieldSpec("decision_ref", FieldKind.REFERENCE, required=True),
)
# Facts of one round of delivery, cleared when the action is revised.
_DELIVERY_FACTS: Final = (
    "evidence_ref",
    "monitoring_until",
    "data_source_ref",
    "effectiveness_review_ref",
    "target_met",
    "verified_by",
)


def _main_path() -> list[TransitionSpec]:
    return [
        TransitionSpec(
            trigger="update_proposal",
            sources=("proposed",),
            dest=SAME_STATE,
            roles=_PLANNERS,
            fields=(*_PLAN_FIELDS, NOTE_FIELD),
            summary="Name the owner, the measure (baseline and target) and the due date.",
        ),
        TransitionSpec(
            trigger="agree",
            sources=("proposed",),
            dest="agreed",
            roles=_OWNER,
            guards=("actor_is_owner", "action_measurable", "action_time_bound"),
            rules=("psirf.safety_action.agreed@1",),
            actor_fact="agreed_by",
            summary="The named owner accepts the action, which is measurable and time-bound.",
        ),
        TransitionSpec(
            trigger="start",
            sources=("agreed",),
            dest="in_progress",
            roles=_OWNER,
            guards=("actor_is_owner",),
            summary="The owner starts the work.",
        ),
        TransitionSpec(
            trigger="attach_evidence",
            sources=("in_progress", "implemented", "monitoring"),
            dest=SAME_STATE,
            roles=(Role.ACTION_OWNER, Role.PATIENT_SAFETY_SPECIALIST),
            fields=(FieldSpec("evidence_ref", FieldKind.REFERENCE, required=True),),
            summary="Attach evidence of implementation (a reference to a document).",
        ),
        TransitionSpec(
            trigger="mark_implemented",
            sources=("in_progress",),
            dest="implemented",
            roles=_OWNER,
            guards=("actor_is_owner", "implementation_evidence_recorded"),
            rules=("psirf.safety_action.implemented@1",),
            summary="The owner marks the action implemented, with evidence attached.",
        ),
        TransitionSpec(
            trigger="begin_monitoring",
            sources=("implemented",),
            dest="monitoring",
            roles=(Role.ACTION_OWNER, Role.PATIENT_SAFETY_SPECIALIST),
            fields=(
                FieldSpec("monitoring_until", FieldKind.DATE, required=True),
                FieldSpec("data_source_ref", FieldKind.REFERENCE, required=True),
            ),
            summary="Start measuring the effect: until when, and from which data.",
        ),
        TransitionSpec(
            trigger="confirm_effective",
            sources=("monitoring",),
            dest="closed_effective",
            roles=_VERIFIERS,
            guards=("verifier_not_owner", "target_met"),
            fields=(
                FieldSpec("effectiveness_review_ref", FieldKind.REFERENCE, required=True),
                FieldSpec("target_met", FieldKind.FLAG, required=True),
            ),
            rules=("psirf.sod.verifier_not_owner@1",),
            actor_fact="verified_by",
            summary="Someone other than the owner confirms the target was met; closed.",
        ),
        TransitionSpec(
            trigger="confirm_not_effective",
            sources=("monitoring",),
            dest="not_effective",
            roles=_VERIFIERS,
            guards=("verifier_not_owner",),
            fields=(
                FieldSpec("effectiveness_review_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice(
                    "not_effective_reason",
                    ("target_not_met", "unintended_consequences", "not_sustained"),
                    required=True,
                ),
            ),
            rules=("psirf.sod.verifier_not_owner@1",),
            actor_fact="verified_by",
            summary="Someone other than the owner finds the action not effective.",
        ),
        TransitionSpec(
            trigger="revise",
            sources=("not_effective",),
            dest="agreed",
            roles=_OWNER,
            guards=("actor_is_owner", "action_measurable", "action_time_bound"),
            fields=(
                FieldSpec("revision_ref", FieldKind.REFERENCE, required=True),
                FieldSpec("due_on", FieldKind.DATE, required=True),
                FieldSpec("measure_ref", FieldKind.REFERENCE),
                FieldSpec("baseline_ref", FieldKind.REFERENCE),
                FieldSpec("target_ref", FieldKind.REFERENCE),
                NOTE_FIELD,
            ),
            rules=("psirf.safety_action.revised@1",),
            clears=_DELIVERY_FACTS,
            actor_fact="agreed_by",
            summary="The owner agrees a revised action (linked to the old one) and a new due date.",
        ),
    ]


def _side_exits() -> list[TransitionSpec]:
    risk_register = FieldSpec("risk_register_ref", FieldKind.REFERENCE, required=True)
    return [
        TransitionSpec(
            trigger="defer",
            sources=_ACTIVE,
            dest="deferred",
            roles=_DECIDERS,
            guards=("approver_not_owner", "decision_at_committee_or_executive_tier"),
            fields=(
                *_TIER_FIELDS,
                risk_register,
                FieldSpec.choice(
                    "defer_reason",
                    (
                        "resources",
                        "depends_on_other_work",
                        "service_change_pending",
                        "other",
                    ),
                    required=True,
                ),
                FieldSpec("review_on", FieldKind.DATE, required=True),
                NOTE_FIELD,
            ),
            rules=("psirf.safety_action.deferred@1",),
            holds=True,
            actor_fact="deferred_by",
            summary="Defer the action, decided at executive or committee tier, with the "
            "risk on the register.",
        ),
        TransitionSpec(
            trigger="resume",
            sources=("deferred",),
            dest=PREVIOUS_STATE,
            roles=_DECIDERS,
            guards=("approver_not_owner",),
            summary="Resume a deferred action where it stopped.",
        ),
        TransitionSpec(
            trigger="accept_risk",
            sources=(*_ACTIVE, "deferred"),
            dest="risk_accepted",
            roles=_DECIDERS,
            guards=("approver_not_owner", "decision_at_committee_or_executive_tier"),
            fields=(*_TIER_FIELDS, risk_register, NOTE_FIELD),
            rules=("psirf.safety_action.risk_accepted@1",),
            actor_fact="risk_accepted_by",
            summary="Accept the risk instead of acting, at executive or committee tier.",
        ),
        TransitionSpec(
            trigger="cancel",
            sources=(*_ACTIVE, "deferred"),
            dest="cancelled",
            roles=(Role.EXECUTIVE_LEAD, Role.SENIOR_LEADER, Role.PATIENT_SAFETY_SPECIALIST),
            guards=("approver_not_owner",),
            fields=(
                FieldSpec.choice(
                    "cancel_reason",
                    (
                        "superseded_by_other_action",
                        "duplicate",
                        "no_longer_relevant",
                        "other",
                    ),
                    required=True,
                ),
                NOTE_FIELD,
            ),
            rules=("psirf.safety_action.cancelled@1",),
            actor_fact="cancelled_by",
            summary="Cancel the action with a reason; the person cancelling approves it.",
        ),
    ]


def build_safety_action() -> WorkflowDefinition:
    """Build and validate the safety-action definition."""
    return define(
        guards=LIFECYCLE_GUARDS,
        name=NAME,
        version=VERSION,
        family=FAMILY,
        title="Safety action",
        states=STATES,
        initial="proposed",
        final_states=("closed_effective", "risk_accepted", "cancelled"),
        opening=OpeningSpec(
            roles=(Role.LEARNING_RESPONSE_LEAD, Role.PATIENT_SAFETY_SPECIALIST),
            fields=(
                FieldSpec("learning_response_ids", FieldKind.IDENTIFIERS, required=True),
                FieldSpec("area_for_improvement_ids", FieldKind.IDENTIFIERS, required=True),
                *_PLAN_FIELDS,
            ),
            guards=("areas_for_improvement_linked",),
            rules=("psirf.safety_action.linked@1",),
        ),
        transitions=[*_main_path(), *_side_exits()],
    )


SAFETY_ACTION: Final = build_safety_action()
"""The safety-action lifecycle, from proposal to an effective, accepted or cancelled close."""
