"""The engine's side of retention per incident: reading the links, deciding again.

The rule is pure and lives in [`psirf_flow.policy.retention`][psirf_flow.policy.retention]
(psirf-rules §4.5, §7.2): a record's class is its own need raised to its class so far and to the
classes of the other records of its incidents. This module does what the rule cannot: it reads the
incident links (and, for a safety action, the learning responses it hangs from) from the
store, caches each workflow's own need, and decides a command once more when an incident
needs a longer class.

Private to the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from psirf_flow.decide import Classify, Decision
from psirf_flow.domain import Case, FactValue
from psirf_flow.errors import CaseNotFound
from psirf_flow.policy import RetentionSettings
from psirf_flow.policy.retention import lifecycle_variants, national_requirement, raised_to
from psirf_flow.ports import IncidentLink, Store
from psirf_flow.workflows.guards import case_incident_ids


__all__ = ["RetentionShell", "incident_classes"]

_RAISED_KEPT = 4096
"""The most (own class, floor) combinations remembered per engine."""

IncidentClasses = tuple[frozenset[str], Mapping[str, str]]
"""The distinct classes of an incident's links, and one case's own links' classes by incident."""


@runtime_checkable
class _ClassIndex(Protocol):
    """A store that tells an incident's link classes from an index (the in-memory store).

    Its answer is what [`incident_classes`][psirf_flow._retention_shell.incident_classes] makes
    of every link, read in time independent of the number of links.
    """

    def incident_classes(
        self, organisation: str, incident_ids: Sequence[str], case_id: str
    ) -> IncidentClasses: ...


def incident_classes(links: Iterable[IncidentLink], case_id: str) -> IncidentClasses:
    """What retention per incident needs of ``links``: their classes and ``case_id``'s own.

    The distinct classes of every link, and the class of each of ``case_id``'s links by
    incident id: the reference an index's answer must equal.
    """
    found = tuple(links)
    return (
        frozenset(link.retention_class for link in found),
        {link.incident_id: link.retention_class for link in found if link.case_id == case_id},
    )


class RetentionShell:
    """Classes cases per incident for one engine (its store and retention settings).

    Args:
        store: The engine's store, for incident links and linked learning responses.
        settings: The plan's retention settings (immutable, so each own need is cached).
    """

    def __init__(self, store: Store, settings: RetentionSettings) -> None:
        self._store = store
        self._settings = settings
        self._own: dict[tuple[str, str, bool], str] = {}
        # raised_to over a few class names is pure given the settings: remembered.
        self._raised: dict[tuple[str | None, ...], str] = {}
        self._index = store if isinstance(store, _ClassIndex) else None

    @property
    def settings(self) -> RetentionSettings:
        """The retention settings cases are classed by."""
        return self._settings

    def classifier(self, family: str) -> Classify:
        """The pure classifier ``decide`` calls: the case's own need, never below its class."""
        return lambda case: self.class_for(case, family, (case.retention_class,))

    def class_for(self, case: Case, family: str, floor: Iterable[str | None] = ()) -> str:
        """The case's class: its own need now, raised to ``floor`` (pure given its inputs).

        The rule is
        [`psirf_flow.policy.retention.raised_to`][psirf_flow.policy.retention.raised_to]; the own
        need is cached per workflow, family and national-requirement flag, and the result
        per own class and floor.
        """
        national = national_requirement(case.facts)
        cache_key = (case.workflow, family, national)
        own = self._own.get(cache_key)
        if own is None:
            variants = lifecycle_variants(case.workflow, family)
            own, _ = self._settings.class_for(variants, national_requirement=national)
            self._own[cache_key] = own
        key = (own, *floor)
        settled = self._raised.get(key)
        if settled is None:
            settled = raised_to(self._settings, own, key[1:])
            if len(self._raised) < _RAISED_KEPT:
                self._raised[key] = settled
        return settled

    def current(self, case: Case, family: str) -> str:
        """The class ``case`` has now: its own need, its class so far and its incidents'."""
        incidents = self.linked_incidents(case.organisation, case.facts)
        classes = self._classes(case.organisation, incidents, case.id)[0] if incidents else ()
        return self.class_for(case, family, [case.retention_class, *classes])

    def _classes(
        self, organisation: str, incidents: Sequence[str], case_id: str
    ) -> IncidentClasses:
        """The classes of the incidents' links and ``case_id``'s own (one indexed read)."""
        if self._index is not None:
            return self._index.incident_classes(organisation, incidents, case_id)
        return incident_classes(self._store.incident_links(organisation, incidents), case_id)

    def settled(
        self, decide_with: Callable[[Classify], Decision], family: str
    ) -> tuple[Decision, tuple[IncidentLink, ...]]:
        """Decide, with the retention class settled per incident before the entry is made.

        The class is part of the case digest each audit entry records, so it is chosen
        inside the pure decision. The first decision classes the case by its own need,
        never lower than its class so far; the records linked to the same incidents are
        then read (one indexed query) and, if one of them needs a longer class, the
        command is decided once more with that class (the same inputs, the same clock
        reading: only the class differs). Returns the decision and the case's incident
        links that are new or changed.
        """
        decision = decide_with(self.classifier(family))
        case = decision.case
        incidents = self.linked_incidents(case.organisation, case.facts)
        if not incidents:
            return decision, ()
        classes, stored = self._classes(case.organisation, incidents, case.id)
        # Never lowered: the case's class so far is part of its floor, with its incidents'
        # (the longest class decides, so each distinct class of the links is enough).
        settled = self.class_for(case, family, [case.retention_class, *classes])
        if settled != case.retention_class:
            decision = decide_with(lambda _case: settled)
            case = decision.case
        return decision, tuple(
            IncidentLink(case.organisation, incident, case.id, settled)
            for incident in incidents
            if stored.get(incident) != settled
        )

    def linked_incidents(
        self, organisation: str, facts: Mapping[str, FactValue]
    ) -> tuple[str, ...]:
        """The incidents a case belongs to, for retention per incident.

        Its own ``incident_ids`` / ``incident_id``; a case linked only through learning
        responses (a safety action's ``learning_response_ids``) belongs to theirs, read from
        those cases (same organisation only).
        """
        own = case_incident_ids(facts)
        responses = facts.get("learning_response_ids")
        if own or not isinstance(responses, tuple):
            return own
        found: set[str] = set()
        for response_id in responses:
            try:
                response = self._store.load(response_id)
            except CaseNotFound:
                continue
            if response.organisation == organisation:
                found.update(case_incident_ids(response.facts))
        return tuple(sorted(found))
