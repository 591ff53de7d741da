"""Persisted benchmarks: ``Engine.fire`` on ``SqlStore`` against raw drivers doing the same writes.

Every run starts from the same database: the library's own schema (``SqlStore.open(...,
migrate=True)``) holding ``cases`` PSII cases just opened (written in bulk, not timed). The
timed part is ``transitions`` commands, command ``k`` going to case ``k % cases`` as step
``k // cases`` of its life (:func:`_workload.step_for`), so consecutive commits touch
different rows.

* **fire**: ``Engine.fire`` on ``SqlStore``: load the case (SELECT), decide, then one
  transaction with the version-checked UPDATE and the audit INSERT.
* **raw** (the anchor): the driver alone doing the same writes with values prepared
  beforehand: ``UPDATE cases ... WHERE id = ? AND version = ?`` (row count checked) and the
  ``INSERT`` of the audit row, one commit per command. On SQLite with ``sqlite3`` (WAL,
  the same ``synchronous``); on PostgreSQL with psycopg as **one statement in one round
  trip** (``WITH u AS (UPDATE ... RETURNING id) INSERT ... SELECT ... FROM u``, autocommit).
* **raw read-modify-write** (SQLite, for information): the raw writes preceded by the SELECT
  the engine also does, in the same transaction.

Durability: ``"full"`` is ``synchronous=FULL`` on SQLite and ``synchronous_commit=on`` on
PostgreSQL; ``"normal"`` is ``synchronous=NORMAL`` and ``synchronous_commit=off``. The
anchor always runs with the same setting as the ``fire`` it is compared with.

PostgreSQL: the server named by ``$PSIRF_FLOW_BENCH_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). The benchmark creates a database with
a unique name, works only there and drops it at the end. A backend that is not available is
skipped with the reason printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _harness import Ratio, Result, Row, interleave, timed
from _workload import OPEN_PAYLOAD, PSS, new_engine, quiet_logging, sequential_ids, step_for

from psirf_flow import Engine, InMemoryStore
from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case
from psirf_flow.ports import Change


__all__ = ["PG_URL_ENV", "postgres", "sql_store_available", "sqlite"]

PG_URL_ENV = "PSIRF_FLOW_BENCH_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DURABILITIES = ("full", "normal")
_SQLITE_SYNC = {"full": "FULL", "normal": "NORMAL"}


def sql_store_available() -> str | None:
    """``None`` when ``psirf_flow.store.sql`` can be used, else why not."""
    try:
        from psirf_flow.store.sql import SqlStore  # noqa: F401
    except ImportError as error:
        return f"psirf_flow.store.sql is not importable ({error})"
    return None


# ------------------------------------------------------------------ the workload


class _RecordingStore(InMemoryStore):
    """An in-memory store that keeps every change it commits, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []

    def commit(self, change: Change) -> None:
        super().commit(change)
        self.changes.append(change)


