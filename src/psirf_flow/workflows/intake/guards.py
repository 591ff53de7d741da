"""Guards of the incident intake lifecycle: triage recorded, national requirements respected.

Each guard is pure and returns a [`GuardResult`][psirf_flow.domain.GuardResult] with a stable reason
code and a plain-words explanation, like the guards in
[`psirf_flow.workflows.guards`][psirf_flow.workflows.guards]. They read only declared facts (opaque
codes and ids): the *result* of triage as the host recorded it with ``record_triage``, whether the
host used [`psirf_flow.policy`][psirf_flow.policy] or a process of its own.

Sources (psirf-rules; see ``docs/explanation/intake-and-triage.md``):

* The order of the response decision, §0.5 rule 1, §1 design consequence and §6 stage 2:
  national requirement, then the plan's local priority, then an executive decision on an
  emergent or significant risk, otherwise a proportionate response or none.
* Emergent or significant risk is decided by the executive lead, §1 design consequence (c)
  and §5 (Croydon's plan: "The decision on how to respond will sit with the Executive Lead").
* National requirements, §3: rows 1, 2 and 4 require a locally-led PSII; the other rows
  require a referral to the body the rule names, with a local response alongside where
  required (rows 5 to 7).
* Setting a national requirement aside, §5 segregation rule 7: executive lead only, with a
  reason, reported to board and ICB (see [`psirf_flow.oversight`][psirf_flow.oversight]).
* A recorded national requirement is sticky, §3 (HARD) with §5 rule 7: recording triage
  again may add rules but never drops one (nor turns a rule requiring a PSII into one
  requiring a referral) unless the executive override set it aside first; otherwise a
  second ``record_triage`` would set the requirement aside without the override, out of
  sight of oversight (and lower the case's retention class).

* Decisions within the plan, when the engine runs under one (``g.governance``), psirf-rules §0.5
  rule 1, §1.8 and §5: the response is one the matched priority allows (or, with no priority, the
  emergent-risk or proportionate settings), or the one a national PSII requirement demands; a
  response outside that list is a *departure*, accepted only where the plan permits it, with a
  reason code, and listed for oversight; "no further response" only where the plan allows it; and
  the decider is the one the plan names, a role or a committee (a member records it with the
  meeting's reference). The choices are rebuilt from the recorded triage by
  [`psirf_flow.policy.triage.decision_frame`][psirf_flow.policy.triage.decision_frame], the same
  precedence triage applies. Without a plan these guards keep the behaviour from before plans
  governed decisions: the specialist or the executive lead decides, any response.

The rows of `INTAKE_GUARDS` are merged into the single registry
`psirf_flow.workflows.registry.GUARDS`, as the candour and safety-action guards are. To keep that
free of an import cycle, this module depends only on [`psirf_flow.domain`][psirf_flow.domain] and
[`psirf_flow.policy`][psirf_flow.policy] at run time;
[`GuardInput`][psirf_flow.workflows.guards.GuardInput] is imported for type checking only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from psirf_flow.domain import GuardResult, Role
from psirf_flow.errors import shown
from psirf_flow.policy.national import LocalResponse
from psirf_flow.policy.plan import Decider
from psirf_flow.policy.triage import DecisionFrame, decision_frame


if TYPE_CHECKING:
    from psirf_flow.workflows.guards import GuardInput


__all__ = [
    "INTAKE_GUARDS",
    "PSII_RESPONSE",
    "outstanding_national_rules",
    "outstanding_psii_rules",
    "plan_frame",
]

GuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool]
"""A guard registered from this module: name, check, summary, uses_payload."""

PSII_RESPONSE: Final = "psii"
"""The response type code of a patient safety incident investigation. A national rule
requiring a PSII (psirf-rules §3 rows 1, 2 and 4) is met only by this response type."""


_result = GuardResult.judge


def outstanding_national_rules(g: GuardInput) -> tuple[str, ...]:
    """The national rule references triage recorded that no executive override set aside."""
    overridden = set(g.ids("overridden_rule_refs"))
    return tuple(r for r in g.ids("national_rule_refs") if r not in overridden)


def outstanding_psii_rules(g: GuardInput) -> tuple[str, ...]:
    """The outstanding national rules that require a locally-led PSII."""
    psii_rules = set(g.ids("national_psii_rule_refs"))
    return tuple(r for r in outstanding_national_rules(g) if r in psii_rules)


def _psii_response(g: GuardInput) -> str:
    """The response a national PSII requirement demands: the plan's, or ``psii``."""
    if g.governance is None:
        return PSII_RESPONSE
    return g.governance.plan.triage.national_psii_response


