"""The pure decision core: given a case, a command and the time, accept or refuse.

[`decide`][psirf_flow.decide.decide] and [`decide_open`][psirf_flow.decide.decide_open] read nothing
but their arguments, write nothing, log nothing and never read a clock: the engine passes ``now``,
and guards see it as [`now`][psirf_flow.workflows.guards.GuardInput] (a transition's ``stamp_fact``
records its Europe/London date). They return a
[`Decision`][psirf_flow.decide.Decision] (the new case and its audit entry) or raise a
[`CommandRejected`][psirf_flow.errors.CommandRejected] subclass. Checks run in a fixed order, so the
first thing wrong with a command is what the user hears about:

1. the actor belongs to the case's organisation
   ([`OrganisationMismatch`][psirf_flow.errors.OrganisationMismatch]): checked before anything else,
   so a person of another organisation learns nothing about the case's workflow or state;
2. the trigger exists in the workflow ([`UnknownTrigger`][psirf_flow.errors.UnknownTrigger]);
3. it may be fired from the current state
   ([`TransitionNotAllowed`][psirf_flow.errors.TransitionNotAllowed]);
4. the actor holds a permitted role ([`RoleNotPermitted`][psirf_flow.errors.RoleNotPermitted]);
5. the payload is acceptable ([`InvalidPayload`][psirf_flow.errors.InvalidPayload]);
6. every guard passes; all are evaluated and every failure is listed
   ([`GuardFailed`][psirf_flow.errors.GuardFailed]).

Every entry is built in format 2: it records the digest of the case as it stands after the
step ([`case_digest`][psirf_flow.audit.entries.case_digest]), so the retention class, which that
digest covers, is chosen here, by the caller's pure ``classify`` function. With the host's
[`AuditKeys`][psirf_flow.audit.keys.AuditKeys], free text is digested and the entry hashed under the
active key.

[`options`][psirf_flow.decide.options] answers "what may this person do now, and why not the rest?"
without a payload: guards that need one are reported as checked when the step is taken.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType

import attrs

from psirf_flow.audit import GENESIS_HASH, AuditEntry, AuditKeys, case_digest_of, make_entry
from psirf_flow.domain import (
    SYSTEM_ACTOR_ID,
    Actor,
    Case,
    Command,
    Escalation,
    FactValue,
    GuardResult,
    Role,
    _check_aware,
    _trusted_case,
)
from psirf_flow.errors import (
    CorruptRecord,
    InvalidInput,
    InvalidPayload,
    OrganisationMismatch,
    RoleNotPermitted,
    TransitionNotAllowed,
    UnknownTrigger,
    guard_failure,
)
from psirf_flow.policy.governance import GOVERNANCE_FACTS, Governance
from psirf_flow.policy.timing import local_date
from psirf_flow.workflows import _machine
from psirf_flow.workflows.guards import CaseSummary, GuardInput, fact_date
from psirf_flow.workflows.payload import check_payload
from psirf_flow.workflows.spec import (
    DAYS_ON_HOLD_FACT,
    HELD_ON_FACT,
    PREVIOUS_STATE,
    TransitionSpec,
    WorkflowDefinition,
    collected,
    record_facts,
)


__all__ = [
    "ESCALATION_RULE",
    "ESCALATION_TRIGGER",
    "OPEN_TRIGGER",
    "Classify",
    "Decision",
    "Option",
    "decide",
    "decide_escalation",
    "decide_open",
    "options",
]

OPEN_TRIGGER = "open"
"""The trigger name recorded in the audit entry that opens a case."""

ESCALATION_TRIGGER = "escalation_fired"
"""The reserved trigger of the entry psirf_flow records when an escalation tier fires. No
workflow offers it: it is recorded only by the engine's sweeper path."""

ESCALATION_RULE = "psirf.escalation@1"
"""The rule reference recorded with a fired tier (psirf-rules §9.4, escalation matrix)."""

Classify = Callable[[Case], str]
"""Chooses the retention class of a case as it will stand (pure; the engine's classifier)."""


@attrs.frozen
class Decision:
    """An accepted command: the case as it will be, and the audit entry that proves it.

    Attributes:
        case: The new case (version one higher, head hash moved to ``entry.hash``).
        entry: The audit entry to append.
        guard_results: Every guard evaluated.
    """

    case: Case
    entry: AuditEntry
    guard_results: tuple[GuardResult, ...]


