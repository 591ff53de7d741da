"""The in-memory store: the reference adapter, with the same guarantees SQL gives.

A commit is checked and applied under one lock: the version check, the idempotency key's
uniqueness and the audit sequence are all verified before anything is written, so a
refused commit leaves no trace. Thread-safe within one process; nothing survives it.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from itertools import islice

import attrs

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, OutboxMessage
from psirf_flow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StoreError
from psirf_flow.ports import CaseQuery, Change, IdempotencyRecord, IncidentLink, Page


__all__ = ["InMemoryStore"]


class InMemoryStore:
    """A :class:`~psirf_flow.ports.Store` held in memory (tests, demos, prototypes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cases: dict[str, Case] = {}
        # Every case id; sorted when ``_ids_sorted`` says so. New ids are appended and the
        # list is sorted when next listed (Timsort merges the sorted run with the new tail),
        # so opening stays linear instead of moving half the list on every insert.
        self._ids: list[str] = []
        self._ids_sorted = True
        self._history: dict[str, list[AuditEntry]] = {}
        self._keys: dict[str, IdempotencyRecord] = {}
        self._deadlines: dict[str, dict[str, Deadline]] = {}
        self._messages: dict[str, OutboxMessage] = {}
        self._case_messages: dict[str, list[str]] = {}
        self._pending: dict[str, None] = {}
        self._links: dict[tuple[str, str], dict[str, IncidentLink]] = {}

    def load(self, case_id: str) -> Case:
        """Return the case, or raise :class:`~psirf_flow.errors.CaseNotFound`."""
        try:
            return self._cases[case_id]
        except KeyError:
            raise CaseNotFound(case_id) from None

    def history(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's audit entries in sequence order."""
        with self._lock:
            return tuple(self._history.get(case_id, ()))

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return what ``key`` was first used for, or ``None``."""
        return self._keys.get(key)

    def commit(self, change: Change) -> None:
        """Apply ``change`` atomically after checking version, key and sequence."""
        case = change.case
        with self._lock:
            current = self._cases.get(case.id)
            if change.expected_version is None:
                if current is not None:
                    raise CaseAlreadyExists(case.id)
            elif current is None or current.version != change.expected_version:
                raise ConcurrencyConflict(
                    case.id,
                    change.expected_version,
                    current_version=None if current is None else current.version,
                )
            if change.idempotency is not None and change.idempotency.key in self._keys:
                raise ConcurrencyConflict(case.id, change.expected_version or 0)
            self._check_change(change)
            # Everything is checked: apply; nothing below can fail.
            if current is None:
                self._ids.append(case.id)
                self._ids_sorted = False
            self._cases[case.id] = case
            self._history.setdefault(case.id, []).append(change.entry)
            if change.idempotency is not None:
                self._keys[change.idempotency.key] = change.idempotency
            if change.deadlines:
                slots = self._deadlines.setdefault(case.id, {})
                for deadline in change.deadlines:
                    slots[deadline.kind] = deadline
            for message in change.outbox:
                self._messages[message.id] = message
                self._case_messages.setdefault(case.id, []).append(message.id)
                self._pending[message.id] = None
            for link in change.incident_links:
                self._links.setdefault((link.organisation, link.incident_id), {})[case.id] = link

    def _check_change(self, change: Change) -> None:
        case = change.case
        entries = self._history.get(case.id, [])
        if change.entry.sequence != len(entries) + 1 or change.entry.sequence != case.version:
            msg = (
                f"audit entry {change.entry.sequence} does not follow entry {len(entries)} "
                f"of case {case.id!r}"
            )
            raise StoreError(msg)
        if any(d.case_id != case.id for d in change.deadlines):
            msg = "a deadline in the change belongs to another case"
            raise StoreError(msg)
        if any(link.case_id != case.id for link in change.incident_links):
            msg = "an incident link in the change belongs to another case"
            raise StoreError(msg)
        seen: set[str] = set()
        for message in change.outbox:
            if message.id in seen or message.id in self._messages:
                msg = f"outbox message {message.id!r} already exists"
                raise StoreError(msg)
            seen.add(message.id)

    def list_cases(self, query: CaseQuery) -> Page:
        """Return one page of matching cases ordered by id."""
        with self._lock:
            if not self._ids_sorted:
                self._ids.sort()
                self._ids_sorted = True
            start = 0 if query.after is None else bisect_right(self._ids, query.after)
            items: list[Case] = []
            for case_id in self._ids[start:]:
                case = self._cases[case_id]
                if _matches(case, query):
                    items.append(case)
                    if len(items) > query.limit:
                        break
        more = len(items) > query.limit
        items = items[: query.limit]
        return Page(tuple(items), items[-1].id if more else None)

    def deadlines(self, case_id: str) -> Sequence[Deadline]:
        """Return the case's deadlines."""
        with self._lock:
            return tuple(self._deadlines.get(case_id, {}).values())

    def outbox(self, case_id: str) -> Sequence[OutboxMessage]:
        """Return the messages written by the case's commands, oldest first."""
        with self._lock:
            return tuple(self._messages[m] for m in self._case_messages.get(case_id, ()))

    def incident_links(
        self, organisation: str, incident_ids: Sequence[str]
    ) -> Sequence[IncidentLink]:
        """Return every case's link to these incidents, by incident id then case id."""
        with self._lock:
            return tuple(
                link
                for incident in sorted(set(incident_ids))
                for _, link in sorted(self._links.get((organisation, incident), {}).items())
            )

    def pending_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` undelivered messages, oldest first."""
        with self._lock:
            return tuple(self._messages[m] for m in islice(self._pending, limit))

    def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        """Record delivery of ``message_id``; ``False`` if it was delivered already."""
        with self._lock:
            message = self._messages.get(message_id)
            if message is None:
                msg = f"there is no outbox message {message_id!r}"
                raise StoreError(msg)
            if message.delivered_at is not None:
                return False
            self._messages[message_id] = attrs.evolve(message, delivered_at=at, outcome=outcome)
            del self._pending[message_id]
            return True

    def tamper(self, case_id: str, sequence: int, entry: AuditEntry) -> None:
        """Replace a stored audit entry behind the engine's back (for verification tests)."""
        with self._lock:
            self._history[case_id][sequence - 1] = entry


def _matches(case: Case, query: CaseQuery) -> bool:
    return (
        (query.workflow is None or case.workflow == query.workflow)
        and (query.state is None or case.state == query.state)
        and (query.organisation is None or case.organisation == query.organisation)
        and (query.organisations is None or case.organisation in query.organisations)
    )
