"""National requirements as versioned data: which incidents need a PSII or a referral.

PSIRF lists incidents that every provider must respond to in a set way whatever its local
plan says (psirf-rules §3; §0.5 rule 2). They are shipped as data in
``psirf_flow/policy/data/national_requirements.toml``, not written into code, because
they change: the Never Events framework is under review (psirf-rules §3, W1) and the
bodies incidents are referred to have been renamed (W2, HSIB to HSSIB and MNSI). Each
rule is versioned as ``rule_id@version`` and triage records the references of the rules it
applied, so a later change never rewrites the reasons for an earlier decision.

Each rule records where it comes from: the psirf-rules section, the primary sources (for
example S-PSIRF) and the verification mark (✔ confirmed in a source, ◐ secondary or partly
seen, ✖ not confirmed; psirf-rules §0.2). Rows 7-11 are ✖: their wording must be checked
against the PSIRF documents before being enforced.

A host may replace a rule (for example a new Never Events rule) with
[`NationalRuleSet.with_rule`][psirf_flow.policy.national.NationalRuleSet.with_rule], or load a rule
set of its own with [`load_national_rules`][psirf_flow.policy.national.load_national_rules].
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

import attrs
from cattrs.errors import BaseValidationError

from psirf_flow.domain import check_identifier
from psirf_flow.policy._convert import CONVERTER
from psirf_flow.policy._problems import Invalid, Path
from psirf_flow.policy.conditions import Condition, condition_problems, evaluate
from psirf_flow.policy.facts import IncidentFacts
from psirf_flow.policy.loading import load_document, packaged_text


__all__ = [
    "NATIONAL_RULES_FILE",
    "LocalResponse",
    "NationalRule",
    "NationalRuleSet",
    "ReferralBody",
    "RequiredResponse",
    "RuleLevel",
    "Verification",
    "load_national_rules",
]

NATIONAL_RULES_FILE: Final = "national_requirements.toml"
"""The data file shipped with the library."""

RULES_FORMAT: Final = 1
"""The rule set file format this release reads."""


class RequiredResponse(StrEnum):
    """What a national requirement requires of the trust."""

    LOCALLY_LED_PSII = "locally_led_psii"
    """The trust carries out a PSII itself."""
    REFERRAL = "referral"
    """The trust refers the incident to another body."""
    EXTERNAL_REVIEW = "external_review"
    """Another body leads a review (it may be referred by someone else); the trust contributes."""


class LocalResponse(StrEnum):
    """What local learning response a national requirement expects of the trust (psirf-rules §3).

    A requirement calling for a referral (or another body's review) never makes a local
    PSII the default: it says whether a local response is expected at all.
    """

    REQUIRED = "required"
    """The rule itself requires a locally-led PSII (rows 1, 2 and 4)."""
    MAY_BE_REQUIRED = "may_be_required"
    """A locally-led PSII or other response may be needed alongside the referral (rows 6-9)."""
    DECIDED_BY_BODY = "decided_by_body"
    """The body referred to decides whether a local response is needed (row 5: NHS
    England's regional independent investigation team)."""
    NONE = "none"
    """No local learning response is expected: the body investigates or reviews and the
    trust contributes (rows 3, 10 and 11)."""

    @property
    def strength(self) -> int:
        """How much the expectation asks of the trust, to combine several rules."""
        order = (self.NONE, self.DECIDED_BY_BODY, self.MAY_BE_REQUIRED, self.REQUIRED)
        return order.index(self)


class Verification(StrEnum):
    """How sure the research behind a rule is of its wording (psirf-rules §0.2)."""

    CONFIRMED = "confirmed"
    SECONDARY = "secondary"
    UNCONFIRMED = "unconfirmed"

    @property
    def mark(self) -> str:
        """The mark used in psirf-rules: ✔, ◐ or ✖."""
        return {"confirmed": "✔", "secondary": "◐", "unconfirmed": "✖"}[self.value]


class RuleLevel(StrEnum):
    """The kind of rule (psirf-rules §0.1)."""

    HARD = "hard"
    NATIONAL_GUIDANCE = "national_guidance"
    LOCAL = "local"
    INFERRED = "inferred"


@attrs.frozen(kw_only=True)
class ReferralBody:
    """A body incidents are referred to. Names are data because they change (W2).

    Attributes:
        name: The body's current name.
        formerly: Names it was known by.
        route: How referrals are made, where known (for example MNSI's system).
    """

    name: str
    formerly: tuple[str, ...] = ()
    route: str = ""


@attrs.frozen(kw_only=True)
class NationalRule:
    """One national requirement.

    Attributes:
        id: Stable id of the rule.
        version: Version of this rule; ``id@version`` is recorded by triage.
        title: The requirement in short.
        section: Where psirf-rules describes it.
        sources: Primary source codes from psirf-rules §0.4.
        verification: How sure we are of its wording.
        level: The kind of rule.
        response: What it requires.
        refer_to: Ids of the bodies involved, for a referral or an external review; when
            there are several, the one whose remit covers the case.
        local_response_may_be_required: Whether a local learning response may also be
            needed alongside the referral.
        local_response: What local response the rule expects
            ([`LocalResponse`][psirf_flow.policy.national.LocalResponse]); when left out,
            ``required`` for a locally-led PSII, ``may_be_required`` when
            ``local_response_may_be_required`` is true, else ``none``.
        criteria: The condition over incident facts that brings the rule into play.
        note: A caveat for people reading the rule.
    """

    id: str
    version: str
    title: str
    section: str
    sources: tuple[str, ...]
    verification: Verification
    level: RuleLevel = RuleLevel.HARD
    response: RequiredResponse
    refer_to: tuple[str, ...] = ()
    local_response_may_be_required: bool = False
    local_response: LocalResponse | None = None
    criteria: Condition
    note: str = ""

    @property
    def expected_local_response(self) -> LocalResponse:
        """The local response the rule expects, with the defaults described above."""
        if self.local_response is not None:
            return self.local_response
        if self.response is RequiredResponse.LOCALLY_LED_PSII:
            return LocalResponse.REQUIRED
        if self.local_response_may_be_required:
            return LocalResponse.MAY_BE_REQUIRED
        return LocalResponse.NONE

    @property
    def ref(self) -> str:
        """``id@version``."""
        return f"{self.id}@{self.version}"

    def matches(self, facts: IncidentFacts) -> bool:
        """Whether the incident's facts meet this requirement."""
        return evaluate(self.criteria, facts)


@attrs.frozen(kw_only=True)
class NationalRuleSet:
    """A versioned set of national requirements and the bodies they name.

    Attributes:
        format: The file format.
        version: The rule set's own version, recorded by triage.
        bodies: Referral bodies by id.
        rules: The rules, in the order they are listed.
    """

    format: int = RULES_FORMAT
    version: str
    bodies: Mapping[str, ReferralBody]
    rules: tuple[NationalRule, ...]

    def matching(self, facts: IncidentFacts) -> tuple[NationalRule, ...]:
        """The rules the incident's facts meet, in rule set order."""
        return tuple(rule for rule in self.rules if rule.matches(facts))

    def rule(self, rule_id: str) -> NationalRule:
        """The rule with id ``rule_id``.

        Raises:
            KeyError: If there is none.
        """
        for candidate in self.rules:
            if candidate.id == rule_id:
                return candidate
        raise KeyError(rule_id)

    def with_rule(self, rule: NationalRule, *, version: str) -> NationalRuleSet:
        """A new rule set with ``rule`` replacing the rule of the same id (or added).

        Args:
            rule: The new rule; give it a new version.
            version: The new rule set's version.

        Raises:
            ValueError: If the result has problems (an unknown body, a bad condition...).
        """
        rules = [r for r in self.rules if r.id != rule.id]
        position = next((i for i, r in enumerate(self.rules) if r.id == rule.id), len(rules))
        rules.insert(position, rule)
        result = attrs.evolve(self, version=version, rules=tuple(rules))
        problems = rule_set_problems(result)
        if problems:
            msg = "; ".join(message for _, message in problems)
            raise ValueError(msg)
        return result


@attrs.frozen
class _RuleSetView:
    """What of a faulty rule set could be read, for cross-checks."""

    version: str | None
    body_ids: frozenset[str] | None
    rules: tuple[tuple[int, NationalRule], ...]


def rule_set_problems(rules: NationalRuleSet | _RuleSetView) -> list[tuple[Path, str]]:
    """Every cross-field mistake in a rule set, as ``(path, message)`` pairs."""
    if isinstance(rules, NationalRuleSet):
        view = _RuleSetView(rules.version, frozenset(rules.bodies), tuple(enumerate(rules.rules)))
        problems: list[tuple[Path, str]] = []
        if rules.format != RULES_FORMAT:
            problems.append((("format",), f"this release reads rule set format {RULES_FORMAT}"))
    else:
        view, problems = rules, []
    if view.version is not None and check_identifier(view.version) is not None:
        problems.append((("version",), "must be an opaque version label without spaces"))
    seen: set[str] = set()
    for index, rule in view.rules:
        at: Path = ("rules", index)
        for name in ("id", "version"):
            problem = check_identifier(getattr(rule, name))
            if problem is not None:
                problems.append(((*at, name), problem))
        if rule.id in seen:
            problems.append(((*at, "id"), f"{rule.id!r} is listed twice"))
        seen.add(rule.id)
        problems += condition_problems(rule.criteria, (*at, "criteria"))
        if rule.response is RequiredResponse.LOCALLY_LED_PSII and rule.refer_to:
            problems.append(((*at, "refer_to"), "a locally-led PSII names no body"))
        if rule.response is not RequiredResponse.LOCALLY_LED_PSII and not rule.refer_to:
            problems.append(((*at, "refer_to"), "needs at least one body"))
        problems += _local_response_problems(rule, at)
        for i, body in enumerate(rule.refer_to):
            if view.body_ids is not None and body not in view.body_ids:
                problems.append(((*at, "refer_to", i), f"there is no body {body!r}"))
    return problems


def _local_response_problems(rule: NationalRule, at: Path) -> list[tuple[Path, str]]:
    """A rule's local response agrees with what it requires (psirf-rules §3)."""
    expected = rule.local_response
    if expected is None:
        return []
    psii = rule.response is RequiredResponse.LOCALLY_LED_PSII
    if psii != (expected is LocalResponse.REQUIRED):
        message = (
            "a locally-led PSII requires the local response ('required')"
            if psii
            else "only a locally-led PSII requirement requires a local response; "
            "a referral expects 'none', 'may_be_required' or 'decided_by_body'"
        )
        return [((*at, "local_response"), message)]
    if rule.local_response_may_be_required and expected is LocalResponse.NONE:
        return [
            (
                (*at, "local_response"),
                "'none' contradicts local_response_may_be_required = true",
            )
        ]
    return []


def _salvage(raw: dict[str, Any]) -> _RuleSetView:
    version = raw.get("version")
    bodies = raw.get("bodies")
    rules: list[tuple[int, NationalRule]] = []
    items = raw.get("rules")
    for index, item in enumerate(items if isinstance(items, list) else []):
        try:
            rules.append((index, CONVERTER.structure(item, NationalRule)))
        except (BaseValidationError, Invalid):
            continue
    return _RuleSetView(
        version if isinstance(version, str) else None,
        frozenset(bodies) if isinstance(bodies, dict) else None,
        tuple(rules),
    )


def load_national_rules(text: str | None = None, *, source: str | None = None) -> NationalRuleSet:
    """Load a national rule set; by default the one shipped with the library.

    Args:
        text: TOML text of a rule set; ``None`` for the shipped file.
        source: A name for the text in messages.

    Raises:
        PlanError: Listing every problem found in the rule set.
    """
    if text is None:
        return _shipped()
    return _parse(text, source or "<national rules>")


def _parse(text: str, source: str) -> NationalRuleSet:
    return load_document(text, source, NationalRuleSet, _salvage, rule_set_problems)


@functools.cache
def _shipped() -> NationalRuleSet:
    return _parse(packaged_text(NATIONAL_RULES_FILE), NATIONAL_RULES_FILE)
