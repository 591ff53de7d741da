"""People's queries over the clocks: caseload, overdue, due soon, safety actions, candour.

The deadline rows are written by hand here (a ``Change`` with ``deadlines=``), around the
2026 Christmas bank holidays of England and Wales: Friday 25 December and Monday 28
December (Boxing Day's substitute) are not working days. "Now" is Tuesday 29 December 2026.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psirf_flow import Actor, Case, Engine, InMemoryStore, InvalidInput, Role, SystemReader
from psirf_flow.domain import Deadline
from psirf_flow.policy import load_plan_file
from psirf_flow.policy.timing import breach_instant
from psirf_flow.ports import Change, DeadlineQuery, Store
from psirf_flow.reports import (
    CandourTimeliness,
    CaseloadItem,
    DeadlineItem,
    candour_timeliness,
    caseload,
    due_soon,
    overdue,
    safety_actions,
)
from psirf_flow.testing import ManualClock


ORG, NEIGHBOUR, FARAWAY, ICB_ORG = "RX1", "RX2", "RX3", "QWE"
NOW = datetime(2026, 12, 29, 10, tzinfo=UTC)
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
NEIGHBOUR_PSS = Actor("pss-2", [Role.PATIENT_SAFETY_SPECIALIST], NEIGHBOUR)
ICB = Actor("icb-1", [Role.ICB_OVERSIGHT], ICB_ORG)
JOB = SystemReader("board-report")
EXAMPLE_PLAN = Path(__file__).parents[2] / "examples" / "plan-mental-health-community-trust.toml"


@pytest.fixture(
    name="store",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def _store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The store under test; the SQL ones run once they keep deadline rows."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    from psirf_flow.store.sql import SqlStore

    url = (
        str(tmp_path / "r.sqlite3")
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = SqlStore.open(str(url), migrate=True)
    yield store
    store.dispose()


@pytest.fixture(name="engine")
def _engine(store: Store) -> Engine:
    """An engine seeded with the deadline rows of the scenario (ICB QWE oversees RX1, RX2)."""
    engine = Engine(store, clock=ManualClock(NOW), oversight={ICB_ORG: [ORG, NEIGHBOUR]})
    _seed(engine)
    return engine


def _open(engine: Engine, case_id: str, organisation: str, workflow: str = "psii") -> Case:
    opener = Actor(f"pss-{organisation.lower()}", [Role.PATIENT_SAFETY_SPECIALIST], organisation)
    payload = {
        "incident_ids": ["INC-1"],
        "involved_staff_ids": ["staff-1"],
        "involved_line_manager_ids": ["mgr-1"],
        "basis": "national_requirement",
    }
    return engine.open(workflow, actor=opener, case_id=case_id, payload=payload).case


def _attach(engine: Engine, case: Case, *deadlines: Deadline) -> None:
    """Commit ``deadlines`` on ``case`` as the engine's next step would."""
    store = engine.store
    entry = attrs.evolve(store.history(case.id)[-1], sequence=case.version + 1)
    moved = attrs.evolve(case, version=case.version + 1)
    store.commit(
        Change(case=moved, expected_version=case.version, entry=entry, deadlines=deadlines)
    )


def _row(case: Case, kind: str, due: date | None, **fields: Any) -> Deadline:
    due_at = fields.pop("due_at", None)
    return Deadline(
        case_id=case.id,
        kind=kind,
        organisation=case.organisation,
        workflow=case.workflow,
        started_at=START,
        due_date=due,
        due_at=due_at if due_at is not None else breach_instant(due),  # type: ignore[arg-type]
        **fields,
    )


