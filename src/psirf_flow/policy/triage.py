"""Triage: from an incident's facts, the plan and the national rules, a recommended response.

[`triage`][psirf_flow.policy.triage.triage] is a pure function. It follows the order PSIRF sets out
(psirf-rules §0.5 rule 1, §1 design consequence, §6 stage 2):

1. **National requirement.** If any national rule matches, the incident must get the
   response it requires: a locally-led PSII (the plan's ``triage.national_psii_response``)
   or a referral to a body, or support for another body's review. "No further response"
   is never allowed, and setting the requirement aside needs an executive override with a
   reason ([`OverrideRequirement`][psirf_flow.policy.triage.OverrideRequirement]; recorded by the
   intake lifecycle, INF §5 SoD 7). A requirement calling for a referral only (or another body's
   review) never produces a local default: the recommendation carries the referrals and says what
   local response the rules expect
   ([`Recommendation.expected_local_response`][psirf_flow.policy.triage.Recommendation]: none, may
   be required, or decided by the body, as for a mental health-related homicide, §3 row 5). A
   matching local priority may *add* a response: its allowed responses are listed, and its default
   is given as [`Recommendation.local_default`][psirf_flow.policy.triage.Recommendation], to be
   commissioned alongside the referral; where a rule says a locally-led PSII may be required, the
   plan's national PSII response is allowed too. A local priority never replaces a national PSII:
   the PSII stays the default and the only allowed response.
2. **Plan priority.** The first matching priority, in plan order, gives the planned
   response: a default that its ``decided_by`` role confirms or changes with a reason, or
   routing to an improvement plan, or a scheduled thematic review.
3. **Emergent or significant risk.** If the incident is flagged as one, an authorised
   executive decides (``triage.emergent_risk``).
4. **Proportionate response or none.** Otherwise the plan's proportionate settings apply.

Harm level alone never selects a PSII: it is not consulted by any step unless a plan
priority's criteria test it explicitly (psirf-rules §1, §1.5). An emergent-risk flag makes
an executive decision required whenever no national PSII applies, even when a priority
matched, so that a flagged risk is always seen by an executive.
"""

from __future__ import annotations

from enum import StrEnum

import attrs

from psirf_flow.domain import Role
from psirf_flow.policy.conditions import evaluate
from psirf_flow.policy.facts import IncidentFacts, check_extra_facts
from psirf_flow.policy.national import (
    LocalResponse,
    NationalRule,
    NationalRuleSet,
    RequiredResponse,
)
from psirf_flow.policy.plan import Decider, LifecycleVariant, Plan, Priority, to_decider


__all__ = [
    "DecisionFrame",
    "IncidentFacts",
    "OverrideRequirement",
    "Pathway",
    "Recommendation",
    "Referral",
    "decision_frame",
    "intake_payload",
    "matching_priorities",
    "notification_steps",
    "thematic_reviews_met",
    "triage",
]


class Pathway(StrEnum):
    """Which step of triage produced the recommendation (psirf-rules §8.2 PSIRP category)."""

    NATIONAL_REQUIREMENT = "national_requirement"
    LOCAL_PRIORITY = "local_priority"
    EMERGENT_RISK = "emergent_risk"
    PROPORTIONATE = "proportionate"


@attrs.frozen(kw_only=True)
class Referral:
    """A referral (or another body's review) required by a national rule.

    Attributes:
        rule_ref: The rule that requires it, ``id@version``.
        required: Whether the trust refers, or another body leads and the trust contributes.
        bodies: Ids of the bodies; with several, the one whose remit covers the case.
        body_names: Their names at the time of the rule set.
        local_response_may_be_required: Whether a local response may be needed as well
            (the rule expects one that may be required, or the body decides).
        expected_local_response: What local response the rule expects.
    """

    rule_ref: str
    required: RequiredResponse
    bodies: tuple[str, ...]
    body_names: tuple[str, ...]
    local_response_may_be_required: bool
    expected_local_response: LocalResponse = LocalResponse.NONE


