"""The SQLAlchemy store: SQLite files and PostgreSQL (psycopg 3) through SQLAlchemy 2 Core.

Each [`SqlStore.commit`][psirf_flow.store.sql.store.SqlStore.commit] is one transaction: the
version-checked case update (or the insert of a new case), the audit entry, the idempotency record,
the deadlines and escalation tiers (upserted by key) and the outbox rows are written together or not
at all. [`SqlStore.claim_due`][psirf_flow.store.sql.store.SqlStore.claim_due] claims due tiers for a
sweeper (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). A store made with
[`SqlStore.bind`][psirf_flow.store.sql.store.SqlStore.bind] runs inside a connection the host
already holds: each change is a SAVEPOINT inside the host's transaction, which the host alone
commits or rolls back.

Every SQLAlchemy or driver exception is translated into a psirf_flow error (chained with
``raise ... from``): [`StoreUnavailable`][psirf_flow.errors.StoreUnavailable] when the database
cannot be reached (the URL is shown without its password),
[`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] when a version or unique key shows
that someone else wrote first, [`CaseAlreadyExists`][psirf_flow.errors.CaseAlreadyExists] when a
case id is taken, and [`StoreError`][psirf_flow.errors.StoreError] for the rest.

Engines are made in [`psirf_flow.store.sql.engines`][psirf_flow.store.sql.engines] and schemas
versioned in [`psirf_flow.store.sql.migrate`][psirf_flow.store.sql.migrate]; their public names are
re-exported here as well.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, Escalation, EscalationStatus, OutboxMessage
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    ConcurrencyConflict,
    InvalidInput,
    SchemaVersionError,
    StoreError,
    shown,
)
from psirf_flow.ports import (
    CaseQuery,
    Change,
    DeadlineQuery,
    IdempotencyRecord,
    IncidentLink,
    Page,
)
from psirf_flow.store._checks import check_claim, check_tiers
from psirf_flow.store.sql import mapping
from psirf_flow.store.sql._errors import _connected, _is_unique_violation, _shown, _translated
from psirf_flow.store.sql.engines import (
    Durability,
    _single_statement,
    check_options,
    make_engine,
)
from psirf_flow.store.sql.migrate import (
    HEAD_REVISION,
    _alembic_config,  # noqa: F401 - re-exported: importable from here as before the split
    _check,
    current_revision,
    upgrade,
)
from psirf_flow.store.sql.schema import (
    AUDIT_ENTRIES,
    CASES,
    DEADLINES,
    ESCALATIONS,
    IDEMPOTENCY_KEYS,
    INCIDENT_LINKS,
    OUTBOX,
)


__all__ = [
    "CACHE_SIZE",
    "HEAD_REVISION",
    "Durability",
    "SqlStore",
    "current_revision",
    "make_engine",
    "upgrade",
]

# ------------------------------------------------------------------ statements (built once)

_LOAD = sa.select(CASES).where(CASES.c.id == sa.bindparam("case_id"))
_HISTORY = (
    sa.select(AUDIT_ENTRIES)
    .where(AUDIT_ENTRIES.c.case_id == sa.bindparam("case_id"))
    .order_by(AUDIT_ENTRIES.c.sequence)
)
_HEAD = AUDIT_ENTRIES.alias("head")
_LOAD_WITH_HEAD = (
    sa.select(CASES, *(c.label(f"e_{c.name}") for c in _HEAD.c))
    .select_from(
        CASES.outerjoin(
            _HEAD, sa.and_(_HEAD.c.case_id == CASES.c.id, _HEAD.c.sequence == CASES.c.version)
        )
    )
    .where(CASES.c.id == sa.bindparam("case_id"))
)
"""The case and its head entry (sequence = version) in one query; the entry's columns are
labelled ``e_<name>`` so they do not clash with the case's."""
_FIND_KEY = sa.select(IDEMPOTENCY_KEYS).where(IDEMPOTENCY_KEYS.c.key == sa.bindparam("key"))
_DEADLINES = (
    sa.select(DEADLINES)
    .where(DEADLINES.c.case_id == sa.bindparam("case_id"))
    .order_by(DEADLINES.c.kind, DEADLINES.c.cycle)
)
_ESCALATIONS = (
    sa.select(ESCALATIONS)
    .where(ESCALATIONS.c.case_id == sa.bindparam("case_id"))
    .order_by(ESCALATIONS.c.kind, ESCALATIONS.c.cycle, ESCALATIONS.c.tier)
)
_DEADLINE_KEY: Final = ("case_id", "kind", "cycle")
_ESCALATION_KEY: Final = ("case_id", "kind", "cycle", "tier")
_CLAIM_NOW = sa.bindparam("now", type_=ESCALATIONS.c.fire_at.type)
_DUE_TIERS = (
    sa.select(*(ESCALATIONS.c[k] for k in _ESCALATION_KEY))
    .where(
        ESCALATIONS.c.status == EscalationStatus.PENDING.value,
        ESCALATIONS.c.fire_at <= _CLAIM_NOW,
        sa.or_(
            ESCALATIONS.c.claimed_until.is_(None),
            ESCALATIONS.c.claimed_until <= _CLAIM_NOW,
        ),
    )
    .order_by(ESCALATIONS.c.fire_at, *(ESCALATIONS.c[k] for k in _ESCALATION_KEY))
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
    .cte("due_tiers")
)
"""The pending tiers due by ``now`` and not claimed by anyone until later, earliest first;
on PostgreSQL locked ``FOR UPDATE SKIP LOCKED`` (a row another claimer holds is passed
over, not waited for). It reads the ``(status, fire_at)`` index."""
_CLAIM = (
    ESCALATIONS.update()
    .where(*(ESCALATIONS.c[k] == _DUE_TIERS.c[k] for k in _ESCALATION_KEY))
    .values(
        claimed_by=sa.bindparam("claimant"),
        claimed_until=sa.bindparam("until", type_=ESCALATIONS.c.claimed_until.type),
    )
    .returning(*ESCALATIONS.c)
)
"""Claims the due tiers in one statement (one write transaction on SQLite, whose UPDATE
takes the write lock before it reads), returning them."""
_OUTBOX = (
    sa.select(OUTBOX).where(OUTBOX.c.case_id == sa.bindparam("case_id")).order_by(OUTBOX.c.position)
)
_INSERT_CASE = CASES.insert()
_UPDATE_CASE = CASES.update().where(
    CASES.c.id == sa.bindparam("b_id"), CASES.c.version == sa.bindparam("b_expected")
)
_MOST_CLOCK_ROWS: Final = 8
"""A change upserting more deadlines and tiers than this is written in a transaction."""
_CACHED_COLUMNS: Final = tuple(c.name for c in CASES.c if c.name not in {"id", "version"})
"""The case row's columns a write from the cache compares (id and version are checked anyway)."""