def _seed(engine: Engine) -> None:
    """The scenario's rows (kept small: each test reads what it needs)."""
    a = _open(engine, "psii-a", ORG)
    b = _open(engine, "psii-b", ORG)
    c = _open(engine, "psii-c", ORG)
    x = _open(engine, "psii-x", NEIGHBOUR)
    z = _open(engine, "psii-z", FARAWAY)
    _attach(
        engine,
        a,
        _row(a, "response_target", date(2026, 12, 9), status="superseded", owner="lead-1"),
        _row(a, "response_target", date(2026, 12, 23), cycle=1, owner="lead-1", tier=2),
        _row(a, "candour_notification", date(2026, 12, 1), status="met",
             met_at=datetime(2026, 11, 30, 15, tzinfo=UTC)),
        _row(a, "candour_written", date(2026, 12, 8), status="met",
             met_at=datetime(2026, 12, 8, 16, tzinfo=UTC)),
    )  # fmt: skip
    _attach(
        engine,
        b,
        # Awareness on Wed 23 Dec 2026; ten working days later is Mon 11 Jan 2027.
        _row(b, "candour_notification", date(2027, 1, 11)),
        _row(b, "response_hard_cap", date(2026, 12, 16), status="paused", owner="lead-1",
             paused_at=datetime(2026, 12, 20, 12, tzinfo=UTC)),
    )  # fmt: skip
    _attach(
        engine,
        c,
        _row(c, "safety_action_due", date(2026, 12, 30), owner="own-1"),
        _row(c, "triage_review", None, due_at=NOW - timedelta(hours=3)),
        _row(c, "candour_notification", date(2026, 12, 2), status="met",
             met_at=datetime(2026, 12, 3, 9, tzinfo=UTC)),
        _row(c, "candour_findings", date(2026, 12, 4), status="cleared",
             met_at=datetime(2026, 12, 1, 9, tzinfo=UTC)),
    )  # fmt: skip
    _attach(
        engine,
        x,
        _row(x, "response_target", date(2026, 12, 1), owner="lead-1", tier=1),
        _row(x, "safety_action_due", date(2026, 12, 10), owner="own-1"),
        _row(x, "candour_notification", date(2026, 12, 2), status="met",
             met_at=datetime(2026, 12, 4, 9, tzinfo=UTC)),
    )  # fmt: skip
    _attach(
        engine,
        z,
        _row(z, "response_target", date(2026, 11, 30), owner="lead-1"),
        _row(z, "safety_action_due", date(2026, 12, 1), owner="own-1"),
        _row(z, "candour_notification", date(2026, 12, 2)),
    )  # fmt: skip


def _item(case_id: str, organisation: str, kind: str, **fields: Any) -> DeadlineItem:
    defaults: dict[str, Any] = {
        "workflow": "psii",
        "cycle": 0,
        "status": "open",
        "owner": None,
        "tiers_fired": 0,
        "overdue": False,
        "days_overdue": 0,
    }
    defaults.update(fields)
    if "due_at" not in defaults:
        defaults["due_at"] = breach_instant(defaults["due_date"])
    return DeadlineItem(case_id=case_id, organisation=organisation, kind=kind, **defaults)


#: What RX1's overdue list holds at NOW, most overdue first.
RX1_OVERDUE = (
    # On hold since Sun 20 Dec, already past Wed 16 Dec: Thu 17 and Fri 18 Dec.
    _item("psii-b", ORG, "response_hard_cap", status="paused", owner="lead-1",
          due_date=date(2026, 12, 16), overdue=True, days_overdue=2),
    # Due Wed 23 Dec: Thu 24 Dec and Tue 29 Dec are working days after it (25, 28 are not).
    _item("psii-a", ORG, "response_target", cycle=1, owner="lead-1", due_date=date(2026, 12, 23),
          tiers_fired=2, overdue=True, days_overdue=2),
    # An hours rule breached this morning: overdue, by no whole working day yet.
    _item("psii-c", ORG, "triage_review", due_date=None, due_at=NOW - timedelta(hours=3),
          overdue=True, days_overdue=0),
)  # fmt: skip
NEIGHBOUR_OVERDUE = (
    # Due Tue 1 Dec: eighteen working days since (24 Dec the last before the holidays).
    _item("psii-x", NEIGHBOUR, "response_target", owner="lead-1", due_date=date(2026, 12, 1),
          tiers_fired=1, overdue=True, days_overdue=18),
    # Due Thu 10 Dec: 11, 14-18, 21-24 and 29 Dec are the working days since.
    _item("psii-x", NEIGHBOUR, "safety_action_due", owner="own-1", due_date=date(2026, 12, 10),
          overdue=True, days_overdue=11),
)  # fmt: skip


