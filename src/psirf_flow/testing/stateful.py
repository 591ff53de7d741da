"""A hypothesis state machine that drives the engine and checks it against the reference model.

[`engine_state_machine`][psirf_flow.testing.stateful.engine_state_machine] builds a
`hypothesis.stateful.RuleBasedStateMachine` for any workflow definition (or several). Each run opens
a few cases and fires commands at them, moving the manual clock between commands: commands steered
towards progress (so runs reach the final states and reopen), any command the model says may be
accepted, random and junk commands, and repeats of earlier commands with their idempotency keys.
After every command the engine's outcome is compared with the prediction of
[`ReferenceEngine`][psirf_flow.testing.model.ReferenceEngine]: accepted or refused, the error class,
the failed guards, the new state, role, facts and audit entry. After every step these
invariants are checked for every case:

* the audit trail has exactly one entry per accepted command (the opening included),
  numbered 1, 2, 3 … and the case's version equals that number;
* the chain verifies ([`verify`][psirf_flow.engine.Engine.verify]) whenever its head moved, and
  every chain once more at the end of the run;
* the case, and every entry, is in a state of its definition, the one the model expects;
* a final state is only ever left by a ``reopens`` transition, fired in one of its roles;
* a replayed idempotent command writes nothing.

Built with ``plan=`` the engine runs under a plan; built with ``clocks=True`` it is a
[`ClockedEngineStateMachine`][psirf_flow.testing.stateful.ClockedEngineStateMachine], which also
moves the clock, holds and resumes cases and sweeps, and checks that every due escalation tier fires
exactly once and never early (psirf-rules §4, §9.4).

Run it under pytest for your own definition:

```python
from hypothesis import settings
from psirf_flow.testing import engine_state_machine

MyPlanMachine = engine_state_machine(MY_DEFINITION)
TestMyPlan = MyPlanMachine.TestCase
TestMyPlan.settings = settings(max_examples=50, stateful_step_count=60)
```
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final, TypeVar, cast

import attrs

from psirf_flow._extras import missing


try:
    from hypothesis import event, note
    from hypothesis import strategies as st
    from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
except ImportError as _error:
    raise missing("hypothesis", needed_by="the property-test kit") from _error

from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.domain import (
    Actor,
    Command,
    Deadline,
    DeadlineStatus,
    Escalation,
    EscalationStatus,
    Role,
    SystemReader,
)
from psirf_flow.engine import Engine, Outcome
from psirf_flow.errors import GuardFailed, InvalidInput, PsirfFlowError
from psirf_flow.policy import Plan
from psirf_flow.policy.calendars import UK_TIME
from psirf_flow.policy.timing import local_date
from psirf_flow.ports import Clock, Store
from psirf_flow.store.memory import InMemoryStore
from psirf_flow.sweeper import DEFAULT_BATCH, Sweeper
from psirf_flow.testing.clock import ManualClock
from psirf_flow.testing.model import ModelCase, Prediction, ReferenceEngine, ReferenceModel
from psirf_flow.testing.strategies import commands, opening_payloads, payloads_for, role_sets
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.spec import PREVIOUS_STATE, FieldKind, FieldSpec, TransitionSpec


__all__ = [
    "CLOCK_LANDMARKS",
    "DEFAULT_CLAIMANTS",
    "DEFAULT_PEOPLE",
    "ClockedEngineStateMachine",
    "EngineStateMachine",
    "engine_state_machine",
]

DEFAULT_PEOPLE: Final = ("staff-1", "staff-2", "staff-3", "staff-4", "staff-5")
"""The people the machine acts as. A small pool, so "is the lead" and independence
guards both pass and fail."""

_T = TypeVar("_T")
_READER = SystemReader("psirf-flow-stateful-test")
"""The test kit reads every case it made as a named system reader."""
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
    """Engine plus store against the reference model; build it with `engine_state_machine`.

    Subclass it (or the class the factory returns) to change how the store, the engine or
    the people are made, or to add rules of your own.

    Attributes:
        registry: The workflows the engine and the model run.
        organisation: The organisation owning every case.
        other_organisation: An organisation whose people may not act on the cases.
        people: The ids actors are drawn from.
        max_cases: How many live cases (not in a final state no step leaves) a run keeps
            at most; fewer cases live longer.
        plan: The plan the engine runs under (``None``: none). New cases record its
            version; the model records the same facts and its guards see it.
        clock_start: Where the manual clock starts (``None``: its default).
    """

    registry: ClassVar[DefinitionRegistry] = DefinitionRegistry()
    organisation: ClassVar[str] = "RX1"
    other_organisation: ClassVar[str] = "RY2"
    people: ClassVar[tuple[str, ...]] = DEFAULT_PEOPLE
    max_cases: ClassVar[int] = 2
    plan: ClassVar[Plan | None] = None
    """The plan the engine runs under (``None``: no plan, the built-in defaults)."""
    clock_start: ClassVar[datetime | None] = None
    """Where the manual clock starts (``None``: `ManualClock`'s default)."""
    # Strategies are built once per machine class: building them for every step costs
    # more than drawing from them.
    _strategies: ClassVar[dict[tuple[object, ...], st.SearchStrategy[Any]]] = {}

    def __init__(self) -> None:
        super().__init__()
        if not len(self.registry):
            msg = "no workflow to test: build the machine with engine_state_machine(definition)"
            raise TypeError(msg)
        self.clock = ManualClock(self.clock_start)
        self.store = self.make_store()
        self.engine = self.make_engine(self.store, self.clock)
        # New cases record the plan they open under; the model records the same facts.
        book = self.engine.plan_book
        self.reference = ReferenceEngine(
            self.registry, governance=None if book is None else book.current
        )
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
        """Return a new, empty store for one run (an `InMemoryStore` by default)."""
        return InMemoryStore()

    def make_engine(self, store: Store, clock: Clock) -> Engine:
        """Return the engine under test for one run (under `plan` when one is set)."""
        return Engine(store, clock=clock, definitions=self.registry, plan=self.plan)

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
        run (in [`teardown`][psirf_flow.testing.stateful.EngineStateMachine.teardown]), which keeps
        long runs fast.
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


DEFAULT_CLAIMANTS: Final = ("sweeper-a", "sweeper-b")
"""The claimants of the sweepers a clocked machine runs (two, so claims by one are seen
by the other)."""
_PENDING: Final = EscalationStatus.PENDING.value
_PAUSED: Final = EscalationStatus.PAUSED.value
_FIRED: Final = EscalationStatus.FIRED.value
_OPEN_DEADLINE: Final = DeadlineStatus.OPEN.value
_PAUSED_DEADLINE: Final = DeadlineStatus.PAUSED.value
_FINISHED: Final = frozenset(
    {DeadlineStatus.MET.value, DeadlineStatus.CLEARED.value, DeadlineStatus.SUPERSEDED.value}
)
CLOCK_LANDMARKS: Final = (
    datetime(2026, 10, 24, 23, tzinfo=UTC),  # 00:00 on the 25th, local (BST)
    datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),  # 02:00 BST becomes 01:00 GMT
    datetime(2026, 10, 26, 0, tzinfo=UTC),
    datetime(2026, 12, 24, 17, tzinfo=UTC),
    datetime(2026, 12, 25, 0, tzinfo=UTC),
    datetime(2026, 12, 28, 0, tzinfo=UTC),
    datetime(2026, 12, 29, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 0, tzinfo=UTC),
    datetime(2027, 1, 4, 0, tzinfo=UTC),
    datetime(2027, 3, 28, 0, tzinfo=UTC),
    datetime(2027, 3, 28, 0, 59, 59, tzinfo=UTC),
    datetime(2027, 3, 28, 1, tzinfo=UTC),  # 01:00 GMT becomes 02:00 BST
    datetime(2027, 3, 28, 23, tzinfo=UTC),  # 00:00 on the 29th, local (BST)
)
"""Instants a clocked run likes to land on (UTC): around the clocks going back on
25 October 2026 (01:00 UTC) and forward on 28 March 2027 (01:00 UTC), local midnights
either side, and the Christmas and New Year bank holidays of 2026 (Boxing Day falls on
a Saturday, so Monday 28 December is its substitute)."""
_NEAR: Final = (timedelta(seconds=-1), timedelta(0), timedelta(seconds=1))
_ADVANCES: Final = ("minutes", "hours", "days", "weeks", "landmark", "next tier", "next tier")
_AMOUNTS: Final = {
    "minutes": (timedelta(minutes=1), 59),
    "hours": (timedelta(hours=1), 23),
    "days": (timedelta(days=1), 6),
    "weeks": (timedelta(weeks=1), 6),
}
_DEAD_CLAIMANT: Final = "sweeper-that-died"
_LEASES: Final = (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1))
_DATE_OFFSETS: Final = st.integers(-30, 183)
"""Dates drawn for the steered steps of a clocked run: from a month ago to half a year on."""

