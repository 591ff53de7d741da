"""Lead independence across couplings: staff involved travel from intake to response (§5)."""

from __future__ import annotations

import pytest

from psirf_flow import Actor, Engine, GuardFailed, InMemoryStore, Role
from psirf_flow.domain import SystemReader
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import learning_response_id


READER = SystemReader("test-suite")
ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)
NEVER_EVENT = "psirf.national.never_event@1"


@pytest.fixture(name="engine")
def _engine() -> Engine:
    return Engine(InMemoryStore(), clock=ManualClock())


def _psii_from_triage(engine: Engine, *, later_staff: list[str] | None = None) -> str:
    """An intake reporting staff involved, decided as a PSII, relayed; the PSII's id."""
    engine.open(
        "incident_intake",
        actor=PSS,
        case_id="INC-1",
        payload={
            "incident_id": "INC-1",
            "involved_staff_ids": ["nurse-4"],
            "involved_line_manager_ids": ["ward-mgr-2"],
        },
    )
    engine.fire("INC-1", "begin_review", actor=PSS)
    if later_staff is not None:
        engine.fire(
            "INC-1",
            "record_staff_involved",
            actor=PSS,
            payload={
                "involved_staff_ids": later_staff,
                "involved_line_manager_ids": ["ward-mgr-2"],
            },
        )
    engine.fire(
        "INC-1",
        "record_triage",
        actor=PSS,
        payload={
            "national_rule_refs": [NEVER_EVENT],
            "national_psii_rule_refs": [NEVER_EVENT],
            "plan_ref": "RXY-PSIRP@3",
        },
    )
    engine.fire(
        "INC-1",
        "decide_response",
        actor=PSS,
        payload={
            "response_type": "psii",
            "basis": "national_requirement",
            "rationale": "national_requirement_applies",
        },
    )
    OutboxRelay(engine).run_until_idle()
    return learning_response_id("INC-1", 4 if later_staff is None else 5)


def _assign(engine: Engine, case_id: str, lead: str, engagement: str = "eng-03") -> None:
    engine.fire(
        case_id,
        "assign_lead",
        actor=PSS,
        payload={"lead_id": lead, "engagement_lead_id": engagement},
    )


class TestAcrossTheCoupling:
    """A PSII opened from triage knows who was involved."""

    def test_psii_from_triage_refuses_an_involved_lead(self, engine: Engine) -> None:
        """Issue 9 item 7, §5 rule 1: end to end through the relay, an involved lead is refused."""
        psii = _psii_from_triage(engine)

        with pytest.raises(GuardFailed) as refused:
            _assign(engine, psii, "NURSE-4")

        assert refused.value.reason_code == "lead_involved_in_incident"
        assert engine.get(psii, reader=READER).facts["involved_staff_ids"] == ("nurse-4",)

    def test_psii_from_triage_refuses_the_line_manager(self, engine: Engine) -> None:
        """§5 rule 1: the line manager of staff involved cannot lead either."""
        psii = _psii_from_triage(engine)

        with pytest.raises(GuardFailed) as refused:
            _assign(engine, psii, "ward-mgr-2")

        assert refused.value.reason_code == "lead_line_manages_involved_staff"

    def test_staff_added_at_triage_travel_too(self, engine: Engine) -> None:
        """Staff recorded in a later intake step are carried; the engagement lead is checked."""
        psii = _psii_from_triage(engine, later_staff=["nurse-4", "hca-9"])

        with pytest.raises(GuardFailed) as refused:
            _assign(engine, psii, "inv-07", engagement="hca-9")

        assert refused.value.reason_code == "lead_involved_in_incident"
        assert engine.get(psii, reader=READER).facts["involved_staff_ids"] == ("hca-9", "nurse-4")

    def test_audit_entry_records_which_list_was_checked(self, engine: Engine) -> None:
        """Each independence check's audit entry carries the list's counts and digest."""
        psii = _psii_from_triage(engine)

        _assign(engine, psii, "inv-07")

        entry = engine.history(psii, reader=READER)[-1]
        [(name, ok, code)] = [g for g in entry.guards if g[0] == "lead_independent"]
        assert (name, ok) == ("lead_independent", True)
        assert code.startswith("ok:staff:1+1:")
        assert len(code.rsplit(":", 1)[1]) == 16
        assert "nurse-4" not in code


class TestDuringTheResponse:
    """Staff found to be involved later are added on the response; checks use the new list."""

    def test_peer_reviewer_added_as_involved_is_refused(self, engine: Engine) -> None:
        """§5 rule 1: the current list, not the one at commissioning, is checked."""
        psii = _psii_from_triage(engine)
        _assign(engine, psii, "inv-07")
        engine.fire(
            psii,
            "record_staff_involved",
            actor=PSS,
            payload={"involved_staff_ids": ["nurse-4", "nurse-5"]},
        )

        reviewer = Actor("nurse-5", [Role.PEER_REVIEWER], ORG)
        for trigger, payload in (
            ("begin_gathering", {}),
            ("complete_analysis", {}),
            ("submit_draft", {"draft_ref": "D-1"}),
        ):
            engine.fire(psii, trigger, actor=LEAD, payload=payload)
        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                psii, "record_peer_review", actor=reviewer, payload={"peer_review_ref": "P"}
            )

        assert refused.value.reason_code == "reviewer_involved_in_incident"

    def test_a_list_never_drops_anyone(self, engine: Engine) -> None:
        """§5 rule 1: nobody is made independent by taking them off the list."""
        psii = _psii_from_triage(engine)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                psii,
                "record_staff_involved",
                actor=PSS,
                payload={"involved_staff_ids": ["nurse-5"]},
            )

        assert refused.value.reason_code == "staff_involved_dropped"
        assert engine.get(psii, reader=READER).facts["involved_staff_ids"] == ("nurse-4",)

    def test_intake_list_never_drops_anyone(self, engine: Engine) -> None:
        """The intake's list only grows too."""
        engine.open(
            "incident_intake",
            actor=PSS,
            case_id="INC-2",
            payload={"incident_id": "INC-2", "involved_staff_ids": ["nurse-4"]},
        )

        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                "INC-2", "record_staff_involved", actor=PSS, payload={"involved_staff_ids": []}
            )

        assert refused.value.reason_code == "staff_involved_dropped"
