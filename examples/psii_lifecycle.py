"""A trust runs an incident under its own plan: from the report to a closed PSII.

This is what ``make demo`` runs. A mental health and community trust works under its
patient safety incident response plan (``examples/plans/mental-health-community-trust.toml``)
and the national rules shipped with psirf_flow. A suspected suicide of a person under a
community mental health team is reported, with the harm and the staff involved (opaque ids
only). Triage reads the plan; the suicide prevention review panel, which the plan names as
decider, asks for a PSII at its weekly meeting. The outbox relay opens the PSII; the
duty-of-candour case was opened from the report. The investigation runs as the plan says:
an independent lead, terms of reference before gathering, engagement recorded person by
person, a pause for the coroner, review, then the plan's sign-off chain (the patient safety
and learning group, then the executive lead's step, signed here by a deputy under a
delegation), sharing and closure.

The plan's clocks run alongside: each step writes, meets or moves the deadlines it governs
(the 72-hour triage review, the duty of candour's notifications, the PSII's target and hard
cap, paused while the case is on hold). At two points a sweeper runs, as a host would run it
every minute, and fires the escalation tiers that have fallen due; the outbox relay hands
their notifications (ids and roles only) to a notifier. At the end the board's reports are
read from the same rows.

Along the way people try things the plan or the national rules do not allow, and each
refusal is explained in plain words. Everything is persisted to a SQLite file; each case's
audit trail is printed and verified, the incident's records are listed, and a second
process reopens the file and verifies every case.

It speaks to a patient safety lead: times in UK local time with the zone (BST, or GMT
after the clocks go back), steps and roles by the human names the definitions give them
(:func:`psirf_flow.workflows.spec.step_name`, :func:`psirf_flow.domain.role_name`); ids
stay as the trust's systems know them.

Run it with ``make demo`` or ``python examples/psii_lifecycle.py --db demo.sqlite3``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from psirf_flow import (
    Actor,
    CommandRejected,
    Engine,
    InMemoryNotifier,
    Role,
    Sweeper,
    reports,
)
from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Deadline, role_name
from psirf_flow.policy import (
    IncidentFacts,
    NationalRuleSet,
    PhysicalHarm,
    Plan,
    intake_payload,
    load_national_rules,
    load_plan_file,
    triage,
)
from psirf_flow.policy.calendars import UK_TIME
from psirf_flow.policy.governance import GOVERNING_PLAN_FACT, GOVERNING_RULES_FACT
from psirf_flow.ports import DeadlineQuery
from psirf_flow.relay import OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock
from psirf_flow.workflows.couplings import candour_case_id, learning_response_id
from psirf_flow.workflows.spec import step_name


PLAN_FILE = Path(__file__).resolve().parent / "plans" / "mental-health-community-trust.toml"
TRUST = "RXM"  # the trust's organisation code, as its plan names it (an opaque id)
INCIDENT = "INC-2026-0311"  # the incident's id in the trust's risk system (opaque)
CANDOUR = candour_case_id(INCIDENT)
DELEGATION = "DEL-2026-014"
PANEL = "suicide-review-panel"
GROUP = "patient-safety-group"

# Staff involved in the care, and their line manager (opaque ids, never names).
CARE_COORDINATOR = "cpn-114"
TEAM_MANAGER = "tm-22"
CONSULTANT = "dr-31"  # found to be involved during the intake review

# The people who act. Ids are opaque; names live only in the trust's own systems.
REPORTER = Actor("rep-17", [Role.REPORTER], TRUST)
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], TRUST)
PSYCHIATRIST = Actor("hcp-04", [Role.HEALTH_CARE_PROFESSIONAL], TRUST)
PANEL_CHAIR = Actor("srp-02", [Role.SENIOR_LEADER], TRUST, committees=frozenset({PANEL}))
LEAD = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], TRUST)
ENGAGEMENT_LEAD = Actor("eng-03", [Role.ENGAGEMENT_LEAD], TRUST)
PEER_REVIEWER = Actor("rev-05", [Role.PEER_REVIEWER], TRUST)
SENIOR_LEADER = Actor("sl-08", [Role.SENIOR_LEADER], TRUST)
GROUP_MEMBER = Actor("psg-06", [Role.SENIOR_LEADER], TRUST, committees=frozenset({GROUP}))
EXECUTIVE = Actor("exec-01", [Role.EXECUTIVE_LEAD], TRUST)
DEPUTY = Actor("md-09", [Role.SENIOR_LEADER], TRUST)
PARTNER = Actor("psp-02", [Role.PATIENT_SAFETY_PARTNER], TRUST)

CAST = {
    REPORTER.id: "community team nurse who reports the incident",
    PSS.id: "patient safety specialist",
    PSYCHIATRIST.id: "consultant psychiatrist (duty of candour)",
    PANEL_CHAIR.id: "chair of the suicide prevention review panel",
    LEAD.id: "PSII lead (from another directorate)",
    ENGAGEMENT_LEAD.id: "family engagement lead",
    PEER_REVIEWER.id: "peer reviewer",
    SENIOR_LEADER.id: "community services senior leader",
    GROUP_MEMBER.id: "member of the patient safety and learning group",
    EXECUTIVE.id: "executive lead for PSIRF",
    DEPUTY.id: "deputy medical director (no executive role of their own)",
    PARTNER.id: "patient safety partner (lay member of the group)",
    CARE_COORDINATOR: "involved: the person's care coordinator",
    CONSULTANT: "involved: the person's consultant",
    TEAM_MANAGER: "line manager of the care coordinator",
}


class Story:
    """Drives the engine, narrating each step, and keeps the reason of every refusal shown."""

    def __init__(self, engine: Engine, clock: ManualClock, plan: Plan) -> None:
        self.engine = engine
        self.clock = clock
        self.plan = plan
        self.refusals: list[str] = []
        self.notifier = InMemoryNotifier()

    def step(
        self,
        case_id: str,
        actor: Actor,
        trigger: str,
        payload: Mapping[str, object] | None = None,
        *,
        why: str,
        days: int = 1,
        hours: int = 0,
    ) -> None:
        """Take one step that should be accepted, some time after the previous one."""
        self.clock.advance(timedelta(days=days, hours=hours))
        outcome = self.engine.fire(case_id, trigger, actor=actor, payload=payload)
        _done(outcome.entry, outcome.case.state)
        print(f"      {why}")

    def refused(
        self,
        case_id: str,
        actor: Actor,
        trigger: str,
        payload: Mapping[str, object] | None = None,
        *,
        story: str,
    ) -> None:
        """Take one step that the rules refuse, and explain the refusal."""
        try:
            self.engine.fire(case_id, trigger, actor=actor, payload=payload)
        except CommandRejected as error:
            reasons = [f.reason_code for f in getattr(error, "failures", ())]
            self.refusals.append(reasons[0] if reasons else error.code)
            roles = " and ".join(sorted(role_name(r) for r in actor.roles))
            print(f"  ✗ REFUSED  {actor.id:<8} {step_name(trigger):<28} as {roles}")
            print(f"      {story}")
            print(f"      The library said: {error.message}")
            because = f", reason {', '.join(reasons)}" if reasons else ""
            print(f"      (error {error.code}, {type(error).__name__}{because})")
            return
        msg = f"{trigger} by {actor.id} should have been refused"
        raise SystemExit(msg)

    def relay(self, why: str) -> None:
        """Run the outbox relay until nothing is due, and say what it did."""
        report = self._relay()
        print(f"  ⇢ relay              applied {report.applied} coupling message(s): {why}")

    def _relay(self) -> RelayReport:
        """Apply couplings and hand notifications to the notifier until nothing is due."""
        relay = OutboxRelay(
            self.engine, notifier=self.notifier, response_types=self.plan.response_variants()
        )
        return relay.run_until_idle()

    def clocks(self, case_id: str, why: str) -> None:
        """Print a case's deadlines (the current cycle of each kind) and how each stands."""
        rows: dict[str, Deadline] = {}
        for row in self.engine.find_deadlines(DeadlineQuery(case_ids={case_id}), reader=PARTNER):
            if row.kind not in rows or row.cycle > rows[row.kind].cycle:
                rows[row.kind] = row
        print(f"  ⏱ {case_id}: {why}")
        for row in sorted(rows.values(), key=lambda r: r.due_at):
            if row.met_at is not None:
                late = ", late" if row.met_at > row.due_at else ""
                due = _day(row.due_date) if row.due_date is not None else _when(row.due_at)
                detail = f"on {_when(row.met_at)}{late} (due {due})"
            else:
                detail = f"due {_due(row)}"
            print(f"      {row.kind:<22} {row.status:<10} {detail}")

    def sweep(self, why: str) -> None:
        """Run a sweeper now, then the relay; print each notification it hands on."""
        before = len(self.notifier.sent)
        swept = Sweeper(self.engine).sweep()
        self._relay()
        print(
            f"  ⏰ {_when(self.clock.now())}  sweeper fired {swept.fired} escalation tier(s): {why}"
        )
        for sent in self.notifier.sent[before:]:
            body = sent.body
            person = f" {body['person_id']}" if body.get("person_id") else ""
            print(
                f"      → {role_name(body['role'])}{person}: {body['kind']} {body['stage']} "
                f"(case {body['case_id']})"
            )


