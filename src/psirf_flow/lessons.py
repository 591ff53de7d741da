"""The raw material of a lessons-learned bulletin: learning responses closed in a period.

A read-only query over cases, for the patient safety team that writes up what was learnt
(psirf-rules §2: the learning response types; §6 stages 8 to 10: approval, sharing and
closure; §9.1: the learning-response machine; §9.2: safety actions, each linked to the
responses and areas for improvement it answers). For each learning response closed
between two Europe/London dates it lists its response type, the references recorded on
it at approval and closure (the report, the sign-off meeting, the safety action ids or
the coded reason there are none) and the safety actions linked to it with their current
state and the areas for improvement they answer.

A safety action is linked to a response when its ``learning_response_ids`` fact names the
response, or when the response's closure recorded the action's id in
``safety_action_ids``. Records hold ids, codes, references and dates only: never names
or free text. Every read names its reader; the engine's access rules decide which
organisations' cases it sees (psirf-rules §9.4).

Each query reads at most [`MOST_CASES`][psirf_flow.lessons.MOST_CASES] cases of each kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Final

import attrs

from psirf_flow import _inputs
from psirf_flow.domain import Case, FactValue, Reader
from psirf_flow.engine import Engine
from psirf_flow.errors import CaseNotFound, InvalidInput
from psirf_flow.policy.timing import local_date
from psirf_flow.ports import CaseQuery


__all__ = [
    "CLOSED_STATE",
    "LEARNING_FAMILY",
    "MOST_CASES",
    "SAFETY_ACTION_WORKFLOW",
    "UNREADABLE",
    "LessonItem",
    "LinkedAction",
    "closed_responses",
]

LEARNING_FAMILY: Final = "learning_response"
"""The workflow family of the learning responses (psirf-rules §2)."""
CLOSED_STATE: Final = "closed"
"""The state a learning response ends in (psirf-rules §9.1)."""
SAFETY_ACTION_WORKFLOW: Final = "safety_action"
"""The workflow of a safety action (psirf-rules §9.2)."""
MOST_CASES: Final = 100_000
"""The most cases one query reads of each kind (closed responses, safety actions)."""

_PAGE: Final = 500
UNREADABLE: Final = "unreadable"
"""The reason a linked action could not be read (no such case, or not the reader's to see)."""


@attrs.frozen(kw_only=True)
class LinkedAction:
    """A safety action linked to a closed learning response.

    Attributes:
        case_id: The safety action's case id.
        state: Its current state (``closed_effective``, ``in_progress``, ...), or
            ``"unreadable"`` when the response names an action the reader cannot read.
        due_on: Its due date, when one is recorded.
        area_for_improvement_ids: The areas for improvement it answers.
    """

    case_id: str
    state: str
    due_on: date | None
    area_for_improvement_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class LessonItem:
    """A learning response closed in the period, with what it recorded and its actions.

    Attributes:
        case_id: The learning response's case id.
        organisation: Its organisation.
        workflow: Its workflow name (``psii``, ``after_action_review``, ...).
        response_type: The response type recorded at opening, else the workflow name.
        closed_on: The Europe/London date it was (last) closed.
        report_ref: The reference of the approved report, if recorded.
        meeting_ref: The reference of the sign-off meeting, if recorded.
        safety_action_ids: The safety action ids recorded at closure.
        no_actions_rationale: The coded reason recorded at closure for having no actions.
        area_for_improvement_ids: Every area for improvement its linked actions answer.
        actions: Its linked safety actions, by case id.
    """

    case_id: str
    organisation: str
    workflow: str
    response_type: str
    closed_on: date
    report_ref: str | None
    meeting_ref: str | None
    safety_action_ids: tuple[str, ...]
    no_actions_rationale: str | None
    area_for_improvement_ids: tuple[str, ...]
    actions: tuple[LinkedAction, ...]


def closed_responses(
    engine: Engine,
    *,
    reader: Reader,
    since: date,
    until: date,
    organisation: str | Iterable[str] | None = None,
) -> tuple[LessonItem, ...]:
    """The learning responses closed from ``since`` to ``until`` (inclusive), oldest first.

    Args:
        engine: The engine whose store is read.
        reader: Who reads; only cases they may see are listed.
        since: The first Europe/London date of the period.
        until: The last Europe/London date of the period (not before ``since``).
        organisation: Only these organisations' cases (a code or a collection of codes).

    Returns:
        One item per response, ordered by closing date then case id.

    Raises:
        InvalidInput: If an argument is not of the kind described.
    """
    if not isinstance(engine, Engine):
        raise InvalidInput("engine", f"must be an Engine, got {type(engine).__name__}")
    reader = _inputs.reader(reader)
    first = _date("since", since)
    last = _date("until", until)
    if last < first:
        raise InvalidInput("until", "must not be before since")
    codes = _inputs.organisations(organisation)
    actions = _actions_by_response(engine, reader, codes)
    items: list[LessonItem] = []
    for name in sorted({d.name for d in engine.definitions if d.family == LEARNING_FAMILY}):
        query = CaseQuery(workflow=name, state=CLOSED_STATE, organisations=codes, limit=_PAGE)
        for case in _cases(engine, reader, query):
            closed_on = _closed_on(engine, reader, case)
            if closed_on is None or not first <= closed_on <= last:
                continue
            linked = actions.get(case.id, {})
            items.append(
                _item(engine, reader, case, closed_on=closed_on, linked=linked, codes=codes)
            )
    return tuple(sorted(items, key=lambda item: (item.closed_on, item.case_id)))


def _date(argument: str, value: object) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(argument, "must be a date (not a date and time)")
    return value


def _cases(engine: Engine, reader: Reader, query: CaseQuery) -> Iterator[Case]:
    read = 0
    while read < MOST_CASES:
        page = engine.list_cases(query, reader=reader)
        yield from page.items[: MOST_CASES - read]
        read += len(page.items)
        if page.next_after is None:
            return
        query = attrs.evolve(query, after=page.next_after)


def _ids(value: FactValue | None) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list):
        return tuple(str(item) for item in value)
    return ()