@attrs.frozen(kw_only=True)
class OverrideRequirement:
    """What setting a national requirement aside must reference (psirf-rules §5, SoD 7, INF).

    The intake lifecycle records the override; triage only says what it must carry.

    Attributes:
        rule_refs: Every national rule being set aside, ``id@version``.
        role: The role that may override.
        reason_required: Always true: an override needs a recorded reason.
        reported_to_oversight: Always true: overrides are flagged for board and ICB view.
    """

    rule_refs: tuple[str, ...]
    role: Role = Role.EXECUTIVE_LEAD
    reason_required: bool = True
    reported_to_oversight: bool = True


@attrs.frozen(kw_only=True)
class Recommendation:
    """What triage recommends for one incident, and every reference that produced it.

    Attributes:
        incident_id: The incident.
        plan_ref: ``id@version`` of the plan used.
        rules_version: Version of the national rule set used.
        pathway: The step that produced the recommendation.
        national_rules: ``id@version`` of every national rule matched.
        priorities: ``plan@version#id`` of every priority matched; the one applied first.
        default_response: The recommended response type, if there is one.
        default_variant: The lifecycle the default response runs on.
        allowed_responses: The response types the decider may choose instead.
        improvement_plan: The improvement plan the incident is routed to, if any.
        thematic_review: The scheduled thematic review that gathers it, if any.
        referrals: Referrals and external reviews required.
        decided_by: Who confirms or changes the recommendation: a role or a committee.
        change_requires_reason: Always true: a change from the default needs a reason.
        executive_decision_required: Whether an executive must decide.
        no_further_response_allowed: Whether "no further response" may be chosen; never
            when a national requirement matched.
        override: What setting the national requirement aside must reference, if one matched.
        retention_class: The retention class the recommendation implies.
        retention_years: Its period in years.
        expected_local_response: What local response the matched national rules expect,
            the strongest of them (``None`` when no national rule matched): ``required``
            for a national PSII, else ``may_be_required``, ``decided_by_body`` or ``none``.
        local_default: Where national rules call for referrals only, the default of the
            first matching local priority: a response the plan adds alongside the
            referral (never instead of it); ``None`` otherwise, and always ``None`` when
            the body decides the local response.
        notifications: Ids of the plan's regulator notification steps whose ``when`` the
            incident meets (``[[notifications]]``; psirf-rules §3, INF), in plan order.
        thematic_reviews_matched: Ids of the plan's scheduled thematic reviews whose
            ``criteria`` the incident meets (psirf-rules §2, LOCAL), in plan order.
    """

    incident_id: str
    plan_ref: str
    rules_version: str
    pathway: Pathway
    national_rules: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    default_response: str | None = None
    default_variant: LifecycleVariant | None = None
    allowed_responses: tuple[str, ...] = ()
    improvement_plan: str | None = None
    thematic_review: str | None = None
    referrals: tuple[Referral, ...] = ()
    decided_by: Decider = attrs.field(converter=to_decider)
    change_requires_reason: bool = True
    executive_decision_required: bool = False
    no_further_response_allowed: bool = False
    override: OverrideRequirement | None = None
    retention_class: str
    retention_years: int
    expected_local_response: LocalResponse | None = None
    local_default: str | None = None
    notifications: tuple[str, ...] = ()
    thematic_reviews_matched: tuple[str, ...] = ()

    @property
    def rule_refs(self) -> tuple[str, ...]:
        """Every reference that produced the recommendation: national rules, then priorities."""
        return self.national_rules + self.priorities

    @property
    def recommended_responses(self) -> tuple[str, ...]:
        """The recommended response types: the default, if any."""
        return () if self.default_response is None else (self.default_response,)


