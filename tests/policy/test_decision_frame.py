"""The choices ``decision_frame`` leaves the decider, compared whole, for each triage step.

The intake lifecycle's guards rebuild a :class:`DecisionFrame` from recorded triage
(psirf-rules §0.5 rule 1, §1.8, §3); each row here states the frame for one step of the
precedence, under a plan whose emergent-risk and proportionate settings differ.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from psirf_flow.domain import Role
from psirf_flow.policy import Decider, LocalResponse, Plan
from psirf_flow.policy.triage import DecisionFrame, decision_frame


EMERGENT_ALLOWED = ("psii", "round_table_review", "after_action_review")
PROPORTIONATE_ALLOWED = ("after_action_review", "swarm_huddle", "hot_debrief", "rapid_review")
EXECUTIVE = Decider(role=Role.EXECUTIVE_LEAD)
SPECIALIST = Decider(role=Role.PATIENT_SAFETY_SPECIALIST)


def _departures(plan: Plan, *, emergent: bool, proportionate: bool) -> Plan:
    """The plan with departures from the allowed responses permitted as given."""
    settings = plan.triage
    return attrs.evolve(
        plan,
        triage=attrs.evolve(
            settings,
            emergent_risk=attrs.evolve(settings.emergent_risk, departure_permitted=emergent),
            proportionate=attrs.evolve(settings.proportionate, departure_permitted=proportionate),
        ),
    )


@pytest.mark.parametrize(
    ("emergent", "proportionate", "arguments", "expected"),
    [
        pytest.param(
            True,
            False,
            {"emergent_risk": True},
            DecisionFrame(
                allowed=EMERGENT_ALLOWED,
                decided_by=EXECUTIVE,
                no_further_response_allowed=True,
                departure_permitted=True,
            ),
            id="emergent-risk-departure-permitted",
        ),
        pytest.param(
            False,
            True,
            {"emergent_risk": True},
            DecisionFrame(
                allowed=EMERGENT_ALLOWED,
                decided_by=EXECUTIVE,
                no_further_response_allowed=True,
                departure_permitted=False,
            ),
            id="emergent-risk-departure-refused",
        ),
        pytest.param(
            False,
            True,
            {"emergent_risk": False},
            DecisionFrame(
                allowed=PROPORTIONATE_ALLOWED,
                decided_by=SPECIALIST,
                no_further_response_allowed=True,
                departure_permitted=True,
            ),
            id="proportionate-departure-permitted",
        ),
        pytest.param(
            True,
            False,
            {"emergent_risk": False},
            DecisionFrame(
                allowed=PROPORTIONATE_ALLOWED,
                decided_by=SPECIALIST,
                no_further_response_allowed=True,
                departure_permitted=False,
            ),
            id="proportionate-departure-refused",
        ),
        pytest.param(
            False,
            True,
            {},
            DecisionFrame(
                allowed=PROPORTIONATE_ALLOWED,
                decided_by=SPECIALIST,
                no_further_response_allowed=True,
                departure_permitted=True,
            ),
            id="no-emergent-risk-unless-recorded",
        ),
        pytest.param(
            False,
            True,
            {"referral_expects": LocalResponse.NONE},
            DecisionFrame(
                allowed=PROPORTIONATE_ALLOWED,
                decided_by=SPECIALIST,
                no_further_response_allowed=False,
                departure_permitted=True,
            ),
            id="referral-expecting-nothing-adds-no-psii",
        ),
        pytest.param(
            False,
            True,
            {"referral_expects": LocalResponse.MAY_BE_REQUIRED},
            DecisionFrame(
                allowed=(*PROPORTIONATE_ALLOWED, "psii"),
                decided_by=SPECIALIST,
                no_further_response_allowed=False,
                departure_permitted=True,
            ),
            id="referral-that-may-need-a-psii-adds-it",
        ),
        pytest.param(
            True,
            True,
            {"psii_required": True, "emergent_risk": True},
            DecisionFrame(
                allowed=("psii",),
                decided_by=EXECUTIVE,
                no_further_response_allowed=False,
                departure_permitted=False,
                national_response="psii",
            ),
            id="national-psii-permits-no-departure",
        ),
    ],
)
def test_decision_frame_for_each_step(
    example_plan: Plan,
    emergent: bool,
    proportionate: bool,
    arguments: dict[str, Any],
    expected: DecisionFrame,
) -> None:
    """With no priority matched, each triage step gives its own whole frame."""
    plan = _departures(example_plan, emergent=emergent, proportionate=proportionate)
    called = {"psii_required": False, **arguments}

    assert decision_frame(plan, (), **called) == expected