_HEAD_COLUMNS: Final = ("hash", "format", "to_state", "case_digest", "key_id")
"""The head entry's columns the engine's row check reads (besides case id and sequence)."""


def _unchanged(columns: sa.ColumnCollection[str, sa.Column[Any]]) -> list[sa.ColumnElement[bool]]:
    """Conditions: the case row and its head entry still hold the cached values.

    Every column in `_CACHED_COLUMNS` of the row (``o_<name>``), and every column in
    `_HEAD_COLUMNS` of the entry numbered ``b_expected`` (``h_<name>``): what the engine's
    row check (``audit.row_mismatch``) compares, so a write from the cache is refused
    exactly when a fresh load would differ. ``IS NOT DISTINCT FROM`` (SQLite's ``IS``) so
    that a NULL compares equal to NULL.
    """
    entry = AUDIT_ENTRIES.c
    head = sa.exists().where(
        entry.case_id == sa.bindparam("b_id"),
        entry.sequence == sa.bindparam("b_expected"),
        *(
            entry[c].is_not_distinct_from(sa.bindparam(f"h_{c}", type_=entry[c].type))
            for c in _HEAD_COLUMNS
        ),
    )
    return [
        *(
            columns[c].is_not_distinct_from(sa.bindparam(f"o_{c}", type_=columns[c].type))
            for c in _CACHED_COLUMNS
        ),
        head,
    ]


_UPDATE_CACHED_CASE = _UPDATE_CASE.where(*_unchanged(CASES.c))
"""`_UPDATE_CASE` that also matches no row if any stored column differs from the cached case:
a row another process (or anyone) changed since this store last read or wrote it."""
_INSERT_ENTRY = AUDIT_ENTRIES.insert()
_INSERT_KEY = IDEMPOTENCY_KEYS.insert()
_INSERT_MESSAGE = OUTBOX.insert()
_LINK_COLUMNS: Final = (
    INCIDENT_LINKS.c.organisation,
    INCIDENT_LINKS.c.incident_id,
    INCIDENT_LINKS.c.case_id,
    INCIDENT_LINKS.c.retention_class,
)
_LINKS_ONE = (
    sa.select(*_LINK_COLUMNS)
    .where(
        INCIDENT_LINKS.c.organisation == sa.bindparam("organisation"),
        INCIDENT_LINKS.c.incident_id == sa.bindparam("incident_id"),
    )
    .order_by(INCIDENT_LINKS.c.case_id)
)
"""The links to one incident (the usual question), with a plain equality: no expanding IN."""
_LINKS = (
    sa.select(*_LINK_COLUMNS)
    .where(
        INCIDENT_LINKS.c.organisation == sa.bindparam("organisation"),
        INCIDENT_LINKS.c.incident_id.in_(sa.bindparam("incident_ids", expanding=True)),
    )
    .order_by(INCIDENT_LINKS.c.incident_id, INCIDENT_LINKS.c.case_id)
)
_DELETE_LINKS = INCIDENT_LINKS.delete().where(
    INCIDENT_LINKS.c.case_id == sa.bindparam("case_id"),
    INCIDENT_LINKS.c.organisation == sa.bindparam("organisation"),
    INCIDENT_LINKS.c.incident_id.in_(sa.bindparam("incident_ids", expanding=True)),
)
_INSERT_LINK = INCIDENT_LINKS.insert()
_UPDATABLE: Final = (
    "organisation",
    "state",
    "version",
    "held_from",
    "head_hash",
    "facts",
    "retention_class",
)
_ENTRY_COLUMNS: Final = tuple(c.name for c in AUDIT_ENTRIES.c if c.name != "id")
_UPDATED_CASE = (
    CASES.update()
    .where(CASES.c.id == sa.bindparam("b_id"), CASES.c.version == sa.bindparam("b_expected"))
    .values({c: sa.bindparam(f"c_{c}", type_=CASES.c[c].type) for c in (*_UPDATABLE, "updated_at")})
    .returning(CASES.c.id)
    .cte("updated_case")
)


def _update_and_append_statement(updated: sa.CTE) -> sa.Insert:
    return (
        AUDIT_ENTRIES.insert()
        .from_select(
            list(_ENTRY_COLUMNS),
            sa.select(
                *(sa.bindparam(f"e_{c}", type_=AUDIT_ENTRIES.c[c].type) for c in _ENTRY_COLUMNS)
            ).select_from(updated),
        )
        .add_cte(updated)
        .returning(AUDIT_ENTRIES.c.sequence)
    )


_UPDATE_AND_APPEND = _update_and_append_statement(_UPDATED_CASE)
"""PostgreSQL only: the version-checked UPDATE and the audit INSERT as one statement (one
round trip). The INSERT selects from the UPDATE's RETURNING, so it adds the entry exactly
when the case row matched id and version: the row it returns is the version check."""
_UPDATE_CACHED_AND_APPEND = _update_and_append_statement(
    _UPDATED_CASE.element.where(*_unchanged(CASES.c)).cte("updated_case")  # type: ignore[attr-defined]
)
"""`_UPDATE_AND_APPEND` whose UPDATE also compares every stored column with the cached case."""


def _upsert_from(table: sa.Table, prefix: str, updated: sa.CTE) -> sa.CTE:
    """PostgreSQL: upsert one row of ``table`` by its key, as a CTE.

    Its parameters are ``<prefix>_<column>``; the row is selected from ``updated``, so it is
    written exactly when the case row matched.
    """
    columns = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    insert = postgresql.insert(table).from_select(
        columns,
        sa.select(
            *(sa.bindparam(f"{prefix}_{c}", type_=table.c[c].type) for c in columns)
        ).select_from(updated),
    )
    upsert = insert.on_conflict_do_update(
        index_elements=keys,
        set_={c: insert.excluded[c] for c in columns if c not in keys},
    )
    return upsert.cte(prefix)


@functools.cache  # at most 2 x 45 shapes (_MOST_CLOCK_ROWS)
def _update_append_and_clock(deadlines: int, tiers: int, *, cached: bool) -> sa.Insert:
    """PostgreSQL: `_UPDATE_AND_APPEND` (or its cached form) that also upserts clock rows.

    ``deadlines`` deadline rows (``d<i>_<column>``) and ``tiers`` tier rows
    (``t<i>_<column>``), all in one statement: each upsert selects from the UPDATE's
    RETURNING, like the entry. Built once per shape.
    """
    updated = _UPDATED_CASE
    if cached:
        updated = _UPDATED_CASE.element.where(*_unchanged(CASES.c)).cte("updated_case")  # type: ignore[attr-defined]
    statement = _update_and_append_statement(updated)
    ctes = [_upsert_from(DEADLINES, f"d{i}", updated) for i in range(deadlines)]
    ctes += [_upsert_from(ESCALATIONS, f"t{i}", updated) for i in range(tiers)]
    return statement.add_cte(*ctes) if ctes else statement


