"""Scheduled thematic reviews under a plan: who is added, and when a review is commissioned.

psirf-rules §2 (thematic review, NAT-G ◐; the schedule and its criteria LOCAL, plan
``[[thematic_reviews]]``). The guards are judged on ``GuardInput`` tables; the end-to-end
test drives intakes and a review through an ``Engine(plan=...)`` on a ``ManualClock``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Final

import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import given
from tests.policy.conftest import EXAMPLE_PLAN

from psirf_flow import (
    Actor,
    CommandRejected,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidInput,
    Role,
)
from psirf_flow.domain import FactValue, SystemReader
from psirf_flow.policy import (
    IncidentFacts,
    Plan,
    ThematicReviewDue,
    commissioning_payload,
    gathered_reviews,
    intake_payload,
    load_national_rules,
    load_plan,
    thematic_reviews_due,
    triage,
)
from psirf_flow.policy.governance import Governance
from psirf_flow.ports import CaseQuery
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import GUARDS
from psirf_flow.workflows.guards import CaseSummary, GuardInput


READER = SystemReader("test-suite")
ORG = "RX9"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
RULES = load_national_rules()

#: A monthly falls review gathered by criteria alone (no priority routes to it).
FALLS_REVIEW = """
[[thematic_reviews]]
id = "falls-monthly"
title = "Falls"
response_type = "thematic_review"
every = { amount = 1, unit = "months" }
first_due = 2026-03-31
criteria = { fact = "categories", includes = "falls" }
"""
DISCHARGE = "discharge-quarterly"  # first due 2026-06-30, every three months
FALLS = "falls-monthly"


@pytest.fixture(name="plan", scope="module")
def _plan() -> Plan:
    """The example plan (quarterly discharge review, routed by priority) plus a falls review."""
    return load_plan(EXAMPLE_PLAN.read_text(encoding="utf-8") + FALLS_REVIEW)


def _codes(error: pytest.ExceptionInfo[CommandRejected]) -> tuple[str, ...]:
    assert isinstance(error.value, GuardFailed)
    return tuple(r.reason_code for r in error.value.failures if not r.ok)


# -- adding an incident to a review -------------------------------------------------------

MET_ROWS = [
    pytest.param(False, FALLS, {}, None, id="no-plan-takes-any"),
    pytest.param(True, "no-such-review", {}, None, id="unknown-left-to-in-plan-guard"),
    pytest.param(True, FALLS, {"thematic_reviews_met": (FALLS,)}, None, id="criteria-met"),
    pytest.param(
        True, DISCHARGE, {"plan_priority_ids": ("PLAN#discharge",)}, None, id="priority-routes"
    ),
    pytest.param(
        True,
        DISCHARGE,
        {"plan_priority_ids": ("rx9-psirp@1.0#discharge",)},
        "thematic_review_criteria_not_met",
        id="priority-of-another-plan-version",
    ),
    pytest.param(
        True,
        DISCHARGE,
        {"thematic_reviews_met": (FALLS,)},
        "thematic_review_criteria_not_met",
        id="met-another-review-only",
    ),
    pytest.param(True, FALLS, {}, "thematic_review_criteria_not_met", id="nothing-recorded"),
]


@pytest.mark.parametrize(("governed", "review", "facts", "refused"), MET_ROWS)
def test_thematic_review_met_table(
    plan: Plan,
    *,
    governed: bool,
    review: str,
    facts: Mapping[str, tuple[str, ...]],
    refused: str | None,
) -> None:
    """Under a plan an incident joins only a review it met or its priority routes to."""
    recorded: dict[str, FactValue] = {
        k: tuple(v.replace("PLAN", plan.ref) for v in vals) for k, vals in facts.items()
    }
    payload = {"thematic_review_id": review}
    guard_input = GuardInput(
        case=None,
        trigger="add_to_thematic_review",
        actor=PSS,
        role=Role.PATIENT_SAFETY_SPECIALIST,
        facts={**recorded, **payload},
        payload=payload,
        governance=Governance(plan=plan, rules=RULES) if governed else None,
    )

    result = GUARDS["thematic_review_met"].check(guard_input)

    assert result.ok is (refused is None)
    assert result.reason_code == (refused or "ok")
    assert (review in result.explanation) is (refused is not None)


# -- commissioning a scheduled review -----------------------------------------------------

#: 2026-07-01 10:00 in London: the discharge review (first due 30 June) is due.
DUE_NOW: Final = datetime(2026, 7, 1, 9, tzinfo=UTC)


def _intake(incident: str, *reviews: str) -> CaseSummary:
    return CaseSummary(
        id=f"INT-{incident}",
        workflow="incident_intake",
        family="intake",
        state="under_review",
        organisation=ORG,
        incident_ids=(incident,),
        facts={"incident_id": incident, "thematic_review_ids": reviews},
    )


def _review(state: str, *incidents: str) -> CaseSummary:
    return CaseSummary(
        id=f"TR-{state}",
        workflow="thematic_review",
        family="learning_response",
        state=state,
        organisation=ORG,
        incident_ids=incidents,
        facts={"incident_ids": incidents, "scheduled_review_id": DISCHARGE},
    )


ADDED: Final = (_intake("INC-1", DISCHARGE), _intake("INC-2", FALLS, DISCHARGE))


@attrs.frozen
class Row:
    """One row of the commissioning table: what differs from a well-formed commissioning."""

    governed: bool = True
    facts: Mapping[str, FactValue | None] = attrs.field(factory=dict)
    now: datetime | None = DUE_NOW
    references: tuple[CaseSummary, ...] = ADDED
    not_thematic: bool = False


COMMISSION_ROWS = [
    pytest.param(Row(), None, id="due-and-added"),
    pytest.param(Row(governed=False, now=None, references=()), None, id="no-plan"),
    pytest.param(
        Row(facts={"scheduled_review_id": None}, references=()), None, id="unscheduled-review"
    ),
    pytest.param(
        Row(facts={"scheduled_review_id": "no-such"}), "thematic_review_not_in_plan", id="unknown"
    ),
    pytest.param(Row(not_thematic=True), "scheduled_review_not_thematic", id="not-thematic"),
    pytest.param(
        Row(facts={"response_type": "after_action_review"}),
        "scheduled_review_other_response_type",
        id="other-response-type",
    ),
    pytest.param(Row(now=None), "decision_time_unknown", id="no-decision-time"),
    pytest.param(
        Row(now=datetime(2026, 6, 29, 22, 59, tzinfo=UTC)),
        "thematic_review_not_due",
        id="london-29-june-not-due",
    ),
    pytest.param(Row(now=datetime(2026, 6, 29, 23, 0, tzinfo=UTC)), None, id="london-30-june-due"),
    pytest.param(
        Row(references=(ADDED[0], _intake("INC-2", FALLS))),
        "incident_not_added_to_thematic_review",
        id="added-to-another-review",
    ),
    pytest.param(
        Row(references=ADDED[:1]),
        "incident_not_added_to_thematic_review",
        id="no-intake-seen",
    ),
    pytest.param(
        Row(references=(*ADDED, _review("commissioned", "INC-2", "INC-9"))),
        "incident_already_in_thematic_review",
        id="gathered-before",
    ),
    pytest.param(
        Row(references=(*ADDED, _review("stood_down", "INC-2", "INC-9"))),
        None,
        id="earlier-review-stood-down",
    ),
]


@pytest.mark.parametrize(("row", "refused"), COMMISSION_ROWS)
def test_scheduled_review_as_planned_table(plan: Plan, row: Row, refused: str | None) -> None:
    """A scheduled review is the plan's, thematic, due in London, of incidents added to it."""
    if row.not_thematic:
        reviews = tuple(
            attrs.evolve(r, response_type="after_action_review") if r.id == DISCHARGE else r
            for r in plan.thematic_reviews
        )
        plan = attrs.evolve(plan, thematic_reviews=reviews)
    given: dict[str, FactValue | None] = {
        "incident_ids": ("INC-1", "INC-2"),
        "scheduled_review_id": DISCHARGE,
        "response_type": "thematic_review",
        **row.facts,
    }
    facts = {k: v for k, v in given.items() if v is not None}
    guard_input = GuardInput(
        case=None,
        trigger="open",
        actor=PSS,
        role=Role.PATIENT_SAFETY_SPECIALIST,
        facts=facts,
        payload=facts,
        now=row.now,
        references={r.id: r for r in row.references},
        governance=Governance(plan=plan, rules=RULES) if row.governed else None,
    )

    result = GUARDS["scheduled_review_as_planned"].check(guard_input)

    assert result.ok is (refused is None)
    assert result.reason_code == (refused or "ok")


