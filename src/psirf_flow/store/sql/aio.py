"""The asyncio SQL store: the SQL store's own code, run over asyncio drivers.

[`AsyncSqlStore`][psirf_flow.store.sql.aio.AsyncSqlStore] keeps one SQLAlchemy
``AsyncEngine`` (aiosqlite for SQLite files, psycopg's asyncio connection for PostgreSQL).
Each call takes a pooled connection, opens one transaction and runs the synchronous
[`SqlStore`][psirf_flow.store.sql.store.SqlStore] method on that connection with
``AsyncConnection.run_sync``: SQLAlchemy runs the synchronous code in a greenlet and
every database round trip is awaited on the event loop, so nothing blocks the loop and
no statement, mapping or error translation is written twice. A write is committed when
the call returns and rolled back when it raises.

Errors are those of the synchronous store: every SQLAlchemy or driver exception becomes a
[`PsirfFlowError`][psirf_flow.errors.PsirfFlowError] subclass
([`StoreUnavailable`][psirf_flow.errors.StoreUnavailable],
[`StoreBusy`][psirf_flow.errors.StoreBusy], [`StoreError`][psirf_flow.errors.StoreError],
[`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict]...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, Escalation, OutboxMessage
from psirf_flow.errors import InvalidInput, StoreBusy, StoreError, StoreUnavailable, shown
from psirf_flow.ports import CaseQuery, Change, DeadlineQuery, IdempotencyRecord, IncidentLink, Page
from psirf_flow.store.sql._errors import _detail, _is_busy, _shown, _translated
from psirf_flow.store.sql.engines import _IMMEDIATE, Durability, make_async_engine
from psirf_flow.store.sql.migrate import _check, _upgrade_in
from psirf_flow.store.sql.store import SqlStore, _refuse_missing_sqlite_file


if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


__all__ = ["AsyncSqlStore"]

_T = TypeVar("_T")


class AsyncSqlStore:
    """The [`Store`][psirf_flow.ports.Store] methods as coroutines, on SQLite or PostgreSQL.

    Make one with [`open`][psirf_flow.store.sql.aio.AsyncSqlStore.open] (from a URL or a
    SQLite file path), or with the constructor from an ``AsyncEngine`` the host already
    configured (then await [`check_schema`][psirf_flow.store.sql.aio.AsyncSqlStore.check_schema]
    once). Close it with [`aclose`][psirf_flow.store.sql.aio.AsyncSqlStore.aclose], or use
    it as an async context manager. Hand it to
    [`AsyncEngine`][psirf_flow.aio.AsyncEngine] to open cases and fire steps.

    Args:
        engine: The asyncio engine to use. For SQLite, prefer
            [`make_async_engine`][psirf_flow.store.sql.engines.make_async_engine], which sets WAL
            and the transaction handling SAVEPOINTs need.

    Raises:
        InvalidInput: If ``engine`` is not a SQLAlchemy ``AsyncEngine``.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: PLC0415 - needs greenlet

        given: object = engine
        if not isinstance(given, AsyncEngine):
            kind = type(given).__name__
            raise InvalidInput("engine", f"must be a SQLAlchemy AsyncEngine, got {kind}")
        self._engine = engine
        self._owns_engine = False
        self._read_only = False

    def __repr__(self) -> str:
        """Name the database without its password or any secret query parameter."""
        mode = ", read_only=True" if self._read_only else ""
        return f"AsyncSqlStore(url={self.url!r}{mode})"

    # ------------------------------------------------------------------ construction

    @classmethod
    async def open(
        cls,
        url: str | sa.URL,
        *,
        migrate: bool = False,
        durability: Durability = "full",
        read_only: bool = False,
        busy_timeout: float | None = None,
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> AsyncSqlStore:
        """Open the database at ``url`` and check (or, with ``migrate``, bring) its schema.

        The options are those of [`SqlStore.open`][psirf_flow.store.sql.store.SqlStore.open],
        with the same meaning, plus the pool's size. The schema is checked (or migrated,
        under the same PostgreSQL advisory lock) through the asyncio connection.

        Args:
            url: A SQLAlchemy URL (``postgresql+psycopg://...``, ``sqlite:///...``) or a
                SQLite file path; its driver becomes the backend's asyncio driver.
            migrate: Create or upgrade the schema first.
            durability: ``"full"`` or ``"normal"``.
            read_only: Open the database for reading only; every write is refused.
            busy_timeout: Seconds to wait for another writer's lock before raising
                [`StoreBusy`][psirf_flow.errors.StoreBusy].
            pool_size: Connections the pool keeps (5 by default). Each call holds one
                connection for its transaction, so this bounds how many calls run against
                the database at once; the others wait for a connection.
            max_overflow: Connections opened beyond ``pool_size`` when busy (10 by default).

        Raises:
            InvalidInput: If an option is not valid, or ``read_only`` and ``migrate`` are
                both given.
            SchemaVersionError: If the schema is missing, older or newer (without
                ``migrate``), or newer (with it).
            StoreUnavailable: If the database cannot be reached.
            StoreError: If the URL cannot be used (another driver, an in-memory SQLite
                database).
            MissingDependency: If the ``async`` extra is not installed.
        """
        if not isinstance(migrate, bool):
            raise InvalidInput("migrate", f"must be True or False, not {shown(migrate)}")
        if read_only is True and migrate:
            msg = "cannot be used with read_only: a read-only store cannot migrate; run upgrade()"
            raise InvalidInput("migrate", msg)
        engine = make_async_engine(
            url,
            durability=durability,
            read_only=read_only,
            busy_timeout=busy_timeout,
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        store = cls(engine)
        store._owns_engine = True
        store._read_only = read_only
        try:
            if migrate:
                await store._transaction(_upgrade_in, write=True)
            else:
                if not read_only:  # read-only engines never create a file (mode=ro)
                    _refuse_missing_sqlite_file(engine.url)
                await store.check_schema()
        except BaseException:
            await engine.dispose()
            raise
        return store

    @property
    def engine(self) -> AsyncEngine:
        """The asyncio engine this store uses."""
        return self._engine

    @property
    def url(self) -> str:
        """The database URL, with the password and secret query parameters hidden."""
        return _shown(self._engine.url)

    @property
    def read_only(self) -> bool:
        """True when the store was opened with ``read_only=True`` and refuses every write."""
        return self._read_only

    async def check_schema(self) -> None:
        """Check that the database is at this release's schema revision (``HEAD_REVISION``).

        Raises:
            SchemaVersionError: If the schema is missing, older or newer, or its revision is
                in the legacy table.
            StoreUnavailable: If the database cannot be reached.
        """
        await self._transaction(_check, write=False)

    async def aclose(self) -> None:
        """Close pooled connections (only of an engine [`open`][psirf_flow.store.sql.aio.AsyncSqlStore.open] created)."""  # noqa: E501
        if self._owns_engine:
            await self._engine.dispose()

    async def __aenter__(self) -> AsyncSqlStore:
        """Return the store itself; leaving the block closes it."""
        return self

    async def __aexit__(
        self,
        _kind: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        """Close the store ([`aclose`][psirf_flow.store.sql.aio.AsyncSqlStore.aclose])."""
        await self.aclose()

    # ------------------------------------------------------------------ the bridge

    async def run(self, work: Callable[[SqlStore], _T], *, write: bool = False) -> _T:
        """Run ``work`` with a synchronous store bound to one connection, in one transaction.

        ``work`` runs through ``AsyncConnection.run_sync``: it may call any number of
        [`SqlStore`][psirf_flow.store.sql.store.SqlStore] methods, which all share the
        transaction, and its database I/O is awaited on the event loop. It must not do
        blocking I/O of its own. The transaction commits when ``work`` returns and rolls
        back when it raises. [`AsyncEngine`][psirf_flow.aio.AsyncEngine] runs each of its
        calls this way.

        Args:
            work: Called with the bound store; what it returns is returned.
            write: ``True`` if ``work`` writes: a read-only store refuses it before
                connecting, and on SQLite the transaction takes the write lock when it
                begins (``BEGIN IMMEDIATE``), so concurrent writers queue behind the busy
                timeout rather than fail when one of them upgrades a read to a write.

        Raises:
            StoreUnavailable: If the database cannot be reached.
            StoreBusy: If another writer held a lock past the busy timeout; retry.
            StoreError: If the database fails, or ``write`` on a read-only store.
        """
        if not callable(work):
            raise InvalidInput("work", f"must be callable, got {type(work).__name__}")
        if not isinstance(write, bool):
            raise InvalidInput("write", "must be True or False")
        read_only = self._read_only

        def bound(connection: sa.Connection) -> _T:
            store = SqlStore.bind(connection)
            store._read_only = read_only
            return work(store)

        return await self._transaction(bound, write=write)

    async def _transaction(self, work: Callable[[sa.Connection], _T], *, write: bool) -> _T:
        """Run ``work`` on a synchronous view of one pooled connection, in one transaction."""
        if write and self._read_only:
            msg = f"the store for {self.url} was opened read-only; nothing was written"
            raise StoreError(msg)
        url = self._engine.url
        connection = await self._connect()
        try:
            with _translated(url):
                if write and connection.dialect.name == "sqlite":
                    await connection.execution_options(**{_IMMEDIATE: True})
                async with connection.begin():
                    return await connection.run_sync(work)
        finally:
            with _translated(url):
                await connection.close()

    async def _connect(self) -> AsyncConnection:
        """A pooled connection; a failure to connect is StoreUnavailable (or StoreBusy)."""
        url = self._engine.url
        connection = self._engine.connect()
        try:
            return await connection.start()
        except sa.exc.SQLAlchemyError as error:
            if _is_busy(error):
                raise StoreBusy(_shown(url), _detail(error, url)) from error
            raise StoreUnavailable(_shown(url), _detail(error, url)) from error

    # ------------------------------------------------------------------ reads

    async def load(self, case_id: str) -> Case:
        """Return the case, or raise [`CaseNotFound`][psirf_flow.errors.CaseNotFound]."""
        return await self.run(lambda store: store.load(case_id))

    async def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        """Return the case and its entry numbered ``case.version``, in one query."""
        return await self.run(lambda store: store.load_with_head(case_id))

    async def history(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's audit entries in sequence order (empty if unknown)."""
        return await self.run(lambda store: store.history(case_id))

    async def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return what ``key`` was first used for, or ``None``."""
        return await self.run(lambda store: store.find_idempotency(key))

    async def list_cases(self, query: CaseQuery) -> Page:
        """Return one page of cases matching ``query``, ordered by id (keyset paginated)."""
        return await self.run(lambda store: store.list_cases(query))

    async def deadlines(self, case_id: str) -> Sequence[Deadline]:
        """Return the case's deadlines (every cycle), ordered by kind, then cycle."""
        return await self.run(lambda store: store.deadlines(case_id))

    async def escalations(self, case_id: str) -> Sequence[Escalation]:
        """Return the case's escalation tiers, ordered by kind, cycle, then tier."""
        return await self.run(lambda store: store.escalations(case_id))

    async def find_deadlines(self, query: DeadlineQuery) -> Sequence[Deadline]:
        """Return the deadlines matching ``query``, ordered by ``due_at``, then key."""
        return await self.run(lambda store: store.find_deadlines(query))

    async def outbox(self, case_id: str) -> Sequence[OutboxMessage]:
        """Return the messages the case's commands have written, oldest first."""
        return await self.run(lambda store: store.outbox(case_id))

    async def incident_links(
        self, organisation: str, incident_ids: Sequence[str]
    ) -> Sequence[IncidentLink]:
        """Return every case's link to these incidents, by incident id then case id."""
        return await self.run(lambda store: store.incident_links(organisation, incident_ids))

    async def pending_outbox(
        self, limit: int, *, now: datetime | None = None
    ) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` undelivered messages (due by ``now``, if given), oldest first."""
        return await self.run(lambda store: store.pending_outbox(limit, now=now))

    async def dead_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` messages set aside as dead, oldest first."""
        return await self.run(lambda store: store.dead_outbox(limit))

    # ------------------------------------------------------------------ writes

    async def commit(self, change: Change) -> None:
        """Write ``change`` in one transaction, checking the case's version.

        Raises:
            ConcurrencyConflict: If the stored version is not ``change.expected_version``,
                or the idempotency key or audit sequence was taken meanwhile.
            CaseAlreadyExists: If creating a case whose id is taken.
            StoreError: If the change is inconsistent, the store is read-only or the
                database fails; nothing of the change was written.
            StoreBusy: If another writer held a lock past the busy timeout; retry.
            StoreUnavailable: If the database cannot be reached.
        """
        await self.run(lambda store: store.commit(change), write=True)

    async def claim_due(
        self, now: datetime, *, limit: int, claimant: str, lease: timedelta
    ) -> Sequence[Escalation]:
        """Claim up to ``limit`` pending tiers due by ``now``, earliest first (as the SQL store)."""
        return await self.run(
            lambda store: store.claim_due(now, limit=limit, claimant=claimant, lease=lease),
            write=True,
        )

    async def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        """Record delivery of ``message_id``; ``False`` if it was delivered already."""
        return await self.run(
            lambda store: store.mark_delivered(message_id, at=at, outcome=outcome), write=True
        )

    async def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        """Count a failed attempt at ``message_id``; it is due again at ``until``."""
        return await self.run(
            lambda store: store.defer_outbox(message_id, until=until, reason=reason), write=True
        )

    async def requeue_outbox(self, message_id: str, *, at: datetime) -> bool:
        """Put a dead message back in the queue, due at ``at`` with no attempts counted."""
        return await self.run(lambda store: store.requeue_outbox(message_id, at=at), write=True)
