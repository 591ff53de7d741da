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

The decision core asks [`step`][psirf_flow.workflows._machine.step], which answers what
[`fire`][psirf_flow.workflows._machine.fire] answers from a table of the definition's own
transitions, built once per definition beside its compiled machine (so a definition is still
checked by ``transitions`` on first use). A call to the machine costs several times the rest of
a lookup (issue 12); a property test proves ``step`` and ``fire`` agree on every state,
trigger and held-from state of every built-in definition, with passing and failing guards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import attrs
from transitions import Machine, MachineError

from psirf_flow.workflows.spec import PREVIOUS_STATE, SAME_STATE, WorkflowDefinition


__all__ = ["FireOutcome", "compile_definition", "fire", "step"]

_COMPILED: dict[int, tuple[WorkflowDefinition, Any]] = {}
_TABLES: dict[int, tuple[WorkflowDefinition, dict[str, _Move]]] = {}
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


@attrs.frozen
class _Move:
    """One trigger of a definition, as its machine runs it.

    Attributes:
        sources: The states it may be fired from.
        dest: Where it goes (``None``: it stays, a recording step).
        resumes: For a resume, the states it may return to (``None`` for other triggers).
    """

    sources: frozenset[str]
    dest: str | None
    resumes: frozenset[str] | None


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


def _table(definition: WorkflowDefinition) -> dict[str, _Move]:
    """The definition's triggers as the machine runs them, built (and compiled) on first use."""
    entry = _TABLES.get(id(definition))
    if entry is not None and entry[0] is definition:
        return entry[1]
    compile_definition(definition)  # transitions checks the definition, as before
    table: dict[str, _Move] = {}
    for spec in definition.transitions.values():
        resumes = None
        dest: str | None = None if spec.dest == SAME_STATE else spec.dest
        if spec.dest == PREVIOUS_STATE:
            resumes, dest = frozenset(definition.holdable_states), None
        table[spec.trigger] = _Move(frozenset(spec.sources), dest, resumes)
    with _LOCK:
        _TABLES[id(definition)] = (definition, table)
    return table


def step(
    definition: WorkflowDefinition,
    trigger: str,
    *,
    state: str,
    held_from: str | None,
    evaluate: Callable[[], bool],
) -> FireOutcome:
    """Answer what [`fire`][psirf_flow.workflows._machine.fire] answers, from the table.

    The same arguments and outcome: a trigger not allowed from ``state`` is not a valid
    source; a resume with no holdable state to return to fires nothing and never runs the
    guards; otherwise ``evaluate`` runs once and the step moves only if it passes.

    Raises:
        KeyError: If ``trigger`` is not one of the definition's (as ``fire`` does).
    """
    move = _table(definition)[trigger]
    if state not in move.sources:
        return FireOutcome(fired=False, state=state, valid_source=False)
    if move.resumes is not None:
        if held_from is None or held_from not in move.resumes or not evaluate():
            return FireOutcome(fired=False, state=state)
        return FireOutcome(fired=True, state=held_from)
    if not evaluate():
        return FireOutcome(fired=False, state=state)
    return FireOutcome(fired=True, state=state if move.dest is None else move.dest)


def compiled_count() -> int:
    """How many definitions have been compiled in this process (for tests)."""
    return len(_COMPILED)