def matching_priorities(facts: IncidentFacts, plan: Plan) -> tuple[Priority, ...]:
    """The plan's priorities that the incident matches, in plan order."""
    return tuple(p for p in plan.priorities if _priority_matches(p, facts))


def _priority_matches(priority: Priority, facts: IncidentFacts) -> bool:
    scope = priority.scope
    if scope.service_lines and facts.service_line not in scope.service_lines:
        return False
    if scope.settings and facts.setting not in scope.settings:
        return False
    if scope.patient_groups and not facts.patient_groups.intersection(scope.patient_groups):
        return False
    return priority.criteria is None or evaluate(priority.criteria, facts)


def _referral(rule: NationalRule, rules: NationalRuleSet) -> Referral:
    return Referral(
        rule_ref=rule.ref,
        required=rule.response,
        bodies=rule.refer_to,
        body_names=tuple(rules.bodies[b].name if b in rules.bodies else b for b in rule.refer_to),
        local_response_may_be_required=rule.expected_local_response
        in (LocalResponse.MAY_BE_REQUIRED, LocalResponse.DECIDED_BY_BODY),
        expected_local_response=rule.expected_local_response,
    )


@attrs.frozen(kw_only=True)
class _Local:
    """The local part of a recommendation (steps 2 to 4)."""

    pathway: Pathway
    priorities: tuple[str, ...] = ()
    default: str | None = None
    allowed: tuple[str, ...] = ()
    improvement_plan: str | None = None
    thematic_review: str | None = None
    decided_by: Decider
    no_further_response_allowed: bool
    departure_permitted: bool = False


def _local_for(plan: Plan, matched: tuple[Priority, ...], *, emergent_risk: bool) -> _Local:
    every_type = tuple(plan.response_types)
    if matched:
        first = matched[0]
        allowed: list[str] = []
        for priority in matched:
            allowed += [a for a in priority.responses.allowed if a not in allowed]
        return _Local(
            pathway=Pathway.LOCAL_PRIORITY,
            priorities=tuple(plan.priority_ref(p) for p in matched),
            default=first.responses.default,
            allowed=tuple(allowed),
            improvement_plan=first.improvement_plan,
            thematic_review=first.thematic_review,
            decided_by=first.decided_by,
            no_further_response_allowed=first.no_further_response_allowed,
            departure_permitted=first.departure_permitted,
        )
    if emergent_risk:
        er = plan.triage.emergent_risk
        return _Local(
            pathway=Pathway.EMERGENT_RISK,
            default=er.default,
            allowed=er.allowed or every_type,
            decided_by=er.decided_by,
            no_further_response_allowed=True,
            departure_permitted=er.departure_permitted,
        )
    pr = plan.triage.proportionate
    return _Local(
        pathway=Pathway.PROPORTIONATE,
        allowed=pr.allowed or every_type,
        decided_by=pr.decided_by,
        no_further_response_allowed=pr.no_further_response_allowed,
        departure_permitted=pr.departure_permitted,
    )


def _national_psii(plan: Plan, matched: tuple[Priority, ...]) -> _Local:
    """A national rule requires a PSII: local priorities are recorded but change nothing."""
    psii = plan.triage.national_psii_response
    return _Local(
        pathway=Pathway.NATIONAL_REQUIREMENT,
        priorities=tuple(plan.priority_ref(p) for p in matched),
        default=psii,
        allowed=(psii,),
        decided_by=plan.response_types[psii].decided_by,
        no_further_response_allowed=False,
    )


def _with_referrals(plan: Plan, local: _Local, expected: LocalResponse) -> _Local:
    """Referral-only rules: no local default; a PSII allowed where one may be required."""
    psii = plan.triage.national_psii_response
    allowed = local.allowed
    if expected is not LocalResponse.NONE and psii not in allowed:
        allowed = (*allowed, psii)
    return attrs.evolve(
        local,
        pathway=Pathway.NATIONAL_REQUIREMENT,
        default=None,
        allowed=allowed,
        no_further_response_allowed=False,
    )


