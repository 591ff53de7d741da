"""The timescale steps of a learning response with a clock (the PSII's), as data.

The rest of the lifecycle is in
[`psirf_flow.workflows.learning_response`][psirf_flow.workflows.learning_response], whose
[`build_learning_response`][psirf_flow.workflows.learning_response.definition.build_learning_response]
adds these steps to a variant with ``timescale=True``.

**Engagement and timescale of a PSII** (psirf-rules §4.1, §5 rule 5, §6 stage 4, §7.1,
§9.1). Only the PSII has them: psirf-rules §4.1 finds no national clock for the other
response types (their timings are LOCAL), so a local variant opts in with
``Variant(timescale=True)`` rather than the library inventing one.

* The clock starts when the lead is assigned: ``assign_lead`` stamps ``started_on`` with
  the decision's Europe/London date (psirf-rules §9.1 "start clock ``psii_start``" on
  ``assign_lead``, INF; §4.1 counts "from its start"), so a lead appointed at 00:30 BST
  on a Monday starts it that Monday. Commissioning is the decision to investigate, not
  the start of the work; its time stays visible as the case's ``opened_at``, so a slow
  start ("as soon as possible", §4.1) can be reported.
* The timescale and hard cap are the governing plan's (the response type's ``timescale``
  and ``effective_hard_cap``; 3 and 6 months without a plan, NAT-G ✖), counted by
  [`psirf_flow.policy.timing`][psirf_flow.policy.timing]: see
  [`psirf_flow.workflows.learning_response.engagement`][psirf_flow.workflows.learning_response.engagement].
  Nobody sets them with a payload.
* ``record_terms_of_reference`` records ``family_involvement_in_terms`` (involved,
  declined or uncontactable): involvement is voluntary (§7.1), so each is a complete answer.
* ``agree_timescale`` (the lead) records ``target_date`` and the family's position on it,
  within the plan's timescale and never in the past.
* **Extensions are steps** (§4.1 "any extension is agreed between the organisation and
  the patient/family/carer", NAT-G ✖; §5 rule 5): ``request_extension`` (the lead: the
  date asked for, ``requested_target_date``, and an ``extension_reason`` code), then
  ``record_family_position`` (the engagement lead: ``agreed``, ``not_agreed`` or
  ``not_involved`` with a ``family_not_involved_reason`` code), then ``approve_extension``
  (the executive lead, never the lead: SoD 5; the approved ``target_date`` is at most the
  date asked for and becomes the target; against a family that did not agree, only with a
  note) or ``refuse_extension`` (the executive lead, with a reason code; the request is
  cleared and the target stands). A new request replaces a pending one and asks the
  family again.
* ``override_hard_cap`` (the executive lead) goes beyond the hard cap, with a rationale
  code (built-in, or one the plan adds under ``[overrides] rationale_codes``) and, if it
  helps, a reference to an artefact (``override_rationale_ref``); a missing rationale is
  refused as [`ReasonMissing`][psirf_flow.errors.ReasonMissing] (psirf-rules §5 SoD 7). It is
  its own trigger, so its audit entries carry ``psirf.timescale.hard_cap_override@1`` and
  oversight can find every override by trigger or rule without reading payloads.
* **Reopening restarts the clock** (issue 10): ``reopen`` stamps a new ``started_on``
  (the reopening's local date) and clears the agreed target and the extension records, so
  the lead agrees a new target within the plan's timescale from the reopening without the
  executive's override; the old clock stays in the audit trail (the earlier entries).
* The family's response to the draft is ``record_family_draft_response`` (§6 stage 7).

Agreeing a timescale is recorded, not required before approval: until one is agreed, the
end of the plan's timescale is the target (see
[`current_target_date`][psirf_flow.workflows.learning_response.engagement.current_target_date]).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from psirf_flow.domain import Role
from psirf_flow.workflows.spec import (
    DAYS_ON_HOLD_FACT,
    NOTE_FIELD,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    TransitionSpec,
)


if TYPE_CHECKING:
    from psirf_flow.workflows.learning_response.definition import Variant


__all__ = [
    "CLOCK_FACTS",
    "EXTENSION_REFUSAL_REASONS",
    "FAMILY_EXTENSION_POSITIONS",
    "FAMILY_NOT_INVOLVED_REASONS",
    "family_position",
    "timescale_steps",
]

_NOT_ENGAGED: Final = ("declined", "uncontactable")
"""The family's position when it is not agreement (involvement is voluntary, §7.1)."""
_EXTENDABLE: Final = (
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
    "on_hold",
)
"""States an extension may be requested, decided or overridden from: the clock runs from
planning until approval, and a case held for an external process (police, coroner) is
the usual one to extend."""
_EXTENSION: Final = (
    "external_process",
    "awaiting_information",
    "staff_availability",
    "family_request",
    "complexity",
    "other",
)
FAMILY_EXTENSION_POSITIONS: Final = ("agreed", "not_agreed", "not_involved")
"""The family's position on a requested extension (psirf-rules §4.1, §7.1)."""
FAMILY_NOT_INVOLVED_REASONS: Final = (
    "chose_not_to_be_involved",
    "uncontactable",
    "no_family_identified",
    "other",
)
"""Why the family is not involved in an extension decision (involvement is voluntary, §7.1)."""
EXTENSION_REFUSAL_REASONS: Final = (
    "not_justified",
    "family_not_agreed",
    "needs_hard_cap_override",
    "other",
)
"""Why the executive lead refuses an extension."""
_PENDING_FACTS: Final = ("requested_target_date", "extension_requested_by")
"""Facts of a pending extension request, cleared when it is decided."""
_FAMILY_FACTS: Final = (
    "family_extension_position",
    "family_not_involved_reason",
    "family_position_recorded_by",
)
"""The family's position on a request, cleared by a new request (asked again each time)."""
_EXTENSION_FACTS: Final = (
    *_PENDING_FACTS,
    *_FAMILY_FACTS,
    "extension_reason",
    "family_extension_agreement",
    "extension_approved_by",
    "extension_refused_by",
    "extension_refusal_reason",
    "hard_cap_override_reason",
    "override_rationale_ref",
    "hard_cap_override_by",
)
"""Facts of an extension, cleared when a target within the timescale is agreed afresh."""
CLOCK_FACTS: Final = (
    "target_date",
    "family_timescale_agreement",
    *_EXTENSION_FACTS,
    DAYS_ON_HOLD_FACT,  # a reopened response's new clock has not been on hold
)
"""Facts of a response's clock cleared when it is reopened (a new clock is stamped)."""


