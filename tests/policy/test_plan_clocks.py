"""The plan's clocks: escalation tiers before and after due, expiry actions, [timescales]."""

from __future__ import annotations

from pathlib import Path

import pytest

from psirf_flow.domain import Role
from psirf_flow.errors import PlanError
from psirf_flow.policy import (
    DEFAULT_REFERRAL_NOTIFICATION,
    DEFAULT_TRIAGE_REVIEW,
    EXPIRY_ACTION_LIFECYCLES,
    EXPIRY_ACTIONS,
    ClockSettings,
    EscalationTier,
    LifecycleVariant,
    Plan,
    Timescale,
    TimeUnit,
    dump_plan,
    load_plan,
    load_plan_file,
)


BASE = """\
schema = 1

[plan]
id = "rx9-psirp"
version = "1.0"
organisation = "RX9"
status = "board_approved"
effective_from = 2026-04-01
effective_to = 2027-03-31
review_date = 2027-01-31
board_approved_on = 2026-03-01

[response_types.psii]
maps_to = "psii"
timescale = { amount = 3, unit = "months" }
sign_off = [{ role = "executive_lead" }]
escalation_ladder = "late"

[escalation_ladders.late]
tiers = [
  { before = { amount = 10, unit = "working_days" }, notify = ["learning_response_lead"] },
  { before = { amount = 5, unit = "working_days" }, notify = ["learning_response_lead"] },
  { after = { amount = 0, unit = "working_days" }, notify = ["patient_safety_specialist"] },
  { after = { amount = 5, unit = "working_days" }, notify = ["executive_lead"] },
]
"""

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").rglob("*.toml"))
PLANS = [p for p in EXAMPLES if not p.name.endswith(".incidents.toml")]


def _load(text: str) -> Plan:
    return load_plan(text, source="plan.toml")


def _problems(text: str) -> list[tuple[str, str]]:
    with pytest.raises(PlanError) as caught:
        _load(text)
    return [(p.path, p.message) for p in caught.value.problems]


def test_ladder_with_warnings_loads_in_firing_order() -> None:
    """A ladder's warnings come first, with their offsets, roles and stages kept."""
    plan = _load(BASE)
    tiers = plan.escalation_ladders["late"].tiers
    assert tiers == (
        EscalationTier(
            before=Timescale(10, TimeUnit.WORKING_DAYS), notify=(Role.LEARNING_RESPONSE_LEAD,)
        ),
        EscalationTier(
            before=Timescale(5, TimeUnit.WORKING_DAYS), notify=(Role.LEARNING_RESPONSE_LEAD,)
        ),
        EscalationTier(
            after=Timescale(0, TimeUnit.WORKING_DAYS), notify=(Role.PATIENT_SAFETY_SPECIALIST,)
        ),
        EscalationTier(after=Timescale(5, TimeUnit.WORKING_DAYS), notify=(Role.EXECUTIVE_LEAD,)),
    )
    assert [t.stage for t in tiers] == ["warning", "warning", "breach", "escalation"]
    assert all(t.action is None for t in tiers)


def test_timescales_section_defaults() -> None:
    """Without [timescales] the local defaults apply: 72 hours, 2 working days, no ladders."""
    clocks = _load(BASE).timescales
    assert clocks == ClockSettings()
    assert clocks.triage_review == DEFAULT_TRIAGE_REVIEW == Timescale(72, TimeUnit.HOURS)
    assert clocks.referral_notification == DEFAULT_REFERRAL_NOTIFICATION
    assert clocks.referral_notification == Timescale(2, TimeUnit.WORKING_DAYS)
    assert clocks.triage_review_ladder is None
    assert clocks.referral_ladder is None
    assert clocks.safety_action_ladder is None


