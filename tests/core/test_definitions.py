"""Workflow definitions: validated when built, frozen, compiled once, ``transitions`` confined."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest

import psirf_flow
from psirf_flow import Actor, DefinitionError, DefinitionRegistry, Engine, InMemoryStore, Role
from psirf_flow.domain import GuardResult
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import (
    AFTER_ACTION_REVIEW,
    GUARDS,
    LEARNING_RESPONSES,
    PREVIOUS_STATE,
    PSII,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    GuardSpec,
    OpeningSpec,
    TransitionSpec,
    _machine,
    define,
)
from psirf_flow.workflows.spec import (
    record_facts,
)


PSS = (Role.PATIENT_SAFETY_SPECIALIST,)
OPENING = OpeningSpec(roles=PSS)


def step(trigger: str, sources: tuple[str, ...], dest: str, **extra: Any) -> TransitionSpec:
    """A transition any patient safety specialist may fire."""
    return TransitionSpec(trigger=trigger, sources=sources, dest=dest, roles=PSS, **extra)


VALID_STEPS = (step("go", ("a",), "b"), step("finish", ("b",), "c"))


def build(**overrides: Any) -> Any:
    """A small valid definition a -> b -> c (final), with ``overrides`` applied."""
    arguments: dict[str, Any] = {
        "name": "tiny",
        "version": "1",
        "family": "test",
        "title": "Tiny",
        "states": ("a", "b", "c"),
        "initial": "a",
        "final_states": ("c",),
        "opening": OPENING,
        "transitions": VALID_STEPS,
    }
    arguments.update(overrides)
    return define(**arguments)


def problems_of(**overrides: Any) -> tuple[str, ...]:
    """The problems ``define`` reports for a tiny definition with ``overrides``."""
    with pytest.raises(DefinitionError) as error:
        build(**overrides)
    return error.value.problems


MISSING_INITIAL = "no initial state is given"
UNREACHABLE = "state 'island' cannot be reached from 'a'"
NOTHING_REACHABLE = "no state can be reached, because there is no valid initial state"
LEAVES_FINAL = "trigger 'leave_end': leaves final state 'c' (only a reopening transition may)"
UNKNOWN_GUARD = "trigger 'go': unknown guard 'no_such_guard'"
DUPLICATE = "trigger 'go' is declared twice from state 'a'"
NEVER_FINAL = "state 'trap' can never reach a final state"

BROKEN_STATES = ("a", "b", "c", "island", "trap")
BROKEN_STEPS = (
    step("go", ("a",), "b", guards=("no_such_guard",)),
    step("go", ("a",), "c"),
    step("finish", ("b",), "c"),
    step("leave_end", ("c",), "b"),
    step("from_island", ("island",), "c"),
    step("into_trap", ("b",), "trap"),
)


class TestValidation:
    """``define`` checks a definition when it is built and reports every problem at once."""

    def test_five_graph_and_transition_problems_are_reported_together(self) -> None:
        """Unreachable, final-leaving, unknown-guard, duplicate and dead-end problems: one error."""
        found = problems_of(states=BROKEN_STATES, transitions=BROKEN_STEPS)

        for expected in (UNREACHABLE, LEAVES_FINAL, UNKNOWN_GUARD, DUPLICATE, NEVER_FINAL):
            assert expected in found

    def test_all_six_problem_kinds_are_reported_together(self) -> None:
        """A missing initial state is reported together with the five other problem kinds."""
        found = problems_of(initial="", states=BROKEN_STATES, transitions=BROKEN_STEPS)

        for expected in (
            MISSING_INITIAL,
            NOTHING_REACHABLE,
            LEAVES_FINAL,
            UNKNOWN_GUARD,
            DUPLICATE,
            NEVER_FINAL,
        ):
            assert expected in found

    def test_missing_initial_does_not_hide_dead_end_states(self) -> None:
        """Without an initial state, states that can never finish are still reported."""
        found = problems_of(initial="", states=BROKEN_STATES, transitions=BROKEN_STEPS)

        assert {MISSING_INITIAL, LEAVES_FINAL, UNKNOWN_GUARD, DUPLICATE, NEVER_FINAL} <= set(found)

    @pytest.mark.parametrize(
        ("overrides", "expected"),
        [
            pytest.param(
                {"initial": ""}, (MISSING_INITIAL, NOTHING_REACHABLE), id="missing-initial"
            ),
            pytest.param(
                {
                    "states": ("a", "b", "c", "island"),
                    "transitions": (*VALID_STEPS, step("from_island", ("island",), "c")),
                },
                UNREACHABLE,
                id="unreachable-state",
            ),
            pytest.param(
                {"transitions": (*VALID_STEPS, step("leave_end", ("c",), "b"))},
                LEAVES_FINAL,
                id="transition-out-of-final-state",
            ),
            pytest.param(
                {
                    "transitions": (
                        step("go", ("a",), "b", guards=("no_such_guard",)),
                        VALID_STEPS[1],
                    )
                },
                UNKNOWN_GUARD,
                id="unknown-guard",
            ),
            pytest.param(
                {"transitions": (*VALID_STEPS, step("go", ("a",), "c"))},
                DUPLICATE,
                id="duplicate-trigger-from-one-state",
            ),
            pytest.param(
                {
                    "states": ("a", "b", "c", "trap"),
                    "transitions": (*VALID_STEPS, step("into_trap", ("b",), "trap")),
                },
                NEVER_FINAL,
                id="state-never-reaches-final",
            ),
        ],
    )
    def test_each_problem_alone(
        self, overrides: dict[str, Any], expected: str | tuple[str, ...]
    ) -> None:
        """Each problem kind is reported alone (no initial also means nothing is reachable)."""
        assert problems_of(**overrides) == (
            expected if isinstance(expected, tuple) else (expected,)
        )

    @pytest.mark.parametrize(
        ("overrides", "expected"),
        [
            pytest.param(
                {"initial": "z"}, "initial state 'z' is not one of the states", id="unknown-initial"
            ),
            pytest.param(
                {"states": ("a", "b", "c", "b")}, "state 'b' is listed twice", id="state-twice"
            ),
            pytest.param(
                {"final_states": ("c", "z")},
                "final state 'z' is not one of the states",
                id="unknown-final",
            ),
            pytest.param(
                {
                    "final_states": (),
                    "transitions": (*VALID_STEPS, step("back", ("c",), "a")),
                },
                "no final state is given",
                id="no-final",
            ),
            pytest.param(
                {
                    "opening": OpeningSpec(
                        roles=PSS,
                        fields=(
                            FieldSpec("x", FieldKind.FLAG),
                            FieldSpec("x", FieldKind.FLAG),
                        ),
                    )
                },
                "opening: field 'x' is declared twice",
                id="field-twice",
            ),
            pytest.param(
                {"opening": OpeningSpec(roles=PSS, fields=(FieldSpec("x", FieldKind.CHOICE),))},
                "opening: choice field 'x' has no choices",
                id="choice-without-choices",
            ),
            pytest.param(
                {
                    "opening": OpeningSpec(
                        roles=PSS, fields=(FieldSpec("x", FieldKind.FLAG, choices=("y",)),)
                    )
                },
                "opening: field 'x' has choices but is not a choice",
                id="choices-on-non-choice",
            ),
            pytest.param(
                {"opening": OpeningSpec(roles=PSS, guards=("nope",))},
                "opening: unknown guard 'nope'",
                id="opening-unknown-guard",
            ),
            pytest.param(
                {"opening": OpeningSpec(roles=())},
                "opening: no role may open a case",
                id="opening-without-roles",
            ),
            pytest.param(
                {
                    "transitions": (
                        TransitionSpec(trigger="go", sources=("a",), dest="b", roles=()),
                        VALID_STEPS[1],
                    )
                },
                "trigger 'go': no role may fire it",
                id="transition-without-roles",
            ),
            pytest.param(
                {"transitions": (*VALID_STEPS, step("nowhere", (), "c"))},
                "trigger 'nowhere': has no source state",
                id="no-source",
            ),
            pytest.param(
                {"transitions": (*VALID_STEPS, step("ghost", ("z",), "c"))},
                "trigger 'ghost': source 'z' is not one of the states",
                id="unknown-source",
            ),
            pytest.param(
                {"transitions": (*VALID_STEPS, step("jump", ("a",), "z"))},
                "trigger 'jump': destination 'z' is not one of the states",
                id="unknown-destination",
            ),
            pytest.param(
                {"transitions": (step("go", ("a", "a"), "b"), VALID_STEPS[1])},
                "trigger 'go': a source state is listed twice",
                id="source-twice",
            ),
            pytest.param(
                {"transitions": (*VALID_STEPS, step("go", ("b",), "c"))},
                "trigger 'go' is declared twice; give both sources in one transition",
                id="trigger-twice-from-other-states",
            ),
            pytest.param(
                {
                    "transitions": (
                        step(
                            "go",
                            ("a",),
                            "b",
                            fields=(FieldSpec("on", FieldKind.DATE),),
                            stamp_fact="on",
                        ),
                        VALID_STEPS[1],
                    )
                },
                "trigger 'go': the date fact 'on' is also set another way",
                id="stamp-fact-is-a-field",
            ),
            pytest.param(
                {
                    "transitions": (
                        step("go", ("a",), "b", actor_fact="by", stamp_fact="by"),
                        VALID_STEPS[1],
                    )
                },
                "trigger 'go': the date fact 'by' is also set another way",
                id="stamp-fact-is-the-actor-fact",
            ),
        ],
    )
    def test_other_problems(self, overrides: dict[str, Any], expected: str) -> None:
        """Malformed states, fields, roles and sources are each reported in plain words."""
        assert expected in problems_of(**overrides)

    def test_error_lists_every_problem_in_its_message(self) -> None:
        """The error names the workflow, counts the problems and lists each on its own line."""
        with pytest.raises(DefinitionError) as error:
            build(states=BROKEN_STATES, transitions=BROKEN_STEPS)

        assert error.value.workflow == "tiny"
        assert f"has {len(error.value.problems)} problem(s)" in str(error.value)
        for problem in error.value.problems:
            assert f"  - {problem}" in str(error.value)

    def test_reopening_transition_may_leave_a_final_state(self) -> None:
        """A transition marked ``reopens`` may leave a final state."""
        definition = build(transitions=(*VALID_STEPS, step("reopen", ("c",), "b", reopens=True)))

        assert definition.triggers_from("c") == ("reopen",)

    def test_local_guards_extend_the_registry(self) -> None:
        """A definition built with a copy of the registry plus a local guard accepts its name."""

        def always(_input: object) -> GuardResult:
            return GuardResult(name="local_rule", ok=True)

        registry = {**GUARDS, "local_rule": GuardSpec("local_rule", always, "Always.")}
        definition = build(
            transitions=(step("go", ("a",), "b", guards=("local_rule",)), VALID_STEPS[1]),
            guards=registry,
        )

        assert definition.guards["local_rule"].check is always

    def test_every_builtin_definition_is_valid(self) -> None:
        """Every built-in learning response definition builds, at version 1 (the AAR at 2)."""
        assert set(LEARNING_RESPONSES) == {
            "psii",
            "after_action_review",
            "swarm_huddle",
            "hot_debrief",
            "mdt_review",
            "thematic_review",
        }
        # psirf-rules §2: the after action review is now led by a facilitator (version 2).
        assert {d.key for d in LEARNING_RESPONSES.values()} == {
            ("after_action_review@2" if name == "after_action_review" else f"{name}@1")
            for name in LEARNING_RESPONSES
        }


class TestDefinitionQueries:
    """Small questions a definition answers about itself."""

    def test_destinations_of_each_kind(self) -> None:
        """A step leads to its state, a recording step stays, resume to any holdable state."""
        assert PSII.destinations(PSII.transitions["approve"]) == ("approved",)
        assert PSII.destinations(PSII.transitions["agree_findings"]) == ("review",)
        assert PSII.transitions["resume"].dest == PREVIOUS_STATE
        assert PSII.transitions["agree_findings"].dest == SAME_STATE
        assert PSII.destinations(PSII.transitions["resume"]) == (
            "commissioned",
            "planning",
            "gathering_and_analysis",
            "drafting",
            "review",
            "awaiting_approval",
        )

    def test_transition_lookup(self) -> None:
        """An unknown trigger has no transition; a known one is returned."""
        assert PSII.transition("nope") is None
        assert PSII.transition("approve") is PSII.transitions["approve"]

    def test_triggers_from_a_state(self) -> None:
        """The triggers available in a closed PSII are only reopening."""
        assert PSII.triggers_from("closed") == ("reopen",)
        assert PSII.triggers_from("stood_down") == ()


class TestFrozen:
    """Definitions are frozen data: nothing about them can be changed after they are built."""

    @pytest.mark.parametrize(
        ("target", "attribute", "value"),
        [
            pytest.param(PSII, "name", "other", id="definition"),
            pytest.param(PSII.transitions["approve"], "roles", (), id="transition"),
            pytest.param(PSII.opening, "roles", (), id="opening"),
            pytest.param(PSII.transitions["approve"].fields[0], "required", False, id="field"),
            pytest.param(GUARDS["actor_is_lead"], "summary", "", id="guard"),
        ],
    )
    def test_attributes_cannot_be_set(self, target: object, attribute: str, value: object) -> None:
        """Setting an attribute of any part of a definition raises ``FrozenInstanceError``."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(target, attribute, value)

    def test_transitions_mapping_cannot_be_changed(self) -> None:
        """A definition's transitions cannot be added to or removed from."""
        with pytest.raises(TypeError):
            PSII.transitions["approve"] = PSII.transitions["close"]  # type: ignore[index]
        assert "approve" in PSII.transitions

    def test_guard_registry_of_a_definition_cannot_be_changed(self) -> None:
        """The guards a definition resolved its names against cannot be replaced."""
        with pytest.raises(TypeError):
            PSII.guards["actor_is_lead"] = GUARDS["findings_agreed"]  # type: ignore[index]

    def test_states_and_finals_are_immutable_collections(self) -> None:
        """States are a tuple and final states a frozenset."""
        assert isinstance(PSII.states, tuple)
        assert PSII.final_states == frozenset({"closed", "stood_down"})


