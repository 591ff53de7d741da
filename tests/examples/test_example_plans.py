"""The three example plans in ``examples/plans/`` load, pass ``plan check`` and triage as written.

Each plan has a table of incidents beside it (``<plan>.incidents.toml``): the incident's
facts, what triage must recommend and the plan's own wording that says so. These tests
check every quote against the plan text, run :func:`psirf_flow.policy.triage` on every
incident and assert every field of the recommendation the table gives, then take the
incidents the table marks ``drive_intake`` through the intake lifecycle of an engine
running under the plan, to the decision taken by the decider the plan names (psirf-rules
§0.5 rule 1, §6 stage 2, §9.0).

The plans use settings from issue 9 (committees, committee deciders, declared and numeric
facts, referral bodies, notifications, ``terms_of_reference_required``, ``sharing_step``);
the recommendation's ``expected_local_response`` and ``local_default`` (triage precedence),
``notifications`` and ``thematic_reviews_matched`` come with them.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import Actor, CommandRejected, Engine, InMemoryStore, Role
from psirf_flow.cli import main
from psirf_flow.domain import SystemReader
from psirf_flow.policy import (
    IncidentFacts,
    NationalRuleSet,
    PhysicalHarm,
    Plan,
    PsychologicalHarm,
    Recommendation,
    intake_payload,
    load_national_rules,
    load_plan_file,
    triage,
)
from psirf_flow.testing import ManualClock


PLANS = Path(__file__).resolve().parents[2] / "examples" / "plans"
PLAN_FILES = (
    "mental-health-community-trust.toml",
    "acute-trust-with-maternity.toml",
    "ambulance-trust.toml",
)
READER = SystemReader("test-suite")

#: Built-in facts whose values are durations (written "20 hours" in the tables).
_BUILT_IN_DURATIONS = frozenset({"time_since_admission"})
_UNITS = {"minutes": 1, "hours": 60, "days": 60 * 24, "weeks": 60 * 24 * 7}
_EXPECTED_KEYS = frozenset(
    {
        "pathway",
        "national_rules",
        "priorities",
        "default_response",
        "local_default",
        "allowed_responses",
        "decided_by",
        "referrals",
        "local_response",
        "no_further_response_allowed",
        "improvement_plan",
        "thematic_review",
        "thematic_reviews",
        "notifications",
    }
)
_RATIONALES = {
    "national_requirement": "national_requirement_applies",
    "local_priority": "plan_planned_response",
    "emergent_risk": "significant_risk_identified",
    "proportionate": "learning_opportunity",
}


@dataclass(frozen=True)
class Row:
    """One incident of a plan's table."""

    plan_file: str
    id: str
    quotes: tuple[str, ...]
    drive_intake: bool
    facts: Mapping[str, Any]
    extra: Mapping[str, Any]
    expected: Mapping[str, Any]

    def __str__(self) -> str:
        return self.id


def _table_path(plan_file: str) -> Path:
    return PLANS / plan_file.replace(".toml", ".incidents.toml")


def _rows(plan_file: str) -> list[Row]:
    table = tomllib.loads(_table_path(plan_file).read_text(encoding="utf-8"))
    assert table["plan"] == plan_file
    rows = []
    for item in table["incidents"]:
        quote = item["quote"]
        rows.append(
            Row(
                plan_file=plan_file,
                id=item["id"],
                quotes=(quote,) if isinstance(quote, str) else tuple(quote),
                drive_intake=item.get("drive_intake", False),
                facts=item.get("facts", {}),
                extra=item.get("extra", {}),
                expected=item["expected"],
            )
        )
    return rows


ROWS = [row for plan_file in PLAN_FILES for row in _rows(plan_file)]
DRIVEN = [row for row in ROWS if row.drive_intake]


@pytest.fixture(name="rules", scope="module")
def _rules() -> NationalRuleSet:
    return load_national_rules()


@functools.cache
def _plan(plan_file: str) -> Plan:
    return load_plan_file(PLANS / plan_file)


def _raw_plan(plan_file: str) -> dict[str, Any]:
    return tomllib.loads((PLANS / plan_file).read_text(encoding="utf-8"))


