"""The asyncio engine: the synchronous engine's calls, one transaction each, on both backends.

Every test runs on a SQLite file (aiosqlite) and on PostgreSQL (psycopg's asyncio
connection), under anyio's pytest plugin on the asyncio backend.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psirf_flow import Actor, InMemoryNotifier, Role, SystemReader
from psirf_flow.aio import AsyncEngine, AsyncSqlStore
from psirf_flow.audit import AuditEntry
from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.engine import Outcome
from psirf_flow.errors import (
    CaseNotFound,
    CommandRejected,
    ConcurrencyConflict,
    InvalidInput,
    PsirfFlowError,
    SchemaVersionError,
    StoreError,
    StoreUnavailable,
)
from psirf_flow.policy import load_plan_file
from psirf_flow.ports import CaseQuery
from psirf_flow.relay import OutboxRelay
from psirf_flow.store.sql import make_async_engine
from psirf_flow.sweeper import Sweeper
from psirf_flow.testing import ManualClock


pytestmark = pytest.mark.anyio

ORG = "RXY"
READER = SystemReader("async-engine-tests")
SPECIALIST = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
FACILITATOR = Actor("aar-11", [Role.FACILITATOR], ORG)
LEADER = Actor("sl-08", [Role.SENIOR_LEADER], ORG)
OUTSIDER = Actor("pss-99", [Role.PATIENT_SAFETY_SPECIALIST], "RZZ")
#: An after action review from commissioning to closure.
AAR_STEPS: tuple[tuple[Actor, str, dict[str, object]], ...] = (
    (SPECIALIST, "assign_facilitator", {"facilitator_id": FACILITATOR.id}),
    (FACILITATOR, "begin_gathering", {}),
    (FACILITATOR, "complete_analysis", {}),
    (FACILITATOR, "submit_draft", {"draft_ref": "AAR-1-notes"}),
    (FACILITATOR, "record_staff_accuracy_check", {"staff_accuracy_check": "confirmed"}),
    (LEADER, "agree_findings", {}),
    (FACILITATOR, "request_approval", {}),
    (LEADER, "approve", {"report_ref": "AAR-1-final"}),
    (FACILITATOR, "share", {"family_sharing": "not_applicable", "shared_with_staff": True}),
    (SPECIALIST, "close", {"no_actions_rationale": "no_new_learning"}),
)
PLAN = load_plan_file(
    Path(__file__).resolve().parents[2]
    / "examples"
    / "plans"
    / "mental-health-community-trust.toml"
)


@pytest.fixture
def anyio_backend() -> str:
    """Run the coroutines on asyncio (the only backend SQLAlchemy's extension supports)."""
    return "asyncio"


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[AsyncSqlStore]:
    """A migrated asyncio store over ``url``, closed at the end."""
    async with await AsyncSqlStore.open(url, migrate=True) as store:
        yield store


async def open_aar(engine: AsyncEngine, case_id: str = "AAR-1") -> str:
    """Open an after action review and assign its facilitator (version 2)."""
    await engine.open(
        "after_action_review",
        actor=SPECIALIST,
        payload={"incident_ids": ["INC-1"]},
        case_id=case_id,
    )
    await engine.fire(
        case_id, "assign_facilitator", actor=SPECIALIST, payload={"facilitator_id": "aar-11"}
    )
    return case_id


async def test_a_review_runs_to_closure_and_its_trail_verifies(db_url: str) -> None:
    """Open, ten steps, closed: eleven entries read back and the chain verifies."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        outcome = await engine.open(
            "after_action_review", actor=SPECIALIST, payload={"incident_ids": ["INC-1"]}
        )
        case_id = outcome.case.id
        for actor, trigger, payload in AAR_STEPS:
            outcome = await engine.fire(case_id, trigger, actor=actor, payload=payload)

        history = await engine.history(case_id, reader=LEADER)
        verified = await engine.verify(case_id, reader=READER)
        case = await engine.get(case_id, reader=LEADER)
        page = await engine.list_cases(CaseQuery(workflow="after_action_review"), reader=LEADER)
        records = await engine.incident_records("INC-1", reader=LEADER)

    assert outcome.case.state == "closed"
    assert case == outcome.case
    assert [entry.sequence for entry in history] == list(range(1, 12))
    assert [entry.trigger for entry in history[1:]] == [step[1] for step in AAR_STEPS]
    assert verified.ok
    assert [listed.id for listed in page.items] == [case_id]
    assert [record.case_id for record in records] == [case_id]


async def test_a_refused_step_writes_nothing_and_raises_the_engines_error(db_url: str) -> None:
    """A step refused by the rules raises CommandRejected; the trail is unchanged."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        with pytest.raises(CommandRejected):
            await engine.fire(case_id, "approve", actor=FACILITATOR, payload={"report_ref": "R"})

        assert len(await engine.history(case_id, reader=READER)) == 2
        assert (await engine.get(case_id, reader=READER)).version == 2


async def test_reads_keep_to_the_readers_organisations(db_url: str) -> None:
    """A case of another organisation is reported exactly like a missing one."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        with pytest.raises(CaseNotFound):
            await engine.get(case_id, reader=OUTSIDER)
        with pytest.raises(CaseNotFound):
            await engine.history("AAR-404", reader=READER)
        assert (await engine.list_cases(reader=OUTSIDER)).items == ()


async def test_a_step_may_list_options_and_read_its_retention(db_url: str) -> None:
    """Options and the retention class come back as the synchronous engine's records."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        options = await engine.options(case_id, FACILITATOR)
        name, _ = await engine.retention(case_id, reader=READER)

    allowed = {option.trigger for option in options if option.allowed}
    assert "begin_gathering" in allowed
    assert name


async def test_concurrent_steps_on_one_version_have_one_winner(db_url: str) -> None:
    """Twelve gathered fires on version 2: one commits version 3, the others conflict."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        results = await asyncio.gather(
            *(
                engine.fire(case_id, "begin_gathering", actor=FACILITATOR, expected_version=2)
                for _ in range(12)
            ),
            return_exceptions=True,
        )
        history = await engine.history(case_id, reader=READER)
        verified = await engine.verify(case_id, reader=READER)

    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1
    assert won[0].case.version == 3
    assert all(isinstance(error, ConcurrencyConflict) for error in lost)
    assert [entry.sequence for entry in history] == [1, 2, 3]
    assert verified.ok


async def test_concurrent_steps_without_a_version_lose_no_update(db_url: str) -> None:
    """Gathered fires of one step: one is taken; every other is refused, none is lost."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        results = await asyncio.gather(
            *(engine.fire(case_id, "begin_gathering", actor=FACILITATOR) for _ in range(10)),
            return_exceptions=True,
        )
        history = await engine.history(case_id, reader=READER)

    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1
    # A loser decided on the old version conflicts; one decided after the winner committed
    # is refused by the rules (the step is no longer available).
    assert all(isinstance(error, ConcurrencyConflict | CommandRejected) for error in lost)
    assert [entry.trigger for entry in history] == [
        "open",
        "assign_facilitator",
        "begin_gathering",
    ]


