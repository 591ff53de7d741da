"""The timescale steps a learning response with a clock offers, as data (psirf-rules §4.1, §5).

:func:`~psirf_flow.workflows.learning_response.timescale.timescale_steps` is the whole
contract of these steps: who may take each, from which states, which guards it runs, which
fields it accepts, which rules its audit entry cites, which facts it records or clears and
the one-line summary a caller is shown (``Option.summary``). The steps are built here, at
test time, so that each expectation is checked against what the function returns now.
"""

from __future__ import annotations

import attrs
import pytest

from psirf_flow import Role
from psirf_flow.workflows import LEARNING_RESPONSES
from psirf_flow.workflows.learning_response import PSII_VARIANT
from psirf_flow.workflows.learning_response.timescale import family_position, timescale_steps
from psirf_flow.workflows.spec import (
    NOTE_FIELD,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    TransitionSpec,
)


#: States an extension may be requested, decided or overridden from.
EXTENDABLE = (
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
    "on_hold",
)
PENDING = ("requested_target_date", "extension_requested_by")
FAMILY = ("family_extension_position", "family_not_involved_reason", "family_position_recorded_by")
EXTENSION_FACTS = (
    *PENDING,
    *FAMILY,
    "extension_reason",
    "family_extension_agreement",
    "extension_approved_by",
    "extension_refused_by",
    "extension_refusal_reason",
    "hard_cap_override_reason",
    "override_rationale_ref",
    "hard_cap_override_by",
)
TARGET = FieldSpec("target_date", FieldKind.DATE, required=True)
REASON = FieldSpec(
    "extension_reason",
    FieldKind.CHOICE,
    required=True,
    choices=(
        "external_process",
        "awaiting_information",
        "staff_availability",
        "family_request",
        "complexity",
        "other",
    ),
)
FAMILY_AGREEMENT = FieldSpec(
    "family_extension_agreement",
    FieldKind.CHOICE,
    required=True,
    choices=("agreed", "declined", "uncontactable"),
)


