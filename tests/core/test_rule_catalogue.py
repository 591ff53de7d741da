"""The rule catalogue names only what exists, and every guard links to a rule that names it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from psirf_flow.policy.schema import plan_schema
from psirf_flow.schedule import KINDS
from psirf_flow.workflows import GUARDS
from psirf_flow.workflows.rules import (
    GROUPS,
    RULES,
    Rule,
    RuleLevel,
    Verification,
    rule_for_id,
    rules_enforced_by_guard,
)


WORKFLOWS = Path(__file__).resolve().parents[2] / "src" / "psirf_flow" / "workflows"
IDS = {rule.id for rule in RULES}
# An autorefs link to a rules-page anchor: `[text][some-rule-id]` (ids have a hyphen, so no
# dotted Python identifier is mistaken for one).
RULE_LINK = re.compile(r"\]\[([a-z0-9]+(?:-[a-z0-9]+)+)\]")
GUARDS_FILES = sorted([*WORKFLOWS.glob("guards*.py"), *WORKFLOWS.glob("*/guards*.py")])
# Guards also live beside the PSII's timescale and sign-off steps.
GUARD_MODULES = [
    *GUARDS_FILES,
    WORKFLOWS / "learning_response" / "engagement.py",
    WORKFLOWS / "learning_response" / "sign_off.py",
]


def _check_function(check: Callable[..., Any]) -> Callable[..., Any]:
    while isinstance(check, functools.partial):
        check = check.func
    return check


def _schema_node(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        elif node.get("type") == "array" and isinstance(node.get("items"), dict):
            node = node["items"]
        else:
            return node


def _plan_key_exists(setting: str) -> bool:
    schema = plan_schema()
    definitions = schema["definitions"]
    node: dict[str, Any] = schema
    for part in setting.split("."):
        node = _schema_node(node, definitions)
        if part == "<name>":
            extra = node.get("additionalProperties")
            if not isinstance(extra, dict):
                return False
            node = extra
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            return False
    return True


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_every_registered_guard_is_enforcing_some_rule(guard: str) -> None:
    """Each guard in the registry is named by at least one rule of the catalogue."""
    assert rules_enforced_by_guard(guard)


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_every_guard_docstring_links_to_a_rule_it_enforces(guard: str) -> None:
    """Each guard's check function documents a `Rule:` link to a rule naming that guard."""
    doc = _check_function(GUARDS[guard].check).__doc__ or ""
    linked = set(RULE_LINK.findall(doc))
    enforced = {rule.id for rule in rules_enforced_by_guard(guard)}

    assert "Rule" in doc
    assert linked & enforced, f"{guard} links {sorted(linked)}, expected one of {enforced}"


@pytest.mark.parametrize("module", GUARD_MODULES, ids=lambda p: p.relative_to(WORKFLOWS).as_posix())
def test_every_rule_id_linked_from_guard_modules_exists(module: Path) -> None:
    """Every rule anchor a guard module links to is a rule of the catalogue."""
    linked = set(RULE_LINK.findall(module.read_text(encoding="utf-8")))

    assert sorted(linked - IDS) == []


@pytest.mark.parametrize("module", GUARDS_FILES, ids=lambda p: p.relative_to(WORKFLOWS).as_posix())
def test_guard_modules_use_no_sphinx_roles_or_rest_blocks(module: Path) -> None:
    """Guard modules write mkdocstrings cross-references and fenced code, never reST."""
    text = module.read_text(encoding="utf-8")

    assert re.findall(r":(?:class|func|meth|mod|data|attr|exc|obj):`", text) == []
    assert re.findall(r"::\n", text) == []
    assert re.findall(r"^\s*>>> ", text, re.MULTILINE) == []


def test_rule_ids_are_unique() -> None:
    """No two rules share an id (each is an anchor on the rules page)."""
    assert len(IDS) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])