class _Workload:
    """The opening changes and the timed commands' changes, computed once in memory."""

    def __init__(self, cases: int, transitions: int) -> None:
        store = _RecordingStore()
        engine = new_engine(store, new_id=sequential_ids())
        ids = [_open(engine) for _ in range(cases)]
        self.ids = ids
        self.openings = list(store.changes)
        store.changes.clear()
        for k in range(transitions):
            trigger, actor, payload = step_for(k // cases)
            engine.fire(ids[k % cases], trigger, actor=actor, payload=payload)
        self.commands = list(store.changes)
        self.cases = cases
        self.transitions = transitions

    def commands_for_engine(self) -> Iterator[tuple[str, str, Any, Any]]:
        """``(case id, trigger, actor, payload)`` for every timed command."""
        for k in range(self.transitions):
            trigger, actor, payload = step_for(k // self.cases)
            yield self.ids[k % self.cases], trigger, actor, payload


def _open(engine: Engine) -> str:
    return engine.open("psii", actor=PSS, payload=OPEN_PAYLOAD).case.id


def _seed(store: Any, workload: _Workload) -> None:
    """Write the opened cases and their first audit entries in one transaction."""
    from psirf_flow.store.sql import mapping
    from psirf_flow.store.sql.schema import AUDIT_ENTRIES, CASES

    with store.engine.begin() as connection:
        connection.execute(CASES.insert(), [mapping.case_values(c.case) for c in workload.openings])
        connection.execute(
            AUDIT_ENTRIES.insert(), [mapping.audit_values(c.entry) for c in workload.openings]
        )


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _raw_case(case: Case, expected: int, when: Callable[[datetime], Any]) -> tuple[Any, ...]:
    facts = _json({k: _jsonable(v) for k, v in case.facts.items()})
    return (
        case.state,
        case.version,
        case.held_from,
        case.head_hash,
        facts,
        when(case.updated_at),
        case.id,
        expected,
    )


def _raw_entry(entry: AuditEntry, when: Callable[[datetime], Any]) -> tuple[Any, ...]:
    return (
        entry.case_id,
        entry.sequence,
        entry.workflow,
        entry.workflow_version,
        entry.trigger,
        entry.from_state,
        entry.to_state,
        entry.actor_id,
        entry.role,
        entry.organisation,
        _json([list(g) for g in entry.guards]),
        _json(list(entry.rules)),
        _json({k: _jsonable(v) for k, v in entry.data.items()}),
        when(entry.recorded_at),
        entry.previous_hash,
        entry.hash,
    )


def _raw_rows(
    workload: _Workload, when: Callable[[datetime], Any]
) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    return [
        (_raw_case(c.case, c.expected_version or 0, when), _raw_entry(c.entry, when))
        for c in workload.commands
    ]


_UPDATE = (
    "UPDATE cases SET state = {p}, version = {p}, held_from = {p}, head_hash = {p}, "
    "facts = {p}, updated_at = {p} WHERE id = {p} AND version = {p}"
)
_AUDIT_COLUMNS = (
    "case_id, sequence, workflow, workflow_version, trigger, from_state, to_state, actor_id, "
    "role, organisation, guards, rules, data, recorded_at, previous_hash, hash"
)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise RuntimeError(message)


# ------------------------------------------------------------------ SQLite


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_fresh(directory: Path, workload: _Workload, durability: str) -> tuple[Path, Any]:
    from psirf_flow.store.sql import SqlStore

    path = directory / f"bench-{uuid.uuid4().hex[:12]}.sqlite3"
    store = SqlStore.open(str(path), migrate=True, durability=durability)
    _seed(store, workload)
    return path, store


def _sqlite_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM audit_entries").fetchone()[0])


def _sqlite_fire(directory: Path, workload: _Workload, durability: str) -> float:
    path, store = _sqlite_fresh(directory, workload, durability)
    try:
        engine = new_engine(store)
        commands = list(workload.commands_for_engine())

        def go() -> None:
            fire = engine.fire
            for case_id, trigger, actor, payload in commands:
                fire(case_id, trigger, actor=actor, payload=payload)

        elapsed = timed(go)
    finally:
        store.dispose()
    _expect(_sqlite_count(path) == workload.cases + workload.transitions, "audit rows missing")
    return elapsed


def _sqlite_raw(directory: Path, workload: _Workload, durability: str, *, rmw: bool) -> float:
    path, store = _sqlite_fresh(directory, workload, durability)
    store.dispose()
    rows = _raw_rows(workload, _sqlite_time)
    update = _UPDATE.format(p="?")
    insert = f"INSERT INTO audit_entries ({_AUDIT_COLUMNS}) VALUES ({', '.join('?' * 16)})"
    select = "SELECT * FROM cases WHERE id = ?"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {_SQLITE_SYNC[durability]}")
        connection.execute("PRAGMA foreign_keys = ON")

        def go() -> None:
            execute = connection.execute
            for case_row, entry_row in rows:
                execute("BEGIN")
                if rmw:
                    execute(select, (case_row[6],)).fetchone()
                if execute(update, case_row).rowcount != 1:
                    raise RuntimeError("version check failed")
                execute(insert, entry_row)
                execute("COMMIT")

        elapsed = timed(go)
    finally:
        connection.close()
    _expect(_sqlite_count(path) == workload.cases + workload.transitions, "audit rows missing")
    return elapsed


def sqlite(
    cases: int = 500, transitions: int = 2_000, reps: int = 5, data_dir: Path | None = None
) -> Result:
    """fire on SQLite (WAL, both durabilities) against raw sqlite3 doing the same writes."""
    result = Result(
        name="persist_sqlite",
        title=f"SQLite (WAL): {transitions:,} commands over {cases:,} cases, one commit "
        f"each, median of {reps}",
        params={
            "cases": cases,
            "transitions": transitions,
            "reps": reps,
            "sqlite": sqlite3.sqlite_version,
        },
    )
    reason = sql_store_available()
    if reason is not None:
        result.skipped.append(f"SQLite: {reason}")
        return result
    plan: dict[str, tuple[str, Callable[[Path, _Workload], float]]] = {}
    for d in DURABILITIES:
        sync = _SQLITE_SYNC[d]
        plan[f"fire_{d}"] = (
            f"Engine.fire on SqlStore, durability={d!r} ({sync})",
            lambda p, w, d=d: _sqlite_fire(p, w, d),
        )
        plan[f"raw_{d}"] = (
            f"raw sqlite3: UPDATE + INSERT, commit ({sync})",
            lambda p, w, d=d: _sqlite_raw(p, w, d, rmw=False),
        )
        plan[f"rmw_{d}"] = (
            f"raw sqlite3: SELECT + UPDATE + INSERT, commit ({sync})",
            lambda p, w, d=d: _sqlite_raw(p, w, d, rmw=True),
        )
    result.rows = [Row(key, label, "µs/command") for key, (label, _) in plan.items()]
    rows = {r.key: r for r in result.rows}
    with quiet_logging(), _directory(data_dir) as directory:
        workload = _Workload(cases, transitions)

        def run_one(key: str) -> None:
            rows[key].runs.append(plan[key][1](directory, workload) / transitions * 1e6)

        interleave(reps, plan, run_one, label="sqlite")
    for d in DURABILITIES:
        result.add_ratio(
            Ratio(f"fire / raw sqlite3 ({d})", f"fire_{d}", f"raw_{d}", 3.0, "<=", "≤ 3x")
        )
        result.add_ratio(Ratio(f"fire / raw read-modify-write ({d})", f"fire_{d}", f"rmw_{d}"))
    for d in DURABILITIES:
        if result.has(f"fire_{d}"):
            result.notes.append(
                f"fire ({d}): {1e6 / result.row(f'fire_{d}').median:,.0f} commands/s"
            )
    result.notes.append(
        "the engine does not write deadlines yet, so neither does the anchor (the "
        "architecture target counts state + audit + deadline)"
    )
    return result


@contextlib.contextmanager
def _directory(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    made = Path(tempfile.mkdtemp(prefix="psirf-flow-bench-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


# ------------------------------------------------------------------ PostgreSQL


def _pg_target() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def _libpq(url: Any) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


@contextlib.contextmanager
def _pg_database(url: str) -> Iterator[Any]:
    """Create a uniquely named database on the server at ``url``; drop it afterwards."""
    import psycopg
    import sqlalchemy as sa

    server = sa.make_url(url)
    name = f"psirf_flow_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name)
    finally:
        with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_reset(url: Any, workload: _Workload, durability: str) -> Any:
    from psirf_flow.store.sql import SqlStore

    store = SqlStore.open(url, migrate=True, durability=durability)
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "TRUNCATE outbox, deadlines, idempotency_keys, audit_entries, cases "
            "RESTART IDENTITY CASCADE"
        )
    _seed(store, workload)
    with store.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return store


def _pg_count(url: Any) -> int:
    import psycopg

    with psycopg.connect(_libpq(url)) as connection:
        row = connection.execute("SELECT count(*) FROM audit_entries").fetchone()
    return int(row[0]) if row else -1


def _pg_fire(url: Any, workload: _Workload, durability: str) -> float:
    store = _pg_reset(url, workload, durability)
    try:
        engine = new_engine(store)
        commands = list(workload.commands_for_engine())

        def go() -> None:
            fire = engine.fire
            for case_id, trigger, actor, payload in commands:
                fire(case_id, trigger, actor=actor, payload=payload)

        elapsed = timed(go)
    finally:
        store.dispose()
    _expect(_pg_count(url) == workload.cases + workload.transitions, "audit rows missing")
    return elapsed


def _pg_raw(url: Any, workload: _Workload, durability: str) -> float:
    import psycopg

    _pg_reset(url, workload, durability).dispose()
    rows = [case_row + entry_row for case_row, entry_row in _raw_rows(workload, lambda t: t)]
    statement = (
        f"WITH u AS ({_UPDATE.format(p='%s')} RETURNING id) "
        f"INSERT INTO audit_entries ({_AUDIT_COLUMNS}) "
        f"SELECT {', '.join(['%s'] * 16)} FROM u"
    )
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(f"SET synchronous_commit = {'on' if durability == 'full' else 'off'}")
        cursor = connection.cursor()

        def go() -> None:
            execute = cursor.execute
            for params in rows:
                execute(statement, params)
                if cursor.rowcount != 1:
                    raise RuntimeError("version check failed")

        elapsed = timed(go)
    _expect(_pg_count(url) == workload.cases + workload.transitions, "audit rows missing")
    return elapsed


def _pg_rtt(url: Any, n: int = 500) -> float:
    """Median client round trip (``SELECT 1``) in µs."""
    import statistics
    import time

    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            connection.execute("SELECT 1").fetchone()
            samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def _pg_unavailable(url: str) -> str | None:
    try:
        import psycopg
        import sqlalchemy as sa
    except ImportError as error:
        return f"psycopg or SQLAlchemy is not installed ({error})"
    try:
        with psycopg.connect(_libpq(sa.make_url(url)), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        shown = sa.make_url(url).render_as_string(hide_password=True)
        return f"cannot reach {shown} ({type(error).__name__}: {str(error).strip()[:120]})"
    return None


def postgres(cases: int = 200, transitions: int = 600, reps: int = 5) -> Result:
    """fire on PostgreSQL against raw psycopg doing the same writes in one round trip."""
    url = _pg_target()
    result = Result(
        name="persist_postgres",
        title=f"PostgreSQL, one connection: {transitions:,} commands over {cases:,} cases, "
        f"one commit each, median of {reps}",
        params={"cases": cases, "transitions": transitions, "reps": reps},
    )
    reason = sql_store_available() or _pg_unavailable(url)
    if reason is not None:
        result.skipped.append(f"PostgreSQL: {reason}")
        return result
    plan: dict[str, tuple[str, Callable[[Any, _Workload], float]]] = {}
    for d in DURABILITIES:
        sync = "synchronous_commit=" + ("on" if d == "full" else "off")
        plan[f"fire_{d}"] = (
            f"Engine.fire on SqlStore, durability={d!r} ({sync})",
            lambda u, w, d=d: _pg_fire(u, w, d),
        )
        plan[f"raw_{d}"] = (
            f"raw psycopg: one statement, one round trip ({sync})",
            lambda u, w, d=d: _pg_raw(u, w, d),
        )
    result.rows = [Row(key, label, "µs/command") for key, (label, _) in plan.items()]
    rows = {r.key: r for r in result.rows}
    with quiet_logging(), _pg_database(url) as database:
        workload = _Workload(cases, transitions)

        def run_one(key: str) -> None:
            rows[key].runs.append(plan[key][1](database, workload) / transitions * 1e6)

        interleave(reps, plan, run_one, label="postgres")
        rtt = _pg_rtt(database)
        with contextlib.closing(_pg_connect(database)) as connection:
            server = connection.info.parameter_status("server_version")
    result.params["server_version"] = server
    result.params["round_trip_us"] = round(rtt, 1)
    for d in DURABILITIES:
        result.add_ratio(
            Ratio(
                f"raw / fire, i.e. fire's rate as a share of raw's ({d})",
                f"raw_{d}",
                f"fire_{d}",
                0.5,
                ">=",
                "≥ 0.5x",
            )
        )
    result.notes.append(
        f"client round trip (SELECT 1) median {rtt:.0f} µs: fire makes several round trips "
        "per command (SELECT; BEGIN + UPDATE + INSERT + COMMIT), the anchor one"
    )
    return result


def _pg_connect(url: Any) -> Any:
    import psycopg

    return psycopg.connect(_libpq(url))
