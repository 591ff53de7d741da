"""Referrals: one record per body, the notification before completion, the intake's closing.

Rules from psirf-rules §3 (national requirements calling for a referral: bodies as
versioned data, W2), §9.0 ("create Referral(body)") and §5 segregation rule 7. Cases are
driven through the real engine and the outbox relay on the in-memory store.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.policy.conftest import EXAMPLE_PLAN

from psirf_flow import (
    Actor,
    CommandRejected,
    Engine,
    GuardFailed,
    InMemoryStore,
    Role,
    RoleNotPermitted,
    TransitionNotAllowed,
)
from psirf_flow.domain import SYSTEM_ACTOR_ID, SystemReader
from psirf_flow.policy import Plan, load_plan
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import REFERRAL, DefinitionRegistry
from psirf_flow.workflows.couplings import referral_case_id


READER = SystemReader("test-suite")
ORG = "RX9"
OTHER_ORG = "RY1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
REPORTER = Actor("rep-1", [Role.REPORTER], ORG)
OTHER_PSS = Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], OTHER_ORG)

# National rule references from the shipped rule pack (psirf-rules §3 rows 3 and 5 to 11).
CHILD_DEATH = "child_death@2"
SAFEGUARDING = "safeguarding@2"
HOMICIDE = "mental_health_related_homicide@2"
MHA_DEATH = "mha_mca_death_linked_to_care@1"
NEVER_EVENT = "never_event@2"

#: A local body the plan declares (LOCAL, ``[referral_bodies.<id>]``).
LOCAL_BODIES = """
[referral_bodies.coroner]
name = "HM Coroner for the area"
route = "coroner's officer"
"""

INTAKE_ID = "INT-1"
#: The closing refusal while a national requirement's referral is not completed.
NOT_MADE = "national_referral_not_made"


@pytest.fixture(name="plan", scope="module")
def _plan() -> Plan:
    """The example plan with one local referral body declared."""
    text = EXAMPLE_PLAN.read_text(encoding="utf-8") + LOCAL_BODIES
    return load_plan(text, source="example-with-local-body.toml")


@pytest.fixture(name="engine")
def _engine(clock: ManualClock, plan: Plan) -> Engine:
    """An engine under the plan (and the shipped national rules), on a fresh store."""
    return Engine(InMemoryStore(), clock=clock, plan=plan)


@pytest.fixture(name="free_engine")
def _free_engine(clock: ManualClock) -> Engine:
    """An engine without a plan: any body id is accepted, as before."""
    return Engine(InMemoryStore(), clock=clock)


def _under_review(
    engine: Engine,
    national: tuple[str, ...],
    psii: tuple[str, ...] = (),
    *,
    case_id: str = INTAKE_ID,
    incident: str = "INC-1",
) -> str:
    engine.open(
        "incident_intake",
        actor=REPORTER,
        case_id=case_id,
        payload={"incident_id": incident, "physical_harm": "low"},
    )
    engine.fire(case_id, "begin_review", actor=PSS)
    engine.fire(
        case_id,
        "record_triage",
        actor=PSS,
        payload={
            "plan_ref": "rx9-psirp@2.0",
            "national_rule_refs": list(national),
            "national_psii_rule_refs": list(psii),
        },
    )
    return case_id


#: The referral record opened for each body, by body (filled in by ``_refer``).
REFERRALS: dict[str, str] = {}


def _refer(
    engine: Engine, body: str, rule: str | None, *, trigger: str = "refer", **extra: object
) -> str:
    """Refer the intake to ``body``; the id of the referral record the coupling opens."""
    payload: dict[str, object] = {"referral_body": body, **extra}
    if rule is not None:
        payload["referral_rule_ref"] = rule
    outcome = engine.fire(INTAKE_ID, trigger, actor=PSS, payload=payload)
    REFERRALS[body] = referral_case_id(INTAKE_ID, outcome.entry.sequence)
    return REFERRALS[body]


def _relay(engine: Engine) -> None:
    OutboxRelay(engine).run_until_idle()


def _codes(error: pytest.ExceptionInfo[CommandRejected]) -> tuple[str, ...]:
    assert isinstance(error.value, GuardFailed)
    return tuple(r.reason_code for r in error.value.failures)


def _notify(engine: Engine, body: str, ref: str = "REF-1") -> None:
    engine.fire(
        REFERRALS[body],
        "record_notification",
        actor=PSS,
        payload={"notification_ref": ref, "notification_date": "2026-01-06"},
    )


def _complete(engine: Engine, body: str, outcome: str = "notification_acknowledged") -> None:
    engine.fire(
        REFERRALS[body],
        "complete",
        actor=PSS,
        payload={"referral_outcome": outcome},
    )


def _close(engine: Engine, actor: Actor = PSS) -> str:
    return engine.fire(INTAKE_ID, "close_referral", actor=actor).case.state


class TestSeveralReferrals:
    """Several referrals per incident, one per body (psirf-rules §3, §9.0)."""

    def test_each_referral_is_its_own_record(self, engine: Engine) -> None:
        """Each body referred gets its own referral record, opened by the coupling."""
        _under_review(engine, (CHILD_DEATH, SAFEGUARDING))
        _refer(engine, "cdop", CHILD_DEATH)
        _refer(
            engine,
            "local_authority_safeguarding",
            SAFEGUARDING,
            trigger="add_referral",
            body_leads_investigation=True,
        )
        _relay(engine)

        intake = engine.get(INTAKE_ID, reader=READER)
        cdop = engine.get(REFERRALS["cdop"], reader=READER)
        la = engine.get(REFERRALS["local_authority_safeguarding"], reader=READER)

        assert intake.state == "referred"
        assert intake.facts["referral_bodies"] == ("cdop", "local_authority_safeguarding")
        assert intake.facts["referred_by"] == PSS.id
        assert (cdop.workflow, cdop.state, cdop.organisation) == ("referral", "to_notify", ORG)
        assert cdop.facts["referral_body"] == "cdop"
        assert cdop.facts["referral_rule_ref"] == CHILD_DEATH
        assert cdop.facts["incident_ids"] == ("INC-1",)
        assert cdop.facts["intake_case_id"] == INTAKE_ID
        assert "body_leads_investigation" not in cdop.facts
        assert la.facts["referral_body"] == "local_authority_safeguarding"
        assert la.facts["referral_rule_ref"] == SAFEGUARDING
        assert la.facts["body_leads_investigation"] is True
        assert la.facts["opened_by"] == SYSTEM_ACTOR_ID
        assert engine.verify(REFERRALS["cdop"], reader=READER).ok

    def test_a_body_is_referred_to_once_per_incident(self, engine: Engine) -> None:
        """A second referral to the same body is refused, even before the relay ran."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)

        with pytest.raises(GuardFailed) as error:
            _refer(engine, "cdop", CHILD_DEATH, trigger="add_referral")

        assert _codes(error) == ("already_referred_to_body",)

    def test_the_referral_record_refuses_a_second_one_for_its_body(self, engine: Engine) -> None:
        """Opening a referral directly for a body already referred is refused too."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)

        with pytest.raises(GuardFailed) as error:
            engine.open(
                "referral",
                actor=PSS,
                case_id="REF-DUP",
                payload={
                    "incident_ids": ["INC-1"],
                    "referral_body": "cdop",
                    "referral_rule_ref": CHILD_DEATH,
                },
            )

        assert _codes(error) == ("already_referred_to_body",)

    def test_referral_needs_recorded_triage(self, engine: Engine) -> None:
        """A referral follows a recorded triage (psirf-rules §6 stage 2)."""
        engine.open(
            "incident_intake", actor=REPORTER, case_id=INTAKE_ID, payload={"incident_id": "INC-1"}
        )
        engine.fire(INTAKE_ID, "begin_review", actor=PSS)

        with pytest.raises(GuardFailed) as error:
            _refer(engine, "mnsi", None)

        assert "triage_not_recorded" in _codes(error)


class TestBodies:
    """The body is one a recorded national requirement names or a local body (§3, W2)."""

    @pytest.mark.parametrize(
        ("body", "rule", "refused"),
        [
            pytest.param("cdop", CHILD_DEATH, (), id="named-by-the-cited-rule"),
            pytest.param("cdop", None, (), id="named-by-a-recorded-rule"),
            pytest.param("coroner", None, (), id="local-body-in-the-plan"),
            pytest.param("mnsi", CHILD_DEATH, ("referral_body_not_allowed",), id="other-body"),
            pytest.param("mnsi", None, ("referral_body_not_allowed",), id="named-by-no-rule"),
            pytest.param(
                "nhse_riit", HOMICIDE, ("referral_rule_not_recorded",), id="rule-not-recorded"
            ),
            pytest.param("acme", None, ("referral_body_not_allowed",), id="unknown-body"),
        ],
    )
    def test_body_table(
        self, engine: Engine, body: str, rule: str | None, refused: tuple[str, ...]
    ) -> None:
        """Which bodies a referral may go to under the plan."""
        _under_review(engine, (CHILD_DEATH,))

        if refused:
            with pytest.raises(GuardFailed) as error:
                _refer(engine, body, rule)
            assert _codes(error) == refused
            assert engine.get(INTAKE_ID, reader=READER).state == "under_review"
        else:
            _refer(engine, body, rule)
            _relay(engine)
            referral = engine.get(REFERRALS[body], reader=READER)
            assert referral.facts["referral_body"] == body

    def test_without_a_plan_any_body_is_accepted(self, free_engine: Engine) -> None:
        """With no plan the engine keeps its earlier freedom over body ids."""
        _under_review(free_engine, (CHILD_DEATH,))
        free_engine.fire(INTAKE_ID, "refer", actor=PSS, payload={"referral_body": "acme"})
        _relay(free_engine)

        assert free_engine.get("INT-1/ref4", reader=READER).state == "to_notify"

    def test_referral_opened_directly_checks_its_rule(self, engine: Engine) -> None:
        """A referral opened by the team names a body its cited rule names."""
        payload = {"incident_ids": ["INC-5"], "referral_body": "mnsi"}

        with pytest.raises(GuardFailed) as error:
            engine.open(
                "referral",
                actor=PSS,
                case_id="REF-5",
                payload={**payload, "referral_rule_ref": CHILD_DEATH},
            )
        opened = engine.open(
            "referral",
            actor=PSS,
            case_id="REF-6",
            payload={**payload, "referral_rule_ref": "maternity_neonatal_mnsi@2"},
        )

        assert _codes(error) == ("referral_body_not_allowed",)
        assert opened.case.state == "to_notify"


class TestNotificationBeforeCompletion:
    """A referral is complete only once its notification is recorded (§3, §9.0)."""

    def test_complete_is_not_a_step_before_notification(self, engine: Engine) -> None:
        """An unnotified referral cannot be completed."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)

        with pytest.raises(TransitionNotAllowed):
            _complete(engine, "cdop")

    def test_notification_is_recorded_with_reference_and_date(self, engine: Engine) -> None:
        """The notification keeps its reference, date, route and who recorded it."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)
        case_id = REFERRALS["cdop"]

        notified = engine.fire(
            case_id,
            "record_notification",
            actor=EXEC,
            payload={
                "notification_ref": "CDOP-77",
                "notification_date": "2026-01-06",
                "notification_route": "portal",
            },
        )
        completed = engine.fire(
            case_id, "complete", actor=PSS, payload={"referral_outcome": "body_review_complete"}
        )

        assert notified.case.state == "notified"
        assert notified.case.facts["notification_ref"] == "CDOP-77"
        assert notified.case.facts["notification_date"] == "2026-01-06"
        assert notified.case.facts["notification_route"] == "portal"
        assert notified.case.facts["notified_by"] == EXEC.id
        assert completed.case.state == "completed"
        assert completed.case.facts["completed_by"] == PSS.id
        assert completed.case.facts["referral_outcome"] == "body_review_complete"

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param({"notification_date": "2026-01-06"}, id="no-reference"),
            pytest.param({"notification_ref": "R-1"}, id="no-date"),
        ],
    )
    def test_notification_needs_reference_and_date(
        self, engine: Engine, payload: Mapping[str, object]
    ) -> None:
        """A notification without its reference or date is refused."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)

        with pytest.raises(CommandRejected) as error:
            engine.fire(
                REFERRALS["cdop"],
                "record_notification",
                actor=PSS,
                payload=payload,
            )

        assert error.value.reason_code == "invalid_payload"


