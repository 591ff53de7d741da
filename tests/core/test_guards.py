"""Segregation of duties and every built-in guard: named results, reason codes and messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from psirf_flow import Actor, Engine, GuardFailed, GuardResult, Role
from psirf_flow.domain import Case, FactValue, SystemReader
from psirf_flow.workflows import GUARDS, LEARNING_RESPONSES, GuardInput
from psirf_flow.workflows.guards import person_in, same_person
from psirf_flow.workflows.guards_thematic import THEMATIC_GUARDS
from psirf_flow.workflows.learning_response.sign_off import GOVERNANCE_GUARDS


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
#: The decision time every guard is judged at (timescale guards compare dates with it).
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


#: Guards that compare the payload with the case before it.
_READS_CASE = frozenset(
    {
        "staff_involved_kept",
        "replaces_current_lead",
        "replaces_current_facilitator",
        "replaces_current_engagement_lead",
        "extension_pending",
        "family_position_recorded",
        "extension_within_request",
        "family_disagreement_explained",
    }
)
#: Guards that never refuse: they record what they saw in their passing code.
_ALWAYS_PASSES = frozenset({"independence_conflict_noted"})


def judge(
    guard: str,
    facts: Mapping[str, FactValue],
    *,
    actor_id: str = "someone-1",
    payload: Mapping[str, FactValue] | None = None,
) -> GuardResult:
    """Run one built-in guard on ``facts`` (with ``payload`` applied) as ``actor_id``.

    A guard that compares the payload with the case before it (:data:`_READS_CASE`) is given
    a case holding ``facts``.
    """
    applied = {**facts, **(payload or {})}
    before = (
        Case(
            id="LR-1",
            workflow="psii",
            workflow_version="1",
            organisation=ORG,
            state="planning",
            version=2,
            facts=facts,
            opened_at=NOW,
            updated_at=NOW,
        )
        if guard in _READS_CASE
        else None
    )
    return GUARDS[guard].check(
        GuardInput(
            case=before,
            trigger="test",
            actor=Actor(actor_id, list(Role), ORG),
            role=Role.EXECUTIVE_LEAD,
            facts=applied,
            payload=payload or {},
            now=NOW,
        )
    )


INVOLVED = {"involved_staff_ids": ("staff-1", "staff-2"), "involved_line_manager_ids": ("mgr-1",)}
LED = {"lead_id": "lead-1", "author_id": "lead-1"}
#: The passing code of an independence guard that checked :data:`INVOLVED`.
LIST_2_1 = "ok:staff:2+1:d205002b4f0e9b90"
#: A PSII started on 5 January 2026 without a plan: the timescale (3 months) ends on
#: Tuesday 7 April (5 April is Easter Sunday, 6 April Easter Monday) and the hard cap
#: (6 months) on Monday 6 July (5 July is a Sunday), psirf-rules §4.1.
STARTED = {"lead_id": "lead-1", "started_on": "2026-01-05"}


def target(day: str) -> dict[str, FactValue]:
    """A payload giving ``day`` as the target date."""
    return {"target_date": day}


PENDING = {**STARTED, "requested_target_date": "2026-05-01"}
#: The extension steps' guards (psirf-rules §4.1, §5 rule 5, §7.1):
#: id, guard, facts before, payload, expected.
EXTENSION_STEP_ROWS: tuple[
    tuple[str, str, Mapping[str, FactValue], Mapping[str, FactValue], str], ...
] = (
    (
        "request-later",
        "request_later_than_target",
        STARTED,
        {"requested_target_date": "2026-04-08"},
        "ok",
    ),
    (
        "request-same",
        "request_later_than_target",
        STARTED,
        {"requested_target_date": "2026-04-07"},
        "extension_not_later",
    ),
    (
        "request-cap-day",
        "request_within_hard_cap",
        STARTED,
        {"requested_target_date": "2026-07-06"},
        "ok",
    ),
    (
        "request-beyond-cap",
        "request_within_hard_cap",
        STARTED,
        {"requested_target_date": "2026-07-07"},
        "hard_cap_exceeded",
    ),
    (
        "request-today",
        "request_not_in_past",
        STARTED,
        {"requested_target_date": "2026-03-02"},
        "ok",
    ),
    (
        "request-yesterday",
        "request_not_in_past",
        STARTED,
        {"requested_target_date": "2026-03-01"},
        "target_in_past",
    ),
    ("pending", "extension_pending", PENDING, {}, "ok"),
    ("not-pending", "extension_pending", STARTED, {}, "no_extension_requested"),
    (
        "position",
        "family_position_recorded",
        {**PENDING, "family_extension_position": "agreed"},
        {},
        "ok",
    ),
    ("no-position", "family_position_recorded", PENDING, {}, "family_position_missing"),
    ("as-requested", "extension_within_request", PENDING, target("2026-05-01"), "ok"),
    (
        "beyond-request",
        "extension_within_request",
        PENDING,
        target("2026-05-02"),
        "extension_beyond_request",
    ),
    (
        "not-involved-why",
        "family_not_involved_reason_given",
        PENDING,
        {
            "family_extension_position": "not_involved",
            "family_not_involved_reason": "uncontactable",
        },
        "ok",
    ),
    (
        "not-involved-silent",
        "family_not_involved_reason_given",
        PENDING,
        {"family_extension_position": "not_involved"},
        "reason_missing",
    ),
    (
        "disagreement-noted",
        "family_disagreement_explained",
        {**PENDING, "family_extension_position": "not_agreed"},
        {"note": "sha256:" + "0" * 64},
        "ok",
    ),
    (
        "disagreement-silent",
        "family_disagreement_explained",
        {**PENDING, "family_extension_position": "not_agreed"},
        {},
        "reason_missing",
    ),
)

#: Timescale guards (psirf-rules §4.1, §5 rule 5): guard, facts, actor, payload, expected.
TIMESCALE_ROWS = [
    pytest.param(
        "target_within_timescale", STARTED, "lead-1", target("2026-04-07"), "ok", id="last-day"
    ),
    pytest.param(
        "target_within_timescale",
        STARTED,
        "lead-1",
        target("2026-04-08"),
        "target_beyond_timescale",
        id="day-after-timescale",
    ),
    pytest.param(
        "target_within_timescale",
        STARTED,
        "lead-1",
        target("2026-07-07"),
        "target_beyond_hard_cap",
        id="day-after-hard-cap",
    ),
    # Restarted on Monday 2 February: 2 May is a Saturday, 4 May a bank holiday: 5 May.
    pytest.param(
        "target_within_timescale",
        {**STARTED, "started_on": "2026-02-02"},
        "lead-1",
        target("2026-05-05"),
        "ok",
        id="months-roll-past-may-holiday",
    ),
    pytest.param(
        "target_within_timescale",
        {**STARTED, "started_on": "2026-02-02"},
        "lead-1",
        target("2026-05-06"),
        "target_beyond_timescale",
        id="day-after-rolled-timescale",
    ),
    pytest.param(
        "target_within_timescale",
        {"lead_id": "lead-1"},
        "lead-1",
        target("2026-03-05"),
        "clock_not_started",
        id="not-started",
    ),
    pytest.param("target_not_in_past", {}, "lead-1", target("2026-03-02"), "ok", id="today"),
    pytest.param(
        "target_not_in_past", {}, "lead-1", target("2026-03-01"), "target_in_past", id="yesterday"
    ),
    pytest.param(
        "target_not_in_past", {}, "lead-1", None, "target_date_missing", id="no-target-date"
    ),
    pytest.param(
        "extension_approver_independent", STARTED, "exec-1", None, "ok", id="exec-approves"
    ),
    pytest.param(
        "extension_approver_independent",
        STARTED,
        "lead-1",
        None,
        "extension_approver_is_lead",
        id="lead-approves",
    ),
    pytest.param(
        "extension_later_than_target",
        STARTED,
        "exec-1",
        target("2026-04-08"),
        "ok",
        id="after-timescale-end",
    ),
    pytest.param(
        "extension_later_than_target",
        STARTED,
        "exec-1",
        target("2026-04-07"),
        "extension_not_later",
        id="same-as-timescale-end",
    ),
    pytest.param(
        "extension_within_hard_cap", STARTED, "exec-1", target("2026-07-06"), "ok", id="cap-day"
    ),
    pytest.param(
        "extension_within_hard_cap",
        STARTED,
        "exec-1",
        target("2026-07-07"),
        "hard_cap_exceeded",
        id="beyond-cap",
    ),
    *(
        pytest.param(guard, facts, "lead-1", payload, code, id=name)
        for name, guard, facts, payload, code in EXTENSION_STEP_ROWS
    ),
    pytest.param(
        "override_beyond_hard_cap",
        STARTED,
        "exec-1",
        target("2026-07-07"),
        "ok",
        id="override-beyond-cap",
    ),
    pytest.param(
        "override_beyond_hard_cap",
        STARTED,
        "exec-1",
        target("2026-07-06"),
        "hard_cap_not_exceeded",
        id="override-within-cap",
    ),
]

#: guard, facts, actor, payload -> expected reason code ("ok" when it passes).
GUARD_TABLE = [
    # psirf-rules §5 rule 1, issue 9 item 7: the team already named, against the current list.
    *(
        pytest.param("team_independent", {**INVOLVED, **team}, "lead-1", None, code, id=name)
        for name, team, code in (
            ("team-independent", {"lead_id": "lead-1", "engagement_lead_id": "eng-1"}, LIST_2_1),
            ("team-nobody-named", {}, LIST_2_1),
            ("team-lead-involved", {"lead_id": "STAFF-1"}, "lead_involved_in_incident"),
            ("team-lead-manager", {"lead_id": "mgr-1"}, "lead_line_manages_involved_staff"),
            (
                "team-facilitator-involved",
                {"facilitator_id": "staff-2"},
                "lead_involved_in_incident",
            ),
            (
                "team-engagement-lead-involved",
                {"lead_id": "lead-1", "engagement_lead_id": "staff-2"},
                "engagement_lead_involved_in_incident",
            ),
            (
                "team-engagement-lead-manager",
                {"engagement_lead_id": "MGR-1"},
                "engagement_lead_line_manages_involved_staff",
            ),
            (
                "team-reviewer-involved",
                {"peer_reviewer_id": "staff-1"},
                "reviewer_involved_in_incident",
            ),
            ("team-reviewer-may-manage", {"peer_reviewer_id": "mgr-1"}, LIST_2_1),
            (
                "team-lead-reported-first",
                {"engagement_lead_id": "staff-1", "lead_id": "mgr-1"},
                "lead_line_manages_involved_staff",
            ),
        )
    ),
    pytest.param(
        "independence_conflict_noted",
        {"lead_id": "lead-1"},
        "pss-1",
        INVOLVED,
        LIST_2_1,
        id="no-conflict-noted",
    ),
    pytest.param(
        "independence_conflict_noted",
        {"lead_id": "staff-1", "engagement_lead_id": "mgr-1", "peer_reviewer_id": "staff-2"},
        "pss-1",
        INVOLVED,
        f"{LIST_2_1}:independence_conflict:engagement_lead+lead+peer_reviewer",
        id="conflict-noted-by-role",
    ),
    pytest.param(
        "reassign_reason_explained",
        {},
        "pss-1",
        {"reassign_reason": "other", "note": "digest-of-a-note"},
        "ok",
        id="other-reason-with-note",
    ),
    pytest.param(
        "reassign_reason_explained",
        {},
        "pss-1",
        {"reassign_reason": "unavailable"},
        "ok",
        id="coded-reason-needs-no-note",
    ),
    pytest.param(
        "reassign_reason_explained",
        {},
        "pss-1",
        {"reassign_reason": "other"},
        "reason_missing",
        id="other-reason-without-note",
    ),
    *(
        pytest.param(
            f"replaces_current_{word}", {f"{word}_id": "old-1"}, "pss-1", given, code, id=name
        )
        for word in ("lead", "facilitator", "engagement_lead")
        for name, given, code in (
            (
                f"{word}-replaced",
                {f"{word}_id": "new-1", f"replaced_{word}_id": "OLD-1"},
                "ok",
            ),
            (
                f"{word}-replaced-not-current",
                {f"{word}_id": "new-1", f"replaced_{word}_id": "other-1"},
                "replaced_person_not_current",
            ),
            (
                f"{word}-unchanged",
                {f"{word}_id": "Old-1", f"replaced_{word}_id": "old-1"},
                "replacement_unchanged",
            ),
        )
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        "pss-1",
        {"lead_id": "lead-1"},
        "ok:staff:2+1:d205002b4f0e9b90",
        id="lead-independent",
    ),
    pytest.param(
        "staff_involved_kept",
        INVOLVED,
        "pss-1",
        {"involved_staff_ids": ("staff-1", "staff-2", "staff-3"), "involved_line_manager_ids": ()},
        "staff_involved_dropped",
        id="staff-list-drops-a-manager",
    ),
    pytest.param(
        "staff_involved_kept",
        INVOLVED,
        "pss-1",
        {
            "involved_staff_ids": ("STAFF-1", "staff-2", "staff-3"),
            "involved_line_manager_ids": ("mgr-1",),
        },
        "ok",
        id="staff-list-adds-people",
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        "pss-1",
        {"lead_id": "staff-2"},
        "lead_involved_in_incident",
        id="lead-involved",
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        "pss-1",
        {"lead_id": "mgr-1"},
        "lead_line_manages_involved_staff",
        id="lead-line-manager",
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        "pss-1",
        {"facilitator_id": "staff-1"},
        "lead_involved_in_incident",
        id="facilitator-involved",
    ),
    pytest.param(
        "engagement_lead_assigned",
        {},
        "pss-1",
        {"engagement_lead_id": "eng-1"},
        "ok",
        id="engagement-lead-named",
    ),
    pytest.param(
        "engagement_lead_assigned", {}, "pss-1", {}, "engagement_lead_missing", id="no-eng-lead"
    ),
    pytest.param("actor_is_lead", LED, "lead-1", None, "ok", id="actor-is-lead"),
    pytest.param(
        "actor_is_lead", {"facilitator_id": "fac-1"}, "fac-1", None, "ok", id="actor-is-facilitator"
    ),
    pytest.param(
        "actor_is_lead", LED, "lead-2", None, "actor_not_assigned_lead", id="actor-not-lead"
    ),
    pytest.param(
        "terms_of_reference_recorded",
        {"terms_of_reference_ref": "DOC-1"},
        "lead-1",
        None,
        "ok",
        id="tor-recorded",
    ),
    pytest.param(
        "terms_of_reference_recorded", {}, "lead-1", None, "terms_of_reference_missing", id="no-tor"
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "involved"},
        "lead-1",
        None,
        "ok",
        id="family-involved",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "declined"},
        "lead-1",
        None,
        "ok",
        id="family-declined",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable"},
        "lead-1",
        None,
        "contact_attempts_missing",
        id="uncontactable-without-attempts",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable", "contact_attempts": 0},
        "lead-1",
        None,
        "contact_attempts_missing",
        id="uncontactable-zero-attempts",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {"family_engagement": "uncontactable", "contact_attempts": 3},
        "lead-1",
        None,
        "ok",
        id="uncontactable-with-attempts",
    ),
    pytest.param(
        "engagement_outcome_recorded",
        {},
        "lead-1",
        None,
        "engagement_outcome_missing",
        id="no-engagement-outcome",
    ),
    pytest.param(
        "peer_review_recorded", {"peer_review_ref": "P-1"}, "x-1", None, "ok", id="peer-review"
    ),
    pytest.param(
        "peer_review_recorded",
        {"peer_review_ref": ""},
        "x-1",
        None,
        "peer_review_missing",
        id="peer-review-empty",
    ),
    pytest.param(
        "expert_input_recorded", {"expert_input": "panel"}, "x-1", None, "ok", id="expert-input"
    ),
    pytest.param(
        "expert_input_recorded", {}, "x-1", None, "expert_input_missing", id="no-expert-input"
    ),
    pytest.param(
        "staff_accuracy_checked",
        {"staff_accuracy_check": "amended"},
        "x-1",
        None,
        "ok",
        id="staff-accuracy",
    ),
    pytest.param(
        "staff_accuracy_checked", {}, "x-1", None, "staff_accuracy_check_missing", id="no-staff"
    ),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "involved", "family_draft_response": "no_comments"},
        "x-1",
        None,
        "ok",
        id="family-draft-response",
    ),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "involved"},
        "x-1",
        None,
        "family_draft_review_missing",
        id="family-draft-missing",
    ),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "declined"},
        "x-1",
        None,
        "ok",
        id="family-declined-needs-no-draft-review",
    ),
    pytest.param(
        "family_draft_review_recorded",
        {"family_engagement": "uncontactable", "contact_attempts": 2},
        "x-1",
        None,
        "ok",
        id="family-uncontactable-needs-no-draft-review",
    ),
    pytest.param(
        "findings_agreed", {"findings_agreed_by": "senior-1"}, "x-1", None, "ok", id="findings"
    ),
    pytest.param("findings_agreed", {}, "x-1", None, "findings_not_agreed", id="no-findings"),
    pytest.param("approver_independent", LED, "exec-1", None, "ok", id="approver-independent"),
    pytest.param(
        "approver_independent", LED, "lead-1", None, "approver_is_lead", id="approver-is-lead"
    ),
    pytest.param(
        "approver_independent",
        {"lead_id": "lead-1", "author_id": "writer-1"},
        "writer-1",
        None,
        "approver_is_author",
        id="approver-is-author",
    ),
    pytest.param(
        "approver_independent",
        {"facilitator_id": "fac-1", "author_id": "fac-1"},
        "fac-1",
        None,
        "approver_is_lead",
        id="approver-is-facilitator",
    ),
    pytest.param(
        "reviewer_independent",
        LED,
        "peer-1",
        None,
        "ok:staff:0+0:9652595f37edd08c",
        id="reviewer-independent",
    ),
    pytest.param(
        "reviewer_independent", LED, "lead-1", None, "reviewer_not_independent", id="reviewer-lead"
    ),
    pytest.param(
        "reviewer_independent",
        {"lead_id": "lead-1", "author_id": "writer-1"},
        "writer-1",
        None,
        "reviewer_not_independent",
        id="reviewer-author",
    ),
    pytest.param("senior_leader_independent", LED, "senior-1", None, "ok", id="senior-other"),
    pytest.param(
        "senior_leader_independent", LED, "lead-1", None, "senior_leader_is_lead", id="senior-lead"
    ),
    pytest.param(
        "several_incidents_linked",
        {"incident_ids": ("INC-1", "INC-2")},
        "pss-1",
        None,
        "ok",
        id="two-incidents",
    ),
    pytest.param(
        "several_incidents_linked",
        {"incident_ids": "INC-1"},
        "pss-1",
        None,
        "too_few_incidents",
        id="one-incident",
    ),
    pytest.param(
        "actions_or_rationale",
        {},
        "pss-1",
        {"safety_action_ids": ("SA-1",)},
        "ok",
        id="actions-linked",
    ),
    pytest.param(
        "actions_or_rationale",
        {},
        "pss-1",
        {"no_actions_rationale": "no_new_learning"},
        "ok",
        id="rationale",
    ),
    pytest.param(
        "actions_or_rationale",
        {},
        "pss-1",
        {"safety_action_ids": ()},
        "actions_or_rationale_missing",
        id="empty-actions",
    ),
    pytest.param(
        "actions_or_rationale", {}, "pss-1", None, "actions_or_rationale_missing", id="neither"
    ),
    *TIMESCALE_ROWS,
]


class TestBuiltinGuards:
    """Each built-in guard returns a named result with a stable reason code."""

    @pytest.mark.parametrize(("guard", "facts", "actor_id", "payload", "expected"), GUARD_TABLE)
    def test_guard(
        self,
        guard: str,
        facts: Mapping[str, FactValue],
        actor_id: str,
        payload: Mapping[str, FactValue] | None,
        expected: str,
    ) -> None:
        """The guard passes or fails with the reason code in the table, under its own name."""
        result = judge(guard, facts, actor_id=actor_id, payload=payload)

        assert result.name == guard
        assert result.reason_code == expected
        assert result.ok is expected.startswith("ok")
        assert (result.explanation == "") is result.ok

    def test_every_learning_response_guard_is_in_the_table(self) -> None:
        """Every guard a learning response uses has a passing and a failing row above.

        The guards that read the plan are tabled with a plan in ``test_governance_guards``
        (the scheduled thematic review's in ``tests/lifecycles/test_thematic_reviews.py``).
        """
        rows = [p.values for p in GUARD_TABLE]
        governed = {row[0] for row in (*GOVERNANCE_GUARDS, *THEMATIC_GUARDS)}
        used = {
            name
            for definition in LEARNING_RESPONSES.values()
            for spec in (definition.opening, *definition.transitions.values())
            for name in spec.guards
        }
        assert len(used) == 45
        assert len(used & governed) == 9
        for name in used - governed:
            outcomes = {row[4].startswith("ok") for row in rows if row[0] == name}
            assert outcomes == ({True} if name in _ALWAYS_PASSES else {True, False}), name

    def test_registry_names_match_guard_names(self) -> None:
        """Each guard is registered under the name its results carry, with a plain summary."""
        for name, spec in GUARDS.items():
            assert spec.name == name
            assert spec.summary.endswith(".")

    def test_guard_input_ids(self) -> None:
        """A fact reads as ids: a tuple as is, a single id as one, anything else as none."""
        guard_input = GuardInput(
            case=None,
            trigger="t",
            actor=Actor("a-1", [Role.REPORTER], ORG),
            role=Role.REPORTER,
            facts={"many": ("x", "y"), "one": "x", "count": 3},
            payload={},
        )

        assert guard_input.ids("many") == ("x", "y")
        assert guard_input.ids("one") == ("x",)
        assert guard_input.ids("count") == ()
        assert guard_input.ids("absent") == ()


#: Every segregation-of-duties guard with ids that differ only in case (psirf-rules §5
#: rules 1, 2, 5 and 6): guard, facts, actor, payload, expected reason code. A person is
#: the same person whatever the case of their id, so each of these is refused.
MIXED_CASE_SOD = [
    pytest.param(
        "lead_independent",
        INVOLVED,
        "pss-1",
        {"lead_id": "STAFF-1"},
        "lead_involved_in_incident",
        id="lead-involved",
    ),
    pytest.param(
        "lead_independent",
        INVOLVED,
        "pss-1",
        {"facilitator_id": "Mgr-1"},
        "lead_line_manages_involved_staff",
        id="facilitator-manager",
    ),
    pytest.param(
        "approver_independent",
        {"lead_id": "lrl-1"},
        "LRL-1",
        None,
        "approver_is_lead",
        id="approver-lead",
    ),
    pytest.param(
        "approver_independent",
        {"lead_id": "lrl-2", "author_id": "lrl-1"},
        "LRL-1",
        None,
        "approver_is_author",
        id="approver-author",
    ),
    pytest.param(
        "reviewer_independent",
        {"lead_id": "lrl-2", "author_id": "Lrl-1"},
        "lRL-1",
        None,
        "reviewer_not_independent",
        id="reviewer-author",
    ),
    pytest.param(
        "reviewer_independent",
        {"facilitator_id": "fac-1"},
        "FAC-1",
        None,
        "reviewer_not_independent",
        id="reviewer-facilitator",
    ),
    pytest.param(
        "senior_leader_independent",
        {"lead_id": "lead-1"},
        "LEAD-1",
        None,
        "senior_leader_is_lead",
        id="senior-leader-lead",
    ),
    pytest.param(
        "extension_approver_independent",
        {"lead_id": "lead-1"},
        "Lead-1",
        None,
        "extension_approver_is_lead",
        id="extension-approver-lead",
    ),
    pytest.param(
        "verifier_not_owner",
        {"owner_id": "own-1"},
        "OWN-1",
        None,
        "verifier_is_owner",
        id="verifier-owner",
    ),
    pytest.param(
        "approver_not_owner",
        {"owner_id": "OWN-1"},
        "own-1",
        None,
        "approver_is_owner",
        id="approver-owner",
    ),
    pytest.param("actor_is_owner", {"owner_id": "own-1"}, "OWN-1", None, "ok", id="owner-acts"),
    pytest.param("actor_is_lead", {"lead_id": "LEAD-1"}, "lead-1", None, "ok", id="lead-acts"),
]


class TestIdentityIgnoresCase:
    """Identity comparisons in every separation-of-duties guard ignore case (§5)."""

    @pytest.mark.parametrize(("guard", "facts", "actor_id", "payload", "expected"), MIXED_CASE_SOD)
    def test_mixed_case_ids_name_the_same_person(
        self,
        guard: str,
        facts: Mapping[str, FactValue],
        actor_id: str,
        payload: Mapping[str, FactValue] | None,
        expected: str,
    ) -> None:
        """Ids differing only in case are one person, for every SoD guard."""
        result = judge(guard, facts, actor_id=actor_id, payload=payload)

        assert (result.name, result.reason_code, result.ok) == (guard, expected, expected == "ok")

    @pytest.mark.parametrize(
        ("a", "b", "same"),
        [
            ("LRL-1", "lrl-1", True),
            ("straße-1", "STRASSE-1", True),
            ("lrl-1", "lrl-2", False),
            ("lrl-1", None, False),
            (None, None, False),
        ],
    )
    def test_same_person(self, a: object, b: object, same: bool) -> None:
        """same_person and person_in compare casefolded strings; non-strings name nobody."""
        assert same_person(a, b) is same
        assert person_in(a, ["x-9", b]) is same


class TestSegregationOfDuties:
    """Segregation of duties through the engine (psirf-rules §5 rules 1, 2 and 6)."""

    @pytest.mark.parametrize(
        ("lead_id", "code", "words"),
        [
            pytest.param("staff-1", "lead_involved_in_incident", "was involved", id="involved"),
            pytest.param("mgr-1", "lead_line_manages_involved_staff", "line-manages", id="manager"),
        ],
    )
    def test_lead_must_be_independent(
        self, *, lifecycle: Any, engine: Engine, cast: Any, lead_id: str, code: str, words: str
    ) -> None:
        """A lead involved in the incident or line-managing staff involved is refused."""
        case = lifecycle.open()

        with pytest.raises(GuardFailed) as refused:
            engine.fire(
                case.id,
                "assign_lead",
                actor=cast.pss,
                payload={"lead_id": lead_id, "engagement_lead_id": "eng-1"},
            )

        assert refused.value.reason_code == code
        assert words in str(refused.value)
        assert engine.get(case.id, reader=READER).state == "commissioned"

    def test_approver_is_never_the_lead(self, lifecycle: Any, engine: Engine) -> None:
        """A lead who is also an executive lead cannot approve the report they led."""
        case = lifecycle.to("awaiting_approval")
        both = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD, Role.EXECUTIVE_LEAD], ORG)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "approve", actor=both, payload={"report_ref": "R-1"})

        assert refused.value.reason_code == "approver_is_lead"
        assert "lead-1 led this response and so cannot approve its report" in str(refused.value)

    def test_approver_may_not_return_their_own_report(self, lifecycle: Any, engine: Engine) -> None:
        """Returning for rework needs the same independence as approving."""
        case = lifecycle.to("awaiting_approval")
        both = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD, Role.EXECUTIVE_LEAD], ORG)

        with pytest.raises(GuardFailed):
            engine.fire(
                case.id, "return_for_rework", actor=both, payload={"rework_reason": "other"}
            )

    def test_author_is_recorded_from_the_draft_submitter(self, lifecycle: Any) -> None:
        """The person who submits the draft is recorded as its author."""
        case = lifecycle.to("review")

        assert case.facts["author_id"] == "lead-1"

    def test_peer_reviewer_must_be_independent(self, lifecycle: Any, engine: Engine) -> None:
        """The lead cannot peer-review their own draft."""
        case = lifecycle.to("review")
        both = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD, Role.PEER_REVIEWER], ORG)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "record_peer_review", actor=both, payload={"peer_review_ref": "P"})

        assert refused.value.reason_code == "reviewer_not_independent"

    def test_senior_leader_agreeing_findings_is_not_the_lead(
        self, lifecycle: Any, engine: Engine
    ) -> None:
        """The lead cannot agree their own findings as a senior leader."""
        case = lifecycle.to("review")
        both = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD, Role.SENIOR_LEADER], ORG)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "agree_findings", actor=both)

        assert refused.value.reason_code == "senior_leader_is_lead"

    def test_only_the_assigned_lead_leads(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """Another learning response lead cannot take the assigned lead's steps."""
        case = lifecycle.to("planning")

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "begin_gathering", actor=cast.other_lead)

        assert refused.value.reason_code == "actor_not_assigned_lead"
        assert "lead-2 is not the lead assigned to this case" in str(refused.value)


