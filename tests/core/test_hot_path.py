"""The hot path's fast routes equal the reference they stand in for (issue 12)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import Actor, Command, Engine, InMemoryStore, Role, decide
from psirf_flow._retention_shell import RetentionShell, incident_classes
from psirf_flow.audit import entries
from psirf_flow.decide import decide_open
from psirf_flow.domain import Case, _trusted_case, check_identifier, contains_nhs_number
from psirf_flow.errors import CorruptRecord, InvalidInput
from psirf_flow.policy import RetentionSettings
from psirf_flow.policy.retention import lifecycle_variants, national_requirement, settled_class
from psirf_flow.ports import IncidentLink
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII, DefinitionRegistry, WorkflowDefinition, _machine
from psirf_flow.workflows.learning_response import guards as lr_guards


WHEN = datetime(2026, 1, 5, 9, tzinfo=UTC)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], "RX1")
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")
ENGAGEMENT = Actor("eng-1", [Role.ENGAGEMENT_LEAD], "RX1")
OPENING = {"incident_ids": ["INC-1"], "basis": "national_requirement"}

_CHAIN = re.compile(r"\d(?:[ .-]?\d)*")


def _reference_contains_nhs_number(value: str) -> bool:
    """The rule as written before the prefilter: every ten digits of every chain tested."""
    for chain in _CHAIN.findall(value):
        digits = [int(c) for c in chain if c.isdigit()]
        for start in range(len(digits) - 9):
            window = digits[start : start + 10]
            total = sum(d * w for d, w in zip(window[:9], range(10, 1, -1), strict=True))
            check = 11 - total % 11
            check = 0 if check == 11 else check
            if check != 10 and check == window[9]:
                return True
    return False


# ------------------------------------------------------------------ NHS number screening


@given(st.text(alphabet="0123456789 .-ax", max_size=40))
def test_nhs_number_prefilter_agrees_with_the_full_rule(value: str) -> None:
    """The ten-digit prefilter never changes whether a value holds an NHS number."""
    assert contains_nhs_number(value) == _reference_contains_nhs_number(value)


@given(st.uuids())
def test_uuids_are_screened_like_the_full_rule(value: object) -> None:
    """Random UUIDs (the engine's default ids) are screened exactly as before."""
    text = str(value)
    assert contains_nhs_number(text) == _reference_contains_nhs_number(text)


def test_a_spaced_nhs_number_is_still_found() -> None:
    """An NHS number split by single separators inside an id is still refused."""
    assert contains_nhs_number("pt-943 476 5919")
    assert check_identifier("pt-943.476.5919") is not None


# ------------------------------------------------------------------ the trusted case


_texts = st.text(alphabet="abcdefghij_", min_size=1, max_size=12)
_facts = st.dictionaries(
    _texts,
    st.one_of(_texts, st.integers(-5, 5), st.booleans(), st.tuples(_texts, _texts)),
    max_size=5,
)


@given(
    state=_texts,
    version=st.integers(1, 1000),
    facts=_facts,
    held_from=st.none() | _texts,
    head=st.text(alphabet="0123456789abcdef", max_size=64),
    retention=st.sampled_from(["", "standard", "serious"]),
    later=st.integers(0, 10**6),
)
def test_trusted_case_equals_the_checked_constructor(
    *,
    state: str,
    version: int,
    facts: dict[str, object],
    held_from: str | None,
    head: str,
    retention: str,
    later: int,
) -> None:
    """The core's unchecked builder makes the same Case, field for field, as Case(...)."""
    values = {
        "id": "case-1",
        "workflow": "psii",
        "workflow_version": "1",
        "organisation": "RX1",
        "state": state,
        "version": version,
        "facts": facts,
        "opened_at": WHEN,
        "updated_at": WHEN + timedelta(seconds=later),
        "held_from": held_from,
        "head_hash": head,
        "retention_class": retention,
    }
    checked = Case(**values)  # type: ignore[arg-type]
    trusted = _trusted_case(**{**values, "facts": MappingProxyType(dict(facts))})  # type: ignore[arg-type]
    assert type(trusted) is Case
    assert trusted == checked
    assert attrs.asdict(trusted) == attrs.asdict(checked)
    assert repr(trusted) == repr(checked)
    assert hash(trusted) == hash(checked)
    assert isinstance(trusted.facts, MappingProxyType)


def test_decide_still_refuses_a_time_not_in_utc() -> None:
    """The case decide builds still refuses a time that is not UTC (as Case's check did)."""
    opened = decide_open(
        PSII, case_id="case-1", organisation="RX1", command=Command("open", PSS, OPENING), now=WHEN
    ).case
    command = Command("assign_lead", PSS, {"lead_id": "lead-1", "engagement_lead_id": "eng-1"})
    with pytest.raises(InvalidInput, match="updated_at"):
        decide(PSII, opened, command, now=WHEN.astimezone(timezone(timedelta(hours=1))))


# ------------------------------------------------------------------ the cached case digest


_PATH = (
    ("assign_lead", PSS, {"lead_id": "lead-1", "engagement_lead_id": "eng-1"}),
    (
        "record_terms_of_reference",
        LEAD,
        {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    ),
    (
        "record_engagement",
        ENGAGEMENT,
        {
            "person_id": "fam-1",
            "person_kind": "family_member",
            "engagement": "involved",
            "contact_attempts": 1,
        },
    ),
    ("begin_gathering", LEAD, {}),
    ("hold", EXEC, {"hold_reason": "external_process"}),
    ("resume", EXEC, {}),
    ("complete_analysis", LEAD, {}),
)


def _fresh_digest(case: Case) -> str:
    return entries._digest_text(entries._case_values(case))


@given(steps=st.integers(0, len(_PATH)), retention=st.sampled_from(["", "standard", "serious"]))
def test_every_decided_case_carries_its_true_digest(steps: int, retention: str) -> None:
    """The digest a decided case carries is the one its fields give and its entry records."""
    decision = decide_open(
        PSII,
        case_id="case-1",
        organisation="RX1",
        command=Command("open", PSS, OPENING),
        now=WHEN,
        classify=lambda _case: retention,
    )
    for number, (trigger, actor, payload) in enumerate(_PATH[:steps], start=1):
        case = decision.case
        assert case._audit_digest == _fresh_digest(case) == decision.entry.case_digest
        assert entries.case_digest(case) == decision.entry.case_digest
        decision = decide(
            PSII, case, Command(trigger, actor, payload), now=WHEN + timedelta(days=number)
        )
    assert decision.case._audit_digest == _fresh_digest(decision.case)


def test_a_changed_row_is_digested_afresh() -> None:
    """A case changed behind the engine's back carries no digest and is still caught."""
    case = decide_open(
        PSII, case_id="case-1", organisation="RX1", command=Command("open", PSS, OPENING), now=WHEN
    ).case
    changed = attrs.evolve(case, state="closed")
    assert changed._audit_digest is None
    assert entries.case_differences(changed, case._audit_digest or "") == ("state",)


def test_tampered_row_in_the_memory_store_is_refused() -> None:
    """The engine's row check still catches a memory-store row edited after a commit."""
    engine = Engine(InMemoryStore(), clock=ManualClock(WHEN))
    opened = engine.open("psii", actor=PSS, payload=OPENING).case
    store = engine.store
    assert isinstance(store, InMemoryStore)
    store.tamper_case(attrs.evolve(opened, facts={**opened.facts, "basis": "local_priority"}))
    with pytest.raises(CorruptRecord, match="facts differ"):
        engine.fire(
            opened.id,
            "assign_lead",
            actor=PSS,
            payload={"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
        )


# ------------------------------------------------------------------ the incident class index


_links = st.lists(
    st.tuples(
        st.sampled_from(["RX1", "RX2"]),
        st.sampled_from(["INC-1", "INC-2", "INC-3"]),
        st.sampled_from(["c-1", "c-2", "c-3", "c-4"]),
        st.sampled_from(["standard", "serious", "extended"]),
    ),
    max_size=25,
)


@given(
    writes=_links,
    organisation=st.sampled_from(["RX1", "RX2"]),
    incidents=st.lists(st.sampled_from(["INC-1", "INC-2", "INC-3", "INC-9"]), max_size=3),
    case_id=st.sampled_from(["c-1", "c-2", "c-9"]),
)
def test_memory_store_class_index_equals_its_links(
    writes: list[tuple[str, str, str, str]],
    organisation: str,
    incidents: list[str],
    case_id: str,
) -> None:
    """The memory store's class index answers exactly what its links say, after any writes."""
    store = InMemoryStore()
    for org, incident, case, retention in writes:
        store._put_link(IncidentLink(org, incident, case, retention))
    expected = incident_classes(store.incident_links(organisation, incidents), case_id)
    assert store.incident_classes(organisation, incidents, case_id) == expected


def test_class_index_follows_commits() -> None:
    """Links written by the engine's commits reach the index (and replace older classes)."""
    engine = Engine(InMemoryStore(), clock=ManualClock(WHEN))
    store = engine.store
    assert isinstance(store, InMemoryStore)
    first = engine.open("psii", actor=PSS, payload=OPENING).case
    second = engine.open("psii", actor=PSS, payload=OPENING).case
    classes, own = store.incident_classes("RX1", ["INC-1"], second.id)
    assert classes == frozenset({first.retention_class, second.retention_class})
    assert own == {"INC-1": second.retention_class}
    links = store.incident_links("RX1", ["INC-1"])
    assert store.incident_classes("RX1", ["INC-1"], first.id) == incident_classes(links, first.id)


# ------------------------------------------------------------------ the state table


def _machine_cases() -> list[tuple[WorkflowDefinition, str, str, str | None]]:
    """Every (definition, trigger, state, held-from) of every built-in definition."""
    found = []
    for definition in DefinitionRegistry.default():
        for trigger in definition.transitions:
            for state in definition.states:
                for held in (None, *definition.states):
                    found.append((definition, trigger, state, held))
    return found


_MACHINE_CASES = _machine_cases()


_MachineCase = tuple[WorkflowDefinition, str, str, str | None]


def _outcome(
    run: Callable[..., _machine.FireOutcome], case: _MachineCase, ok: bool
) -> tuple[_machine.FireOutcome, int]:
    definition, trigger, state, held = case
    calls = []

    def evaluate() -> bool:
        calls.append(1)
        return ok

    return run(definition, trigger, state=state, held_from=held, evaluate=evaluate), len(calls)


@given(index=st.integers(0, len(_MACHINE_CASES) - 1), ok=st.booleans())
def test_state_table_agrees_with_the_transitions_machine(index: int, ok: bool) -> None:
    """The table decide asks answers as the compiled transitions machine does, guards too."""
    case = _MACHINE_CASES[index]
    assert _outcome(_machine.step, case, ok) == _outcome(_machine.fire, case, ok)


def test_state_table_agrees_everywhere() -> None:
    """Every state, trigger and held-from state of every built-in definition, both ways."""
    for case in _MACHINE_CASES:
        for ok in (True, False):
            step = _outcome(_machine.step, case, ok)
            assert step == _outcome(_machine.fire, case, ok), (case[0].key, *case[1:], ok)


# ------------------------------------------------------------------ guard codes


_ids = st.lists(st.text(alphabet="abAB-1", min_size=1, max_size=4), max_size=4).map(tuple)


@given(involved=_ids, managers=_ids)
def test_cached_staff_list_code_equals_the_computed_one(
    involved: tuple[str, ...], managers: tuple[str, ...]
) -> None:
    """The remembered independence code is the one the lists give, twice over."""
    expected = lr_guards._staff_code(involved, managers)
    assert lr_guards._known_staff_code(involved, managers) == expected
    assert lr_guards._known_staff_code(involved, managers) == expected


# ------------------------------------------------------------------ retention classes


@given(
    floors=st.lists(
        st.lists(st.sampled_from([None, "", "standard", "serious", "unknown", "x"]), max_size=4),
        min_size=1,
        max_size=6,
    ),
    basis=st.sampled_from(["national_requirement", "local_priority"]),
)
def test_remembered_class_equals_the_rule(floors: list[list[str | None]], basis: str) -> None:
    """The shell's remembered class is the rule's answer for every floor, asked repeatedly."""
    settings = RetentionSettings()
    shell = RetentionShell(InMemoryStore(), settings)
    case = decide_open(
        PSII,
        case_id="case-1",
        organisation="RX1",
        command=Command("open", PSS, {**OPENING, "basis": basis}),
        now=WHEN,
    ).case
    for floor in [*floors, *floors]:
        expected = settled_class(
            settings,
            lifecycle_variants(case.workflow, "learning_response"),
            national_requirement=national_requirement(case.facts),
            floor=floor,
        )
        assert shell.class_for(case, "learning_response", floor) == expected
