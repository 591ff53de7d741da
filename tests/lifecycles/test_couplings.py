"""Couplings between lifecycles: written to the outbox with their cause, applied exactly once."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from psirf_flow import Actor, Engine, InMemoryStore, Role
from psirf_flow.audit import AuditKeys
from psirf_flow.domain import SystemReader, check_identifier
from psirf_flow.relay import SYSTEM_ACTOR_ID, OutboxRelay, RelayReport
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import (
    COUPLINGS,
    candour_case_id,
    coupling_messages,
    derived_id,
    learning_response_id,
    message_id,
    read_follow_up,
)


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)
NEVER_EVENT = "psirf.national.never_event@1"


#: A host's audit key ring: with it every entry is an HMAC the relay must check with the key.
KEYS = AuditKeys(keys={"k2026": b"k" * 32}, active="k2026")


@pytest.fixture(name="engine", params=[None, KEYS], ids=["unkeyed", "keyed"])
def _engine(request: pytest.FixtureRequest) -> Engine:
    """An engine without audit keys, and one with them: couplings work the same in both."""
    return Engine(InMemoryStore(), clock=ManualClock(), keys=request.param)


@pytest.fixture(name="decided")
def _decided(engine: Engine) -> Callable[..., str]:
    """Drive an intake to a decision; return its id."""

    def decide(
        case_id: str = "INC-1",
        *,
        physical_harm: str = "severe",
        response: str = "psii",
        trigger: str = "decide_response",
    ) -> str:
        engine.open(
            "incident_intake",
            actor=PSS,
            case_id=case_id,
            payload={"incident_id": case_id, "physical_harm": physical_harm},
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
        if trigger == "decide_response":
            payload: dict[str, object] = {
                "response_type": response,
                "basis": "national_requirement",
                "rationale": _first_choice(engine, case_id, "decide_response", "rationale"),
            }
            engine.fire(case_id, trigger, actor=PSS, payload=payload)
        return case_id

    return decide


def _first_choice(engine: Engine, case_id: str, trigger: str, field: str) -> str:
    spec = engine.definition_for(engine.get(case_id, reader=READER)).transition(trigger)
    assert spec is not None
    return next(f.choices[0] for f in spec.fields if f.name == field)


class TestMessages:
    """The engine writes each coupling's reaction with the command that caused it."""

    def test_report_screens_and_decision_opens_the_response(
        self, engine: Engine, decided: Callable[..., str]
    ) -> None:
        """Psirf-rules §9.4: harm at the report opens candour; the decision opens the response."""
        case_id = decided()

        messages = engine.store.outbox(case_id)

        assert [(m.kind, m.cause_sequence) for m in messages] == [
            ("coupling.open_candour_screening", 1),
            ("coupling.open_learning_response", 4),
        ]
        assert [m.id.split("/")[0] for m in messages] == [f"{case_id}#1", f"{case_id}#4"]

    @pytest.mark.parametrize(
        ("physical_harm", "expected"),
        [
            ("none", ["coupling.open_learning_response"]),
            ("low", ["coupling.open_learning_response"]),
            (
                "moderate",
                ["coupling.open_candour_screening", "coupling.open_learning_response"],
            ),
            ("fatal", ["coupling.open_candour_screening", "coupling.open_learning_response"]),
        ],
        ids=["no-harm", "low", "moderate", "fatal"],
    )
    def test_candour_screening_follows_recorded_harm(
        self, engine: Engine, decided: Callable[..., str], physical_harm: str, expected: list[str]
    ) -> None:
        """Reg 20(8) screening: only moderate harm or worse opens a candour assessment."""
        case_id = decided(physical_harm=physical_harm)

        assert [m.kind for m in engine.store.outbox(case_id)] == expected

    def test_messages_carry_only_ids_and_codes(
        self, engine: Engine, decided: Callable[..., str]
    ) -> None:
        """A message body is opaque ids, codes and flags, and reads back as its follow-up."""
        case_id = decided()
        message = engine.store.outbox(case_id)[1]

        follow_up = read_follow_up(message)

        assert follow_up is not None
        assert follow_up.target_case_id == learning_response_id(case_id, 4)
        assert dict(follow_up.payload)["caused_by"] == f"{case_id}#4"
        assert all(isinstance(v, str | bool | int | tuple) for v in message.body.values())

    def test_commands_no_coupling_listens_to_write_nothing(self, engine: Engine) -> None:
        """Opening an intake with no harm graded writes no outbox message."""
        engine.open("incident_intake", actor=PSS, case_id="INC-9", payload={"incident_id": "I9"})

        assert engine.store.outbox("INC-9") == ()

    def test_a_message_without_a_target_reads_as_nothing(self, engine: Engine) -> None:
        """A foreign outbox message is not mistaken for a coupling."""
        case = engine.open(
            "incident_intake", actor=PSS, case_id="INC-8", payload={"incident_id": "I8"}
        ).case
        foreign = coupling_messages(
            COUPLINGS, case=case, family="intake", trigger="open", sequence=1, now=case.opened_at
        )

        assert foreign == ()