class TestEngagementBeforeApproval:
    """A PSII needs a recorded engagement outcome before approval (psirf-rules §6, §7.1)."""

    @pytest.mark.parametrize(
        ("engagement", "attempts"),
        [
            pytest.param("involved", None, id="involved"),
            pytest.param("declined", None, id="declined"),
            pytest.param("uncontactable", 3, id="uncontactable-with-attempts"),
        ],
    )
    def test_complete_outcomes_allow_approval(
        self, lifecycle: Any, engagement: str, attempts: int | None
    ) -> None:
        """Involved, declined, or uncontactable with attempts recorded are complete outcomes."""
        case = lifecycle.to("awaiting_approval", engagement=engagement, contact_attempts=attempts)

        assert case.facts["engagement.pat-1"] == engagement
        assert case.facts["engaged_person_ids"] == ("pat-1",)
        assert case.state == "awaiting_approval"

    def test_uncontactable_without_attempts_blocks_approval(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Uncontactable without any recorded attempt is not a complete outcome."""
        case = lifecycle.record_review(lifecycle.to("review", engagement="uncontactable"))

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.lead)

        assert [f.reason_code for f in refused.value.failures] == ["contact_attempts_missing"]
        assert "no contact attempts are recorded" in str(refused.value)


class TestEveryFailureListed:
    """A guard rejection lists every failed guard, not just the first."""

    def test_bare_psii_lists_everything_missing(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Asking approval for a bare PSII in review lists all seven missing items."""
        case = lifecycle.to("review", terms=False, engagement=None)

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "request_approval", actor=cast.lead)

        error = refused.value
        assert [f.reason_code for f in error.failures] == [
            "terms_of_reference_missing",
            "engagement_outcome_missing",
            "peer_review_missing",
            "expert_input_missing",
            "staff_accuracy_check_missing",
            "family_draft_review_missing",
            "findings_not_agreed",
        ]
        assert [r.name for r in error.results if r.ok] == ["actor_is_lead", "team_independent"]
        assert error.reason_code == "terms_of_reference_missing"
        for failure in error.failures:
            assert failure.explanation in error.message
        assert error.message.startswith("'request approval' was refused because ")


