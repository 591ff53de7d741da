"""The learning responses' own guards: independence, engagement, review and closure.

Sources for the rules behind these guards (see ``docs/explanation/psirf-primer.md``):

* Segregation of duties, psirf-rules §5 rules 1, 2 and 6: an independent lead (not involved
  in the incident and not line-managing staff involved; NHS England PSIRF standards), a
  report approver who is neither lead nor author, a peer reviewer independent of the author.
* Terms of reference and engagement before approval, psirf-rules §6 stages 4 and 7 and
  §7.1 (NHS England engagement guide): involvement is voluntary, so "declined" and
  "uncontactable with attempts recorded" are complete outcomes.
* Safety actions never block closure, psirf-rules §6 design note: closure needs linked
  safety actions *or* a recorded no-actions rationale, never their completion.
* Timescales and extensions of a PSII, psirf-rules §4.1 and §5 rule 5: see
  [`psirf_flow.workflows.learning_response.engagement`][psirf_flow.workflows.learning_response.engagement].
* Sign-off as the plan says and the steps a plan switches on or off (psirf-rules §5, §6 stages 4, 8
  and 9): see
  [`psirf_flow.workflows.learning_response.sign_off`][psirf_flow.workflows.learning_response.sign_off].

The shared machinery ([`GuardInput`][psirf_flow.workflows.guards.GuardInput],
[`GuardSpec`][psirf_flow.workflows.guards.GuardSpec], the identity helpers) lives in
[`psirf_flow.workflows.guards`][psirf_flow.workflows.guards];
[`psirf_flow.workflows.registry`][psirf_flow.workflows.registry] assembles these guards with every
other lifecycle's.
"""

from __future__ import annotations

import functools
import hashlib
from functools import partial
from typing import Final

from psirf_flow.domain import GuardResult
from psirf_flow.errors import REASON_MISSING
from psirf_flow.workflows.guards import LEAD_FACTS, GuardInput, GuardSpec, person_in, same_person


__all__ = [
    "LEARNING_RESPONSE_GUARDS",
    "engagement_records",
    "staff_list_code",
    "team_conflicts",
]

_INDEPENDENT_FACTS: Final = (*LEAD_FACTS, "engagement_lead_id")
"""Facts that name people who must not be among the staff involved (psirf-rules §5 rule 1):
the lead, and the engagement lead named with them."""
_STAFF_DIGEST_LENGTH: Final = 16
"""Hex digits of the staff list's SHA-256 kept in an independence guard's passing code."""

_result = GuardResult.judge


def staff_list_code(g: GuardInput) -> str:
    """The passing code of an independence guard: which list of staff involved it checked.

    ``ok:staff:<staff involved>+<their line managers>:<digest>``: the two counts and the
    first 16 hex digits of the SHA-256 of both lists (ids case-folded and sorted), so an audit
    entry records which list its independence check used without naming anyone
    (psirf-rules §5 rule 1, §7.2). An empty list reads ``ok:staff:0+0:…``: the check ran
    against nobody.
    """
    involved, managers = g.ids("involved_staff_ids"), g.ids("involved_line_manager_ids")
    try:
        return _known_staff_code(involved, managers)
    except TypeError:  # an id that cannot be a cache key: computed as ever
        return _staff_code(involved, managers)


def _staff_code(involved: tuple[str, ...], line_managers: tuple[str, ...]) -> str:
    staff = sorted({i.casefold() for i in involved})
    managers = sorted({i.casefold() for i in line_managers})
    text = "\x1f".join(staff) + "\x1e" + "\x1f".join(managers)
    digest = hashlib.sha256(text.encode()).hexdigest()[:_STAFF_DIGEST_LENGTH]
    return f"ok:staff:{len(staff)}+{len(managers)}:{digest}"


_known_staff_code = functools.lru_cache(maxsize=1024)(_staff_code)
"""The code of each recent pair of lists: a pure function, asked at every step of a response."""


def _independent(name: str, g: GuardInput, code: str, explanation: str) -> GuardResult:
    """A failed independence check, or a pass that records the staff list checked."""
    if code:
        return GuardResult(name, ok=False, reason_code=code, explanation=explanation)
    return GuardResult(name, ok=True, reason_code=staff_list_code(g))


