"""The workload every benchmark shares: a realistic PSII life, and the anchors' machines.

The PSII path opens a case and takes it through one full life (assign the lead, terms of
reference, engagement, a hold and resume, analysis, a draft, the five review records, a
request for approval, a rework loop, a second review, approval, sharing and closure, then a
reopen and a third review): :data:`PSII_PATH` lists the 37 steps after opening. Persisted
runs keep cycling :data:`REOPEN_LOOP` (reopen, then back to closed) once a case has closed.

The anchors are compiled from the *same* definition (:data:`psirf_flow.workflows.PSII`):
the same states, the same triggers with the same sources and destinations, recording steps
as internal transitions, ``resume`` as one candidate per holdable state conditioned on the
state the case was held from, and ``hold`` remembering that state. They carry no other
guards, no audit and no versioning: they are the bare machines.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from psirf_flow import Actor, Engine, InMemoryStore, Role, SystemClock
from psirf_flow.ports import Store
from psirf_flow.workflows import PREVIOUS_STATE, PSII, SAME_STATE, WorkflowDefinition


ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
ENGAGEMENT = Actor("eng-1", [Role.ENGAGEMENT_LEAD], ORG)
PEER = Actor("peer-1", [Role.PEER_REVIEWER], ORG)
SENIOR = Actor("senior-1", [Role.SENIOR_LEADER], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)

OPEN_PAYLOAD: Mapping[str, object] = {
    "incident_ids": ["INC-1"],
    "involved_staff_ids": ["staff-7", "staff-9"],
    "basis": "national_requirement",
}

Step = tuple[str, Actor, Mapping[str, object]]

_REVIEW: tuple[Step, ...] = (
    ("record_peer_review", PEER, {"peer_review_ref": "PR-1"}),
    ("record_expert_input", LEAD, {"expert_input": "panel", "expert_ids": ["exp-1", "exp-2"]}),
    ("record_staff_accuracy_check", LEAD, {"staff_accuracy_check": "confirmed"}),
    (
        "record_family_draft_response",
        ENGAGEMENT,
        {"family_draft_response": "commented", "note": "family asked for a meeting"},
    ),
    ("agree_findings", SENIOR, {}),
)

#: One full life of a PSII after it is opened: 30 accepted commands, ending closed.
PSII_PATH: tuple[Step, ...] = (
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
    ("submit_draft", LEAD, {"draft_ref": "DRAFT-1"}),
    *_REVIEW,
    ("request_approval", LEAD, {}),
    ("return_for_rework", EXEC, {"rework_reason": "factual_gaps"}),
    ("submit_draft", LEAD, {"draft_ref": "DRAFT-2"}),
    *_REVIEW,
    ("request_approval", LEAD, {}),
    ("approve", EXEC, {"report_ref": "REP-1"}),
    ("share", ENGAGEMENT, {"family_sharing": "shared", "shared_with_staff": True}),
    ("close", PSS, {"safety_action_ids": ["SA-1"]}),
    ("reopen", EXEC, {"new_information_ref": "NEW-1", "reopen_reason": "inquest"}),
    ("complete_analysis", LEAD, {}),
    ("submit_draft", LEAD, {"draft_ref": "DRAFT-3"}),
    *_REVIEW,
    ("request_approval", LEAD, {}),
    ("approve", EXEC, {"report_ref": "REP-2"}),
    ("share", ENGAGEMENT, {"family_sharing": "shared", "shared_with_staff": True}),
    ("close", PSS, {"no_actions_rationale": "no_new_learning"}),
)
#: The part of :data:`PSII_PATH` a closed case cycles through for ever (reopen ... close).
REOPEN_LOOP: tuple[Step, ...] = PSII_PATH[[s[0] for s in PSII_PATH].index("reopen") :]
PATH_TRIGGERS: tuple[str, ...] = tuple(s[0] for s in PSII_PATH)


def step_for(k: int) -> Step:
    """The ``k``-th command (0-based) in the endless life of one case."""
    if k < len(PSII_PATH):
        return PSII_PATH[k]
    return REOPEN_LOOP[(k - len(PSII_PATH)) % len(REOPEN_LOOP)]


@contextlib.contextmanager
def quiet_logging() -> Iterator[None]:
    """Let only warnings through psirf_flow's logger for the duration, then restore its level.

    psirf_flow prints nothing unless the host configures logging, but a host that logs
    at INFO would have every event built: benchmarks run as a host that logs warnings only.
    """
    import logging

    logger = logging.getLogger("psirf_flow")
    saved = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(saved)


def sequential_ids(prefix: str = "case") -> Callable[[], str]:
    """Case ids that sort in creation order (``case-00000001`` ...)."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter):08d}"