class TestIntakeClosing:
    """The intake closes only when every referral of its incident has run its course."""

    def test_closing_follows_every_referral(self, engine: Engine) -> None:
        """Refused with the reason of the least advanced referral, then closed."""
        _under_review(engine, (CHILD_DEATH, SAFEGUARDING))
        _refer(engine, "cdop", CHILD_DEATH)
        _refer(engine, "local_authority_safeguarding", SAFEGUARDING, trigger="add_referral")
        refusals: list[tuple[str, ...]] = []

        def refused() -> None:
            with pytest.raises(GuardFailed) as error:
                _close(engine)
            refusals.append(_codes(error))

        refused()  # the coupling has not opened the referral records yet
        _relay(engine)
        refused()
        _notify(engine, "cdop")
        refused()
        _notify(engine, "local_authority_safeguarding")
        refused()
        _complete(engine, "cdop")
        refused()
        _complete(engine, "local_authority_safeguarding")

        assert refusals == [
            ("no_referral_recorded", NOT_MADE),
            ("referral_not_notified", NOT_MADE),
            ("referral_not_notified", NOT_MADE),
            ("referral_not_completed", NOT_MADE),
            ("referral_not_completed", NOT_MADE),
        ]
        assert _close(engine) == "closed"
        assert engine.get(INTAKE_ID, reader=READER).facts["closed_by"] == PSS.id

    def test_options_explain_why_closing_waits(self, engine: Engine) -> None:
        """Asking what may be done reads the referral records too."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)

        (close,) = [o for o in engine.options(INTAKE_ID, PSS) if o.trigger == "close_referral"]
        _notify(engine, "cdop")
        _complete(engine, "cdop")
        (closable,) = [o for o in engine.options(INTAKE_ID, PSS) if o.trigger == "close_referral"]

        assert close.allowed is False
        assert close.reason_codes == ("referral_not_notified", NOT_MADE)
        assert closable.allowed is True

    def test_withdrawn_referrals_alone_do_not_close(self, engine: Engine) -> None:
        """Withdrawing every referral is not completing one."""
        _under_review(engine, (CHILD_DEATH, SAFEGUARDING))
        _refer(engine, "cdop", CHILD_DEATH)
        _refer(engine, "local_authority_safeguarding", SAFEGUARDING, trigger="add_referral")
        _relay(engine)
        withdraw = {"withdrawal_reason": "opened_in_error"}
        engine.fire(REFERRALS["cdop"], "withdraw", actor=EXEC, payload=withdraw)

        with pytest.raises(GuardFailed) as pending:
            _close(engine)
        engine.fire(
            REFERRALS["local_authority_safeguarding"], "withdraw", actor=EXEC, payload=withdraw
        )
        with pytest.raises(GuardFailed) as none_completed:
            _close(engine)

        assert _codes(pending) == ("referral_not_notified", NOT_MADE)
        assert _codes(none_completed) == ("no_referral_completed", NOT_MADE)

    def test_one_completed_and_one_withdrawn_closes(self, engine: Engine) -> None:
        """A withdrawn referral does not hold the intake open once another is complete."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _refer(engine, "coroner", None, trigger="add_referral")
        _relay(engine)
        engine.fire(
            REFERRALS["coroner"],
            "withdraw",
            actor=EXEC,
            payload={"withdrawal_reason": "body_not_responsible"},
        )
        _notify(engine, "cdop")
        _complete(engine, "cdop")

        assert _close(engine) == "closed"
        withdrawn = engine.get(REFERRALS["coroner"], reader=READER)
        assert withdrawn.state == "withdrawn"
        assert withdrawn.facts["withdrawn_by"] == EXEC.id

    def test_only_the_executive_lead_withdraws(self, engine: Engine) -> None:
        """Withdrawing a referral is the executive lead's step (§5 rule 7)."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)

        with pytest.raises(RoleNotPermitted):
            engine.fire(
                REFERRALS["cdop"],
                "withdraw",
                actor=PSS,
                payload={"withdrawal_reason": "opened_in_error"},
            )

    def test_another_organisations_referral_is_not_seen(self, engine: Engine) -> None:
        """A referral of another organisation for the same incident id counts for nothing."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        engine.open(
            "referral",
            actor=OTHER_PSS,
            case_id="RY1-REF",
            payload={
                "incident_ids": ["INC-1"],
                "referral_body": "cdop",
                "referral_rule_ref": CHILD_DEATH,
            },
        )
        engine.fire(
            "RY1-REF",
            "record_notification",
            actor=OTHER_PSS,
            payload={"notification_ref": "X", "notification_date": "2026-01-06"},
        )
        engine.fire(
            "RY1-REF",
            "complete",
            actor=OTHER_PSS,
            payload={"referral_outcome": "body_review_complete"},
        )

        with pytest.raises(GuardFailed) as error:
            _close(engine)

        assert _codes(error) == ("no_referral_recorded", NOT_MADE)

    def test_another_intakes_referral_does_not_count(self, engine: Engine) -> None:
        """A duplicate intake of the incident does not close on this intake's referrals."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)
        _notify(engine, "cdop")
        _complete(engine, "cdop")
        _under_review(engine, (CHILD_DEATH,), case_id="INT-2")
        engine.fire("INT-2", "refer", actor=PSS, payload={"referral_body": "coroner"})

        with pytest.raises(GuardFailed) as error:
            engine.fire("INT-2", "close_referral", actor=PSS)

        assert _codes(error) == ("no_referral_recorded", NOT_MADE)


class TestNationalReferralsMade:
    """Under a plan, each national referral requirement has a completed referral (§3)."""

    def _referred_to_cdop_only(self, engine: Engine) -> None:
        _under_review(engine, (CHILD_DEATH, SAFEGUARDING))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)
        _notify(engine, "cdop")
        _complete(engine, "cdop")

    def test_a_required_body_not_referred_keeps_the_intake_open(self, engine: Engine) -> None:
        """Completing one referral does not meet another rule's referral."""
        self._referred_to_cdop_only(engine)

        with pytest.raises(GuardFailed) as error:
            _close(engine)

        assert _codes(error) == (NOT_MADE,)
        assert SAFEGUARDING in error.value.failures[0].explanation

    def test_the_override_sets_the_requirement_aside(self, engine: Engine) -> None:
        """An executive override of the rule lets the intake close (§5 rule 7)."""
        self._referred_to_cdop_only(engine)
        engine.fire(
            INTAKE_ID,
            "override_national_requirement",
            actor=EXEC,
            payload={
                "overridden_rule_refs": [SAFEGUARDING],
                "national_requirement_overridden": True,
                "override_reason": "already_investigated_elsewhere",
            },
        )

        assert _close(engine) == "closed"

    def test_without_a_plan_it_is_not_checked(self, free_engine: Engine) -> None:
        """Without a plan the rule pack is not consulted, as before."""
        _under_review(free_engine, (CHILD_DEATH, SAFEGUARDING))
        _refer(free_engine, "cdop", CHILD_DEATH)
        _relay(free_engine)
        _notify(free_engine, "cdop")
        _complete(free_engine, "cdop")

        assert _close(free_engine) == "closed"