def test_commissioning_guard_reads_incident_records() -> None:
    """The engine loads the incidents' other records for the commissioning guard only."""
    assert GUARDS["scheduled_review_as_planned"].reads_incident_records is True
    assert GUARDS["scheduled_review_as_planned"].uses_payload is True
    assert GUARDS["thematic_review_met"].reads_incident_records is False


# -- pure helpers ---------------------------------------------------------------------------

DUE: Final = ThematicReviewDue(
    review_id=DISCHARGE,
    response_type="thematic_review",
    due_on=date(2026, 6, 30),
    next_due=date(2026, 9, 30),
    incident_ids=("INC-1", "INC-2"),
)


def test_commissioning_payload_names_review_and_incidents() -> None:
    """The payload names the review, its response type and the incidents, sorted, once each."""
    assert commissioning_payload(DUE) == {
        "incident_ids": ["INC-1", "INC-2"],
        "scheduled_review_id": DISCHARGE,
        "response_type": "thematic_review",
    }
    assert commissioning_payload(DUE, ["INC-3", "INC-1", "INC-3"])["incident_ids"] == [
        "INC-1",
        "INC-3",
    ]


@pytest.mark.parametrize(
    "incidents",
    [pytest.param((), id="none"), pytest.param(("INC-1", "INC-1"), id="one-twice")],
)
def test_commissioning_payload_needs_two_incidents(incidents: tuple[str, ...]) -> None:
    """Fewer than two distinct incidents is refused before anything is opened."""
    with pytest.raises(InvalidInput) as error:
        commissioning_payload(DUE, incidents)

    assert error.value.code == "PSF700"
    assert error.value.argument == "incident_ids"


