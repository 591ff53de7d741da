"""Lead independence at every step, against the current list of staff involved (§5 rule 1).

Issue 9 item 7: staff recorded as involved after the lead (or the engagement lead, or the
peer reviewer) was named stop the response at its next step forward until that person is
replaced; recording them is never refused, and the conflict shows in the audit entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.lifecycles import test_governed_response as governed

from psirf_flow import Actor, Engine, GuardFailed, InMemoryStore, Role
from psirf_flow.decide import decide
from psirf_flow.domain import Case, Command, FactValue, SystemReader
from psirf_flow.errors import REASON_MISSING, ReasonMissing
from psirf_flow.policy import load_plan
from psirf_flow.relay import OutboxRelay
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII
from psirf_flow.workflows.couplings import learning_response_id


READER = SystemReader("test-suite")
ORG = "RXY"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG)
NEW_LEAD = Actor("inv-09", [Role.LEARNING_RESPONSE_LEAD], ORG)
NEVER_EVENT = "psirf.national.never_event@1"

#: Who is named in each role of a PSII in the table below.
TEAM = {"lead": "lead-1", "engagement_lead": "eng-1", "peer_reviewer": "rev-1"}
_PLANNED: dict[str, FactValue] = {
    "incident_ids": ("INC-1",),
    "involved_staff_ids": ("staff-1",),
    "involved_line_manager_ids": ("mgr-1",),
    "lead_id": "lead-1",
    "engagement_lead_id": "eng-1",
    "terms_of_reference_ref": "TOR-1",
    "family_involvement_in_terms": "involved",
    "engaged_person_ids": ("pat-1",),
    "person_kind.pat-1": "patient",
    "engagement.pat-1": "involved",
}
_REVIEWED: dict[str, FactValue] = {
    **_PLANNED,
    "author_id": "lead-1",
    "draft_ref": "DRAFT-1",
    "peer_review_ref": "PR-1",
    "peer_reviewer_id": "rev-1",
    "expert_input": "panel",
    "expert_ids": ("sme-1",),
    "staff_accuracy_check": "confirmed",
    "family_draft_response": "commented",
    "findings_agreed_by": "sl-1",
}
#: The steps that move a PSII forward: (trigger, state, facts there, who fires, payload).
FORWARD: tuple[tuple[str, str, Mapping[str, FactValue], Actor, Mapping[str, object]], ...] = (
    (
        "begin_gathering",
        "planning",
        _PLANNED,
        Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG),
        {},
    ),
    (
        "complete_analysis",
        "gathering_and_analysis",
        _PLANNED,
        Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG),
        {},
    ),
    (
        "submit_draft",
        "drafting",
        _PLANNED,
        Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG),
        {"draft_ref": "DRAFT-1"},
    ),
    (
        "request_approval",
        "review",
        _REVIEWED,
        Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG),
        {},
    ),
    ("approve", "awaiting_approval", _REVIEWED, EXEC, {"report_ref": "REPORT-1"}),
    ("sign_off", "awaiting_approval", _REVIEWED, EXEC, {"report_ref": "REPORT-1"}),
    ("record_sign_off", "awaiting_approval", _REVIEWED, EXEC, {"sign_off_step": 1}),
)
#: The sign-off chain steps, which without a plan are refused by this guard alone.
NO_CHAIN = frozenset({"sign_off", "record_sign_off"})
#: (role conflicted, listed as staff involved or as a line manager) -> (code, words).
CONFLICTS = {
    ("lead", "involved_staff_ids"): (
        "lead_involved_in_incident",
        "the lead is now recorded as involved in the incident: name an independent lead "
        "with reassign_lead",
    ),
    ("lead", "involved_line_manager_ids"): (
        "lead_line_manages_involved_staff",
        "the lead line-manages staff now recorded as involved: name an independent lead with "
        "reassign_lead",
    ),
    ("engagement_lead", "involved_staff_ids"): (
        "engagement_lead_involved_in_incident",
        "the engagement lead is now recorded as involved in the incident: name an independent "
        "engagement lead with reassign_engagement_lead",
    ),
    ("engagement_lead", "involved_line_manager_ids"): (
        "engagement_lead_line_manages_involved_staff",
        "the engagement lead line-manages staff now recorded as involved: name an independent "
        "engagement lead with reassign_engagement_lead",
    ),
    ("peer_reviewer", "involved_staff_ids"): (
        "reviewer_involved_in_incident",
        "the peer reviewer is now recorded as involved in the incident: an independent peer "
        "reviewer records the review again with record_peer_review (after a return for "
        "rework if approval was asked)",
    ),
}
STEP_ROLE_ROWS = [
    pytest.param(step, role, listed, id=f"{step[0]}-{role}-{listed.split('_')[1]}")
    for step in FORWARD
    for (role, listed) in CONFLICTS
    if role != "peer_reviewer" or "peer_reviewer_id" in step[2]
]


def _case(state: str, facts: Mapping[str, FactValue]) -> Case:
    return Case(
        id="LR-1",
        workflow="psii",
        workflow_version=PSII.version,
        organisation=ORG,
        state=state,
        version=5,
        facts=facts,
        opened_at=NOW,
        updated_at=NOW,
    )


class TestEveryStepForward:
    """Each forward step checks the team already named against the current list."""

    @pytest.mark.parametrize(("step", "role", "listed"), STEP_ROLE_ROWS)
    def test_a_conflicted_role_stops_the_step(
        self,
        step: tuple[str, str, Mapping[str, FactValue], Actor, Mapping[str, object]],
        role: str,
        listed: str,
    ) -> None:
        """§5 rule 1: the step is refused with the role's code and how to replace them."""
        trigger, state, facts, actor, payload = step
        listing = facts[listed]
        assert isinstance(listing, tuple)
        case = _case(state, {**facts, listed: (*listing, TEAM[role].upper())})

        with pytest.raises(GuardFailed) as refused:
            decide(PSII, case, Command(trigger, actor=actor, payload=payload), now=NOW)

        [team] = [r for r in refused.value.results if r.name == "team_independent"]
        code, words = CONFLICTS[role, listed]
        assert (team.ok, team.reason_code, team.explanation) == (False, code, words)
        assert TEAM[role] not in team.explanation

    @pytest.mark.parametrize("step", FORWARD, ids=[s[0] for s in FORWARD])
    def test_an_independent_team_passes_and_records_the_list(
        self, step: tuple[str, str, Mapping[str, FactValue], Actor, Mapping[str, object]]
    ) -> None:
        """§5 rule 1: with nobody in conflict the check passes and names the list it read."""
        trigger, state, facts, actor, payload = step
        case = _case(state, facts)

        command = Command(trigger, actor=actor, payload=payload)
        if trigger in NO_CHAIN:  # without a plan there is no sign-off chain to sign
            with pytest.raises(GuardFailed) as refused:
                decide(PSII, case, command, now=NOW)
            assert [f.reason_code for f in refused.value.failures] == ["no_sign_off_chain"]
            results = refused.value.results
        else:
            results = decide(PSII, case, command, now=NOW).guard_results

        [team] = [r for r in results if r.name == "team_independent"]
        assert (team.ok, team.reason_code) == (True, "ok:staff:1+1:" + _digest(facts))

    def test_every_forward_step_carries_the_check(self) -> None:
        """The table covers every PSII step whose destination moves the response forward."""
        guarded = {t for t, s in PSII.transitions.items() if "team_independent" in s.guards}
        assert guarded == {row[0] for row in FORWARD}


