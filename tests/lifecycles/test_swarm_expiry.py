"""A swarm huddle not held in time becomes an after action review (issue 10).

psirf-rules §4.1: the swarm huddle's clock is LOCAL (hours). When an escalation tier whose
plan ladder declares ``action = "convert_to_after_action_review"`` fires, psirf_flow fires
that trigger on the huddle as itself; these tests fire it through the same relay path the
couplings use (``Engine._apply_follow_up``), then let the relay apply the coupling that
opens the after action review for the same incidents (psirf-rules §9.4).
"""

from __future__ import annotations

import pytest

from psirf_flow import (
    Actor,
    Case,
    Engine,
    InMemoryStore,
    ReservedIdentity,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.domain import SYSTEM_ACTOR_ID, FactValue, SystemReader
from psirf_flow.relay import OutboxRelay, RelayReport
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import LEARNING_RESPONSES, SWARM_HUDDLE
from psirf_flow.workflows.couplings import (
    COUPLINGS,
    FollowUp,
    after_action_review_id,
    coupling_messages,
    message_id,
)
from psirf_flow.workflows.learning_response import (
    CONVERT_TO_AFTER_ACTION_REVIEW,
    NOT_HELD_IN_TIME,
)


READER = SystemReader("test-suite")
ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)
FAC = Actor("fac-01", [Role.FACILITATOR], ORG)
IMPOSTOR = Actor("pss-02", [Role.PATIENT_SAFETY_SPECIALIST, Role.SYSTEM], ORG)

OPENING = {
    "incident_ids": ["INC-1", "INC-2"],
    "intake_case_id": "INT-1",
    "involved_staff_ids": ["st-1"],
    "involved_line_manager_ids": ["lm-1"],
    "basis": "local_priority",
}
#: Steps that bring a new huddle to each state the conversion may start from.
TO_STATE: dict[str, tuple[tuple[Actor, str, dict[str, object]], ...]] = {
    "commissioned": (),
    "planning": ((PSS, "assign_facilitator", {"facilitator_id": FAC.id}),),
    "gathering_and_analysis": (
        (PSS, "assign_facilitator", {"facilitator_id": FAC.id}),
        (FAC, "begin_gathering", {}),
    ),
    "drafting": (
        (PSS, "assign_facilitator", {"facilitator_id": FAC.id}),
        (FAC, "begin_gathering", {}),
        (FAC, "complete_analysis", {}),
    ),
}


@pytest.fixture(name="engine")
def _engine() -> Engine:
    """An engine with the built-in couplings on a manual clock."""
    return Engine(InMemoryStore(), clock=ManualClock())


def huddle(engine: Engine, state: str = "commissioned", case_id: str = "SH-1") -> str:
    """Open a swarm huddle and bring it to ``state``; return its id."""
    engine.open("swarm_huddle", actor=PSS, case_id=case_id, payload=OPENING)
    for actor, trigger, payload in TO_STATE[state]:
        engine.fire(case_id, trigger, actor=actor, payload=payload)
    return case_id


def convert(engine: Engine, case_id: str, payload: dict[str, FactValue] | None = None) -> Case:
    """Fire the conversion as psirf_flow itself, the way the relay applies an action."""
    return engine._apply_follow_up(
        FollowUp(
            action="fire",
            target_case_id=case_id,
            trigger=CONVERT_TO_AFTER_ACTION_REVIEW,
            payload=payload or {},
        ),
        workflow="swarm_huddle",
        organisation=ORG,
        idempotency_key=f"{case_id}:deadline:1:tier:0:action",
    ).case


