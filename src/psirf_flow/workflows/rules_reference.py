"""The rules reference page, generated from the rule catalogue, the definitions and the rule pack.

Pure functions, like [`diagram`][psirf_flow.workflows.diagram]: no I/O, no clock. The
documentation site calls [`rules_markdown`][psirf_flow.workflows.rules_reference.rules_markdown]
at build time, so the page lists exactly the rules the code encodes:

* the [rule catalogue][psirf_flow.workflows.rules.RULES], one table per group: each rule
  with an anchor equal to its id (the target of its guards' `Rule:` links), its level, how
  sure the source is, its source, and what enforces it (guards with the workflows that run
  them, plan settings linked to the plan file format, deadline kinds, the engine);
* the national rule pack, with the level recorded in the pack;
* per workflow, each rule reference (`rule_id@version`) its steps record in audit entries,
  with the steps, their guards and the catalogue rules those guards enforce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from psirf_flow.policy.national import NationalRuleSet
from psirf_flow.policy.national import RuleLevel as PackLevel
from psirf_flow.workflows.rules import GROUPS, RULES, Rule, RuleLevel, rules_enforced_by_guard
from psirf_flow.workflows.spec import WorkflowDefinition


__all__ = [
    "OPENING",
    "PACK_LEVELS",
    "catalogue_markdown",
    "national_rules_table",
    "plan_setting_link",
    "rule_rows",
    "rules_markdown",
    "rules_table",
]

OPENING: Final = "(opening)"
"""The step name used for rule references recorded when a case is opened."""

PLAN_FORMAT_PAGE: Final = "plan-format.md"
"""The plan file format page, relative to the rules page."""
WORKFLOW_PAGE: Final = "workflows/{name}.md"
"""A workflow's reference page, relative to the rules page."""

PACK_LEVELS: Final[Mapping[PackLevel, RuleLevel]] = {
    PackLevel.HARD: RuleLevel.NATIONAL_REQUIREMENT,
    PackLevel.NATIONAL_GUIDANCE: RuleLevel.NATIONAL_GUIDANCE,
    PackLevel.LOCAL: RuleLevel.LOCAL_PLAN_SETTING,
    PackLevel.INFERRED: RuleLevel.LIBRARY_DESIGN,
}
"""The catalogue level each national rule pack level is shown as (the pack's code beside it)."""

# The plan-format page's section anchors that are not the top-level key itself (the
# headings show the table's key placeholder, which the anchor keeps without punctuation).
_PLAN_ANCHORS: Final[Mapping[str, str]] = {
    "response_types": "response_typesname",
    "committees": "committeesid",
    "referral_bodies": "referral_bodiesid",
    "escalation_ladders": "escalation_laddersname",
    "facts": "factsname",
}


def plan_setting_link(setting: str) -> str:
    """A Markdown link from the rules page to the plan-format section of `setting`.

    Args:
        setting: A dotted plan-file key, such as `"duty_of_candour.verbal_working_days"`.

    Returns:
        The key in code, linked to the section of the plan file format that describes it.
    """
    top = setting.split(".", 1)[0]
    return f"[`{setting}`]({PLAN_FORMAT_PAGE}#{_PLAN_ANCHORS.get(top, top)})"


def _guard_users(definitions: Sequence[WorkflowDefinition]) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for definition in definitions:
        guards = [*definition.opening.guards]
        guards += [g for spec in definition.transitions.values() for g in spec.guards]
        for name in dict.fromkeys(guards):
            users.setdefault(name, []).append(definition.name)
    return users


def _enforced_by(rule: Rule, users: Mapping[str, Sequence[str]]) -> str:
    workflows = dict.fromkeys(name for guard in rule.guards for name in users.get(guard, ()))
    parts = []
    if rule.guards:
        parts.append("**Guards:** " + ", ".join(f"`{guard}`" for guard in rule.guards))
    if workflows:
        parts.append(
            "**In:** "
            + ", ".join(f"[{name}]({WORKFLOW_PAGE.format(name=name)})" for name in workflows)
        )
    if rule.plan_settings:
        parts.append("**Plan:** " + ", ".join(plan_setting_link(s) for s in rule.plan_settings))
    if rule.schedule_kinds:
        parts.append("**Deadlines:** " + ", ".join(f"`{k}`" for k in rule.schedule_kinds))
    if rule.engine:
        parts.append(f"**Engine:** {rule.engine}")
    if rule.caveat:
        parts.append(f"**Note:** {rule.caveat}")
    return "<br>".join(parts) or "—"


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def catalogue_markdown(
    definitions: Iterable[WorkflowDefinition] = (),
    *,
    rules: Sequence[Rule] = RULES,
    heading_level: int = 2,
) -> str:
    """The rule catalogue as Markdown: one section and table per group.

    Args:
        definitions: The workflows whose guards are linked to their reference pages.
        rules: The rules to show (the whole catalogue by default).
        heading_level: The Markdown heading level of each group.

    Returns:
        The catalogue, as Markdown; each rule's row starts with an anchor equal to its id.
    """
    users = _guard_users(list(definitions))
    hashes = "#" * heading_level
    parts = []
    for key, title in GROUPS.items():
        group = [rule for rule in rules if rule.group == key]
        if not group:
            continue
        lines = [
            "| Rule | Level | How sure | Source | Enforced by |",
            "| --- | --- | --- | --- | --- |",
        ]
        for rule in group:
            lines.append(
                f"| [](){{#{rule.id}}}**{_escape(rule.title)}**<br>`{rule.id}` "
                f"| {rule.level.value} | {rule.verified.value} "
                f"| psirf-rules {rule.section}<br>{_escape(rule.source)} "
                f"| {_escape(_enforced_by(rule, users))} |"
            )
        parts += [f"{hashes} {title}", "\n".join(lines)]
    return "\n\n".join(parts)