def _when(moment: datetime) -> str:
    """An instant as UK local time with its zone, e.g. ``Mon 11 May 09:30 BST`` (GMT in winter)."""
    local = moment.astimezone(UK_TIME)
    return f"{local:%a} {local.day} {local:%b %H:%M %Z}"


def _day(day: date) -> str:
    """A UK local date as a person writes it, e.g. ``Fri 27 Nov 2026``."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def _done(entry: AuditEntry, state: str) -> None:
    """Print an accepted step: when (UK time), who, the step's and the role's human names."""
    print(
        f"  ✓ {_when(entry.recorded_at):<20}  {entry.actor_id:<8} {step_name(entry.trigger):<28} "
        f"-> {state:<22} as {role_name(entry.role)}"
    )


def _due(row: Deadline) -> str:
    """A deadline's due date and when it turns late, or for an hours rule its due time."""
    if row.due_date is not None:
        return f"{_day(row.due_date)} (late from {_when(row.due_at)})"
    return _when(row.due_at)


def _report(story: Story) -> None:
    """Report the incident; candour is screened from the report."""
    print("\n1. Report and duty-of-candour screening")
    opened = story.engine.open(
        "incident_intake",
        actor=REPORTER,
        case_id=INCIDENT,
        payload={
            "incident_id": INCIDENT,
            "physical_harm": "fatal",
            "involved_staff_ids": [CARE_COORDINATOR],
            "involved_line_manager_ids": [TEAM_MANAGER],
        },
    )
    _done(opened.entry, opened.case.state)
    print(
        "      A suspected suicide of a person under a community team is reported, harm "
        "graded fatal, the care coordinator named as involved."
    )
    story.relay("harm graded moderate or above opens the duty-of-candour case")
    story.step(
        CANDOUR,
        PSYCHIATRIST,
        "determine_notifiable",
        {"harm_category": "fatal", "harm_basis": "appears_to_have_resulted"},
        why="While triage is still under way, a consultant psychiatrist determines the "
        "incident notifiable: the family is to be told.",
        days=0,
        hours=2,
    )
    story.step(
        CANDOUR,
        ENGAGEMENT_LEAD,
        "record_verbal_notification",
        {
            "in_person": True,
            "facts_given": True,
            "further_enquiries_explained": True,
            "apology_given": True,
            "support_offered": True,
            "verbal_record_ref": "DOC-VN-0311",
            "relevant_person_basis": "on_death",
            "representative_ids": ["fam-201"],
        },
        why="The person's mother is told in person, with an apology and support, well "
        "within the plan's ten working days.",
        days=2,
    )
    story.step(
        CANDOUR,
        ENGAGEMENT_LEAD,
        "record_written_notification",
        {
            "facts_included": True,
            "enquiries_included": True,
            "results_to_date_included": True,
            "apology_included": True,
            "written_copy_ref": "DOC-WN-0311",
            "written_delivery": "given_in_person",
        },
        why="The written notification follows; the results are due once the PSII is approved.",
        days=1,
    )