def _digest(facts: Mapping[str, FactValue]) -> str:
    """The digest part of the passing code for ``facts``'s lists (as the engine computes it)."""
    staff = facts["involved_staff_ids"]
    managers = facts["involved_line_manager_ids"]
    assert isinstance(staff, tuple)
    assert isinstance(managers, tuple)
    text = "\x1f".join(sorted(staff)) + "\x1e" + "\x1f".join(sorted(managers))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.fixture(name="engine")
def _engine() -> Engine:
    return Engine(InMemoryStore(), clock=ManualClock())


def _psii_from_triage(engine: Engine) -> str:
    """An intake reporting one member of staff, decided as a PSII and relayed; its id."""
    engine.open(
        "incident_intake",
        actor=PSS,
        case_id="INC-1",
        payload={
            "incident_id": "INC-1",
            "involved_staff_ids": ["nurse-4"],
            "involved_line_manager_ids": ["ward-mgr-2"],
        },
    )
    engine.fire("INC-1", "begin_review", actor=PSS)
    engine.fire(
        "INC-1",
        "record_triage",
        actor=PSS,
        payload={
            "national_rule_refs": [NEVER_EVENT],
            "national_psii_rule_refs": [NEVER_EVENT],
            "plan_ref": "RXY-PSIRP@3",
        },
    )
    engine.fire(
        "INC-1",
        "decide_response",
        actor=PSS,
        payload={
            "response_type": "psii",
            "basis": "national_requirement",
            "rationale": "national_requirement_applies",
        },
    )
    OutboxRelay(engine).run_until_idle()
    psii = learning_response_id("INC-1", 4)
    engine.fire(
        psii,
        "assign_lead",
        actor=PSS,
        payload={"lead_id": "inv-07", "engagement_lead_id": "eng-03"},
    )
    return psii


