"""Persisted benchmarks: ``Engine.fire`` on ``SqlStore`` against raw drivers doing the same writes.

Every run starts from the same database: the library's own schema (``SqlStore.open(...,
migrate=True)``) holding ``cases`` PSII cases just opened (written in bulk, not timed). The
timed part is ``transitions`` commands, command ``k`` going to case ``k % cases`` as step
``k // cases`` of its life (:func:`_workload.step_for`), so consecutive commits touch
different rows.

* **fire**: ``Engine.fire`` on ``SqlStore``: load the case (from the store's write cache
  when warm), decide (reading the case's incident links), schedule its clocks, then write:
  one transaction on SQLite, one statement on PostgreSQL.
* **raw** (the anchor): the driver alone doing the same writes with values prepared
  beforehand: the version-checked ``UPDATE cases ... WHERE id = ? AND version = ?`` (row
  count checked), the ``INSERT`` of the audit row (every column) and every other row the
  engine writes for that command (deadline and tier upserts by key; links and outbox rows
  when a command writes them), one commit per command. On SQLite with ``sqlite3`` (WAL,
  the same ``synchronous``, ``BEGIN IMMEDIATE``); on PostgreSQL with psycopg as **one
  statement in one round trip** (``WITH u AS (UPDATE ... RETURNING id)`` and every other
  write a CTE selecting ``FROM u``, autocommit).
* **raw read-modify-write** (SQLite, for information): the raw writes preceded by a read
  of the case, in the same transaction.

Cases are opened for an incident each (``INC-<n>``), and the seed writes every row the
openings wrote (deadlines, tiers, incident links), so the timed commands write what they
would in a real database.

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
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from _harness import Ratio, Result, Row, interleave, timed
from _workload import OPEN_PAYLOAD, PSS, new_engine, quiet_logging, sequential_ids, step_for

from psirf_flow import Engine, InMemoryStore
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
        ids = [_open(engine, n) for n in range(cases)]
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


def _open(engine: Engine, n: int) -> str:
    """Open case ``n`` for its own incident (the in-memory benchmarks link every case to
    one incident; here that would make each command read every case's link row)."""
    payload = {**OPEN_PAYLOAD, "incident_ids": [f"INC-{n + 1}"]}
    return engine.open("psii", actor=PSS, payload=payload).case.id


def _link_values(link: Any) -> dict[str, Any]:
    return {
        "organisation": link.organisation,
        "incident_id": link.incident_id,
        "case_id": link.case_id,
        "retention_class": link.retention_class,
    }


def _change_rows(change: Change) -> dict[str, list[dict[str, Any]]]:
    """Every row ``change`` writes besides the case and its entry, per table, as the store
    writes them (deadlines and tiers upserted by key, the last of a key winning)."""
    from psirf_flow.store.sql import mapping

    return {
        "deadlines": list({d.key: mapping.deadline_values(d) for d in change.deadlines}.values()),
        "escalations": list(
            {e.key: mapping.escalation_values(e) for e in change.escalations}.values()
        ),
        "outbox": [mapping.outbox_values(m) for m in change.outbox],
        "incident_links": [_link_values(link) for link in change.incident_links],
        "idempotency_keys": (
            [] if change.idempotency is None else [mapping.idempotency_values(change.idempotency)]
        ),
    }


def _seed(store: Any, workload: _Workload) -> None:
    """Write the opened cases and every row their openings wrote, in one transaction."""
    from psirf_flow.store.sql import mapping
    from psirf_flow.store.sql.schema import AUDIT_ENTRIES, CASES, metadata

    with store.engine.begin() as connection:
        connection.execute(CASES.insert(), [mapping.case_values(c.case) for c in workload.openings])
        connection.execute(
            AUDIT_ENTRIES.insert(), [mapping.audit_values(c.entry) for c in workload.openings]
        )
        by_table: dict[str, list[dict[str, Any]]] = {}
        for change in workload.openings:
            for table, rows in _change_rows(change).items():
                by_table.setdefault(table, []).extend(rows)
        for table, rows in by_table.items():
            if rows:
                connection.execute(metadata.tables[table].insert(), rows)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _driver_value(value: Any, when: Callable[[datetime], Any]) -> Any:
    """A column value as the driver takes it (SQLite: times and dates as text)."""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date) and when is _sqlite_time:
        return value.isoformat()
    return value


