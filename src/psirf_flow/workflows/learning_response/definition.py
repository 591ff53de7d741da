"""The learning-response lifecycle and its variants, as data.

Main path (psirf-rules §6 and §9.1):

```text
commissioned -> planning -> gathering_and_analysis -> drafting -> review
  -> awaiting_approval -> approved -> shared -> closed
```

with ``on_hold`` (and resume to the state it was held from), ``stood_down`` (with a reason)
and ``reopen`` (closed -> gathering_and_analysis, by the executive lead, on new information).

The patient safety incident investigation (PSII) and the shorter response types are
variants of one skeleton and differ only where the rules say they do (psirf-rules §2):

* **PSII**: independent lead plus an engagement lead; terms of reference and the patient's
  or family's engagement recorded (person by person, ``record_engagement``) before
  approval; peer review, subject-matter expert or panel input,
  staff factual-accuracy check, the family's comment on the draft and findings agreed with
  senior leadership; approved by the executive lead (NAT-G/LOCAL, psirf-rules §5, §6).
* **After action review**: led by a facilitator (version 2; version 1, led by a learning
  response lead, stays registered for cases opened on it); no family draft review; staff
  accuracy check and agreed findings.
* **Swarm huddle** and **hot debrief**: led by a facilitator, not an investigator.
* **MDT review**: multidisciplinary (expert) input recorded.
* **Thematic review**: links at least two incidents; terms of reference and peer review.
  Opened for one of the plan's scheduled reviews (``scheduled_review_id``), it must be due
  and gather only incidents added to that review
  ([`psirf_flow.workflows.guards_thematic`][psirf_flow.workflows.guards_thematic]).

**Staff involved and engagement** (psirf-rules §5 rule 1, §7.1): the staff involved and
their line managers arrive with the coupling from the intake (or at opening) and are added
with ``record_staff_involved`` (a list never drops anyone); the lead, the engagement lead and
the peer reviewer are checked against the current list, when named and again at every step
that moves the response forward (``team_independent``: gathering, analysis, draft, approval
request and each sign-off). Recording staff is never refused for naming one of them; the
audit entry notes the conflict by role, and ``reassign_lead`` (``reassign_facilitator``) or
``reassign_engagement_lead`` replaces them, keeping the former person's id (issue 9 item 7).
``record_engagement`` keeps one record per person (the patient, each family member, each
member of staff involved), by opaque person id, with the outcome, contact preference and
whether support was offered.

Who approves each response type is a local matter (psirf-rules §5, LOCAL); the defaults
here are the executive lead for a PSII and a senior leader otherwise, and a trust's plan
will be able to change them.

**Engagement and timescale of a PSII** (psirf-rules §4.1, §5 rule 5, §6 stage 4, §7.1,
§9.1): only the PSII has a clock (a local variant opts in with ``Variant(timescale=True)``);
its steps ``agree_timescale``, ``request_extension``, ``record_family_position``,
``approve_extension``, ``refuse_extension`` and ``override_hard_cap``, the family's part in
them and the clock restarted by ``reopen`` are described in
[`psirf_flow.workflows.learning_response.timescale`][psirf_flow.workflows.learning_response.timescale];
the timescale and hard cap come from the governing plan's response type, counted by
[`psirf_flow.policy.timing`][psirf_flow.policy.timing] (3 and 6 months without a plan;
[`psirf_flow.workflows.learning_response.engagement`][psirf_flow.workflows.learning_response.engagement]).

**A swarm huddle not held in time** (psirf-rules §4.1: local clocks of hours; issue 10): the
system-only step ``convert_to_after_action_review`` stands the huddle down with the reason
``not_held_in_time``, and the coupling ``convert_swarm_to_after_action_review``
([`psirf_flow.workflows.couplings`][psirf_flow.workflows.couplings]) opens an after action review
for the same incidents. An escalation tier whose plan ladder declares ``action =
"convert_to_after_action_review"`` fires it when the huddle's deadline passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.domain import Role
from psirf_flow.workflows.guards import PRIORITY_FACT, SIGNER_ROLES, GuardSpec, lifecycle_guards
from psirf_flow.workflows.guards_thematic import SCHEDULED_REVIEW_FACT, THEMATIC_GUARD_SPECS
from psirf_flow.workflows.learning_response.engagement import ENGAGEMENT_GUARDS
from psirf_flow.workflows.learning_response.guards import LEARNING_RESPONSE_GUARDS
from psirf_flow.workflows.learning_response.sign_off import GOVERNANCE_GUARDS
from psirf_flow.workflows.learning_response.timescale import (
    CLOCK_FACTS,
    family_position,
    timescale_steps,
)
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


__all__ = [
    "AFTER_ACTION_REVIEW",
    "AFTER_ACTION_REVIEW_V1",
    "CONTACT_PREFERENCES",
    "CONVERT_TO_AFTER_ACTION_REVIEW",
    "ENGAGED_PEOPLE",
    "ENGAGEMENT_OUTCOMES",
    "HOT_DEBRIEF",
    "LEARNING_RESPONSES",
    "MDT_REVIEW",
    "NOT_HELD_IN_TIME",
    "PERSON_KINDS",
    "PSII",
    "PSII_VARIANT",
    "REASSIGN_REASONS",
    "STATES",
    "SWARM_HUDDLE",
    "THEMATIC_REVIEW",
    "Variant",
    "build_learning_response",
]

LIFECYCLE_GUARDS: Final = lifecycle_guards(
    LEARNING_RESPONSE_GUARDS,
    (GuardSpec(*row) for row in (*ENGAGEMENT_GUARDS, *GOVERNANCE_GUARDS)),
    THEMATIC_GUARD_SPECS,
)
"""The guards this lifecycle resolves its guard names against: the shared ones and its own."""

FAMILY: Final = "learning_response"
PERSON_KINDS: Final = ("patient", "family_member", "staff_involved")
"""Whose engagement is recorded (psirf-rules §7.1): opaque person ids only, never names."""
ENGAGEMENT_OUTCOMES: Final = ("involved", "declined", "uncontactable")
"""The outcome of engaging one person; involvement is voluntary, so "declined" and
"uncontactable" (with attempts recorded) are complete outcomes (psirf-rules §7.1)."""
CONTACT_PREFERENCES: Final = (
    "in_person",
    "telephone",
    "video_call",
    "letter",
    "email",
    "through_a_representative",
    "no_further_contact",
)
"""How a person prefers to be contacted."""
ENGAGED_PEOPLE: Final = "engaged_person_ids"
"""The fact listing every person whose engagement is recorded; each record is kept as
``<field>.<person id>`` (for example ``engagement.pat-1``)."""
VERSION: Final = "1"

STATES: Final = (
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
"""Every state a learning response (every variant) can be in."""
_OPEN_WORK: Final = (
    "commissioned",
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
)
_LED_WORK: Final = _OPEN_WORK[1:]
"""The open working states once a lead is named: where the lead or engagement lead may be
replaced."""
_ENGAGING: Final = ("planning", "gathering_and_analysis", "drafting", "review")
_REVIEW_FACTS: Final = (
    "peer_review_ref",
    "peer_reviewer_id",
    "expert_input",
    "expert_ids",
    "staff_accuracy_check",
    "family_draft_response",
    "findings_agreed_by",
)


_TEAM_INDEPENDENT: Final = "team_independent"
"""The guard every step that moves a response forward passes: the lead, the engagement lead
and the peer reviewer already named are not among the staff involved on the current list
(psirf-rules §5 rule 1; issue 9 item 7)."""
REASSIGN_REASONS: Final = (
    "involved_in_incident",
    "line_manages_involved_staff",
    "unavailable",
    "conflict_of_interest",
    "other",
)
"""Why a lead (or engagement lead) is replaced during a response."""

_SIGN_OFF_FACTS: Final = (
    "sign_off_step",
    "sign_off_last_by",
    "meeting_ref",
    "delegation_id",
    "report_digest",
)
"""Facts of the plan's sign-off chain, cleared when the report goes back for rework."""
_SIGNING: Final = (
    FieldSpec("sign_off_step", FieldKind.COUNT),
    # The version signed, by its SHA-256 digest (psirf-rules §6 stage 8: "version hash").
    FieldSpec("report_digest", FieldKind.DIGEST),
    FieldSpec("meeting_ref", FieldKind.REFERENCE),
    FieldSpec("delegation_id", FieldKind.CASE_REF),
)
"""What a signer may record with a step of the sign-off chain (psirf-rules §6 stage 8)."""
_FINAL_SIGN_OFF_GUARDS: Final = (
    "sign_off_as_planned",
    "approver_independent",
    "signer_not_repeated",
    _TEAM_INDEPENDENT,
)
_REWORK_REASON: Final = FieldSpec.choice(
    "rework_reason",
    ("factual_gaps", "analysis_incomplete", "engagement_gaps", "other"),
    required=True,
)
_CLOSING_FIELDS: Final = (
    FieldSpec("safety_action_ids", FieldKind.IDENTIFIERS),
    FieldSpec.choice(
        "no_actions_rationale",
        ("no_new_learning", "covered_by_existing_improvement_plan", "actions_owned_elsewhere"),
    ),
)
COMMENTERS: Final = ("family", "staff", "peer")
"""Who commented on a draft (psirf-rules §6 stage 7: family, staff involved, peer review)."""
HOLD_REASONS: Final = (
    "police",
    "coroner",
    "other",
    "external_process",
    "staff_availability",
    "family_request",
)
"""Why a response is paused (psirf-rules §9.1 ``hold``): the police or a coroner, or another
reason (which needs a note under a plan); the earlier codes are kept for cases in flight."""


