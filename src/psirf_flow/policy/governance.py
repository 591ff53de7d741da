"""What governs a case's decisions: the trust's plan and the national rule pack, by version.

A :class:`Governance` pairs one version of the trust's plan with one version of the
national requirements (psirf-rules §1.8, §3). The engine hands the governance a case runs
under to the pure core, and guards read it as :attr:`GuardInput.governance
<psirf_flow.workflows.guards.GuardInput.governance>`: which responses a priority allows,
who decides, who signs off. Nothing here does I/O.
"""

from __future__ import annotations

import attrs

from psirf_flow.policy.national import NationalRuleSet
from psirf_flow.policy.plan import Plan


__all__ = ["Governance"]


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