class TestContribution:
    """Where the body leads, the trust's contribution is tracked per referral (§3, §9.0)."""

    def _body_leads(self, engine: Engine) -> str:
        _under_review(engine, (SAFEGUARDING,))
        _refer(engine, "local_authority_safeguarding", SAFEGUARDING, body_leads_investigation=True)
        _relay(engine)
        _notify(engine, "local_authority_safeguarding")
        case_id = REFERRALS["local_authority_safeguarding"]
        engine.fire(
            case_id, "record_external_lead", actor=PSS, payload={"external_lead_date": "2026-01-08"}
        )
        return case_id

    def test_contribution_tracked_to_the_findings(self, engine: Engine) -> None:
        """Requested, supplied and findings received, then completed on the findings."""
        case_id = self._body_leads(engine)
        steps: list[tuple[str, dict[str, object]]] = [
            (
                "record_information_requested",
                {"information_request_ref": "REQ-1", "information_requested_date": "2026-01-09"},
            ),
            (
                "record_information_supplied",
                {"information_supplied_ref": "SUP-1", "information_supplied_date": "2026-01-12"},
            ),
            (
                "record_findings_received",
                {"external_findings_ref": "SAR-1", "findings_received_date": "2026-04-01"},
            ),
            ("complete", {"referral_outcome": "findings_received"}),
        ]

        states = [engine.fire(case_id, t, actor=PSS, payload=p).case.state for t, p in steps]

        assert states == ["body_leads"] * 3 + ["completed"]
        facts = engine.get(case_id, reader=READER).facts
        assert facts["external_lead_date"] == "2026-01-08"
        assert facts["information_supplied_date"] == "2026-01-12"
        assert facts["findings_received_date"] == "2026-04-01"
        assert _close(engine) == "closed"

    def test_contribution_steps_need_the_body_to_lead(self, engine: Engine) -> None:
        """Contribution is tracked only where the body leads (psirf-rules §9.0)."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        _relay(engine)
        _notify(engine, "cdop")

        with pytest.raises(TransitionNotAllowed):
            engine.fire(
                REFERRALS["cdop"],
                "record_information_requested",
                actor=PSS,
                payload={
                    "information_request_ref": "R",
                    "information_requested_date": "2026-01-09",
                },
            )

    @pytest.mark.parametrize(
        ("requested", "supplied_on", "refused"),
        [
            pytest.param(None, "2026-01-12", ("information_not_requested",), id="not-requested"),
            pytest.param("2026-01-12", "2026-01-09", ("supplied_before_requested",), id="early"),
        ],
    )
    def test_information_is_supplied_after_a_request(
        self, engine: Engine, requested: str | None, supplied_on: str, refused: tuple[str, ...]
    ) -> None:
        """Supplying information follows the body's request (psirf-rules §9.0, INF)."""
        case_id = self._body_leads(engine)
        if requested is not None:
            engine.fire(
                case_id,
                "record_information_requested",
                actor=PSS,
                payload={"information_request_ref": "R-1", "information_requested_date": requested},
            )

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id,
                "record_information_supplied",
                actor=PSS,
                payload={
                    "information_supplied_ref": "S-1",
                    "information_supplied_date": supplied_on,
                },
            )

        assert _codes(error) == refused

    def test_completing_on_findings_needs_their_receipt(self, engine: Engine) -> None:
        """A referral completed on the body's findings has them recorded."""
        case_id = self._body_leads(engine)

        with pytest.raises(GuardFailed) as error:
            engine.fire(
                case_id, "complete", actor=PSS, payload={"referral_outcome": "findings_received"}
            )

        assert _codes(error) == ("findings_not_received",)


