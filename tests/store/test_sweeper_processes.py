"""Four sweeper processes on PostgreSQL fire each of 500 due tiers among 10,000 cases once.

The cases are built by the real engine on an in-memory store (with a fake schedule core
handing each case one deadline and one two-recipient breach tier; 500 of them due) and
copied into PostgreSQL in a few bulk inserts, so seeding takes seconds. Then four spawned
processes, each with its own ``SqlStore`` and ``Sweeper``, sweep at the same instant until
a sweep claims nothing. ``FOR UPDATE SKIP LOCKED`` keeps their claims apart, and the
tier's idempotency key and the case's version check would refuse a second firing anyway.
"""

from __future__ import annotations

import multiprocessing
import runpy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from psirf_flow import Actor, Engine, InMemoryStore, Role, _timekeeping
from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.domain import Deadline, Escalation, EscalationStatus
from psirf_flow.schedule import ScheduleChange
from psirf_flow.testing import ManualClock


WORKER = Path(__file__).with_name("_sweeper_worker.py")
CASES = 10_000
DUE_CASES = 500
PROCESSES = 4
BATCH = 50
ORG = "RX1"
OPENED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RECIPIENTS = ("patient_safety_specialist", "executive_lead")
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)


def _has_escalation_tables() -> bool:
    from psirf_flow.store.sql import schema

    return "escalations" in schema.metadata.tables


def _case_id(n: int) -> str:
    return f"SW-{n:05d}"


def _fake_schedule(**arguments: Any) -> ScheduleChange:
    """One deadline and one breach tier per case; every twentieth case is overdue at NOW."""
    after = arguments["after"]
    if arguments["trigger"] != "open":
        return ScheduleChange()
    n = int(after.id.split("-")[1])
    due_at = NOW - timedelta(hours=n % 7 + 1) if n % 20 == 0 else NOW + timedelta(days=30)
    deadline = Deadline(
        case_id=after.id,
        kind="response_target",
        organisation=ORG,
        workflow=after.workflow,
        started_at=OPENED,
        due_at=due_at,
    )
    tier = Escalation(
        case_id=after.id,
        kind="response_target",
        organisation=ORG,
        tier=0,
        stage="breach",
        fire_at=due_at,
        notify=RECIPIENTS,
    )
    return ScheduleChange((deadline,), (tier,))


def _seed(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Build every case with the engine in memory, then copy the rows in bulk."""
    from psirf_flow.store.sql import SqlStore, mapping, schema

    monkeypatch.setattr(_timekeeping, "plan_deadlines", _fake_schedule)
    memory = InMemoryStore()
    engine = Engine(memory, clock=ManualClock(OPENED), couplings=())
    for n in range(CASES):
        engine.open("psii", actor=PSS, payload={"incident_ids": [f"INC-{n}"]}, case_id=_case_id(n))
    ids = [_case_id(n) for n in range(CASES)]
    SqlStore.open(url, migrate=True).dispose()
    database = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with database.begin() as connection:
            connection.execute(
                schema.CASES.insert(), [mapping.case_values(memory.load(i)) for i in ids]
            )
            connection.execute(
                schema.AUDIT_ENTRIES.insert(),
                [mapping.audit_values(e) for i in ids for e in memory.history(i)],
            )
            connection.execute(
                schema.DEADLINES.insert(),
                [mapping.deadline_values(d) for i in ids for d in memory.deadlines(i)],
            )
            # Looked up by name: the escalation tables arrive with the store's slice.
            tier_values: Callable[[Escalation], dict[str, Any]] = vars(mapping)["escalation_values"]
            connection.execute(
                schema.metadata.tables["escalations"].insert(),
                [tier_values(t) for i in ids for t in memory.escalations(i)],
            )
    finally:
        database.dispose()


@pytest.mark.postgres
@pytest.mark.slow
class TestSweeperProcesses:
    """Four processes, 10,000 cases, 500 due tiers: 500 entries, no more."""

    def test_each_due_tier_fires_once_across_processes(
        self, pg_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One escalation_fired entry and one notification per recipient for each due tier."""
        if not _has_escalation_tables():
            pytest.skip("the SQL store's escalation tables are not on this branch yet")
        _seed(pg_url, monkeypatch)
        context = multiprocessing.get_context("spawn")
        start = context.Barrier(PROCESSES)
        results = context.Queue()
        workers = [
            context.Process(
                target=runpy.run_path,
                args=(str(WORKER),),
                kwargs={
                    "run_name": "__sweeper_worker__",
                    "init_globals": {
                        "URL": pg_url,
                        "NOW": NOW.isoformat(),
                        "NAME": f"sweeper-{n}",
                        "BATCH": BATCH,
                        "START": start,
                        "RESULTS": results,
                    },
                },
            )
            for n in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        reports = [results.get(timeout=300) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0

        fired = sum(r[1] for r in reports)
        print(  # the figures the issue asks for; shown with -s
            f"\nsweepers: {[(r[0], r[1], r[2], r[3], r[4], r[5]) for r in reports]}"
        )
        assert fired == DUE_CASES
        assert sum(r[4] for r in reports) == 0
        due_ids = {_case_id(n) for n in range(0, CASES, 20)}
        database = sa.create_engine(pg_url, poolclass=sa.NullPool)
        try:
            with database.connect() as connection:
                self._check(connection, due_ids)
        finally:
            database.dispose()

    def _check(self, connection: sa.Connection, due_ids: set[str]) -> None:
        from psirf_flow.store.sql import schema

        entries = schema.AUDIT_ENTRIES
        per_case = connection.execute(
            sa.select(entries.c.case_id, sa.func.count())
            .where(entries.c.trigger == ESCALATION_TRIGGER)
            .group_by(entries.c.case_id)
        ).all()
        assert len(per_case) == DUE_CASES
        assert {case_id for case_id, _ in per_case} == due_ids
        assert {count for _, count in per_case} == {1}

        tiers = schema.metadata.tables["escalations"]
        statuses: dict[str, int] = dict(
            connection.execute(
                sa.select(tiers.c.status, sa.func.count()).group_by(tiers.c.status)
            ).all()
        )
        assert statuses == {
            EscalationStatus.FIRED.value: DUE_CASES,
            EscalationStatus.PENDING.value: CASES - DUE_CASES,
        }
        still_due = connection.execute(
            sa.select(sa.func.count())
            .select_from(tiers)
            .where(tiers.c.status == EscalationStatus.PENDING.value)
            .where(tiers.c.fire_at <= NOW)
        ).scalar_one()
        assert still_due == 0

        outbox = schema.OUTBOX
        notified = connection.execute(
            sa.select(outbox.c.message_id, outbox.c.case_id).where(
                outbox.c.kind == "notify.escalation"
            )
        ).all()
        assert len(notified) == DUE_CASES * len(RECIPIENTS)
        assert len({m for m, _ in notified}) == len(notified)
        assert {c for _, c in notified} == due_ids
