"""Several worker processes, a sweeper and a relay sharing one PostgreSQL database.

A trust runs psirf_flow behind several application processes. Each process has its own
``SqlStore`` (its own connection pool) on the same database, and nothing is shared between
them but the database. This script starts them with ``multiprocessing`` (spawn, as on
every platform) and shows that no update is lost:

* the coordinator (this process) makes a scratch schema, migrates it and opens the cases:
  after action reviews under the mental health and community trust's plan
  (``examples/plans/mental-health-community-trust.toml``), each with its facilitator named,
  which starts its 20-working-day clock;
* ``--workers`` worker processes record engagement, one person at a time, on cases they
  share (where they collide) and on cases of their own. A collision is a
  ``ConcurrencyConflict`` (a ``RetryableError``), retried with a short back-off as
  "Embed in your system" advises, under the command's idempotency key;
* halfway through, the shared clock jumps 45 days ahead, every review's deadline passes,
  and a sweeper process fires each due escalation tier (once, however often it sweeps)
  while the workers carry on; a relay in the same process hands the notifications on;
* at the end the coordinator reads every case back, verifies every audit trail, checks
  that every engagement a worker had accepted is in its case, and drops the schema.

The clock every process reads is the wall clock plus an offset the coordinator moves
(a ``multiprocessing.Value``): a month passes in an instant, and every process agrees on
the time. Ids are opaque; nothing names a person.

Run it with ``python examples/postgres_workers.py --url postgresql+psycopg://user@host/db
[--workers N] [--cases M]``. It needs the ``postgresql`` extra and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from psirf_flow import (
    Actor,
    CaseQuery,
    Engine,
    InMemoryNotifier,
    Outcome,
    RetryableError,
    Role,
    Sweeper,
    SystemReader,
)
from psirf_flow.policy import Plan, load_plan_file
from psirf_flow.relay import OutboxRelay
from psirf_flow.store.sql import SqlStore, upgrade


PLAN_FILE = Path(__file__).resolve().parent / "plans" / "mental-health-community-trust.toml"
TRUST = "RXM"  # the plan's organisation
SPECIALIST = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], TRUST)
AUDITOR = SystemReader("workers-example")  # reads every case at the end
JUMP = timedelta(days=45)  # past every review's 20 working days
PEOPLE_PER_ROUND = 2  # engagements each worker records on each of its cases, per round
ATTEMPTS = 8  # tries of one command before giving up
LEASE = timedelta(seconds=1)  # a sweeper's claim on a tier (short, for the example)


class SharedClock:
    """The wall clock plus an offset (seconds) that every process reads from shared memory."""

    def __init__(self, offset: Synchronized[float]) -> None:
        self._offset = offset

    def now(self) -> datetime:
        """The current time, moved on by the shared offset (aware UTC)."""
        return datetime.fromtimestamp(time.time() + self._offset.value, UTC)


def _engine(url: str, offset: Synchronized[float], plan: Plan) -> tuple[Engine, SqlStore]:
    """This process's own store and engine on the shared database."""
    store = SqlStore.open(url)
    return Engine(store, clock=SharedClock(offset), plan=plan), store


def fire_with_retry(engine: Engine, case_id: str, payload: dict[str, object], actor: Actor) -> int:
    """Record one engagement, retrying conflicts; return how many retries it took."""
    key = f"eng-{uuid.uuid4().hex}"  # one key per command: a retry that did commit replays
    for attempt in range(1, ATTEMPTS + 1):
        try:
            outcome: Outcome = engine.fire(
                case_id, "record_engagement", actor=actor, payload=payload, idempotency_key=key
            )
        except RetryableError:
            if attempt == ATTEMPTS:
                raise
            time.sleep(random.uniform(0.005, 0.03) * attempt)  # noqa: S311 - jitter, not secrets
        else:
            if outcome.case.state != "planning":
                msg = f"{case_id} left planning: {outcome.case.state}"
                raise RuntimeError(msg)
            return attempt - 1
    raise AssertionError("unreachable")


