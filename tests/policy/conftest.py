"""Fixtures shared by the policy tests: the shipped example plan and national rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from psirf_flow.policy import NationalRuleSet, Plan, load_national_rules, load_plan


EXAMPLE_PLAN = (
    Path(__file__).resolve().parents[2] / "examples" / "plan-mental-health-community-trust.toml"
)


@pytest.fixture(name="example_text", scope="session")
def _example_text() -> str:
    """The text of the example plan shipped in ``examples/``."""
    return EXAMPLE_PLAN.read_text(encoding="utf-8")


@pytest.fixture(name="example_plan", scope="session")
def _example_plan(example_text: str) -> Plan:
    """The example plan, loaded."""
    return load_plan(example_text, source=EXAMPLE_PLAN.name)


@pytest.fixture(name="rules", scope="session")
def _rules() -> NationalRuleSet:
    """The national rule set shipped with the library."""
    return load_national_rules()
