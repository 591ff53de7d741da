"""Verification: ``Engine.verify`` and ``verify_chain`` on one case with a long audit trail.

Two cases are built through the real engine on an in-memory store with a
:class:`~psirf_flow.testing.ManualClock` moving one minute per command: each a PSII opened,
given its lead and terms of reference, then ``record_engagement`` repeated until the trail
holds ``small`` and ``large`` entries (the case's facts stay the same size, so each entry
costs the same to check). The same cases and entries are then written in bulk to a SQLite
file (the library's schema) and, when a server is available, to a PostgreSQL database of
its own. Building is not timed.

**Timed**, per case size:

* ``Engine.verify`` on ``InMemoryStore``, on ``SqlStore`` over SQLite (a file, WAL) and on
  PostgreSQL: the public call (read the case and its trail, recompute every hash, check
  every link, state and the case row against the last entry).
* ``verify_chain`` on entries already loaded (the pure core alone).
* **anchor, SHA-256 loop**: what a minimal verifier must do, over the same canonical bytes
  encoded beforehand: for each entry, SHA-256 of its bytes compared with its stored hash,
  and its ``previous_hash`` compared with the previous entry's hash.
* **anchor, raw SELECT**: the driver alone reading the trail's rows
  (``SELECT * FROM audit_entries WHERE case_id = ? ORDER BY sequence``) on a connection
  opened beforehand, on SQLite and PostgreSQL.

Ratios: ``large / small`` for every verify row (linear means ``large / small`` times; the
target is 12x at 1,000 vs 10,000), and, for information, ``verify_chain`` against the
SHA-256 loop and each ``Engine.verify`` against the raw SELECT plus the SHA-256 loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from _harness import Ratio, Result, Row, interleave, timed
from _workload import ENGAGEMENT, PSII_PATH, quiet_logging
from bench_persist import (
    _directory,
    _libpq,
    _pg_database,
    _pg_target,
    _pg_unavailable,
    sql_store_available,
)

from psirf_flow import Engine, InMemoryStore
from psirf_flow.audit import GENESIS_HASH, AuditEntry, verify_chain
from psirf_flow.audit.entries import canonical_bytes
from psirf_flow.domain import Case, SystemReader
from psirf_flow.testing import ManualClock


__all__ = ["verify"]

READER = SystemReader("verify-benchmark")
_OPENING = PSII_PATH[:3]
"""Assign the lead, the terms of reference, a first engagement record."""
_RECORD = PSII_PATH[2]
_SELECT = "SELECT * FROM audit_entries WHERE case_id = {p} ORDER BY sequence"
"""``record_engagement``: a recording step, repeated."""


def _build(store: InMemoryStore, entries: int) -> Case:
    """A PSII case whose trail holds ``entries`` entries (at least 4)."""
    from _workload import OPEN_PAYLOAD, PSS

    clock = ManualClock()
    engine = Engine(store, clock=clock)
    case = engine.open("psii", actor=PSS, payload=OPEN_PAYLOAD).case
    for trigger, actor, payload in _OPENING:
        clock.advance(timedelta(minutes=1))
        case = engine.fire(case.id, trigger, actor=actor, payload=payload).case
    trigger, actor, payload = _RECORD
    while case.version < entries:
        clock.advance(timedelta(minutes=1))
        case = engine.fire(case.id, trigger, actor=ENGAGEMENT, payload=payload).case
    return case


def _write(store: Any, cases: list[Case], trails: list[list[AuditEntry]]) -> None:
    from psirf_flow.store.sql import mapping
    from psirf_flow.store.sql.schema import AUDIT_ENTRIES, CASES

    with store.engine.begin() as connection:
        connection.execute(CASES.insert(), [mapping.case_values(c) for c in cases])
        for trail in trails:
            connection.execute(AUDIT_ENTRIES.insert(), [mapping.audit_values(e) for e in trail])


def _sha_loop(trail: list[AuditEntry]) -> Callable[[], None]:
    """The minimal verifier over bytes encoded beforehand: SHA-256 and the links."""
    items = [(canonical_bytes(e.content()), e.hash, e.previous_hash) for e in trail]

    def go() -> None:
        previous = GENESIS_HASH
        sha256 = hashlib.sha256
        for encoded, stored, link in items:
            if link != previous or sha256(encoded).hexdigest() != stored:
                raise RuntimeError("the anchor found a broken chain")
            previous = stored

    return go


def _select(connection: Any, statement: str, case_id: str, count: int) -> Callable[[], None]:
    """The driver alone reading the trail's rows on an open connection."""

    def go() -> None:
        rows = connection.execute(statement, (case_id,)).fetchall()
        if len(rows) != count:
            raise RuntimeError("rows missing")

    return go


