"""``reports.oversight_summary``: each organisation's monthly figures for a board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.cli.test_lessons_cli import ORG, OTHER, _seed
from tests.core.test_reports import EXAMPLE_PLAN
from tests.lifecycles.test_safety_action import EFFECTIVE, PSS, Driver

from psirf_flow import Actor, Engine, InMemoryStore, Role
from psirf_flow.domain import SystemReader
from psirf_flow.errors import InvalidInput
from psirf_flow.policy import load_plan_file
from psirf_flow.reports import OversightSummary, StateCount, due_soon, oversight_summary
from psirf_flow.testing import ManualClock


JOB = SystemReader("board-summary")
#: The safety actions' organisation in the lifecycle tests' driver.
ACTIONS_ORG = "RX1"
MARCH = {
    "since": datetime(2026, 3, 1, tzinfo=UTC),
    "until": datetime(2026, 4, 1, tzinfo=UTC),
    "now": datetime(2026, 7, 2, 9, tzinfo=UTC),
}


def _empty(organisation: str, **counts: Any) -> OversightSummary:
    fields: dict[str, Any] = {
        "open_cases": (),
        "responses_commissioned": 0,
        "responses_closed": 0,
        "overdue": 0,
        "due_soon": 0,
        "candour": (),
        "safety_actions_open": 0,
        "safety_actions_overdue": 0,
        "safety_actions_completed": 0,
        "national_overrides": 0,
        "plan_departures": 0,
        "reserve": None,
    }
    fields.update(counts)
    return OversightSummary(organisation=organisation, **fields)


@pytest.fixture(name="engine")
def _engine() -> Engine:
    """Lessons' scenario (RXY, RAB) and two RX1 actions: one completed, one left late."""
    clock = ManualClock()
    engine = Engine(InMemoryStore(), clock=clock)
    _seed(engine, clock)  # the clock ends at 23:30 UTC on 1 April
    driver = Driver(engine, clock)
    driver.fire(driver.at("monitoring"), "confirm_effective", PSS, EFFECTIVE)
    driver.at("agreed")  # due on 30 June
    return engine


#: What March looks like on 2 July 2026, organisation by organisation (RX1's actions
#: were opened in April).
RX1 = _empty(
    ACTIONS_ORG,
    open_cases=(
        StateCount(lifecycle="safety_action", workflow="safety_action", state="agreed", cases=1),
    ),
    overdue=1,
    safety_actions_open=1,
    safety_actions_overdue=1,
)
RAB = _empty(OTHER, responses_commissioned=1, responses_closed=1)
RXY = _empty(
    ORG,
    open_cases=(
        StateCount(
            lifecycle="learning_response", workflow="swarm_huddle", state="approved", cases=1
        ),
        StateCount(lifecycle="safety_action", workflow="safety_action", state="proposed", cases=2),
    ),
    responses_commissioned=1,
    responses_closed=1,
    safety_actions_open=2,
)


def test_each_organisation_is_summarised(engine: Engine) -> None:
    """A system reader gets one summary per organisation with cases, by code."""
    assert oversight_summary(engine, reader=JOB, **MARCH) == (RAB, RX1, RXY)


def test_the_period_decides_what_was_commissioned_and_closed(engine: Engine) -> None:
    """April holds RXY's second closing, its two responses opened then and RX1's action."""
    april = {**MARCH, "since": MARCH["until"], "until": datetime(2026, 5, 1, tzinfo=UTC)}

    rx1, rxy = oversight_summary(engine, reader=JOB, organisation=[ORG, ACTIONS_ORG], **april)

    assert (rxy.responses_commissioned, rxy.responses_closed) == (2, 1)
    assert rxy.open_cases == RXY.open_cases
    assert rx1 == attrs.evolve(RX1, safety_actions_completed=1)


def test_a_named_organisation_without_cases_gets_zeros(engine: Engine) -> None:
    """Each organisation named is summarised, even with nothing to count."""
    found = oversight_summary(engine, reader=JOB, organisation=[ORG, "RZZ"], **MARCH)

    assert found == (RXY, _empty("RZZ"))


def test_a_person_sees_only_their_organisation(engine: Engine) -> None:
    """A member of staff's summary counts their own organisation alone, whatever they name."""
    person = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], ORG)

    assert oversight_summary(engine, reader=person, **MARCH) == (RXY,)
    assert oversight_summary(engine, reader=person, organisation=[ORG, OTHER], **MARCH) == (
        _empty(OTHER),
        RXY,
    )


def test_progress_counts_every_trail_read(engine: Engine) -> None:
    """Progress is told the total first, then once per trail read, up to the total."""
    calls: list[tuple[int, int]] = []

    oversight_summary(engine, reader=JOB, progress=lambda *call: calls.append(call), **MARCH)

    total = calls[0][1]
    assert total > 0
    assert calls == [(done, total) for done in range(total + 1)]


