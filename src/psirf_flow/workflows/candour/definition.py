"""The duty-of-candour lifecycle (England, regulation 20), as data.

Based on psirf-rules §4.2 and §9.3. Regulation 20 of the Health and Social Care Act 2008
(Regulated Activities) Regulations 2014 is statutory (HARD); the states below are this
library's reading of it (INF):

```text
assessing --determine_notifiable--> verbal_due --record_verbal_notification-->
  written_due --record_written_notification--> results_due --record_findings_shared-->
  complete
assessing --determine_not_notifiable--> not_notifiable
verbal_due --mark_uncontactable_or_declined--> uncontactable_or_declined
  --close_recorded--> complete_recorded
uncontactable_or_declined | complete_recorded --relevant_person_engages--> verbal_due
not_notifiable --reassess--> assessing   (new information, e.g. harm revised)
complete | complete_recorded --reopen--> assessing   (the facts changed)
```

psirf-rules §9.3 has "auto" steps (``NOTIFIABLE -> VERBAL_DUE``, ``VERBAL_DONE ->
WRITTEN_DUE``); the engine fires one transition per trigger, so each auto step is the
destination of the trigger before it. ``WRITTEN_DONE -> RESULTS_DUE`` is folded the same
way: findings become shareable once the learning response is approved, which the
coupling records with
[`LEARNING_RESPONSE_APPROVED`][psirf_flow.workflows.candour.definition.LEARNING_RESPONSE_APPROVED]
whenever it happens (the approval may come before or after the written notification), and
``record_findings_shared`` is allowed only from ``results_due`` once it is recorded.

Who does what:

* **Determination** (reg 20(8)): only a
  [`HEALTH_CARE_PROFESSIONAL`][psirf_flow.domain.Role.HEALTH_CARE_PROFESSIONAL]; their id is kept as
  ``determined_by``. The harm they record must match the decision
  ([`is_notifiable_harm`][psirf_flow.workflows.candour.guards.is_notifiable_harm]); an incident
  found not notifiable for another reg 20(8) reason (not unintended or unexpected, not during a
  regulated activity, a death not directly related to the incident) says so with a reason code.
* **Verbal notification** (reg 20(2), (3)): in person by a representative (a health care
  professional or the engagement lead), with the facts, the further enquiries, an
  apology, support offered, the relevant person's legal basis and a reference to the
  secure written record (reg 20(3)(e)).
* **Written notification** (reg 20(4), (6)): possible only from ``written_due``, that is
  after the verbal notification, with the 4(a)-(d) checklist and a stored copy reference.
* **Cannot be contacted or declines** (reg 20(5)): each attempt is recorded with
  ``record_contact_attempt`` (method and outcome; the count must go up by one each time)
  and a declining with ``record_declined``; leaving the verbal stage that way needs one of
  them. ``close_recorded`` keeps a reference to the written record of attempts, so the case
  still ends with a complete record.
* **Coupling** (psirf-rules §9.4):
  [`LEARNING_RESPONSE_APPROVED`][psirf_flow.workflows.candour.definition.LEARNING_RESPONSE_APPROVED]
  is fired by the coupling ``findings_due_on_approval`` (or by a patient safety specialist). Its
  ``learning_response_id`` is a [`CASE_REF`][psirf_flow.workflows.spec.FieldKind.CASE_REF]: the
  engine loads that case before deciding, and the step, like ``record_findings_shared`` after it, is
  refused unless the learning response exists in the same organisation, is approved (or shared or
  closed) and is linked to one of this case's incidents (reg 20(4)(c): the results shared are those
  of *this* incident's enquiries).

**Screening from the start and re-screening** (psirf-rules §4.2, §9.3, §9.4): a case can be
opened from the moment an incident is reported, by a health care professional (basis
``manual`` or ``could_result_in_harm``; opened with the id
[`candour_case_id`][psirf_flow.workflows.couplings.candour_case_id] of the intake, the screening
coupling later finds it there) or by the coupling when harm is graded moderate or above, at the
report or on any later re-grade. A re-grade into that range sends a case found not
notifiable back to ``assessing`` (``reassess``, fired by the coupling); a re-grade out of it
records the new grading and the reason on an open case (``harm_regraded``), and whether the
incident is notifiable stays a health care professional's decision (reg 20(8), HARD). A
completed case is reopened by a health care professional when the facts change
(``reopen``, with the new information and a reason).

Low harm: no or low harm is not notifiable under reg 20(8). A trust's plan may treat low
harm as notifiable; build that definition with ``build_duty_of_candour(low_harm_notifiable=
True)``. The choice is a definition setting, not a payload flag, so it cannot be claimed
per command; its audit entries carry the rule ``local.candour.low_harm_notifiable@1``.

**No day count is statutory**: the regulation says "as soon as reasonably practicable".
The working-day targets are the trust's plan's ``[duty_of_candour]`` settings (LOCAL or
contractual, psirf-rules §4.2; 10 working days each under the England and Wales calendar
without a plan), counted by [`psirf_flow.policy.timing`][psirf_flow.policy.timing]: the verbal
notification from awareness (the opening field ``aware_on``, a date never in the future, else the
date the case was opened; after ``reassess``, ``reopen`` or ``relevant_person_engages``, from that
step's date, stamped as ``notification_restarted_on``), the written notification from the
verbal one (stamped as ``verbal_notified_on``) and the findings from the learning
response's approval
(``learning_response_approved`` or ``record_enquiries_concluded`` stamp
``findings_available_on``). **Lateness needs a reason**: a step recorded after its due date
without its ``verbal_delay_reason``, ``written_delay_reason`` or ``results_delay_reason``
code is refused as [`ReasonMissing`][psirf_flow.errors.ReasonMissing] (guards
``verbal_delay_explained``, ``written_delay_explained``, ``results_delay_explained``).

Not modelled: reg 20(9) (registered persons other than health service bodies), the Welsh
duty of candour (which has its own day counts), and who the relevant person is (only the
legal basis code is kept; identities stay in the host system).
"""

