"""A hypothesis state machine that drives the engine and checks it against the reference model.

:func:`engine_state_machine` builds a :class:`hypothesis.stateful.RuleBasedStateMachine`
for any workflow definition (or several). Each run opens a few cases and fires commands at
them, moving the manual clock between commands: commands steered towards progress (so runs
reach the final states and reopen), any command the model says may be accepted, random and
junk commands, and repeats of earlier commands with their idempotency keys. After every
command the engine's outcome is compared with the prediction of
:class:`~psirf_flow.testing.model.ReferenceEngine`: accepted or refused, the error class,
the failed guards, the new state, role, facts and audit entry. After every step these
invariants are checked for every case:

* the audit trail has exactly one entry per accepted command (the opening included),
  numbered 1, 2, 3 … and the case's version equals that number;
* the chain verifies (:meth:`~psirf_flow.Engine.verify`) whenever its head moved, and
  every chain once more at the end of the run;
* the case, and every entry, is in a state of its definition, the one the model expects;
* a final state is only ever left by a ``reopens`` transition, fired in one of its roles;
* a replayed idempotent command writes nothing.

Example:
    Run it under pytest for your own definition::

        from hypothesis import settings
        from psirf_flow.testing import engine_state_machine

        MyPlanMachine = engine_state_machine(MY_DEFINITION)
        TestMyPlan = MyPlanMachine.TestCase
        TestMyPlan.settings = settings(max_examples=50, stateful_step_count=60)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, ClassVar, Final, TypeVar, cast

import attrs
from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.domain import Actor, Command, Role, SystemReader
from psirf_flow.engine import Engine, Outcome
from psirf_flow.errors import GuardFailed, PsirfFlowError
from psirf_flow.ports import Clock, Store
from psirf_flow.store.memory import InMemoryStore
from psirf_flow.testing.clock import ManualClock
from psirf_flow.testing.model import ModelCase, Prediction, ReferenceEngine, ReferenceModel
from psirf_flow.testing.strategies import commands, opening_payloads, payloads_for, role_sets
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition


__all__ = ["DEFAULT_PEOPLE", "EngineStateMachine", "engine_state_machine"]

#: The people the machine acts as. A small pool, so "is the lead" and independence
#: guards both pass and fail.
DEFAULT_PEOPLE: Final = ("staff-1", "staff-2", "staff-3", "staff-4", "staff-5")

_T = TypeVar("_T")
#: The test kit reads every case it made as a named system reader.
_READER = SystemReader("psirf-flow-stateful-test")
_MISSING_CASE: Final = "case-missing"
_UNKNOWN_TRIGGER: Final = "not_a_step"
_STEPS: Final = (timedelta(0), timedelta(minutes=5), timedelta(days=1), timedelta(days=45))
# How a command is chosen, as (upper bound of a draw from 0-99, mode). Ending a case is
# rare so that cases live long enough to reach their last states; small draws (which
# hypothesis shrinks towards) mean progress.
_MODES: Final = ((60, "progress"), (78, "explore"), (79, "finish"), (91, "random"), (100, "resend"))
_KEY_CHOICES: Final = ("none", "none", "none", "fresh", "old")
_ROLL: Final = st.integers(0, 99)
_TENTH: Final = st.integers(0, 9)


@functools.cache
def _indices(size: int) -> st.SearchStrategy[int]:
    return st.integers(0, size - 1)


def _pick(data: st.DataObject, options: Sequence[_T], label: str) -> _T:
    """Draw one of ``options`` (a cached strategy per length: cheaper than sampled_from)."""
    chosen = options[data.draw(_indices(len(options)), label=label)]
    note(f"{label}: {chosen!r}")
    return chosen


@attrs.frozen
class _Sent:
    """A command sent earlier, kept so that it can be sent again."""

    workflow: str
    case_id: str
    command: Command
    opening: bool


class EngineStateMachine(RuleBasedStateMachine):
    """Engine plus store against the reference model; build it with :func:`engine_state_machine`.

    Subclass it (or the class the factory returns) to change how the store, the engine or
    the people are made, or to add rules of your own.

    Attributes:
        registry: The workflows the engine and the model run.
        organisation: The organisation owning every case.
        other_organisation: An organisation whose people may not act on the cases.
        people: The ids actors are drawn from.
        max_cases: How many live cases (not in a final state no step leaves) a run keeps
            at most; fewer cases live longer.
    """

    registry: ClassVar[DefinitionRegistry] = DefinitionRegistry()
    organisation: ClassVar[str] = "RX1"
    other_organisation: ClassVar[str] = "RY2"
    people: ClassVar[tuple[str, ...]] = DEFAULT_PEOPLE
    max_cases: ClassVar[int] = 2
    # Strategies are built once per machine class: building them for every step costs
    # more than drawing from them.
    _strategies: ClassVar[dict[tuple[object, ...], st.SearchStrategy[Any]]] = {}

    def __init__(self) -> None:
        super().__init__()
        if not len(self.registry):
            msg = "no workflow to test: build the machine with engine_state_machine(definition)"
            raise TypeError(msg)
        self.clock = ManualClock()
        self.store = self.make_store()
        self.engine = self.make_engine(self.store, self.clock)
        self.reference = ReferenceEngine(self.registry)
        self.workflows = sorted({d.name for d in self.registry})
        self.case_ids: list[str] = []
        self.accepted: dict[str, int] = {}
        self.visit: dict[str, set[str]] = {}
        self.sent: list[_Sent] = []
        self.keys: list[str] = []
        self.attempts = 0
        self.tried: set[str] = set()
        self.verified: dict[str, str] = {}
        self.actors: dict[tuple[str, Role], Actor] = {}

    # ------------------------------------------------------------------ hooks

    def make_store(self) -> Store:
        """Return a new, empty store for one run (an :class:`InMemoryStore` by default)."""
        return InMemoryStore()

    def make_engine(self, store: Store, clock: Clock) -> Engine:
        """Return the engine under test for one run."""
        return Engine(store, clock=clock, definitions=self.registry)

    # ------------------------------------------------------------------ rules

    # Neither rule has a precondition: a rule that is often disabled makes hypothesis give
    # up on whole runs. Each does the other's work when its own makes no sense.

    @rule(data=st.data())
    def open_case(self, data: st.DataObject) -> None:
        """Open a case (usually a sensible opening); with enough live cases, fire instead."""
        live = [c for c in self.case_ids if not self._dead_end(c)]
        if len(live) >= self.max_cases:
            self._fire_step(data)
        else:
            self._open_step(data)

    @rule(data=st.data())
    def fire(self, data: st.DataObject) -> None:
        """Move the clock and fire a command at a case; while no case is open, open one."""
        if self.case_ids:
            self._fire_step(data)
        else:
            self._open_step(data)

    def _open_step(self, data: st.DataObject) -> None:
        """Open a case, usually with a permitted role and a valid payload."""
        workflow = _pick(data, self.workflows, "workflow")
        definition = self.reference.registry.latest(workflow)
        assert definition is not None
        valid = _pick(data, [True, True, True, False], "sensible")
        actor = data.draw(self._opener(definition, sensible=valid), label="actor")
        payload = data.draw(self._opening_payload(definition), label="payload")
        if not valid and data.draw(st.booleans(), label="junk payload"):
            payload = {**payload, "patient_name": "Jane Smith"}
        self.attempts += 1
        case_id = f"case-{self.attempts}"
        if self.case_ids and data.draw(_TENTH, label="reuse id") == 0:
            case_id = _pick(data, self.case_ids, "taken id")
        command = Command("open", actor, payload, idempotency_key=self._draw_key(data))
        self._open(workflow, case_id, command)

    def _fire_step(self, data: st.DataObject) -> None:
        """Move the clock, then fire a command: steered, acceptable, junk, or a repeat."""
        # The clock moves as part of this rule: a rule of its own lets hypothesis build runs
        # that do nothing but move the clock.
        self.clock.advance(_pick(data, _STEPS, "clock moves by"))
        roll = data.draw(_ROLL, label="mode")
        mode = next(name for bound, name in _MODES if roll < bound)
        if mode == "resend" and self.sent:
            sent = _pick(data, self.sent, "repeat")
            event("command repeated")
            if sent.opening:
                self._open(sent.workflow, sent.case_id, sent.command)
            else:
                self._fire(sent.case_id, sent.command)
            return
        if mode in ("progress", "explore", "finish") and self._steer(data, mode):
            return
        self._fire_random(data)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def audit_trail_matches_accepted_commands(self) -> None:
        """One audit entry per accepted command, numbered 1..n, and the case at version n."""
        for case_id in self.case_ids:
            history = self.engine.history(case_id, reader=_READER)
            case = self.engine.get(case_id, reader=_READER)
            expected = self.accepted[case_id]
            assert len(history) == expected, (
                f"{case_id}: {len(history)} audit entries for {expected} accepted commands"
            )
            assert [e.sequence for e in history] == list(range(1, expected + 1))
            assert case.version == expected == self.reference.cases[case_id].version

    @invariant()
    def every_chain_verifies(self) -> None:
        """Every case's audit chain verifies against its head.

        A chain already verified at the same head is checked again only at the end of the
        run (in :meth:`teardown`), which keeps long runs fast.
        """
        self._verify_chains(again=False)

    @invariant()
    def states_are_those_of_the_definition(self) -> None:
        """Every case, and every entry, is in a state of its definition, as the model says."""
        for case_id in self.case_ids:
            case = self.engine.get(case_id, reader=_READER)
            states = self.reference.model_for(case_id).definition.states
            assert case.state in states
            assert case.state == self.reference.cases[case_id].state
            assert all(e.to_state in states for e in self.engine.history(case_id, reader=_READER))

    @invariant()
    def final_states_are_left_only_by_reopening(self) -> None:
        """A final state is left only by a ``reopens`` transition fired in one of its roles."""
        for case_id in self.case_ids:
            definition = self.reference.model_for(case_id).definition
            for entry in self.engine.history(case_id, reader=_READER):
                if entry.trigger == ESCALATION_TRIGGER:
                    continue  # psirf_flow's own record of a fired tier keeps the state
                if entry.from_state in definition.final_states:
                    spec = definition.transition(entry.trigger)
                    assert spec is not None, f"{case_id}: unknown trigger {entry.trigger!r}"
                    assert spec.reopens, f"{case_id}: {entry.trigger!r} left a final state"
                    assert Role(entry.role) in spec.roles

    def teardown(self) -> None:
        """Verify every chain once more and report how far the run got.

        The events show in ``pytest --hypothesis-show-statistics``.
        """
        self._verify_chains(again=True)
        for case_id in self.case_ids:
            definition = self.reference.model_for(case_id).definition
            history = self.engine.history(case_id, reader=_READER)
            for state in sorted({e.to_state for e in history} & definition.final_states):
                event(f"a case reached final state {state!r}")
            if any(
                (spec := definition.transition(e.trigger)) is not None and spec.reopens
                for e in history
            ):
                event("a case was reopened")

    # ------------------------------------------------------------------ steering

    def _cached(
        self, key: tuple[str, ...], build: Callable[[], st.SearchStrategy[_T]]
    ) -> st.SearchStrategy[_T]:
        full = (*key, self.people, self.organisation, self.other_organisation)
        found = self._strategies.get(full)
        if found is None:
            found = self._strategies[full] = build()
        return cast("st.SearchStrategy[_T]", found)

    def _actor(self, person: str, role: Role) -> Actor:
        found = self.actors.get((person, role))
        if found is None:
            found = self.actors[(person, role)] = Actor(person, {role}, self.organisation)
        return found

    def _ids(self) -> st.SearchStrategy[str]:
        return self._cached(("ids",), lambda: st.sampled_from(self.people))

    def _opener(
        self, definition: WorkflowDefinition, *, sensible: bool
    ) -> st.SearchStrategy[Actor]:
        """People opening a case: with a permitted role (sensible), or anyone."""

        def build() -> st.SearchStrategy[Actor]:
            if sensible:
                held = st.sampled_from(definition.opening.roles).map(lambda r: frozenset({r}))
                orgs = [self.organisation]
            else:
                held = role_sets()
                orgs = [self.organisation, self.other_organisation]
            return st.builds(Actor, id=self._ids(), roles=held, organisation=st.sampled_from(orgs))

        return self._cached((definition.key, "opener", str(sensible)), build)

    def _opening_payload(
        self, definition: WorkflowDefinition
    ) -> st.SearchStrategy[dict[str, object]]:
        # Ids named at opening (incidents, staff involved) come from a wider pool than the
        # people, so that some people are always free to lead.
        pool = [*self.people, "INC-1", "INC-2", "INC-3", "other-1", "other-2"]
        return self._cached(
            (definition.key, "opening"),
            lambda: opening_payloads(definition, ids=st.sampled_from(pool)),
        )

    def _payload(
        self, definition: WorkflowDefinition, trigger: str
    ) -> st.SearchStrategy[dict[str, object]]:
        return self._cached(
            (definition.key, "payload", trigger),
            lambda: payloads_for(definition, trigger, ids=self._ids()),
        )

    def _any_command(self, definition: WorkflowDefinition) -> st.SearchStrategy[Command]:
        def build() -> st.SearchStrategy[Command]:
            people = st.builds(
                Actor,
                id=self._ids(),
                roles=role_sets(),
                organisation=st.sampled_from(
                    [self.organisation, self.organisation, self.other_organisation]
                ),
            )
            return commands(
                definition,
                triggers=[*definition.triggers, _UNKNOWN_TRIGGER],
                actors=people,
                ids=self._ids(),
                idempotency_keys=st.none(),
            )

        return self._cached((definition.key, "command"), build)

    def _draw_key(self, data: st.DataObject, *, reuse: bool = True) -> str | None:
        choices = _KEY_CHOICES if reuse else _KEY_CHOICES[:-1]
        choice = _pick(data, choices, "key")
        if choice == "old" and self.keys:
            return _pick(data, self.keys, "old key")
        if choice == "none":
            return None
        key = f"key-{len(self.keys) + 1}"
        self.keys.append(key)
        return key

    def _steer(self, data: st.DataObject, mode: str) -> bool:
        """Fire a command the model says may be accepted; False if there is none.

        ``progress`` prefers steps that keep the case alive and move it forward,
        ``explore`` takes any step that keeps it alive, ``finish`` one that ends it.
        """
        live = [c for c in self.case_ids if not self._dead_end(c)] or self.case_ids
        case_id = _pick(data, live, "case")
        model = self.reference.model_for(case_id)
        case = self.reference.cases[case_id]
        options: dict[str, list[Actor]] = {}
        now = self.clock.now()
        for trigger in model.triggers_from(case.state):
            spec = model.definition.transitions[trigger]
            for role in spec.roles:
                for person in self.people:
                    actor = self._actor(person, role)
                    if model.may_fire(case, trigger, actor, now=now):
                        options.setdefault(trigger, []).append(actor)
        scores = {t: self._score(model, case, t) for t in options}
        if mode == "progress" and scores:
            best = max(scores.values())
            triggers = [t for t in options if scores[t] == best]
        else:
            triggers = [t for t in options if scores[t][0] == (mode == "explore")]
        if not triggers:
            return False
        trigger = _pick(data, triggers, "trigger")
        actor = _pick(data, options[trigger], "actor")
        payload = data.draw(self._payload(model.definition, trigger), label="payload")
        key = self._draw_key(data, reuse=False)
        self._fire(case_id, Command(trigger, actor, payload, idempotency_key=key))
        return True

    def _score(self, model: ReferenceModel, case: ModelCase, trigger: str) -> tuple[bool, bool]:
        """Prefer steps that do not end the case, then steps that move it forward."""
        dest = model.destination(case.state, trigger, case.held_from)
        assert dest is not None
        if dest == case.state:
            forward = trigger not in self.visit[case.id]
        else:
            forward = model.distance[dest] > model.distance[case.state]
        return (not model.is_dead_end(dest), forward)

    def _verify_chains(self, *, again: bool) -> None:
        for case_id in self.case_ids:
            head = self.engine.get(case_id, reader=_READER).head_hash
            if again or self.verified.get(case_id) != head:
                result = self.engine.verify(case_id, reader=_READER)
                assert result.ok, f"{case_id}: {result.reason} (entry {result.first_broken})"
                self.verified[case_id] = head

    def _total_entries(self) -> int:
        return sum(len(self.engine.store.history(c)) for c in self.tried)

    def _dead_end(self, case_id: str) -> bool:
        return self.reference.model_for(case_id).is_dead_end(self.reference.cases[case_id].state)

    def _fire_random(self, data: st.DataObject) -> None:
        case_id = _pick(data, [*self.case_ids, _MISSING_CASE], "case")
        definition = (
            self.reference.model_for(case_id).definition
            if case_id in self.reference.cases
            else next(iter(self.registry))
        )
        command = data.draw(self._any_command(definition), label="command")
        command = attrs.evolve(command, idempotency_key=self._draw_key(data))
        self._fire(case_id, command)

    # ------------------------------------------------------------------ checking

    def _open(self, workflow: str, case_id: str, command: Command) -> None:
        self.sent.append(_Sent(workflow, case_id, command, opening=True))
        self.tried.add(case_id)
        before = self._total_entries()
        prediction = self.reference.open(
            workflow,
            case_id=case_id,
            organisation=self.organisation,
            command=command,
            now=self.clock.now(),
        )
        try:
            outcome = self.engine.open(
                workflow,
                actor=command.actor,
                payload=command.payload,
                case_id=case_id,
                organisation=self.organisation,
                role=command.role,
                idempotency_key=command.idempotency_key,
            )
        except PsirfFlowError as error:
            self._check_refused(prediction, error, before)
            return
        if prediction.accepted:
            self.case_ids.append(case_id)
            self.accepted[case_id] = 0
            self.visit[case_id] = set()
        self._check_outcome(prediction, outcome, command, None, before)

    def _fire(self, case_id: str, command: Command) -> None:
        self.sent.append(_Sent("", case_id, command, opening=False))
        self.tried.add(case_id)
        before = self._total_entries()
        previous = self.reference.cases.get(case_id)
        prediction = self.reference.fire(case_id, command, now=self.clock.now())
        try:
            outcome = self.engine.fire(
                case_id,
                command.trigger,
                actor=command.actor,
                payload=command.payload,
                role=command.role,
                idempotency_key=command.idempotency_key,
            )
        except PsirfFlowError as error:
            self._check_refused(prediction, error, before)
            return
        self._check_outcome(prediction, outcome, command, previous, before)

    def _check_refused(self, prediction: Prediction, error: PsirfFlowError, before: int) -> None:
        note(f"refused: {error}")
        expected = prediction.error.__name__ if prediction.error is not None else "acceptance"
        assert type(error) is prediction.error, (
            f"the engine raised {type(error).__name__}, the model expected {expected}"
        )
        if isinstance(error, GuardFailed):
            assert tuple(r.name for r in error.failures) == prediction.failed_guards
        assert self._total_entries() == before, "a refused command wrote an audit entry"
        event(f"refused: {type(error).__name__}")

    def _check_outcome(
        self,
        prediction: Prediction,
        outcome: Outcome,
        command: Command,
        previous: ModelCase | None,
        before: int,
    ) -> None:
        expected = prediction.error.__name__ if prediction.error is not None else ""
        assert prediction.error is None, f"the engine accepted, the model expected {expected}"
        model_case = prediction.case
        assert model_case is not None
        case, entry = outcome.case, outcome.entry
        if prediction.replayed:
            assert outcome.replayed, "the model expected a replay"
            assert entry.sequence == prediction.replay_of
            assert self._total_entries() == before, "a replayed command wrote an audit entry"
            assert case.version == model_case.version
            event("idempotent replay")
            return
        assert not outcome.replayed, "the engine replayed a command the model did not"
        note(f"accepted: {entry.trigger} {entry.from_state} -> {entry.to_state}")
        self.accepted[case.id] += 1
        assert self._total_entries() == before + 1
        assert entry.sequence == case.version == self.accepted[case.id] == model_case.version
        assert entry.from_state == (previous.state if previous is not None else None)
        assert (entry.to_state, case.state) == (model_case.state, model_case.state)
        assert entry.trigger == (command.trigger if previous is not None else "open")
        assert (entry.actor_id, entry.organisation) == (
            command.actor.id,
            command.actor.organisation,
        )
        assert prediction.role is not None
        assert entry.role == prediction.role.value
        assert dict(entry.data) == dict(prediction.data)
        assert case.facts_dict == dict(model_case.facts)
        assert case.held_from == model_case.held_from
        assert entry.recorded_at == case.updated_at == self.clock.now()
        if previous is None or previous.state != case.state:
            self.visit[case.id] = set()
        self.visit[case.id].add(entry.trigger)
        event(f"accepted: {entry.trigger}")


def engine_state_machine(
    definitions: WorkflowDefinition | Iterable[WorkflowDefinition] | DefinitionRegistry,
    *,
    store_factory: Callable[[], Store] | None = None,
    people: Sequence[str] = DEFAULT_PEOPLE,
    organisation: str = "RX1",
    max_cases: int = 2,
) -> type[EngineStateMachine]:
    """Build the engine-versus-model state machine for ``definitions``.

    Args:
        definitions: One definition, several, or a registry; new cases follow the newest
            version of each name.
        store_factory: Makes a fresh, empty store for each run (called with no arguments);
            :class:`~psirf_flow.InMemoryStore` by default. Point it at your own adapter to
            test it together with the engine.
        people: Opaque ids the actors are drawn from; keep it small (four to six) so that
            guards comparing people both pass and fail.
        organisation: The organisation owning the cases.
        max_cases: How many live cases a run keeps at most.

    Returns:
        A :class:`EngineStateMachine` subclass. Run it with
        :func:`hypothesis.stateful.run_state_machine_as_test` or through its ``TestCase``.
    """
    found = [definitions] if isinstance(definitions, WorkflowDefinition) else list(definitions)
    registry = DefinitionRegistry(found)
    make = store_factory

    class Machine(EngineStateMachine):
        def make_store(self) -> Store:
            return make() if make is not None else super().make_store()

    Machine.registry = registry
    Machine._strategies = {}
    Machine.people = tuple(people)
    Machine.organisation = organisation
    Machine.max_cases = max_cases
    Machine.__name__ = Machine.__qualname__ = "EngineStateMachine_" + "_".join(
        sorted({d.name for d in registry})
    )
    return Machine