def _lead_independent(g: GuardInput) -> GuardResult:
    """SoD 1 (psirf-rules §5 rule 1, NAT-G ✖): the lead is not involved nor their manager.

    The lead (or facilitator) and the engagement lead named with them are checked against the case's
    current list of staff involved (recorded at intake and carried by the coupling, or recorded on
    the response) and of their line managers; the passing code records which list
    ([`staff_list_code`][psirf_flow.workflows.learning_response.guards.staff_list_code]). Ids are
    compared ignoring case
    ([`same_person`][psirf_flow.workflows.guards.same_person]).

    Rule: [The lead and engagement lead were not involved in the incident and do not line-manage
    those who were][lead-independent].
    """
    proposed = [v for f in _INDEPENDENT_FACTS if isinstance(v := g.payload.get(f), str)]
    involved = g.ids("involved_staff_ids")
    managers = g.ids("involved_line_manager_ids")
    if any(person_in(p, involved) for p in proposed):
        return _independent(
            "lead_independent",
            g,
            "lead_involved_in_incident",
            "the proposed lead was involved in the incident",
        )
    if any(person_in(p, managers) for p in proposed):
        return _independent(
            "lead_independent",
            g,
            "lead_line_manages_involved_staff",
            "the proposed lead line-manages staff involved in the incident",
        )
    return _independent("lead_independent", g, "", "")


def _engagement_lead_assigned(g: GuardInput) -> GuardResult:
    """An engagement lead is named for the patient and family.

    Rule: [A PSII names an engagement lead for the patient and family][engagement-lead-for-psii].
    """
    return _result(
        "engagement_lead_assigned",
        isinstance(g.facts.get("engagement_lead_id"), str),
        "engagement_lead_missing",
        "no engagement lead has been named for the patient and family",
    )


def _actor_is_lead(g: GuardInput) -> GuardResult:
    """Only the assigned lead leads (psirf-rules §9.1).

    Ids are compared ignoring case.

    Rule: [The assigned lead acts for the response; a lead is replaced by someone else, with a
    reason][lead-acts-and-reassignment].
    """
    return _result(
        "actor_is_lead",
        g.actor_in(g.leads()),
        "actor_not_assigned_lead",
        f"{g.actor.id} is not the lead assigned to this case",
    )


def _terms_of_reference(g: GuardInput) -> GuardResult:
    """Terms of reference are recorded.

    Rule: [Terms of reference (and an agreed target date) come before gathering
    information][terms-of-reference-before-gathering].
    """
    return _result(
        "terms_of_reference_recorded",
        isinstance(g.facts.get("terms_of_reference_ref"), str),
        "terms_of_reference_missing",
        "the terms of reference have not been recorded",
    )


_ENGAGED: Final = "engaged_person_ids"
"""The fact listing every person whose engagement is recorded (learning_response/definition.py)."""
_PATIENT_OR_FAMILY: Final = frozenset({"patient", "family_member"})
"""Whose engagement the family-engagement guards look at (staff are engaged too, §7.1,
but their records do not stand in for the patient's or family's)."""


def engagement_records(g: GuardInput) -> dict[str, tuple[object, object, object]]:
    """Each person's engagement record: ``{person id: (kind, outcome, contact attempts)}``.

    Kept per person by ``record_engagement`` (psirf-rules §7.1, issue 9 item 10) as
    ``<field>.<person id>`` facts listed by ``engaged_person_ids``.
    """
    return {
        person: (
            g.facts.get(f"person_kind.{person}"),
            g.facts.get(f"engagement.{person}"),
            g.facts.get(f"contact_attempts.{person}", 0),
        )
        for person in g.ids(_ENGAGED)
    }


def _family_outcomes(g: GuardInput) -> list[tuple[object, object]]:
    """(outcome, attempts) of every patient or family record; the old single outcome too."""
    found = [
        (outcome, attempts)
        for kind, outcome, attempts in engagement_records(g).values()
        if kind in _PATIENT_OR_FAMILY
    ]
    legacy = g.facts.get("family_engagement")
    if legacy is not None:
        # A case recorded before engagement was kept per person: its one outcome.
        found.append((legacy, g.facts.get("contact_attempts", 0)))
    return found


