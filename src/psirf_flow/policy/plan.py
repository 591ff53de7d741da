"""The trust's patient safety incident response plan (PSIRP) as frozen records.

A plan says how a trust will respond to patient safety incidents during its period: which
local priorities it has and the planned response for each, which response types it uses
(including ones it coins itself) and who decides and signs each off, its timescales, its
duty of candour targets, its bank-holiday calendar, its escalation ladders and its record
retention classes. It is written as TOML (see ``docs/reference/plan-format.md`` and
``examples/plan-mental-health-community-trust.toml``) and loaded with
[`psirf_flow.policy.load_plan`][psirf_flow.policy.loading.load_plan].

Where the rules behind a setting are national law, national guidance or a local choice,
the setting carries a [`Basis`][psirf_flow.policy.plan.Basis] so that nothing local is presented as
law (psirf-rules §0.1): for instance the duty of candour day counts default to ``local``
because regulation 20 sets no day count (psirf-rules §4.2, S-R20), and the six-month PSII
cap is ``national_guidance`` whose wording is still unconfirmed (psirf-rules §4.1 ✖).

Every mistake a plan can hold is found by
[`plan_problems`][psirf_flow.policy.plan_checks.plan_problems], which the loader runs after
structuring, so a plan is either entirely valid or not loaded at all. The checks live in
[`psirf_flow.policy.plan_checks`][psirf_flow.policy.plan_checks].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.domain import Role
from psirf_flow.policy.calendars import Region, Timescale, TimeUnit, WorkingDayCalendar
from psirf_flow.policy.conditions import Condition
from psirf_flow.policy.facts import FactDeclaration


__all__ = [
    "DECIDER_ROLES",
    "DEFAULT_REFERRAL_NOTIFICATION",
    "DEFAULT_TRIAGE_REVIEW",
    "EXPIRY_ACTIONS",
    "EXPIRY_ACTION_LIFECYCLES",
    "PLAN_SCHEMA",
    "PSII_DEFAULT_HARD_CAP",
    "Approver",
    "Basis",
    "CalendarSettings",
    "CandourTargets",
    "ClockSettings",
    "Committee",
    "CommitteeKind",
    "Decider",
    "EmergentRiskSettings",
    "EscalationLadder",
    "EscalationTier",
    "LifecycleVariant",
    "LocalReferralBody",
    "OverrideSettings",
    "Plan",
    "PlanHeader",
    "PlanStatus",
    "Priority",
    "ProportionateSettings",
    "RegulatorNotification",
    "ReserveCapacity",
    "ResponseOptions",
    "ResponseType",
    "RetentionClass",
    "RetentionSettings",
    "ScheduledReview",
    "Scope",
    "TriageSettings",
    "to_decider",
]

PLAN_SCHEMA: Final = 1
"""The plan file format this release reads (the ``schema`` key)."""

DECIDER_ROLES: Final = (
    Role.PATIENT_SAFETY_SPECIALIST,
    Role.SENIOR_LEADER,
    Role.EXECUTIVE_LEAD,
)
"""The roles a plan may name in ``decided_by`` (a committee may be named instead): the
intake's decision steps let them act, and the plan's guard checks who decides
(psirf-rules §5: who decides is local; oversight roles never act)."""

PSII_DEFAULT_HARD_CAP: Final = Timescale(6, TimeUnit.MONTHS)
"""The default hard cap for a PSII: six months (psirf-rules §4.1, NAT-G, ✖ wording)."""


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


class Basis(StrEnum):
    """Where a setting's rule comes from (psirf-rules §0.1); local choices are never law."""

    STATUTORY = "statutory"
    """Set by statute or regulation (HARD)."""
    CONTRACTUAL = "contractual"
    """Set by the NHS Standard Contract or a commissioning contract."""
    NATIONAL_GUIDANCE = "national_guidance"
    """NHS England guidance expressed as an expectation (NAT-G)."""
    LOCAL = "local"
    """The trust's own choice (LOCAL)."""