@attrs.frozen
class Variant:
    """What makes one response type differ from the skeleton.

    Attributes:
        name: Workflow name.
        title: Human title.
        lead_role: The role that leads (investigator or facilitator).
        lead_fact: Fact naming the lead (``lead_id`` or ``facilitator_id``).
        approver_roles: Roles that may approve the report.
        needs_engagement_lead: An engagement lead is named with the lead.
        needs_terms_of_reference: Terms of reference before approval.
        needs_engagement_outcome: The patient's or family's engagement recorded, person by
            person, before approval.
        review_guards: What the review stage must record before approval.
        min_incidents: Incidents that must be linked when the case is opened.
        terms_need_family_involvement: Terms of reference record the patient's or family's
            involvement in them.
        timescale: The response has a clock: a start date, a timescale agreed with the
            family, extensions and a hard cap (psirf-rules §4.1).
        version: The definition's version (a changed variant gets a new one, so cases
            already opened keep the rules they were opened under).
        scheduled_reviews: It may be opened for one of the plan's scheduled thematic reviews
            (``scheduled_review_id``), checked by ``scheduled_review_as_planned`` (psirf-rules
            §2); only the opening changes, so cases already opened are unaffected.
        converts_when_late: psirf_flow may turn it into an after action review when it is
            not held in time (``convert_to_after_action_review``, the swarm huddle's).
    """

    name: str
    title: str
    lead_role: Role = Role.LEARNING_RESPONSE_LEAD
    lead_fact: str = "lead_id"
    approver_roles: tuple[Role, ...] = (Role.SENIOR_LEADER,)
    needs_engagement_lead: bool = False
    needs_terms_of_reference: bool = False
    needs_engagement_outcome: bool = False
    review_guards: tuple[str, ...] = ("findings_agreed",)
    min_incidents: int = 1
    terms_need_family_involvement: bool = False
    timescale: bool = False
    version: str = VERSION
    scheduled_reviews: bool = False
    converts_when_late: bool = False