def new_engine(store: Store | None = None, **kwargs: Any) -> Engine:
    """An engine over ``store`` (a fresh :class:`InMemoryStore` by default), wall clock."""
    return Engine(store if store is not None else InMemoryStore(), clock=SystemClock(), **kwargs)


def open_cases(engine: Engine, n: int) -> list[str]:
    """Open ``n`` PSII cases and return their ids."""
    return [engine.open("psii", actor=PSS, payload=OPEN_PAYLOAD).case.id for _ in range(n)]


# ------------------------------------------------------------------ transitions anchor


class Token:
    """The trivial model a bare machine moves: a state and where it was held from."""

    __slots__ = ("held_from", "state")

    def __init__(self, state: str) -> None:
        self.state = state
        self.held_from: str | None = None


class PlainModel:
    """A trivial model with a ``__dict__`` (``add_model`` binds triggers onto it)."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.held_from: str | None = None


def _remember_hold(event: Any) -> None:
    event.model.held_from = event.model.state


def _held_from(target: str) -> Callable[[Any], bool]:
    def check(event: Any) -> bool:
        return bool(event.model.held_from == target)

    return check


def transitions_spec(definition: WorkflowDefinition = PSII) -> list[dict[str, Any]]:
    """The definition's transitions in ``transitions``' dict form (no guards)."""
    found: list[dict[str, Any]] = []
    for spec in definition.transitions.values():
        if spec.dest == PREVIOUS_STATE:
            found.extend(
                {
                    "trigger": spec.trigger,
                    "source": list(spec.sources),
                    "dest": target,
                    "conditions": [_held_from(target)],
                }
                for target in definition.holdable_states
            )
            continue
        item: dict[str, Any] = {
            "trigger": spec.trigger,
            "source": list(spec.sources),
            "dest": None if spec.dest == SAME_STATE else spec.dest,
        }
        if spec.holds:
            item["before"] = [_remember_hold]
        found.append(item)
    return found


def transitions_machine(definition: WorkflowDefinition = PSII, *, model: Any = None) -> Any:
    """A bare ``transitions.Machine`` for ``definition`` (``auto_transitions=False``)."""
    from transitions import Machine

    return Machine(
        model=model,
        states=list(definition.states),
        initial=definition.initial,
        transitions=transitions_spec(definition),
        auto_transitions=False,
        send_event=True,
        model_attribute="state",
    )


# ------------------------------------------------------------ python-statemachine anchor


def statemachine_version() -> str | None:
    """The installed python-statemachine version, or ``None`` when it is not installed."""
    try:
        import statemachine
    except ImportError:
        return None
    return str(statemachine.__version__)


def _psm_remember(model: Any, source: Any) -> None:
    model.held_from = source.value


def _psm_held_from(target: str) -> Callable[..., bool]:
    def check(model: Any) -> bool:
        return bool(model.held_from == target)

    return check


def statemachine_class(definition: WorkflowDefinition = PSII) -> type:
    """A python-statemachine ``StateMachine`` subclass for ``definition``."""
    from statemachine import State, StateMachine

    final = set(definition.final_states) - {
        s for spec in definition.transitions.values() for s in spec.sources
    }
    states = {
        name: State(name, value=name, initial=name == definition.initial, final=name in final)
        for name in definition.states
    }
    events: dict[str, Any] = {}
    for spec in definition.transitions.values():
        for source in spec.sources:
            if spec.dest == PREVIOUS_STATE:
                for target in definition.holdable_states:
                    _add(
                        events,
                        spec.trigger,
                        states[source].to(states[target], cond=_psm_held_from(target)),
                    )
            elif spec.dest == SAME_STATE:
                _add(events, spec.trigger, states[source].to.itself(internal=True))
            else:
                kwargs = {"on": _psm_remember} if spec.holds else {}
                _add(events, spec.trigger, states[source].to(states[spec.dest], **kwargs))
    namespace: dict[str, Any] = {**states, **events}
    return type("PsiiStateMachine", (StateMachine,), namespace)


def _add(events: dict[str, Any], trigger: str, transitions: Any) -> None:
    events[trigger] = transitions if trigger not in events else events[trigger] | transitions
