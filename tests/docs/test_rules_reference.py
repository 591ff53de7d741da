"""The generated rules reference lists every catalogue rule and every rule the workflows record."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mkdocs.structure.files import Files

from psirf_flow.policy.national import RuleLevel as PackLevel
from psirf_flow.policy.national import load_national_rules
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.rules import GROUPS, RULES, Rule, RuleLevel, rules_enforced_by_guard
from psirf_flow.workflows.rules_reference import (
    OPENING,
    PACK_LEVELS,
    catalogue_markdown,
    plan_setting_link,
    rule_rows,
    rules_markdown,
)
from psirf_flow.workflows.spec import WorkflowDefinition


DOCS = Path(__file__).resolve().parents[2] / "docs"
REGISTRY = DefinitionRegistry.default()
NEWEST = [d for d in REGISTRY if REGISTRY.latest(d.name) is d]
NATIONAL = load_national_rules()


def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("psirf_flow_rules_hooks", DOCS / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _generated_page() -> str:
    hooks = _load_hooks()
    page: Any = SimpleNamespace(file=SimpleNamespace(src_uri="reference/rules.md"))
    text = (DOCS / "reference" / "rules.md").read_text(encoding="utf-8")
    result: str = hooks.on_page_markdown(text, page, {}, Files([]))
    return result


PAGE = _generated_page()


def _row(rule: Rule) -> str:
    start = PAGE.index(f"[](){{#{rule.id}}}")
    return PAGE[start : PAGE.index("\n", start)]


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_page_gives_each_rule_an_anchor_level_mark_and_source(rule: Rule) -> None:
    """Each catalogue rule has one row, anchored at its id, with level, mark and source."""
    row = _row(rule)

    assert PAGE.count(f"{{#{rule.id}}}") == 1
    assert f"| {rule.level.value} | {rule.verified.value} |" in row
    assert f"psirf-rules {rule.section}" in row


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
def test_page_row_names_everything_that_enforces_the_rule(rule: Rule) -> None:
    """The row lists the rule's guards, plan settings (linked) and deadline kinds."""
    row = _row(rule)

    assert [g for g in rule.guards if f"`{g}`" not in row] == []
    assert [s for s in rule.plan_settings if plan_setting_link(s) not in row] == []
    assert [k for k in rule.schedule_kinds if f"`{k}`" not in row] == []
    assert (rule.caveat in row) if rule.caveat else "**Note:**" not in row


def test_rules_appear_under_their_group_in_catalogue_order() -> None:
    """Each group has one heading and its rules follow it in catalogue order."""
    positions = [PAGE.index(f"{{#{rule.id}}}") for rule in RULES]
    headings = {key: PAGE.index(f"\n## {title}\n") for key, title in GROUPS.items()}
    keys = list(GROUPS)

    for rule, position in zip(RULES, positions, strict=True):
        start = headings[rule.group]
        later = [headings[k] for k in keys[keys.index(rule.group) + 1 :]]
        assert start < position < min(later, default=len(PAGE))
    grouped = sorted(RULES, key=lambda r: keys.index(r.group))
    assert [PAGE.index(f"{{#{r.id}}}") for r in grouped] == sorted(positions)


def test_guards_link_to_the_workflows_that_run_them() -> None:
    """A guard's workflows are linked to their reference pages in its rule's row."""
    row = _row(next(rule for rule in RULES if rule.id == "candour-verbal-notification"))

    assert "[duty_of_candour](workflows/duty_of_candour.md)" in row


@pytest.mark.parametrize(
    ("setting", "anchor"),
    [
        ("duty_of_candour.verbal_working_days", "plan-format.md#duty_of_candour"),
        ("response_types.<name>.hard_cap", "plan-format.md#response_typesname"),
        ("committees", "plan-format.md#committeesid"),
        ("referral_bodies", "plan-format.md#referral_bodiesid"),
        ("triage.emergent_risk.decided_by", "plan-format.md#triage"),
    ],
)
def test_plan_settings_link_to_their_plan_format_section(setting: str, anchor: str) -> None:
    """A plan setting links to the plan-format section that documents it."""
    assert plan_setting_link(setting) == f"[`{setting}`]({anchor})"