def _opening(variant: Variant) -> OpeningSpec:
    guards = ("several_incidents_linked",) if variant.min_incidents > 1 else ()
    # H9: a scheduled thematic review names the plan's review it commissions (§2).
    scheduled = (
        (FieldSpec(SCHEDULED_REVIEW_FACT, FieldKind.IDENTIFIER),)
        if variant.scheduled_reviews
        else ()
    )
    if variant.scheduled_reviews:
        guards = (*guards, "scheduled_review_as_planned")
    return OpeningSpec(
        roles=(Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD, Role.SYSTEM),
        fields=(
            FieldSpec("incident_ids", FieldKind.IDENTIFIERS, required=True),
            FieldSpec("involved_staff_ids", FieldKind.IDENTIFIERS),
            FieldSpec("involved_line_manager_ids", FieldKind.IDENTIFIERS),
            # Set when the response is commissioned by the intake coupling (psirf-rules §9.4).
            FieldSpec("intake_case_id", FieldKind.IDENTIFIER),
            FieldSpec("candour_case_id", FieldKind.IDENTIFIER),
            FieldSpec("caused_by", FieldKind.REFERENCE),
            # The plan's response type it runs as (the plan's sign-off and settings apply).
            FieldSpec("response_type", FieldKind.IDENTIFIER),
            # The plan priority it was commissioned under: its timescales override the
            # response type's (set by the intake coupling from the decision).
            FieldSpec(PRIORITY_FACT, FieldKind.IDENTIFIER),
            FieldSpec.choice(
                "basis", ("national_requirement", "local_priority", "emergent_risk", "other")
            ),
            *scheduled,
        ),
        guards=guards,
        rules=("psirf.response.commission@1",),
    )


