"""Candour findings through the coupling, on the memory store and on SQLite (reg 20(4)(c)).

An intake decision opens a PSII and a duty-of-candour case (psirf-rules §9.4); approving
the PSII makes its findings due on the candour case through the outbox, and the candour
case completes with the results letter. The candour step loads the learning response it
names before deciding (a ``CASE_REF`` field), so this runs on both store kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from psirf_flow import Actor, Engine, GuardFailed, InMemoryStore, Role
from psirf_flow.domain import SystemReader
from psirf_flow.relay import OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import candour_case_id, learning_response_id


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
HCP = Actor("hcp-01", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
ENG = Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG)
NEVER_EVENT = "psirf.national.never_event@1"
VERBAL = {
    "in_person": True,
    "facts_given": True,
    "further_enquiries_explained": True,
    "apology_given": True,
    "support_offered": True,
    "verbal_record_ref": "DOC-VERBAL-1",
    "relevant_person_basis": "patient",
}
WRITTEN = {
    "facts_included": True,
    "enquiries_included": True,
    "results_to_date_included": True,
    "apology_included": True,
    "written_copy_ref": "DOC-LETTER-1",
    "written_delivery": "post",
}
FINDINGS = {"results_letter_ref": "DOC-RESULTS-1", "results_delivery": "post"}


@pytest.fixture(name="engine", params=["memory", "sqlite"])
def _engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on the in-memory store, then on a migrated SQLite file."""
    if request.param == "memory":
        yield Engine(InMemoryStore(), clock=ManualClock())
        return
    store = SqlStore.open(str(tmp_path / "cases.sqlite3"), migrate=True)
    try:
        yield Engine(store, clock=ManualClock())
    finally:
        store.dispose()


def _decided(engine: Engine, case_id: str = "INC-1") -> str:
    """An intake with severe harm and a Never Event, decided as a PSII."""
    engine.open(
        "incident_intake",
        actor=PSS,
        case_id=case_id,
        payload={"incident_id": case_id, "physical_harm": "severe"},
    )
    engine.fire(case_id, "begin_review", actor=PSS)
    engine.fire(
        case_id,
        "record_triage",
        actor=PSS,
        payload={
            "national_rule_refs": [NEVER_EVENT],
            "national_psii_rule_refs": [NEVER_EVENT],
            "plan_ref": "RXY-PSIRP@3",
        },
    )
    engine.fire(
        case_id,
        "decide_response",
        actor=PSS,
        payload={
            "response_type": "psii",
            "basis": "national_requirement",
            "rationale": "national_requirement_applies",
        },
    )
    return case_id


def test_findings_shared_after_the_coupled_approval(
    engine: Engine, psii_to_approval: Callable[[str], Any]
) -> None:
    """The coupling records the approval; the results letter then completes the case."""
    intake = _decided(engine)
    relay = OutboxRelay(engine)
    relay.run_until_idle()
    response_id = learning_response_id(intake, 4)
    candour_id = candour_case_id(intake)
    engine.fire(
        candour_id,
        "determine_notifiable",
        actor=HCP,
        payload={"harm_category": "severe", "harm_basis": "appears_to_have_resulted"},
    )
    engine.fire(candour_id, "record_verbal_notification", actor=HCP, payload=VERBAL)
    engine.fire(candour_id, "record_written_notification", actor=ENG, payload=WRITTEN)
    with pytest.raises(GuardFailed) as early:
        engine.fire(candour_id, "record_findings_shared", actor=ENG, payload=FINDINGS)

    psii_to_approval(response_id)
    report = relay.run_until_idle()
    done = engine.fire(candour_id, "record_findings_shared", actor=ENG, payload=FINDINGS).case

    assert early.value.reason_code == "findings_not_available"
    assert report == RelayReport(applied=1)
    assert done.state == "complete"
    assert done.facts["learning_response_id"] == response_id
    assert [e.trigger for e in engine.history(candour_id, reader=READER)][-2:] == [
        "learning_response_approved",
        "record_findings_shared",
    ]
    assert engine.verify(candour_id, reader=READER).ok
