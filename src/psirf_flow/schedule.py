"""Deadlines and escalation tiers from the plan, as a pure function of one step.

(Contract stub: the rules land with issue 10's schedule slice.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from psirf_flow.domain import Case, Deadline, Escalation
from psirf_flow.policy.plan import Plan
from psirf_flow.workflows.spec import WorkflowDefinition


__all__ = ["ScheduleChange", "plan_deadlines"]


@attrs.frozen
class ScheduleChange:
    """What one step does to a case's clocks: rows to insert or replace.

    Attributes:
        deadlines: Deadlines new or changed by the step.
        escalations: Escalation tiers new or changed by the step.
    """

    deadlines: tuple[Deadline, ...] = ()
    escalations: tuple[Escalation, ...] = ()


def plan_deadlines(
    *,
    definition: WorkflowDefinition,
    before: Case | None,
    after: Case,
    trigger: str,
    payload: dict[str, object] | None,
    now: datetime,
    plan: Plan | None,
    existing: Sequence[Deadline],
    tiers: Sequence[Escalation],
) -> ScheduleChange:
    """The deadlines and tiers a step starts, meets, clears, pauses, resumes or restarts.

    Args:
        definition: The case's workflow definition.
        before: The case before the step (``None`` when the step opens it).
        after: The case after the step.
        trigger: The step's trigger (``"open"`` for an opening).
        payload: The step's payload as given.
        now: The step's instant (aware UTC).
        plan: The plan version governing the case (``None``: the built-in defaults).
        existing: The case's deadlines before the step (every cycle).
        tiers: The case's escalation tiers before the step.
    """
    del definition, before, after, trigger, payload, now, plan, existing, tiers
    return ScheduleChange()
