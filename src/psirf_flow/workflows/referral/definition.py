"""The referral lifecycle: one record per body an incident is referred to, as data.

Based on psirf-rules §3 (the national requirements that call for a referral: rows 3 and 5
to 11, HARD; bodies ✔, row wording ◐/✖) and §9.0 ("create Referral(body)", INF):

```text
to_notify --record_notification--> notified --complete--> completed
                                   notified --record_external_lead--> body_leads
                                              body_leads --complete--> completed
to_notify --withdraw (executive lead, reason)--> withdrawn
```

* **Opened** by the coupling ``open_referral`` when the intake refers the incident (or by
  the patient safety team directly), with the incident, the body (an id from the national
  rule pack or a local body the plan declares, guard ``referral_body_allowed``), the
  national rule it answers (and the national rules the intake's triage recorded) and
  whether a local response is needed alongside. Its case id
  is derived from the intake and the referring command
  ([`referral_case_id`][psirf_flow.workflows.couplings.referral_case_id]), and
  ``one_referral_per_body`` refuses a second referral to a body for the incident.
* **Notified**: the notification or submission to the body is recorded with its
  reference and date (for example the MNSI referral number, psirf-rules §3 row 3). Only
  a notified referral can be completed: ``complete`` is not a step of ``to_notify``.
* **Body leads**: where the body leads its own investigation or review, the trust's
  contribution is tracked per referral: information requested, supplied (never before the
  request) and the body's findings received.
* **Completed**: with an outcome; closing on the body's findings needs them recorded.
* **Withdrawn**: a referral opened in error (before any notification) is withdrawn by the
  executive lead with a reason code (psirf-rules §5 segregation rule 7 applies to
  setting a national requirement aside; withdrawing never does that on its own).

The intake closes as referred only when every referral of its incident is completed or
withdrawn, at least one completed (``referrals_completed``), so an intake can never be
closed without the notification ever having been made.
"""

from __future__ import annotations

from typing import Final

from psirf_flow.domain import Role
from psirf_flow.workflows.guards import GuardSpec, lifecycle_guards
from psirf_flow.workflows.guards_referral import REFERRAL_GUARD_SPECS
from psirf_flow.workflows.referral.guards import REFERRAL_RECORD_GUARDS
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
    "REFERRAL",
    "REFERRAL_OUTCOMES",
    "STATES",
    "WITHDRAWAL_REASONS",
]

LIFECYCLE_GUARDS: Final = lifecycle_guards(
    REFERRAL_GUARD_SPECS, (GuardSpec(*row) for row in REFERRAL_RECORD_GUARDS)
)
"""The guards this lifecycle resolves its guard names against: the shared ones and its own."""

NAME: Final = "referral"
FAMILY: Final = "referral"
STATES: Final = ("to_notify", "notified", "body_leads", "completed", "withdrawn")
"""Every state a referral can be in."""

REFERRAL_OUTCOMES: Final = (
    "notification_acknowledged",
    "findings_received",
    "body_declined_to_investigate",
    "body_review_complete",
    "trust_contribution_complete",
)
"""How a referral ends."""
WITHDRAWAL_REASONS: Final = ("opened_in_error", "body_not_responsible", "duplicate_referral")
"""Why the executive lead withdrew a referral before it was made."""
NOTIFICATION_ROUTES: Final = ("notification", "submission", "portal", "telephone_then_written")
"""How the body was told."""

_TEAM: Final = (Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD)
_CONTRIBUTION: Final = ("psirf.national.external_contribution@1",)

_OPENING: Final = OpeningSpec(
    roles=(Role.SYSTEM, Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD),
    fields=(
        FieldSpec("incident_ids", FieldKind.IDENTIFIERS, required=True),
        FieldSpec("referral_body", FieldKind.IDENTIFIER, required=True),
        FieldSpec("referral_rule_ref", FieldKind.IDENTIFIER),
        FieldSpec("national_rule_refs", FieldKind.IDENTIFIERS),
        FieldSpec("intake_case_id", FieldKind.IDENTIFIER),
        FieldSpec("body_leads_investigation", FieldKind.FLAG),
        FieldSpec("local_response_also_required", FieldKind.FLAG),
        FieldSpec("caused_by", FieldKind.REFERENCE),
    ),
    guards=("referral_body_allowed", "one_referral_per_body"),
    rules=("psirf.national.referral@1",),
)

