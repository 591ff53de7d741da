"""What ``decide`` and ``options`` hand to guards and to ``classify``, and what they return.

A small probe workflow records every :class:`GuardInput` its guard is given, so each test
can assert the whole input (case, trigger, actor, role, facts, payload, time, references)
and the whole :class:`Option` or :class:`Decision`, not one attribute of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import attrs
import pytest

from psirf_flow import Actor, Case, Command, Role, decide, decide_open
from psirf_flow.audit import AuditKeys
from psirf_flow.decide import options
from psirf_flow.domain import FactValue, GuardResult
from psirf_flow.errors import (
    CorruptRecord,
    GuardFailed,
    InvalidPayload,
    OrganisationMismatch,
    RoleNotPermitted,
    TransitionNotAllowed,
    UnknownTrigger,
)
from psirf_flow.policy.governance import GOVERNING_PLAN_FACT, GOVERNING_RULES_FACT
from psirf_flow.workflows import GUARDS, PSII, GuardInput, GuardSpec
from psirf_flow.workflows.guards import CaseSummary
from psirf_flow.workflows.payload import check_payload
from psirf_flow.workflows.spec import (
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)


ORG = "RX1"
NOW = datetime(2026, 4, 6, 21, 30, tzinfo=UTC)
OPENED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
seen_inputs: list[GuardInput] = []


def _probe(g: GuardInput) -> GuardResult:
    """Record the input; refuse when the facts say ``refuse``."""
    seen_inputs.append(g)
    return GuardResult.judge(
        "probe", g.facts.get("refuse") is not True, "probe_refused", "the probe said no"
    )


def _payload_probe(g: GuardInput) -> GuardResult:
    return GuardResult.judge("payload_probe", True, "", "")


def _workflow() -> WorkflowDefinition:
    guards = {
        **GUARDS,
        "probe": GuardSpec("probe", _probe, "the probe agrees"),
        "payload_probe": GuardSpec(
            "payload_probe", _payload_probe, "checked with the payload", uses_payload=True
        ),
    }
    return define(
        name="probe",
        version="1",
        family="probe",
        title="Probe",
        states=("drafting", "in_review", "done"),
        initial="drafting",
        final_states=("done",),
        opening=OpeningSpec(
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            fields=(
                FieldSpec("incident_id", FieldKind.IDENTIFIER, required=True),
                FieldSpec("refuse", FieldKind.FLAG),
                FieldSpec("note", FieldKind.TEXT),
            ),
            guards=("probe",),
            preset={"tier": "local"},
        ),
        transitions=(
            TransitionSpec(
                trigger="submit",
                sources=("drafting",),
                dest="in_review",
                roles=(Role.EXECUTIVE_LEAD, Role.PATIENT_SAFETY_SPECIALIST),
                guards=("probe", "payload_probe"),
            ),
            TransitionSpec(
                trigger="finish",
                sources=("in_review",),
                dest="done",
                roles=(Role.EXECUTIVE_LEAD,),
            ),
        ),
        guards=guards,
    )


PROBE = _workflow()
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
REFS = {"LR-1": CaseSummary("LR-1", "pir", "learning_response", "approved", ORG, ("INC-1",))}


def _case(state: str = "drafting", **facts: FactValue) -> Case:
    return Case(
        id="P-1",
        workflow="probe",
        workflow_version="1",
        organisation=ORG,
        state=state,
        version=3,
        facts={"incident_ids": ("INC-1",), **facts},
        opened_at=OPENED,
        updated_at=OPENED,
        head_hash="ab" * 32,
        retention_class="standard",
    )


@pytest.fixture(autouse=True)
def _forget() -> None:
    """Each test starts with no recorded guard input."""
    seen_inputs.clear()


def test_options_hands_guards_the_case_as_it_stands() -> None:
    """Options judges guards on the case, its facts, no payload, the time and references."""
    case = _case()

    options(PROBE, case, PSS, now=NOW, references=REFS)

    assert seen_inputs == [
        GuardInput(
            case=case,
            trigger="submit",
            actor=PSS,
            role=Role.PATIENT_SAFETY_SPECIALIST,
            facts=case.facts,
            payload={},
            now=NOW,
            references=REFS,
        )
    ]


def test_options_reports_a_refusing_guard_and_defers_payload_guards() -> None:
    """A failing guard gives its code and words; a guard needing the payload waits."""
    found = options(PROBE, _case(refuse=True), PSS, now=NOW)

    assert found == (
        attrs.evolve(
            found[0],
            trigger="submit",
            allowed=False,
            reason_codes=("probe_refused",),
            reasons=("the probe said no",),
            checked_on_fire=("payload_probe",),
        ),
        attrs.evolve(
            found[1],
            trigger="finish",
            allowed=False,
            reason_codes=("not_allowed_in_state", "role_not_permitted"),
            reasons=(
                "not possible while the case is drafting",
                "only executive lead may do it",
            ),
            checked_on_fire=(),
        ),
    )


def test_options_judges_no_guard_once_something_else_is_wrong() -> None:
    """In the wrong state, a permitted actor hears only that; no guard is judged."""
    found = options(PROBE, _case("in_review", refuse=True), PSS, now=NOW)

    assert found[0].reason_codes == ("not_allowed_in_state",)
    assert found[0].reasons == ("not possible while the case is in review",)
    assert found[0].checked_on_fire == ()
    assert seen_inputs == []


def test_options_for_an_outsider_names_every_reason_in_words() -> None:
    """Another organisation's person without a role hears state, organisation and roles."""
    outsider = Actor("x-1", [Role.REPORTER], "RX9")

    found = options(PROBE, _case("in_review"), outsider, now=NOW)

    assert (found[0].allowed, found[0].reason_codes, found[0].reasons) == (
        False,
        ("not_allowed_in_state", "organisation_mismatch", "role_not_permitted"),
        (
            "not possible while the case is in review",
            "the case belongs to another organisation",
            "only executive lead or patient safety specialist may do it",
        ),
    )
    assert seen_inputs == []


