"""The intake's other outcomes and records: transfer, notification steps, thematic reviews, reserve.

psirf-rules §3 ("related non-PSIRF notifications", INF), §2 (thematic reviews, LOCAL
schedule), §0.5 rule 1 (reserve capacity, LOCAL) and the "not our incident" outcome (INF).
Cases are driven through the real engine on the in-memory store, with and without a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Final

import pytest
from tests.policy.conftest import EXAMPLE_PLAN

from psirf_flow import (
    Actor,
    CommandRejected,
    Engine,
    GuardFailed,
    InMemoryStore,
    Role,
    TransitionNotAllowed,
)
from psirf_flow.domain import SystemReader
from psirf_flow.oversight import reserve_capacity_use
from psirf_flow.policy import Plan, load_plan
from psirf_flow.testing import ManualClock


READER = SystemReader("test-suite")
ORG = "RX9"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
CASE = "INT-1"

NOTIFICATIONS = """
[[notifications]]
id = "cqc-death"
body = "cqc"
title = "Notify the CQC of a death"
when = { fact = "died", is = true }

[[notifications]]
id = "cqc-serious-injury"
body = "cqc"
when = { fact = "physical_harm", at_least = "severe" }
"""
AAR = {"response_type": "after_action_review", "basis": "proportionate", "rationale": "other"}


@pytest.fixture(name="plan", scope="module")
def _plan() -> Plan:
    """The example plan (reserve of 3 PSIIs a year, executive lead) with notification steps."""
    return load_plan(EXAMPLE_PLAN.read_text(encoding="utf-8") + NOTIFICATIONS)


@pytest.fixture(name="engine")
def _engine(clock: ManualClock, plan: Plan) -> Engine:
    """An engine under the plan."""
    return Engine(InMemoryStore(), clock=clock, plan=plan)


@pytest.fixture(name="free_engine")
def _free_engine(clock: ManualClock) -> Engine:
    """An engine without a plan."""
    return Engine(InMemoryStore(), clock=clock)


def _reported(engine: Engine) -> str:
    engine.open("incident_intake", actor=REPORTER, case_id=CASE, payload={"incident_id": "INC-1"})
    return CASE


def _triaged(engine: Engine) -> str:
    _reported(engine)
    engine.fire(CASE, "begin_review", actor=PSS)
    engine.fire(CASE, "record_triage", actor=PSS, payload={"plan_ref": "rx9-psirp@2.0"})
    return CASE


def _codes(error: pytest.ExceptionInfo[CommandRejected]) -> tuple[str, ...]:
    assert isinstance(error.value, GuardFailed)
    return tuple(r.reason_code for r in error.value.failures)


class TestTransfer:
    """Not our incident: transferred to another organisation (INF)."""

    @pytest.mark.parametrize("reviewed", [False, True], ids=["reported", "under-review"])
    def test_transfer_is_a_final_outcome(self, engine: Engine, *, reviewed: bool) -> None:
        """From reported or under review, with the receiving organisation and a reason."""
        _reported(engine)
        if reviewed:
            engine.fire(CASE, "begin_review", actor=PSS)

        outcome = engine.fire(
            CASE,
            "transfer_to_another_organisation",
            actor=PSS,
            payload={
                "receiving_organisation": "RY1",
                "transfer_reason": "incident_occurred_elsewhere",
                "transfer_ref": "EMAIL-22",
            },
        )

        assert outcome.case.state == "transferred"
        assert outcome.case.facts["receiving_organisation"] == "RY1"
        assert outcome.case.facts["transfer_reason"] == "incident_occurred_elsewhere"
        assert outcome.case.facts["transfer_ref"] == "EMAIL-22"
        assert outcome.case.facts["transferred_by"] == PSS.id
        assert outcome.entry.rules == ("psirf.intake.transferred@1",)
        with pytest.raises(TransitionNotAllowed):
            engine.fire(CASE, "begin_review", actor=PSS)

    @pytest.mark.parametrize("receiving", ["RX9", "rx9"])
    def test_not_to_its_own_organisation(self, engine: Engine, receiving: str) -> None:
        """An incident is never transferred to the organisation holding it."""
        _reported(engine)

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                CASE,
                "transfer_to_another_organisation",
                actor=PSS,
                payload={"receiving_organisation": receiving, "transfer_reason": "other"},
            )

        assert _codes(error) == ("transfer_to_own_organisation",)

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param({"transfer_reason": "other"}, id="no-organisation"),
            pytest.param({"receiving_organisation": "RY1"}, id="no-reason"),
            pytest.param(
                {"receiving_organisation": "RY1", "transfer_reason": "moved"}, id="unknown-reason"
            ),
        ],
    )
    def test_organisation_and_reason_required(
        self, engine: Engine, payload: Mapping[str, object]
    ) -> None:
        """The receiving organisation and a reason code are required."""
        _reported(engine)

        with pytest.raises(CommandRejected) as error:
            engine.fire(CASE, "transfer_to_another_organisation", actor=PSS, payload=payload)

        assert error.value.reason_code == "invalid_payload"

    def test_not_after_a_decision(self, engine: Engine) -> None:
        """A decided incident is not transferred afterwards."""
        _triaged(engine)
        engine.fire(CASE, "decide_response", actor=PSS, payload=AAR)

        with pytest.raises(TransitionNotAllowed):
            engine.fire(
                CASE,
                "transfer_to_another_organisation",
                actor=PSS,
                payload={"receiving_organisation": "RY1", "transfer_reason": "other"},
            )


class TestRegulatorNotifications:
    """Notification steps the plan declares, recorded before the decision (§3, INF)."""

    def test_decision_waits_for_every_required_step(self, engine: Engine) -> None:
        """Each required step is recorded (reference and date) before deciding."""
        _triaged(engine)
        engine.fire(
            CASE,
            "record_required_notifications",
            actor=PSS,
            payload={"required_notification_ids": ["cqc-death", "cqc-serious-injury"]},
        )

        def decide() -> tuple[str, ...]:
            with pytest.raises(GuardFailed) as error:
                engine.fire(CASE, "decide_response", actor=PSS, payload=AAR)
            return _codes(error)

        before = decide()
        engine.fire(
            CASE,
            "record_regulator_notification",
            actor=PSS,
            payload={
                "notification_id": "cqc-serious-injury",
                "regulator_notification_ref": "CQC-1",
                "regulator_notification_date": "2026-01-05",
            },
        )
        halfway = decide()
        recorded = engine.fire(
            CASE,
            "record_regulator_notification",
            actor=EXEC,
            payload={
                "notification_id": "cqc-death",
                "regulator_notification_ref": "CQC-2",
                "regulator_notification_date": "2026-01-06",
            },
        )

        assert before == ("regulator_notification_outstanding",)
        assert halfway == ("regulator_notification_outstanding",)
        assert recorded.case.facts["regulator_notifications_made"] == (
            "cqc-death",
            "cqc-serious-injury",
        )
        assert recorded.case.facts["regulator_notification_ref"] == "CQC-2"
        assert engine.fire(CASE, "decide_response", actor=PSS, payload=AAR).case.state == (
            "response_decided"
        )

    def test_no_further_response_waits_too(self, engine: Engine) -> None:
        """Deciding no further response also needs the required steps recorded."""
        _triaged(engine)
        engine.fire(
            CASE,
            "record_required_notifications",
            actor=PSS,
            payload={"required_notification_ids": ["cqc-death"]},
        )

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                CASE,
                "decide_no_further_response",
                actor=PSS,
                payload={"no_response_rationale": "no_new_learning"},
            )

        assert "regulator_notification_outstanding" in _codes(error)

    def test_a_required_step_is_never_dropped(self, engine: Engine) -> None:
        """Recording the required steps again may add a step but not remove one."""
        _triaged(engine)
        record = "record_required_notifications"
        engine.fire(CASE, record, actor=PSS, payload={"required_notification_ids": ["cqc-death"]})

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                CASE,
                record,
                actor=PSS,
                payload={"required_notification_ids": ["cqc-serious-injury"]},
            )
        added = engine.fire(
            CASE,
            record,
            actor=PSS,
            payload={"required_notification_ids": ["cqc-serious-injury", "cqc-death"]},
        )

        assert _codes(error) == ("required_notification_dropped",)
        assert added.case.facts["required_notification_ids"] == ("cqc-death", "cqc-serious-injury")

    @pytest.mark.parametrize(
        ("trigger", "payload"),
        [
            pytest.param(
                "record_required_notifications",
                {"required_notification_ids": ["cqc-death", "hse-report"]},
                id="required",
            ),
            pytest.param(
                "record_regulator_notification",
                {
                    "notification_id": "hse-report",
                    "regulator_notification_ref": "H-1",
                    "regulator_notification_date": "2026-01-05",
                },
                id="recorded",
            ),
        ],
    )
    def test_steps_are_the_plans(
        self, engine: Engine, free_engine: Engine, trigger: str, payload: Mapping[str, object]
    ) -> None:
        """Under a plan only its steps are named; without a plan any id is accepted."""
        _triaged(engine)
        _triaged(free_engine)

        with pytest.raises(GuardFailed) as error:
            engine.fire(CASE, trigger, actor=PSS, payload=payload)
        accepted = free_engine.fire(CASE, trigger, actor=PSS, payload=payload)

        assert _codes(error) == ("notification_not_in_plan",)
        assert accepted.case.state == "under_review"


class TestThematicReviews:
    """An incident added to a scheduled thematic review (§2, LOCAL)."""

    def test_added_reviews_are_collected(self, engine: Engine) -> None:
        """Every review the incident was added to is kept, once each."""
        _reported(engine)
        engine.fire(CASE, "begin_review", actor=PSS)
        engine.fire(
            CASE,
            "record_triage",
            actor=PSS,
            payload={"plan_ref": "rx9-psirp@2.0", "thematic_reviews_met": ["discharge-quarterly"]},
        )
        for review in ("discharge-quarterly", "discharge-quarterly"):
            engine.fire(
                CASE, "add_to_thematic_review", actor=PSS, payload={"thematic_review_id": review}
            )

        facts = engine.get(CASE, reader=READER).facts
        assert facts["thematic_review_ids"] == ("discharge-quarterly",)

    def test_only_a_scheduled_review(self, engine: Engine, free_engine: Engine) -> None:
        """Under a plan the review must be one it schedules; without one any id is taken."""
        _reported(engine)
        _reported(free_engine)
        payload = {"thematic_review_id": "falls-annual"}

        with pytest.raises(GuardFailed) as error:
            engine.fire(CASE, "add_to_thematic_review", actor=PSS, payload=payload)
        accepted = free_engine.fire(CASE, "add_to_thematic_review", actor=PSS, payload=payload)

        assert _codes(error) == ("thematic_review_not_in_plan",)
        assert accepted.case.facts["thematic_review_ids"] == ("falls-annual",)


class TestReserveCapacity:
    """Drawing on the plan's reserve of extra PSIIs (§0.5 rule 1, LOCAL)."""

    PSII: Final[Mapping[str, object]] = MappingProxyType(
        {"response_type": "psii", "basis": "emergent_risk", "rationale": "other"}
    )

    @pytest.mark.parametrize(
        ("actor", "payload", "refused"),
        [
            pytest.param(EXEC, PSII, (), id="executive-psii"),
            pytest.param(
                EXEC,
                {**PSII, "response_type": "after_action_review"},
                ("reserve_for_other_response_type",),
                id="other-type",
            ),
            pytest.param(
                PSS,
                {**PSII, "basis": "proportionate"},
                ("reserve_decider_required",),
                id="not-the-reserve-decider",
            ),
        ],
    )
    def test_draw_table(
        self,
        engine: Engine,
        actor: Actor,
        payload: Mapping[str, object],
        refused: tuple[str, ...],
    ) -> None:
        """Only the reserve's decider, only for its response type."""
        _triaged(engine)
        draw = {**payload, "reserve_capacity_used": True}

        if refused:
            with pytest.raises(GuardFailed) as error:
                engine.fire(CASE, "decide_response", actor=actor, payload=draw)
            assert _codes(error) == refused
        else:
            outcome = engine.fire(CASE, "decide_response", actor=actor, payload=draw)
            assert outcome.entry.data["reserve_capacity_used"] is True

    def test_no_plan_no_reserve(self, free_engine: Engine) -> None:
        """Without a plan there is no reserve to draw on."""
        _triaged(free_engine)

        with pytest.raises(GuardFailed) as error:
            free_engine.fire(
                CASE,
                "decide_response",
                actor=EXEC,
                payload={**self.PSII, "reserve_capacity_used": True},
            )

        assert _codes(error) == ("reserve_without_plan",)

    def test_no_reserve_held(self, clock: ManualClock, plan: Plan) -> None:
        """A plan holding no reserve refuses every draw."""
        empty = load_plan(
            EXAMPLE_PLAN.read_text(encoding="utf-8").replace("extra_psiis = 3", "extra_psiis = 0")
        )
        engine = Engine(InMemoryStore(), clock=clock, plan=empty)
        _triaged(engine)

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                CASE,
                "decide_response",
                actor=EXEC,
                payload={**self.PSII, "reserve_capacity_used": True},
            )

        assert plan.reserve_capacity.extra_psiis == 3
        assert _codes(error) == ("no_reserve_capacity",)

    def test_draws_are_reported_from_the_trail(
        self, engine: Engine, clock: ManualClock, plan: Plan
    ) -> None:
        """The oversight report counts the draw the engine recorded, in its period."""
        clock.set(datetime(2026, 5, 4, 9, tzinfo=UTC))
        _triaged(engine)
        engine.fire(
            CASE,
            "decide_response",
            actor=EXEC,
            payload={**self.PSII, "reserve_capacity_used": True},
        )

        (period,) = reserve_capacity_use(
            engine.history(CASE, reader=READER), plan, on=date(2026, 5, 4)
        )

        assert (period.start, period.end) == (date(2026, 4, 1), date(2027, 4, 1))
        assert (period.used, period.remaining, period.case_ids) == (1, 2, (CASE,))
