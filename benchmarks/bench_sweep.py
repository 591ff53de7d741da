"""The sweep: fire the tiers that are due among many open cases that are not.

ARCHITECTURE §9 asks that a sweep at 1,000,000 open cases with 200 tiers due take at most
twice the sweep at 100,000 open cases with 200 due: claiming what is due must cost the rows
due, never a scan of the idle cases. Measured on SQLite (a file, WAL) and PostgreSQL.

**Setup (not timed, its time is printed).** For each size, a database with the library's
schema holding:

* ``due`` PSII cases opened and given a lead through the real engine (no plan: the built-in
  three-month target and six-month cap, each with one breach tier) on a
  :class:`~psirf_flow.testing.ManualClock`, so that exactly one tier of each (the target's
  breach) is due at the swept instant and firing it works as in production (the row matches
  its head entry, the chain verifies);
* ``idle`` open cases whose deadlines and tiers fall after the swept instant: one template
  case is opened and given a lead by the engine, then its rows (the case, its two audit
  entries, two deadlines and two tiers) are cloned ``idle`` times with new ids by one
  ``INSERT ... SELECT`` per table on the server (a recursive counter on SQLite,
  ``generate_series`` on PostgreSQL), each clone's instants shifted by up to 30 days so the
  ``(status, fire_at)`` index holds spread-out values. The idle cases are never touched by
  the sweep; their audit hashes are the template's (they are never verified).

The secondary indexes of those tables are dropped during the clone and built again after.
PostgreSQL is then analysed (``ANALYZE``); SQLite's write-ahead log is checkpointed.
Before the timed repetitions, every row of the due cases (case, audit entries, deadlines,
tiers, outbox, idempotency keys) is saved; after each repetition they are put back exactly
as saved (not timed), so every repetition fires the same tiers from the same state.

**Timed.**

* **sweep**: ``Sweeper(engine).sweep(now)`` (the library's public call, default batch of
  100): claims the due tiers (one ``UPDATE ... RETURNING`` per batch) and fires each through
  the engine: load the case with its head entry, its tiers and deadlines, then one
  transaction with the ``escalation_fired`` entry, the tier ``fired``, the deadline's tier
  count, the outbox message and the idempotency key. Every repetition must fire all ``due``
  tiers, or the benchmark fails.
* **raw** (the anchor): what a hand-written sweeper that audits nothing would run with the
  driver alone, on a connection it keeps open: per batch of 100, one transaction selecting
  the due pending tiers by the ``(status, fire_at)`` index (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL), then one ``UPDATE`` per tier setting it fired.

One untimed warm-up sweep per database records every statement the sweep sends; each is then
explained (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL) on the largest
database, and a plan that scans a whole table is reported.

PostgreSQL: the server named by ``$PSIRF_FLOW_BENCH_PG_URL``; each size gets a database of
its own (``psirf_flow_bench_sweep_<random>``), dropped at the end. A backend that is not
available is skipped with the reason printed.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _harness import Ratio, Result, Row, interleave, timed
from _workload import OPEN_PAYLOAD, PSS, quiet_logging
from bench_persist import _directory, _libpq, _pg_target, _pg_unavailable, sql_store_available

from psirf_flow import Engine, Sweeper
from psirf_flow.testing import ManualClock


__all__ = ["DUE_OPENED", "SWEPT_AT", "sweep"]

#: When the due cases are opened and given their lead (their target breach: early April).
DUE_OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: The swept instant: after the due cases' target breach, before their hard-cap breach.
SWEPT_AT = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
#: The idle template is opened at the swept instant: its first tier is months later.
IDLE_OPENED = SWEPT_AT
#: The most minutes a clone's instants are shifted by (30 days).
_SPREAD_MINUTES = 30 * 24 * 60
_BATCH = 100
_TEMPLATE_ID = "idle-template"
_ASSIGN = {"lead_id": "lead-1", "engagement_lead_id": "eng-1"}
#: Tables holding rows of a case, children first (deleted in this order, put back reversed).
_CASE_TABLES = (
    "outbox",
    "idempotency_keys",
    "incident_links",
    "escalations",
    "deadlines",
    "audit_entries",
)
_TIME_COLUMNS = {
    "cases": ("opened_at", "updated_at"),
    "audit_entries": ("recorded_at",),
    "deadlines": ("started_at", "due_at", "paused_at", "met_at"),
    "escalations": ("fire_at", "fired_at", "claimed_until"),
}
_CLONED = ("cases", "audit_entries", "deadlines", "escalations")


# ------------------------------------------------------------------ building


def _open_with_lead(engine: Engine, case_id: str) -> None:
    engine.open("psii", actor=PSS, payload=OPEN_PAYLOAD, case_id=case_id)
    engine.fire(case_id, "assign_lead", actor=PSS, payload=_ASSIGN)


def _due_ids(due: int) -> list[str]:
    return [f"due-{n:06d}" for n in range(1, due + 1)]


_SHIFT = {
    "sqlite": (
        "strftime('%Y-%m-%d %H:%M:%S.000000', {ref}, '+' || {minutes} || ' minutes')",
        "date({ref}, '+' || ({minutes} / 1440) || ' days')",
        "printf('idle-%08d', g.n)",
    ),
    "postgresql": (
        "{ref} + {minutes} * interval '1 minute'",
        "{ref} + ({minutes} / 1440)",
        "'idle-' || lpad(g.n::text, 8, '0')",
    ),
}
"""Per dialect: an instant shifted by ``minutes``, a date shifted by whole days, the new id."""


def _clone_value(table_name: str, column: str, dialect: str) -> str:
    """The expression giving ``column`` of the ``g.n``-th clone of the template row ``t``."""
    moment, day, new_id = _SHIFT[dialect]
    ref = f't."{column}"'
    minutes = f"(g.n % {_SPREAD_MINUTES})"
    if column == ("id" if table_name == "cases" else "case_id"):
        return new_id
    if column in _TIME_COLUMNS.get(table_name, ()):
        return moment.format(ref=ref, minutes=minutes)
    if column == "due_date":
        return day.format(ref=ref, minutes=minutes)
    return ref


def _clone_statement(table: Any, dialect: str) -> str:
    """``INSERT ... SELECT`` copying the template's rows of ``table`` for idle cases 1..n."""
    key = "id" if table.name == "cases" else "case_id"
    # audit_entries.id is left out: each clone gets a new serial number.
    columns = [c.name for c in table.c if not (table.name == "audit_entries" and c.name == "id")]
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(_clone_value(table.name, c, dialect) for c in columns)
    select = f"INSERT INTO {table.name} ({names}) SELECT {values} FROM {table.name} t"
    if dialect == "sqlite":
        return (
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :n) "
            f"{select} CROSS JOIN g WHERE t.{key} = :template"
        )
    return f"{select} CROSS JOIN generate_series(1, :n) AS g(n) WHERE t.{key} = :template"


