"""Workflow definitions as frozen, versioned data, validated when they are built.

A [`WorkflowDefinition`][psirf_flow.workflows.spec.WorkflowDefinition] lists states, the initial
state, final states and transitions. Each
[`TransitionSpec`][psirf_flow.workflows.spec.TransitionSpec] names its trigger, source states,
destination, the roles that may fire it, the guards it runs (by registered name), the payload fields
it accepts and the rule references that justify it. [`define`][psirf_flow.workflows.spec.define]
checks everything at once and raises a single [`DefinitionError`][psirf_flow.errors.DefinitionError]
listing every problem.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.domain import OVERSIGHT_ROLES, FactValue, Role, frozen_facts
from psirf_flow.errors import DefinitionError, InvalidInput, shown
from psirf_flow.workflows.guards import GuardSpec


__all__ = [
    "DAYS_ON_HOLD_FACT",
    "HELD_ON_FACT",
    "NOTE_FIELD",
    "PREVIOUS_STATE",
    "SAME_STATE",
    "FieldKind",
    "FieldSpec",
    "OpeningSpec",
    "TransitionSpec",
    "WorkflowDefinition",
    "collected",
    "define",
    "record_facts",
]

PREVIOUS_STATE: Final = "<previous>"
"""Destination marker: return to the state recorded when the case was put on hold."""
HELD_ON_FACT: Final = "held_on"
"""The fact holding the Europe/London date a case was put on hold (while it is on hold)."""
DAYS_ON_HOLD_FACT: Final = "days_on_hold"
"""The fact counting the whole local days a case has spent on hold, added up on each resume."""
SAME_STATE: Final = "<same>"
"""Destination marker: a recording step that keeps the case in the state it was fired from."""


class FieldKind(StrEnum):
    """What a payload field holds, which decides how it is checked and stored."""

    IDENTIFIER = "identifier"
    """One opaque id (a person, incident or safety action)."""
    IDENTIFIERS = "identifiers"
    """A list of opaque ids, stored as a sorted tuple without duplicates."""
    CHOICE = "choice"
    """One value from a closed list of codes."""
    FLAG = "flag"
    """True or false."""
    COUNT = "count"
    """A whole number, zero or more."""
    DATE = "date"
    """An ISO calendar date, ``YYYY-MM-DD``."""
    REFERENCE = "reference"
    """An opaque reference to a document held by the host (never the document itself)."""
    TEXT = "text"
    """Free text: only a salted SHA-256 digest is kept; the text never reaches storage or logs."""
    CASE_REF = "case_ref"
    """The id of another case of the same organisation (e.g. a learning response). Checked as
    an identifier; before deciding, the engine loads every case a ``CASE_REF`` fact names
    and hands guards a read-only summary of it
    ([`references`][psirf_flow.workflows.guards.GuardInput]). A missing case and
    another organisation's case look the same: absent."""
    DIGEST = "digest"
    """A SHA-256 digest of a document the host holds (a draft version, say), written as 64
    hexadecimal digits and stored in lower case: it identifies the version without holding
    any of its text."""


@attrs.frozen
class FieldSpec:
    """A payload field a trigger accepts.

    Args:
        name: The field's name, which is also the fact it is stored under.
        kind: What it holds.
        required: Whether the command is refused without it.
        choices: For [`FieldKind.CHOICE`][psirf_flow.workflows.spec.FieldKind.CHOICE], the allowed
            codes.
    """

    name: str
    kind: FieldKind
    required: bool = False
    choices: tuple[str, ...] = ()

    @classmethod
    def choice(cls, name: str, choices: tuple[str, ...], *, required: bool = False) -> FieldSpec:
        """A `FieldKind.CHOICE` field accepting one of ``choices``."""
        return cls(name, FieldKind.CHOICE, required=required, choices=choices)


NOTE_FIELD: Final = FieldSpec("note", FieldKind.TEXT)
"""The optional free-text note many steps accept (kept only as a salted digest)."""


