"""A rules reference generated from workflow definitions and the national rule pack.

Pure functions, like [`psirf_flow.workflows.diagram`][psirf_flow.workflows.diagram]: no I/O, no
clock. The documentation site calls
[`rules_markdown`][psirf_flow.workflows.rules_reference.rules_markdown] at build time, so the rules
page lists exactly the rule references the engine records in audit entries.

For each rule reference (``rule_id@version``) of a workflow, the table gives:

* its level: the level recorded in the national rule pack when the id is one of its rules;
  otherwise the level is not recorded in code, and the page says so rather than guessing
  (``library design`` when no guard of the steps cites psirf-rules either);
* its source: the psirf-rules sections (``§N.N``) cited by the docstrings and summaries of
  the guards on the steps that record it, never an invented citation;
* the steps (the opening and the triggers) that record it, and their guards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from psirf_flow.policy.national import NationalRuleSet
from psirf_flow.workflows.spec import WorkflowDefinition


__all__ = [
    "LIBRARY_DESIGN",
    "NOT_RECORDED",
    "OPENING",
    "national_rules_table",
    "rule_rows",
    "rules_markdown",
    "rules_table",
]

OPENING: Final = "(opening)"
"""The step name used for rule references recorded when a case is opened."""

_SECTION: Final = re.compile(r"§\s*(\d+(?:\.\d+)*)")
LIBRARY_DESIGN: Final = "library design"
"""The level shown for a rule with no recorded level and no psirf-rules citation."""
NOT_RECORDED: Final = "not recorded in code"
"""The level shown for a rule with no recorded level whose guards cite psirf-rules."""


def _sections(text: str | None) -> set[str]:
    return {f"§{m.group(1).rstrip('.')}" for m in _SECTION.finditer(text or "")}


def _section_key(section: str) -> tuple[int, ...]:
    return tuple(int(part) for part in section[1:].split("."))


def rule_rows(
    definition: WorkflowDefinition, national: NationalRuleSet | None = None
) -> list[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]:
    """The rules ``definition`` records, one row per rule reference, sorted by reference.

    Args:
        definition: The workflow to describe.
        national: The national rule pack, whose recorded levels are used for its own ids.

    Returns:
        Rows ``(rule_ref, level, source, steps, guards)``: ``source`` is the cited
        psirf-rules sections joined by ``", "`` (empty when none is cited), ``steps`` the
        opening and triggers recording the reference in definition order, ``guards`` the
        distinct guard names on those steps in order of first appearance.
    """
    levels = {rule.id: rule.level.value for rule in (national.rules if national else ())}
    steps: dict[str, list[str]] = {}
    guards: dict[str, list[str]] = {}
    entries = [(OPENING, definition.opening.rules, definition.opening.guards)]
    entries += [(t.trigger, t.rules, t.guards) for t in definition.transitions.values()]
    for step, rules, step_guards in entries:
        for ref in rules:
            steps.setdefault(ref, []).append(step)
            known = guards.setdefault(ref, [])
            known.extend(g for g in step_guards if g not in known)
    rows = []
    for ref in sorted(steps):
        cited: set[str] = set()
        for name in guards[ref]:
            spec = definition.guards.get(name)
            if spec is not None:
                cited |= _sections(spec.summary) | _sections(spec.check.__doc__)
        source = ", ".join(sorted(cited, key=_section_key))
        rule_id = ref.split("@", 1)[0]
        level = levels.get(rule_id) or (NOT_RECORDED if cited else LIBRARY_DESIGN)
        rows.append((ref, level, source, tuple(steps[ref]), tuple(guards[ref])))
    return rows


def _cell(values: Iterable[str]) -> str:
    return "<br>".join(f"`{v}`" for v in values) or "—"


def rules_table(definition: WorkflowDefinition, national: NationalRuleSet | None = None) -> str:
    """The rules of one workflow as a Markdown table (see `rule_rows`)."""
    lines = [
        "| Rule | Level | Source (psirf-rules, as its guards cite it) | Steps | Guards |",
        "| --- | --- | --- | --- | --- |",
    ]
    for ref, level, source, steps, guards in rule_rows(definition, national):
        lines.append(f"| `{ref}` | {level} | {source or '—'} | {_cell(steps)} | {_cell(guards)} |")
    return "\n".join(lines)


def national_rules_table(national: NationalRuleSet) -> str:
    """The national rule pack as a Markdown table: reference, level, section and sources."""
    lines = [
        "| Rule | Level | Section (psirf-rules) | Primary sources | Requires |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in national.rules:
        sources = ", ".join(rule.sources) or "—"
        lines.append(
            f"| `{rule.ref}` | {rule.level.value} | {rule.section or '—'} | {sources} "
            f"| `{rule.response.value}` |"
        )
    return "\n".join(lines)


def rules_markdown(
    definitions: Iterable[WorkflowDefinition],
    national: NationalRuleSet | None = None,
    *,
    heading_level: int = 2,
) -> str:
    """The whole rules reference: the national pack, then one table per workflow.

    Args:
        definitions: The workflows to describe; the newest version of each name is used,
            in order of first appearance.
        national: The national rule pack, listed first when given.
        heading_level: The Markdown heading level of each section.

    Returns:
        The reference, as Markdown.
    """
    newest: dict[str, WorkflowDefinition] = {}
    for definition in definitions:
        newest[definition.name] = definition
    hashes = "#" * heading_level
    parts = []
    if national is not None:
        parts += [f"{hashes} National rule pack", national_rules_table(national)]
    for definition in newest.values():
        parts += [
            f"{hashes} {definition.title} (`{definition.key}`)",
            rules_table(definition, national),
        ]
    return "\n\n".join(parts) + "\n"