def _verified(engine: Engine, case_id: str, count: int) -> Callable[[], None]:
    def go() -> None:
        result = engine.verify(case_id, reader=READER)
        if not result.ok or result.entries != count:
            raise RuntimeError(f"verify said {result}")

    return go


def _chain(case: Case, trail: list[AuditEntry]) -> Callable[[], None]:
    def go() -> None:
        result = verify_chain(case.id, trail, case=case)
        if not result.ok:
            raise RuntimeError(f"verify_chain said {result}")

    return go


@contextlib.contextmanager
def _sqlite_store(directory: Path) -> Iterator[tuple[Path, Any]]:
    from psirf_flow.store.sql import SqlStore

    path = directory / f"verify-{uuid.uuid4().hex[:8]}.sqlite3"
    store = SqlStore.open(str(path), migrate=True)
    try:
        yield path, store
    finally:
        store.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def _postgres_store(available: bool) -> Iterator[tuple[Any, Any] | None]:
    if not available:
        yield None
        return
    from psirf_flow.store.sql import SqlStore

    with _pg_database(_pg_target()) as url:
        store = SqlStore.open(url, migrate=True)
        try:
            yield url, store
        finally:
            store.dispose()


_Plan = dict[str, tuple[str, Callable[[], None]]]
_Trails = dict[str, tuple[Case, list[AuditEntry]]]


def _plan_reader(  # noqa: PLR0917 - one backend's rows, named positionally at both call sites
    plan: _Plan, backend: str, name: str, engine: Engine, raw: Any, trails: _Trails
) -> None:
    """Add ``Engine.verify`` over ``engine`` and the raw SELECT on ``raw`` for each case."""
    marker = "?" if backend == "sqlite" else "%s"
    driver = "sqlite3" if backend == "sqlite" else "psycopg"
    for size, (case, trail) in trails.items():
        n = len(trail)
        plan[f"{backend}_{size}"] = (
            f"Engine.verify, {name}, {n:,} entries",
            _verified(engine, case.id, n),
        )
        plan[f"{backend}_select_{size}"] = (
            f"anchor: raw {driver} SELECT of the rows, {n:,} entries",
            _select(raw, _SELECT.format(p=marker), case.id, n),
        )


def _plan_memory(plan: _Plan, memory: InMemoryStore, trails: _Trails) -> None:
    """Add ``Engine.verify`` in memory, ``verify_chain`` and the SHA-256 loop for each case."""
    engine = Engine(memory, clock=ManualClock())
    for size, (case, trail) in trails.items():
        n = len(trail)
        plan[f"memory_{size}"] = (
            f"Engine.verify, InMemoryStore, {n:,} entries",
            _verified(engine, case.id, n),
        )
        plan[f"chain_{size}"] = (
            f"verify_chain on loaded entries, {n:,} entries",
            _chain(case, trail),
        )
        plan[f"sha_{size}"] = (
            f"anchor: SHA-256 + links over encoded bytes, {n:,} entries",
            _sha_loop(trail),
        )


_KINDS = ("memory", "sqlite", "postgres", "chain", "sha")