class PlanStatus(StrEnum):
    """How far the plan has been approved (psirf-rules §1.8: board and ICB sign-off)."""

    DRAFT = "draft"
    BOARD_APPROVED = "board_approved"
    ICB_AGREED_PROVISIONALLY = "icb_agreed_provisionally"
    ICB_AGREED = "icb_agreed"


class LifecycleVariant(StrEnum):
    """The built-in learning-response lifecycles a response type can run on.

    These are the names of
    [`psirf_flow.workflows.LEARNING_RESPONSES`][psirf_flow.workflows.learning_response.definition.LEARNING_RESPONSES]
    (psirf-rules §2); the policy package does not import the workflows package, and a test keeps the
    two lists equal.
    """

    PSII = "psii"
    AFTER_ACTION_REVIEW = "after_action_review"
    SWARM_HUDDLE = "swarm_huddle"
    HOT_DEBRIEF = "hot_debrief"
    MDT_REVIEW = "mdt_review"
    THEMATIC_REVIEW = "thematic_review"


@attrs.frozen(kw_only=True)
class PlanHeader:
    """Who the plan belongs to, its version, its period and its approval status.

    Attributes:
        id: The plan's opaque id, for example ``"rx4-psirp"``.
        version: The plan's version, for example ``"2.1"``; triage records ``id@version``.
        organisation: The organisation's code (an ODS code, for instance).
        title: A short title shown to people.
        status: How far the plan has been approved.
        effective_from: First day the plan applies.
        effective_to: Last day the plan applies, if fixed (plans often run 12-24 months,
            psirf-rules §1.8, LOCAL).
        review_date: When the plan is next reviewed.
        board_approved_on: When the trust board approved it (needed from ``board_approved``).
        icb_agreed_on: When the ICB agreed it (needed for either ICB status).
    """

    id: str
    version: str
    organisation: str
    title: str = ""
    status: PlanStatus = PlanStatus.DRAFT
    effective_from: date
    effective_to: date | None = None
    review_date: date
    board_approved_on: date | None = None
    icb_agreed_on: date | None = None


@attrs.frozen(kw_only=True)
class CalendarSettings:
    """Which days count as working days (duty of candour targets, working-day timescales).

    Attributes:
        region: Whose bank holidays apply.
        closure_days: The trust's own non-working days.
    """

    region: Region = Region.ENGLAND_AND_WALES
    closure_days: tuple[date, ...] = ()

    def working_calendar(self) -> WorkingDayCalendar:
        """The `WorkingDayCalendar` these settings describe."""
        return WorkingDayCalendar(self.region, self.closure_days)


@attrs.frozen(kw_only=True)
class Approver:
    """One approver in a sign-off chain: a role or a named committee (exactly one).

    Attributes:
        role: The role that approves.
        committee: The opaque id of the committee that approves, for example
            ``"patient-safety-group"`` (psirf-rules §5: delegated committee, LOCAL).
    """

    role: Role | None = None
    committee: str | None = None


class CommitteeKind(StrEnum):
    """What kind of governance group a committee is (psirf-rules §5, LOCAL)."""

    COMMITTEE = "committee"
    """A standing committee, for example a patient safety group."""
    PANEL = "panel"
    """A panel convened for decisions or reviews, for example a rapid review panel."""


@attrs.frozen(kw_only=True)
class Committee:
    """A governance group the plan names as a decider or approver (``[committees.<id>]``).

    Who sits on it comes from the host, like roles (``Actor.committees``); a decision or
    approval by the group is recorded by one of its members with the meeting's reference
    (psirf-rules §5: decisions delegated to a committee are a local choice).

    Attributes:
        title: What people call it.
        kind: A standing committee or a panel.
    """

    title: str = ""
    kind: CommitteeKind = CommitteeKind.COMMITTEE


def to_decider(value: object) -> Decider:
    """A `Decider` from itself, a `Role` or a role's name (backward compatible)."""
    if isinstance(value, Decider):
        return value
    if isinstance(value, str):
        return Decider(role=Role(value))
    raise TypeError(type(value).__name__)