class TestClosure:
    """Closure needs linked safety actions or a reason for none; actions never block it."""

    def test_close_needs_actions_or_rationale(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Closing with neither linked actions nor a rationale is refused."""
        case = lifecycle.to("shared")

        with pytest.raises(GuardFailed) as refused:
            engine.fire(case.id, "close", actor=cast.pss)

        assert refused.value.reason_code == "actions_or_rationale_missing"

    def test_close_with_rationale(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """A recorded reason for having no actions is enough to close."""
        case = lifecycle.to("shared")

        closed = engine.fire(
            case.id,
            "close",
            actor=cast.pss,
            payload={"no_actions_rationale": "covered_by_existing_improvement_plan"},
        )

        assert closed.case.state == "closed"

    def test_open_safety_actions_never_block_closure(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Linked safety actions that are still open do not stop closure (psirf-rules §6 note)."""
        case = lifecycle.to("shared")
        assert engine.store.outbox(case.id) == ()

        closed = engine.fire(
            case.id, "close", actor=cast.pss, payload={"safety_action_ids": ["SA-open-1"]}
        )

        assert closed.case.state == "closed"
        assert closed.case.facts["safety_action_ids"] == ("SA-open-1",)
        assert [g[0] for g in closed.entry.guards] == ["actions_or_rationale"]
