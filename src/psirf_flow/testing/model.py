"""A deliberately naive reference model of what the engine should do with a command.

The model is an independent second implementation of the documented rules, written for
clarity rather than speed. It reads a
[`WorkflowDefinition`][psirf_flow.workflows.spec.WorkflowDefinition] as plain data (a table of
``(state, trigger) -> destination``, the permitted roles, the declared fields) and calls the
definition's registered guard functions directly. It never calls
[`psirf_flow.decide.decide`][psirf_flow.decide.decide], the payload checker or the ``transitions``
machine, so a defect in those shows up as a disagreement with the model.

The rules it implements, in the order the engine promises to apply them:

0. psirf_flow's own identity ([`SYSTEM_ACTOR_ID`][psirf_flow.domain.SYSTEM_ACTOR_ID] or
   [`SYSTEM`][psirf_flow.domain.Role.SYSTEM]) is refused to everyone
   ([`ReservedIdentity`][psirf_flow.errors.ReservedIdentity]);
1. the case exists and belongs to the actor's organisation; a case of another
   organisation is reported exactly like a missing one
   ([`CaseNotFound`][psirf_flow.errors.CaseNotFound]), before anything else;
2. an idempotency key seen before (within the actor's organisation) replays the first
   result when the command is the same, and is refused
   ([`IdempotencyKeyReused`][psirf_flow.errors.IdempotencyKeyReused]) when it is not;
3. the trigger exists ([`UnknownTrigger`][psirf_flow.errors.UnknownTrigger]), may be fired from the
   current state ([`TransitionNotAllowed`][psirf_flow.errors.TransitionNotAllowed]), by someone
   holding a permitted role ([`RoleNotPermitted`][psirf_flow.errors.RoleNotPermitted]), with an
   acceptable payload ([`InvalidPayload`][psirf_flow.errors.InvalidPayload]), and every guard passes
   ([`GuardFailed`][psirf_flow.errors.GuardFailed]); when
   [`ReferenceModel.predict`][psirf_flow.testing.model.ReferenceModel.predict] is asked about an
   actor of another organisation directly, that is
   [`OrganisationMismatch`][psirf_flow.errors.OrganisationMismatch], checked first;
4. opening a case with an id already taken is refused last
   ([`CaseAlreadyExists`][psirf_flow.errors.CaseAlreadyExists]).

[`ReferenceModel`][psirf_flow.testing.model.ReferenceModel] answers for one definition and one case
at a time, without changing anything. [`ReferenceEngine`][psirf_flow.testing.model.ReferenceEngine]
keeps a world of cases and idempotency keys and applies what it predicts, like the engine does; it
also applies psirf_flow's own ``escalation_fired`` entries when told one was written
([`ReferenceEngine.escalate`][psirf_flow.testing.model.ReferenceEngine.escalate]). Given the
``governance`` an engine's plan sets, the model records the same governing facts at opening and
gives its guards the same plan.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import date, datetime

import attrs

from psirf_flow.domain import Actor, Case, Command, FactValue, Role, check_identifier
from psirf_flow.errors import (
    REASON_MISSING,
    CaseAlreadyExists,
    CaseNotFound,
    CorruptRecord,
    GuardFailed,
    IdempotencyKeyReused,
    InvalidPayload,
    OrganisationMismatch,
    PsirfFlowError,
    ReasonMissing,
    ReservedIdentity,
    RoleNotPermitted,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)
from psirf_flow.policy.governance import GOVERNING_PLAN_FACT, Governance
from psirf_flow.policy.timing import local_date
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.guards import CaseSummary, GuardInput, case_incident_ids
from psirf_flow.workflows.payload import EARLIEST_DATE, LATEST_DATE, MAX_COUNT, text_digest
from psirf_flow.workflows.spec import (
    DAYS_ON_HOLD_FACT,
    HELD_ON_FACT,
    PREVIOUS_STATE,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    TransitionSpec,
    WorkflowDefinition,
)


__all__ = ["ModelCase", "Prediction", "ReferenceEngine", "ReferenceModel"]

_OPEN = "open"


@attrs.frozen
class ModelCase:
    """The model's idea of a case: where it is, what it knows, how many commands it took.

    Attributes:
        id: The case id.
        workflow: The definition's name.
        workflow_version: The definition's version.
        organisation: The owning organisation.
        state: The current state.
        held_from: While on hold, the state a resume returns to.
        facts: The facts gathered so far.
        version: How many commands have been accepted (the opening included).
        opened_at: When it was opened.
        updated_at: When the last command was accepted.
    """

    id: str
    workflow: str
    workflow_version: str
    organisation: str
    state: str
    held_from: str | None
    facts: Mapping[str, FactValue]
    version: int
    opened_at: datetime
    updated_at: datetime

    def as_case(self) -> Case:
        """The model case as a [`Case`][psirf_flow.domain.Case], the shape guards receive."""
        return Case(
            id=self.id,
            workflow=self.workflow,
            workflow_version=self.workflow_version,
            organisation=self.organisation,
            state=self.state,
            version=self.version,
            facts=self.facts,
            opened_at=self.opened_at,
            updated_at=self.updated_at,
            held_from=self.held_from,
        )


@attrs.frozen
class Prediction:
    """What the model says should happen to one command.

    Attributes:
        error: The error class expected, or ``None`` when the command is accepted or
            replayed.
        case: The case after the command when accepted (or as it stands, when replayed).
        role: The role the actor is expected to act in, when accepted.
        data: The payload as it should be recorded (free text as digests).
        failed_guards: The guards expected to fail, for
            [`GuardFailed`][psirf_flow.errors.GuardFailed].
        replay_of: For a replay, the sequence number of the entry being replayed.
    """

    error: type[PsirfFlowError] | None = None
    case: ModelCase | None = None
    role: Role | None = None
    data: Mapping[str, FactValue] = attrs.field(factory=dict)
    failed_guards: tuple[str, ...] = ()
    replay_of: int | None = None

    @property
    def accepted(self) -> bool:
        """True when the command should be accepted and written (not a replay)."""
        return self.error is None and self.replay_of is None

    @property
    def replayed(self) -> bool:
        """True when an idempotency key should replay an earlier result."""
        return self.replay_of is not None


class ReferenceModel:
    """The rules of one workflow definition, re-derived from its data.

    Args:
        definition: The workflow to model.
        governance: The plan and rule pack versions new cases open under (as the engine's
            ``plan=`` gives them): an opening records their facts, and guards read them.
            ``None`` (the default) models an engine without a plan.
    """

    def __init__(
        self, definition: WorkflowDefinition, *, governance: Governance | None = None
    ) -> None:
        self.definition = definition
        self.governance = governance
        self.table: dict[tuple[str, str], str] = {}
        for spec in definition.transitions.values():
            for source in spec.sources:
                self.table[(source, spec.trigger)] = spec.dest
        self.distance = _forward_distances(definition)
        self._last: tuple[ModelCase, Case] | None = None

    def destination(self, state: str, trigger: str, held_from: str | None = None) -> str | None:
        """Where ``trigger`` leads from ``state`` (``None`` when it cannot be fired there).

        A recording step stays in ``state``; a resume returns to ``held_from``.
        """
        dest = self.table.get((state, trigger))
        if dest == SAME_STATE:
            return state
        if dest == PREVIOUS_STATE:
            return held_from
        return dest

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """Every trigger the table allows from ``state``, in definition order."""
        return tuple(t for t in self.definition.triggers if (state, t) in self.table)

    def is_dead_end(self, state: str) -> bool:
        """True for a final state that no transition leaves."""
        return state in self.definition.final_states and not self.triggers_from(state)

    def predict_open(
        self,
        *,
        case_id: str,
        organisation: str,
        command: Command,
        now: datetime,
        references: Mapping[str, CaseSummary] | None = None,
    ) -> Prediction:
        """Predict the opening of a case (the id is assumed free).

        ``references`` are the other cases its guards may read (the incident's records).
        """
        opening = self.definition.opening
        actor = command.actor
        if _reserved(command):
            return Prediction(ReservedIdentity)
        if actor.organisation != organisation:
            return Prediction(OrganisationMismatch)
        role = _pick_role(opening.roles, command)
        if role is None:
            return Prediction(RoleNotPermitted)
        data = _check_payload(opening.fields, command.payload, case_id)
        if data is None:
            return Prediction(InvalidPayload)
        opened = {**data, **opening.preset}
        recorded = data
        if self.governance is not None:
            # The versions the case runs under are facts of the case, recorded with the
            # opening's payload (never taken from it).
            recorded = {**data, **self.governance.facts}
            opened = {**opened, **self.governance.facts}
        guard_input = GuardInput(
            case=None,
            trigger=_OPEN,
            actor=actor,
            role=role,
            facts=opened,
            payload=data,
            now=now,
            references=references or {},
            governance=self.governance,
        )
        refused = self._refused(opening.guards, guard_input)
        if refused is not None:
            return refused
        case = ModelCase(
            id=case_id,
            workflow=self.definition.name,
            workflow_version=self.definition.version,
            organisation=organisation,
            state=self.definition.initial,
            held_from=None,
            facts={**opened, "opened_by": actor.id},
            version=1,
            opened_at=now,
            updated_at=now,
        )
        return Prediction(case=case, role=role, data=recorded)

    def predict(
        self,
        case: ModelCase,
        command: Command,
        *,
        now: datetime,
        references: Mapping[str, CaseSummary] | None = None,
    ) -> Prediction:
        """Predict what firing ``command`` on ``case`` should do (``references`` as above)."""
        if _reserved(command):
            return Prediction(ReservedIdentity)
        return self._predict_step(case, command, now=now, references=references or {})

    def _predict_step(
        self,
        case: ModelCase,
        command: Command,
        *,
        now: datetime,
        references: Mapping[str, CaseSummary],
    ) -> Prediction:
        trigger = command.trigger
        if command.actor.organisation != case.organisation:
            return Prediction(OrganisationMismatch)
        spec = self.definition.transition(trigger)
        if spec is None:
            return Prediction(UnknownTrigger)
        if (case.state, trigger) not in self.table:
            return Prediction(TransitionNotAllowed)
        role = _pick_role(spec.roles, command)
        if role is None:
            return Prediction(RoleNotPermitted)
        data = _check_payload(spec.fields, command.payload, case.id)
        if data is None:
            return Prediction(InvalidPayload)
        facts = {k: v for k, v in case.facts.items() if k not in spec.clears}
        _collect(spec, facts, data)
        _store_payload(spec, facts, data)
        _apply_effects(spec, facts, command.actor, now)
        dest = self.destination(case.state, trigger, case.held_from)
        if dest is None or dest not in self.definition.states:
            # A resume with nothing to resume to: the stored case is inconsistent.
            return Prediction(CorruptRecord)
        guard_input = GuardInput(
            case=case.as_case(),
            trigger=trigger,
            actor=command.actor,
            role=role,
            facts=facts,
            payload=data,
            now=now,
            references=references,
            governance=self._governance_of(case),
        )
        refused = self._refused(spec.guards, guard_input)
        if refused is not None:
            return refused
        if spec.holds:
            held_from: str | None = case.state
        elif dest == case.state:
            held_from = case.held_from
        else:
            held_from = None
        after = attrs.evolve(
            case,
            state=dest,
            held_from=held_from,
            facts=facts,
            version=case.version + 1,
            updated_at=now,
        )
        return Prediction(case=after, role=role, data=data)

    def may_fire(
        self, case: ModelCase, trigger: str, actor: Actor, *, now: datetime | None = None
    ) -> bool:
        """Tell whether ``actor`` could fire ``trigger`` at ``now``, given a suitable payload.

        Guards that need the payload (``uses_payload``) are not judged; the others see the
        case's facts as they are. Used to steer generated commands towards ones the engine
        should accept. Guards that need the time refuse when ``now`` is not given.
        """
        spec = self.definition.transition(trigger)
        if spec is None or (case.state, trigger) not in self.table:
            return False
        if actor.organisation != case.organisation:
            return False
        role = next((r for r in spec.roles if r in actor.roles), None)
        dest = self.destination(case.state, trigger, case.held_from)
        if role is None or dest is None:
            return False
        facts = dict(case.facts)
        if spec.actor_fact is not None:
            facts[spec.actor_fact] = actor.id
        if spec.stamp_fact is not None and now is not None:
            facts[spec.stamp_fact] = local_date(now).isoformat()
        if now is not None:
            _hold_effects(spec, facts, now)
        if spec.counts is not None:
            facts[spec.counts] = _counted(facts.get(spec.counts))
        guard_input = GuardInput(
            case=self._as_case(case),
            trigger=trigger,
            actor=actor,
            role=role,
            facts=facts,
            payload={},
            now=now,
            governance=self._governance_of(case),
        )
        return all(
            self.definition.guards[name].check(guard_input).ok
            for name in spec.guards
            if not self.definition.guards[name].uses_payload
        )

    def _governance_of(self, case: ModelCase) -> Governance | None:
        """The governance a case's decisions see: the model's, if the case opened under it."""
        return self.governance if GOVERNING_PLAN_FACT in case.facts else None

    def _as_case(self, case: ModelCase) -> Case:
        # may_fire is asked about one case many times in a row: convert it once.
        if self._last is None or self._last[0] is not case:
            self._last = (case, case.as_case())
        return self._last[1]

    def _refused(self, names: Iterable[str], guard_input: GuardInput) -> Prediction | None:
        results = [self.definition.guards[name].check(guard_input) for name in names]
        failed = [r for r in results if not r.ok]
        if not failed:
            return None
        missing = any(r.reason_code == REASON_MISSING for r in failed)
        return Prediction(
            ReasonMissing if missing else GuardFailed,
            failed_guards=tuple(r.name for r in failed),
        )


@attrs.frozen
class _KeyRecord:
    fingerprint: str
    case_id: str
    sequence: int


class ReferenceEngine:
    """A world of model cases and idempotency keys that applies what it predicts.

    Args:
        definitions: The workflows, as one definition, several, or a registry. New cases
            follow the newest version of a name, as with the engine.
        governance: The plan and rule pack versions new cases open under, as for
            [`ReferenceModel`][psirf_flow.testing.model.ReferenceModel] (``None``: an engine without
            a plan).
    """

    def __init__(
        self,
        definitions: WorkflowDefinition | Iterable[WorkflowDefinition] | DefinitionRegistry,
        *,
        governance: Governance | None = None,
    ) -> None:
        found = [definitions] if isinstance(definitions, WorkflowDefinition) else list(definitions)
        self.registry = DefinitionRegistry(found)
        self.governance = governance
        self.models = {d.key: ReferenceModel(d, governance=governance) for d in self.registry}
        self.cases: dict[str, ModelCase] = {}
        self._keys: dict[tuple[str, str], _KeyRecord] = {}

    def model_for(self, case_id: str) -> ReferenceModel:
        """The model of the definition case ``case_id`` is pinned to."""
        case = self.cases[case_id]
        return self.models[f"{case.workflow}@{case.workflow_version}"]

    def open(
        self,
        workflow: str,
        *,
        case_id: str,
        organisation: str,
        command: Command,
        now: datetime,
    ) -> Prediction:
        """Predict (and, if accepted, apply) the opening of case ``case_id``."""
        if _reserved(command):
            return Prediction(ReservedIdentity)
        definition = self.registry.latest(workflow)
        if definition is None:
            return Prediction(UnknownWorkflow)
        fingerprint = _fingerprint(f"{workflow}:{case_id}", _OPEN, command)
        replay = self._replay(command, fingerprint)
        if replay is not None:
            return replay
        references = self._incident_records(definition, _OPEN, organisation, command.payload)
        prediction = self.models[definition.key].predict_open(
            case_id=case_id,
            organisation=organisation,
            command=command,
            now=now,
            references=references,
        )
        if prediction.accepted and case_id in self.cases:
            return Prediction(CaseAlreadyExists)
        self._apply(prediction, command, fingerprint)
        return prediction

    def fire(self, case_id: str, command: Command, *, now: datetime) -> Prediction:
        """Predict (and, if accepted, apply) ``command`` on case ``case_id``."""
        if _reserved(command):
            return Prediction(ReservedIdentity)
        case = self.cases.get(case_id)
        if case is None or case.organisation != command.actor.organisation:
            return Prediction(CaseNotFound)
        fingerprint = _fingerprint(case_id, command.trigger, command)
        replay = self._replay(command, fingerprint)
        if replay is not None:
            return replay
        model = self.model_for(case_id)
        references = self._incident_records(
            model.definition, command.trigger, case.organisation, case.facts, command.payload
        )
        prediction = model.predict(case, command, now=now, references=references)
        self._apply(prediction, command, fingerprint)
        return prediction

    def escalate(self, case_id: str, *, now: datetime) -> ModelCase:
        """Apply psirf_flow's own ``escalation_fired`` entry on case ``case_id`` at ``now``.

        A fired escalation tier is audited on the case (psirf-rules §9.4) without moving
        it: the state, the facts and the hold stay as they are, the version moves on by one
        and ``updated_at`` to ``now``. Which tiers fire, and when, is the schedule's
        business, not the model's: the caller says when one did.

        Raises:
            KeyError: If the model has no case ``case_id``.
        """
        case = self.cases[case_id]
        after = attrs.evolve(case, version=case.version + 1, updated_at=now)
        self.cases[case_id] = after
        return after

    def _incident_records(
        self,
        definition: WorkflowDefinition,
        trigger: str,
        organisation: str,
        *sources: Mapping[str, object],
    ) -> dict[str, CaseSummary]:
        """The organisation's cases sharing an incident, for a step whose guards read them."""
        if trigger == _OPEN:
            names = definition.opening.guards
        else:
            spec = definition.transition(trigger)
            names = () if spec is None else spec.guards
        if not any(definition.guards[n].reads_incident_records for n in names):
            return {}
        incidents: set[str] = set()
        for source in sources:
            one, many = source.get("incident_id"), source.get("incident_ids")
            if isinstance(one, str):
                incidents.add(one)
            if isinstance(many, (list, tuple)):
                incidents.update(v for v in many if isinstance(v, str))
        incidents = {i for i in incidents if check_identifier(i) is None}
        return {
            other.id: CaseSummary.of(other.as_case(), self.model_for(other.id).definition.family)
            for other in self.cases.values()
            if other.organisation == organisation
            and incidents.intersection(case_incident_ids(other.facts))
        }

    def _replay(self, command: Command, fingerprint: str) -> Prediction | None:
        key = command.idempotency_key
        record = self._keys.get((command.actor.organisation, key)) if key is not None else None
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            return Prediction(IdempotencyKeyReused)
        return Prediction(case=self.cases[record.case_id], replay_of=record.sequence)

    def _apply(self, prediction: Prediction, command: Command, fingerprint: str) -> None:
        if not prediction.accepted or prediction.case is None:
            return
        case = prediction.case
        self.cases[case.id] = case
        key = command.idempotency_key
        if key is not None:
            self._keys[(command.actor.organisation, key)] = _KeyRecord(
                fingerprint, case.id, case.version
            )


def _fingerprint(scope: str, trigger: str, command: Command) -> str:
    """Two commands are "the same" when scope, trigger, actor, role and payload match."""
    body = {
        "scope": scope,
        "trigger": trigger,
        "actor": command.actor.id,
        "organisation": command.actor.organisation,
        "role": command.role.value if command.role is not None else None,
        "payload": dict(command.payload),
    }
    return json.dumps(body, sort_keys=True, default=repr)


def _reserved(command: Command) -> bool:
    """psirf_flow's own identity is refused to everyone else, before anything else."""
    return command.actor.is_reserved or command.role is Role.SYSTEM


def _pick_role(permitted: tuple[Role, ...], command: Command) -> Role | None:
    """The role asked for, if permitted and held; else the first permitted role held."""
    if command.role is not None:
        ok = command.role in permitted and command.role in command.actor.roles
        return command.role if ok else None
    return next((r for r in permitted if r in command.actor.roles), None)


def _check_payload(
    fields: tuple[FieldSpec, ...], payload: Mapping[str, object], case_id: str
) -> dict[str, FactValue] | None:
    """The payload as it should be recorded, or ``None`` if it should be refused."""
    declared = {f.name: f for f in fields}
    if any(name not in declared for name in payload):
        return None
    data: dict[str, FactValue] = {}
    for spec in fields:
        value = payload.get(spec.name)
        if value is None:
            if spec.required:
                return None
            continue
        clean = _clean(spec, value, case_id)
        if clean is None:
            return None
        data[spec.name] = clean
    return data


def _apply_effects(
    spec: TransitionSpec, facts: dict[str, FactValue], actor: Actor, now: datetime
) -> None:
    """The facts a step records besides its payload: its actor, its date and its count."""
    if spec.actor_fact is not None:
        facts[spec.actor_fact] = actor.id
    if spec.stamp_fact is not None:
        facts[spec.stamp_fact] = local_date(now).isoformat()
    _hold_effects(spec, facts, now)
    if spec.counts is not None:
        facts[spec.counts] = _counted(facts.get(spec.counts))


def _hold_effects(spec: TransitionSpec, facts: dict[str, FactValue], now: datetime) -> None:
    """A hold notes its local date; resuming adds the local days since to the running total."""
    today = local_date(now)
    if spec.holds:
        facts[HELD_ON_FACT] = today.isoformat()
        return
    held = facts.pop(HELD_ON_FACT, None) if spec.dest == PREVIOUS_STATE else None
    if isinstance(held, str):
        total = facts.get(DAYS_ON_HOLD_FACT, 0)
        spent = max(0, (today - date.fromisoformat(held)).days)
        facts[DAYS_ON_HOLD_FACT] = (total if isinstance(total, int) else 0) + spent


def _counted(value: FactValue | None) -> int:
    """One more than a count fact (zero when absent)."""
    return (value if isinstance(value, int) and not isinstance(value, bool) else 0) + 1


def _clean(spec: FieldSpec, value: object, case_id: str) -> FactValue | None:
    kind = spec.kind
    if kind is FieldKind.DIGEST:
        if isinstance(value, str) and len(value) == 64 and all(c in _HEX for c in value.lower()):
            return value.lower()
        return None
    if kind in (FieldKind.IDENTIFIER, FieldKind.REFERENCE, FieldKind.CASE_REF):
        return value if isinstance(value, str) and check_identifier(value) is None else None
    if kind is FieldKind.IDENTIFIERS:
        if not isinstance(value, list | tuple | set | frozenset):
            return None
        items = list(value)
        if not all(isinstance(i, str) and check_identifier(i) is None for i in items):
            return None
        return tuple(sorted(set(items)))
    if kind is FieldKind.CHOICE:
        return value if isinstance(value, str) and value in spec.choices else None
    if kind is FieldKind.FLAG:
        return value if isinstance(value, bool) else None
    if kind is FieldKind.COUNT:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT:
            return value
        return None
    if kind is FieldKind.DATE:
        return _clean_date(value)
    if isinstance(value, str) and _is_unicode(value):
        return text_digest(case_id, value)
    return None


_HEX = frozenset("0123456789abcdef")


def _clean_date(value: object) -> str | None:
    day: date | None = None
    if isinstance(value, datetime):
        day = local_date(value) if value.utcoffset() is not None else value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return None
    if day is None or not EARLIEST_DATE <= day <= LATEST_DATE:
        return None
    return day.isoformat()


def _is_unicode(text: str) -> bool:
    """False for text holding lone surrogates, which cannot be encoded (or hashed)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _store_payload(
    spec: TransitionSpec, facts: dict[str, FactValue], data: Mapping[str, FactValue]
) -> None:
    """Put ``data`` into ``facts``: as it is, or one record per key for a keyed step."""
    if spec.record_key is None or spec.record_index is None:
        facts.update(data)
        return
    # One record per key: each other field as "<field>.<key>", the key indexed.
    key = str(data[spec.record_key])
    for name, value in data.items():
        if name != spec.record_key:
            facts[f"{name}.{key}"] = value
    known = facts.get(spec.record_index, ())
    keys = set(known) if isinstance(known, tuple) else set()
    facts[spec.record_index] = tuple(sorted(keys | {key}))


def _forward_distances(definition: WorkflowDefinition) -> dict[str, int]:
    """Shortest distance of each state from the initial one along the main flow.

    Holding, resuming and reopening transitions are left out, so a state reached only by
    holding (``on_hold``) gets -1 and progress along the main path has growing distance.
    """
    edges: dict[str, set[str]] = {s: set() for s in definition.states}
    for spec in definition.transitions.values():
        if spec.holds or spec.reopens or spec.dest == PREVIOUS_STATE:
            continue
        for source in spec.sources:
            edges[source].add(source if spec.dest == SAME_STATE else spec.dest)
    distance = {definition.initial: 0}
    queue = deque([definition.initial])
    while queue:
        state = queue.popleft()
        for nxt in edges[state]:
            if nxt not in distance:
                distance[nxt] = distance[state] + 1
                queue.append(nxt)
    return {s: distance.get(s, -1) for s in definition.states}


def _collect(spec: TransitionSpec, facts: dict[str, FactValue], data: Mapping[str, object]) -> None:
    """Add each collected identifier to its list fact (a sorted tuple without duplicates)."""
    for field, fact in spec.collects:
        value = data.get(field)
        if isinstance(value, str):
            earlier = facts.get(fact)
            kept = list(earlier) if isinstance(earlier, tuple) else []
            facts[fact] = tuple(sorted({*kept, value}))
