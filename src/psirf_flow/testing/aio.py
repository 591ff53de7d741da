"""``BlockingStore``: an asyncio store seen through the synchronous Store Protocol.

The [`StoreContract`][psirf_flow.testing.StoreContract] drives stores synchronously. To
hold the asyncio store ([`AsyncSqlStore`][psirf_flow.store.sql.aio.AsyncSqlStore]) to the
same contract, [`BlockingStore`][psirf_flow.testing.aio.BlockingStore] runs a private
event loop on a thread of its own and runs each of the store's coroutines there, waiting
for the answer. Every connection the asyncio store makes lives on that loop. Use it only
in tests.

```python
import pytest
from psirf_flow.testing import StoreContract
from psirf_flow.testing.aio import BlockingStore


class TestMyAsyncStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = BlockingStore.open(str(tmp_path / "cases.sqlite3"), migrate=True)
        yield store
        store.close()
```
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case, Deadline, Escalation, OutboxMessage
from psirf_flow.ports import (
    CaseQuery,
    Change,
    DeadlineQuery,
    IdempotencyRecord,
    IncidentLink,
    Page,
)
from psirf_flow.store.sql.aio import AsyncSqlStore


__all__ = ["BlockingStore", "EventLoopThread"]

_T = TypeVar("_T")


class EventLoopThread:
    """An event loop running on a daemon thread of its own, until [`stop`][psirf_flow.testing.aio.EventLoopThread.stop]."""  # noqa: E501

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="psirf-flow-test-loop", daemon=True
        )
        self._thread.start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop (running on the thread)."""
        return self._loop

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coroutine`` on the loop and wait for its result (or its exception)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def stop(self) -> None:
        """Stop the loop, wait for the thread and close the loop."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


class BlockingStore:
    """The synchronous [`Store`][psirf_flow.ports.Store] methods over an asyncio store.

    Args:
        store: The asyncio store; it must have been made on ``runner``'s loop.
        runner: The loop its coroutines run on.
        owns_runner: Stop ``runner`` on [`close`][psirf_flow.testing.aio.BlockingStore.close].
    """

    def __init__(
        self, store: AsyncSqlStore, runner: EventLoopThread, *, owns_runner: bool = False
    ) -> None:
        self._store = store
        self._runner = runner
        self._owns_runner = owns_runner

    @classmethod
    def open(cls, url: str, **options: Any) -> BlockingStore:
        """Open an [`AsyncSqlStore`][psirf_flow.store.sql.aio.AsyncSqlStore] on a new loop thread.

        ``options`` are those of ``AsyncSqlStore.open``. The loop thread is stopped again
        if opening fails.
        """
        runner = EventLoopThread()
        try:
            store = runner.run(AsyncSqlStore.open(url, **options))
        except BaseException:
            runner.stop()
            raise
        return cls(store, runner, owns_runner=True)

    @property
    def store(self) -> AsyncSqlStore:
        """The asyncio store behind this one."""
        return self._store

    def close(self) -> None:
        """Close the asyncio store, then stop the loop thread if this store started it."""
        try:
            self._runner.run(self._store.aclose())
        finally:
            if self._owns_runner:
                self._runner.stop()

    def load(self, case_id: str) -> Case:
        """As ``AsyncSqlStore.load``."""
        return self._runner.run(self._store.load(case_id))

    def history(self, case_id: str) -> Sequence[AuditEntry]:
        """As ``AsyncSqlStore.history``."""
        return self._runner.run(self._store.history(case_id))

    def load_with_head(self, case_id: str) -> tuple[Case, AuditEntry | None]:
        """As ``AsyncSqlStore.load_with_head``."""
        return self._runner.run(self._store.load_with_head(case_id))

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """As ``AsyncSqlStore.find_idempotency``."""
        return self._runner.run(self._store.find_idempotency(key))

    def commit(self, change: Change) -> None:
        """As ``AsyncSqlStore.commit``."""
        self._runner.run(self._store.commit(change))

    def list_cases(self, query: CaseQuery) -> Page:
        """As ``AsyncSqlStore.list_cases``."""
        return self._runner.run(self._store.list_cases(query))

    def deadlines(self, case_id: str) -> Sequence[Deadline]:
        """As ``AsyncSqlStore.deadlines``."""
        return self._runner.run(self._store.deadlines(case_id))

    def escalations(self, case_id: str) -> Sequence[Escalation]:
        """As ``AsyncSqlStore.escalations``."""
        return self._runner.run(self._store.escalations(case_id))

    def claim_due(
        self, now: datetime, *, limit: int, claimant: str, lease: timedelta
    ) -> Sequence[Escalation]:
        """As ``AsyncSqlStore.claim_due``."""
        return self._runner.run(
            self._store.claim_due(now, limit=limit, claimant=claimant, lease=lease)
        )

    def find_deadlines(self, query: DeadlineQuery) -> Sequence[Deadline]:
        """As ``AsyncSqlStore.find_deadlines``."""
        return self._runner.run(self._store.find_deadlines(query))

    def outbox(self, case_id: str) -> Sequence[OutboxMessage]:
        """As ``AsyncSqlStore.outbox``."""
        return self._runner.run(self._store.outbox(case_id))

    def incident_links(
        self, organisation: str, incident_ids: Sequence[str]
    ) -> Sequence[IncidentLink]:
        """As ``AsyncSqlStore.incident_links``."""
        return self._runner.run(self._store.incident_links(organisation, incident_ids))

    def pending_outbox(self, limit: int, *, now: datetime | None = None) -> Sequence[OutboxMessage]:
        """As ``AsyncSqlStore.pending_outbox``."""
        return self._runner.run(self._store.pending_outbox(limit, now=now))

    def dead_outbox(self, limit: int) -> Sequence[OutboxMessage]:
        """As ``AsyncSqlStore.dead_outbox``."""
        return self._runner.run(self._store.dead_outbox(limit))

    def mark_delivered(self, message_id: str, *, at: datetime, outcome: str) -> bool:
        """As ``AsyncSqlStore.mark_delivered``."""
        return self._runner.run(self._store.mark_delivered(message_id, at=at, outcome=outcome))

    def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        """As ``AsyncSqlStore.defer_outbox``."""
        return self._runner.run(self._store.defer_outbox(message_id, until=until, reason=reason))

    def requeue_outbox(self, message_id: str, *, at: datetime) -> bool:
        """As ``AsyncSqlStore.requeue_outbox``."""
        return self._runner.run(self._store.requeue_outbox(message_id, at=at))
