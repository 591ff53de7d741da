"""The outbox relay: applies coupling messages, each as its own audited command, exactly once.

The engine writes a coupling's reaction to the outbox in the same transaction as the
command that caused it ([`psirf_flow.workflows.couplings`][psirf_flow.workflows.couplings]).
[`OutboxRelay`][psirf_flow.relay.OutboxRelay] reads the pending messages that are due and fires each
reaction through the engine as psirf_flow itself ([`SYSTEM`][psirf_flow.domain.Role.SYSTEM]), using
the **message id as the idempotency key**, then marks the message delivered with its outcome.

**The relay trusts nothing it did not write.** A row in the outbox table is not proof that
psirf_flow wrote it. Before applying a message the relay loads the *source case* (the case
whose command wrote it), verifies that case's audit trail against the case row, and checks
that the entry at the message's ``cause_sequence`` has exactly the message's
``cause_hash``, that the coupling named by the message listens to that entry's trigger,
that the message id is the one that coupling derives for that entry, and that the
coupling, run again on the source case, reacts with the same step on the same target. The
system then acts for the **source case's organisation**, never one named in the body. A
message failing any check is set aside as ``dead:untrusted_cause`` and logged at WARNING.

Exactly once, also across restarts: if the process stops after a reaction is committed but
before its message is marked, the next run fires it again with the same key, the engine
returns the first result without writing anything (a replay), and the message is marked.
Several relays may run at once (for example one per application process on PostgreSQL):
the second application of a message is a replay, and the first outcome marked stands.

Outcomes recorded on each message: ``applied``, ``replayed``, ``skipped:<reason>`` (the
reaction no longer applies, e.g. the candour case was found not notifiable and is final),
``rejected:<reason code>`` (a guard or payload problem a person must look at) and
``dead:<reason>`` ([`DeadReason`][psirf_flow.relay.DeadReason]: set aside for an operator, see
[`OutboxRelay.dead_messages`][psirf_flow.relay.OutboxRelay.dead_messages] and
[`OutboxRelay.requeue`][psirf_flow.relay.OutboxRelay.requeue]).

Notifications and events (``notify.*``, ``event.*``) go to the host's
[`Notifier`][psirf_flow.notify.Notifier] (``notify.*``) and to every listener (both kinds), at
least once, as [`Notification`][psirf_flow.notify.Notification] records whose id (the message id)
is the dedupe key; a notifier or listener that raises has the message tried again with the
same back-off. An ``escalation.action`` message (a fired escalation tier's action, declared
by the plan) fires its trigger on the case as psirf_flow itself, exactly once (idempotency
key = message id). Both are applied only when their cause is an entry of the case's
verified trail (for an action, the ``escalation_fired`` entry recording that action and
that tier); otherwise they are ``dead:untrusted_cause``.

Each message is isolated: a conflict with a concurrent command leaves it pending for the
next run; any other failure (the store failing, or an unexpected exception while building
or applying it) is counted as an attempt, logged at WARNING, and the message is tried again
after an exponential back-off (``base_delay``, then twice that, and so on, up to
``max_delay``); after ``max_attempts`` attempts it is dead. Either way the run goes on with
the other messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

import attrs

from psirf_flow import _inputs
from psirf_flow._timekeeping import ACTION_KIND, tier_message_id
from psirf_flow.audit import AuditEntry
from psirf_flow.decide import ESCALATION_TRIGGER
from psirf_flow.domain import SYSTEM_ACTOR_ID, Case, OutboxMessage, Role
from psirf_flow.engine import Engine, Outcome
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CommandRejected,
    ConcurrencyConflict,
    CorruptRecord,
    InvalidInput,
    PsirfFlowError,
    StoreError,
    StoreUnavailable,
    TransitionNotAllowed,
)
from psirf_flow.log import enabled, get_logger, safe_fields
from psirf_flow.notify import LogNotifier, Notification, Notifier
from psirf_flow.workflows.couplings import (
    Coupling,
    FollowUp,
    coupling_for,
    facts_as_of,
    message_id,
    reaction_case,
    read_follow_up,
)


__all__ = [
    "DEFAULT_BASE_DELAY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DELAY",
    "SYSTEM_ACTOR_ID",
    "DeadReason",
    "OutboxRelay",
    "RelayReport",
]

DEFAULT_MAX_ATTEMPTS: Final = 5
"""Attempts at a message before it is set aside as dead."""
DEFAULT_BASE_DELAY: Final = timedelta(seconds=30)
"""The wait after a first failed attempt; each further failure doubles it."""
DEFAULT_MAX_DELAY: Final = timedelta(hours=1)
"""The longest wait between two attempts."""
_MAX_ATTEMPTS_LIMIT: Final = 100
"""The most attempts a relay may be told to make at one message."""
_LONGEST_DELAY: Final = timedelta(days=366)
"""The longest delay a relay may be given: a later retry would be a dead message in all but
name, and the clock plus a delay near ``timedelta.max`` overflows."""
_CAUSE_READS: Final = 3
"""How often the source case and its trail are read again when a commit lands in between."""
_COUPLING_KIND: Final = "coupling."
_NOTIFY_KIND: Final = "notify."
"""Message kinds handed to the host (``notify.*`` to the notifier, both to listeners)."""
_EVENT_KIND: Final = "event."


class DeadReason(StrEnum):
    """Why a message was set aside as dead (its outcome is ``dead:<reason>``)."""

    UNTRUSTED_CAUSE = "untrusted_cause"
    """The message's cause is not an entry of the source case's verified trail that its
    coupling listens to, or the message does not say what that coupling would say."""
    CASE_ID_TAKEN = "case_id_taken"
    """The case the coupling opens exists already and psirf_flow did not open it: someone
    took its id. A person must look (for example, a duty-of-candour case was not opened)."""
    STORE_UNAVAILABLE = "store_unavailable"
    """Every attempt found the database unreachable."""
    STORE_ERROR = "store_error"
    """Every attempt met a store failure (including a corrupt record)."""
    UNEXPECTED_ERROR = "unexpected_error"
    """Every attempt raised an error psirf_flow did not expect while building or applying it."""


@attrs.frozen
class RelayReport:
    """What one relay run did.

    Attributes:
        applied: Messages whose reaction was committed now.
        replayed: Messages whose reaction had been committed before (nothing new written).
        skipped: Messages whose reaction no longer applied.
        rejected: Messages whose reaction was refused (see the message's outcome).
        retry: Messages left pending because of a concurrent change.
        failed: Messages whose attempt failed and which are due again after a back-off.
        dead: Messages set aside as dead for an operator (see the message's outcome).
    """

    applied: int = 0
    replayed: int = 0
    skipped: int = 0
    rejected: int = 0
    retry: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def delivered(self) -> int:
        """Messages marked finished in this run (dead ones included)."""
        return self.applied + self.replayed + self.skipped + self.rejected + self.dead

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(
            self.applied + other.applied,
            self.replayed + other.replayed,
            self.skipped + other.skipped,
            self.rejected + other.rejected,
            self.retry + other.retry,
            self.failed + other.failed,
            self.dead + other.dead,
        )


@attrs.frozen
class _Failed:
    """An attempt that failed for a reason worth retrying."""

    reason: DeadReason
    error_code: str | None


class OutboxRelay:
    """Apply pending coupling messages through an engine.

    Args:
        engine: The engine (and through it the store, clock and coupling table) to use.
        response_types: The plan's response-type vocabulary, mapping a trust's own names
            (e.g. ``"round_table_review"``) to the lifecycle they run on (``"mdt_review"``);
            names that are workflows already need no entry.
        max_attempts: Attempts at a failing message before it is dead (1 to 100).
        base_delay: The wait after the first failed attempt; doubled after each further one.
        max_delay: The longest wait between attempts (at most 366 days, as is ``base_delay``).
        notifier: Where ``notify.*`` messages go (a [`LogNotifier`][psirf_flow.notify.LogNotifier]
            by default).
        listeners: Host subscribers given every ``notify.*`` and ``event.*`` message.

    Raises:
        InvalidInput: If ``engine`` is not an [`Engine`][psirf_flow.engine.Engine],
            ``response_types`` is not a mapping of names to names, ``max_attempts`` is not
            a whole number from 1 to 100, or a delay is not a positive ``timedelta`` of at
            most 366 days, or ``notifier`` or a listener has no ``send`` method.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        response_types: Mapping[str, str] | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        base_delay: timedelta = DEFAULT_BASE_DELAY,
        max_delay: timedelta = DEFAULT_MAX_DELAY,
        notifier: Notifier | None = None,
        listeners: Iterable[Notifier] = (),
    ) -> None:
        if not isinstance(engine, Engine):
            raise InvalidInput("engine", f"must be an Engine, got {type(engine).__name__}")
        if response_types is not None and not isinstance(response_types, Mapping):
            raise InvalidInput("response_types", "must be a mapping of names to workflow names")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
            raise InvalidInput("max_attempts", "must be a whole number from 1 to 100")
        if not 1 <= max_attempts <= _MAX_ATTEMPTS_LIMIT:
            raise InvalidInput("max_attempts", "must be a whole number from 1 to 100")
        delays: tuple[tuple[str, object], ...] = (
            ("base_delay", base_delay),
            ("max_delay", max_delay),
        )
        for argument, delay in delays:
            if not isinstance(delay, timedelta) or not timedelta(0) < delay <= _LONGEST_DELAY:
                raise InvalidInput(argument, "must be a positive timedelta of at most 366 days")
        if notifier is not None and not isinstance(notifier, Notifier):
            raise InvalidInput("notifier", "must have a send(notification) method")
        given: object = listeners
        if isinstance(given, str | bytes) or not isinstance(given, Iterable):
            raise InvalidInput("listeners", "must be a collection of notifiers")
        self._listeners: tuple[Notifier, ...] = tuple(listeners)
        if not all(isinstance(listener, Notifier) for listener in self._listeners):
            raise InvalidInput("listeners", "each must have a send(notification) method")
        self._notifier: Notifier = notifier if notifier is not None else LogNotifier()
        self._engine = engine
        self._response_types = {
            _inputs.name("response_types", k): _inputs.name("response_types", v)
            for k, v in (response_types or {}).items()
        }
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._log = get_logger()

    def run_once(self, limit: int = 100) -> RelayReport:
        """Deliver up to ``limit`` pending messages that are due, oldest first.

        Raises:
            InvalidInput: If ``limit`` is not a whole number from 1 to 10,000.
        """
        limit = _inputs.limit("limit", limit)
        report = RelayReport()
        store = self._engine.store
        for message in store.pending_outbox(limit, now=self._now()):
            report += self._process(message)
        return report

    def run_until_idle(self, *, limit: int = 100, max_rounds: int = 50) -> RelayReport:
        """Run until no due message is delivered (reactions may cause further reactions).

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

    def dead_messages(self, limit: int = 100) -> tuple[OutboxMessage, ...]:
        """List up to ``limit`` messages set aside as dead, oldest first, for an operator.

        Raises:
            InvalidInput: If ``limit`` is not a whole number from 1 to 10,000.
        """
        return tuple(self._engine.store.dead_outbox(_inputs.limit("limit", limit)))

    def requeue(self, message_id: str) -> bool:
        """Retry a dead message (an operator's decision): it is due now, attempts from 0.

        Returns ``False`` if the message is not dead.

        Raises:
            StoreError: If there is no such message.
            InvalidInput: If ``message_id`` is not an opaque identifier.
        """
        message_id = _inputs.identifier("message_id", message_id)
        done = self._engine.store.requeue_outbox(message_id, at=self._now())
        if done:
            self._log.info(
                "psirf_flow.outbox_message_requeued", **safe_fields({"message_id": message_id})
            )
        return done

    def _now(self) -> datetime:
        """The engine's clock reading, as aware UTC (refused if naive)."""
        return _inputs.moment("the clock's reading", self._engine.clock.now())

    # ------------------------------------------------------------------ one message

    def _process(self, message: OutboxMessage) -> RelayReport:
        """Deliver one message and record what happened; never raises."""
        try:
            result: str | _Failed | None
            try:
                result = self._deliver(message)
            except Exception as error:  # noqa: BLE001 - one message must not stop the run
                result = _failure(error)
            return self._record(message, result)
        except Exception as error:  # noqa: BLE001 - recording failed: the message stays due
            self._warn(message, "psirf_flow.outbox_message_failed", _failure(error), None)
            return RelayReport(retry=1)

    def _record(self, message: OutboxMessage, result: str | _Failed | None) -> RelayReport:
        store = self._engine.store
        now = self._now()
        if result is None:
            return RelayReport(retry=1)
        if isinstance(result, _Failed):
            attempt = message.attempts + 1
            if attempt < self._max_attempts:
                until = now + self._delay(attempt)
                store.defer_outbox(message.id, until=until, reason=result.reason.value)
                self._warn(message, "psirf_flow.outbox_message_failed", result, attempt)
                return RelayReport(failed=1)
            outcome = f"dead:{result.reason.value}"
            store.mark_delivered(message.id, at=now, outcome=outcome)
            self._warn(message, "psirf_flow.outbox_message_dead", result, attempt)
            return RelayReport(dead=1)
        store.mark_delivered(message.id, at=now, outcome=result)
        kind = result.split(":", 1)[0]
        if kind == "dead":
            reason = DeadReason(result.split(":", 1)[1])
            self._warn(message, "psirf_flow.outbox_message_dead", _Failed(reason, None), None)
        return RelayReport(**{kind: 1})

    def _delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1, 2, ...)."""
        try:
            delay: timedelta = self._base_delay * (2 ** (attempt - 1))
        except OverflowError:  # far beyond any sensible cap
            return self._max_delay
        return min(delay, self._max_delay)

    def _deliver(self, message: OutboxMessage) -> str | None:
        if message.kind == ACTION_KIND:
            return self._apply_action(message)
        if message.kind.startswith((_NOTIFY_KIND, _EVENT_KIND)):
            return self._hand_on(message)
        if not message.kind.startswith(_COUPLING_KIND):
            return "skipped:not_a_coupling"
        coupling = coupling_for(self._engine.couplings, message.kind)
        follow_up = read_follow_up(message)
        if coupling is None or follow_up is None:
            return f"dead:{DeadReason.UNTRUSTED_CAUSE}"
        source = self._trusted_source(message, coupling, follow_up)
        if source is None:
            return None
        if isinstance(source, DeadReason):
            return f"dead:{source}"
        workflow = self._response_types.get(follow_up.workflow, follow_up.workflow)
        try:
            done: Outcome = self._engine._apply_follow_up(
                follow_up,
                workflow=workflow,
                organisation=source.organisation,
                idempotency_key=message.id,
                source=source,
            )
        except ConcurrencyConflict:
            return None
        except TransitionNotAllowed as refused:
            return self._noted(message, f"skipped:{refused.reason_code}")
        except CommandRejected as refused:
            return self._noted(message, f"rejected:{refused.reason_code}")
        except CaseAlreadyExists:
            return self._taken(message, follow_up.target_case_id)
        except CaseNotFound:
            if coupling.optional_target:
                return self._noted(message, "skipped:no_target_case")
            return self._noted(message, "rejected:case_not_found")
        return "replayed" if done.replayed else "applied"

    def _hand_on(self, message: OutboxMessage) -> str | None:
        """Give a notification or event to the notifier and listeners (raising defers it)."""
        found = self._verified_cause(message)
        if found is None:
            return None
        if isinstance(found, DeadReason):
            return f"dead:{found}"
        source = found[0]
        notification = Notification(
            id=message.id,
            kind=message.kind,
            case_id=message.case_id,
            organisation=source.organisation,
            body=message.body,
        )
        if message.kind.startswith(_NOTIFY_KIND):
            self._notifier.send(notification)
        for listener in self._listeners:
            listener.send(notification)
        return "applied"

    def _apply_action(self, message: OutboxMessage) -> str | None:
        """Fire a fired tier's action on its case as psirf_flow, exactly once."""
        found = self._verified_cause(message)
        if found is None:
            return None
        if isinstance(found, DeadReason):
            return f"dead:{found}"
        source, entry = found
        data = entry.data
        action = data.get("action")
        kind, cycle, tier = data.get("deadline"), data.get("cycle"), data.get("tier")
        if (
            entry.trigger != ESCALATION_TRIGGER
            or not isinstance(action, str)
            or message.body.get("trigger") != action
            or not isinstance(kind, str)
            or not isinstance(cycle, int)
            or not isinstance(tier, int)
            or message.id != tier_message_id(source.id, kind, cycle, tier, "action")
        ):
            return f"dead:{DeadReason.UNTRUSTED_CAUSE}"
        try:
            done: Outcome = self._engine._apply_follow_up(
                FollowUp(action="fire", target_case_id=source.id, trigger=action),
                workflow=source.workflow,
                organisation=source.organisation,
                idempotency_key=message.id,
                source=source,
            )
        except ConcurrencyConflict:
            return None
        except TransitionNotAllowed as refused:
            return self._noted(message, f"skipped:{refused.reason_code}")
        except CommandRejected as refused:
            return self._noted(message, f"rejected:{refused.reason_code}")
        return "replayed" if done.replayed else "applied"

    def _verified_cause(
        self, message: OutboxMessage
    ) -> tuple[Case, AuditEntry] | DeadReason | None:
        """The message's case and the entry that caused it, read from its verified trail.

        ``UNTRUSTED_CAUSE`` when the trail does not verify or holds no entry with the
        message's ``cause_hash`` at its ``cause_sequence``; ``None`` when a concurrent
        commit kept the case and its trail from being read consistently.
        """
        found = self._verified_trail(message)
        if found is None or isinstance(found, DeadReason):
            return found
        source, entries = found
        sequence = message.cause_sequence
        if not 1 <= sequence <= len(entries) or entries[sequence - 1].hash != message.cause_hash:
            return DeadReason.UNTRUSTED_CAUSE
        return source, entries[sequence - 1]

    def _trusted_source(
        self, message: OutboxMessage, coupling: Coupling, follow_up: FollowUp
    ) -> Case | DeadReason | None:
        """The source case if the message's cause checks out, else ``UNTRUSTED_CAUSE``.

        ``None`` when a concurrent commit kept the case and its trail from being read
        consistently (try again later).
        """
        found = self._verified_trail(message)
        if found is None or isinstance(found, DeadReason):
            return found
        source, entries = found
        if not self._caused_by(message, coupling, follow_up, source, entries):
            return DeadReason.UNTRUSTED_CAUSE
        return source

    def _verified_trail(
        self, message: OutboxMessage
    ) -> tuple[Case, tuple[AuditEntry, ...]] | DeadReason | None:
        """The message's case and its trail, read consistently and verified.

        ``UNTRUSTED_CAUSE`` when the case is missing or its trail broken (checked with the
        engine's keys), ``None`` to try again later.
        """
        store = self._engine.store
        try:
            source = store.load(message.case_id)
        except CaseNotFound:
            return DeadReason.UNTRUSTED_CAUSE
        entries = tuple(store.history(source.id))
        for _ in range(_CAUSE_READS - 1):
            if len(entries) <= source.version:
                break
            source = store.load(message.case_id)
            entries = tuple(store.history(source.id))
        if len(entries) > source.version:
            return None
        # Verified with the engine's audit keys (keyed entries cannot be checked without
        # them) and against the source case's row.
        chain = self._engine._verified(source, entries)
        if not chain.ok:
            return DeadReason.UNTRUSTED_CAUSE
        return source, entries

    def _caused_by(
        self,
        message: OutboxMessage,
        coupling: Coupling,
        follow_up: FollowUp,
        source: Case,
        entries: tuple[AuditEntry, ...],
    ) -> bool:
        """Tell whether ``message`` is what ``coupling`` wrote for its cause in ``entries``."""
        sequence = message.cause_sequence
        if not 1 <= sequence <= len(entries) or not message.cause_hash:
            return False
        entry = entries[sequence - 1]
        if entry.hash != message.cause_hash:
            return False
        if message.id != message_id(source.id, sequence, coupling.name):
            return False
        family = self._engine.definition_for(source).family
        if not coupling.listens_to(entry.workflow, family, entry.trigger):
            return False
        # A tracking coupling reacts to the facts as they were at the cause (its reaction is
        # the same however they have changed since).
        seen = reaction_case(
            coupling,
            source,
            facts_as_of((e.data for e in entries[:sequence]), coupling.tracks),
            facts_as_of((e.data for e in entries[: sequence - 1]), coupling.tracks),
        )
        expected = coupling.react(seen, entry.trigger, sequence)
        return expected is not None and (
            expected.action,
            expected.target_case_id,
            expected.workflow,
            expected.trigger,
        ) == (follow_up.action, follow_up.target_case_id, follow_up.workflow, follow_up.trigger)

    def _taken(self, message: OutboxMessage, target_case_id: str) -> str:
        """The outcome when the case a coupling opens exists and this message did not open it.

        If psirf_flow opened it (another coupling message, its first entry by the system),
        or a person opened it for the same source case (a health care professional opening
        the candour case of an intake before its harm was graded, psirf-rules §4.2), nothing
        is lost: ``skipped:case_exists``. Otherwise someone took the id:
        ``dead:case_id_taken``, for a person to see.
        """
        history = self._engine.store.history(target_case_id)
        first = history[0] if history else None
        if first is not None and first.actor_id == SYSTEM_ACTOR_ID and first.role == Role.SYSTEM:
            return self._noted(message, "skipped:case_exists")
        if (
            first is not None
            and first.data.get("intake_case_id") == message.case_id
            and first.organisation == self._engine.store.load(message.case_id).organisation
        ):
            return self._noted(message, "skipped:case_exists")
        return f"dead:{DeadReason.CASE_ID_TAKEN}"

    def _noted(self, message: OutboxMessage, outcome: str) -> str:
        # A refused reaction is a security event (WARNING); a skipped one is routine (INFO).
        level = logging.WARNING if outcome.startswith("rejected:") else logging.INFO
        if not enabled(level):
            return outcome
        self._log.log(
            level,
            "psirf_flow.coupling_not_applied",
            **safe_fields(
                {
                    "case_id": message.case_id,
                    "message_id": message.id,
                    "reason_code": outcome,
                    "trigger": message.kind,
                }
            ),
        )
        return outcome

    def _warn(
        self, message: OutboxMessage, event: str, failed: _Failed, attempt: int | None
    ) -> None:
        self._log.warning(
            event,
            **safe_fields(
                {
                    "case_id": message.case_id,
                    "message_id": message.id,
                    "trigger": message.kind,
                    "reason_code": failed.reason.value,
                    "error_code": failed.error_code,
                    "attempts": attempt,
                    "outcome": f"dead:{failed.reason.value}" if event.endswith("_dead") else None,
                }
            ),
        )


def _failure(error: Exception) -> _Failed:
    """The retryable failure an exception stands for (never its message: it may hold data)."""
    if isinstance(error, StoreUnavailable):
        return _Failed(DeadReason.STORE_UNAVAILABLE, error.code)
    if isinstance(error, StoreError | CorruptRecord):
        return _Failed(DeadReason.STORE_ERROR, error.code)
    if isinstance(error, PsirfFlowError):
        return _Failed(DeadReason.UNEXPECTED_ERROR, error.code)
    return _Failed(DeadReason.UNEXPECTED_ERROR, None)