def expected_steps(lead: Role) -> list[TransitionSpec]:
    """The timescale steps of a variant led by ``lead``, written out in full."""
    return [
        TransitionSpec(
            trigger="agree_timescale",
            sources=("planning", "gathering_and_analysis"),
            dest=SAME_STATE,
            roles=(lead,),
            guards=("actor_is_lead", "target_within_timescale", "target_not_in_past"),
            fields=(
                TARGET,
                FieldSpec(
                    "family_timescale_agreement",
                    FieldKind.CHOICE,
                    required=True,
                    choices=("agreed", "declined", "uncontactable"),
                ),
            ),
            rules=("psirf.timescale.agreed_with_family@1",),
            clears=EXTENSION_FACTS,
            summary="Record the target date agreed with the patient or family (or that they "
            "declined or could not be contacted), within the plan's timescale.",
        ),
        TransitionSpec(
            trigger="request_extension",
            sources=EXTENDABLE,
            dest=SAME_STATE,
            roles=(lead,),
            guards=(
                "actor_is_lead",
                "request_later_than_target",
                "request_within_hard_cap",
                "request_not_in_past",
            ),
            fields=(
                FieldSpec("requested_target_date", FieldKind.DATE, required=True),
                REASON,
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.extension_requested@1",),
            actor_fact="extension_requested_by",
            clears=(*FAMILY, "extension_refused_by", "extension_refusal_reason"),
            summary="The lead asks for a later target date, with a reason code, within the "
            "hard cap; the family's position is then recorded.",
        ),
        TransitionSpec(
            trigger="record_family_position",
            sources=EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.ENGAGEMENT_LEAD,),
            guards=("extension_pending", "family_not_involved_reason_given"),
            fields=(
                FieldSpec(
                    "family_extension_position",
                    FieldKind.CHOICE,
                    required=True,
                    choices=("agreed", "not_agreed", "not_involved"),
                ),
                FieldSpec(
                    "family_not_involved_reason",
                    FieldKind.CHOICE,
                    choices=(
                        "chose_not_to_be_involved",
                        "uncontactable",
                        "no_family_identified",
                        "other",
                    ),
                ),
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.extension_family_position@1",),
            actor_fact="family_position_recorded_by",
            summary="The engagement lead records the family's position on the requested "
            "extension: agreed, not agreed, or not involved (with the reason).",
        ),
        TransitionSpec(
            trigger="approve_extension",
            sources=EXTENDABLE,
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
            fields=(TARGET, NOTE_FIELD),
            rules=("psirf.timescale.extension@1", "psirf.sod.extension_approver@1"),
            actor_fact="extension_approved_by",
            clears=PENDING,
            summary="The executive lead approves the requested extension once the family's "
            "position is recorded; the approved date (at most the one requested) becomes "
            "the target.",
        ),
        TransitionSpec(
            trigger="refuse_extension",
            sources=EXTENDABLE,
            dest=SAME_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
            guards=("extension_pending", "extension_approver_independent"),
            fields=(
                FieldSpec(
                    "extension_refusal_reason",
                    FieldKind.CHOICE,
                    required=True,
                    choices=(
                        "not_justified",
                        "family_not_agreed",
                        "needs_hard_cap_override",
                        "other",
                    ),
                ),
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.extension_refused@1", "psirf.sod.extension_approver@1"),
            actor_fact="extension_refused_by",
            clears=(*PENDING, *FAMILY),
            summary="The executive lead refuses the requested extension, with a reason code; "
            "the target stands.",
        ),
        TransitionSpec(
            trigger="override_hard_cap",
            sources=EXTENDABLE,
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
                TARGET,
                REASON,
                FieldSpec("hard_cap_override_reason", FieldKind.IDENTIFIER),
                FieldSpec("override_rationale_ref", FieldKind.REFERENCE),
                FAMILY_AGREEMENT,
                NOTE_FIELD,
            ),
            rules=("psirf.timescale.hard_cap_override@1", "psirf.sod.extension_approver@1"),
            actor_fact="hard_cap_override_by",
            clears=PENDING,
            summary="Exceptionally, extend the target date beyond the hard cap, with a reason "
            "(flagged for oversight).",
        ),
    ]


@pytest.mark.parametrize("lead", [Role.LEARNING_RESPONSE_LEAD, Role.FACILITATOR])
def test_timescale_steps_are_written_out_in_full(lead: Role) -> None:
    """A variant with a clock gets the six timescale steps as specified, led by its lead role."""
    steps = timescale_steps(attrs.evolve(PSII_VARIANT, lead_role=lead))

    assert [s.trigger for s in steps] == [s.trigger for s in expected_steps(lead)]
    for got, want in zip(steps, expected_steps(lead), strict=True):
        assert got == want, want.trigger


def test_psii_registers_the_timescale_steps_built_now() -> None:
    """The registered PSII holds the timescale steps that the function builds for its variant."""
    registered = LEARNING_RESPONSES["psii"].transitions

    for step in timescale_steps(PSII_VARIANT):
        assert registered[step.trigger] == step


def test_a_variant_without_a_clock_has_no_timescale_steps() -> None:
    """A variant with ``timescale=False`` gets no timescale step at all."""
    assert timescale_steps(attrs.evolve(PSII_VARIANT, timescale=False)) == []


@pytest.mark.parametrize(
    ("name", "yes"),
    [("family_involvement_in_terms", "involved"), ("family_timescale_agreement", "agreed")],
)
def test_family_position_is_a_required_three_way_choice(name: str, yes: str) -> None:
    """A family position is a required choice of the positive answer, declined or uncontactable."""
    assert family_position(name, yes) == FieldSpec(
        name, FieldKind.CHOICE, required=True, choices=(yes, "declined", "uncontactable")
    )
