"""Diagrams and reference tables generated from workflow definitions.

Everything here is a pure function of a
[`WorkflowDefinition`][psirf_flow.workflows.spec.WorkflowDefinition]: no I/O, no clock, no logging.
The documentation site calls these at build time, so the diagrams and tables integrators read are
the definitions the engine runs, never a drawing that can drift from them.

* [`to_mermaid`][psirf_flow.workflows.diagram.to_mermaid] draws a Mermaid ``stateDiagram-v2``.
* [`to_markdown_table`][psirf_flow.workflows.diagram.to_markdown_table] lists every transition with
  its roles, guards, payload fields and rule references.
* [`opening_to_markdown`][psirf_flow.workflows.diagram.opening_to_markdown] describes how a case is
  opened.
* [`reference_markdown`][psirf_flow.workflows.diagram.reference_markdown] puts the three together as
  one reference section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

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
    "opening_to_markdown",
    "reference_markdown",
    "state_ids",
    "to_markdown_table",
    "to_mermaid",
]

_INDENT: Final = "    "
_MERMAID_ID: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Mermaid keywords that cannot be used as bare state ids.
_RESERVED: Final = frozenset({"end", "state", "note", "direction", "class", "classDef"})


def state_ids(states: Iterable[str]) -> dict[str, str]:
    """Give each state a distinct Mermaid-safe id: its own name whenever that is safe.

    A name that is not a plain identifier, or is a Mermaid keyword, gets an ``s_`` prefix
    with every other character replaced by ``_``, and a numeric suffix if that id is taken.
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


def _recording_steps(definition: WorkflowDefinition) -> dict[str, list[str]]:
    """Map each state to the recording steps (``SAME_STATE``) that may be fired from it."""
    found: dict[str, list[str]] = {}
    for spec in definition.transitions.values():
        if spec.dest == SAME_STATE:
            for source in spec.sources:
                found.setdefault(source, []).append(spec.trigger)
    return found


def to_mermaid(definition: WorkflowDefinition) -> str:
    """Draw ``definition`` as a Mermaid ``stateDiagram-v2``.

    The diagram starts with ``[*] --> initial`` and ends every final state with
    ``--> [*]``. Each state-changing transition is one arrow per source state, labelled
    with its trigger. Recording steps (destination ``SAME_STATE``) are grouped into one
    self-loop per state whose label lists them all, which keeps the picture readable. A
    resume (destination ``PREVIOUS_STATE``) is drawn from the hold state back to every
    state a case can be held from.

    Args:
        definition: The workflow to draw.

    Returns:
        The diagram source, without the surrounding code fence.
    """
    ids = state_ids(definition.states)
    lines = ["stateDiagram-v2"]
    lines.extend(
        f'{_INDENT}state "{state}" as {ident}' for state, ident in ids.items() if ident != state
    )
    lines.append(f"{_INDENT}[*] --> {ids[definition.initial]}")
    for spec in definition.transitions.values():
        if spec.dest == SAME_STATE:
            continue
        targets = definition.destinations(spec)
        for source in spec.sources:
            for target in targets:
                lines.append(f"{_INDENT}{ids[source]} --> {ids[target]}: {spec.trigger}")
    recording = _recording_steps(definition)
    for state in definition.states:
        triggers = recording.get(state)
        if triggers:
            lines.append(f"{_INDENT}{ids[state]} --> {ids[state]}: {', '.join(triggers)}")
    lines.extend(
        f"{_INDENT}{ids[state]} --> [*]"
        for state in definition.states
        if state in definition.final_states
    )
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Escape ``text`` for a Markdown table cell."""
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
    """List every transition of ``definition`` as a Markdown table.

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
    """Describe how a case of ``definition`` is opened, as a Markdown list.

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


def reference_markdown(definition: WorkflowDefinition, *, heading_level: int = 2) -> str:
    """Build the full reference section for ``definition``.

    It holds the workflow's identity, its states, the diagram (in a ``mermaid`` code
    fence), how a case is opened and the transition table.

    Args:
        definition: The workflow to describe.
        heading_level: The Markdown level of the section headings (2 gives ``##``).

    Returns:
        The section, as Markdown.
    """
    hashes = "#" * heading_level
    finals = [s for s in definition.states if s in definition.final_states]
    lines = [
        f"**Workflow** `{definition.name}` · **version** `{definition.version}` · "
        f"**family** `{definition.family}` · **key** `{definition.key}`",
        "",
        f"**States:** {_code(definition.states)}. **Initial:** `{definition.initial}`. "
        f"**Final:** {_code(finals)}.",
        "",
        f"{hashes} Diagram",
        "",
        "Recording steps keep the case where it is; they are grouped into one loop per "
        "state. A resume returns to the state the case was held from.",
        "",
        "```mermaid",
        to_mermaid(definition).rstrip("\n"),
        "```",
        "",
        f"{hashes} Opening a case",
        "",
        opening_to_markdown(definition).rstrip("\n"),
        "",
        f"{hashes} Transitions",
        "",
        to_markdown_table(definition).rstrip("\n"),
        "",
    ]
    return "\n".join(lines)
