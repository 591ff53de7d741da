"""Guards of a learning response that read the trust's plan: sign-off, delegation and gaps.

Each guard reads [`GuardInput.governance`][psirf_flow.workflows.guards.GuardInput]
and, when it is ``None`` (an engine without a plan), keeps the behaviour the library had
before plans governed running cases. The response type of a case is its ``response_type``
fact (set when the intake commissions it) or, failing that, its workflow's name; a
response type the plan does not list is treated like a case without a plan.

**Sign-off as the plan says** (psirf-rules §5 SoD 2, §6 stage 8, LOCAL ✔ GEH/Croydon). The
plan's ``sign_off`` chain for the response type is signed step by step while the case
awaits approval: ``record_sign_off`` records each step but the last (its number in
``sign_off_step``), and the last step is ``sign_off`` (any signer) or ``approve`` (the
library's fixed approvers), which approves the report. A role step is signed by someone
holding the role, or by their delegate (see below); a committee step by a member of the
committee ([`committees`][psirf_flow.domain.Actor]) with the meeting's reference. Every
signer still passes the separation-of-duties guards: not the lead, not the author, and not
the person who signed the step before.

**Delegation is a record** (psirf-rules §5: "PSII report sign-off or delegation"). A
delegated approver cites an active [`delegation`][psirf_flow.workflows.delegation]
case as ``delegation_id``: it must name them as delegate, delegate the step's role, cover
the case's response type, be in force on the approval date (Europe/London) and not be the
approver's own.

**Gaps real plans need** (psirf-rules §6 stages 4 and 9, §9.1 ``hold``): terms of reference
and, where the response has a clock, an agreed target date before gathering starts (the
response type's ``terms_of_reference_required``); closing straight from approval when the
response type has no sharing step; a hold for ``other`` reasons needs a note.

**Override rationales** (psirf-rules §5 SoD 7, §4.1): the hard-cap override's rationale is
a built-in code or one of the plan's ``[overrides] rationale_codes``, and it may cite an
artefact. A missing reason fails with the reason code
[`REASON_MISSING`][psirf_flow.errors.REASON_MISSING], which
[`guard_failure`][psirf_flow.errors.guard_failure] raises as
[`ReasonMissing`][psirf_flow.errors.ReasonMissing] (``PSF210``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Final

from psirf_flow.domain import FactValue, GuardResult, Role
from psirf_flow.errors import REASON_MISSING
from psirf_flow.policy.plan import Approver, ResponseType
from psirf_flow.policy.timing import local_date
from psirf_flow.workflows.guards import fact_date


if TYPE_CHECKING:
    from psirf_flow.workflows.guards import GuardInput


__all__ = [
    "GOVERNANCE_GUARDS",
    "HARD_CAP_OVERRIDE_RATIONALES",
    "REASON_MISSING",
    "london_date",
    "response_type_of",
]

HARD_CAP_OVERRIDE_RATIONALES: Final = (
    "external_process",
    "awaiting_information",
    "family_request",
    "exceptional_complexity",
    "other",
)
"""The built-in rationale codes of a hard-cap override; a plan adds its own."""
DELEGATION_FAMILY: Final = "delegation"
"""The family a delegation case belongs to (see `psirf_flow.workflows.delegation`)."""

GuardRow = tuple[str, Callable[["GuardInput"], GuardResult], str, bool]

_result = GuardResult.judge


def london_date(now: datetime) -> date:
    """The Europe/London calendar date of an aware instant (day rules use the local date)."""
    return local_date(now)


def response_type_of(g: GuardInput) -> tuple[str, ResponseType] | None:
    """The plan's response type this case runs as, by name; ``None`` without one."""
    if g.governance is None:
        return None
    name = g.facts.get("response_type")
    if not isinstance(name, str):
        if g.case is None:
            return None
        name = g.case.workflow
    found = g.governance.plan.response_types.get(name)
    return (name, found) if found is not None else None


def _count(facts: Mapping[str, FactValue], name: str) -> int:
    value = facts.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _step_words(step: Approver) -> str:
    if step.committee is not None:
        return f"the committee {step.committee}"
    role = step.role.value if step.role is not None else "nobody"
    return f"the {role.replace('_', ' ')}"