class TestLocalResponseAlongside:
    """A local response alongside a referral (§3 rows 4 to 8, §5 rule 7)."""

    def _commission(self, engine: Engine, actor: Actor, **payload: object) -> str:
        return engine.fire(
            INTAKE_ID,
            "commission_local_response",
            actor=actor,
            payload={
                "response_type": "psii",
                "basis": "national_requirement",
                "rationale": "national_requirement_applies",
                **payload,
            },
        ).case.state

    def test_required_by_the_referral_record(self, engine: Engine) -> None:
        """A referral needing a local response keeps the intake open until one is commissioned."""
        _under_review(engine, (HOMICIDE,))
        _refer(engine, "nhse_riit", HOMICIDE, local_response_also_required=True)
        _refer(engine, "coroner", None, trigger="add_referral")  # clears the intake's own flag
        _relay(engine)
        for body in ("nhse_riit", "coroner"):
            _notify(engine, body)
            _complete(engine, body)

        with pytest.raises(GuardFailed) as error:
            _close(engine)
        state = self._commission(engine, PSS)

        assert _codes(error) == ("local_response_not_commissioned",)
        assert (
            engine.get(REFERRALS["nhse_riit"], reader=READER).facts["local_response_also_required"]
            is True
        )
        assert state == "referred"
        assert _close(engine) == "closed"

    def test_psii_rule_alongside_a_referral_needs_a_local_psii(self, engine: Engine) -> None:
        """A PSII rule is met by a local PSII even when another rule was referred (§3 rows 4, 8)."""
        _under_review(engine, (MHA_DEATH, SAFEGUARDING), (MHA_DEATH,))
        _refer(engine, "local_authority_safeguarding", SAFEGUARDING)
        _relay(engine)
        _notify(engine, "local_authority_safeguarding")
        _complete(engine, "local_authority_safeguarding")

        with pytest.raises(GuardFailed) as close_error:
            _close(engine)
        with pytest.raises(GuardFailed) as aar_error:
            self._commission(engine, PSS, response_type="after_action_review")
        self._commission(engine, EXEC)

        assert _codes(close_error) == ("local_response_not_commissioned",)
        assert "national_requirement_requires_psii" in _codes(aar_error)
        assert _close(engine) == "closed"

    def test_override_during_referral_lifts_the_local_psii(self, engine: Engine) -> None:
        """An executive override of the PSII rule lets the referral close alone (§5 rule 7)."""
        _under_review(engine, (NEVER_EVENT, SAFEGUARDING), (NEVER_EVENT,))
        _refer(engine, "local_authority_safeguarding", SAFEGUARDING)
        _relay(engine)
        _notify(engine, "local_authority_safeguarding")
        _complete(engine, "local_authority_safeguarding")
        engine.fire(
            INTAKE_ID,
            "override_national_requirement",
            actor=EXEC,
            payload={
                "overridden_rule_refs": [NEVER_EVENT],
                "national_requirement_overridden": True,
                "override_reason": "criteria_not_met_on_review",
            },
        )

        assert _close(engine) == "closed"

    def test_emergent_risk_alongside_a_referral_is_executive(self, engine: Engine) -> None:
        """A local response for an emergent risk is the executive lead's decision (§1 (c), §5)."""
        _under_review(engine, (CHILD_DEATH,))
        _refer(engine, "cdop", CHILD_DEATH)
        payload = {
            "response_type": "round_table_review",
            "basis": "emergent_risk",
            "rationale": "significant_risk_identified",
        }

        with pytest.raises(GuardFailed) as error:
            engine.fire(INTAKE_ID, "commission_local_response", actor=PSS, payload=payload)
        outcome = engine.fire(INTAKE_ID, "commission_local_response", actor=EXEC, payload=payload)

        assert "executive_decision_required" in _codes(error)
        assert outcome.case.facts["decided_by"] == EXEC.id


