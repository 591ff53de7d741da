"""The peer a developer would otherwise pick for an audited store: the ``eventsourcing`` library.

The same PSII lifecycle is modelled as an ``eventsourcing`` ``Aggregate``: its state, the
state it was held from, its facts and its version. Its ``fire`` command decides the
transition from the PSII definition's own table (the same 11 states and 20 triggers: sources,
destination, ``hold`` remembering the state, ``resume`` returning to it, recording steps
staying put, and the first permitted role the actor holds), then records one ``Fired``
event per command carrying the trigger, the actor, the role, the states and the **same
payload**. An application runs one command per call as a host would:
``app.repository.get(id)`` (the aggregate rebuilt from its events: snapshotting off, as by
default), ``case.fire(...)``, ``app.save(case)``.

Timed beside it, in the same repetitions: ``Engine.fire`` on ``SqlStore`` (as in
``bench_persist``), with the same command schedule (command ``k`` to case ``k % cases`` as
step ``k // cases`` of its life), on each backend at each durability:

* **SQLite**: eventsourcing's ``sqlite`` module (a file; it switches the file to WAL
  itself). It has no setting for ``synchronous``, so the benchmark's persistence class
  (a subclass of its ``SQLiteFactory``, named by ``PERSISTENCE_MODULE``) runs
  ``PRAGMA synchronous = FULL`` or ``NORMAL`` on every connection its pool makes, matching
  ``durability="full"`` / ``"normal"``.
* **PostgreSQL**: eventsourcing's ``postgres`` module (psycopg 3 and psycopg_pool). The
  benchmark's subclass of its ``PostgresFactory`` adds ``options=-c synchronous_commit=on``
  (or ``off``) to the pool's connection arguments.

Each run starts from fresh storage: a new SQLite file, or fresh PostgreSQL tables (one
``psirf_flow_bench_<random>`` database, dropped at the end: psirf_flow's tables in
``public``, truncated before each run, eventsourcing's in a schema of their own, dropped and
made again), holding the opened cases written beforehand (not timed). After each run the
events (audit rows) are counted. Ratio rows: ``fire / eventsourcing`` per backend and
durability, target ``< 1x``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from _harness import Ratio, Result, Row, interleave
from _harness import timed as _timed
from _workload import OPEN_PAYLOAD, PSS, quiet_logging, step_for
from bench_persist import (
    DURABILITIES,
    _directory,
    _expect,
    _libpq,
    _pg_database,
    _pg_fire,
    _pg_target,
    _pg_unavailable,
    _sqlite_fire,
    _Workload,
    sql_store_available,
)

from psirf_flow import Actor


__all__ = ["eventsourcing_version", "peer"]

_SQLITE_SYNC = {"full": "FULL", "normal": "NORMAL"}
_PG_SYNC = {"full": "on", "normal": "off"}
_ES_SCHEMA = "eventsourcing_peer"
"""eventsourcing's tables live in this schema of the benchmark's database (psirf_flow's in
``public``), so one database serves both and each run can start from empty tables."""


def eventsourcing_version() -> str | None:
    """The installed eventsourcing version, or ``None`` when it is not installed."""
    import importlib.metadata as md

    try:
        return md.version("eventsourcing")
    except md.PackageNotFoundError:
        return None


# ------------------------------------------------------------------ runs


def _schedule(cases: int, transitions: int) -> list[tuple[int, str, Actor, Mapping[str, object]]]:
    out = []
    for k in range(transitions):
        trigger, actor, payload = step_for(k // cases)
        out.append((k % cases, trigger, actor, payload))
    return out


def _run_eventsourcing(env: dict[str, str], cases: int, transitions: int) -> tuple[float, int]:
    """Open ``cases`` (not timed), then time the schedule; return (seconds, final versions)."""
    from _es_model import PsiiApplication

    app = PsiiApplication(env=env)
    try:
        ids = app.open_cases(PSS, OPEN_PAYLOAD, cases)
        schedule = [(ids[i], t, a, p) for i, t, a, p in _schedule(cases, transitions)]

        def go() -> None:
            fire = app.fire
            for case_id, trigger, actor, payload in schedule:
                fire(case_id, trigger, actor, payload)

        elapsed = _timed(go)
        events = sum(int(app.repository.get(i).version) for i in ids)
    finally:
        app.close()
    return elapsed, events


def _es_sqlite(directory: Path, cases: int, transitions: int, durability: str) -> float:
    path = directory / f"es-{uuid.uuid4().hex[:12]}.sqlite3"
    elapsed, events = _run_eventsourcing(_es_sqlite_env(path, durability), cases, transitions)
    _expect(events == cases + transitions, "eventsourcing events missing")
    with contextlib.closing(sqlite3.connect(path)) as connection:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    _expect(mode == "wal", "eventsourcing's SQLite file is not in WAL mode")
    return elapsed


def _es_sqlite_env(path: Path, durability: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "_es_model:SyncSQLiteFactory",
        "SQLITE_DBNAME": str(path),
        "PSIRF_BENCH_DURABILITY": durability,
    }


def _es_pg_reset(url: Any) -> None:
    """Drop eventsourcing's schema with its tables, and create it empty."""
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA IF EXISTS {_ES_SCHEMA} CASCADE")
        connection.execute(f"CREATE SCHEMA {_ES_SCHEMA}")


def _es_pg_env(url: Any, durability: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "_es_model:SyncPostgresFactory",
        "POSTGRES_DBNAME": str(url.database),
        "POSTGRES_HOST": str(url.host or "127.0.0.1"),
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": str(url.username or "postgres"),
        "POSTGRES_PASSWORD": str(url.password or ""),
        "POSTGRES_SCHEMA": _ES_SCHEMA,
        "PSIRF_BENCH_DURABILITY": durability,
    }


