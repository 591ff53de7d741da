"""The engine: the thin imperative shell around the pure decision core.

For each command it loads the case, reads the injected clock once, asks
[`decide`][psirf_flow.decide.decide], and commits the new state, the audit entry and the
idempotency record as one [`Change`][psirf_flow.ports.Change]. Then, and only then, it logs
one allow-listed event. A refused command writes nothing and raises a
[`CommandRejected`][psirf_flow.errors.CommandRejected]; rejections are logged, not audited (the
audit trail records what happened to a case, not what was attempted).

The engine stays a thin shell. The rules it applies are pure: read access is
[`psirf_flow.access`][psirf_flow.access], retention classes
[`psirf_flow.policy.retention`][psirf_flow.policy.retention], checkpoints
[`psirf_flow.audit`][psirf_flow.audit]. Its bookkeeping lives in private modules beside it:
retention per incident (``_retention_shell``), checkpoints over every case (``_checkpoints``), the
cases guards refer to (``_references``), idempotency and outbox messages (``_commands``), log events
(``_events``) and argument checks (``_inputs``).

psirf_flow's own identity is reserved: [`Engine.open`][psirf_flow.engine.Engine.open] and
[`Engine.fire`][psirf_flow.engine.Engine.fire] refuse an actor holding
[`SYSTEM`][psirf_flow.domain.Role.SYSTEM] or named
[`SYSTEM_ACTOR_ID`][psirf_flow.domain.SYSTEM_ACTOR_ID] (in any letter case) with
[`ReservedIdentity`][psirf_flow.errors.ReservedIdentity]. Only the outbox relay acts as the system,
through the private `Engine._apply_follow_up`.

Examples:
    ```python
    from datetime import UTC, datetime
    from psirf_flow import Actor, Engine, InMemoryStore, Role
    from psirf_flow.testing import ManualClock
    engine = Engine(InMemoryStore(), clock=ManualClock(datetime(2026, 1, 5, tzinfo=UTC)))
    pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
    opened = engine.open("psii", actor=pss, payload={"incident_ids": ["INC-1"]})
    opened.case.state  # 'commissioned'
    ```
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from psirf_flow import _checkpoints, _commands, _events, _governing, _incidents, _inputs, access
from psirf_flow._incidents import IncidentRecord
from psirf_flow._references import GuardReferences
from psirf_flow._retention_shell import RetentionShell
from psirf_flow._timekeeping import Timekeeping, step_event
from psirf_flow.audit import (
    AuditEntry,
    AuditKeys,
    ChainVerification,
    Checkpoint,
    CheckpointVerification,
    describe_fields,
    row_mismatch,
    verify_chain,
)
from psirf_flow.decide import (
    OPEN_TRIGGER,
    Classify,
    Decision,
    Option,
    decide,
    decide_open,
    options,
)
from psirf_flow.domain import (
    SYSTEM_ACTOR_ID,
    Actor,
    Case,
    Command,
    Deadline,
    Escalation,
    FactValue,
    Reader,
    Role,
    SystemReader,
)
from psirf_flow.errors import (
    AuditKeyError,
    CaseAlreadyExists,
    CaseNotFound,
    CommandRejected,
    ConcurrencyConflict,
    CorruptRecord,
    InvalidInput,
    ReservedIdentity,
    StoreError,
    UnknownWorkflow,
)
from psirf_flow.log import get_logger
from psirf_flow.policy import (
    NationalRuleSet,
    Plan,
    RetentionClass,
    RetentionSettings,
)
from psirf_flow.policy.governance import (
    Governance,
    PlanBook,
)
from psirf_flow.ports import (
    CaseQuery,
    Change,
    Clock,
    DeadlineQuery,
    IncidentLink,
    Page,
    Store,
    WriteCache,
)
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.couplings import COUPLINGS, Coupling, FollowUp


__all__ = ["Engine", "IncidentRecord", "Outcome"]

_T = TypeVar("_T")

_VERIFY_READS = 3
"""How often ``verify`` reads case and trail again when a commit lands between the reads."""
_CHECKPOINT_PAGE = 1000
"""Cases read per page when a checkpoint walks every case."""


@attrs.frozen
class Outcome:
    """The result of an accepted command.

    Attributes:
        case: The case after the command (for a replay, the case as it is now).
        entry: The audit entry the command produced.
        replayed: True when an idempotency key matched an earlier identical command and
            nothing new was written.
    """

    case: Case
    entry: AuditEntry
    replayed: bool = False


class Engine:
    """Open cases, fire triggers, list what a person may do, read and verify history.

    Args:
        store: Where cases and audit trails live (any [`Store`][psirf_flow.ports.Store]).
        clock: Where the time comes from (inject a ``ManualClock`` in tests).
        definitions: The workflows this engine runs; the built-in ones by default.
        new_id: Makes ids for new cases when the caller gives none (random UUIDs by
            default).
        couplings: The coupling table whose reactions are written to the outbox with each
            command ([`COUPLINGS`][psirf_flow.workflows.couplings.COUPLINGS] by default; pass
            ``()`` for none). [`OutboxRelay`][psirf_flow.relay.OutboxRelay] applies them.
        retention: The plan's retention classes (the Records Management Code defaults
            otherwise); every case carries the name of the class that applies to it: the
            longest of its own need, its class so far (never lowered) and the classes of
            the other records of its incidents (see
            [`psirf_flow.policy.retention`][psirf_flow.policy.retention]).
        oversight: Which organisations each overseeing organisation (an ICB) may read,
            e.g. ``{"QWE": ["RXY", "RAB"]}``. People holding the ICB oversight role there
            may read those cases' status and history; nobody outside may fire anything.
        keys: The host's audit keys. New entries are then hashed with HMAC-SHA-256 under
            the active key, free text is digested with it, and checkpoints are signed
            with it. Without keys, new entries use plain SHA-256.
        plan: The trust's plan (its current version); guards read it (with the national
            rules) to check decisions against it. Every case the engine opens records the
            plan's ``id@version`` and the rule pack's version (the facts
            ``governing_plan_ref`` and ``governing_rules_version``, set by the engine,
            never by a payload), and every later decision on the case runs under those
            versions: a new plan version governs new cases only (psirf-rules §1.8, §3).
            A case opened by a coupling inherits its source case's versions. Without a
            plan, no plan-governed check applies and nothing is recorded.
        national_rules: The national requirements (the shipped rule pack by default).
        earlier_plans: Earlier versions of the plan that cases in flight still run under.
        earlier_rules: Earlier national rule packs that cases in flight still run under.
            A case recording a version the engine was not given is refused with
            [`PlanVersionUnavailable`][psirf_flow.errors.PlanVersionUnavailable].
        step_events: When true, every committed entry also writes one ``event.step``
            outbox message (case, organisation, workflow, trigger, states, sequence: ids
            and codes only) that [`OutboxRelay`][psirf_flow.relay.OutboxRelay] delivers to the
            host's listeners.

    Raises:
        InvalidInput: If an argument has the wrong type or shape, naming it: a store
            without the [`Store`][psirf_flow.ports.Store] methods, a clock without ``now``,
            ``definitions`` not a ``DefinitionRegistry``, ``new_id`` not callable,
            ``couplings`` not a collection of ``Coupling``, ``retention`` not a
            ``RetentionSettings``, ``oversight`` not a mapping of organisation ids to
            collections of them, ``keys`` not ``AuditKeys``, or ``earlier_plans`` /
            ``earlier_rules`` not lists of plans and rule packs, given without a ``plan``,
            or holding two different versions under one name.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        definitions: DefinitionRegistry | None = None,
        new_id: Callable[[], str] | None = None,
        couplings: Iterable[Coupling] | None = None,
        retention: RetentionSettings | None = None,
        oversight: Mapping[str, Iterable[str]] | None = None,
        keys: AuditKeys | None = None,
        plan: Plan | None = None,
        national_rules: NationalRuleSet | None = None,
        earlier_plans: Iterable[Plan] = (),
        earlier_rules: Iterable[NationalRuleSet] = (),
        step_events: bool = False,
    ) -> None:
        self._log = get_logger()
        with _events.refusing_input(self._log, None):
            store = _inputs.store(store)
            clock = _inputs.clock(clock)
            definitions = _inputs.optional_instance("definitions", definitions, DefinitionRegistry)
            new_id = _inputs.optional_callable("new_id", new_id)
            couplings = _inputs.couplings(couplings)
            retention = _inputs.optional_instance("retention", retention, RetentionSettings)
            self._oversight = _inputs.oversight(oversight)
            keys = _inputs.optional_instance("keys", keys, AuditKeys)
            plan = _inputs.optional_instance("plan", plan, Plan)
            national_rules = _inputs.optional_instance(
                "national_rules", national_rules, NationalRuleSet
            )
            self._book = _governing.plan_book(plan, national_rules, earlier_plans, earlier_rules)
            if not isinstance(step_events, bool):
                raise InvalidInput("step_events", "must be True or False")
        self._step_events = step_events
        self._governance = None if self._book is None else self._book.current
        self._store = store
        self._write_cache = store if isinstance(store, WriteCache) else None
        self._keys = keys
        self._clock = clock
        self._definitions = definitions if definitions is not None else DefinitionRegistry.default()
        self._new_id = new_id if new_id is not None else _commands.random_id
        self._couplings = COUPLINGS if couplings is None else couplings
        self._retention = RetentionShell(
            store, retention if retention is not None else RetentionSettings()
        )
        self._references = GuardReferences(store, self._definitions)
        self._idempotency = _commands.Idempotency(store, keys)
        self._outbox = _commands.CouplingOutbox(self._couplings)
        self._clocks = Timekeeping(store, keys)

    @property
    def store(self) -> Store:
        """The store this engine writes to."""
        return self._store

    @property
    def clock(self) -> Clock:
        """The clock this engine reads."""
        return self._clock

    @property
    def definitions(self) -> DefinitionRegistry:
        """The workflows this engine runs."""
        return self._definitions

    @property
    def couplings(self) -> tuple[Coupling, ...]:
        """The coupling table whose reactions this engine writes to the outbox."""
        return self._couplings

    # ------------------------------------------------------------------ commands

    def open(
        self,
        workflow: str,
        *,
        actor: Actor,
        payload: Mapping[str, object] | None = None,
        case_id: str | None = None,
        organisation: str | None = None,
        role: Role | None = None,
        idempotency_key: str | None = None,
    ) -> Outcome:
        """Open a case of the newest version of ``workflow``, pinned to that version.

        Args:
            workflow: The workflow's name (e.g. ``"psii"``).
            actor: Who opens it.
            payload: The opening facts the workflow declares.
            case_id: An opaque id; a new one is made when omitted.
            organisation: The owning organisation; the actor's own by default.
            role: The role the actor acts in; the first permitted one they hold by default.
            idempotency_key: Makes a retry return the first result instead of a second case.

        Raises:
            CommandRejected: If the opening is refused (unknown workflow, role, payload,
                guards, or [`ReservedIdentity`][psirf_flow.errors.ReservedIdentity] for an actor
                claiming psirf_flow's own id or role).
            CaseAlreadyExists: If ``case_id`` is taken.
            InvalidInput: If an argument has the wrong type or shape (nothing is written).
        """
        with _events.refusing_input(self._log, actor):
            actor = _inputs.actor("actor", actor)
            workflow = _inputs.name("workflow", workflow)
            case_id = _inputs.optional_identifier("case_id", case_id)
            organisation = _inputs.optional_identifier("organisation", organisation)
            role = _inputs.optional_role(role)
            idempotency_key = _inputs.idempotency_key(idempotency_key)
            payload = _inputs.payload(payload, case_id=case_id, trigger=OPEN_TRIGGER)
        self._refuse_reserved(actor, role, case_id, OPEN_TRIGGER)
        return self._open(
            workflow,
            actor=actor,
            payload=payload,
            case_id=case_id,
            organisation=organisation,
            role=role,
            idempotency_key=idempotency_key,
        )

    def _open(
        self,
        workflow: str,
        *,
        actor: Actor,
        payload: Mapping[str, object] | None,
        case_id: str | None,
        organisation: str | None,
        role: Role | None,
        idempotency_key: str | None,
        governance: Governance | None = None,
        inherited: bool = False,
    ) -> Outcome:
        definition = self._definitions.latest(workflow)
        if definition is None:
            unknown = UnknownWorkflow(workflow=workflow, known={d.name for d in self._definitions})
            _events.rejected(self._log, unknown, None, actor, None)
            raise unknown
        command = Command(
            trigger=OPEN_TRIGGER,
            actor=actor,
            payload=dict(payload or {}),
            role=role,
            idempotency_key=idempotency_key,
        )
        fingerprint = None
        if idempotency_key is not None:
            fingerprint = _commands.fingerprint(f"{workflow}:{case_id or ''}", command)
            replay = self._replay(idempotency_key, fingerprint, case_id, OPEN_TRIGGER, actor)
            if replay is not None:
                return replay
        if case_id is None:
            with _events.refusing_input(self._log, actor):
                case_id = _inputs.identifier("case_id", self._new_id())
        new_id = case_id
        owner = organisation or actor.organisation
        now = self._now()
        references = self._references.load(
            definition, owner, {}, command.payload, trigger=OPEN_TRIGGER
        )
        governing = governance if inherited else self._governance

        def decide_with(classify: Classify) -> Decision:
            return decide_open(
                definition,
                case_id=new_id,
                organisation=owner,
                command=command,
                now=now,
                references=references,
                classify=classify,
                keys=self._keys,
                governance=governing,
            )

        try:
            decision, links = self._retention.settled(decide_with, definition.family)
        except CommandRejected as error:
            _events.rejected(self._log, error, definition.name, actor, None)
            raise
        return self._commit(decision, None, fingerprint, command, definition, incident_links=links)

    def fire(
        self,
        case_id: str,
        trigger: str,
        *,
        actor: Actor,
        payload: Mapping[str, object] | None = None,
        role: Role | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Fire ``trigger`` on case ``case_id`` as ``actor``.

        Args:
            case_id: The case.
            trigger: The step to take.
            actor: Who takes it.
            payload: The step's declared details; unknown fields are refused.
            role: The role the actor acts in; the first permitted one they hold by default.
            idempotency_key: Makes a retry return the first result and write nothing.
            expected_version: The case version the person saw when they chose the step.
                If the case is at another version, the command is refused with
                [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] before it is decided,
                and nothing is written. (A replayed idempotency key answers first.)

        Raises:
            CommandRejected: If the step is refused; nothing was written
                ([`ReservedIdentity`][psirf_flow.errors.ReservedIdentity] for an actor claiming
                psirf_flow's own id or role).
            CaseNotFound: If there is no such case, or it belongs to an organisation the
                actor may not see (the two are indistinguishable).
            ConcurrencyConflict: If the case is not at ``expected_version``, or changed
                meanwhile; reload and retry.
            CorruptRecord: If the case row does not match its latest audit entry (it was
                changed behind the engine's back); the error names the fields.
            AuditKeyError: If the case's trail is keyed and this engine has no keys.
            PlanVersionUnavailable: If the case runs under a plan or rule pack version
                this engine was not given (nothing is written).
            InvalidInput: If an argument has the wrong type or shape (nothing is written).
        """
        with _events.refusing_input(self._log, actor):
            actor = _inputs.actor("actor", actor)
            case_id = _inputs.identifier("case_id", case_id)
            trigger = _inputs.name("trigger", trigger)
            role = _inputs.optional_role(role)
            idempotency_key = _inputs.idempotency_key(idempotency_key)
            expected_version = _inputs.optional_version("expected_version", expected_version)
            payload = _inputs.payload(payload, case_id=case_id, trigger=trigger)
        self._refuse_reserved(actor, role, case_id, trigger)
        return self._fire(
            case_id,
            trigger,
            actor=actor,
            payload=payload,
            role=role,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
        )

    def _fire(
        self,
        case_id: str,
        trigger: str,
        *,
        actor: Actor,
        payload: Mapping[str, object] | None,
        role: Role | None,
        idempotency_key: str | None,
        expected_version: int | None = None,
    ) -> Outcome:
        attempt = functools.partial(
            self._fire_once,
            case_id,
            trigger,
            actor=actor,
            payload=payload,
            role=role,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
        )
        cache = self._write_cache
        try:
            try:
                return attempt()
            except (ConcurrencyConflict, CommandRejected):
                # A store that served this load from its write cache may have held a case
                # the database no longer holds: then decide once more on a fresh read.
                if cache is None or not cache.forget_stale(case_id):
                    raise
            return attempt()
        finally:
            if cache is not None:
                cache.end_write(case_id)

    def _fire_once(
        self,
        case_id: str,
        trigger: str,
        *,
        actor: Actor,
        payload: Mapping[str, object] | None,
        role: Role | None,
        idempotency_key: str | None,
        expected_version: int | None,
    ) -> Outcome:
        command = Command(
            trigger=trigger,
            actor=actor,
            payload=dict(payload or {}),
            role=role,
            idempotency_key=idempotency_key,
        )
        # The row must match its latest audit entry, or nothing is decided on it (its
        # organisation included, so a row moved to another trust is refused, not shown to
        # that trust). Then the organisation: a case the actor may not see is reported
        # exactly like a missing one, before any other check (idempotent replays included).
        case, head = self._store.load_with_head(case_id)
        self._check_row(case, head, actor)
        fingerprint = None
        if idempotency_key is not None:
            fingerprint = _commands.fingerprint(case_id, command)
            replay = self._replay(idempotency_key, fingerprint, case_id, trigger, actor)
            if replay is not None:
                return replay
        if expected_version is not None and case.version != expected_version:
            raise ConcurrencyConflict(case_id, expected_version, current_version=case.version)
        definition = self.definition_for(case)
        governance = self.governance_for(case)
        now = self._now()
        references = self._references.load(
            definition, case.organisation, case.facts, command.payload, trigger=command.trigger
        )

        def decide_with(classify: Classify) -> Decision:
            return decide(
                definition,
                case,
                command,
                now=now,
                references=references,
                classify=classify,
                keys=self._keys,
                governance=governance,
            )

        try:
            decision, links = self._retention.settled(decide_with, definition.family)
        except CommandRejected as error:
            _events.rejected(self._log, error, definition.name, actor, case)
            raise
        return self._commit(
            decision,
            case.version,
            fingerprint,
            command,
            definition,
            incident_links=links,
            before=case.facts,
            previous=case,
        )

    def _apply_follow_up(
        self,
        follow_up: FollowUp,
        *,
        workflow: str,
        organisation: str,
        idempotency_key: str,
        source: Case | None = None,
    ) -> Outcome:
        """Apply a coupling's reaction as psirf_flow itself. Private to the outbox relay.

        The only path on which an actor may be
        [`SYSTEM_ACTOR_ID`][psirf_flow.domain.SYSTEM_ACTOR_ID] in
        [`SYSTEM`][psirf_flow.domain.Role.SYSTEM]. The relay has checked the message's cause against
        the source case's trail and passes that case's ``organisation``.

        Args:
            follow_up: The reaction (open a case, or fire a trigger on one).
            workflow: For an opening, the workflow to open (after the plan's vocabulary).
            organisation: The source case's organisation; the system acts for it.
            idempotency_key: The message id, so a second application is a replay.
            source: The source case (checked by the relay); a case the reaction opens
                runs under the plan and rule pack versions the source case records
                (none when it records none). Without it, the current versions apply.
        """
        actor = Actor(SYSTEM_ACTOR_ID, [Role.SYSTEM], organisation)
        if follow_up.action == "open":
            return self._open(
                workflow,
                actor=actor,
                payload=follow_up.payload,
                case_id=follow_up.target_case_id,
                organisation=organisation,
                role=None,
                idempotency_key=idempotency_key,
                governance=None if source is None else self.governance_for(source),
                inherited=source is not None,
            )
        return self._fire(
            follow_up.target_case_id,
            follow_up.trigger,
            actor=actor,
            payload=follow_up.payload,
            role=None,
            idempotency_key=idempotency_key,
        )

    def _check_row(self, case: Case, head: AuditEntry | None, actor: Actor | None = None) -> None:
        """Refuse to write on a case whose row differs from its head, or keyed without keys.

        With ``actor``, a case they may not see is reported exactly like a missing one,
        after the row check and before the key check.
        """
        mismatched = row_mismatch(case, head)
        if mismatched:
            raise CorruptRecord(
                case.id,
                "its row does not match its latest audit entry "
                f"({describe_fields(mismatched)}); verify the audit trail",
            )
        if actor is not None and not self.may_read(case, actor):
            _events.read_refused(self._log, case.id, actor)
            raise CaseNotFound(case.id)
        if head is not None and head.key_id is not None and self._keys is None:
            # An unkeyed entry after a keyed one would verify as forged: refuse to write it.
            msg = (
                f"the audit trail of case {case.id!r} is keyed; this engine was given no audit keys"
            )
            raise AuditKeyError(msg)

    def _escalate(self, tier: Escalation, now: datetime) -> tuple[str, int]:
        """Fire one claimed escalation tier at ``now``. Private to the sweeper.

        Reads the case (its row checked against its latest entry, as a step does) and its
        tiers again: a tier no longer pending, or not yet due, is left alone. Otherwise one
        ``Change`` commits the audited entry, the tier ``fired``, the deadline's tier count
        and the outbox messages, with the tier's ``dedupe_key`` as idempotency key and the
        case's version checked; a concurrent commit is met by one retry after reloading.

        Returns:
            ``("fired", late_seconds)``, ``("skipped", 0)`` (not pending or not due, or
            fired meanwhile) or ``("conflict", 0)`` (left for the next sweep).

        Raises:
            CorruptRecord: If the case row does not match its latest audit entry.
            AuditKeyError: If the case's trail is keyed and this engine has no keys.
            StoreError: If the store fails.
        """
        cache = self._write_cache
        try:
            for attempt in range(2):
                case, head = self._store.load_with_head(tier.case_id)
                self._check_row(case, head)
                found = self._clocks.due_tier(tier, now)
                if found is None:
                    # A store's write cache may hold the case's tiers as they were before
                    # another process moved the case on: look again on a fresh read.
                    if attempt == 0 and cache is not None and cache.forget_stale(tier.case_id):
                        continue
                    return ("skipped", 0)
                escalated = self._clocks.escalation(
                    case, found[0], found[1], now, step_events=self._step_events
                )
                try:
                    self._store.commit(escalated.change)
                except ConcurrencyConflict:
                    continue
                _events.accepted(self._log, escalated.decision.entry)
                return ("fired", escalated.late_seconds)
            return ("conflict", 0)
        finally:
            if cache is not None:
                cache.end_write(tier.case_id)

    @property
    def plan_book(self) -> PlanBook | None:
        """The plan and rule pack versions this engine was given (``None`` without a plan)."""
        return self._book

    def governance_for(self, case: Case) -> Governance | None:
        """The plan and rule pack versions ``case``'s decisions run under.

        Those the case recorded when it was opened (psirf-rules §1.8, §3); ``None`` for a
        case that recorded none (opened without a plan), which keeps deciding as it was
        opened.

        Raises:
            PlanVersionUnavailable: If the case records versions this engine was not given.
        """
        return _governing.governance_for(self._book, case)

    def _refuse_reserved(
        self, actor: Actor, role: Role | None, case_id: str | None, trigger: str
    ) -> None:
        """Refuse host code acting as psirf_flow itself (its id, or the system role)."""
        if actor.is_reserved or role is Role.SYSTEM:
            reserved = ReservedIdentity(case_id=case_id, trigger=trigger)
            _events.rejected(self._log, reserved, None, actor, None)
            raise reserved

    # ------------------------------------------------------------------ queries
    #
    # Every read names its reader: a person (``Actor``) sees their own organisation's
    # cases and those their organisation oversees; a ``SystemReader`` (a named batch job)
    # sees every case. Anything else is reported exactly like a missing case.

    def get(self, case_id: str, *, reader: Reader) -> Case:
        """Return the case as last committed.

        Args:
            case_id: The case.
            reader: Who reads it: a person (their organisation's cases and those it
                oversees) or a [`SystemReader`][psirf_flow.domain.SystemReader].

        Raises:
            CaseNotFound: If there is no such case or ``reader`` may not see it (the two
                are indistinguishable).
            InvalidInput: If ``case_id`` is not an opaque id or ``reader`` not a reader.
        """
        case_id, reader = self._read_arguments(case_id, reader)
        return self._visible(case_id, reader)

    def history(self, case_id: str, *, reader: Reader) -> tuple[AuditEntry, ...]:
        """Return the case's audit trail, oldest first (``reader`` as for `get`)."""
        case_id, reader = self._read_arguments(case_id, reader)
        self._visible(case_id, reader)
        return tuple(self._store.history(case_id))

    def _read_arguments(self, case_id: object, reader: object) -> tuple[str, Reader]:
        """``case_id`` and ``reader`` checked (every read starts here)."""
        with _events.refusing_input(self._log, reader):
            return _inputs.identifier("case_id", case_id), _inputs.reader(reader)

    def may_read(self, case: Case, reader: Reader) -> bool:
        """Tell whether ``reader`` may read ``case``'s status and history.

        People of the owning organisation may, whatever their role (patient safety
        partners sit on the trust's own committees); people holding the ICB oversight role
        may read the cases of the organisations their organisation oversees; a
        [`SystemReader`][psirf_flow.domain.SystemReader] may read every case. The rule is
        [`psirf_flow.access.may_read`][psirf_flow.access.may_read].
        """
        return access.may_read(reader, case.organisation, self._oversight)

    def _visible(self, case_id: str, reader: Reader) -> Case:
        """Load ``case_id`` for ``reader``; a case they may not see is a missing case."""
        case = self._store.load(case_id)
        if not self.may_read(case, reader):
            _events.read_refused(self._log, case_id, reader)
            raise CaseNotFound(case_id)
        return case

    def retention(self, case_id: str, *, reader: Reader) -> tuple[str, RetentionClass]:
        """Return the case's retention class: its name and how long its records are kept.

        The class is decided per incident: the longest of the case's own class, what its
        workflow and facts need now, and the classes of every other record linked to the
        same incidents (psirf-rules §4.5, §7.2). A case stored without a class (before
        migration 0002), or whose class the current settings no longer define, is thus
        classed afresh; a class is never lower than the one the case carries.
        """
        case_id, reader = self._read_arguments(case_id, reader)
        case = self._visible(case_id, reader)
        name = self._retention.current(case, self.definition_for(case).family)
        return name, self._retention.settings.classes[name]

    def verify(self, case_id: str, *, reader: Reader) -> ChainVerification:
        """Verify the case's audit chain, and the case row against its latest entry.

        ``reader`` is as for [`get`][psirf_flow.engine.Engine.get].

        Keyed entries are checked with the engine's keys (an entry signed with a key the
        engine was not given cannot be checked, and the result is not ok). The case and
        its trail are read separately; if a command commits in between (the trail is then
        longer than the case says), both are read again.
        """
        case_id, reader = self._read_arguments(case_id, reader)
        for _ in range(_VERIFY_READS):
            case = self._visible(case_id, reader)
            entries = self._store.history(case_id)
            if len(entries) <= case.version:
                break
        return self._verified(case, entries)

    def _verified(self, case: Case, entries: Sequence[AuditEntry]) -> ChainVerification:
        """Verify ``entries`` as the trail of ``case`` with this engine's audit keys.

        Private to psirf_flow (the engine's ``verify`` and the outbox relay's cause check):
        the keys never leave the engine.
        """
        return verify_chain(case.id, entries, case=case, keys=self._keys)

    def checkpoint(self, *, reader: SystemReader) -> Checkpoint:
        """Record every case's entry count and head hash now, signed with the active key.

        The counts and heads are taken from each case's trail, not from its row (a row
        edited behind the engine's back cannot move a checkpoint). Verify the trails first
        ([`verify`][psirf_flow.engine.Engine.verify], or ``psirf-flow verify``): a checkpoint
        anchors what it saw. Keep the result outside the database (``Checkpoint.to_json``); compare
        later with [`verify_checkpoint`][psirf_flow.engine.Engine.verify_checkpoint]. Without keys
        the signature is a plain SHA-256 digest.

        Args:
            reader: The named job taking the checkpoint; it covers every organisation.

        Raises:
            InvalidInput: If ``reader`` is not a [`SystemReader`][psirf_flow.domain.SystemReader]
                (a person's checkpoint would leave out the cases they may not see).
        """
        with _events.refusing_input(self._log, None):
            reader = _inputs.system_reader(reader)
        made_at = self._now()
        cases = _checkpoints.every_case(self._lister(reader), _CHECKPOINT_PAGE)
        return _checkpoints.take(self._store, cases, made_at=made_at, keys=self._keys)

    def verify_checkpoint(
        self, checkpoint: Checkpoint, *, reader: SystemReader
    ) -> CheckpointVerification:
        """Compare every case's trail now with ``checkpoint``.

        Reports cases whose trail was cut (``truncated``), cases that are gone
        (``deleted``), cases opened before the checkpoint that it does not list
        (``unexpected``), and a checkpoint whose signature does not match.

        Args:
            checkpoint: A checkpoint made by [`checkpoint`][psirf_flow.engine.Engine.checkpoint].
            reader: The named job verifying; it covers every organisation.

        Raises:
            InvalidInput: If ``checkpoint`` is not a
                [`Checkpoint`][psirf_flow.audit.checkpoint.Checkpoint] or ``reader`` not a
                [`SystemReader`][psirf_flow.domain.SystemReader]; checked before any case is read.
        """
        with _events.refusing_input(self._log, None):
            reader = _inputs.system_reader(reader)
            given: object = checkpoint
            if not isinstance(given, Checkpoint):
                kind = type(given).__name__
                raise InvalidInput("checkpoint", f"must be a Checkpoint, got {kind}")
        cases = _checkpoints.every_case(self._lister(reader), _CHECKPOINT_PAGE)
        return _checkpoints.verify(self._store, cases, checkpoint, keys=self._keys)

    def _lister(self, reader: Reader) -> Callable[[CaseQuery], Page]:
        """`list_cases` for ``reader`` (a checkpoint sees what its reader may see)."""
        return lambda query: self.list_cases(query, reader=reader)

    def options(self, case_id: str, actor: Actor) -> tuple[Option, ...]:
        """List every step of the workflow: may ``actor`` take it now, and if not, why not.

        Raises:
            CaseNotFound: If there is no such case or ``actor`` may not see it.
            PlanVersionUnavailable: If the case runs under a plan or rule pack version
                this engine was not given.
            InvalidInput: If ``case_id`` is not an opaque id or ``actor`` not an Actor.
        """
        with _events.refusing_input(self._log, actor):
            case_id = _inputs.identifier("case_id", case_id)
            actor = _inputs.actor("actor", actor)
        case = self._visible(case_id, actor)
        definition = self.definition_for(case)
        governance = self.governance_for(case)
        references = self._references.load(definition, case.organisation, case.facts, {})
        return options(
            definition,
            case,
            actor,
            now=self._now(),
            references=references,
            governance=governance,
        )

    def list_cases(self, query: CaseQuery | None = None, *, reader: Reader) -> Page:
        """Return one page of the cases ``reader`` may see (keyset paginated by id).

        Args:
            query: Filters (workflow, state, organisation) and the page wanted.
            reader: Who lists: only cases they may see are returned, whatever the filters.

        Raises:
            InvalidInput: If ``query`` is not a ``CaseQuery`` of text filters or ``reader``
                not a reader.
        """
        with _events.refusing_input(self._log, reader):
            query = _inputs.case_query(query)
            reader = _inputs.reader(reader)
        visible = access.visible_organisations(reader, self._oversight)
        if visible is not None:
            allowed = visible if query.organisations is None else visible & query.organisations
            query = attrs.evolve(query, organisations=allowed)
        return self._store.list_cases(query)

    def find_deadlines(
        self, query: DeadlineQuery | None = None, *, reader: Reader
    ) -> tuple[Deadline, ...]:
        """Return the deadlines ``reader`` may see that match ``query``, by ``due_at``.

        The organisations come from the reader, as for
        [`list_cases`][psirf_flow.engine.Engine.list_cases]: a query naming an organisation the
        reader may not see finds nothing there.

        Args:
            query: Filters (organisations, workflow, kind, owner, statuses, due before).
            reader: Who reads: only deadlines of organisations they may see are returned.

        Raises:
            InvalidInput: If ``query`` is not a ``DeadlineQuery`` or ``reader`` not a reader.
        """
        with _events.refusing_input(self._log, reader):
            if query is None:
                query = DeadlineQuery()
            elif not isinstance(query, DeadlineQuery):
                raise InvalidInput("query", f"must be a DeadlineQuery, got {type(query).__name__}")
            reader = _inputs.reader(reader)
        visible = access.visible_organisations(reader, self._oversight)
        if visible is not None:
            allowed = visible if query.organisations is None else visible & query.organisations
            query = attrs.evolve(query, organisations=allowed)
        return tuple(self._store.find_deadlines(query))

    def incident_records(
        self, incident_id: str, *, reader: Reader, organisation: str | None = None
    ) -> tuple[IncidentRecord, ...]:
        """Every record linked to an incident, with its workflow and state (psirf-rules §9.4).

        The intake, the learning responses, the duty-of-candour case, the referrals and the
        safety actions (linked through their learning responses): the incident links the
        engine writes with every command (one indexed read), then each case.

        Args:
            incident_id: The incident, as the organisation's records name it.
            reader: Who reads. Records of an organisation the reader may not see are left
                out exactly like missing ones (the answer is then empty).
            organisation: Whose incident it is; by default the reader's own organisation
                (a [`SystemReader`][psirf_flow.domain.SystemReader] must name one; an ICB reader
                names an organisation it oversees).

        Returns:
            The records by family (intake, learning responses, candour, referrals, safety
            actions, then any other) and case id.

        Raises:
            InvalidInput: If ``incident_id`` or ``organisation`` is not an opaque id,
                ``reader`` is not a reader, or a system reader names no organisation.
        """
        with _events.refusing_input(self._log, reader):
            incident_id = _inputs.identifier("incident_id", incident_id)
            reader = _inputs.reader(reader)
            if organisation is None:
                if isinstance(reader, SystemReader):
                    raise InvalidInput(
                        "organisation", "a system reader must name the incident's organisation"
                    )
                organisation = reader.organisation
            organisation = _inputs.identifier("organisation", organisation)
        if not access.may_read(reader, organisation, self._oversight):
            return ()
        return _incidents.incident_records(
            self._store, self._definitions, organisation, incident_id
        )

    def definition_for(self, case: Case) -> WorkflowDefinition:
        """Return the definition ``case`` is pinned to.

        Raises:
            CorruptRecord: If the engine does not know that workflow version or the case's
                state is not one of its states.
        """
        definition = self._definitions.get(case.workflow, case.workflow_version)
        if definition is None:
            raise CorruptRecord(
                case.id,
                f"it follows workflow {case.workflow}@{case.workflow_version}, "
                "which this engine does not know",
            )
        if case.state not in definition.states:
            raise CorruptRecord(
                case.id, f"its state {case.state!r} is not a state of {definition.key}"
            )
        return definition

    # ------------------------------------------------------------------ internals

    def _now(self) -> datetime:
        """The clock's reading in UTC (an aware time in another zone is converted).

        Raises:
            InvalidInput: If the clock returns something other than an aware datetime.
        """
        with _events.refusing_input(self._log, None):
            return _inputs.moment("the clock's reading", self._clock.now())

    def _replay(
        self, key: str, fingerprint: str, case_id: str | None, trigger: str, actor: Actor
    ) -> Outcome | None:
        """The outcome of an earlier identical command with ``key``, or ``None``."""
        found = self._idempotency.replay(
            self._log, key, fingerprint, case_id=case_id, trigger=trigger, actor=actor
        )
        return None if found is None else Outcome(*found, replayed=True)

    def _commit(
        self,
        decision: Decision,
        expected_version: int | None,
        fingerprint: str | None,
        command: Command,
        definition: WorkflowDefinition,
        *,
        incident_links: tuple[IncidentLink, ...] = (),
        before: Mapping[str, FactValue] | None = None,
        previous: Case | None = None,
    ) -> Outcome:
        # ``before`` is the case's facts before a fired command (couplings that track facts
        # compare them with the facts after it).
        # ``definition`` is the one the command was decided with: the definition the new
        # case is pinned to (decide keeps the pin and moves only to its states).
        # decide chose the retention class (with this engine's classifier) before the
        # entry's case digest was taken.
        case, entry = decision.case, decision.entry
        # The step's clocks (``previous`` is the case before a fired command), under the
        # plan version that governs the case.
        governance = self.governance_for(case)
        clocks = self._clocks.scheduled(
            definition=definition,
            before=previous,
            after=case,
            trigger=entry.trigger,
            now=entry.recorded_at,
            plan=None if governance is None else governance.plan,
        )
        outbox = self._outbox.messages(case, definition.family, entry, before)
        if self._step_events:
            outbox = (*outbox, step_event(case, entry))
        change = Change(
            case=case,
            expected_version=expected_version,
            entry=entry,
            idempotency=self._idempotency.record(command, decision, fingerprint),
            outbox=outbox,
            incident_links=incident_links,
            deadlines=clocks.deadlines,
            escalations=clocks.escalations,
        )
        try:
            self._store.commit(change)
        except StoreError as failed:
            _events.warn(
                self._log,
                "psirf_flow.store_failed",
                failed,
                case_id=case.id,
                actor=command.actor,
                trigger=entry.trigger,
            )
            raise
        except (ConcurrencyConflict, CaseAlreadyExists):
            # A concurrent retry with the same key may have won the race (for an opening,
            # by creating the case first): replay it.
            key = command.idempotency_key
            if key is not None and fingerprint is not None:
                replay = self._replay(key, fingerprint, case.id, command.trigger, command.actor)
                if replay is not None:
                    return replay
            raise
        _events.accepted(self._log, entry)
        return Outcome(case, entry)