class TestFindDeadlines:
    """``Engine.find_deadlines``: the read under every report."""

    @pytest.mark.parametrize(
        ("reader", "organisations"),
        [
            pytest.param(PSS, {ORG}, id="staff-own-organisation"),
            pytest.param(NEIGHBOUR_PSS, {NEIGHBOUR}, id="neighbour"),
            pytest.param(ICB, {ORG, NEIGHBOUR}, id="icb-overseen"),
            pytest.param(JOB, {ORG, NEIGHBOUR, FARAWAY}, id="system-job-every"),
        ],
    )
    def test_rows_come_from_the_readers_organisations(
        self, engine: Engine, reader: Any, organisations: set[str]
    ) -> None:
        """Without filters, every row of the organisations the reader may see, by due_at."""
        found = engine.find_deadlines(reader=reader)

        assert {d.organisation for d in found} == organisations
        assert [d.due_at for d in found] == sorted(d.due_at for d in found)
        everything = engine.find_deadlines(reader=JOB)
        assert len(found) == sum(1 for d in everything if d.organisation in organisations)

    def test_a_filter_cannot_widen_what_the_reader_sees(self, engine: Engine) -> None:
        """Naming another organisation in the query finds nothing there."""
        query = DeadlineQuery(organisations=[ORG, FARAWAY], kind="response_target")

        found = engine.find_deadlines(query, reader=ICB)

        assert [(d.case_id, d.cycle, d.status) for d in found] == [
            ("psii-a", 0, "superseded"),
            ("psii-a", 1, "open"),
        ]

    @pytest.mark.parametrize(
        ("query", "reader", "argument"),
        [
            pytest.param("overdue", PSS, "query", id="query-not-a-deadline-query"),
            pytest.param(None, "pss-1", "reader", id="reader-not-a-reader"),
        ],
    )
    def test_bad_arguments_are_refused(
        self, engine: Engine, query: Any, reader: Any, argument: str
    ) -> None:
        """A query or reader of the wrong type raises InvalidInput naming it."""
        with pytest.raises(InvalidInput) as refused:
            engine.find_deadlines(query, reader=reader)

        assert refused.value.argument == argument


class TestCaseload:
    """An investigator's open work."""

    def test_caseload_lists_the_persons_cases_by_next_due(self, engine: Engine) -> None:
        """Each case the person answers for, earliest next due first, with state and flags."""
        found = caseload(engine, "lead-1", reader=PSS, now=NOW)

        assert found == (
            CaseloadItem(
                case_id="psii-b",
                organisation=ORG,
                workflow="psii",
                state="commissioned",
                next_kind="response_hard_cap",
                next_due_date=date(2026, 12, 16),
                next_due_at=breach_instant(date(2026, 12, 16)),
                overdue=True,
                on_hold=True,
                deadlines=1,
            ),
            CaseloadItem(
                case_id="psii-a",
                organisation=ORG,
                workflow="psii",
                state="commissioned",
                next_kind="response_target",
                next_due_date=date(2026, 12, 23),
                next_due_at=breach_instant(date(2026, 12, 23)),
                overdue=True,
                on_hold=False,
                deadlines=1,
            ),
        )

    def test_caseload_before_anything_is_due_is_not_overdue(self, engine: Engine) -> None:
        """Judged before the due dates, nothing on the caseload is overdue."""
        found = caseload(engine, "lead-1", reader=PSS, now=datetime(2026, 12, 10, tzinfo=UTC))

        assert [(i.case_id, i.overdue) for i in found] == [("psii-b", False), ("psii-a", False)]

    def test_caseload_across_organisations_for_the_icb(self, engine: Engine) -> None:
        """The ICB sees the person's cases in both overseen organisations, never RX3's."""
        found = caseload(engine, "lead-1", reader=ICB, now=NOW)

        assert [(i.case_id, i.organisation) for i in found] == [
            ("psii-x", NEIGHBOUR),
            ("psii-b", ORG),
            ("psii-a", ORG),
        ]