@attrs.frozen
class HostCase(Case):
    """A host's own case type (a subclass adding nothing)."""


def test_decide_keeps_a_host_case_type_and_every_field() -> None:
    """Deciding on a Case subclass returns that subclass with the same fields as for a Case."""
    plain = _case()
    hosted = HostCase(**attrs.asdict(plain, recurse=False))

    expected = decide(PROBE, plain, Command("submit", PSS), now=NOW)
    got = decide(PROBE, hosted, Command("submit", PSS), now=NOW)

    assert type(got.case) is HostCase
    assert attrs.asdict(got.case) == attrs.asdict(expected.case)
    assert got.entry == expected.entry
    assert expected.case == Case(
        id="P-1",
        workflow="probe",
        workflow_version="1",
        organisation=ORG,
        state="in_review",
        version=4,
        facts=plain.facts,
        opened_at=OPENED,
        updated_at=NOW,
        held_from=None,
        head_hash=expected.entry.hash,
        retention_class="standard",
    )


@pytest.mark.parametrize("case_type", [Case, HostCase])
def test_classify_sees_the_case_as_it_will_stand(case_type: type[Case]) -> None:
    """``classify`` gets the new state, facts, version and time, with the current class."""
    seen: list[Case] = []

    def classify(case: Case) -> str:
        seen.append(case)
        return "extended"

    before = case_type(**attrs.asdict(_case(), recurse=False))
    decision = decide(PROBE, before, Command("submit", PSS), now=NOW, classify=classify)

    assert [attrs.asdict(c) for c in seen] == [
        attrs.asdict(
            attrs.evolve(before, state="in_review", version=4, updated_at=NOW, held_from=None)
        )
    ]
    assert decision.case.retention_class == "extended"
    assert decision.case.head_hash == decision.entry.hash


OUTSIDER = Actor("x-1", [Role.REPORTER], "RX9")
REPORTER = Actor("r-1", [Role.REPORTER], ORG)


@pytest.mark.parametrize(
    ("command", "error", "fields"),
    [
        pytest.param(
            Command("nope", OUTSIDER, {"junk": 1}),
            OrganisationMismatch,
            {"case_id": "P-1", "trigger": "nope", "actor_organisation": "RX9", "organisation": ORG},
            id="organisation-first",
        ),
        pytest.param(
            Command("nope", REPORTER, {"junk": 1}),
            UnknownTrigger,
            {"case_id": "P-1", "trigger": "nope", "workflow": "probe"},
            id="then-the-trigger",
        ),
        pytest.param(
            Command("finish", REPORTER, {"junk": 1}),
            TransitionNotAllowed,
            {
                "case_id": "P-1",
                "trigger": "finish",
                "state": "drafting",
                "allowed_from": ("in_review",),
            },
            id="then-the-state",
        ),
        pytest.param(
            Command("submit", REPORTER, {"junk": 1}),
            RoleNotPermitted,
            {
                "case_id": "P-1",
                "trigger": "submit",
                "actor_id": "r-1",
                "actor_roles": (Role.REPORTER,),
                "permitted_roles": (Role.EXECUTIVE_LEAD, Role.PATIENT_SAFETY_SPECIALIST),
            },
            id="then-the-role",
        ),
        pytest.param(
            Command("submit", PSS, {"junk": 1}),
            InvalidPayload,
            {"case_id": "P-1", "trigger": "submit"},
            id="then-the-payload",
        ),
    ],
)
def test_the_first_thing_wrong_is_what_the_caller_hears(
    command: Command, error: type[Exception], fields: dict[str, object]
) -> None:
    """Checks run in the documented order: organisation, trigger, state, role, payload."""
    with pytest.raises(error) as refused:
        decide(PROBE, _case(refuse=True), command, now=NOW)

    assert {name: getattr(refused.value, name) for name in fields} == fields
    assert seen_inputs == []


