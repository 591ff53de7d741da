"""A plan priority's own timescales override its response type's (``Priority.timescales``).

A trust's plan may give a local priority a shorter (or longer) timescale for a response
type than the type's own (psirf-rules §1.8, §4.1, LOCAL): the response commissioned under
that priority runs on the priority's clock, both in its deadline rows and in the guards
that check an agreed target date. The intake's decision names the priority
(``plan_priority_id``) and the coupling hands it to the response it opens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from psirf_flow import Actor, Engine, GuardFailed, InMemoryStore, Role
from psirf_flow.domain import SystemReader
from psirf_flow.policy import Plan, load_plan
from psirf_flow.policy.calendars import Timescale, TimeUnit
from psirf_flow.relay import OutboxRelay
from psirf_flow.schedule import RESPONSE_TARGET
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import learning_response_id


READER = SystemReader("test-suite")
ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENG = Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG)

PLAN = """
schema = 1

[plan]
id = "rxy-psirp"
version = "1.0"
organisation = "RXY"
effective_from = 2026-01-01
review_date = 2027-12-31

[response_types.psii]
maps_to = "psii"
sign_off = [{ role = "executive_lead" }]
timescale = { amount = 3, unit = "months" }

[response_types.after_action_review]
maps_to = "after_action_review"
sign_off = [{ role = "senior_leader" }]

[[priorities]]
id = "inpatient-suicide"
criteria = { fact = "categories", includes = "suspected_suicide" }
responses = { allowed = ["psii"], default = "psii" }
timescales = { psii = { amount = 2, unit = "months" } }

[[priorities]]
id = "falls"
criteria = { fact = "categories", includes = "falls" }
responses = { allowed = ["psii"], default = "psii" }
"""

#: Lead appointed on Monday 2 March 2026 at 10:00 GMT.
APPOINTED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def plan() -> Plan:
    """The test plan: PSII 3 months, but 2 months under the inpatient-suicide priority."""
    return load_plan(PLAN, source="test-plan")


@pytest.mark.parametrize(
    ("response_type", "priority", "expected"),
    [
        ("psii", "inpatient-suicide", Timescale(2, TimeUnit.MONTHS)),
        ("psii", "falls", Timescale(3, TimeUnit.MONTHS)),
        ("psii", None, Timescale(3, TimeUnit.MONTHS)),
        ("psii", "no-such-priority", Timescale(3, TimeUnit.MONTHS)),
        ("after_action_review", "inpatient-suicide", None),
        ("no_such_type", None, None),
    ],
)
def test_timescale_for_prefers_the_priority(
    response_type: str, priority: str | None, expected: Timescale | None
) -> None:
    """The priority's timescale for the type wins; else the type's own; else none."""
    assert plan().timescale_for(response_type, priority) == expected


def _psii_with_lead(priority: str | None) -> tuple[Engine, str]:
    clock = ManualClock(APPOINTED)
    engine = Engine(InMemoryStore(), clock=clock, plan=plan())
    payload: dict[str, object] = {"incident_ids": ["INC-1"], "response_type": "psii"}
    if priority is not None:
        payload["plan_priority_id"] = priority
    case = engine.open("psii", actor=PSS, payload=payload).case
    engine.fire(
        case.id,
        "assign_lead",
        actor=PSS,
        payload={"lead_id": LEAD.id, "engagement_lead_id": ENG.id},
    )
    return engine, case.id


@pytest.mark.parametrize(
    ("priority", "due_on"),
    [
        ("inpatient-suicide", date(2026, 5, 5)),  # 2 Mar + 2 months = Sat 2 May; bank holiday
        (None, date(2026, 6, 2)),  # 3 months: Tue 2 Jun 2026
        ("falls", date(2026, 6, 2)),  # the priority sets no PSII timescale
    ],
)
def test_deadline_row_runs_on_the_priority_clock(priority: str | None, due_on: date) -> None:
    """The response target is counted with the priority's timescale when it sets one."""
    engine, case_id = _psii_with_lead(priority)

    (target,) = [d for d in engine.store.deadlines(case_id) if d.kind == RESPONSE_TARGET]

    assert (target.due_date, target.status, target.owner) == (due_on, "open", LEAD.id)


@pytest.mark.parametrize(
    ("priority", "agreed", "refused"),
    [
        ("inpatient-suicide", "2026-05-06", True),  # beyond 2 months (Tue 5 May is the end)
        ("inpatient-suicide", "2026-05-05", False),
        (None, "2026-05-06", False),  # within 3 months
    ],
)
def test_agreed_target_is_checked_against_the_priority_clock(
    priority: str | None, agreed: str, refused: bool
) -> None:
    """A target date beyond the priority's timescale needs an extension, as for the type's."""
    engine, case_id = _psii_with_lead(priority)
    fire: Callable[[], object] = lambda: engine.fire(  # noqa: E731
        case_id,
        "agree_timescale",
        actor=LEAD,
        payload={"target_date": agreed, "family_timescale_agreement": "agreed"},
    )
    if refused:
        with pytest.raises(GuardFailed) as raised:
            fire()
        assert "target_beyond_timescale" in {r.reason_code for r in raised.value.failures}
    else:
        fire()
        assert engine.get(case_id, reader=READER).facts["target_date"] == agreed


def test_intake_decision_hands_the_priority_to_the_response() -> None:
    """The response the intake's decision opens records the priority it was decided under."""
    engine = Engine(InMemoryStore(), clock=ManualClock(APPOINTED))
    engine.open("incident_intake", actor=PSS, case_id="INC-9", payload={"incident_id": "INC-9"})
    engine.fire("INC-9", "begin_review", actor=PSS)
    engine.fire("INC-9", "record_triage", actor=PSS, payload={"plan_ref": "rxy-psirp@1.0"})
    spec = engine.definition_for(engine.get("INC-9", reader=READER)).transition("decide_response")
    assert spec is not None
    rationale = next(f.choices[0] for f in spec.fields if f.name == "rationale")
    engine.fire(
        "INC-9",
        "decide_response",
        actor=PSS,
        payload={
            "response_type": "psii",
            "basis": "local_priority",
            "rationale": rationale,
            "plan_priority_id": "inpatient-suicide",
        },
    )

    OutboxRelay(engine).run_until_idle()

    response = engine.get(learning_response_id("INC-9", 4), reader=READER)
    assert response.facts["plan_priority_id"] == "inpatient-suicide"