def _es_pg(url: Any, cases: int, transitions: int, durability: str) -> float:
    _es_pg_reset(url)
    elapsed, events = _run_eventsourcing(_es_pg_env(url, durability), cases, transitions)
    _expect(events == cases + transitions, "eventsourcing events missing")
    return elapsed


def _es_sqlite_setting(directory: Path, durability: str) -> str:
    """``PRAGMA synchronous`` as eventsourcing's pooled connections see it (a check)."""
    from _es_model import PsiiApplication

    path = directory / f"es-check-{uuid.uuid4().hex[:12]}.sqlite3"
    app = PsiiApplication(env=_es_sqlite_env(path, durability))
    try:
        with app.factory.datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            value = int(cursor.fetchone()[0])
    finally:
        app.close()
    return {2: "FULL", 1: "NORMAL", 0: "OFF", 3: "EXTRA"}.get(value, str(value))


def _es_pg_setting(url: Any, durability: str) -> str:
    """``synchronous_commit`` as eventsourcing's pool connections see it (a check)."""
    from _es_model import PsiiApplication

    app = PsiiApplication(env=_es_pg_env(url, durability))
    try:
        datastore = app.factory.datastore
        with datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return str(next(iter(cursor.fetchone().values())))
    finally:
        app.close()


# ------------------------------------------------------------------ the benchmark


def peer(
    cases: int = 300,
    transitions: int = 800,
    reps: int = 5,
    data_dir: Path | None = None,
    backends: tuple[str, ...] = ("sqlite", "postgres"),
) -> Result:
    """fire on SqlStore against an eventsourcing aggregate loaded and saved per command."""
    version = eventsourcing_version()
    result = Result(
        name="peer_eventsourcing",
        title=f"psirf_flow against eventsourcing {version or '(missing)'}: {transitions:,} "
        f"commands over {cases:,} cases, one commit each, median of {reps}",
        params={"cases": cases, "transitions": transitions, "reps": reps, "eventsourcing": version},
    )
    reason = sql_store_available()
    if version is None:
        reason = reason or "eventsourcing is not installed"
    if reason is not None:
        result.skipped.append(f"peer: {reason}")
        return result
    url = _pg_target()
    plan: dict[str, tuple[str, str, Callable[[Any], float]]] = {}
    workload = _Workload(cases, transitions) if "sqlite" in backends else None
    if "sqlite" in backends:
        for d in DURABILITIES:
            sync = _SQLITE_SYNC[d]
            plan[f"sqlite_fire_{d}"] = (
                "sqlite",
                f"SQLite: Engine.fire on SqlStore ({sync})",
                lambda place, d=d: _sqlite_fire(place, workload, d),
            )
            plan[f"sqlite_es_{d}"] = (
                "sqlite",
                f"SQLite: eventsourcing get + fire + save ({sync})",
                lambda place, d=d: _es_sqlite(place, cases, transitions, d),
            )
    pg_reason = _pg_unavailable(url) if "postgres" in backends else None
    if pg_reason is not None:
        result.skipped.append(f"PostgreSQL: {pg_reason}")
    elif "postgres" in backends:
        pg_workload = workload or _Workload(cases, transitions)
        for d in DURABILITIES:
            sync = f"synchronous_commit={_PG_SYNC[d]}"
            plan[f"postgres_fire_{d}"] = (
                "postgres",
                f"PostgreSQL: Engine.fire on SqlStore ({sync})",
                lambda place, d=d: _pg_fire(place, pg_workload, d),
            )
            plan[f"postgres_es_{d}"] = (
                "postgres_es",
                f"PostgreSQL: eventsourcing get + fire + save ({sync})",
                lambda place, d=d: _es_pg(place, cases, transitions, d),
            )
    result.rows = [Row(key, label, "µs/command") for key, (_, label, _) in plan.items()]
    rows = {r.key: r for r in result.rows}
    with contextlib.ExitStack() as stack:
        stack.enter_context(quiet_logging())
        places: dict[str, Any] = {"sqlite": stack.enter_context(_directory(data_dir))}
        if "sqlite_es_full" in plan:
            result.params["eventsourcing_sqlite_synchronous"] = {
                d: _es_sqlite_setting(places["sqlite"], d) for d in DURABILITIES
            }
        if "postgres_fire_full" in plan:
            places["postgres"] = places["postgres_es"] = stack.enter_context(_pg_database(url))
            _es_pg_reset(places["postgres_es"])
            result.params["eventsourcing_synchronous_commit"] = {
                d: _es_pg_setting(places["postgres_es"], d) for d in DURABILITIES
            }

        def run_one(key: str) -> None:
            place, _, run = plan[key]
            rows[key].runs.append(run(places[place]) / transitions * 1e6)

        interleave(reps, plan, run_one, label="peer")
    for backend in ("sqlite", "postgres"):
        for d in DURABILITIES:
            sync = _SQLITE_SYNC[d] if backend == "sqlite" else f"synchronous_commit={_PG_SYNC[d]}"
            result.add_ratio(
                Ratio(
                    f"fire / eventsourcing, {backend} ({sync})",
                    f"{backend}_fire_{d}",
                    f"{backend}_es_{d}",
                    1.0,
                    "<=",
                    "< 1x",
                )
            )
    result.notes.append(
        "eventsourcing does what the table decides and stores one event per command; it "
        "has no guards, payload checks, hash chain or version check against a stale read "
        "beyond its own optimistic (originator id, version) uniqueness"
    )
    return result