def _text(value: FactValue | None) -> str | None:
    return value if isinstance(value, str) else None


def _action(case: Case) -> LinkedAction:
    due = case.facts.get("due_on")
    return LinkedAction(
        case_id=case.id,
        state=case.state,
        due_on=date.fromisoformat(due) if isinstance(due, str) else None,
        area_for_improvement_ids=_ids(case.facts.get("area_for_improvement_ids")),
    )


def _actions_by_response(
    engine: Engine, reader: Reader, codes: frozenset[str] | None
) -> dict[str, dict[str, LinkedAction]]:
    """Every readable safety action, keyed by each response it names, then by its id."""
    found: dict[str, dict[str, LinkedAction]] = {}
    query = CaseQuery(workflow=SAFETY_ACTION_WORKFLOW, organisations=codes, limit=_PAGE)
    for case in _cases(engine, reader, query):
        action = _action(case)
        for response_id in _ids(case.facts.get("learning_response_ids")):
            found.setdefault(response_id, {})[case.id] = action
    return found


def _closed_on(engine: Engine, reader: Reader, case: Case) -> date | None:
    """The local date of the step that last moved ``case`` into the closed state."""
    for entry in reversed(engine.history(case.id, reader=reader)):
        if entry.to_state == CLOSED_STATE and entry.from_state != CLOSED_STATE:
            return local_date(entry.recorded_at)
    return None


def _item(
    engine: Engine,
    reader: Reader,
    case: Case,
    *,
    closed_on: date,
    linked: Mapping[str, LinkedAction],
    codes: frozenset[str] | None,
) -> LessonItem:
    named = _ids(case.facts.get("safety_action_ids"))
    actions = dict(linked)
    for action_id in named:
        if action_id not in actions:
            actions[action_id] = _named_action(engine, reader, action_id, codes)
    ordered = tuple(actions[key] for key in sorted(actions))
    areas = sorted({area for action in ordered for area in action.area_for_improvement_ids})
    return LessonItem(
        case_id=case.id,
        organisation=case.organisation,
        workflow=case.workflow,
        response_type=_text(case.facts.get("response_type")) or case.workflow,
        closed_on=closed_on,
        report_ref=_text(case.facts.get("report_ref")),
        meeting_ref=_text(case.facts.get("meeting_ref")),
        safety_action_ids=named,
        no_actions_rationale=_text(case.facts.get("no_actions_rationale")),
        area_for_improvement_ids=tuple(areas),
        actions=ordered,
    )


def _named_action(
    engine: Engine, reader: Reader, action_id: str, codes: frozenset[str] | None
) -> LinkedAction:
    """An action the closure names but which does not name the response back.

    One outside the organisations asked for is reported as unreadable, like one the reader
    may not see.
    """
    try:
        case = engine.get(action_id, reader=reader)
    except (CaseNotFound, InvalidInput):
        case = None
    if (
        case is None
        or case.workflow != SAFETY_ACTION_WORKFLOW
        or (codes is not None and case.organisation not in codes)
    ):
        return LinkedAction(
            case_id=action_id, state=UNREADABLE, due_on=None, area_for_improvement_ids=()
        )
    return _action(case)