def _assign(variant: Variant) -> TransitionSpec:
    fields = [FieldSpec(variant.lead_fact, FieldKind.IDENTIFIER, required=True)]
    guards = ["lead_independent"]
    if variant.needs_engagement_lead:
        fields.append(FieldSpec("engagement_lead_id", FieldKind.IDENTIFIER, required=True))
        guards.append("engagement_lead_assigned")
    else:
        fields.append(FieldSpec("engagement_lead_id", FieldKind.IDENTIFIER))
    trigger = "assign_lead" if variant.lead_fact == "lead_id" else "assign_facilitator"
    return TransitionSpec(
        trigger=trigger,
        sources=("commissioned",),
        dest="planning",
        roles=(Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD),
        guards=tuple(guards),
        fields=tuple(fields),
        rules=("psirf.sod.independent_lead@1",),
        actor_fact="commissioned_by",
        stamp_fact="started_on" if variant.timescale else None,
        summary="Name the lead (and engagement lead) who will carry out the response.",
    )


def _reassign_steps(variant: Variant) -> list[TransitionSpec]:
    """Replace the lead (or facilitator) or the engagement lead while the work is open.

    By the roles that assign them, with a reason code and an optional note; the new person
    passes the same independence check as at assignment, the caller names the person replaced
    (who must be the current one) and their id is kept in ``former_<fact>s``; a reason of
    ``other`` needs the note (psirf-rules §5 rule 1; issue 9 item 7).
    """
    lead_trigger = "reassign_lead" if variant.lead_fact == "lead_id" else "reassign_facilitator"
    steps = []
    for trigger, fact in (
        (lead_trigger, variant.lead_fact),
        ("reassign_engagement_lead", "engagement_lead_id"),
    ):
        word = fact.removesuffix("_id")
        steps.append(
            TransitionSpec(
                trigger=trigger,
                sources=_LED_WORK,
                dest=SAME_STATE,
                roles=(Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD),
                guards=(
                    "lead_independent",
                    f"replaces_current_{word}",
                    "reassign_reason_explained",
                ),
                fields=(
                    FieldSpec(fact, FieldKind.IDENTIFIER, required=True),
                    FieldSpec(f"replaced_{fact}", FieldKind.IDENTIFIER, required=True),
                    FieldSpec.choice("reassign_reason", REASSIGN_REASONS, required=True),
                    NOTE_FIELD,
                ),
                rules=("psirf.sod.independent_lead@1",),
                collects=((f"replaced_{fact}", f"former_{word}_ids"),),
                summary=f"Replace the {word.replace('_', ' ')} with someone independent, "
                "with a reason (the person replaced is kept on the record).",
            )
        )
    return steps