_PENDING = (
    sa.select(OUTBOX)
    .where(OUTBOX.c.delivered_at.is_(None))
    .order_by(OUTBOX.c.position)
    .limit(sa.bindparam("limit"))
)
_DUE = (
    sa.select(OUTBOX)
    .where(
        OUTBOX.c.delivered_at.is_(None),
        sa.or_(
            OUTBOX.c.next_attempt_at.is_(None),
            OUTBOX.c.next_attempt_at <= sa.bindparam("now", type_=OUTBOX.c.next_attempt_at.type),
        ),
    )
    .order_by(OUTBOX.c.position)
    .limit(sa.bindparam("limit"))
)
_DEAD = (
    sa.select(OUTBOX)
    .where(OUTBOX.c.delivered_at.is_not(None), OUTBOX.c.outcome.startswith("dead:"))
    .order_by(OUTBOX.c.position)
    .limit(sa.bindparam("limit"))
)
_FIND_MESSAGE = sa.select(OUTBOX.c.delivered_at).where(
    OUTBOX.c.message_id == sa.bindparam("message_id")
)
_CURRENT_VERSION = sa.select(CASES.c.version).where(CASES.c.id == sa.bindparam("case_id"))
_MARK_DELIVERED = (
    OUTBOX.update()
    .where(OUTBOX.c.message_id == sa.bindparam("b_message_id"), OUTBOX.c.delivered_at.is_(None))
    .values(
        delivered_at=sa.bindparam("b_at"),
        outcome=sa.bindparam("b_outcome"),
        attempts=OUTBOX.c.attempts + 1,
    )
)
_DEFER = (
    OUTBOX.update()
    .where(OUTBOX.c.message_id == sa.bindparam("b_message_id"), OUTBOX.c.delivered_at.is_(None))
    .values(
        next_attempt_at=sa.bindparam("b_until"),
        last_error=sa.bindparam("b_reason"),
        attempts=OUTBOX.c.attempts + 1,
    )
)
_REQUEUE = (
    OUTBOX.update()
    .where(
        OUTBOX.c.message_id == sa.bindparam("b_message_id"),
        OUTBOX.c.delivered_at.is_not(None),
        OUTBOX.c.outcome.startswith("dead:"),
    )
    .values(
        delivered_at=None,
        outcome=None,
        attempts=0,
        next_attempt_at=sa.bindparam("b_at"),
    )
)


# ------------------------------------------------------------------ direct execution


_COMPILED: dict[tuple[int, str, tuple[str, ...]], tuple[str, Any, tuple[tuple[str, Any], ...]]] = {}
"""Hot statements compiled once per statement, dialect and parameter names (bounded below)."""
_MOST_COMPILED: Final = 512


def _instrumented(connection: sa.Connection) -> bool:
    """Tell whether SQLAlchemy must run this connection's statements itself.

    When anyone listens to its statements, or the driver is an asyncio one (run through
    SQLAlchemy's adaptation).
    """
    dispatch = connection.engine.dispatch
    return bool(
        connection.dialect.is_async
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or connection.dispatch.before_cursor_execute
        or connection.dispatch.after_cursor_execute
        or connection.dialect.dispatch.handle_error
    )


def _compiled(
    statement: sa.Executable, dialect: sa.Dialect, names: tuple[str, ...]
) -> tuple[str, Any, tuple[tuple[str, Any], ...]]:
    key = (id(statement), dialect.name, names)
    found = _COMPILED.get(key)
    if found is None or found[1].statement is not statement:  # never another's id
        element: Any = statement  # every statement given here is a ClauseElement
        compiled: Any = element.compile(dialect=dialect, column_keys=list(names))
        processors = tuple(compiled._bind_processors.items())
        found = (compiled.string, compiled, processors)
        if len(_COMPILED) >= _MOST_COMPILED:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


def _direct(
    connection: sa.Connection,
    statement: sa.Executable,
    params: dict[str, Any] | list[dict[str, Any]],
) -> Any:
    """Run a hot Core statement on the DBAPI cursor of ``connection``; return the cursor.

    The statement is compiled once (per dialect and parameter names) and its bind
    processors applied as SQLAlchemy would; the transaction stays SQLAlchemy's. Skipped
    (SQLAlchemy executes, returning its result, which offers the same ``rowcount``,
    ``fetchone`` and ``fetchall``) when someone listens to the engine's statements, so a
    host's instrumentation sees every statement. A driver error is raised as SQLAlchemy
    would raise it (``sa.exc.DBAPIError`` and its subclasses, with the connection
    invalidated on a disconnect).
    """
    if _instrumented(connection):
        return connection.execute(statement, params)
    many = isinstance(params, list)
    first = params[0] if isinstance(params, list) else params
    sql, compiled, processors = _compiled(statement, connection.dialect, tuple(first))
    rows = params if isinstance(params, list) else [params]
    prepared = []
    for row in rows:
        values = compiled.construct_params(row, _check=False)
        for name, process in processors:
            if name in values:
                values[name] = process(values[name])
        positions = compiled.positiontup
        prepared.append(tuple(values[n] for n in positions) if positions is not None else values)
    dbapi_connection = connection.connection
    cursor = dbapi_connection.cursor()
    try:
        if many:
            cursor.executemany(sql, prepared)
        else:
            cursor.execute(sql, prepared[0])
    except connection.dialect.loaded_dbapi.Error as error:
        invalidated = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if invalidated:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            sql,
            prepared,
            error,
            connection.dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=connection.dialect,
        ) from error
    return cursor


# ------------------------------------------------------------------ the write cache

CACHE_SIZE: Final = 20_000
"""How many cases a store made by `SqlStore.open` keeps for the engine's write path (LRU)."""


class _Cached:
    """A case and its head entry as this store last read or wrote them.

    With them, once read, the case's deadlines and tiers: they change only in a commit
    that also moves the case's version (``claim_due`` changes claims, which are not part
    of [`Escalation`][psirf_flow.domain.Escalation]), so the row comparison of the next
    write checks them too.
    """

    __slots__ = ("case", "deadlines", "head", "served", "tiers")

    def __init__(
        self,
        case: Case,
        head: AuditEntry | None,
        deadlines: tuple[Deadline, ...] | None = None,
        tiers: tuple[Escalation, ...] | None = None,
    ) -> None:
        self.case = case
        self.head = head
        self.served = False
        """Set when ``load_with_head`` answered from here: a commit of a change decided on
        it then compares every stored column with ``case``."""
        self.deadlines = deadlines
        self.tiers = tiers


