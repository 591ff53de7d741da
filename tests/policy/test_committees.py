"""Committees and panels a plan declares, and deciders that name them (psirf-rules §5)."""

from __future__ import annotations

import pytest

from psirf_flow.domain import Actor, Role
from psirf_flow.errors import InvalidInput, PlanError, PlanProblem
from psirf_flow.policy import Committee, CommitteeKind, Decider, dump_plan, load_plan


PLAN = """\
schema = 1

[plan]
id = "rx9-psirp"
version = "1"
organisation = "RX9"
effective_from = 2026-04-01
review_date = 2027-01-31

[committees.patient-safety-group]
title = "Patient safety group"
kind = "committee"

[committees.rapid-review]
title = "Rapid review panel"
kind = "panel"

[response_types.psii]
maps_to = "psii"
decided_by = { committee = "patient-safety-group" }
sign_off = [{ role = "executive_lead" }]

[response_types.aar]
maps_to = "after_action_review"
decided_by = "senior_leader"
sign_off = [{ committee = "rapid-review" }]

[[priorities]]
id = "falls"
criteria = { fact = "categories", includes = "falls" }
responses = { allowed = ["aar", "psii"], default = "aar" }
decided_by = { committee = "rapid-review" }
departure_permitted = true
"""


def _problems(text: str) -> tuple[PlanProblem, ...]:
    with pytest.raises(PlanError) as caught:
        load_plan(text, source="plan.toml")
    return caught.value.problems


def test_committees_and_deciders_load() -> None:
    """Committees load with title and kind; decided_by is a role or a committee."""
    plan = load_plan(PLAN)

    assert dict(plan.committees) == {
        "patient-safety-group": Committee(
            title="Patient safety group", kind=CommitteeKind.COMMITTEE
        ),
        "rapid-review": Committee(title="Rapid review panel", kind=CommitteeKind.PANEL),
    }
    assert plan.response_types["psii"].decided_by == Decider(committee="patient-safety-group")
    assert plan.response_types["aar"].decided_by == Decider(role=Role.SENIOR_LEADER)
    assert plan.priorities[0].decided_by == Decider(committee="rapid-review")
    assert plan.priorities[0].departure_permitted is True


def test_committee_deciders_round_trip() -> None:
    """A plan with committees and committee deciders is written back and read to an equal plan."""
    plan = load_plan(PLAN)
    text = dump_plan(plan)

    assert load_plan(text) == plan
    assert 'decided_by = "senior_leader"' in text


def test_role_decider_is_backward_compatible() -> None:
    """A plain role (or its name) still builds a role decider in Python."""
    assert Decider(role=Role.EXECUTIVE_LEAD) == Decider(role=Role("executive_lead"))
    assert str(Decider(committee="psg")) == "committee psg"
    assert str(Decider(role=Role.SENIOR_LEADER)) == "senior_leader"


@pytest.mark.parametrize(
    ("old", "new", "path", "message"),
    [
        (
            'decided_by = { committee = "patient-safety-group" }',
            'decided_by = { committee = "patient-safety-gruop" }',
            "response_types.psii.decided_by.committee",
            "'patient-safety-gruop' is not a committee of this plan (declare it under "
            "[committees.patient-safety-gruop]; declared: patient-safety-group, rapid-review); "
            "did you mean 'patient-safety-group'?",
        ),
        (
            'decided_by = "senior_leader"',
            'decided_by = "rapid-review"',
            "response_types.aar.decided_by",
            'to name a committee write decided_by = { committee = "rapid-review" }',
        ),
        (
            'decided_by = "senior_leader"',
            'decided_by = { role = "senior_leader", committee = "rapid-review" }',
            "response_types.aar.decided_by",
            "give exactly one of role or committee",
        ),
        (
            'decided_by = "senior_leader"',
            'decided_by = "patient_safety_partner"',
            "response_types.aar.decided_by.role",
            "'patient_safety_partner' cannot decide a response; name one of "
            "'patient_safety_specialist', 'senior_leader', 'executive_lead' or a committee",
        ),
        (
            'sign_off = [{ committee = "rapid-review" }]',
            'sign_off = [{ committee = "rapid-reveiw" }]',
            "response_types.aar.sign_off[0].committee",
            "did you mean 'rapid-review'?",
        ),
        (
            'kind = "panel"',
            'kind = "board"',
            "committees.rapid-review.kind",
            "expected one of 'committee', 'panel'",
        ),
    ],
    ids=["unknown-committee", "committee-as-role", "both", "not-a-decider", "approver", "kind"],
)
def test_committee_mistakes_are_reported(old: str, new: str, path: str, message: str) -> None:
    """Each mistake is reported at its path with a message that says how to fix it."""
    assert old in PLAN
    problems = _problems(PLAN.replace(old, new, 1))

    assert any(p.path == path and message in p.message for p in problems), problems


def test_undeclared_committee_decider_is_refused_even_without_declarations() -> None:
    """A committee decider must be declared, even in a plan declaring no committees."""
    text = (
        PLAN.split("[committees.patient-safety-group]", maxsplit=1)[0]
        + PLAN.split('kind = "panel"\n')[1]
    )
    problems = _problems(text)

    assert {p.path for p in problems} == {
        "response_types.psii.decided_by.committee",
        "priorities[0].decided_by.committee",
    }


@pytest.mark.parametrize(
    ("committees", "expected"),
    [
        ((), frozenset()),
        (["psg", "rapid-review"], frozenset({"psg", "rapid-review"})),
        ("psg", frozenset({"psg"})),
    ],
)
def test_actor_committees(committees: object, expected: frozenset[str]) -> None:
    """An actor's committee memberships are a frozenset of ids, empty by default."""
    actor = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX9", committees)

    assert actor.committees == expected
    assert Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX9").committees == frozenset()
    assert all(actor.sits_on(c) for c in expected)
    assert not actor.sits_on("other")


@pytest.mark.parametrize(
    "committees",
    [["has space"], ["a@example.org"], 7, [f"c{i}" for i in range(65)]],
    ids=["space", "email", "not-a-collection", "too-many"],
)
def test_actor_committees_refused(committees: object) -> None:
    """A committee id must be an opaque identifier; bad values raise InvalidInput."""
    with pytest.raises(InvalidInput) as caught:
        Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX9", committees)

    assert caught.value.argument == "committees"
