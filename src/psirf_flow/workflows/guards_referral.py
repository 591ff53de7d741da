"""Guards of referrals (one record per body) and of the intake's outcomes around them.

Sources (psirf-rules; see ``docs/explanation/intake-and-triage.md``):

* A referral goes to the body a national requirement names, §3 rows 3 and 5 to 11 (HARD;
  bodies ✔, row wording ◐/✖), or to a local body the trust's plan declares (LOCAL, plan
  ``[referral_bodies.<id>]``). Body names change (W2), so bodies are ids read from the
  national rule pack and the plan, never an enumeration in code. Without a plan
  (``GuardInput.governance`` is ``None``) any body id is accepted, as before.
* One referral per body and incident, §9.0 ("create Referral(body)", INF): a second
  referral to a body the intake already referred to (its ``referral_bodies``), or that
  has a referral record for the incident, is refused.
* A referral is complete only once its notification or submission is recorded with a
  reference and a date (§3, §9.0, INF). The intake closes as referred only when every
  referral of its incident is complete (or withdrawn by the executive lead, with at least
  one complete), so an intake cannot be closed without the notification ever being made;
  under a plan, each national requirement calling for a referral (HARD) also needs a
  completed referral to a body it names.
* Regulator notification steps, §3 "related non-PSIRF notifications" (INF; CQC criteria ✔
  as LFPSE fields): the plan declares them (``[[notifications]]``, LOCAL); triage says
  which apply; each is recorded before the decision or the closing.
* Thematic reviews, §2 (NAT-G ◐; LOCAL schedule): an incident may be added only to a
  review the plan schedules.
* Reserve capacity, §0.5 rule 1 (LOCAL): a decision may draw on the plan's reserve only by the role
  the plan names and only for the response type the reserve is for. The count used is reported
  ([`psirf_flow.oversight.reserve_capacity_use`][psirf_flow.oversight.reserve_capacity_use]), never
  locked.
* Transfer to another organisation (INF): the receiving organisation is another one.

Guards that read the other records of the incident are registered with
``reads_incident_records``: the engine then loads those records (same organisation only)
into `references` before deciding.

Two lifecycles run these guards (the intake, for its outcomes around referrals, and the referral
record, for its body), so this module sits below both lifecycle packages, next to
[`psirf_flow.workflows.guards`][psirf_flow.workflows.guards]: each registers `REFERRAL_GUARD_SPECS`
(built once, so both hold the same objects) and `psirf_flow.workflows.registry.GUARDS` assembles
them. It imports the shared guard machinery and the policy package (which never imports the
workflows), never a lifecycle package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from psirf_flow.domain import GuardResult
from psirf_flow.policy.national import RequiredResponse
from psirf_flow.workflows.guards import GuardSpec


if TYPE_CHECKING:
    from psirf_flow.policy.national import NationalRule
    from psirf_flow.workflows.guards import CaseSummary, GuardInput


__all__ = [
    "OPEN_REFERRAL_STATES",
    "REFERRAL_FAMILY",
    "REFERRAL_GUARDS",
    "REFERRAL_GUARD_SPECS",
    "incident_referrals",
]

ReferralGuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool, bool]
"""A guard registered from this module: name, check, summary, uses_payload,
reads_incident_records."""

REFERRAL_FAMILY: Final = "referral"
"""The lifecycle family of referral records."""
OPEN_REFERRAL_STATES: Final = frozenset({"to_notify", "notified", "body_leads"})
"""Referral states in which the referral has not run its course."""
_COMPLETED: Final = "completed"
_WITHDRAWN: Final = "withdrawn"

_result = GuardResult.judge


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def incident_referrals(g: GuardInput) -> tuple[CaseSummary, ...]:
    """The referral records of the case's incidents (loaded by the engine), by id.

    A referral made from another intake of the same incident (a duplicate report) is left
    out when it names its intake; one opened without an intake counts for every intake.
    """
    incidents = set(g.ids("incident_ids")) | set(g.ids("incident_id"))
    own_id = g.case.id if g.case is not None else None
    found = []
    for ref in g.references.values():
        if ref.family != REFERRAL_FAMILY or not incidents.intersection(ref.incident_ids):
            continue
        intake = ref.facts.get("intake_case_id")
        if g.facts.get("incident_id") is not None and intake not in (None, own_id):
            continue
        found.append(ref)
    return tuple(sorted(found, key=lambda r: r.id))


def _rules_named(g: GuardInput, refs: Iterable[str]) -> list[NationalRule]:
    if g.governance is None:
        return []
    by_ref = {rule.ref: rule for rule in g.governance.rules.rules}
    by_id = {rule.id: rule for rule in g.governance.rules.rules}
    found: list[NationalRule] = []
    for ref in refs:
        rule = by_ref.get(ref) or by_id.get(ref.partition("@")[0])
        if rule is not None:
            found.append(rule)
    return found


def _referral_body_allowed(g: GuardInput) -> GuardResult:
    """The body is named by a recorded national requirement or declared by the plan (§3, W2).

    Rule: [An incident is referred only to a body a national requirement or the plan
    names][referral-body-known].
    """
    name = "referral_body_allowed"
    body = _str(g.facts.get("referral_body"))
    if g.governance is None or body is None:
        return GuardResult(name, ok=True)
    if body in g.governance.plan.referral_bodies:
        return GuardResult(name, ok=True)
    rule_ref = _str(g.payload.get("referral_rule_ref"))
    recorded = g.ids("national_rule_refs")
    if rule_ref is not None and recorded and rule_ref not in recorded:
        return _result(
            name,
            False,
            "referral_rule_not_recorded",
            f"the referral cites the national requirement {rule_ref}, which triage did not "
            "record for this incident",
        )
    refs = (rule_ref,) if rule_ref is not None else recorded
    named = any(body in rule.refer_to for rule in _rules_named(g, refs))
    return _result(
        name,
        named,
        "referral_body_not_allowed",
        f"{body} is neither a body the national requirement ("
        + (", ".join(refs) or "none recorded")
        + ") names nor a local referral body the plan declares",
    )


def _one_referral_per_body(g: GuardInput) -> GuardResult:
    """One referral per body and incident (§9.0, INF).

    Rule: [An incident is referred to each body once][one-referral-per-body].
    """
    body = _str(g.facts.get("referral_body"))
    earlier = g.case.facts.get("referral_bodies", ()) if g.case is not None else ()
    referred_before = isinstance(earlier, tuple) and body in earlier
    taken = [r.id for r in incident_referrals(g) if r.facts.get("referral_body") == body]
    return _result(
        "one_referral_per_body",
        not taken and not referred_before,
        "already_referred_to_body",
        f"the incident has already been referred to {body}; each body is referred to once "
        "per incident",
    )


def _bodies(referrals: Iterable[CaseSummary]) -> str:
    return ", ".join(str(r.facts.get("referral_body", r.id)) for r in referrals)


def _referrals_completed(g: GuardInput) -> GuardResult:
    """Every referral of the incident has run its course, one at least completed (§3, §9.0).

    Rule: [Every referral is completed (or withdrawn) before the intake
    closes][referrals-complete-before-closing].
    """
    name = "referrals_completed"
    referrals = incident_referrals(g)
    if not referrals:
        return _result(
            name,
            False,
            "no_referral_recorded",
            "no referral record exists for this incident yet (it is opened from the "
            "referral step once the coupling is applied)",
        )
    unnotified = [r for r in referrals if r.state == "to_notify"]
    if unnotified:
        return _result(
            name,
            False,
            "referral_not_notified",
            "the notification to " + _bodies(unnotified) + " has not been recorded",
        )
    running = [r for r in referrals if r.state in OPEN_REFERRAL_STATES]
    if running:
        return _result(
            name,
            False,
            "referral_not_completed",
            "the referral to " + _bodies(running) + " has not been completed",
        )
    return _result(
        name,
        any(r.state == _COMPLETED for r in referrals),
        "no_referral_completed",
        "every referral of this incident was withdrawn; none was completed",
    )


def _national_referrals_made(g: GuardInput) -> GuardResult:
    """Each national requirement calling for a referral has one completed (§3, HARD).

    Only under a plan (the rule pack says which bodies a rule names); a rule the executive
    override set aside, or one requiring a locally-led PSII or another body's own review
    (which someone else refers, §3 row 10), asks for nothing here.

    Rule: [A national requirement for a referral is met by a completed referral to its
    body][national-referral-required].
    """
    name = "national_referrals_made"
    if g.governance is None:
        return GuardResult(name, ok=True)
    done = {r.facts.get("referral_body") for r in incident_referrals(g) if r.state == _COMPLETED}
    outstanding = set(g.ids("national_rule_refs")) - set(g.ids("overridden_rule_refs"))
    missing = [
        rule.ref
        for rule in _rules_named(g, sorted(outstanding))
        if rule.response is RequiredResponse.REFERRAL and not done.intersection(rule.refer_to)
    ]
    return _result(
        name,
        not missing,
        "national_referral_not_made",
        "the national requirement ("
        + ", ".join(missing)
        + ") calls for a referral to a body it names, and none has been completed; refer "
        "the incident to that body or record an executive override",
    )


def _local_response_if_referral_requires(g: GuardInput) -> GuardResult:
    """A local response required alongside a referral is commissioned (§3 rows 5 to 7).

    Rule: [A local response required alongside a referral is
    commissioned][local-response-alongside-referral].
    """
    psii = set(g.ids("national_psii_rule_refs")) - set(g.ids("overridden_rule_refs"))
    needing = [
        r
        for r in incident_referrals(g)
        if r.state != _WITHDRAWN and r.facts.get("local_response_also_required") is True
    ]
    needed = bool(needing) or bool(psii) or g.facts.get("local_response_also_required") is True
    return _result(
        "local_response_if_referral_requires",
        not needed or isinstance(g.facts.get("response_type"), str),
        "local_response_not_commissioned",
        "a local response is required alongside the referral"
        + (f" to {_bodies(needing)}" if needing else "")
        + " but none has been commissioned",
    )


def _receiving_organisation_other(g: GuardInput) -> GuardResult:
    """A transfer goes to another organisation (INF).

    Rule: [An incident is transferred only to another
    organisation][transfer-to-another-organisation].
    """
    receiving = g.facts.get("receiving_organisation")
    own = g.case.organisation if g.case is not None else g.actor.organisation
    return _result(
        "receiving_organisation_other",
        isinstance(receiving, str) and receiving.casefold() != own.casefold(),
        "transfer_to_own_organisation",
        "an incident is transferred to another organisation, not to the one holding it",
    )


def _notifications_in_plan(g: GuardInput) -> GuardResult:
    """The notification steps named are ones the plan declares (LOCAL ``[[notifications]]``).

    Rule: [The regulator notification steps the plan declares are recorded before deciding or
    closing][regulator-notifications-as-planned].
    """
    name = "notifications_in_plan"
    if g.governance is None:
        return GuardResult(name, ok=True)
    declared = {n.id for n in g.governance.plan.notifications}
    named = [*g.ids("required_notification_ids")]
    one = _str(g.payload.get("notification_id"))
    if one is not None:
        named = [one]
    unknown = [n for n in named if n not in declared]
    return _result(
        name,
        not unknown,
        "notification_not_in_plan",
        "the plan declares no notification step " + ", ".join(unknown),
    )


def _required_notifications_kept(g: GuardInput) -> GuardResult:
    """Recording the required steps again may add steps, never drop one (§3, INF).

    Otherwise a second recording would set a required notification aside unseen.

    Rule: [The regulator notification steps the plan declares are recorded before deciding or
    closing][regulator-notifications-as-planned].
    """
    earlier = g.case.facts.get("required_notification_ids", ()) if g.case is not None else ()
    now = set(g.ids("required_notification_ids"))
    dropped = [n for n in (earlier if isinstance(earlier, tuple) else ()) if n not in now]
    return _result(
        "required_notifications_kept",
        not dropped,
        "required_notification_dropped",
        "the notification step " + ", ".join(dropped) + " was already found required; "
        "recording the steps again cannot remove it",
    )


def _required_notifications_made(g: GuardInput) -> GuardResult:
    """Every notification step triage found required is recorded first (§3, INF).

    Rule: [The regulator notification steps the plan declares are recorded before deciding or
    closing][regulator-notifications-as-planned].
    """
    made = set(g.ids("regulator_notifications_made"))
    missing = [n for n in g.ids("required_notification_ids") if n not in made]
    return _result(
        "required_notifications_made",
        not missing,
        "regulator_notification_outstanding",
        "the notification step " + ", ".join(missing) + " is required and not yet recorded",
    )


def _thematic_review_in_plan(g: GuardInput) -> GuardResult:
    """An incident is added only to a thematic review the plan schedules (§2, LOCAL).

    Rule: [Scheduled thematic reviews are the plan's, and gather the incidents it routes to
    them][thematic-reviews-as-planned].
    """
    name = "thematic_review_in_plan"
    review = _str(g.payload.get("thematic_review_id"))
    if g.governance is None or review is None:
        return GuardResult(name, ok=True)
    return _result(
        name,
        review in {r.id for r in g.governance.plan.thematic_reviews},
        "thematic_review_not_in_plan",
        f"the plan schedules no thematic review {review}",
    )


def _reserve_draw_allowed(g: GuardInput) -> GuardResult:
    """Only the reserve's decider, only for its response type (§0.5 rule 1, LOCAL).

    Rule: [Reserve PSIIs are drawn by the reserve's decider, for its response
    type][reserve-capacity].
    """
    name = "reserve_draw_allowed"
    if g.payload.get("reserve_capacity_used") is not True:
        return GuardResult(name, ok=True)
    if g.governance is None:
        return _result(
            name,
            False,
            "reserve_without_plan",
            "reserve capacity is a setting of the trust's plan; this engine runs without one",
        )
    reserve = g.governance.plan.reserve_capacity
    if reserve.extra_psiis <= 0:
        return _result(name, False, "no_reserve_capacity", "the plan holds no reserve capacity")
    if g.role is not reserve.decided_by:
        return _result(
            name,
            False,
            "reserve_decider_required",
            f"only the {reserve.decided_by.value.replace('_', ' ')} may draw on the reserve",
        )
    return _result(
        name,
        g.payload.get("response_type") == reserve.response_type,
        "reserve_for_other_response_type",
        f"the reserve is for {reserve.response_type} responses only",
    )


REFERRAL_GUARDS: Final[tuple[ReferralGuardRow, ...]] = (
    (
        "referral_body_allowed",
        _referral_body_allowed,
        "The body is named by a recorded national requirement or is a local referral body "
        "the plan declares (any body without a plan).",
        True,
        False,
    ),
    (
        "one_referral_per_body",
        _one_referral_per_body,
        "The incident has not already been referred to this body.",
        True,
        True,
    ),
    (
        "referrals_completed",
        _referrals_completed,
        "Every referral of the incident is completed (or withdrawn), at least one completed.",
        False,
        True,
    ),
    (
        "national_referrals_made",
        _national_referrals_made,
        "Under a plan, each national requirement calling for a referral has a completed "
        "referral to a body it names (unless overridden).",
        False,
        True,
    ),
    (
        "local_response_if_referral_requires",
        _local_response_if_referral_requires,
        "A local response required alongside a referral (or by a national PSII rule) has "
        "been commissioned.",
        False,
        True,
    ),
    (
        "receiving_organisation_other",
        _receiving_organisation_other,
        "The incident is transferred to another organisation than the one holding it.",
        True,
        False,
    ),
    (
        "notifications_in_plan",
        _notifications_in_plan,
        "The notification steps named are declared in the plan (any without a plan).",
        True,
        False,
    ),
    (
        "required_notifications_kept",
        _required_notifications_kept,
        "Recording the required notification steps again keeps every step already required.",
        True,
        False,
    ),
    (
        "required_notifications_made",
        _required_notifications_made,
        "Every notification step found required is recorded before deciding or closing.",
        False,
        False,
    ),
    (
        "thematic_review_in_plan",
        _thematic_review_in_plan,
        "The thematic review is one the plan schedules (any without a plan).",
        True,
        False,
    ),
    (
        "reserve_draw_allowed",
        _reserve_draw_allowed,
        "A draw on reserve capacity is made by the reserve's decider, for its response type.",
        True,
        False,
    ),
)
"""Every referral-related guard, registered by the intake and referral definitions."""


REFERRAL_GUARD_SPECS: Final[tuple[GuardSpec, ...]] = tuple(
    GuardSpec(*row) for row in REFERRAL_GUARDS
)
"""The rows above as registered guards, built once so the intake and the referral
lifecycles (which both run some of them) share the same
[`GuardSpec`][psirf_flow.workflows.guards.GuardSpec] objects.
"""
