"""Every built-in guard of the learning responses and of candour, field by field.

Each row names a guard, what it looks at and the exact :class:`GuardResult` it must return:
its name, whether it passed, the stable reason code and the plain-words explanation. The
rows are the rules of psirf-rules §5 (segregation of duties), §6 and §7.1 (engagement) and
regulation 20 (duty of candour, psirf-rules §4.2); they are what ``make mutation`` relies on
to tell a right answer from a wrong one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from psirf_flow.domain import Actor, Case, FactValue, GuardResult, Role
from psirf_flow.workflows import GUARDS, GuardInput
from psirf_flow.workflows.candour.guards import HARM_CATEGORIES, is_notifiable_harm


ORG = "RX1"
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
INVOLVED: dict[str, FactValue] = {
    "involved_staff_ids": ("staff-1", "staff-2"),
    "involved_line_manager_ids": ("mgr-1",),
}
LED: dict[str, FactValue] = {"lead_id": "lead-1", "author_id": "author-1"}


def judge(
    guard: str,
    facts: Mapping[str, FactValue],
    *,
    actor_id: str = "someone-1",
    payload: Mapping[str, FactValue] | None = None,
    before: Mapping[str, FactValue] | None = None,
) -> GuardResult:
    """Run ``guard`` on ``facts`` with ``payload`` applied, on a case holding ``before``."""
    case = (
        None
        if before is None
        else Case(
            id="DOC-1",
            workflow="duty_of_candour",
            workflow_version="1",
            organisation=ORG,
            state="verbal_notification_due",
            version=3,
            facts=before,
            opened_at=NOW,
            updated_at=NOW,
        )
    )
    return GUARDS[guard].check(
        GuardInput(
            case=case,
            trigger="test",
            actor=Actor(actor_id, list(Role), ORG),
            role=Role.EXECUTIVE_LEAD,
            facts={**(before or {}), **facts, **(payload or {})},
            payload=payload or {},
            now=NOW,
        )
    )


def ok(name: str) -> GuardResult:
    """The result of guard ``name`` when it passes."""
    return GuardResult(name, True, "ok", "")


#: The passing code of an independence guard: the staff list it checked, as counts and the
#: start of a SHA-256 (psirf-rules §5 rule 1; issue 9 item 7).
INVOLVED_CHECKED = "ok:staff:2+1:d205002b4f0e9b90"
NOBODY_CHECKED = "ok:staff:0+0:9652595f37edd08c"


def checked(name: str, code: str) -> GuardResult:
    """The result of independence guard ``name`` passing after checking the list ``code``."""
    return GuardResult(name, True, code, "")


def no(name: str, code: str, explanation: str) -> GuardResult:
    """The result of guard ``name`` when it refuses with ``code`` and ``explanation``."""
    return GuardResult(name, False, code, explanation)


INVOLVED_LEAD = no(
    "lead_independent",
    "lead_involved_in_incident",
    "the proposed lead was involved in the incident",
)
MANAGER_LEAD = no(
    "lead_independent",
    "lead_line_manages_involved_staff",
    "the proposed lead line-manages staff involved in the incident",
)

#: psirf-rules §5 rules 1, 2 and 6: (guard, facts, payload, actor, expected result).
SEGREGATION_ROWS = [
    pytest.param("lead_independent", INVOLVED, {"lead_id": "staff-1"}, "x-1", INVOLVED_LEAD),
    pytest.param("lead_independent", INVOLVED, {"facilitator_id": "staff-2"}, "x-1", INVOLVED_LEAD),
    pytest.param(
        "lead_independent",
        {"involved_staff_ids": "staff-1"},
        {"lead_id": "staff-1"},
        "x-1",
        INVOLVED_LEAD,
        id="one-involved-id-given-as-text",
    ),
    pytest.param(
        "lead_independent",
        {**INVOLVED, "involved_line_manager_ids": ("staff-1", "mgr-1")},
        {"lead_id": "staff-1"},
        "x-1",
        INVOLVED_LEAD,
        id="involvement-is-reported-before-line-management",
    ),
    pytest.param("lead_independent", INVOLVED, {"lead_id": "mgr-1"}, "x-1", MANAGER_LEAD),
    pytest.param(
        "lead_independent",
        {"involved_line_manager_ids": "mgr-1"},
        {"facilitator_id": "mgr-1"},
        "x-1",
        MANAGER_LEAD,
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        {"lead_id": "lead-9"},
        "x-1",
        checked("lead_independent", INVOLVED_CHECKED),
    ),
    pytest.param(
        "lead_independent",
        {},
        {"lead_id": "lead-9"},
        "x-1",
        checked("lead_independent", NOBODY_CHECKED),
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        {"lead_id": "lead-9", "engagement_lead_id": "STAFF-2"},
        "x-1",
        INVOLVED_LEAD,
        id="engagement-lead-involved",
    ),
    pytest.param(
        "reviewer_independent",
        {**LED, **INVOLVED},
        {},
        "staff-1",
        no(
            "reviewer_independent",
            "reviewer_involved_in_incident",
            "staff-1 was involved in the incident and so cannot peer-review it",
        ),
        id="reviewer-involved",
    ),
    pytest.param(
        "actor_is_lead",
        {"lead_id": "lead-1"},
        {},
        "someone-1",
        no(
            "actor_is_lead",
            "actor_not_assigned_lead",
            "someone-1 is not the lead assigned to this case",
        ),
    ),
    pytest.param("actor_is_lead", {"lead_id": "lead-1"}, {}, "lead-1", ok("actor_is_lead")),
    pytest.param("actor_is_lead", {"facilitator_id": "fac-1"}, {}, "fac-1", ok("actor_is_lead")),
    pytest.param(
        "approver_independent",
        LED,
        {},
        "lead-1",
        no(
            "approver_independent",
            "approver_is_lead",
            "lead-1 led this response and so cannot approve its report",
        ),
    ),
    pytest.param(
        "approver_independent",
        {"facilitator_id": "fac-1", "author_id": "fac-1"},
        {},
        "fac-1",
        no(
            "approver_independent",
            "approver_is_lead",
            "fac-1 led this response and so cannot approve its report",
        ),
        id="lead-who-also-wrote-is-refused-as-lead",
    ),
    pytest.param(
        "approver_independent",
        LED,
        {},
        "author-1",
        no(
            "approver_independent",
            "approver_is_author",
            "author-1 wrote this report and so cannot approve it",
        ),
    ),
    pytest.param("approver_independent", LED, {}, "exec-1", ok("approver_independent")),
    pytest.param(
        "reviewer_independent",
        LED,
        {},
        "lead-1",
        no(
            "reviewer_independent",
            "reviewer_not_independent",
            "lead-1 led or wrote this response and so cannot peer-review it",
        ),
    ),
    pytest.param(
        "reviewer_independent",
        LED,
        {},
        "author-1",
        no(
            "reviewer_independent",
            "reviewer_not_independent",
            "author-1 led or wrote this response and so cannot peer-review it",
        ),
    ),
    pytest.param(
        "reviewer_independent", LED, {}, "peer-1", checked("reviewer_independent", NOBODY_CHECKED)
    ),
    pytest.param(
        "senior_leader_independent",
        LED,
        {},
        "lead-1",
        no(
            "senior_leader_independent",
            "senior_leader_is_lead",
            "lead-1 led this response, so the findings need another senior leader",
        ),
    ),
    pytest.param("senior_leader_independent", LED, {}, "author-1", ok("senior_leader_independent")),
]


@pytest.mark.parametrize(("guard", "facts", "payload", "actor", "expected"), SEGREGATION_ROWS)
def test_segregation_of_duties(
    guard: str,
    facts: Mapping[str, FactValue],
    payload: Mapping[str, FactValue],
    actor: str,
    expected: GuardResult,
) -> None:
    """Each segregation-of-duties guard gives exactly its result, code and explanation."""
    assert judge(guard, facts, payload=payload, actor_id=actor) == expected


ENGAGEMENT_MISSING = no(
    "engagement_outcome_recorded",
    "engagement_outcome_missing",
    "no outcome of engaging the patient or family (involved, declined or uncontactable) "
    "has been recorded",
)
ATTEMPTS_MISSING = no(
    "engagement_outcome_recorded",
    "contact_attempts_missing",
    "the family is recorded as uncontactable but no contact attempts are recorded",
)
DRAFT_MISSING = no(
    "family_draft_review_recorded",
    "family_draft_review_missing",
    "the family has not been offered the draft to comment on (or their response is not recorded)",
)

#: psirf-rules §6 stages 4 and 7, §7.1 (involvement is voluntary): (guard, facts, expected).
RECORD_ROWS = [
    pytest.param(
        "engagement_lead_assigned",
        {},
        no(
            "engagement_lead_assigned",
            "engagement_lead_missing",
            "no engagement lead has been named for the patient and family",
        ),
    ),
    pytest.param(
        "engagement_lead_assigned",
        {"engagement_lead_id": "el-1"},
        ok("engagement_lead_assigned"),
    ),
    pytest.param(
        "terms_of_reference_recorded",
        {},
        no(
            "terms_of_reference_recorded",
            "terms_of_reference_missing",
            "the terms of reference have not been recorded",
        ),
    ),
    pytest.param(
        "terms_of_reference_recorded",
        {"terms_of_reference_ref": "TOR-1"},
        ok("terms_of_reference_recorded"),
    ),
    pytest.param("engagement_outcome_recorded", {}, ENGAGEMENT_MISSING, id="no-outcome"),
    pytest.param(
        "engagement_outcome_recorded", {"family_engagement": "pending"}, ENGAGEMENT_MISSING
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "involved"},
        ok("engagement_outcome_recorded"),
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "declined"},
        ok("engagement_outcome_recorded"),
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable"},
        ATTEMPTS_MISSING,
        id="uncontactable-no-attempts",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable", "contact_attempts": 0},
        ATTEMPTS_MISSING,
        id="uncontactable-zero-attempts",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable", "contact_attempts": 1},
        ok("engagement_outcome_recorded"),
        id="uncontactable-one-attempt-is-enough",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable", "contact_attempts": "1"},
        ATTEMPTS_MISSING,
        id="uncontactable-attempts-not-a-number",
    ),
    pytest.param("family_draft_review_recorded", {}, DRAFT_MISSING),
    pytest.param("family_draft_review_recorded", {"family_engagement": "involved"}, DRAFT_MISSING),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "involved", "family_draft_response": "commented"},
        ok("family_draft_review_recorded"),
    ),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "declined"},
        ok("family_draft_review_recorded"),
    ),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "uncontactable"},
        ok("family_draft_review_recorded"),
    ),
    pytest.param(
        "several_incidents_linked",
        {"incident_ids": ("INC-1",)},
        no(
            "several_incidents_linked",
            "too_few_incidents",
            "a thematic review must link at least two incidents",
        ),
    ),
    pytest.param(
        "several_incidents_linked",
        {"incident_ids": ("INC-1", "INC-2")},
        ok("several_incidents_linked"),
    ),
    pytest.param(
        "actions_or_rationale",
        {},
        no(
            "actions_or_rationale",
            "actions_or_rationale_missing",
            "neither linked safety actions nor a reason for having none have been recorded",
        ),
    ),
    pytest.param(
        "actions_or_rationale", {"safety_action_ids": ("SA-1",)}, ok("actions_or_rationale")
    ),
    pytest.param(
        "actions_or_rationale", {"no_actions_rationale": "digest"}, ok("actions_or_rationale")
    ),
]

#: Guards that need one fact present (not absent, empty text or an empty list).
PRESENT_ROWS = [
    (
        "peer_review_recorded",
        "peer_review_ref",
        "peer_review_missing",
        "no peer review of the draft has been recorded",
    ),
    (
        "expert_input_recorded",
        "expert_input",
        "expert_input_missing",
        "no subject-matter expert or panel input has been recorded",
    ),
    (
        "staff_accuracy_checked",
        "staff_accuracy_check",
        "staff_accuracy_check_missing",
        "staff involved have not checked the draft for factual accuracy",
    ),
    (
        "findings_agreed",
        "findings_agreed_by",
        "findings_not_agreed",
        "the findings have not been agreed with the service's senior leadership",
    ),
]


@pytest.mark.parametrize(("guard", "facts", "expected"), RECORD_ROWS)
def test_records_before_a_step(
    guard: str, facts: Mapping[str, FactValue], expected: GuardResult
) -> None:
    """Each record-keeping guard gives exactly its result, code and explanation."""
    assert judge(guard, facts) == expected


@pytest.mark.parametrize(("guard", "fact", "code", "explanation"), PRESENT_ROWS)
def test_fact_must_be_present(guard: str, fact: str, code: str, explanation: str) -> None:
    """A required record passes only when its fact holds a value, not nothing or emptiness."""
    refused = no(guard, code, explanation)

    assert judge(guard, {fact: "REF-1"}) == ok(guard)
    assert judge(guard, {fact: ("REF-1",)}) == ok(guard)
    assert judge(guard, {}) == refused
    assert judge(guard, {fact: ""}) == refused
    assert judge(guard, {fact: ()}) == refused
    assert judge(guard, {"other": "REF-1"}) == refused


# ----------------------------------------------------------------- duty of candour


def _words(harm: str) -> str:
    return {
        "none": "no harm",
        "low": "low harm",
        "moderate": "moderate harm",
        "severe": "severe harm",
        "fatal": "a death",
        "prolonged_psychological": "prolonged psychological harm",
    }[harm]


def _notifiable_result(name: str, harm: str, *, low_harm_local: bool) -> GuardResult:
    if is_notifiable_harm(harm, low_harm_notifiable=low_harm_local):
        return ok(name)
    tail = " and the trust's plan does not treat it as notifiable" if harm == "low" else ""
    return no(
        name,
        "harm_not_notifiable",
        f"{_words(harm)} is not notifiable under regulation 20(8){tail}",
    )


@pytest.mark.parametrize("harm", HARM_CATEGORIES)
@pytest.mark.parametrize(
    ("name", "low_harm_local"),
    [("harm_is_notifiable", False), ("harm_is_notifiable_low_harm_local", True)],
)
def test_harm_is_notifiable(name: str, low_harm_local: bool, harm: str) -> None:
    """Reg 20(8): moderate, severe, death and prolonged psychological harm are notifiable."""
    expected = _notifiable_result(name, harm, low_harm_local=low_harm_local)

    assert judge(name, {}, payload={"harm_category": harm}) == expected


NOTIFIABLE_TABLE = {
    # harm: (statutory guard passes, low-harm-local guard passes)
    "none": (False, False),
    "low": (False, True),
    "moderate": (True, True),
    "severe": (True, True),
    "fatal": (True, True),
    "prolonged_psychological": (True, True),
}


def test_notifiable_table_is_the_regulation() -> None:
    """Reg 20(8): the table above is what is_notifiable_harm answers for every category."""
    assert {
        h: (is_notifiable_harm(h), is_notifiable_harm(h, low_harm_notifiable=True))
        for h in HARM_CATEGORIES
    } == NOTIFIABLE_TABLE


@pytest.mark.parametrize("harm", HARM_CATEGORIES)
@pytest.mark.parametrize(
    ("name", "low_harm_local"),
    [("harm_is_not_notifiable", False), ("harm_is_not_notifiable_low_harm_local", True)],
)
def test_harm_is_not_notifiable(name: str, low_harm_local: bool, harm: str) -> None:
    """Reg 20(8): an incident is found not notifiable for its harm only below the threshold."""
    facts = {"harm_category": harm, "not_notifiable_reason": "harm_below_threshold"}
    notifiable = NOTIFIABLE_TABLE[harm][1 if low_harm_local else 0]
    basis = "the trust's plan" if harm == "low" else "regulation 20(8)"
    expected = (
        no(
            name,
            "harm_requires_notification",
            f"{_words(harm)} is notifiable under {basis}, so the incident cannot be found not "
            "notifiable on the grounds of its harm",
        )
        if notifiable
        else ok(name)
    )

    assert judge(name, {}, payload=facts) == expected


@pytest.mark.parametrize(
    "name", ["harm_is_not_notifiable", "harm_is_not_notifiable_low_harm_local"]
)
@pytest.mark.parametrize(
    "reason",
    ["not_unintended_or_unexpected", "not_during_regulated_activity", "death_not_directly_related"],
)
def test_other_elements_of_reg_20_8_stand_whatever_the_harm(name: str, reason: str) -> None:
    """Reg 20(8): a reason other than the harm passes, even with severe or unknown harm."""
    for harm in ("severe", "catastrophic"):
        facts = {"harm_category": harm, "not_notifiable_reason": reason}

        assert judge(name, {}, payload=facts) == ok(name)


@pytest.mark.parametrize(
    "name",
    [
        "harm_is_notifiable",
        "harm_is_notifiable_low_harm_local",
        "harm_is_not_notifiable",
        "harm_is_not_notifiable_low_harm_local",
    ],
)
@pytest.mark.parametrize(
    ("harm", "words"), [("serious_harm", "serious harm"), (None, "None"), (3, "3")]
)
def test_unknown_harm_is_refused_in_plain_words(name: str, harm: FactValue, words: str) -> None:
    """An unknown harm category is refused by name, with its code in words, never raised."""
    facts: dict[str, FactValue] = {"not_notifiable_reason": "harm_below_threshold"}
    if harm is not None:
        facts["harm_category"] = harm

    assert judge(name, {}, payload=facts) == no(
        name, "harm_category_unknown", f"{words} is not a harm category this lifecycle knows"
    )


def test_unknown_category_raises_for_callers() -> None:
    """is_notifiable_harm refuses a category it does not know, naming the known ones."""
    with pytest.raises(ValueError, match=r"unknown harm category 'grave'; expected one of \("):
        is_notifiable_harm("grave")


#: Reg 20(3)(a)-(d), 20(2)(b) and 20(4)(a)-(d): (guard, flag, code, explanation).
CHECKLIST_ROWS = [
    (
        "verbal_in_person",
        "in_person",
        "notification_not_in_person",
        "the notification was not given in person (regulation 20(3)(a))",
    ),
    (
        "verbal_facts_given",
        "facts_given",
        "facts_not_given",
        "the known facts were not given (regulation 20(3)(b))",
    ),
    (
        "verbal_enquiries_explained",
        "further_enquiries_explained",
        "enquiries_not_explained",
        "the further enquiries were not explained (regulation 20(3)(c))",
    ),
    (
        "verbal_apology_given",
        "apology_given",
        "apology_not_given",
        "no apology was given (regulation 20(3)(d))",
    ),
    (
        "verbal_support_offered",
        "support_offered",
        "support_not_offered",
        "reasonable support was not offered (regulation 20(2)(b))",
    ),
    (
        "written_facts_included",
        "facts_included",
        "written_facts_missing",
        "the letter does not give the facts told in person (regulation 20(4)(a))",
    ),
    (
        "written_enquiries_included",
        "enquiries_included",
        "written_enquiries_missing",
        "the letter does not detail the enquiries to be undertaken (regulation 20(4)(b))",
    ),
    (
        "written_results_included",
        "results_to_date_included",
        "written_results_missing",
        "the letter does not give the results of enquiries so far, or say there are none yet "
        "(regulation 20(4)(c))",
    ),
    (
        "written_apology_included",
        "apology_included",
        "written_apology_missing",
        "the letter does not include an apology (regulation 20(4)(d))",
    ),
]


@pytest.mark.parametrize(("guard", "flag", "code", "explanation"), CHECKLIST_ROWS)
def test_checklist_flag_must_be_true(guard: str, flag: str, code: str, explanation: str) -> None:
    """Each element of the notification passes only when its own flag is exactly true."""
    refused = no(guard, code, explanation)

    assert judge(guard, {}, payload={flag: True}) == ok(guard)
    assert judge(guard, {}, payload={flag: False}) == refused
    assert judge(guard, {}, payload={flag: "yes"}) == refused
    assert judge(guard, {}, payload={}) == refused


def _out_of_sequence(expected: int, given: object) -> GuardResult:
    return no(
        "contact_attempt_in_sequence",
        "contact_attempt_out_of_sequence",
        f"this would be contact attempt {expected}, but it is numbered {given}",
    )


#: Reg 20(5): attempts numbered in order: (attempts before, attempt given, expected).
SEQUENCE_ROWS = [
    pytest.param(None, 1, ok("contact_attempt_in_sequence"), id="first-without-a-case"),
    pytest.param(None, 2, _out_of_sequence(1, 2), id="second-without-a-case"),
    pytest.param({}, 1, ok("contact_attempt_in_sequence"), id="first-on-a-case"),
    pytest.param({}, 0, _out_of_sequence(1, 0), id="zero-on-a-case"),
    pytest.param({"contact_attempts": 2}, 3, ok("contact_attempt_in_sequence"), id="third"),
    pytest.param({"contact_attempts": 2}, 2, _out_of_sequence(3, 2), id="repeated"),
    pytest.param({"contact_attempts": 2}, 4, _out_of_sequence(3, 4), id="skipped"),
    pytest.param({"contact_attempts": "two"}, 1, ok("contact_attempt_in_sequence"), id="junk"),
]


@pytest.mark.parametrize(("before", "given", "expected"), SEQUENCE_ROWS)
def test_contact_attempts_are_numbered_in_order(
    before: Mapping[str, FactValue] | None, given: int, expected: GuardResult
) -> None:
    """Reg 20(5): an attempt is numbered one more than the attempts already on the case."""
    result = judge(
        "contact_attempt_in_sequence", {}, payload={"contact_attempts": given}, before=before
    )

    assert result == expected


UNCONTACTABLE_REFUSED = no(
    "unable_to_notify_recorded",
    "contact_attempts_missing",
    "the relevant person is said to be uncontactable, but no attempt to contact them has been "
    "recorded",
)
DECLINING_REFUSED = no(
    "unable_to_notify_recorded",
    "declining_not_recorded",
    "the relevant person is said to have declined, but no record of their declining has been kept",
)

#: Reg 20(5): leaving the verbal stage unable to notify: (facts, expected).
UNABLE_ROWS = [
    pytest.param({"unable_reason": "uncontactable"}, UNCONTACTABLE_REFUSED, id="no-attempts"),
    pytest.param(
        {"unable_reason": "uncontactable", "contact_attempts": 0},
        UNCONTACTABLE_REFUSED,
        id="zero-attempts",
    ),
    pytest.param(
        {"unable_reason": "uncontactable", "contact_attempts": 1},
        ok("unable_to_notify_recorded"),
        id="one-attempt-is-enough",
    ),
    pytest.param(
        {"unable_reason": "uncontactable", "contact_attempts": "1"},
        UNCONTACTABLE_REFUSED,
        id="attempts-not-a-number",
    ),
    pytest.param({"unable_reason": "declined"}, DECLINING_REFUSED, id="declined-no-record"),
    pytest.param(
        {"unable_reason": "declined", "contact_attempts": 2},
        DECLINING_REFUSED,
        id="attempts-do-not-record-a-declining",
    ),
    pytest.param(
        {"unable_reason": "declined", "declined_record_ref": "DR-1"},
        ok("unable_to_notify_recorded"),
        id="declined-recorded",
    ),
]


@pytest.mark.parametrize(("facts", "expected"), UNABLE_ROWS)
def test_unable_to_notify_needs_a_record(
    facts: Mapping[str, FactValue], expected: GuardResult
) -> None:
    """Reg 20(5): uncontactable needs one recorded attempt; declined needs its record."""
    assert judge("unable_to_notify_recorded", {}, payload=facts) == expected


@pytest.mark.parametrize(
    ("facts", "passes"),
    [
        ({}, False),
        ({"learning_response_approved_ref": "LR-1"}, True),
        ({"enquiries_concluded_ref": "ENQ-1"}, True),
        ({"learning_response_approved_ref": 1}, False),
    ],
)
def test_findings_available(facts: Mapping[str, FactValue], passes: bool) -> None:
    """Reg 20(4)(c): findings are shared once the response is approved or enquiries ended."""
    expected = (
        ok("findings_available")
        if passes
        else no(
            "findings_available",
            "findings_not_available",
            "the learning response has not been approved and no other enquiries are "
            "recorded as concluded, so there are no findings to share yet",
        )
    )

    assert judge("findings_available", facts) == expected