@attrs.frozen
class Option:
    """Whether an actor may fire one trigger now, and if not, why not.

    Attributes:
        trigger: The trigger.
        allowed: True when state, organisation, role and every judgeable guard allow it.
        reason_codes: Stable codes for each reason it is not allowed.
        reasons: The same reasons in plain words.
        checked_on_fire: Guards that need the step's details and are judged only then.
        summary: What the step means.
    """

    trigger: str
    allowed: bool
    reason_codes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    checked_on_fire: tuple[str, ...] = ()
    summary: str = ""


def _pick_role(
    permitted: Sequence[Role], command: Command, *, case_id: str | None, trigger: str
) -> Role:
    actor = command.actor
    if command.role is not None:
        if command.role in permitted and actor.holds(command.role):
            return command.role
    else:
        for role in permitted:
            if actor.holds(role):
                return role
    raise RoleNotPermitted(
        case_id=case_id,
        trigger=trigger,
        actor_id=actor.id,
        actor_roles=[command.role] if command.role is not None else actor.roles,
        permitted_roles=permitted,
    )


def _evaluate(
    definition: WorkflowDefinition, names: Sequence[str], guard_input: GuardInput
) -> list[GuardResult]:
    return [definition.guards[name].check(guard_input) for name in names]


def decide_open(
    definition: WorkflowDefinition,
    *,
    case_id: str,
    organisation: str,
    command: Command,
    now: datetime,
    references: Mapping[str, CaseSummary] | None = None,
    classify: Classify | None = None,
    keys: AuditKeys | None = None,
    governance: Governance | None = None,
) -> Decision:
    """Decide whether ``command`` may open a new case of ``definition``.

    Args:
        definition: The workflow the case will follow (and pin).
        case_id: The new case's opaque id.
        organisation: The organisation that will own the case.
        command: The opening command; its trigger is ignored and recorded as ``"open"``.
        now: When the command is being decided (aware UTC).
        references: The cases its ``CASE_REF`` facts name, summarised by the caller (the
            engine loads them); guards see them as ``GuardInput.references``.
        classify: Chooses the new case's retention class (none, ``""``, when omitted).
        keys: The host's audit keys: free text is digested and the entry hashed with the
            active key.
        governance: The plan and national rule pack versions the case runs under; guards
            read them as ``GuardInput.governance``.
    """
    opening = definition.opening
    if command.actor.organisation != organisation:
        raise OrganisationMismatch(
            case_id=case_id,
            trigger=OPEN_TRIGGER,
            actor_organisation=command.actor.organisation,
            organisation=organisation,
        )
    role = _pick_role(opening.roles, command, case_id=case_id, trigger=OPEN_TRIGGER)
    _refuse_governance_facts(command, case_id, OPEN_TRIGGER)
    text_key = keys.active_secret if keys is not None else None
    data, problems = check_payload(opening.fields, command.payload, salt=case_id, text_key=text_key)
    if problems:
        raise InvalidPayload(case_id=case_id, trigger=OPEN_TRIGGER, problems=problems)
    # The definition's preset facts (e.g. a PSII's timescale) never come from the payload,
    # nor do the plan and rule pack versions the case runs under (set here, from
    # ``governance``, and recorded in the opening entry).
    opened: dict[str, FactValue] = {**data, **opening.preset} if opening.preset else data
    recorded: Mapping[str, FactValue] = data
    if governance is not None:
        recorded = {**data, **governance.facts}
        opened = {**opened, **governance.facts}
    guard_input = GuardInput(
        case=None,
        trigger=OPEN_TRIGGER,
        actor=command.actor,
        role=role,
        facts=opened,
        payload=data,
        now=now,
        references=references or {},
        governance=governance,
    )
    results = _evaluate(definition, opening.guards, guard_input)
    if not all(r.ok for r in results):
        raise guard_failure(case_id=case_id, trigger=OPEN_TRIGGER, results=results)
    facts: dict[str, FactValue] = {**opened, "opened_by": command.actor.id}
    case = Case(
        id=case_id,
        workflow=definition.name,
        workflow_version=definition.version,
        organisation=organisation,
        state=definition.initial,
        version=1,
        facts=facts,
        opened_at=now,
        updated_at=now,
    )
    retention_class = classify(case) if classify is not None else ""
    digest = _digest(case, retention_class)
    entry = make_entry(
        case_id=case_id,
        sequence=1,
        workflow=definition.name,
        workflow_version=definition.version,
        trigger=OPEN_TRIGGER,
        from_state=None,
        to_state=definition.initial,
        actor_id=command.actor.id,
        role=role.value,
        organisation=command.actor.organisation,
        guards=results,
        rules=opening.rules,
        data=recorded,
        recorded_at=now,
        previous_hash=GENESIS_HASH,
        case_digest=digest,
        keys=keys,
    )
    case = _with_head(case, retention_class, entry.hash, digest)
    return Decision(case=case, entry=entry, guard_results=tuple(results))