def _triage_and_decide(story: Story, rules: NationalRuleSet) -> str:
    """Triage under the plan; the decider the plan names decides; the relay opens the PSII."""
    print("\n2. Triage under the plan, and the decision")
    story.step(INCIDENT, PSS, "begin_review", why="The specialist starts the intake review.")
    story.step(
        INCIDENT,
        PSS,
        "record_staff_involved",
        {
            "involved_staff_ids": [CARE_COORDINATOR, CONSULTANT],
            "involved_line_manager_ids": [TEAM_MANAGER],
        },
        why="The review finds the person's consultant was involved too: the list grows.",
        days=0,
        hours=2,
    )
    facts = IncidentFacts(
        incident_id=INCIDENT,
        physical_harm=PhysicalHarm.FATAL,
        died=True,
        service_line="community_mental_health",
        setting="community",
        categories=frozenset({"suspected_suicide"}),
    )
    advice = triage(facts, story.plan, rules)
    story.step(
        INCIDENT,
        PSS,
        "record_triage",
        intake_payload(advice, rules),
        why=f"Triage under {advice.plan_ref} and national rules {advice.rules_version}:",
        days=0,
        hours=2,
    )
    priorities = ", ".join(p.split("#")[-1] for p in advice.priorities)
    print(f"        pathway            {advice.pathway.value} ({priorities})")
    print(
        f"        planned response   {advice.default_response} "
        f"(allowed: {', '.join(advice.allowed_responses)})"
    )
    print(f"        decided by         {advice.decided_by}")
    reviews = ", ".join(advice.thematic_reviews_matched)
    print(f"        thematic review    {reviews} (when its criteria are met)")
    story.step(
        INCIDENT,
        PSS,
        "add_to_thematic_review",
        {"thematic_review_id": "suicide-annual"},
        why="The incident joins the annual thematic review of suspected suicides.",
        days=0,
        hours=2,
    )
    decision: dict[str, object] = {
        "response_type": "psii",
        "basis": "local_priority",
        "rationale": "plan_response_changed_case_by_case",
        "plan_priority_id": "community-suicide",
    }
    meeting = {"decider_committee": PANEL, "meeting_ref": "SRP-2026-05-14"}
    story.sweep("the plan's 72-hour triage review has passed; the panel meets weekly")
    story.refused(
        INCIDENT,
        PSS,
        "decide_response",
        decision,
        story="The specialist, who decides proportionate responses, tries to decide this "
        "one; the plan gives it to the suicide prevention review panel.",
    )
    story.refused(
        INCIDENT,
        PANEL_CHAIR,
        "decide_response",
        {**decision, "response_type": "after_action_review", **meeting},
        story="At the panel's meeting the chair first proposes an after action review, "
        "which this priority does not allow.",
    )
    story.step(
        INCIDENT,
        PANEL_CHAIR,
        "decide_response",
        {**decision, **meeting},
        why="At its weekly meeting the panel asks for a PSII instead of the planned round "
        "table review (the plan says it may); the chair records it with the meeting.",
        days=2,
    )
    decided_at = story.engine.get(INCIDENT, reader=PARTNER).version
    story.relay("the decision opens the PSII, with the staff involved and the candour link")
    return learning_response_id(INCIDENT, decided_at)