def _delegation_problem(g: GuardInput, role: Role, response_type: str) -> str | None:
    """Why the cited delegation does not let the actor sign for ``role``; ``None`` if it does."""
    cited = g.payload.get("delegation_id")
    if not isinstance(cited, str):
        return "no delegation is cited"
    found = g.references.get(cited)
    if found is None or found.family != DELEGATION_FAMILY:
        return f"the delegation {cited} does not exist"
    facts = found.facts
    if found.state != "active":
        return f"the delegation {cited} is {found.state.replace('_', ' ')}"
    if not g.actor_is(facts.get("delegate_id")):
        return f"the delegation {cited} does not name {g.actor.id} as delegate"
    if facts.get("delegated_role") != role.value:
        return f"the delegation {cited} does not delegate the {role.value.replace('_', ' ')}"
    types = facts.get("response_types")
    if not isinstance(types, tuple) or response_type not in types:
        return f"the delegation {cited} does not cover {response_type} responses"
    if g.now is None:
        return "the time of the decision is not known, so the delegation's dates cannot be checked"
    today = london_date(g.now)
    start, end = fact_date(facts.get("valid_from")), fact_date(facts.get("valid_to"))
    if start is None or end is None or not start <= today <= end:
        return f"the delegation {cited} is not in force on {today}"
    return None


def _signer_problem(g: GuardInput, step: Approver, response_type: str) -> str | None:
    """Why the actor may not sign ``step``; ``None`` when they may."""
    if step.committee is not None:
        if step.committee not in g.actor.committees:
            return f"{g.actor.id} does not sit on the committee {step.committee}"
        if not isinstance(g.payload.get("meeting_ref"), str):
            return f"the meeting of {step.committee} that signed it off is not referenced"
        return None
    if step.role is None:  # pragma: no cover - the plan checks give every step one
        return "the plan's sign-off step names nobody"
    if g.actor.holds(step.role) and "delegation_id" not in g.payload:
        return None
    return _delegation_problem(g, step.role, response_type)


def _chain_step(
    g: GuardInput, *, final: bool | None, name: str = "sign_off_as_planned"
) -> GuardResult:
    """The actor signs the step of the plan's chain that is due (psirf-rules §5 SoD 2).

    ``final`` says whether the step must be the last (``True``), must not be (``False``)
    or may be either (``None``: sending the report back from the step that is due).
    """
    found = response_type_of(g)
    if found is None:
        # Without a plan (or a response type it does not list) the library's fixed
        # approvers approve with ``approve``; the plan-only steps have nothing to sign.
        return _result(
            name,
            final is True and g.trigger == "approve",
            "no_sign_off_chain",
            "the plan gives this response no sign-off chain; it is approved with 'approve'",
        )
    response_type, rt = found
    chain = rt.sign_off
    done = _count(g.case.facts, "sign_off_step") if g.case is not None else 0
    due = done + 1
    if final is True and due != len(chain):
        return _result(
            name,
            False,
            "sign_off_steps_missing",
            f"the plan's sign-off chain has {len(chain)} steps and {done} are signed; "
            f"step {due} ({_step_words(chain[due - 1])}) is due before the last",
        )
    if final is False and due >= len(chain):
        return _result(
            name,
            False,
            "sign_off_step_is_last",
            f"step {due} is the last of the plan's sign-off chain; it approves the report "
            "with 'sign_off' or 'approve'",
        )
    stated = g.payload.get("sign_off_step")
    if stated is not None and stated != due:
        return _result(
            name,
            False,
            "sign_off_step_not_due",
            f"step {stated} of the plan's sign-off chain is not the one due (step {due})",
        )
    problem = _signer_problem(g, chain[due - 1], response_type)
    return _result(
        name,
        problem is None,
        "signer_not_in_sign_off_chain",
        f"step {due} of the sign-off chain is for {_step_words(chain[due - 1])}, and {problem}",
    )


def _sign_off_step(g: GuardInput) -> GuardResult:
    """The person signs the step of the plan's sign-off chain that is due, not the last.

    The step is signed by its role, a member of its committee with the meeting, or a
    delegate.

    Rule: [The report is signed off by the plan's chain: roles or committees, in
    order][sign-off-per-plan].
    """
    return _chain_step(g, final=False)


def _final_sign_off(g: GuardInput) -> GuardResult:
    """Every earlier step of the sign-off chain is signed and the person may sign the last.

    Without a plan, the fixed approvers approve.

    Rule: [The report is signed off by the plan's chain: roles or committees, in
    order][sign-off-per-plan].
    """
    return _chain_step(g, final=True)


def _returner_may_sign(g: GuardInput) -> GuardResult:
    """The person sending the report back may sign the sign-off step that is due.

    Rule: [The report is signed off by the plan's chain: roles or committees, in
    order][sign-off-per-plan].
    """
    return _chain_step(g, final=None, name="returner_may_sign")