def worker(
    number: int,
    url: str,
    *,
    offset: Synchronized[float],
    cases: list[str],
    halfway: Barrier,
    results: Queue[tuple[str, Any]],
) -> None:
    """Record engagements on ``cases`` in two rounds, with the clock jump between them."""
    plan = load_plan_file(PLAN_FILE)
    engine, store = _engine(url, offset, plan)
    lead = Actor(f"eng-w{number}", [Role.ENGAGEMENT_LEAD], TRUST)
    recorded: list[tuple[str, str]] = []
    retries = 0
    try:
        for round_ in (1, 2):
            if round_ == 2:
                halfway.wait()  # the coordinator moves the clock while everyone waits
            for n in range(PEOPLE_PER_ROUND):
                for case_id in cases:
                    person = f"stf-w{number}-r{round_}-{n}"
                    payload: dict[str, object] = {
                        "person_id": person,
                        "person_kind": "staff_involved",
                        "engagement": "involved",
                    }
                    retries += fire_with_retry(engine, case_id, payload, lead)
                    recorded.append((case_id, person))
            if round_ == 1:
                halfway.wait()
    finally:
        store.dispose()
    results.put(("worker", (recorded, retries)))


def sweeper_and_relay(
    url: str, offset: Synchronized[float], stop: Event, results: Queue[tuple[str, Any]]
) -> None:
    """Sweep and relay every 50 ms until told to stop and all is quiet; report the totals.

    A tier whose case kept changing under the sweeper stays claimed until its lease runs
    out and is then offered again, so after the stop the loop goes on until nothing has
    been claimed for longer than a lease.
    """
    plan = load_plan_file(PLAN_FILE)
    engine, store = _engine(url, offset, plan)
    sweeper = Sweeper(engine, claimant="sweeper-1", lease=LEASE)
    notifier = InMemoryNotifier()
    relay = OutboxRelay(engine, notifier=notifier, response_types=plan.response_variants())
    fired = conflicts = 0
    quiet_since: float | None = None  # when the stop was seen, or the last claim after it
    try:
        while True:
            stopping = stop.is_set()  # read first: a full pass always follows the stop
            swept = sweeper.sweep()
            fired += swept.fired
            conflicts += swept.conflicts
            relay.run_until_idle()
            if stopping:
                now = time.monotonic()
                if quiet_since is None or swept.claimed:
                    quiet_since = now
                elif now - quiet_since > LEASE.total_seconds() * 1.5:
                    break
            stop.wait(0.05)
    finally:
        store.dispose()
    results.put(("sweeper", (fired, conflicts, len(notifier.sent))))


def open_cases(url: str, offset: Synchronized[float], count: int) -> list[str]:
    """Open ``count`` after action reviews and name each one's facilitator."""
    plan = load_plan_file(PLAN_FILE)
    engine, store = _engine(url, offset, plan)
    ids = [f"AAR-{n:03d}" for n in range(1, count + 1)]
    try:
        for n, case_id in enumerate(ids, start=1):
            engine.open(
                "after_action_review",
                actor=SPECIALIST,
                case_id=case_id,
                payload={"incident_ids": [f"INC-2026-{n:04d}"], "basis": "local_priority"},
            )
            engine.fire(
                case_id,
                "assign_facilitator",
                actor=SPECIALIST,
                payload={"facilitator_id": f"fac-{n:02d}"},
            )
    finally:
        store.dispose()
    return ids