def _build(store: Any, *, idle: int, due: int) -> dict[str, float]:
    """Write the due cases through the engine and clone the idle template ``idle - 1`` times.

    Returns the seconds each part took.
    """
    import sqlalchemy as sa

    from psirf_flow.store.sql.schema import metadata

    spent: dict[str, float] = {}
    started = time.perf_counter()
    due_engine = Engine(store, clock=ManualClock(DUE_OPENED))
    for case_id in _due_ids(due):
        _open_with_lead(due_engine, case_id)
    _open_with_lead(Engine(store, clock=ManualClock(IDLE_OPENED)), _TEMPLATE_ID)
    spent["engine"] = time.perf_counter() - started
    dialect = store.engine.dialect.name
    with store.engine.begin() as connection:
        for name in _CLONED:
            # The secondary indexes are dropped while the rows go in and built again after
            # (sorting once is faster than inserting a million keys one by one).
            started = time.perf_counter()
            table = metadata.tables[name]
            for index in table.indexes:
                index.drop(connection)
            statement = _clone_statement(table, dialect)
            connection.execute(sa.text(statement), {"n": idle - 1, "template": _TEMPLATE_ID})
            for index in table.indexes:
                index.create(connection)
            spent[name] = time.perf_counter() - started
    started = time.perf_counter()
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        if dialect == "postgresql":
            c.exec_driver_sql("ANALYZE")
        else:
            # The load went to the write-ahead log: copy it into the database now, or the
            # first commit of the first sweep would.
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    spent["analyze" if dialect == "postgresql" else "checkpoint"] = time.perf_counter() - started
    return spent