def _signer_not_repeated(g: GuardInput) -> GuardResult:
    """No one signs two steps in a row of one chain (psirf-rules §5 SoD 2, INF).

    Rule: [The approver is neither the lead nor the author, and no one signs two steps in a
    row][approver-not-author].
    """
    before = g.case.facts.get("sign_off_last_by") if g.case is not None else None
    return _result(
        "signer_not_repeated",
        not g.actor_is(before),
        "signer_signed_previous_step",
        f"{g.actor.id} signed the previous step of the sign-off chain; another person signs "
        "this one",
    )


def _terms_before_gathering(g: GuardInput) -> GuardResult:
    """Terms of reference (and an agreed target date) before gathering (§6 stage 4).

    Rule: [Terms of reference (and an agreed target date) come before gathering
    information][terms-of-reference-before-gathering].
    """
    name = "terms_before_gathering"
    found = response_type_of(g)
    if found is None or not found[1].needs_terms_before_gathering:
        return _result(name, True, "ok", "")
    missing = []
    if not isinstance(g.facts.get("terms_of_reference_ref"), str):
        missing.append("terms of reference")
    # A response with a clock has a start date (stamped when its lead is assigned).
    has_clock = isinstance(g.facts.get("started_on"), str)
    if has_clock and not isinstance(g.facts.get("target_date"), str):
        missing.append("a target date agreed with those affected")
    return _result(
        name,
        not missing,
        "terms_not_agreed",
        f"the plan asks for {' and '.join(missing)} before gathering starts",
    )


def _no_sharing_step(g: GuardInput) -> GuardResult:
    """Closing straight from approval needs a plan without a sharing step (§6 stage 9).

    Rule: [The approved response is shared before it closes, unless the plan gives it no sharing
    step][share-before-close].
    """
    found = response_type_of(g)
    return _result(
        "no_sharing_step",
        found is not None and not found[1].sharing_step,
        "sharing_step_required",
        "the report must be shared before the response is closed (the plan gives this "
        "response type a sharing step)",
    )


def _hold_reason_explained(g: GuardInput) -> GuardResult:
    """Under a plan, a hold for ``other`` reasons says why (psirf-rules §9.1 ``hold``).

    Rule: [A hold, or an override of the hard cap, states its reason][hold-and-override-reasons].
    """
    explained = g.facts.get("hold_reason") != "other" or isinstance(g.payload.get("note"), str)
    return _result(
        "hold_reason_explained",
        g.governance is None or explained,
        REASON_MISSING,
        "a hold for another reason needs a note saying what it is",
    )


def _override_rationale_given(g: GuardInput) -> GuardResult:
    """An override states its rationale: a built-in or plan code (psirf-rules §5 SoD 7).

    Rule: [A hold, or an override of the hard cap, states its reason][hold-and-override-reasons].
    """
    name = "override_rationale_given"
    reason = g.payload.get("hard_cap_override_reason")
    if not isinstance(reason, str):
        return _result(
            name, False, REASON_MISSING, "an override beyond the hard cap needs a reason"
        )
    extra = g.governance.plan.overrides.rationale_codes if g.governance is not None else ()
    known = (*HARD_CAP_OVERRIDE_RATIONALES, *extra)
    return _result(
        name,
        reason in known,
        "override_rationale_unknown",
        f"{reason} is not an override rationale of the plan (known: {', '.join(known)})",
    )


GOVERNANCE_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "sign_off_step_due",
        _sign_off_step,
        "The person signs the step of the plan's sign-off chain that is due (a role, a "
        "committee with its meeting, or a delegate), and it is not the last step.",
        True,
    ),
    (
        "sign_off_as_planned",
        _final_sign_off,
        "Every earlier step of the plan's sign-off chain is signed and the person may sign "
        "the last (without a plan: the fixed approvers approve).",
        True,
    ),
    (
        "returner_may_sign",
        _returner_may_sign,
        "The person sending the report back may sign the step of the plan's sign-off chain "
        "that is due.",
        True,
    ),
    (
        "signer_not_repeated",
        _signer_not_repeated,
        "The person did not sign the previous step of the sign-off chain.",
        False,
    ),
    (
        "terms_before_gathering",
        _terms_before_gathering,
        "Where the plan asks for it, terms of reference (and a target date agreed with "
        "those affected, when the response has a clock) are recorded before gathering.",
        False,
    ),
    (
        "no_sharing_step",
        _no_sharing_step,
        "The plan gives this response type no sharing step.",
        False,
    ),
    (
        "hold_reason_explained",
        _hold_reason_explained,
        "Under a plan, a hold for another reason has a note.",
        True,
    ),
    (
        "override_rationale_given",
        _override_rationale_given,
        "The override states a rationale: a built-in code or one the plan adds.",
        True,
    ),
)
"""Every guard of this module, registered by the learning-response definitions."""
