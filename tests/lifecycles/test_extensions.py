"""Extensions of a PSII as steps: request, the family's position, approval or refusal.

psirf-rules §4.1 ("any extension is agreed between the organisation and the
patient/family/carer", NAT-G ✖), §5 rule 5 (the extension approver is not the lead; the
family's position is on record), §7.1 (involvement is voluntary) and §9.1 (the ``extension``
event, up to ``psii_max``). Without a plan the manual clock's Monday 5 January 2026 start
gives a timescale ending Tuesday 7 April 2026 and a hard cap ending Monday 6 July 2026.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from psirf_flow import (
    Actor,
    Case,
    Engine,
    GuardFailed,
    InMemoryStore,
    InvalidPayload,
    ReasonMissing,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.domain import SystemReader
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII
from psirf_flow.workflows.learning_response.timescale import (
    EXTENSION_REFUSAL_REASONS,
    FAMILY_EXTENSION_POSITIONS,
    FAMILY_NOT_INVOLVED_REASONS,
)


READER = SystemReader("test-suite")
ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
OTHER_LEAD = Actor("lead-2", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENG = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)
LEAD_EXEC = Actor("lead-9", [Role.LEARNING_RESPONSE_LEAD, Role.EXECUTIVE_LEAD], ORG)

TIMESCALE_END = "2026-04-07"
HARD_CAP_END = "2026-07-06"
PENDING = ("requested_target_date", "extension_requested_by")


def request(target: str, reason: str = "external_process") -> dict[str, object]:
    """A ``request_extension`` payload."""
    return {"requested_target_date": target, "extension_reason": reason}


class World:
    """A PSII with its lead assigned on Monday 5 January 2026, on a manual clock."""

    def __init__(self, lead: Actor = LEAD) -> None:
        self.clock = ManualClock()
        counter = itertools.count(1)
        self.engine = Engine(
            InMemoryStore(), clock=self.clock, new_id=lambda: f"case-{next(counter):04d}"
        )
        opened = self.engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}).case
        self.case_id = opened.id
        self.fire("assign_lead", PSS, {"lead_id": lead.id, "engagement_lead_id": ENG.id})

    def fire(self, trigger: str, actor: Actor, payload: Mapping[str, object] | None = None) -> Case:
        """Fire ``trigger`` on the PSII and return the case after it."""
        return self.engine.fire(self.case_id, trigger, actor=actor, payload=payload).case

    def requested(
        self, target: str = "2026-05-29", position: str | None = "agreed", lead: Actor = LEAD
    ) -> Case:
        """Request an extension to ``target`` and record the family's ``position`` (if any)."""
        case = self.fire("request_extension", lead, request(target))
        if position is not None:
            payload: dict[str, object] = {"family_extension_position": position}
            if position == "not_involved":
                payload["family_not_involved_reason"] = "chose_not_to_be_involved"
            case = self.fire("record_family_position", ENG, payload)
        return case

    def day(self, n: int) -> None:
        """Move the clock to ``n`` days after 5 January 2026, 09:00 UTC."""
        self.clock.set(datetime(2026, 1, 5, 9, tzinfo=UTC) + timedelta(days=n))

    def rules(self) -> tuple[str, ...]:
        """The rule references of the PSII's latest audit entry."""
        return self.engine.history(self.case_id, reader=READER)[-1].rules


@pytest.fixture(name="world")
def _world() -> World:
    """A started PSII on a fresh engine."""
    return World()


def codes(refused: pytest.ExceptionInfo[GuardFailed]) -> tuple[str, ...]:
    """The reason codes of every failed guard of a refusal."""
    return tuple(r.reason_code for r in refused.value.failures)


