"""One incident end to end: report, triage, PSII, duty of candour and two safety actions.

The work is persisted to a SQLite file and done by several processes in turn: a child
process reports and triages the incident and ends with the couplings still pending;
another applies the first coupling and dies before marking it delivered; this process,
restarted against the same file, relays the rest and carries everything to closure. Each
coupling must take effect exactly once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from psirf_flow import Actor, Engine, Role
from psirf_flow.audit import verify_chain
from psirf_flow.domain import SystemReader
from psirf_flow.policy import load_plan_file
from psirf_flow.relay import SYSTEM_ACTOR_ID, OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

HERE = Path(__file__).resolve().parent
PLAN = HERE.parents[1] / "examples" / "plan-mental-health-community-trust.toml"
INTAKE = "INC-7"
RESPONSE = "INC-7/lr4"
CANDOUR = "INC-7/doc"
ORG = "RX9"

PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENGAGEMENT = Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG)
REVIEWER = Actor("rev-05", [Role.PEER_REVIEWER], ORG)
SENIOR = Actor("sl-08", [Role.SENIOR_LEADER], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)
HCP = Actor("hcp-04", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
OWNERS = (
    Actor("own-11", [Role.ACTION_OWNER], ORG),
    Actor("own-12", [Role.ACTION_OWNER], ORG),
)


def _child(phase: str, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HERE / "_phase.py"), phase, str(db)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


class Session:
    """One 'process' worth of objects over the database file, as after a restart."""

    def __init__(self, db: Path, clock: ManualClock) -> None:
        self.store = SqlStore.open(str(db))
        self.clock = clock
        self.engine = Engine(self.store, clock=clock)
        self.relay = OutboxRelay(
            self.engine, response_types=load_plan_file(PLAN).response_variants()
        )

    def fire(
        self, case_id: str, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None
    ) -> None:
        """Fire a step a day after the previous one, adding any further required choice."""
        self.clock.advance(timedelta(days=1))
        spec = self.engine.definition_for(self.engine.get(case_id, reader=READER)).transition(
            trigger
        )
        assert spec is not None
        full = dict(payload or {})
        for field in spec.fields:
            if field.required and field.name not in full and field.choices:
                full[field.name] = field.choices[0]
        self.engine.fire(case_id, trigger, actor=actor, payload=full)


@pytest.fixture(name="db")
def _db(tmp_path: Path) -> Path:
    return tmp_path / "trust.sqlite3"


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock(datetime(2026, 5, 5, 9, tzinfo=UTC))


def _run_psii_to_approval(s: Session) -> None:
    s.fire(RESPONSE, "assign_lead", PSS, {"lead_id": LEAD.id, "engagement_lead_id": ENGAGEMENT.id})
    s.fire(RESPONSE, "record_terms_of_reference", LEAD, {"terms_of_reference_ref": "TOR-7"})
    s.fire(
        RESPONSE,
        "record_engagement",
        ENGAGEMENT,
        {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
    )
    s.fire(RESPONSE, "begin_gathering", LEAD)
    s.fire(RESPONSE, "complete_analysis", LEAD)
    s.fire(RESPONSE, "submit_draft", LEAD, {"draft_ref": "DRAFT-7"})
    s.fire(RESPONSE, "record_peer_review", REVIEWER, {"peer_review_ref": "PR-7"})
    s.fire(
        RESPONSE, "record_expert_input", LEAD, {"expert_input": "panel", "expert_ids": ["sme-1"]}
    )
    s.fire(RESPONSE, "record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"})
    s.fire(
        RESPONSE,
        "record_family_draft_response",
        ENGAGEMENT,
        {"family_draft_response": "commented"},
    )
    s.fire(RESPONSE, "agree_findings", SENIOR)
    s.fire(RESPONSE, "request_approval", LEAD)
    s.fire(RESPONSE, "approve", EXEC, {"report_ref": "REPORT-7"})


def _run_candour(s: Session) -> None:
    s.fire(CANDOUR, "determine_notifiable", HCP, {"harm_category": "fatal"})
    s.fire(
        CANDOUR,
        "record_verbal_notification",
        HCP,
        {
            "in_person": True,
            "facts_given": True,
            "further_enquiries_explained": True,
            "apology_given": True,
            "support_offered": True,
            "verbal_record_ref": "DOC-V-7",
            "relevant_person_basis": "on_death",
        },
    )
    s.fire(
        CANDOUR,
        "record_written_notification",
        ENGAGEMENT,
        {
            "facts_included": True,
            "enquiries_included": True,
            "results_to_date_included": True,
            "apology_included": True,
            "written_copy_ref": "DOC-W-7",
        },
    )


def _run_safety_action(s: Session, number: int, owner: Actor) -> str:
    case_id = f"SA-7-{number}"
    s.engine.open(
        "safety_action",
        actor=LEAD,
        case_id=case_id,
        payload={
            "learning_response_ids": [RESPONSE],
            "area_for_improvement_ids": [f"AFI-{number}"],
            "owner_id": owner.id,
            "measure_ref": f"M-{number}",
            "baseline_ref": f"B-{number}",
            "target_ref": f"T-{number}",
            "due_on": "2026-12-01",
        },
    )
    s.fire(case_id, "agree", owner)
    s.fire(case_id, "start", owner)
    s.fire(case_id, "attach_evidence", owner, {"evidence_ref": f"EV-{number}"})
    s.fire(case_id, "mark_implemented", owner)
    s.fire(
        case_id,
        "begin_monitoring",
        owner,
        {"monitoring_until": "2027-03-01", "data_source_ref": f"DS-{number}"},
    )
    return case_id


@pytest.mark.slow
def test_incident_reaches_closure_with_couplings_applied_exactly_once(
    db: Path, clock: ManualClock
) -> None:
    """Report → triage → PSII, candour and two safety actions close; couplings apply once."""
    reported = _child("report", db)
    assert reported.returncode == 0, reported.stderr
    died = _child("half-relay", db)
    assert died.returncode == 9, died.stderr
    half_applied = died.stdout.strip().splitlines()[-1]

    # A restarted process relays what is pending: one reaction was applied already.
    first = Session(db, clock)
    assert first.relay.run_until_idle() == RelayReport(applied=1, replayed=1)
    first.store.dispose()

    # Another restart: nothing is left to apply.
    s = Session(db, clock)
    assert s.relay.run_until_idle() == RelayReport()
    assert s.engine.get(RESPONSE, reader=READER).workflow == "psii"
    assert s.engine.get(CANDOUR, reader=READER).state == "assessing"

    _run_candour(s)
    _run_psii_to_approval(s)
    assert s.relay.run_until_idle() == RelayReport(applied=1)
    s.fire(
        CANDOUR,
        "record_findings_shared",
        ENGAGEMENT,
        {"results_letter_ref": "DOC-R-7"},
    )
    actions = [_run_safety_action(s, n, owner) for n, owner in enumerate(OWNERS, start=1)]
    s.fire(RESPONSE, "share", ENGAGEMENT, {"family_sharing": "shared"})
    # Open safety actions never block closure (psirf-rules §6 design note).
    s.fire(RESPONSE, "close", PSS, {"safety_action_ids": actions})
    for case_id in actions:
        s.fire(
            case_id,
            "confirm_effective",
            PSS,
            {"effectiveness_review_ref": f"ER-{case_id}", "target_met": True},
        )

    states = {
        c: s.engine.get(c, reader=READER).state for c in (INTAKE, RESPONSE, CANDOUR, *actions)
    }
    assert states == {
        INTAKE: "response_decided",
        RESPONSE: "closed",
        CANDOUR: "complete",
        actions[0]: "closed_effective",
        actions[1]: "closed_effective",
    }
    for case_id in states:
        case = s.engine.get(case_id, reader=READER)
        result = verify_chain(
            case_id,
            s.engine.history(case_id, reader=READER),
            head_hash=case.head_hash,
            expected_entries=case.version,
        )
        assert result.ok, (case_id, result)

    coupled = [
        (case_id, entry.trigger)
        for case_id in states
        for entry in s.engine.history(case_id, reader=READER)
        if entry.actor_id == SYSTEM_ACTOR_ID
    ]
    assert sorted(coupled) == [
        (CANDOUR, "learning_response_approved"),
        (CANDOUR, "open"),
        (RESPONSE, "open"),
    ]
    approved_at = next(
        e.sequence for e in s.engine.history(RESPONSE, reader=READER) if e.trigger == "approve"
    )
    outcomes = {m.id: m.outcome for case_id in states for m in s.store.outbox(case_id)}
    # Candour screening starts at the report (entry 1), before the decision (entry 4).
    assert half_applied == f"{INTAKE}#1/open_candour_screening"
    assert outcomes == {
        f"{INTAKE}#1/open_candour_screening": "replayed",
        f"{INTAKE}#4/open_learning_response": "applied",
        f"{RESPONSE}#{approved_at}/findings_due_on_approval": "applied",
    }
    assert s.store.pending_outbox(10) == ()
    assert s.engine.get(RESPONSE, reader=READER).retention_class == "serious"
    s.store.dispose()
