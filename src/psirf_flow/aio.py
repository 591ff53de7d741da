"""asyncio hosts: the engine's calls as coroutines, over SQLAlchemy's asyncio extension.

[`AsyncEngine`][psirf_flow.aio.AsyncEngine] holds one synchronous
[`Engine`][psirf_flow.engine.Engine] and an
[`AsyncSqlStore`][psirf_flow.store.sql.aio.AsyncSqlStore]. Each call takes one pooled
connection, opens one transaction, and runs the synchronous engine's method on a
[`SqlStore`][psirf_flow.store.sql.store.SqlStore] bound to that connection, through
SQLAlchemy's ``AsyncConnection.run_sync``. SQLAlchemy runs the synchronous code in a
greenlet and awaits every database round trip on the event loop: the rules, the checks
and the errors are the synchronous engine's own, and the loop is never blocked by the
database. The transaction commits when the call returns and rolls back when it raises, so
a call is all or nothing, as with the synchronous engine.

```python
from psirf_flow import Actor, Role, SystemClock
from psirf_flow.aio import AsyncEngine, AsyncSqlStore


async def main() -> None:
    async with await AsyncSqlStore.open("cases.sqlite3", migrate=True) as store:
        engine = AsyncEngine(store, clock=SystemClock())
        pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
        opened = await engine.open("psii", actor=pss, payload={"incident_ids": ["INC-1"]})
        print(opened.case.state)
```

Needs the ``async`` extra (SQLAlchemy's asyncio extension with greenlet, aiosqlite, and
psycopg for PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TypeVar

from psirf_flow._extras import missing


try:
    import sqlalchemy  # noqa: F401 - imported first to name the missing extra
except ImportError as _error:
    raise missing("sqlalchemy", needed_by="the asyncio engine") from _error

from psirf_flow.audit import (
    AuditEntry,
    AuditKeys,
    ChainVerification,
    Checkpoint,
    CheckpointVerification,
)
from psirf_flow.decide import Option
from psirf_flow.domain import (
    Actor,
    Case,
    Deadline,
    Escalation,
    OutboxMessage,
    Reader,
    Role,
    SystemReader,
)
from psirf_flow.engine import Engine, IncidentRecord, Outcome
from psirf_flow.errors import InvalidInput, StoreError
from psirf_flow.policy import NationalRuleSet, Plan, RetentionClass, RetentionSettings
from psirf_flow.policy.governance import Governance, PlanBook
from psirf_flow.ports import (
    CaseQuery,
    Change,
    Clock,
    DeadlineQuery,
    IdempotencyRecord,
    IncidentLink,
    Page,
)
from psirf_flow.relay import OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.store.sql.aio import AsyncSqlStore
from psirf_flow.sweeper import Sweeper, SweepReport
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.couplings import Coupling


__all__ = ["AsyncEngine", "AsyncSqlStore"]

_T = TypeVar("_T")

_BOUND: ContextVar[SqlStore | None] = ContextVar("psirf_flow_bound_store", default=None)
"""The store bound to the connection of the call running in this task (set in the greenlet
``run_sync`` runs, which shares the task's context).
"""


class _CallStore:
    """The synchronous engine's store: the SQL store bound to the running call's connection.

    Every method forwards to the [`SqlStore`][psirf_flow.store.sql.store.SqlStore] that
    [`AsyncEngine`][psirf_flow.aio.AsyncEngine] bound for the call running now, so one
    engine (with its caches) serves every call while each call keeps its own connection
    and transaction.
    """

    @staticmethod
    def _current() -> SqlStore:
        store = _BOUND.get()
        if store is None:
            msg = "the asyncio engine's store was used outside one of its calls"
            raise StoreError(msg)
        return store

    def load(self, case_id: str) -> Case:
        return self._current().load(case_id)

    def history(self, case_id: str) -> Sequence[AuditEntry]:
        return self._current().history(case_id)

    def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        return self._current().load_with_head(case_id)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        return self._current().find_idempotency(key)

    def commit(self, change: Change) -> None:
        self._current().commit(change)

    def list_cases(self, query: CaseQuery) -> Page:
        return self._current().list_cases(query)

    def deadlines(self, case_id: str) -> Sequence[Deadline]:
        return self._current().deadlines(case_id)

    def escalations(self, case_id: str) -> Sequence[Escalation]:
        return self._current().escalations(case_id)

    def claim_due(
        self, now: datetime, *, limit: int, claimant: str, lease: timedelta
    ) -> Sequence[Escalation]:
        return self._current().claim_due(now, limit=limit, claimant=claimant, lease=lease)

    def find_deadlines(self, query: DeadlineQuery) -> Sequence[Deadline]:
        return self._current().find_deadlines(query)

    def outbox(self, case_id: str) -> Sequence[OutboxMessage]:
        return self._current().outbox(case_id)

    def incident_links(
        self, organisation: str, incident_ids: Sequence[str]
    ) -> Sequence[IncidentLink]:
        return self._current().incident_links(organisation, incident_ids)

    def pending_outbox(self, limit: int, *, now: datetime | None = None) -> Sequence[OutboxMessage]:
        return self._current().pending_outbox(limit, now=now)

    def dead_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        return self._current().dead_outbox(limit)

    def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        return self._current().mark_delivered(message_id, at=at, outcome=outcome)

    def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        return self._current().defer_outbox(message_id, until=until, reason=reason)

    def requeue_outbox(self, message_id: str, *, at: datetime) -> bool:
        return self._current().requeue_outbox(message_id, at=at)


class AsyncEngine:
    """The [`Engine`][psirf_flow.engine.Engine]'s calls as coroutines, over an asyncio store.

    Every argument but ``store`` is the synchronous engine's, with the same meaning and
    checks; every call takes the synchronous call's arguments, returns its records and
    raises its errors (only [`PsirfFlowError`][psirf_flow.errors.PsirfFlowError]
    subclasses). Each call is one transaction on one pooled connection of ``store``:
    committed when the call returns, rolled back when it raises.

    Concurrent calls on one case behave as concurrent processes do with the synchronous
    engine: a step decided on a version another call changed meanwhile is refused with
    [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] (reload and retry),
    unless its idempotency key shows the other call was its own retry, which is then
    replayed. On SQLite a call that writes takes the write lock when it begins, so calls
    on one case queue one behind another and each decides on the version before it.

    Args:
        store: The asyncio store, from
            [`AsyncSqlStore.open`][psirf_flow.store.sql.aio.AsyncSqlStore.open].
        clock: Where the time comes from (inject a ``ManualClock`` in tests).
        definitions: As for [`Engine`][psirf_flow.engine.Engine].
        new_id: As for ``Engine``.
        couplings: As for ``Engine``.
        retention: As for ``Engine``.
        oversight: As for ``Engine``.
        keys: As for ``Engine``.
        plan: As for ``Engine``.
        national_rules: As for ``Engine``.
        earlier_plans: As for ``Engine``.
        earlier_rules: As for ``Engine``.
        step_events: As for ``Engine``.

    Raises:
        InvalidInput: If ``store`` is not an ``AsyncSqlStore``, or another argument is
            refused as ``Engine`` refuses it.
    """

    def __init__(
        self,
        store: AsyncSqlStore,
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
        given: object = store
        if not isinstance(given, AsyncSqlStore):
            kind = type(given).__name__
            raise InvalidInput("store", f"must be an AsyncSqlStore, got {kind}")
        self._store = store
        self._engine = Engine(
            _CallStore(),
            clock=clock,
            definitions=definitions,
            new_id=new_id,
            couplings=couplings,
            retention=retention,
            oversight=oversight,
            keys=keys,
            plan=plan,
            national_rules=national_rules,
            earlier_plans=earlier_plans,
            earlier_rules=earlier_rules,
            step_events=step_events,
        )

    @property
    def store(self) -> AsyncSqlStore:
        """The asyncio store this engine writes to."""
        return self._store

    @property
    def engine(self) -> Engine:
        """The synchronous engine each call runs.

        Its store works only inside this engine's calls: build an
        [`OutboxRelay`][psirf_flow.relay.OutboxRelay] or a
        [`Sweeper`][psirf_flow.sweeper.Sweeper] on it and run them with
        [`relay_once`][psirf_flow.aio.AsyncEngine.relay_once] and
        [`sweep`][psirf_flow.aio.AsyncEngine.sweep]; any other use raises
        [`StoreError`][psirf_flow.errors.StoreError].
        """
        return self._engine

    @property
    def clock(self) -> Clock:
        """The clock this engine reads."""
        return self._engine.clock

    @property
    def definitions(self) -> DefinitionRegistry:
        """The workflows this engine runs."""
        return self._engine.definitions

    @property
    def couplings(self) -> tuple[Coupling, ...]:
        """The coupling table whose reactions this engine writes to the outbox."""
        return self._engine.couplings

    @property
    def plan_book(self) -> PlanBook | None:
        """The plan and rule pack versions this engine was given (``None`` without a plan)."""
        return self._engine.plan_book

    def definition_for(self, case: Case) -> WorkflowDefinition:
        """Return the definition ``case`` is pinned to (as [`Engine.definition_for`][psirf_flow.engine.Engine.definition_for])."""  # noqa: E501
        return self._engine.definition_for(case)

    def governance_for(self, case: Case) -> Governance | None:
        """The plan and rule pack versions ``case``'s decisions run under (as ``Engine``'s)."""
        return self._engine.governance_for(case)

    def may_read(self, case: Case, reader: Reader) -> bool:
        """Tell whether ``reader`` may read ``case`` (as [`Engine.may_read`][psirf_flow.engine.Engine.may_read])."""  # noqa: E501
        return self._engine.may_read(case, reader)

    async def run(self, work: Callable[[Engine], _T], *, write: bool = True) -> _T:
        """Run ``work`` with the synchronous engine inside one call (one transaction).

        Everything ``work`` does through the engine shares the call's connection and
        transaction, committed when ``work`` returns and rolled back when it raises (so
        several steps may be taken together, all or none). ``work`` runs on the event
        loop's thread: it must not do blocking I/O of its own.

        Args:
            work: Called with [`engine`][psirf_flow.aio.AsyncEngine.engine]; what it
                returns is returned.
            write: ``False`` for work that only reads (a read-only store then accepts it,
                and SQLite does not take the write lock).

        Raises:
            InvalidInput: If ``work`` cannot be called or ``write`` is not a bool.
            PsirfFlowError: What the engine raises; anything else ``work`` raises itself
                passes through unchanged (after the rollback).
        """
        _check_work(work, write)

        def bound(store: SqlStore) -> _T:
            token = _BOUND.set(store)
            try:
                return work(self._engine)
            finally:
                _BOUND.reset(token)

        return await self._store.run(bound, write=write)

    # ------------------------------------------------------------------ commands

    async def open(
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
        """Open a case (as [`Engine.open`][psirf_flow.engine.Engine.open], in one transaction)."""
        return await self.run(
            lambda engine: engine.open(
                workflow,
                actor=actor,
                payload=payload,
                case_id=case_id,
                organisation=organisation,
                role=role,
                idempotency_key=idempotency_key,
            )
        )

    async def fire(
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
        """Fire a step (as [`Engine.fire`][psirf_flow.engine.Engine.fire], in one transaction)."""
        return await self.run(
            lambda engine: engine.fire(
                case_id,
                trigger,
                actor=actor,
                payload=payload,
                role=role,
                idempotency_key=idempotency_key,
                expected_version=expected_version,
            )
        )

    # ------------------------------------------------------------------ queries

    async def get(self, case_id: str, *, reader: Reader) -> Case:
        """Return the case as last committed (as [`Engine.get`][psirf_flow.engine.Engine.get])."""
        return await self.run(lambda engine: engine.get(case_id, reader=reader), write=False)

    async def history(self, case_id: str, *, reader: Reader) -> tuple[AuditEntry, ...]:
        """Return the case's audit trail, oldest first (as [`Engine.history`][psirf_flow.engine.Engine.history])."""  # noqa: E501
        return await self.run(lambda engine: engine.history(case_id, reader=reader), write=False)

    async def verify(self, case_id: str, *, reader: Reader) -> ChainVerification:
        """Verify the case's audit chain and row (as [`Engine.verify`][psirf_flow.engine.Engine.verify])."""  # noqa: E501
        return await self.run(lambda engine: engine.verify(case_id, reader=reader), write=False)

    async def retention(self, case_id: str, *, reader: Reader) -> tuple[str, RetentionClass]:
        """Return the case's retention class (as [`Engine.retention`][psirf_flow.engine.Engine.retention])."""  # noqa: E501
        return await self.run(lambda engine: engine.retention(case_id, reader=reader), write=False)

    async def options(self, case_id: str, actor: Actor) -> tuple[Option, ...]:
        """List every step and whether ``actor`` may take it now (as [`Engine.options`][psirf_flow.engine.Engine.options])."""  # noqa: E501
        return await self.run(lambda engine: engine.options(case_id, actor), write=False)

    async def list_cases(self, query: CaseQuery | None = None, *, reader: Reader) -> Page:
        """Return one page of the cases ``reader`` may see (as [`Engine.list_cases`][psirf_flow.engine.Engine.list_cases])."""  # noqa: E501
        return await self.run(lambda engine: engine.list_cases(query, reader=reader), write=False)

    async def find_deadlines(
        self, query: DeadlineQuery | None = None, *, reader: Reader
    ) -> tuple[Deadline, ...]:
        """Return the deadlines ``reader`` may see (as [`Engine.find_deadlines`][psirf_flow.engine.Engine.find_deadlines])."""  # noqa: E501
        return await self.run(
            lambda engine: engine.find_deadlines(query, reader=reader), write=False
        )

    async def incident_records(
        self, incident_id: str, *, reader: Reader, organisation: str | None = None
    ) -> tuple[IncidentRecord, ...]:
        """Every record linked to an incident (as [`Engine.incident_records`][psirf_flow.engine.Engine.incident_records])."""  # noqa: E501
        return await self.run(
            lambda engine: engine.incident_records(
                incident_id, reader=reader, organisation=organisation
            ),
            write=False,
        )

    async def checkpoint(self, *, reader: SystemReader) -> Checkpoint:
        """Record every case's entry count and head hash (as [`Engine.checkpoint`][psirf_flow.engine.Engine.checkpoint])."""  # noqa: E501
        return await self.run(lambda engine: engine.checkpoint(reader=reader), write=False)

    async def verify_checkpoint(
        self, checkpoint: Checkpoint, *, reader: SystemReader
    ) -> CheckpointVerification:
        """Compare every case's trail with ``checkpoint`` (as [`Engine.verify_checkpoint`][psirf_flow.engine.Engine.verify_checkpoint])."""  # noqa: E501
        return await self.run(
            lambda engine: engine.verify_checkpoint(checkpoint, reader=reader), write=False
        )

    # ------------------------------------------------------------------ background work

    async def relay_once(self, relay: OutboxRelay, *, limit: int = 100) -> RelayReport:
        """Apply and deliver up to ``limit`` due outbox messages, in one transaction.

        ``relay`` is an [`OutboxRelay`][psirf_flow.relay.OutboxRelay] built on
        [`engine`][psirf_flow.aio.AsyncEngine.engine]; this runs its ``run_once``. Its
        notifier and listeners are called on the event loop's thread, inside the
        transaction: keep them quick (hand the notification to a queue). A message whose
        transaction rolls back is delivered again later (at least once, as always).

        Raises:
            InvalidInput: If ``relay`` is not an ``OutboxRelay`` or ``limit`` is refused.
        """
        given: object = relay
        if not isinstance(given, OutboxRelay):
            raise InvalidInput("relay", f"must be an OutboxRelay, got {type(given).__name__}")
        return await self.run(lambda _engine: relay.run_once(limit))

    async def sweep(self, sweeper: Sweeper, now: datetime | None = None) -> SweepReport:
        """Claim and fire the escalation tiers due by ``now``, in one transaction.

        ``sweeper`` is a [`Sweeper`][psirf_flow.sweeper.Sweeper] built on
        [`engine`][psirf_flow.aio.AsyncEngine.engine]; this runs its ``sweep(now)``
        (``now`` is the engine's clock by default). The claims and the fired tiers commit
        together.

        Raises:
            InvalidInput: If ``sweeper`` is not a ``Sweeper`` or ``now`` is refused.
        """
        given: object = sweeper
        if not isinstance(given, Sweeper):
            raise InvalidInput("sweeper", f"must be a Sweeper, got {type(given).__name__}")
        return await self.run(lambda _engine: sweeper.sweep(now))


def _check_work(work: object, write: object) -> None:
    """Refuse a ``work`` that cannot be called, or a ``write`` that is not a bool."""
    if not callable(work):
        raise InvalidInput("work", f"must be callable, got {type(work).__name__}")
    if not isinstance(write, bool):
        raise InvalidInput("write", "must be True or False")