class TestRequest:
    """Psirf-rules §4.1: the lead asks for a later date, with a reason, within the hard cap."""

    def test_request_is_recorded_as_pending(self, world: World) -> None:
        """The request keeps the date asked for, the reason and who asked; the target stands."""
        case = world.fire("request_extension", LEAD, request("2026-05-29", "complexity"))

        assert case.facts["requested_target_date"] == "2026-05-29"
        assert case.facts["extension_reason"] == "complexity"
        assert case.facts["extension_requested_by"] == LEAD.id
        assert "target_date" not in case.facts
        assert case.state == "planning"
        assert world.rules() == ("psirf.timescale.extension_requested@1",)

    @pytest.mark.parametrize(
        ("agreed", "target", "day", "expected"),
        [
            (None, "2026-04-08", 0, "ok"),
            (None, TIMESCALE_END, 0, ("extension_not_later",)),
            ("2026-03-31", "2026-04-01", 0, "ok"),
            ("2026-03-31", "2026-03-31", 0, ("extension_not_later",)),
            ("2026-03-31", "2026-03-20", 0, ("extension_not_later",)),
            (None, HARD_CAP_END, 0, "ok"),
            (None, "2026-07-07", 0, ("hard_cap_exceeded",)),
            ("2026-03-31", "2026-04-20", 110, ("target_in_past",)),
            ("2026-03-31", "2026-04-25", 110, "ok"),
        ],
        ids=[
            "after-timescale-end",
            "same-as-timescale-end",
            "after-agreed-target",
            "same-as-agreed-target",
            "earlier-than-agreed-target",
            "last-day-of-hard-cap",
            "beyond-cap-needs-override",
            "overdue-to-a-past-date",
            "overdue-to-today",
        ],
    )
    def test_requested_date_checks(
        self, world: World, agreed: str | None, target: str, day: int, expected: object
    ) -> None:
        """Psirf-rules §4.1, §9.1: later than the current target, within the cap, not past."""
        if agreed is not None:
            world.fire(
                "agree_timescale",
                LEAD,
                {"target_date": agreed, "family_timescale_agreement": "agreed"},
            )
        world.day(day)

        if expected == "ok":
            case = world.fire("request_extension", LEAD, request(target))
            assert case.facts["requested_target_date"] == target
            return
        with pytest.raises(GuardFailed) as refused:
            world.fire("request_extension", LEAD, request(target))
        assert codes(refused) == expected

    def test_only_the_assigned_lead_requests(self, world: World) -> None:
        """Psirf-rules §5: another lead is refused by guard, an executive by role."""
        with pytest.raises(GuardFailed) as refused:
            world.fire("request_extension", OTHER_LEAD, request("2026-05-29"))
        with pytest.raises(RoleNotPermitted):
            world.fire("request_extension", EXEC, request("2026-05-29"))

        assert codes(refused) == ("actor_not_assigned_lead",)

    @pytest.mark.parametrize(
        ("payload", "problem"),
        [
            ({"extension_reason": "complexity"}, "'requested_target_date' is required"),
            ({"requested_target_date": "2026-05-29"}, "'extension_reason' is required"),
            (request("2026-05-29", "tired"), "'extension_reason' must be one of"),
        ],
        ids=["no-date", "no-reason", "unknown-reason"],
    )
    def test_request_needs_a_date_and_a_reason_code(
        self, world: World, payload: Mapping[str, object], problem: str
    ) -> None:
        """Psirf-rules §9.1: a request without its date or reason code is refused."""
        with pytest.raises(InvalidPayload, match=problem):
            world.fire("request_extension", LEAD, payload)

    def test_a_new_request_asks_the_family_again(self, world: World) -> None:
        """Psirf-rules §4.1: a later request replaces the pending one and clears the position."""
        world.requested("2026-05-01")

        case = world.fire("request_extension", LEAD, request("2026-06-01"))

        assert case.facts["requested_target_date"] == "2026-06-01"
        assert "family_extension_position" not in case.facts

    def test_not_before_the_clock_starts(self) -> None:
        """Psirf-rules §9.1: a commissioned PSII has no clock, so nothing to extend."""
        engine = Engine(InMemoryStore(), clock=ManualClock())
        case = engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}).case

        with pytest.raises(TransitionNotAllowed):
            engine.fire(case.id, "request_extension", actor=LEAD, payload=request("2026-05-29"))


class TestFamilyPosition:
    """Psirf-rules §4.1, §7.1: the engagement lead records the family's position."""

    @pytest.mark.parametrize("position", FAMILY_EXTENSION_POSITIONS)
    def test_each_position_is_recorded(self, world: World, position: str) -> None:
        """Agreed, not agreed and not involved (with its reason) are each a full record."""
        case = world.requested(position=position)

        assert case.facts["family_extension_position"] == position
        assert case.facts["family_position_recorded_by"] == ENG.id
        assert world.rules() == ("psirf.timescale.extension_family_position@1",)

    @pytest.mark.parametrize("reason", FAMILY_NOT_INVOLVED_REASONS)
    def test_not_involved_records_its_reason_code(self, world: World, reason: str) -> None:
        """Psirf-rules §7.1: the family not involved records why, as a code."""
        world.fire("request_extension", LEAD, request("2026-05-29"))

        case = world.fire(
            "record_family_position",
            ENG,
            {"family_extension_position": "not_involved", "family_not_involved_reason": reason},
        )

        assert case.facts["family_not_involved_reason"] == reason

    def test_not_involved_without_a_reason_is_refused(self, world: World) -> None:
        """Psirf-rules §7.1: "not involved" without the reason code is ReasonMissing."""
        world.fire("request_extension", LEAD, request("2026-05-29"))

        with pytest.raises(ReasonMissing) as refused:
            world.fire("record_family_position", ENG, {"family_extension_position": "not_involved"})

        assert codes(refused) == ("reason_missing",)

    def test_nothing_to_record_without_a_request(self, world: World) -> None:
        """Psirf-rules §4.1: a position is recorded on a pending request only."""
        with pytest.raises(GuardFailed) as refused:
            world.fire("record_family_position", ENG, {"family_extension_position": "agreed"})

        assert codes(refused) == ("no_extension_requested",)

    @pytest.mark.parametrize("actor", [LEAD, EXEC, PSS], ids=["lead", "executive", "specialist"])
    def test_only_the_engagement_lead_records_it(self, world: World, actor: Actor) -> None:
        """Psirf-rules §5: engagement with the family is the engagement lead's."""
        world.fire("request_extension", LEAD, request("2026-05-29"))

        with pytest.raises(RoleNotPermitted):
            world.fire("record_family_position", actor, {"family_extension_position": "agreed"})


