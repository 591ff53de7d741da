"""Steps, clock moves and sweeps, under a real plan: every due tier fires once, never early.

:func:`psirf_flow.testing.engine_state_machine` with ``clocks=True`` runs the real schedule
(:func:`psirf_flow.schedule.plan_deadlines`, through the engine) under an example plan
from ``examples/plans/``, over the PSII, duty of candour and safety action lifecycles,
and mixes their commands with moves of the manual clock (minutes to weeks, across the
clock changes of 25 October 2026 and 28 March 2027 and the Christmas bank holidays) and
sweeps by two sweepers with different claimants. The machine's invariants are listed on
:class:`psirf_flow.testing.ClockedEngineStateMachine`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from psirf_flow import InMemoryStore, _timekeeping
from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.domain import EscalationStatus
from psirf_flow.policy import load_plan_file
from psirf_flow.ports import Change, Store
from psirf_flow.schedule import ScheduleChange, plan_deadlines
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ClockedEngineStateMachine, engine_state_machine
from psirf_flow.workflows import DefinitionRegistry


PLANS = Path(__file__).resolve().parents[2] / "examples" / "plans"
#: The mental health trust's plan: ladders with warnings, a breach and later tiers.
PLAN = load_plan_file(PLANS / "mental-health-community-trust.toml")
LIFECYCLES = ("psii", "duty_of_candour", "safety_action")
#: A Monday within the plan's dates, a fortnight before the clocks go back.
START = datetime(2026, 10, 12, 9, tzinfo=UTC)

_DEFAULTS = DefinitionRegistry.default()
DEFINITIONS = [d for d in (_DEFAULTS.latest(n) for n in LIFECYCLES) if d is not None]

ClockedMachine = engine_state_machine(
    DEFINITIONS,
    plan=PLAN,
    clocks=True,
    organisation=PLAN.plan.organisation,
    start=START,
    max_cases=3,
)

# Sized for CI: half the loaded profile's examples (30 under "ci"), 100 steps each, about
# half a minute on one core.
CLOCKED = settings(
    max_examples=max(5, settings().max_examples // 2),
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
#: A short run that is the same on every machine.
SHORT = settings(CLOCKED, max_examples=5, stateful_step_count=40, derandomize=True, database=None)


class TestClockedMachine(ClockedMachine.TestCase):  # type: ignore[name-defined,misc]
    """Steps, clock moves and sweeps keep every tier firing once, on time, as audited."""

    settings = CLOCKED


def test_a_short_derandomised_run_holds_every_invariant() -> None:
    """A fixed, short search over the three lifecycles under the plan finds nothing."""
    run_state_machine_as_test(ClockedMachine, settings=SHORT)


def test_the_factory_builds_a_clocked_machine_under_the_plan() -> None:
    """``clocks=True`` gives the clocked machine, with the plan, start and claimants set."""
    assert issubclass(ClockedMachine, ClockedEngineStateMachine)
    assert ClockedMachine.plan is PLAN
    assert ClockedMachine.clock_start == START
    assert ClockedMachine.claimants == ("sweeper-a", "sweeper-b")
    assert ClockedMachine.organisation == PLAN.plan.organisation


# ---------------------------------------------------------------- defects it must catch


class ForgetsFiredTiersStore(InMemoryStore):
    """Commits a fired tier's audit entry but not the tier's new status."""

    def commit(self, change: Change) -> None:
        """Commit, dropping the rows of an ``escalation_fired`` change."""
        if change.entry.trigger == ESCALATION_TRIGGER:
            change = attrs.evolve(change, deadlines=(), escalations=())
        super().commit(change)


class IgnoresHoldsStore(InMemoryStore):
    """Stores a paused tier as pending, so a hold does not stop it."""

    def commit(self, change: Change) -> None:
        """Commit, with every paused tier written as pending."""
        tiers = tuple(
            attrs.evolve(t, status=EscalationStatus.PENDING.value)
            if t.status == EscalationStatus.PAUSED.value
            else t
            for t in change.escalations
        )
        super().commit(attrs.evolve(change, escalations=tiers))


def _resume_without_moving(**arguments: Any) -> ScheduleChange:
    """The real schedule, except that a resumed tier keeps its old ``fire_at``."""
    change = _timekeeping_schedule(**arguments)
    old = {t.key: t for t in arguments["tiers"]}
    kept = tuple(
        attrs.evolve(t, fire_at=old[t.key].fire_at)
        if t.key in old and old[t.key].status == EscalationStatus.PAUSED.value
        else t
        for t in change.escalations
    )
    return attrs.evolve(change, escalations=kept)


_timekeeping_schedule = plan_deadlines

FAILING = settings(
    max_examples=200,
    stateful_step_count=60,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


def _machine(store: Callable[[], Store] = InMemoryStore) -> Any:
    return engine_state_machine(
        DEFINITIONS,
        plan=PLAN,
        clocks=True,
        organisation=PLAN.plan.organisation,
        start=START,
        max_cases=3,
        store_factory=store,
    )


class TestTheClockedMachineCatchesDefects:
    """A broken store or schedule under the engine makes the clocked machine fail."""

    @pytest.mark.parametrize(
        "store_class",
        [ForgetsFiredTiersStore, IgnoresHoldsStore],
        ids=["forgets-fired-tiers", "ignores-holds"],
    )
    def test_a_defective_store_is_reported(self, store_class: type[InMemoryStore]) -> None:
        """A tier left pending after it fired, or running on hold, fails the machine."""
        with pytest.raises(AssertionError):
            run_state_machine_as_test(_machine(store_class), settings=FAILING)

    def test_a_resume_that_does_not_move_the_tiers_is_reported(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Tiers that keep their time across a hold fail the machine."""
        monkeypatch.setattr(_timekeeping, "plan_deadlines", _resume_without_moving)

        with pytest.raises(AssertionError, match=r"moved by whole days|hours shift"):
            run_state_machine_as_test(_machine(), settings=FAILING)