class TestCompiledOnce:
    """Each definition is compiled into a machine once per process."""

    def test_compile_returns_the_identical_machine(self) -> None:
        """Compiling the same definition twice returns the very same machine."""
        assert _machine.compile_definition(PSII) is _machine.compile_definition(PSII)

    def test_second_engine_does_not_recompile(
        self, monkeypatch: pytest.MonkeyPatch, clock: ManualClock
    ) -> None:
        """Building a second engine and firing on it builds no new machine."""
        pss = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
        first = Engine(InMemoryStore(), clock=clock)
        first.fire(
            first.open("psii", actor=pss, payload={"incident_ids": ["INC-1"]}).case.id,
            "assign_lead",
            actor=pss,
            payload={"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
        )
        builds: list[str] = []
        real_build = _machine._build
        monkeypatch.setattr(_machine, "_build", lambda d: builds.append(d.key) or real_build(d))
        count = _machine.compiled_count()

        second = Engine(InMemoryStore(), clock=clock)
        case = second.open("psii", actor=pss, payload={"incident_ids": ["INC-1"]}).case
        second.fire(
            case.id,
            "assign_lead",
            actor=pss,
            payload={"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
        )

        assert builds == []
        assert _machine.compiled_count() == count

    def test_new_definition_object_is_compiled_separately(self) -> None:
        """A different definition object (even an equal one) gets its own machine."""
        copy = attrs.evolve(AFTER_ACTION_REVIEW, version="2")

        assert _machine.compile_definition(copy) is not _machine.compile_definition(
            AFTER_ACTION_REVIEW
        )
        assert _machine.compile_definition(copy) is _machine.compile_definition(copy)

    def test_stale_cache_slot_is_rebuilt(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A cache slot left by another object with a recycled id is not reused."""
        definition = attrs.evolve(PSII, version="stale")
        other = _machine.compile_definition(PSII)
        monkeypatch.setitem(_machine._COMPILED, id(definition), (PSII, other))

        assert _machine.compile_definition(definition) is not other

    def test_machine_built_while_waiting_for_the_lock_is_reused(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If another thread compiled the definition while this one waited, its machine is used."""
        definition = attrs.evolve(PSII, version="raced")
        theirs = object()
        real_lock = _machine._LOCK

        @contextmanager
        def racing_lock() -> Iterator[None]:
            _machine._COMPILED[id(definition)] = (definition, theirs)
            with real_lock:
                yield

        class Lock:
            def __enter__(self) -> None:
                self._cm = racing_lock()
                self._cm.__enter__()

            def __exit__(self, *exc: object) -> None:
                self._cm.__exit__(None, None, None)

        monkeypatch.setattr(_machine, "_LOCK", Lock())
        try:
            assert _machine.compile_definition(definition) is theirs
        finally:
            _machine._COMPILED.pop(id(definition), None)

    def test_invalid_source_never_escapes_as_a_machine_error(self) -> None:
        """Firing from a state the machine does not allow reports it instead of raising."""
        outcome = _machine.fire(
            PSII, "approve", state="drafting", held_from=None, evaluate=lambda: True
        )

        assert outcome == _machine.FireOutcome(fired=False, state="drafting", valid_source=False)


def _source_files() -> list[Path]:
    root = Path(psirf_flow.__file__).parent
    return sorted(root.rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


class TestTransitionsConfined:
    """Only the private machine module imports ``transitions``; domain objects stay plain."""

    def test_only_the_machine_module_imports_transitions(self) -> None:
        """Of every module's imports, only ``workflows/_machine.py`` has ``transitions``."""
        root = Path(psirf_flow.__file__).parent
        importers = {
            path.relative_to(root).as_posix()
            for path in _source_files()
            if any(
                m == "transitions" or m.startswith("transitions.") for m in _imported_modules(path)
            )
        }

        assert importers == {"workflows/_machine.py"}

    def test_case_is_not_decorated_after_firing(self, lifecycle: Any) -> None:
        """After a full lifecycle a case carries no machine methods or attributes."""
        case = lifecycle.to("closed")

        for name in ("may_approve", "to_closed", "trigger", "is_closed", "approve", "machine"):
            assert not hasattr(case, name)
        assert not hasattr(case, "__dict__")
        assert "__slots__" in vars(type(case))


class TestRegistry:
    """The registry finds definitions by name and version; the newest is used for new cases."""

    def test_default_registry_knows_every_builtin(self) -> None:
        """The default registry holds every built-in learning response, each once."""
        registry = DefinitionRegistry.default()

        assert set(LEARNING_RESPONSES.values()) <= set(registry)
        assert len(registry) == len(set(registry))
        assert registry.get("psii", "1") is PSII
        assert registry.get("psii", "9") is None
        assert registry.latest("nope") is None

    @pytest.mark.parametrize(
        ("versions", "latest"),
        [
            pytest.param(("1", "2"), "2", id="numeric"),
            pytest.param(("2", "10"), "10", id="numeric-not-text"),
            pytest.param(("10", "2"), "10", id="registered-out-of-order"),
            pytest.param(("1.2", "1.10"), "1.10", id="dotted"),
            pytest.param(("1", "1.rc1"), "1.rc1", id="text-part-after-number"),
        ],
    )
    def test_latest_is_the_highest_version(self, versions: tuple[str, ...], latest: str) -> None:
        """Versions compare part by part as numbers, not as text."""
        registry = DefinitionRegistry(attrs.evolve(PSII, version=v) for v in versions)

        found = registry.latest("psii")

        assert found is not None
        assert found.version == latest

    def test_same_key_with_other_content_is_refused(self) -> None:
        """Registering a different definition under a name and version already taken fails."""
        registry = DefinitionRegistry([PSII])
        registry.register(PSII)

        with pytest.raises(ValueError, match="psii@1 is already registered"):
            registry.register(attrs.evolve(PSII, title="Another"))
        assert len(registry) == 1


_KEY = FieldSpec("person_id", FieldKind.IDENTIFIER, required=True)
_OUTCOME = FieldSpec.choice("outcome", ("yes", "no"), required=True)


class TestKeyedRecords:
    """A keyed record step (one record per person) is checked when it is defined."""

    @pytest.mark.parametrize(
        ("extra", "expected"),
        [
            (
                {"record_key": "person_id"},
                ("trigger 'note': record_key and record_index go together",),
            ),
            (
                {"record_key": "outcome", "record_index": "people"},
                ("trigger 'note': record_key 'outcome' is not a required identifier field",),
            ),
            (
                {"record_key": "person_id", "record_index": "outcome"},
                ("trigger 'note': record_index 'outcome' is also a field",),
            ),
        ],
        ids=["key-without-index", "key-not-an-identifier", "index-is-a-field"],
    )
    def test_bad_keyed_records_are_reported(
        self, extra: dict[str, Any], expected: tuple[str, ...]
    ) -> None:
        """Issue 9 item 10: the key is a required identifier; the index is not a field."""
        keyed = step("note", ("b",), "<same>", fields=(_KEY, _OUTCOME), **extra)

        assert problems_of(transitions=(*VALID_STEPS, keyed)) == expected

    def test_a_keyed_step_stores_one_record_per_key(self) -> None:
        """Each field under ``<field>.<key>``, the key listed in the index, nothing else."""
        keyed = step(
            "note",
            ("b",),
            "<same>",
            fields=(_KEY, _OUTCOME),
            record_key="person_id",
            record_index="people",
        )

        first = record_facts(keyed, {"person_id": "p-2", "outcome": "no"}, {})
        second = record_facts(keyed, {"person_id": "p-1", "outcome": "yes"}, first)

        assert first == {"outcome.p-2": "no", "people": ("p-2",)}
        assert second == {"outcome.p-1": "yes", "people": ("p-1", "p-2")}
        assert record_facts(step("go", ("a",), "b"), {"x": "y"}, {}) == {"x": "y"}
