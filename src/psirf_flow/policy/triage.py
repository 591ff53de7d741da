"""Triage: from an incident's facts, the plan and the national rules, a recommended response.

:func:`triage` is a pure function. It follows the order PSIRF sets out (psirf-rules §0.5
rule 1, §1 design consequence, §6 stage 2):

1. **National requirement.** If any national rule matches, the incident must get the
   response it requires: a locally-led PSII (the plan's ``triage.national_psii_response``)
   or a referral to a body, or support for another body's review. "No further response"
   is never allowed, and setting the requirement aside needs an executive override with a
   reason (:class:`OverrideRequirement`; recorded by the intake lifecycle, INF §5 SoD 7).
   A referral that may need a local response alongside goes on to the next steps to find
   that local response.
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
from psirf_flow.policy.facts import IncidentFacts
from psirf_flow.policy.national import NationalRule, NationalRuleSet, RequiredResponse
from psirf_flow.policy.plan import LifecycleVariant, Plan, Priority


__all__ = [
    "IncidentFacts",
    "OverrideRequirement",
    "Pathway",
    "Recommendation",
    "Referral",
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
        local_response_may_be_required: Whether a local response may be needed as well.
    """

    rule_ref: str
    required: RequiredResponse
    bodies: tuple[str, ...]
    body_names: tuple[str, ...]
    local_response_may_be_required: bool


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
        decided_by: The role that confirms or changes the recommendation.
        change_requires_reason: Always true: a change from the default needs a reason.
        executive_decision_required: Whether an executive must decide.
        no_further_response_allowed: Whether "no further response" may be chosen; never
            when a national requirement matched.
        override: What setting the national requirement aside must reference, if one matched.
        retention_class: The retention class the recommendation implies.
        retention_years: Its period in years.
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
    decided_by: Role
    change_requires_reason: bool = True
    executive_decision_required: bool = False
    no_further_response_allowed: bool = False
    override: OverrideRequirement | None = None
    retention_class: str
    retention_years: int
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
        local_response_may_be_required=rule.local_response_may_be_required,
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
    decided_by: Role
    no_further_response_allowed: bool


def _local(facts: IncidentFacts, plan: Plan) -> _Local:
    matched = matching_priorities(facts, plan)
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
        )
    if facts.emergent_risk:
        er = plan.triage.emergent_risk
        return _Local(
            pathway=Pathway.EMERGENT_RISK,
            default=er.default,
            allowed=er.allowed or every_type,
            decided_by=er.decided_by,
            no_further_response_allowed=True,
        )
    pr = plan.triage.proportionate
    return _Local(
        pathway=Pathway.PROPORTIONATE,
        allowed=pr.allowed or every_type,
        decided_by=pr.decided_by,
        no_further_response_allowed=pr.no_further_response_allowed,
    )


def triage(facts: IncidentFacts, plan: Plan, rules: NationalRuleSet) -> Recommendation:
    """Recommend a response for an incident. Pure: the same inputs give the same result.

    Args:
        facts: What is known about the incident.
        plan: The trust's plan in force.
        rules: The national rule set in force.

    Returns:
        The recommendation, with every rule reference that produced it.
    """
    national = rules.matching(facts)
    psii_rules = [r for r in national if r.response is RequiredResponse.LOCALLY_LED_PSII]
    referrals = tuple(_referral(r, rules) for r in national if r not in psii_rules)
    override = OverrideRequirement(rule_refs=tuple(r.ref for r in national)) if national else None
    if psii_rules:
        psii = plan.triage.national_psii_response
        local = _Local(
            pathway=Pathway.NATIONAL_REQUIREMENT,
            default=psii,
            allowed=(psii,),
            decided_by=plan.response_types[psii].decided_by,
            no_further_response_allowed=False,
        )
    else:
        local = _local(facts, plan)
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
    referral (psirf-rules §3). Only ids and codes: nothing from the incident's narrative.

    Args:
        recommendation: What :func:`triage` returned.
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
    return payload