#: Steps a gathered batch draws from (each the facilitator's), with their payloads.
BATCH_STEPS: tuple[tuple[str, dict[str, object]], ...] = (
    ("begin_gathering", {}),
    ("complete_analysis", {}),
    ("submit_draft", {"draft_ref": "AAR-draft"}),
)
_batches = st.lists(
    st.tuples(st.sampled_from(BATCH_STEPS), st.sampled_from([None, 2, 3, 4])),
    min_size=1,
    max_size=8,
)
_case_numbers = itertools.count(1)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=_batches)
def test_any_gathered_batch_commits_exactly_what_it_reports(
    db_url: str, batch: list[tuple[tuple[str, dict[str, object]], int | None]]
) -> None:
    """Whatever steps race on one case, each reported success is one entry, and no more."""

    async def race() -> tuple[list[Outcome | BaseException], tuple[AuditEntry, ...], bool, int]:
        async with opened(db_url) as store:
            engine = AsyncEngine(store, clock=ManualClock())
            case_id = await open_aar(engine, f"AAR-{next(_case_numbers)}")
            results = await asyncio.gather(
                *(
                    engine.fire(
                        case_id,
                        trigger,
                        actor=FACILITATOR,
                        payload=payload,
                        expected_version=version,
                    )
                    for (trigger, payload), version in batch
                ),
                return_exceptions=True,
            )
            history = await engine.history(case_id, reader=READER)
            verified = await engine.verify(case_id, reader=READER)
            case = await engine.get(case_id, reader=READER)
            return results, history, verified.ok, case.version

    results, history, ok, version = asyncio.run(race())

    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(error, ConcurrencyConflict | CommandRejected) for error in lost)
    assert ok
    assert [entry.sequence for entry in history] == list(range(1, version + 1))
    assert sorted(outcome.entry.sequence for outcome in won) == list(range(3, version + 1))
    assert {outcome.entry for outcome in won} == set(history[2:])


