"""Notifications for the host: a port fed from the outbox, and two notifiers that ship.

The engine writes ``notify.*`` messages (one per recipient of a fired escalation tier,
``notify.escalation``) and, when asked (``Engine(step_events=True)``), ``event.*``
messages (one per committed step, ``event.step``) to the outbox in the same transaction as
the change they report.
[`OutboxRelay`][psirf_flow.relay.OutboxRelay] delivers them after commit, **at least once**: a
message is marked delivered only after the notifier (or listener) returned, so a crash in
between delivers it again. The dedupe key is [`Notification.id`][psirf_flow.notify.Notification]
(the outbox message id), the same on every delivery: a host that must not e-mail twice keeps the ids
it has sent ([`InMemoryNotifier`][psirf_flow.notify.InMemoryNotifier] shows how).

A notification holds opaque ids, codes, numbers and ISO 8601 instants only, never a name or
free text: the host looks up who a role or person id is and what to say.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

from psirf_flow._timekeeping import NOTIFY_ESCALATION, STEP_EVENT
from psirf_flow.domain import FactValue, frozen_facts
from psirf_flow.log import enabled, get_logger, safe_fields


__all__ = [
    "NOTIFY_ESCALATION",
    "STEP_EVENT",
    "InMemoryNotifier",
    "LogNotifier",
    "Notification",
    "Notifier",
]


@attrs.frozen
class Notification:
    """One notification or event, as the relay hands it to the host.

    Attributes:
        id: The dedupe key: the outbox message id, the same on every delivery.
        kind: What it is (``"notify.escalation"``, ``"event.step"``).
        case_id: The case it is about.
        organisation: The case's organisation.
        body: Opaque ids, codes, numbers and ISO 8601 instants only. For
            ``notify.escalation``: ``case_id``, ``organisation``, ``kind`` (the deadline's),
            ``cycle``, ``tier``, ``stage``, ``role``, ``due_at`` and, when the case names
            one, ``person_id``. For ``event.step``: ``case_id``, ``organisation``,
            ``workflow``, ``trigger``, ``from_state`` (not on an opening), ``to_state`` and
            ``sequence``.
    """

    id: str
    kind: str
    case_id: str
    organisation: str
    body: Mapping[str, FactValue] = attrs.field(converter=frozen_facts, hash=False)


@runtime_checkable
class Notifier(Protocol):
    """Where notifications go: e-mail, a pager, a dashboard, a national system.

    ``send`` should return only once the notification is safely handed on; raising tells
    the relay to try again later (with its back-off). The same notification may come twice:
    dedupe on [`Notification.id`][psirf_flow.notify.Notification].
    """

    def send(self, notification: Notification) -> None:
        """Hand ``notification`` on, or raise to have it tried again later."""
        ...


class LogNotifier:
    """Logs each notification at INFO through psirf_flow's log (ids and codes only).

    The event is ``psirf_flow.notification`` with the case id, the message id, the kind (as
    ``trigger``) and, for an escalation, the role notified; nothing else from the body.
    """

    def __init__(self) -> None:
        self._log = get_logger()

    def send(self, notification: Notification) -> None:
        """Log ``notification``."""
        if not enabled(logging.INFO):
            return
        role = notification.body.get("role")
        self._log.info(
            "psirf_flow.notification",
            **safe_fields(
                {
                    "case_id": notification.case_id,
                    "organisation": notification.organisation,
                    "message_id": notification.id,
                    "trigger": notification.kind,
                    "role": role if isinstance(role, str) else None,
                }
            ),
        )


class InMemoryNotifier:
    """Keeps what it is sent, once per id (a second delivery of an id is ignored); for tests.

    Thread-safe. ``sent`` lists the notifications in the order first received.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, Notification] = {}
        self._deliveries = 0

    def send(self, notification: Notification) -> None:
        """Keep ``notification`` unless one with its id was kept already."""
        with self._lock:
            self._deliveries += 1
            self._sent.setdefault(notification.id, notification)

    @property
    def sent(self) -> tuple[Notification, ...]:
        """Every distinct notification received, first delivery first."""
        with self._lock:
            return tuple(self._sent.values())

    @property
    def deliveries(self) -> int:
        """How many times ``send`` was called (duplicates included)."""
        with self._lock:
            return self._deliveries