def _refuse_governance_facts(command: Command, case_id: str | None, trigger: str) -> None:
    """Refuse a payload naming a fact only the engine sets (psirf-rules §1.8, §3)."""
    named = sorted(GOVERNANCE_FACTS.intersection(command.payload))
    if named:
        raise InvalidPayload(
            case_id=case_id,
            trigger=trigger,
            problems=[
                f"{name} is recorded by the engine from the plan it runs under, never given"
                for name in named
            ],
        )


def _digest(case: Case, retention_class: str) -> str:
    return case_digest_of(
        state=case.state,
        held_from=case.held_from,
        organisation=case.organisation,
        workflow=case.workflow,
        workflow_version=case.workflow_version,
        version=case.version,
        facts=case.facts,
        retention_class=retention_class,
    )


def _with_head(case: Case, retention_class: str, head_hash: str, digest: str) -> Case:
    """``case`` with its class and head; ``digest`` is its case digest (the entry's)."""
    if type(case) is not Case:
        return attrs.evolve(case, retention_class=retention_class, head_hash=head_hash)
    # What attrs.evolve does for a Case, without its per-field introspection and without
    # checking again what ``case`` was built from; it keeps its digest for the next row check.
    return _trusted_case(
        id=case.id,
        workflow=case.workflow,
        workflow_version=case.workflow_version,
        organisation=case.organisation,
        state=case.state,
        version=case.version,
        facts=case.facts,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        held_from=case.held_from,
        head_hash=head_hash,
        retention_class=retention_class,
        digest=digest,
    )


def _spec_or_raise(definition: WorkflowDefinition, case: Case, trigger: str) -> TransitionSpec:
    spec = definition.transition(trigger)
    if spec is None:
        raise UnknownTrigger(case_id=case.id, trigger=trigger, workflow=definition.name)
    if case.state not in spec.sources:
        raise TransitionNotAllowed(
            case_id=case.id, trigger=trigger, state=case.state, allowed_from=spec.sources
        )
    return spec


def _check_organisation(case: Case, actor: Actor, trigger: str) -> None:
    if actor.organisation != case.organisation:
        raise OrganisationMismatch(
            case_id=case.id,
            trigger=trigger,
            actor_organisation=actor.organisation,
            organisation=case.organisation,
        )


def decide(
    definition: WorkflowDefinition,
    case: Case,
    command: Command,
    *,
    now: datetime,
    references: Mapping[str, CaseSummary] | None = None,
    classify: Classify | None = None,
    keys: AuditKeys | None = None,
    governance: Governance | None = None,
) -> Decision:
    """Decide whether ``command`` may be applied to ``case``.

    Args:
        definition: The definition the case is pinned to.
        case: The case as last committed.
        command: What is asked.
        now: When the command is being decided (aware UTC).
        references: The cases its ``CASE_REF`` facts name, summarised by the caller (the
            engine loads them before deciding, so this stays pure); a case missing here
            does not exist for the guards.
        classify: Chooses the new case's retention class (the case's current class is
            kept when omitted).
        keys: The host's audit keys: free text is digested and the entry hashed with the
            active key.
        governance: The plan and national rule pack versions the case runs under; guards
            read them as ``GuardInput.governance``.

    Returns:
        The decision to persist.

    Raises:
        CommandRejected: One of its subclasses, in the order the module docstring gives.
    """
    trigger = command.trigger
    _check_organisation(case, command.actor, trigger)
    spec = _spec_or_raise(definition, case, trigger)
    role = _pick_role(spec.roles, command, case_id=case.id, trigger=trigger)
    _refuse_governance_facts(command, case.id, trigger)
    text_key = keys.active_secret if keys is not None else None
    data, problems = check_payload(spec.fields, command.payload, salt=case.id, text_key=text_key)
    if problems:
        raise InvalidPayload(case_id=case.id, trigger=trigger, problems=problems)

    if spec.clears:
        cleared = frozenset(spec.clears)
        facts: dict[str, FactValue] = {k: v for k, v in case.facts.items() if k not in cleared}
    else:
        facts = dict(case.facts)
    facts.update(collected(spec, facts, data))
    # A keyed record step stores one record per key (record_facts); others, the payload.
    facts.update(record_facts(spec, data, facts) if spec.record_key is not None else data)
    if spec.actor_fact is not None:
        facts[spec.actor_fact] = command.actor.id
    if spec.stamp_fact is not None:
        facts[spec.stamp_fact] = local_date(now).isoformat()
    _count_days_on_hold(spec, facts, now)
    if spec.counts is not None:
        counted = facts.get(spec.counts)
        facts[spec.counts] = (counted if type(counted) is int else 0) + 1
    guard_input = GuardInput(
        case=case,
        trigger=trigger,
        actor=command.actor,
        role=role,
        facts=facts,
        payload=data,
        now=now,
        references=references or {},
        governance=governance,
    )
    results: list[GuardResult] = []

    def evaluate() -> bool:
        results.extend(_evaluate(definition, spec.guards, guard_input))
        return all(r.ok for r in results)

    outcome = _machine.step(
        definition, trigger, state=case.state, held_from=case.held_from, evaluate=evaluate
    )
    if not outcome.valid_source:  # pragma: no cover - sources are checked above
        raise TransitionNotAllowed(
            case_id=case.id, trigger=trigger, state=case.state, allowed_from=spec.sources
        )
    if not outcome.fired:
        if not results:
            # No transition matched before any guard ran: a resume with no state recorded
            # to return to. The stored case is inconsistent with its definition.
            raise CorruptRecord(
                case.id, f"it is {case.state!r} but records no state for {trigger!r} to return to"
            )
        raise guard_failure(case_id=case.id, trigger=trigger, results=results)

    new_case = _next_case(
        case,
        state=outcome.state,
        facts=facts,
        now=now,
        held_from=_held_from(spec, case, outcome.state),
        head_hash=case.head_hash,
    )
    retention_class = classify(new_case) if classify is not None else case.retention_class
    digest = _digest(new_case, retention_class)
    entry = make_entry(
        case_id=case.id,
        sequence=case.version + 1,
        workflow=case.workflow,
        workflow_version=case.workflow_version,
        trigger=trigger,
        from_state=case.state,
        to_state=outcome.state,
        actor_id=command.actor.id,
        role=role.value,
        organisation=command.actor.organisation,
        guards=results,
        rules=spec.rules,
        data=data,
        recorded_at=now,
        previous_hash=case.head_hash,
        case_digest=digest,
        keys=keys,
    )
    new_case = _with_head(new_case, retention_class, entry.hash, digest)
    return Decision(case=new_case, entry=entry, guard_results=tuple(results))


