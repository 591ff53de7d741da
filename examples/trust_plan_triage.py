"""Triage incidents under a trust's plan, and commission the response the plan gives.

A mental health and community trust keeps its patient safety incident response plan
(PSIRP) as a TOML file (``examples/plans/mental-health-community-trust.toml``). This
script loads it with the national rules shipped with psirf_flow and:

1. triages four incidents, as a risk system would send them (facts and codes only, never
   free text), and prints what the plan and the national rules recommend for each: the
   pathway, the planned response, what the decider may choose instead and who decides;
2. takes one of them, a prone restraint on an inpatient ward, through the intake
   lifecycle: reported, reviewed, triaged, then decided by the person the plan names (a
   ward's senior leader; the patient safety specialist is refused);
3. lets the outbox relay open the commissioned learning response (the trust's "rapid
   review", an after action review), names its facilitator, and prints the deadline the
   plan sets for it (ten working days, counted on Europe/London dates with bank holidays
   skipped).

Everything runs in memory under a ``ManualClock``; ids are opaque and nothing names a
person. Run it with ``python examples/trust_plan_triage.py`` (``--plan`` for another plan
file; the walk-through in step 2 needs the example plan's ``restrictive-practice``
priority).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psirf_flow import Actor, CommandRejected, Engine, InMemoryStore, Role, SystemReader
from psirf_flow.policy import (
    IncidentFacts,
    NationalRuleSet,
    PhysicalHarm,
    Plan,
    Recommendation,
    intake_payload,
    load_national_rules,
    load_plan_file,
    triage,
)
from psirf_flow.policy.calendars import UK_TIME
from psirf_flow.ports import DeadlineQuery
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import learning_response_id


PLAN_FILE = Path(__file__).resolve().parent / "plans" / "mental-health-community-trust.toml"
READER = SystemReader("triage-example")  # a named job that may read every organisation

#: Incidents as the trust's risk system reports them: opaque ids, codes and flags only.
INCIDENTS = (
    IncidentFacts(
        incident_id="INC-2026-0501",
        physical_harm=PhysicalHarm.LOW,
        service_line="adult_inpatient",
        setting="inpatient_ward",
        categories=frozenset({"prone_restraint"}),
    ),
    IncidentFacts(
        incident_id="INC-2026-0502",
        service_line="adult_inpatient",
        setting="inpatient_ward",
        detained_under_mha=True,
        categories=frozenset({"absconsion"}),
    ),
    IncidentFacts(
        incident_id="INC-2026-0503",
        physical_harm=PhysicalHarm.MODERATE,
        service_line="community_mental_health",
        setting="community",
        categories=frozenset({"lithium"}),
    ),
    IncidentFacts(
        incident_id="INC-2026-0504",
        physical_harm=PhysicalHarm.NONE,
        service_line="adult_inpatient",
        setting="inpatient_ward",
        categories=frozenset({"seclusion"}),
    ),
)


def _when(moment: datetime) -> str:
    """An instant as the trust's staff read it: UK local time with its zone."""
    local = moment.astimezone(UK_TIME)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M %Z}"


def show(advice: Recommendation) -> None:
    """Print one recommendation the way a patient safety team would read it."""
    priority = ", ".join(ref.split("#")[-1] for ref in advice.priorities) or "none"
    planned = advice.default_response or "none (the decider chooses)"
    print(f"  {advice.incident_id}")
    print(f"    pathway          {advice.pathway.value} (priority: {priority})")
    print(f"    planned response {planned}")
    print(f"    may choose       {', '.join(advice.allowed_responses) or 'nothing else'}")
    if advice.no_further_response_allowed:
        print("                     or no further response")
    print(f"    decided by       {advice.decided_by}")


def walk_through(plan: Plan, rules: NationalRuleSet, facts: IncidentFacts) -> bool:
    """Take one incident from its report to its commissioned response; True if all is well."""
    trust = plan.plan.organisation
    specialist = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], trust)
    matron = Actor("sl-14", [Role.SENIOR_LEADER], trust)  # the ward's senior leader
    reporter = Actor("rep-31", [Role.REPORTER], trust)
    facilitator = "fac-05"
    incident = facts.incident_id

    # Mid-December: the count below skips the weekends and the Christmas bank holidays.
    clock = ManualClock(datetime(2026, 12, 16, 9, 0, tzinfo=UTC))
    engine = Engine(InMemoryStore(), clock=clock, plan=plan, national_rules=rules)
    relay = OutboxRelay(engine, response_types=plan.response_variants())

    engine.open(
        "incident_intake", actor=reporter, case_id=incident, payload={"incident_id": incident}
    )
    clock.advance(timedelta(hours=3))
    engine.fire(incident, "begin_review", actor=specialist)
    advice = triage(facts, plan, rules)
    engine.fire(incident, "record_triage", actor=specialist, payload=intake_payload(advice, rules))
    print(
        f"  reported by {reporter.id}, triage recorded by {specialist.id} under {advice.plan_ref}"
    )

    decision: dict[str, object] = {
        "response_type": advice.default_response,
        "basis": advice.pathway.value,
        "rationale": "plan_planned_response",
        "plan_priority_id": advice.priorities[0].split("#")[-1],
    }
    try:
        engine.fire(incident, "decide_response", actor=specialist, payload=decision)
    except CommandRejected as refused:
        print(f"  {specialist.id} may not decide it: {refused.message} ({refused.code})")
    else:
        print("  the patient safety specialist was allowed to decide: the plan says otherwise")
        return False
    decided = engine.fire(incident, "decide_response", actor=matron, payload=decision)
    print(f"  {matron.id} decides: {decided.case.facts['response_type']} ({decided.case.state})")

    relayed = relay.run_until_idle()
    response = learning_response_id(incident, decided.case.version)
    opened = engine.get(response, reader=READER)
    print(f"  the relay applied {relayed.applied} message(s): {response} is {opened.workflow}")

    clock.advance(timedelta(hours=2))
    engine.fire(
        response, "assign_facilitator", actor=specialist, payload={"facilitator_id": facilitator}
    )
    timescale = plan.timescale_for(str(advice.default_response))
    print(
        f"  {facilitator} is named facilitator on {_when(clock.now())}; the plan allows {timescale}"
    )
    rows = engine.find_deadlines(DeadlineQuery(case_ids={response}), reader=READER)
    for row in rows:
        day = row.due_date
        due = f"{day:%a} {day.day} {day:%b %Y}" if day else "(an hours rule)"
        print(f"    {row.kind:<16} due {due}, late from {_when(row.due_at)}")
    return bool(rows) and all(engine.verify(c, reader=READER).ok for c in (incident, response))


def main() -> int:
    """Parse arguments, triage the incidents and walk the first through to its response."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", type=Path, default=PLAN_FILE, help="the plan's TOML file")
    plan_file = parser.parse_args().plan
    plan = load_plan_file(plan_file)
    rules = load_national_rules()
    print(f"Plan {plan.ref} of {plan.plan.organisation}: {plan.plan.title}")
    print(f"National rules {rules.version}\n")

    print("1. Triage under the plan and the national rules")
    for facts in INCIDENTS:
        show(triage(facts, plan, rules))

    print(f"\n2. {INCIDENTS[0].incident_id} through intake to the decision the plan gives")
    ok = walk_through(plan, rules, INCIDENTS[0])
    print(f"\nAudit trails verified: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
