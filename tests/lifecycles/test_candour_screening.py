"""Duty-of-candour screening from the report on, re-screened on every re-grade (§4.2, §9.4)."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    CaseNotFound,
    CommandRejected,
    DefinitionRegistry,
    Engine,
    InMemoryStore,
    InvalidPayload,
    Role,
)
from psirf_flow.domain import SystemReader
from psirf_flow.policy.harm import PHYSICAL_HARM_CODES, PSYCHOLOGICAL_HARM_CODES, harm_screened
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import DUTY_OF_CANDOUR, INTAKE, FieldSpec, WorkflowDefinition, define
from psirf_flow.workflows.couplings import (
    COUPLINGS,
    candour_case_id,
    coupling_messages,
    learning_response_id,
)


READER = SystemReader("test-suite")
ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
HCP = Actor("hcp-02", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
NEVER_EVENT = "psirf.national.never_event@1"
DOC = candour_case_id("INC-1")


@pytest.fixture(name="engine")
def _engine() -> Engine:
    return Engine(InMemoryStore(), clock=ManualClock())


def _report(engine: Engine, **harm: str) -> None:
    engine.open(
        "incident_intake", actor=PSS, case_id="INC-1", payload={"incident_id": "INC-1", **harm}
    )


def _regrade(engine: Engine, **harm: str) -> None:
    engine.fire("INC-1", "update_incident_record", actor=PSS, payload=harm)


def _outcomes(engine: Engine) -> dict[str, str | None]:
    return {m.id: m.outcome for m in engine.store.outbox("INC-1")}


def _decide(engine: Engine) -> None:
    engine.fire("INC-1", "begin_review", actor=PSS)
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


class TestFromTheStart:
    """A health care professional can determine notifiability while triage is under way."""

    def test_harm_at_the_report_opens_the_assessment(self, engine: Engine) -> None:
        """§9.4: moderate harm at the report opens candour while the intake is reported."""
        _report(engine, physical_harm="moderate")

        OutboxRelay(engine).run_until_idle()
        engine.fire(
            DOC,
            "determine_notifiable",
            actor=HCP,
            payload={"harm_category": "moderate", "harm_basis": "appears_to_have_resulted"},
        )

        assert engine.get("INC-1", reader=READER).state == "reported"
        candour = engine.get(DOC, reader=READER)
        assert (candour.state, candour.facts["determined_by"]) == ("verbal_due", "hcp-02")
        assert candour.facts["screening_basis"] == "harm_recorded_moderate_or_above"

    def test_a_professional_opens_it_before_harm_is_graded(self, engine: Engine) -> None:
        """Reg 20(8) "could result in": an HCP screens a reported incident; grading joins it."""
        _report(engine)
        engine.open(
            "duty_of_candour",
            actor=HCP,
            case_id=DOC,
            payload={
                "incident_ids": ["INC-1"],
                "intake_case_id": "INC-1",
                "screening_basis": "could_result_in_harm",
            },
        )
        _regrade(engine, physical_harm="severe")

        report = OutboxRelay(engine).run_until_idle()

        assert (report.applied, report.skipped, report.dead, report.rejected) == (0, 2, 0, 0)
        assert _outcomes(engine)["INC-1#2/open_candour_screening"] == "skipped:case_exists"
        assert engine.get(DOC, reader=READER).state == "assessing"

    def test_no_or_low_harm_opens_nothing(self, engine: Engine) -> None:
        """§9.4: below moderate there is no screening message."""
        _report(engine, physical_harm="low", psychological_harm="low")
        _regrade(engine, physical_harm="none", psychological_harm="none")

        assert engine.store.outbox("INC-1") == ()


class TestRescreening:
    """Any re-grade, at any stage, re-screens."""

    def test_regrade_up_opens_the_assessment(self, engine: Engine) -> None:
        """§9.4: a re-grade to moderate psychological harm opens the candour case."""
        _report(engine, physical_harm="low")
        _regrade(engine, physical_harm="low", psychological_harm="moderate")

        OutboxRelay(engine).run_until_idle()

        assert engine.get(DOC, reader=READER).state == "assessing"
        assert _outcomes(engine) == {
            "INC-1#2/open_candour_screening": "applied",
            "INC-1#2/rescreen_candour": "skipped:not_allowed_in_state",
        }

    def test_regrade_down_records_the_reason_and_leaves_the_decision(self, engine: Engine) -> None:
        """Reg 20(8): out of the range the reason is recorded; the HCP still decides."""
        _report(engine, physical_harm="severe")
        OutboxRelay(engine).run_until_idle()
        _regrade(engine, physical_harm="low")

        OutboxRelay(engine).run_until_idle()

        candour = engine.get(DOC, reader=READER)
        assert candour.state == "assessing"
        assert candour.facts["regrade_reason"] == "no_longer_moderate_or_above"
        assert candour.facts["regraded_physical_harm"] == "low"
        assert candour.facts["caused_by"] == "INC-1#2"
        last = engine.history(DOC, reader=READER)[-1]
        assert (last.trigger, last.actor_id, last.role) == ("harm_regraded", "psirf-flow", "system")

    def test_regrade_up_reassesses_a_case_found_not_notifiable(self, engine: Engine) -> None:
        """§9.3 REOPENED: a not-notifiable case goes back to assessing when harm rises."""
        _report(engine, physical_harm="low")
        engine.open(
            "duty_of_candour",
            actor=HCP,
            case_id=DOC,
            payload={"incident_ids": ["INC-1"], "intake_case_id": "INC-1"},
        )
        engine.fire(
            DOC,
            "determine_not_notifiable",
            actor=HCP,
            payload={
                "harm_category": "low",
                "harm_basis": "appears_to_have_resulted",
                "not_notifiable_reason": "harm_below_threshold",
            },
        )
        _regrade(engine, physical_harm="fatal")

        OutboxRelay(engine).run_until_idle()

        candour = engine.get(DOC, reader=READER)
        assert candour.state == "assessing"
        assert candour.facts["reassess_reason"] == "harm_revised"
        assert "determined_by" not in candour.facts
        assert _outcomes(engine)["INC-1#2/rescreen_candour"] == "applied"

    def test_regrade_after_the_decision_rescreens(self, engine: Engine) -> None:
        """§9.4: a re-grade after the triage decision still opens the assessment."""
        _report(engine, physical_harm="none")
        _decide(engine)
        _regrade(engine, physical_harm="severe")

        OutboxRelay(engine).run_until_idle()

        assert engine.get("INC-1", reader=READER).state == "response_decided"
        assert engine.get(DOC, reader=READER).state == "assessing"

    def test_messages_hold_however_the_grading_changes_after(self, engine: Engine) -> None:
        """The relay checks each message against the grading at its cause, so none is dead."""
        _report(engine, physical_harm="none")
        _regrade(engine, physical_harm="moderate")
        _regrade(engine, physical_harm="none")
        _regrade(engine, physical_harm="severe")

        report = OutboxRelay(engine).run_until_idle()

        assert (report.dead, report.rejected) == (0, 0)
        assert engine.get(DOC, reader=READER).state == "assessing"

    def test_an_intake_opened_before_is_screened_at_its_decision(self, engine: Engine) -> None:
        """An intake without the preset screening fact still opens candour at its decision."""
        _report(engine, physical_harm="severe")
        _decide(engine)
        case = engine.get("INC-1", reader=READER)
        older = attrs.evolve(
            case,
            facts={k: v for k, v in case.facts.items() if k != "candour_screened_from_report"},
        )

        kinds = [
            m.kind
            for m in coupling_messages(
                COUPLINGS,
                case=older,
                family="intake",
                trigger="decide_response",
                sequence=4,
                now=case.updated_at,
            )
        ]
        current = coupling_messages(
            COUPLINGS,
            case=case,
            family="intake",
            trigger="decide_response",
            sequence=4,
            now=case.updated_at,
        )

        assert kinds == ["coupling.open_learning_response", "coupling.open_candour_screening"]
        assert [m.kind for m in current] == ["coupling.open_learning_response"]


class TestMissingTarget:
    """A re-screen with no candour case of the intake's organisation is skipped, not refused."""

    def test_another_organisations_case_is_no_target(self, engine: Engine) -> None:
        """Another organisation's case under the id is absent to the coupling: skipped."""
        other = Actor("hcp-99", [Role.HEALTH_CARE_PROFESSIONAL], "QWE")
        engine.open(
            "duty_of_candour",
            actor=other,
            case_id=DOC,
            payload={"incident_ids": ["INC-1"], "intake_case_id": "INC-1"},
        )
        _report(engine, physical_harm="severe")
        _regrade(engine, physical_harm="low")

        report = OutboxRelay(engine).run_until_idle()

        assert (report.dead, report.skipped, report.rejected) == (1, 1, 0)
        assert _outcomes(engine) == {
            "INC-1#1/open_candour_screening": "dead:case_id_taken",
            "INC-1#2/rescreen_candour": "skipped:no_target_case",
        }
        assert engine.get(DOC, reader=READER).organisation == "QWE"


