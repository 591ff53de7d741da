"""The learning-response lifecycles: PSII, after action review, huddles, MDT and thematic.

The definition, its vocabularies and its guards live in this package; it imports no other
lifecycle package (see [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry], which
assembles them).
"""

from __future__ import annotations

from psirf_flow.workflows.learning_response.definition import (
    AFTER_ACTION_REVIEW,
    AFTER_ACTION_REVIEW_V1,
    CONTACT_PREFERENCES,
    CONVERT_TO_AFTER_ACTION_REVIEW,
    ENGAGED_PEOPLE,
    ENGAGEMENT_OUTCOMES,
    HOT_DEBRIEF,
    LEARNING_RESPONSES,
    MDT_REVIEW,
    NOT_HELD_IN_TIME,
    PERSON_KINDS,
    PSII,
    PSII_VARIANT,
    REASSIGN_REASONS,
    STATES,
    SWARM_HUDDLE,
    THEMATIC_REVIEW,
    Variant,
    build_learning_response,
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
