"""Every built-in guard, assembled above the lifecycle packages, and ``define`` resolving them.

Each lifecycle package (``intake``, ``learning_response``, ``candour``, ``safety_action``,
``referral``, ``delegation``) registers its own guards with its definition, so no
lifecycle package imports another. This module sits above them all:
[`GUARDS`][psirf_flow.workflows.registry.GUARDS] is the union of every lifecycle's registry (the
same [`GuardSpec`][psirf_flow.workflows.guards.GuardSpec] objects the definitions hold), and
[`define`][psirf_flow.workflows.registry.define] builds a definition against it unless given another
registry, as [`psirf_flow.workflows.spec.define`][psirf_flow.workflows.spec.define] did before the
split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from psirf_flow.workflows import spec
from psirf_flow.workflows.candour import DUTY_OF_CANDOUR
from psirf_flow.workflows.delegation import DELEGATION
from psirf_flow.workflows.guards import GuardSpec
from psirf_flow.workflows.intake import INTAKE
from psirf_flow.workflows.learning_response import LEARNING_RESPONSES
from psirf_flow.workflows.referral import REFERRAL
from psirf_flow.workflows.safety_action import SAFETY_ACTION
from psirf_flow.workflows.spec import OpeningSpec, TransitionSpec, WorkflowDefinition


__all__ = ["GUARDS", "define"]


def _assemble(registries: Iterable[Mapping[str, GuardSpec]]) -> Mapping[str, GuardSpec]:
    """One read-only registry of ``registries``; a name two lifecycles define differently fails."""
    merged: dict[str, GuardSpec] = {}
    for registry in registries:
        for name, guard in registry.items():
            known = merged.setdefault(name, guard)
            if known is not guard:
                msg = f"guard {name!r} is registered by two lifecycles with different checks"
                raise ValueError(msg)
    return MappingProxyType(merged)


GUARDS: Final[Mapping[str, GuardSpec]] = _assemble(
    d.guards
    for d in (
        *LEARNING_RESPONSES.values(),
        DUTY_OF_CANDOUR,
        SAFETY_ACTION,
        INTAKE,
        DELEGATION,
        REFERRAL,
    )
)
"""The built-in guard registry, read-only: every lifecycle's guards and the shared ones.
Copy it to add local guards."""


def define(
    *,
    name: str,
    version: str,
    family: str,
    title: str,
    states: Iterable[str],
    initial: str,
    final_states: Iterable[str],
    opening: OpeningSpec,
    transitions: Iterable[TransitionSpec],
    guards: Mapping[str, GuardSpec] | None = None,
) -> WorkflowDefinition:
    """Build and validate a workflow definition (see `psirf_flow.workflows.spec.define`).

    Args:
        name: Unique name of the workflow.
        version: Version string cases pin.
        family: Lifecycle family.
        title: Human title.
        states: Every state.
        initial: The initial state.
        final_states: The final states.
        opening: How cases are opened.
        transitions: The transitions.
        guards: The guard registry to resolve guard names against (every built-in guard,
            [`GUARDS`][psirf_flow.workflows.registry.GUARDS], by default); pass a copy extended with
            local guards to add your own.

    Returns:
        The frozen definition.

    Raises:
        DefinitionError: Listing every problem found.
    """
    return spec.define(
        name=name,
        version=version,
        family=family,
        title=title,
        states=states,
        initial=initial,
        final_states=final_states,
        opening=opening,
        transitions=transitions,
        guards=GUARDS if guards is None else guards,
    )