class TestOverdue:
    """Overdue lists by organisation, lifecycle and tier."""

    def test_overdue_items_field_by_field(self, engine: Engine) -> None:
        """RX1's reader sees RX1's overdue rows only, most overdue first."""
        assert overdue(engine, reader=PSS, now=NOW) == RX1_OVERDUE

    @pytest.mark.parametrize(
        ("reader", "organisation", "expected"),
        [
            pytest.param(NEIGHBOUR_PSS, None, NEIGHBOUR_OVERDUE, id="neighbour-sees-own"),
            pytest.param(PSS, NEIGHBOUR, (), id="asking-for-another-org-finds-nothing"),
            pytest.param(ICB, None, (*NEIGHBOUR_OVERDUE, *RX1_OVERDUE), id="icb-sees-overseen"),
            pytest.param(ICB, FARAWAY, (), id="icb-never-sees-unoverseen"),
            pytest.param(JOB, [NEIGHBOUR], NEIGHBOUR_OVERDUE, id="job-named-org"),
        ],
    )
    def test_overdue_respects_the_reader(
        self, engine: Engine, reader: Any, organisation: Any, expected: tuple[DeadlineItem, ...]
    ) -> None:
        """Only organisations the reader may see appear, whatever the filter asks."""
        assert overdue(engine, reader=reader, now=NOW, organisation=organisation) == expected

    def test_system_reader_sees_every_organisation(self, engine: Engine) -> None:
        """A named batch job sees every organisation's overdue rows, RX3's too."""
        found = overdue(engine, reader=JOB, now=NOW)

        assert {i.organisation for i in found} == {ORG, NEIGHBOUR, FARAWAY}
        assert [i.case_id for i in found if i.organisation == FARAWAY] == ["psii-z"] * 3

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            pytest.param({"tier": 1}, (RX1_OVERDUE[1],), id="tier-at-least-one"),
            pytest.param({"tier": 3}, (), id="tier-none-that-high"),
            pytest.param({"workflow": "psii"}, RX1_OVERDUE, id="workflow"),
            pytest.param({"workflow": "swarm_huddle"}, (), id="other-workflow"),
            pytest.param({"organisation": ORG}, RX1_OVERDUE, id="own-organisation"),
        ],
    )
    def test_overdue_filters(
        self, engine: Engine, filters: dict[str, Any], expected: tuple[DeadlineItem, ...]
    ) -> None:
        """Filters by tier (at least), workflow and organisation."""
        assert overdue(engine, reader=PSS, now=NOW, **filters) == expected

    def test_days_overdue_follow_the_plan_calendar(self, engine: Engine) -> None:
        """Under a plan closing 29 to 31 December, Tue 29 Dec is no working day."""
        planned = Engine(engine.store, clock=ManualClock(NOW), plan=load_plan_file(EXAMPLE_PLAN))

        found = overdue(planned, reader=PSS, now=NOW)

        assert [(i.kind, i.days_overdue) for i in found] == [
            ("response_hard_cap", 2),
            ("response_target", 1),
            ("triage_review", 0),
        ]


class TestDueSoon:
    """What falls due next."""

    @pytest.mark.parametrize(
        ("within", "expected"),
        [
            pytest.param(0, (), id="today-only"),
            pytest.param(1, ("safety_action_due",), id="one-working-day"),
            # Wed 30, Thu 31 Dec, (New Year's Day), Mon 4 .. Fri 8 Jan: Mon 11 Jan is the 8th.
            pytest.param(7, ("safety_action_due",), id="seven-working-days"),
            pytest.param(8, ("safety_action_due", "candour_notification"), id="eight"),
            pytest.param(timedelta(days=13), ("safety_action_due",), id="thirteen-days"),
            pytest.param(
                timedelta(days=14), ("safety_action_due", "candour_notification"), id="14-days"
            ),
        ],
    )
    def test_due_soon_windows(
        self, engine: Engine, within: timedelta | int, expected: tuple[str, ...]
    ) -> None:
        """Working-day and real-time horizons; overdue and paused rows are never due soon."""
        found = due_soon(engine, reader=PSS, now=NOW, within=within)

        assert tuple(i.kind for i in found) == expected

    def test_due_soon_item_fields(self, engine: Engine) -> None:
        """A due-soon item carries its case, owner, dates and is not overdue."""
        found = due_soon(engine, reader=PSS, now=NOW, within=1)

        assert found == (
            _item("psii-c", ORG, "safety_action_due", owner="own-1", due_date=date(2026, 12, 30)),
        )


