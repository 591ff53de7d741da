"""The in-memory store: the reference adapter, with the same guarantees SQL gives.

A commit is checked and applied under one lock: the version check, the idempotency key's
uniqueness and the audit sequence are all verified before anything is written, so a
refused commit leaves no trace. Thread-safe within one process; nothing survives it.
"""

from __future__ import annotations

import heapq
import threading
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import islice

import attrs

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, Escalation, EscalationStatus, OutboxMessage
from psirf_flow.errors import CaseAlreadyExists, CaseNotFound, ConcurrencyConflict, StoreError
from psirf_flow.ports import (
    CaseQuery,
    Change,
    DeadlineQuery,
    IdempotencyRecord,
    IncidentLink,
    Page,
)
from psirf_flow.store._checks import check_claim, check_tiers


__all__ = ["InMemoryStore"]


class InMemoryStore:
    """A [`Store`][psirf_flow.ports.Store] held in memory (tests, demos, prototypes)."""

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
        self._deadlines: dict[str, dict[tuple[str, str, int], Deadline]] = {}
        self._escalations: dict[str, dict[tuple[str, str, int, int], Escalation]] = {}
        # Pending tiers by key and their claims (key -> until).
        self._pending_tiers: dict[tuple[str, str, int, int], Escalation] = {}
        self._claims: dict[tuple[str, str, int, int], datetime] = {}
        # The sweeper's index: a heap of (fire_at, key), earliest first, so that claiming
        # reads the tiers due, not every pending tier. An entry whose tier is no longer
        # pending at that instant is stale: dropped when it reaches the top, or when the
        # heap is rebuilt from ``_pending_tiers`` (once stale entries outnumber live ones).
        self._due_heap: list[tuple[datetime, tuple[str, str, int, int]]] = []
        self._messages: dict[str, OutboxMessage] = {}
        self._case_messages: dict[str, list[str]] = {}
        self._pending: dict[str, None] = {}
        self._links: dict[tuple[str, str], dict[str, IncidentLink]] = {}
        # How many links of each incident carry each retention class (the index behind
        # ``incident_classes``: per-command retention reads it instead of every link).
        self._link_classes: dict[tuple[str, str], dict[str, int]] = {}
        # The order messages were written in (the SQL store's ``position``).
        self._positions: dict[str, int] = {}

    def load(self, case_id: str) -> Case:
        """Return the case, or raise [`CaseNotFound`][psirf_flow.errors.CaseNotFound]."""
        try:
            return self._cases[case_id]
        except KeyError:
            raise CaseNotFound(case_id) from None

    def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        """Return the case and its entry numbered ``case.version`` (``None`` if missing)."""
        with self._lock:
            case = self._cases.get(case_id)
            if case is None:
                raise CaseNotFound(case_id)
            entries = self._history.get(case_id, [])
            head = next((e for e in reversed(entries) if e.sequence == case.version), None)
        return case, head

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
            self._apply_deadlines(change)
            for message in change.outbox:
                self._messages[message.id] = message
                self._positions[message.id] = len(self._positions)
                self._case_messages.setdefault(case.id, []).append(message.id)
                self._pending[message.id] = None
            for link in change.incident_links:
                self._put_link(link)

    def _put_link(self, link: IncidentLink) -> None:
        """Insert or replace ``link``, keeping the per-incident class counts in step."""
        key = (link.organisation, link.incident_id)
        links = self._links.setdefault(key, {})
        counts = self._link_classes.setdefault(key, {})
        old = links.get(link.case_id)
        if old is not None:
            left = counts[old.retention_class] - 1
            if left:
                counts[old.retention_class] = left
            else:
                del counts[old.retention_class]
        links[link.case_id] = link
        counts[link.retention_class] = counts.get(link.retention_class, 0) + 1

    def _apply_deadlines(self, change: Change) -> None:
        case_id = change.case.id
        if change.deadlines:
            slots = self._deadlines.setdefault(case_id, {})
            for deadline in change.deadlines:
                slots[deadline.key] = deadline
        if change.escalations:
            tiers = self._escalations.setdefault(case_id, {})
            for tier in change.escalations:
                tiers[tier.key] = tier
                self._claims.pop(tier.key, None)
                if tier.status == EscalationStatus.PENDING:
                    self._pending_tiers[tier.key] = tier
                    heapq.heappush(self._due_heap, (tier.fire_at, tier.key))
                else:
                    self._pending_tiers.pop(tier.key, None)
            if len(self._due_heap) > 2 * len(self._pending_tiers) + 64:
                self._due_heap = [(t.fire_at, k) for k, t in self._pending_tiers.items()]
                heapq.heapify(self._due_heap)

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
        check_tiers(change)
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
        """Return the case's deadlines (every cycle), ordered by kind, then cycle."""
        with self._lock:
            slots = self._deadlines.get(case_id, {})
            return tuple(slots[key] for key in sorted(slots))

    def escalations(self, case_id: str) -> Sequence[Escalation]:
        """Return the case's escalation tiers, ordered by kind, cycle, then tier."""
        with self._lock:
            tiers = self._escalations.get(case_id, {})
            return tuple(tiers[key] for key in sorted(tiers))

    def claim_due(
        self, now: datetime, *, limit: int, claimant: str, lease: timedelta
    ) -> Sequence[Escalation]:
        """Claim up to ``limit`` pending tiers due by ``now``, earliest first.

        A claimed tier is offered again only once ``now + lease`` has passed, or after a
        commit writes it (which ends the claim).

        Raises:
            InvalidInput: If ``now`` is not aware, ``limit`` not from 1 to 10,000,
                ``claimant`` not a text of 1 to 128 characters or ``lease`` not positive.
        """
        check_claim(now, limit, claimant, lease)
        with self._lock:
            heap = self._due_heap
            due: list[Escalation] = []
            kept: list[tuple[datetime, tuple[str, str, int, int]]] = []
            seen: set[tuple[str, str, int, int]] = set()
            # Pop in (fire_at, key) order while due; every live entry popped goes back.
            while heap and heap[0][0] <= now and len(due) < limit:
                entry = heapq.heappop(heap)
                key = entry[1]
                tier = self._pending_tiers.get(key)
                if tier is None or tier.fire_at != entry[0] or key in seen:
                    continue  # stale or a duplicate: dropped
                seen.add(key)
                kept.append(entry)
                if self._claims.get(key, now) <= now:
                    due.append(tier)
            for entry in kept:
                heapq.heappush(heap, entry)
            for tier in due:
                self._claims[tier.key] = now + lease
            return tuple(due)

    def find_deadlines(self, query: DeadlineQuery) -> Sequence[Deadline]:
        """Return the deadlines matching ``query``, ordered by ``due_at``, then key."""
        with self._lock:
            found = [
                deadline
                for case_id, slots in self._deadlines.items()
                if query.case_ids is None or case_id in query.case_ids
                for deadline in slots.values()
                if _deadline_matches(deadline, query)
            ]
        found.sort(key=lambda d: (d.due_at, d.key))
        return tuple(found[: query.limit])

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

    def incident_classes(
        self, organisation: str, incident_ids: Sequence[str], case_id: str
    ) -> tuple[frozenset[str], dict[str, str]]:
        """The classes the links to these incidents carry, and ``case_id``'s own links.

        What [`incident_links`][psirf_flow.store.memory.InMemoryStore.incident_links] tells
        retention per incident, read from an index in time independent of how many records
        an incident has: every distinct ``retention_class`` of the incidents' links, and
        the class of each of ``case_id``'s links by incident id.
        """
        classes: set[str] = set()
        own: dict[str, str] = {}
        with self._lock:
            for incident in incident_ids:
                key = (organisation, incident)
                counts = self._link_classes.get(key)
                if not counts:
                    continue
                classes.update(counts)
                link = self._links[key].get(case_id)
                if link is not None:
                    own[incident] = link.retention_class
        return frozenset(classes), own

    def pending_outbox(self, limit: int, *, now: datetime | None = None) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` undelivered messages, oldest first (only those due by ``now``)."""
        with self._lock:
            messages = (self._messages[m] for m in self._pending)
            if now is not None:
                messages = (
                    m for m in messages if m.next_attempt_at is None or m.next_attempt_at <= now
                )
            return tuple(islice(messages, limit))

    def dead_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` messages set aside as dead, oldest first."""
        with self._lock:
            dead = (m for m in self._messages.values() if m.dead)
            return tuple(islice(sorted(dead, key=lambda m: self._positions[m.id]), limit))

    def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        """Record delivery of ``message_id`` (one more attempt); ``False`` if already done."""
        with self._lock:
            message = self._message(message_id)
            if message.delivered_at is not None:
                return False
            self._messages[message_id] = attrs.evolve(
                message, delivered_at=at, outcome=outcome, attempts=message.attempts + 1
            )
            del self._pending[message_id]
            return True

    def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        """Count a failed attempt at ``message_id``; due again at ``until``."""
        with self._lock:
            message = self._message(message_id)
            if message.delivered_at is not None:
                return False
            self._messages[message_id] = attrs.evolve(
                message, attempts=message.attempts + 1, next_attempt_at=until, last_error=reason
            )
            return True

    def requeue_outbox(self, message_id: str, *, at: datetime) -> bool:
        """Put a dead message back in the queue, due at ``at``, with no attempts counted."""
        with self._lock:
            message = self._message(message_id)
            if not message.dead:
                return False
            self._messages[message_id] = attrs.evolve(
                message, delivered_at=None, outcome=None, attempts=0, next_attempt_at=at
            )
            pending = [*self._pending, message_id]
            self._pending = dict.fromkeys(sorted(pending, key=self._positions.__getitem__))
            return True

    def _message(self, message_id: str) -> OutboxMessage:
        message = self._messages.get(message_id)
        if message is None:
            msg = f"there is no outbox message {message_id!r}"
            raise StoreError(msg)
        return message

    def tamper(self, case_id: str, sequence: int, entry: AuditEntry) -> None:
        """Replace a stored audit entry behind the engine's back (for verification tests)."""
        with self._lock:
            self._history[case_id][sequence - 1] = entry

    def tamper_case(self, case: Case) -> None:
        """Replace a stored case row behind the engine's back (for verification tests)."""
        with self._lock:
            self._cases[case.id] = case

    def tamper_trail(self, case_id: str, entries: Sequence[AuditEntry]) -> None:
        """Replace a case's whole trail behind the engine's back (for verification tests)."""
        with self._lock:
            self._history[case_id] = list(entries)

    def tamper_delete(self, case_id: str) -> None:
        """Remove a case and its trail behind the engine's back (for verification tests)."""
        with self._lock:
            del self._cases[case_id]
            self._history.pop(case_id, None)
            self._ids.remove(case_id)


def _matches(case: Case, query: CaseQuery) -> bool:
    return (
        (query.workflow is None or case.workflow == query.workflow)
        and (query.state is None or case.state == query.state)
        and (query.organisation is None or case.organisation == query.organisation)
        and (query.organisations is None or case.organisation in query.organisations)
    )


def _deadline_matches(deadline: Deadline, query: DeadlineQuery) -> bool:
    return (
        (query.organisations is None or deadline.organisation in query.organisations)
        and (query.workflow is None or deadline.workflow == query.workflow)
        and (query.kind is None or deadline.kind == query.kind)
        and (query.owner is None or deadline.owner == query.owner)
        and (query.statuses is None or deadline.status in query.statuses)
        and (query.due_before is None or deadline.due_at <= query.due_before)
    )
