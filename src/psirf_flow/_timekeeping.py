"""The engine's clocks: deadlines with every step, and the firing of one escalation tier.

* With every accepted opening or step, `Timekeeping.scheduled` reads the case's
  deadlines and tiers (none for a new case) and asks the pure
  [`psirf_flow.schedule.plan_deadlines`][psirf_flow.schedule.plan_deadlines] what the step starts,
  meets, clears, pauses, resumes or restarts; the engine commits the answer in the same ``Change``
  as the step.
* `Timekeeping.escalation` builds the one ``Change`` that fires a tier: the audited
  entry ([`psirf_flow.decide.decide_escalation`][psirf_flow.decide.decide_escalation]), the tier
  ``fired``, the deadline's tier count, one ``notify.escalation`` outbox message per recipient and,
  when the tier carries an action, one ``escalation.action`` message for the relay; the idempotency
  key is the tier's ``dedupe_key``, so a second firing anywhere is refused by the store.
* `step_event` is the optional ``event.step`` message hosts subscribe to.

Every message body holds ids, codes, numbers and ISO 8601 instants only.

Private to the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import attrs

from psirf_flow.audit import AuditEntry, AuditKeys, idempotency_digest
from psirf_flow.decide import Decision, decide_escalation
from psirf_flow.domain import (
    Case,
    Deadline,
    DeadlineStatus,
    Escalation,
    EscalationStatus,
    FactValue,
    OutboxMessage,
)
from psirf_flow.policy.plan import Plan
from psirf_flow.ports import Change, IdempotencyRecord, Store
from psirf_flow.schedule import FiredTier, ScheduleChange, fired_tier, plan_deadlines
from psirf_flow.workflows.couplings import derived_id
from psirf_flow.workflows.spec import WorkflowDefinition


__all__ = [
    "ACTION_KIND",
    "NOTIFY_ESCALATION",
    "STEP_EVENT",
    "Timekeeping",
    "action_message_id",
    "notification_id",
    "step_event",
    "tier_message_id",
]

NOTIFY_ESCALATION: Final = "notify.escalation"
"""The outbox kind of one recipient's notification of a fired tier."""
ACTION_KIND: Final = "escalation.action"
"""The outbox kind telling the relay to apply a fired tier's action."""
STEP_EVENT: Final = "event.step"
"""The outbox kind of a committed step, for host listeners."""


def tier_message_id(case_id: str, kind: str, cycle: int, tier: int, suffix: str) -> str:
    """``f"{dedupe_key}:{suffix}"`` for the tier ``(case_id, kind, cycle, tier)``.

    Shortened stably (as coupling ids are) when that would be longer than an id may be.
    """
    return derived_id(f"escalation:{case_id}", f":{kind}:{cycle}:{tier}:{suffix}")


def notification_id(tier: Escalation, role: str) -> str:
    """The outbox id of ``role``'s notification of ``tier``: ``f"{tier.dedupe_key}:{role}"``."""
    return tier_message_id(tier.case_id, tier.kind, tier.cycle, tier.tier, role)


def action_message_id(tier: Escalation) -> str:
    """The outbox id of ``tier``'s action message: ``f"{tier.dedupe_key}:action"``."""
    return tier_message_id(tier.case_id, tier.kind, tier.cycle, tier.tier, "action")


def step_event(case: Case, entry: AuditEntry) -> OutboxMessage:
    """The ``event.step`` message of a committed entry (ids and codes only)."""
    body: dict[str, FactValue] = {
        "case_id": case.id,
        "organisation": case.organisation,
        "workflow": entry.workflow,
        "trigger": entry.trigger,
        "to_state": entry.to_state,
        "sequence": entry.sequence,
    }
    if entry.from_state is not None:
        body["from_state"] = entry.from_state
    return OutboxMessage(
        id=derived_id(case.id, f"#{entry.sequence}/{STEP_EVENT}"),
        case_id=case.id,
        kind=STEP_EVENT,
        body=body,
        created_at=entry.recorded_at,
        cause_sequence=entry.sequence,
        cause_hash=entry.hash,
    )


