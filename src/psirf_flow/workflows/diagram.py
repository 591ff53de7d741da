"""Diagrams and reference tables generated from workflow definitions.

Everything here is a pure function of a
[`WorkflowDefinition`][psirf_flow.workflows.spec.WorkflowDefinition]: no I/O, no clock, no
logging. The documentation site calls these at build time, so the diagrams and tables
integrators read are the definitions the engine runs, never a drawing that can drift from
them.

* [`overview`][psirf_flow.workflows.diagram.overview] works out what the overview picture
  shows: the main path, the hold group, the edges between states and the recording steps
  left out of the picture.
* [`to_mermaid`][psirf_flow.workflows.diagram.to_mermaid] draws that overview as a Mermaid
  `stateDiagram-v2`, left to right.
* [`to_markdown_table`][psirf_flow.workflows.diagram.to_markdown_table] lists every
  transition with its roles, guards, payload fields and rule references, and
  [`recording_steps_markdown`][psirf_flow.workflows.diagram.recording_steps_markdown] the
  steps each state allows that keep the case where it is.
* [`opening_to_markdown`][psirf_flow.workflows.diagram.opening_to_markdown] describes how a
  case is opened.
* [`reference_markdown`][psirf_flow.workflows.diagram.reference_markdown] puts them together
  as one reference section.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Final

import attrs

from psirf_flow.workflows.guards import GuardSpec
from psirf_flow.workflows.spec import (
    PREVIOUS_STATE,
    SAME_STATE,
    FieldKind,
    FieldSpec,
    TransitionSpec,
    WorkflowDefinition,
)


__all__ = [
    "HOLD_GROUP",
    "Overview",
    "OverviewEdge",
    "diagram_digest",
    "opening_to_markdown",
    "overview",
    "recording_steps_markdown",
    "reference_markdown",
    "state_ids",
    "to_markdown_table",
    "to_mermaid",
]

HOLD_GROUP: Final = "<hold group>"
"""The end an [`OverviewEdge`][psirf_flow.workflows.diagram.OverviewEdge] names for the group
of states a case can be put on hold from (drawn as one box around them)."""

_INDENT: Final = "    "
_MERMAID_ID: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Mermaid keywords that cannot be used as bare state ids.
_RESERVED: Final = frozenset({"end", "state", "note", "direction", "class", "classDef"})
# Characters that would end or break a quoted Mermaid label.
_LABEL_UNSAFE: Final = re.compile(r'["#;:{}<>\n]')


def state_ids(states: Iterable[str]) -> dict[str, str]:
    """Give each state a distinct Mermaid-safe id: its own name whenever that is safe.

    A name that is not a plain identifier, or is a Mermaid keyword, gets an `s_` prefix
    with every other character replaced by `_`, and a numeric suffix if that id is taken.

    Args:
        states: The state names, in display order.

    Returns:
        Each name mapped to its id, in the order given.
    """
    names = list(states)
    ids: dict[str, str] = {}
    used: set[str] = {n for n in names if _MERMAID_ID.fullmatch(n) and n not in _RESERVED}
    for name in names:
        if name in used and name not in ids.values():
            ids[name] = name
            continue
        base = "s_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
        candidate, n = base, 1
        while candidate in used:
            n += 1
            candidate = f"{base}_{n}"
        used.add(candidate)
        ids[name] = candidate
    return ids


@attrs.frozen
class OverviewEdge:
    """One arrow of an overview: every step that leads from `source` to `target`.

    Attributes:
        source: A state, or [`HOLD_GROUP`][psirf_flow.workflows.diagram.HOLD_GROUP] for a
            step that may be taken from every state in the hold group.
        target: A state, or [`HOLD_GROUP`][psirf_flow.workflows.diagram.HOLD_GROUP] for a
            resume, which returns to the state the case was held from.
        triggers: The steps drawn on the arrow, in definition order.
    """

    source: str
    target: str
    triggers: tuple[str, ...]


@attrs.frozen
class Overview:
    """What the overview picture of one lifecycle shows.

    Attributes:
        main_path: The states of the main path, from the initial state to a final one.
        hold_group: The states a case can be put on hold from, in display order (empty
            when the lifecycle has no hold).
        edges: The arrows, main path first, each pair of ends once.
        recording: For each state with any, the steps that keep the case in that state
            (recording steps), which are listed in a table rather than drawn.
    """

    main_path: tuple[str, ...]
    hold_group: tuple[str, ...]
    edges: tuple[OverviewEdge, ...]
    recording: Mapping[str, tuple[str, ...]]


def _recording_steps(definition: WorkflowDefinition) -> dict[str, tuple[str, ...]]:
    """Map each state to the steps fired from it that leave the case in it."""
    found: dict[str, list[str]] = {}
    for spec in definition.transitions.values():
        if spec.dest == PREVIOUS_STATE:
            continue
        for source in spec.sources:
            if spec.dest in (SAME_STATE, source):
                found.setdefault(source, []).append(spec.trigger)
    return {state: tuple(found[state]) for state in definition.states if state in found}


def _is_forward(spec: TransitionSpec, group: frozenset[str]) -> bool:
    """Whether `spec` may be a step of the main path (not a hold, resume, exit or reopen)."""
    if spec.holds or spec.reopens or spec.dest in (SAME_STATE, PREVIOUS_STATE):
        return False
    return not (len(group) > 1 and group <= set(spec.sources))


def _main_path(definition: WorkflowDefinition, group: frozenset[str]) -> tuple[str, ...]:
    """Follow the first forward step of each state from the initial state to a final one."""
    path = [definition.initial]
    while path[-1] not in definition.final_states:
        nxt = next(
            (
                spec.dest
                for spec in definition.transitions.values()
                if path[-1] in spec.sources and _is_forward(spec, group) and spec.dest not in path
            ),
            None,
        )
        if nxt is None:
            break
        path.append(nxt)
    return tuple(path)


def overview(definition: WorkflowDefinition) -> Overview:
    """Work out the overview picture of `definition`.

    The picture is meant to be read at a glance, so it leaves out what the detail tables
    already list:

    * steps that keep the case where it is (recording steps) are not drawn; they are
      counted on their state and listed per state;
    * the states a case can be put on hold from form one group (when there are two or
      more): holding is one arrow from the group, resuming one arrow back to it (to the
      state the case was held from), and a step every state in the group allows to a
      state outside it (standing down, cancelling) one arrow too;
    * steps between the same two states share one arrow.

    The main path is found by following, from the initial state, the first step in
    definition order that leads somewhere new, until a final state.

    Args:
        definition: The workflow to draw.

    Returns:
        The overview's contents.
    """
    group_set = frozenset(definition.holdable_states)
    hold_group = tuple(s for s in definition.states if s in group_set)
    grouped = len(hold_group) > 1
    main = _main_path(definition, group_set)
    arrows: dict[tuple[str, str], list[str]] = {}

    def add(source: str, target: str, trigger: str) -> None:
        if source != target:
            arrows.setdefault((source, target), []).append(trigger)

    for a, b in itertools.pairwise(main):
        arrows[(a, b)] = []
    for spec in definition.transitions.values():
        if spec.dest == SAME_STATE:
            continue
        sources = list(spec.sources)
        # A step into the group from all of it stays one arrow per state: an arrow from a
        # box to a state inside it would not read.
        if grouped and group_set <= set(sources) and spec.dest not in group_set:
            sources = [HOLD_GROUP, *(s for s in sources if s not in group_set)]
        targets = [HOLD_GROUP] if spec.dest == PREVIOUS_STATE and grouped else None
        for source in sources:
            for target in targets or definition.destinations(spec):
                add(source, target, spec.trigger)
    edges = tuple(OverviewEdge(s, t, tuple(steps)) for (s, t), steps in arrows.items() if steps)
    return Overview(
        main_path=main,
        hold_group=hold_group if grouped else (),
        edges=edges,
        recording=_recording_steps(definition),
    )


def _label(text: str) -> str:
    """Make `text` safe inside a Mermaid label."""
    return _LABEL_UNSAFE.sub(" ", text).strip()


def _steps_label(definition: WorkflowDefinition, triggers: Iterable[str]) -> str:
    return " / ".join(_label(definition.transitions[t].name) for t in triggers)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def to_mermaid(definition: WorkflowDefinition) -> str:
    """Draw the [overview][psirf_flow.workflows.diagram.overview] of `definition` in Mermaid.

    A `stateDiagram-v2` laid out left to right: `[*]` points at the initial state, every
    final state points at `[*]`, and the main path's states are declared first so they
    line up. The hold group is a box around its
    states with one arrow to the hold state and one resume arrow back. Arrows are
    labelled with the steps' human names (`assign_lead` is "Assign lead"); a state with
    recording steps says how many, which the reference page lists. The accessible title
    and description (`accTitle`, `accDescr`) name the lifecycle and its main path.

    Args:
        definition: The workflow to draw.

    Returns:
        The diagram source, without the surrounding code fence.

    Example:
        ```python
        from psirf_flow.workflows import PSII
        from psirf_flow.workflows.diagram import to_mermaid

        print(to_mermaid(PSII))
        ```
    """
    view = overview(definition)
    ids = state_ids(definition.states)
    group_id, n = "hold_group", 1
    while group_id in ids.values():
        n += 1
        group_id = f"hold_group_{n}"
    grouped = set(view.hold_group)

    def node(state: str) -> str:
        return group_id if state == HOLD_GROUP else ids[state]

    def declare(state: str, indent: str) -> list[str]:
        ident = ids[state]
        lines = [f'{indent}state "{_label(state)}" as {ident}'] if ident != state else []
        steps = view.recording.get(state, ())
        if steps:
            # A state's first description is its title; the next is listed under it.
            if ident == state:
                lines.append(f"{indent}{ident}: {_label(state)}")
            lines.append(f"{indent}{ident}: +{_count(len(steps), 'recording step')}")
        return lines

    order = [*view.main_path, *(s for s in definition.states if s not in view.main_path)]
    lines = [
        "stateDiagram-v2",
        f"{_INDENT}direction LR",
        f"{_INDENT}accTitle: {_label(definition.title)}, {_label(definition.key)}, overview",
        f"{_INDENT}accDescr: Main path {', then '.join(_label(s) for s in view.main_path)}",
    ]
    lines.append(f"{_INDENT}[*] --> {ids[definition.initial]}")
    inner = [e for e in view.edges if e.source in grouped and e.target in grouped]
    if view.hold_group:
        lines.append(f'{_INDENT}state "Can be put on hold" as {group_id} {{')
        lines.append(f"{_INDENT * 2}direction LR")
        for state in (s for s in order if s in grouped):
            lines.extend(declare(state, _INDENT * 2))
        lines.extend(
            f"{_INDENT * 2}{ids[e.source]} --> {ids[e.target]}: "
            + _steps_label(definition, e.triggers)
            for e in inner
        )
        lines.append(f"{_INDENT}}}")
    for state in (s for s in order if s not in grouped):
        lines.extend(declare(state, _INDENT))
    for edge in view.edges:
        if edge in inner:
            continue
        label = _steps_label(definition, edge.triggers)
        if edge.target == HOLD_GROUP:
            label += " (to the state it was held from)"
        lines.append(f"{_INDENT}{node(edge.source)} --> {node(edge.target)}: {label}")
    lines.extend(
        f"{_INDENT}{ids[state]} --> [*]"
        for state in definition.states
        if state in definition.final_states
    )
    return "\n".join(lines) + "\n"


def diagram_digest(source: str) -> str:
    """The SHA-256 of a diagram's source, as hex: what a rendered picture records it was drawn from.

    Args:
        source: The Mermaid source, as [`to_mermaid`][psirf_flow.workflows.diagram.to_mermaid]
            returns it.

    Returns:
        64 lower-case hex digits.
    """
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _cell(text: str) -> str:
    """Escape `text` for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def _field(spec: FieldSpec) -> str:
    words = [f"`{spec.name}`", spec.kind.value]
    if spec.required:
        words.append("**required**")
    text = " ".join(words)
    if spec.kind is FieldKind.CHOICE:
        text += ": " + " / ".join(f"`{c}`" for c in spec.choices)
    return text