def _recording_steps(variant: Variant) -> list[TransitionSpec]:
    lead = (variant.lead_role,)
    review_only = ("review",)
    terms = [FieldSpec("terms_of_reference_ref", FieldKind.REFERENCE, required=True)]
    if variant.terms_need_family_involvement:
        terms.append(family_position("family_involvement_in_terms", "involved"))
    steps = [
        TransitionSpec(
            trigger="record_terms_of_reference",
            sources=_ENGAGING,
            dest=SAME_STATE,
            roles=lead,
            guards=("actor_is_lead",),
            fields=tuple(terms),
            rules=("psirf.engagement.terms_of_reference@1",),
            summary="Record (or revise) the terms of reference agreed with those affected.",
        ),
        TransitionSpec(
            trigger="record_engagement",
            sources=_ENGAGING,
            dest=SAME_STATE,
            roles=(Role.ENGAGEMENT_LEAD, variant.lead_role),
            fields=(
                FieldSpec("person_id", FieldKind.IDENTIFIER, required=True),
                FieldSpec.choice("person_kind", PERSON_KINDS, required=True),
                FieldSpec.choice("engagement", ENGAGEMENT_OUTCOMES, required=True),
                FieldSpec.choice("contact_preference", CONTACT_PREFERENCES),
                FieldSpec("support_offered", FieldKind.FLAG),
                FieldSpec("contact_attempts", FieldKind.COUNT),
                NOTE_FIELD,
            ),
            rules=("psirf.engagement.outcome@1",),
            record_key="person_id",
            record_index=ENGAGED_PEOPLE,
            summary="Record one person's engagement (the patient, a family member or a "
            "member of staff involved): involved, declined or not contactable (with "
            "attempts), their contact preference and whether support was offered.",
        ),
    ]
    steps.append(
        TransitionSpec(
            trigger="record_staff_involved",
            sources=_OPEN_WORK,
            dest=SAME_STATE,
            roles=(Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD, variant.lead_role),
            guards=("staff_involved_kept", "independence_conflict_noted"),
            fields=(
                FieldSpec("involved_staff_ids", FieldKind.IDENTIFIERS, required=True),
                FieldSpec("involved_line_manager_ids", FieldKind.IDENTIFIERS),
            ),
            rules=("psirf.sod.independent_lead@1",),
            summary="Record staff found to be involved during the response (the full list "
            "so far: it adds people, never drops one; never refused for naming the lead, "
            "whose conflict the audit entry records); later independence checks use it.",
        )
    )
    if "peer_review_recorded" in variant.review_guards:
        steps.append(
            TransitionSpec(
                trigger="record_peer_review",
                sources=review_only,
                dest=SAME_STATE,
                roles=(Role.PEER_REVIEWER,),
                guards=("reviewer_independent",),
                fields=(FieldSpec("peer_review_ref", FieldKind.REFERENCE, required=True),),
                rules=("psirf.quality.peer_review@1",),
                actor_fact="peer_reviewer_id",
                summary="Record an independent peer review of the draft.",
            )
        )
    if "expert_input_recorded" in variant.review_guards:
        steps.append(
            TransitionSpec(
                trigger="record_expert_input",
                sources=review_only,
                dest=SAME_STATE,
                roles=lead,
                guards=("actor_is_lead",),
                fields=(
                    FieldSpec.choice(
                        "expert_input", ("subject_matter_expert", "panel"), required=True
                    ),
                    FieldSpec("expert_ids", FieldKind.IDENTIFIERS, required=True),
                ),
                rules=("psirf.quality.expert_input@1",),
                summary="Record subject-matter expert or panel input.",
            )
        )
    if "staff_accuracy_checked" in variant.review_guards:
        steps.append(
            TransitionSpec(
                trigger="record_staff_accuracy_check",
                sources=review_only,
                dest=SAME_STATE,
                roles=lead,
                guards=("actor_is_lead",),
                fields=(
                    FieldSpec.choice(
                        "staff_accuracy_check", ("confirmed", "amended"), required=True
                    ),
                ),
                rules=("psirf.engagement.staff_accuracy@1",),
                summary="Record that staff involved checked the draft for factual accuracy.",
            )
        )
    if "family_draft_review_recorded" in variant.review_guards:
        steps.append(
            TransitionSpec(
                trigger="record_family_draft_response",
                sources=review_only,
                dest=SAME_STATE,
                roles=(Role.ENGAGEMENT_LEAD,),
                fields=(
                    FieldSpec.choice(
                        "family_draft_response",
                        ("commented", "no_comments", "declined", "uncontactable"),
                        required=True,
                    ),
                    NOTE_FIELD,
                ),
                rules=("psirf.engagement.family_draft@1",),
                summary="Record the family's response to being offered the draft.",
            )
        )
    steps.extend(_review_records(lead))
    steps.append(
        TransitionSpec(
            trigger="agree_findings",
            sources=review_only,
            dest=SAME_STATE,
            roles=(Role.SENIOR_LEADER,),
            guards=("senior_leader_independent",),
            rules=("psirf.governance.findings_agreed@1",),
            actor_fact="findings_agreed_by",
            summary="A senior leader of the service agrees the findings.",
        )
    )
    return steps


def _review_records(lead: tuple[Role, ...]) -> list[TransitionSpec]:
    """Responses to comments and new draft versions, recorded during review (§6 stage 7)."""
    return [
        TransitionSpec(
            trigger="record_comment_response",
            sources=("review",),
            dest=SAME_STATE,
            roles=lead,
            guards=("actor_is_lead",),
            fields=(
                FieldSpec.choice("commenter", COMMENTERS, required=True),
                FieldSpec("comment_ref", FieldKind.REFERENCE, required=True),
                FieldSpec("comment_response_ref", FieldKind.REFERENCE, required=True),
            ),
            rules=("psirf.review.comment_response@1",),
            summary="Record the response to a comment on the draft (from the family, staff "
            "involved or a peer reviewer), by reference.",
        ),
        TransitionSpec(
            trigger="record_draft_version",
            sources=("review",),
            dest=SAME_STATE,
            roles=lead,
            guards=("actor_is_lead",),
            fields=(
                FieldSpec("draft_ref", FieldKind.REFERENCE, required=True),
                FieldSpec("draft_digest", FieldKind.DIGEST, required=True),
            ),
            rules=("psirf.review.draft_version@1",),
            summary="Record a new version of the draft during review, by its SHA-256 digest.",
        ),
    ]