def test_timescales_section_loads_every_setting() -> None:
    """Every [timescales] setting is read from the plan."""
    text = (
        BASE
        + """
[timescales]
triage_review = { amount = 1, unit = "working_days" }
triage_review_ladder = "breach"
referral_notification = { amount = 24, unit = "hours" }
referral_ladder = "breach"
safety_action_ladder = "late"

[escalation_ladders.breach]
tiers = [{ after = { amount = 0, unit = "hours" }, notify = ["patient_safety_specialist"] }]
"""
    )
    assert _load(text).timescales == ClockSettings(
        triage_review=Timescale(1, TimeUnit.WORKING_DAYS),
        triage_review_ladder="breach",
        referral_notification=Timescale(24, TimeUnit.HOURS),
        referral_ladder="breach",
        safety_action_ladder="late",
    )


SWARM = """
[response_types.swarm]
maps_to = "swarm_huddle"
timescale = { amount = 24, unit = "hours" }
sign_off = [{ role = "senior_leader" }]
escalation_ladder = "not-held"

[escalation_ladders.not-held]
tiers = [
  { after = { amount = 0, unit = "hours" }, notify = ["facilitator"], action = "ACTION" },
]
"""


def test_expiry_action_is_accepted_on_a_swarm_huddle() -> None:
    """A swarm huddle's ladder may convert it to an AAR when it is not held in time."""
    assert "convert_to_after_action_review" in EXPIRY_ACTIONS
    assert EXPIRY_ACTION_LIFECYCLES["convert_to_after_action_review"] == {
        LifecycleVariant.SWARM_HUDDLE
    }
    text = BASE + SWARM.replace("ACTION", "convert_to_after_action_review")
    tier = _load(text).escalation_ladders["not-held"].tiers[0]
    assert tier.action == "convert_to_after_action_review"
    assert tier.stage == "breach"


@pytest.mark.parametrize(
    ("user", "path"),
    [
        ('[response_types.psii]\nmaps_to = "psii"', "response_types.psii.escalation_ladder"),
        ("[duty_of_candour]", "duty_of_candour.escalation_ladder"),
        ("[timescales]", "timescales.safety_action_ladder"),
    ],
)
def test_expiry_action_only_where_the_lifecycle_offers_it(user: str, path: str) -> None:
    """A ladder with an action named by a PSII, candour or [timescales] is refused."""
    text = BASE + SWARM.replace("ACTION", "convert_to_after_action_review")
    if user.startswith("[response_types"):
        text = text.replace('escalation_ladder = "late"', 'escalation_ladder = "not-held"', 1)
    elif user == "[duty_of_candour]":
        text += '\n[duty_of_candour]\nescalation_ladder = "not-held"\n'
    else:
        text += '\n[timescales]\nsafety_action_ladder = "not-held"\n'
    found = _problems(text)
    assert (
        path,
        "the ladder 'not-held' applies 'convert_to_after_action_review', which only the "
        "swarm_huddle lifecycle offers",
    ) in found