class TestApproval:
    """Psirf-rules §4.1, §5 rule 5, §9.1: the executive lead approves a pending request."""

    @pytest.mark.parametrize("position", ["agreed", "not_involved"])
    def test_approved_date_becomes_the_target(self, world: World, position: str) -> None:
        """The approved date is the target; the request is cleared; the position stays."""
        world.requested("2026-05-29", position)

        case = world.fire("approve_extension", EXEC, {"target_date": "2026-05-29"})

        assert case.facts["target_date"] == "2026-05-29"
        assert case.facts["extension_approved_by"] == EXEC.id
        assert case.facts["family_extension_position"] == position
        assert set(PENDING).isdisjoint(case.facts)
        assert world.rules() == ("psirf.timescale.extension@1", "psirf.sod.extension_approver@1")

    def test_a_shorter_date_than_asked_may_be_approved(self, world: World) -> None:
        """The executive lead may approve less than asked for, never more."""
        world.requested("2026-05-29")

        with pytest.raises(GuardFailed) as refused:
            world.fire("approve_extension", EXEC, {"target_date": "2026-06-01"})
        case = world.fire("approve_extension", EXEC, {"target_date": "2026-05-15"})

        assert codes(refused) == ("extension_beyond_request",)
        assert case.facts["target_date"] == "2026-05-15"

    @pytest.mark.parametrize(
        ("requested", "expected"),
        [
            (False, ("no_extension_requested", "family_position_missing")),
            (True, ("family_position_missing",)),
        ],
        ids=["no-request", "no-position"],
    )
    def test_needs_a_request_and_the_family_position(
        self, world: World, requested: bool, expected: tuple[str, ...]
    ) -> None:
        """Psirf-rules §4.1: no approval without a request and the family's recorded position."""
        if requested:
            world.requested(position=None)

        with pytest.raises(GuardFailed) as refused:
            world.fire("approve_extension", EXEC, {"target_date": "2026-05-29"})

        assert codes(refused) == expected

    def test_against_the_family_needs_a_note(self, world: World) -> None:
        """Psirf-rules §4.1: approving what the family did not agree says why (a note)."""
        world.requested("2026-05-29", "not_agreed")

        with pytest.raises(ReasonMissing):
            world.fire("approve_extension", EXEC, {"target_date": "2026-05-29"})
        case = world.fire(
            "approve_extension", EXEC, {"target_date": "2026-05-29", "note": "coroner's timetable"}
        )

        assert case.facts["target_date"] == "2026-05-29"
        assert case.facts["note"] != "coroner's timetable"

    def test_the_lead_never_decides_their_own(self) -> None:
        """Psirf-rules §5 rule 5: a lead who is an executive cannot approve or refuse it."""
        world = World(lead=LEAD_EXEC)
        world.requested(lead=LEAD_EXEC)

        with pytest.raises(GuardFailed) as approving:
            world.fire("approve_extension", LEAD_EXEC, {"target_date": "2026-05-29"})
        with pytest.raises(GuardFailed) as refusing:
            world.fire("refuse_extension", LEAD_EXEC, {"extension_refusal_reason": "other"})

        assert codes(approving) == ("extension_approver_is_lead",)
        assert codes(refusing) == ("extension_approver_is_lead",)

    @pytest.mark.parametrize("actor", [LEAD, PSS, ENG], ids=["lead", "specialist", "engagement"])
    def test_only_the_executive_lead_approves(self, world: World, actor: Actor) -> None:
        """Psirf-rules §5 (executive lead: extensions): other roles are refused."""
        world.requested()

        with pytest.raises(RoleNotPermitted):
            world.fire("approve_extension", actor, {"target_date": "2026-05-29"})

    def test_old_approval_payload_is_refused(self, world: World) -> None:
        """The reason and family position now belong to their own steps, not the approval."""
        world.requested()

        with pytest.raises(InvalidPayload, match="is not a field of this step"):
            world.fire(
                "approve_extension",
                EXEC,
                {
                    "target_date": "2026-05-29",
                    "extension_reason": "complexity",
                    "family_extension_agreement": "agreed",
                },
            )

    def test_a_held_case_is_extended_and_stays_held(self, world: World) -> None:
        """Psirf-rules §4.1, §9.1: a PSII paused for police or a coroner may be extended."""
        world.fire("begin_gathering", LEAD)
        world.fire("hold", EXEC, {"hold_reason": "coroner"})
        world.requested("2026-06-15")

        held = world.fire("approve_extension", EXEC, {"target_date": "2026-06-15"})
        resumed = world.fire("resume", EXEC)

        assert (held.state, held.held_from) == ("on_hold", "gathering_and_analysis")
        assert resumed.state == "gathering_and_analysis"
        assert resumed.facts["target_date"] == "2026-06-15"

    def test_successive_extensions_only_move_later(self, world: World) -> None:
        """Psirf-rules §4.1: a second extension must go beyond the first one's date."""
        world.requested("2026-05-01")
        world.fire("approve_extension", EXEC, {"target_date": "2026-05-01"})

        with pytest.raises(GuardFailed) as refused:
            world.fire("request_extension", LEAD, request("2026-04-20"))
        world.requested("2026-06-01")
        case = world.fire("approve_extension", EXEC, {"target_date": "2026-06-01"})

        assert codes(refused) == ("extension_not_later",)
        assert case.facts["target_date"] == "2026-06-01"