def _snapshot(store: Any, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of the cases ``ids``, table by table."""
    from psirf_flow.store.sql.schema import metadata

    saved: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as connection:
        for name in ("cases", *_CASE_TABLES):
            table = metadata.tables[name]
            column = table.c.id if name == "cases" else table.c.case_id
            rows = connection.execute(table.select().where(column.in_(ids))).all()
            saved[name] = [dict(row._mapping) for row in rows]
    return saved


def _restore(store: Any, ids: Sequence[str], saved: dict[str, list[dict[str, Any]]]) -> None:
    """Put the cases ``ids`` back exactly as ``saved`` (one transaction)."""
    from psirf_flow.store.sql.schema import metadata

    with store.engine.begin() as connection:
        for name in _CASE_TABLES:
            table = metadata.tables[name]
            connection.execute(table.delete().where(table.c.case_id.in_(ids)))
        cases = metadata.tables["cases"]
        connection.execute(cases.delete().where(cases.c.id.in_(ids)))
        for name in ("cases", *reversed(_CASE_TABLES)):
            if saved[name]:
                connection.execute(metadata.tables[name].insert(), saved[name])


# ------------------------------------------------------------------ plans


def _capture(store: Any) -> tuple[list[tuple[str, Any]], Callable[[], None]]:
    """Record every statement sent through ``store``'s engine until the returned stop."""
    import sqlalchemy as sa

    seen: list[tuple[str, Any]] = []

    def record(*event: Any) -> None:
        # SQLAlchemy's arguments: connection, cursor, statement, parameters, context, many.
        statement, params, many = event[2], event[3], event[5]
        seen.append((statement, params[0] if many and params else params))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    return seen, lambda: sa.event.remove(store.engine, "before_cursor_execute", record)


_SCAN = {
    "sqlite": re.compile(r"^SCAN (\w+)"),
    "postgresql": re.compile(r"Seq Scan on (\w+)"),
}
_BIG_TABLES = frozenset({"cases", "audit_entries", "deadlines", "escalations"})


def _explain(store: Any, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    """The plan of each distinct statement; ``scans`` names big tables read whole."""
    dialect = store.engine.dialect.name
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    plans: list[dict[str, Any]] = []
    done: set[str] = set()
    with store.engine.connect() as connection:
        for statement, params in statements:
            if statement in done or not statement.lstrip().upper().startswith(
                ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")
            ):
                continue
            done.add(statement)
            rows = connection.exec_driver_sql(prefix + statement, params).all()
            lines = [str(r[-1]) for r in rows]
            scans = sorted(
                {
                    m.group(1)
                    for line in lines
                    if (m := _SCAN[dialect].search(line.strip())) and m.group(1) in _BIG_TABLES
                }
            )
            plans.append({"statement": " ".join(statement.split()), "plan": lines, "scans": scans})
        connection.rollback()
    return plans


def _label(statement: str) -> str:
    """A short name for a statement: ``claim``, ``SELECT cases``, ``UPDATE cases``."""
    if statement.startswith("WITH due_tiers"):
        return "claim (UPDATE escalations FROM due_tiers)"
    verb = statement.split(maxsplit=1)[0]
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement)
    return f"{verb} {table.group(1) if table else '?'}"


def _summary(plan: list[str]) -> str:
    """The plan lines that name how a table is read, without costs, joined by ``/``."""
    kept = [
        re.sub(r"\s+\(cost=.*\)$", "", line.strip()).lstrip("-> ").strip()
        for line in plan
        if re.search(r"SEARCH|SCAN|Scan|Index Cond", line)
    ]
    return " / ".join(kept)


class _SweepResult(Result):
    """A result that also keeps every statement's plan (written to JSON, not printed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans: dict[str, list[dict[str, Any]]] = {}

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "plans": self.plans}


# ------------------------------------------------------------------ the raw anchor


def _raw_sqlite(connection: sqlite3.Connection, at: datetime) -> Callable[[], int]:
    """The anchor on an open ``sqlite3`` connection (autocommit mode, ``synchronous=FULL``)."""
    connection.execute("PRAGMA synchronous = FULL")
    now = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    select = (
        "SELECT case_id, kind, cycle, tier FROM escalations "
        "WHERE status = 'pending' AND fire_at <= ? ORDER BY fire_at LIMIT ?"
    )
    update = (
        "UPDATE escalations SET status = 'fired', fired_at = ? "
        "WHERE case_id = ? AND kind = ? AND cycle = ? AND tier = ?"
    )

    def go() -> int:
        fired = 0
        while True:
            connection.execute("BEGIN IMMEDIATE")
            keys = connection.execute(select, (now, _BATCH)).fetchall()
            connection.executemany(update, [(now, *k) for k in keys])
            connection.execute("COMMIT")
            fired += len(keys)
            if len(keys) < _BATCH:
                return fired

    return go


def _raw_postgres(connection: Any, at: datetime) -> Callable[[], int]:
    """The anchor on an open psycopg connection (one transaction per batch)."""
    select = (
        "SELECT case_id, kind, cycle, tier FROM escalations "
        "WHERE status = 'pending' AND fire_at <= %s ORDER BY fire_at LIMIT %s "
        "FOR UPDATE SKIP LOCKED"
    )
    update = (
        "UPDATE escalations SET status = 'fired', fired_at = %s "
        "WHERE case_id = %s AND kind = %s AND cycle = %s AND tier = %s"
    )

    def go() -> int:
        fired = 0
        while True:
            with connection.transaction():
                keys = connection.execute(select, (at, _BATCH)).fetchall()
                with connection.cursor() as cursor:
                    cursor.executemany(update, [(at, *k) for k in keys])
            fired += len(keys)
            if len(keys) < _BATCH:
                return fired

    return go


# ------------------------------------------------------------------ one database


class _Database:
    """One built database: its store, the due cases' saved rows, and how to run each side."""

    def __init__(self, store: Any, raw: Callable[[], int], *, idle: int, due: int) -> None:
        self.store = store
        self.raw = raw
        self.idle = idle
        self.due = due
        self.ids = _due_ids(due)
        self.fired: list[int] = []
        """Tiers each timed sweep fired (every one must be ``due``)."""
        started = time.perf_counter()
        self.setup_parts = _build(store, idle=idle, due=due)
        self.setup_s = time.perf_counter() - started
        self.saved = _snapshot(store, self.ids)
        self.engine = Engine(store, clock=ManualClock(SWEPT_AT))
        self.sweeper = Sweeper(self.engine, claimant="bench-sweeper", batch=_BATCH)
        # Warm-up: one sweep recording its statements, then back to the saved rows.
        seen, stop = _capture(store)
        try:
            self._check(self.sweeper.sweep(SWEPT_AT).fired, "sweep")
        finally:
            stop()
        self.statements = seen
        self.reset()

    def reset(self) -> None:
        _restore(self.store, self.ids, self.saved)

    def _check(self, fired: int, what: str) -> None:
        if fired != self.due:
            msg = f"{what} fired {fired} tiers, expected {self.due}"
            raise RuntimeError(msg)

    def run_sweep(self) -> float:
        outcome: list[int] = []
        elapsed = timed(lambda: outcome.append(self.sweeper.sweep(SWEPT_AT).fired))
        self._check(outcome[0], "sweep")
        self.fired.append(outcome[0])
        self.reset()
        return elapsed

    def run_raw(self) -> float:
        outcome: list[int] = []
        elapsed = timed(lambda: outcome.append(self.raw()))
        self._check(outcome[0], "raw sweep")
        self.reset()
        return elapsed


@contextlib.contextmanager
def _sqlite_database(directory: Path, *, idle: int, due: int) -> Iterator[_Database]:
    from psirf_flow.store.sql import SqlStore

    path = directory / f"sweep-{idle}-{uuid.uuid4().hex[:8]}.sqlite3"
    store = SqlStore.open(str(path), migrate=True)
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        yield _Database(store, _raw_sqlite(raw, SWEPT_AT), idle=idle, due=due)
    finally:
        raw.close()
        store.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def _postgres_database(server_url: str, *, idle: int, due: int) -> Iterator[_Database]:
    import psycopg
    import sqlalchemy as sa

    from psirf_flow.store.sql import SqlStore

    server = sa.make_url(server_url)
    name = f"psirf_flow_bench_sweep_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    store = None
    raw = None
    try:
        url = server.set(database=name)
        store = SqlStore.open(url, migrate=True)
        raw = psycopg.connect(_libpq(url), autocommit=True)
        yield _Database(store, _raw_postgres(raw, SWEPT_AT), idle=idle, due=due)
    finally:
        if raw is not None:
            raw.close()
        if store is not None:
            store.dispose()
        with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------ the benchmark

_BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def sweep(
    idle_small: int = 100_000,
    idle_large: int = 1_000_000,
    due: int = 200,
    reps: int = 5,
    *,
    data_dir: Path | None = None,
    backends: Sequence[str] = ("sqlite", "postgres"),
) -> Result:
    """One sweep firing ``due`` tiers among ``idle_small`` and ``idle_large`` idle open cases."""
    sizes = {"small": idle_small, "large": idle_large}
    result = _SweepResult(
        name="sweep",
        title=f"Sweep: {due} tiers due among {idle_small:,} and {idle_large:,} open cases, "
        f"median of {reps}",
        params={"idle_small": idle_small, "idle_large": idle_large, "due": due, "reps": reps},
    )
    reason = sql_store_available()
    available: list[str] = []
    for backend in backends:
        why = reason or (_pg_unavailable(_pg_target()) if backend == "postgres" else None)
        if why is not None:
            result.skipped.append(f"{_BACKENDS[backend]}: {why}")
        else:
            available.append(backend)
    with quiet_logging(), _directory(data_dir) as directory, contextlib.ExitStack() as stack:
        databases: dict[str, _Database] = {}
        for backend in available:
            for size, idle in sizes.items():
                print(
                    f"  sweep: building {backend} with {idle:,} idle cases",
                    file=sys.stderr,
                    flush=True,
                )
                database = stack.enter_context(
                    _sqlite_database(directory, idle=idle, due=due)
                    if backend == "sqlite"
                    else _postgres_database(_pg_target(), idle=idle, due=due)
                )
                databases[f"{backend}_{size}"] = database
                result.params[f"setup_s_{backend}_{size}"] = round(database.setup_s, 1)
        plan: dict[str, Callable[[], float]] = {}
        for key, database in databases.items():
            backend, size = key.split("_")
            name = _BACKENDS[backend]
            n = f"{database.idle:,}"
            result.rows.append(
                Row(f"sweep_{key}", f"{name}: Sweeper.sweep, {n} open cases", "ms/sweep")
            )
            result.rows.append(
                Row(f"raw_{key}", f"{name}: raw select + update, {n} open cases", "ms/sweep")
            )
            plan[f"sweep_{key}"] = database.run_sweep
            plan[f"raw_{key}"] = database.run_raw
        rows = {r.key: r for r in result.rows}

        def run_one(key: str) -> None:
            rows[key].runs.append(plan[key]() * 1e3)

        interleave(reps, plan, run_one, label="sweep")
        for key, database in databases.items():
            result.params[f"fired_{key}"] = database.fired
        for backend in available:
            largest = databases[f"{backend}_large"]
            explained = _explain(largest.store, largest.statements)
            result.plans[backend] = explained
            scanning = [p for p in explained if p["scans"]]
            result.notes.append(
                f"{_BACKENDS[backend]} plans at {largest.idle:,} open cases: "
                f"{len(explained)} distinct statements in a sweep, "
                + (
                    "none reads a whole table"
                    if not scanning
                    else "WHOLE-TABLE READS: "
                    + "; ".join(f"{_label(p['statement'])} -> {p['scans']}" for p in scanning)
                )
            )
            result.notes.extend(
                f"{_BACKENDS[backend]} plan, {_label(p['statement'])}: {_summary(p['plan'])}"
                for p in explained
                if p["plan"] and not p["statement"].startswith("INSERT")
            )
    for backend in available:
        name = _BACKENDS[backend]
        result.add_ratio(
            Ratio(
                f"sweep {idle_large:,} / {idle_small:,} ({name})",
                f"sweep_{backend}_large",
                f"sweep_{backend}_small",
                2.0,
                "<=",
                "≤ 2x",
            )
        )
        result.add_ratio(
            Ratio(
                f"raw {idle_large:,} / {idle_small:,} ({name})",
                f"raw_{backend}_large",
                f"raw_{backend}_small",
            )
        )
        for size, idle in sizes.items():
            result.add_ratio(
                Ratio(
                    f"sweep / raw at {idle:,} ({name})",
                    f"sweep_{backend}_{size}",
                    f"raw_{backend}_{size}",
                )
            )
    for key in (r.key for r in result.rows if r.key.startswith("sweep_") and r.runs):
        per_tier = result.row(key).median / due * 1e3
        result.notes.append(f"{key}: {per_tier:,.0f} µs per tier fired")
    return result
