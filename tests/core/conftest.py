"""Shared fixtures for the core suite: an engine on the in-memory store, a cast, a driver.

The :class:`Lifecycle` driver moves a case to any named state through the real engine, so
tests that need "a PSII in review" or "a closed AAR" get one without repeating the steps.
It is exposed through fixtures because test modules cannot import each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from datetime import timedelta

import pytest

from psirf_flow import Actor, Case, Engine, InMemoryStore, Role
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import LEARNING_RESPONSES


ORG = "RX1"
OTHER_ORG = "RX2"

#: Main path of every learning response, in order.
MAIN_PATH = (
    "commissioned",
    "planning",
    "gathering_and_analysis",
    "drafting",
    "review",
    "awaiting_approval",
    "approved",
    "shared",
    "closed",
)
FACILITATED = frozenset({"swarm_huddle", "hot_debrief", "after_action_review"})


class Cast:
    """The people acting in the tests, one role each unless stated."""

    def __init__(self) -> None:
        self.pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
        self.executive = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
        self.lead = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
        self.other_lead = Actor("lead-2", [Role.LEARNING_RESPONSE_LEAD], ORG)
        self.facilitator = Actor("fac-1", [Role.FACILITATOR], ORG)
        self.engagement = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)
        self.peer = Actor("peer-1", [Role.PEER_REVIEWER], ORG)
        self.senior = Actor("senior-1", [Role.SENIOR_LEADER], ORG)
        self.reporter = Actor("rep-1", [Role.REPORTER], ORG)
        self.outsider = Actor("out-1", [r for r in Role if r is not Role.SYSTEM], OTHER_ORG)

    def lead_for(self, workflow: str) -> Actor:
        """The person who leads a response of ``workflow``."""
        return self.facilitator if workflow in FACILITATED else self.lead

    def approver_for(self, workflow: str) -> Actor:
        """The person who approves a report of ``workflow`` (psirf-rules §5, LOCAL default)."""
        return self.executive if workflow == "psii" else self.senior


class Lifecycle:
    """Drives cases through the real engine to any named state."""

    def __init__(self, engine: Engine, clock: ManualClock, cast: Cast) -> None:
        self.engine = engine
        self.clock = clock
        self.cast = cast

    def fire(
        self, case_id: str, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None
    ) -> Case:
        """Fire one trigger an hour after the previous one and return the new case."""
        self.clock.advance(timedelta(hours=1))
        return self.engine.fire(case_id, trigger, actor=actor, payload=payload).case

    def open(
        self,
        workflow: str = "psii",
        *,
        incidents: tuple[str, ...] = ("INC-1", "INC-2"),
        case_id: str | None = None,
    ) -> Case:
        """Open a case with one involved member of staff and their line manager."""
        return self.engine.open(
            workflow,
            actor=self.cast.pss,
            case_id=case_id,
            payload={
                "incident_ids": list(incidents),
                "involved_staff_ids": ["staff-1"],
                "involved_line_manager_ids": ["mgr-1"],
                "basis": "national_requirement",
            },
        ).case

    def to(
        self,
        state: str,
        *,
        workflow: str = "psii",
        terms: bool = True,
        engagement: str | None = "involved",
        contact_attempts: int | None = None,
        review: bool = True,
        held_from: str = "drafting",
        case_id: str | None = None,
    ) -> Case:
        """Open a case of ``workflow`` and drive it to ``state``.

        Args:
            state: Any state of the learning-response lifecycle.
            workflow: The response type.
            terms: Record terms of reference while planning.
            engagement: The family engagement outcome to record while planning (or none).
            contact_attempts: Attempts recorded with the engagement outcome.
            review: Record every review step the workflow has before asking for approval.
            held_from: For ``on_hold`` (and ``stood_down``), the state it is held from.
            case_id: The id to open the case with.
        """
        if state == "on_hold":
            case = self.to(held_from, workflow=workflow, case_id=case_id)
            return self.fire(case.id, "hold", self.cast.executive, {"hold_reason": "other"})
        if state == "stood_down":
            case = self.to(held_from, workflow=workflow, case_id=case_id)
            return self.fire(
                case.id, "stand_down", self.cast.executive, {"stand_down_reason": "duplicate"}
            )
        case = self.open(workflow, case_id=case_id)
        for current in MAIN_PATH[: MAIN_PATH.index(state)]:
            if current == "review" and review:
                case = self.record_review(case)
            if current == "planning":
                case = self._plan(
                    case, terms=terms, engagement=engagement, contact_attempts=contact_attempts
                )
            for trigger, actor, payload in self._steps(current, workflow):
                case = self.fire(case.id, trigger, actor, payload)
        assert case.state == state
        return case

    def record_review(self, case: Case) -> Case:
        """Record every review step the case's workflow has (peer review, expert input, …)."""
        cast = self.cast
        lead = cast.lead_for(case.workflow)
        definition = LEARNING_RESPONSES[case.workflow]
        recording: tuple[tuple[str, Actor, dict[str, object]], ...] = (
            ("record_peer_review", cast.peer, {"peer_review_ref": "DOC-peer-1"}),
            (
                "record_expert_input",
                lead,
                {"expert_input": "panel", "expert_ids": ["sme-1", "sme-2"]},
            ),
            ("record_staff_accuracy_check", lead, {"staff_accuracy_check": "confirmed"}),
            (
                "record_family_draft_response",
                cast.engagement,
                {"family_draft_response": "commented"},
            ),
            ("agree_findings", cast.senior, {}),
        )
        for trigger, actor, payload in recording:
            if definition.transition(trigger) is not None:
                case = self.fire(case.id, trigger, actor, payload)
        return case

    def _plan(
        self, case: Case, *, terms: bool, engagement: str | None, contact_attempts: int | None
    ) -> Case:
        lead = self.cast.lead_for(case.workflow)
        if terms:
            payload: dict[str, object] = {"terms_of_reference_ref": "DOC-tor-1"}
            if case.workflow == "psii":
                # psirf-rules §6 stage 4, §7.1: a PSII records the family's involvement.
                payload["family_involvement_in_terms"] = "involved"
            case = self.fire(case.id, "record_terms_of_reference", lead, payload)
        if engagement is not None:
            outcome: dict[str, object] = {
                "person_id": "pat-1",
                "person_kind": "patient",
                "engagement": engagement,
            }
            if contact_attempts is not None:
                outcome["contact_attempts"] = contact_attempts
            case = self.fire(case.id, "record_engagement", self.cast.engagement, outcome)
        return case

    def _steps(self, current: str, workflow: str) -> list[tuple[str, Actor, dict[str, object]]]:
        """The step that moves a case of ``workflow`` on from ``current`` along the main path."""
        cast = self.cast
        lead = cast.lead_for(workflow)
        facilitated = workflow in FACILITATED
        steps: dict[str, tuple[str, Actor, dict[str, object]]] = {
            "commissioned": (
                "assign_facilitator" if facilitated else "assign_lead",
                cast.pss,
                {
                    ("facilitator_id" if facilitated else "lead_id"): lead.id,
                    "engagement_lead_id": cast.engagement.id,
                },
            ),
            "planning": ("begin_gathering", lead, {}),
            "gathering_and_analysis": ("complete_analysis", lead, {}),
            "drafting": ("submit_draft", lead, {"draft_ref": "DOC-draft-1"}),
            "review": ("request_approval", lead, {}),
            "awaiting_approval": (
                "approve",
                cast.approver_for(workflow),
                {"report_ref": "DOC-report-1"},
            ),
            "approved": ("share", cast.engagement, {"family_sharing": "shared"}),
            "shared": ("close", cast.pss, {"safety_action_ids": ["SA-1", "SA-2"]}),
        }
        return [steps[current]]


