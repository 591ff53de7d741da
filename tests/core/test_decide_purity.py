"""The decision core is pure: no mutation, no clock, no I/O, the same answer every time."""

from __future__ import annotations

import ast
import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

import psirf_flow
from psirf_flow import Actor, Case, Command, GuardFailed, Role, decide, decide_open
from psirf_flow.workflows import PSII


ORG = "RX1"
LONG_AGO = datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=UTC)


def _case() -> Case:
    return Case(
        id="case-pure",
        workflow="psii",
        workflow_version="1",
        organisation=ORG,
        state="planning",
        version=2,
        facts={
            "incident_ids": ("INC-1",),
            "lead_id": "lead-1",
            "engagement_lead_id": "eng-1",
        },
        opened_at=LONG_AGO,
        updated_at=LONG_AGO,
        head_hash="cd" * 32,
    )


LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)


class TestPurity:
    """``decide`` and ``decide_open`` read only their arguments."""

    def test_inputs_are_not_mutated(self) -> None:
        """Deciding leaves the case, the command and its payload exactly as they were."""
        case = _case()
        payload: dict[str, object] = {
            "terms_of_reference_ref": "DOC-tor-1",
            "family_involvement_in_terms": "declined",
        }
        command = Command("record_terms_of_reference", LEAD, payload)
        before = (copy.deepcopy(case.facts_dict), copy.deepcopy(payload), repr(case), repr(command))

        decision = decide(PSII, case, command, now=LONG_AGO)

        assert (case.facts_dict, payload, repr(case), repr(command)) == before
        assert decision.case is not case
        assert "terms_of_reference_ref" not in case.facts

    def test_same_inputs_same_decision(self) -> None:
        """Two calls with equal inputs produce equal decisions, hashes included."""
        command = Command("begin_gathering", LEAD)

        first = decide(PSII, _case(), command, now=LONG_AGO)
        second = decide(PSII, _case(), command, now=LONG_AGO)

        assert first == second
        assert first.entry.hash == second.entry.hash

    def test_time_comes_only_from_now(self) -> None:
        """The entry and the case carry exactly the ``now`` passed in, however long ago."""
        decision = decide(PSII, _case(), Command("begin_gathering", LEAD), now=LONG_AGO)

        assert decision.entry.recorded_at == LONG_AGO
        assert decision.case.updated_at == LONG_AGO
        assert decision.case.opened_at == LONG_AGO

    def test_stamped_date_and_guard_time_come_only_from_now(self) -> None:
        """Psirf-rules §9.1: the start date is ``now``'s date, and guards judge dates by it."""
        pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
        commissioned = attrs.evolve(_case(), state="commissioned", facts={"incident_ids": ("I",)})
        assign = Command("assign_lead", pss, {"lead_id": "lead-1", "engagement_lead_id": "e-1"})

        started = decide(PSII, commissioned, assign, now=LONG_AGO).case
        agree = Command(
            "agree_timescale",
            LEAD,
            {"target_date": "2001-02-02", "family_timescale_agreement": "agreed"},
        )
        with pytest.raises(GuardFailed) as refused:
            decide(PSII, started, agree, now=LONG_AGO)

        assert started.facts["started_on"] == "2001-02-03"
        assert [r.reason_code for r in refused.value.failures] == ["target_in_past"]

    def test_open_time_comes_only_from_now(self) -> None:
        """Opening stamps the case and entry with ``now`` only."""
        pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)

        decision = decide_open(
            PSII,
            case_id="case-new",
            organisation=ORG,
            command=Command("open", pss, {"incident_ids": ["INC-1"]}),
            now=LONG_AGO,
        )

        assert decision.case.opened_at == decision.entry.recorded_at == LONG_AGO

    def test_rejection_is_deterministic_too(self) -> None:
        """A refusal lists the same failures on every call."""
        other = Actor("lead-2", [Role.LEARNING_RESPONSE_LEAD], ORG)
        failures = []
        for _ in range(2):
            with pytest.raises(GuardFailed) as refused:
                decide(PSII, _case(), Command("begin_gathering", other), now=LONG_AGO)
            failures.append(refused.value.failures)

        assert failures[0] == failures[1]

    def test_decide_works_with_clock_names_removed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With the ``datetime`` name removed from the pure modules, deciding still works."""
        from psirf_flow import decide as decide_function
        from psirf_flow import domain
        from psirf_flow.audit import canonical, checkpoint, entries

        decide_module = __import__("sys").modules[decide_function.__module__]
        for module in (decide_module, canonical, checkpoint, entries, domain):
            monkeypatch.setattr(module, "datetime", None)

        decision = decide(PSII, _case(), Command("begin_gathering", LEAD), now=LONG_AGO)

        assert decision.entry.recorded_at == LONG_AGO


PURE = ("domain.py", "decide.py", "audit", "errors.py", "workflows")
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
IO_NAMES = {"open", "print", "input"}


def _pure_files() -> list[Path]:
    root = Path(psirf_flow.__file__).parent
    files: list[Path] = []
    for name in PURE:
        path = root / name
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def test_pure_modules_never_call_a_clock_or_do_io() -> None:
    """The pure modules contain no call that reads a clock, prints, opens files or logs."""
    offences: list[str] = []
    for path in _pure_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in CLOCK_CALLS or (isinstance(func, ast.Name) and name in IO_NAMES):
                    offences.append(f"{path.name}:{node.lineno} {name}()")
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                offences.extend(
                    f"{path.name}:{node.lineno} imports {m}"
                    for m in modules
                    if m.split(".")[0] in {"logging", "structlog", "time", "os", "socket"}
                )

    assert offences == []
    assert len(_pure_files()) >= 8


def test_case_facts_are_read_only() -> None:
    """A case's facts cannot be changed in place."""
    case: Any = _case()

    with pytest.raises(TypeError):
        case.facts["lead_id"] = "someone-else"