def _engagement_outcome(g: GuardInput) -> GuardResult:
    """The patient's or family's engagement is recorded, person by person (§6, §7.1).

    At least one record for the patient or a family member, and each such record complete:
    involved, declined, or uncontactable with at least one attempt recorded for that person.

    Rule: [The patient's or family's engagement is recorded person by person][engagement-recorded].
    """
    outcomes = _family_outcomes(g)
    if not outcomes or any(o not in {"involved", "declined", "uncontactable"} for o, _ in outcomes):
        return _result(
            "engagement_outcome_recorded",
            False,
            "engagement_outcome_missing",
            "no outcome of engaging the patient or family (involved, declined or "
            "uncontactable) has been recorded",
        )
    return _result(
        "engagement_outcome_recorded",
        all(o != "uncontactable" or (isinstance(a, int) and a > 0) for o, a in outcomes),
        "contact_attempts_missing",
        "the family is recorded as uncontactable but no contact attempts are recorded",
    )


# Guards made from parameters are partials of module-level functions written into the
# registry (not closures made at import time), so that each check runs, and can be
# mutation-tested, each time the guard is judged.
def _check_fact_present(
    name: str, fact: str, code: str, explanation: str, g: GuardInput
) -> GuardResult:
    """The fact `fact` is recorded: present and not empty.

    Rules: [A peer review of the draft is recorded by someone independent][peer-review-independent];
    [Expert or panel input, the findings agreed with senior leadership, and two or more incidents
    for a thematic review][analysis-inputs-recorded]; [Staff check the draft for factual accuracy
    and the family's response to it is recorded][draft-checked].
    """
    return _result(name, g.facts.get(fact) not in (None, "", ()), code, explanation)


def _family_draft_review(g: GuardInput) -> GuardResult:
    """The family's response to the draft is recorded (or they are not engaged).

    Rule: [Staff check the draft for factual accuracy and the family's response to it is
    recorded][draft-checked].
    """
    response = g.facts.get("family_draft_response")
    outcomes = _family_outcomes(g)
    not_engaged = bool(outcomes) and all(o in {"declined", "uncontactable"} for o, _ in outcomes)
    return _result(
        "family_draft_review_recorded",
        response is not None or not_engaged,
        "family_draft_review_missing",
        "the family has not been offered the draft to comment on (or their response "
        "is not recorded)",
    )


def _approver_independent(g: GuardInput) -> GuardResult:
    """SoD 2 (psirf-rules §5 rule 2, INF): the approver is neither lead nor author.

    Ids are compared ignoring case
    ([`same_person`][psirf_flow.workflows.guards.same_person]).

    Rule: [The approver is neither the lead nor the author, and no one signs two steps in a
    row][approver-not-author].
    """
    if g.actor_in(g.leads()):
        return _result(
            "approver_independent",
            False,
            "approver_is_lead",
            f"{g.actor.id} led this response and so cannot approve its report",
        )
    return _result(
        "approver_independent",
        not g.actor_is(g.facts.get("author_id")),
        "approver_is_author",
        f"{g.actor.id} wrote this report and so cannot approve it",
    )


def _reviewer_independent(g: GuardInput) -> GuardResult:
    """The peer reviewer is neither lead nor author (psirf-rules §6, S-TOOL; INF).

    Nor one of the staff involved in the incident (psirf-rules §5 rule 1), on the case's current
    list; the passing code records which list
    ([`staff_list_code`][psirf_flow.workflows.learning_response.guards.staff_list_code]). Ids are
    compared ignoring case.

    Rule: [A peer review of the draft is recorded by someone independent][peer-review-independent].
    """
    if g.actor_in(g.leads()) or g.actor_is(g.facts.get("author_id")):
        return _independent(
            "reviewer_independent",
            g,
            "reviewer_not_independent",
            f"{g.actor.id} led or wrote this response and so cannot peer-review it",
        )
    if g.actor_in(g.ids("involved_staff_ids")):
        return _independent(
            "reviewer_independent",
            g,
            "reviewer_involved_in_incident",
            f"{g.actor.id} was involved in the incident and so cannot peer-review it",
        )
    return _independent("reviewer_independent", g, "", "")