def decide_escalation(
    case: Case,
    tier: Escalation,
    *,
    now: datetime,
    keys: AuditKeys | None = None,
    classify: Classify | None = None,
    payload: Mapping[str, FactValue],
) -> Decision:
    """Record that one escalation tier of ``case`` fired (psirf-rules §9.4).

    The entry is psirf_flow's own ([`SYSTEM_ACTOR_ID`][psirf_flow.domain.SYSTEM_ACTOR_ID] in
    [`SYSTEM`][psirf_flow.domain.Role.SYSTEM], acting for the case's organisation), with the
    reserved trigger [`ESCALATION_TRIGGER`][psirf_flow.decide.ESCALATION_TRIGGER]: the case keeps
    its state and facts, its version moves on by one and its head hash to the new entry, which is
    built in format 2 like every other (it binds the case digest). Whether the tier is still pending
    and due is the caller's question: this function only records it.

    Args:
        case: The case as last committed.
        tier: The tier that fires (it must belong to ``case``).
        now: When it fires (aware UTC); the entry's ``recorded_at``.
        keys: The host's audit keys: the entry is hashed with the active key.
        classify: Chooses the case's retention class (kept when omitted).
        payload: What the entry records: ids, codes, numbers and ISO 8601 instants only
            (the deadline's kind, cycle, tier, stage, scheduled and fired instants, the
            lateness in seconds).

    Raises:
        InvalidInput: If ``tier`` belongs to another case.
    """
    if tier.case_id != case.id:
        raise InvalidInput("tier", "belongs to another case")
    new_case = _next_case(
        case,
        state=case.state,
        facts=dict(case.facts),
        now=now,
        held_from=case.held_from,
        head_hash=case.head_hash,
    )
    retention_class = classify(new_case) if classify is not None else case.retention_class
    digest = _digest(new_case, retention_class)
    entry = make_entry(
        case_id=case.id,
        sequence=case.version + 1,
        workflow=case.workflow,
        workflow_version=case.workflow_version,
        trigger=ESCALATION_TRIGGER,
        from_state=case.state,
        to_state=case.state,
        actor_id=SYSTEM_ACTOR_ID,
        role=Role.SYSTEM.value,
        organisation=case.organisation,
        guards=(),
        rules=(ESCALATION_RULE,),
        data=payload,
        recorded_at=now,
        previous_hash=case.head_hash,
        case_digest=digest,
        keys=keys,
    )
    new_case = _with_head(new_case, retention_class, entry.hash, digest)
    return Decision(case=new_case, entry=entry, guard_results=())