from __future__ import annotations

from typing import Final

from psirf_flow.domain import Role
from psirf_flow.policy.harm import PHYSICAL_HARM_CODES, PSYCHOLOGICAL_HARM_CODES
from psirf_flow.workflows.candour.guards import (
    CANDOUR_GUARDS,
    HARM_CATEGORIES,
    NOT_NOTIFIABLE_REASONS,
    NOTIFICATION_RESTARTED_ON,
    is_notifiable_harm,
)
from psirf_flow.workflows.guards import GuardSpec, lifecycle_guards
from psirf_flow.workflows.spec import (
    NOTE_FIELD,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)


__all__ = [
    "DUTY_OF_CANDOUR",
    "DUTY_OF_CANDOUR_LOW_HARM_NOTIFIABLE",
    "HARM_CATEGORIES",
    "LEARNING_RESPONSE_APPROVED",
    "STATES",
    "build_duty_of_candour",
    "is_notifiable_harm",
]

LIFECYCLE_GUARDS: Final = lifecycle_guards(GuardSpec(*row) for row in CANDOUR_GUARDS)
"""The guards this lifecycle resolves its guard names against: the shared ones and its own."""

NAME: Final = "duty_of_candour"
FAMILY: Final = "duty_of_candour"
VERSION: Final = "1"
LEARNING_RESPONSE_APPROVED: Final = "learning_response_approved"
"""The trigger the "report approved -> share findings" coupling fires (psirf-rules §9.4)."""

STATES: Final = (
    "assessing",
    "not_notifiable",
    "verbal_due",
    "written_due",
    "results_due",
    "complete",
    "uncontactable_or_declined",
    "complete_recorded",
)
"""Every state a candour case can be in."""
_OPEN: Final = (
    "assessing",
    "verbal_due",
    "written_due",
    "results_due",
    "uncontactable_or_declined",
)
_CONTACTING: Final = ("verbal_due", "uncontactable_or_declined")
_NOTIFIERS: Final = (Role.HEALTH_CARE_PROFESSIONAL, Role.ENGAGEMENT_LEAD)
_RECORDERS: Final = (
    Role.ENGAGEMENT_LEAD,
    Role.PATIENT_SAFETY_SPECIALIST,
    Role.HEALTH_CARE_PROFESSIONAL,
)
_DELAY_REASONS: Final = (
    "relevant_person_unavailable",
    "relevant_person_request",
    "awaiting_information",
    "staff_availability",
    "determination_delayed",
    "other",
)
_RELEVANT_PERSON_BASIS: Final = ("patient", "on_death", "under_16", "lacks_capacity")
_DELIVERY: Final = ("given_in_person", "post", "email", "secure_portal")
_DETERMINATION_FACTS: Final = ("harm_category", "harm_basis", "not_notifiable_reason")
_LOCAL_LOW_HARM_RULE: Final = "local.candour.low_harm_notifiable@1"
_REASSESS_REASONS: Final = ("harm_revised", "new_facts", "review_of_decision")


def _flag(name: str) -> FieldSpec:
    return FieldSpec(name, FieldKind.FLAG, required=True)


