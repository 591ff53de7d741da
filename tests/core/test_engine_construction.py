"""The engine's constructor refuses settings of the wrong type or shape, naming the argument."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from psirf_flow import Actor, Engine, InMemoryStore, InvalidInput, PsirfFlowError, Role
from psirf_flow.audit import AuditKeys
from psirf_flow.domain import SystemReader
from psirf_flow.policy import RetentionSettings
from psirf_flow.testing import ManualClock
from psirf_flow.testing.logs import capture_events
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.couplings import COUPLINGS


class NoCommitStore:
    """Every Store method but ``commit``: not a store."""

    def __init__(self) -> None:
        self._inner = InMemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name == "commit":
            raise AttributeError(name)
        return getattr(self._inner, name)


class NowIsNotCallable:
    """A clock whose ``now`` is a value, not a method."""

    now = datetime(2026, 1, 5, tzinfo=UTC)


KEYS = AuditKeys({"k1": b"k" * 32}, active="k1")

#: (argument, value, a fragment of the message); every other argument is valid.
REFUSED = [
    pytest.param("store", None, "must have the Store methods", id="store-none"),
    pytest.param("store", object(), "lacks", id="store-object"),
    pytest.param("store", NoCommitStore(), "lacks commit", id="store-without-commit"),
    pytest.param("clock", None, "now()", id="clock-none"),
    pytest.param("clock", "2026-01-05T10:00Z", "now()", id="clock-text"),
    pytest.param("clock", NowIsNotCallable(), "now()", id="clock-now-not-callable"),
    pytest.param("definitions", {}, "DefinitionRegistry", id="definitions-dict"),
    pytest.param("definitions", [], "DefinitionRegistry", id="definitions-list"),
    pytest.param("new_id", "case-1", "callable", id="new-id-text"),
    pytest.param("couplings", 3, "collection of Coupling", id="couplings-int"),
    pytest.param("couplings", "psii", "collection of Coupling", id="couplings-text"),
    pytest.param("couplings", {"a": COUPLINGS[0]}, "collection of Coupling", id="couplings-map"),
    pytest.param("couplings", [COUPLINGS[0], "x"], "only Coupling", id="couplings-stray-item"),
    pytest.param("retention", {"default_class": "x"}, "RetentionSettings", id="retention-dict"),
    pytest.param("oversight", ["QWE", "RXY"], "must map", id="oversight-list"),
    pytest.param("oversight", {"QWE": "RXY"}, "collection of organisations", id="value-text"),
    pytest.param("oversight", {"QWE": 3}, "collection of organisations", id="value-int"),
    pytest.param("oversight", {"QWE": {"RXY": 1}}, "collection of organisations", id="value-map"),
    pytest.param("oversight", {3: ["RXY"]}, "identifier", id="key-int"),
    pytest.param("oversight", {"QWE": ["RXY", 3]}, "identifier", id="overseen-int"),
    pytest.param("oversight", {"QWE": ["9434765919"]}, "", id="overseen-nhs-number"),
    pytest.param("keys", {"k1": b"k" * 32}, "AuditKeys", id="keys-dict"),
    pytest.param("keys", b"k" * 32, "AuditKeys", id="keys-bytes"),
]


def arguments(**changed: object) -> dict[str, object]:
    """Valid constructor arguments, with ``changed`` ones replaced."""
    valid: dict[str, object] = {"store": InMemoryStore(), "clock": ManualClock()}
    return {**valid, **changed}


@pytest.mark.parametrize(("argument", "value", "fragment"), REFUSED)
def test_a_wrong_setting_is_refused_by_name(argument: str, value: object, fragment: str) -> None:
    """Each wrong argument raises InvalidInput naming it (a PsirfFlowError and a ValueError)."""
    kwargs = arguments(**{argument: value})
    store = kwargs.pop("store")

    with pytest.raises(InvalidInput) as refused:
        Engine(store, **kwargs)  # type: ignore[arg-type]

    assert refused.value.argument == argument
    assert str(refused.value).startswith(f"[{InvalidInput.code}] {argument} ")
    assert fragment in str(refused.value)
    assert isinstance(refused.value, PsirfFlowError | ValueError)
    assert "9434765919" not in str(refused.value)


def test_a_refused_setting_is_logged_without_its_value() -> None:
    """A refused setting logs one input_refused warning with its error code only."""
    with capture_events(logging.WARNING) as events, pytest.raises(InvalidInput):
        Engine(InMemoryStore(), clock=ManualClock(), oversight={"QWE": "RXY"})

    assert [(e["event"], e["error_code"]) for e in events] == [
        ("psirf_flow.input_refused", InvalidInput.code)
    ]
    assert "RXY" not in repr(events)


#: Every accepted form of the optional settings: (argument, value).
ACCEPTED = [
    pytest.param("definitions", None, id="definitions-default"),
    pytest.param("definitions", DefinitionRegistry.default(), id="definitions-registry"),
    pytest.param("new_id", None, id="new-id-default"),
    pytest.param("new_id", lambda: "case-1", id="new-id-callable"),
    pytest.param("couplings", None, id="couplings-default"),
    pytest.param("couplings", (), id="couplings-none"),
    pytest.param("couplings", list(COUPLINGS), id="couplings-list"),
    pytest.param("couplings", (c for c in COUPLINGS), id="couplings-generator"),
    pytest.param("retention", None, id="retention-default"),
    pytest.param("retention", RetentionSettings(), id="retention-settings"),
    pytest.param("oversight", None, id="oversight-none"),
    pytest.param("oversight", {}, id="oversight-empty"),
    pytest.param("oversight", {"QWE": ["RXY"]}, id="oversight-list"),
    pytest.param("oversight", {"QWE": frozenset({"RXY"})}, id="oversight-frozenset"),
    pytest.param("keys", None, id="keys-none"),
    pytest.param("keys", KEYS, id="keys-ring"),
]


@pytest.mark.parametrize(("argument", "value"), ACCEPTED)
def test_a_right_setting_is_accepted(argument: str, value: object) -> None:
    """Every documented form of each optional setting builds an engine that opens a case."""
    kwargs = arguments(**{argument: value})
    store = kwargs.pop("store")
    engine = Engine(store, **kwargs)  # type: ignore[arg-type]

    opened = engine.open(
        "psii",
        actor=Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RXY"),
        payload={"incident_ids": ["INC-1"]},
    )

    assert opened.case.state == "commissioned"
    assert engine.get(opened.case.id, reader=SystemReader("job")) == opened.case


def test_couplings_are_kept_in_order() -> None:
    """A coupling table given as any collection is kept as a tuple in the order given."""
    reversed_table = list(reversed(COUPLINGS))

    engine = Engine(InMemoryStore(), clock=ManualClock(), couplings=iter(reversed_table))

    assert engine.couplings == tuple(reversed_table)


def test_oversight_lets_the_icb_read_the_overseen_organisation() -> None:
    """Oversight given as lists reads as sets: the ICB sees the overseen trust's cases."""
    engine = Engine(InMemoryStore(), clock=ManualClock(), oversight={"QWE": ["RXY", "RXY"]})
    opened = engine.open(
        "psii",
        actor=Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RXY"),
        payload={"incident_ids": ["INC-1"]},
    )

    icb = Actor("icb-1", [Role.ICB_OVERSIGHT], "QWE")

    assert engine.get(opened.case.id, reader=icb) == opened.case