@pytest.fixture(name="cast")
def _cast() -> Cast:
    """The people acting in the tests."""
    return Cast()


@pytest.fixture(name="store")
def _store() -> InMemoryStore:
    """An empty in-memory store."""
    return InMemoryStore()


@pytest.fixture(name="new_id")
def _new_id() -> Callable[[], str]:
    """Deterministic case ids: case-0001, case-0002 and so on."""
    counter = itertools.count(1)
    return lambda: f"case-{next(counter):04d}"


@pytest.fixture(name="engine")
def _engine(store: InMemoryStore, clock: ManualClock, new_id: Callable[[], str]) -> Engine:
    """An engine on the in-memory store and the manual clock, knowing every built-in workflow."""
    return Engine(store, clock=clock, new_id=new_id)


@pytest.fixture(name="lifecycle")
def _lifecycle(engine: Engine, clock: ManualClock, cast: Cast) -> Lifecycle:
    """A driver that takes cases to any named state through the real engine."""
    return Lifecycle(engine, clock, cast)


@pytest.fixture(name="make_lifecycle", scope="session")
def _make_lifecycle() -> Callable[[], Lifecycle]:
    """Build a fresh engine, store, clock and driver (for hypothesis tests, one per example)."""

    def make() -> Lifecycle:
        clock = ManualClock()
        counter = itertools.count(1)
        engine = Engine(InMemoryStore(), clock=clock, new_id=lambda: f"case-{next(counter):04d}")
        return Lifecycle(engine, clock, Cast())

    return make