def _main_path(variant: Variant) -> list[TransitionSpec]:
    lead = (variant.lead_role,)
    approval_guards = ["actor_is_lead"]
    if variant.needs_terms_of_reference:
        approval_guards.append("terms_of_reference_recorded")
    if variant.needs_engagement_outcome:
        approval_guards.append("engagement_outcome_recorded")
    approval_guards.extend(variant.review_guards)
    return [
        TransitionSpec(
            trigger="begin_gathering",
            sources=("planning",),
            dest="gathering_and_analysis",
            roles=lead,
            guards=("actor_is_lead", "terms_before_gathering", _TEAM_INDEPENDENT),
            rules=("psirf.engagement.terms_before_gathering@1",),
            summary="Start gathering information and analysing it.",
        ),
        TransitionSpec(
            trigger="complete_analysis",
            sources=("gathering_and_analysis",),
            dest="drafting",
            roles=lead,
            guards=("actor_is_lead", _TEAM_INDEPENDENT),
            summary="Analysis is complete; start writing the report.",
        ),
        TransitionSpec(
            trigger="submit_draft",
            sources=("drafting",),
            dest="review",
            roles=lead,
            guards=("actor_is_lead", _TEAM_INDEPENDENT),
            fields=(
                FieldSpec("draft_ref", FieldKind.REFERENCE, required=True),
                FieldSpec("draft_digest", FieldKind.DIGEST),
            ),
            actor_fact="author_id",
            summary="Circulate the draft report for review.",
        ),
        TransitionSpec(
            trigger="request_approval",
            sources=("review",),
            dest="awaiting_approval",
            roles=lead,
            guards=(*approval_guards, _TEAM_INDEPENDENT),
            rules=("psirf.approval.prerequisites@1",),
            summary="Ask for the report to be approved once review is complete.",
        ),
        TransitionSpec(
            trigger="return_for_rework",
            sources=("awaiting_approval",),
            dest="drafting",
            roles=variant.approver_roles,
            guards=("approver_independent",),
            fields=(_REWORK_REASON, NOTE_FIELD),
            clears=(*_REVIEW_FACTS, *_SIGN_OFF_FACTS),
            summary="Send the report back for more work; review is done again.",
        ),
        TransitionSpec(
            trigger="return_from_sign_off",
            sources=("awaiting_approval",),
            dest="drafting",
            roles=SIGNER_ROLES,
            guards=("returner_may_sign", "approver_independent"),
            fields=(_REWORK_REASON, NOTE_FIELD, *_SIGNING[2:]),
            rules=("psirf.governance.sign_off_chain@1",),
            clears=(*_REVIEW_FACTS, *_SIGN_OFF_FACTS),
            summary="Under the plan, whoever may sign the step that is due sends the report "
            "back for more work; review and sign-off start again.",
        ),
        TransitionSpec(
            trigger="approve",
            sources=("awaiting_approval",),
            dest="approved",
            roles=variant.approver_roles,
            guards=_FINAL_SIGN_OFF_GUARDS,
            fields=(FieldSpec("report_ref", FieldKind.REFERENCE, required=True), *_SIGNING),
            rules=("psirf.sod.approver_not_author@1",),
            actor_fact="approved_by",
            summary="Approve the final report (under a plan: the last step of its sign-off chain).",
        ),
        TransitionSpec(
            trigger="record_sign_off",
            sources=("awaiting_approval",),
            dest=SAME_STATE,
            roles=SIGNER_ROLES,
            guards=(
                "sign_off_step_due",
                "approver_independent",
                "signer_not_repeated",
                _TEAM_INDEPENDENT,
            ),
            fields=(
                FieldSpec("sign_off_step", FieldKind.COUNT, required=True),
                *_SIGNING[1:],
            ),
            rules=("psirf.sod.approver_not_author@1", "psirf.governance.sign_off_chain@1"),
            actor_fact="sign_off_last_by",
            summary="Sign a step of the plan's sign-off chain before the last (a role holder, "
            "their delegate, or a committee member with the meeting).",
        ),
        TransitionSpec(
            trigger="sign_off",
            sources=("awaiting_approval",),
            dest="approved",
            roles=SIGNER_ROLES,
            guards=_FINAL_SIGN_OFF_GUARDS,
            fields=(FieldSpec("report_ref", FieldKind.REFERENCE, required=True), *_SIGNING),
            rules=("psirf.sod.approver_not_author@1", "psirf.governance.sign_off_chain@1"),
            actor_fact="approved_by",
            summary="Sign the last step of the plan's sign-off chain, which approves the report "
            "(a role holder, their delegate, or a committee member with the meeting).",
        ),
        TransitionSpec(
            trigger="share",
            sources=("approved",),
            dest="shared",
            roles=(Role.ENGAGEMENT_LEAD, variant.lead_role),
            fields=(
                FieldSpec.choice(
                    "family_sharing",
                    ("shared", "declined", "uncontactable", "not_applicable"),
                    required=True,
                ),
                FieldSpec("shared_with_staff", FieldKind.FLAG),
            ),
            rules=("psirf.engagement.share_report@1",),
            summary="Share the approved report with those affected.",
        ),
        TransitionSpec(
            trigger="close",
            sources=("shared",),
            dest="closed",
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            guards=("actions_or_rationale",),
            fields=_CLOSING_FIELDS,
            rules=("psirf.closure.actions_do_not_block@1",),
            summary="Close the response; linked safety actions carry on by themselves.",
        ),
        TransitionSpec(
            trigger="close_without_sharing",
            sources=("approved",),
            dest="closed",
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            guards=("no_sharing_step", "actions_or_rationale"),
            fields=_CLOSING_FIELDS,
            rules=("psirf.closure.actions_do_not_block@1", "psirf.closure.no_sharing_step@1"),
            summary="Close straight from approval where the plan gives the response type no "
            "sharing step.",
        ),
    ]


