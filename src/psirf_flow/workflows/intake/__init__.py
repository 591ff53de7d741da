"""The incident intake lifecycle: triage, the response decision, referrals and transfer.

The definition, its vocabularies and its guards live in this package; it imports no other
lifecycle package (see [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry], which
assembles them).
"""

from __future__ import annotations

from psirf_flow.workflows.intake.definition import (
    BASES,
    DEPARTURE_REASONS,
    INTAKE,
    NATIONAL_OVERRIDE_RULE,
    NO_RESPONSE_RATIONALES,
    OVERRIDE_REASONS,
    PHYSICAL_HARM,
    PLAN_DEPARTURE_RULE,
    PSYCHOLOGICAL_HARM,
    RESPONSE_RATIONALES,
    SCREENED_FROM_REPORT,
    STATES,
    TRANSFER_REASONS,
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