def _senior_leader_independent(g: GuardInput) -> GuardResult:
    """The senior leader agreeing findings is not the lead (psirf-rules §5 rule 2, INF).

    Ids are compared ignoring case.

    Rule: [Expert or panel input, the findings agreed with senior leadership, and two or more
    incidents for a thematic review][analysis-inputs-recorded].
    """
    return _result(
        "senior_leader_independent",
        not g.actor_in(g.leads()),
        "senior_leader_is_lead",
        f"{g.actor.id} led this response, so the findings need another senior leader",
    )


# --- Lead independence at every step (psirf-rules §5 rule 1; issue 9 item 7) -----------

_TEAM: Final = (
    ("lead_id", "lead", "reassign_lead", True),
    ("facilitator_id", "facilitator", "reassign_facilitator", True),
    ("engagement_lead_id", "engagement_lead", "reassign_engagement_lead", True),
    ("peer_reviewer_id", "peer_reviewer", "record_peer_review", False),
)
"""The people a response names whom the staff list must not include, as
``(fact, role word, trigger that replaces them, managers count too)``: the lead (or
facilitator) and the engagement lead are independent of the staff involved and of their
line managers; the peer reviewer is not one of the staff involved (as when they record
their review, `_reviewer_independent`)."""
_TEAM_CODES: Final = {
    ("lead", "involved"): "lead_involved_in_incident",
    ("lead", "manager"): "lead_line_manages_involved_staff",
    ("facilitator", "involved"): "lead_involved_in_incident",
    ("facilitator", "manager"): "lead_line_manages_involved_staff",
    ("engagement_lead", "involved"): "engagement_lead_involved_in_incident",
    ("engagement_lead", "manager"): "engagement_lead_line_manages_involved_staff",
    ("peer_reviewer", "involved"): "reviewer_involved_in_incident",
}
"""The reason code per role (the lead's codes are those of the assignment check)."""


def team_conflicts(g: GuardInput) -> tuple[tuple[str, str, str], ...]:
    """Who the current staff list rules out: ``(role word, how, trigger to replace them)``.

    ``how`` is ``"involved"`` (among the staff involved) or ``"manager"`` (among their line
    managers). Reads the case's facts as they would be after the command, so a step that
    adds staff sees the new list (psirf-rules §5 rule 1). Roles only, never ids.
    """
    involved = g.ids("involved_staff_ids")
    managers = g.ids("involved_line_manager_ids")
    found: list[tuple[str, str, str]] = []
    for fact, role, trigger, managers_count in _TEAM:
        person = g.facts.get(fact)
        if not isinstance(person, str):
            continue
        if person_in(person, involved):
            found.append((role, "involved", trigger))
        elif managers_count and person_in(person, managers):
            found.append((role, "manager", trigger))
    return tuple(found)


def _remedy(role: str, how: str, trigger: str) -> str:
    who = role.replace("_", " ")
    what = (
        "is now recorded as involved in the incident"
        if how == "involved"
        else "line-manages staff now recorded as involved"
    )
    if role == "peer_reviewer":
        return (
            f"the {who} {what}: an independent peer reviewer records the review again "
            "with record_peer_review (after a return for rework if approval was asked)"
        )
    return f"the {who} {what}: name an independent {who} with {trigger}"


def _team_independent(g: GuardInput) -> GuardResult:
    """SoD 1 (psirf-rules §5 rule 1, NAT-G ✖) at every step that moves a response forward.

    The current lead (or facilitator), the engagement lead and the peer reviewer already recorded
    are checked against the case's *current* list of staff involved (and, for the leads, of their
    line managers): someone recorded as involved after being named stops the response until they are
    replaced. The refusal's code says which role conflicts (the first found: lead, engagement lead,
    peer reviewer) and its explanation names every role in conflict and the step that replaces them,
    never a person; a pass records the list checked
    ([`staff_list_code`][psirf_flow.workflows.learning_response.guards.staff_list_code]). Without
    anyone named it passes.

    Rule: [The lead and engagement lead were not involved in the incident and do not line-manage
    those who were][lead-independent].
    """
    conflicts = team_conflicts(g)
    if not conflicts:
        return _independent("team_independent", g, "", "")
    role, how, _ = conflicts[0]
    return _independent(
        "team_independent",
        g,
        _TEAM_CODES[role, how],
        "; ".join(_remedy(*c) for c in conflicts),
    )