def test_guards_run_last_and_all_are_listed() -> None:
    """With everything else right, every guard is judged and each failure is listed."""
    with pytest.raises(GuardFailed) as refused:
        decide(PROBE, _case(refuse=True), Command("submit", PSS), now=NOW)

    assert (refused.value.case_id, refused.value.trigger) == ("P-1", "submit")
    assert refused.value.results == (
        GuardResult("probe", False, "probe_refused", "the probe said no"),
        GuardResult("payload_probe", True, "ok", ""),
    )
    assert len(seen_inputs) == 1


def test_decide_hands_guards_the_step_in_full() -> None:
    """Guards see the case before, the trigger, actor, role, new facts, payload, time, refs."""
    case = _case()

    decide(PROBE, case, Command("submit", PSS), now=NOW, references=REFS)

    assert seen_inputs == [
        GuardInput(
            case=case,
            trigger="submit",
            actor=PSS,
            role=Role.PATIENT_SAFETY_SPECIALIST,
            facts=dict(case.facts),
            payload={},
            now=NOW,
            references=REFS,
        )
    ]


PSII_CASE = Case(
    id="PSII-1",
    workflow="psii",
    workflow_version="1",
    organisation=ORG,
    state="commissioned",
    version=1,
    facts={"incident_ids": ("INC-1",), "timescale_days": 90, "hard_cap_days": 183},
    opened_at=OPENED,
    updated_at=OPENED,
    head_hash="cd" * 32,
    retention_class="standard",
)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)


@pytest.mark.parametrize(
    ("state", "command", "lead", "held_from"),
    [
        pytest.param(
            "commissioned",
            Command("assign_lead", EXEC, {"lead_id": "lead-1", "engagement_lead_id": "eng-1"}),
            "lead-1",
            None,
            id="facts-recorded",
        ),
        pytest.param(
            "planning",
            Command("hold", EXEC, {"hold_reason": "external_process"}),
            None,
            "planning",
            id="held",
        ),
    ],
)
def test_host_case_type_gets_the_same_step(
    state: str, command: Command, lead: str | None, held_from: str | None
) -> None:
    """A Case subclass gets the same new facts, hold and head as a Case would."""
    plain = attrs.evolve(PSII_CASE, state=state)
    hosted = HostCase(**attrs.asdict(plain, recurse=False))

    expected = decide(PSII, plain, command, now=NOW)
    got = decide(PSII, hosted, command, now=NOW)

    assert type(got.case) is HostCase
    assert attrs.asdict(got.case) == attrs.asdict(expected.case)
    assert got.entry == expected.entry
    assert (expected.case.facts.get("lead_id"), expected.case.held_from) == (lead, held_from)


def test_resume_with_nothing_to_return_to_names_the_case() -> None:
    """A held case that records no state to return to is a corrupt record of that case."""
    held = attrs.evolve(PSII_CASE, state="on_hold", held_from=None)

    with pytest.raises(CorruptRecord) as refused:
        decide(PSII, held, Command("resume", EXEC), now=NOW)

    assert refused.value.case_id == "PSII-1"
    assert str(refused.value) == (
        "[PSF403] case 'PSII-1' cannot be loaded: it is 'on_hold' but records no state for "
        "'resume' to return to"
    )


KEYS = AuditKeys({"k1": b"k" * 32}, active="k1")
OPENING = {"incident_id": "INC-7", "note": "seen on the ward"}