def _ratios(result: Result, sizes: dict[str, int]) -> None:
    small, large = sizes["small"], sizes["large"]
    linear = 12.0 * large / small / 10
    for kind in _KINDS:
        if kind == "postgres" and not result.has("postgres_small"):
            continue  # not asked for, or skipped (the skip says why)
        target = (linear, "<=", f"≤ {linear:g}x") if kind != "sha" else (None, "<=", "")
        result.add_ratio(
            Ratio(f"{kind} {large:,} / {small:,}", f"{kind}_large", f"{kind}_small", *target)
        )
    for size, n in sizes.items():
        result.add_ratio(
            Ratio(f"verify_chain / SHA-256 loop ({n:,})", f"chain_{size}", f"sha_{size}")
        )
        for backend in ("sqlite", "postgres"):
            if result.has(f"{backend}_{size}") and result.has(f"{backend}_select_{size}"):
                floor = (
                    result.row(f"{backend}_select_{size}").median + result.row(f"sha_{size}").median
                )
                result.ratios.append(
                    Ratio(
                        f"Engine.verify on {backend} / (raw SELECT + SHA-256 loop) ({n:,})",
                        f"{backend}_{size}",
                        "",
                        value=result.row(f"{backend}_{size}").median / floor,
                    )
                )
    for size, n in sizes.items():
        for kind in _KINDS:
            if result.has(f"{kind}_{size}"):
                per = result.row(f"{kind}_{size}").median / n * 1e3
                result.notes.append(f"{kind} at {n:,}: {per:.1f} µs per entry")


def verify(
    small: int = 1_000,
    large: int = 10_000,
    reps: int = 5,
    *,
    data_dir: Path | None = None,
    postgres: bool = True,
) -> Result:
    """Engine.verify and verify_chain on one case of ``small`` and of ``large`` entries."""
    sizes = {"small": small, "large": large}
    result = Result(
        name="verify",
        title=f"Verify one case's trail: {small:,} and {large:,} entries, median of {reps}",
        params={"small": small, "large": large, "reps": reps},
    )
    reason = sql_store_available()
    if reason is not None:
        result.skipped.append(f"SQLite and PostgreSQL: {reason}")
    pg_reason = reason or (_pg_unavailable(_pg_target()) if postgres else "not asked for")
    if reason is None and postgres and pg_reason is not None:
        result.skipped.append(f"PostgreSQL: {pg_reason}")
    with (
        quiet_logging(),
        _directory(data_dir) as directory,
        contextlib.ExitStack() as stack,
    ):
        memory = InMemoryStore()
        cases = [_build(memory, n) for n in sizes.values()]
        trails = {
            size: (case, list(memory.history(case.id)))
            for size, case in zip(sizes, cases, strict=True)
        }
        plan: _Plan = {}
        _plan_memory(plan, memory, trails)
        if reason is None:
            path, sqlite_store = stack.enter_context(_sqlite_store(directory))
            _write(sqlite_store, cases, [t for _, t in trails.values()])
            raw_sqlite = stack.enter_context(contextlib.closing(sqlite3.connect(path)))
            engine = Engine(sqlite_store, clock=ManualClock())
            _plan_reader(plan, "sqlite", "SQLite", engine, raw_sqlite, trails)
        pg = stack.enter_context(_postgres_store(pg_reason is None))
        if pg is not None:
            import psycopg

            url, pg_store = pg
            _write(pg_store, cases, [t for _, t in trails.values()])
            raw_pg = stack.enter_context(psycopg.connect(_libpq(url), autocommit=True))
            engine = Engine(pg_store, clock=ManualClock())
            _plan_reader(plan, "postgres", "PostgreSQL", engine, raw_pg, trails)
        result.rows = [Row(key, label, "ms") for key, (label, _) in plan.items()]
        rows = {r.key: r for r in result.rows}
        for _, go in plan.values():
            go()  # warm-up, and every check passes before anything is timed

        def run_one(key: str) -> None:
            rows[key].runs.append(timed(plan[key][1]) * 1e3)

        interleave(reps, plan, run_one, label="verify")
    _ratios(result, sizes)
    return result