def _executive_required(g: GuardInput) -> bool:
    return (
        g.facts.get("executive_decision_required") is True
        or g.payload.get("basis") == "emergent_risk"
    )


def plan_frame(g: GuardInput) -> DecisionFrame | None:
    """The choices the plan leaves the decider, from the recorded triage; ``None`` without a plan.

    Priorities are those recorded at triage (``plan_priority_ids``, as ``plan@version#id``
    or bare ids) or named by the decision (``plan_priority_id``); outstanding national
    rules are those no executive override set aside (psirf-rules §0.5 rule 1, §3).
    """
    governance = g.governance
    if governance is None:
        return None
    plan = governance.plan
    named = set(g.ids("plan_priority_ids"))
    chosen = g.payload.get("plan_priority_id")
    if isinstance(chosen, str):
        named.add(chosen)
    priorities = tuple(p for p in plan.priorities if p.id in named or plan.priority_ref(p) in named)
    psii_rules = set(g.ids("national_psii_rule_refs"))
    referral_refs = [r for r in outstanding_national_rules(g) if r not in psii_rules]
    by_ref = {rule.ref: rule for rule in governance.rules.rules}
    expects: LocalResponse | None = None
    for ref in referral_refs:
        rule = by_ref.get(ref)
        found = rule.expected_local_response if rule is not None else LocalResponse.MAY_BE_REQUIRED
        if expects is None or found.strength > expects.strength:
            expects = found
    return decision_frame(
        plan,
        priorities,
        psii_required=bool(outstanding_psii_rules(g)),
        referral_expects=expects,
        emergent_risk=_executive_required(g),
    )


def _decider_result(name: str, g: GuardInput, decider: Decider) -> GuardResult:
    """The actor decides as ``decider``: in its role, or as a member of its committee."""
    named = g.payload.get("decider_committee")
    if decider.committee is None:
        role = decider.role.value.replace("_", " ") if decider.role is not None else ""
        if named is not None:
            return _result(
                name,
                False,
                "decider_committee_not_in_plan",
                f"the plan gives this decision to the {role}, not to a committee",
            )
        return _result(
            name,
            g.role is decider.role,
            "decider_not_per_plan",
            f"the plan gives this decision to the {role}; act in that role",
        )
    committee = decider.committee
    if named != committee:
        return _result(
            name,
            False,
            "committee_not_named",
            f"the plan gives this decision to the committee {committee!r}: name it as "
            "decider_committee, with the meeting's reference",
        )
    if not g.actor.sits_on(committee):
        return _result(
            name,
            False,
            "not_a_committee_member",
            f"only a member of the committee {committee!r} records its decision",
        )
    return _result(
        name,
        isinstance(g.payload.get("meeting_ref"), str),
        "meeting_ref_required",
        f"a decision of the committee {committee!r} records the meeting's reference",
    )


_NO_PLAN_DECIDERS: Final = (Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD)


def _decider_per_plan(g: GuardInput) -> GuardResult:
    """Who decides comes from the plan (psirf-rules §5); without one, specialist or executive.

    Rule: [The response is decided by whom the plan names][decider-per-plan].
    """
    name = "decider_per_plan"
    frame = plan_frame(g)
    if frame is None:
        return _result(
            name,
            g.role in _NO_PLAN_DECIDERS,
            "decider_role_not_permitted",
            "without a plan, the patient safety specialist or the executive lead decides",
        )
    if _executive_required(g):
        return _result(name, True, "", "")  # executive_decides_significant_risk decides
    return _decider_result(name, g, frame.decided_by)