def _strongest(rules: tuple[NationalRule, ...]) -> LocalResponse | None:
    expectations = [r.expected_local_response for r in rules]
    return max(expectations, key=lambda e: e.strength) if expectations else None


@attrs.frozen(kw_only=True)
class DecisionFrame:
    """What the plan lets the decider choose for one incident, as its triage was recorded.

    The intake lifecycle's guards rebuild it from the recorded triage (matched priorities,
    outstanding national rules, the executive-decision flag) to check a decision against
    the plan the case runs under (psirf-rules §0.5 rule 1, §1.8, §3).

    Attributes:
        allowed: The response types the decider may choose.
        decided_by: Who decides: a role or a committee.
        no_further_response_allowed: Whether "no further response" may be chosen.
        departure_permitted: Whether a response outside ``allowed`` may be chosen with a
            reason (never where a national rule requires a PSII).
        national_response: The response a national PSII requirement demands, if one does.
    """

    allowed: tuple[str, ...]
    decided_by: Decider
    no_further_response_allowed: bool
    departure_permitted: bool
    national_response: str | None = None


def decision_frame(
    plan: Plan,
    priorities: tuple[Priority, ...],
    *,
    psii_required: bool,
    referral_expects: LocalResponse | None = None,
    emergent_risk: bool = False,
) -> DecisionFrame:
    """The choices `triage`'s precedence leaves the decider, from recorded triage.

    Args:
        plan: The plan the case runs under.
        priorities: The plan's priorities triage matched, in plan order.
        psii_required: Whether an outstanding national rule requires a locally-led PSII.
        referral_expects: Where outstanding national rules call for referrals only, the
            local response they expect (``None`` when there are none).
        emergent_risk: Whether an executive decision on an emergent risk was required.
    """
    if psii_required:
        local = _national_psii(plan, priorities)
    else:
        local = _local_for(plan, priorities, emergent_risk=emergent_risk)
        if referral_expects is not None:
            local = _with_referrals(plan, local, referral_expects)
    return DecisionFrame(
        allowed=local.allowed,
        decided_by=local.decided_by,
        no_further_response_allowed=local.no_further_response_allowed,
        departure_permitted=local.departure_permitted and not psii_required,
        national_response=plan.triage.national_psii_response if psii_required else None,
    )


def triage(facts: IncidentFacts, plan: Plan, rules: NationalRuleSet) -> Recommendation:
    """Recommend a response for an incident. Pure: the same inputs give the same result.

    Args:
        facts: What is known about the incident.
        plan: The trust's plan in force.
        rules: The national rule set in force.

    Returns:
        The recommendation, with every rule reference that produced it.

    Raises:
        InvalidInput: If ``facts.extra`` names a fact the plan does not declare, or gives
            a value of another kind than the declared one.
    """
    check_extra_facts(facts, plan.facts)
    national = rules.matching(facts)
    psii_rules = [r for r in national if r.response is RequiredResponse.LOCALLY_LED_PSII]
    referral_rules = tuple(r for r in national if r not in psii_rules)
    referrals = tuple(_referral(r, rules) for r in referral_rules)
    override = OverrideRequirement(rule_refs=tuple(r.ref for r in national)) if national else None
    matched = matching_priorities(facts, plan)
    local_default = None
    if psii_rules:
        local = _national_psii(plan, matched)
    else:
        local = _local_for(plan, matched, emergent_risk=facts.emergent_risk)
        expects = _strongest(referral_rules)
        if expects is not None:
            if expects is not LocalResponse.DECIDED_BY_BODY:
                local_default = local.default
            local = _with_referrals(plan, local, expects)
    variant = None if local.default is None else plan.variant_of(local.default)
    retention_name, retention = plan.retention.class_for(
        () if variant is None else (variant,), national_requirement=bool(national)
    )
    return Recommendation(
        incident_id=facts.incident_id,
        plan_ref=plan.ref,
        rules_version=rules.version,
        pathway=Pathway.NATIONAL_REQUIREMENT if national else local.pathway,
        national_rules=tuple(r.ref for r in national),
        priorities=local.priorities,
        default_response=local.default,
        default_variant=variant,
        allowed_responses=local.allowed,
        improvement_plan=local.improvement_plan,
        thematic_review=local.thematic_review,
        referrals=referrals,
        decided_by=local.decided_by,
        executive_decision_required=facts.emergent_risk and not psii_rules,
        no_further_response_allowed=local.no_further_response_allowed and not national,
        override=override,
        retention_class=retention_name,
        retention_years=retention.years,
        expected_local_response=_strongest(national),
        local_default=local_default,
        notifications=notification_steps(facts, plan),
        thematic_reviews_matched=thematic_reviews_met(facts, plan),
    )


