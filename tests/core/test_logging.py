"""Logging: one allow-listed event per command, and no patient data anywhere it could leak."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from psirf_flow import (
    CommandRejected,
    Engine,
    IdempotencyKeyReused,
    InvalidPayload,
    UnknownWorkflow,
)
from psirf_flow.audit import canonical_bytes
from psirf_flow.domain import SystemReader
from psirf_flow.errors import CaseNotFound
from psirf_flow.log import ALLOWED_KEYS, LOGGER_NAME, drop_unlisted_keys, get_logger, safe_fields


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

NAME = "Mrs Jane Smith"
NHS_NUMBER = "943 476 5919"
#: Every form in which the patient's details could show up.
LEAKS = ("Jane", "Smith", "943 476 5919", "9434765919", "943-476-5919")
NOTE = f"{NAME}, NHS number {NHS_NUMBER}, was distressed on the ward."


def leaked(text: str) -> list[str]:
    """The patient details found in ``text``."""
    return [fragment for fragment in LEAKS if fragment in text]


class TestOneEventPerCommand:
    """Exactly one event per accepted or rejected command, with allow-listed keys only."""

    def test_accepted_command(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """An accepted command logs one ``command_accepted`` event with its transition."""
        case = lifecycle.open()

        with capture_logs() as logs:
            engine.fire(
                case.id,
                "assign_lead",
                actor=cast.pss,
                payload={"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
            )

        assert len(logs) == 1
        event = logs[0]
        assert event["event"] == "psirf_flow.command_accepted"
        assert {k: event[k] for k in ("case_id", "trigger", "from_state", "to_state")} == {
            "case_id": case.id,
            "trigger": "assign_lead",
            "from_state": "commissioned",
            "to_state": "planning",
        }
        assert (event["actor_id"], event["role"], event["workflow"]) == (
            "pss-1",
            "patient_safety_specialist",
            "psii",
        )
        assert set(event) <= ALLOWED_KEYS

    def test_opening_is_one_event(self, engine: Engine, cast: Any) -> None:
        """Opening a case logs one accepted event."""
        with capture_logs() as logs:
            engine.open("psii", actor=cast.pss, payload={"incident_ids": ["INC-1"]})

        assert [e["event"] for e in logs] == ["psirf_flow.command_accepted"]
        assert logs[0]["trigger"] == "open"

    def test_foreign_case_logs_a_refused_read(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A step on another organisation's case logs one refused-read warning, nothing more."""
        case = lifecycle.to("planning")

        with capture_logs() as logs, pytest.raises(CaseNotFound):
            engine.fire(case.id, "begin_gathering", actor=cast.outsider)

        assert logs == [
            {
                "event": "psirf_flow.read_refused",
                "log_level": "warning",
                "case_id": case.id,
                "actor_id": cast.outsider.id,
            }
        ]

    @pytest.mark.parametrize(
        ("trigger", "actor_name", "payload", "code"),
        [
            pytest.param("nope", "lead", {}, "unknown_trigger", id="unknown-trigger"),
            pytest.param("approve", "executive", {}, "not_allowed_in_state", id="state"),
            pytest.param("begin_gathering", "senior", {}, "role_not_permitted", id="role"),
            pytest.param("hold", "executive", {"x": 1}, "invalid_payload", id="payload"),
            pytest.param(
                "begin_gathering", "other_lead", {}, "actor_not_assigned_lead", id="guard"
            ),
        ],
    )
    def test_rejected_command(
        self,
        *,
        lifecycle: Any,
        engine: Engine,
        cast: Any,
        trigger: str,
        actor_name: str,
        payload: dict[str, object],
        code: str,
    ) -> None:
        """A rejected command logs one ``command_rejected`` event with its reason code."""
        case = lifecycle.to("planning")

        with capture_logs() as logs, pytest.raises(CommandRejected):
            engine.fire(case.id, trigger, actor=getattr(cast, actor_name), payload=payload)

        assert len(logs) == 1
        assert logs[0]["event"] == "psirf_flow.command_rejected"
        assert logs[0]["reason_code"] == code
        assert logs[0]["case_id"] == case.id
        assert set(logs[0]) <= ALLOWED_KEYS

    def test_unknown_workflow_is_logged(self, engine: Engine, cast: Any) -> None:
        """Opening an unknown workflow logs one rejection."""
        with capture_logs() as logs, pytest.raises(UnknownWorkflow):
            engine.open("nope", actor=cast.pss, payload={"incident_ids": ["INC-1"]})

        assert [(e["event"], e["reason_code"]) for e in logs] == [
            ("psirf_flow.command_rejected", "unknown_workflow")
        ]
        assert set(logs[0]) <= ALLOWED_KEYS

    def test_reused_idempotency_key_is_logged(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A command refused for reusing a key logs one rejection (and not the key)."""
        case = lifecycle.to("planning")
        engine.fire(case.id, "begin_gathering", actor=cast.lead, idempotency_key="key-secret-1")

        with capture_logs() as logs, pytest.raises(IdempotencyKeyReused):
            engine.fire(
                case.id, "complete_analysis", actor=cast.lead, idempotency_key="key-secret-1"
            )

        assert [(e["event"], e["reason_code"]) for e in logs] == [
            ("psirf_flow.command_rejected", "idempotency_key_reused")
        ]
        assert "key-secret-1" not in repr(logs)
        assert set(logs[0]) <= ALLOWED_KEYS

    def test_replay_is_one_event(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """A replayed command logs one ``command_replayed`` event."""
        case = lifecycle.to("planning")
        engine.fire(case.id, "begin_gathering", actor=cast.lead, idempotency_key="k")

        with capture_logs() as logs:
            engine.fire(case.id, "begin_gathering", actor=cast.lead, idempotency_key="k")

        assert [e["event"] for e in logs] == ["psirf_flow.command_replayed"]
        assert set(logs[0]) <= ALLOWED_KEYS

    def test_every_event_of_a_lifecycle_is_allow_listed(self, lifecycle: Any) -> None:
        """A whole lifecycle logs one event per command and only allow-listed keys."""
        with capture_logs() as logs:
            case = lifecycle.to("closed")

        assert len(logs) == case.version
        for event in logs:
            assert set(event) <= ALLOWED_KEYS


class TestNoPatientData:
    """A patient's name and NHS number never reach logs, audit entries, history or facts."""

    def test_free_text_never_leaks(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Free-text notes naming a patient reach only as salted digests, everywhere."""
        case = lifecycle.to("planning")

        with capture_logs() as logs:
            engine.fire(
                case.id,
                "record_engagement",
                actor=cast.engagement,
                payload={"family_engagement": "involved", "note": NOTE},
            )
            engine.fire(
                case.id,
                "hold",
                actor=cast.executive,
                payload={"hold_reason": "family_request", "note": NOTE},
            )
            engine.fire(
                case.id,
                "stand_down",
                actor=cast.executive,
                payload={"stand_down_reason": "other", "note": NOTE},
            )

        history = engine.history(case.id, reader=READER)
        stored = engine.get(case.id, reader=READER)
        assert leaked(repr(logs)) == []
        assert leaked(repr(history)) == []
        assert leaked(b"".join(canonical_bytes(e.content()) for e in history).decode()) == []
        assert leaked(repr(stored)) == []
        assert leaked(repr(dict(stored.facts))) == []
        assert str(stored.facts["note"]).startswith("sha256:")

    @pytest.mark.parametrize(
        ("trigger", "payload"),
        [
            pytest.param(
                "assign_lead", {"lead_id": NAME, "engagement_lead_id": "eng-1"}, id="name-as-id"
            ),
            pytest.param(
                "assign_lead",
                {"lead_id": "lead-1", "engagement_lead_id": NHS_NUMBER},
                id="nhs-number-as-id",
            ),
            pytest.param(
                "assign_lead",
                {"lead_id": "lead-1", "engagement_lead_id": "9434765919"},
                id="bare-nhs-number-as-id",
            ),
        ],
    )
    def test_identifier_fields_refuse_patient_data(
        self, lifecycle: Any, engine: Engine, cast: Any, trigger: str, payload: dict[str, object]
    ) -> None:
        """Names and NHS numbers in identifier fields are refused without reaching logs."""
        case = lifecycle.open()

        with capture_logs() as logs, pytest.raises(InvalidPayload) as refused:
            engine.fire(case.id, trigger, actor=cast.pss, payload=payload)

        assert leaked(repr(logs)) == []
        assert leaked(str(refused.value)) == []
        assert leaked(repr(engine.history(case.id, reader=READER))) == []

    def test_identifier_lists_refuse_patient_data(self, engine: Engine, cast: Any) -> None:
        """An NHS number among incident ids is refused without being echoed."""
        with capture_logs() as logs, pytest.raises(InvalidPayload) as refused:
            engine.open("psii", actor=cast.pss, payload={"incident_ids": ["INC-1", NHS_NUMBER]})

        assert leaked(repr(logs)) == []
        assert leaked(str(refused.value)) == []


class TestLogHelpers:
    """The allow-list helpers."""

    def test_safe_fields_keeps_allowed_scalars_only(self) -> None:
        """Only allow-listed keys with plain scalar values survive."""
        fields = {
            "case_id": "c-1",
            "sequence": 3,
            "replayed": True,
            "from_state": None,
            "note": NOTE,
            "trigger": {"nested": NOTE},
        }

        assert safe_fields(fields) == {
            "case_id": "c-1",
            "sequence": 3,
            "replayed": True,
            "from_state": None,
        }

    def test_drop_unlisted_keys_processor(self) -> None:
        """The host-side processor removes every key not on the allow-list."""
        event = {"event": "x", "case_id": "c-1", "patient_name": NAME}

        assert drop_unlisted_keys(None, "info", event) == {"event": "x", "case_id": "c-1"}

    def test_processor_guards_a_host_logger(self) -> None:
        """Through structlog, the processor holds a host's own events to the allow-list."""
        with capture_logs(processors=[drop_unlisted_keys]) as logs:
            structlog.get_logger("host").info("x", case_id="c-1", patient_name=NAME)

        assert leaked(repr(logs)) == []

    def test_logger_name(self) -> None:
        """psirf_flow logs under its own name and never configures logging itself."""
        assert LOGGER_NAME == "psirf_flow"
        assert get_logger() is not None