async def test_concurrent_retries_with_one_key_write_one_entry(db_url: str) -> None:
    """Gathered retries with one idempotency key: one entry, every caller gets it."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        results = await asyncio.gather(
            *(
                engine.fire(
                    case_id, "begin_gathering", actor=FACILITATOR, idempotency_key="retry-1"
                )
                for _ in range(8)
            )
        )
        history = await engine.history(case_id, reader=READER)

    assert len(history) == 3
    assert {outcome.entry for outcome in results} == {history[-1]}
    assert sum(not outcome.replayed for outcome in results) == 1


async def test_a_chain_of_steps_in_one_call_commits_together_or_not_at_all(
    db_url: str,
) -> None:
    """run() takes several steps in one transaction: a refusal rolls back the earlier ones."""
    async with opened(db_url) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)

        def two_steps_then_a_refusal(sync: object) -> None:
            inner = engine.engine
            assert sync is inner
            inner.fire(case_id, "begin_gathering", actor=FACILITATOR)
            inner.fire(case_id, "complete_analysis", actor=FACILITATOR)
            inner.fire(case_id, "approve", actor=FACILITATOR, payload={"report_ref": "R"})

        with pytest.raises(CommandRejected):
            await engine.run(two_steps_then_a_refusal)

        assert (await engine.get(case_id, reader=READER)).version == 2


async def test_the_relay_and_the_sweeper_run_through_the_asyncio_engine(db_url: str) -> None:
    """Step events reach a listener; the due escalation tiers of a huddle fire once each."""
    async with opened(db_url) as store:
        clock = ManualClock(datetime(2026, 10, 24, 10, tzinfo=UTC))
        engine = AsyncEngine(store, clock=clock, plan=PLAN, step_events=True)
        org = PLAN.plan.organisation
        pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], org)
        await engine.open(
            "swarm_huddle",
            actor=pss,
            case_id="SH-1",
            payload={
                "incident_ids": ["INC-9"],
                "involved_staff_ids": ["st-1"],
                "basis": "local_priority",
            },
        )
        await engine.fire(
            "SH-1", "assign_facilitator", actor=pss, payload={"facilitator_id": "fac-01"}
        )
        listener = InMemoryNotifier()
        relayed = await engine.relay_once(OutboxRelay(engine.engine, listeners=[listener]))

        sweeper = Sweeper(engine.engine, claimant="sweeper-1")
        swept = await engine.sweep(sweeper, datetime(2026, 10, 26, 10, tzinfo=UTC))
        again = await engine.sweep(sweeper, datetime(2026, 10, 26, 10, tzinfo=UTC))
        history = await engine.history("SH-1", reader=READER)

    assert relayed.delivered >= 2
    assert len(listener.sent) >= 2
    assert swept.fired == 2
    assert again.fired == 0
    assert [e.trigger for e in history].count(ESCALATION_TRIGGER) == 2


async def test_the_inner_engines_store_refuses_use_outside_a_call(sqlite_path: str) -> None:
    """The synchronous engine's store works only inside the asyncio engine's calls."""
    async with opened(sqlite_path) as store:
        engine = AsyncEngine(store, clock=ManualClock())

        with pytest.raises(StoreError):
            engine.engine.get("AAR-1", reader=READER)


async def test_the_engine_needs_an_asyncio_store() -> None:
    """Anything but an AsyncSqlStore is refused with InvalidInput naming the argument."""
    with pytest.raises(InvalidInput, match="store"):
        AsyncEngine(object(), clock=ManualClock())  # type: ignore[arg-type]


async def test_an_unreachable_server_is_store_unavailable_without_its_password() -> None:
    """Nobody listens on the port: StoreUnavailable, and the password is never shown."""
    url = "postgresql+psycopg://someone:s3cret-pw@127.0.0.1:1/nothing?connect_timeout=2"

    with pytest.raises(StoreUnavailable) as raised:
        await AsyncSqlStore.open(url)

    assert "s3cret-pw" not in str(raised.value)


async def test_a_missing_schema_is_refused_without_migrate(sqlite_path: str) -> None:
    """Opening a database with no schema raises SchemaVersionError and creates no file."""
    with pytest.raises(SchemaVersionError):
        await AsyncSqlStore.open(sqlite_path)

    assert not Path(sqlite_path).exists()


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("sqlite+aiosqlite:///:memory:", {}),
        ("mysql+aiomysql://db/cases", {}),
        ("cases.sqlite3", {"pool_size": 0}),
        ("cases.sqlite3", {"max_overflow": True}),
        ("cases.sqlite3", {"migrate": True, "read_only": True}),
        ("cases.sqlite3", {"durability": "sometimes"}),
    ],
)
async def test_unusable_options_are_refused_before_connecting(
    url: str, options: dict[str, object]
) -> None:
    """An in-memory database, another driver or a bad option: a PsirfFlowError, nothing opened."""
    with pytest.raises(PsirfFlowError):
        await AsyncSqlStore.open(url, **options)  # type: ignore[arg-type]


async def test_a_read_only_store_refuses_writes(sqlite_path: str) -> None:
    """A read-only store reads the cases and refuses a step with StoreError."""
    async with opened(sqlite_path) as store:
        await open_aar(AsyncEngine(store, clock=ManualClock()))
    async with await AsyncSqlStore.open(sqlite_path, read_only=True) as reading:
        engine = AsyncEngine(reading, clock=ManualClock())

        assert (await engine.get("AAR-1", reader=READER)).version == 2
        with pytest.raises(StoreError):
            await engine.fire("AAR-1", "begin_gathering", actor=FACILITATOR)


@pytest.mark.postgres
async def test_a_call_waiting_on_postgresql_does_not_block_the_event_loop(pg_url: str) -> None:
    """While a step waits for a row lock, other coroutines run and release it; then it commits.

    Another connection locks the case row. The step is started and waits on the lock in
    PostgreSQL; a second coroutine sees it waiting (in ``pg_stat_activity``) and commits,
    releasing the lock. Were the event loop blocked by the waiting step, the second
    coroutine could never run and the step would fail on the lock timeout instead.
    """
    async with await AsyncSqlStore.open(pg_url, migrate=True, busy_timeout=60) as store:
        engine = AsyncEngine(store, clock=ManualClock())
        case_id = await open_aar(engine)
        seen_waiting = 0
        async with store.engine.connect() as holder:
            await holder.execute(
                sa.text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": case_id}
            )
            step = asyncio.ensure_future(engine.fire(case_id, "begin_gathering", actor=FACILITATOR))
            async with store.engine.connect() as watcher:
                for _ in range(100_000):  # bounded: a blocked step fails, never hangs
                    if seen_waiting or step.done():
                        break
                    seen_waiting = (
                        await watcher.execute(
                            sa.text(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                            )
                        )
                    ).scalar_one()
                    # The activity view is a snapshot kept until the transaction ends: end
                    # it, so the next look sees the step once it waits.
                    await watcher.rollback()
            assert not step.done()
            await holder.commit()
        outcome = await step

    assert seen_waiting == 1
    assert outcome.case.version == 3


async def test_the_store_names_its_database_without_secrets() -> None:
    """The URL, repr and engine of an asyncio store never show a password or secret query value."""
    engine = make_async_engine(
        "postgresql://someone:s3cret-pw@db.example:5432/cases?sslpassword=k3y-pw"
    )
    store = AsyncSqlStore(engine)
    try:
        shown = [store.url, repr(store), repr(engine), str(engine.url)]
    finally:
        await engine.dispose()

    assert store.url == "postgresql+psycopg://someone:***@db.example:5432/cases"
    assert not any("s3cret-pw" in text or "k3y-pw" in text for text in shown)


@pytest.mark.parametrize(
    "call",
    [
        lambda engine: engine.run("not callable"),
        lambda engine: engine.run(lambda _sync: None, write="yes"),
        lambda engine: engine.relay_once(object()),
        lambda engine: engine.sweep(object()),
        lambda engine: engine.store.run(42),
        lambda engine: engine.get(42, reader=READER),
        lambda engine: engine.fire("AAR-1", "begin_gathering", actor="someone"),
    ],
    ids=["work", "write", "relay", "sweeper", "store-work", "case-id", "actor"],
)
async def test_bad_arguments_are_invalid_input(
    sqlite_path: str, call: Callable[[AsyncEngine], Awaitable[object]]
) -> None:
    """Arguments of the wrong kind raise InvalidInput, never a raw Python error."""
    async with opened(sqlite_path) as store:
        engine = AsyncEngine(store, clock=ManualClock())

        with pytest.raises(InvalidInput):
            await call(engine)