_TierKey = tuple[str, str, int, int]
_CANCELLED: Final = EscalationStatus.CANCELLED.value
_TIER_MOVES: Final = {
    _PENDING: frozenset({_PENDING, _PAUSED, _FIRED, _CANCELLED}),
    _PAUSED: frozenset({_PAUSED, _PENDING, _CANCELLED}),
    _FIRED: frozenset({_FIRED}),
    _CANCELLED: frozenset({_CANCELLED}),
}
"""How a tier's status may change from one step to the next (psirf-rules §9.4: a tier
waits, pauses with its case's hold, fires once or is cancelled; nothing comes back)."""


class ClockedEngineStateMachine(EngineStateMachine):
    """The engine-versus-model machine with the clock and the sweepers as rules of their own.

    Build it with ``engine_state_machine(..., clocks=True)``. Besides the commands of
    [`EngineStateMachine`][psirf_flow.testing.stateful.EngineStateMachine], a run moves the clock
    (by minutes to weeks, onto the instants of
    [`CLOCK_LANDMARKS`][psirf_flow.testing.stateful.CLOCK_LANDMARKS], or just before, at or just
    after the next tier's ``fire_at``), puts cases on hold and resumes them, sweeps with one of
    several [`Sweeper`][psirf_flow.sweeper.Sweeper] instances (different claimants; one claims a
    tier at a time), and lets a sweeper claim due tiers and die without firing them (its claims hold
    other sweepers off until the lease runs out). The dates of steered steps (a safety action's
    ``due_on``, a PSII's agreed ``target_date``, a candour case's ``aware_on``) are drawn near the
    clock, so clocks fall due within a run.

    Each sweep at ``t`` must fire exactly the tiers that were pending, due by ``t``, of an
    open deadline and not under a dead sweeper's live claim (never a paused one, never
    early), each as one ``escalation_fired``
    entry recorded at ``t``, and leave nothing else changed; the model applies each entry
    ([`escalate`][psirf_flow.testing.model.ReferenceEngine.escalate]), so every comparison of
    the base machine stays exact. After every step, for every case:

    * every ``fired`` tier has exactly one ``escalation_fired`` entry with its kind, cycle
      and tier, and no entry names a tier that is not fired;
    * that entry says it fired at or after its ``scheduled_at`` (the tier's ``fire_at``),
      at the tier's ``fired_at``, with ``late_seconds`` the whole seconds in between;
    * a tier of a met, cleared or superseded deadline is neither pending nor paused, a
      pending tier's deadline is open and a paused tier's deadline paused;
    * a deadline's ``tier`` is one more than the highest of its tiers fired (0 if none);
    * at most one deadline per kind is open or paused;
    * a case on hold has no open deadline, and a case not on hold no paused one;
    * tiers change status only forwards, keep their time while waiting, and move only on a
      resume, by the hold as the counting rules measure it.

    Attributes:
        claimants: The sweepers' claimant names, one sweeper each.
    """

    claimants: ClassVar[tuple[str, ...]] = DEFAULT_CLAIMANTS

    def __init__(self) -> None:
        super().__init__()
        self.seen_tiers: dict[_TierKey, Escalation] = {}
        # Claims of a sweeper that died: until when, and the tier as it was claimed.
        self.dead_claims: dict[_TierKey, tuple[datetime, Escalation]] = {}
        self.seen_deadlines: dict[tuple[str, str, int], Deadline] = {}
        self.sweepers = [
            Sweeper(self.engine, claimant=name, batch=1 if index % 2 else DEFAULT_BATCH)
            for index, name in enumerate(self.claimants)
        ]

    # ------------------------------------------------------------------ rules

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        """Move the clock: minutes to weeks, onto a landmark, or to the next tier's time."""
        now = self.clock.now()
        how = _pick(data, _ADVANCES, "advance")
        target: datetime | None = None
        if how == "landmark":
            ahead = [m for m in CLOCK_LANDMARKS if m > now][:4]
            if ahead:
                target = _pick(data, ahead, "landmark")
        elif how == "next tier":
            waiting = sorted(
                t.fire_at
                for t in self._tiers().values()
                if t.status == _PENDING and t.fire_at + _NEAR[0] > now
            )
            if waiting:
                target = waiting[0] + _pick(data, _NEAR, "next tier, off by")
        if target is None or target <= now:
            unit, most = _AMOUNTS.get(how, _AMOUNTS["days"])
            self.clock.advance(unit * data.draw(st.integers(1, most), label="by"))
        else:
            self.clock.set(target)
        note(f"clock: {self.clock.now().isoformat()}")

    @rule(data=st.data())
    def hold_or_resume(self, data: st.DataObject) -> None:
        """Put a case on hold or resume it, when the model says one may; else fire a command.

        Holds pause the clocks and resumes move them, so a clocked run asks for them more
        often than the base machine's steering would.
        """
        if not self.case_ids or not self._steer_to(data, _pauses_clocks):
            self.fire(data)

    @rule(data=st.data())
    def claim_and_die(self, data: st.DataObject) -> None:
        """A sweeper claims due tiers and dies before firing them (its claims must expire).

        The store must offer the earliest claimable tiers (pending, due, not claimed by a
        live claim); until the lease runs out, or a step rewrites the tier, no other
        sweeper may take them.
        """
        now = self.clock.now()
        self._forget_ended_claims()
        limit = data.draw(st.integers(1, 3), label="claim at most")
        lease = _pick(data, _LEASES, "lease")
        claimable = sorted(
            (
                t
                for t in self._tiers().values()
                if t.status == _PENDING and t.fire_at <= now and not self._claimed(t.key, now)
            ),
            key=lambda t: (t.fire_at, t.key),
        )
        claimed = self.store.claim_due(now, limit=limit, claimant=_DEAD_CLAIMANT, lease=lease)
        assert [t.key for t in claimed] == [t.key for t in claimable[:limit]]
        for tier in claimed:
            self.dead_claims[tier.key] = (now + lease, tier)
        if claimed:
            event("a sweeper died holding claims")

    @rule(data=st.data())
    def sweep(self, data: st.DataObject) -> None:
        """Sweep at the clock's time: exactly the due tiers of open deadlines fire, once.

        Tiers held by a dead sweeper's live claim wait for the lease to run out.
        """
        now = self.clock.now()
        sweeper = self.sweepers[data.draw(_indices(len(self.sweepers)), label="sweeper")]
        self._forget_ended_claims()
        before = self._tiers()
        deadlines = self._deadlines()
        held = {key for key in before if self._claimed(key, now)}
        due = {
            key
            for key, tier in before.items()
            if tier.status == _PENDING
            and tier.fire_at <= now
            and deadlines[key[:3]].status == _OPEN_DEADLINE
            and key not in held
        }
        if any(key in self.dead_claims for key in due):
            event("a dead sweeper's expired claim was fired")
        entries = {case_id: len(self.store.history(case_id)) for case_id in self.case_ids}
        report = sweeper.sweep()
        after = self._tiers()
        fired = {k for k, t in after.items() if t.status == _FIRED and before[k].status != _FIRED}
        assert fired == due, f"{sweeper.claimant} at {now}: fired {fired}, due {due}"
        expected = (len(due), len(due), 0, 0, 0)
        got = (report.claimed, report.fired, report.skipped, report.failed, report.conflicts)
        assert got == expected, report
        assert {k: t for k, t in after.items() if k not in due} == {
            k: t for k, t in before.items() if k not in due
        }, "a sweep changed a tier it did not fire"
        for key in sorted(due, key=lambda k: (after[k].fire_at, k)):
            tier = after[key]
            assert tier.fired_at == now
            event(f"fired: {tier.kind} {tier.stage}")
        deadlines = self._deadlines()
        for key, tier in after.items():
            assert not (
                tier.status == _PENDING
                and tier.fire_at <= now
                and deadlines[key[:3]].status == _OPEN_DEADLINE
                and key not in held
            ), f"{key} is due by {now} and still pending after a sweep"
        by_case: dict[str, int] = {}
        for key in due:
            by_case[key[0]] = by_case.get(key[0], 0) + 1
        for case_id, count in by_case.items():
            history = self.store.history(case_id)
            assert len(history) == entries[case_id] + count
            for entry in history[-count:]:
                model_case = self.reference.escalate(case_id, now=now)
                assert entry.trigger == ESCALATION_TRIGGER
                assert entry.from_state == entry.to_state == model_case.state
                assert entry.recorded_at == now
                assert entry.sequence == model_case.version
            self.accepted[case_id] += count
            case = self.engine.get(case_id, reader=_READER)
            assert case.version == self.reference.cases[case_id].version
            assert case.updated_at == now
        event(f"sweep fired {min(len(due), 3)}{'+' if len(due) >= 3 else ''}")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def every_fired_tier_has_one_entry(self) -> None:
        """Each fired tier has one ``escalation_fired`` entry; each entry, a fired tier."""
        for case_id in self.case_ids:
            tiers = {t.key: t for t in self.store.escalations(case_id)}
            found: dict[_TierKey, list[Any]] = {}
            for entry in self.store.history(case_id):
                if entry.trigger != ESCALATION_TRIGGER:
                    continue
                data = entry.data
                cycle, number = int(str(data["cycle"])), int(str(data["tier"]))
                key = (case_id, str(data["deadline"]), cycle, number)
                found.setdefault(key, []).append(entry)
            fired = {k for k, t in tiers.items() if t.status == _FIRED}
            assert set(found) == fired, f"{case_id}: entries for {set(found)}, fired {fired}"
            for key, entries in found.items():
                assert len(entries) == 1, f"{key} fired {len(entries)} times"
                self._check_entry(tiers[key], entries[0])

    @invariant()
    def tiers_follow_their_deadlines(self) -> None:
        """No tier waits on a finished deadline; pending and paused follow the deadline."""
        for case_id in self.case_ids:
            deadlines = {d.key: d for d in self.store.deadlines(case_id)}
            for tier in self.store.escalations(case_id):
                status = deadlines[tier.key[:3]].status
                if status in _FINISHED:
                    assert tier.status not in (_PENDING, _PAUSED), f"{tier.key} on a {status}"
                if tier.status == _PENDING:
                    assert status == _OPEN_DEADLINE, f"{tier.key} pending on a {status}"
                if tier.status == _PAUSED:
                    assert status == _PAUSED_DEADLINE, f"{tier.key} paused on a {status}"

    @invariant()
    def deadlines_count_their_fired_tiers(self) -> None:
        """A deadline's ``tier`` is one more than the highest of its tiers fired (0 if none)."""
        for case_id in self.case_ids:
            highest: dict[tuple[str, str, int], int] = {}
            for tier in self.store.escalations(case_id):
                if tier.status == _FIRED:
                    highest[tier.key[:3]] = max(highest.get(tier.key[:3], 0), tier.tier + 1)
            for deadline in self.store.deadlines(case_id):
                expected = highest.get(deadline.key, 0)
                assert deadline.tier == expected, f"{deadline.key}: tier {deadline.tier}"

    @invariant()
    def one_live_deadline_per_kind(self) -> None:
        """At most one deadline per case and kind is open or paused."""
        for case_id in self.case_ids:
            live = [
                d.kind
                for d in self.store.deadlines(case_id)
                if d.status in (_OPEN_DEADLINE, _PAUSED_DEADLINE)
            ]
            assert len(live) == len(set(live)), f"{case_id}: live deadlines {sorted(live)}"

    @invariant()
    def holds_pause_the_clocks(self) -> None:
        """A case on hold has no open deadline; a case not on hold has no paused one."""
        for case_id in self.case_ids:
            held = self.reference.cases[case_id].held_from is not None
            for deadline in self.store.deadlines(case_id):
                wrong = _OPEN_DEADLINE if held else _PAUSED_DEADLINE
                assert deadline.status != wrong, (
                    f"{deadline.key} is {deadline.status} on a case "
                    f"{'on hold' if held else 'not on hold'}"
                )

    @invariant()
    def tiers_move_only_as_the_rules_say(self) -> None:
        """Tiers change status only forwards, and move only when their case resumes.

        A waiting tier keeps its ``fire_at``; a fired or cancelled one never changes. A
        paused tier that is pending again has moved later by the hold: by the whole local
        days between pausing and resuming for a day-based deadline (its local time of day
        kept, across a clock change too), by the exact time on hold for an hours rule.
        """
        tiers, deadlines = self._tiers(), self._deadlines()
        now = self.clock.now()
        for key, tier in tiers.items():
            old = self.seen_tiers.get(key)
            if old is None:
                continue
            assert tier.status in _TIER_MOVES[old.status], f"{key}: {old.status} -> {tier.status}"
            if old.status in (_FIRED, _CANCELLED):
                assert tier == old, f"{key} changed after it was {old.status}"
            elif old.status == _PAUSED and tier.status == _PENDING:
                self._check_resumed(old, tier, self.seen_deadlines[key[:3]], now)
            elif tier.status != _CANCELLED:
                assert tier.fire_at == old.fire_at, f"{key} moved without a resume"
        for key in self.seen_tiers:
            assert key in tiers, f"tier {key} disappeared"
        self.seen_tiers, self.seen_deadlines = tiers, deadlines
        # A step that rewrote a claimed tier ended the dead sweeper's claim, even when a
        # later step puts the tier back as it was (a hold, then a resume on the same day).
        self._forget_ended_claims()

    # ------------------------------------------------------------------ helpers

    def _claimed(self, key: _TierKey, now: datetime) -> bool:
        """True while a dead sweeper's claim on the tier is live."""
        found = self.dead_claims.get(key)
        return found is not None and found[0] > now

    def _forget_ended_claims(self) -> None:
        """Drop the dead sweeper's claims that a commit ended (the tier was rewritten)."""
        tiers = self._tiers()
        for key, (_until, claimed) in list(self.dead_claims.items()):
            if tiers.get(key) != claimed:
                del self.dead_claims[key]

    def _steer_to(self, data: st.DataObject, wanted: Callable[[TransitionSpec], bool]) -> bool:
        """Fire a ``wanted`` step the model says may be accepted; False if there is none."""
        now = self.clock.now()
        options: list[tuple[str, str, Actor]] = []
        for case_id in self.case_ids:
            model = self.reference.model_for(case_id)
            case = self.reference.cases[case_id]
            for trigger in model.triggers_from(case.state):
                spec = model.definition.transitions[trigger]
                if not wanted(spec):
                    continue
                for role in spec.roles:
                    for person in self.people:
                        actor = self._actor(person, role)
                        if model.may_fire(case, trigger, actor, now=now):
                            options.append((case_id, trigger, actor))
        if not options:
            return False
        case_id, trigger, actor = _pick(data, options, "hold or resume")
        definition = self.reference.model_for(case_id).definition
        payload = data.draw(self._payload(definition, trigger), label="payload")
        self._fire(case_id, Command(trigger, actor, payload, idempotency_key=None))
        return True

    def _check_resumed(
        self, old: Escalation, tier: Escalation, deadline: Deadline, now: datetime
    ) -> None:
        """A resumed tier moved later by the hold, as its deadline's rule counts it."""
        paused_at = deadline.paused_at
        assert paused_at is not None, f"{deadline.key} was paused without paused_at"
        if deadline.due_date is None:
            assert tier.fire_at == old.fire_at + (now - paused_at), f"{tier.key}: hours shift"
            return
        days = (local_date(now) - local_date(paused_at)).days
        before = old.fire_at.astimezone(UK_TIME)
        after = tier.fire_at.astimezone(UK_TIME)
        # The same wall-clock time, ``days`` local days later (a time the spring change
        # skips reads as GMT; one the autumn change repeats, as its first occurrence).
        wall = before.replace(tzinfo=None) + timedelta(days=days)
        expected = wall.replace(tzinfo=UK_TIME).astimezone(UTC)
        assert tier.fire_at == expected, f"{tier.key}: moved by whole days, to {after}"
        event("a resumed tier moved by whole local days")
        if before.utcoffset() != after.utcoffset():
            event("a resumed tier moved across a clock change")

    def _check_entry(self, tier: Escalation, entry: Any) -> None:
        """The entry of a fired tier: its stage, instants and lateness, never early."""
        data = entry.data
        assert tier.fired_at is not None
        scheduled = datetime.fromisoformat(str(data["scheduled_at"]))
        fired_at = datetime.fromisoformat(str(data["fired_at"]))
        assert scheduled == tier.fire_at, f"{tier.key}: scheduled {scheduled}, tier {tier.fire_at}"
        assert fired_at == tier.fired_at == entry.recorded_at
        assert fired_at >= scheduled, f"{tier.key} fired early: {fired_at} < {scheduled}"
        assert data["late_seconds"] == int((fired_at - scheduled).total_seconds())
        assert data["stage"] == tier.stage

    def _tiers(self) -> dict[_TierKey, Escalation]:
        return {t.key: t for c in self.case_ids for t in self.store.escalations(c)}

    def _deadlines(self) -> dict[tuple[str, str, int], Deadline]:
        return {d.key: d for c in self.case_ids for d in self.store.deadlines(c)}

    def _payload(
        self, definition: WorkflowDefinition, trigger: str
    ) -> st.SearchStrategy[dict[str, object]]:
        """Steered payloads, with their dates drawn near the clock's local date."""
        spec = definition.transition(trigger)
        fields = () if spec is None else spec.fields
        return self._near_now(super()._payload(definition, trigger), fields)

    def _opening_payload(
        self, definition: WorkflowDefinition
    ) -> st.SearchStrategy[dict[str, object]]:
        """Sensible openings, with their dates drawn near the clock's local date."""
        return self._near_now(super()._opening_payload(definition), definition.opening.fields)

    def _near_now(
        self, payloads: st.SearchStrategy[dict[str, object]], fields: Iterable[FieldSpec]
    ) -> st.SearchStrategy[dict[str, object]]:
        dates = frozenset(f.name for f in fields if f.kind is FieldKind.DATE)
        if not dates:
            return payloads
        today = local_date(self.clock.now())

        def moved(drawn: tuple[dict[str, object], int]) -> dict[str, object]:
            payload, offset = drawn
            day = (today + timedelta(days=offset)).isoformat()
            return {k: day if k in dates else v for k, v in payload.items()}

        return st.tuples(payloads, _DATE_OFFSETS).map(moved)