def check(
    url: str, offset: Synchronized[float], recorded: list[tuple[str, str]], cases: int
) -> tuple[int, int, int]:
    """Read everything back: (trails verified, lost updates, escalation entries)."""
    plan = load_plan_file(PLAN_FILE)
    engine, store = _engine(url, offset, plan)
    verified = lost = escalations = 0
    try:
        page = engine.list_cases(CaseQuery(limit=1000), reader=AUDITOR)
        lost += abs(cases - len(page.items))  # a case that is not there at all
        for case in page.items:
            verified += engine.verify(case.id, reader=AUDITOR).ok
            trail = engine.history(case.id, reader=AUDITOR)
            fired = sum(entry.trigger == "escalation_fired" for entry in trail)
            escalations += fired
            engaged = case.facts.get("engaged_person_ids", ())
            mine = [person for case_id, person in recorded if case_id == case.id]
            # Every engagement a worker was told was accepted is in the case's facts ...
            lost += sum(not isinstance(engaged, tuple) or person not in engaged for person in mine)
            # ... and the trail holds exactly: opening, facilitator, engagements, fired tiers.
            lost += abs(len(trail) - (2 + len(mine) + fired))
    finally:
        store.dispose()
    return verified, lost, escalations


@contextmanager
def scratch_schema(url: str) -> Iterator[str]:
    """A URL whose connections use a new PostgreSQL schema, dropped (with its tables) after."""
    server = sa.make_url(url)
    schema = f"psirf_example_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        scoped = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def run(url: str, workers: int, cases: int) -> bool:
    """The whole run on the database at ``url``; True if nothing was lost."""
    spawn = get_context("spawn")
    offset: Synchronized[float] = spawn.Value("d", 0.0)
    results: Queue[tuple[str, Any]] = spawn.Queue()
    upgrade(url)
    ids = open_cases(url, offset, cases)
    shared = ids[: max(1, cases // 3)]
    own = ids[len(shared) :]
    print(f"{cases} after action reviews opened: {len(shared)} shared by every worker,")
    print(f"  {len(own)} divided among {workers} workers; each review's clock is running")

    halfway = spawn.Barrier(workers + 1)
    stop = spawn.Event()
    sweeping = spawn.Process(target=sweeper_and_relay, args=(url, offset, stop, results))
    team = [
        spawn.Process(
            target=worker,
            args=(n, url),
            kwargs={
                "offset": offset,
                "cases": shared + own[n - 1 :: workers],
                "halfway": halfway,
                "results": results,
            },
        )
        for n in range(1, workers + 1)
    ]
    for process in (sweeping, *team):
        process.start()
    halfway.wait()  # every worker has finished its first round
    with offset.get_lock():
        offset.value += JUMP.total_seconds()
    print(f"Round 1 done; the clock jumps {JUMP.days} days: every review is now overdue")
    halfway.wait()  # the second round starts, with the sweeper firing meanwhile
    collected = [results.get(timeout=120) for _ in team]
    for process in team:
        process.join(timeout=60)
    stop.set()
    kind, (fired, sweep_conflicts, notified) = results.get(timeout=120)
    sweeping.join(timeout=60)

    recorded = [item for _, (items, _) in collected for item in items]
    retries = sum(count for _, (_, count) in collected)
    verified, lost, escalations = check(url, offset, recorded, cases)
    print(f"Steps accepted from {workers} workers: {len(recorded)}")
    print(f"Conflicts retried by the workers: {retries}")
    print(
        f"Escalation tiers fired by the sweeper: {fired} "
        f"(left for a later sweep after a conflict: {sweep_conflicts})"
    )
    print(f"Notifications handed on by the relay: {notified}")
    print(f"Audit trails verified: {verified} of {cases}")
    print(f"Lost updates: {lost}")
    return (
        kind == "sweeper"
        and verified == cases
        and lost == 0
        and fired == cases == escalations
        and all(p.exitcode == 0 for p in (sweeping, *team))
    )


def main() -> int:
    """Parse arguments, run in a scratch schema, and exit 0 only if nothing was lost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL URL (postgresql+psycopg://...)")
    parser.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    parser.add_argument("--cases", type=int, default=6, help="cases to open (default 6)")
    arguments = parser.parse_args()
    if arguments.workers < 1 or arguments.cases < 1:
        parser.error("--workers and --cases must be at least 1")
    with scratch_schema(arguments.url) as url:
        ok = run(url, arguments.workers, arguments.cases)
    print("OK: every step is in its case's verified trail" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