_CASE_SET = (
    "organisation",
    "state",
    "version",
    "held_from",
    "head_hash",
    "facts",
    "retention_class",
    "updated_at",
)
_UPSERT_KEYS = {
    "deadlines": ("case_id", "kind", "cycle"),
    "escalations": ("case_id", "kind", "cycle", "tier"),
}
_TABLE_ORDER = ("idempotency_keys", "deadlines", "escalations", "incident_links", "outbox")


class _RawCommand:
    """One command's writes for the raw anchors, values prepared beforehand."""

    __slots__ = ("case", "entry", "extra")

    def __init__(self, change: Change, when: Callable[[datetime], Any]) -> None:
        from psirf_flow.store.sql import mapping

        case = mapping.case_values(change.case)
        self.case = (
            *(_driver_value(case[c], when) for c in _CASE_SET),
            change.case.id,
            change.expected_version or 0,
        )
        entry = mapping.audit_values(change.entry)
        self.entry = tuple(_driver_value(entry[c], when) for c in _AUDIT_COLUMNS)
        rows = _change_rows(change)
        # (table, columns, rows of values); links are replaced (delete, then insert).
        self.extra: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]] = []
        for table in _TABLE_ORDER:
            found = rows[table]
            if not found:
                continue
            columns = tuple(found[0])
            values = [tuple(_driver_value(r[c], when) for c in columns) for r in found]
            self.extra.append((table, columns, values))


def _raw_commands(workload: _Workload, when: Callable[[datetime], Any]) -> list[_RawCommand]:
    return [_RawCommand(c, when) for c in workload.commands]


def _insert_sql(table: str, columns: Sequence[str], values: str, select_from: str = "") -> str:
    """``INSERT`` of ``columns`` (an upsert by key for deadlines and tiers); ``values`` is
    the placeholder list, selected ``FROM select_from`` when given."""
    names = ", ".join(columns)
    body = f"SELECT {values} FROM {select_from}" if select_from else f"VALUES ({values})"
    sql = f"INSERT INTO {table} ({names}) {body}"
    keys = _UPSERT_KEYS.get(table)
    if keys is not None:
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    return sql


_UPDATE = (
    "UPDATE cases SET "
    + ", ".join(f"{c} = {{p}}" for c in _CASE_SET)
    + " WHERE id = {p} AND version = {p}"
)
_AUDIT_COLUMNS = (
    "case_id",
    "sequence",
    "workflow",
    "workflow_version",
    "trigger",
    "from_state",
    "to_state",
    "actor_id",
    "role",
    "organisation",
    "guards",
    "rules",
    "data",
    "recorded_at",
    "previous_hash",
    "hash",
    "format",
    "case_digest",
    "key_id",
)


def _write_counts(workload: _Workload) -> str:
    """What the timed commands write, per command, for the notes."""
    totals = dict.fromkeys(_TABLE_ORDER, 0)
    for change in workload.commands:
        for table, rows in _change_rows(change).items():
            totals[table] += len(rows)
    n = max(1, len(workload.commands))
    shown = ", ".join(f"{t} {v / n:.2f}" for t, v in totals.items() if v)
    return f"rows per command besides the case and its entry: {shown or 'none'}"


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


_COUNTED = ("audit_entries", "deadlines", "escalations", "incident_links", "outbox")
_LEFT: dict[str, int] = {}
"""The rows per table the last run left (every approach must leave the same)."""


def _left(counts: dict[str, int]) -> int:
    _LEFT.clear()
    _LEFT.update(counts)
    return counts["audit_entries"]


def _same_rows(left: dict[str, dict[str, int]]) -> str:
    """Check every approach left the same rows in every table; describe them."""
    found = {tuple(sorted(c.items())) for c in left.values()}
    _expect(len(found) == 1, f"the approaches left different rows: {left}")
    shown = ", ".join(f"{t} {n:,}" for t, n in sorted(next(iter(left.values())).items()))
    return f"every run of every approach left the same rows: {shown}"