class TestEndToEnd:
    """Through intake and relay: a lead found to be involved is replaced, then work goes on."""

    def test_lead_found_involved_is_replaced_and_the_response_carries_on(
        self, engine: Engine
    ) -> None:
        """Issue 9 item 7: recorded, refused, reassigned, carried on; the old lead is kept."""
        psii = _psii_from_triage(engine)

        added = engine.fire(
            psii,
            "record_staff_involved",
            actor=PSS,
            payload={"involved_staff_ids": ["nurse-4", "INV-07"]},
        )
        [noted] = [g for g in added.entry.guards if g[0] == "independence_conflict_noted"]
        assert noted[1] is True
        assert noted[2].startswith("ok:staff:2+1:")
        assert noted[2].endswith(":independence_conflict:lead")
        assert added.case.facts["involved_staff_ids"] == ("INV-07", "nurse-4")

        [option] = [o for o in engine.options(psii, LEAD) if o.trigger == "begin_gathering"]
        assert (option.allowed, option.reason_codes) == (False, ("lead_involved_in_incident",))
        assert "reassign_lead" in option.reasons[0]
        assert "inv-07" not in option.reasons[0].casefold()
        with pytest.raises(GuardFailed) as refused:
            engine.fire(psii, "begin_gathering", actor=LEAD)
        assert refused.value.reason_code == "lead_involved_in_incident"
        assert engine.get(psii, reader=READER).state == "planning"

        with pytest.raises(GuardFailed) as still_involved:
            engine.fire(
                psii,
                "reassign_lead",
                actor=EXEC,
                payload={
                    "lead_id": "nurse-4",
                    "replaced_lead_id": "inv-07",
                    "reassign_reason": "involved_in_incident",
                },
            )
        assert still_involved.value.reason_code == "lead_involved_in_incident"

        replaced = engine.fire(
            psii,
            "reassign_lead",
            actor=EXEC,
            payload={
                "lead_id": "inv-09",
                "replaced_lead_id": "inv-07",
                "reassign_reason": "involved_in_incident",
            },
        )
        assert replaced.case.state == "planning"
        assert replaced.case.facts["lead_id"] == "inv-09"
        assert replaced.case.facts["former_lead_ids"] == ("inv-07",)
        assert replaced.case.facts["reassign_reason"] == "involved_in_incident"
        assert replaced.entry.trigger == "reassign_lead"
        assert replaced.entry.rules == ("psirf.sod.independent_lead@1",)
        [checked] = [g for g in replaced.entry.guards if g[0] == "lead_independent"]
        assert checked[:2] == ("lead_independent", True)
        assert checked[2].startswith("ok:staff:2+1:")

        with pytest.raises(GuardFailed) as old_lead:
            engine.fire(psii, "begin_gathering", actor=LEAD)
        assert old_lead.value.reason_code == "actor_not_assigned_lead"
        moved = engine.fire(psii, "begin_gathering", actor=NEW_LEAD)
        assert moved.case.state == "gathering_and_analysis"
        [team] = [g for g in moved.entry.guards if g[0] == "team_independent"]
        assert team == ("team_independent", True, checked[2])

    def test_engagement_lead_found_involved_is_replaced(self, engine: Engine) -> None:
        """The engagement lead's line management of staff involved stops the work too."""
        psii = _psii_from_triage(engine)
        engine.fire(
            psii,
            "record_staff_involved",
            actor=LEAD,
            payload={
                "involved_staff_ids": ["nurse-4", "hca-1"],
                "involved_line_manager_ids": ["ward-mgr-2", "eng-03"],
            },
        )

        with pytest.raises(GuardFailed) as refused:
            engine.fire(psii, "begin_gathering", actor=LEAD)
        assert refused.value.reason_code == "engagement_lead_line_manages_involved_staff"

        replaced = engine.fire(
            psii,
            "reassign_engagement_lead",
            actor=PSS,
            payload={
                "engagement_lead_id": "eng-04",
                "replaced_engagement_lead_id": "eng-03",
                "reassign_reason": "line_manages_involved_staff",
                "note": "manages the healthcare assistant",
            },
        )
        assert replaced.case.facts["former_engagement_lead_ids"] == ("eng-03",)
        assert replaced.case.facts["engagement_lead_id"] == "eng-04"
        assert engine.fire(psii, "begin_gathering", actor=LEAD).case.state == (
            "gathering_and_analysis"
        )

    @pytest.mark.parametrize(
        ("payload", "code"),
        [
            pytest.param(
                {"lead_id": "inv-09", "replaced_lead_id": "inv-08"},
                "replaced_person_not_current",
                id="replaces-someone-else",
            ),
            pytest.param(
                {"lead_id": "INV-07", "replaced_lead_id": "inv-07"},
                "replacement_unchanged",
                id="same-person",
            ),
            pytest.param(
                {"lead_id": "ward-mgr-2", "replaced_lead_id": "inv-07"},
                "lead_line_manages_involved_staff",
                id="new-lead-manages-staff-involved",
            ),
        ],
    )
    def test_reassignment_refused(
        self, engine: Engine, payload: Mapping[str, object], code: str
    ) -> None:
        """A reassignment names the current lead and a new, independent person."""
        psii = _psii_from_triage(engine)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                psii,
                "reassign_lead",
                actor=PSS,
                payload={**payload, "reassign_reason": "unavailable"},
            )

        assert refused.value.reason_code == code
        assert engine.get(psii, reader=READER).facts["lead_id"] == "inv-07"

    def test_another_reason_needs_a_note(self, engine: Engine) -> None:
        """A reassignment for ``other`` reasons without a note is refused as a missing reason."""
        psii = _psii_from_triage(engine)
        payload = {"lead_id": "inv-09", "replaced_lead_id": "inv-07", "reassign_reason": "other"}

        with pytest.raises(ReasonMissing) as refused:
            engine.fire(psii, "reassign_lead", actor=PSS, payload=payload)

        assert (refused.value.code, refused.value.reason_code) == ("PSF210", REASON_MISSING)
        explained = engine.fire(
            psii, "reassign_lead", actor=PSS, payload={**payload, "note": "long-term leave"}
        )
        assert explained.case.facts["lead_id"] == "inv-09"
        assert isinstance(explained.case.facts["note"], str)
        assert "long-term leave" not in str(explained.case.facts["note"])

    def test_no_conflict_is_noted_when_the_team_is_independent(self, engine: Engine) -> None:
        """Adding someone else records the list checked and no conflict."""
        psii = _psii_from_triage(engine)

        added = engine.fire(
            psii,
            "record_staff_involved",
            actor=PSS,
            payload={"involved_staff_ids": ["nurse-4", "hca-1"]},
        )

        [noted] = [g for g in added.entry.guards if g[0] == "independence_conflict_noted"]
        assert noted[1] is True
        assert noted[2].startswith("ok:staff:2+1:")
        assert "independence_conflict:" not in noted[2]