def _pauses_clocks(spec: TransitionSpec) -> bool:
    """A step that puts a case on hold, or resumes it."""
    return spec.holds or spec.dest == PREVIOUS_STATE


def engine_state_machine(
    definitions: WorkflowDefinition | Iterable[WorkflowDefinition] | DefinitionRegistry,
    *,
    store_factory: Callable[[], Store] | None = None,
    people: Sequence[str] = DEFAULT_PEOPLE,
    organisation: str = "RX1",
    max_cases: int = 2,
    plan: Plan | None = None,
    clocks: bool = False,
    claimants: Sequence[str] = DEFAULT_CLAIMANTS,
    start: datetime | None = None,
) -> type[EngineStateMachine]:
    """Build the engine-versus-model state machine for ``definitions``.

    Args:
        definitions: One definition, several, or a registry; new cases follow the newest
            version of each name.
        store_factory: Makes a fresh, empty store for each run (called with no arguments);
            [`InMemoryStore`][psirf_flow.store.memory.InMemoryStore] by default. Point it at your
            own adapter to test it together with the engine.
        people: Opaque ids the actors are drawn from; keep it small (four to six) so that
            guards comparing people both pass and fail.
        organisation: The organisation owning the cases.
        max_cases: How many live cases a run keeps at most.
        plan: A plan for the engine to run under (``None``: none, the built-in
            defaults); see
            [`EngineStateMachine.plan`][psirf_flow.testing.stateful.EngineStateMachine].
        clocks: Add the clock and the sweepers as rules, with the invariants on deadlines
            and escalation tiers
            ([`ClockedEngineStateMachine`][psirf_flow.testing.stateful.ClockedEngineStateMachine]).
            Off by default: the clock then moves only between commands and nothing is swept.
        claimants: With ``clocks``, the sweepers' claimant names (one sweeper each).
        start: Where the manual clock starts (aware; ``None``:
            [`ManualClock`][psirf_flow.testing.clock.ManualClock]'s default, 2026-01-05 09:00 UTC).
            Start within the plan's dates.

    Returns:
        A [`EngineStateMachine`][psirf_flow.testing.stateful.EngineStateMachine] subclass (a
        [`ClockedEngineStateMachine`][psirf_flow.testing.stateful.ClockedEngineStateMachine] with
        ``clocks``). Run it with `hypothesis.stateful.run_state_machine_as_test` or through its
        ``TestCase``.
    """
    found = [definitions] if isinstance(definitions, WorkflowDefinition) else list(definitions)
    registry = DefinitionRegistry(found)
    make = store_factory
    base: type[EngineStateMachine] = ClockedEngineStateMachine if clocks else EngineStateMachine
    if not claimants:
        raise InvalidInput("claimants", "must name at least one sweeper")

    class Machine(base):  # type: ignore[valid-type,misc]
        def make_store(self) -> Store:
            return make() if make is not None else super().make_store()

    Machine.registry = registry
    Machine._strategies = {}
    Machine.people = tuple(people)
    Machine.organisation = organisation
    Machine.max_cases = max_cases
    Machine.plan = plan
    Machine.clock_start = start
    if issubclass(Machine, ClockedEngineStateMachine):
        Machine.claimants = tuple(claimants)
    Machine.__name__ = Machine.__qualname__ = "EngineStateMachine_" + "_".join(
        sorted({d.name for d in registry})
    )
    return Machine