def _messages(
    case: Case, tier: Escalation, deadline: Deadline, fired: FiredTier, entry: AuditEntry
) -> tuple[OutboxMessage, ...]:
    found: list[OutboxMessage] = []
    for recipient in fired.recipients:
        body: dict[str, FactValue] = {
            "case_id": case.id,
            "organisation": case.organisation,
            "kind": tier.kind,
            "cycle": tier.cycle,
            "tier": tier.tier,
            "stage": tier.stage,
            "role": recipient.role,
            "due_at": fired.payload["due_at"],
        }
        if recipient.person_id is not None:
            body["person_id"] = recipient.person_id
        found.append(
            OutboxMessage(
                id=notification_id(tier, recipient.role),
                case_id=case.id,
                kind=NOTIFY_ESCALATION,
                body=body,
                created_at=entry.recorded_at,
                cause_sequence=entry.sequence,
                cause_hash=entry.hash,
            )
        )
    if tier.action is not None:
        found.append(
            OutboxMessage(
                id=action_message_id(tier),
                case_id=case.id,
                kind=ACTION_KIND,
                body={
                    "case_id": case.id,
                    "organisation": case.organisation,
                    "trigger": tier.action,
                    "kind": tier.kind,
                    "cycle": tier.cycle,
                    "tier": tier.tier,
                },
                created_at=entry.recorded_at,
                cause_sequence=entry.sequence,
                cause_hash=entry.hash,
            )
        )
    return tuple(found)


@attrs.frozen
class Escalated:
    """The change that fires a tier, and the entry it records."""

    change: Change
    decision: Decision
    late_seconds: int


class Timekeeping:
    """The engine's clocks over one store.

    Args:
        store: Where deadlines and tiers are read.
        keys: The host's audit keys (entries and idempotency digests use them).
    """

    def __init__(self, store: Store, keys: AuditKeys | None) -> None:
        self._store = store
        self._keys = keys

    def scheduled(
        self,
        *,
        definition: WorkflowDefinition,
        before: Case | None,
        after: Case,
        trigger: str,
        now: datetime,
        plan: Plan | None,
    ) -> ScheduleChange:
        """What an accepted step does to the case's deadlines and tiers (read, then pure)."""
        existing: Sequence[Deadline] = ()
        tiers: Sequence[Escalation] = ()
        if before is not None:
            existing = self._store.deadlines(after.id)
            tiers = self._store.escalations(after.id)
        return plan_deadlines(
            definition=definition,
            before=before,
            after=after,
            trigger=trigger,
            now=now,
            plan=plan,
            existing=existing,
            tiers=tiers,
        )

    def due_tier(self, claimed: Escalation, now: datetime) -> tuple[Escalation, Deadline] | None:
        """The tier as stored now and its deadline, if it is still pending and due."""
        current = next(
            (t for t in self._store.escalations(claimed.case_id) if t.key == claimed.key), None
        )
        if current is None or current.status != EscalationStatus.PENDING or current.fire_at > now:
            return None
        deadline = next(
            (
                d
                for d in self._store.deadlines(claimed.case_id)
                if d.key == (current.case_id, current.kind, current.cycle)
            ),
            None,
        )
        if deadline is None or deadline.status != DeadlineStatus.OPEN:
            return None
        return current, deadline

    def escalation(
        self,
        case: Case,
        tier: Escalation,
        deadline: Deadline,
        now: datetime,
        *,
        step_events: bool,
    ) -> Escalated:
        """The one change that fires ``tier`` on ``case`` at ``now``."""
        fired = fired_tier(tier, deadline, case, now)
        decision = decide_escalation(case, tier, now=now, keys=self._keys, payload=fired.payload)
        entry = decision.entry
        outbox = _messages(case, tier, deadline, fired, entry)
        if step_events:
            outbox = (*outbox, step_event(decision.case, entry))
        record = IdempotencyRecord(
            idempotency_digest(case.organisation, tier.dedupe_key, self._keys),
            case.id,
            f"escalation:{tier.kind}:{tier.cycle}:{tier.tier}",
            entry.sequence,
        )
        change = Change(
            case=decision.case,
            expected_version=case.version,
            entry=entry,
            idempotency=record,
            deadlines=(fired.deadline,),
            escalations=(fired.escalation,),
            outbox=outbox,
        )
        late = fired.payload["late_seconds"]
        return Escalated(change, decision, late if isinstance(late, int) else 0)
