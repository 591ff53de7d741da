"""PSIRF rules as data: the trust's plan, national requirements, calendars and triage.

Everything here is pure except two sanctioned reads, both in
[`psirf_flow.policy.loading`][psirf_flow.policy.loading]:
[`load_plan_file`][psirf_flow.policy.loading.load_plan_file] reads a file the caller names, and the
national requirements shipped with the library are read through `importlib.resources`.

Typical use:

```python
from psirf_flow.policy import IncidentFacts, load_national_rules, load_plan, triage

plan = load_plan(plan_text)              # PlanError lists every mistake, with lines
rules = load_national_rules()            # the shipped, versioned national requirements
advice = triage(IncidentFacts(incident_id="INC-1", categories={"falls"}), plan, rules)
advice.default_response, advice.rule_refs, advice.no_further_response_allowed
```
"""

from psirf_flow.policy.calendars import Region, Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.conditions import (
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    FactTest,
    Not,
    condition_problems,
    evaluate,
)
from psirf_flow.policy.facts import (
    FACTS,
    Duration,
    DurationUnit,
    FactDeclaration,
    FactKind,
    IncidentFacts,
    PhysicalHarm,
    PsychologicalHarm,
    check_extra_facts,
)
from psirf_flow.policy.governance import Governance, PlanBook
from psirf_flow.policy.loading import dump_plan, load_plan, load_plan_file
from psirf_flow.policy.national import (
    LocalResponse,
    NationalRule,
    NationalRuleSet,
    ReferralBody,
    RequiredResponse,
    RuleLevel,
    Verification,
    load_national_rules,
)
from psirf_flow.policy.plan import (
    DEFAULT_REFERRAL_NOTIFICATION,
    DEFAULT_TRIAGE_REVIEW,
    EXPIRY_ACTION_LIFECYCLES,
    EXPIRY_ACTIONS,
    PLAN_SCHEMA,
    PSII_DEFAULT_HARD_CAP,
    Approver,
    Basis,
    CalendarSettings,
    CandourTargets,
    ClockSettings,
    Committee,
    CommitteeKind,
    Decider,
    EmergentRiskSettings,
    EscalationLadder,
    EscalationTier,
    LifecycleVariant,
    LocalReferralBody,
    OverrideSettings,
    Plan,
    PlanHeader,
    PlanStatus,
    Priority,
    ProportionateSettings,
    RegulatorNotification,
    ReserveCapacity,
    ResponseOptions,
    ResponseType,
    RetentionClass,
    RetentionSettings,
    ScheduledReview,
    Scope,
    TriageSettings,
)
from psirf_flow.policy.plan_checks import plan_problems
from psirf_flow.policy.schema import plan_schema
from psirf_flow.policy.thematic import (
    ThematicReviewDue,
    commissioning_payload,
    gathered_reviews,
    not_yet_reviewed,
    thematic_reviews_due,
)
from psirf_flow.policy.triage import (
    OverrideRequirement,
    Pathway,
    Recommendation,
    Referral,
    intake_payload,
    matching_priorities,
    triage,
)


__all__ = [
    "DEFAULT_REFERRAL_NOTIFICATION",
    "DEFAULT_TRIAGE_REVIEW",
    "EXPIRY_ACTIONS",
    "EXPIRY_ACTION_LIFECYCLES",
    "FACTS",
    "PLAN_SCHEMA",
    "PSII_DEFAULT_HARD_CAP",
    "AllOf",
    "AnyOf",
    "Approver",
    "Basis",
    "CalendarSettings",
    "CandourTargets",
    "ClockSettings",
    "Committee",
    "CommitteeKind",
    "Comparison",
    "Condition",
    "Decider",
    "Duration",
    "DurationUnit",
    "EmergentRiskSettings",
    "EscalationLadder",
    "EscalationTier",
    "FactDeclaration",
    "FactKind",
    "FactTest",
    "Governance",
    "IncidentFacts",
    "LifecycleVariant",
    "LocalReferralBody",
    "LocalResponse",
    "NationalRule",
    "NationalRuleSet",
    "Not",
    "OverrideRequirement",
    "OverrideSettings",
    "Pathway",
    "PhysicalHarm",
    "Plan",
    "PlanBook",
    "PlanHeader",
    "PlanStatus",
    "Priority",
    "ProportionateSettings",
    "PsychologicalHarm",
    "Recommendation",
    "Referral",
    "ReferralBody",
    "Region",
    "RegulatorNotification",
    "RequiredResponse",
    "ReserveCapacity",
    "ResponseOptions",
    "ResponseType",
    "RetentionClass",
    "RetentionSettings",
    "RuleLevel",
    "ScheduledReview",
    "Scope",
    "ThematicReviewDue",
    "TimeUnit",
    "Timescale",
    "TriageSettings",
    "Verification",
    "WorkingDayCalendar",
    "check_extra_facts",
    "commissioning_payload",
    "condition_problems",
    "dump_plan",
    "evaluate",
    "gathered_reviews",
    "intake_payload",
    "load_national_rules",
    "load_plan",
    "load_plan_file",
    "matching_priorities",
    "not_yet_reviewed",
    "plan_problems",
    "plan_schema",
    "thematic_reviews_due",
    "triage",
]
