"""Properties every built-in lifecycle holds (issue #5 item 10)."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.workflows import PREVIOUS_STATE, SAME_STATE, DefinitionRegistry, WorkflowDefinition


DEFINITIONS = sorted(DefinitionRegistry.default(), key=lambda d: d.name)


def _moves(definition: WorkflowDefinition, state: str) -> list[str]:
    """Every state one step away from ``state``, read straight from the definition's data."""
    found: list[str] = []
    for spec in definition.transitions.values():
        if state not in spec.sources:
            continue
        if spec.dest == SAME_STATE:
            found.append(state)
        elif spec.dest == PREVIOUS_STATE:
            found.extend(s for t in definition.transitions.values() if t.holds for s in t.sources)
        else:
            found.append(spec.dest)
    return found


def _finishes(definition: WorkflowDefinition, start: str) -> bool:
    seen, queue = {start}, deque([start])
    while queue:
        state = queue.popleft()
        if state in definition.final_states:
            return True
        for nxt in _moves(definition, state):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


@pytest.mark.parametrize("definition", DEFINITIONS, ids=[d.name for d in DEFINITIONS])
@given(choices=st.lists(st.integers(min_value=0, max_value=1000), max_size=40))
def test_every_reachable_state_can_still_finish(
    definition: WorkflowDefinition, choices: list[int]
) -> None:
    """Wherever a random walk from the initial state stops, a final state is still reachable."""
    state = definition.initial
    for choice in choices:
        moves = _moves(definition, state)
        if not moves:
            break
        state = moves[choice % len(moves)]

    assert _finishes(definition, state), (definition.name, state)


@pytest.mark.parametrize("definition", DEFINITIONS, ids=[d.name for d in DEFINITIONS])
def test_final_states_are_left_only_by_reopening(definition: WorkflowDefinition) -> None:
    """No step leaves a final state unless it is declared as a reopening."""
    for spec in definition.transitions.values():
        if set(spec.sources) & definition.final_states:
            assert spec.reopens, (definition.name, spec.trigger)