# (id, text replaced, replacement, problem path, a piece of the message)
MISTAKES = [
    (
        "both-offsets",
        '{ before = { amount = 5, unit = "working_days" },',
        '{ before = { amount = 5, unit = "working_days" }, after = { amount = 1, unit = "hours" },',
        "escalation_ladders.late.tiers[1]",
        "exactly one of before",
    ),
    (
        "no-offset",
        '{ before = { amount = 5, unit = "working_days" },',
        "{",
        "escalation_ladders.late.tiers[1]",
        "exactly one of before",
    ),
    (
        "zero-warning",
        'before = { amount = 5, unit = "working_days" }',
        'before = { amount = 0, unit = "working_days" }',
        "escalation_ladders.late.tiers[1].before.amount",
        "at least 1",
    ),
    (
        "warnings-not-decreasing",
        'before = { amount = 5, unit = "working_days" }',
        'before = { amount = 15, unit = "working_days" }',
        "escalation_ladders.late.tiers[1].before",
        "later than the warning before",
    ),
    (
        "after-not-increasing",
        'after = { amount = 5, unit = "working_days" }',
        'after = { amount = 0, unit = "hours" }',
        "escalation_ladders.late.tiers[3].after",
        "later than the tier before",
    ),
    (
        "unknown-action",
        'notify = ["executive_lead"] }',
        'notify = ["executive_lead"], action = "close_case" }',
        "escalation_ladders.late.tiers[3].action",
        "'close_case' is not an action",
    ),
    (
        "unknown-timescales-ladder",
        "[escalation_ladders.late]",
        '[timescales]\nreferral_ladder = "later"\n\n[escalation_ladders.late]',
        "timescales.referral_ladder",
        "there is no escalation ladder 'later'",
    ),
    (
        "zero-triage-review",
        "[escalation_ladders.late]",
        '[timescales]\ntriage_review = { amount = 0, unit = "hours" }\n\n[escalation_ladders.late]',
        "timescales.triage_review.amount",
        "at least 1",
    ),
    (
        "unknown-timescales-key",
        "[escalation_ladders.late]",
        '[timescales]\ntriage = { amount = 1, unit = "hours" }\n\n[escalation_ladders.late]',
        "timescales.triage",
        "triage",
    ),
]


