"""A patient safety incident investigation (PSII) from commissioning to closure.

This is what ``make demo`` runs. A community and mental-health trust investigates an
incident: a patient safety specialist commissions the PSII, an independent investigator
and an engagement lead are named, the family is engaged, the draft is peer-reviewed and
checked, the findings are agreed, the executive lead approves the report, it is shared and
the PSII is closed with two safety actions that carry on by themselves.

Along the way real users hit refusals, and each is explained in plain words. Everything
is persisted to a SQLite file; the audit trail is printed and verified, then verified
again by a second process that reopens the file.

Run it with ``make demo`` or ``python examples/psii_lifecycle.py --db demo.sqlite3``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from psirf_flow import Actor, Engine, PsirfFlowError, Role
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


TRUST = "RXY"  # the owning organisation's code (an opaque id, never a name)
CASE_ID = "PSII-2026-0042"

# The people involved. Ids are opaque; names live only in the host system.
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], TRUST)
INVESTIGATOR = Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD, Role.EXECUTIVE_LEAD], TRUST)
ENGAGEMENT_LEAD = Actor("eng-03", [Role.ENGAGEMENT_LEAD], TRUST)
PEER_REVIEWER = Actor("rev-05", [Role.PEER_REVIEWER], TRUST)
SENIOR_LEADER = Actor("sl-08", [Role.SENIOR_LEADER], TRUST)
EXECUTIVE = Actor("exec-01", [Role.EXECUTIVE_LEAD], TRUST)
PARTNER = Actor("psp-02", [Role.PATIENT_SAFETY_PARTNER], TRUST)

CAST = {
    PSS.id: "patient safety specialist",
    INVESTIGATOR.id: "PSII lead (also a deputy executive lead)",
    ENGAGEMENT_LEAD.id: "family engagement lead",
    PEER_REVIEWER.id: "peer reviewer",
    SENIOR_LEADER.id: "community services senior leader",
    EXECUTIVE.id: "executive lead for PSIRF",
    PARTNER.id: "patient safety partner (lay member)",
}


class Story:
    """Drives the engine, narrating each step, and counts the refusals shown."""

    def __init__(self, engine: Engine, clock: ManualClock) -> None:
        self.engine = engine
        self.clock = clock
        self.refusals = 0

    def step(
        self,
        days: int,
        actor: Actor,
        trigger: str,
        payload: Mapping[str, object] | None = None,
        *,
        why: str,
    ) -> None:
        """Take one step that should be accepted."""
        self.clock.advance(timedelta(days=days))
        case = self.engine.fire(CASE_ID, trigger, actor=actor, payload=payload).case
        print(f"  ✓ {case.updated_at:%d %b}  {actor.id:<8} {trigger:<29} -> {case.state}")
        print(f"      {why}")

    def refused(
        self,
        actor: Actor,
        trigger: str,
        payload: Mapping[str, object] | None = None,
        *,
        story: str,
    ) -> None:
        """Take one step that the rules refuse, and explain the refusal."""
        try:
            self.engine.fire(CASE_ID, trigger, actor=actor, payload=payload)
        except PsirfFlowError as error:
            self.refusals += 1
            print(f"  ✗ REFUSED  {actor.id:<8} {trigger}")
            print(f"      {story}")
            print(f"      The library said: {error.message}")
            print(f"      (error {error.code}, {type(error).__name__})")
            return
        msg = f"{trigger} by {actor.id} should have been refused"
        raise SystemExit(msg)


def _commission(story: Story) -> None:
    """Open the PSII and name an independent lead."""
    print("\n1. Commissioning")
    story.engine.open(
        "psii",
        actor=PSS,
        case_id=CASE_ID,
        payload={
            "incident_ids": ["INC-2026-1187"],
            "involved_staff_ids": ["rn-114", "hca-201"],
            "involved_line_manager_ids": ["wm-22"],
            "basis": "national_requirement",
        },
    )
    print(f"  ✓ {story.clock.now():%d %b}  {PSS.id:<8} {'open':<29} -> commissioned")
    print(
        "      A death thought more likely than not due to problems in care: a national "
        "requirement for a PSII."
    )
    story.refused(
        PSS,
        "assign_lead",
        {"lead_id": "wm-22", "engagement_lead_id": ENGAGEMENT_LEAD.id},
        story="The ward manager is proposed as lead, but manages the nurse involved.",
    )
    story.step(
        1,
        PSS,
        "assign_lead",
        {"lead_id": INVESTIGATOR.id, "engagement_lead_id": ENGAGEMENT_LEAD.id},
        why="An independent investigator and a family engagement lead are named.",
    )


def _plan_and_gather(story: Story) -> None:
    """Engage the family, gather and analyse, with a pause for the coroner."""
    print("\n2. Planning and engagement")
    story.step(
        2,
        ENGAGEMENT_LEAD,
        "record_engagement",
        {
            "person_id": "fam-1",
            "person_kind": "family_member",
            "engagement": "involved",
            "contact_preference": "telephone",
            "support_offered": True,
            "note": "Daughter (Mrs Jane Smith, NHS no. 943 476 5919) asks for calls "
            "every two weeks.",
        },
        why="The family will be involved. The free-text note is kept only as a salted digest.",
    )
    story.step(
        1,
        INVESTIGATOR,
        "agree_timescale",
        {"target_date": "2026-05-29", "family_timescale_agreement": "agreed"},
        why="A target date of 29 May is agreed with the family, within the plan's timescale.",
    )
    story.refused(
        PARTNER,
        "begin_gathering",
        story="A patient safety partner sits on the oversight committee and tries to move "
        "the case on.",
    )
    story.step(3, INVESTIGATOR, "begin_gathering", why="The investigator starts gathering.")

    print("\n3. Gathering and analysis")
    story.step(
        10,
        EXECUTIVE,
        "hold",
        {"hold_reason": "external_process"},
        why="The coroner asks for a short pause while statements are taken.",
    )
    story.step(
        3,
        EXECUTIVE,
        "approve_extension",
        {
            "target_date": "2026-06-12",
            "extension_reason": "external_process",
            "family_extension_agreement": "agreed",
        },
        why="The pause costs two weeks: the target moves to 12 June, with the family's agreement.",
    )
    story.step(11, EXECUTIVE, "resume", why="The investigation resumes where it stopped.")
    story.step(20, INVESTIGATOR, "complete_analysis", why="SEIPS analysis is complete.")
    story.step(
        12,
        INVESTIGATOR,
        "submit_draft",
        {"draft_ref": "DOC-PSII-0042-v1"},
        why="The draft report goes out for review.",
    )


def _review(story: Story) -> None:
    """Review the draft: terms of reference, peer review, experts, staff, family, leaders."""
    print("\n4. Review")
    story.refused(
        INVESTIGATOR,
        "request_approval",
        story="The investigator asks for approval straight away, before the terms of "
        "reference are even on file.",
    )
    story.step(
        1,
        INVESTIGATOR,
        "record_terms_of_reference",
        {"terms_of_reference_ref": "TOR-0042", "family_involvement_in_terms": "involved"},
        why="The terms of reference agreed with the family are filed.",
    )
    story.step(
        4,
        PEER_REVIEWER,
        "record_peer_review",
        {"peer_review_ref": "PR-0042"},
        why="An independent peer review using the national review tool.",
    )
    story.step(
        1,
        INVESTIGATOR,
        "record_expert_input",
        {"expert_input": "panel", "expert_ids": ["sme-31", "sme-44"]},
        why="A panel with a consultant psychiatrist and a pharmacist advised.",
    )
    story.step(
        3,
        INVESTIGATOR,
        "record_staff_accuracy_check",
        {"staff_accuracy_check": "amended"},
        why="Staff involved checked the facts; two corrections were made.",
    )
    story.step(
        5,
        ENGAGEMENT_LEAD,
        "record_family_draft_response",
        {"family_draft_response": "commented"},
        why="The family commented on the draft.",
    )
    story.step(
        2,
        SENIOR_LEADER,
        "agree_findings",
        why="The service's senior leadership agrees the findings.",
    )
    story.step(1, INVESTIGATOR, "request_approval", why="Everything is in place.")


def _conclude(story: Story) -> None:
    """Approve, share and close."""
    print("\n5. Approval, sharing and closure")
    story.refused(
        INVESTIGATOR,
        "approve",
        {"report_ref": "DOC-PSII-0042-v2"},
        story="The investigator is also a deputy executive lead and tries to approve the "
        "report they wrote.",
    )
    story.step(
        6,
        EXECUTIVE,
        "approve",
        {"report_ref": "DOC-PSII-0042-v2"},
        why="The executive lead approves the final report.",
    )
    story.step(
        3,
        ENGAGEMENT_LEAD,
        "share",
        {"family_sharing": "shared", "shared_with_staff": True},
        why="The report is shared with the family and staff.",
    )
    story.step(
        2,
        PSS,
        "close",
        {"safety_action_ids": ["SA-0042-1", "SA-0042-2"]},
        why="Closed; its two safety actions carry on under their own lifecycle.",
    )


def run(db_path: Path) -> int:
    """Run the whole lifecycle against ``db_path`` and return a process exit code."""
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

    store = SqlStore.open(str(db_path), migrate=True)
    # A simulated calendar, so a three-month investigation runs in a second.
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    engine = Engine(store, clock=clock)
    story = Story(engine, clock)

    print("psirf_flow demo: a PSII in a community and mental-health trust\n")
    print("The people (opaque ids; their names stay in the trust's own system):")
    for actor_id, what in CAST.items():
        print(f"  {actor_id:<8} {what}")

    _commission(story)
    _plan_and_gather(story)
    _review(story)
    _conclude(story)

    print("\n6. The audit trail, as the patient safety partner on the oversight committee reads it")
    print(f"  {'#':>2}  {'when':<17} {'actor':<8} {'role':<26} {'step':<29} from -> to")
    for entry in engine.history(CASE_ID, reader=PARTNER):
        print(
            f"  {entry.sequence:>2}  {entry.recorded_at:%Y-%m-%d %H:%M}  {entry.actor_id:<8} "
            f"{entry.role:<26} {entry.trigger:<29} {entry.from_state or '-'} -> {entry.to_state}"
        )
    result = engine.verify(CASE_ID, reader=PARTNER)
    print(
        f"\n  Verified in this process: {'OK' if result.ok else 'BROKEN'} "
        f"({result.entries} entries, head {engine.get(CASE_ID, reader=PARTNER).head_hash[:16]}…)"
    )
    print(f"  Refusals shown and explained: {story.refusals}")
    print(f"  Log events (allow-listed keys only) were written to {log_path.name}")
    store.dispose()
    psirf_log.removeHandler(handler)
    handler.close()

    print("\n7. A second process reopens the database and verifies the trail")
    verifier = Path(__file__).with_name("verify_audit.py")
    second = subprocess.run(  # noqa: S603 - runs this repository's own script
        [sys.executable, str(verifier), "--db", str(db_path)], check=False
    )
    return 0 if result.ok and second.returncode == 0 and story.refusals >= 3 else 1


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