def _side_paths(variant: Variant) -> list[TransitionSpec]:
    return [
        TransitionSpec(
            trigger="hold",
            sources=_OPEN_WORK,
            dest="on_hold",
            roles=(Role.EXECUTIVE_LEAD,),
            fields=(
                FieldSpec.choice("hold_reason", HOLD_REASONS, required=True),
                NOTE_FIELD,
            ),
            guards=("hold_reason_explained",),
            rules=("psirf.response.hold_reason@1",),
            holds=True,
            summary="Pause the response (for example while police or a coroner act).",
        ),
        TransitionSpec(
            trigger="resume",
            sources=("on_hold",),
            dest=PREVIOUS_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
            summary="Resume the response where it was paused.",
        ),
        TransitionSpec(
            trigger="stand_down",
            sources=(*_OPEN_WORK, "on_hold"),
            dest="stood_down",
            roles=(Role.EXECUTIVE_LEAD,),
            fields=(
                FieldSpec.choice(
                    "stand_down_reason",
                    (
                        "superseded_by_external_investigation",
                        "referred_elsewhere",
                        "duplicate",
                        "no_further_learning",
                        "other",
                    ),
                    required=True,
                ),
                NOTE_FIELD,
            ),
            rules=("psirf.response.stand_down@1",),
            summary="Stand the response down, with a reason.",
        ),
        TransitionSpec(
            trigger="reopen",
            sources=("closed",),
            dest="gathering_and_analysis",
            roles=(Role.EXECUTIVE_LEAD,),
            fields=(
                FieldSpec("new_information_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice(
                    "reopen_reason",
                    ("inquest", "police_investigation", "new_evidence", "family_concern"),
                    required=True,
                ),
                NOTE_FIELD,
            ),
            rules=("psirf.response.reopen@1",),
            clears=(
                *_REVIEW_FACTS,
                *_SIGN_OFF_FACTS,
                "approved_by",
                "report_ref",
                "family_sharing",
                # A response with a clock starts a new one (issue 10): a new start date is
                # stamped and the old target and extensions no longer bind.
                *(CLOCK_FACTS if variant.timescale else ()),
            ),
            counts="revision",
            reopens=True,
            stamp_fact="started_on" if variant.timescale else None,
            summary="Reopen a closed response on new information"
            + ("; its clock starts again from the reopening." if variant.timescale else "."),
        ),
        *_expiry_steps(variant),
    ]


NOT_HELD_IN_TIME: Final = "not_held_in_time"
"""The reason recorded when a swarm huddle not held in time becomes an after action review."""
CONVERT_TO_AFTER_ACTION_REVIEW: Final = "convert_to_after_action_review"
"""The trigger psirf_flow fires on a swarm huddle not held in time (an escalation action)."""


def _expiry_steps(variant: Variant) -> list[TransitionSpec]:
    """The system's step that turns a response not held in time into an after action review.

    Only psirf_flow itself fires it ([`SYSTEM`][psirf_flow.domain.Role.SYSTEM]), when an
    escalation tier whose plan ladder declares the action fires (issue 10; psirf-rules §4.1:
    the swarm huddle's clock of hours is LOCAL). The huddle is stood down with the reason
    ``not_held_in_time`` and the coupling ``convert_swarm_to_after_action_review`` opens the
    after action review.
    """
    if not variant.converts_when_late:
        return []
    return [
        TransitionSpec(
            trigger=CONVERT_TO_AFTER_ACTION_REVIEW,
            sources=("commissioned", "planning", "gathering_and_analysis"),
            dest="stood_down",
            roles=(Role.SYSTEM,),
            fields=(
                FieldSpec.choice("stand_down_reason", (NOT_HELD_IN_TIME,)),
                FieldSpec("caused_by", FieldKind.REFERENCE),
            ),
            rules=("psirf.response.not_held_in_time@1",),
            summary="Not held in time: psirf_flow stands the huddle down (reason "
            "not_held_in_time) and an after action review is opened for the same incidents.",
        )
    ]