class TestSafetyActions:
    """Open and overdue safety actions."""

    def test_safety_actions_for_the_icb(self, engine: Engine) -> None:
        """Every running safety action of the overseen organisations, overdue flagged."""
        assert safety_actions(engine, reader=ICB, now=NOW) == (
            NEIGHBOUR_OVERDUE[1],
            _item("psii-c", ORG, "safety_action_due", owner="own-1", due_date=date(2026, 12, 30)),
        )  # fmt: skip

    def test_safety_actions_of_one_organisation(self, engine: Engine) -> None:
        """The organisation filter keeps one organisation."""
        found = safety_actions(engine, reader=ICB, now=NOW, organisation=ORG)

        assert [i.case_id for i in found] == ["psii-c"]


class TestCandourTimeliness:
    """Duty-of-candour timeliness per organisation and step (psirf-rules §4.2)."""

    def test_counts_per_organisation_and_step(self, engine: Engine) -> None:
        """Met on time or late, open overdue or not, cleared; superseded not counted."""
        found = candour_timeliness(
            engine,
            reader=ICB,
            since=datetime(2026, 11, 1, tzinfo=UTC),
            until=datetime(2027, 2, 1, tzinfo=UTC),
            now=NOW,
        )

        assert found == (
            CandourTimeliness(organisation=ORG, kind="candour_notification", due=3,
                              met_on_time=1, met_late=1, open_overdue=0, open_not_due=1,
                              cleared=0),
            CandourTimeliness(organisation=ORG, kind="candour_written", due=1, met_on_time=1,
                              met_late=0, open_overdue=0, open_not_due=0, cleared=0),
            CandourTimeliness(organisation=ORG, kind="candour_findings", due=0, met_on_time=0,
                              met_late=0, open_overdue=0, open_not_due=0, cleared=1),
            CandourTimeliness(organisation=NEIGHBOUR, kind="candour_notification", due=1,
                              met_on_time=0, met_late=1, open_overdue=0, open_not_due=0,
                              cleared=0),
        )  # fmt: skip

    def test_period_and_open_overdue(self, engine: Engine) -> None:
        """Only deadlines due in the period count; an unmet past-due one is open overdue."""
        found = candour_timeliness(
            engine,
            reader=JOB,
            organisation=FARAWAY,
            since=datetime(2026, 12, 1, tzinfo=UTC),
            until=datetime(2026, 12, 31, tzinfo=UTC),
            now=NOW,
        )

        assert found == (
            CandourTimeliness(organisation=FARAWAY, kind="candour_notification", due=1,
                              met_on_time=0, met_late=0, open_overdue=1, open_not_due=0,
                              cleared=0),
        )  # fmt: skip

    def test_now_defaults_to_the_engine_clock(self, engine: Engine) -> None:
        """Without ``now``, the engine's clock judges what is overdue."""
        found = candour_timeliness(
            engine,
            reader=JOB,
            organisation=FARAWAY,
            since=datetime(2026, 12, 1, tzinfo=UTC),
            until=datetime(2026, 12, 31, tzinfo=UTC),
        )

        assert [(r.open_overdue, r.open_not_due) for r in found] == [(1, 0)]


_AWARE = datetime(2026, 1, 1, tzinfo=UTC)
_QUERIES: dict[str, Any] = {
    "caseload": caseload,
    "overdue": overdue,
    "due_soon": due_soon,
    "safety_actions": safety_actions,
    "candour_timeliness": candour_timeliness,
}


