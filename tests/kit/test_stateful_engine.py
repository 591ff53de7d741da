"""The engine, driven by random command sequences, agrees with the reference model.

One hypothesis ``TestCase`` per built-in workflow (the learning responses in full, the
other lifecycles and earlier versions with a smaller budget) runs
:func:`psirf_flow.testing.engine_state_machine`; its events say how often runs reach the
final states and reopen (``pytest --hypothesis-show-statistics``). The defect tests show
that the machine fails when the store under the engine is broken, so a green run means
something.
"""

from __future__ import annotations

import unittest
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from psirf_flow import InMemoryStore
from psirf_flow.domain import GuardResult, Role
from psirf_flow.ports import Change, IdempotencyRecord
from psirf_flow.testing import engine_state_machine
from psirf_flow.workflows import (
    GUARDS,
    LEARNING_RESPONSES,
    PSII,
    DefinitionRegistry,
    FieldKind,
    FieldSpec,
    GuardInput,
    GuardSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)
from psirf_flow.workflows.spec import PREVIOUS_STATE, SAME_STATE


# A third of the loaded profile's examples (20 under "ci"), a hundred steps each: long
# enough for most runs to close a case and reopen it, short enough for CI.
MACHINE_SETTINGS = settings(
    max_examples=max(5, settings().max_examples // 3),
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# The other built-in lifecycles (intake, duty of candour, safety actions): half as many.
OTHER_SETTINGS = settings(MACHINE_SETTINGS, max_examples=max(3, settings().max_examples // 6))
# A delegation opens with five required fields (delegate, role, response types, two dates),
# so its smallest opening is larger than hypothesis likes by default.
DELEGATION_SETTINGS = settings(
    OTHER_SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example]
)


def _machine_test(definition: WorkflowDefinition, budget: settings) -> type[unittest.TestCase]:
    base: Any = engine_state_machine(definition).TestCase

    class MachineTest(base):
        __doc__ = f"The engine agrees with the reference model on {definition.title} cases."
        settings = budget

        def runTest(self) -> None:  # noqa: N802 - the name unittest runs
            """Random command sequences keep the engine in step with the reference model."""
            super().runTest()

        # Keep what marks the original runTest as a hypothesis test (for its statistics).
        runTest.is_hypothesis_test = True
        runTest._hypothesis_state_machine_class = base.runTest._hypothesis_state_machine_class

    name = "Test" + definition.name.title().replace("_", "") + "Machine"
    if DefinitionRegistry.default().latest(definition.name) is not definition:
        # An earlier version still registered for its cases in flight gets its own test.
        name += "V" + definition.version.replace(".", "_")
    MachineTest.__name__ = MachineTest.__qualname__ = name
    return MachineTest


for _definition in DefinitionRegistry.default():
    _latest = DefinitionRegistry.default().latest(_definition.name) is _definition
    # An earlier version kept for its cases in flight (after_action_review 1) gets the
    # smaller budget: most of its transitions are its successor's, searched in full.
    _budget = (
        MACHINE_SETTINGS if _definition.name in LEARNING_RESPONSES and _latest else OTHER_SETTINGS
    )
    if _definition.name == "delegation":
        _budget = DELEGATION_SETTINGS
    _test = _machine_test(_definition, _budget)
    globals()[_test.__name__] = _test
# pytest collects every TestCase subclass it can see, whatever its name.
del _definition, _latest, _budget, _test


# ---------------------------------------------------------------- a trust's own workflow


def _independent_checker(g: GuardInput) -> GuardResult:
    ok = g.actor.id != g.facts.get("drafted_by")
    return GuardResult("checker_independent", ok, "ok" if ok else "checker_is_author", "")


LOCAL_GUARDS = {
    **GUARDS,
    "checker_independent": GuardSpec(
        "checker_independent", _independent_checker, "The checker did not draft the plan."
    ),
}

#: A small local workflow with every field kind, a hold, a recording step, a local guard
#: and a reopening, as a trust might define one.
LOCAL_PLAN = define(
    name="local_improvement_plan",
    version="2",
    family="local",
    title="Local improvement plan",
    states=("drafting", "checking", "agreed", "archived", "paused", "withdrawn"),
    initial="drafting",
    final_states=("archived", "withdrawn"),
    opening=OpeningSpec(
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        fields=(
            FieldSpec("incident_ids", FieldKind.IDENTIFIERS, required=True),
            FieldSpec("due", FieldKind.DATE),
        ),
    ),
    transitions=(
        TransitionSpec(
            trigger="submit",
            sources=("drafting",),
            dest="checking",
            roles=(Role.ACTION_OWNER,),
            fields=(FieldSpec("plan_ref", FieldKind.REFERENCE, required=True),),
            actor_fact="drafted_by",
        ),
        TransitionSpec(
            trigger="note_progress",
            sources=("drafting", "checking"),
            dest=SAME_STATE,
            roles=(Role.ACTION_OWNER, Role.PATIENT_SAFETY_SPECIALIST),
            fields=(
                FieldSpec("summary", FieldKind.TEXT),
                FieldSpec("measures", FieldKind.COUNT),
                FieldSpec("on_track", FieldKind.FLAG, required=True),
                FieldSpec("review_on", FieldKind.DATE),
            ),
        ),
        TransitionSpec(
            trigger="agree",
            sources=("checking",),
            dest="agreed",
            roles=(Role.SENIOR_LEADER,),
            guards=("checker_independent",),
        ),
        TransitionSpec(
            trigger="archive",
            sources=("agreed",),
            dest="archived",
            roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            fields=(
                FieldSpec("outcome", FieldKind.CHOICE, required=True, choices=("met", "partly")),
            ),
        ),
        TransitionSpec(
            trigger="pause",
            sources=("drafting", "checking"),
            dest="paused",
            roles=(Role.EXECUTIVE_LEAD,),
            holds=True,
        ),
        TransitionSpec(
            trigger="resume",
            sources=("paused",),
            dest=PREVIOUS_STATE,
            roles=(Role.EXECUTIVE_LEAD,),
        ),
        TransitionSpec(
            trigger="withdraw",
            sources=("drafting", "checking", "paused"),
            dest="withdrawn",
            roles=(Role.EXECUTIVE_LEAD,),
        ),
        TransitionSpec(
            trigger="revisit",
            sources=("archived",),
            dest="checking",
            roles=(Role.EXECUTIVE_LEAD,),
            reopens=True,
        ),
    ),
    guards=LOCAL_GUARDS,
)

SMALL = settings(
    max_examples=max(3, settings().max_examples // 6),
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TestAnyDefinition:
    """The machine runs against definitions other than the built-in ones."""

    def test_a_local_workflow_with_local_guards_agrees_with_the_model(self) -> None:
        """A trust's own definition, with a local guard and every field kind, passes."""
        run_state_machine_as_test(engine_state_machine(LOCAL_PLAN), settings=SMALL)

    def test_a_registry_of_several_workflows_agrees_with_the_model(self) -> None:
        """Cases of several workflows in one engine and one store stay in step with the model."""
        registry = DefinitionRegistry([*LEARNING_RESPONSES.values(), LOCAL_PLAN])
        machine = engine_state_machine(registry, max_cases=3)
        run_state_machine_as_test(machine, settings=SMALL)

    def test_the_base_class_refuses_to_run_without_a_workflow(self) -> None:
        """Running the base machine without a definition is refused with a clear error."""
        from psirf_flow.testing import EngineStateMachine

        with pytest.raises(TypeError, match="engine_state_machine"):
            EngineStateMachine()


# ---------------------------------------------------------------- defective stores


class DropsThirdEntryStore(InMemoryStore):
    """Loses the audit entry of every case's third command (a lost write)."""

    def commit(self, change: Change) -> None:
        """Commit, then forget the entry if it is the third of its case."""
        super().commit(change)
        if change.entry.sequence == 3:
            self._history[change.case.id].pop()


class SkipsVersionStore(InMemoryStore):
    """Stores the case of every third command without moving its version on."""

    def commit(self, change: Change) -> None:
        """Commit, then put the stored case's version back by one on the third command."""
        super().commit(change)
        if change.entry.sequence == 3:
            case = change.case
            self._cases[case.id] = attrs.evolve(case, version=case.version - 1)


class ForgetsKeysStore(InMemoryStore):
    """Never remembers an idempotency key, so a retried command is applied twice."""

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Answer as if no key had ever been used."""
        return None

    def commit(self, change: Change) -> None:
        """Commit without the idempotency record."""
        super().commit(attrs.evolve(change, idempotency=None))


FAILING = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


class TestTheMachineCatchesDefects:
    """A broken store under a correct engine makes the machine fail."""

    @pytest.mark.parametrize(
        "store_class",
        [DropsThirdEntryStore, SkipsVersionStore, ForgetsKeysStore],
        ids=["drops-an-audit-entry", "skips-a-version", "forgets-idempotency-keys"],
    )
    def test_a_defective_store_is_reported(self, store_class: type[InMemoryStore]) -> None:
        """Lost entries, stale versions and forgotten keys each fail the state machine."""
        machine = engine_state_machine(PSII, store_factory=store_class)

        with pytest.raises(AssertionError):
            run_state_machine_as_test(machine, settings=FAILING)

    def test_a_correct_store_passes_the_same_search(self) -> None:
        """The same search against the reference in-memory store finds nothing."""
        machine = engine_state_machine(PSII, store_factory=InMemoryStore)

        run_state_machine_as_test(machine, settings=SMALL)
