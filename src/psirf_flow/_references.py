"""The cases a command's guards refer to, loaded by the engine before it decides.

Guards are pure: a guard that checks another case (a safety action's learning response, a
candour case's incident) reads a :class:`~psirf_flow.workflows.guards.CaseSummary` the
engine loaded for it. Only the organisation's own cases are loaded; a missing case and a
case of another organisation are both left out, so a guard cannot tell them apart and
nothing about another organisation's cases leaks.

Private to the engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from psirf_flow.domain import check_identifier
from psirf_flow.errors import CaseNotFound
from psirf_flow.ports import Store
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.guards import CaseSummary


__all__ = ["GuardReferences"]


class GuardReferences:
    """Loads the cases named by a definition's ``CASE_REF`` facts, for its guards.

    Args:
        store: Where the cases are read.
        definitions: The engine's workflows (a referenced case's family comes from them).
    """

    def __init__(self, store: Store, definitions: DefinitionRegistry) -> None:
        self._store = store
        self._definitions = definitions
        # The CASE_REF fact names of each definition (definitions never change).
        self._names: dict[str, tuple[str, ...]] = {}

    def load(
        self,
        definition: WorkflowDefinition,
        organisation: str,
        facts: Mapping[str, object],
        payload: Mapping[str, object],
    ) -> dict[str, CaseSummary]:
        """The cases the payload and facts name, of ``organisation`` only, by id.

        Only well-formed ids are looked up (the payload is not checked yet).
        """
        names = self._names.get(definition.key)
        if names is None:
            names = definition.case_ref_facts
            self._names[definition.key] = names
        found: dict[str, CaseSummary] = {}
        for name in names:
            for value in (payload.get(name), facts.get(name)):
                if not isinstance(value, str) or value in found or check_identifier(value):
                    continue
                try:
                    other = self._store.load(value)
                except CaseNotFound:
                    continue
                referenced = self._definitions.get(other.workflow, other.workflow_version)
                if other.organisation == organisation and referenced is not None:
                    found[value] = CaseSummary.of(other, referenced.family)
        return found
