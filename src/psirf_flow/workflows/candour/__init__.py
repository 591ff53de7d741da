"""The statutory duty of candour lifecycle.

The definition, its vocabularies and its guards live in this package; it imports no other
lifecycle package (see [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry], which
assembles them).
"""

from __future__ import annotations

from psirf_flow.workflows.candour.definition import (
    DUTY_OF_CANDOUR,
    DUTY_OF_CANDOUR_LOW_HARM_NOTIFIABLE,
    HARM_CATEGORIES,
    LEARNING_RESPONSE_APPROVED,
    STATES,
    build_duty_of_candour,
    is_notifiable_harm,
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