def _words(text: str) -> str:
    """Text with its spaces collapsed, as a reader sees it across line breaks."""
    return re.sub(r"\s+", " ", text).strip()


_TITLE = re.compile(r'^\s*title\s*=\s*"(.*)"\s*(?:#.*)?$')


def _plan_wording(plan_file: str) -> str:
    """The plan's own words: its comments and its titles, in file order."""
    pieces = []
    for line in (PLANS / plan_file).read_text(encoding="utf-8").splitlines():
        title = _TITLE.match(line)
        if title:
            pieces.append(title.group(1))
        elif "#" in line:
            pieces.append(line.split("#", 1)[1].lstrip(":"))
    return _words(" ".join(pieces))


def _duration(text: str) -> timedelta:
    amount, unit = text.split()
    return timedelta(minutes=int(amount) * _UNITS[unit])


def _facts(row: Row) -> IncidentFacts:
    declared = _raw_plan(row.plan_file).get("facts", {})
    facts: dict[str, Any] = {"incident_id": row.id}
    for name, value in row.facts.items():
        if name == "physical_harm":
            facts[name] = PhysicalHarm[value.upper()]
        elif name == "psychological_harm":
            facts[name] = PsychologicalHarm[value.upper()]
        elif name in _BUILT_IN_DURATIONS:
            facts[name] = _duration(value)
        else:
            facts[name] = value
    if row.extra:
        facts["extra"] = {
            name: _duration(value) if declared[name]["kind"] == "duration" else value
            for name, value in row.extra.items()
        }
    return IncidentFacts(**facts)


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def _decider(value: object) -> str:
    """A decider as ``"role"`` or ``"committee:<id>"``, from a plan record or a table cell."""
    if isinstance(value, Mapping):
        if "committee" in value:
            return f"committee:{value['committee']}"
        return str(value["role"])
    if isinstance(value, Role | str):
        return str(_plain(value))
    committee = getattr(value, "committee", None)
    if committee is not None:
        return f"committee:{committee}"
    return str(_plain(getattr(value, "role", value)))


def _ids(items: object) -> list[str]:
    assert isinstance(items, tuple | list)
    return [str(getattr(item, "id", item)) for item in items]


# ---------------------------------------------------------------- the plans


@pytest.mark.parametrize("plan_file", PLAN_FILES)
def test_plan_loads_with_its_own_id(plan_file: str) -> None:
    """Each example plan loads and is the plan its header says."""
    plan = _plan(plan_file)
    header = _raw_plan(plan_file)["plan"]

    assert plan.ref == f"{header['id']}@{header['version']}"
    assert plan.plan.organisation == header["organisation"]
    assert len(plan.priorities) >= 6


@pytest.mark.parametrize("plan_file", PLAN_FILES)
def test_plan_check_command_passes(plan_file: str) -> None:
    """``psirf-flow plan check FILE`` finds no problem in each example plan."""
    result = CliRunner().invoke(main, ["plan", "check", str(PLANS / plan_file)])

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("plan_file", PLAN_FILES)
def test_table_covers_fifteen_incidents_and_drives_five(plan_file: str) -> None:
    """Each table has at least fifteen incidents, five of them taken to an intake decision."""
    rows = _rows(plan_file)

    assert len(rows) >= 15
    assert len({row.id for row in rows}) == len(rows)
    assert sum(row.drive_intake for row in rows) >= 5
    for row in rows:
        assert set(row.expected) <= _EXPECTED_KEYS, row.id


@pytest.mark.parametrize("plan_file", PLAN_FILES)
def test_table_reaches_every_pathway_priority_review_and_notification(plan_file: str) -> None:
    """Each table shows the four pathways and every priority, thematic review and notification."""
    rows = _rows(plan_file)
    raw = _raw_plan(plan_file)
    priorities = {p["id"] for p in raw["priorities"]}
    reviews = {r["id"] for r in raw["thematic_reviews"]}
    notifications = {n["id"] for n in raw["notifications"]}

    assert {row.expected["pathway"] for row in rows} == {
        "national_requirement",
        "local_priority",
        "emergent_risk",
        "proportionate",
    }
    assert priorities <= {p for row in rows for p in row.expected.get("priorities", [])}
    assert reviews <= {r for row in rows for r in row.expected.get("thematic_reviews", [])}
    assert notifications <= {n for row in rows for n in row.expected.get("notifications", [])}


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_quote_is_the_plans_own_wording(row: Row) -> None:
    """Every quote in the table appears word for word in the plan's comments or titles."""
    wording = _plan_wording(row.plan_file)

    for quote in row.quotes:
        assert _words(quote) in wording, quote


