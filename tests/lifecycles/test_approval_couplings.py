"""Approval by the plan's sign-off chain tells the candour case, like ``approve`` (reg 20(4)(c)).

Under a plan the last step of a learning response's ``sign_off`` chain may be signed with
``sign_off`` (any signer the plan names, or a delegate) instead of ``approve``. Either way the
response is approved, so the duty-of-candour case must learn that its findings may now be
shared (psirf-rules §4.2 and §5).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from psirf_flow.domain import Case, FactValue
from psirf_flow.workflows.couplings import (
    COUPLINGS,
    candour_case_id,
    coupling_messages,
    read_follow_up,
)


APPROVED_AT = datetime(2026, 8, 2, 9, tzinfo=UTC)


def _approved(facts: Mapping[str, FactValue]) -> Case:
    """A PSII just approved, with ``facts`` besides its incident and report."""
    return Case(
        id="INC-1/lr6",
        workflow="psii",
        workflow_version="2",
        organisation="RXM",
        state="approved",
        version=20,
        facts={"incident_ids": ("INC-1",), "report_ref": "DOC-1", **facts},
        opened_at=APPROVED_AT - timedelta(days=70),
        updated_at=APPROVED_AT,
        head_hash="ab" * 32,
    )


@pytest.mark.parametrize("trigger", ["approve", "sign_off"])
@pytest.mark.parametrize(
    ("facts", "kind"),
    [
        pytest.param(
            {"candour_case_id": candour_case_id("INC-1")},
            "coupling.findings_due_on_approval",
            id="linked-candour-case",
        ),
        pytest.param(
            {"intake_case_id": "INC-1"},
            "coupling.findings_due_via_intake",
            id="through-the-intake",
        ),
    ],
)
def test_either_approval_makes_findings_due(
    trigger: str, facts: Mapping[str, FactValue], kind: str
) -> None:
    """``approve`` and ``sign_off`` each write one findings-due message to the candour case."""
    messages = coupling_messages(
        COUPLINGS,
        case=_approved(facts),
        family="learning_response",
        trigger=trigger,
        sequence=20,
        now=APPROVED_AT,
    )

    assert [m.kind for m in messages] == [kind]
    follow_up = read_follow_up(messages[0])
    assert follow_up is not None
    assert follow_up.action == "fire"
    assert follow_up.target_case_id == candour_case_id("INC-1")
    assert follow_up.trigger == "learning_response_approved"
    assert dict(follow_up.payload) == {
        "learning_response_id": "INC-1/lr6",
        "learning_response_approved_ref": "DOC-1",
        "caused_by": "INC-1/lr6#20",
    }


def test_an_earlier_sign_off_step_writes_nothing() -> None:
    """``record_sign_off`` (a step before the last) approves nothing, so no message."""
    messages = coupling_messages(
        COUPLINGS,
        case=_approved({"candour_case_id": candour_case_id("INC-1")}),
        family="learning_response",
        trigger="record_sign_off",
        sequence=19,
        now=APPROVED_AT,
    )

    assert messages == ()
