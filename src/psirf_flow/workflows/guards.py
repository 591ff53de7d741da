"""Guard machinery every lifecycle shares: what a guard sees, how it is registered, who is who.

A guard never raises for a "no"; it returns a [`GuardResult`][psirf_flow.domain.GuardResult]
whose ``reason_code`` is stable and whose ``explanation`` is plain words. Every guard of a
transition is evaluated, so a rejection lists everything that is missing at once.

This module holds no lifecycle's own guards: each lifecycle package keeps its guards next to its
definition (``workflows/<lifecycle>/guards.py``), and
[`psirf_flow.workflows.registry`][psirf_flow.workflows.registry] assembles every one into `GUARDS`.
What lives here is shared by several lifecycles:
[`GuardInput`][psirf_flow.workflows.guards.GuardInput],
[`CaseSummary`][psirf_flow.workflows.guards.CaseSummary],
[`GuardSpec`][psirf_flow.workflows.guards.GuardSpec], the identity helpers
[`same_person`][psirf_flow.workflows.guards.same_person] and
[`person_in`][psirf_flow.workflows.guards.person_in] (psirf-rules §5 segregation rules), the roles
that may sign or delegate a sign-off step (`SIGNER_ROLES`), and the one guard the intake and the
learning responses both run, ``staff_involved_kept`` (psirf-rules §5 rule 1: a list of staff
involved may only grow).

Add local guards by copying `GUARDS`, adding [`GuardSpec`][psirf_flow.workflows.guards.GuardSpec]
entries and passing the copy to [`define`][psirf_flow.workflows.define].
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.domain import (
    OVERSIGHT_ROLES,
    Actor,
    Case,
    FactValue,
    GuardResult,
    Role,
    frozen_facts,
)
from psirf_flow.policy.governance import Governance


__all__ = [
    "LEAD_FACTS",
    "SHARED_GUARDS",
    "SIGNER_ROLES",
    "CaseSummary",
    "Guard",
    "GuardInput",
    "GuardSpec",
    "case_incident_ids",
    "fact_date",
    "person_in",
    "same_person",
]

LEAD_FACTS: Final = ("lead_id", "facilitator_id")
"""Facts that name the person leading a response (an investigator or a facilitator)."""
PRIORITY_FACT: Final = "plan_priority_id"
"""The fact naming the plan priority a response was commissioned under (the intake's
``plan_priority_id``): its ``timescales`` override the response type's (psirf-rules §1.8)."""
SIGNER_ROLES: Final = tuple(
    r for r in Role if r not in OVERSIGHT_ROLES and r not in (Role.SYSTEM, Role.REPORTER)
)
"""Roles that may sign a step of a sign-off chain or delegate one: every role a person
acts in except the reporter's, the oversight roles and psirf_flow's own."""


def same_person(a: object, b: object) -> bool:
    """Tell whether two person ids name the same person, ignoring case.

    Every segregation-of-duties guard compares people through this helper (or
    [`person_in`][psirf_flow.workflows.guards.person_in]), so ``LRL-1`` and ``lrl-1`` are one person
    and cannot approve each other's work (psirf-rules §5 segregation rules 1, 2, 5 and 6). Ids are
    compared with `str.casefold`; anything that is not a string names nobody.
    """
    return isinstance(a, str) and isinstance(b, str) and a.casefold() == b.casefold()


def person_in(a: object, ids: Iterable[object]) -> bool:
    """Tell whether person id ``a`` is one of ``ids``, ignoring case.

    Ids are compared as [`same_person`][psirf_flow.workflows.guards.same_person] compares them.
    """
    return any(same_person(a, b) for b in ids)


@attrs.frozen
class CaseSummary:
    """A read-only summary of a case another case refers to, for guards.

    The engine (the imperative shell) loads each case named by a
    [`CASE_REF`][psirf_flow.workflows.spec.FieldKind.CASE_REF] fact before deciding, so guards
    stay pure. Only cases of the deciding case's own organisation are summarised.

    Attributes:
        id: The referenced case's id.
        workflow: Its workflow's name.
        family: Its lifecycle family (e.g. ``"learning_response"``).
        state: Its state when the command is decided.
        organisation: Its owning organisation.
        incident_ids: The incidents it is linked to (``incident_ids`` or ``incident_id``).
        facts: Its facts, read-only (opaque codes and ids; free text only as digests), for
            guards that read what another record says: a referral's body, a delegation's
            delegate, response types and dates. Not compared when summaries are compared.
    """

    id: str
    workflow: str
    family: str
    state: str
    organisation: str
    incident_ids: tuple[str, ...] = ()
    facts: Mapping[str, FactValue] = attrs.field(
        factory=dict, converter=frozen_facts, eq=False, repr=False
    )

    @classmethod
    def of(cls, case: Case, family: str) -> CaseSummary:
        """Summarise ``case`` (of lifecycle ``family``)."""
        return cls(
            id=case.id,
            workflow=case.workflow,
            family=family,
            state=case.state,
            organisation=case.organisation,
            incident_ids=case_incident_ids(case.facts),
            facts=case.facts,
        )