@attrs.frozen
class OpeningSpec:
    """How a case of the workflow is opened: who may open it and with which facts.

    Args:
        roles: Roles allowed to open a case.
        fields: Payload fields accepted when opening.
        guards: Guard names checked when opening.
        rules: Rule references (``rule_id@version``) recorded in the audit entry.
        preset: Facts every case of the definition opens with, set by the definition (for
            instance the plan's PSII timescale and hard cap, psirf-rules §4.1), never by the
            opener's payload: a preset fact cannot also be an opening field.
    """

    roles: tuple[Role, ...]
    fields: tuple[FieldSpec, ...] = ()
    guards: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    preset: Mapping[str, FactValue] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=frozen_facts, hash=False
    )


@attrs.frozen
class TransitionSpec:
    """One trigger of a workflow.

    Args:
        trigger: The trigger's name.
        sources: States it may be fired from.
        dest: The destination; [`PREVIOUS_STATE`][psirf_flow.workflows.spec.PREVIOUS_STATE] to
            resume from hold, or [`SAME_STATE`][psirf_flow.workflows.spec.SAME_STATE] for a
            recording step that keeps the case where it is.
        roles: Roles allowed to fire it, in order of preference.
        guards: Registered guard names, all evaluated; every failure is reported.
        fields: Payload fields it accepts.
        rules: Rule references (``rule_id@version``) recorded in the audit entry.
        actor_fact: When set, the acting person's id is stored as this fact (e.g. the author).
        stamp_fact: When set, the Europe/London date of the decision (ISO,
            [`local_date`][psirf_flow.policy.timing.local_date] of ``now``) is stored as this fact
            (e.g. ``started_on`` when a response starts), so a step at 00:30 BST records
            that day, not the UTC date before it (issue 10 counting rules). The time comes from
            the ``now`` argument of [`decide`][psirf_flow.decide.decide], so the core stays pure.
        clears: Facts removed when it fires (e.g. review records when a report is reworked).
        counts: When set, this fact counts how often the step was taken: one more each time
            it fires (absent counts as zero), e.g. a report's ``revision`` on reopening.
        holds: It puts the case on hold, remembering the state to resume to.
        reopens: It is the one kind of transition allowed out of a final state.
        summary: One line saying what the step means, for documentation and diagrams.
        collects: Pairs ``(field, fact)``: the value of the identifier ``field`` given with
            the command is added to the list ``fact`` (a sorted tuple without duplicates),
            so a step fired several times keeps every value given (each referral body,
            each regulator notification), where ``field`` itself holds only the last one.
        record_key: For a step that keeps one record per person (or thing): the required
            identifier field whose value keys the record. The other fields are then stored
            as ``<field>.<key>`` (a later record for the same key replaces what it gives),
            never under their own names, and the key is added to ``record_index``.
        record_index: With ``record_key``, the fact listing every key recorded (sorted).
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[Role, ...]
    guards: tuple[str, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    rules: tuple[str, ...] = ()
    actor_fact: str | None = None
    stamp_fact: str | None = None
    clears: tuple[str, ...] = ()
    counts: str | None = None
    holds: bool = False
    reopens: bool = False
    summary: str = ""
    collects: tuple[tuple[str, str], ...] = ()
    record_key: str | None = None
    record_index: str | None = None

    @property
    def name(self) -> str:
        """The step's human name, from its trigger: ``decide_response`` is ``Decide response``."""
        return step_name(self.trigger)


_ACRONYMS: Final = MappingProxyType({"psii": "PSII", "icb": "ICB", "aar": "AAR"})
"""Words of a trigger written in capitals in a step's human name."""


