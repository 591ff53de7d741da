"""Property tests of a trust's own plan, with psirf_flow's test kit: copy into your tests.

A patient safety incident response plan (PSIRP) that loads and passes ``psirf-flow plan
check`` is well formed; these tests show that it is also *sound* when it meets incidents
and the calendar, which the checks of single settings cannot see:

* triage under the plan and the national rules always lands on responses the plan has,
  decided by a role or one of its committees, and never downgrades a national PSII;
* the trust's own commitments hold for every incident that meets them (here: a suspected
  suicide of someone in the trust's care is never closed with no further response);
* every clock the plan sets falls due after it starts, and every tier of its escalation
  ladder fires at or after that start, whatever the start: weekends, bank holidays, the
  clock changes (a warning that would fire before its clock starts is never sent, so a
  ladder like that quietly loses its warning);
* from every state of every lifecycle the plan uses, closure can still be reached;
* the real engine, running under the plan with the clock and the sweepers, agrees step for
  step with the test kit's reference model and keeps every audit and deadline invariant
  (``engine_state_machine``).

Point ``PLAN_FILE`` at your plan (or set ``PSIRF_FLOW_PLAN``), put your risk system's codes
in ``SETTINGS``, ``SERVICE_LINES`` and ``CATEGORIES``, and replace the commitments with your
board's. Run with ``pytest examples/test_local_plan.py`` (it needs the ``testing`` extra).
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from psirf_flow import Role
from psirf_flow.policy import (
    IncidentFacts,
    NationalRuleSet,
    PhysicalHarm,
    Plan,
    load_national_rules,
    load_plan_file,
    triage,
)
from psirf_flow.policy.calendars import Timescale, TimeUnit
from psirf_flow.policy.plan import EscalationLadder
from psirf_flow.policy.timing import due, local_date, offset_instant
from psirf_flow.schedule import DEFAULT_LADDER
from psirf_flow.testing import engine_state_machine
from psirf_flow.testing.model import ReferenceModel
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition


PLAN_FILE = Path(
    os.environ.get(
        "PSIRF_FLOW_PLAN",
        Path(__file__).resolve().parent / "plans" / "mental-health-community-trust.toml",
    )
)

#: The codes the trust's risk system records (opaque codes, as in the plan), plus one the
#: plan never mentions.
SETTINGS = ("inpatient_ward", "community", "home", "unlisted")
SERVICE_LINES = (
    "adult_inpatient",
    "community_mental_health",
    "community_nursing",
    "learning_disability",
    "unlisted",
)
CATEGORIES = (
    "suspected_suicide",
    "self_harm",
    "prone_restraint",
    "restraint",
    "seclusion",
    "absconsion",
    "lithium",
    "clozapine",
    "pressure_ulcer",
    "falls",
    "medication_error",
)

#: Hypothesis settings for every test below: raise ``max_examples`` in a nightly job.
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def the_plan() -> Plan:
    """The plan under test (loading refuses a plan with any problem, listing them all)."""
    return load_plan_file(PLAN_FILE)


@functools.cache
def the_rules() -> NationalRuleSet:
    """The national rules shipped with psirf_flow."""
    return load_national_rules()


@functools.cache
def registry() -> DefinitionRegistry:
    """The built-in lifecycles."""
    return DefinitionRegistry.default()


@st.composite
def incidents(draw: st.DrawFn, *, national: bool = True) -> IncidentFacts:
    """An incident as the risk system reports it; ``national=False`` meets no national rule."""
    died = draw(st.booleans())
    harm = draw(st.sampled_from(list(PhysicalHarm)))
    if harm is PhysicalHarm.FATAL and not died:
        harm = PhysicalHarm.SEVERE
    flags = st.booleans() if national else st.just(False)
    return IncidentFacts(
        incident_id="INC-1",
        physical_harm=harm,
        died=died,
        death_more_likely_than_not_due_to_problems_in_care=died and draw(flags),
        detained_under_mha=draw(st.booleans()),
        age_years=draw(st.none() | st.integers(min_value=0, max_value=105)),
        mental_health_related_homicide=draw(flags),
        safeguarding_concern=draw(flags),
        emergent_risk=draw(flags),
        setting=draw(st.sampled_from(SETTINGS)),
        service_line=draw(st.sampled_from(SERVICE_LINES)),
        categories=frozenset(draw(st.lists(st.sampled_from(CATEGORIES), max_size=3))),
    )


# ---------------------------------------------------------------- triage


@QUICK
@given(facts=incidents())
def test_triage_stays_within_the_plan(facts: IncidentFacts) -> None:
    """Every recommendation names the plan's responses and a decider the plan knows."""
    plan, rules = the_plan(), the_rules()

    advice = triage(facts, plan, rules)

    assert set(advice.allowed_responses) <= set(plan.response_types)
    assert advice.default_response is None or advice.default_response in advice.allowed_responses
    for response in advice.allowed_responses:
        assert registry().latest(plan.response_types[response].maps_to.value)
    decider = advice.decided_by
    assert decider.role in set(Role) or decider.committee in plan.committees


@QUICK
@given(facts=incidents())
def test_a_national_psii_is_never_downgraded(facts: IncidentFacts) -> None:
    """Where a national rule requires a PSII, the plan's PSII is the only response allowed."""
    plan, rules = the_plan(), the_rules()
    psii_rules = {rule.ref for rule in rules.rules if rule.response.value == "locally_led_psii"}

    advice = triage(facts, plan, rules)

    if psii_rules & set(advice.national_rules):
        assert advice.allowed_responses == (plan.triage.national_psii_response,)
        assert advice.no_further_response_allowed is False