#: Who may be named or listed in the property below.
PEOPLE = ("fac-1", "fac-2", "eng-1", "eng-2", "staff-1")
#: The team of a swarm huddle: (fact, reassignment step).
SWARM_TEAM = (
    ("facilitator_id", "reassign_facilitator"),
    ("engagement_lead_id", "reassign_engagement_lead"),
)
#: The steps that move a response forward (agreeing findings records, it does not move).
MOVES_FORWARD = frozenset({row[0] for row in FORWARD})
SWARM_STEPS = (
    ("begin_gathering", {}),
    ("complete_analysis", {}),
    ("submit_draft", {"draft_ref": "D-1"}),
    ("agree_findings", {}),
    ("request_approval", {}),
    ("approve", {"report_ref": "R-1"}),
)
ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(PEOPLE), st.booleans()),
        st.tuples(st.just("reassign"), st.sampled_from(PEOPLE), st.booleans()),
        st.tuples(st.just("forward"), st.just(""), st.just(False)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(actions=ACTIONS)
def test_no_forward_step_is_accepted_with_a_lead_on_the_current_list(
    actions: list[tuple[str, str, bool]],
) -> None:
    """Property, §5 rule 1: a forward step is accepted exactly when its team is independent.

    Staff are added (as staff or as line managers), the facilitator or the engagement lead
    is replaced and the response is pushed forward in any order; no step that carries the
    check is ever accepted while the facilitator or the engagement lead is on the list.
    """
    engine = Engine(InMemoryStore(), clock=ManualClock())
    engine.open("swarm_huddle", actor=PSS, case_id="SH-1", payload={"incident_ids": ["INC-1"]})
    engine.fire(
        "SH-1",
        "assign_facilitator",
        actor=PSS,
        payload={"facilitator_id": "fac-1", "engagement_lead_id": "eng-1"},
    )
    senior = Actor("sl-1", [Role.SENIOR_LEADER], ORG)
    done = 0
    for kind, person, flag in actions:
        if done == len(SWARM_STEPS):
            break
        case = engine.get("SH-1", reader=READER)
        team = {str(case.facts[fact]) for fact, _ in SWARM_TEAM}
        staff = set(case.facts.get("involved_staff_ids", ()))
        managers = set(case.facts.get("involved_line_manager_ids", ()))
        if kind == "add":
            (managers if flag else staff).add(person)
            engine.fire(
                "SH-1",
                "record_staff_involved",
                actor=PSS,
                payload={
                    "involved_staff_ids": sorted(staff),
                    "involved_line_manager_ids": sorted(managers),
                },
            )
        elif kind == "reassign" and person not in team:
            fact, trigger = SWARM_TEAM[flag]
            payload = {
                fact: person,
                f"replaced_{fact}": case.facts[fact],
                "reassign_reason": "involved_in_incident",
            }
            if person in staff | managers:
                with pytest.raises(GuardFailed):
                    engine.fire("SH-1", trigger, actor=PSS, payload=payload)
            else:
                engine.fire("SH-1", trigger, actor=PSS, payload=payload)
        elif kind == "forward":
            trigger, payload = SWARM_STEPS[done]
            actor = (
                senior
                if trigger in {"agree_findings", "approve"}
                else Actor(str(case.facts["facilitator_id"]), [Role.FACILITATOR], ORG)
            )
            conflicted = bool(team & (staff | managers))
            guarded = trigger in MOVES_FORWARD
            if conflicted and guarded:
                with pytest.raises(GuardFailed) as refused:
                    engine.fire("SH-1", trigger, actor=actor, payload=payload)
                assert "team_independent" in {f.name for f in refused.value.failures}
                continue
            outcome = engine.fire("SH-1", trigger, actor=actor, payload=payload)
            done += 1
            if guarded:
                after = outcome.case.facts
                listed = {
                    *after.get("involved_staff_ids", ()),
                    *after.get("involved_line_manager_ids", ()),
                }
                assert not listed & {str(after[fact]) for fact, _ in SWARM_TEAM}
                [check] = [g for g in outcome.entry.guards if g[0] == "team_independent"]
                assert check[2].startswith(f"ok:staff:{len(staff)}+{len(managers)}:")


class TestUnderAPlan:
    """The plan's sign-off chain stops too when the lead turns out to be involved."""

    def test_each_sign_off_step_is_refused_until_the_lead_is_replaced(self) -> None:
        """§5 rule 1 with §6 stage 8: committee step, then executive step, each re-checks."""
        driver = governed.Driver(load_plan(governed.PLAN_TOML, source="test-plan"))
        case_id = driver.awaiting_approval()
        driver.fire(
            case_id,
            "record_staff_involved",
            governed.PSS,
            {"involved_staff_ids": ["staff-1", "lead-1"]},
        )

        with pytest.raises(GuardFailed) as committee:
            driver.fire(case_id, "record_sign_off", governed.MEMBER, governed.STEP_1)
        assert committee.value.reason_code == "lead_involved_in_incident"
        [option] = [
            o
            for o in driver.engine.options(case_id, governed.MEMBER)
            if o.trigger == "record_sign_off"
        ]
        assert "lead_involved_in_incident" in option.reason_codes

        driver.fire(
            case_id,
            "reassign_lead",
            governed.PSS,
            {
                "lead_id": "lead-2",
                "replaced_lead_id": "lead-1",
                "reassign_reason": "other",
                "note": "found on the rota that night",
            },
        )
        signed = driver.fire(case_id, "record_sign_off", governed.MEMBER, governed.STEP_1)
        assert signed.facts["sign_off_step"] == 1
        approved = driver.fire(case_id, "sign_off", governed.EXEC, {"report_ref": "DOC-report-1"})
        assert approved.state == "approved"
        assert approved.facts["former_lead_ids"] == ("lead-1",)