def step_name(trigger: str) -> str:
    """The human name of a step from its trigger, as a definition names it.

    The trigger's words, the first capitalised, known acronyms in capitals: ``assign_lead``
    is ``Assign lead``, ``learning_response_approved`` is ``Learning response approved``.
    Works for every trigger an audit entry can record, including ``open`` and the reserved
    ``escalation_fired``.

    Args:
        trigger: A trigger name (lower case words joined by underscores).

    Raises:
        InvalidInput: If ``trigger`` is not a non-empty string (argument ``trigger``).
    """
    given: object = trigger  # callers outside mypy may pass anything
    if not isinstance(given, str) or not given.strip("_ "):
        raise InvalidInput("trigger", f"{shown(given)} is not a trigger name")
    words = [_ACRONYMS.get(word, word) for word in trigger.split("_") if word]
    first = words[0]
    words[0] = first if first in _ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def collected(
    spec: TransitionSpec, before: Mapping[str, FactValue], data: Mapping[str, FactValue]
) -> dict[str, FactValue]:
    """The list facts ``spec.collects`` makes: each earlier list plus the value given now.

    Args:
        spec: The transition fired.
        before: The case's facts before the command (after ``clears``).
        data: The command's checked payload.
    """
    found: dict[str, FactValue] = {}
    for field, fact in spec.collects:
        value = data.get(field)
        if not isinstance(value, str):
            continue
        earlier = before.get(fact)
        values = set(earlier) if isinstance(earlier, tuple) else set()
        values.add(value)
        found[fact] = tuple(sorted(values))
    return found


def record_facts(
    spec: TransitionSpec, data: Mapping[str, FactValue], facts: Mapping[str, FactValue]
) -> dict[str, FactValue]:
    """The facts a step's checked payload ``data`` sets on a case whose facts are ``facts``.

    Usually ``data`` itself. For a keyed record step
    ([`TransitionSpec.record_key`][psirf_flow.workflows.spec.TransitionSpec]), each other field
    under ``<field>.<key>`` and the index with the key added.
    """
    if spec.record_key is None or spec.record_index is None:
        return dict(data)
    key = data.get(spec.record_key)
    if not isinstance(key, str):  # pragma: no cover - a required identifier field
        return dict(data)
    found: dict[str, FactValue] = {
        f"{name}.{key}": value for name, value in data.items() if name != spec.record_key
    }
    index = facts.get(spec.record_index, ())
    keys = set(index) if isinstance(index, tuple) else set()
    found[spec.record_index] = tuple(sorted(keys | {key}))
    return found


