"""Cross-field checks of a plan: every mistake it can hold, reported together.

The records of [`psirf_flow.policy.plan`][psirf_flow.policy.plan] hold one setting each; the rules
that span settings are checked here by
[`plan_problems`][psirf_flow.policy.plan_checks.plan_problems], which the loader runs after
structuring, so a plan is either entirely valid or not loaded at all. Among them: approval dates
that match the plan's status (psirf-rules §1.8: board and ICB sign-off), references to response
types, ladders and thematic reviews that exist, a national PSII response and a reserve that run on
the ``psii`` lifecycle, timescales within the hard cap (the six-month PSII cap is
``national_guidance`` whose wording is unconfirmed, psirf-rules §4.1 ✖), and duty of candour targets
that are ``local`` or ``contractual``, never ``statutory``, because regulation 20 sets no day count
(psirf-rules §4.2, S-R20), and retention classes no shorter than the Records Management Code allows
(psirf-rules §4.5, §7.2; see
[`psirf_flow.policy.retention.minimum_problems`][psirf_flow.policy.retention.minimum_problems]).

[`PlanView`][psirf_flow.policy.plan_checks.PlanView] lets the loader cross-check whatever parts of a
faulty file could be read, so that cross-field problems are reported together with structural ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from psirf_flow.domain import OVERSIGHT_ROLES, Role, check_identifier
from psirf_flow.policy._problems import Path
from psirf_flow.policy.calendars import Timescale, TimeUnit
from psirf_flow.policy.conditions import Condition, condition_problems
from psirf_flow.policy.facts import DECLARABLE_KINDS, FACTS, FactDeclaration, FactKind
from psirf_flow.policy.plan import (
    DECIDER_ROLES,
    EXPIRY_ACTION_LIFECYCLES,
    EXPIRY_ACTIONS,
    PLAN_SCHEMA,
    Approver,
    Basis,
    CalendarSettings,
    CandourTargets,
    ClockSettings,
    Committee,
    Decider,
    EscalationLadder,
    LifecycleVariant,
    LocalReferralBody,
    OverrideSettings,
    Plan,
    PlanHeader,
    PlanStatus,
    Priority,
    RegulatorNotification,
    ReserveCapacity,
    ResponseType,
    RetentionSettings,
    ScheduledReview,
    TriageSettings,
)
from psirf_flow.policy.retention import minimum_problems


__all__ = ["PlanView", "plan_problems"]

_NEVER_SIGNS: Final = frozenset({*OVERSIGHT_ROLES, Role.REPORTER, Role.SYSTEM})
"""Roles no sign-off step may name (psirf-rules §5): they report, oversee or are the system."""
_FACT_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


@attrs.frozen
class PlanView:
    """The parts of a plan available for cross-checking, possibly incomplete.

    The loader builds one from whatever parts of a faulty file could be read, so that
    cross-field problems are reported together with structural ones. Names that are
    present in the file but could not be read are in the ``*_names`` sets, so that a
    reference to them is not reported as unknown; a set is ``None`` when the section
    itself could not be read, and references into it are then not checked.
    """

    schema: int | None
    header: PlanHeader | None
    calendar: CalendarSettings | None
    response_types: Sequence[tuple[str, ResponseType]]
    response_type_names: frozenset[str] | None
    triage: TriageSettings | None
    priorities: Sequence[tuple[int, Priority]]
    thematic_reviews: Sequence[tuple[int, ScheduledReview]]
    thematic_review_ids: frozenset[str] | None
    reserve_capacity: ReserveCapacity | None
    duty_of_candour: CandourTargets | None
    escalation_ladders: Sequence[tuple[str, EscalationLadder]]
    escalation_ladder_names: frozenset[str] | None
    retention: RetentionSettings | None
    # The plan's own facts (psirf-rules §1.8, LOCAL): the readable declarations, and every
    # name present (``None`` when the table itself could not be read).
    facts: Sequence[tuple[str, FactDeclaration]] = ()
    fact_names: frozenset[str] | None = frozenset()
    committees: Sequence[tuple[str, Committee]] = ()
    committee_names: frozenset[str] | None = frozenset()
    referral_bodies: Sequence[tuple[str, LocalReferralBody]] = ()
    notifications: Sequence[tuple[int, RegulatorNotification]] = ()
    overrides: OverrideSettings | None = None
    timescales: ClockSettings | None = None

    @classmethod
    def of(cls, plan: Plan) -> PlanView:
        """A complete view of ``plan``."""
        return cls(
            schema=plan.schema,
            header=plan.plan,
            calendar=plan.calendar,
            response_types=tuple(plan.response_types.items()),
            response_type_names=frozenset(plan.response_types),
            triage=plan.triage,
            priorities=tuple(enumerate(plan.priorities)),
            thematic_reviews=tuple(enumerate(plan.thematic_reviews)),
            thematic_review_ids=frozenset(r.id for r in plan.thematic_reviews),
            reserve_capacity=plan.reserve_capacity,
            duty_of_candour=plan.duty_of_candour,
            escalation_ladders=tuple(plan.escalation_ladders.items()),
            escalation_ladder_names=frozenset(plan.escalation_ladders),
            retention=plan.retention,
            facts=tuple(plan.facts.items()),
            fact_names=frozenset(plan.facts),
            committees=tuple(plan.committees.items()),
            committee_names=frozenset(plan.committees),
            referral_bodies=tuple(plan.referral_bodies.items()),
            notifications=tuple(enumerate(plan.notifications)),
            overrides=plan.overrides,
            timescales=plan.timescales,
        )


def plan_problems(plan: Plan | PlanView) -> list[tuple[Path, str]]:
    """Every cross-field mistake in ``plan``, as ``(path, message)`` pairs; empty when valid."""
    view = plan if isinstance(plan, PlanView) else PlanView.of(plan)
    checker = _Checker(view)
    checker.run()
    return checker.problems


class _Checker:
    def __init__(self, view: PlanView) -> None:
        self.view = view
        self.problems: list[tuple[Path, str]] = []
        self.types = dict(view.response_types)
        declared = dict(view.facts)
        self.fact_kinds: Mapping[str, FactKind] = {
            **FACTS,
            **{name: d.kind for name, d in declared.items()},
        }
        # When a declaration could not be read, its name's kind is unknown: tests of facts
        # outside the catalogue are then left unjudged rather than wrongly reported.
        self.facts_unsure = view.fact_names is None or set(view.fact_names) != set(declared)

    def add(self, path: Path, message: str) -> None:
        self.problems.append((path, message))

    def run(self) -> None:
        view = self.view
        if view.schema is not None and view.schema != PLAN_SCHEMA:
            self.add(
                ("schema",), f"this release reads plan format {PLAN_SCHEMA}, not {view.schema}"
            )
        if view.header is not None:
            self.header(view.header)
        if view.calendar is not None:
            self.calendar(view.calendar)
        if view.response_type_names is not None and not view.response_type_names:
            self.add(("response_types",), "the plan needs at least one response type")
        for name, rt in view.response_types:
            self.response_type(name, rt)
        if view.triage is not None:
            self.triage(view.triage)
        self.priorities()
        self.thematic_reviews()
        if view.reserve_capacity is not None:
            self.reserve(view.reserve_capacity)
        if view.duty_of_candour is not None:
            self.candour(view.duty_of_candour)
        self.ladders_and_clocks()
        if view.retention is not None:
            self.retention(view.retention)
        for name, declaration in view.facts:
            self.fact(name, declaration)
        for name, _committee in view.committees:
            self.code(("committees", name), name)
        self.referral_bodies_and_notifications()
        self.overrides(view.overrides)

    def overrides(self, overrides: OverrideSettings | None) -> None:
        """Extra override rationale codes are codes, each given once (psirf-rules §5 SoD 7)."""
        if overrides is None:
            return
        for i, code in enumerate(overrides.rationale_codes):
            self.code(("overrides", "rationale_codes", i), code)
        if len(set(overrides.rationale_codes)) != len(overrides.rationale_codes):
            self.add(("overrides", "rationale_codes"), "lists a code more than once")

    # ------------------------------------------------------------ helpers

    def condition(self, path: Path, condition: Condition) -> None:
        """Check a condition against the built-in facts and the plan's own."""
        for where, message in condition_problems(
            condition, path, facts=self.fact_kinds, skip_unknown=self.facts_unsure
        ):
            self.add(where, message)

    def fact(self, name: str, declaration: FactDeclaration) -> None:
        """A plan's own fact: a plain name, not a built-in one, of a kind a plan may declare."""
        at: Path = ("facts", name)
        if not _FACT_NAME.fullmatch(name):
            self.add(at, "a fact's name is lower-case letters, digits and _ (at most 64)")
        if name in FACTS:
            self.add(at, f"{name!r} is a built-in fact; use it without declaring it")
        if declaration.kind not in DECLARABLE_KINDS:
            kinds = ", ".join(sorted(k.value for k in DECLARABLE_KINDS))
            self.add((*at, "kind"), f"a plan's own fact may be one of: {kinds}")

    def code(self, path: Path, value: str) -> None:
        problem = check_identifier(value)
        if problem is not None:
            self.add(path, problem)

    def response_ref(self, path: Path, name: str, variant: LifecycleVariant | None = None) -> None:
        names = self.view.response_type_names
        if names is None:
            return
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            self.add(path, f"{name!r} is not a response type of this plan; known: {known}")
            return
        rt = self.types.get(name)
        if variant is not None and rt is not None and rt.maps_to is not variant:
            self.add(
                path,
                f"{name!r} runs on the {rt.maps_to.value!r} lifecycle; "
                f"a {variant.value!r} response type is needed here",
            )

    def ladder_ref(self, path: Path, name: str | None) -> None:
        names = self.view.escalation_ladder_names
        if name is not None and names is not None and name not in names:
            known = ", ".join(sorted(names)) or "none"
            self.add(path, f"there is no escalation ladder {name!r}; known: {known}")

    def positive(self, path: Path, timescale: Timescale, *, allow_zero: bool = False) -> None:
        if timescale.amount < (0 if allow_zero else 1):
            least = "zero or more" if allow_zero else "at least 1"
            self.add((*path, "amount"), f"must be {least}, not {timescale.amount}")

    def options(self, path: Path, allowed: Sequence[str], default: str | None) -> None:
        for i, name in enumerate(allowed):
            self.response_ref((*path, "allowed", i), name)
        if len(set(allowed)) != len(allowed):
            self.add((*path, "allowed"), "lists a response type more than once")
        if default is not None:
            if allowed and default not in allowed:
                self.add((*path, "default"), f"{default!r} is not one of the allowed responses")
            elif not allowed:
                self.response_ref((*path, "default"), default)

    # ------------------------------------------------------------ sections

    def header(self, header: PlanHeader) -> None:
        for name in ("id", "version", "organisation"):
            self.code(("plan", name), getattr(header, name))
        if header.effective_to is not None and header.effective_to <= header.effective_from:
            self.add(("plan", "effective_to"), "must be after effective_from")
        if header.review_date < header.effective_from:
            self.add(("plan", "review_date"), "must not be before effective_from")
        approved = header.status is not PlanStatus.DRAFT
        if approved and header.board_approved_on is None:
            self.add(
                ("plan", "board_approved_on"),
                f"is required when the status is {header.status.value!r}",
            )
        icb = header.status in (PlanStatus.ICB_AGREED, PlanStatus.ICB_AGREED_PROVISIONALLY)
        if icb and header.icb_agreed_on is None:
            self.add(
                ("plan", "icb_agreed_on"), f"is required when the status is {header.status.value!r}"
            )
        if (
            header.board_approved_on is not None
            and header.icb_agreed_on is not None
            and header.icb_agreed_on < header.board_approved_on
        ):
            self.add(("plan", "icb_agreed_on"), "must not be before board_approved_on")

    def calendar(self, calendar: CalendarSettings) -> None:
        if len(set(calendar.closure_days)) != len(calendar.closure_days):
            self.add(("calendar", "closure_days"), "lists a day more than once")

    def response_type(self, name: str, rt: ResponseType) -> None:
        at: Path = ("response_types", name)
        self.code(at, name)
        if rt.timescale is not None:
            self.positive((*at, "timescale"), rt.timescale)
        if rt.hard_cap is not None:
            self.positive((*at, "hard_cap"), rt.hard_cap)
        cap = rt.effective_hard_cap
        if rt.timescale is not None and cap is not None and rt.timescale.certainly_longer_than(cap):
            self.add((*at, "timescale"), f"{rt.timescale} is longer than the hard cap of {cap}")
        if not rt.sign_off:
            self.add((*at, "sign_off"), "needs at least one approver")
        self.decider((*at, "decided_by"), rt.decided_by)
        for i, approver in enumerate(rt.sign_off):
            self.approver((*at, "sign_off", i), approver)
        if len(set(rt.sign_off)) != len(rt.sign_off):
            self.add((*at, "sign_off"), "names the same approver more than once")
        self.ladder_ref((*at, "escalation_ladder"), rt.escalation_ladder)

    def approver(self, at: Path, approver: Approver) -> None:
        if (approver.role is None) == (approver.committee is None):
            self.add(at, "give exactly one of role or committee")
        if approver.role in _NEVER_SIGNS:
            # psirf-rules §5: reporters, patient safety partners and ICB oversight never
            # approve a case (and psirf_flow's own role is held by no person).
            self.add((*at, "role"), f"{approver.role} cannot sign off a response")
        if approver.committee is not None:
            self.code((*at, "committee"), approver.committee)
            if self.view.committee_names:  # a plan that declares committees names only those
                self.committee_ref((*at, "committee"), approver.committee)

    def committee_ref(self, path: Path, committee: str) -> None:
        """A committee named must be declared under ``[committees]`` (psirf-rules §5)."""
        names = self.view.committee_names
        if names is None or committee in names:
            return
        close = difflib.get_close_matches(committee, sorted(names), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        declared = ", ".join(sorted(names)) or "none"
        self.add(
            path,
            f"{committee!r} is not a committee of this plan (declare it under "
            f"[committees.{committee}]; declared: {declared}){hint}",
        )

    def decider(self, at: Path, decider: Decider) -> None:
        """``decided_by``: exactly one of a role or a declared committee (psirf-rules §5)."""
        if (decider.role is None) == (decider.committee is None):
            self.add(at, "give exactly one of role or committee")
        if decider.role is not None and decider.role not in DECIDER_ROLES:
            roles = ", ".join(repr(r.value) for r in DECIDER_ROLES)
            self.add(
                (*at, "role"),
                f"{decider.role.value!r} cannot decide a response; name one of {roles} "
                "or a committee",
            )
        if decider.committee is not None:
            self.code((*at, "committee"), decider.committee)
            self.committee_ref((*at, "committee"), decider.committee)

    def triage(self, triage: TriageSettings) -> None:
        self.response_ref(
            ("triage", "national_psii_response"),
            triage.national_psii_response,
            LifecycleVariant.PSII,
        )
        er = triage.emergent_risk
        self.options(("triage", "emergent_risk"), er.allowed, er.default)
        self.decider(("triage", "emergent_risk", "decided_by"), er.decided_by)
        pr = triage.proportionate
        self.options(("triage", "proportionate"), pr.allowed, None)
        self.decider(("triage", "proportionate", "decided_by"), pr.decided_by)

    def priorities(self) -> None:
        seen: dict[str, int] = {}
        for index, priority in self.view.priorities:
            at: Path = ("priorities", index)
            self.code((*at, "id"), priority.id)
            if priority.id in seen:
                self.add(
                    (*at, "id"),
                    f"{priority.id!r} is already used by priorities[{seen[priority.id]}]",
                )
            seen.setdefault(priority.id, index)
            self.priority(at, priority)

    def priority(self, at: Path, priority: Priority) -> None:
        if priority.criteria is None and priority.scope.is_empty:
            self.add(at, "needs criteria or a scope; as written it would match every incident")
        if priority.criteria is not None:
            self.condition((*at, "criteria"), priority.criteria)
        for field in ("service_lines", "settings", "patient_groups"):
            for i, value in enumerate(getattr(priority.scope, field)):
                self.code((*at, "scope", field, i), value)
        options = priority.responses
        self.options((*at, "responses"), options.allowed, options.default)
        self.decider((*at, "decided_by"), priority.decided_by)
        if priority.improvement_plan is None:
            if not options.allowed:
                self.add((*at, "responses", "allowed"), "needs at least one response type")
            if options.default is None:
                self.add(
                    (*at, "responses", "default"),
                    "is required (or route the priority to an improvement_plan)",
                )
        else:
            self.code((*at, "improvement_plan"), priority.improvement_plan)
            if options.default is not None:
                self.add(
                    (*at, "responses", "default"),
                    "must be left out when the priority routes to an improvement plan "
                    "(the routing is the default)",
                )
        self.priority_timescales(at, priority)
        ids = self.view.thematic_review_ids
        if (
            priority.thematic_review is not None
            and ids is not None
            and priority.thematic_review not in ids
        ):
            self.add(
                (*at, "thematic_review"),
                f"there is no scheduled thematic review {priority.thematic_review!r}",
            )

    def priority_timescales(self, at: Path, priority: Priority) -> None:
        options = priority.responses
        for name, timescale in priority.timescales.items():
            where: Path = (*at, "timescales", name)
            self.positive(where, timescale)
            if name not in options.allowed:
                self.add(where, f"{name!r} is not one of this priority's allowed responses")
                continue
            rt = self.types.get(name)
            cap = None if rt is None else rt.effective_hard_cap
            if cap is not None and timescale.certainly_longer_than(cap):
                self.add(where, f"{timescale} is longer than the hard cap of {cap} for {name!r}")

    def thematic_reviews(self) -> None:
        seen: set[str] = set()
        for index, review in self.view.thematic_reviews:
            at: Path = ("thematic_reviews", index)
            self.code((*at, "id"), review.id)
            if review.id in seen:
                self.add((*at, "id"), f"{review.id!r} is used by another thematic review")
            seen.add(review.id)
            self.response_ref(
                (*at, "response_type"), review.response_type, LifecycleVariant.THEMATIC_REVIEW
            )
            self.positive((*at, "every"), review.every)
            if review.criteria is not None:
                self.condition((*at, "criteria"), review.criteria)

    def referral_bodies_and_notifications(self) -> None:
        """Local referral bodies and regulator notification steps (psirf-rules §3, LOCAL)."""
        for name, _body in self.view.referral_bodies:
            self.code(("referral_bodies", name), name)
        seen: set[str] = set()
        for index, step in self.view.notifications:
            at: Path = ("notifications", index)
            self.code((*at, "id"), step.id)
            self.code((*at, "body"), step.body)
            if step.id in seen:
                self.add((*at, "id"), f"{step.id!r} is used by another notification step")
            seen.add(step.id)
            self.condition((*at, "when"), step.when)

    def reserve(self, reserve: ReserveCapacity) -> None:
        at: Path = ("reserve_capacity",)
        if reserve.extra_psiis < 0:
            self.add((*at, "extra_psiis"), "cannot be negative")
        if reserve.period_months < 1:
            self.add((*at, "period_months"), "must be at least 1")
        if reserve.extra_psiis > 0:
            self.response_ref((*at, "response_type"), reserve.response_type, LifecycleVariant.PSII)

    def candour(self, candour: CandourTargets) -> None:
        at: Path = ("duty_of_candour",)
        days = {
            "verbal_working_days": candour.verbal_working_days,
            "written_working_days": candour.written_working_days,
            "findings_working_days": candour.findings_working_days,
        }
        for name, value in days.items():
            if not 1 <= value <= 260:
                self.add((*at, name), f"must be between 1 and 260 working days, not {value}")
        if candour.basis not in (Basis.LOCAL, Basis.CONTRACTUAL):
            self.add(
                (*at, "basis"),
                "must be 'local' or 'contractual': regulation 20 sets no number of days "
                "(psirf-rules §4.2)",
            )
        self.ladder_ref((*at, "escalation_ladder"), candour.escalation_ladder)

    def ladders_and_clocks(self) -> None:
        for name, ladder in self.view.escalation_ladders:
            self.ladder(name, ladder)
        if self.view.timescales is not None:
            self.clocks(self.view.timescales)
        self.ladder_actions()
        self.warnings_within_clocks()

    def ladder_users(
        self,
    ) -> list[tuple[Path, str | None, LifecycleVariant | None, tuple[Timescale, ...]]]:
        """Every setting that names a ladder, for the checks over ladders' users.

        Each is its path, the ladder's name, the lifecycle it runs on (`None` when not a
        response type) and the lengths of the clocks the ladder warns about, where the plan
        fixes them (none for a safety action).
        """
        users: list[tuple[Path, str | None, LifecycleVariant | None, tuple[Timescale, ...]]] = [
            (
                ("response_types", name, "escalation_ladder"),
                rt.escalation_ladder,
                rt.maps_to,
                () if rt.timescale is None else (rt.timescale,),
            )
            for name, rt in self.view.response_types
        ]
        candour = self.view.duty_of_candour
        if candour is not None:
            targets = (
                candour.verbal_working_days,
                candour.written_working_days,
                candour.findings_working_days,
            )
            users.append(
                (
                    ("duty_of_candour", "escalation_ladder"),
                    candour.escalation_ladder,
                    None,
                    tuple(Timescale(n, TimeUnit.WORKING_DAYS) for n in targets),
                )
            )
        clocks = self.view.timescales
        if clocks is not None:
            lengths = {
                "triage_review_ladder": (clocks.triage_review,),
                "referral_ladder": (clocks.referral_notification,),
                "safety_action_ladder": (),
            }
            for field, clock in lengths.items():
                users.append((("timescales", field), getattr(clocks, field), None, clock))
        return users

    def warnings_within_clocks(self) -> None:
        """A warning tier falls after its clock starts (psirf-rules §9.4, INF).

        A warning set further before the due date than the clock runs would fall before the
        clock starts, where the schedule can only drop it; the plan is refused instead. The
        clocks whose length the plan fixes are checked: a response type's timescale, the
        candour targets and ``[timescales]``. Only a warning that reaches back past the start
        whatever the dates is refused (see `_not_shorter`).
        """
        ladders = dict(self.view.escalation_ladders)
        for path, name, _variant, lengths in self.ladder_users():
            ladder = ladders.get(name) if name is not None else None
            if ladder is None:
                continue
            for tier in ladder.tiers:
                if tier.before is None:
                    continue
                clock = next((c for c in lengths if _not_shorter(tier.before, c)), None)
                if clock is not None:
                    self.add(
                        path,
                        f"the ladder {name!r} warns {tier.before} before a clock of {clock}: "
                        "the warning would fall before the clock starts",
                    )
                    break

    def ladder_actions(self) -> None:
        """A ladder with an expiry action is named only where the lifecycle offers it."""
        ladders = dict(self.view.escalation_ladders)
        for path, name, variant, _lengths in self.ladder_users():
            ladder = ladders.get(name) if name is not None else None
            if ladder is None:
                continue
            for tier in ladder.tiers:
                offered = EXPIRY_ACTION_LIFECYCLES.get(tier.action or "", frozenset())
                if (
                    tier.action is not None
                    and tier.action in EXPIRY_ACTIONS
                    and (variant not in offered)
                ):
                    lifecycles = ", ".join(sorted(v.value for v in offered))
                    self.add(
                        path,
                        f"the ladder {name!r} applies {tier.action!r}, which only the "
                        f"{lifecycles} lifecycle offers",
                    )
                    break

    def clocks(self, clocks: ClockSettings) -> None:
        """``[timescales]``: positive local clocks and ladders that exist (psirf-rules §4.1)."""
        at: Path = ("timescales",)
        self.positive((*at, "triage_review"), clocks.triage_review)
        self.positive((*at, "referral_notification"), clocks.referral_notification)
        for name in ("triage_review_ladder", "referral_ladder", "safety_action_ladder"):
            self.ladder_ref((*at, name), getattr(clocks, name))

    def ladder(self, name: str, ladder: EscalationLadder) -> None:
        """Tiers with one offset each, known actions, in firing order (psirf-rules §9.4)."""
        at: Path = ("escalation_ladders", name)
        self.code(at, name)
        if not ladder.tiers:
            self.add((*at, "tiers"), "needs at least one tier")
        previous_before: Timescale | None = None
        previous_after: Timescale | None = None
        for i, tier in enumerate(ladder.tiers):
            here: Path = (*at, "tiers", i)
            if not tier.notify:
                self.add((*here, "notify"), "needs at least one role to notify")
            if tier.action is not None and tier.action not in EXPIRY_ACTIONS:
                known = ", ".join(sorted(EXPIRY_ACTIONS))
                self.add((*here, "action"), f"{tier.action!r} is not an action; known: {known}")
            if (tier.before is None) == (tier.after is None):
                self.add(here, "give exactly one of before (a warning) or after")
                continue
            if tier.before is not None:
                self.positive((*here, "before"), tier.before)
                if previous_after is not None:
                    self.add((*here, "before"), "warnings come before the tiers at or after due")
                elif (
                    previous_before is not None
                    and tier.before.shortest_days() >= previous_before.shortest_days()
                ):
                    self.add(
                        (*here, "before"),
                        f"must come later than the warning before ({previous_before} before)",
                    )
                previous_before = tier.before
            elif tier.after is not None:
                self.positive((*here, "after"), tier.after, allow_zero=True)
                if (
                    previous_after is not None
                    and tier.after.shortest_days() <= previous_after.shortest_days()
                ):
                    self.add(
                        (*here, "after"), f"must come later than the tier before ({previous_after})"
                    )
                previous_after = tier.after

    def retention(self, retention: RetentionSettings) -> None:
        at: Path = ("retention",)
        if not retention.classes:
            self.add((*at, "classes"), "needs at least one retention class")
        for name, rc in retention.classes.items():
            self.code((*at, "classes", name), name)
            if not 1 <= rc.years <= 100:
                self.add(
                    (*at, "classes", name, "years"), f"must be between 1 and 100, not {rc.years}"
                )
        if retention.classes and retention.default_class not in retention.classes:
            self.add(
                (*at, "default_class"),
                f"{retention.default_class!r} is not one of the retention classes",
            )
        for path, message in minimum_problems(retention):
            if 1 <= retention.classes[path[1]].years <= 100:  # else reported above
                self.add((*at, *path), message)


def _not_shorter(warning: Timescale, clock: Timescale) -> bool:
    """Whether a warning ``warning`` before the due date reaches back to the clock's start.

    Same units compare by amount. Other units compare the warning's shortest span with the
    clock's longest (plus the hour a clock change can add), so only a warning that reaches
    back past the start whatever the dates is refused.
    """
    if warning.unit is clock.unit:
        return warning.amount >= clock.amount
    return warning.shortest_days() >= clock.longest_days() + 1 / 24
