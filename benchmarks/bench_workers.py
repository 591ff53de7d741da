"""Several worker processes firing on one PostgreSQL database: throughput, conflicts, no loss.

Worker **processes** (``multiprocessing``, spawn) each open their own ``SqlStore`` and
``Engine`` (and a raw psycopg connection for the anchor) once, then run every repetition
they are given. A run starts all its workers on a barrier; its time is from the first
worker leaving the barrier to the last one finishing (the system-wide monotonic clock, so
the processes' readings compare). Throughput is accepted commands per second, all workers
together; every worker fires ``commands`` accepted commands, so 4 workers do 4 times the work.

Two modes, each at 1, 2 and 4 workers (up to ``max_workers``):

* **disjoint**: worker ``i`` owns ``cases`` cases of its own and fires the PSII path on them,
  command ``k`` to its case ``k % cases`` as step ``k // cases`` of that case's life
  (:func:`_workload.step_for`), as ``bench_persist`` does with one connection.
* **overlapping**: every worker fires on the same ``shared`` cases, picking one at random
  (a fixed seed per worker) for each command and firing the next step of its life with
  ``expected_version`` set to the version it last saw. On
  :class:`~psirf_flow.errors.ConcurrencyConflict` (another worker got there first) it
  reloads the case (``engine.get``) and fires the step that is now next, as a host
  would; conflicts are counted.

The anchor is the same schedule with raw psycopg, one statement per command in one round
trip (``WITH u AS (UPDATE cases ... WHERE id = %s AND version = %s RETURNING id) INSERT INTO
audit_entries ... SELECT ... FROM u``, autocommit), the values computed beforehand by an
in-memory engine for each (case, step) and put in columns by the library's own row mapping
(the case row and its audit entry; not deadlines, tiers or incident links); in overlapping
mode a write that matches no row is a conflict, and the worker reads the case's version and
writes the step that is now next. It shows how this database on this machine scales by
itself.

Each worker also reports the CPU time its process used during the run (``process_time``):
the median per accepted command is in ``params["worker_cpu_us_per_command"]``, to tell a
run bound by the workers' Python from one bound by the database (commits wait for the disk
at ``synchronous_commit=on``).

**No lost updates**, checked after every run: for every case, 1 + the commands workers say
were accepted on it == its audit rows, and its ``version`` == its audit rows; and every
trail written by the engine passes ``Engine.verify``.

Each run starts from an emptied database holding only its opened cases, each for an incident
of its own (committed through the store, every row an opening writes, then analysed; not
timed; ``fire`` runs get new case ids every time, so a store keeping written
cases in memory never meets a previous run's): its own ``psirf_flow_bench_<random>`` on
the server named by ``$PSIRF_FLOW_BENCH_PG_URL``, dropped at the end; skipped with the
reason printed when the server cannot be reached.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import queue
import random
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from _harness import Ratio, Result, Row
from _workload import OPEN_PAYLOAD, PSS, new_engine, quiet_logging, sequential_ids, step_for
from bench_persist import (
    _libpq,
    _pg_database,
    _pg_target,
    _pg_unavailable,
    _RecordingStore,
    sql_store_available,
)


__all__ = ["workers"]

MODES = ("disjoint", "overlapping")
APPROACHES = ("fire", "raw")
_LABELS = {"fire": "Engine.fire on SqlStore", "raw": "raw psycopg, one statement"}
_TIMEOUT = 600.0
"""Seconds a barrier or the parent waits for a worker before giving up (a hung run)."""
_READER_NAME = "bench-workers"


def _raw_statement(change: Any) -> str:
    """The anchor's one statement: the version-checked case update and the audit insert.

    Its columns are the ones the library's own row mapping fills (``case_values``,
    ``audit_values``), in that order, so the anchor writes the row values ``fire`` writes
    to those two tables, whatever columns the schema gains.
    """
    from psirf_flow.store.sql import mapping

    case_columns = [c for c in mapping.case_values(change.case) if c != "id"]
    audit_columns = list(mapping.audit_values(change.entry))
    return (
        "WITH u AS (UPDATE cases SET "
        + ", ".join(f"{c} = %s" for c in case_columns)
        + " WHERE id = %s AND version = %s RETURNING id) "
        + f"INSERT INTO audit_entries ({', '.join(audit_columns)}) "
        + f"SELECT {', '.join(['%s'] * len(audit_columns))} FROM u"
    )


# ------------------------------------------------------------------ the prepared workload


class _Cases:
    """The opened cases a run starts from: each worker's own, and the shared ones."""

    def __init__(self) -> None:
        self.openings: list[Any] = []
        #: Per worker, its own cases (disjoint mode).
        self.disjoint_ids: list[list[str]] = []
        self.shared_ids: list[str] = []

    @property
    def all_ids(self) -> list[str]:
        return [i for ids in self.disjoint_ids for i in ids] + self.shared_ids

    def ids_for(self, worker: int) -> tuple[list[str], list[str]]:
        """The worker's own cases and the shared ones."""
        return self.disjoint_ids[worker], self.shared_ids