@attrs.frozen(kw_only=True)
class Decider:
    """Who decides a response: a role, or a committee the plan declares (exactly one).

    Written ``decided_by = "senior_leader"`` or ``decided_by = { committee = "..." }``
    (psirf-rules §5: who decides is the plan's local choice). A committee's decision is
    recorded by one of its members with the meeting's reference.

    Attributes:
        role: The role that decides.
        committee: The id of the committee that decides (declared under ``[committees]``).
    """

    role: Role | None = None
    committee: str | None = None

    def __str__(self) -> str:
        return self.role.value if self.role is not None else f"committee {self.committee}"


@attrs.frozen(kw_only=True)
class ResponseType:
    """A response type the trust uses, built-in or coined locally, and how it is run.

    A trust may coin its own response types (a round table review, a rapid review) and map
    each onto one of the built-in lifecycles (psirf-rules §2, LOCAL ✔).

    Attributes:
        maps_to: The lifecycle it runs on.
        title: Its name as people know it.
        timescale: The planned time to complete, if the plan sets one (PSII ordinarily
            1-3 months, psirf-rules §4.1 ✖; other types are local, §2).
        timescale_basis: Where the timescale comes from.
        hard_cap: The longest it may take before an executive override is needed. Unset
            means six months for a PSII
            ([`PSII_DEFAULT_HARD_CAP`][psirf_flow.policy.plan.PSII_DEFAULT_HARD_CAP]) and no cap
            otherwise.
        hard_cap_basis: Where the hard cap comes from.
        decided_by: Who decides, case by case, to use this response type: a role or a
            committee ([`Decider`][psirf_flow.policy.plan.Decider]); a national requirement's PSII
            is decided by the ``decided_by`` of ``triage.national_psii_response``.
        sign_off: Who approves the finished response, in order; one entry for a single
            approver, several for a sign-off chain (psirf-rules §5, SoD 2).
        escalation_ladder: The escalation ladder used when it runs late, if any.
        terms_of_reference_required: Terms of reference (and, where the response has a
            clock, an agreed target date) must be recorded before gathering starts
            (psirf-rules §6 stage 4, NAT-G ◐ for a PSII, LOCAL otherwise). Unset means on
            for the ``psii`` lifecycle and off for the others (see
            [`needs_terms_before_gathering`][psirf_flow.policy.plan.ResponseType.needs_terms_before_gathering]).
        sharing_step: The approved response is shared before it is closed (psirf-rules §6
            stage 9). When false, the response may be closed straight from approval
            (``close_without_sharing``); default true.
    """

    maps_to: LifecycleVariant
    title: str = ""
    timescale: Timescale | None = None
    timescale_basis: Basis = Basis.LOCAL
    hard_cap: Timescale | None = None
    hard_cap_basis: Basis = Basis.NATIONAL_GUIDANCE
    decided_by: Decider = attrs.field(
        default=Decider(role=Role.PATIENT_SAFETY_SPECIALIST), converter=to_decider
    )
    sign_off: tuple[Approver, ...]
    escalation_ladder: str | None = None
    terms_of_reference_required: bool | None = None
    sharing_step: bool = True

    @property
    def needs_terms_before_gathering(self) -> bool:
        """Whether gathering waits for terms of reference; the psii lifecycle's default is on."""
        if self.terms_of_reference_required is not None:
            return self.terms_of_reference_required
        return self.maps_to is LifecycleVariant.PSII

    @property
    def effective_hard_cap(self) -> Timescale | None:
        """The hard cap, with the six-month default for a PSII applied."""
        if self.hard_cap is not None:
            return self.hard_cap
        return PSII_DEFAULT_HARD_CAP if self.maps_to is LifecycleVariant.PSII else None


