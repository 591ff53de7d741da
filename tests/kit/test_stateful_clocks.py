"""Steps, clock moves and sweeps, under a real plan: every due tier fires once, never early.

:func:`psirf_flow.testing.engine_state_machine` with ``clocks=True`` runs the real schedule
(:func:`psirf_flow.schedule.plan_deadlines`, through the engine) under an example plan
from ``examples/plans/``, over the PSII, duty of candour and safety action lifecycles,
and mixes their commands with moves of the manual clock (minutes to weeks, across the
clock changes of 25 October 2026 and 28 March 2027 and the Christmas bank holidays) and
sweeps by two sweepers with different claimants. The machine's invariants are listed on
:class:`psirf_flow.testing.ClockedEngineStateMachine`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from psirf_flow.policy import load_plan_file
from psirf_flow.testing import ClockedEngineStateMachine, engine_state_machine
from psirf_flow.workflows import DefinitionRegistry


PLANS = Path(__file__).resolve().parents[2] / "examples" / "plans"
#: The mental health trust's plan: ladders with warnings, a breach and later tiers.
PLAN = load_plan_file(PLANS / "mental-health-community-trust.toml")
LIFECYCLES = ("psii", "duty_of_candour", "safety_action")
#: A Monday within the plan's dates, a fortnight before the clocks go back.
START = datetime(2026, 10, 12, 9, tzinfo=UTC)

_DEFAULTS = DefinitionRegistry.default()
DEFINITIONS = [d for d in (_DEFAULTS.latest(n) for n in LIFECYCLES) if d is not None]

ClockedMachine = engine_state_machine(
    DEFINITIONS,
    plan=PLAN,
    clocks=True,
    organisation=PLAN.plan.organisation,
    start=START,
    max_cases=3,
)

# Sized for CI (about a minute on one core under the "ci" profile's 60 examples).
CLOCKED = settings(
    max_examples=max(5, settings().max_examples // 4),
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
#: A short run that is the same on every machine.
SHORT = settings(CLOCKED, max_examples=5, stateful_step_count=40, derandomize=True, database=None)


class TestClockedMachine(ClockedMachine.TestCase):  # type: ignore[name-defined,misc]
    """Steps, clock moves and sweeps keep every tier firing once, on time, as audited."""

    settings = CLOCKED


def test_a_short_derandomised_run_holds_every_invariant() -> None:
    """A fixed, short search over the three lifecycles under the plan finds nothing."""
    run_state_machine_as_test(ClockedMachine, settings=SHORT)


def test_the_factory_builds_a_clocked_machine_under_the_plan() -> None:
    """``clocks=True`` gives the clocked machine, with the plan, start and claimants set."""
    assert issubclass(ClockedMachine, ClockedEngineStateMachine)
    assert ClockedMachine.plan is PLAN
    assert ClockedMachine.clock_start == START
    assert ClockedMachine.claimants == ("sweeper-a", "sweeper-b")
    assert ClockedMachine.organisation == PLAN.plan.organisation
