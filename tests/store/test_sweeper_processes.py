"""Four sweeper processes on PostgreSQL fire each of 500 due tiers among 10,000 cases once.

The cases are real duty-of-candour cases opened by the engine under the mental-health
example plan, with the real schedule rules (its ``candour-overdue`` ladder: a warning two
working days before the notification is due, the breach, an escalation five working days
after). The awareness dates of 500 cases put exactly one tier (the warning) due at the
sweep instant (they were opened that day); the other 9,500 were aware on the sweep's own
day, so nothing of theirs is due. They are
built on an in-memory store and copied into PostgreSQL in a few bulk inserts, so seeding
takes seconds. Then four spawned processes, each with its own ``SqlStore`` and ``Sweeper``,
sweep at the same instant until a sweep claims nothing. ``FOR UPDATE SKIP LOCKED`` keeps
their claims apart, and the tier's idempotency key and the case's version check would
refuse a second firing anyway.
"""

from __future__ import annotations

import multiprocessing
import runpy
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from psirf_flow import Actor, Engine, InMemoryStore, Role
from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.domain import EscalationStatus
from psirf_flow.policy.loading import load_plan_file
from psirf_flow.schedule import CANDOUR_NOTIFICATION
from psirf_flow.testing import ManualClock


WORKER = Path(__file__).with_name("_sweeper_worker.py")
PLAN = Path(__file__).parents[2] / "examples" / "plans" / "mental-health-community-trust.toml"
CASES = 10_000
DUE_CASES = 500
PROCESSES = 4
BATCH = 50
#: The sweep instant: Friday 20 November 2026, 12:00 GMT.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
#: Aware on Monday 9 November: due Monday 23 November (10 working days), warned at 00:00 on
#: Thursday 19 November (2 working days before), breached at 00:00 on Tuesday 24 November.
AWARE_DUE = date(2026, 11, 9)
#: Aware on the sweep's own day: the first tier is weeks away.
AWARE_NOT_DUE = date(2026, 11, 20)
#: Who the warning of the plan's candour-overdue ladder tells.
RECIPIENTS = ("patient_safety_specialist",)
#: The tiers of the plan's candour-overdue ladder: a warning, the breach, an escalation.
TIERS_PER_CASE = 3


def _case_id(n: int) -> str:
    return f"SW-{n:05d}"


def _is_due(n: int) -> bool:
    return n % 20 == 0


def _seed(url: str) -> None:
    """Open every case with the engine in memory under the plan, then copy the rows in bulk."""
    from psirf_flow.store.sql import SqlStore, mapping, schema

    plan = load_plan_file(PLAN)
    organisation = plan.plan.organisation
    pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], organisation)
    memory = InMemoryStore()
    clock = ManualClock(datetime(2026, 11, 9, 10, 0, tzinfo=UTC))
    engine = Engine(memory, clock=clock, plan=plan, couplings=())
    # The due cases are opened the day their organisation became aware (a warning is never
    # scheduled before its case exists), the others on the sweep's own morning.
    for due in (True, False):
        if not due:
            clock.set(NOW.replace(hour=9))
        aware = AWARE_DUE if due else AWARE_NOT_DUE
        for n in (n for n in range(CASES) if _is_due(n) is due):
            engine.open(
                "duty_of_candour",
                actor=pss,
                case_id=_case_id(n),
                payload={
                    "incident_ids": [f"INC-{n}"],
                    "screening_basis": "manual",
                    "aware_on": aware.isoformat(),
                },
            )
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
            connection.execute(
                schema.ESCALATIONS.insert(),
                [mapping.escalation_values(t) for i in ids for t in memory.escalations(i)],
            )
    finally:
        database.dispose()


@pytest.mark.postgres
@pytest.mark.slow
class TestSweeperProcesses:
    """Four processes, 10,000 cases, 500 due tiers: 500 entries, no more."""

    def test_each_due_tier_fires_once_across_processes(self, pg_url: str) -> None:
        """One escalation_fired entry and one notification per recipient for each due tier."""
        _seed(pg_url)
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
        due_ids = {_case_id(n) for n in range(CASES) if _is_due(n)}
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
            EscalationStatus.PENDING.value: CASES * TIERS_PER_CASE - DUE_CASES,
        }
        fired_tiers = set(
            connection.execute(
                sa.select(tiers.c.kind, tiers.c.cycle, tiers.c.tier, tiers.c.stage).where(
                    tiers.c.status == EscalationStatus.FIRED.value
                )
            ).all()
        )
        assert fired_tiers == {(CANDOUR_NOTIFICATION, 0, 0, "warning")}
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
