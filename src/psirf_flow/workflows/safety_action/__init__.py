"""The safety action lifecycle.

The definition, its vocabularies and its guards live in this package; it imports no other
lifecycle package (see [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry], which
assembles them).
"""

from __future__ import annotations

from psirf_flow.workflows.safety_action.definition import (
    SAFETY_ACTION,
    STATES,
    build_safety_action,
)


__all__ = [
    "SAFETY_ACTION",
    "STATES",
    "build_safety_action",
]