# ---------------------------------------------------------------- the SQL store


class _SqlStores:
    """A fresh, migrated SQL store for each run; the last one is closed with the next."""

    def __init__(self, make_url: Callable[[], str]) -> None:
        self._make_url = make_url
        self._open: list[SqlStore] = []

    def __call__(self) -> SqlStore:
        self.close()
        store = SqlStore.open(self._make_url(), migrate=True)
        self._open.append(store)
        return store

    def close(self) -> None:
        while self._open:
            self._open.pop().dispose()


# Each run migrates a fresh database: a few short runs.
SQL_SETTINGS = settings(CLOCKED, max_examples=3, stateful_step_count=40, derandomize=True)


def test_the_sqlite_store_fires_every_due_tier_once(tmp_path: Path) -> None:
    """Under the SQLite store, the clocked machine finds nothing (a short, fixed search)."""
    files = itertools.count()
    stores = _SqlStores(lambda: str(tmp_path / f"run-{next(files)}.sqlite3"))
    try:
        run_state_machine_as_test(_machine(stores), settings=SQL_SETTINGS)
    finally:
        stores.close()


@pytest.mark.postgres
def test_the_postgresql_store_fires_every_due_tier_once(pg_database_url: sa.URL) -> None:
    """Under PostgreSQL (SKIP LOCKED claims), the clocked machine finds nothing."""
    admin = sa.create_engine(pg_database_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    schemas: list[str] = []

    def fresh_schema() -> str:
        schema = f"s_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        schemas.append(schema)
        url = pg_database_url.update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    stores = _SqlStores(fresh_schema)
    try:
        run_state_machine_as_test(_machine(stores), settings=SQL_SETTINGS)
    finally:
        stores.close()
        with admin.connect() as connection:
            for schema in schemas:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