@attrs.frozen
class WorkflowDefinition:
    """A validated, versioned workflow. Build it with `define`, never directly.

    Attributes:
        name: Unique name, e.g. ``"psii"``.
        version: Version string; cases pin it when opened.
        family: The lifecycle family (e.g. ``"learning_response"``).
        title: A human title.
        states: Every state, in display order.
        initial: The state a new case starts in.
        final_states: States a case stays in, except through a ``reopens`` transition.
        opening: Who may open a case and with which facts.
        transitions: Every transition, keyed by trigger.
        guards: The guard registry the definition was validated against.
    """

    name: str
    version: str
    family: str
    title: str
    states: tuple[str, ...]
    initial: str
    final_states: frozenset[str]
    opening: OpeningSpec
    transitions: Mapping[str, TransitionSpec] = attrs.field(hash=False)
    guards: Mapping[str, GuardSpec] = attrs.field(hash=False, repr=False)

    @property
    def key(self) -> str:
        """``name@version``, the identity a case pins."""
        return f"{self.name}@{self.version}"

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, in definition order."""
        return tuple(self.transitions)

    @property
    def case_ref_facts(self) -> tuple[str, ...]:
        """The facts that name another case (`FieldKind.CASE_REF` fields), sorted."""
        fields = [*self.opening.fields]
        for spec in self.transitions.values():
            fields.extend(spec.fields)
        return tuple(sorted({f.name for f in fields if f.kind is FieldKind.CASE_REF}))

    def transition(self, trigger: str) -> TransitionSpec | None:
        """Return the transition for ``trigger``, or ``None``."""
        return self.transitions.get(trigger)

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """Every trigger that may be fired from ``state``."""
        return tuple(t.trigger for t in self.transitions.values() if state in t.sources)

    def destinations(self, spec: TransitionSpec) -> tuple[str, ...]:
        """The states ``spec`` may lead to (every holdable state for a resume)."""
        if spec.dest == PREVIOUS_STATE:
            return self.holdable_states
        if spec.dest == SAME_STATE:
            return spec.sources
        return (spec.dest,)

    @property
    def holdable_states(self) -> tuple[str, ...]:
        """States from which a holding transition may be fired."""
        found: list[str] = []
        for spec in self.transitions.values():
            if spec.holds:
                found.extend(s for s in spec.sources if s not in found)
        return tuple(found)


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
    guards: Mapping[str, GuardSpec],
) -> WorkflowDefinition:
    """Build and validate a workflow definition against the guard registry ``guards``.

    Each lifecycle package passes its own registry;
    [`psirf_flow.workflows.define`][psirf_flow.workflows.registry.define] (in
    [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry]) resolves against every
    built-in guard by default.

    Every problem is collected before anything is raised: a missing or unknown initial
    state, references to unknown states, unreachable states, transitions out of final
    states (other than ``reopens``), unknown guard names, duplicate triggers from one state,
    states from which no final state can be reached, empty role lists and malformed fields.

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
        guards: The guard registry to resolve guard names against; pass a copy of
            [`psirf_flow.workflows.registry.GUARDS`][psirf_flow.workflows.registry.GUARDS] extended
            with local guards to add your own.

    Returns:
        The frozen definition.

    Raises:
        DefinitionError: Listing every problem found.
    """
    registry = dict(guards)
    state_list = tuple(states)
    finals = frozenset(final_states)
    specs = tuple(transitions)
    problems: list[str] = []

    problems.extend(_check_states(state_list, initial, finals))
    problems.extend(_check_opening(opening, registry))
    by_trigger: dict[str, TransitionSpec] = {}
    for spec in specs:
        problems.extend(_check_transition(spec, set(state_list), finals, registry))
        if spec.trigger in by_trigger:
            problems.extend(_duplicate_sources(by_trigger[spec.trigger], spec))
        else:
            by_trigger[spec.trigger] = spec

    definition = WorkflowDefinition(
        name=name,
        version=version,
        family=family,
        title=title,
        states=state_list,
        initial=initial,
        final_states=finals,
        opening=opening,
        transitions=MappingProxyType(by_trigger),
        guards=MappingProxyType(registry),
    )
    problems.extend(_check_graph(definition, specs))
    if problems:
        raise DefinitionError(name, problems)
    return definition


def _check_states(states: tuple[str, ...], initial: str, finals: frozenset[str]) -> list[str]:
    problems: list[str] = []
    if not initial:
        problems.append("no initial state is given")
    elif initial not in states:
        problems.append(f"initial state {initial!r} is not one of the states")
    seen: set[str] = set()
    for state in states:
        if state in seen:
            problems.append(f"state {state!r} is listed twice")
        seen.add(state)
    problems.extend(
        f"final state {state!r} is not one of the states" for state in sorted(finals - seen)
    )
    if not finals:
        problems.append("no final state is given")
    return problems


def _check_fields(where: str, fields: tuple[FieldSpec, ...]) -> list[str]:
    problems: list[str] = []
    names: set[str] = set()
    for spec in fields:
        if spec.name in names:
            problems.append(f"{where}: field {spec.name!r} is declared twice")
        names.add(spec.name)
        if spec.kind is FieldKind.CHOICE and not spec.choices:
            problems.append(f"{where}: choice field {spec.name!r} has no choices")
        if spec.kind is not FieldKind.CHOICE and spec.choices:
            problems.append(f"{where}: field {spec.name!r} has choices but is not a choice")
    return problems


def _check_guard_names(
    where: str, names: tuple[str, ...], registry: Mapping[str, GuardSpec]
) -> list[str]:
    return [f"{where}: unknown guard {g!r}" for g in names if g not in registry]


def _check_opening(opening: OpeningSpec, registry: Mapping[str, GuardSpec]) -> list[str]:
    problems = _check_fields("opening", opening.fields)
    problems.extend(_check_guard_names("opening", opening.guards, registry))
    if not opening.roles:
        problems.append("opening: no role may open a case")
    problems.extend(
        f"opening: preset fact {f.name!r} is also an opening field"
        for f in opening.fields
        if f.name in opening.preset
    )
    problems.extend(_oversight_roles("opening", opening.roles))
    return problems


def _oversight_roles(where: str, roles: Iterable[Role]) -> list[str]:
    return [
        f"{where}: {role.value!r} is an oversight role and may never act on a case"
        for role in roles
        if role in OVERSIGHT_ROLES
    ]


def _check_transition(
    spec: TransitionSpec,
    states: set[str],
    finals: frozenset[str],
    registry: Mapping[str, GuardSpec],
) -> list[str]:
    where = f"trigger {spec.trigger!r}"
    problems = _check_fields(where, spec.fields)
    problems.extend(_check_guard_names(where, spec.guards, registry))
    if not spec.roles:
        problems.append(f"{where}: no role may fire it")
    problems.extend(_oversight_roles(where, spec.roles))
    if not spec.sources:
        problems.append(f"{where}: has no source state")
    problems.extend(
        f"{where}: source {s!r} is not one of the states" for s in spec.sources if s not in states
    )
    if spec.dest not in (PREVIOUS_STATE, SAME_STATE) and spec.dest not in states:
        problems.append(f"{where}: destination {spec.dest!r} is not one of the states")
    if not spec.reopens:
        problems.extend(
            f"{where}: leaves final state {s!r} (only a reopening transition may)"
            for s in spec.sources
            if s in finals
        )
    if len(set(spec.sources)) != len(spec.sources):
        problems.append(f"{where}: a source state is listed twice")
    problems.extend(_check_record(where, spec))
    if spec.stamp_fact is not None and (
        spec.stamp_fact == spec.actor_fact or spec.stamp_fact in {f.name for f in spec.fields}
    ):
        problems.append(f"{where}: the date fact {spec.stamp_fact!r} is also set another way")
    declared = {f.name: f.kind for f in spec.fields}
    for field, fact in spec.collects:
        if declared.get(field) is not FieldKind.IDENTIFIER:
            problems.append(f"{where}: collects {field!r}, which is not an identifier field")
        if fact in declared or fact in (spec.actor_fact, spec.stamp_fact):
            problems.append(f"{where}: the list fact {fact!r} is also set another way")
    return problems


def _check_record(where: str, spec: TransitionSpec) -> list[str]:
    if spec.record_key is None and spec.record_index is None:
        return []
    if spec.record_key is None or spec.record_index is None:
        return [f"{where}: record_key and record_index go together"]
    fields = {f.name: f for f in spec.fields}
    key = fields.get(spec.record_key)
    problems: list[str] = []
    if key is None or key.kind is not FieldKind.IDENTIFIER or not key.required:
        problems.append(
            f"{where}: record_key {spec.record_key!r} is not a required identifier field"
        )
    if spec.record_index in fields:
        problems.append(f"{where}: record_index {spec.record_index!r} is also a field")
    return problems


def _duplicate_sources(first: TransitionSpec, again: TransitionSpec) -> list[str]:
    shared = sorted(set(first.sources) & set(again.sources))
    if shared:
        return [f"trigger {again.trigger!r} is declared twice from state {s!r}" for s in shared]
    return [f"trigger {again.trigger!r} is declared twice; give both sources in one transition"]


def _check_graph(definition: WorkflowDefinition, specs: tuple[TransitionSpec, ...]) -> list[str]:
    states = set(definition.states)
    edges: dict[str, set[str]] = {s: set() for s in states}
    for spec in specs:
        for source in spec.sources:
            if source in states:
                edges[source].update(d for d in definition.destinations(spec) if d in states)
    if definition.initial in states:
        reachable = _closure({definition.initial}, edges)
        problems = [
            f"state {s!r} cannot be reached from {definition.initial!r}"
            for s in definition.states
            if s not in reachable
        ]
    else:
        # Nothing is reachable without a starting point; say so once, not once per state.
        problems = ["no state can be reached, because there is no valid initial state"]
    reverse: dict[str, set[str]] = {s: set() for s in states}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].add(source)
    can_finish = _closure(set(definition.final_states) & states, reverse)
    problems.extend(
        f"state {s!r} can never reach a final state"
        for s in definition.states
        if s not in can_finish
    )
    return problems


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    queue = deque(start)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