def build_learning_response(variant: Variant) -> WorkflowDefinition:
    """Build and validate the learning-response definition for ``variant``."""
    return define(
        guards=LIFECYCLE_GUARDS,
        name=variant.name,
        version=variant.version,
        family=FAMILY,
        title=variant.title,
        states=STATES,
        initial="commissioned",
        final_states=("closed", "stood_down"),
        opening=_opening(variant),
        transitions=[
            _assign(variant),
            *_main_path(variant),
            *_recording_steps(variant),
            *_reassign_steps(variant),
            *timescale_steps(variant),
            *_side_paths(variant),
        ],
    )


PSII_VARIANT: Final = Variant(
    name="psii",
    title="Patient safety incident investigation",
    approver_roles=(Role.EXECUTIVE_LEAD,),
    needs_engagement_lead=True,
    needs_terms_of_reference=True,
    needs_engagement_outcome=True,
    review_guards=(
        "peer_review_recorded",
        "expert_input_recorded",
        "staff_accuracy_checked",
        "family_draft_review_recorded",
        "findings_agreed",
    ),
    terms_need_family_involvement=True,
    timescale=True,
)
"""The PSII's variant (its timescale and hard cap come from the governing plan)."""
PSII: Final = build_learning_response(PSII_VARIANT)
"""The patient safety incident investigation (PSII) lifecycle."""
AFTER_ACTION_REVIEW_V1: Final = build_learning_response(
    Variant(
        name="after_action_review",
        title="After action review",
        review_guards=("staff_accuracy_checked", "findings_agreed"),
    )
)
"""Version 1 of the after action review, led by a learning response lead (``assign_lead``):
kept registered so that cases opened on it keep their rules (a case pins its version)."""
AFTER_ACTION_REVIEW: Final = build_learning_response(
    Variant(
        name="after_action_review",
        title="After action review",
        lead_role=Role.FACILITATOR,
        lead_fact="facilitator_id",
        review_guards=("staff_accuracy_checked", "findings_agreed"),
        version="2",
    )
)
"""The after action review: a facilitated team conversation, so it is led by a facilitator
named with ``assign_facilitator`` (psirf-rules §2: "trained AAR conductor/facilitator")."""
SWARM_HUDDLE: Final = build_learning_response(
    Variant(
        name="swarm_huddle",
        title="Swarm huddle",
        lead_role=Role.FACILITATOR,
        lead_fact="facilitator_id",
        converts_when_late=True,
    )
)
"""The swarm huddle, led by a facilitator; one not held in time is converted to an after
action review."""
HOT_DEBRIEF: Final = build_learning_response(
    Variant(
        name="hot_debrief",
        title="Hot debrief",
        lead_role=Role.FACILITATOR,
        lead_fact="facilitator_id",
        review_guards=("staff_accuracy_checked",),
    )
)
"""The hot debrief, led by a facilitator, with staff accuracy checked at review."""
MDT_REVIEW: Final = build_learning_response(
    Variant(
        name="mdt_review",
        title="Multidisciplinary team review",
        review_guards=("expert_input_recorded", "staff_accuracy_checked", "findings_agreed"),
    )
)
"""The multidisciplinary team review, with expert input recorded at review."""
THEMATIC_REVIEW: Final = build_learning_response(
    Variant(
        name="thematic_review",
        title="Thematic review",
        needs_terms_of_reference=True,
        review_guards=("peer_review_recorded", "findings_agreed"),
        min_incidents=2,
        scheduled_reviews=True,
    )
)
"""The thematic review of two incidents or more, with terms of reference and peer review;
scheduled by the plan or commissioned on its own."""

LEARNING_RESPONSES: Final[Mapping[str, WorkflowDefinition]] = MappingProxyType(
    {
        d.name: d
        for d in (PSII, AFTER_ACTION_REVIEW, SWARM_HUDDLE, HOT_DEBRIEF, MDT_REVIEW, THEMATIC_REVIEW)
    }
)
"""Every built-in learning-response definition, keyed by name."""