def test_gathered_reviews_reads_intake_facts() -> None:
    """Incidents are gathered per review from the intakes' ``thematic_review_ids``."""
    intakes: list[dict[str, object]] = [
        {"incident_id": "INC-2", "thematic_review_ids": (DISCHARGE, FALLS)},
        {"incident_id": "INC-1", "thematic_review_ids": (DISCHARGE,)},
        {"incident_id": "INC-3"},
        {"thematic_review_ids": (FALLS,)},
    ]

    assert gathered_reviews(intakes) == {DISCHARGE: ("INC-1", "INC-2"), FALLS: ("INC-2",)}


def test_triage_records_the_reviews_met(plan: Plan) -> None:
    """Criteria met first, then the priority's review, each once, in the intake payload."""
    both = triage(IncidentFacts(incident_id="I1", categories={"discharge", "falls"}), plan, RULES)
    falls = triage(IncidentFacts(incident_id="I2", categories={"falls"}), plan, RULES)
    other = triage(IncidentFacts(incident_id="I3", categories={"medication"}), plan, RULES)

    assert intake_payload(both, RULES)["thematic_reviews_met"] == [DISCHARGE, FALLS]
    assert intake_payload(falls, RULES)["thematic_reviews_met"] == [FALLS]
    assert "thematic_reviews_met" not in intake_payload(other, RULES)


def test_a_review_reached_only_through_the_priority_is_recorded(plan: Plan) -> None:
    """A review the priority routes to, whose criteria were not met, follows those met."""
    falls = triage(IncidentFacts(incident_id="I2", categories={"falls"}), plan, RULES)
    routed = attrs.evolve(falls, thematic_review=DISCHARGE)

    assert intake_payload(routed, RULES)["thematic_reviews_met"] == [FALLS, DISCHARGE]


# -- end to end ------------------------------------------------------------------------------


def _triaged_intake(engine: Engine, plan: Plan, number: int, categories: set[str]) -> str:
    case_id, incident = f"INT-{number}", f"INC-{number}"
    engine.open(
        "incident_intake", actor=REPORTER, case_id=case_id, payload={"incident_id": incident}
    )
    engine.fire(case_id, "begin_review", actor=PSS)
    recommendation = triage(IncidentFacts(incident_id=incident, categories=categories), plan, RULES)
    engine.fire(case_id, "record_triage", actor=PSS, payload=intake_payload(recommendation, RULES))
    return case_id