def _investigate(story: Story, psii: str) -> None:
    """Name an independent lead, plan with the family, gather and analyse."""
    print(f"\n3. The PSII {psii}: lead, terms of reference, engagement")
    story.refused(
        psii,
        PSS,
        "assign_lead",
        {"lead_id": CONSULTANT, "engagement_lead_id": ENGAGEMENT_LEAD.id},
        story="The person's consultant is proposed as lead; they were involved in the care "
        "(found during the intake, and carried into the PSII).",
    )
    story.step(
        psii,
        PSS,
        "assign_lead",
        {"lead_id": LEAD.id, "engagement_lead_id": ENGAGEMENT_LEAD.id},
        why="A lead from another directorate and a family engagement lead are named.",
    )
    story.clocks(psii, "the lead's appointment starts the PSII's clocks (three months; cap six)")
    story.clocks(CANDOUR, "the duty of candour's clocks, counted from awareness")
    story.refused(
        psii,
        LEAD,
        "begin_gathering",
        story="The lead wants to start interviews at once; the plan asks for terms of "
        "reference and a target date agreed with the family first.",
    )
    story.step(
        psii,
        ENGAGEMENT_LEAD,
        "record_engagement",
        {
            "person_id": "fam-201",
            "person_kind": "family_member",
            "engagement": "involved",
            "contact_preference": "in_person",
            "support_offered": True,
            "note": "Mother (Mrs Jane Smith; her son's NHS no. 943 476 5919) asks to meet at home.",
        },
        why="The person's mother will be involved, met at home, support offered. The "
        "free-text note is kept only as a salted digest.",
        days=2,
    )
    story.step(
        psii,
        ENGAGEMENT_LEAD,
        "record_engagement",
        {
            "person_id": "fam-202",
            "person_kind": "family_member",
            "engagement": "declined",
            "contact_preference": "letter",
            "support_offered": True,
        },
        why="His brother declines to take part and asks for letters only.",
    )
    story.step(
        psii,
        ENGAGEMENT_LEAD,
        "record_engagement",
        {
            "person_id": CARE_COORDINATOR,
            "person_kind": "staff_involved",
            "engagement": "involved",
            "contact_preference": "video_call",
            "support_offered": True,
        },
        why="The care coordinator takes part, with staff support offered.",
    )
    story.step(
        psii,
        LEAD,
        "record_terms_of_reference",
        {"terms_of_reference_ref": "TOR-0311", "family_involvement_in_terms": "involved"},
        why="Terms of reference written with the family are filed.",
        days=3,
    )
    story.step(
        psii,
        LEAD,
        "agree_timescale",
        {"target_date": "2026-08-07", "family_timescale_agreement": "agreed"},
        why="A target of 7 August is agreed with the family, within the plan's three months.",
    )
    story.refused(
        psii,
        PARTNER,
        "begin_gathering",
        story="The patient safety partner sits on the oversight group and tries to move the "
        "case on; partners oversee, they do not act on cases.",
    )
    story.step(psii, LEAD, "begin_gathering", why="The lead starts gathering.")

    print("\n4. Gathering, analysis and review")
    story.step(
        psii,
        EXECUTIVE,
        "hold",
        {"hold_reason": "coroner"},
        why="The coroner asks for a pause while witness statements are taken.",
        days=10,
    )
    story.step(psii, EXECUTIVE, "resume", why="The investigation resumes.", days=9)
    story.clocks(psii, "the agreed target (7 Aug) and the cap, moved 9 days by the hold")
    story.step(psii, LEAD, "complete_analysis", why="The analysis is complete.", days=20)
    story.step(
        psii,
        LEAD,
        "submit_draft",
        {"draft_ref": "DOC-PSII-0311-v1"},
        why="The draft report goes out for review.",
        days=8,
    )
    story.step(
        psii,
        PEER_REVIEWER,
        "record_peer_review",
        {"peer_review_ref": "PR-0311"},
        why="An independent peer review.",
        days=4,
    )
    story.step(
        psii,
        LEAD,
        "record_expert_input",
        {"expert_input": "panel", "expert_ids": ["sme-31", "sme-44"]},
        why="A pharmacist and a suicide prevention lead advised.",
    )
    story.step(
        psii,
        LEAD,
        "record_staff_accuracy_check",
        {"staff_accuracy_check": "amended"},
        why="Staff involved checked the facts; two corrections were made.",
        days=3,
    )
    story.step(
        psii,
        ENGAGEMENT_LEAD,
        "record_family_draft_response",
        {"family_draft_response": "commented"},
        why="The family commented on the draft.",
        days=4,
    )
    story.step(
        psii,
        SENIOR_LEADER,
        "agree_findings",
        why="The service's senior leadership agrees the findings.",
        days=2,
    )
    story.step(psii, LEAD, "request_approval", why="Everything is in place for sign-off.")


