"""The cases a command's guards refer to, loaded by the engine before it decides.

Guards are pure: a guard that checks another case (a safety action's learning response, a
candour case's incident) reads a [`CaseSummary`][psirf_flow.workflows.guards.CaseSummary] the
engine loaded for it. Only the organisation's own cases are loaded; a missing case and a
case of another organisation are both left out, so a guard cannot tell them apart and
nothing about another organisation's cases leaks.

A guard registered with ``reads_incident_records`` (the intake's check that every
referral of its incident is complete, a referral's "one per body") also sees the other
records of the case's incidents: the engine reads the incident links (one indexed query)
and loads each linked case of the same organisation, only for the triggers whose guards
ask for it.

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
        # Per definition, the triggers ("open" for the opening) whose guards read the
        # incident's other records.
        self._incident_triggers: dict[str, frozenset[str]] = {}

    def load(
        self,
        definition: WorkflowDefinition,
        organisation: str,
        facts: Mapping[str, object],
        payload: Mapping[str, object],
        *,
        trigger: str | None = None,
    ) -> dict[str, CaseSummary]:
        """The cases the payload and facts name, of ``organisation`` only, by id.

        Only well-formed ids are looked up (the payload is not checked yet). When a guard
        of ``trigger`` (``"open"`` for an opening; ``None`` for any trigger, as
        [`options`][psirf_flow.engine.Engine.options] asks) reads the incident's records, the
        other cases linked to the incidents the facts and payload name are added.
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
        if self._reads_incident_records(definition, trigger):
            self._add_incident_records(found, organisation, facts, payload)
        return found

    def _reads_incident_records(self, definition: WorkflowDefinition, trigger: str | None) -> bool:
        triggers = self._incident_triggers.get(definition.key)
        if triggers is None:
            wanted = {
                name
                for name, spec in definition.transitions.items()
                if any(definition.guards[g].reads_incident_records for g in spec.guards)
            }
            if any(definition.guards[g].reads_incident_records for g in definition.opening.guards):
                wanted.add("open")
            triggers = frozenset(wanted)
            self._incident_triggers[definition.key] = triggers
        return bool(triggers) if trigger is None else trigger in triggers

    def _add_incident_records(
        self,
        found: dict[str, CaseSummary],
        organisation: str,
        facts: Mapping[str, object],
        payload: Mapping[str, object],
    ) -> None:
        incidents = {
            i
            for source in (facts, payload)
            for i in _incident_ids(source)
            if not check_identifier(i)
        }
        if not incidents:
            return
        for link in self._store.incident_links(organisation, tuple(sorted(incidents))):
            if link.case_id in found:
                continue
            try:
                other = self._store.load(link.case_id)
            except CaseNotFound:
                continue
            referenced = self._definitions.get(other.workflow, other.workflow_version)
            if other.organisation == organisation and referenced is not None:
                found[link.case_id] = CaseSummary.of(other, referenced.family)


def _incident_ids(source: Mapping[str, object]) -> list[str]:
    """The incident ids ``source`` names (an unchecked payload may hold anything)."""
    found: list[str] = []
    one = source.get("incident_id")
    if isinstance(one, str):
        found.append(one)
    many = source.get("incident_ids")
    if isinstance(many, (tuple, list)):
        found.extend(v for v in many if isinstance(v, str))
    return found