def _independence_conflict_noted(g: GuardInput) -> GuardResult:
    """Recording staff involved is never refused for naming the team (psirf-rules §5 rule 1).

    The list records the truth; this guard always passes, and its code makes a conflict visible in
    the audit entry: the list checked
    ([`staff_list_code`][psirf_flow.workflows.learning_response.guards.staff_list_code]) followed,
    when the new list rules someone out, by ``:independence_conflict:<roles>`` (for example
    ``ok:staff:2+1:<digest>:independence_conflict:lead+engagement_lead``). The next step forward is
    then refused by ``team_independent`` until they are replaced.

    Rule: [The lead and engagement lead were not involved in the incident and do not line-manage
    those who were][lead-independent].
    """
    code = staff_list_code(g)
    roles = sorted({role for role, _, _ in team_conflicts(g)})
    if roles:
        code = f"{code}:independence_conflict:{'+'.join(roles)}"
    return GuardResult("independence_conflict_noted", ok=True, reason_code=code)


def _replaces_current(fact: str, g: GuardInput) -> GuardResult:
    """A reassignment names the person it replaces, who is the one named now (§5 rule 1).

    ``replaced_<fact>`` must be the case's current ``<fact>`` (ignoring case), so the
    former person's id is kept in ``former_<fact>s`` with certainty, and the new person is
    someone else.

    Rule: [The assigned lead acts for the response; a lead is replaced by someone else, with a
    reason][lead-acts-and-reassignment].
    """
    word = fact.removesuffix("_id")
    name = f"replaces_current_{word}"
    before = g.case.facts if g.case is not None else {}
    current = before.get(fact)
    if not same_person(g.payload.get(f"replaced_{fact}"), current):
        return GuardResult(
            name,
            ok=False,
            reason_code="replaced_person_not_current",
            explanation=f"the person to replace is not the current {word.replace('_', ' ')}",
        )
    return _result(
        name,
        not same_person(g.payload.get(fact), current),
        "replacement_unchanged",
        "the new person is the one already named",
    )


def _reassign_reason_explained(g: GuardInput) -> GuardResult:
    """A reassignment for ``other`` reasons says why in a note (psirf-rules §5 rule 1).

    Refused with `REASON_MISSING`, raised as
    [`ReasonMissing`][psirf_flow.errors.ReasonMissing] (``PSF210``).

    Rule: [The assigned lead acts for the response; a lead is replaced by someone else, with a
    reason][lead-acts-and-reassignment].
    """
    return _result(
        "reassign_reason_explained",
        g.payload.get("reassign_reason") != "other" or isinstance(g.payload.get("note"), str),
        REASON_MISSING,
        "a reassignment for another reason needs a note saying what it is",
    )


_INDEPENDENCE_SPECS: Final = (
    GuardSpec(
        "team_independent",
        _team_independent,
        "The lead, the engagement lead and the peer reviewer already named are not among the "
        "staff involved (the leads nor their line managers), on the current list.",
    ),
    GuardSpec(
        "independence_conflict_noted",
        _independence_conflict_noted,
        "Always passes: the audit entry records the list and any role it now rules out.",
        uses_payload=True,
    ),
    GuardSpec(
        "reassign_reason_explained",
        _reassign_reason_explained,
        "A reassignment for another reason has a note saying what it is.",
        uses_payload=True,
    ),
    *(
        GuardSpec(
            f"replaces_current_{fact.removesuffix('_id')}",
            partial(_replaces_current, fact),
            f"The person replaced is the current {fact.removesuffix('_id').replace('_', ' ')} "
            "and the new one is someone else.",
            uses_payload=True,
        )
        for fact in ("lead_id", "facilitator_id", "engagement_lead_id")
    ),
)


