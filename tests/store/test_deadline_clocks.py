"""Deadlines and escalation tiers in SQL: migration 0006, the claim's index, racing claimers."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from psirf_flow.cli import main
from psirf_flow.decide import decide_open
from psirf_flow.domain import Actor, Command, Deadline, Escalation, Role
from psirf_flow.errors import StoreBusy, StoreError
from psirf_flow.ports import Change, DeadlineQuery
from psirf_flow.store.sql import HEAD_REVISION, SqlStore, current_revision, make_engine
from psirf_flow.store.sql.migrate import _alembic_config
from psirf_flow.store.sql.schema import ESCALATIONS
from psirf_flow.store.sql.store import _CLAIM
from psirf_flow.workflows import DefinitionRegistry


WHEN = datetime(2026, 1, 5, 9, tzinfo=UTC)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
# Any: attrs types the ``tuple`` converter of ``Escalation.notify`` with an unbound variable.
NOTIFY: Any = (Role.PATIENT_SAFETY_SPECIALIST.value,)
LEASE = timedelta(minutes=5)
_REGISTRY = DefinitionRegistry.default()


def _opening(case_id: str, escalations: tuple[Escalation, ...] = ()) -> Change:
    """The change that opens PSII ``case_id`` with ``escalations``."""
    definition = _REGISTRY.latest("psii")
    assert definition is not None
    decision = decide_open(
        definition,
        case_id=case_id,
        organisation=PSS.organisation,
        command=Command("open", PSS, {"incident_ids": ["INC-1"]}),
        now=WHEN,
    )
    return Change(decision.case, None, decision.entry, escalations=escalations)


def _tier(case_id: str, tier: int, fire_at: datetime, status: str = "pending") -> Escalation:
    return Escalation(
        case_id=case_id,
        kind="response_target",
        tier=tier,
        stage="breach",
        organisation=PSS.organisation,
        fire_at=fire_at,
        notify=NOTIFY,
        status=status,
    )


class TestMigration:
    """``psirf-flow db upgrade`` brings a database at 0005 to the deadline clocks."""

    def test_upgrade_from_0005_keeps_cases_and_makes_the_new_tables(self, db_url: str) -> None:
        """A 0005 database with a case is upgraded by the CLI; the case stays, clocks work."""
        engine = make_engine(db_url)
        try:
            with engine.connect() as connection, connection.begin():
                config = _alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, "0005_incident_links")
            with engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO cases (id, workflow, workflow_version, organisation, state,"
                        " version, held_from, head_hash, facts, opened_at, updated_at,"
                        " retention_class) VALUES ('old-1', 'psii', '1', 'RX1', 'commissioned',"
                        " 1, NULL, '', '{}', :at, :at, '')"
                    ),
                    {"at": WHEN},
                )
            assert current_revision(engine) == "0005_incident_links"
        finally:
            engine.dispose()

        result = CliRunner().invoke(main, ["db", "upgrade", db_url])

        assert result.exit_code == 0, result.output
        assert HEAD_REVISION in result.output
        store = SqlStore.open(db_url)
        try:
            inspector = sa.inspect(store.engine)
            deadlines = inspector.get_pk_constraint("deadlines")["constrained_columns"]
            tiers = inspector.get_pk_constraint("escalations")["constrained_columns"]
            deadline_indexes = {
                tuple(i["column_names"]) for i in inspector.get_indexes("deadlines")
            }
            tier_indexes = {tuple(i["column_names"]) for i in inspector.get_indexes("escalations")}
            foreign = inspector.get_foreign_keys("escalations")
            assert store.load("old-1").state == "commissioned"
            assert current_revision(store.engine) == HEAD_REVISION
            deadline = Deadline(
                case_id="c-1",
                kind="response_target",
                organisation="RX1",
                workflow="psii",
                started_at=WHEN,
                due_at=WHEN + timedelta(days=90),
            )
            tier = _tier("c-1", 0, WHEN)
            store.commit(attrs.evolve(_opening("c-1", (tier,)), deadlines=(deadline,)))
            assert tuple(store.deadlines("c-1")) == (deadline,)
            claimed = store.claim_due(WHEN, limit=5, claimant="sweeper-1", lease=LEASE)
        finally:
            store.dispose()
        assert deadlines == ["case_id", "kind", "cycle"]
        assert tiers == ["case_id", "kind", "cycle", "tier"]
        assert {
            ("status", "due_at"),
            ("organisation", "status", "due_at"),
            ("owner", "status"),
        } <= deadline_indexes
        assert ("status", "fire_at") in tier_indexes
        assert [(f["constrained_columns"], f["referred_table"]) for f in foreign] == [
            (["case_id"], "cases")
        ]
        assert tuple(claimed) == (tier,)


@pytest.mark.postgres
class TestPostgresClaims:
    """On PostgreSQL the claim reads the index and racing claimers never share a row."""

    def test_claim_reads_the_status_and_fire_at_index(self, pg_url: str) -> None:
        """EXPLAIN of the claim over many pending, not-due and fired rows shows no Seq Scan."""
        store = SqlStore.open(pg_url, migrate=True)
        try:
            store.commit(_opening("big-1"))
            rows: list[dict[str, Any]] = [
                {
                    "case_id": "big-1",
                    "kind": "response_target",
                    "cycle": 0,
                    "tier": n,
                    "stage": "breach",
                    "organisation": "RX1",
                    "fire_at": WHEN + timedelta(minutes=n - 10)
                    if n < 10 or n >= 15_000
                    else WHEN + timedelta(days=1, minutes=n),
                    "notify": NOTIFY[0],
                    "action": None,
                    "status": "fired" if n >= 15_000 else "pending",
                    "fired_at": None,
                    "claimed_by": None,
                    "claimed_until": None,
                }
                for n in range(20_000)
            ]
            with store.engine.begin() as connection:
                connection.execute(ESCALATIONS.insert(), rows)
                connection.exec_driver_sql("ANALYZE escalations")
            params = {"now": WHEN, "limit": 100, "claimant": "sweeper-1", "until": WHEN + LEASE}
            with store.engine.connect() as connection:
                compiled = _CLAIM.compile(dialect=connection.dialect)
                plan = connection.exec_driver_sql(
                    f"EXPLAIN {compiled}", compiled.construct_params(params)
                ).all()
            claimed = store.claim_due(WHEN, limit=100, claimant="sweeper-1", lease=LEASE)
        finally:
            store.dispose()
        text = "\n".join(row[0] for row in plan)
        assert "Seq Scan on escalations" not in text, text
        assert "ix_escalations_status_fire_at" in text, text
        assert [tier.tier for tier in claimed] == list(range(10))

    def test_two_claimers_at_once_get_disjoint_rows(self, pg_url: str) -> None:
        """Two stores claiming together, round after round, share no tier and miss none."""
        setup = SqlStore.open(pg_url, migrate=True)
        try:
            expected = set()
            for n in range(20):
                tiers = tuple(
                    _tier(f"race-{n:02d}", t, WHEN - timedelta(minutes=n + t)) for t in range(10)
                )
                setup.commit(_opening(f"race-{n:02d}", tiers))
                expected |= {tier.key for tier in tiers}
        finally:
            setup.dispose()
        stores = [SqlStore.open(pg_url), SqlStore.open(pg_url)]
        barrier = threading.Barrier(len(stores))
        claims: list[list[tuple[str, str, int, int]]] = [[] for _ in stores]
        failures: list[BaseException] = []

        def claimer(index: int) -> None:
            try:
                while True:
                    barrier.wait(timeout=60)
                    got = stores[index].claim_due(
                        WHEN, limit=7, claimant=f"sweeper-{index}", lease=LEASE
                    )
                    claims[index].extend(tier.key for tier in got)
                    barrier.wait(timeout=60)
                    if len(claims[0]) + len(claims[1]) >= len(expected):
                        return
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                failures.append(error)
                barrier.abort()

        threads = [threading.Thread(target=claimer, args=(n,)) for n in range(len(stores))]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            for store in stores:
                store.dispose()
        assert failures == []
        first, second = set(claims[0]), set(claims[1])
        assert len(first) == len(claims[0])
        assert len(second) == len(claims[1])
        assert first.isdisjoint(second)
        assert first | second == expected
        assert first
        assert second


class TestSqliteClaims:
    """On SQLite a claim is a write like any other: it waits for the lock, or is refused."""

    @pytest.fixture
    def seeded(self, sqlite_path: str) -> str:
        """A SQLite file holding case c-1 with two pending tiers, both due."""
        store = SqlStore.open(sqlite_path, migrate=True)
        try:
            tiers = (_tier("c-1", 0, WHEN - timedelta(hours=1)), _tier("c-1", 1, WHEN))
            store.commit(_opening("c-1", tiers))
        finally:
            store.dispose()
        return sqlite_path

    def test_claim_under_another_writers_lock_is_busy_and_claims_nothing(self, seeded: str) -> None:
        """A claim that cannot take the write lock in time raises StoreBusy; retried, it works."""
        holder = sqlite3.connect(seeded, isolation_level=None)
        store = SqlStore.open(seeded, busy_timeout=0)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreBusy):
                store.claim_due(WHEN, limit=5, claimant="sweeper-1", lease=LEASE)
            holder.rollback()
            claimed = store.claim_due(WHEN, limit=5, claimant="sweeper-1", lease=LEASE)
        finally:
            store.dispose()
            holder.close()
        assert [tier.tier for tier in claimed] == [0, 1]

    def test_read_only_store_reads_clocks_and_refuses_to_claim(self, seeded: str) -> None:
        """A read-only store reads tiers and deadlines but refuses a claim, leaving it open."""
        reader = SqlStore.open(seeded, read_only=True)
        try:
            with pytest.raises(StoreError, match="read-only"):
                reader.claim_due(WHEN, limit=5, claimant="sweeper-1", lease=LEASE)
            tiers = reader.escalations("c-1")
            found = reader.find_deadlines(DeadlineQuery(case_ids=frozenset({"c-1"})))
        finally:
            reader.dispose()
        writer = SqlStore.open(seeded)
        try:
            claimed = writer.claim_due(WHEN, limit=5, claimant="sweeper-1", lease=LEASE)
        finally:
            writer.dispose()
        assert [tier.tier for tier in tiers] == [0, 1]
        assert tuple(found) == ()
        assert tuple(claimed) == tuple(tiers)

    def test_claim_reads_the_status_and_fire_at_index(self, seeded: str) -> None:
        """SQLite's plan for the claim searches escalations by the (status, fire_at) index."""
        engine = make_engine(seeded)
        try:
            with engine.connect() as connection:
                compiled = _CLAIM.compile(dialect=connection.dialect)
                params = compiled.construct_params(
                    {"now": WHEN, "limit": 5, "claimant": "sweeper-1", "until": WHEN + LEASE}
                )
                plan = connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {compiled}",
                    tuple(params[k] for k in compiled.positiontup or ()),
                ).all()
        finally:
            engine.dispose()
        text = "\n".join(str(row[-1]) for row in plan)
        assert "USING INDEX ix_escalations_status_fire_at" in text, text
