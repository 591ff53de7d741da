"""The reference model agrees with hand-written facts about the PSII (psirf-rules §6, §9.1)."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.domain import Actor, Command, Role
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CorruptRecord,
    GuardFailed,
    IdempotencyKeyReused,
    InvalidPayload,
    OrganisationMismatch,
    PsirfFlowError,
    RoleNotPermitted,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)
from psirf_flow.testing import ModelCase, ReferenceEngine, ReferenceModel
from psirf_flow.testing import strategies as kit
from psirf_flow.workflows import (
    LEARNING_RESPONSES,
    PSII,
    THEMATIC_REVIEW,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    define,
)
from psirf_flow.workflows.payload import check_payload, text_digest


NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
ORG = "RX1"
LEAD = "staff-1"
EXEC = "staff-2"
AUTHOR_FACTS = {"lead_id": LEAD, "author_id": LEAD, "engagement_lead_id": "staff-3"}


def _case(state: str, *, held_from: str | None = None, **facts: object) -> ModelCase:
    return ModelCase(
        id="case-1",
        workflow="psii",
        workflow_version=PSII.version,
        organisation=ORG,
        state=state,
        held_from=held_from,
        facts={**AUTHOR_FACTS, **facts},
        version=5,
        opened_at=NOW,
        updated_at=NOW,
    )


def _actor(person: str, *roles: Role, organisation: str = ORG) -> Actor:
    return Actor(person, roles, organisation)


@pytest.fixture(name="model")
def _model() -> ReferenceModel:
    """The reference model of the PSII."""
    return ReferenceModel(PSII)


class TestTable:
    """The (state, trigger) table is read straight from the definition."""

    @pytest.mark.parametrize(
        ("state", "trigger", "held_from", "expected"),
        [
            ("awaiting_approval", "approve", None, "approved"),
            ("awaiting_approval", "return_for_rework", None, "drafting"),
            ("commissioned", "assign_lead", None, "planning"),
            ("shared", "close", None, "closed"),
            ("closed", "reopen", None, "gathering_and_analysis"),
            ("review", "record_peer_review", None, "review"),
            ("review", "hold", None, "on_hold"),
            ("on_hold", "resume", "review", "review"),
            ("on_hold", "resume", "commissioned", "commissioned"),
            ("on_hold", "stand_down", "drafting", "stood_down"),
            ("closed", "approve", None, None),
            ("stood_down", "reopen", None, None),
        ],
        ids=str,
    )
    def test_destination(
        self,
        model: ReferenceModel,
        state: str,
        trigger: str,
        held_from: str | None,
        expected: str | None,
    ) -> None:
        """Each trigger leads where psirf-rules §9.1 says; resume returns to the held state."""
        assert expected == model.destination(state, trigger, held_from)

    def test_only_reopen_leaves_closed(self, model: ReferenceModel) -> None:
        """A closed PSII can only be reopened (psirf-rules §9.1)."""
        assert model.triggers_from("closed") == ("reopen",)

    def test_stood_down_is_a_dead_end_and_closed_is_not(self, model: ReferenceModel) -> None:
        """Standing down ends a response for good; a closed one may be reopened."""
        assert model.is_dead_end("stood_down")
        assert not model.is_dead_end("closed")
        assert not model.is_dead_end("review")

    def test_main_path_distances_grow_and_on_hold_is_off_the_path(
        self, model: ReferenceModel
    ) -> None:
        """Distances along the main path count up from 0; on hold is off the main flow."""
        path = ["commissioned", "planning", "gathering_and_analysis", "drafting", "review"]

        assert list(range(len(path))) == [model.distance[s] for s in path]
        # Seven: a response type without a sharing step closes straight from approval.
        assert model.distance["closed"] == 7
        assert model.distance["on_hold"] == -1


class TestPredict:
    """Predictions follow the documented order of checks and the registered guards."""

    def test_approval_by_an_independent_executive_is_accepted(self, model: ReferenceModel) -> None:
        """Approve from awaiting approval leads to approved and records the approver."""
        command = Command("approve", _actor(EXEC, Role.EXECUTIVE_LEAD), {"report_ref": "R-1"})

        prediction = model.predict(_case("awaiting_approval"), command, now=NOW)

        assert prediction.accepted
        assert prediction.case is not None
        assert (prediction.case.state, prediction.case.version) == ("approved", 6)
        assert prediction.case.facts["approved_by"] == EXEC
        assert prediction.role == Role.EXECUTIVE_LEAD

    def test_approval_by_the_author_fails_the_independence_guard(
        self, model: ReferenceModel
    ) -> None:
        """The lead who wrote the report cannot approve it (psirf-rules §5)."""
        command = Command("approve", _actor(LEAD, Role.EXECUTIVE_LEAD), {"report_ref": "R-1"})

        prediction = model.predict(_case("awaiting_approval"), command, now=NOW)

        assert GuardFailed is prediction.error
        assert prediction.failed_guards == ("approver_independent",)

    def test_resume_returns_to_the_state_held_from(self, model: ReferenceModel) -> None:
        """Resume returns the case to the state it was put on hold from, and clears the hold."""
        command = Command("resume", _actor(EXEC, Role.EXECUTIVE_LEAD))

        prediction = model.predict(_case("on_hold", held_from="drafting"), command, now=NOW)

        assert prediction.case is not None
        assert (prediction.case.state, prediction.case.held_from) == ("drafting", None)

    def test_hold_remembers_where_the_case_was(self, model: ReferenceModel) -> None:
        """Holding records the state to resume to."""
        command = Command("hold", _actor(EXEC, Role.EXECUTIVE_LEAD), {"hold_reason": "other"})

        prediction = model.predict(_case("review"), command, now=NOW)

        assert prediction.case is not None
        assert (prediction.case.state, prediction.case.held_from) == ("on_hold", "review")

    def test_a_resume_with_nothing_to_resume_to_fails(self, model: ReferenceModel) -> None:
        """Without a held-from state a resume has nowhere to go: the record is corrupt."""
        command = Command("resume", _actor(EXEC, Role.EXECUTIVE_LEAD))

        prediction = model.predict(_case("on_hold"), command, now=NOW)

        assert CorruptRecord is prediction.error
        assert prediction.failed_guards == ()

    def test_free_text_is_recorded_as_its_salted_digest(self, model: ReferenceModel) -> None:
        """A note is kept only as a digest salted with the case id (psirf-rules §7.2)."""
        text = "Mrs Jane Smith, 943 476 5919"
        payload = {"hold_reason": "other", "note": text}
        command = Command("hold", _actor(EXEC, Role.EXECUTIVE_LEAD), payload)

        prediction = model.predict(_case("review"), command, now=NOW)

        assert text_digest("case-1", text) == prediction.data["note"]

    def test_rework_clears_the_review_record(self, model: ReferenceModel) -> None:
        """Returning a report for rework clears the review facts, so review is done again."""
        case = _case("awaiting_approval", peer_review_ref="PR-1", findings_agreed_by="staff-4")
        payload = {"rework_reason": "factual_gaps"}
        command = Command("return_for_rework", _actor(EXEC, Role.EXECUTIVE_LEAD), payload)

        prediction = model.predict(case, command, now=NOW)

        assert prediction.case is not None
        assert "peer_review_ref" not in prediction.case.facts
        assert "findings_agreed_by" not in prediction.case.facts

    @pytest.mark.parametrize(
        ("trigger", "actor", "payload", "error"),
        [
            ("no_such_step", _actor(EXEC, Role.EXECUTIVE_LEAD), {}, UnknownTrigger),
            ("close", _actor(EXEC, Role.PATIENT_SAFETY_SPECIALIST), {}, TransitionNotAllowed),
            (
                "approve",
                _actor(EXEC, Role.EXECUTIVE_LEAD, organisation="RY2"),
                {"report_ref": "R-1"},
                OrganisationMismatch,
            ),
            ("approve", _actor(EXEC, Role.SENIOR_LEADER), {"report_ref": "R-1"}, RoleNotPermitted),
            ("approve", _actor(EXEC, Role.EXECUTIVE_LEAD), {}, InvalidPayload),
            (
                "approve",
                _actor(EXEC, Role.EXECUTIVE_LEAD),
                {"report_ref": "Jane Smith"},
                InvalidPayload,
            ),
            (
                "approve",
                _actor(EXEC, Role.EXECUTIVE_LEAD),
                {"report_ref": "R-1", "patient_name": "x"},
                InvalidPayload,
            ),
        ],
        ids=[
            "unknown-trigger",
            "wrong-state",
            "other-organisation",
            "wrong-role",
            "missing-field",
            "name-as-reference",
            "unknown-field",
        ],
    )
    def test_refusals_name_the_first_problem(
        self,
        model: ReferenceModel,
        trigger: str,
        actor: Actor,
        payload: dict[str, object],
        error: type[PsirfFlowError],
    ) -> None:
        """Each kind of refusal is predicted with its own error class."""
        prediction = model.predict(
            _case("awaiting_approval"), Command(trigger, actor, payload), now=NOW
        )

        assert error is prediction.error

    def test_a_role_asked_for_must_be_held(self, model: ReferenceModel) -> None:
        """Asking to act in a permitted role the actor does not hold is refused."""
        actor = _actor(EXEC, Role.SENIOR_LEADER)
        command = Command("approve", actor, {"report_ref": "R-1"}, role=Role.EXECUTIVE_LEAD)

        assert RoleNotPermitted is model.predict(_case("awaiting_approval"), command, now=NOW).error

    def test_may_fire_ignores_payload_guards_but_not_the_others(
        self, model: ReferenceModel
    ) -> None:
        """Only the lead may begin gathering; assigning a lead is judged without its payload."""
        planning = _case("planning")
        commissioned = _case("commissioned")
        specialist = _actor(EXEC, Role.PATIENT_SAFETY_SPECIALIST)

        assert model.may_fire(
            planning, "begin_gathering", _actor(LEAD, Role.LEARNING_RESPONSE_LEAD)
        )
        assert not model.may_fire(
            planning, "begin_gathering", _actor(EXEC, Role.LEARNING_RESPONSE_LEAD)
        )
        assert model.may_fire(commissioned, "assign_lead", specialist)
        assert not model.may_fire(planning, "assign_lead", specialist)
        assert not model.may_fire(planning, "no_such_step", specialist)

    @pytest.mark.parametrize(
        "actor",
        [
            _actor(EXEC, Role.PATIENT_SAFETY_SPECIALIST, organisation="RY2"),
            _actor(EXEC, Role.SENIOR_LEADER),
        ],
        ids=["other-organisation", "wrong-role"],
    )
    def test_may_fire_refuses_outsiders_and_wrong_roles(
        self, model: ReferenceModel, actor: Actor
    ) -> None:
        """Someone of another organisation, or without a permitted role, may not fire."""
        assert not model.may_fire(_case("commissioned"), "assign_lead", actor)


OPENER = _actor("staff-9", Role.PATIENT_SAFETY_SPECIALIST)


class TestReferenceEngine:
    """The model's world tracks cases and idempotency keys as the engine does."""

    def test_opening_creates_the_case_in_the_initial_state(self) -> None:
        """An accepted opening puts the case in the initial state at version 1."""
        world = ReferenceEngine(LEARNING_RESPONSES.values())
        command = Command("open", OPENER, {"incident_ids": ["INC-1"]})

        prediction = world.open("psii", case_id="c1", organisation=ORG, command=command, now=NOW)

        assert prediction.accepted
        assert (world.cases["c1"].state, world.cases["c1"].version) == ("commissioned", 1)
        assert world.cases["c1"].facts["opened_by"] == "staff-9"

    def test_a_thematic_review_needs_two_incidents(self) -> None:
        """A thematic review opened with one incident fails its guard (psirf-rules §2)."""
        world = ReferenceEngine(THEMATIC_REVIEW)
        command = Command("open", OPENER, {"incident_ids": ["INC-1", "INC-1"]})

        prediction = world.open(
            "thematic_review", case_id="c1", organisation=ORG, command=command, now=NOW
        )

        assert GuardFailed is prediction.error
        assert prediction.failed_guards == ("several_incidents_linked",)
        assert "c1" not in world.cases

    def test_refusals_outside_the_definition(self) -> None:
        """Unknown workflows, unknown cases and taken ids are refused."""
        world = ReferenceEngine(PSII)
        command = Command("open", OPENER, {"incident_ids": ["INC-1"]})
        world.open("psii", case_id="c1", organisation=ORG, command=command, now=NOW)
        fire = Command("assign_lead", OPENER, {"lead_id": LEAD, "engagement_lead_id": EXEC})

        unknown = world.open("nope", case_id="c2", organisation=ORG, command=command, now=NOW)
        taken = world.open("psii", case_id="c1", organisation=ORG, command=command, now=NOW)
        missing = world.fire("c9", fire, now=NOW)

        assert (UnknownWorkflow, CaseAlreadyExists, CaseNotFound) == (
            unknown.error,
            taken.error,
            missing.error,
        )

    def test_a_repeated_key_replays_and_a_reused_key_is_refused(self) -> None:
        """The same keyed command replays its first entry; another command with it is refused."""
        world = ReferenceEngine(PSII)
        world.open(
            "psii",
            case_id="c1",
            organisation=ORG,
            command=Command("open", OPENER, {"incident_ids": ["INC-1"]}),
            now=NOW,
        )
        payload = {"lead_id": LEAD, "engagement_lead_id": EXEC}
        first = Command("assign_lead", OPENER, payload, idempotency_key="k1")

        accepted = world.fire("c1", first, now=NOW)
        replay = world.fire("c1", first, now=NOW)
        reused = world.fire("c1", attrs.evolve(first, payload={"lead_id": EXEC}), now=NOW)

        assert accepted.accepted
        assert (replay.replayed, replay.replay_of) == (True, 2)
        assert IdempotencyKeyReused is reused.error
        assert world.cases["c1"].version == 2

    def test_a_key_of_a_refused_command_is_not_kept(self) -> None:
        """A refused command leaves its key unused, so a corrected retry may use it."""
        world = ReferenceEngine(PSII)
        world.open(
            "psii",
            case_id="c1",
            organisation=ORG,
            command=Command("open", OPENER, {"incident_ids": ["INC-1"]}),
            now=NOW,
        )
        bad = Command("assign_lead", OPENER, {"lead_id": LEAD}, idempotency_key="k1")
        good = attrs.evolve(bad, payload={"lead_id": LEAD, "engagement_lead_id": EXEC})

        assert InvalidPayload is world.fire("c1", bad, now=NOW).error
        assert world.fire("c1", good, now=NOW).accepted