class TestTrigger:
    """The conversion is a system-only step of the swarm huddle alone."""

    def test_definition(self) -> None:
        """Role SYSTEM only, from the unheld states to stood down, with its summary."""
        spec = SWARM_HUDDLE.transition(CONVERT_TO_AFTER_ACTION_REVIEW)

        assert spec is not None
        assert spec.roles == (Role.SYSTEM,)
        assert spec.sources == ("commissioned", "planning", "gathering_and_analysis")
        assert spec.dest == "stood_down"
        assert spec.rules == ("psirf.response.not_held_in_time@1",)
        assert spec.summary.startswith("Not held in time")

    @pytest.mark.parametrize(
        "workflow", ["psii", "after_action_review", "hot_debrief", "mdt_review", "thematic_review"]
    )
    def test_other_responses_do_not_convert(self, workflow: str) -> None:
        """Only the swarm huddle turns into an after action review when late."""
        assert CONVERT_TO_AFTER_ACTION_REVIEW not in LEARNING_RESPONSES[workflow].triggers

    @pytest.mark.parametrize("state", ["commissioned", "planning", "gathering_and_analysis"])
    def test_the_system_stands_the_huddle_down(self, engine: Engine, state: str) -> None:
        """From each unheld state the huddle is stood down, audited as psirf_flow."""
        case_id = huddle(engine, state)

        case = convert(engine, case_id, {"stand_down_reason": NOT_HELD_IN_TIME})
        entry = engine.history(case_id, reader=READER)[-1]

        assert case.state == "stood_down"
        assert case.facts["stand_down_reason"] == NOT_HELD_IN_TIME
        assert (entry.trigger, entry.from_state, entry.to_state) == (
            CONVERT_TO_AFTER_ACTION_REVIEW,
            state,
            "stood_down",
        )
        assert (entry.actor_id, entry.role) == (SYSTEM_ACTOR_ID, "system")
        assert entry.rules == ("psirf.response.not_held_in_time@1",)

    def test_an_empty_payload_is_enough(self, engine: Engine) -> None:
        """An escalation action carries no payload; the rule reference records why."""
        case_id = huddle(engine)

        case = convert(engine, case_id)

        assert case.state == "stood_down"
        assert engine.history(case_id, reader=READER)[-1].rules == (
            "psirf.response.not_held_in_time@1",
        )

    def test_not_once_the_huddle_was_held(self, engine: Engine) -> None:
        """A huddle whose analysis is complete was held; it is not converted."""
        case_id = huddle(engine, "drafting")

        with pytest.raises(TransitionNotAllowed):
            convert(engine, case_id)

    @pytest.mark.parametrize(
        ("actor", "refusal"),
        [(PSS, RoleNotPermitted), (EXEC, RoleNotPermitted), (IMPOSTOR, ReservedIdentity)],
        ids=["specialist", "executive", "claims-system"],
    )
    def test_people_cannot_fire_it(
        self, engine: Engine, actor: Actor, refusal: type[Exception]
    ) -> None:
        """Only psirf_flow itself converts a huddle; a person is refused and nothing written."""
        case_id = huddle(engine)

        with pytest.raises(refusal):
            engine.fire(case_id, CONVERT_TO_AFTER_ACTION_REVIEW, actor=actor)

        assert engine.get(case_id, reader=READER).state == "commissioned"


class TestCoupling:
    """Psirf-rules §9.4: the conversion opens an after action review for the same incidents."""

    def test_the_relay_opens_the_after_action_review(self, engine: Engine) -> None:
        """The review carries the huddle's incidents, intake, basis and staff involved."""
        case_id = huddle(engine, "planning")
        convert(engine, case_id)

        report = OutboxRelay(engine).run_until_idle()

        review = engine.get(after_action_review_id(case_id), reader=READER)
        first = engine.history(review.id, reader=READER)[0]
        assert report == RelayReport(applied=1)
        assert review.id == "SH-1/aar"
        assert (review.workflow, review.workflow_version, review.state) == (
            "after_action_review",
            "2",
            "commissioned",
        )
        assert review.facts["incident_ids"] == ("INC-1", "INC-2")
        assert review.facts["intake_case_id"] == "INT-1"
        assert review.facts["involved_staff_ids"] == ("st-1",)
        assert review.facts["involved_line_manager_ids"] == ("lm-1",)
        assert review.facts["basis"] == "local_priority"
        assert review.facts["response_type"] == "after_action_review"
        assert (first.actor_id, first.role) == (SYSTEM_ACTOR_ID, "system")
        assert first.data["caused_by"] == "SH-1#3"

    def test_the_review_opens_exactly_once(self, engine: Engine) -> None:
        """Running the relay again, or replaying the action, opens nothing more."""
        case_id = huddle(engine)
        convert(engine, case_id)
        relay = OutboxRelay(engine)
        relay.run_until_idle()

        again = convert(engine, case_id)

        assert again.state == "stood_down"
        assert relay.run_until_idle() == RelayReport()
        assert [m.id for m in engine.store.outbox(case_id)] == [
            message_id(case_id, 2, "convert_swarm_to_after_action_review")
        ]

    def test_the_message_is_written_with_its_cause(self, engine: Engine) -> None:
        """The outbox message records the conversion's audit entry."""
        case_id = huddle(engine)
        case = convert(engine, case_id)
        entry = engine.history(case_id, reader=READER)[-1]

        (message,) = engine.store.outbox(case_id)

        assert message.kind == "coupling.convert_swarm_to_after_action_review"
        assert (message.cause_sequence, message.cause_hash) == (entry.sequence, entry.hash)
        assert message.body["target_case_id"] == after_action_review_id(case.id)
        assert message.body["workflow"] == "after_action_review"

    def test_no_reaction_to_a_human_stand_down(self, engine: Engine) -> None:
        """An executive standing a huddle down for another reason opens nothing."""
        case = engine.open("swarm_huddle", actor=PSS, case_id="SH-2", payload=OPENING).case

        stood = engine.fire(
            case.id, "stand_down", actor=EXEC, payload={"stand_down_reason": "duplicate"}
        ).case
        messages = coupling_messages(
            COUPLINGS,
            case=stood,
            family="learning_response",
            trigger="stand_down",
            sequence=2,
            now=stood.updated_at,
        )

        assert messages == ()
        assert engine.store.outbox(case.id) == ()