def _sign_off_and_close(story: Story, psii: str) -> None:
    """Sign off as the plan says, share and close; the family is told the findings."""
    print("\n5. Sign-off as the plan says: the group, then the executive lead's step")
    report = {"report_ref": "DOC-PSII-0311-v2"}
    story.refused(
        psii,
        EXECUTIVE,
        "approve",
        report,
        story="The executive lead signs first; the plan's chain starts with the patient "
        "safety and learning group.",
    )
    story.step(
        psii,
        GROUP_MEMBER,
        "record_sign_off",
        {"sign_off_step": 1, "meeting_ref": "PSG-2026-08-04"},
        why="The patient safety and learning group signs step 1 at its meeting.",
        days=3,
    )
    # Delegation is a record of its own: who delegates what to whom, and when.
    story.clock.advance(timedelta(days=1))
    opened = story.engine.open(
        "delegation",
        actor=EXECUTIVE,
        case_id=DELEGATION,
        payload={
            "delegate_id": DEPUTY.id,
            "delegated_role": "executive_lead",
            "response_types": ["psii"],
            "valid_from": "2026-07-27",
            "valid_to": "2026-08-31",
        },
    )
    _done(opened.entry, f"{DELEGATION} {opened.case.state}")
    print(
        "      On leave until the end of August, the executive lead delegates PSII "
        "sign-off to the deputy."
    )
    story.clock.advance(timedelta(hours=16))
    story.sweep("ten working days before the target, the lead is warned")
    _caseload(story)
    story.step(
        psii,
        DEPUTY,
        "sign_off",
        {**report, "delegation_id": DELEGATION},
        why="The deputy signs the executive lead's step under the delegation, and approves.",
        days=0,
        hours=8,
    )
    story.relay("the approval gives the candour case the findings to share")
    story.step(
        CANDOUR,
        ENGAGEMENT_LEAD,
        "record_findings_shared",
        {"results_letter_ref": "DOC-RL-0311", "results_delivery": "given_in_person"},
        why="The findings are shared with the family in writing: the duty of candour is met.",
        days=1,
    )
    print("\n6. Sharing, closure and the family told the findings")
    story.step(
        psii,
        ENGAGEMENT_LEAD,
        "share",
        {"family_sharing": "shared", "shared_with_staff": True},
        why="The report is shared with the family and the staff involved.",
        days=3,
    )
    story.step(
        psii,
        PSS,
        "close",
        {"safety_action_ids": ["SA-0311-1", "SA-0311-2"]},
        why="Closed, with the ids of its two safety actions.",
        days=2,
    )