class TestEachRule:
    """Every name a rule gives exists, and its level and mark are consistent."""

    def test_guards_are_registered(self, rule: Rule) -> None:
        """Every guard the rule names is in the guard registry."""
        assert [g for g in rule.guards if g not in GUARDS] == []

    def test_plan_settings_are_keys_of_the_plan_schema(self, rule: Rule) -> None:
        """Every plan setting the rule names is a dotted key of the plan file's schema."""
        assert [s for s in rule.plan_settings if not _plan_key_exists(s)] == []

    def test_schedule_kinds_exist(self, rule: Rule) -> None:
        """Every deadline kind the rule names is one the schedule starts."""
        assert [k for k in rule.schedule_kinds if k not in KINDS] == []

    def test_level_mark_and_group_are_known(self, rule: Rule) -> None:
        """The level and mark are members of their enums and the group is listed."""
        assert isinstance(rule.level, RuleLevel)
        assert isinstance(rule.verified, Verification)
        assert rule.group in GROUPS

    def test_something_enforces_it(self, rule: Rule) -> None:
        """A rule is enforced by a guard, a plan setting, a deadline or the engine."""
        assert rule.guards or rule.plan_settings or rule.schedule_kinds or rule.engine

    def test_local_rules_are_plan_settings(self, rule: Rule) -> None:
        """A rule of level "local plan setting" names the plan setting that sets it."""
        if rule.level is RuleLevel.LOCAL_PLAN_SETTING:
            assert rule.plan_settings

    def test_unconfirmed_rules_are_set_in_the_plan_or_flagged(self, rule: Rule) -> None:
        """A rule not confirmed in a source is set in the plan, or its note says it is not."""
        if rule.verified is Verification.UNCONFIRMED:
            assert rule.plan_settings or rule.caveat

    def test_national_guidance_is_set_in_the_plan_or_flagged(self, rule: Rule) -> None:
        """National guidance is configurable in the plan, or its note says it is fixed."""
        if rule.level is RuleLevel.NATIONAL_GUIDANCE:
            assert rule.plan_settings or rule.caveat

    def test_design_mark_only_on_design_or_local_rules(self, rule: Rule) -> None:
        """Only library design and local rules may lack an outside source to verify."""
        if rule.verified is Verification.DESIGN:
            assert rule.level in (RuleLevel.LIBRARY_DESIGN, RuleLevel.LOCAL_PLAN_SETTING)

    def test_lookup_by_id_finds_it(self, rule: Rule) -> None:
        """`rule_for_id` returns the rule for its own id."""
        assert rule_for_id(rule.id) is rule


def test_levels_are_the_five_kinds() -> None:
    """The levels are the five kinds of rule the reference distinguishes."""
    assert [level.value for level in RuleLevel] == [
        "statutory",
        "national requirement",
        "national guidance",
        "local plan setting",
        "library design",
    ]


@pytest.mark.parametrize(
    "rule_id",
    ["Candour", "candour_notify", "candour--notify", "-candour", "candour-", "", "candour notify"],
)
def test_a_rule_id_must_be_lower_case_words_joined_by_hyphens(rule_id: str) -> None:
    """A rule id that could not be an anchor is refused when the rule is made."""
    with pytest.raises(ValueError, match="rule id"):
        Rule(rule_id, "t", "triage", RuleLevel.LIBRARY_DESIGN, Verification.DESIGN, "§1", "s")


@pytest.mark.parametrize(
    ("setting", "exists"),
    [
        ("duty_of_candour.verbal_working_days", True),
        ("response_types.<name>.hard_cap", True),
        ("priorities.thematic_review", True),
        ("triage.emergent_risk.decided_by", True),
        ("duty_of_candour.verbal_days", False),
        ("response_types.hard_cap", False),
        ("triage.emergent_risk.nobody", False),
    ],
)
def test_plan_key_lookup_tells_real_keys_from_slips(setting: str, exists: bool) -> None:
    """The schema lookup the catalogue tests use accepts real keys and refuses slips."""
    assert _plan_key_exists(setting) is exists


def test_unknown_rule_id_finds_nothing() -> None:
    """`rule_for_id` returns None for an id not in the catalogue."""
    assert rule_for_id("no-such-rule") is None
