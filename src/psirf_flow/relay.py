"""The outbox relay: applies coupling messages, each as its own audited command, exactly once.

The engine writes a coupling's reaction to the outbox in the same transaction as the
command that caused it (:mod:`psirf_flow.workflows.couplings`). :class:`OutboxRelay` reads
pending messages and fires each reaction through the engine as psirf_flow itself
(:attr:`~psirf_flow.domain.Role.SYSTEM`), using the **message id as the idempotency key**,
then marks the message delivered with its outcome.

Exactly once, also across restarts: if the process stops after a reaction is committed but
before its message is marked, the next run fires it again with the same key, the engine
returns the first result without writing anything (a replay), and the message is marked.
Several relays may run at once (for example one per application process on PostgreSQL):
the idempotency key makes the second application of a message a replay (or, when two
relays open the same case at the same moment, ``skipped:case_exists``, since the cases a
coupling opens have deterministic ids), and the first outcome marked on a message stands.

Outcomes recorded on each message: ``applied``, ``replayed``, ``skipped:<reason>`` (the
reaction no longer applies, e.g. the candour case was found not notifiable and is final)
and ``rejected:<reason code>`` (a guard or payload problem a person must look at). A
conflict with a concurrent command leaves the message pending for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

import attrs

from psirf_flow import _inputs
from psirf_flow.domain import Actor, OutboxMessage, Role
from psirf_flow.engine import Engine, Outcome
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CommandRejected,
    ConcurrencyConflict,
    InvalidInput,
    TransitionNotAllowed,
)
from psirf_flow.log import enabled, get_logger, safe_fields
from psirf_flow.workflows.couplings import read_follow_up


__all__ = ["SYSTEM_ACTOR_ID", "OutboxRelay", "RelayReport"]

#: The actor id recorded in the audit entries of coupled commands.
SYSTEM_ACTOR_ID: Final = "psirf-flow"


@attrs.frozen
class RelayReport:
    """What one relay run did.

    Attributes:
        applied: Messages whose reaction was committed now.
        replayed: Messages whose reaction had been committed before (nothing new written).
        skipped: Messages whose reaction no longer applied.
        rejected: Messages whose reaction was refused (see the message's outcome).
        retry: Messages left pending because of a concurrent change.
    """

    applied: int = 0
    replayed: int = 0
    skipped: int = 0
    rejected: int = 0
    retry: int = 0

    @property
    def delivered(self) -> int:
        """Messages marked delivered in this run."""
        return self.applied + self.replayed + self.skipped + self.rejected

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(
            self.applied + other.applied,
            self.replayed + other.replayed,
            self.skipped + other.skipped,
            self.rejected + other.rejected,
            self.retry + other.retry,
        )


class OutboxRelay:
    """Apply pending coupling messages through an engine.

    Args:
        engine: The engine (and through it the store and clock) to use.
        response_types: The plan's response-type vocabulary, mapping a trust's own names
            (e.g. ``"round_table_review"``) to the lifecycle they run on (``"mdt_review"``);
            names that are workflows already need no entry.

    Raises:
        InvalidInput: If ``engine`` is not an :class:`~psirf_flow.engine.Engine` or
            ``response_types`` is not a mapping of names to names.
    """

    def __init__(self, engine: Engine, *, response_types: Mapping[str, str] | None = None) -> None:
        if not isinstance(engine, Engine):
            raise InvalidInput("engine", f"must be an Engine, got {type(engine).__name__}")
        if response_types is not None and not isinstance(response_types, Mapping):
            raise InvalidInput("response_types", "must be a mapping of names to workflow names")
        self._engine = engine
        self._response_types = {
            _inputs.name("response_types", k): _inputs.name("response_types", v)
            for k, v in (response_types or {}).items()
        }
        self._log = get_logger()

    def run_once(self, limit: int = 100) -> RelayReport:
        """Deliver up to ``limit`` pending messages, oldest first.

        Raises:
            InvalidInput: If ``limit`` is not a whole number from 1 to 10,000.
        """
        limit = _inputs.limit("limit", limit)
        report = RelayReport()
        for message in self._engine.store.pending_outbox(limit):
            outcome = self._deliver(message)
            if outcome is None:
                report += RelayReport(retry=1)
                continue
            now = _inputs.moment("the clock's reading", self._engine.clock.now())
            self._engine.store.mark_delivered(message.id, at=now, outcome=outcome)
            kind = outcome.split(":", 1)[0]
            report += RelayReport(**{kind: 1})
        return report

    def run_until_idle(self, *, limit: int = 100, max_rounds: int = 50) -> RelayReport:
        """Run until no message is pending (reactions may cause further reactions).

        Raises:
            InvalidInput: If ``limit`` or ``max_rounds`` is not a whole number from 1 to
                10,000.
        """
        limit = _inputs.limit("limit", limit)
        max_rounds = _inputs.limit("max_rounds", max_rounds)
        total = RelayReport()
        for _ in range(max_rounds):
            report = self.run_once(limit)
            total += report
            if report.delivered == 0:
                break
        return total

    def _deliver(self, message: OutboxMessage) -> str | None:
        follow_up = read_follow_up(message)
        if follow_up is None:
            return "skipped:not_a_coupling"
        organisation = str(message.body.get("organisation", ""))
        actor = Actor(SYSTEM_ACTOR_ID, [Role.SYSTEM], organisation)
        try:
            if follow_up.action == "open":
                workflow = self._response_types.get(follow_up.workflow, follow_up.workflow)
                done: Outcome = self._engine.open(
                    workflow,
                    actor=actor,
                    case_id=follow_up.target_case_id,
                    payload=follow_up.payload,
                    organisation=organisation,
                    idempotency_key=message.id,
                )
            else:
                done = self._engine.fire(
                    follow_up.target_case_id,
                    follow_up.trigger,
                    actor=actor,
                    payload=follow_up.payload,
                    idempotency_key=message.id,
                )
        except ConcurrencyConflict:
            return None
        except TransitionNotAllowed as refused:
            return self._noted(message, f"skipped:{refused.reason_code}")
        except CommandRejected as refused:
            return self._noted(message, f"rejected:{refused.reason_code}")
        except CaseAlreadyExists:
            return self._noted(message, "skipped:case_exists")
        except CaseNotFound:
            return self._noted(message, "rejected:case_not_found")
        return "replayed" if done.replayed else "applied"

    def _noted(self, message: OutboxMessage, outcome: str) -> str:
        # A refused reaction is a security event (WARNING); a skipped one is routine (INFO).
        level = logging.WARNING if outcome.startswith("rejected:") else logging.INFO
        if not enabled(level):
            return outcome
        self._log.log(
            level,
            "psirf_flow.coupling_not_applied",
            **safe_fields(
                {"case_id": message.case_id, "reason_code": outcome, "trigger": message.kind}
            ),
        )
        return outcome