def _fields(fields: Iterable[FieldSpec]) -> str:
    return "<br>".join(_field(f) for f in fields) or "—"


def _guard_items(names: Iterable[str], registry: Mapping[str, GuardSpec]) -> list[str]:
    items = []
    for name in names:
        guard = registry.get(name)
        summary = f": {guard.summary}" if guard is not None and guard.summary else ""
        items.append(f"`{name}`{summary}")
    return items


def _guards(names: Iterable[str], registry: Mapping[str, GuardSpec]) -> str:
    return "<br>".join(_guard_items(names, registry)) or "—"


def _destination(spec: TransitionSpec) -> str:
    if spec.dest == SAME_STATE:
        return "(stays in the same state)"
    if spec.dest == PREVIOUS_STATE:
        return "(the state it was held from)"
    return f"`{spec.dest}`"


def _effects(spec: TransitionSpec) -> list[str]:
    effects: list[str] = []
    if spec.actor_fact is not None:
        effects.append(f"records the actor as `{spec.actor_fact}`")
    if spec.stamp_fact is not None:
        effects.append(f"records the date as `{spec.stamp_fact}`")
    if spec.holds:
        effects.append("remembers the state to resume to")
    if spec.reopens:
        # A recording step allowed in final states keeps the case where it is.
        effects.append(
            "may be recorded on a closed case too"
            if spec.dest == SAME_STATE
            else "reopens a closed case"
        )
    if spec.record_key is not None:
        effects.append(f"keeps one record per `{spec.record_key}`, listed in `{spec.record_index}`")
    if spec.clears:
        effects.append(f"clears {_code(spec.clears)}")
    effects.extend(f"adds `{field}` to the list `{fact}`" for field, fact in spec.collects)
    return effects