def case_incident_ids(facts: Mapping[str, FactValue]) -> tuple[str, ...]:
    """The incidents a case's facts link it to (``incident_ids`` and ``incident_id``), sorted."""
    found: set[str] = set()
    many = facts.get("incident_ids")
    if isinstance(many, tuple):
        found.update(many)
    one = facts.get("incident_id")
    if isinstance(one, str):
        found.add(one)
    return tuple(sorted(found))


@attrs.frozen
class GuardInput:
    """What a guard may look at.

    Attributes:
        case: The case before the command (``None`` when opening a case).
        trigger: The trigger being fired.
        actor: Who is acting.
        role: The role they act in.
        facts: The case's facts with the command's payload already applied.
        payload: The command's checked payload alone.
        now: When the command is being decided (aware UTC), as passed to
            [`decide`][psirf_flow.decide.decide]; guards stay pure because the time is an
            argument, never read from a clock. ``None`` only where a caller judges guards
            without a decision time; a guard that needs the time then refuses.
        references: Summaries of the cases the case's ``CASE_REF`` facts name, by id, as
            loaded by the engine before deciding (same organisation only); a named case
            that is absent here does not exist for the guard.
        governance: The plan and national rule pack versions the case runs under, as the
            engine passed them to [`decide`][psirf_flow.decide.decide]; ``None`` when the
            caller decides without a plan.
    """

    case: Case | None
    trigger: str
    actor: Actor
    role: Role
    facts: Mapping[str, FactValue]
    payload: Mapping[str, FactValue]
    now: datetime | None = None
    references: Mapping[str, CaseSummary] = attrs.field(factory=dict)
    governance: Governance | None = None

    def ids(self, name: str) -> tuple[str, ...]:
        """Return fact ``name`` as a tuple of ids (empty when absent)."""
        value = self.facts.get(name)
        if isinstance(value, tuple):
            return value
        if isinstance(value, str):
            return (value,)
        return ()

    def leads(self) -> set[str]:
        """The ids of whoever leads the response."""
        return {v for f in LEAD_FACTS if isinstance(v := self.facts.get(f), str)}

    def actor_is(self, person: object) -> bool:
        """Tell whether the acting person is ``person`` (an id), ignoring case."""
        return same_person(self.actor.id, person)

    def actor_in(self, people: Iterable[object]) -> bool:
        """Tell whether the acting person is one of ``people`` (ids), ignoring case."""
        return person_in(self.actor.id, people)


Guard = Callable[[GuardInput], GuardResult]
"""A guard: a pure function from what it may read to its verdict."""


@attrs.frozen
class GuardSpec:
    """A registered guard.

    Attributes:
        name: The registered name used in definitions.
        check: The pure function.
        summary: What it requires, in plain words (used in docs and availability).
        uses_payload: It needs the command's payload, so it cannot be judged ahead of time.
        reads_incident_records: It reads the other records of the case's incidents (same
            organisation), which the engine then loads into
            `GuardInput.references` before deciding (for instance the intake's
            referrals, one record per body).
    """

    name: str
    check: Guard
    summary: str
    uses_payload: bool = False
    reads_incident_records: bool = False


_result = GuardResult.judge


def fact_date(value: object) -> date | None:
    """A fact holding an ISO date as a `date`; ``None`` if absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _staff_involved_kept(g: GuardInput) -> GuardResult:
    """Staff once recorded as involved stay recorded (psirf-rules §5 rule 1).

    A new list adds people; it never drops one already recorded (ignoring case), so nobody
    can make a lead independent by taking names off the list.

    Rule: [The lead and engagement lead were not involved in the incident and do not line-manage
    those who were][lead-independent].
    """
    before = g.case.facts if g.case is not None else {}
    dropped = 0
    for fact in ("involved_staff_ids", "involved_line_manager_ids"):
        old = before.get(fact, ())
        new = g.ids(fact)
        if isinstance(old, tuple):
            dropped += sum(1 for person in old if not person_in(person, new))
    return _result(
        "staff_involved_kept",
        dropped == 0,
        "staff_involved_dropped",
        f"the new list leaves out {dropped} of the people already recorded as involved "
        "(or as their line managers); a list may only add people",
    )


_STAFF_INVOLVED_KEPT: Final = GuardSpec(
    "staff_involved_kept",
    _staff_involved_kept,
    "The new lists of staff involved and their line managers keep everyone already recorded.",
    uses_payload=True,
)

SHARED_GUARDS: Final[Mapping[str, GuardSpec]] = MappingProxyType(
    {g.name: g for g in (_STAFF_INVOLVED_KEPT,)}
)
"""The guards several lifecycles run (each lifecycle adds them to its own registry)."""


def lifecycle_guards(*groups: Iterable[GuardSpec]) -> Mapping[str, GuardSpec]:
    """The read-only guard registry of one lifecycle: `SHARED_GUARDS` and ``groups``.

    Each lifecycle's definition resolves its guard names against this registry (passed as
    ``guards=`` to [`define`][psirf_flow.workflows.spec.define]), so no lifecycle package
    imports another; `psirf_flow.workflows.registry.GUARDS` assembles them all.
    """
    return MappingProxyType({**SHARED_GUARDS, **{g.name: g for group in groups for g in group}})
