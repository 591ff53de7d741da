"""The sweeper commissions the plan's scheduled thematic reviews on time, each occurrence once.

psirf-rules §2 (thematic review, NAT-G ◐; the schedule LOCAL, plan ``[[thematic_reviews]]``).
A plan schedules a monthly falls review from Tuesday 31 March 2026; intakes are triaged
and added to it on a ``ManualClock``; ``Sweeper(thematic_reviews=True)`` opens the review
as psirf_flow itself on the Europe/London due date (or later, if it was down), gathering
only the plan organisation's incidents not reviewed by an earlier occurrence.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psirf_flow import Actor, Engine, InMemoryStore, InvalidInput, Role, Sweeper, SweepReport
from psirf_flow import _thematic_shell as thematic_shell
from psirf_flow.cli import main
from psirf_flow.domain import SYSTEM_ACTOR_ID, Case, SystemReader
from psirf_flow.errors import StoreUnavailable
from psirf_flow.policy import (
    IncidentFacts,
    Plan,
    ThematicReviewDue,
    intake_payload,
    load_national_rules,
    load_plan,
    not_yet_reviewed,
    thematic_reviews_due,
    triage,
)
from psirf_flow.policy.calendars import UK_TIME
from psirf_flow.ports import CaseQuery, Page
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


READER: Final = SystemReader("test-suite")
ORG: Final = "RX1"
OTHER_ORG: Final = "RX2"
REPORTER: Final = Actor("rep-1", [Role.REPORTER], ORG)
PSS: Final = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
OTHER_PSS: Final = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], OTHER_ORG)
RULES: Final = load_national_rules()
REVIEW: Final = "falls-monthly"

PLAN_TEXT: Final = """
schema = 1

[plan]
id = "rx1-psirp"
version = "1.0"
organisation = "RX1"
effective_from = 2026-01-01
review_date = 2027-12-31

[response_types.psii]
maps_to = "psii"
decided_by = "executive_lead"
sign_off = [{ role = "executive_lead" }]

[response_types.thematic_review]
maps_to = "thematic_review"
decided_by = "patient_safety_specialist"
sign_off = [{ role = "senior_leader" }]