@attrs.frozen(kw_only=True)
class Scope:
    """Where a priority applies; an empty list means "any".

    Attributes:
        service_lines: Service line codes, for example ``"community_mental_health"``.
        settings: Setting codes, for example ``"inpatient_ward"``.
        patient_groups: Patient group codes, for example ``"detained_mha"``; the incident
            matches when the person belongs to any of them.
    """

    service_lines: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    patient_groups: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the scope places no limit at all."""
        return not (self.service_lines or self.settings or self.patient_groups)


@attrs.frozen(kw_only=True)
class ResponseOptions:
    """The responses a priority allows and the one it plans by default.

    Attributes:
        allowed: Response type names the decider may choose.
        default: The planned response; required unless the priority routes to an
            improvement plan, in which case that routing is the default.
    """

    allowed: tuple[str, ...] = ()
    default: str | None = None


@attrs.frozen(kw_only=True)
class Priority:
    """A local priority of the plan and its planned response (psirf-rules §1.8, §6 stage 2b).

    The planned response is a default recommendation: the role in ``decided_by`` confirms
    it or changes it case by case, and a change is recorded with a reason by the intake
    lifecycle.

    Attributes:
        id: Unique, opaque id, recorded by triage as ``plan@version#id``.
        title: What people call it.
        basis: Where it comes from (normally ``local``).
        criteria: The condition an incident must meet, if any.
        scope: Where it applies.
        responses: Allowed responses and the default.
        timescales: Timescales for this priority by response type, overriding the
            response type's own.
        decided_by: Who confirms or changes the planned response: a role or a committee
            ([`Decider`][psirf_flow.policy.plan.Decider]); enforced at the intake decision when the
            engine runs under the plan.
        improvement_plan: The opaque id of an existing improvement plan that incidents are
            routed to instead of a learning response (for example falls, pressure ulcers).
        thematic_review: The id of a scheduled thematic review that gathers these incidents.
        no_further_response_allowed: Whether the decider may choose no further response.
        departure_permitted: Whether the decider may choose a response outside
            ``responses.allowed`` (a departure from the plan), with a reason code; each
            departure is listed for oversight (psirf-rules §0.5 rule 1, §1.8, LOCAL).
    """

    id: str
    title: str = ""
    basis: Basis = Basis.LOCAL
    criteria: Condition | None = None
    scope: Scope = Scope()
    responses: ResponseOptions = ResponseOptions()
    timescales: Mapping[str, Timescale] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_frozen_mapping
    )
    decided_by: Decider = attrs.field(
        default=Decider(role=Role.PATIENT_SAFETY_SPECIALIST), converter=to_decider
    )
    improvement_plan: str | None = None
    thematic_review: str | None = None
    no_further_response_allowed: bool = False
    departure_permitted: bool = False


@attrs.frozen(kw_only=True)
class ScheduledReview:
    """A thematic review run on a schedule (psirf-rules §2: thematic review, LOCAL).

    Attributes:
        id: Unique, opaque id.
        title: What people call it.
        response_type: The response type used (must run on the ``thematic_review`` lifecycle).
        every: How often it runs.
        first_due: When the first one is due.
        criteria: Which incidents it gathers, if it gathers by condition.
    """

    id: str
    title: str = ""
    response_type: str
    every: Timescale
    first_due: date
    criteria: Condition | None = None


@attrs.frozen(kw_only=True)
class ReserveCapacity:
    """Capacity kept for extra PSIIs on emerging themes (psirf-rules §0.5 rule 1, LOCAL).

    Attributes:
        extra_psiis: How many extra PSIIs the plan holds in reserve per period.
        period_months: The period, in months.
        response_type: The response type the reserve is for (must run on ``psii``).
        decided_by: Who may draw on the reserve.
    """

    extra_psiis: int = 0
    period_months: int = 12
    response_type: str = "psii"
    decided_by: Role = Role.EXECUTIVE_LEAD


@attrs.frozen(kw_only=True)
class LocalReferralBody:
    """A local body the trust refers incidents to, beyond those national rules name.

    Written ``[referral_bodies.<id>]``. With a plan, a referral goes to a body a recorded
    national requirement names (psirf-rules §3) or to one of these (LOCAL); the id is what
    referrals record.

    Attributes:
        name: The body's name as people know it.
        route: How referrals are made, where the plan says (informational).
    """

    name: str
    route: str = ""


@attrs.frozen(kw_only=True)
class RegulatorNotification:
    """A notification step the plan declares for incidents meeting a condition.

    Written ``[[notifications]]``: for example the CQC's notification criteria (death,
    serious injury, abuse, events that stop a service running; psirf-rules §3 "related
    non-PSIRF notifications", INF, fields ✔ in LFPSE v5). Triage lists the steps whose
    ``when`` an incident meets ([`notifications`][psirf_flow.policy.triage.Recommendation]);
    the intake records each before the response is decided or the referral closed.

    Attributes:
        id: Unique, opaque id, recorded by the intake.
        body: The body notified, an opaque id (for example ``"cqc"``).
        title: What people call the step.
        when: The condition over incident facts that makes the step required.
    """

    id: str
    body: str
    title: str = ""
    when: Condition


@attrs.frozen(kw_only=True)
class CandourTargets:
    """Local targets for the duty of candour steps, in working days.

    Regulation 20 says "as soon as reasonably practicable" and sets no number of days
    (psirf-rules §4.2, S-R20 ✔). Ten working days is a convention from the 2013/14 NHS
    Standard Contract kept by many trusts (◐), so it is a *local or contractual target*,
    never statutory: a plan that labels it ``statutory`` is refused.

    Attributes:
        verbal_working_days: Target for the in-person notification, from awareness.
        written_working_days: Target for the written notification, from the verbal one.
        findings_working_days: Target for sharing findings after the learning response is
            approved (psirf-rules §9.3 ``doc_results``, INF).
        basis: Where the targets come from: ``local`` or ``contractual``.
        notify_no_or_low_harm: Whether the trust also notifies incidents of no or low harm,
            which regulation 20 does not require (issue 5 item 4).
        escalation_ladder: The ladder used when a target is missed, if any.
    """

    verbal_working_days: int = 10
    written_working_days: int = 10
    findings_working_days: int = 10
    basis: Basis = Basis.LOCAL
    notify_no_or_low_harm: bool = False
    escalation_ladder: str | None = None


EXPIRY_ACTIONS: Final = frozenset({"convert_to_after_action_review"})
"""The actions a ladder's tier may apply to a case when it fires (``action``): triggers a
lifecycle offers to psirf_flow itself. ``convert_to_after_action_review`` turns a swarm
huddle that was not held in time into an after action review (psirf-rules §4.1: the
swarm's hours are LOCAL, so what happens when they pass is the plan's choice)."""

EXPIRY_ACTION_LIFECYCLES: Final[Mapping[str, frozenset[LifecycleVariant]]] = MappingProxyType(
    {"convert_to_after_action_review": frozenset({LifecycleVariant.SWARM_HUDDLE})}
)
"""The lifecycles that offer each expiry action: a ladder carrying one may be named only by
response types running on them (a PSII has no step to convert it)."""


@attrs.frozen(kw_only=True)
class EscalationTier:
    """One step of an escalation ladder: a warning before the due date, or a tier at or after it.

    Exactly one of ``before`` and ``after`` is given. A tier ``before`` the due date is a
    *warning* (it fires at 00:00 local on the Wth working day before the due date, for a
    working-day offset); a tier ``after`` is the *breach* when zero (it fires when the
    deadline is breached) and an *escalation* otherwise (psirf-rules §9.4, INF). The
    counting rules are [`psirf_flow.policy.timing`][psirf_flow.policy.timing].

    Attributes:
        before: How long before the due date this warning fires.
        after: How long after the deadline this tier is reached (zero: at the deadline).
        notify: The roles told when it is reached.
        action: A trigger applied to the case, as psirf_flow itself, when the tier fires
            (one of [`EXPIRY_ACTIONS`][psirf_flow.policy.plan.EXPIRY_ACTIONS]), or ``None``.
    """

    before: Timescale | None = None
    after: Timescale | None = None
    notify: tuple[Role, ...]
    action: str | None = None

    @property
    def offset(self) -> Timescale:
        """``before`` for a warning, else ``after`` (zero when neither is given)."""
        if self.before is not None:
            return self.before
        return self.after if self.after is not None else Timescale(0, TimeUnit.HOURS)

    @property
    def stage(self) -> str:
        """``"warning"``, ``"breach"`` or ``"escalation"``: the tier against the due date."""
        if self.before is not None:
            return "warning"
        if self.after is None or self.after.amount == 0:
            return "breach"
        return "escalation"


@attrs.frozen(kw_only=True)
class EscalationLadder:
    """Who is told, and when, as a deadline approaches and slips (psirf-rules §9.4, INF).

    Attributes:
        tiers: The steps, in the order they fire: warnings first (the earliest, with the
            longest ``before``, first), then the tiers at and after the deadline.
    """

    tiers: tuple[EscalationTier, ...]


DEFAULT_TRIAGE_REVIEW: Final = Timescale(72, TimeUnit.HOURS)
"""The default triage review clock: 72 hours from the report (LOCAL; the legacy anchor is
the Serious Incident Framework's "72 hour report", psirf-rules §4.4 ◐)."""

DEFAULT_REFERRAL_NOTIFICATION: Final = Timescale(2, TimeUnit.WORKING_DAYS)
"""The default time to notify a body of a referral: 2 working days (LOCAL; the legacy
anchor is the SIF's two working days to report, psirf-rules §4.4 ✖ recalled)."""


@attrs.frozen(kw_only=True)
class ClockSettings:
    """The plan's own clocks for the steps no national rule times (``[timescales]``).

    Every setting here is **local**: PSIRF removed the Serious Incident Framework's fixed
    timelines and sets no national clock for triage or for a referral's first notice
    (psirf-rules §4.1, last row: non-PSII timings are local), so these are the trust's
    choices, never law. The defaults echo legacy practice only as a starting point: the
    SIF's "72 hour report" (psirf-rules §4.4, ◐) for the initial triage review and the
    SIF's "2 working days" to report a serious incident (§4.4, ✖ recalled) for telling an
    external body about a referral.

    Attributes:
        triage_review: From an incident's report to its response decision, referral or
            transfer (default 72 hours, real elapsed time).
        triage_review_ladder: The escalation ladder for a late triage review (``None``:
            the default ladder, a breach to the patient safety specialist).
        referral_notification: From a referral's opening to its notification of the body
            (default 2 working days).
        referral_ladder: The escalation ladder for a late referral notification.
        safety_action_ladder: The escalation ladder for an overdue safety action (a safety
            action falls due on its own agreed ``due_on`` date, so it has no timescale
            here).
    """

    triage_review: Timescale = DEFAULT_TRIAGE_REVIEW
    triage_review_ladder: str | None = None
    referral_notification: Timescale = DEFAULT_REFERRAL_NOTIFICATION
    referral_ladder: str | None = None
    safety_action_ladder: str | None = None


@attrs.frozen(kw_only=True)
class RetentionClass:
    """How long records of a kind are kept (psirf-rules §4.5, §7.2; S-RMCOP ✔).

    Attributes:
        years: Years to keep records, from the date of the incident.
        applies_to_variants: Lifecycles whose records fall in this class.
        applies_to_national_requirements: Whether records of incidents meeting a national
            requirement fall in this class.
        basis: Where the period comes from.
    """

    years: int
    applies_to_variants: tuple[LifecycleVariant, ...] = ()
    applies_to_national_requirements: bool = False
    basis: Basis = Basis.NATIONAL_GUIDANCE


def _default_retention_classes() -> Mapping[str, RetentionClass]:
    return MappingProxyType(
        {
            "serious": RetentionClass(
                years=20,
                applies_to_variants=(LifecycleVariant.PSII,),
                applies_to_national_requirements=True,
            ),
            "standard": RetentionClass(years=10),
        }
    )


@attrs.frozen(kw_only=True)
class RetentionSettings:
    """The plan's retention classes and the one used when none other applies.

    The defaults follow the Records Management Code of Practice as summarised in
    psirf-rules §4.5: 20 years for serious-incident records, mapped under PSIRF to PSII and
    national-requirement records (INF), and 10 years otherwise.

    Attributes:
        classes: The classes by name.
        default_class: The class used when no other applies.
    """

    classes: Mapping[str, RetentionClass] = attrs.field(
        factory=_default_retention_classes, converter=_frozen_mapping
    )
    default_class: str = "standard"

    def class_for(
        self, variants: Iterable[LifecycleVariant], *, national_requirement: bool
    ) -> tuple[str, RetentionClass]:
        """The class, by name, for records of these lifecycles; the longest that applies.

        Args:
            variants: The lifecycles the case's responses run on.
            national_requirement: Whether the incident met a national requirement.
        """
        wanted = set(variants)
        applicable = [
            (name, rc)
            for name, rc in self.classes.items()
            if wanted.intersection(rc.applies_to_variants)
            or (national_requirement and rc.applies_to_national_requirements)
        ]
        if not applicable:
            return self.default_class, self.classes[self.default_class]
        return max(applicable, key=lambda item: (item[1].years, item[0]))


@attrs.frozen(kw_only=True)
class EmergentRiskSettings:
    """How an emergent or significant risk outside the plan is decided (psirf-rules §0.5 rule 1).

    Attributes:
        decided_by: Who decides (an authorised executive; LOCAL ✔ Croydon): a role or a
            committee.
        allowed: Response types that may be chosen; empty means any in the plan.
        default: A suggested response, if the plan suggests one.
        departure_permitted: Whether a response outside ``allowed`` may be chosen with a
            reason (listed for oversight).
    """

    decided_by: Decider = attrs.field(
        default=Decider(role=Role.EXECUTIVE_LEAD), converter=to_decider
    )
    allowed: tuple[str, ...] = ()
    default: str | None = None
    departure_permitted: bool = False


@attrs.frozen(kw_only=True)
class ProportionateSettings:
    """How incidents matching nothing else are handled (psirf-rules §1, step d).

    Attributes:
        decided_by: Who chooses a proportionate response (or none): a role or a committee.
        allowed: Response types that may be chosen; empty means any in the plan.
        no_further_response_allowed: Whether "no further response" may be chosen.
        departure_permitted: Whether a response outside ``allowed`` may be chosen with a
            reason (listed for oversight).
    """

    decided_by: Decider = attrs.field(
        default=Decider(role=Role.PATIENT_SAFETY_SPECIALIST), converter=to_decider
    )
    allowed: tuple[str, ...] = ()
    no_further_response_allowed: bool = True
    departure_permitted: bool = False


@attrs.frozen(kw_only=True)
class TriageSettings:
    """Triage settings beyond the priorities.

    Attributes:
        national_psii_response: The response type used when a national requirement asks
            for a locally-led PSII (must run on the ``psii`` lifecycle).
        emergent_risk: How emergent or significant risks are decided.
        proportionate: How everything else is handled.
    """

    national_psii_response: str = "psii"
    emergent_risk: EmergentRiskSettings = EmergentRiskSettings()
    proportionate: ProportionateSettings = ProportionateSettings()


@attrs.frozen(kw_only=True)
class OverrideSettings:
    """The plan's own words for why an override was made (psirf-rules §5 SoD 7, §4.1).

    An override (for instance going beyond a PSII's hard cap) is chosen with a rationale
    code from a built-in vocabulary; a trust adds its own codes here, and every override
    may also cite an artefact (a reference to a document the host holds).

    Attributes:
        rationale_codes: Extra rationale codes, accepted besides the built-in ones.
    """

    rationale_codes: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Plan:
    """A trust's whole patient safety incident response plan.

    Attributes:
        schema: The plan file format ([`PLAN_SCHEMA`][psirf_flow.policy.plan.PLAN_SCHEMA]).
        plan: Identity, period and approval status.
        calendar: Working-day calendar settings.
        response_types: Response types by name (built-in names or the trust's own).
        triage: National PSII response, emergent-risk and proportionate settings.
        priorities: Local priorities, in order of precedence.
        thematic_reviews: Thematic reviews on a schedule.
        reserve_capacity: PSII capacity held for emerging themes.
        duty_of_candour: Local duty of candour targets.
        escalation_ladders: Escalation ladders by name.
        timescales: The plan's local clocks for triage, referrals and safety actions
            (``[timescales]``).
        retention: Record retention classes.
        facts: The plan's own facts for its conditions, by name (``[facts.<name>]``), beside
            the built-in ones; their values come in ``IncidentFacts(extra={...})``.
        committees: Governance groups (committees and panels) by id, which ``decided_by``
            and ``sign_off`` may name.
        referral_bodies: Local referral bodies by id (``[referral_bodies.<id>]``).
        notifications: Regulator notification steps (``[[notifications]]``).
        overrides: Extra rationale codes for overrides.
    """

    schema: int = PLAN_SCHEMA
    plan: PlanHeader
    calendar: CalendarSettings = CalendarSettings()
    response_types: Mapping[str, ResponseType] = attrs.field(converter=_frozen_mapping)
    triage: TriageSettings = TriageSettings()
    priorities: tuple[Priority, ...] = ()
    thematic_reviews: tuple[ScheduledReview, ...] = ()
    reserve_capacity: ReserveCapacity = ReserveCapacity()
    duty_of_candour: CandourTargets = CandourTargets()
    escalation_ladders: Mapping[str, EscalationLadder] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_frozen_mapping
    )
    timescales: ClockSettings = ClockSettings()
    retention: RetentionSettings = RetentionSettings()
    facts: Mapping[str, FactDeclaration] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_frozen_mapping
    )
    committees: Mapping[str, Committee] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_frozen_mapping
    )
    referral_bodies: Mapping[str, LocalReferralBody] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_frozen_mapping
    )
    notifications: tuple[RegulatorNotification, ...] = ()
    overrides: OverrideSettings = OverrideSettings()

    @property
    def ref(self) -> str:
        """``id@version``, as recorded by triage."""
        return f"{self.plan.id}@{self.plan.version}"

    def priority_ref(self, priority: Priority) -> str:
        """``id@version#priority``, as recorded by triage."""
        return f"{self.ref}#{priority.id}"

    def variant_of(self, response_type: str) -> LifecycleVariant:
        """The lifecycle a response type runs on.

        Raises:
            KeyError: If the plan has no such response type.
        """
        return self.response_types[response_type].maps_to

    def response_variants(self) -> dict[str, str]:
        """Every response type's name mapped to its lifecycle's name (for the outbox relay)."""
        return {name: rt.maps_to.value for name, rt in self.response_types.items()}

    def working_calendar(self) -> WorkingDayCalendar:
        """The plan's working-day calendar."""
        return self.calendar.working_calendar()

    def timescale_for(self, response_type: str, priority_id: str | None = None) -> Timescale | None:
        """The timescale of a response of ``response_type`` commissioned under a priority.

        The priority's own timescale for that response type when it sets one
        ([`Priority.timescales`][psirf_flow.policy.plan.Priority]), else the response type's
        ``timescale``; ``None`` when neither sets one or the plan has no such response type. An
        unknown ``priority_id`` falls back to the response type.
        """
        if priority_id is not None:
            for priority in self.priorities:
                if priority.id == priority_id and response_type in priority.timescales:
                    return priority.timescales[response_type]
        found = self.response_types.get(response_type)
        return None if found is None else found.timescale