@pytest.mark.parametrize(
    ("query", "arguments", "argument"),
    [
        ("caseload", {"person_id": "Jane Doe"}, "person_id"),
        ("caseload", {"reader": "pss-1"}, "reader"),
        ("caseload", {"now": datetime(2026, 1, 1)}, "now"),  # noqa: DTZ001 - the point
        ("overdue", {"engine": "engine"}, "engine"),
        ("overdue", {"tier": -1}, "tier"),
        ("overdue", {"tier": True}, "tier"),
        ("overdue", {"workflow": ""}, "workflow"),
        ("overdue", {"organisation": []}, "organisation"),
        ("overdue", {"organisation": 3}, "organisation"),
        ("due_soon", {"within": -1}, "within"),
        ("due_soon", {"within": 10_000}, "within"),
        ("due_soon", {"within": timedelta(-1)}, "within"),
        ("due_soon", {"within": "5"}, "within"),
        ("safety_actions", {"now": "today"}, "now"),
        ("candour_timeliness", {"until": _AWARE}, "until"),
        ("candour_timeliness", {"since": None}, "since"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(
    query: str, arguments: dict[str, Any], argument: str
) -> None:
    """Bad input raises InvalidInput naming the argument, and repeats no person's name."""
    given_: dict[str, Any] = {
        "engine": Engine(InMemoryStore(), clock=ManualClock(NOW)),
        "reader": PSS,
        "now": NOW,
    }
    if query == "caseload":
        given_["person_id"] = "lead-1"
    if query == "due_soon":
        given_["within"] = 1
    if query == "candour_timeliness":
        del given_["now"]
        given_.update(since=_AWARE, until=NOW)
    given_.update(arguments)
    engine = given_.pop("engine")

    with pytest.raises(InvalidInput) as refused:
        _QUERIES[query](engine, **given_)

    assert refused.value.argument == argument
    assert "Jane" not in str(refused.value)


@settings(max_examples=40, deadline=None)
@given(
    dues=st.lists(st.integers(min_value=-60, max_value=60), min_size=1, max_size=8),
    within=st.integers(min_value=0, max_value=30),
)
def test_overdue_and_due_soon_never_overlap(dues: list[int], within: int) -> None:
    """No row is both overdue and due soon; every overdue row is past due, every other not."""
    engine = Engine(InMemoryStore(), clock=ManualClock(NOW))
    case = _open(engine, "case-h", ORG)
    rows = [
        _row(case, f"kind_{n}", date(2026, 12, 29) + timedelta(days=offset))
        for n, offset in enumerate(dues)
    ]
    _attach(engine, case, *rows)

    late = overdue(engine, reader=PSS, now=NOW)
    soon = due_soon(engine, reader=PSS, now=NOW, within=within)

    assert not {i.kind for i in late} & {i.kind for i in soon}
    assert all(i.due_at <= NOW and i.overdue for i in late)
    assert all(i.due_at > NOW and not i.overdue and i.days_overdue == 0 for i in soon)
    assert len(late) == sum(1 for r in rows if r.due_at <= NOW)


_READERS = {
    "staff-rx1": PSS,
    "staff-rx2": NEIGHBOUR_PSS,
    "icb": ICB,
    "icb-elsewhere": Actor("icb-2", [Role.ICB_OVERSIGHT], "QZZ"),
}
_VISIBLE = {
    "staff-rx1": {ORG},
    "staff-rx2": {NEIGHBOUR},
    "icb": {ORG, NEIGHBOUR},
    "icb-elsewhere": {"QZZ"},
}


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([ORG, NEIGHBOUR, FARAWAY]), st.integers(-40, 40)),
        min_size=1,
        max_size=6,
    ),
    who=st.sampled_from(sorted(_READERS)),
)
def test_a_reader_sees_exactly_the_visible_organisations_rows(
    rows: list[tuple[str, int]], who: str
) -> None:
    """Every query shows what a system job sees, cut to the reader's organisations."""
    engine = Engine(InMemoryStore(), clock=ManualClock(NOW), oversight={ICB_ORG: [ORG, NEIGHBOUR]})
    for n, (organisation, offset) in enumerate(rows):
        case = _open(engine, f"case-{n}", organisation)
        due = date(2026, 12, 29) + timedelta(days=offset)
        _attach(engine, case, _row(case, "safety_action_due", due, owner="own-1"))
    reader, visible = _READERS[who], _VISIBLE[who]

    for query in (overdue, safety_actions):
        everything = query(engine, reader=JOB, now=NOW)
        assert query(engine, reader=reader, now=NOW) == tuple(
            i for i in everything if i.organisation in visible
        )
    mine = caseload(engine, "own-1", reader=reader, now=NOW)
    assert {i.organisation for i in mine} <= visible
    assert len(mine) == sum(1 for organisation, _ in rows if organisation in visible)