class TestReopen:
    """A completed candour case can be reopened when the facts change."""

    def _complete_recorded(self, engine: Engine) -> None:
        _report(engine, physical_harm="severe")
        OutboxRelay(engine).run_until_idle()
        engine.fire(
            DOC,
            "determine_notifiable",
            actor=HCP,
            payload={"harm_category": "severe", "harm_basis": "appears_to_have_resulted"},
        )
        engine.fire(DOC, "record_declined", actor=PSS, payload={"declined_record_ref": "DEC-1"})
        engine.fire(
            DOC, "mark_uncontactable_or_declined", actor=PSS, payload={"unable_reason": "declined"}
        )
        engine.fire(DOC, "close_recorded", actor=PSS, payload={"attempts_record_ref": "ATT-1"})

    def test_a_professional_reopens_it(self, engine: Engine) -> None:
        """§9.4 DoC REOPENED: an HCP, new information and a reason; assessed again."""
        self._complete_recorded(engine)

        done = engine.fire(
            DOC,
            "reopen",
            actor=HCP,
            payload={"new_information_ref": "INQ-4", "reopen_reason": "new_facts"},
        )

        assert done.case.state == "assessing"
        assert done.case.facts["reopened_by"] == "hcp-02"
        assert "determined_by" not in done.case.facts
        assert "closed_by" not in done.case.facts

    def test_only_a_professional_reopens_it(self, engine: Engine) -> None:
        """Reg 20(8): the specialist cannot reopen the determination."""
        self._complete_recorded(engine)

        with pytest.raises(CommandRejected) as refused:
            engine.fire(
                DOC,
                "reopen",
                actor=PSS,
                payload={"new_information_ref": "INQ-4", "reopen_reason": "new_facts"},
            )

        assert refused.value.reason_code == "role_not_permitted"


