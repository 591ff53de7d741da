"""Logging: one allow-listed event per command, no patient data, silent unless the host asks."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
import structlog
from structlog.testing import capture_logs

from psirf_flow import (
    CommandRejected,
    Engine,
    IdempotencyKeyReused,
    InMemoryStore,
    InvalidPayload,
    PsirfFlowError,
    StoreError,
    UnknownWorkflow,
)
from psirf_flow.audit import canonical_bytes
from psirf_flow.domain import SystemReader
from psirf_flow.errors import CaseNotFound
from psirf_flow.log import (
    ALLOWED_KEYS,
    LOGGER_NAME,
    drop_unlisted_keys,
    enabled,
    get_logger,
    safe_fields,
)
from psirf_flow.ports import Change
from psirf_flow.testing import ManualClock


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


class _Keep(logging.Handler):
    """Keeps psirf_flow's events as dicts (its fields plus the level name)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[dict[str, Any]] = []
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append({**record.psirf_flow, "level": record.levelname.lower()})
        self.messages.append(record.getMessage())


@contextmanager
def captured(level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """Capture the events psirf_flow's standard-library logger emits at ``level`` and up."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = _Keep()
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler.events
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def run_python(*parts: str) -> subprocess.CompletedProcess[str]:
    """Run the code ``parts`` in a fresh interpreter (a host that has configured nothing)."""
    code = "".join(textwrap.dedent(part) for part in parts)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


OPEN_AND_REFUSE = """
    from datetime import UTC, datetime
    from psirf_flow import Actor, CommandRejected, Engine, InMemoryStore, Role
    from psirf_flow.testing import ManualClock

    engine = Engine(InMemoryStore(), clock=ManualClock(datetime(2026, 1, 5, tzinfo=UTC)))
    pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
    case = engine.open("psii", actor=pss, payload={"incident_ids": ["INC-1"]}).case
    try:
        engine.fire(case.id, "approve", actor=pss)
    except CommandRejected:
        pass
"""


class TestOneEventPerCommand:
    """Exactly one event per accepted or rejected command, with allow-listed keys only."""

    def test_accepted_command(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """An accepted command logs one ``command_accepted`` event with its transition."""
        case = lifecycle.open()

        with captured() as logs:
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
        with captured() as logs:
            engine.open("psii", actor=cast.pss, payload={"incident_ids": ["INC-1"]})

        assert [e["event"] for e in logs] == ["psirf_flow.command_accepted"]
        assert logs[0]["trigger"] == "open"

    def test_foreign_case_logs_a_refused_read(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A step on another organisation's case logs one refused-read warning, nothing more."""
        case = lifecycle.to("planning")

        with captured() as logs, pytest.raises(CaseNotFound):
            engine.fire(case.id, "begin_gathering", actor=cast.outsider)

        assert logs == [
            {
                "event": "psirf_flow.read_refused",
                "level": "warning",
                "case_id": case.id,
                "actor_id": cast.outsider.id,
                "organisation": cast.outsider.organisation,
                "error_code": "PSF300",
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

        with captured() as logs, pytest.raises(CommandRejected):
            engine.fire(case.id, trigger, actor=getattr(cast, actor_name), payload=payload)

        assert len(logs) == 1
        assert logs[0]["event"] == "psirf_flow.command_rejected"
        assert logs[0]["reason_code"] == code
        assert logs[0]["case_id"] == case.id
        assert set(logs[0]) <= ALLOWED_KEYS

    def test_unknown_workflow_is_logged(self, engine: Engine, cast: Any) -> None:
        """Opening an unknown workflow logs one rejection."""
        with captured() as logs, pytest.raises(UnknownWorkflow):
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

        with captured() as logs, pytest.raises(IdempotencyKeyReused):
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

        with captured() as logs:
            engine.fire(case.id, "begin_gathering", actor=cast.lead, idempotency_key="k")

        assert [e["event"] for e in logs] == ["psirf_flow.command_replayed"]
        assert set(logs[0]) <= ALLOWED_KEYS

    def test_every_event_of_a_lifecycle_is_allow_listed(self, lifecycle: Any) -> None:
        """A whole lifecycle logs one event per command and only allow-listed keys."""
        with captured() as logs:
            case = lifecycle.to("closed")

        assert len(logs) == case.version
        for event in logs:
            assert set(event) <= ALLOWED_KEYS


class TestNoPatientData:
    """A patient's name and NHS number never reach logs, audit entries, history or facts."""

    def test_free_text_never_leaks(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Free-text notes naming a patient reach only as salted digests, everywhere."""
        case = lifecycle.to("planning")

        with captured() as logs:
            engine.fire(
                case.id,
                "record_engagement",
                actor=cast.engagement,
                payload={
                    "person_id": "pat-1",
                    "person_kind": "patient",
                    "engagement": "involved",
                    "note": NOTE,
                },
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

        with captured() as logs, pytest.raises(InvalidPayload) as refused:
            engine.fire(case.id, trigger, actor=cast.pss, payload=payload)

        assert leaked(repr(logs)) == []
        assert leaked(str(refused.value)) == []
        assert leaked(repr(engine.history(case.id, reader=READER))) == []

    def test_identifier_lists_refuse_patient_data(self, engine: Engine, cast: Any) -> None:
        """An NHS number among incident ids is refused without being echoed."""
        with captured() as logs, pytest.raises(InvalidPayload) as refused:
            engine.open("psii", actor=cast.pss, payload={"incident_ids": ["INC-1", NHS_NUMBER]})

        assert leaked(repr(logs)) == []
        assert leaked(str(refused.value)) == []


class TestSilentUnlessAsked:
    """Nothing is printed unless the host configures logging; then levels work as usual."""

    def test_a_host_that_configured_nothing_sees_nothing(self) -> None:
        """Opening a case and a refused command print nothing on stdout or stderr."""
        done = run_python(OPEN_AND_REFUSE)

        assert (done.stdout, done.stderr) == ("", "")

    def test_a_host_structlog_configuration_is_left_alone(self) -> None:
        """psirf_flow neither configures structlog nor prints through a host's structlog."""
        done = run_python(
            """
            import structlog
            structlog.configure(logger_factory=structlog.PrintLoggerFactory())
            """,
            OPEN_AND_REFUSE,
            """
            print(structlog.get_config()["logger_factory"].__class__.__name__)
            """,
        )

        assert (done.stdout, done.stderr) == ("PrintLoggerFactory\n", "")

    def test_a_warning_level_host_sees_security_events_only(self) -> None:
        """With ``basicConfig(level=WARNING)`` the refusal is printed, the acceptance is not."""
        done = run_python(
            """
            import logging, sys
            logging.basicConfig(
                level=logging.WARNING, stream=sys.stdout, format="%(levelname)s %(message)s"
            )
            """,
            OPEN_AND_REFUSE,
        )

        lines = done.stdout.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("WARNING psirf_flow.command_rejected ")
        assert "organisation='RX1'" in lines[0]
        assert "reason_code='not_allowed_in_state'" in lines[0]
        assert "command_accepted" not in done.stdout
        assert done.stderr == ""

    def test_an_info_level_host_sees_accepted_commands(self) -> None:
        """With ``basicConfig(level=INFO)`` accepted commands are printed too."""
        done = run_python(
            """
            import logging, sys
            logging.basicConfig(
                level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s"
            )
            """,
            OPEN_AND_REFUSE,
        )

        assert [line.split()[:2] for line in done.stdout.splitlines()] == [
            ["INFO", "psirf_flow.command_accepted"],
            ["WARNING", "psirf_flow.command_rejected"],
        ]

    def test_a_host_silences_psirf_flow_by_level(self) -> None:
        """Raising the ``psirf_flow`` logger's level silences even its warnings."""
        done = run_python(
            """
            import logging, sys
            logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
            logging.getLogger("psirf_flow").setLevel(logging.CRITICAL)
            """,
            OPEN_AND_REFUSE,
        )

        assert (done.stdout, done.stderr) == ("", "")

    def test_levels_of_events(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Refusals are warnings with the actor's organisation; acceptances info; replays debug."""
        case = lifecycle.to("planning")

        with captured() as logs:
            engine.fire(case.id, "begin_gathering", actor=cast.lead, idempotency_key="k")
            engine.fire(case.id, "begin_gathering", actor=cast.lead, idempotency_key="k")
            with pytest.raises(CommandRejected):
                engine.fire(case.id, "approve", actor=cast.lead)

        assert [(e["event"], e["level"]) for e in logs] == [
            ("psirf_flow.command_accepted", "info"),
            ("psirf_flow.command_replayed", "debug"),
            ("psirf_flow.command_rejected", "warning"),
        ]
        assert logs[2]["organisation"] == "RX1"
        assert logs[2]["actor_id"] == "lead-1"

    def test_a_store_failure_is_a_warning(self, cast: Any) -> None:
        """A commit the store refuses is logged at WARNING with its error code, then raised."""

        class FailingStore(InMemoryStore):
            def commit(self, change: Change) -> None:
                raise StoreError("the store failed; nothing was committed")

        engine = Engine(FailingStore(), clock=ManualClock())

        with captured() as logs, pytest.raises(StoreError):
            engine.open("psii", actor=cast.pss, payload={"incident_ids": ["INC-1"]})

        assert logs == [
            {
                "event": "psirf_flow.store_failed",
                "case_id": logs[0]["case_id"],
                "trigger": "open",
                "actor_id": "pss-1",
                "organisation": "RX1",
                "error_code": "PSF400",
                "level": "warning",
            }
        ]

    def test_a_refused_read_is_a_warning(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Reading a case of another organisation is logged at WARNING with the reader's."""
        case = lifecycle.open()

        with captured() as logs, pytest.raises(CaseNotFound):
            engine.get(case.id, reader=cast.outsider)

        assert [(e["event"], e["level"], e["organisation"]) for e in logs] == [
            ("psirf_flow.read_refused", "warning", "RX2")
        ]

    def test_disabled_warnings_build_no_event(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """With WARNING off, refused reads and refused input do not even call the logger."""
        case = lifecycle.open()

        with captured(logging.ERROR), mock.patch.object(engine, "_log") as log:
            with pytest.raises(CaseNotFound):
                engine.get(case.id, reader=cast.outsider)
            with pytest.raises(PsirfFlowError):
                engine.get("Jane Smith", reader=cast.pss)

        assert log.mock_calls == []

    def test_disabled_levels_build_no_event(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """When INFO is off the engine does not even call the logger for an acceptance."""
        case = lifecycle.open()

        with captured(logging.WARNING), mock.patch.object(engine, "_log") as log:
            engine.fire(
                case.id,
                "assign_lead",
                actor=cast.pss,
                payload={"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
            )

        assert log.mock_calls == []
        assert not enabled(logging.INFO)


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
        """Events go to the standard-library logger ``psirf_flow``, which has a NullHandler."""
        assert LOGGER_NAME == "psirf_flow"
        assert get_logger() is not None
        handlers = logging.getLogger(LOGGER_NAME).handlers
        assert any(isinstance(h, logging.NullHandler) for h in handlers)

    def test_unlisted_keys_never_reach_a_record(self) -> None:
        """Keys off the allow-list and non-scalar values are dropped before the record is made."""
        with captured() as logs:
            get_logger().warning(
                "psirf_flow.test", case_id="c-1", patient_name=NAME, trigger={"n": NOTE}
            )

        assert logs == [{"event": "psirf_flow.test", "case_id": "c-1", "level": "warning"}]