def _caseload(story: Story) -> None:
    """Print the lead's caseload as the patient safety specialist reads it."""
    now = story.clock.now()
    items = reports.caseload(story.engine, LEAD.id, reader=PSS, now=now)
    print(f"  ☰ {_when(now)}  caseload of {LEAD.id}: {len(items)} case(s)")
    for item in items:
        late = "overdue" if item.overdue else "not overdue"
        due = _day(item.next_due_date) if item.next_due_date else "-"
        print(f"      {item.case_id:<18} {item.state:<18} next {item.next_kind} {due}, {late}")


def _board(story: Story) -> None:
    """The clocks at the end, and the reports a board or an ICB reads from them."""
    print("\n7. The clocks at the end, and the board's reports")
    story.clocks(INCIDENT, "the triage review was met when the panel decided")
    _caseload(story)
    now = story.clock.now()
    late = reports.overdue(story.engine, reader=PARTNER, now=now, organisation=TRUST)
    print(f"  ☰ overdue at {TRUST}: {len(late)} deadline(s)")
    for item in late:
        due = _day(item.due_date) if item.due_date else "-"
        print(f"      {item.case_id} {item.kind} due {due}, {item.days_overdue} day(s)")
    year = (datetime(2026, 4, 1, tzinfo=UK_TIME), datetime(2027, 4, 1, tzinfo=UK_TIME))
    rows = reports.candour_timeliness(
        story.engine, reader=PARTNER, since=year[0], until=year[1], now=now, organisation=TRUST
    )
    print(f"  ☰ duty of candour at {TRUST} in 2026/27 so far (due, met on time, met late):")
    for row in rows:
        print(f"      {row.kind:<22} {row.due}, {row.met_on_time}, {row.met_late}")


