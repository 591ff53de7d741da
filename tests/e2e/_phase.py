"""Child process for the end-to-end test: one phase of work, then the process ends.

``report``: report an incident, triage it against the example plan and decide a PSII, then
exit without relaying the couplings the decision wrote to the outbox.

``half-relay``: apply the first pending coupling exactly as the relay would (same actor,
same private path and idempotency key), then die before marking it delivered.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from psirf_flow import Actor, Engine, Role
from psirf_flow.policy import (
    IncidentFacts,
    PhysicalHarm,
    intake_payload,
    load_national_rules,
    load_plan_file,
    triage,
)
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import read_follow_up


PLAN = Path(__file__).resolve().parents[2] / "examples" / "plan-mental-health-community-trust.toml"


def report(db: str) -> None:
    """Report, triage and decide; leave the couplings pending."""
    plan = load_plan_file(PLAN)
    rules = load_national_rules()
    org = plan.plan.organisation
    pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], org)
    store = SqlStore.open(db, migrate=True)
    engine = Engine(store, clock=ManualClock(datetime(2026, 5, 4, 9, tzinfo=UTC)))
    engine.open(
        "incident_intake",
        actor=pss,
        case_id="INC-7",
        payload={"incident_id": "INC-7", "lfpse_ref": "LFPSE-123", "physical_harm": "fatal"},
    )
    engine.fire("INC-7", "begin_review", actor=pss)
    facts = IncidentFacts(
        incident_id="INC-7",
        occurred_on=date(2026, 5, 1),
        physical_harm=PhysicalHarm.FATAL,
        died=True,
        death_more_likely_than_not_due_to_problems_in_care=True,
    )
    recommendation = triage(facts, plan, rules)
    engine.fire("INC-7", "record_triage", actor=pss, payload=intake_payload(recommendation, rules))
    engine.fire(
        "INC-7",
        "decide_response",
        actor=pss,
        payload={
            "response_type": recommendation.default_response,
            "basis": "national_requirement",
            "rationale": "national_requirement_applies",
        },
    )
    store.dispose()


def half_relay(db: str) -> None:
    """Apply the first pending reaction, then die before marking it."""
    store = SqlStore.open(db)
    engine = Engine(store, clock=ManualClock(datetime(2026, 5, 4, 10, tzinfo=UTC)))
    message = store.pending_outbox(1)[0]
    follow_up = read_follow_up(message)
    assert follow_up is not None
    engine._apply_follow_up(
        follow_up,
        workflow=follow_up.workflow,
        organisation=store.load(message.case_id).organisation,
        idempotency_key=message.id,
    )
    print(message.id, flush=True)
    os._exit(9)  # dies here: the message is never marked delivered


if __name__ == "__main__":
    {"report": report, "half-relay": half_relay}[sys.argv[1]](sys.argv[2])