def family_position(name: str, yes: str) -> FieldSpec:
    """A required record of the family's position: ``yes``, declined or uncontactable."""
    return FieldSpec.choice(name, (yes, *_NOT_ENGAGED), required=True)


def timescale_steps(variant: Variant) -> list[TransitionSpec]:
    """Agreeing the timescale, extending it and overriding the hard cap (psirf-rules §4.1)."""
    if not variant.timescale:
        return []
    target = FieldSpec("target_date", FieldKind.DATE, required=True)
    reason = FieldSpec.choice("extension_reason", _EXTENSION, required=True)
    family = family_position("family_extension_agreement", "agreed")
    return [
        TransitionSpec(
            trigger="agree_timescale",
            sources=("planning", "gathering_and_analysis"),
            dest=SAME_STATE,
            roles=(variant.lead_role,),
            guards=("actor_is_lead", "target_within_timescale", "target_not_in_past"),
            fields=(target, family_position("family_timescale_agreement", "agreed")),
            rules=("psirf.timescale.agreed_with_family@1",),
            clears=_EXTENSION_FACTS,
            summary="Record the target date agreed with the patient or family (or that they "
            "declined or could not be contacted), within the plan's timescale.",
        ),
        *_extension_steps(variant, target, reason),
        TransitionSpec(
            trigger="override_hard_cap",
            sources=_EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
            guards=(
                "extension_approver_independent",
                "extension_later_than_target",
                "override_beyond_hard_cap",
                "target_not_in_past",
                "override_rationale_given",
            ),
            fields=(
                target,
                reason,
                # A code, not a closed choice: the plan may add its own rationale codes, and a
                # missing one is refused by ``override_rationale_given`` (ReasonMissing).
                FieldSpec("hard_cap_override_reason", FieldKind.IDENTIFIER),
                FieldSpec("override_rationale_ref", FieldKind.REFERENCE),
                family,
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.hard_cap_override@1", "psirf.sod.extension_approver@1"),
            actor_fact="hard_cap_override_by",
            clears=_PENDING_FACTS,
            summary="Exceptionally, extend the target date beyond the hard cap, with a reason "
            "(flagged for oversight).",
        ),
    ]


def _extension_steps(
    variant: Variant, target: FieldSpec, reason: FieldSpec
) -> list[TransitionSpec]:
    """Request, family position, approval or refusal (psirf-rules §4.1, §5 rule 5)."""
    return [
        TransitionSpec(
            trigger="request_extension",
            sources=_EXTENDABLE,
            dest=SAME_STATE,
            roles=(variant.lead_role,),
            guards=(
                "actor_is_lead",
                "request_later_than_target",
                "request_within_hard_cap",
                "request_not_in_past",
            ),
            fields=(
                FieldSpec("requested_target_date", FieldKind.DATE, required=True),
                reason,
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.extension_requested@1",),
            actor_fact="extension_requested_by",
            clears=(*_FAMILY_FACTS, "extension_refused_by", "extension_refusal_reason"),
            summary="The lead asks for a later target date, with a reason code, within the "
            "hard cap; the family's position is then recorded.",
        ),
        TransitionSpec(
            trigger="record_family_position",
            sources=_EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.ENGAGEMENT_LEAD,),
            guards=("extension_pending", "family_not_involved_reason_given"),
            fields=(
                FieldSpec.choice(
                    "family_extension_position", FAMILY_EXTENSION_POSITIONS, required=True
                ),
                FieldSpec.choice("family_not_involved_reason", FAMILY_NOT_INVOLVED_REASONS),
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.extension_family_position@1",),
            actor_fact="family_position_recorded_by",
            summary="The engagement lead records the family's position on the requested "
            "extension: agreed, not agreed, or not involved (with the reason).",
        ),
        TransitionSpec(
            trigger="approve_extension",
            sources=_EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
            guards=(
                "extension_pending",
                "family_position_recorded",
                "extension_approver_independent",
                "extension_within_request",
                "extension_later_than_target",
                "extension_within_hard_cap",
                "target_not_in_past",
                "family_disagreement_explained",
            ),
            fields=(target, NOTE_FIELD),
            rules=("psirf.timescale.extension@1", "psirf.sod.extension_approver@1"),
            actor_fact="extension_approved_by",
            clears=_PENDING_FACTS,
            summary="The executive lead approves the requested extension once the family's "
            "position is recorded; the approved date (at most the one requested) becomes "
            "the target.",
        ),
        TransitionSpec(
            trigger="refuse_extension",
            sources=_EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
            guards=("extension_pending", "extension_approver_independent"),
            fields=(
                FieldSpec.choice(
                    "extension_refusal_reason", EXTENSION_REFUSAL_REASONS, required=True
                ),
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.extension_refused@1", "psirf.sod.extension_approver@1"),
            actor_fact="extension_refused_by",
            clears=(*_PENDING_FACTS, *_FAMILY_FACTS),
            summary="The executive lead refuses the requested extension, with a reason code; "
            "the target stands.",
        ),
    ]
