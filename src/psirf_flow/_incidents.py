"""The engine's incident query: every record linked to one incident, with its state.

An incident's records are its intake, its learning responses, its duty-of-candour case,
its referrals and the safety actions of its learning responses (psirf-rules §9.4). The
engine writes each case's incident links with every command
([`IncidentLink`][psirf_flow.ports.IncidentLink]), so the query is one indexed read of the links,
then each case. Access is the caller's concern: only the organisation given is read.
"""

from __future__ import annotations

import attrs

from psirf_flow.errors import CaseNotFound
from psirf_flow.ports import Store
from psirf_flow.workflows import DefinitionRegistry


__all__ = ["IncidentRecord", "incident_records"]

_RECORD_FAMILIES = ("intake", "learning_response", "duty_of_candour", "referral", "safety_action")
"""The order families are listed in (any other family after them)."""


@attrs.frozen
class IncidentRecord:
    """One record linked to an incident, as ``Engine.incident_records`` lists it.

    Attributes:
        case_id: The case.
        workflow: Its workflow's name (``incident_intake``, ``psii``, ``referral``...).
        family: Its lifecycle family (``intake``, ``learning_response``,
            ``duty_of_candour``, ``referral``, ``safety_action``).
        state: Its state now.
        organisation: The organisation that owns it.
        version: How many commands it has accepted.
    """

    case_id: str
    workflow: str
    family: str
    state: str
    organisation: str
    version: int


def _order(record: IncidentRecord) -> tuple[int, str, str]:
    family = record.family
    rank = _RECORD_FAMILIES.index(family) if family in _RECORD_FAMILIES else 99
    return (rank, family, record.case_id)


def incident_records(
    store: Store, definitions: DefinitionRegistry, organisation: str, incident_id: str
) -> tuple[IncidentRecord, ...]:
    """The records of ``organisation``'s incident ``incident_id``, by family then case id.

    A linked case that has gone, belongs to another organisation, or follows a workflow
    ``definitions`` does not hold is left out.
    """
    found: list[IncidentRecord] = []
    for link in store.incident_links(organisation, (incident_id,)):
        try:
            case = store.load(link.case_id)
        except CaseNotFound:
            continue
        definition = definitions.get(case.workflow, case.workflow_version)
        if case.organisation != organisation or definition is None:
            continue
        found.append(
            IncidentRecord(
                case_id=case.id,
                workflow=case.workflow,
                family=definition.family,
                state=case.state,
                organisation=case.organisation,
                version=case.version,
            )
        )
    return tuple(sorted(found, key=_order))