# ---------------------------------------------------------------- triage


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_triage_recommends_what_the_plan_says(row: Row, rules: NationalRuleSet) -> None:
    """Triage gives the pathway, rules, priorities, responses, decider and steps in the table."""
    plan = _plan(row.plan_file)
    expected = row.expected
    facts = _facts(row)

    rec = triage(facts, plan, rules)

    assert rec.incident_id == row.id
    assert rec.plan_ref == plan.ref
    assert rec.rules_version == rules.version
    assert rec.pathway.value == expected["pathway"]
    assert [r.split("@")[0] for r in rec.national_rules] == expected.get("national_rules", [])
    assert [p.split("#")[-1] for p in rec.priorities] == expected.get("priorities", [])
    assert rec.default_response == expected.get("default_response")
    assert list(rec.allowed_responses) == expected["allowed_responses"]
    assert _decider(rec.decided_by) == _decider(expected["decided_by"])
    assert rec.local_default == expected.get("local_default")
    assert [b for r in rec.referrals for b in r.bodies] == expected.get("referrals", [])
    assert _plain(rec.expected_local_response) == expected.get("local_response")
    assert rec.no_further_response_allowed is expected.get("no_further_response_allowed", False)
    assert rec.improvement_plan == expected.get("improvement_plan")
    assert rec.thematic_review == expected.get("thematic_review")
    assert _ids(rec.thematic_reviews_matched) == expected.get("thematic_reviews", [])
    assert _ids(rec.notifications) == expected.get("notifications", [])
    assert rec.executive_decision_required is facts.emergent_risk


# ---------------------------------------------------------------- the intake, under the plan


def _org(plan: Plan) -> str:
    return plan.plan.organisation


def _decider_actor(decided_by: str, org: str) -> tuple[Actor, dict[str, object]]:
    """The person the plan names as decider, and what their decision must add."""
    if decided_by.startswith("committee:"):
        committee = decided_by.split(":", 1)[1]
        chair = Actor("chair-01", [Role.SENIOR_LEADER], org, committees=frozenset({committee}))
        return chair, {"decider_committee": committee, "meeting_ref": f"{committee}-2026-05-12"}
    return Actor(f"dec-{decided_by}", [Role(decided_by)], org), {}


def _someone_else(decided_by: str, org: str) -> Actor:
    """A person the plan does not name as this incident's decider."""
    if decided_by == Role.PATIENT_SAFETY_SPECIALIST.value:
        return Actor("sl-02", [Role.SENIOR_LEADER], org)
    return Actor("pss-02", [Role.PATIENT_SAFETY_SPECIALIST], org)


def _decision(rec: Recommendation) -> tuple[str, dict[str, object]]:
    if rec.local_default is not None:
        return "commission_local_response", {
            "response_type": rec.local_default,
            "basis": "local_priority",
            "rationale": "plan_planned_response",
        }
    if rec.default_response is None:
        rationale = (
            "covered_by_existing_improvement_plan"
            if rec.improvement_plan is not None
            else "no_new_learning"
        )
        return "decide_no_further_response", {"no_response_rationale": rationale}
    return "decide_response", {
        "response_type": rec.default_response,
        "basis": rec.pathway.value,
        "rationale": _RATIONALES[rec.pathway.value],
    }


