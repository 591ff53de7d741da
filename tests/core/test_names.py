"""Human names for roles and steps, as a patient safety lead reads them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.domain import ROLE_NAMES, Role, role_name
from psirf_flow.errors import InvalidInput
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.spec import step_name


@pytest.mark.parametrize(
    ("role", "name"),
    [
        (Role.REPORTER, "reporter"),
        (Role.PATIENT_SAFETY_SPECIALIST, "patient safety specialist"),
        (Role.LEARNING_RESPONSE_LEAD, "learning response lead"),
        (Role.FACILITATOR, "facilitator"),
        (Role.ENGAGEMENT_LEAD, "engagement lead"),
        (Role.PEER_REVIEWER, "peer reviewer"),
        (Role.SENIOR_LEADER, "senior leader"),
        (Role.EXECUTIVE_LEAD, "executive lead"),
        (Role.PATIENT_SAFETY_PARTNER, "patient safety partner"),
        (Role.ICB_OVERSIGHT, "ICB oversight"),
        (Role.ACTION_OWNER, "safety action owner"),
        (Role.HEALTH_CARE_PROFESSIONAL, "health care professional"),
        (Role.SYSTEM, "psirf_flow itself"),
    ],
)
def test_role_name_table(role: Role, name: str) -> None:
    """Every role has its human name, given the role or its stored code."""
    assert role_name(role) == name
    assert role_name(role.value) == name


def test_every_role_has_a_name() -> None:
    """The table names every role, each differently."""
    assert set(ROLE_NAMES) == set(Role)
    assert len(set(ROLE_NAMES.values())) == len(Role)


@pytest.mark.parametrize("value", ["nurse", "", None, 3, "Patient_Safety_Specialist"])
def test_role_name_refuses_unknown_roles(value: object) -> None:
    """A value that is no role is refused with InvalidInput naming the argument."""
    with pytest.raises(InvalidInput) as caught:
        role_name(value)

    assert caught.value.argument == "role"
    assert caught.value.code == "PSF700"


@pytest.mark.parametrize(
    ("trigger", "name"),
    [
        ("open", "Open"),
        ("decide_response", "Decide response"),
        ("record_verbal_notification", "Record verbal notification"),
        ("learning_response_approved", "Learning response approved"),
        ("escalation_fired", "Escalation fired"),
        ("convert_to_after_action_review", "Convert to after action review"),
        ("psii_commissioned", "PSII commissioned"),
        ("notify_icb", "Notify ICB"),
    ],
)
def test_step_name_table(trigger: str, name: str) -> None:
    """A trigger reads as words, the first capitalised, acronyms in capitals."""
    assert step_name(trigger) == name


@pytest.mark.parametrize("value", ["", "_", "  ", None, 7])
def test_step_name_refuses_what_is_no_trigger(value: object) -> None:
    """Something that is no trigger name is refused, naming the argument."""
    with pytest.raises(InvalidInput) as caught:
        step_name(value)  # type: ignore[arg-type]

    assert caught.value.argument == "trigger"


def test_every_defined_step_has_a_name() -> None:
    """Each transition of every definition has a name: its trigger in words, no underscores."""
    for definition in DefinitionRegistry.default():
        for spec in definition.transitions.values():
            assert spec.name == step_name(spec.trigger)
            assert spec.name
            assert "_" not in spec.name
            assert spec.name[0].isupper()


@given(st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=5))
def test_step_name_keeps_every_word(words: list[str]) -> None:
    """The name has the trigger's words in order, only their case changed."""
    name = step_name("_".join(words))

    assert name.lower().split(" ") == words
