"""The interfaces the engine depends on, as Protocols, and the records that cross them.

The engine knows these and nothing else about storage or time. Adapters (the in-memory
store, the SQLAlchemy store, [`SystemClock`][psirf_flow.clock.SystemClock], a test
``ManualClock``) are passed to the engine's constructor; the library never picks one from
environment variables. Every store adapter should pass
[`psirf_flow.testing.StoreContract`][psirf_flow.testing.store_contract.StoreContract].
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol, runtime_checkable

import attrs

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, Escalation, OutboxMessage
from psirf_flow.errors import InvalidInput, shown


__all__ = [
    "CaseQuery",
    "Change",
    "Clock",
    "DeadlineQuery",
    "IdempotencyRecord",
    "IncidentLink",
    "Page",
    "Store",
    "WriteCache",
]


@runtime_checkable
class Clock(Protocol):
    """**Protocol:** the one way the shell reads the time."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...


@attrs.frozen
class IdempotencyRecord:
    """What an idempotency key was first used for.

    Attributes:
        key: The key.
        case_id: The case the command applied to.
        fingerprint: Digest of the command (case, trigger, actor, role, payload).
        sequence: The audit sequence number the command produced.
    """

    key: str
    case_id: str
    fingerprint: str
    sequence: int


@attrs.frozen
class IncidentLink:
    """One case's link to an incident, with the retention class the case carries.

    Every record of an incident (intake, learning responses, candour, safety actions) is
    linked to it, so the incident's records can be kept as long as the longest of them
    needs (psirf-rules §4.5, §7.2; see
    [`psirf_flow.policy.retention`][psirf_flow.policy.retention]).

    Attributes:
        organisation: The organisation owning the case (incident ids are theirs).
        incident_id: The incident.
        case_id: The linked case.
        retention_class: The name of the case's retention class when last written.
    """

    organisation: str
    incident_id: str
    case_id: str
    retention_class: str


@attrs.frozen
class Change:
    """Everything one accepted command writes, committed together or not at all.

    Attributes:
        case: The case after the command.
        expected_version: The version the command was decided against; ``None`` to create.
        entry: The audit entry to append (its sequence equals ``case.version``).
        idempotency: The idempotency record to keep, if a key was given.
        deadlines: Deadlines to insert or replace (by case, kind and cycle).
        escalations: Escalation tiers to insert or replace (by case, kind, cycle and
            tier).
        outbox: Messages to deliver after commit.
        incident_links: The case's incident links to insert or replace (by organisation,
            incident and case); only those that are new or changed.
    """

    case: Case
    expected_version: int | None
    entry: AuditEntry
    idempotency: IdempotencyRecord | None = None
    deadlines: tuple[Deadline, ...] = ()
    outbox: tuple[OutboxMessage, ...] = ()
    incident_links: tuple[IncidentLink, ...] = ()
    escalations: tuple[Escalation, ...] = ()


_LONGEST_FILTER: Final = 128
"""The longest text filter of a query, and the most organisations a query may name."""
_MOST_PER_PAGE: Final = 1000
_MOST_ORGANISATIONS: Final = 10_000