def test_three_incidents_two_gathered_and_commissioned(plan: Plan) -> None:
    """Two incidents that met the review are added and commissioned when due; the third is not."""
    clock = ManualClock(datetime(2026, 5, 11, 9, tzinfo=UTC))
    engine = Engine(InMemoryStore(), clock=clock, plan=plan)
    intakes = [
        _triaged_intake(engine, plan, 1, {"discharge"}),
        _triaged_intake(engine, plan, 2, {"discharge", "falls"}),
        _triaged_intake(engine, plan, 3, {"medication"}),
    ]
    add = {"thematic_review_id": DISCHARGE}
    for case_id in intakes[:2]:
        engine.fire(case_id, "add_to_thematic_review", actor=PSS, payload=add)
    with pytest.raises(GuardFailed) as refused_add:
        engine.fire(intakes[2], "add_to_thematic_review", actor=PSS, payload=add)

    listed = engine.list_cases(CaseQuery(workflow="incident_intake"), reader=READER).items
    gathered = gathered_reviews(c.facts for c in listed)
    early = {"incident_ids": ["INC-1", "INC-2"], "scheduled_review_id": DISCHARGE}
    with pytest.raises(GuardFailed) as not_due:
        engine.open("thematic_review", actor=PSS, payload=early)
    due_in_may = thematic_reviews_due(plan, on=date(2026, 5, 11), gathered=gathered)

    clock.set(datetime(2026, 7, 1, 9, tzinfo=UTC))
    (due,) = (
        d
        for d in thematic_reviews_due(plan, on=date(2026, 7, 1), gathered=gathered)
        if d.review_id == DISCHARGE
    )
    with pytest.raises(GuardFailed) as with_third:
        engine.open(
            "thematic_review", actor=PSS, payload=commissioning_payload(due, ["INC-1", "INC-3"])
        )
    with pytest.raises(GuardFailed) as alone:
        engine.open("thematic_review", actor=PSS, payload={**early, "incident_ids": ["INC-1"]})
    opened = engine.open("thematic_review", actor=PSS, payload=commissioning_payload(due))
    with pytest.raises(GuardFailed) as again:
        engine.open("thematic_review", actor=PSS, payload=commissioning_payload(due))

    assert _codes(refused_add) == ("thematic_review_criteria_not_met",)
    assert gathered == {DISCHARGE: ("INC-1", "INC-2")}
    assert _codes(not_due) == ("thematic_review_not_due",)
    assert [d.review_id for d in due_in_may] == [FALLS]
    assert due.incident_ids == ("INC-1", "INC-2")
    assert due.due_on == date(2026, 6, 30)
    assert _codes(with_third) == ("incident_not_added_to_thematic_review",)
    assert _codes(alone) == ("too_few_incidents",)
    assert opened.case.state == "commissioned"
    assert opened.case.facts["scheduled_review_id"] == DISCHARGE
    assert opened.case.facts["incident_ids"] == ("INC-1", "INC-2")
    assert opened.case.facts["response_type"] == "thematic_review"
    assert ("scheduled_review_as_planned", True, "ok") in opened.entry.guards
    assert _codes(again) == ("incident_already_in_thematic_review",)


_IDS = st.sampled_from(["INC-1", "INC-2", "INC-3", "INC-4"])
_REVIEWS = st.lists(st.sampled_from([DISCHARGE, FALLS, "other"]), max_size=3)


@given(st.lists(st.tuples(_IDS, _REVIEWS), max_size=8))
def test_gathered_reviews_lists_exactly_the_incidents_added(
    added: list[tuple[str, list[str]]],
) -> None:
    """Each review lists, sorted and once each, exactly the incidents whose intake names it."""
    intakes = [{"incident_id": i, "thematic_review_ids": tuple(r)} for i, r in added]

    gathered = gathered_reviews(intakes)

    expected: dict[str, set[str]] = {}
    for incident, reviews in added:
        for review in reviews:
            expected.setdefault(review, set()).add(incident)
    assert gathered == {review: tuple(sorted(ids)) for review, ids in expected.items()}
