"""The smallest useful embedding: an in-memory engine, one after action review, its history.

Run with ``python examples/quickstart.py``.
"""

from __future__ import annotations

import argparse

from psirf_flow import Actor, Engine, InMemoryStore, Role, RoleNotPermitted
from psirf_flow.testing import ManualClock


def main() -> None:
    """Take an after action review (AAR) from commissioning to closure."""
    org = "RXY"
    specialist = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], org)
    lead = Actor("aar-11", [Role.FACILITATOR], org)  # an AAR is led by a facilitator
    leader = Actor("sl-08", [Role.SENIOR_LEADER], org)
    partner = Actor("psp-02", [Role.PATIENT_SAFETY_PARTNER], org)

    engine = Engine(InMemoryStore(), clock=ManualClock())
    case = engine.open(
        "after_action_review", actor=specialist, payload={"incident_ids": ["INC-77"]}
    ).case

    steps: list[tuple[Actor, str, dict[str, object]]] = [
        (specialist, "assign_facilitator", {"facilitator_id": lead.id}),
        (lead, "begin_gathering", {}),
        (lead, "complete_analysis", {}),
        (lead, "submit_draft", {"draft_ref": "AAR-77-notes"}),
        (lead, "record_staff_accuracy_check", {"staff_accuracy_check": "confirmed"}),
        (leader, "agree_findings", {}),
        (lead, "request_approval", {}),
        (leader, "approve", {"report_ref": "AAR-77-final"}),
        (lead, "share", {"family_sharing": "not_applicable", "shared_with_staff": True}),
        (specialist, "close", {"no_actions_rationale": "no_new_learning"}),
    ]
    for actor, trigger, payload in steps:
        case = engine.fire(case.id, trigger, actor=actor, payload=payload).case

    try:
        engine.fire(case.id, "reopen", actor=partner, payload={})
    except RoleNotPermitted as refused:
        print(f"refused as expected: {refused.message}")

    for entry in engine.history(case.id, reader=partner):
        print(entry.sequence, entry.trigger, entry.from_state, "->", entry.to_state)
    verified = engine.verify(case.id, reader=partner)
    print("final state:", case.state, "| chain verifies:", verified.ok)


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    main()
