"""Plan settings for referrals, regulator notifications, thematic reviews and the reserve.

psirf-rules §3 (referral bodies as data, W2; the "related non-PSIRF notifications" such as
the CQC's criteria, INF), §2 (thematic reviews, LOCAL schedule) and §0.5 rule 1 (reserve
capacity, LOCAL).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from psirf_flow.audit import GENESIS_HASH, AuditEntry, make_entry
from psirf_flow.domain import FactValue
from psirf_flow.errors import PlanError
from psirf_flow.oversight import ReservePeriodUse, reserve_capacity_use
from psirf_flow.policy import (
    IncidentFacts,
    LocalReferralBody,
    NationalRuleSet,
    PhysicalHarm,
    Plan,
    ThematicReviewDue,
    dump_plan,
    load_plan,
    thematic_reviews_due,
    triage,
)


EXTRA = """
[referral_bodies.coroner]
name = "HM Coroner for the area"
route = "coroner's officer"

[referral_bodies.local_maternity_system]
name = "Local maternity and neonatal system"

[[notifications]]
id = "cqc-death"
body = "cqc"
title = "Notify the CQC of a death"
when = { fact = "died", is = true }

[[notifications]]
id = "cqc-serious-injury"
body = "cqc"
title = "Notify the CQC of a serious injury"
when = { fact = "physical_harm", at_least = "severe" }
"""


@pytest.fixture(name="plan", scope="module")
def _plan(example_text: str) -> Plan:
    """The example plan with local referral bodies and two notification steps."""
    return load_plan(example_text + EXTRA, source="example-with-notifications.toml")


#: One notification step, for the mistakes table.
NOTIFY = '[[notifications]]\nid = "{id}"\nbody = "{body}"\nwhen = {when}\n'


def _problem_paths(text: str) -> set[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(text, source="plan.toml")
    return {p.path for p in caught.value.problems}


class TestLoading:
    """The new sections load, round-trip and are checked."""

    def test_sections_load(self, plan: Plan) -> None:
        """Local bodies by id and notification steps in order, every field kept."""
        assert plan.referral_bodies == {
            "coroner": LocalReferralBody(name="HM Coroner for the area", route="coroner's officer"),
            "local_maternity_system": LocalReferralBody(name="Local maternity and neonatal system"),
        }
        assert [n.id for n in plan.notifications] == ["cqc-death", "cqc-serious-injury"]
        assert [n.body for n in plan.notifications] == ["cqc", "cqc"]
        assert plan.notifications[0].title == "Notify the CQC of a death"

    def test_round_trip(self, plan: Plan) -> None:
        """Writing the plan and reading it back gives the same plan."""
        assert load_plan(dump_plan(plan)) == plan

    def test_defaults_are_empty(self, example_plan: Plan) -> None:
        """A plan without the sections has no local bodies and no notification steps."""
        assert dict(example_plan.referral_bodies) == {}
        assert example_plan.notifications == ()

    @pytest.mark.parametrize(
        ("extra", "path"),
        [
            pytest.param(
                '[[notifications]]\nid = "a"\nbody = "cqc"\nwhen = { fact = "died", is = true }\n'
                '[[notifications]]\nid = "a"\nbody = "cqc"\nwhen = { fact = "died", is = true }\n',
                "notifications[1].id",
                id="duplicate-id",
            ),
            pytest.param(
                NOTIFY.format(id="a b", body="cqc", when='{ fact = "died", is = true }'),
                "notifications[0].id",
                id="id-not-opaque",
            ),
            pytest.param(
                NOTIFY.format(id="a", body="c q c", when='{ fact = "died", is = true }'),
                "notifications[0].body",
                id="body-not-opaque",
            ),
            pytest.param(
                NOTIFY.format(id="a", body="cqc", when='{ fact = "weather", is = true }'),
                "notifications[0].when.fact",
                id="unknown-fact",
            ),
            pytest.param(
                '[[notifications]]\nid = "a"\nbody = "cqc"\n',
                "notifications[0].when",
                id="no-condition",
            ),
            pytest.param(
                '[referral_bodies."the coroner"]\nname = "HM Coroner"\n',
                'referral_bodies."the coroner"',
                id="body-id-not-opaque",
            ),
            pytest.param(
                "[referral_bodies.coroner]\nroute = 3\n",
                "referral_bodies.coroner.name",
                id="body-without-name",
            ),
        ],
    )
    def test_mistakes_are_located(self, example_text: str, extra: str, path: str) -> None:
        """Each mistake in the new sections is reported at its path."""
        paths = _problem_paths(example_text + "\n" + extra)

        assert any(p.startswith(path) for p in paths), paths


class TestTriage:
    """Triage lists the notification steps and the thematic reviews an incident meets."""

    @pytest.mark.parametrize(
        ("facts", "notifications", "reviews"),
        [
            pytest.param({}, (), (), id="nothing"),
            pytest.param(
                {"died": True, "physical_harm": PhysicalHarm.FATAL},
                ("cqc-death", "cqc-serious-injury"),
                (),
                id="death-meets-both",
            ),
            pytest.param(
                {"physical_harm": PhysicalHarm.SEVERE}, ("cqc-serious-injury",), (), id="severe"
            ),
            pytest.param({"physical_harm": PhysicalHarm.MODERATE}, (), (), id="moderate"),
            pytest.param(
                {"categories": {"discharge"}}, (), ("discharge-quarterly",), id="thematic"
            ),
        ],
    )
    def test_steps_and_reviews(
        self,
        plan: Plan,
        rules: NationalRuleSet,
        facts: dict[str, object],
        notifications: tuple[str, ...],
        reviews: tuple[str, ...],
    ) -> None:
        """Notification steps and thematic reviews met, in plan order."""
        result = triage(IncidentFacts(incident_id="INC-1", **facts), plan, rules)  # type: ignore[arg-type]

        assert result.notifications == notifications
        assert result.thematic_reviews_matched == reviews


class TestThematicReviewsDue:
    """Which scheduled thematic reviews are due, by first_due and every (§2, LOCAL)."""

    @pytest.mark.parametrize(
        ("on", "due_on", "next_due"),
        [
            pytest.param(date(2026, 6, 29), None, None, id="before-first"),
            pytest.param(date(2026, 6, 30), date(2026, 6, 30), date(2026, 9, 30), id="first-day"),
            pytest.param(date(2026, 9, 29), date(2026, 6, 30), date(2026, 9, 30), id="between"),
            pytest.param(date(2026, 12, 31), date(2026, 12, 30), date(2027, 3, 30), id="no-drift"),
            pytest.param(date(2027, 3, 30), date(2027, 3, 30), date(2027, 6, 30), id="a-year-on"),
        ],
    )
    def test_due_table(
        self, example_plan: Plan, on: date, due_on: date | None, next_due: date | None
    ) -> None:
        """The quarterly review from 30 June 2026, counted from its first due date."""
        result = thematic_reviews_due(example_plan, on=on)

        if due_on is None:
            assert result == ()
        else:
            assert result == (
                ThematicReviewDue(
                    review_id="discharge-quarterly",
                    response_type="thematic_review",
                    due_on=due_on,
                    next_due=next_due or due_on,
                ),
            )

    def test_incidents_gathered_are_listed(self, example_plan: Plan) -> None:
        """The incidents gathered for the review come sorted without duplicates."""
        (due,) = thematic_reviews_due(
            example_plan,
            on=date(2026, 7, 1),
            gathered={"discharge-quarterly": ["INC-9", "INC-2", "INC-9"], "other": ["INC-1"]},
        )

        assert due.incident_ids == ("INC-2", "INC-9")


def _decision(
    case_id: str, when: datetime, *, reserve: bool = True, trigger: str = "decide_response"
) -> AuditEntry:
    data: dict[str, FactValue] = {"response_type": "psii", "basis": "emergent_risk"}
    if reserve:
        data["reserve_capacity_used"] = True
    return make_entry(
        case_id=case_id,
        sequence=4,
        workflow="incident_intake",
        workflow_version="1",
        trigger=trigger,
        from_state="under_review",
        to_state="response_decided",
        actor_id="exec-1",
        role="executive_lead",
        organisation="RX9",
        guards=(),
        rules=(),
        data=data,
        recorded_at=when,
        previous_hash=GENESIS_HASH,
    )


class TestReserveCapacityUse:
    """Reserve capacity used and remaining per period, reported not locked (§0.5 rule 1)."""

    def test_used_and_remaining_per_period(self, example_plan: Plan) -> None:
        """Draws count in the period of their London date; overdrawing shows below zero."""
        entries = [
            _decision("INT-1", datetime(2026, 5, 1, 9, tzinfo=UTC)),
            _decision("INT-2", datetime(2026, 6, 1, 9, tzinfo=UTC)),
            _decision(
                "INT-3", datetime(2026, 7, 1, 9, tzinfo=UTC), trigger="commission_local_response"
            ),
            _decision("INT-4", datetime(2027, 3, 31, 23, 30, tzinfo=UTC)),  # 1 April in London
            _decision("INT-5", datetime(2026, 8, 1, 9, tzinfo=UTC), reserve=False),
            _decision("INT-6", datetime(2026, 3, 31, 9, tzinfo=UTC)),  # before the plan
            _decision("INT-7", datetime(2026, 9, 1, 9, tzinfo=UTC)),
            _decision("INT-8", datetime(2026, 10, 1, 9, tzinfo=UTC)),
        ]

        result = reserve_capacity_use(reversed(entries), example_plan, on=date(2027, 4, 2))

        assert result == (
            ReservePeriodUse(
                start=date(2026, 4, 1),
                end=date(2027, 4, 1),
                allowed=3,
                used=5,
                remaining=-2,
                case_ids=("INT-1", "INT-2", "INT-3", "INT-7", "INT-8"),
            ),
            ReservePeriodUse(
                start=date(2027, 4, 1),
                end=date(2028, 4, 1),
                allowed=3,
                used=1,
                remaining=2,
                case_ids=("INT-4",),
            ),
        )

    def test_draws_after_the_day_asked_are_left_out(self, example_plan: Plan) -> None:
        """A report up to a day counts nothing later."""
        entries = [_decision("INT-1", datetime(2026, 5, 1, 9, tzinfo=UTC))]

        (period,) = reserve_capacity_use(entries, example_plan, on=date(2026, 4, 30))

        assert (period.used, period.remaining, period.case_ids) == (0, 3, ())