def test_counts_only(engine: Engine) -> None:
    """No case id appears anywhere in a summary: it holds codes and counts."""
    text = repr(oversight_summary(engine, reader=JOB, **MARCH))

    for case_id in ("LR-1", "LR-2", "LR-3", "LR-9", "SA-1", "SA-2"):
        assert f"'{case_id}'" not in text
    assert all(attrs.has(type(s)) for s in oversight_summary(engine, reader=JOB, **MARCH))


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"until": MARCH["since"]}, "until"),
        ({"since": datetime(2026, 3, 1)}, "since"),  # noqa: DTZ001 - naive on purpose
        ({"now": "today"}, "now"),
        ({"progress": 3}, "progress"),
        ({"organisation": 7}, "organisation"),
        ({"reader": "board"}, "reader"),
        ({"within": -1}, "within"),
    ],
)
def test_bad_arguments_are_refused(engine: Engine, changes: dict[str, Any], argument: str) -> None:
    """A bad argument is refused with InvalidInput naming it."""
    arguments: dict[str, Any] = {"reader": JOB, **MARCH, **changes}

    with pytest.raises(InvalidInput) as refused:
        oversight_summary(engine, **arguments)

    assert refused.value.argument == argument


def test_the_plan_organisations_reserve_is_reported() -> None:
    """Under a plan, its organisation's summary shows the reserve period holding the last day."""
    plan = load_plan_file(EXAMPLE_PLAN)
    engine = Engine(InMemoryStore(), clock=ManualClock(), plan=plan)
    since = datetime.combine(plan.plan.effective_from, datetime.min.time(), UTC) + timedelta(
        days=40
    )

    (found,) = oversight_summary(
        engine,
        reader=JOB,
        since=since,
        until=since + timedelta(days=30),
        organisation=plan.plan.organisation,
    )

    assert found.reserve is not None
    assert found.reserve.start <= (since + timedelta(days=29)).date() < found.reserve.end
    assert (found.reserve.used, found.reserve.remaining) == (0, plan.reserve_capacity.extra_psiis)


def test_departures_from_the_plan_are_counted_in_their_period() -> None:
    """A decision outside the plan counts in the period it was made, and only there."""
    from tests.lifecycles.test_intake_plan import (
        FALLS,
        MEDICATION,
        MEMBER,
        PLAN_V1,
        SENIOR,
        _decide,
        _engine,
        _triaged,
    )

    from psirf_flow.policy import load_national_rules, load_plan

    plan, rules = load_plan(PLAN_V1), load_national_rules()
    engine = _engine(InMemoryStore(), plan, rules)  # its clock reads 1 June 2026
    departed = _triaged(engine, "INT-1", plan, rules, **MEDICATION)
    _decide(
        engine,
        departed,
        MEMBER,
        "after_action_review",
        decider_committee="psg",
        meeting_ref="PSG-1",
        departure_reason="greater_learning_opportunity",
    )
    _decide(engine, _triaged(engine, "INT-2", plan, rules, **FALLS), SENIOR, "after_action_review")
    june = datetime(2026, 6, 1, tzinfo=UTC)

    (in_june,) = oversight_summary(engine, reader=JOB, since=june, until=june + timedelta(days=30))
    (in_july,) = oversight_summary(
        engine, reader=JOB, since=june + timedelta(days=30), until=june + timedelta(days=61)
    )

    assert (in_june.plan_departures, in_june.national_overrides) == (1, 0)
    assert (in_july.plan_departures, in_july.national_overrides) == (0, 0)
    assert in_june.open_cases == ()  # a decided intake is in a final state
    assert in_june.reserve is not None
    assert (in_june.reserve.used, in_june.reserve.allowed) == (0, plan.reserve_capacity.extra_psiis)


_ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=5),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(),
    st.lists(st.integers() | st.text(max_size=3), max_size=3),
)


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    argument=st.sampled_from(["since", "until", "now", "within", "organisation", "reader"]),
    value=_ANYTHING,
)
def test_whatever_the_input_only_psirf_flow_errors_escape(
    engine: Engine, argument: str, value: object
) -> None:
    """Any value for any argument gives a summary or InvalidInput, never a Python error."""
    arguments: dict[str, Any] = {"reader": JOB, **MARCH, argument: value}

    refusal: InvalidInput | None = None
    found: tuple[OversightSummary, ...] = ()
    try:
        found = oversight_summary(engine, **arguments)
    except InvalidInput as refused:
        refusal = refused

    if refusal is not None:
        assert refusal.argument in {argument, "until", "since"}
    assert all(isinstance(s, OversightSummary) for s in found)


@pytest.mark.parametrize("within", [timedelta(days=3_651), timedelta.max])
def test_due_soon_refuses_a_horizon_past_ten_years(engine: Engine, within: timedelta) -> None:
    """A real-time horizon that could overflow an instant is refused, naming within."""
    with pytest.raises(InvalidInput) as refused:
        due_soon(engine, reader=JOB, now=MARCH["now"], within=within)

    assert refused.value.argument == "within"


def test_each_trail_is_read_with_one_store_call(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed cases are not loaded again: one history read per trail, no case load."""
    store = engine.store
    calls: list[str] = []
    for name in ("load", "history"):
        method = getattr(store, name)
        monkeypatch.setattr(
            store, name, lambda case_id, _m=method, _n=name: calls.append(_n) or _m(case_id)
        )
    totals: list[int] = []

    found = oversight_summary(
        engine, reader=JOB, progress=lambda _done, total: totals.append(total), **MARCH
    )

    assert found == (RAB, RX1, RXY)
    assert calls == ["history"] * totals[0]
