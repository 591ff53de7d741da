"""One incident, all its records: ``Engine.incident_records`` (issue 9 point 11).

The intake, its learning responses, the duty-of-candour case, the referrals and the safety
actions hanging from the learning responses, each with its workflow and state, read from
the incident links the engine writes (psirf-rules §9.4). Another organisation's records
are left out exactly like missing ones (psirf-rules §5, the separation of organisations).
"""

from __future__ import annotations

import pytest

from psirf_flow import (
    Actor,
    Engine,
    IncidentRecord,
    InMemoryStore,
    InvalidInput,
    Role,
)
from psirf_flow.domain import SystemReader
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import candour_case_id, learning_response_id


ORG = "RX9"
OTHER = "RY1"
ICB_ORG = "QWE"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
OTHER_PSS = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], OTHER)
OTHER_REPORTER = Actor("rep-9", [Role.REPORTER], OTHER)
ICB = Actor("icb-1", [Role.ICB_OVERSIGHT], ICB_ORG)
STAFF_ELSEWHERE = Actor("icb-2", [Role.PATIENT_SAFETY_SPECIALIST], ICB_ORG)
SYSTEM = SystemReader("dashboards")


@pytest.fixture(name="engine")
def _engine(clock: ManualClock) -> Engine:
    """An engine without a plan whose ICB oversees the organisation of these tests."""
    return Engine(InMemoryStore(), clock=clock, oversight={ICB_ORG: [ORG]})


def _records(engine: Engine) -> str:
    """An intake referred, with a local PSII, candour screening and a safety action."""
    engine.open(
        "incident_intake",
        actor=REPORTER,
        case_id="INT-1",
        payload={"incident_id": "INC-1", "physical_harm": "severe"},
    )
    engine.fire("INT-1", "begin_review", actor=PSS)
    engine.fire(
        "INT-1",
        "record_triage",
        actor=PSS,
        payload={"plan_ref": "p@1", "national_rule_refs": ["child_death@2"]},
    )
    engine.fire("INT-1", "refer", actor=PSS, payload={"referral_body": "cdop"})  # entry 4
    engine.fire(
        "INT-1",
        "commission_local_response",
        actor=PSS,
        payload={
            "response_type": "psii",
            "basis": "national_requirement",
            "rationale": "national_requirement_applies",
        },
    )  # entry 5
    OutboxRelay(engine).run_until_idle()
    engine.open(
        "safety_action",
        actor=PSS,
        case_id="SA-1",
        payload={
            "learning_response_ids": [learning_response_id("INT-1", 5)],
            "area_for_improvement_ids": ["AFI-1"],
        },
    )
    # Another organisation's records of an incident with the same id.
    engine.open(
        "incident_intake", actor=OTHER_REPORTER, case_id="RY1-INT", payload={"incident_id": "INC-1"}
    )
    return "INC-1"


EXPECTED = (
    IncidentRecord("INT-1", "incident_intake", "intake", "referred", ORG, 5),
    IncidentRecord("INT-1/lr5", "psii", "learning_response", "commissioned", ORG, 1),
    IncidentRecord(
        candour_case_id("INT-1"), "duty_of_candour", "duty_of_candour", "assessing", ORG, 1
    ),
    IncidentRecord("INT-1/ref4", "referral", "referral", "to_notify", ORG, 1),
    IncidentRecord("SA-1", "safety_action", "safety_action", "proposed", ORG, 1),
)


def test_every_record_with_its_state(engine: Engine) -> None:
    """Intake, learning response, candour, referral and safety action, in that order."""
    incident = _records(engine)

    result = engine.incident_records(incident, reader=PSS)

    assert result == EXPECTED


def test_states_are_current(engine: Engine) -> None:
    """A record's state is the one it has now."""
    incident = _records(engine)
    engine.fire(
        "INT-1/ref4",
        "record_notification",
        actor=PSS,
        payload={"notification_ref": "CDOP-1", "notification_date": "2026-01-05"},
    )

    referral = next(
        r for r in engine.incident_records(incident, reader=PSS) if r.family == "referral"
    )

    assert (referral.state, referral.version) == ("notified", 2)


@pytest.mark.parametrize(
    ("reader", "organisation", "expected"),
    [
        pytest.param(EXEC, None, EXPECTED, id="own-organisation"),
        pytest.param(ICB, ORG, EXPECTED, id="icb-overseeing"),
        pytest.param(SYSTEM, ORG, EXPECTED, id="system-reader"),
        pytest.param(OTHER_PSS, ORG, (), id="other-organisation-sees-nothing"),
        pytest.param(STAFF_ELSEWHERE, ORG, (), id="icb-staff-without-the-oversight-role"),
        pytest.param(ICB, None, (), id="icb-own-organisation-has-none"),
    ],
)
def test_who_sees_what(
    engine: Engine,
    reader: Actor | SystemReader,
    organisation: str | None,
    expected: tuple[IncidentRecord, ...],
) -> None:
    """Records the reader may not see are left out like missing ones."""
    incident = _records(engine)

    assert engine.incident_records(incident, reader=reader, organisation=organisation) == expected


def test_other_organisation_reads_its_own(engine: Engine) -> None:
    """The same incident id in another organisation is that organisation's own incident."""
    incident = _records(engine)

    assert engine.incident_records(incident, reader=OTHER_PSS) == (
        IncidentRecord("RY1-INT", "incident_intake", "intake", "reported", OTHER, 1),
    )


def test_unknown_incident_has_no_records(engine: Engine) -> None:
    """An incident nothing is linked to has no records (not an error)."""
    assert engine.incident_records("INC-404", reader=PSS) == ()


@pytest.mark.parametrize(
    ("incident", "reader", "organisation", "argument"),
    [
        pytest.param("INC 1", PSS, None, "incident_id", id="bad-incident-id"),
        pytest.param("INC-1", SYSTEM, None, "organisation", id="system-reader-names-none"),
        pytest.param("INC-1", PSS, "R X", "organisation", id="bad-organisation"),
        pytest.param("INC-1", "pss-1", None, "reader", id="not-a-reader"),
    ],
)
def test_bad_arguments_are_refused(
    engine: Engine, incident: str, reader: object, organisation: str | None, argument: str
) -> None:
    """Bad arguments raise InvalidInput naming the argument."""
    with pytest.raises(InvalidInput) as error:
        engine.incident_records(incident, reader=reader, organisation=organisation)  # type: ignore[arg-type]

    assert error.value.argument == argument