def _several_incidents(g: GuardInput) -> GuardResult:
    """At least two incidents are linked.

    Rule: [Expert or panel input, the findings agreed with senior leadership, and two or more
    incidents for a thematic review][analysis-inputs-recorded].
    """
    return _result(
        "several_incidents_linked",
        len(g.ids("incident_ids")) >= 2,
        "too_few_incidents",
        "a thematic review must link at least two incidents",
    )


def _actions_or_rationale(g: GuardInput) -> GuardResult:
    """Safety actions are linked, or a reason for having none is recorded.

    Rule: [A response closes with safety actions linked or a reason for having
    none][close-with-actions-or-rationale].
    """
    ok = bool(g.ids("safety_action_ids")) or g.facts.get("no_actions_rationale") is not None
    return _result(
        "actions_or_rationale",
        ok,
        "actions_or_rationale_missing",
        "neither linked safety actions nor a reason for having none have been recorded",
    )


_SPECS: Final = (
    GuardSpec(
        "lead_independent",
        _lead_independent,
        "The lead (and the engagement lead) were not involved in the incident and do not "
        "line-manage staff involved, on the current list of staff involved.",
        uses_payload=True,
    ),
    GuardSpec(
        "engagement_lead_assigned",
        _engagement_lead_assigned,
        "An engagement lead is named for the patient and family.",
        uses_payload=True,
    ),
    GuardSpec("actor_is_lead", _actor_is_lead, "The person acting is the assigned lead."),
    GuardSpec(
        "terms_of_reference_recorded",
        _terms_of_reference,
        "Terms of reference are recorded.",
    ),
    GuardSpec(
        "engagement_outcome_recorded",
        _engagement_outcome,
        "The engagement of the patient or family is recorded person by person (at least one "
        "record; each involved, declined, or uncontactable with attempts).",
    ),
    GuardSpec(
        "peer_review_recorded",
        partial(
            _check_fact_present,
            "peer_review_recorded",
            "peer_review_ref",
            "peer_review_missing",
            "no peer review of the draft has been recorded",
        ),
        "A peer review of the draft is recorded.",
    ),
    GuardSpec(
        "expert_input_recorded",
        partial(
            _check_fact_present,
            "expert_input_recorded",
            "expert_input",
            "expert_input_missing",
            "no subject-matter expert or panel input has been recorded",
        ),
        "Subject-matter expert or panel input is recorded.",
    ),
    GuardSpec(
        "staff_accuracy_checked",
        partial(
            _check_fact_present,
            "staff_accuracy_checked",
            "staff_accuracy_check",
            "staff_accuracy_check_missing",
            "staff involved have not checked the draft for factual accuracy",
        ),
        "Staff involved have checked the draft for factual accuracy.",
    ),
    GuardSpec(
        "family_draft_review_recorded",
        _family_draft_review,
        "The family's response to the draft is recorded (or they are not engaged).",
    ),
    GuardSpec(
        "findings_agreed",
        partial(
            _check_fact_present,
            "findings_agreed",
            "findings_agreed_by",
            "findings_not_agreed",
            "the findings have not been agreed with the service's senior leadership",
        ),
        "The findings are agreed with the service's senior leadership.",
    ),
    GuardSpec(
        "approver_independent",
        _approver_independent,
        "The approver is neither the lead nor the author of the report.",
    ),
    GuardSpec(
        "reviewer_independent",
        _reviewer_independent,
        "The peer reviewer is neither the lead nor the author, nor one of the staff involved.",
    ),
    GuardSpec(
        "senior_leader_independent",
        _senior_leader_independent,
        "The senior leader agreeing the findings is not the lead.",
    ),
    GuardSpec(
        "several_incidents_linked",
        _several_incidents,
        "At least two incidents are linked.",
        uses_payload=True,
    ),
    GuardSpec(
        "actions_or_rationale",
        _actions_or_rationale,
        "Safety actions are linked, or a reason for having none is recorded.",
        uses_payload=True,
    ),
)

LEARNING_RESPONSE_GUARDS: Final[tuple[GuardSpec, ...]] = (*_SPECS, *_INDEPENDENCE_SPECS)
"""Every guard of this module, in the order they were registered."""
