"""The engine: open, fire, options, history, idempotency, concurrency and refusals."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from psirf_flow import (
    Actor,
    AuditEntry,
    Case,
    CaseAlreadyExists,
    CaseNotFound,
    CaseQuery,
    ConcurrencyConflict,
    CorruptRecord,
    DefinitionRegistry,
    Engine,
    GuardFailed,
    IdempotencyKeyReused,
    InMemoryStore,
    InvalidPayload,
    OrganisationMismatch,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
    decide,
    decide_open,
)
from psirf_flow.audit import idempotency_digest
from psirf_flow.decide import options as decide_options
from psirf_flow.domain import Command, SystemReader
from psirf_flow.ports import Change
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import AFTER_ACTION_REVIEW, PSII


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
OPENING = {"incident_ids": ["INC-1"], "involved_staff_ids": ["staff-1"]}
ASSIGN = {"lead_id": "lead-1", "engagement_lead_id": "eng-1"}


class TestOpen:
    """Opening a case."""

    def test_open_pins_the_newest_definition_version(
        self, store: InMemoryStore, clock: ManualClock, cast: Any
    ) -> None:
        """A case pins the version that was newest when it opened and keeps it after a new one."""
        registry = DefinitionRegistry([PSII])
        engine = Engine(store, clock=clock, definitions=registry)
        old = engine.open("psii", actor=cast.pss, payload=OPENING, case_id="case-old").case
        newer = attrs.evolve(PSII, version="2")
        registry.register(newer)

        new = engine.open("psii", actor=cast.pss, payload=OPENING, case_id="case-new").case

        assert (old.workflow_version, new.workflow_version) == ("1", "2")
        assert engine.definition_for(engine.get("case-old", reader=READER)) is PSII
        assert engine.definition_for(new) is newer
        assert engine.history("case-old", reader=READER)[0].workflow_version == "1"
        moved = engine.fire("case-old", "assign_lead", actor=cast.pss, payload=ASSIGN)
        assert moved.entry.workflow_version == "1"

    def test_open_records_the_opening(self, engine: Engine, cast: Any, clock: ManualClock) -> None:
        """The first entry is ``open`` from nothing to ``commissioned``, at the clock's time."""
        outcome = engine.open("psii", actor=cast.pss, payload=OPENING)

        entry = outcome.entry
        assert outcome.case.id == "case-0001"
        assert (entry.sequence, entry.trigger, entry.from_state, entry.to_state) == (
            1,
            "open",
            None,
            "commissioned",
        )
        assert entry.recorded_at == clock.now() == outcome.case.opened_at
        assert outcome.case.facts["opened_by"] == "pss-1"
        assert outcome.case.organisation == ORG
        assert not outcome.replayed

    def test_default_ids_are_unique(
        self, store: InMemoryStore, clock: ManualClock, cast: Any
    ) -> None:
        """Without an id generator, each opened case gets a fresh random id."""
        engine = Engine(store, clock=clock)

        first = engine.open("psii", actor=cast.pss, payload=OPENING).case.id
        second = engine.open("psii", actor=cast.pss, payload=OPENING).case.id

        assert first != second
        assert engine.store is store
        assert engine.definitions.latest("psii") is PSII

    def test_unknown_workflow(self, engine: Engine, cast: Any) -> None:
        """Opening an unknown workflow is refused, naming the known ones."""
        with pytest.raises(UnknownWorkflow) as refused:
            engine.open("root_cause_analysis", actor=cast.pss, payload=OPENING)

        assert refused.value.workflow == "root_cause_analysis"
        assert "psii" in refused.value.known
        assert "root_cause_analysis" in str(refused.value)

    def test_case_id_taken(self, engine: Engine, cast: Any) -> None:
        """Opening with an id already taken raises ``CaseAlreadyExists``."""
        engine.open("psii", actor=cast.pss, payload=OPENING, case_id="case-x")

        with pytest.raises(CaseAlreadyExists):
            engine.open("psii", actor=cast.pss, payload=OPENING, case_id="case-x")
        assert len(engine.history("case-x", reader=READER)) == 1

    def test_only_permitted_roles_open(self, engine: Engine, cast: Any) -> None:
        """A reporter may not open a learning response."""
        with pytest.raises(RoleNotPermitted):
            engine.open("psii", actor=cast.reporter, payload=OPENING, case_id="case-r")

        with pytest.raises(CaseNotFound):
            engine.get("case-r", reader=READER)

    def test_open_for_another_organisation_is_refused(self, engine: Engine, cast: Any) -> None:
        """Nobody opens a case on behalf of another organisation."""
        with pytest.raises(OrganisationMismatch):
            engine.open("psii", actor=cast.pss, payload=OPENING, organisation="RX2")

    def test_open_payload_is_checked(self, engine: Engine, cast: Any) -> None:
        """Opening without the required incident ids is refused."""
        with pytest.raises(InvalidPayload, match="'incident_ids' is required"):
            engine.open("psii", actor=cast.pss, payload={})