def _response_within_plan(g: GuardInput) -> GuardResult:
    """The response is one the plan allows here, or a departure it permits with a reason.

    Rule: [Under a plan, the response is one the plan allows, or a recorded
    departure][response-within-plan].
    """
    name = "response_within_plan"
    frame = plan_frame(g)
    if frame is None or g.governance is None:
        return _result(name, True, "", "")
    plan = g.governance.plan
    response = g.payload.get("response_type")
    if not isinstance(response, str) or response not in plan.response_types:
        known = ", ".join(plan.response_types)
        return _result(
            name,
            False,
            "response_type_not_in_plan",
            f"{shown(response)} is not a response type of the plan {plan.ref}; known: {known}",
        )
    reason = g.payload.get("departure_reason")
    allowed = ", ".join(frame.allowed) or "none"
    if g.payload.get("reserve_capacity_used") is True:
        # Drawing on the plan's reserve capacity is the plan's own way to commission a
        # response beyond its priorities (psirf-rules §0.5 rule 1, LOCAL); the guard
        # ``reserve_draw_allowed`` checks the decider and the response type.
        return _result(
            name,
            reason is None,
            "departure_reason_without_departure",
            "a draw on the reserve capacity is not a departure: give no departure reason",
        )
    if response in frame.allowed:
        return _result(
            name,
            reason is None,
            "departure_reason_without_departure",
            f"{response!r} is one of the responses the plan allows here ({allowed}); "
            "a departure reason is given only for a response outside them",
        )
    if not frame.departure_permitted:
        return _result(
            name,
            False,
            "response_not_allowed_by_plan",
            f"the plan allows {allowed} here and permits no departure from them",
        )
    return _result(
        name,
        reason is not None,
        "departure_reason_required",
        f"{response!r} departs from the responses the plan allows here ({allowed}); "
        "give a departure reason",
    )


def _no_further_response_within_plan(g: GuardInput) -> GuardResult:
    """Under a plan, no further response only where the plan allows it.

    Rule: [Under a plan, the response is one the plan allows, or a recorded
    departure][response-within-plan].
    """
    frame = plan_frame(g)
    return _result(
        "no_further_response_within_plan",
        frame is None or frame.no_further_response_allowed,
        "no_further_response_not_allowed_by_plan",
        "the plan does not allow no further response for this incident",
    )


def _triage_under_governing_plan(g: GuardInput) -> GuardResult:
    """Triage is recorded under the plan version the case runs under (psirf-rules §1.8).

    Rule: [Triage recorded again keeps what was recorded, under the case's plan
    version][triage-record-kept].
    """
    governance = g.governance
    recorded = g.payload.get("plan_ref")
    return _result(
        "triage_under_governing_plan",
        governance is None or recorded == governance.plan_ref,
        "triage_plan_version_mismatch",
        f"the case runs under the plan {governance.plan_ref if governance else ''}; "
        f"triage was done under {shown(recorded)}",
    )


def _triage_recorded(g: GuardInput) -> GuardResult:
    """The triage recommendation is recorded before the response is decided.

    Rule: [Triage before the response: national requirement, plan priority, emergent risk, then a
    proportionate response][response-decision-order].
    """
    return _result(
        "triage_recorded",
        isinstance(g.facts.get("triaged_by"), str),
        "triage_not_recorded",
        "the triage recommendation (national rules, plan priorities and plan version) has "
        "not been recorded",
    )


def _triage_refs_consistent(g: GuardInput) -> GuardResult:
    """Every rule said to require a PSII is one of the national rules recorded.

    Rule: [Triage before the response: national requirement, plan priority, emergent risk, then a
    proportionate response][response-decision-order].
    """
    national = set(g.ids("national_rule_refs"))
    stray = [r for r in g.ids("national_psii_rule_refs") if r not in national]
    return _result(
        "triage_refs_consistent",
        not stray,
        "psii_rule_not_in_national_rules",
        "a rule said to require a PSII is not among the national rules recorded: "
        + ", ".join(stray),
    )


def _national_rules_kept(g: GuardInput) -> GuardResult:
    """A re-triage keeps every national rule already recorded (psirf-rules §3, §5 rule 7).

    The rules recorded before this command that no executive override set aside must all
    be in the new recording, and those recorded as requiring a PSII must still be so.

    Rule: [Triage recorded again keeps what was recorded, under the case's plan
    version][triage-record-kept].
    """
    before = g.case.facts if g.case is not None else {}

    def kept(name: str) -> list[str]:
        earlier = before.get(name)
        earlier_ids = earlier if isinstance(earlier, tuple) else ()
        overridden = set(g.ids("overridden_rule_refs"))
        now = set(g.ids(name))
        return [r for r in earlier_ids if r not in overridden and r not in now]

    dropped = kept("national_rule_refs")
    no_longer_psii = [r for r in kept("national_psii_rule_refs") if r not in dropped]
    if dropped:
        return _result(
            "national_rules_kept",
            False,
            "national_requirement_dropped",
            "triage already recorded the national requirement ("
            + ", ".join(dropped)
            + "); recording triage again cannot remove it: only the executive lead's "
            "override with a reason sets it aside",
        )
    return _result(
        "national_rules_kept",
        not no_longer_psii,
        "national_psii_requirement_dropped",
        "triage already recorded that the national requirement ("
        + ", ".join(no_longer_psii)
        + ") needs a PSII; recording triage again cannot remove that: only the executive "
        "lead's override with a reason sets it aside",
    )