def _trails(engine: Engine, story: Story, cases: list[str]) -> bool:
    """Print each case's audit trail as the partner reads it; verify each; list the records."""
    print("\n8. The audit trail of each case, as the patient safety partner reads it")
    ok = True
    for case_id in cases:
        case = engine.get(case_id, reader=PARTNER)
        print(
            f"\n  {case_id}  ({case.workflow}, {case.state}; plan "
            f"{case.facts.get(GOVERNING_PLAN_FACT, '-')}, "
            f"rules {case.facts.get(GOVERNING_RULES_FACT, '-')})"
        )
        print(f"  {'#':>2}  {'when':<20}  {'actor':<10} {'role':<26} {'step':<28} from -> to")
        for entry in engine.history(case_id, reader=PARTNER):
            print(
                f"  {entry.sequence:>2}  {_when(entry.recorded_at):<20}  "
                f"{entry.actor_id:<10} {role_name(entry.role):<26} {step_name(entry.trigger):<28} "
                f"{entry.from_state or '-'} -> {entry.to_state}"
            )
        result = engine.verify(case_id, reader=PARTNER)
        ok = ok and result.ok
        print(
            f"  Verified: {'OK' if result.ok else 'BROKEN'} ({result.entries} entries, "
            f"head {case.head_hash[:16]}…)"
        )
    print(f"\n9. Every record of incident {INCIDENT}")
    for record in engine.incident_records(INCIDENT, reader=PARTNER):
        print(f"  {record.family:<18} {record.case_id:<24} {record.workflow:<18} {record.state}")
    print(f"\n  Refusals shown and explained: {len(story.refusals)} ({', '.join(story.refusals)})")
    return ok


def run(db_path: Path) -> int:
    """Run the whole story against ``db_path`` and return a process exit code."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in db_path.parent.glob(db_path.name + "*"):
        stale.unlink()
    log_path = db_path.with_suffix(".log")
    # psirf_flow logs to the standard-library logger "psirf_flow" and prints nothing until
    # the host says where events go: here, INFO and up to a file, one event per line.
    handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    psirf_log = logging.getLogger("psirf_flow")
    psirf_log.addHandler(handler)
    psirf_log.setLevel(logging.INFO)

    plan = load_plan_file(PLAN_FILE)
    rules = load_national_rules()
    store = SqlStore.open(str(db_path), migrate=True)
    # A simulated calendar, so a three-month investigation runs in a second.
    clock = ManualClock(datetime(2026, 5, 11, 8, 30, tzinfo=UTC))
    engine = Engine(store, clock=clock, plan=plan, national_rules=rules)
    story = Story(engine, clock, plan)

    print(f"psirf_flow demo: an incident under the plan {plan.ref} of trust {TRUST}")
    print(f"  plan:  {plan.plan.title}")
    print(f"  rules: national rules {rules.version}\n")
    print("The people (opaque ids; their names stay in the trust's own systems):")
    for person, what in CAST.items():
        print(f"  {person:<8} {what}")

    _report(story)
    psii = _triage_and_decide(story, rules)
    _investigate(story, psii)
    _sign_off_and_close(story, psii)
    _board(story)
    ok = _trails(engine, story, [INCIDENT, CANDOUR, psii, DELEGATION])
    print(f"  Log events (allow-listed keys only) were written to {log_path.name}")
    store.dispose()
    psirf_log.removeHandler(handler)
    handler.close()

    print("\n10. A second process reopens the database and verifies every case")
    verifier = Path(__file__).with_name("verify_audit.py")
    second = subprocess.run(  # noqa: S603 - runs this repository's own script
        [sys.executable, str(verifier), "--db", str(db_path)], check=False
    )
    return 0 if ok and second.returncode == 0 and len(story.refusals) >= 4 else 1


def main() -> int:
    """Parse arguments and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("demo-data/psirf_demo.sqlite3"),
        help="SQLite file to create (replaced if it exists)",
    )
    return run(parser.parse_args().db)


if __name__ == "__main__":
    sys.exit(main())
