"""Workflow definitions as data, their guards, and the registry the engine looks them up in.

Each lifecycle has its own package (definition, guards, payload vocabularies):
[`intake`][psirf_flow.workflows.intake],
[`learning_response`][psirf_flow.workflows.learning_response],
[`candour`][psirf_flow.workflows.candour], [`safety_action`][psirf_flow.workflows.safety_action],
[`referral`][psirf_flow.workflows.referral] and [`delegation`][psirf_flow.workflows.delegation];
none imports another. [`registry`][psirf_flow.workflows.registry] assembles their guards
([`GUARDS`][psirf_flow.workflows.registry.GUARDS]) and
[`DefinitionRegistry`][psirf_flow.workflows.DefinitionRegistry] lists every lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from psirf_flow.workflows.candour import DUTY_OF_CANDOUR, build_duty_of_candour
from psirf_flow.workflows.delegation import DELEGATION
from psirf_flow.workflows.guards import GuardInput, GuardSpec
from psirf_flow.workflows.intake import INTAKE
from psirf_flow.workflows.learning_response import (
    AFTER_ACTION_REVIEW,
    AFTER_ACTION_REVIEW_V1,
    HOT_DEBRIEF,
    LEARNING_RESPONSES,
    MDT_REVIEW,
    PSII,
    SWARM_HUDDLE,
    THEMATIC_REVIEW,
)
from psirf_flow.workflows.referral import REFERRAL
from psirf_flow.workflows.registry import GUARDS, define
from psirf_flow.workflows.safety_action import SAFETY_ACTION
from psirf_flow.workflows.spec import (
    PREVIOUS_STATE,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
)


__all__ = [
    "AFTER_ACTION_REVIEW",
    "DELEGATION",
    "DUTY_OF_CANDOUR",
    "GUARDS",
    "HOT_DEBRIEF",
    "INTAKE",
    "LEARNING_RESPONSES",
    "MDT_REVIEW",
    "PREVIOUS_STATE",
    "PSII",
    "REFERRAL",
    "SAFETY_ACTION",
    "SAME_STATE",
    "SWARM_HUDDLE",
    "THEMATIC_REVIEW",
    "DefinitionRegistry",
    "FieldKind",
    "FieldSpec",
    "GuardInput",
    "GuardSpec",
    "OpeningSpec",
    "TransitionSpec",
    "WorkflowDefinition",
    "build_duty_of_candour",
    "define",
]


class DefinitionRegistry:
    """The workflow definitions an engine knows, by name and version.

    A case pins ``name@version`` when it is opened and is always loaded with that
    definition, so a newer version of a workflow never changes the rules for cases
    already under way. The newest registered version is used for new cases.
    """

    def __init__(self, definitions: Iterable[WorkflowDefinition] = ()) -> None:
        self._by_key: dict[tuple[str, str], WorkflowDefinition] = {}
        self._latest: dict[str, WorkflowDefinition] = {}
        for definition in definitions:
            self.register(definition)

    @classmethod
    def default(cls) -> DefinitionRegistry:
        """A registry holding every built-in definition (and earlier versions still in use)."""
        return cls(
            (
                AFTER_ACTION_REVIEW_V1,
                *LEARNING_RESPONSES.values(),
                INTAKE,
                DUTY_OF_CANDOUR,
                SAFETY_ACTION,
                DELEGATION,
                REFERRAL,
            )
        )

    def register(self, definition: WorkflowDefinition) -> None:
        """Add ``definition``; a later version of a name becomes the one used for new cases.

        Raises:
            ValueError: If the same name and version is registered twice with other content.
        """
        key = (definition.name, definition.version)
        known = self._by_key.get(key)
        if known is not None and known is not definition:
            msg = f"{definition.key} is already registered with a different definition"
            raise ValueError(msg)
        self._by_key[key] = definition
        latest = self._latest.get(definition.name)
        if latest is None or _version_key(definition.version) >= _version_key(latest.version):
            self._latest[definition.name] = definition

    def latest(self, name: str) -> WorkflowDefinition | None:
        """The newest version of workflow ``name``, or ``None``."""
        return self._latest.get(name)

    def get(self, name: str, version: str) -> WorkflowDefinition | None:
        """The definition ``name@version``, or ``None``."""
        return self._by_key.get((name, version))

    def __iter__(self) -> Iterator[WorkflowDefinition]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in version.split("."))