_TRANSITIONS: Final = (
    TransitionSpec(
        trigger="record_notification",
        sources=("to_notify",),
        dest="notified",
        roles=_TEAM,
        fields=(
            FieldSpec("notification_ref", FieldKind.REFERENCE, required=True),
            FieldSpec("notification_date", FieldKind.DATE, required=True),
            FieldSpec.choice("notification_route", NOTIFICATION_ROUTES),
        ),
        rules=("psirf.national.referral_notified@1",),
        actor_fact="notified_by",
        summary="Record the notification or submission to the body: its reference and date.",
    ),
    TransitionSpec(
        trigger="record_external_lead",
        sources=("notified",),
        dest="body_leads",
        roles=_TEAM,
        fields=(
            FieldSpec("external_investigation_ref", FieldKind.REFERENCE),
            FieldSpec("external_lead_date", FieldKind.DATE, required=True),
        ),
        rules=_CONTRIBUTION,
        summary="The body confirms it leads the investigation; the trust contributes.",
    ),
    TransitionSpec(
        trigger="record_information_requested",
        sources=("body_leads",),
        dest=SAME_STATE,
        roles=_TEAM,
        fields=(
            FieldSpec("information_request_ref", FieldKind.REFERENCE, required=True),
            FieldSpec("information_requested_date", FieldKind.DATE, required=True),
        ),
        rules=_CONTRIBUTION,
        summary="Record that the leading body asked the trust for information.",
    ),
    TransitionSpec(
        trigger="record_information_supplied",
        sources=("body_leads",),
        dest=SAME_STATE,
        roles=_TEAM,
        guards=("information_requested_first",),
        fields=(
            FieldSpec("information_supplied_ref", FieldKind.REFERENCE, required=True),
            FieldSpec("information_supplied_date", FieldKind.DATE, required=True),
        ),
        rules=_CONTRIBUTION,
        summary="Record that the trust supplied the information requested.",
    ),
    TransitionSpec(
        trigger="record_findings_received",
        sources=("body_leads",),
        dest=SAME_STATE,
        roles=_TEAM,
        fields=(
            FieldSpec("external_findings_ref", FieldKind.REFERENCE, required=True),
            FieldSpec("findings_received_date", FieldKind.DATE, required=True),
        ),
        rules=_CONTRIBUTION,
        summary="Record that the leading body's findings were received.",
    ),
    TransitionSpec(
        trigger="complete",
        sources=("notified", "body_leads"),
        dest="completed",
        roles=_TEAM,
        guards=("findings_received_if_claimed",),
        fields=(FieldSpec.choice("referral_outcome", REFERRAL_OUTCOMES, required=True),),
        rules=("psirf.national.referral_closed@1",),
        actor_fact="completed_by",
        summary="The referral has run its course (the notification is on record).",
    ),
    TransitionSpec(
        trigger="withdraw",
        sources=("to_notify",),
        dest="withdrawn",
        roles=(Role.EXECUTIVE_LEAD,),
        fields=(
            FieldSpec.choice("withdrawal_reason", WITHDRAWAL_REASONS, required=True),
            NOTE_FIELD,
        ),
        rules=("psirf.national.referral_withdrawn@1",),
        actor_fact="withdrawn_by",
        summary="The executive lead withdraws a referral opened in error, with a reason.",
    ),
)


def _build() -> WorkflowDefinition:
    return define(
        guards=LIFECYCLE_GUARDS,
        name=NAME,
        version="1",
        family=FAMILY,
        title="Referral to another body",
        states=STATES,
        initial="to_notify",
        final_states=("completed", "withdrawn"),
        opening=_OPENING,
        transitions=_TRANSITIONS,
    )


REFERRAL: Final = _build()
"""The referral lifecycle, ``referral@1``."""
