"""The timescale steps of a learning response with a clock (the PSII's), as data.

The rest of the lifecycle is in :mod:`psirf_flow.workflows.learning_response`, whose
:func:`~psirf_flow.workflows.learning_response.definition.build_learning_response` adds these steps
and opening settings to a variant with ``timescale=True``.

**Engagement and timescale of a PSII** (psirf-rules §4.1, §5 rule 5, §6 stage 4, §7.1,
§9.1). Only the PSII has them: psirf-rules §4.1 finds no national clock for the other
response types (their timings are LOCAL), so a local variant opts in with
``Variant(timescale=True)`` rather than the library inventing one.

* The clock starts when the lead is assigned: ``assign_lead`` stamps ``started_on`` with
  the decision's date (psirf-rules §9.1 "start clock ``psii_start``" on ``assign_lead``,
  INF; §4.1 counts "from its start"). Commissioning is the decision to investigate, not
  the start of the work; its time stays visible as the case's ``opened_at``, so a slow
  start ("as soon as possible", §4.1) can be reported. Holding the case does not pause the
  clock (§9.1 pauses only if configured, and nothing configures it yet), and reopening does
  not restart it: new work after a closed PSII needs an extension or an override.
* ``timescale_days`` and ``hard_cap_days`` (calendar days from the start) are settings of
  the definition (``Variant.timescale_days`` and ``Variant.hard_cap_days``, which the
  trust's plan supplies; the labelled defaults of
  :mod:`psirf_flow.workflows.learning_response.engagement` are 90 and 183 days, NAT-G ✖). Every case
  opens with them as preset facts (:attr:`~psirf_flow.workflows.spec.OpeningSpec.preset`);
  they are **not** opening fields, so whoever opens a PSII cannot set its own timescale or
  hard cap (the payload is refused with ``InvalidPayload``). A target is moved only by the
  documented steps below.
* ``record_terms_of_reference`` records ``family_involvement_in_terms`` (involved,
  declined or uncontactable): involvement is voluntary (§7.1), so each is a complete answer.
* ``agree_timescale`` (the lead) records ``target_date`` and the family's position on it,
  within the plan's timescale and never in the past.
* ``approve_extension`` (the executive lead, never the lead: SoD 5) moves ``target_date``
  later with a reason and the family's position, up to the hard cap.
* ``override_hard_cap`` (the executive lead) goes beyond the hard cap, with a rationale
  code (built-in, or one the plan adds under ``[overrides] rationale_codes``) and, if it
  helps, a reference to an artefact (``override_rationale_ref``); a missing rationale is
  refused as :class:`~psirf_flow.errors.ReasonMissing` (psirf-rules §5 SoD 7). It is
  its own trigger, so its audit entries carry ``psirf.timescale.hard_cap_override@1`` and
  oversight can find every override by trigger or rule without reading payloads.
* The family's response to the draft is ``record_family_draft_response`` (§6 stage 7).

Agreeing a timescale is recorded, not required before approval: until one is agreed, the
end of the plan's timescale is the target (see
:func:`~psirf_flow.workflows.learning_response.engagement.current_target_date`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import attrs

from psirf_flow.domain import Role
from psirf_flow.errors import DefinitionError
from psirf_flow.workflows.spec import (
    NOTE_FIELD,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
)


if TYPE_CHECKING:
    from psirf_flow.workflows.learning_response.definition import Variant


__all__ = ["family_position", "timescale_steps", "with_timescale_settings"]

#: The family's position when it is not agreement (involvement is voluntary, §7.1).
_NOT_ENGAGED: Final = ("declined", "uncontactable")
#: States an extension may be approved from: the clock runs from planning until approval,
#: and a case held for an external process (police, coroner) is the usual one to extend.
_EXTENDABLE: Final = (
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
    "on_hold",
)
_EXTENSION: Final = (
    "external_process",
    "awaiting_information",
    "staff_availability",
    "family_request",
    "complexity",
    "other",
)
#: Facts of an extension, cleared when a target within the timescale is agreed afresh.
_EXTENSION_FACTS: Final = (
    "extension_reason",
    "family_extension_agreement",
    "extension_approved_by",
    "hard_cap_override_reason",
    "override_rationale_ref",
    "hard_cap_override_by",
)


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
        TransitionSpec(
            trigger="approve_extension",
            sources=_EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
            guards=(
                "extension_approver_independent",
                "extension_later_than_target",
                "extension_within_hard_cap",
                "target_not_in_past",
            ),
            fields=(target, reason, family, NOTE_FIELD),
            rules=("psirf.timescale.extension@1", "psirf.sod.extension_approver@1"),
            actor_fact="extension_approved_by",
            summary="Extend the target date, with a reason and the family's position, up to "
            "the hard cap.",
        ),
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
            summary="Exceptionally, extend the target date beyond the hard cap, with a reason "
            "(flagged for oversight).",
        ),
    ]


def with_timescale_settings(opening: OpeningSpec, variant: Variant) -> OpeningSpec:
    """Preset the variant's timescale and hard cap on every case of a response with a clock.

    The settings come from the definition (the trust's plan), never from the opener's
    payload (psirf-rules §4.1, §5 rule 5): they are preset facts, not opening fields.

    Raises:
        DefinitionError: If the timescale or hard cap is not at least one day.
    """
    if not variant.timescale:
        return opening
    settings = {"timescale_days": variant.timescale_days, "hard_cap_days": variant.hard_cap_days}
    problems = [
        f"{name} must be a whole number of days, one or more, not {value!r}"
        for name, value in settings.items()
        if type(value) is not int or value < 1
    ]
    if problems:
        raise DefinitionError(variant.name, problems)
    return attrs.evolve(opening, preset={**opening.preset, **settings})