class _WriteCache:
    """A bounded LRU of `_Cached` by case id, safe to share between threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, _Cached] = OrderedDict()
        self._stale: set[str] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def serve(self, case_id: str) -> tuple[Case, AuditEntry | None] | None:
        with self._lock:
            found = self._items.get(case_id)
            if found is None:
                return None
            self._items.move_to_end(case_id)
            found.served = True
            return found.case, found.head

    def served(self, case_id: str, version: int | None) -> _Cached | None:
        """The cached case a change at ``version`` was decided on, if it came from here."""
        with self._lock:
            found = self._items.get(case_id)
        if found is None or not found.served or found.head is None or found.case.version != version:
            return None
        return found

    def remember(self, case: Case, head: AuditEntry | None) -> None:
        self.keep(_Cached(case, head))

    def keep(self, cached: _Cached) -> None:
        case_id = cached.case.id
        with self._lock:
            self._stale.discard(case_id)
            self._items[case_id] = cached
            self._items.move_to_end(case_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def committed(self, change: Change) -> None:
        """Keep what ``change`` leaves stored, read back as a load would read it."""
        with self._lock:
            before = self._items.get(change.case.id)
        deadlines = tiers = None
        if before is not None and before.case.version == change.expected_version:
            if before.deadlines is not None:
                deadlines = _merged(before.deadlines, map(_as_read_deadline, change.deadlines))
            if before.tiers is not None:
                tiers = _merged(before.tiers, map(_as_read_tier, change.escalations))
        case, head = change.case, change.entry
        if not _in_utc(case.opened_at, case.updated_at, head.recorded_at):
            # Read back as a load would read them: times in UTC.
            case = mapping.case_from_row(_values_row(mapping.case_values(case)))
            head = mapping.entry_from_row(_values_row(mapping.audit_values(head)))
        self.keep(_Cached(case, head, deadlines, tiers))

    def clocks(self, case_id: str) -> _Cached | None:
        with self._lock:
            return self._items.get(case_id)

    def evict(self, case_id: str, *, stale: bool = False) -> None:
        with self._lock:
            self._items.pop(case_id, None)
            if stale:
                self._stale.add(case_id)
                if len(self._stale) > self._size:
                    self._stale.clear()

    def take(self, case_id: str) -> tuple[bool, _Cached | None]:
        """Drop the case; whether a commit found it stale, and what was cached."""
        with self._lock:
            found = self._items.pop(case_id, None)
            if case_id in self._stale:
                self._stale.discard(case_id)
                return True, found
            return False, found


class _ValuesRow:
    """Column values in the shape ``mapping.*_from_row`` reads (``row._mapping``)."""

    __slots__ = ("_mapping",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._mapping = values


def _values_row(values: dict[str, Any]) -> Any:
    return _ValuesRow(values)


def _in_utc(*moments: datetime) -> bool:
    """Tell whether every moment is in UTC already, as the database gives them back."""
    return all(m.tzinfo is UTC for m in moments)


def _as_read_deadline(deadline: Deadline) -> Deadline:
    return mapping.deadline_from_row(_values_row(mapping.deadline_values(deadline)))


def _as_read_tier(tier: Escalation) -> Escalation:
    return mapping.escalation_from_row(_values_row(mapping.escalation_values(tier)))


_Keyed = TypeVar("_Keyed", Deadline, Escalation)


def _merged(before: tuple[_Keyed, ...], written: Iterable[_Keyed]) -> tuple[_Keyed, ...]:
    """``before`` with ``written`` upserted by key (the last of a key wins), in key order."""
    rows = {r.key: r for r in before}
    rows.update((r.key, r) for r in written)
    return tuple(rows[k] for k in sorted(rows))


# ------------------------------------------------------------------ the store


class SqlStore:
    """A [`Store`][psirf_flow.ports.Store] on SQLite or PostgreSQL, through SQLAlchemy Core.

    Make one with [`open`][psirf_flow.store.sql.store.SqlStore.open] (from a URL or a SQLite file
    path), with the constructor (from an engine the host already configured; call
    [`check_schema`][psirf_flow.store.sql.store.SqlStore.check_schema] once), or with
    [`bind`][psirf_flow.store.sql.store.SqlStore.bind] (inside a connection the host holds). The
    store keeps no state between calls except the engine's connection pool and, when made by
    [`open`][psirf_flow.store.sql.store.SqlStore.open], a bounded cache for the engine's
    write path that every commit checks against the database (see
    [`load_with_head`][psirf_flow.store.sql.store.SqlStore.load_with_head]), so any number of
    processes may share one database.

    Args:
        engine: The engine to use. For SQLite, prefer
            [`make_engine`][psirf_flow.store.sql.engines.make_engine], which sets WAL and the
            transaction handling SAVEPOINTs need.
        connection: Used by [`bind`][psirf_flow.store.sql.store.SqlStore.bind]; leave it out.
    """

    def __init__(self, engine: sa.Engine, *, connection: sa.Connection | None = None) -> None:
        self._engine = engine
        self._connection = connection
        self._owns_engine = False
        self._read_only = False
        self._cache: _WriteCache | None = None
        self._window = threading.local()
        """``case_id``: the case this thread's engine loaded for a write and has not committed
        yet; its deadlines and tiers are then served from the cache (see `_Cached`)."""

    def __repr__(self) -> str:
        """Name the database without its password or any secret query parameter."""
        mode = ", read_only=True" if self._read_only else ""
        return f"SqlStore(url={self.url!r}{mode})"

    # ------------------------------------------------------------------ construction

    @classmethod
    def open(
        cls,
        url: str | sa.URL,
        *,
        migrate: bool = False,
        durability: Durability = "full",
        read_only: bool = False,
        busy_timeout: float | None = None,
    ) -> SqlStore:
        """Open the database at ``url`` and check (or, with ``migrate``, bring) its schema.

        For SQLite, ``url`` may be a plain file path or a ``sqlite:///path`` URL; with
        ``migrate`` the file is created when missing (without it, a missing file is a
        missing schema and is not created). Writes go through WAL, and
        ``durability`` sets ``PRAGMA synchronous``:

        * ``"full"`` (default): a commit is on disk before it returns, and survives power
          loss. Slower (about 3-4 times on SQLite).
        * ``"normal"``: a commit survives a crash or kill of the process, but the last
          commits before a power loss or operating system crash may be lost (the database
          is never corrupted). On PostgreSQL it turns ``synchronous_commit`` off, with the
          same trade-off.

        Args:
            url: A SQLAlchemy URL (``postgresql+psycopg://...``, ``sqlite:///...``) or a
                SQLite file path.
            migrate: Create or upgrade the schema first (see
                [`upgrade`][psirf_flow.store.sql.migrate.upgrade]).
            durability: ``"full"`` or ``"normal"``, as above.
            read_only: Open the database for reading only (verification, reports): a
                missing SQLite file is an error and is not created, and every write is
                refused with [`StoreError`][psirf_flow.errors.StoreError], by the store and by
                the database (see [`make_engine`][psirf_flow.store.sql.engines.make_engine]).
            busy_timeout: Seconds to wait for another writer's lock before raising
                [`StoreBusy`][psirf_flow.errors.StoreBusy] (see
                [`make_engine`][psirf_flow.store.sql.engines.make_engine]).

        Raises:
            InvalidInput: (a ``ValueError``) If ``read_only`` and ``migrate`` are both given,
                either is not a bool, or ``url``, ``durability`` or ``busy_timeout`` is not
                valid (see [`make_engine`][psirf_flow.store.sql.engines.make_engine]).
            SchemaVersionError: If the schema is missing, older or newer than this release
                (without ``migrate``), or newer (with it). A SQLite file that does not exist
                is missing a schema, and is not created.
            StoreUnavailable: If the database cannot be reached (or, read-only, the SQLite
                file does not exist).
            StoreError: If the URL cannot be used.
        """
        check_options(url, durability=durability, read_only=read_only, busy_timeout=busy_timeout)
        if not isinstance(migrate, bool):
            raise InvalidInput("migrate", f"must be True or False, not {shown(migrate)}")
        if read_only and migrate:
            msg = "cannot be used with read_only: a read-only store cannot migrate; run upgrade()"
            raise InvalidInput("migrate", msg)
        engine = make_engine(
            url, durability=durability, read_only=read_only, busy_timeout=busy_timeout
        )
        store = cls(engine)
        store._owns_engine = True
        store._read_only = read_only
        if not read_only:
            store._cache = _WriteCache(CACHE_SIZE)
        try:
            if migrate:
                upgrade(engine)
            else:
                if not read_only:  # read-only engines never create a file (mode=ro)
                    _refuse_missing_sqlite_file(engine.url)
                store.check_schema()
        except BaseException:
            engine.dispose()
            raise
        return store

    @classmethod
    def bind(cls, connection: sa.Connection) -> SqlStore:
        """A store that works inside ``connection`` and the transaction the caller holds.

        Each change is written in a SAVEPOINT (``connection.begin_nested()``), so a refused
        change leaves the host's transaction usable. The store never commits or rolls back
        the host's transaction: the host's own writes and the workflow's commit or roll
        back together, when the host decides. If no transaction is open, the first change
        begins one, which the caller must then commit.

        For SQLite, ``connection`` should come from an engine made by
        [`make_engine`][psirf_flow.store.sql.engines.make_engine] (the ``sqlite3`` driver's default
        transaction handling breaks SAVEPOINTs).
        """
        return cls(connection.engine, connection=connection)

    @property
    def engine(self) -> sa.Engine:
        """The engine this store uses."""
        return self._engine

    @property
    def url(self) -> str:
        """The database URL, with the password and secret query parameters hidden."""
        return _shown(self._engine.url)

    @property
    def read_only(self) -> bool:
        """True when the store was opened with ``read_only=True`` and refuses every write."""
        return self._read_only

    def check_schema(self) -> None:
        """Check that the database is at `HEAD_REVISION`.

        A database whose revision is still recorded in the shared ``alembic_version``
        table (by an earlier release) is refused too, until
        [`upgrade`][psirf_flow.store.sql.migrate.upgrade] moves it.

        Raises:
            SchemaVersionError: If the schema is missing, older or newer, or its revision is
                in the legacy table.
            StoreUnavailable: If the database cannot be reached.
        """
        _check(self._connection or self._engine)

    def dispose(self) -> None:
        """Close pooled connections (only of an engine `open` created)."""
        if self._owns_engine:
            self._engine.dispose()

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        """A connection for one statement (every read is one statement)."""
        with _translated(self._engine.url):
            if self._connection is not None:
                yield self._connection
                return
            with _connected(self._engine) as connection:
                if self._owns_engine:
                    _single_statement(connection)
                yield connection

    def _refuse_if_read_only(self) -> None:
        if self._read_only:
            msg = f"the store for {self.url} was opened read-only; nothing was written"
            raise StoreError(msg)

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        self._refuse_if_read_only()
        with _translated(self._engine.url):
            if self._connection is not None:
                with self._connection.begin_nested():
                    yield self._connection
                return
            with _connected(self._engine) as connection, connection.begin():
                yield connection

    # ------------------------------------------------------------------ reads

    def load(self, case_id: str) -> Case:
        """Return the case, or raise [`CaseNotFound`][psirf_flow.errors.CaseNotFound].

        Raises:
            CorruptRecord: If the stored row cannot be read back as a case.
        """
        with self._reading() as connection:
            row = connection.execute(_LOAD, {"case_id": case_id}).first()
        if row is None:
            raise CaseNotFound(case_id)
        return mapping.case_from_row(row)

    def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        """Return the case and its entry numbered ``case.version``, in one query.

        This is the engine's load before a write. A store made by
        [`open`][psirf_flow.store.sql.store.SqlStore.open] (not read-only) answers it from a
        bounded cache of the cases it last read or wrote (`CACHE_SIZE`, least recently
        used first out) when it holds the case, without a query; a commit of a change
        decided on such an answer writes only if the stored row still holds every value
        the answer had (see [`WriteCache`][psirf_flow.ports.WriteCache]). Every other read
        (``load``, ``history``, listings) always reads the database.

        Raises:
            CaseNotFound: If there is no such case.
            CorruptRecord: If a row cannot be read back.
        """
        cache = self._cache
        if cache is not None:
            self._window.case_id = case_id
            found = cache.serve(case_id)
            if found is not None:
                return found
        with self._reading() as connection:
            row = connection.execute(_LOAD_WITH_HEAD, {"case_id": case_id}).first()
        if row is None:
            raise CaseNotFound(case_id)
        case = mapping.case_from_row(row)
        head = None if row._mapping["e_id"] is None else mapping.entry_from_row(row, prefix="e_")
        if cache is not None:
            cache.remember(case, head)
        return case, head

    def forget_stale(self, case_id: str) -> bool:
        """Tell whether the engine's last load of the case came from a stale cache entry.

        The engine asks after a command failed with a conflict or was refused. ``True``
        when a commit found the cached row changed, or when the load was answered from
        the cache and the database now holds another case or head entry (it reads them
        again): the engine then decides the command once more on what the database holds.
        ``False`` (always, for a store without a cache) means the failure stands. Either
        way the next load reads the database or what this call just read.
        """
        cache = self._cache
        if cache is None:
            return False
        self._window.case_id = None
        stale, found = cache.take(case_id)
        if stale:
            return True
        if found is None or not found.served:
            return False
        try:
            fresh = self.load_with_head(case_id)
        except CaseNotFound:
            return True
        finally:
            self._window.case_id = None
        return fresh != (found.case, found.head)

    def end_write(self, case_id: str) -> None:
        """Close this thread's write of the case: its deadlines and tiers are read afresh.

        The engine calls it when a write ends, however it ended, so a host that reads the
        case's clocks after a failed command never gets what the cache held for it.
        """
        if getattr(self._window, "case_id", None) == case_id:
            self._window.case_id = None

    def history(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's audit entries in sequence order (empty if unknown)."""
        with self._reading() as connection:
            rows = connection.execute(_HISTORY, {"case_id": case_id}).all()
        return tuple(mapping.entry_from_row(row) for row in rows)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return what ``key`` was first used for, or ``None``."""
        with self._reading() as connection:
            row = connection.execute(_FIND_KEY, {"key": key}).first()
        return None if row is None else mapping.idempotency_from_row(row)

    def list_cases(self, query: CaseQuery) -> Page:
        """Return one page of cases matching ``query``, ordered by id (keyset paginated)."""
        statement = sa.select(CASES).order_by(CASES.c.id).limit(query.limit + 1)
        if query.workflow is not None:
            statement = statement.where(CASES.c.workflow == query.workflow)
        if query.state is not None:
            statement = statement.where(CASES.c.state == query.state)
        if query.organisation is not None:
            statement = statement.where(CASES.c.organisation == query.organisation)
        if query.organisations is not None:
            if not query.organisations:
                return Page((), None)
            statement = statement.where(CASES.c.organisation.in_(sorted(query.organisations)))
        if query.after is not None:
            statement = statement.where(CASES.c.id > query.after)
        with self._reading() as connection:
            rows = connection.execute(statement).all()
        items = [mapping.case_from_row(row) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        return Page(tuple(items), items[-1].id if more else None)

    def _in_window(self, case_id: str) -> _Cached | None:
        """The cache entry of ``case_id`` if this thread's engine is writing it."""
        if self._cache is None or getattr(self._window, "case_id", None) != case_id:
            return None
        return self._cache.clocks(case_id)

    def deadlines(self, case_id: str) -> Sequence[Deadline]:
        """Return the case's deadlines (every cycle), ordered by kind, then cycle.

        Between the engine's load of a case for a write and its commit (same thread), a
        store made by [`open`][psirf_flow.store.sql.store.SqlStore.open] answers from its
        write cache, checked by that commit; any other call reads the database.
        """
        cached = self._in_window(case_id)
        if cached is not None and cached.deadlines is not None:
            return cached.deadlines
        with self._reading() as connection:
            rows = connection.execute(_DEADLINES, {"case_id": case_id}).all()
        found = tuple(mapping.deadline_from_row(row) for row in rows)
        if cached is not None:
            cached.deadlines = found
        return found

    def escalations(self, case_id: str) -> Sequence[Escalation]:
        """Return the case's escalation tiers, ordered by kind, cycle, then tier.

        Served from the write cache exactly when
        [`deadlines`][psirf_flow.store.sql.store.SqlStore.deadlines] is.
        """
        cached = self._in_window(case_id)
        if cached is not None and cached.tiers is not None:
            return cached.tiers
        with self._reading() as connection:
            rows = connection.execute(_ESCALATIONS, {"case_id": case_id}).all()
        found = tuple(mapping.escalation_from_row(row) for row in rows)
        if cached is not None:
            cached.tiers = found
        return found

    def claim_due(
        self, now: datetime, *, limit: int, claimant: str, lease: timedelta
    ) -> Sequence[Escalation]:
        """Claim up to ``limit`` pending tiers due by ``now``, earliest first.

        One statement, its own write transaction: it selects the pending tiers whose
        ``fire_at`` is at or before ``now`` and whose claim (if any) has run out, earliest
        first, and marks them ``claimed_by`` the claimant until ``now + lease``. On
        PostgreSQL the selection is ``FOR UPDATE SKIP LOCKED``, so concurrent claimers in
        any number of processes get disjoint rows without waiting for each other; on
        SQLite the write lock serialises them. Claiming does not fire: committing a tier
        with a new status (``fired``, ``cancelled``...) clears its claim.

        Args:
            now: The instant to claim at (aware).
            limit: At most this many tiers (1 to 10,000).
            claimant: Who claims (a sweeper's name, 1 to 128 characters); kept on the rows.
            lease: How long the claim keeps other claimants away (positive).

        Raises:
            InvalidInput: If an argument is not as above.
            StoreError: If the store is read-only or the database fails.
            StoreBusy: If another writer held a lock past the busy timeout; retry.
        """
        check_claim(now, limit, claimant, lease)
        params = {
            "now": mapping.stored_time(now),
            "limit": limit,
            "claimant": claimant,
            "until": mapping.stored_time(now + lease),
        }
        self._refuse_if_read_only()
        if self._autocommit_writes():
            # One statement, atomic on its own: no BEGIN and COMMIT round trips.
            with self._reading() as connection:
                rows = connection.execute(_CLAIM, params).all()
        else:
            with self._writing() as connection:
                rows = connection.execute(_CLAIM, params).all()
        claimed = [mapping.escalation_from_row(row) for row in rows]
        claimed.sort(key=lambda tier: (tier.fire_at, tier.key))
        return tuple(claimed)

    def find_deadlines(self, query: DeadlineQuery) -> Sequence[Deadline]:
        """Return the deadlines matching ``query``, ordered by ``due_at``, then key."""
        if any(
            chosen is not None and not chosen
            for chosen in (query.organisations, query.case_ids, query.statuses)
        ):
            return ()
        statement = (
            sa.select(DEADLINES)
            .order_by(DEADLINES.c.due_at, *(DEADLINES.c[k] for k in _DEADLINE_KEY))
            .limit(query.limit)
        )
        if query.organisations is not None:
            statement = statement.where(DEADLINES.c.organisation.in_(sorted(query.organisations)))
        if query.statuses is not None:
            statement = statement.where(DEADLINES.c.status.in_(sorted(query.statuses)))
        if query.case_ids is not None:
            statement = statement.where(DEADLINES.c.case_id.in_(sorted(query.case_ids)))
        for column, value in (
            (DEADLINES.c.workflow, query.workflow),
            (DEADLINES.c.kind, query.kind),
            (DEADLINES.c.owner, query.owner),
        ):
            if value is not None:
                statement = statement.where(column == value)
        if query.due_before is not None:
            statement = statement.where(DEADLINES.c.due_at <= mapping.stored_time(query.due_before))
        with self._reading() as connection:
            rows = connection.execute(statement).all()
        return tuple(mapping.deadline_from_row(row) for row in rows)

    def outbox(self, case_id: str) -> Sequence[OutboxMessage]:
        """Return the messages the case's commands have written, oldest first."""
        with self._reading() as connection:
            rows = connection.execute(_OUTBOX, {"case_id": case_id}).all()
        return tuple(mapping.outbox_from_row(row) for row in rows)

    def incident_links(
        self, organisation: str, incident_ids: Sequence[str]
    ) -> Sequence[IncidentLink]:
        """Return every case's link to these incidents, by incident id then case id."""
        if not incident_ids:
            return ()
        wanted = sorted(set(incident_ids))
        with self._reading() as connection:
            if len(wanted) == 1:  # the common case: the hot path reads it directly
                one = {"organisation": organisation, "incident_id": wanted[0]}
                rows = _direct(connection, _LINKS_ONE, one).fetchall()
            else:
                params = {"organisation": organisation, "incident_ids": wanted}
                rows = connection.execute(_LINKS, params).all()
        return tuple(
            IncidentLink(
                organisation=row[0], incident_id=row[1], case_id=row[2], retention_class=row[3]
            )
            for row in rows
        )

    def pending_outbox(self, limit: int, *, now: datetime | None = None) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` undelivered messages, oldest first.

        With ``now``, only the messages due by then (no ``next_attempt_at``, or one at or
        before ``now``).
        """
        with self._reading() as connection:
            if now is None:
                rows = connection.execute(_PENDING, {"limit": limit}).all()
            else:
                params = {"limit": limit, "now": mapping.stored_time(now)}
                rows = connection.execute(_DUE, params).all()
        return tuple(mapping.outbox_from_row(row) for row in rows)

    def dead_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` messages set aside as dead (``dead:<code>``), oldest first."""
        with self._reading() as connection:
            rows = connection.execute(_DEAD, {"limit": limit}).all()
        return tuple(mapping.outbox_from_row(row) for row in rows)

    def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        """Record delivery of ``message_id`` (one more attempt); ``False`` if already done.

        Raises:
            StoreError: If there is no such message.
        """
        params = {"b_message_id": message_id, "b_at": mapping.stored_time(at), "b_outcome": outcome}
        return self._update_message(_MARK_DELIVERED, message_id, params)

    def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        """Count a failed attempt at ``message_id``; it is due again at ``until``.

        Returns ``False`` (and changes nothing) if the message was delivered already.

        Raises:
            StoreError: If there is no such message.
        """
        params = {
            "b_message_id": message_id,
            "b_until": mapping.stored_time(until),
            "b_reason": reason,
        }
        return self._update_message(_DEFER, message_id, params)

    def requeue_outbox(self, message_id: str, *, at: datetime) -> bool:
        """Put a dead message back in the queue, due at ``at`` with no attempts counted.

        Returns ``False`` (and changes nothing) if the message is not dead.

        Raises:
            StoreError: If there is no such message.
        """
        params = {"b_message_id": message_id, "b_at": mapping.stored_time(at)}
        return self._update_message(_REQUEUE, message_id, params)

    def _update_message(
        self, statement: sa.Update, message_id: str, params: dict[str, Any]
    ) -> bool:
        with self._writing() as connection:
            done = connection.execute(statement, params)
            if done.rowcount == 1:
                return True
            if connection.execute(_FIND_MESSAGE, {"message_id": message_id}).first() is None:
                msg = f"there is no outbox message {message_id!r}"
                raise StoreError(msg)
            return False

    # ------------------------------------------------------------------ the write

    def commit(self, change: Change) -> None:
        """Write ``change`` in one transaction (a SAVEPOINT when bound), checking the version.

        Raises:
            ConcurrencyConflict: If the stored version is not ``change.expected_version``
                (its ``current_version`` is the one found), or the idempotency key or
                audit sequence was taken meanwhile.
            CaseAlreadyExists: If creating a case whose id is taken.
            StoreError: If the change is inconsistent, the store is read-only or the
                database fails; nothing of the change was written.
            StoreBusy: If another writer held a lock past the busy timeout; retry.
            StoreUnavailable: If the database cannot be reached.
        """
        _check_change(change)
        self._refuse_if_read_only()
        cache = self._cache
        if cache is None:
            self._write_change(change, None)
            return
        self._window.case_id = None
        cached = cache.served(change.case.id, change.expected_version)
        try:
            self._write_change(change, cached)
        except ConcurrencyConflict:
            cache.evict(change.case.id, stale=cached is not None)
            raise
        except BaseException:
            cache.evict(change.case.id)
            raise
        cache.committed(change)

    def _write_change(self, change: Change, cached: _Cached | None) -> None:
        """Write ``change``; with ``cached``, only over a row that still holds ``cached``."""
        if self._single_statement_write(change):
            # The whole change is one statement, atomic on its own: no BEGIN and COMMIT.
            with self._reading() as connection:
                _update_and_append(connection, change, cached)
            return
        with self._writing() as connection:
            _write(connection, change, cached)

    def _autocommit_writes(self) -> bool:
        """Tell whether a one-statement write may run in autocommit (PostgreSQL).

        Only for an engine this store made (so no isolation level or listener of the
        host's is bypassed) and outside a host's transaction.
        """
        return (
            self._owns_engine
            and self._connection is None
            and self._engine.dialect.name == "postgresql"
        )

    def _single_statement_write(self, change: Change) -> bool:
        """Tell whether ``change`` is written as one PostgreSQL statement in autocommit.

        Only for an engine this store made (so no isolation level or listener of the
        host's is bypassed), outside a host's transaction, for a change that updates a
        case, appends its entry and upserts at most a few deadlines and tiers (the common
        command).
        """
        return (
            self._autocommit_writes()
            and change.expected_version is not None
            and change.idempotency is None
            and len(change.deadlines) + len(change.escalations) <= _MOST_CLOCK_ROWS
            and not change.outbox
            and not change.incident_links
        )


def _check_change(change: Change) -> None:
    case, entry = change.case, change.entry
    expected = change.expected_version or 0
    if entry.case_id != case.id or entry.sequence != case.version or case.version != expected + 1:
        msg = f"audit entry {entry.sequence} does not follow entry {expected} of case {case.id!r}"
        raise StoreError(msg)
    if any(d.case_id != case.id for d in change.deadlines):
        msg = "a deadline in the change belongs to another case"
        raise StoreError(msg)
    if any(link.case_id != case.id for link in change.incident_links):
        msg = "an incident link in the change belongs to another case"
        raise StoreError(msg)
    check_tiers(change)


def _unchanged_params(cached: _Cached) -> dict[str, Any]:
    """The parameters of `_unchanged`: the cached case's and head entry's stored values."""
    values = mapping.case_values(cached.case)
    params = {f"o_{c}": values[c] for c in _CACHED_COLUMNS}
    head = cached.head
    if head is not None:
        params.update(
            h_hash=head.hash,
            h_format=head.format,
            h_to_state=head.to_state,
            h_case_digest=head.case_digest,
            h_key_id=head.key_id,
        )
    return params


def _update_and_append(connection: sa.Connection, change: Change, cached: _Cached | None) -> None:
    """Write an update-and-append change in one statement (PostgreSQL), with its clocks.

    The same checks and error translation as `_write`: no matching row (another
    version or no case, or with ``cached`` a row that no longer holds it) and a taken
    audit sequence are both a concurrency conflict.
    """
    case = change.case
    values = mapping.case_values(case)
    params: dict[str, Any] = {f"c_{k}": values[k] for k in (*_UPDATABLE, "updated_at")}
    params["b_id"] = case.id
    params["b_expected"] = change.expected_version
    params.update({f"e_{k}": v for k, v in mapping.audit_values(change.entry).items()})
    deadlines = {d.key: mapping.deadline_values(d) for d in change.deadlines}
    tiers = {e.key: mapping.escalation_values(e) for e in change.escalations}
    for prefix, rows in (("d", deadlines), ("t", tiers)):
        for i, row in enumerate(rows.values()):
            params.update({f"{prefix}{i}_{k}": v for k, v in row.items()})
    if cached is not None:
        params.update(_unchanged_params(cached))
    if deadlines or tiers:
        statement = _update_append_and_clock(len(deadlines), len(tiers), cached=cached is not None)
    else:
        statement = _UPDATE_CACHED_AND_APPEND if cached is not None else _UPDATE_AND_APPEND
    conflict = ConcurrencyConflict(case.id, change.expected_version or 0)
    try:
        appended = _direct(connection, statement, params)
    except sa.exc.IntegrityError as error:
        if _is_unique_violation(error):
            raise conflict from error
        raise
    if appended.fetchone() is None:
        raise _conflict(connection, change)


def _write(connection: sa.Connection, change: Change, cached: _Cached | None = None) -> None:
    case = change.case
    values = mapping.case_values(case)
    conflict = ConcurrencyConflict(case.id, change.expected_version or 0)
    if change.expected_version is None:
        try:
            connection.execute(_INSERT_CASE, values)
        except sa.exc.IntegrityError as error:
            if _is_unique_violation(error):
                raise CaseAlreadyExists(case.id) from error
            raise
    else:
        _update_case(connection, change, values, cached)
    try:
        _direct(connection, _INSERT_ENTRY, mapping.audit_values(change.entry))
        if change.idempotency is not None:
            connection.execute(_INSERT_KEY, mapping.idempotency_values(change.idempotency))
    except sa.exc.IntegrityError as error:
        if _is_unique_violation(error):
            raise conflict from error
        raise
    _write_clocks(connection, change)
    if change.incident_links:
        _write_links(connection, change)
    if change.outbox:
        try:
            connection.execute(_INSERT_MESSAGE, [mapping.outbox_values(m) for m in change.outbox])
        except sa.exc.IntegrityError as error:
            msg = f"an outbox message of case {case.id!r} has an id that already exists"
            raise StoreError(msg) from error


def _update_case(
    connection: sa.Connection, change: Change, values: dict[str, Any], cached: _Cached | None
) -> None:
    """The version-checked UPDATE (with ``cached``, also every column unchanged)."""
    params = {
        **{k: values[k] for k in _UPDATABLE},
        "updated_at": values["updated_at"],
        "b_id": change.case.id,
        "b_expected": change.expected_version,
    }
    if cached is None:
        updated = _direct(connection, _UPDATE_CASE, params)
    else:
        updated = _direct(connection, _UPDATE_CACHED_CASE, params | _unchanged_params(cached))
    if updated.rowcount != 1:
        raise _conflict(connection, change)


def _write_clocks(connection: sa.Connection, change: Change) -> None:
    """Upsert the change's deadlines and tiers by key (the last of a key in the change wins).

    A tier written here loses any claim on it: its new status is what counts.
    """
    if change.deadlines:
        deadlines = {d.key: mapping.deadline_values(d) for d in change.deadlines}
        _upsert(connection, DEADLINES, list(deadlines.values()))
    if change.escalations:
        tiers = {e.key: mapping.escalation_values(e) for e in change.escalations}
        _upsert(connection, ESCALATIONS, list(tiers.values()))


def _upsert_statement(table: sa.Table, dialect: str) -> sa.Insert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE`` every other column of ``table``."""
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    keys = [c.name for c in table.primary_key.columns]
    return insert.on_conflict_do_update(
        index_elements=keys,
        set_={c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys},
    )


_UPSERTS: Final = {
    (table.name, dialect): _upsert_statement(table, dialect)
    for table in (DEADLINES, ESCALATIONS)
    for dialect in ("postgresql", "sqlite")
}
"""The upserts of deadlines and tiers by their keys, per dialect (built once)."""


def _upsert(connection: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` or replace the rows with their keys (one key each)."""
    statement = _UPSERTS.get((table.name, connection.dialect.name))
    if statement is None:
        msg = f"the store keeps deadlines on SQLite and PostgreSQL, not {connection.dialect.name}"
        raise StoreError(msg)
    _direct(connection, statement, rows)


def _conflict(connection: sa.Connection, change: Change) -> ConcurrencyConflict:
    """The conflict of a version-checked update that matched no row, with the version found."""
    found = connection.execute(_CURRENT_VERSION, {"case_id": change.case.id}).scalar_one_or_none()
    return ConcurrencyConflict(change.case.id, change.expected_version or 0, current_version=found)


def _write_links(connection: sa.Connection, change: Change) -> None:
    """Replace the case's links named in ``change`` (delete, then insert, per organisation)."""
    latest = {(link.organisation, link.incident_id): link for link in change.incident_links}
    for organisation in sorted({org for org, _ in latest}):
        connection.execute(
            _DELETE_LINKS,
            {
                "case_id": change.case.id,
                "organisation": organisation,
                "incident_ids": sorted(i for o, i in latest if o == organisation),
            },
        )
    connection.execute(
        _INSERT_LINK,
        [
            {
                "organisation": link.organisation,
                "incident_id": link.incident_id,
                "case_id": link.case_id,
                "retention_class": link.retention_class,
            }
            for link in latest.values()
        ],
    )


def _refuse_missing_sqlite_file(url: sa.URL) -> None:
    """Refuse a SQLite file that does not exist before connecting, which would create it.

    Opening without ``migrate`` needs a schema, so a missing file in an existing folder is
    refused as a missing schema and nothing is written. In-memory databases are left to
    the schema check.
    """
    if url.get_backend_name() != "sqlite" or url.query.get("mode") == "memory":
        return
    path = url.database or ""
    if url.query.get("uri") and path.startswith("file:"):
        # A URI file name (``file:cases.db``, ``file:///data/cases.db``): its path part.
        path = unquote(urlsplit(path).path)
    if path in {"", ":memory:"} or os.path.exists(path):
        return
    if os.path.isdir(os.path.dirname(path) or os.curdir):
        raise SchemaVersionError(None, HEAD_REVISION, newer=False)
    # No such folder: connecting fails with StoreUnavailable naming the file, creating nothing.