[[thematic_reviews]]
id = "falls-monthly"
title = "Falls"
response_type = "thematic_review"
every = { amount = 1, unit = "months" }
first_due = 2026-03-31
criteria = { fact = "categories", includes = "falls" }
"""
PLAN: Final[Plan] = load_plan(PLAN_TEXT)

#: Tue 10 March 2026, 09:00 GMT: incidents are reported and triaged.
BEFORE: Final = datetime(2026, 3, 10, 9, tzinfo=UTC)
#: Mon 30 March 2026, 23:59 BST: the day before the first occurrence.
EVE: Final = datetime(2026, 3, 30, 22, 59, tzinfo=UTC)
#: Tue 31 March 2026, 00:00 BST: the first occurrence's day begins in London.
DUE_DAY: Final = datetime(2026, 3, 30, 23, 0, tzinfo=UTC)
MARCH_ID: Final = "rx1-psirp/falls-monthly/2026-03-31"
APRIL_ID: Final = "rx1-psirp/falls-monthly/2026-04-30"


class CountingStore(InMemoryStore):
    """An in-memory store that counts the listings of cases (what a sweep reads)."""

    def __init__(self) -> None:
        super().__init__()
        self.listings = 0
        self.failures = 0

    def list_cases(self, query: CaseQuery) -> Page:
        """List as the in-memory store does, counting the call (or fail while told to)."""
        self.listings += 1
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("memory", "unreachable")
        return super().list_cases(query)


@pytest.fixture(name="store")
def _store() -> CountingStore:
    return CountingStore()


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock(BEFORE)


@pytest.fixture(name="engine")
def _engine(store: CountingStore, clock: ManualClock) -> Engine:
    return Engine(store, clock=clock, plan=PLAN, national_rules=RULES)


def _added(engine: Engine, number: int, *, actor: Actor = PSS) -> str:
    """Report, triage and add incident ``INC-<number>`` to the falls review."""
    case_id, incident = f"INT-{actor.organisation}-{number}", f"INC-{number}"
    reporter = REPORTER if actor is PSS else actor
    engine.open(
        "incident_intake", actor=reporter, case_id=case_id, payload={"incident_id": incident}
    )
    engine.fire(case_id, "begin_review", actor=actor)
    advice = triage(IncidentFacts(incident_id=incident, categories={"falls"}), PLAN, RULES)
    engine.fire(case_id, "record_triage", actor=actor, payload=intake_payload(advice, RULES))
    engine.fire(
        case_id, "add_to_thematic_review", actor=actor, payload={"thematic_review_id": REVIEW}
    )
    return case_id


def _reviews(engine: Engine) -> list[Case]:
    return list(
        engine.list_cases(CaseQuery(workflow="thematic_review", limit=100), reader=READER).items
    )


def _sweeper(engine: Engine, name: str = "sweeper-a") -> Sweeper:
    return Sweeper(engine, claimant=name, thematic_reviews=True)


def _sweep_at(clock: ManualClock, moment: datetime, *sweepers: Sweeper) -> list[SweepReport]:
    clock.set(moment)
    return [sweeper.sweep() for sweeper in sweepers]


def _counts(report: SweepReport) -> tuple[int, int, int]:
    """Reviews commissioned, skipped and failed (tiers of the intakes' clocks fire too)."""
    return (report.reviews_commissioned, report.reviews_skipped, report.reviews_failed)


NONE: Final = (0, 0, 0)


def _assert_commissioned(case: Case, case_id: str, incidents: tuple[str, ...]) -> None:
    assert case.id == case_id
    assert case.workflow == "thematic_review"
    assert case.organisation == ORG
    assert case.state == "commissioned"
    assert case.facts["scheduled_review_id"] == REVIEW
    assert case.facts["response_type"] == "thematic_review"
    assert case.facts["incident_ids"] == incidents


def test_due_day_commissions_once_across_two_sweepers(
    engine: Engine, store: CountingStore, clock: ManualClock
) -> None:
    """On the due day two sweepers (two engines, one store) open the review once, as the system."""
    _added(engine, 1)
    _added(engine, 2)
    other_engine = Engine(store, clock=clock, plan=PLAN, national_rules=RULES)

    first, second = _sweep_at(clock, DUE_DAY, _sweeper(engine), _sweeper(other_engine, "sweeper-b"))

    assert (first.reviews_commissioned, first.reviews_skipped, first.reviews_failed) == (1, 0, 0)
    assert (second.reviews_commissioned, second.reviews_skipped, second.reviews_failed) == (0, 0, 0)
    (review,) = _reviews(engine)
    _assert_commissioned(review, MARCH_ID, ("INC-1", "INC-2"))
    (opening,) = engine.history(MARCH_ID, reader=READER)
    assert opening.actor_id == SYSTEM_ACTOR_ID
    assert opening.recorded_at == DUE_DAY
    assert ("scheduled_review_as_planned", True, "ok") in opening.guards
    assert first.summary().endswith("reviews_commissioned=1 reviews_skipped=0 reviews_failed=0")


def test_a_racing_second_opening_is_a_replay(
    engine: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweeper that did not see the first one's case replays the opening: no second review."""
    _added(engine, 1)
    _added(engine, 2)
    (first,) = _sweep_at(clock, DUE_DAY, _sweeper(engine))
    monkeypatch.setattr(thematic_shell, "_exists", lambda _engine, _case_id: False)

    (racing,) = _sweep_at(clock, DUE_DAY, _sweeper(engine, "sweeper-b"))

    assert first.reviews_commissioned == 1
    assert (racing.reviews_commissioned, racing.reviews_failed) == (0, 0)
    assert [c.id for c in _reviews(engine)] == [MARCH_ID]
    assert len(engine.history(MARCH_ID, reader=READER)) == 1


def test_not_commissioned_before_the_due_day(engine: Engine, clock: ManualClock) -> None:
    """At 23:59 BST on the eve nothing is opened; at 00:00 BST on the due day it is."""
    _added(engine, 1)
    _added(engine, 2)
    sweeper = _sweeper(engine)

    (eve,) = _sweep_at(clock, EVE, sweeper)
    opened_on_eve = _reviews(engine)
    (due,) = _sweep_at(clock, DUE_DAY, sweeper)

    assert _counts(eve) == NONE
    assert opened_on_eve == []
    assert due.reviews_commissioned == 1
    assert [c.id for c in _reviews(engine)] == [MARCH_ID]


def test_a_missed_occurrence_is_commissioned_late_once(engine: Engine, clock: ManualClock) -> None:
    """A sweeper down from March to May opens April's occurrence once, late, and nothing more."""
    _added(engine, 1)
    _added(engine, 2)
    sweeper = _sweeper(engine)
    late = datetime(2026, 5, 5, 8, tzinfo=UTC)

    (first,) = _sweep_at(clock, late, sweeper)
    (same_day,) = _sweep_at(clock, datetime(2026, 5, 5, 15, tzinfo=UTC), sweeper)
    (next_day,) = _sweep_at(clock, datetime(2026, 5, 6, 8, tzinfo=UTC), sweeper)
    (restarted,) = _sweep_at(clock, datetime(2026, 5, 6, 9, tzinfo=UTC), _sweeper(engine, "new"))

    assert first.reviews_commissioned == 1
    assert _counts(same_day) == _counts(next_day) == _counts(restarted) == NONE
    (review,) = _reviews(engine)
    _assert_commissioned(review, APRIL_ID, ("INC-1", "INC-2"))
    assert engine.history(APRIL_ID, reader=READER)[0].recorded_at == late


def test_too_few_incidents_records_nothing_until_a_later_day(
    engine: Engine, store: CountingStore, clock: ManualClock
) -> None:
    """One incident is skipped, nothing written; the second is gathered the next day, late."""
    _added(engine, 1)
    sweeper = _sweeper(engine)

    (skipped,) = _sweep_at(clock, DUE_DAY, sweeper)
    nothing_opened = _reviews(engine)
    key_then, outbox_then = store.find_idempotency(MARCH_ID), list(store.outbox(MARCH_ID))
    _added(engine, 2)
    (later_same_day,) = _sweep_at(clock, datetime(2026, 3, 31, 12, tzinfo=UTC), sweeper)
    (next_day,) = _sweep_at(clock, datetime(2026, 4, 1, 8, tzinfo=UTC), sweeper)

    assert (skipped.reviews_commissioned, skipped.reviews_skipped) == (0, 1)
    assert skipped.summary().endswith("reviews_commissioned=0 reviews_skipped=1 reviews_failed=0")
    assert nothing_opened == []
    assert key_then is None
    assert outbox_then == []
    assert _counts(later_same_day) == NONE
    assert next_day.reviews_commissioned == 1
    (review,) = _reviews(engine)
    _assert_commissioned(review, MARCH_ID, ("INC-1", "INC-2"))


def test_incidents_already_reviewed_are_left_out(engine: Engine, clock: ManualClock) -> None:
    """April's occurrence gathers only the incidents March's did not take."""
    _added(engine, 1)
    _added(engine, 2)
    sweeper = _sweeper(engine)
    _sweep_at(clock, DUE_DAY, sweeper)
    clock.set(datetime(2026, 4, 14, 9, tzinfo=UTC))
    _added(engine, 3)

    (one_new,) = _sweep_at(clock, datetime(2026, 4, 30, 9, tzinfo=UTC), sweeper)
    _added(engine, 4)
    (two_new,) = _sweep_at(clock, datetime(2026, 5, 1, 9, tzinfo=UTC), sweeper)

    assert (one_new.reviews_commissioned, one_new.reviews_skipped) == (0, 1)
    assert two_new.reviews_commissioned == 1
    march, april = _reviews(engine)
    _assert_commissioned(march, MARCH_ID, ("INC-1", "INC-2"))
    _assert_commissioned(april, APRIL_ID, ("INC-3", "INC-4"))


def test_another_organisations_intakes_are_never_gathered(
    engine: Engine, store: CountingStore, clock: ManualClock
) -> None:
    """An intake of another organisation added to a review of the same id is not gathered."""
    _added(engine, 1)
    # The other trust runs without this plan; its intake records the same review id.
    other = Engine(store, clock=clock)
    _added(other, 2, actor=OTHER_PSS)
    _added(other, 3, actor=OTHER_PSS)

    (report,) = _sweep_at(clock, DUE_DAY, _sweeper(engine))

    assert other.get("INT-RX2-2", reader=READER).facts["thematic_review_ids"] == (REVIEW,)
    assert (report.reviews_commissioned, report.reviews_skipped) == (0, 1)
    assert _reviews(engine) == []


def test_the_intakes_are_read_once_per_local_day(
    engine: Engine, store: CountingStore, clock: ManualClock
) -> None:
    """Later sweeps of the same London day list no cases; the next day looks again."""
    _added(engine, 1)
    sweeper = _sweeper(engine)

    _sweep_at(clock, DUE_DAY, sweeper)
    after_first = store.listings
    _sweep_at(clock, datetime(2026, 3, 31, 22, 59, tzinfo=UTC), sweeper)
    after_same_day = store.listings
    _sweep_at(clock, datetime(2026, 3, 31, 23, 0, tzinfo=UTC), sweeper)

    assert after_first > 0
    assert after_same_day == after_first
    assert store.listings > after_same_day


def test_a_store_failure_is_counted_and_tried_again_next_sweep(
    engine: Engine, store: CountingStore, clock: ManualClock
) -> None:
    """An unreachable store while gathering fails the pass, which the next sweep runs again."""
    _added(engine, 1)
    _added(engine, 2)
    sweeper = _sweeper(engine)
    store.failures = 1

    (failed,) = _sweep_at(clock, DUE_DAY, sweeper)
    (again,) = _sweep_at(clock, datetime(2026, 3, 31, 9, tzinfo=UTC), sweeper)

    assert _counts(failed) == (0, 0, 1)
    assert failed.summary().endswith("reviews_commissioned=0 reviews_skipped=0 reviews_failed=1")
    assert _counts(again) == (1, 0, 0)
    assert [c.id for c in _reviews(engine)] == [MARCH_ID]


def test_off_by_default_and_without_a_plan(store: CountingStore, clock: ManualClock) -> None:
    """Not asked to, or without a plan, a sweeper commissions nothing and lists nothing."""
    governed = Engine(store, clock=clock, plan=PLAN, national_rules=RULES)
    _added(governed, 1)
    _added(governed, 2)
    listed = store.listings

    plain, planless = _sweep_at(
        clock,
        DUE_DAY,
        Sweeper(governed),
        Sweeper(Engine(store, clock=clock), thematic_reviews=True),
    )

    assert _counts(plain) == _counts(planless) == NONE
    assert store.listings == listed
    assert _reviews(governed) == []


def test_thematic_reviews_must_be_a_flag(engine: Engine) -> None:
    """A non-boolean ``thematic_reviews`` is refused, naming the argument."""
    with pytest.raises(InvalidInput) as error:
        Sweeper(engine, thematic_reviews="yes")  # type: ignore[arg-type]

    assert error.value.argument == "thematic_reviews"


NOT_YET_ROWS = [
    pytest.param([], ("INC-1", "INC-2", "INC-3"), id="nothing-earlier"),
    pytest.param(
        [{"scheduled_review_id": REVIEW, "incident_ids": ("INC-1", "INC-9")}],
        ("INC-2", "INC-3"),
        id="earlier-took-one",
    ),
    pytest.param(
        [{"scheduled_review_id": "other", "incident_ids": ("INC-1",)}],
        ("INC-1", "INC-2", "INC-3"),
        id="another-review",
    ),
    pytest.param(
        [{"incident_ids": ("INC-1",)}], ("INC-1", "INC-2", "INC-3"), id="unscheduled-review"
    ),
    pytest.param(
        [{"scheduled_review_id": REVIEW, "incident_ids": "INC-1"}],
        ("INC-1", "INC-2", "INC-3"),
        id="malformed-ids-skipped",
    ),
]


@pytest.mark.parametrize(("earlier", "left"), NOT_YET_ROWS)
def test_not_yet_reviewed_table(earlier: list[dict[str, object]], left: tuple[str, ...]) -> None:
    """Incidents taken by an earlier commissioning of the same review are left out."""
    due = ThematicReviewDue(
        review_id=REVIEW,
        response_type="thematic_review",
        due_on=date(2026, 4, 30),
        next_due=date(2026, 5, 31),
        incident_ids=("INC-1", "INC-2", "INC-3"),
    )

    assert not_yet_reviewed(due, earlier) == left


def test_not_yet_reviewed_refuses_bad_input() -> None:
    """Bad arguments are refused with ``InvalidInput`` naming them."""
    due = ThematicReviewDue(
        review_id=REVIEW,
        response_type="thematic_review",
        due_on=date(2026, 4, 30),
        next_due=date(2026, 5, 31),
    )

    with pytest.raises(InvalidInput) as not_due:
        not_yet_reviewed("due", [])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as text:
        not_yet_reviewed(due, "facts")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as not_mapping:
        not_yet_reviewed(due, [1])  # type: ignore[list-item]

    assert not_due.value.argument == "due"
    assert text.value.argument == "earlier"
    assert not_mapping.value.argument == "earlier"


def test_review_case_id_is_derived_and_fits() -> None:
    """The case id is plan id, review id and due date, shortened stably when too long."""
    due = ThematicReviewDue(
        review_id=REVIEW,
        response_type="thematic_review",
        due_on=date(2026, 4, 30),
        next_due=date(2026, 5, 31),
    )
    long_due = ThematicReviewDue(
        review_id="r" * 120,
        response_type="thematic_review",
        due_on=date(2026, 4, 30),
        next_due=date(2026, 5, 31),
    )

    long_id = thematic_shell.review_case_id(PLAN, long_due)

    assert thematic_shell.review_case_id(PLAN, due) == APRIL_ID
    assert len(long_id) == 128
    assert long_id.endswith("/2026-04-30")
    assert long_id == thematic_shell.review_case_id(PLAN, long_due)


def test_cli_sweep_commissions_on_sqlite(tmp_path: Path) -> None:
    """``psirf-flow sweep --thematic-reviews --plan`` opens the due review once on SQLite."""
    db = str(tmp_path / "sweep.sqlite3")
    # The CLI runs on the real clock: a review first due in 2020 is due whatever today is.
    text = PLAN_TEXT.replace("2026-03-31", "2020-01-31").replace("2026-01-01", "2020-01-01")
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(text, encoding="utf-8")
    store = SqlStore.open(db, migrate=True)
    try:
        engine = Engine(
            store,
            clock=ManualClock(datetime(2020, 1, 6, 9, tzinfo=UTC)),
            plan=load_plan(text),
            national_rules=RULES,
        )
        _added(engine, 1)
        _added(engine, 2)
    finally:
        store.dispose()
    command = ["sweep", db, "--once", "--plan", str(plan_file), "--thematic-reviews"]

    first = CliRunner().invoke(main, command)
    second = CliRunner().invoke(main, command)
    store = SqlStore.open(db)
    try:
        reviews = store.list_cases(CaseQuery(workflow="thematic_review")).items
    finally:
        store.dispose()

    assert first.exit_code == 0, first.output
    assert first.output.rstrip().endswith(
        "reviews_commissioned=1 reviews_skipped=0 reviews_failed=0"
    )
    assert "reviews_" not in second.output
    (review,) = reviews
    assert review.id.startswith("rx1-psirp/falls-monthly/")
    assert review.facts["incident_ids"] == ("INC-1", "INC-2")


def test_cli_thematic_reviews_need_a_plan(tmp_path: Path) -> None:
    """``--thematic-reviews`` without ``--plan`` is a usage error; nothing is swept."""
    db = str(tmp_path / "sweep.sqlite3")

    result = CliRunner().invoke(main, ["sweep", db, "--once", "--thematic-reviews"])

    assert result.exit_code == 2
    assert "--plan" in result.output


@pytest.mark.postgres
def test_racing_sweepers_on_postgresql_open_one_review(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sweepers on their own connections, both past the existence check, open one review."""
    setup = SqlStore.open(pg_url, migrate=True)
    try:
        _added(Engine(setup, clock=ManualClock(BEFORE), plan=PLAN, national_rules=RULES), 1)
        _added(Engine(setup, clock=ManualClock(BEFORE), plan=PLAN, national_rules=RULES), 2)
    finally:
        setup.dispose()
    monkeypatch.setattr(thematic_shell, "_exists", lambda _engine, _case_id: False)
    stores = [SqlStore.open(pg_url), SqlStore.open(pg_url)]
    start = threading.Barrier(2)
    reports: list[SweepReport] = []

    def sweep(store: SqlStore, name: str) -> None:
        sweeper = _sweeper(
            Engine(store, clock=ManualClock(DUE_DAY), plan=PLAN, national_rules=RULES), name
        )
        start.wait()
        reports.append(sweeper.sweep())

    threads = [
        threading.Thread(target=sweep, args=(store, f"sweeper-{n}"))
        for n, store in enumerate(stores)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        reviews = stores[0].list_cases(CaseQuery(workflow="thematic_review")).items
        history = stores[0].history(MARCH_ID)
    finally:
        for store in stores:
            store.dispose()

    assert sorted(r.reviews_commissioned for r in reports) == [0, 1]
    assert [r.reviews_failed for r in reports] == [0, 0]
    (review,) = reviews
    _assert_commissioned(review, MARCH_ID, ("INC-1", "INC-2"))
    assert len(history) == 1


#: A step: add the next incident to the review, or move the clock on (hours) and sweep.
STEPS = st.lists(
    st.one_of(st.just("add"), st.integers(min_value=1, max_value=24 * 40)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_each_occurrence_commissioned_once_never_early(steps: list[str | int]) -> None:
    """Whatever the additions and sweeps: never early, once each, incidents in one review."""
    clock = ManualClock(BEFORE)
    engine = Engine(InMemoryStore(), clock=clock, plan=PLAN, national_rules=RULES)
    added = 0
    for n, step in enumerate(steps):
        if step == "add":
            added += 1
            _added(engine, added)
            continue
        assert isinstance(step, int)
        clock.advance(timedelta(hours=step))
        _sweeper(engine, f"sweeper-{n % 2}").sweep()  # a new sweeper: its first pass today
        today = clock.now().astimezone(UK_TIME).date()
        reviews = _reviews(engine)
        taken = [i for r in reviews for i in r.facts["incident_ids"]]  # type: ignore[union-attr]
        assert len(taken) == len(set(taken))
        for review in reviews:
            due_on = date.fromisoformat(review.id.rsplit("/", 1)[1])
            opening = engine.history(review.id, reader=READER)[0]
            assert opening.recorded_at.astimezone(UK_TIME).date() >= due_on
            assert len(review.facts["incident_ids"]) >= 2  # type: ignore[arg-type]
        due = thematic_reviews_due(PLAN, on=today)
        latest = thematic_shell.review_case_id(PLAN, due[0]) if due else None
        if latest is not None and latest not in {r.id for r in reviews}:
            assert added - len(taken) < 2