_GRADES = st.tuples(st.sampled_from(PHYSICAL_HARM_CODES), st.sampled_from(PSYCHOLOGICAL_HARM_CODES))


@settings(max_examples=40, deadline=None)
@given(
    first=_GRADES,
    regrades=st.lists(st.tuples(_GRADES, st.booleans()), max_size=6),
)
def test_screening_follows_any_sequence_of_gradings(
    first: tuple[str, str], regrades: list[tuple[tuple[str, str], bool]]
) -> None:
    """§9.4 invariant: a candour case exists iff a grading screened; no message is refused.

    Gradings are applied in any order, with the relay run between some of them or only at
    the end; with no health care professional acting, the case stays in ``assessing``.
    """
    engine = Engine(InMemoryStore(), clock=ManualClock())
    relay = OutboxRelay(engine)
    _report(engine, physical_harm=first[0], psychological_harm=first[1])
    reports = []
    for (physical, psychological), relay_now in regrades:
        _regrade(engine, physical_harm=physical, psychological_harm=psychological)
        if relay_now:
            reports.append(relay.run_until_idle())
    reports.append(relay.run_until_idle())

    gradings = [first, *(g for g, _ in regrades)]
    assert all((r.dead, r.rejected, r.failed) == (0, 0, 0) for r in reports)
    screened = any(harm_screened(*g) for g in gradings)
    try:
        candour = engine.get(DOC, reader=READER)
    except CaseNotFound:
        assert not screened
        return
    assert screened
    assert candour.state == "assessing"


