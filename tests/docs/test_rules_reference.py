"""The generated rules reference covers every rule the built-in workflows record."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from mkdocs.structure.files import Files

from psirf_flow.policy.national import load_national_rules
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.rules_reference import (
    LIBRARY_DESIGN,
    NOT_RECORDED,
    OPENING,
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


def test_page_names_every_rule_of_every_built_in_transition() -> None:
    """Every `rules` reference of every built-in transition and opening appears on the page."""
    page = _generated_page()
    refs = {ref for d in REGISTRY for ref in d.opening.rules} | {
        ref for d in REGISTRY for spec in d.transitions.values() for ref in spec.rules
    }

    assert refs
    assert sorted(ref for ref in refs if f"`{ref}`" not in page) == []


def test_page_lists_every_national_rule_with_its_level() -> None:
    """Each national rule appears with its recorded level and section."""
    page = _generated_page()

    for rule in NATIONAL.rules:
        assert f"| `{rule.ref}` | {rule.level.value} | {rule.section or '—'} |" in page


def _step(definition: WorkflowDefinition, step: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spec = definition.opening if step == OPENING else definition.transitions[step]
    return spec.rules, spec.guards


@pytest.mark.parametrize("definition", NEWEST, ids=[d.name for d in NEWEST])
def test_rows_name_steps_guards_and_cited_sections(definition: WorkflowDefinition) -> None:
    """Each row's steps record the rule, its guards are theirs, its sources are cited by them."""
    national_levels = {rule.id: rule.level.value for rule in NATIONAL.rules}
    for ref, level, source, steps, guards in rule_rows(definition, NATIONAL):
        recorded = [_step(definition, step) for step in steps]
        cited = " ".join(
            f"{definition.guards[g].summary} {definition.guards[g].check.__doc__ or ''}"
            for g in guards
        )
        expected_level = national_levels.get(ref.split("@")[0]) or (
            NOT_RECORDED if source else LIBRARY_DESIGN
        )

        assert steps
        assert all(ref in rules for rules, _ in recorded)
        assert set(guards) == {g for _, step_guards in recorded for g in step_guards}
        assert level == expected_level
        assert all(section in cited for section in filter(None, source.split(", ")))


def test_newest_version_of_each_workflow_gets_one_section() -> None:
    """The reference has one section per workflow name, for its newest version."""
    text = rules_markdown(REGISTRY, NATIONAL)

    assert text.count("## National rule pack") == 1
    for definition in NEWEST:
        assert text.count(f"## {definition.title} (`{definition.key}`)") == 1
    assert len({d.name for d in REGISTRY}) == len(NEWEST)
