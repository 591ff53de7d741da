"""The only module that imports ``transitions``.

Each [`WorkflowDefinition`][psirf_flow.workflows.spec.WorkflowDefinition] is compiled once per
process into a ``transitions.Machine`` with no model bound, ``auto_transitions=False`` (so no
``to_<state>`` trigger can bypass guards and audit), ``send_event=True`` and
``queued=False`` (so a shared machine holds no per-call state). Commands are fired unbound,
``machine.events[trigger].trigger(token)``, against a small throw-away token: domain objects
are never decorated.

A resume from hold has no fixed destination in the definition; it is compiled into one
machine transition per holdable state, each conditioned on the state the case was held from.

All guards of a transition run inside one machine condition so that every failure is
collected, not just the first. ``transitions.MachineError`` never leaves this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs
from transitions import Machine, MachineError

from psirf_flow.workflows.spec import PREVIOUS_STATE, SAME_STATE, WorkflowDefinition


__all__ = ["FireOutcome", "compile_definition", "fire"]

_COMPILED: dict[int, tuple[WorkflowDefinition, Any]] = {}
_LOCK = threading.Lock()


@attrs.define(eq=False, slots=True)
class _Token:
    """The throw-away model a machine moves: a state and the guard callback for this call."""

    state: str
    held_from: str | None
    evaluate: Callable[[], bool]


@attrs.frozen
class FireOutcome:
    """What firing a trigger on the machine produced.

    Attributes:
        fired: True when the machine moved (or stayed, for a recording step).
        state: The state after the call.
        valid_source: False when the trigger cannot be fired from the current state.
    """

    fired: bool
    state: str
    valid_source: bool = True


def _check(event: Any) -> bool:
    token: _Token = event.model
    return token.evaluate()


def _resume_condition(state: str) -> Callable[[Any], bool]:
    def held_here(event: Any) -> bool:
        token: _Token = event.model
        return token.held_from == state

    return held_here


def _build(definition: WorkflowDefinition) -> Any:
    transitions: list[dict[str, Any]] = []
    for spec in definition.transitions.values():
        if spec.dest == PREVIOUS_STATE:
            transitions.extend(
                {
                    "trigger": spec.trigger,
                    "source": list(spec.sources),
                    "dest": target,
                    "conditions": [_resume_condition(target), _check],
                }
                for target in definition.holdable_states
            )
        else:
            transitions.append(
                {
                    "trigger": spec.trigger,
                    "source": list(spec.sources),
                    # None makes an internal transition: the state does not change.
                    "dest": None if spec.dest == SAME_STATE else spec.dest,
                    "conditions": [_check],
                }
            )
    return Machine(
        model=None,
        states=list(definition.states),
        initial=definition.initial,
        transitions=transitions,
        auto_transitions=False,
        send_event=True,
        queued=False,
        ignore_invalid_triggers=False,
        model_attribute="state",
        name=definition.key,
    )


def compile_definition(definition: WorkflowDefinition) -> Any:
    """Return the machine for ``definition``, building it on first use only."""
    entry = _COMPILED.get(id(definition))
    if entry is not None and entry[0] is definition:
        return entry[1]
    with _LOCK:
        entry = _COMPILED.get(id(definition))
        if entry is None or entry[0] is not definition:
            entry = (definition, _build(definition))
            _COMPILED[id(definition)] = entry
        return entry[1]


def fire(
    definition: WorkflowDefinition,
    trigger: str,
    *,
    state: str,
    held_from: str | None,
    evaluate: Callable[[], bool],
) -> FireOutcome:
    """Fire ``trigger`` from ``state`` on the compiled machine.

    Args:
        definition: The workflow.
        trigger: A trigger the definition declares.
        state: The case's current state.
        held_from: The state to resume to, while on hold.
        evaluate: Runs every guard, records the results and returns whether all passed.
    """
    machine = compile_definition(definition)
    token = _Token(state=state, held_from=held_from, evaluate=evaluate)
    try:
        fired = bool(machine.events[trigger].trigger(token))
    except MachineError:
        return FireOutcome(fired=False, state=state, valid_source=False)
    return FireOutcome(fired=fired, state=token.state)


def compiled_count() -> int:
    """How many definitions have been compiled in this process (for tests)."""
    return len(_COMPILED)