def _next_case(
    case: Case,
    *,
    state: str,
    facts: dict[str, FactValue],
    now: datetime,
    held_from: str | None,
    head_hash: str,
) -> Case:
    version = case.version + 1
    if type(case) is not Case:
        return attrs.evolve(
            case,
            state=state,
            version=version,
            facts=facts,
            updated_at=now,
            held_from=held_from,
            head_hash=head_hash,
        )
    # What attrs.evolve does for a Case, without its per-field introspection. The id and
    # the opening time passed Case's checks when ``case`` was made; ``now`` is checked
    # here; ``facts`` is this decision's own fresh dict, so it is frozen without a copy.
    _check_aware("updated_at", now)
    return _trusted_case(
        id=case.id,
        workflow=case.workflow,
        workflow_version=case.workflow_version,
        organisation=case.organisation,
        state=state,
        version=version,
        facts=MappingProxyType(facts),
        opened_at=case.opened_at,
        updated_at=now,
        held_from=held_from,
        head_hash=head_hash,
        retention_class=case.retention_class,
    )


def _count_days_on_hold(spec: TransitionSpec, facts: dict[str, FactValue], now: datetime) -> None:
    """Keep ``held_on`` while a case is on hold and add the local days to ``days_on_hold``.

    The same count the deadline rows move by on resuming (whole Europe/London days, issue
    10), so a lifecycle's guards can move the dates they compute from the facts alike.
    """
    if spec.holds:
        facts[HELD_ON_FACT] = local_date(now).isoformat()
    elif spec.dest == PREVIOUS_STATE:
        held = fact_date(facts.pop(HELD_ON_FACT, None))
        if held is not None:
            before = facts.get(DAYS_ON_HOLD_FACT)
            days = max((local_date(now) - held).days, 0)
            facts[DAYS_ON_HOLD_FACT] = (before if type(before) is int else 0) + days


def _held_from(spec: TransitionSpec, case: Case, new_state: str) -> str | None:
    if spec.holds:
        return case.state
    return case.held_from if new_state == case.state else None


def options(
    definition: WorkflowDefinition,
    case: Case,
    actor: Actor,
    *,
    now: datetime | None = None,
    references: Mapping[str, CaseSummary] | None = None,
    governance: Governance | None = None,
) -> tuple[Option, ...]:
    """Say, for every trigger of the workflow, whether ``actor`` may fire it now and why not.

    Guards that need the step's own details (``uses_payload``) cannot be judged ahead and
    are listed in [`Option.checked_on_fire`][psirf_flow.decide.Option] instead.

    Args:
        definition: The definition the case is pinned to.
        case: The case as last committed.
        actor: Who is asking.
        now: The time to judge guards at, when the caller has one (passed to guards as
            [`now`][psirf_flow.workflows.guards.GuardInput]).
        references: The cases the case's ``CASE_REF`` facts name, as for
            [`decide`][psirf_flow.decide.decide].
        governance: The plan and national rule pack versions, as for
            [`decide`][psirf_flow.decide.decide].
    """
    found: list[Option] = []
    for spec in definition.transitions.values():
        codes: list[str] = []
        reasons: list[str] = []
        if case.state not in spec.sources:
            codes.append("not_allowed_in_state")
            reasons.append(f"not possible while the case is {case.state.replace('_', ' ')}")
        if actor.organisation != case.organisation:
            codes.append("organisation_mismatch")
            reasons.append("the case belongs to another organisation")
        role = next((r for r in spec.roles if actor.holds(r)), None)
        if role is None:
            codes.append("role_not_permitted")
            reasons.append(
                "only " + " or ".join(r.value.replace("_", " ") for r in spec.roles) + " may do it"
            )
        deferred: list[str] = []
        if not codes and role is not None:
            guard_input = GuardInput(
                case=case,
                trigger=spec.trigger,
                actor=actor,
                role=role,
                facts=case.facts,
                payload={},
                now=now,
                references=references or {},
                governance=governance,
            )
            for name in spec.guards:
                guard = definition.guards[name]
                if guard.uses_payload:
                    deferred.append(name)
                    continue
                result = guard.check(guard_input)
                if not result.ok:
                    codes.append(result.reason_code)
                    reasons.append(result.explanation)
        found.append(
            Option(
                trigger=spec.trigger,
                allowed=not codes,
                reason_codes=tuple(codes),
                reasons=tuple(reasons),
                checked_on_fire=tuple(deferred),
                summary=spec.summary,
            )
        )
    return tuple(found)