def to_markdown_table(definition: WorkflowDefinition) -> str:
    """List every transition of `definition` as a Markdown table.

    One row per trigger, in definition order, with: the trigger and what it means (and its
    effects on the case's facts), the states it may be fired from, where it leads, the
    roles that may fire it, its guards with their plain-words summaries, the payload fields
    it accepts (kind, whether required, and the allowed codes of a choice) and the rule
    references recorded in the audit entry.

    Args:
        definition: The workflow to describe.

    Returns:
        The table, as Markdown.
    """
    rows = [
        "| Trigger | From | To | Roles | Guards | Payload fields | Rules |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in definition.transitions.values():
        trigger = "<br>".join(
            [f"**`{spec.trigger}`**", *filter(None, [spec.summary]), *_effects(spec)]
        )
        cells = [
            trigger,
            _code(spec.sources),
            _destination(spec),
            _code(r.value for r in spec.roles),
            _guards(spec.guards, definition.guards),
            _fields(spec.fields),
            _code(spec.rules) or "—",
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows) + "\n"


def opening_to_markdown(definition: WorkflowDefinition) -> str:
    """Describe how a case of `definition` is opened, as a Markdown list.

    Args:
        definition: The workflow to describe.

    Returns:
        A bullet list: the initial state, who may open a case, the payload fields, the
        guards and the rule references of the opening.
    """
    opening = definition.opening
    fields = [f"    - {_field(f)}" for f in opening.fields] or ["    - none"]
    guards = [f"    - {g}" for g in _guard_items(opening.guards, definition.guards)]
    lines = [
        f"- **Starts in:** `{definition.initial}`",
        f"- **Who may open a case:** {_code(r.value for r in opening.roles)}",
        "- **Payload fields:**",
        *fields,
        "- **Guards:**" if guards else "- **Guards:** none",
        *guards,
        f"- **Rules:** {_code(opening.rules) or 'none'}",
    ]
    return "\n".join(lines) + "\n"


def recording_steps_markdown(definition: WorkflowDefinition) -> str:
    """List, per state, the steps that keep a case in that state, as a Markdown table.

    These are the recording steps the overview diagram counts on each state instead of
    drawing them; their roles, guards and fields are in
    [`to_markdown_table`][psirf_flow.workflows.diagram.to_markdown_table].

    Args:
        definition: The workflow to describe.

    Returns:
        A table with one row per state that has any, in display order, or a sentence
        saying there are none.
    """
    recording = overview(definition).recording
    if not recording:
        return "No step keeps a case in its state: every step moves it on.\n"
    rows = ["| State | Steps that keep the case there |", "| --- | --- |"]
    rows.extend(
        f"| `{_cell(state)}` | {_cell(_code(steps))} |" for state, steps in recording.items()
    )
    return "\n".join(rows) + "\n"


def _diagram_intro(definition: WorkflowDefinition) -> str:
    view = overview(definition)
    words = [
        "The main path runs left to right. Steps that keep the case where it is (recording "
        "steps) are not drawn: a state says how many it has, and they are listed under "
        "*Recording steps* below."
    ]
    if view.hold_group:
        holds = _code(s.trigger for s in definition.transitions.values() if s.holds)
        words.append(
            f"The states in the box *Can be put on hold* may be held ({holds}); resuming "
            "returns the case to the state it was held from."
        )
    return " ".join(words)


def reference_markdown(
    definition: WorkflowDefinition, *, heading_level: int = 2, diagram: str | None = None
) -> str:
    """Build the full reference section for `definition`.

    It holds the workflow's identity, its states, the overview diagram, how a case is
    opened, the transition table and the recording steps per state.

    Args:
        definition: The workflow to describe.
        heading_level: The Markdown level of the section headings (2 gives `##`).
        diagram: What to show as the diagram (the documentation site passes the rendered
            picture); by default the [overview][psirf_flow.workflows.diagram.to_mermaid]'s
            Mermaid source in a `mermaid` code fence.

    Returns:
        The section, as Markdown.
    """
    hashes = "#" * heading_level
    finals = [s for s in definition.states if s in definition.final_states]
    if diagram is None:
        diagram = "```mermaid\n" + to_mermaid(definition) + "```"
    lines = [
        f"**Workflow** `{definition.name}` · **version** `{definition.version}` · "
        f"**family** `{definition.family}` · **key** `{definition.key}`",
        "",
        f"**States:** {_code(definition.states)}. **Initial:** `{definition.initial}`. "
        f"**Final:** {_code(finals)}.",
        "",
        f"{hashes} Diagram",
        "",
        _diagram_intro(definition),
        "",
        diagram.rstrip("\n"),
        "",
        f"{hashes} Opening a case",
        "",
        opening_to_markdown(definition).rstrip("\n"),
        "",
        f"{hashes} Transitions",
        "",
        to_markdown_table(definition).rstrip("\n"),
        "",
        f"{hashes} Recording steps",
        "",
        recording_steps_markdown(definition).rstrip("\n"),
        "",
    ]
    return "\n".join(lines)