class TestRelay:
    """The relay applies each reaction as its own audited command, exactly once."""

    def test_reactions_open_the_response_and_the_candour_case(
        self, engine: Engine, decided: Callable[..., str]
    ) -> None:
        """The PSII and the candour case open, each audited as done by psirf_flow itself."""
        case_id = decided()

        report = OutboxRelay(engine).run_until_idle()

        response = engine.get(learning_response_id(case_id, 4), reader=READER)
        candour = engine.get(candour_case_id(case_id), reader=READER)
        assert report == RelayReport(applied=2)
        assert (response.workflow, response.state) == ("psii", "commissioned")
        assert (candour.workflow, candour.state) == ("duty_of_candour", "assessing")
        first = engine.history(response.id, reader=READER)[0]
        assert (first.actor_id, first.role) == (SYSTEM_ACTOR_ID, "system")
        assert dict(first.data)["caused_by"] == f"{case_id}#4"
        assert response.facts["candour_case_id"] == candour.id

    def test_running_again_applies_nothing(
        self, engine: Engine, decided: Callable[..., str]
    ) -> None:
        """Delivered messages are not applied twice."""
        decided()
        relay = OutboxRelay(engine)
        relay.run_until_idle()

        assert relay.run_until_idle() == RelayReport()

    def test_reaction_committed_before_a_crash_is_replayed_not_repeated(
        self, engine: Engine, decided: Callable[..., str]
    ) -> None:
        """A reaction applied but never marked (a crash in between) is replayed, not redone."""
        case_id = decided()
        message = engine.store.outbox(case_id)[0]
        follow_up = read_follow_up(message)
        assert follow_up is not None
        # The first relay applied the reaction and stopped before marking the message.
        engine._apply_follow_up(
            follow_up, workflow=follow_up.workflow, organisation=ORG, idempotency_key=message.id
        )

        report = OutboxRelay(engine).run_until_idle()

        assert report == RelayReport(applied=1, replayed=1)
        assert len(engine.history(follow_up.target_case_id, reader=READER)) == 1
        assert [m.outcome for m in engine.store.outbox(case_id)] == ["replayed", "applied"]

    def test_approval_makes_findings_due_on_the_candour_case(
        self, engine: Engine, decided: Callable[..., str], psii_to_approval: Callable[[str], Any]
    ) -> None:
        """Reg 20(4)(c): approving the linked response is recorded on the candour case."""
        case_id = decided()
        relay = OutboxRelay(engine)
        relay.run_until_idle()
        response_id = learning_response_id(case_id, 4)

        psii_to_approval(response_id)
        report = relay.run_until_idle()

        candour = engine.get(candour_case_id(case_id), reader=READER)
        last = engine.history(candour.id, reader=READER)[-1]
        assert report == RelayReport(applied=1)
        assert last.trigger == "learning_response_approved"
        assert dict(last.data)["learning_response_id"] == response_id

    def test_reaction_that_no_longer_applies_is_skipped(
        self,
        engine: Engine,
        decided: Callable[..., str],
        psii_to_approval: Callable[[str], Any],
        choice: Callable[[str, str, str], str],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A candour case already found not notifiable (final) is left alone, and it shows."""
        case_id = decided()
        relay = OutboxRelay(engine)
        relay.run_until_idle()
        hcp = Actor("hcp-04", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
        spec = engine.definition_for(
            engine.get(candour_case_id(case_id), reader=READER)
        ).transition("determine_not_notifiable")
        assert spec is not None
        reasons = next(f.choices for f in spec.fields if f.name == "not_notifiable_reason")
        other = next(r for r in reasons if r != "harm_below_threshold")
        engine.fire(
            candour_case_id(case_id),
            "determine_not_notifiable",
            actor=hcp,
            payload={
                "harm_category": "severe",
                "harm_basis": choice(
                    candour_case_id(case_id), "determine_not_notifiable", "harm_basis"
                ),
                "not_notifiable_reason": other,
            },
        )

        psii_to_approval(learning_response_id(case_id, 4))
        caplog.set_level(logging.INFO, logger="psirf_flow")
        report = relay.run_until_idle()

        assert report == RelayReport(skipped=1)
        noted = [r for r in caplog.records if r.msg.startswith("psirf_flow.coupling_not_applied")]
        assert [r.levelname for r in noted] == ["INFO"]
        outcomes = [m.outcome for m in engine.store.outbox(learning_response_id(case_id, 4))]
        assert outcomes == ["skipped:not_allowed_in_state"]

    def test_unknown_response_type_is_rejected_and_visible(
        self, engine: Engine, decided: Callable[..., str], caplog: pytest.LogCaptureFixture
    ) -> None:
        """A response type no workflow or vocabulary knows is marked rejected (and warned)."""
        case_id = decided(response="psii")
        # A trust-coined type the relay cannot map without the plan's vocabulary.
        engine.open("incident_intake", actor=PSS, case_id="INC-2", payload={"incident_id": "INC-2"})
        engine.fire("INC-2", "begin_review", actor=PSS)
        engine.fire("INC-2", "record_triage", actor=PSS, payload={"plan_ref": "RXY-PSIRP@3"})
        engine.fire(
            "INC-2",
            "decide_response",
            actor=PSS,
            payload={
                "response_type": "round_table_review",
                "basis": "proportionate",
                "rationale": _first_choice(engine, "INC-2", "decide_response", "rationale"),
            },
        )

        caplog.set_level(logging.INFO, logger="psirf_flow")
        report = OutboxRelay(engine).run_until_idle()

        assert report.rejected == 1
        assert [m.outcome for m in engine.store.outbox("INC-2")] == ["rejected:unknown_workflow"]
        noted = [r for r in caplog.records if r.msg.startswith("psirf_flow.coupling_not_applied")]
        assert [(r.levelname, r.psirf_flow["reason_code"]) for r in noted] == [
            ("WARNING", "rejected:unknown_workflow")
        ]
        assert engine.get(learning_response_id(case_id, 4), reader=READER).workflow == "psii"

    def test_plan_vocabulary_maps_a_local_response_type(self, engine: Engine) -> None:
        """A trust's own response type opens the lifecycle its plan maps it to."""
        engine.open("incident_intake", actor=PSS, case_id="INC-3", payload={"incident_id": "INC-3"})
        engine.fire("INC-3", "begin_review", actor=PSS)
        engine.fire("INC-3", "record_triage", actor=PSS, payload={"plan_ref": "RXY-PSIRP@3"})
        engine.fire(
            "INC-3",
            "decide_response",
            actor=PSS,
            payload={
                "response_type": "round_table_review",
                "basis": "proportionate",
                "rationale": _first_choice(engine, "INC-3", "decide_response", "rationale"),
            },
        )

        relay = OutboxRelay(engine, response_types={"round_table_review": "mdt_review"})
        report = relay.run_until_idle()

        assert report == RelayReport(applied=1)
        assert engine.get(learning_response_id("INC-3", 4), reader=READER).workflow == "mdt_review"


class TestDerivedIds:
    """Ids derived from a source case are valid identifiers, stable and distinct."""

    @pytest.mark.parametrize(
        ("source", "suffix", "expected"),
        [
            ("INC-7", "/doc", "INC-7/doc"),
            ("INC-7", "/lr4", "INC-7/lr4"),
            ("x" * 124, "/doc", "x" * 124 + "/doc"),
        ],
        ids=["short", "short-lr", "exactly-128"],
    )
    def test_ids_that_fit_are_kept_as_they_are(
        self, source: str, suffix: str, expected: str
    ) -> None:
        """``<source><suffix>`` is used whenever it is a valid identifier."""
        assert derived_id(source, suffix) == expected

    def test_a_long_source_is_shortened_with_a_digest(self) -> None:
        """A 125-character source keeps a prefix, then ``+``, 16 hex digits and the suffix."""
        source = "I" + "n" * 124
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]

        shortened = derived_id(source, "/doc")

        assert shortened == source[:107] + "+" + digest + "/doc"
        assert len(shortened) == 128
        assert check_identifier(shortened) is None
        assert candour_case_id(source) == shortened

    @given(
        source=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@/#+-]{0,127}", fullmatch=True),
        other=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:@/#+-]{0,127}", fullmatch=True),
        sequence=st.integers(min_value=1, max_value=10**6),
    )
    def test_derived_ids_are_valid_stable_and_distinct(
        self, source: str, other: str, sequence: int
    ) -> None:
        """Every derived id is a valid identifier; distinct sources give distinct ids."""
        # A source is a case id, so it is itself a valid identifier (no NHS number in it).
        assume(check_identifier(source) is None)
        derived = [
            learning_response_id(source, sequence),
            candour_case_id(source),
            message_id(source, sequence, "open_candour_screening"),
        ]

        assert all(check_identifier(d) is None for d in derived)
        assert derived == [
            learning_response_id(source, sequence),
            candour_case_id(source),
            message_id(source, sequence, "open_candour_screening"),
        ]
        if other != source:
            assert candour_case_id(other) != candour_case_id(source)
