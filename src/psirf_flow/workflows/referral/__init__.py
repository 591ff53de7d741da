"""The referral lifecycle: one record per body an incident is referred to.

The definition, its vocabularies and its guards live in this package; it imports no other
lifecycle package (see [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry], which
assembles them).
"""

from __future__ import annotations

from psirf_flow.workflows.referral.definition import (
    REFERRAL,
    REFERRAL_OUTCOMES,
    STATES,
    WITHDRAWAL_REASONS,
)


__all__ = [
    "REFERRAL",
    "REFERRAL_OUTCOMES",
    "STATES",
    "WITHDRAWAL_REASONS",
]