def _executive_decides_significant_risk(g: GuardInput) -> GuardResult:
    """The executive lead decides an emergent or significant risk (under a plan, its decider).

    Also wherever triage said an executive decision is required. Under a plan the decider is
    the plan's `triage.emergent_risk.decided_by` (the executive lead by default).

    Rule: [An emergent or significant risk is decided by the executive
    lead][emergent-risk-executive-decision].
    """
    name = "executive_decides_significant_risk"
    if g.governance is not None:
        # Under a plan, its emergent-risk decider (an authorised executive by default,
        # psirf-rules §1 design consequence (c)) decides wherever an executive must.
        if not _executive_required(g):
            return _result(name, True, "", "")
        decider = g.governance.plan.triage.emergent_risk.decided_by
        found = _decider_result(name, g, decider)
        if found.ok:
            return found
        return _result(
            name,
            False,
            "executive_decision_required",
            "an emergent or significant risk (or triage's call for an executive decision) "
            f"is decided by {decider} as the plan says: {found.explanation}",
        )
    if g.role is Role.EXECUTIVE_LEAD:
        return _result(name, True, "", "")
    if g.payload.get("basis") == "emergent_risk":
        return _result(
            name,
            False,
            "executive_decision_required",
            "the response to an emergent or significant risk is decided by the executive "
            "lead (act in the executive lead role)",
        )
    return _result(
        name,
        g.facts.get("executive_decision_required") is not True,
        "executive_decision_required",
        "triage recorded that this incident needs an executive decision; the executive "
        "lead must decide (act in the executive lead role)",
    )


def _national_psii_respected(g: GuardInput) -> GuardResult:
    """A national rule requiring a PSII gets a PSII, unless an executive override set it aside.

    Rule: [A national requirement for a locally-led PSII is met by a PSII][national-psii-required].
    """
    rules = outstanding_psii_rules(g)
    return _result(
        "national_psii_respected",
        not rules or g.payload.get("response_type") == _psii_response(g),
        "national_requirement_requires_psii",
        "a national requirement ("
        + ", ".join(rules)
        + ") requires a locally-led PSII; another response needs an executive override first",
    )


def _national_referral_respected(g: GuardInput) -> GuardResult:
    """A national rule requiring a referral gets one, unless an executive override set it aside.

    Rule: [A national requirement for a referral is met by a completed referral to its
    body][national-referral-required].
    """
    psii_rules = set(g.ids("national_psii_rule_refs"))
    rules = [r for r in outstanding_national_rules(g) if r not in psii_rules]
    return _result(
        "national_referral_respected",
        not rules,
        "national_requirement_requires_referral",
        "a national requirement ("
        + ", ".join(rules)
        + ") requires a referral to the body it names: refer the incident (a local response "
        "can be commissioned alongside) or record an executive override first",
    )


def _no_outstanding_national_requirement(g: GuardInput) -> GuardResult:
    """No national requirement applies, or an executive override set each one aside.

    Rules: [A national requirement for a locally-led PSII is met by a PSII][national-psii-required];
    [A national requirement for a referral is met by a completed referral to its
    body][national-referral-required].
    """
    rules = outstanding_national_rules(g)
    return _result(
        "no_outstanding_national_requirement",
        not rules,
        "national_requirement_not_overridden",
        "a national requirement ("
        + ", ".join(rules)
        + ") applies; only an executive override with a reason can set it aside",
    )