#: The board's commitments: (what the incident is, where, the responses it may get).
COMMITMENTS = [
    ("suspected_suicide", "inpatient_ward", "adult_inpatient", {"psii", "round_table_review"}),
    ("suspected_suicide", "community", "community_mental_health", {"round_table_review", "psii"}),
]


@pytest.mark.parametrize(("category", "setting", "service_line", "responses"), COMMITMENTS)
@QUICK
@given(data=st.data())
def test_the_boards_commitments_hold_for_every_such_incident(
    category: str, setting: str, service_line: str, responses: set[str], data: st.DataObject
) -> None:
    """A suspected suicide in our care is planned a response the board agreed, never none."""
    base = data.draw(incidents(national=False))
    facts = IncidentFacts(
        incident_id=base.incident_id,
        physical_harm=base.physical_harm,
        died=base.died,
        detained_under_mha=base.detained_under_mha,
        age_years=base.age_years,
        setting=setting,
        service_line=service_line,
        categories=base.categories | {category},
    )

    advice = triage(facts, the_plan(), the_rules())

    assert advice.default_response in responses
    assert advice.no_further_response_allowed is False


# ---------------------------------------------------------------- clocks


def _ladder(plan: Plan, name: str | None) -> EscalationLadder:
    return DEFAULT_LADDER if name is None else plan.escalation_ladders[name]


def clocks(plan: Plan) -> list[tuple[str, Timescale, EscalationLadder]]:
    """Every clock the plan sets, with the escalation ladder it follows."""
    found = [
        (
            "triage review",
            plan.timescales.triage_review,
            _ladder(plan, plan.timescales.triage_review_ladder),
        ),
        (
            "referral notification",
            plan.timescales.referral_notification,
            _ladder(plan, plan.timescales.referral_ladder),
        ),
    ]
    candour = plan.duty_of_candour
    for step, days in (
        ("verbal", candour.verbal_working_days),
        ("written", candour.written_working_days),
        ("findings", candour.findings_working_days),
    ):
        found.append(
            (
                f"candour {step}",
                Timescale(days, TimeUnit.WORKING_DAYS),
                _ladder(plan, candour.escalation_ladder),
            )
        )
    for name, response in plan.response_types.items():
        ladder = _ladder(plan, response.escalation_ladder)
        if response.timescale is not None:
            found.append((f"{name} target", response.timescale, ladder))
        if response.effective_hard_cap is not None:
            found.append((f"{name} hard cap", response.effective_hard_cap, ladder))
    return found


def _starts() -> st.SearchStrategy[datetime]:
    """Instants across the plan's period, often near midnight, weekends and clock changes."""
    plan = the_plan().plan
    first = datetime.combine(plan.effective_from, datetime.min.time(), UTC)
    end = plan.effective_to or plan.effective_from + timedelta(days=730)  # open-ended: 2 years
    last = datetime.combine(end, datetime.min.time(), UTC)
    minutes = int((last - first).total_seconds() // 60)
    return st.integers(min_value=0, max_value=minutes).map(lambda m: first + timedelta(minutes=m))


@QUICK
@given(start=_starts())
def test_every_tier_fires_after_its_clock_starts(start: datetime) -> None:
    """Every clock falls due after it starts, and no tier of its ladder fires before then."""
    plan = the_plan()
    calendar = plan.working_calendar()

    for name, timescale, ladder in clocks(plan):
        deadline = due(start, timescale, calendar)
        assert deadline.breach_at > start, name
        assert deadline.due_date is None or deadline.due_date >= local_date(start), name
        for number, tier in enumerate(ladder.tiers):
            fires = offset_instant(deadline, tier.offset, calendar, before=tier.before is not None)
            assert fires >= start, f"{name}: tier {number} would fire before the clock starts"


# ---------------------------------------------------------------- lifecycles


def lifecycles(plan: Plan) -> list[WorkflowDefinition]:
    """The intake and every lifecycle the plan's response types run on."""
    names = {"incident_intake"} | {r.maps_to.value for r in plan.response_types.values()}
    found = [registry().latest(name) for name in sorted(names)]
    return [definition for definition in found if definition is not None]


@pytest.mark.parametrize("definition", lifecycles(the_plan()), ids=lambda d: d.name)
def test_closure_can_be_reached_from_every_state(definition: WorkflowDefinition) -> None:
    """No state of a lifecycle the plan uses is a dead end short of a final state."""
    model = ReferenceModel(definition)
    states = set(definition.states)
    finals = set(definition.final_states)
    # Which states reach a final state, counting a resume as a return to any state.
    reaches = set(finals)
    changed = True
    while changed:
        changed = False
        for state in states - reaches:
            for trigger in model.triggers_from(state):
                targets = {model.destination(state, trigger, held_from=s) for s in states}
                if targets & reaches:
                    reaches.add(state)
                    changed = True
                    break

    assert reaches == states, f"dead ends: {sorted(states - reaches)}"


def test_the_engine_keeps_every_invariant_under_the_plan() -> None:
    """The engine under the plan, with clocks and sweepers, matches the reference model."""
    plan = the_plan()
    start = datetime.combine(plan.plan.effective_from, datetime.min.time(), UTC)
    machine = engine_state_machine(
        lifecycles(plan),
        plan=plan,
        clocks=True,
        organisation=plan.plan.organisation,
        start=start + timedelta(days=200, hours=9),  # into the autumn clock change
        max_cases=3,
    )

    run_state_machine_as_test(
        machine, settings=settings(max_examples=4, stateful_step_count=30, deadline=None)
    )