def _delay(name: str) -> FieldSpec:
    return FieldSpec.choice(name, _DELAY_REASONS)


def _determination_fields() -> tuple[FieldSpec, ...]:
    return (
        FieldSpec.choice("harm_category", HARM_CATEGORIES, required=True),
        FieldSpec.choice("harm_basis", ("appears_to_have_resulted", "could_result"), required=True),
    )


def _determinations(low_harm_notifiable: bool) -> list[TransitionSpec]:
    suffix = "_low_harm_local" if low_harm_notifiable else ""
    rules: tuple[str, ...] = ("candour.reg20.determination@1",)
    if low_harm_notifiable:
        rules = (*rules, _LOCAL_LOW_HARM_RULE)
    return [
        TransitionSpec(
            trigger="determine_notifiable",
            sources=("assessing",),
            dest="verbal_due",
            roles=(Role.HEALTH_CARE_PROFESSIONAL,),
            guards=(f"harm_is_notifiable{suffix}",),
            fields=(*_determination_fields(), NOTE_FIELD),
            rules=rules,
            actor_fact="determined_by",
            summary="A health care professional finds the incident notifiable; the verbal "
            "notification is now due.",
        ),
        TransitionSpec(
            trigger="determine_not_notifiable",
            sources=("assessing",),
            dest="not_notifiable",
            roles=(Role.HEALTH_CARE_PROFESSIONAL,),
            guards=(f"harm_is_not_notifiable{suffix}",),
            fields=(
                *_determination_fields(),
                FieldSpec.choice("not_notifiable_reason", NOT_NOTIFIABLE_REASONS, required=True),
                NOTE_FIELD,
            ),
            rules=rules,
            actor_fact="determined_by",
            summary="A health care professional finds the incident not notifiable, "
            "with the reason.",
        ),
        TransitionSpec(
            trigger="reassess",
            sources=("not_notifiable",),
            dest="assessing",
            roles=(Role.HEALTH_CARE_PROFESSIONAL, Role.PATIENT_SAFETY_SPECIALIST, Role.SYSTEM),
            fields=(
                FieldSpec("new_information_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice("reassess_reason", _REASSESS_REASONS, required=True),
                FieldSpec("caused_by", FieldKind.REFERENCE),
                NOTE_FIELD,
            ),
            rules=("candour.reg20.determination@1",),
            clears=(*_DETERMINATION_FACTS, "determined_by"),
            reopens=True,
            stamp_fact=NOTIFICATION_RESTARTED_ON,
            summary="Assess again on new information (for example the harm was re-graded "
            "moderate or above; fired by the screening coupling then).",
        ),
        TransitionSpec(
            trigger="harm_regraded",
            sources=_OPEN,
            dest=SAME_STATE,
            roles=(
                Role.SYSTEM,
                Role.HEALTH_CARE_PROFESSIONAL,
                Role.PATIENT_SAFETY_SPECIALIST,
            ),
            fields=(
                FieldSpec.choice("regraded_physical_harm", PHYSICAL_HARM_CODES),
                FieldSpec.choice("regraded_psychological_harm", PSYCHOLOGICAL_HARM_CODES),
                FieldSpec.choice(
                    "regrade_reason",
                    ("no_longer_moderate_or_above", "grading_changed"),
                    required=True,
                ),
                FieldSpec("caused_by", FieldKind.REFERENCE),
            ),
            rules=("candour.reg20.screening@1",),
            summary="The incident's harm was re-graded (below moderate, when fired by the "
            "screening coupling): the new grading and the reason are recorded; whether the "
            "incident is notifiable stays a health care professional's decision.",
        ),
        TransitionSpec(
            trigger="reopen",
            sources=("complete", "complete_recorded"),
            dest="assessing",
            roles=(Role.HEALTH_CARE_PROFESSIONAL,),
            fields=(
                FieldSpec("new_information_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice("reopen_reason", _REASSESS_REASONS, required=True),
                NOTE_FIELD,
            ),
            rules=("candour.reg20.determination@1",),
            clears=(*_DETERMINATION_FACTS, "determined_by", "closed_by", "attempts_record_ref"),
            reopens=True,
            stamp_fact=NOTIFICATION_RESTARTED_ON,
            actor_fact="reopened_by",
            summary="A health care professional reopens a completed case because the facts "
            "changed; it is assessed again.",
        ),
    ]


def _notifications() -> list[TransitionSpec]:
    return [
        TransitionSpec(
            trigger="record_verbal_notification",
            sources=("verbal_due",),
            dest="written_due",
            roles=_NOTIFIERS,
            guards=(
                "verbal_in_person",
                "verbal_facts_given",
                "verbal_enquiries_explained",
                "verbal_apology_given",
                "verbal_support_offered",
                "verbal_delay_explained",
            ),
            fields=(
                _flag("in_person"),
                _flag("facts_given"),
                _flag("further_enquiries_explained"),
                _flag("apology_given"),
                _flag("support_offered"),
                FieldSpec("verbal_record_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice("relevant_person_basis", _RELEVANT_PERSON_BASIS, required=True),
                FieldSpec("representative_ids", FieldKind.IDENTIFIERS),
                _delay("verbal_delay_reason"),
            ),
            rules=("candour.reg20.verbal_notification@1",),
            actor_fact="verbal_recorded_by",
            stamp_fact="verbal_notified_on",
            summary="Record the notification given in person, with an apology; the written "
            "notification is now due.",
        ),
        TransitionSpec(
            trigger="record_written_notification",
            sources=("written_due",),
            dest="results_due",
            roles=_RECORDERS,
            guards=(
                "written_facts_included",
                "written_enquiries_included",
                "written_results_included",
                "written_apology_included",
                "written_delay_explained",
            ),
            fields=(
                _flag("facts_included"),
                _flag("enquiries_included"),
                _flag("results_to_date_included"),
                _flag("apology_included"),
                FieldSpec("written_copy_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice("written_delivery", _DELIVERY, required=True),
                _delay("written_delay_reason"),
            ),
            rules=("candour.reg20.written_notification@1",),
            actor_fact="written_recorded_by",
            summary="Record the written notification that follows the verbal one, and its "
            "stored copy.",
        ),
        TransitionSpec(
            trigger=LEARNING_RESPONSE_APPROVED,
            sources=_OPEN,
            dest=SAME_STATE,
            roles=(Role.SYSTEM, Role.PATIENT_SAFETY_SPECIALIST),
            guards=("learning_response_approved_for_incident",),
            stamp_fact="findings_available_on",
            fields=(
                FieldSpec("learning_response_id", FieldKind.CASE_REF, required=True),
                FieldSpec("learning_response_approved_ref", FieldKind.REFERENCE, required=True),
                FieldSpec("caused_by", FieldKind.REFERENCE),
            ),
            rules=("candour.reg20.results@1",),
            summary="The linked learning response was approved; its findings may be shared "
            "once the written notification is done (fired by the coupling). The response must "
            "exist in this organisation, be approved (or shared or closed) and share an "
            "incident with this case.",
        ),
        TransitionSpec(
            trigger="record_enquiries_concluded",
            sources=_OPEN,
            dest=SAME_STATE,
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            fields=(
                FieldSpec("enquiries_concluded_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice(
                    "enquiries",
                    ("external_investigation", "no_learning_response", "other"),
                    required=True,
                ),
            ),
            rules=("candour.reg20.results@1",),
            stamp_fact="findings_available_on",
            summary="Enquiries other than a learning response have concluded (for example "
            "another body's investigation).",
        ),
        TransitionSpec(
            trigger="record_findings_shared",
            sources=("results_due",),
            dest="complete",
            roles=_RECORDERS,
            guards=("findings_available", "results_delay_explained"),
            fields=(
                FieldSpec("results_letter_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice("results_delivery", _DELIVERY, required=True),
                _delay("results_delay_reason"),
            ),
            rules=("candour.reg20.results@1",),
            actor_fact="results_recorded_by",
            summary="Record that the results of the enquiries were shared in writing.",
        ),
    ]


def _contact_steps() -> list[TransitionSpec]:
    return [
        TransitionSpec(
            trigger="record_contact_attempt",
            sources=_CONTACTING,
            dest=SAME_STATE,
            roles=_RECORDERS,
            guards=("contact_attempt_in_sequence",),
            fields=(
                FieldSpec("contact_attempts", FieldKind.COUNT, required=True),
                FieldSpec.choice(
                    "contact_method",
                    ("in_person", "telephone", "letter", "email", "via_next_of_kin"),
                    required=True,
                ),
                FieldSpec.choice(
                    "contact_outcome",
                    (
                        "no_response",
                        "message_left",
                        "contact_details_invalid",
                        "not_available",
                        "meeting_arranged",
                    ),
                    required=True,
                ),
            ),
            rules=("candour.reg20.attempts_recorded@1",),
            summary="Record one attempt to contact the relevant person (numbered in order).",
        ),
        TransitionSpec(
            trigger="record_declined",
            sources=_CONTACTING,
            dest=SAME_STATE,
            roles=_RECORDERS,
            fields=(
                FieldSpec("declined_record_ref", FieldKind.REFERENCE, required=True),
                FieldSpec.choice("relevant_person_basis", _RELEVANT_PERSON_BASIS),
            ),
            rules=("candour.reg20.attempts_recorded@1",),
            summary="Record that the relevant person declined to speak to the representative.",
        ),
        TransitionSpec(
            trigger="mark_uncontactable_or_declined",
            sources=("verbal_due",),
            dest="uncontactable_or_declined",
            roles=(Role.PATIENT_SAFETY_SPECIALIST, Role.ENGAGEMENT_LEAD),
            guards=("unable_to_notify_recorded",),
            fields=(
                FieldSpec.choice("unable_reason", ("uncontactable", "declined"), required=True),
            ),
            rules=("candour.reg20.attempts_recorded@1",),
            summary="The relevant person cannot be contacted or declines; the attempts or "
            "the declining are on record.",
        ),
        TransitionSpec(
            trigger="close_recorded",
            sources=("uncontactable_or_declined",),
            dest="complete_recorded",
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            fields=(FieldSpec("attempts_record_ref", FieldKind.REFERENCE, required=True),),
            rules=("candour.reg20.attempts_recorded@1",),
            actor_fact="closed_by",
            summary="Close with the written record of attempts or of the declining kept.",
        ),
        TransitionSpec(
            trigger="relevant_person_engages",
            sources=("uncontactable_or_declined", "complete_recorded"),
            dest="verbal_due",
            roles=(Role.ENGAGEMENT_LEAD, Role.PATIENT_SAFETY_SPECIALIST),
            fields=(
                FieldSpec.choice(
                    "engaged_via",
                    ("relevant_person_contacted_us", "later_attempt_succeeded", "other"),
                    required=True,
                ),
            ),
            clears=("unable_reason", "declined_record_ref", "attempts_record_ref", "closed_by"),
            reopens=True,
            stamp_fact=NOTIFICATION_RESTARTED_ON,
            summary="The relevant person later engages; the verbal notification is due again.",
        ),
    ]


def build_duty_of_candour(*, low_harm_notifiable: bool = False) -> WorkflowDefinition:
    """Build and validate the duty-of-candour definition.

    Args:
        low_harm_notifiable: The trust's plan treats low harm as notifiable (LOCAL; the
            regulation does not). No harm is never notifiable in this definition.

    Returns:
        The definition named ``duty_of_candour``, version ``"1"``. Register exactly one of
        the two variants in a [`DefinitionRegistry`][psirf_flow.workflows.DefinitionRegistry].
    """
    return define(
        guards=LIFECYCLE_GUARDS,
        name=NAME,
        version=VERSION,
        family=FAMILY,
        title="Duty of candour (England, regulation 20)"
        + (" - low harm notifiable under the trust's plan" if low_harm_notifiable else ""),
        states=STATES,
        initial="assessing",
        final_states=("not_notifiable", "complete", "complete_recorded"),
        opening=OpeningSpec(
            roles=(Role.PATIENT_SAFETY_SPECIALIST, Role.HEALTH_CARE_PROFESSIONAL, Role.SYSTEM),
            fields=(
                FieldSpec("incident_ids", FieldKind.IDENTIFIERS, required=True),
                FieldSpec("learning_response_ids", FieldKind.IDENTIFIERS),
                FieldSpec("intake_case_id", FieldKind.IDENTIFIER),
                FieldSpec("caused_by", FieldKind.REFERENCE),
                FieldSpec.choice(
                    "screening_basis",
                    ("harm_recorded_moderate_or_above", "could_result_in_harm", "manual"),
                ),
                # When the organisation became aware (its local date; the opening's when
                # absent): the verbal notification's target counts from it (§4.2).
                FieldSpec("aware_on", FieldKind.DATE),
            ),
            guards=("aware_not_in_future",),
            rules=("candour.reg20.screening@1",),
        ),
        transitions=[*_determinations(low_harm_notifiable), *_notifications(), *_contact_steps()],
    )


DUTY_OF_CANDOUR: Final = build_duty_of_candour()
"""The duty-of-candour lifecycle as built in: moderate harm and above is notifiable."""
DUTY_OF_CANDOUR_LOW_HARM_NOTIFIABLE: Final = build_duty_of_candour(low_harm_notifiable=True)
"""The variant for a trust whose plan treats low harm as notifiable (same name and version:
register one or the other, never both)."""
