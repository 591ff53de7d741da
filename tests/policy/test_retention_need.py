"""A record's own retention need, from its workflow and facts (psirf-rules §4.5, §7.2)."""

from __future__ import annotations

import pytest

from psirf_flow.policy import LifecycleVariant, RetentionSettings
from psirf_flow.policy.retention import lifecycle_variants, national_requirement, raised_to


DEFAULT = RetentionSettings()


@pytest.mark.parametrize(
    ("workflow", "family", "variants"),
    [
        ("psii", "learning_response", (LifecycleVariant.PSII,)),
        (
            "after_action_review",
            "learning_response",
            (LifecycleVariant.AFTER_ACTION_REVIEW,),
        ),
        ("local_review", "learning_response", ()),
        ("psii", "incident_intake", ()),
        ("incident_intake", "incident_intake", ()),
        ("safety_action", "safety_action", ()),
    ],
)
def test_lifecycle_variants(
    workflow: str, family: str, variants: tuple[LifecycleVariant, ...]
) -> None:
    """Only a learning response whose workflow is a variant runs on that variant."""
    assert lifecycle_variants(workflow, family) == variants


@pytest.mark.parametrize(
    ("facts", "national"),
    [
        ({}, False),
        ({"basis": "national_requirement"}, True),
        ({"basis": "local_priority"}, False),
        ({"national_rule_refs": ("NAT-1@1",)}, True),
        ({"national_rule_refs": ()}, False),
        ({"basis": "local_priority", "national_rule_refs": ("NAT-1@1",)}, True),
    ],
)
def test_national_requirement(facts: dict[str, object], national: bool) -> None:
    """A national-requirement basis or any national rule reference makes a record serious."""
    assert national_requirement(facts) is national


@pytest.mark.parametrize(
    ("own", "floor", "settled"),
    [
        ("standard", [], "standard"),
        ("standard", ["serious"], "serious"),
        ("serious", ["standard", None], "serious"),
        ("standard", ["retired-class"], "standard"),
        ("retired-class", [None], "retired-class"),
        ("retired-class", ["standard"], "standard"),
    ],
)
def test_raised_to(own: str, floor: list[str | None], settled: str) -> None:
    """The own class is raised to the longest known floor class, never lowered."""
    assert raised_to(DEFAULT, own, floor) == settled