@pytest.mark.parametrize(
    ("replaced", "replacement", "path", "message"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_clock_mistakes_are_located(
    replaced: str, replacement: str, path: str, message: str
) -> None:
    """Each mistake in a ladder or in [timescales] is reported at its setting."""
    assert replaced in BASE
    found = _problems(BASE.replace(replaced, replacement, 1))
    assert any(p == path and message in m for p, m in found), found


def test_warning_after_a_breach_tier_is_refused() -> None:
    """Warnings must come before the tiers at or after the due date."""
    text = BASE.replace(
        '  { after = { amount = 5, unit = "working_days" }, notify = ["executive_lead"] },\n',
        '  { after = { amount = 5, unit = "working_days" }, notify = ["executive_lead"] },\n'
        '  { before = { amount = 1, unit = "working_days" }, notify = ["executive_lead"] },\n',
    )
    found = _problems(text)
    assert (
        "escalation_ladders.late.tiers[4].before",
        "warnings come before the tiers at or after due",
    ) in found


@pytest.mark.parametrize("path", PLANS, ids=[p.name for p in PLANS])
def test_example_plans_have_warnings_breach_and_timescales(path: Path) -> None:
    """Every example plan warns before a PSII target, breaches to the specialist, escalates."""
    plan = load_plan_file(path)
    psii = next(rt for rt in plan.response_types.values() if rt.maps_to.value == "psii")
    assert psii.escalation_ladder is not None
    tiers = plan.escalation_ladders[psii.escalation_ladder].tiers
    stages = [t.stage for t in tiers]
    assert stages[0] == "warning"
    assert Role.LEARNING_RESPONSE_LEAD in tiers[0].notify
    breach = tiers[stages.index("breach")]
    assert Role.PATIENT_SAFETY_SPECIALIST in breach.notify
    assert any(Role.EXECUTIVE_LEAD in t.notify for t in tiers if t.stage == "escalation")
    assert plan.timescales != ClockSettings()


@pytest.mark.parametrize("path", PLANS, ids=[p.name for p in PLANS])
def test_example_swarm_huddles_convert_when_not_held(path: Path) -> None:
    """An example plan with a swarm huddle converts it to an AAR when it is not held in time."""
    plan = load_plan_file(path)
    swarms = [rt for rt in plan.response_types.values() if rt.maps_to.value == "swarm_huddle"]
    for swarm in swarms:
        assert swarm.timescale is not None
        assert swarm.escalation_ladder is not None
        actions = [t.action for t in plan.escalation_ladders[swarm.escalation_ladder].tiers]
        assert "convert_to_after_action_review" in actions


def test_dump_and_load_keep_warnings_actions_and_timescales() -> None:
    """A plan with warnings, an action and [timescales] survives a dump and reload."""
    text = (
        BASE
        + SWARM.replace("ACTION", "convert_to_after_action_review")
        + '\n[timescales]\ntriage_review = { amount = 2, unit = "working_days" }\n'
        'safety_action_ladder = "late"\n'
    )
    plan = _load(text)
    again = _load(dump_plan(plan))
    assert again == plan
    assert again.timescales.triage_review == Timescale(2, TimeUnit.WORKING_DAYS)
    assert again.escalation_ladders["not-held"].tiers[0].action == (
        "convert_to_after_action_review"
    )


TRIAGE_LADDER = """
[timescales]
triage_review = { amount = 72, unit = "hours" }
triage_review_ladder = "triage"

[escalation_ladders.triage]
tiers = [
  { before = WARNING, notify = ["patient_safety_specialist"] },
  { after = { amount = 0, unit = "hours" }, notify = ["patient_safety_specialist"] },
]
"""

#: (id, warning before the due date, refused?) against a 72-hour triage review clock.
TRIAGE_WARNINGS = [
    ("hours-inside", '{ amount = 71, unit = "hours" }', False),
    ("hours-equal", '{ amount = 72, unit = "hours" }', True),
    ("hours-beyond", '{ amount = 96, unit = "hours" }', True),
    ("days-inside", '{ amount = 2, unit = "calendar_days" }', False),
    ("days-beyond", '{ amount = 4, unit = "calendar_days" }', True),
    ("week-beyond", '{ amount = 1, unit = "weeks" }', True),
    ("working-days-inside", '{ amount = 1, unit = "working_days" }', False),
]


@pytest.mark.parametrize(
    ("warning", "refused"),
    [w[1:] for w in TRIAGE_WARNINGS],
    ids=[w[0] for w in TRIAGE_WARNINGS],
)
def test_warning_reaching_back_past_the_clock_start_is_refused(warning: str, refused: bool) -> None:
    """A warning further before the due date than the clock runs is refused at its user."""
    text = BASE + TRIAGE_LADDER.replace("WARNING", warning)
    expected = (
        "timescales.triage_review_ladder",
        f"the ladder 'triage' warns {load_plan_tier(warning)} before a clock of 72 hours: "
        "the warning would fall before the clock starts",
    )
    if refused:
        assert expected in _problems(text)
    else:
        assert _load(text).timescales.triage_review_ladder == "triage"


def load_plan_tier(warning: str) -> Timescale:
    """The timescale written inline as ``warning`` in the tables above."""
    amount, unit = warning.strip("{} ").split(", ")
    return Timescale(int(amount.split(" = ")[1]), TimeUnit(unit.split(" = ")[1].strip('"')))


@pytest.mark.parametrize(
    ("user", "replaced", "replacement", "path"),
    [
        (
            "response-type",
            'before = { amount = 10, unit = "working_days" }',
            'before = { amount = 70, unit = "working_days" }',
            "response_types.psii.escalation_ladder",
        ),
        (
            "candour",
            "[escalation_ladders.late]",
            '[duty_of_candour]\nverbal_working_days = 5\nescalation_ladder = "late"\n\n'
            "[escalation_ladders.late]",
            "duty_of_candour.escalation_ladder",
        ),
        (
            "referral",
            "[escalation_ladders.late]",
            '[timescales]\nreferral_notification = { amount = 10, unit = "working_days" }\n'
            'referral_ladder = "late"\n\n[escalation_ladders.late]',
            "timescales.referral_ladder",
        ),
    ],
    ids=["response-type", "candour", "referral"],
)
def test_every_ladder_user_is_checked_against_its_clock(
    user: str, replaced: str, replacement: str, path: str
) -> None:
    """Response types, candour targets and referral clocks each refuse an early warning."""
    assert replaced in BASE
    found = _problems(BASE.replace(replaced, replacement, 1))
    assert any(p == path and "before the clock starts" in m for p, m in found), (user, found)