class TestDefinition:
    """The referral definition is registered by default and documented as data."""

    def test_registered_by_default(self) -> None:
        """The default registry holds referral@1 of family referral."""
        registry = DefinitionRegistry.default()

        assert registry.latest("referral") is REFERRAL
        assert REFERRAL.key == "referral@1"
        assert REFERRAL.family == "referral"
        assert REFERRAL.final_states == {"completed", "withdrawn"}
        assert REFERRAL.opening.guards == ("referral_body_allowed", "one_referral_per_body")

    def test_referral_ids_are_one_per_referring_command(self) -> None:
        """The referral's id is derived from the intake and the referring entry, stably."""
        assert referral_case_id("INT-1", 4) == "INT-1/ref4"
        assert referral_case_id("INT-1", 4) != referral_case_id("INT-1", 5)
        assert referral_case_id("INT-1", 4) != referral_case_id("INT-2", 4)


BODIES = ("cdop", "local_authority_safeguarding", "coroner", "mnsi")


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(BODIES), st.booleans()), min_size=1, max_size=8))
def test_one_record_per_body_whatever_the_order(steps: list[tuple[str, bool]]) -> None:
    """However referrals and relay runs interleave, each accepted body has one record."""
    engine = Engine(
        InMemoryStore(),
        clock=ManualClock(),
        plan=load_plan(EXAMPLE_PLAN.read_text(encoding="utf-8") + LOCAL_BODIES),
    )
    _under_review(engine, (CHILD_DEATH, SAFEGUARDING))
    accepted: list[str] = []
    for body, relay_now in steps:
        trigger = "add_referral" if accepted else "refer"
        try:
            engine.fire(INTAKE_ID, trigger, actor=PSS, payload={"referral_body": body})
        except GuardFailed as refused:
            codes = {r.reason_code for r in refused.failures}
            assert codes <= {"already_referred_to_body", "referral_body_not_allowed"}
            assert (body in accepted) == ("already_referred_to_body" in codes)
        else:
            accepted.append(body)
        if relay_now:
            _relay(engine)
    _relay(engine)

    records = [r for r in engine.incident_records("INC-1", reader=PSS) if r.family == "referral"]
    bodies = [engine.get(r.case_id, reader=READER).facts["referral_body"] for r in records]
    assert sorted(bodies) == sorted(accepted)
    assert len(set(bodies)) == len(bodies)
    assert engine.get(INTAKE_ID, reader=READER).facts.get("referral_bodies", ()) == tuple(
        sorted(accepted)
    )