@pytest.mark.parametrize(
    ("actor", "payload", "error", "fields"),
    [
        pytest.param(
            OUTSIDER,
            {},
            OrganisationMismatch,
            {"case_id": "P-9", "trigger": "open", "actor_organisation": "RX9", "organisation": ORG},
            id="organisation-first",
        ),
        pytest.param(
            REPORTER,
            {},
            RoleNotPermitted,
            {"case_id": "P-9", "trigger": "open", "actor_id": "r-1"},
            id="then-the-role",
        ),
        pytest.param(PSS, {}, InvalidPayload, {"case_id": "P-9", "trigger": "open"}, id="payload"),
        pytest.param(
            PSS,
            {**OPENING, "refuse": True},
            GuardFailed,
            {"case_id": "P-9", "trigger": "open"},
            id="then-guards",
        ),
    ],
)
def test_opening_refusals_name_the_new_case(
    actor: Actor, payload: dict[str, object], error: type[Exception], fields: dict[str, object]
) -> None:
    """Opening checks organisation, role, payload, then guards, naming the new case id."""
    with pytest.raises(error) as refused:
        decide_open(
            PROBE, case_id="P-9", organisation=ORG, command=Command("open", actor, payload), now=NOW
        )

    assert {name: getattr(refused.value, name) for name in fields} == fields


@pytest.mark.parametrize("references", [REFS, None])
def test_opening_hands_guards_the_opening(references: dict[str, CaseSummary] | None) -> None:
    """Opening guards see no case, the open trigger, actor, role, facts, payload and time."""
    decision = decide_open(
        PROBE,
        case_id="P-9",
        organisation=ORG,
        command=Command("open", PSS, OPENING),
        now=NOW,
        references=references,
    )
    data = {k: v for k, v in decision.case.facts.items() if k in OPENING}

    assert seen_inputs == [
        GuardInput(
            case=None,
            trigger="open",
            actor=PSS,
            role=Role.PATIENT_SAFETY_SPECIALIST,
            facts={**data, "tier": "local"},
            payload=data,
            now=NOW,
            references=references or {},
        )
    ]


@pytest.mark.parametrize("keys", [None, KEYS], ids=["unkeyed", "keyed"])
def test_opening_decision_in_full(keys: AuditKeys | None) -> None:
    """The new case, its guard results and free text digested with the case id and key."""
    decision = decide_open(
        PROBE,
        case_id="P-9",
        organisation=ORG,
        command=Command("open", PSS, OPENING),
        now=NOW,
        keys=keys,
    )
    text_key = None if keys is None else KEYS.active_secret
    data, _ = check_payload(PROBE.opening.fields, OPENING, salt="P-9", text_key=text_key)
    other, _ = check_payload(PROBE.opening.fields, OPENING, salt="P-8", text_key=text_key)

    assert decision.case == Case(
        id="P-9",
        workflow="probe",
        workflow_version="1",
        organisation=ORG,
        state="drafting",
        version=1,
        facts={**data, "tier": "local", "opened_by": "pss-1"},
        opened_at=NOW,
        updated_at=NOW,
        head_hash=decision.entry.hash,
        retention_class="",
    )
    assert data["note"] != other["note"]
    assert decision.guard_results == (GuardResult("probe", True, "ok", ""),)
    assert decision.entry.key_id == (None if keys is None else "k1")


def test_opening_digests_differ_with_the_key() -> None:
    """The key, when given, changes the stored digest of free text."""
    made = [
        decide_open(
            PROBE,
            case_id="P-9",
            organisation=ORG,
            command=Command("open", PSS, OPENING),
            now=NOW,
            keys=keys,
        ).case.facts["note"]
        for keys in (None, KEYS)
    ]

    assert made[0] != made[1]


def _decide_submit(payload: dict[str, object]) -> None:
    decide(PROBE, _case(), Command("submit", PSS, payload), now=NOW)


def _decide_opening(payload: dict[str, object]) -> None:
    decide_open(
        PROBE,
        case_id="P-9",
        organisation=ORG,
        command=Command("open", PSS, {**OPENING, **payload}),
        now=NOW,
    )


@pytest.mark.parametrize(
    ("step", "case_id", "trigger"),
    [
        pytest.param(_decide_submit, "P-1", "submit", id="decide"),
        pytest.param(_decide_opening, "P-9", "open", id="decide-open"),
    ],
)
def test_governance_facts_in_a_payload_are_refused_naming_the_case(
    step: Callable[[dict[str, object]], None], case_id: str, trigger: str
) -> None:
    """Psirf-rules §1.8: a payload naming the governing versions is refused for that case."""
    with pytest.raises(InvalidPayload) as refused:
        step({GOVERNING_RULES_FACT: "x", GOVERNING_PLAN_FACT: "y"})

    assert (
        refused.value.code,
        refused.value.case_id,
        refused.value.trigger,
        refused.value.reason_code,
        refused.value.problems,
    ) == (
        "PSF205",
        case_id,
        trigger,
        "invalid_payload",
        tuple(
            f"{name} is recorded by the engine from the plan it runs under, never given"
            for name in sorted((GOVERNING_PLAN_FACT, GOVERNING_RULES_FACT))
        ),
    )
    assert seen_inputs == []
