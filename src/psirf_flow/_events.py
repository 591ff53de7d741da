"""The engine's log events: one allow-listed event per outcome, security events at WARNING.

Events go through [`psirf_flow.log`][psirf_flow.log] (the standard-library logger ``psirf_flow``)
with allow-listed keys only: ids, codes and states, never a payload, free text or an
idempotency key. Each helper first asks whether its level is enabled, so a silent logger
costs almost nothing. Refused inputs are logged here too (`refusing_input`). Each
helper is given the engine's logger ([`psirf_flow.log.get_logger`][psirf_flow.log.get_logger]), so
one engine's events can be watched or silenced on their own.

Private to the engine.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Actor, Case, Reader, SystemReader
from psirf_flow.errors import (
    CaseNotFound,
    CommandRejected,
    InvalidInput,
    InvalidPayload,
    PsirfFlowError,
)
from psirf_flow.log import enabled, safe_fields


__all__ = ["accepted", "read_refused", "refusing_input", "rejected", "replayed", "warn"]


def warn(
    log: Any,
    event: str,
    error: PsirfFlowError,
    *,
    case_id: str | None = None,
    actor: Actor | None = None,
    trigger: str | None = None,
) -> None:
    """Log a security event (a refused read or input, a store failure) at WARNING."""
    if not enabled(logging.WARNING):
        return
    log.warning(
        event,
        **safe_fields(
            {
                "case_id": case_id,
                "trigger": trigger,
                "actor_id": actor.id if actor is not None else None,
                "organisation": actor.organisation if actor is not None else None,
                "error_code": error.code,
            }
        ),
    )


class refusing_input:  # noqa: N801 - used as a function: ``with refusing_input(log, actor):``
    """Log a refused argument (``InvalidInput``, ``InvalidPayload``) at WARNING, re-raised.

    A plain context manager (not a generator): every public call enters one, so it is
    kept to two attribute stores and one type test on the way out.
    """

    __slots__ = ("_actor", "_log")

    def __init__(self, log: Any, actor: object) -> None:
        self._log = log
        self._actor = actor

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        refused: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        # Returns None: the exception, if any, always propagates.
        if isinstance(refused, InvalidInput | InvalidPayload):
            actor = self._actor
            warn(
                self._log,
                "psirf_flow.input_refused",
                refused,
                actor=actor if isinstance(actor, Actor) else None,
            )


def read_refused(log: Any, case_id: str, reader: Reader) -> None:
    """Log a refused read (a security event), allow-listed keys only."""
    if not enabled(logging.WARNING):
        return
    reader_id = reader.name if isinstance(reader, SystemReader) else reader.id
    organisation = None if isinstance(reader, SystemReader) else reader.organisation
    log.warning(
        "psirf_flow.read_refused",
        **safe_fields(
            {
                "case_id": case_id,
                "actor_id": reader_id,
                "organisation": organisation,
                "error_code": CaseNotFound.code,
            }
        ),
    )


def rejected(
    log: Any,
    error: CommandRejected,
    workflow: str | None,
    actor: Actor | None,
    case: Case | None,
) -> None:
    """Log a refused command at WARNING (rejections are logged, not audited)."""
    if not enabled(logging.WARNING):
        return
    log.warning(
        "psirf_flow.command_rejected",
        **safe_fields(
            {
                "case_id": error.case_id,
                "workflow": workflow,
                "trigger": error.trigger,
                "from_state": case.state if case is not None else None,
                "actor_id": actor.id if actor is not None else None,
                "organisation": actor.organisation if actor is not None else None,
                "reason_code": error.reason_code,
                "error_code": error.code,
            }
        ),
    )


def accepted(log: Any, entry: AuditEntry) -> None:
    """Log an accepted, committed command at INFO, from its audit entry."""
    if not enabled(logging.INFO):
        return
    log.info(
        "psirf_flow.command_accepted",
        **safe_fields(
            {
                "case_id": entry.case_id,
                "workflow": entry.workflow,
                "workflow_version": entry.workflow_version,
                "trigger": entry.trigger,
                "from_state": entry.from_state,
                "to_state": entry.to_state,
                "actor_id": entry.actor_id,
                "role": entry.role,
                "sequence": entry.sequence,
            }
        ),
    )


def replayed(log: Any, case_id: str, trigger: str, sequence: int) -> None:
    """Log a replayed command (an idempotency key seen before) at DEBUG."""
    if not enabled(logging.DEBUG):
        return
    log.debug(
        "psirf_flow.command_replayed",
        **safe_fields({"case_id": case_id, "trigger": trigger, "sequence": sequence}),
    )