def rule_rows(
    definition: WorkflowDefinition,
) -> list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]]:
    """The rule references `definition` records, one row per reference, sorted by reference.

    Args:
        definition: The workflow to describe.

    Returns:
        Rows `(rule_ref, steps, guards, rule_ids)`: `steps` are the opening and triggers
        recording the reference in definition order, `guards` the distinct guard names on
        those steps in order of first appearance, and `rule_ids` the catalogue rules those
        guards enforce, in catalogue order.
    """
    steps: dict[str, list[str]] = {}
    guards: dict[str, list[str]] = {}
    entries = [(OPENING, definition.opening.rules, definition.opening.guards)]
    entries += [(t.trigger, t.rules, t.guards) for t in definition.transitions.values()]
    for step, refs, step_guards in entries:
        for ref in refs:
            steps.setdefault(ref, []).append(step)
            known = guards.setdefault(ref, [])
            known.extend(g for g in step_guards if g not in known)
    rows = []
    for ref in sorted(steps):
        enforced = {rule.id for g in guards[ref] for rule in rules_enforced_by_guard(g)}
        rule_ids = tuple(rule.id for rule in RULES if rule.id in enforced)
        rows.append((ref, tuple(steps[ref]), tuple(guards[ref]), rule_ids))
    return rows


def _cell(values: Iterable[str]) -> str:
    return "<br>".join(f"`{v}`" for v in values) or "—"


def rules_table(definition: WorkflowDefinition) -> str:
    """The rule references of one workflow as a Markdown table (see `rule_rows`)."""
    lines = [
        "| Rule reference | Steps | Guards | Catalogue rules |",
        "| --- | --- | --- | --- |",
    ]
    for ref, steps, guards, rule_ids in rule_rows(definition):
        linked = "<br>".join(f"[`{rule_id}`](#{rule_id})" for rule_id in rule_ids) or "—"
        lines.append(f"| `{ref}` | {_cell(steps)} | {_cell(guards)} | {linked} |")
    return "\n".join(lines)


def national_rules_table(national: NationalRuleSet) -> str:
    """The national rule pack as a Markdown table: reference, level, section and sources.

    The level is shown as the catalogue's (see `PACK_LEVELS`), with the pack's own code.
    """
    lines = [
        "| Rule | Level (pack code) | Section (psirf-rules) | Primary sources | Requires |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rule in national.rules:
        sources = ", ".join(rule.sources) or "—"
        level = f"{PACK_LEVELS[rule.level].value} (`{rule.level.value}`)"
        lines.append(
            f"| `{rule.ref}` | {level} | {rule.section or '—'} | {sources} "
            f"| `{rule.response.value}` |"
        )
    return "\n".join(lines)


def rules_markdown(
    definitions: Iterable[WorkflowDefinition],
    national: NationalRuleSet | None = None,
    *,
    heading_level: int = 2,
) -> str:
    """The whole rules reference: the catalogue, the national pack, then each workflow's rules.

    Args:
        definitions: The workflows to describe; the newest version of each name is used,
            in order of first appearance.
        national: The national rule pack, listed after the catalogue when given.
        heading_level: The Markdown heading level of each section.

    Returns:
        The reference, as Markdown.
    """
    newest: dict[str, WorkflowDefinition] = {}
    for definition in definitions:
        newest[definition.name] = definition
    hashes = "#" * heading_level
    parts = [catalogue_markdown(newest.values(), heading_level=heading_level)]
    if national is not None:
        parts += [f"{hashes} National rule pack", national_rules_table(national)]
    parts.append(f"{hashes} Rule references recorded in audit entries")
    for definition in newest.values():
        parts += [
            f"{hashes}# {definition.title} (`{definition.key}`)",
            rules_table(definition),
        ]
    return "\n\n".join(parts) + "\n"