def _old_intake() -> WorkflowDefinition:
    """intake@1 as it was before the one harm vocabulary: physical harm said ``no_harm``."""
    old_harm = FieldSpec.choice("physical_harm", ("no_harm", "low", "moderate", "severe", "fatal"))

    def older(fields: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
        return tuple(old_harm if f.name == "physical_harm" else f for f in fields)

    update = INTAKE.transitions["update_incident_record"]
    return define(
        name=INTAKE.name,
        version=INTAKE.version,
        family=INTAKE.family,
        title=INTAKE.title,
        states=INTAKE.states,
        initial=INTAKE.initial,
        final_states=INTAKE.final_states,
        opening=attrs.evolve(INTAKE.opening, fields=older(INTAKE.opening.fields), preset={}),
        transitions=[
            attrs.evolve(update, fields=older(update.fields)) if t is update else t
            for t in INTAKE.transitions.values()
        ],
    )


class TestOldCodes:
    """Cases recorded with the old words still verify, and are read in the new vocabulary."""

    def test_an_old_case_verifies_and_is_rescreened(self) -> None:
        """Audit entries are immutable: ``no_harm`` stays, reads as ``none``; re-grades work."""
        store = InMemoryStore()
        clock = ManualClock()
        old = Engine(
            store,
            clock=clock,
            definitions=DefinitionRegistry((_old_intake(), DUTY_OF_CANDOUR)),
        )
        _report(old, physical_harm="no_harm")
        assert old.store.outbox("INC-1") == ()
        engine = Engine(store, clock=clock)

        _regrade(engine, physical_harm="moderate")
        OutboxRelay(engine).run_until_idle()

        assert engine.verify("INC-1", reader=READER).ok
        assert engine.history("INC-1", reader=READER)[0].data["physical_harm"] == "no_harm"
        assert engine.get(DOC, reader=READER).state == "assessing"
        with pytest.raises(InvalidPayload):
            _regrade(engine, physical_harm="no_harm")


class TestFindingsAfterARegrade:
    """A response opened before a re-grade still tells the candour case it was approved."""

    def test_approval_reaches_a_candour_case_opened_after_the_decision(
        self, engine: Engine, psii_to_approval: Callable[[str], None]
    ) -> None:
        """Reg 20(4)(c), §9.4: the intake's candour case learns the response was approved."""
        _report(engine, physical_harm="low")
        _decide(engine)
        relay = OutboxRelay(engine)
        relay.run_until_idle()
        response = learning_response_id("INC-1", 4)
        assert "candour_case_id" not in engine.get(response, reader=READER).facts
        _regrade(engine, physical_harm="severe")
        relay.run_until_idle()

        psii_to_approval(response)
        relay.run_until_idle()

        candour = engine.get(DOC, reader=READER)
        assert candour.facts["learning_response_id"] == response
        assert candour.facts["learning_response_approved_ref"] == "REPORT-1"
        outcomes = {m.id: m.outcome for m in engine.store.outbox(response)}
        assert list(outcomes.values()) == ["applied"]

    def test_no_candour_case_is_skipped(
        self, engine: Engine, psii_to_approval: Callable[[str], None]
    ) -> None:
        """No candour case for the intake: the message is skipped, nothing is refused."""
        _report(engine, physical_harm="low")
        _decide(engine)
        relay = OutboxRelay(engine)
        relay.run_until_idle()
        response = learning_response_id("INC-1", 4)

        psii_to_approval(response)
        report = relay.run_until_idle()

        assert (report.skipped, report.rejected, report.dead) == (1, 0, 0)
        [message] = engine.store.outbox(response)
        assert (message.kind, message.outcome) == (
            "coupling.findings_due_via_intake",
            "skipped:no_target_case",
        )