def notification_steps(facts: IncidentFacts, plan: Plan) -> tuple[str, ...]:
    """The ids of the plan's regulator notification steps ``facts`` meet, in plan order."""
    return tuple(step.id for step in plan.notifications if evaluate(step.when, facts))


def thematic_reviews_met(facts: IncidentFacts, plan: Plan) -> tuple[str, ...]:
    """The ids of the scheduled thematic reviews whose criteria ``facts`` meet, in plan order.

    A review without criteria gathers incidents by priority (``Priority.thematic_review``)
    and is never listed here.
    """
    return tuple(
        review.id
        for review in plan.thematic_reviews
        if review.criteria is not None and evaluate(review.criteria, facts)
    )


def intake_payload(recommendation: Recommendation, rules: NationalRuleSet) -> dict[str, object]:
    """The payload that records ``recommendation`` on an intake case (``record_triage``).

    Splits the matched national rules into all of them and those requiring a locally-led
    PSII, which the intake lifecycle's guards need to tell a PSII requirement from a
    referral (psirf-rules §3). The plan priorities matched are recorded even when a national
    PSII outranks them, and the plan's ``id@version`` is the one the guards compare with the
    version the case runs under; from these the guards rebuild the plan's choices
    ([`decision_frame`][psirf_flow.policy.triage.decision_frame]). Only ids and codes: nothing from
    the incident's narrative.

    Args:
        recommendation: What [`triage`][psirf_flow.policy.triage.triage] returned.
        rules: The national rule set it was computed with.
    """
    by_ref = {rule.ref: rule for rule in rules.rules}
    psii = tuple(
        ref
        for ref in recommendation.national_rules
        if ref in by_ref and by_ref[ref].response is RequiredResponse.LOCALLY_LED_PSII
    )
    payload: dict[str, object] = {
        "national_rule_refs": list(recommendation.national_rules),
        "national_psii_rule_refs": list(psii),
        "plan_priority_ids": list(recommendation.priorities),
        "plan_ref": recommendation.plan_ref,
        "executive_decision_required": recommendation.executive_decision_required,
    }
    if recommendation.default_response is not None:
        payload["recommended_response"] = recommendation.default_response
    met = _reviews_met(recommendation)
    if met:
        payload["thematic_reviews_met"] = list(met)
    return payload


def _reviews_met(recommendation: Recommendation) -> tuple[str, ...]:
    """The scheduled thematic reviews an incident may be added to (psirf-rules §2, LOCAL).

    Those whose criteria it met (``thematic_reviews_matched``, in plan order), then the one
    its priority routes it to (``thematic_review``), each once. ``record_triage`` records
    them as ``thematic_reviews_met``; under a plan ``add_to_thematic_review`` takes no other.
    """
    met = list(recommendation.thematic_reviews_matched)
    if recommendation.thematic_review is not None and recommendation.thematic_review not in met:
        met.append(recommendation.thematic_review)
    return tuple(met)