@pytest.mark.parametrize("row", DRIVEN, ids=str)
def test_intake_reaches_the_decision_the_plan_gives_its_decider(
    row: Row, rules: NationalRuleSet
) -> None:
    """Reported, reviewed, triaged (and referred), then decided by the plan's decider alone."""
    plan = _plan(row.plan_file)
    org = _org(plan)
    pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], org)
    rec = triage(_facts(row), plan, rules)
    decided_by = _decider(rec.decided_by)
    decider, extra = _decider_actor(decided_by, org)
    trigger, payload = _decision(rec)
    clock = ManualClock(datetime(2026, 5, 11, 9, tzinfo=UTC))
    engine = Engine(InMemoryStore(), clock=clock, plan=plan, national_rules=rules)

    engine.open("incident_intake", actor=pss, case_id=row.id, payload={"incident_id": row.id})
    clock.advance(timedelta(hours=2))
    engine.fire(row.id, "begin_review", actor=pss)
    engine.fire(row.id, "record_triage", actor=pss, payload=intake_payload(rec, rules))
    for number, referral in enumerate(rec.referrals):
        engine.fire(
            row.id,
            "add_referral" if number else "refer",
            actor=pss,
            payload={"referral_body": referral.bodies[0], "referral_rule_ref": referral.rule_ref},
        )
    with pytest.raises(CommandRejected):
        engine.fire(row.id, trigger, actor=_someone_else(decided_by, org), payload=payload)
    engine.fire(row.id, trigger, actor=decider, payload={**payload, **extra})

    case = engine.get(row.id, reader=READER)
    assert (
        case.state
        == {
            "decide_response": "response_decided",
            "decide_no_further_response": "no_further_response",
            "commission_local_response": "referred",
        }[trigger]
    )
    assert case.facts["decided_by"] == decider.id
    assert case.facts.get("response_type") == (rec.default_response or rec.local_default)
    assert case.facts["plan_ref"] == plan.ref
    for name, value in extra.items():
        assert case.facts[name] == value


# ---------------------------------------------------------------- invariants over the plans


@functools.cache
def _codes(plan_file: str, field: str) -> list[str]:
    """Every code the plan's table uses for ``field``, plus one no plan mentions."""
    found = {
        code
        for row in _rows(plan_file)
        for code in (
            row.facts.get(field, [])
            if isinstance(row.facts.get(field), list)
            else [row.facts[field]]
            if field in row.facts
            else []
        )
    }
    return sorted(found | {"unlisted"})


@st.composite
def _incident(draw: st.DrawFn, plan_file: str) -> IncidentFacts:
    died = draw(st.booleans())
    harm = draw(st.sampled_from(list(PhysicalHarm)))
    if harm is PhysicalHarm.FATAL and not died:
        harm = PhysicalHarm.SEVERE
    flags = {
        name: draw(st.booleans())
        for name in (
            "detained_under_mha",
            "mca_applies",
            "child",
            "mnsi_criteria_met",
            "mental_health_related_homicide",
            "safeguarding_concern",
            "screening_incident",
            "emergent_risk",
        )
    }
    return IncidentFacts(
        incident_id="INC-1",
        physical_harm=harm,
        died=died,
        death_more_likely_than_not_due_to_problems_in_care=died and draw(st.booleans()),
        never_event_type=draw(st.sampled_from([None, "wrong_site_surgery"])),
        setting=draw(st.sampled_from(_codes(plan_file, "setting"))),
        service_line=draw(st.sampled_from(_codes(plan_file, "service_line"))),
        categories=draw(st.lists(st.sampled_from(_codes(plan_file, "categories")), max_size=3)),
        **flags,
    )


@pytest.mark.parametrize("plan_file", PLAN_FILES)
@given(data=st.data())
def test_triage_stays_within_the_plan_and_never_downgrades_a_national_psii(
    plan_file: str, data: st.DataObject
) -> None:
    """Triage stays in the plan; a national PSII is never downgraded, a referral never a PSII."""
    plan = _plan(plan_file)
    rules = load_national_rules()
    facts = data.draw(_incident(plan_file))

    rec = triage(facts, plan, rules)

    assert set(rec.allowed_responses) <= set(plan.response_types)
    assert rec.default_response is None or rec.default_response in rec.allowed_responses
    if rec.national_rules:
        assert rec.pathway.value == "national_requirement"
        assert rec.no_further_response_allowed is False
    psii_rules = {r.ref for r in rules.rules if r.response.value == "locally_led_psii"}
    if psii_rules & set(rec.national_rules):
        assert rec.default_response == plan.triage.national_psii_response
        assert rec.allowed_responses == (plan.triage.national_psii_response,)
        assert rec.local_default is None
    elif rec.national_rules:
        assert rec.default_response is None
        assert rec.referrals