def _one_field(spec: FieldSpec) -> ReferenceModel:
    definition = define(
        name="one_field",
        version="1",
        family="test",
        title="One field",
        states=("open", "done"),
        initial="open",
        final_states=("done",),
        opening=OpeningSpec(roles=(Role.PATIENT_SAFETY_SPECIALIST,), fields=(spec,)),
        transitions=(
            TransitionSpec("finish", ("open",), "done", (Role.PATIENT_SAFETY_SPECIALIST,)),
        ),
    )
    return ReferenceModel(definition)


ODD_VALUES = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.datetimes(),
    st.dates().map(str),
    st.frozensets(kit.identifiers(), max_size=2),
    st.tuples(kit.identifiers()),
    st.lists(st.one_of(st.integers(), kit.identifiers()), max_size=2),
)


class TestPayloadRules:
    """The model's own payload rules agree with the library's payload check."""

    @pytest.mark.parametrize("kind", list(FieldKind), ids=[k.value for k in FieldKind])
    @given(data=st.data())
    def test_the_model_refuses_what_the_payload_check_refuses(
        self, kind: FieldKind, data: st.DataObject
    ) -> None:
        """For valid, junk and odd values of every kind both agree, and on what is recorded."""
        choices = ("a", "b") if kind is FieldKind.CHOICE else ()
        spec = FieldSpec("f", kind, required=True, choices=choices)
        payload = data.draw(
            kit.payloads([spec])
            | kit.invalid_payloads([spec])
            | st.fixed_dictionaries({"f": ODD_VALUES})
        )
        command = Command("open", OPENER, payload)

        prediction = _one_field(spec).predict_open(
            case_id="c1", organisation=ORG, command=command, now=NOW
        )
        clean, problems = check_payload([spec], payload, salt="c1")

        assert (prediction.error is InvalidPayload) == bool(problems)
        if not problems:
            assert dict(prediction.data) == clean

    @pytest.mark.parametrize(
        ("kind", "value"),
        [
            (FieldKind.DATE, datetime(2026, 1, 5, 23, 30, tzinfo=UTC)),
            (FieldKind.DATE, "2026-02-30"),
            (FieldKind.TEXT, "\ud800"),
            (FieldKind.COUNT, True),
            (FieldKind.IDENTIFIERS, frozenset({"b-2", "a-1"})),
            (FieldKind.IDENTIFIERS, "a-1"),
            (FieldKind.FLAG, 1),
        ],
        ids=[
            "datetime-as-date",
            "impossible-date",
            "lone-surrogate",
            "bool-as-count",
            "set-of-ids",
            "one-id-as-list",
            "int-as-flag",
        ],
    )
    def test_awkward_values(self, kind: FieldKind, value: object) -> None:
        """Awkward values are accepted or refused by the model exactly as by the check."""
        spec = FieldSpec("f", kind, required=True)
        command = Command("open", OPENER, {"f": value})

        prediction = _one_field(spec).predict_open(
            case_id="c1", organisation=ORG, command=command, now=NOW
        )
        clean, problems = check_payload([spec], {"f": value}, salt="c1")

        assert (prediction.error is InvalidPayload) == bool(problems)
        assert dict(prediction.data) == ({} if problems else clean)