class TestFire:
    """Firing triggers."""

    def test_history_is_in_order(self, lifecycle: Any, engine: Engine) -> None:
        """History lists every accepted command oldest first, numbered 1, 2, 3 … in time order."""
        case = lifecycle.to("closed")

        history = engine.history(case.id, reader=READER)

        assert [e.sequence for e in history] == list(range(1, len(history) + 1))
        assert [e.trigger for e in history][:4] == [
            "open",
            "assign_lead",
            "record_terms_of_reference",
            "record_engagement",
        ]
        assert history[-1].trigger == "close"
        times = [e.recorded_at for e in history]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        for before, after in itertools.pairwise(history):
            assert after.from_state == before.to_state
        assert case.version == len(history)
        assert case.head_hash == history[-1].hash

    @pytest.mark.parametrize(
        "held_from", ["commissioned", "drafting", "review", "awaiting_approval"]
    )
    def test_hold_and_resume_return_to_the_held_state(
        self, lifecycle: Any, engine: Engine, cast: Any, held_from: str
    ) -> None:
        """A case put on hold resumes to the state it was held from."""
        held = lifecycle.to("on_hold", held_from=held_from)
        assert held.held_from == held_from

        resumed = engine.fire(held.id, "resume", actor=cast.executive)

        assert resumed.case.state == held_from
        assert resumed.case.held_from is None
        assert resumed.entry.from_state == "on_hold"

    def test_recording_step_keeps_state(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """A recording step writes an entry from a state to the same state."""
        case = lifecycle.to("planning")

        outcome = engine.fire(
            case.id,
            "record_terms_of_reference",
            actor=cast.lead,
            payload={"terms_of_reference_ref": "T-1", "family_involvement_in_terms": "involved"},
        )

        assert (outcome.entry.from_state, outcome.entry.to_state) == ("planning", "planning")
        assert outcome.case.version == case.version + 1

    def test_stand_down_needs_a_reason(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Standing down without a reason is refused; with one the case is stood down for good."""
        case = lifecycle.to("drafting")

        with pytest.raises(InvalidPayload, match="'stand_down_reason' is required"):
            engine.fire(case.id, "stand_down", actor=cast.executive)
        stood = engine.fire(
            case.id,
            "stand_down",
            actor=cast.executive,
            payload={"stand_down_reason": "superseded_by_external_investigation"},
        )

        assert stood.case.state == "stood_down"
        assert stood.case.facts["stand_down_reason"] == "superseded_by_external_investigation"
        with pytest.raises(TransitionNotAllowed):
            engine.fire(
                case.id,
                "reopen",
                actor=cast.executive,
                payload={"new_information_ref": "N-1", "reopen_reason": "inquest"},
            )

    def test_stand_down_from_hold(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """A held case can be stood down, and forgets where it was held from."""
        held = lifecycle.to("on_hold")

        stood = engine.fire(
            held.id, "stand_down", actor=cast.executive, payload={"stand_down_reason": "other"}
        )

        assert (stood.case.state, stood.case.held_from) == ("stood_down", None)

    def test_reopen_only_by_the_executive_lead(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Only the executive lead reopens a closed case, on new information, clearing sign-off."""
        case = lifecycle.to("closed")
        payload = {"new_information_ref": "DOC-inquest-1", "reopen_reason": "inquest"}

        for actor in (cast.pss, cast.lead, cast.senior):
            with pytest.raises(RoleNotPermitted):
                engine.fire(case.id, "reopen", actor=actor, payload=payload)
        reopened = engine.fire(case.id, "reopen", actor=cast.executive, payload=payload)

        assert reopened.case.state == "gathering_and_analysis"
        for cleared in ("approved_by", "report_ref", "peer_review_ref", "findings_agreed_by"):
            assert cleared not in reopened.case.facts
        assert reopened.case.facts["lead_id"] == "lead-1"
        assert reopened.case.facts["new_information_ref"] == "DOC-inquest-1"

    def test_return_for_rework_clears_the_review(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Returning a report for rework clears the review records so review is done again."""
        case = lifecycle.to("awaiting_approval")

        returned = engine.fire(
            case.id, "return_for_rework", actor=cast.executive, payload={"rework_reason": "other"}
        )

        assert returned.case.state == "drafting"
        assert "peer_review_ref" not in returned.case.facts
        assert returned.case.facts["terms_of_reference_ref"] == "DOC-tor-1"

    def test_another_organisations_case_is_a_missing_case(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A step on another organisation's case is refused exactly as on a missing case."""
        case = lifecycle.to("planning")

        with pytest.raises(CaseNotFound) as foreign:
            engine.fire(case.id, "begin_gathering", actor=cast.outsider)
        engine.store.history(case.id)  # the case is there
        with pytest.raises(CaseNotFound) as missing:
            engine.fire("no-such-case", "begin_gathering", actor=cast.outsider)

        assert str(foreign.value) == str(missing.value).replace("no-such-case", case.id)
        assert (foreign.value.code, foreign.value.case_id) == ("PSF300", case.id)

    def test_unknown_trigger(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """A trigger the workflow does not have is refused as unknown."""
        case = lifecycle.open()

        with pytest.raises(UnknownTrigger) as refused:
            engine.fire(case.id, "to_closed", actor=cast.executive)

        assert refused.value.workflow == "psii"

    def test_unknown_case(self, engine: Engine, cast: Any) -> None:
        """Firing on a case that does not exist raises ``CaseNotFound``."""
        with pytest.raises(CaseNotFound):
            engine.fire("case-none", "assign_lead", actor=cast.pss, payload=ASSIGN)

    def test_explicit_role(self, lifecycle: Any, engine: Engine) -> None:
        """An actor with several roles may say which one they act in; it is audited."""
        case = lifecycle.open()
        both = Actor("boss-1", [Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD], ORG)

        outcome = engine.fire(
            case.id, "assign_lead", actor=both, payload=ASSIGN, role=Role.EXECUTIVE_LEAD
        )

        assert outcome.entry.role == "executive_lead"

    def test_first_permitted_role_by_default(self, lifecycle: Any, engine: Engine) -> None:
        """Without a role, the first permitted role the actor holds is used."""
        case = lifecycle.open()
        both = Actor("boss-1", [Role.EXECUTIVE_LEAD, Role.PATIENT_SAFETY_SPECIALIST], ORG)

        outcome = engine.fire(case.id, "assign_lead", actor=both, payload=ASSIGN)

        assert outcome.entry.role == "patient_safety_specialist"

    @pytest.mark.parametrize(
        "role",
        [
            pytest.param(Role.SENIOR_LEADER, id="permitted-not-held"),
            pytest.param(Role.REPORTER, id="held-not-permitted"),
        ],
    )
    def test_explicit_role_must_be_held_and_permitted(
        self, lifecycle: Any, engine: Engine, role: Role
    ) -> None:
        """Acting in a role one does not hold, or one that is not permitted, is refused."""
        case = lifecycle.open()
        actor = Actor("rep-1", [Role.REPORTER, Role.PATIENT_SAFETY_SPECIALIST], ORG)

        with pytest.raises(RoleNotPermitted) as refused:
            engine.fire(case.id, "assign_lead", actor=actor, payload=ASSIGN, role=role)

        assert refused.value.actor_roles == (role.value,)


class TestOptions:
    """What an actor may do now, and why not the rest."""

    def test_lead_in_planning(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """In planning the lead may begin, record terms, agree or extend the target; not approve."""
        case = lifecycle.to("planning", terms=False, engagement=None)

        options = {o.trigger: o for o in engine.options(case.id, cast.lead)}

        assert set(options) == set(PSII.triggers)
        allowed = sorted(t for t, o in options.items() if o.allowed)
        assert allowed == [
            "agree_timescale",
            "begin_gathering",
            "record_engagement",
            "record_staff_involved",
            "record_terms_of_reference",
            "request_extension",
        ]
        assert options["approve"].reason_codes == ("not_allowed_in_state", "role_not_permitted")
        assert options["approve"].reasons == (
            "not possible while the case is planning",
            "only executive lead may do it",
        )
        assert options["begin_gathering"].summary

    def test_other_lead_is_told_they_are_not_assigned(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A lead who is not assigned sees the guard's reason, not just 'no'."""
        case = lifecycle.to("planning")

        options = {o.trigger: o for o in engine.options(case.id, cast.other_lead)}

        assert options["begin_gathering"].allowed is False
        assert options["begin_gathering"].reason_codes == ("actor_not_assigned_lead",)

    def test_request_approval_lists_missing_review_items(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """In a bare review, request approval is shown as not allowed with every missing item."""
        case = lifecycle.to("review", terms=False, engagement=None)

        option = next(
            o for o in engine.options(case.id, cast.lead) if o.trigger == "request_approval"
        )

        assert not option.allowed
        assert option.reason_codes == (
            "terms_of_reference_missing",
            "engagement_outcome_missing",
            "peer_review_missing",
            "expert_input_missing",
            "staff_accuracy_check_missing",
            "family_draft_review_missing",
            "findings_not_agreed",
        )

    def test_payload_guards_are_checked_on_fire(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Guards that need the step's details are listed as checked when the step is taken."""
        case = lifecycle.open()

        option = next(o for o in engine.options(case.id, cast.pss) if o.trigger == "assign_lead")

        assert option.allowed
        assert option.checked_on_fire == ("lead_independent", "engagement_lead_assigned")

    def test_close_is_judged_on_fire(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Closure's actions-or-rationale guard is judged when closing, not ahead."""
        case = lifecycle.to("shared")

        option = next(o for o in engine.options(case.id, cast.pss) if o.trigger == "close")

        assert option.allowed
        assert option.checked_on_fire == ("actions_or_rationale",)

    def test_outsider_may_do_nothing(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Someone from another organisation may take no step, and the pure core says why."""
        case = lifecycle.to("planning")

        options = decide_options(engine.definition_for(case), case, cast.outsider)

        assert not any(o.allowed for o in options)
        assert all("organisation_mismatch" in o.reason_codes for o in options)
        with pytest.raises(CaseNotFound):
            engine.options(case.id, cast.outsider)

    def test_options_agree_with_fire(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Every step shown as allowed to the lead in review is accepted when fired."""
        case = lifecycle.to("drafting")
        allowed = [o.trigger for o in engine.options(case.id, cast.lead) if o.allowed]
        assert allowed == [
            "submit_draft",
            "record_terms_of_reference",
            "record_engagement",
            "record_staff_involved",
            "request_extension",
        ]

        assert engine.fire(
            case.id, "submit_draft", actor=cast.lead, payload={"draft_ref": "D-1"}
        ).case.state == ("review")


class TestIdempotency:
    """Same key and same command returns the first result; another command is refused."""

    def test_same_key_same_command_replays(
        self, lifecycle: Any, engine: Engine, cast: Any, clock: ManualClock
    ) -> None:
        """A retry returns the first result with ``replayed=True`` and writes nothing."""
        case = lifecycle.open()
        first = engine.fire(
            case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k-1"
        )
        history = engine.history(case.id, reader=READER)
        clock.advance(timedelta(minutes=5))

        again = engine.fire(
            case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k-1"
        )

        assert again.replayed
        assert not first.replayed
        assert again.entry == first.entry
        assert again.case == first.case
        assert engine.history(case.id, reader=READER) == history

    def test_same_key_other_command_is_refused(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A key reused for another command raises ``IdempotencyKeyReused``; nothing is written."""
        case = lifecycle.open()
        engine.fire(case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k-1")
        history = engine.history(case.id, reader=READER)

        with pytest.raises(IdempotencyKeyReused) as refused:
            engine.fire(
                case.id,
                "assign_lead",
                actor=cast.pss,
                payload={**ASSIGN, "lead_id": "lead-2"},
                idempotency_key="k-1",
            )

        assert refused.value.key == "k-1"
        assert engine.history(case.id, reader=READER) == history

    def test_key_is_not_shared_between_cases(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """The same command on another case with the same key is a different command."""
        one, two = lifecycle.open(), lifecycle.open()
        engine.fire(one.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k-1")

        with pytest.raises(IdempotencyKeyReused):
            engine.fire(
                two.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k-1"
            )

    def test_open_replays(self, engine: Engine, cast: Any) -> None:
        """Opening twice with the same key and command opens one case."""
        first = engine.open("psii", actor=cast.pss, payload=OPENING, idempotency_key="open-1")
        again = engine.open("psii", actor=cast.pss, payload=OPENING, idempotency_key="open-1")

        assert again.replayed
        assert again.case.id == first.case.id
        assert len(engine.list_cases(reader=READER).items) == 1

    def test_open_with_other_payload_is_refused(self, engine: Engine, cast: Any) -> None:
        """Opening with a used key and other facts is refused."""
        engine.open("psii", actor=cast.pss, payload=OPENING, idempotency_key="open-1")

        with pytest.raises(IdempotencyKeyReused):
            engine.open(
                "psii",
                actor=cast.pss,
                payload={"incident_ids": ["INC-9"]},
                idempotency_key="open-1",
            )
        assert len(engine.list_cases(reader=READER).items) == 1

    def test_replay_returns_the_case_as_it_is_now(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """A late retry returns the original entry and the case as it stands now."""
        case = lifecycle.open()
        first = engine.fire(
            case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k"
        )
        later = engine.fire(case.id, "hold", actor=cast.executive, payload={"hold_reason": "other"})

        again = engine.fire(
            case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k"
        )

        assert again.entry == first.entry
        assert again.case == later.case


class RacingStore(InMemoryStore):
    """An in-memory store that lets another writer commit right after the engine reads."""

    def __init__(self) -> None:
        super().__init__()
        self.on_next_load: Callable[[], None] | None = None

    def load(self, case_id: str) -> Case:
        """Read the case, then let the competing writer in (once)."""
        case = super().load(case_id)
        hook, self.on_next_load = self.on_next_load, None
        if hook is not None:
            hook()
        return case

    def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        """Read the case and its head, then let the competing writer in (once)."""
        found = super().load_with_head(case_id)
        hook, self.on_next_load = self.on_next_load, None
        if hook is not None:
            hook()
        return found


class TestConcurrency:
    """Optimistic version checks."""

    def test_stale_expected_version_conflicts(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore, cast: Any, clock: ManualClock
    ) -> None:
        """Committing against a stale version raises ``ConcurrencyConflict`` and writes nothing."""
        case = lifecycle.open()
        first = decide(PSII, case, Command("assign_lead", cast.pss, ASSIGN), now=clock.now())
        second = decide(
            PSII, case, Command("hold", cast.executive, {"hold_reason": "other"}), now=clock.now()
        )
        store.commit(Change(case=first.case, expected_version=case.version, entry=first.entry))

        with pytest.raises(ConcurrencyConflict) as conflict:
            store.commit(
                Change(case=second.case, expected_version=case.version, entry=second.entry)
            )

        assert conflict.value.expected_version == case.version
        assert engine.get(case.id, reader=READER) == first.case
        assert [e.trigger for e in engine.history(case.id, reader=READER)] == [
            "open",
            "assign_lead",
        ]

    def test_engine_race_conflicts(self, clock: ManualClock, cast: Any) -> None:
        """When another writer commits between read and write, the engine raises a conflict."""
        store = RacingStore()
        engine = Engine(store, clock=clock)
        case = engine.open("psii", actor=cast.pss, payload=OPENING).case
        store.on_next_load = lambda: engine.fire(
            case.id, "hold", actor=cast.executive, payload={"hold_reason": "other"}
        )

        with pytest.raises(ConcurrencyConflict):
            engine.fire(case.id, "assign_lead", actor=cast.pss, payload=ASSIGN)

        assert [e.trigger for e in engine.history(case.id, reader=READER)] == ["open", "hold"]

    def test_race_with_the_same_key_replays(self, clock: ManualClock, cast: Any) -> None:
        """When an identical retry wins the race, the loser returns the winner's result."""
        store = RacingStore()
        engine = Engine(store, clock=clock)
        case = engine.open("psii", actor=cast.pss, payload=OPENING).case
        winner: list[Any] = []
        store.on_next_load = lambda: winner.append(
            engine.fire(case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k")
        )

        loser = engine.fire(
            case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k"
        )

        assert loser.replayed
        assert loser.entry == winner[0].entry
        assert len(engine.history(case.id, reader=READER)) == 2

    def test_race_with_a_key_but_another_writer_conflicts(
        self, clock: ManualClock, cast: Any
    ) -> None:
        """With a key that nobody else used, losing the race is still a conflict."""
        store = RacingStore()
        engine = Engine(store, clock=clock)
        case = engine.open("psii", actor=cast.pss, payload=OPENING).case
        store.on_next_load = lambda: engine.fire(
            case.id, "hold", actor=cast.executive, payload={"hold_reason": "other"}
        )

        with pytest.raises(ConcurrencyConflict):
            engine.fire(case.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k")
        assert store.find_idempotency(idempotency_digest(ORG, "k")) is None

    def test_key_taken_by_another_case_during_the_race(self, clock: ManualClock, cast: Any) -> None:
        """If another case takes the key between read and write, the command is refused."""
        store = RacingStore()
        engine = Engine(store, clock=clock)
        one = engine.open("psii", actor=cast.pss, payload=OPENING).case
        two = engine.open("psii", actor=cast.pss, payload=OPENING).case
        store.on_next_load = lambda: engine.fire(
            two.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k"
        )

        with pytest.raises(IdempotencyKeyReused):
            engine.fire(one.id, "assign_lead", actor=cast.pss, payload=ASSIGN, idempotency_key="k")
        assert engine.get(one.id, reader=READER).state == "commissioned"


class TestRejectionsWriteNothing:
    """A refused command leaves the case and its history untouched."""

    @pytest.mark.parametrize(
        ("trigger", "actor_name", "payload", "error"),
        [
            pytest.param("nope", "lead", {}, UnknownTrigger, id="unknown-trigger"),
            pytest.param(
                "approve", "executive", {"report_ref": "R"}, TransitionNotAllowed, id="state"
            ),
            pytest.param("begin_gathering", "outsider", {}, CaseNotFound, id="organisation"),
            pytest.param("begin_gathering", "senior", {}, RoleNotPermitted, id="role"),
            pytest.param(
                "hold", "executive", {"hold_reason": "bored"}, InvalidPayload, id="payload"
            ),
            pytest.param("begin_gathering", "other_lead", {}, GuardFailed, id="guard"),
        ],
    )
    def test_nothing_written(
        self,
        *,
        lifecycle: Any,
        engine: Engine,
        cast: Any,
        trigger: str,
        actor_name: str,
        payload: dict[str, object],
        error: type[Exception],
    ) -> None:
        """Each kind of refusal raises its error and writes no state, entry or key."""
        case = lifecycle.to("planning")
        history = engine.history(case.id, reader=READER)

        with pytest.raises(error):
            engine.fire(
                case.id,
                trigger,
                actor=getattr(cast, actor_name),
                payload=payload,
                idempotency_key="k",
            )

        assert engine.get(case.id, reader=READER) == case
        assert engine.history(case.id, reader=READER) == history
        assert engine.store.find_idempotency(idempotency_digest(ORG, "k")) is None


class TestCorruptRecords:
    """A stored case the engine cannot interpret is reported, not guessed at."""

    def test_unknown_workflow_version(
        self, store: InMemoryStore, clock: ManualClock, cast: Any
    ) -> None:
        """A case pinned to a definition the engine does not know raises ``CorruptRecord``."""
        Engine(store, clock=clock).open("psii", actor=cast.pss, payload=OPENING, case_id="c-1")
        narrow = Engine(store, clock=clock, definitions=DefinitionRegistry([AFTER_ACTION_REVIEW]))

        with pytest.raises(CorruptRecord, match="psii@1"):
            narrow.fire("c-1", "assign_lead", actor=cast.pss, payload=ASSIGN)

    def test_unknown_state(self, store: InMemoryStore, clock: ManualClock, cast: Any) -> None:
        """A case in a state its definition does not have raises ``CorruptRecord``."""
        opened = decide_open(
            PSII,
            case_id="c-2",
            organisation=ORG,
            command=Command("open", cast.pss, OPENING),
            now=clock.now(),
        )
        store.commit(
            Change(
                case=attrs.evolve(opened.case, state="limbo"),
                expected_version=None,
                entry=opened.entry,
            )
        )
        engine = Engine(store, clock=clock)

        with pytest.raises(CorruptRecord, match="'limbo'"):
            engine.options("c-2", cast.pss)


class TestListing:
    """Listing cases through the engine."""

    def test_list_filters_and_pages(self, lifecycle: Any, engine: Engine) -> None:
        """Cases are listed by id, filtered by workflow and state, a page at a time."""
        for _ in range(3):
            lifecycle.open("psii")
        lifecycle.open("after_action_review")

        first = engine.list_cases(CaseQuery(workflow="psii", limit=2), reader=READER)
        second = engine.list_cases(
            CaseQuery(workflow="psii", limit=2, after=first.next_after), reader=READER
        )

        assert [c.id for c in first.items] == ["case-0001", "case-0002"]
        assert [c.id for c in second.items] == ["case-0003"]
        assert second.next_after is None
        assert len(engine.list_cases(CaseQuery(state="commissioned"), reader=READER).items) == 4
        assert engine.list_cases(CaseQuery(organisation="RX2"), reader=READER).items == ()


def test_clock_is_read_from_the_injected_clock(
    engine: Engine, cast: Any, clock: ManualClock
) -> None:
    """Every timestamp comes from the injected clock."""
    clock.set(datetime(2027, 2, 3, 4, 5, 6, 789, tzinfo=UTC))

    outcome = engine.open("psii", actor=cast.pss, payload=OPENING)

    assert outcome.entry.recorded_at == datetime(2027, 2, 3, 4, 5, 6, 789, tzinfo=UTC)