class TestRefusal:
    """Psirf-rules §4.1, §9.1: the executive lead refuses a request; the target stands."""

    @pytest.mark.parametrize("reason", EXTENSION_REFUSAL_REASONS)
    def test_refusal_clears_the_request(self, world: World, reason: str) -> None:
        """The request and the family's position are cleared; the reason and refuser kept."""
        world.fire(
            "agree_timescale",
            LEAD,
            {"target_date": "2026-03-31", "family_timescale_agreement": "agreed"},
        )
        world.requested("2026-05-29")

        case = world.fire("refuse_extension", EXEC, {"extension_refusal_reason": reason})

        assert case.facts["target_date"] == "2026-03-31"
        assert case.facts["extension_refusal_reason"] == reason
        assert case.facts["extension_refused_by"] == EXEC.id
        assert set(PENDING).isdisjoint(case.facts)
        assert "family_extension_position" not in case.facts
        assert world.rules() == (
            "psirf.timescale.extension_refused@1",
            "psirf.sod.extension_approver@1",
        )

    def test_a_refused_request_cannot_then_be_approved(self, world: World) -> None:
        """Psirf-rules §9.1: after a refusal the lead must ask again."""
        world.requested()
        world.fire("refuse_extension", EXEC, {"extension_refusal_reason": "not_justified"})

        with pytest.raises(GuardFailed) as refused:
            world.fire("approve_extension", EXEC, {"target_date": "2026-05-29"})

        assert codes(refused) == ("no_extension_requested", "family_position_missing")

    def test_nothing_to_refuse_without_a_request(self, world: World) -> None:
        """Psirf-rules §9.1: a refusal needs a pending request and a reason code."""
        with pytest.raises(GuardFailed) as refused:
            world.fire("refuse_extension", EXEC, {"extension_refusal_reason": "other"})
        with pytest.raises(InvalidPayload, match="'extension_refusal_reason' is required"):
            world.fire("refuse_extension", EXEC, {})

        assert codes(refused) == ("no_extension_requested",)


class TestReference:
    """The generated reference lists the new steps with their roles and one-line summaries."""

    @pytest.mark.parametrize(
        ("trigger", "role"),
        [
            ("request_extension", Role.LEARNING_RESPONSE_LEAD),
            ("record_family_position", Role.ENGAGEMENT_LEAD),
            ("approve_extension", Role.EXECUTIVE_LEAD),
            ("refuse_extension", Role.EXECUTIVE_LEAD),
        ],
    )
    def test_each_step_has_its_role_and_summary(self, trigger: str, role: Role) -> None:
        """Every new trigger names one role and says what it means in one line."""
        spec = PSII.transition(trigger)

        assert spec is not None
        assert spec.roles == (role,)
        assert spec.summary.endswith(".")
        assert "\n" not in spec.summary