def _filter_text(argument: str, value: object) -> None:
    """Refuse a text filter that could never match a stored name or id."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidInput(f"query.{argument}", f"must be text or None, got {shown(value)}")
    if not 0 < len(value) <= _LONGEST_FILTER or not value.isprintable():
        raise InvalidInput(
            f"query.{argument}", f"{shown(value)} is not a name psirf_flow could know"
        )


def _text_filter(_instance: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    _filter_text(attribute.name, value)


def _frozen_or_none(value: Iterable[str] | None) -> frozenset[str] | None:
    """``value`` as a frozen set of organisation codes, or `InvalidInput`."""
    if value is None:
        return None
    found: object = value  # the annotation is a promise callers may break
    if isinstance(found, str | bytes) or not isinstance(found, Iterable):
        raise InvalidInput(
            "query.organisations", f"must be a collection of organisation codes, got {shown(found)}"
        )
    codes: set[str] = set()
    for code in found:
        if len(codes) >= _MOST_ORGANISATIONS:
            raise InvalidInput(
                "query.organisations", f"has more than {_MOST_ORGANISATIONS:,} values"
            )
        _filter_text("organisations", code)
        codes.add(code)
    return frozenset(codes)


def _page_size(_instance: object, _attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MOST_PER_PAGE:
        raise InvalidInput("query.limit", f"must be a whole number from 1 to {_MOST_PER_PAGE:,}")


@attrs.frozen
class CaseQuery:
    """A filter and a page request for listing cases.

    Results are ordered by case id; ``after`` is the last id of the previous page (keyset
    pagination, so pages stay stable while cases are added).

    Attributes:
        workflow: Only cases of this workflow.
        state: Only cases in this state.
        organisation: Only cases owned by this organisation.
        organisations: Only cases owned by one of these organisations. The engine sets it
            from the reader (their own organisation and those it oversees), so a listing
            never shows a case its reader may not see; ``None`` means no such limit (a
            [`SystemReader`][psirf_flow.domain.SystemReader]).
        after: The last case id of the previous page.
        limit: At most this many cases (1 to 1000).

    Raises:
        InvalidInput: If a filter is not text of 1 to 128 printable characters,
            ``organisations`` is not a collection of at most 10,000 such codes, or ``limit``
            is not a whole number from 1 to 1000.
    """

    workflow: str | None = attrs.field(default=None, validator=_text_filter)
    state: str | None = attrs.field(default=None, validator=_text_filter)
    organisation: str | None = attrs.field(default=None, validator=_text_filter)
    organisations: frozenset[str] | None = attrs.field(default=None, converter=_frozen_or_none)
    after: str | None = attrs.field(default=None, validator=_text_filter)
    limit: int = attrs.field(default=50, validator=_page_size)


def _statuses(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    found: object = value
    if isinstance(found, str | bytes) or not isinstance(found, Iterable):
        raise InvalidInput(
            "query.statuses", f"must be a collection of statuses, got {shown(found)}"
        )
    statuses = frozenset(found)
    for status in statuses:
        _filter_text("statuses", status)
    return statuses


def _optional_moment(
    _instance: object, attribute: attrs.Attribute[datetime | None], value: object
) -> None:
    if value is None:
        return
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"query.{attribute.name}", f"must be an aware datetime, got {shown(value)}"
        )


def _deadline_limit(_instance: object, _attribute: object, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100_000:
        raise InvalidInput("query.limit", "must be a whole number from 1 to 100,000")


@attrs.frozen(kw_only=True)
class DeadlineQuery:
    """A filter over deadlines, for the people-facing queries (caseloads, overdue lists).

    Attributes:
        organisations: Only deadlines of cases owned by one of these organisations
            (``None``: no such limit; the engine sets it from the reader).
        workflow: Only deadlines of cases of this workflow.
        kind: Only deadlines of this kind.
        owner: Only deadlines this person answers for.
        case_ids: Only deadlines of these cases.
        statuses: Only deadlines in one of these statuses (``None``: any).
        due_before: Only deadlines whose ``due_at`` is at or before this instant.
        limit: At most this many (1 to 100,000).

    Raises:
        InvalidInput: If a filter has the wrong type or shape.
    """

    organisations: frozenset[str] | None = attrs.field(default=None, converter=_frozen_or_none)
    workflow: str | None = attrs.field(default=None, validator=_text_filter)
    kind: str | None = attrs.field(default=None, validator=_text_filter)
    owner: str | None = attrs.field(default=None, validator=_text_filter)
    case_ids: frozenset[str] | None = attrs.field(default=None, converter=_frozen_or_none)
    statuses: frozenset[str] | None = attrs.field(default=None, converter=_statuses)
    due_before: datetime | None = attrs.field(default=None, validator=_optional_moment)
    limit: int = attrs.field(default=10_000, validator=_deadline_limit)


@attrs.frozen
class Page:
    """One page of cases.

    Attributes:
        items: The cases on this page.
        next_after: Pass as ``CaseQuery.after`` for the next page; ``None`` on the last page.
    """

    items: tuple[Case, ...]
    next_after: str | None


@runtime_checkable
class Store(Protocol):
    """**Protocol:** where cases, audit trails, idempotency keys, deadlines and outbox live.

    Implementations must make [`commit`][psirf_flow.ports.Store.commit] atomic and version-checked:
    either all of a [`Change`][psirf_flow.ports.Change] is visible afterwards or none of it is, and
    a change whose ``expected_version`` is not the stored version raises
    [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] (``CaseAlreadyExists`` when
    creating a case whose id is taken), with ``current_version`` set to the version found when the
    adapter knows it. A repeated idempotency key raises
    [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] too, so the engine re-reads it.
    """

    def load(self, case_id: str) -> Case:
        """Return the case, or raise [`CaseNotFound`][psirf_flow.errors.CaseNotFound]."""
        ...

    def history(self, case_id: str) -> Sequence[AuditEntry]:
        """Return the case's audit entries in sequence order (empty if unknown)."""
        ...

    def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        """Return the case and its audit entry numbered ``case.version``, read together.

        The entry is ``None`` when the trail holds no entry with that number. SQL stores
        read both in one query, so the pair is consistent.

        Raises:
            CaseNotFound: If there is no such case.
        """
        ...

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Return what ``key`` was first used for, or ``None``."""
        ...

    def commit(self, change: Change) -> None:
        """Write ``change`` atomically, checking the version."""
        ...

    def list_cases(self, query: CaseQuery) -> Page:
        """Return one page of cases matching ``query``, ordered by id."""
        ...

    def deadlines(self, case_id: str) -> Sequence[Deadline]:
        """Return the case's deadlines (every cycle), ordered by kind, then cycle."""
        ...

    def escalations(self, case_id: str) -> Sequence[Escalation]:
        """Return the case's escalation tiers, ordered by kind, cycle, then tier."""
        ...

    def claim_due(
        self, now: datetime, *, limit: int, claimant: str, lease: timedelta
    ) -> Sequence[Escalation]:
        """Claim up to ``limit`` pending tiers due by ``now``, earliest first.

        A claimed tier is not offered to another claimant until ``now + lease`` (so a
        sweeper that dies leaves its claims to expire, never lost). Claiming does not fire:
        firing commits the tier as ``fired`` with its audit entry. PostgreSQL claims with
        ``FOR UPDATE SKIP LOCKED``; the cost grows with the rows due, not with the cases.
        """
        ...

    def find_deadlines(self, query: DeadlineQuery) -> Sequence[Deadline]:
        """Return the deadlines matching ``query``, ordered by ``due_at``, then key."""
        ...

    def outbox(self, case_id: str) -> Sequence[OutboxMessage]:
        """Return the messages the case's commands have written, oldest first."""
        ...

    def incident_links(
        self, organisation: str, incident_ids: Sequence[str]
    ) -> Sequence[IncidentLink]:
        """Return every case's link to these incidents of ``organisation``.

        Ordered by incident id, then case id; empty when ``incident_ids`` is.
        """
        ...

    def pending_outbox(self, limit: int, *, now: datetime | None = None) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` undelivered messages of any case, oldest first.

        With ``now``, only those due by then: never attempted, or whose
        ``next_attempt_at`` is at or before ``now``. Dead messages are not pending.
        """
        ...

    def dead_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        """Return up to ``limit`` messages set aside as dead (``dead:<code>``), oldest first."""
        ...

    def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        """Record that ``message_id`` was delivered (or set aside as dead, ``dead:<code>``).

        Counts one more attempt. Returns ``False`` (changing nothing) if it already was.

        Raises:
            StoreError: If there is no such message.
        """
        ...

    def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        """Count a failed attempt at ``message_id``: it is due again at ``until``.

        Records ``reason`` (a reason code) as its ``last_error``. Returns ``False``
        (changing nothing) if the message was delivered already.

        Raises:
            StoreError: If there is no such message.
        """
        ...

    def requeue_outbox(self, message_id: str, *, at: datetime) -> bool:
        """Put a dead message back in the queue (an operator's retry), due at ``at``.

        Its outcome and delivery time are cleared and its attempts start again from 0.
        Returns ``False`` (changing nothing) if the message is not dead.

        Raises:
            StoreError: If there is no such message.
        """
        ...


@runtime_checkable
class WriteCache(Protocol):
    """**Protocol:** a store that may serve the engine's write-path load from a cache.

    Such a store answers [`load_with_head`][psirf_flow.ports.Store.load_with_head] from what it
    last loaded or committed itself, and its [`commit`][psirf_flow.ports.Store.commit] writes
    only if the stored case row still holds exactly the values that load returned; otherwise
    it writes nothing and raises [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict].
    After a conflict or a refusal the engine asks
    [`forget_stale`][psirf_flow.ports.WriteCache.forget_stale] whether the cache was stale, and if
    so decides the command once more on a fresh read. Whatever the outcome, the engine then
    calls [`end_write`][psirf_flow.ports.WriteCache.end_write].
    """

    def forget_stale(self, case_id: str) -> bool:
        """Tell whether the last load of the case came from a stale cache entry, and drop it.

        ``True`` means the failure may be the cache's, not the caller's: the next load
        reads what the database holds.
        """
        ...

    def end_write(self, case_id: str) -> None:
        """Close the engine's write of the case, however it ended (committed, refused, failed).

        Until then the store may answer the case's deadlines and tiers from its cache; after
        it, every read of them goes to the database.
        """
        ...