def test_a_rule_with_nothing_but_the_engine_says_so() -> None:
    """A rule enforced only by the engine shows the engine's part and no guard."""
    rule = Rule("x-y", "T", "records", RULES[0].level, RULES[0].verified, "§1", "S", engine="E")
    text = catalogue_markdown(rules=[rule])

    assert "| **Engine:** E |" in text
    assert "Guards" not in text


def test_pipes_in_rule_text_are_escaped() -> None:
    """A pipe in a title or source does not split the table row."""
    rule = Rule("x-y", "a | b", "records", RULES[0].level, RULES[0].verified, "§1", "c | d")
    row = catalogue_markdown(rules=[rule]).splitlines()[-1]

    assert "a \\| b" in row
    assert "c \\| d" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 6


def test_page_names_every_rule_of_every_built_in_transition() -> None:
    """Every `rules` reference of every built-in transition and opening appears on the page."""
    refs = {ref for d in REGISTRY for ref in d.opening.rules} | {
        ref for d in REGISTRY for spec in d.transitions.values() for ref in spec.rules
    }

    assert refs
    assert sorted(ref for ref in refs if f"`{ref}`" not in PAGE) == []


def test_page_lists_every_national_rule_with_its_level() -> None:
    """Each national rule appears with its recorded level and section."""
    for rule in NATIONAL.rules:
        level = f"{PACK_LEVELS[rule.level].value} (`{rule.level.value}`)"
        assert f"| `{rule.ref}` | {level} | {rule.section or '—'} |" in PAGE


@pytest.mark.parametrize("level", list(PackLevel), ids=lambda level: level.value)
def test_every_pack_level_is_shown_as_a_catalogue_level(level: PackLevel) -> None:
    """Each level the national rule pack may record maps to one of the catalogue's levels."""
    assert isinstance(PACK_LEVELS[level], RuleLevel)


def _step(definition: WorkflowDefinition, step: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spec = definition.opening if step == OPENING else definition.transitions[step]
    return spec.rules, spec.guards


@pytest.mark.parametrize("definition", NEWEST, ids=[d.name for d in NEWEST])
def test_rows_name_steps_guards_and_the_rules_they_enforce(definition: WorkflowDefinition) -> None:
    """Each row's steps record the reference; its rules are those its guards enforce."""
    for ref, steps, guards, rule_ids in rule_rows(definition):
        recorded = [_step(definition, step) for step in steps]
        expected = {rule.id for g in guards for rule in rules_enforced_by_guard(g)}

        assert steps
        assert all(ref in rules for rules, _ in recorded)
        assert set(guards) == {g for _, step_guards in recorded for g in step_guards}
        assert set(rule_ids) == expected
        assert all(f"[`{rule_id}`](#{rule_id})" in PAGE for rule_id in rule_ids)


def test_newest_version_of_each_workflow_gets_one_section() -> None:
    """The reference has one section per workflow name, for its newest version."""
    text = rules_markdown(REGISTRY, NATIONAL)

    assert text.count("## National rule pack") == 1
    for definition in NEWEST:
        assert text.count(f"### {definition.title} (`{definition.key}`)") == 1
    assert len({d.name for d in REGISTRY}) == len(NEWEST)


@given(st.lists(st.sampled_from(RULES), unique_by=lambda rule: rule.id))
def test_any_selection_of_rules_gets_one_row_each_under_its_groups(rules: list[Rule]) -> None:
    """For any rules shown, each has one anchored row and only their groups get a heading."""
    text = catalogue_markdown(rules=rules)
    rows = [line for line in text.splitlines() if line.startswith("| [](){#")]

    assert sorted(row.split("}", 1)[0][len("| [](){#") :] for row in rows) == sorted(
        rule.id for rule in rules
    )
    assert {line[3:] for line in text.splitlines() if line.startswith("## ")} == {
        GROUPS[rule.group] for rule in rules
    }