def _sqlite_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return _left(
            {
                t: int(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                for t in _COUNTED
            }
        )


def _fire_all(store: Any, workload: _Workload, counts: dict[str, float] | None) -> float:
    """Fire the timed commands through a new engine; with ``counts``, untimed, counting what
    reaches the driver per command instead (statements, and transactions committed)."""
    engine = new_engine(store)
    commands = list(workload.commands_for_engine())

    def go() -> None:
        fire = engine.fire
        for case_id, trigger, actor, payload in commands:
            fire(case_id, trigger, actor=actor, payload=payload)

    if counts is None:
        return timed(go)
    import sqlalchemy as sa

    seen: dict[str, int] = {}

    def statement(*args: Any) -> None:
        word = str(args[2]).lstrip().split()[0].upper()
        seen[word] = seen.get(word, 0) + 1

    def commit(*_: Any) -> None:
        seen["(commit)"] = seen.get("(commit)", 0) + 1

    listeners = (("before_cursor_execute", statement), ("commit", commit))
    for name, listener in listeners:
        sa.event.listen(store.engine, name, listener)
    try:
        go()
    finally:
        for name, listener in listeners:
            sa.event.remove(store.engine, name, listener)
    counts.update({k: v / max(1, workload.transitions) for k, v in sorted(seen.items())})
    return 0.0


def _counts_text(counts: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in counts.items())


def _sqlite_fire(
    directory: Path, workload: _Workload, durability: str, counts: dict[str, float] | None = None
) -> float:
    path, store = _sqlite_fresh(directory, workload, durability)
    try:
        elapsed = _fire_all(store, workload, counts)
    finally:
        store.dispose()
    _expect(_sqlite_count(path) == workload.cases + workload.transitions, "audit rows missing")
    return elapsed


def _sqlite_raw(directory: Path, workload: _Workload, durability: str, *, rmw: bool) -> float:
    path, store = _sqlite_fresh(directory, workload, durability)
    store.dispose()
    commands = _raw_commands(workload, _sqlite_time)
    update = _UPDATE.format(p="?")
    insert = _insert_sql("audit_entries", _AUDIT_COLUMNS, ", ".join("?" * len(_AUDIT_COLUMNS)))
    select = "SELECT * FROM cases WHERE id = ?"
    unlink = "DELETE FROM incident_links WHERE case_id = ? AND organisation = ? AND incident_id = ?"
    extra = {
        (table, columns): _insert_sql(table, columns, ", ".join("?" * len(columns)))
        for command in commands
        for table, columns, _ in command.extra
    }
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {_SQLITE_SYNC[durability]}")
        connection.execute("PRAGMA foreign_keys = ON")

        def go() -> None:
            execute = connection.execute
            executemany = connection.executemany
            for command in commands:
                execute("BEGIN IMMEDIATE")
                if rmw:
                    execute(select, (command.case[-2],)).fetchone()
                if execute(update, command.case).rowcount != 1:
                    raise RuntimeError("version check failed")
                execute(insert, command.entry)
                for table, columns, rows in command.extra:
                    if table == "incident_links":
                        executemany(unlink, [(r[2], r[0], r[1]) for r in rows])
                    executemany(extra[table, columns], rows)
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
            f"raw sqlite3: UPDATE + INSERT + the same upserts, commit ({sync})",
            lambda p, w, d=d: _sqlite_raw(p, w, d, rmw=False),
        )
        plan[f"rmw_{d}"] = (
            f"raw sqlite3: SELECT + the same writes, commit ({sync})",
            lambda p, w, d=d: _sqlite_raw(p, w, d, rmw=True),
        )
    result.rows = [Row(key, label, "µs/command") for key, (label, _) in plan.items()]
    rows = {r.key: r for r in result.rows}
    with quiet_logging(), _directory(data_dir) as directory:
        workload = _Workload(cases, transitions)

        left: dict[str, dict[str, int]] = {}

        def run_one(key: str) -> None:
            rows[key].runs.append(plan[key][1](directory, workload) / transitions * 1e6)
            left[f"{key} #{len(rows[key].runs)}"] = dict(_LEFT)

        interleave(reps, plan, run_one, label="sqlite")
    result.notes.append(_same_rows(left))
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
    with quiet_logging(), _directory(data_dir) as directory:
        counts: dict[str, float] = {}
        _sqlite_fire(directory, workload, "normal", counts)
    result.params["fire_statements_per_command"] = counts
    result.notes.append(
        "the anchor writes what the engine writes for each command, values prepared "
        f"beforehand: the case UPDATE and its entry; {_write_counts(workload)}"
    )
    result.notes.append(
        "fire, per command, statements reaching the driver (untimed pass; (commit) counts "
        f"transactions): {_counts_text(counts)}"
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

    counts = {}
    with psycopg.connect(_libpq(url)) as connection:
        for table in _COUNTED:
            row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else -1
    return _left(counts)


def _pg_fire(
    url: Any, workload: _Workload, durability: str, counts: dict[str, float] | None = None
) -> float:
    store = _pg_reset(url, workload, durability)
    try:
        elapsed = _fire_all(store, workload, counts)
    finally:
        store.dispose()
    _expect(_pg_count(url) == workload.cases + workload.transitions, "audit rows missing")
    return elapsed


def _pg_casts() -> dict[tuple[str, str], str]:
    """``(table, column) -> PostgreSQL type``, to cast each parameter as the library does."""
    from sqlalchemy.dialects import postgresql

    from psirf_flow.store.sql.schema import metadata

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return {
        (table.name, column.name): column.type.compile(dialect=dialect)
        for table in metadata.tables.values()
        for column in table.columns
    }


def _pg_statement(command: _RawCommand, casts: dict[tuple[str, str], str]) -> str:
    """The command's writes as one statement: every write selects from the version-checked
    UPDATE's RETURNING, so nothing is written unless the case row matched."""

    def params(table: str, columns: Sequence[str]) -> str:
        return ", ".join(f"%s::{casts[table, c]}" for c in columns)

    update = "UPDATE cases SET " + ", ".join(f"{c} = %s::{casts['cases', c]}" for c in _CASE_SET)
    parts = [f"u AS ({update} WHERE id = %s AND version = %s RETURNING id)"]
    parts.append(
        f"a AS (INSERT INTO audit_entries ({', '.join(_AUDIT_COLUMNS)}) "
        f"SELECT {params('audit_entries', _AUDIT_COLUMNS)} FROM u)"
    )
    n = 0
    for table, columns, rows in command.extra:
        if table == "incident_links":
            n += 1
            parts.append(
                f"x{n} AS (DELETE FROM incident_links WHERE case_id = (SELECT id FROM u) "
                "AND (organisation, incident_id) IN (" + ", ".join("(%s, %s)" for _ in rows) + "))"
            )
        for _ in rows:
            n += 1
            body = _insert_sql(table, columns, params(table, columns), select_from="u")
            parts.append(f"x{n} AS ({body})")
    return "WITH " + ", ".join(parts) + " SELECT count(*) FROM u"


def _pg_params(command: _RawCommand) -> tuple[Any, ...]:
    values: list[Any] = [*command.case, *command.entry]
    for table, _columns, rows in command.extra:
        if table == "incident_links":
            for r in rows:
                values.extend((r[0], r[1]))
        for r in rows:
            values.extend(r)
    return tuple(values)


def _pg_raw(url: Any, workload: _Workload, durability: str) -> float:
    import psycopg

    _pg_reset(url, workload, durability).dispose()
    casts = _pg_casts()
    prepared = [
        (_pg_statement(c, casts), _pg_params(c)) for c in _raw_commands(workload, lambda t: t)
    ]
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(f"SET synchronous_commit = {'on' if durability == 'full' else 'off'}")
        cursor = connection.cursor()

        def go() -> None:
            execute = cursor.execute
            for statement, params in prepared:
                execute(statement, params)
                found = cursor.fetchone()
                if found is None or found[0] != 1:
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

        left: dict[str, dict[str, int]] = {}

        def run_one(key: str) -> None:
            rows[key].runs.append(plan[key][1](database, workload) / transitions * 1e6)
            left[f"{key} #{len(rows[key].runs)}"] = dict(_LEFT)

        interleave(reps, plan, run_one, label="postgres")
        result.notes.append(_same_rows(left))
        rtt = _pg_rtt(database)
        counts: dict[str, float] = {}
        _pg_fire(database, workload, "normal", counts)
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
    result.params["fire_statements_per_command"] = counts
    result.notes.append(
        "the anchor writes what the engine writes for each command in one statement "
        f"(one round trip, autocommit): the case UPDATE and its entry; {_write_counts(workload)}"
    )
    result.notes.append(
        f"client round trip (SELECT 1) median {rtt:.0f} µs; fire, per command, statements "
        "reaching the server (untimed pass; each is a round trip, and each (commit) adds "
        f"BEGIN and COMMIT): {_counts_text(counts)}"
    )
    return result


def _pg_connect(url: Any) -> Any:
    import psycopg

    return psycopg.connect(_libpq(url))