def _basis_consistent_with_triage(g: GuardInput) -> GuardResult:
    """The decision's basis agrees with triage.

    A national-requirement basis has a national rule recorded; a local-priority basis names
    a plan priority.

    Rule: [Triage before the response: national requirement, plan priority, emergent risk, then a
    proportionate response][response-decision-order].
    """
    name = "basis_consistent_with_triage"
    basis = g.payload.get("basis")
    if basis == "national_requirement" and not g.ids("national_rule_refs"):
        return _result(
            name,
            False,
            "basis_without_national_rule",
            "the decision cites a national requirement but triage recorded none",
        )
    has_priority = bool(g.ids("plan_priority_ids")) or "plan_priority_id" in g.payload
    return _result(
        name,
        basis != "local_priority" or has_priority,
        "basis_without_plan_priority",
        "the decision cites a local priority of the plan but names none (record it at "
        "triage or give plan_priority_id)",
    )


def _override_confirmed(g: GuardInput) -> GuardResult:
    """The override of a national requirement is confirmed explicitly.

    Rule: [Setting a national requirement aside is the executive lead's explicit, reasoned decision,
    reported to oversight][national-override-executive].
    """
    return _result(
        "override_confirmed",
        g.payload.get("national_requirement_overridden") is True,
        "override_not_confirmed",
        "setting aside a national requirement must be confirmed explicitly "
        "(national_requirement_overridden must be true)",
    )


def _override_matches_triage(g: GuardInput) -> GuardResult:
    """The rules set aside are national rules recorded at triage.

    Rule: [Setting a national requirement aside is the executive lead's explicit, reasoned decision,
    reported to oversight][national-override-executive].
    """
    name = "override_matches_triage"
    refs = g.ids("overridden_rule_refs")
    if not refs:
        return _result(
            name, False, "override_rules_missing", "no national rule to set aside is named"
        )
    national = set(g.ids("national_rule_refs"))
    stray = [r for r in refs if r not in national]
    return _result(
        name,
        not stray,
        "override_rule_not_in_triage",
        "only national rules recorded at triage can be set aside; not recorded: "
        + ", ".join(stray),
    )


INTAKE_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "triage_recorded",
        _triage_recorded,
        "The triage recommendation is recorded before the response is decided.",
        False,
    ),
    (
        "triage_refs_consistent",
        _triage_refs_consistent,
        "Every rule said to require a PSII is one of the national rules recorded.",
        True,
    ),
    (
        "national_rules_kept",
        _national_rules_kept,
        "Recording triage again keeps every national rule already recorded (and its need "
        "for a PSII) unless the executive override set it aside.",
        True,
    ),
    (
        "executive_decides_significant_risk",
        _executive_decides_significant_risk,
        "The executive lead decides when the basis is an emergent or significant risk, or "
        "when triage said an executive decision is required.",
        True,
    ),
    (
        "national_psii_respected",
        _national_psii_respected,
        "Where a national rule requires a PSII, the response is a PSII unless an executive "
        "override set the rule aside.",
        True,
    ),
    (
        "national_referral_respected",
        _national_referral_respected,
        "Where a national rule requires a referral, the incident is referred unless an "
        "executive override set the rule aside.",
        False,
    ),
    (
        "no_outstanding_national_requirement",
        _no_outstanding_national_requirement,
        "No national requirement applies, or an executive override set each one aside.",
        False,
    ),
    (
        "basis_consistent_with_triage",
        _basis_consistent_with_triage,
        "A national-requirement basis has a national rule recorded; a local-priority basis "
        "names a plan priority.",
        True,
    ),
    (
        "decider_per_plan",
        _decider_per_plan,
        "The decider is the one the plan names: its role, or a member of its committee "
        "with the meeting's reference; without a plan, the specialist or the executive lead.",
        True,
    ),
    (
        "response_within_plan",
        _response_within_plan,
        "Under a plan, the response is a response type of the plan that the matched "
        "priority (or a national requirement) allows, or a departure the plan permits, "
        "with a reason.",
        True,
    ),
    (
        "no_further_response_within_plan",
        _no_further_response_within_plan,
        "Under a plan, no further response only where the plan allows it.",
        False,
    ),
    (
        "triage_under_governing_plan",
        _triage_under_governing_plan,
        "Under a plan, triage is recorded under the plan version the case runs under.",
        True,
    ),
    (
        "override_confirmed",
        _override_confirmed,
        "The override of a national requirement is confirmed explicitly.",
        True,
    ),
    (
        "override_matches_triage",
        _override_matches_triage,
        "The rules set aside are national rules recorded at triage.",
        True,
    ),
)
"""Every intake guard, registered by the intake definition."""
