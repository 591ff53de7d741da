"""What governs a case's decisions: the trust's plan and the national rule pack, by version.

A [`Governance`][psirf_flow.policy.governance.Governance] pairs one version of the trust's plan with
one version of the national requirements (psirf-rules §1.8, §3). The engine hands the governance a
case runs under to the pure core, and guards read it as
[`GuardInput.governance`][psirf_flow.workflows.guards.GuardInput]: which responses a priority
allows, who decides, who signs off. Nothing here does I/O.

A plan is revised during its period and the national rules are versioned data (psirf-rules
§1.8: plans are reviewed and re-approved; §3: national requirements change with statute
and guidance). A case keeps the versions it was opened under: the engine records them as
the facts [`GOVERNING_PLAN_FACT`][psirf_flow.policy.governance.GOVERNING_PLAN_FACT] and
[`GOVERNING_RULES_FACT`][psirf_flow.policy.governance.GOVERNING_RULES_FACT] when it opens the case
(never from a payload), and a [`PlanBook`][psirf_flow.policy.governance.PlanBook] finds the versions
a case records among the current ones and the earlier ones the engine was given. A new plan version
therefore governs new cases only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.errors import InvalidInput, shown
from psirf_flow.policy.national import NationalRuleSet
from psirf_flow.policy.plan import Plan


__all__ = [
    "GOVERNANCE_FACTS",
    "GOVERNING_PLAN_FACT",
    "GOVERNING_RULES_FACT",
    "Governance",
    "PlanBook",
]

GOVERNING_PLAN_FACT: Final = "governing_plan_ref"
"""The fact in which the engine records the ``id@version`` of the plan a case runs under."""
GOVERNING_RULES_FACT: Final = "governing_rules_version"
"""The fact in which the engine records the version of the national rule pack a case runs under."""
GOVERNANCE_FACTS: Final = frozenset({GOVERNING_PLAN_FACT, GOVERNING_RULES_FACT})
"""Facts only the engine sets; a payload naming one is refused."""


@attrs.frozen(kw_only=True)
class Governance:
    """One plan version and one national rule pack version, as a case's decisions see them.

    Attributes:
        plan: The trust's plan (one version).
        rules: The national requirements (one version).
    """

    plan: Plan
    rules: NationalRuleSet

    @property
    def plan_ref(self) -> str:
        """The plan's ``id@version``."""
        return self.plan.ref

    @property
    def rules_version(self) -> str:
        """The national rule pack's version."""
        return self.rules.version

    @property
    def facts(self) -> Mapping[str, str]:
        """The facts a case opened under this governance records (set by the engine)."""
        return MappingProxyType(
            {GOVERNING_PLAN_FACT: self.plan_ref, GOVERNING_RULES_FACT: self.rules_version}
        )


@attrs.frozen(kw_only=True)
class PlanBook:
    """Every plan and rule pack version an engine was given; new cases use the current ones.

    Attributes:
        current: The versions new cases are opened under.
        plans: Every plan known, by ``id@version`` (the current one included).
        rules: Every national rule pack known, by version (the current one included).
    """

    current: Governance
    plans: Mapping[str, Plan]
    rules: Mapping[str, NationalRuleSet]

    @classmethod
    def of(
        cls,
        plan: Plan,
        rules: NationalRuleSet,
        *,
        earlier_plans: Iterable[Plan] = (),
        earlier_rules: Iterable[NationalRuleSet] = (),
    ) -> PlanBook:
        """A book whose current versions are ``plan`` and ``rules``, knowing earlier ones too.

        Raises:
            InvalidInput: If two different plans share an ``id@version`` (or two different
                rule packs a version).
        """
        plans: dict[str, Plan] = {plan.ref: plan}
        for earlier in earlier_plans:
            if plans.setdefault(earlier.ref, earlier) != earlier:
                raise InvalidInput(
                    "earlier_plans",
                    f"holds two different plans with the version {shown(earlier.ref)}",
                )
        packs: dict[str, NationalRuleSet] = {rules.version: rules}
        for pack in earlier_rules:
            if packs.setdefault(pack.version, pack) != pack:
                raise InvalidInput(
                    "earlier_rules",
                    f"holds two different rule packs with the version {shown(pack.version)}",
                )
        return cls(
            current=Governance(plan=plan, rules=rules),
            plans=MappingProxyType(plans),
            rules=MappingProxyType(packs),
        )

    def governing(self, plan_ref: str, rules_version: str) -> Governance | None:
        """The governance of a case recording these versions, or ``None`` if either is unknown."""
        plan = self.plans.get(plan_ref)
        rules = self.rules.get(rules_version)
        if plan is None or rules is None:
            return None
        if plan is self.current.plan and rules is self.current.rules:
            return self.current
        return Governance(plan=plan, rules=rules)