def _fresh_cases(tag: str, max_workers: int, cases: int, shared: int) -> _Cases:
    """Cases with ids never used before (``tag`` names the run), opened in memory.

    Every ``fire`` run gets new ids: a store may keep cases it wrote in memory (a write
    cache), and after the tables are emptied a worker must not meet its previous run's cases.
    """
    found = _Cases()
    store = _RecordingStore()
    for w in range(max_workers):
        engine = new_engine(store, new_id=sequential_ids(f"{tag}-d{w}"))
        found.disjoint_ids.append([_open(engine) for _ in range(cases)])
    engine = new_engine(store, new_id=sequential_ids(f"{tag}-s"))
    found.shared_ids = [_open(engine) for _ in range(shared)]
    found.openings = list(store.changes)
    return found


class _Tables(_Cases):
    """The anchor's cases and rows, computed once in memory (raw writes keep no cache)."""

    def __init__(self, max_workers: int, cases: int, shared: int, commands: int) -> None:
        super().__init__()
        #: Per worker, its raw rows in firing order (disjoint mode).
        self.raw_disjoint: list[list[tuple[str, tuple[Any, ...]]]] = []
        for w in range(max_workers):
            store = _RecordingStore()
            engine = new_engine(store, new_id=sequential_ids(f"d{w}"))
            ids = [_open(engine) for _ in range(cases)]
            self.openings.extend(store.changes)
            store.changes.clear()
            for k in range(commands):
                trigger, actor, payload = step_for(k // cases)
                engine.fire(ids[k % cases], trigger, actor=actor, payload=payload)
            self.disjoint_ids.append(ids)
            self.raw_disjoint.append([_raw_params(c) for c in store.changes])
        # The shared cases, and for each the raw row of every step of its life (all the
        # commands of every worker might land on one case).
        store = _RecordingStore()
        engine = new_engine(store, new_id=sequential_ids("s"))
        self.shared_ids = [_open(engine) for _ in range(shared)]
        self.openings.extend(store.changes)
        store.changes.clear()
        self.raw_shared: dict[str, list[tuple[str, tuple[Any, ...]]]] = {
            i: [] for i in self.shared_ids
        }
        for step in range(max_workers * commands):
            trigger, actor, payload = step_for(step)
            for case_id in self.shared_ids:
                engine.fire(case_id, trigger, actor=actor, payload=payload)
                self.raw_shared[case_id].append(_raw_params(store.changes[-1]))
        self.statement = _raw_statement(store.changes[-1])


_INCIDENTS = itertools.count(1)


def _open(engine: Any) -> str:
    """Open a PSII case for an incident of its own.

    Every case linked to one incident would make each command read every case's link row
    (a case's retention class is settled across the records of its incidents).
    """
    payload = {**OPEN_PAYLOAD, "incident_ids": [f"INC-{next(_INCIDENTS)}"]}
    return str(engine.open("psii", actor=PSS, payload=payload).case.id)


def _raw_params(change: Any) -> tuple[str, tuple[Any, ...]]:
    """The case id and the anchor statement's parameters for ``change``."""
    from psirf_flow.store.sql import mapping

    case = mapping.case_values(change.case)
    return change.case.id, (
        *(v for c, v in case.items() if c != "id"),
        change.case.id,
        change.expected_version or 0,
        *mapping.audit_values(change.entry).values(),
    )


def _reset(store: Any, tables: _Cases) -> None:
    """Empty every table, write the opened cases as the store writes them, analyse.

    Each opening is committed through ``SqlStore.bind`` in one transaction, so the seed holds
    every row an opening writes (the case, its entry, deadlines, tiers, incident links).
    """
    from psirf_flow.store.sql import SqlStore
    from psirf_flow.store.sql.schema import metadata

    every_table = ", ".join(t.name for t in metadata.sorted_tables)
    with store.engine.begin() as connection:
        # Setting up is not measured: it need not wait for the disk.
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        connection.exec_driver_sql(f"TRUNCATE {every_table} RESTART IDENTITY CASCADE")
        bound = SqlStore.bind(connection)
        for change in tables.openings:
            bound.commit(change)
    with store.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


# ------------------------------------------------------------------ the worker process


def _worker_main(  # noqa: PLR0917 - multiprocessing passes them positionally
    index: int,
    url: str,
    durability: str,
    work: dict[str, Any],
    tasks: Any,
    results: Any,
    barriers: dict[int, Any],
) -> None:
    """One worker process: open the store and a raw connection, then run tasks until None."""
    import psycopg
    import sqlalchemy as sa

    from psirf_flow import SystemReader
    from psirf_flow.store.sql import SqlStore

    try:
        with quiet_logging():
            store = SqlStore.open(url, durability=durability)
            engine = new_engine(store)
            raw = psycopg.connect(_libpq(sa.make_url(url)), autocommit=True)
            raw.execute(f"SET synchronous_commit = {'on' if durability == 'full' else 'off'}")
            with store.engine.connect() as connection:  # warm the pool: one connection
                connection.exec_driver_sql("SELECT 1")
            worker = _Worker(index, engine, raw, work, SystemReader(_READER_NAME))
            results.put(("ready", index, None))
            while (task := tasks.get()) is not None:
                approach, mode, n, commands, seed, own, shared = task
                run = worker.runner(approach, mode, commands, seed, own, shared)
                barriers[n].wait(_TIMEOUT)
                start, cpu = time.monotonic(), time.process_time()
                accepted, conflicts = run()
                end, cpu = time.monotonic(), time.process_time() - cpu
                results.put(("done", index, (start, end, dict(accepted), conflicts, cpu)))
            raw.close()
            store.dispose()
    except Exception as error:  # noqa: BLE001 - reported to the parent, which stops the run
        for barrier in barriers.values():
            barrier.abort()
        results.put(("error", index, f"{type(error).__name__}: {error}"))


class _Worker:
    """What one worker process fires, for each approach and mode."""

    def __init__(self, index: int, engine: Any, raw: Any, work: dict[str, Any], reader: Any):
        self.index = index
        self.engine = engine
        self.raw = raw
        self.work = work
        self.reader = reader

    def runner(  # noqa: PLR0917 - one task's fields
        self,
        approach: str,
        mode: str,
        commands: int,
        seed: int,
        own: list[str],
        shared: list[str],
    ) -> Any:
        """A function running the task and returning (accepted per case, conflicts)."""
        rng = random.Random(seed * 1_000 + self.index)
        choices = [shared[rng.randrange(len(shared))] for _ in range(commands)]
        return {
            ("fire", "disjoint"): lambda: self._fire_disjoint(own, commands),
            ("fire", "overlapping"): lambda: self._fire_overlapping(shared, choices),
            ("raw", "disjoint"): lambda: self._raw_disjoint(commands),
            ("raw", "overlapping"): lambda: self._raw_overlapping(choices),
        }[approach, mode]

    def _fire_disjoint(self, ids: list[str], commands: int) -> tuple[Counter[str], int]:
        cases = len(ids)
        fire = self.engine.fire
        accepted: Counter[str] = Counter()
        for k in range(commands):
            trigger, actor, payload = step_for(k // cases)
            case_id = ids[k % cases]
            fire(case_id, trigger, actor=actor, payload=payload)
            accepted[case_id] += 1
        return accepted, 0

    def _fire_overlapping(
        self, shared: list[str], choices: Sequence[str]
    ) -> tuple[Counter[str], int]:
        from psirf_flow import ConcurrencyConflict

        engine = self.engine
        known = dict.fromkeys(shared, 1)
        accepted: Counter[str] = Counter()
        conflicts = 0
        for case_id in choices:
            while True:
                version = known[case_id]
                trigger, actor, payload = step_for(version - 1)
                try:
                    outcome = engine.fire(
                        case_id, trigger, actor=actor, payload=payload, expected_version=version
                    )
                except ConcurrencyConflict:
                    conflicts += 1
                    known[case_id] = engine.get(case_id, reader=self.reader).version
                    continue
                known[case_id] = outcome.case.version
                accepted[case_id] += 1
                break
        return accepted, conflicts

    def _raw_disjoint(self, commands: int) -> tuple[Counter[str], int]:
        rows: list[tuple[str, tuple[Any, ...]]] = self.work["raw_disjoint"]
        statement: str = self.work["statement"]
        cursor = self.raw.cursor()
        accepted: Counter[str] = Counter()
        for case_id, params in rows[:commands]:
            cursor.execute(statement, params)
            if cursor.rowcount != 1:
                raise RuntimeError("version check failed on a case no other worker touches")
            accepted[case_id] += 1
        return accepted, 0

    def _raw_overlapping(self, choices: Sequence[str]) -> tuple[Counter[str], int]:
        rows: dict[str, list[tuple[str, tuple[Any, ...]]]] = self.work["raw_shared"]
        statement: str = self.work["statement"]
        cursor = self.raw.cursor()
        known = dict.fromkeys(rows, 1)
        accepted: Counter[str] = Counter()
        conflicts = 0
        for case_id in choices:
            while True:
                version = known[case_id]
                cursor.execute(statement, rows[case_id][version - 1][1])
                if cursor.rowcount == 1:
                    known[case_id] = version + 1
                    accepted[case_id] += 1
                    break
                conflicts += 1
                found = cursor.execute("SELECT version FROM cases WHERE id = %s", (case_id,))
                known[case_id] = int(found.fetchone()[0])
        return accepted, conflicts


# ------------------------------------------------------------------ the parent


class _Pool:
    """``size`` worker processes, alive for the whole benchmark, and their barriers."""

    def __init__(self, size: int, url: str, durability: str, tables: _Tables) -> None:
        context = multiprocessing.get_context("spawn")
        self.results: Any = context.Queue()
        self.tasks: list[Any] = [context.Queue() for _ in range(size)]
        # One barrier per worker count: its workers and the parent.
        self.barriers = {n: context.Barrier(n + 1) for n in range(1, size + 1)}
        self.processes = []
        for i in range(size):
            work = {
                "raw_disjoint": tables.raw_disjoint[i],
                "raw_shared": tables.raw_shared,
                "statement": tables.statement,
            }
            process = context.Process(
                target=_worker_main,
                args=(i, url, durability, work, self.tasks[i], self.results, self.barriers),
                daemon=True,
            )
            process.start()
            self.processes.append(process)
        for _ in range(size):
            self._receive("ready")

    def _receive(self, expected: str) -> Any:
        try:
            kind, index, payload = self.results.get(timeout=_TIMEOUT)
        except queue.Empty:
            raise RuntimeError("a worker process did not answer") from None
        if kind == "error":
            raise RuntimeError(f"worker {index} failed: {payload}")
        if kind != expected:
            raise RuntimeError(f"worker {index} sent {kind!r}, expected {expected!r}")
        return payload

    def run(  # noqa: PLR0917 - one configuration
        self, approach: str, mode: str, n: int, commands: int, seed: int, cases: _Cases
    ) -> list[tuple[float, float, dict[str, int], int, float]]:
        """Run one configuration on workers 0..n-1 over ``cases``; return their reports."""
        for i in range(n):
            self.tasks[i].put((approach, mode, n, commands, seed, *cases.ids_for(i)))
        try:
            self.barriers[n].wait(_TIMEOUT)
        except threading.BrokenBarrierError:
            self._receive("done")  # raises with the failing worker's reason
            raise
        return [self._receive("done") for _ in range(n)]

    def close(self) -> None:
        for tasks in self.tasks:
            tasks.put(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


@contextlib.contextmanager
def _pool(size: int, url: str, durability: str, tables: _Tables) -> Iterator[_Pool]:
    pool = _Pool(size, url, durability, tables)
    try:
        yield pool
    finally:
        pool.close()


def _check(
    store: Any, engine: Any, tables: _Cases, accepted: Counter[str], approach: str
) -> dict[str, int]:
    """Lost updates, version mismatches and (for fire) trails that do not verify."""
    from psirf_flow import SystemReader

    with store.engine.connect() as connection:
        counts = dict(
            connection.exec_driver_sql(
                "SELECT case_id, count(*) FROM audit_entries GROUP BY case_id"
            ).all()
        )
        versions = dict(connection.exec_driver_sql("SELECT id, version FROM cases").all())
    lost = sum(abs(1 + accepted[i] - counts.get(i, 0)) for i in tables.all_ids)
    mismatched = sum(versions.get(i) != counts.get(i, 0) for i in tables.all_ids)
    unverified = 0
    if approach == "fire":
        reader = SystemReader(_READER_NAME)
        touched = [i for i in tables.all_ids if accepted[i]]
        unverified = sum(not engine.verify(i, reader=reader).ok for i in touched)
    return {"lost": lost, "version_mismatch": mismatched, "unverified": unverified}


def workers(
    *,
    max_workers: int = 4,
    commands: int = 150,
    cases: int = 20,
    shared: int = 4,
    reps: int = 5,
    warmup: int = 1,
    durability: str = "full",
) -> Result:
    """PostgreSQL, 1/2/4 worker processes on disjoint and on overlapping cases, and raw psycopg."""
    url = _pg_target()
    counts = [n for n in (1, 2, 4) if n <= max_workers]
    sync = "on" if durability == "full" else "off"
    result = Result(
        name="postgres_workers",
        title=f"PostgreSQL, {'/'.join(map(str, counts))} worker processes, {commands:,} "
        f"commands each, synchronous_commit={sync}, median of {reps}",
        params={
            "workers": counts,
            "commands_per_worker": commands,
            "cases_per_worker": cases,
            "shared_cases": shared,
            "reps": reps,
            "warmup": warmup,
            "durability": durability,
        },
    )
    reason = sql_store_available() or _pg_unavailable(url)
    if reason is not None:
        result.skipped.append(f"PostgreSQL: {reason}")
        return result
    from psirf_flow.store.sql import SqlStore

    configs = [(a, m, n) for m in MODES for a in APPROACHES for n in counts]
    result.rows = [
        Row(f"{a}_{m}_{n}", f"{_LABELS[a]}, {m}, {n} worker{'s' * (n > 1)}", "commands/s")
        for a, m, n in configs
    ]
    tally = _Tally(result.rows)
    with quiet_logging(), _pg_database(url) as database:
        tables = _Tables(max(counts), cases, shared, commands)
        store = SqlStore.open(database, migrate=True, durability=durability)
        engine = new_engine(store)
        try:
            _reset(store, tables)
            target = database.render_as_string(hide_password=False)
            with _pool(max(counts), target, durability, tables) as pool:
                for rep in range(-warmup, reps):
                    for a, m, n in configs:
                        run_cases: _Cases = tables
                        if a == "fire":
                            tag = f"r{rep + warmup}{m[0]}{n}"
                            run_cases = _fresh_cases(tag, max(counts), cases, shared)
                        _reset(store, run_cases)
                        reports = pool.run(a, m, n, commands, rep, run_cases)
                        if rep < 0:
                            continue
                        accepted = tally.record(f"{a}_{m}_{n}", reports)
                        tally.checked(f"{a}_{m}_{n}", _check(store, engine, run_cases, accepted, a))
                    if rep >= 0:
                        print(
                            f"  workers: repetition {rep + 1}/{reps} done",
                            file=sys.stderr,
                            flush=True,
                        )
        finally:
            store.dispose()
    result.params["conflicts_per_run"] = tally.conflicts
    result.params["worker_cpu_us_per_command"] = {
        k: round(statistics.median(v), 1) for k, v in tally.cpu.items() if v
    }
    result.params["checks"] = tally.checks
    _ratios(result, counts)
    _notes(result, tally.conflicts, tally.checks)
    return result


class _Tally:
    """Every configuration's figures: throughput per run, conflicts, CPU, the checks."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = {r.key: r for r in rows}
        self.conflicts: dict[str, list[int]] = {key: [] for key in self.rows}
        self.cpu: dict[str, list[float]] = {key: [] for key in self.rows}
        self.checks: dict[str, dict[str, int]] = {
            key: {"lost": 0, "version_mismatch": 0, "unverified": 0} for key in self.rows
        }

    def record(
        self, key: str, reports: list[tuple[float, float, dict[str, int], int, float]]
    ) -> Counter[str]:
        """Add one run's throughput, conflicts and CPU; return the accepted count per case."""
        elapsed = max(r[1] for r in reports) - min(r[0] for r in reports)
        accepted: Counter[str] = Counter()
        for report in reports:
            accepted.update(report[2])
        total = sum(accepted.values())
        self.rows[key].runs.append(total / elapsed)
        self.conflicts[key].append(sum(r[3] for r in reports))
        self.cpu[key].append(sum(r[4] for r in reports) / total * 1e6)
        return accepted

    def checked(self, key: str, found: dict[str, int]) -> None:
        for name, value in found.items():
            self.checks[key][name] += value


def _ratios(result: Result, counts: list[int]) -> None:
    if 1 not in counts:
        return
    for m in MODES:
        for a in APPROACHES:
            for n in counts:
                if n == 1:
                    continue
                target = (1.5, ">=", "≥ 1.5x") if (a, m, n) == ("fire", "disjoint", 4) else ()
                result.add_ratio(
                    Ratio(
                        f"{_LABELS[a]}, {m}: {n} workers / 1 (throughput)",
                        f"{a}_{m}_{n}",
                        f"{a}_{m}_1",
                        *target,
                    )
                )
    for m in MODES:
        for n in counts:
            result.add_ratio(
                Ratio(f"fire / raw throughput, {m}, {n} worker(s)", f"fire_{m}_{n}", f"raw_{m}_{n}")
            )


def _notes(
    result: Result, conflicts: dict[str, list[int]], checks: dict[str, dict[str, int]]
) -> None:
    for key, found in conflicts.items():
        if key.split("_")[1] == "overlapping" and found:
            result.notes.append(f"{key}: conflicts per run {sorted(found)}")
    bad = {k: v for k, v in checks.items() if any(v.values())}
    if bad:
        result.notes.append(f"LOST OR INCONSISTENT UPDATES: {bad}")
    else:
        result.notes.append(
            "0 lost updates in every run: per case, 1 + accepted commands == audit rows == "
            "version; every trail fire wrote verifies"
        )
