"""The engine's checkpoints: every case's trail read page by page, then the pure audit rule.

[`psirf_flow.engine.Engine.checkpoint`][psirf_flow.engine.Engine.checkpoint] and
[`verify_checkpoint`][psirf_flow.engine.Engine.verify_checkpoint] delegate here. What a checkpoint
holds and how one is compared are pure
([`psirf_flow.audit.checkpoint`][psirf_flow.audit.checkpoint]); this module walks the cases (through
the engine's own access-checked listing) and reads each one's trail.

Private to the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from psirf_flow.audit import (
    AuditKeys,
    Checkpoint,
    CheckpointedTrail,
    CheckpointVerification,
    CurrentTrail,
    make_checkpoint,
    verify_against_checkpoint,
)
from psirf_flow.domain import Case
from psirf_flow.ports import CaseQuery, Page, Store


__all__ = ["every_case", "take", "verify"]


def every_case(list_cases: Callable[[CaseQuery], Page], page_size: int) -> Iterator[Case]:
    """Every case ``list_cases`` returns, page by page (keyset pagination by id).

    Args:
        list_cases: Lists one page of the cases the reader may see.
        page_size: Cases read per page.
    """
    after: str | None = None
    while True:
        page = list_cases(CaseQuery(after=after, limit=page_size))
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


def take(
    store: Store, cases: Iterable[Case], *, made_at: datetime, keys: AuditKeys | None
) -> Checkpoint:
    """A checkpoint of ``cases``: each one's entry count and head hash, read from its trail.

    Args:
        store: Where the trails are read.
        cases: The cases to record.
        made_at: When the checkpoint is taken (the engine's clock reading).
        keys: The audit keys to sign with (a plain SHA-256 digest without them).
    """
    trails = []
    for case in cases:
        entries = store.history(case.id)
        head = entries[-1].hash if entries else ""
        trails.append((case.id, CheckpointedTrail(len(entries), head)))
    return make_checkpoint(made_at, trails, keys=keys)


def verify(
    store: Store, cases: Iterable[Case], checkpoint: Checkpoint, *, keys: AuditKeys | None
) -> CheckpointVerification:
    """Compare the trails of ``cases`` now with ``checkpoint``.

    Args:
        store: Where the trails are read.
        cases: Every case there is now.
        checkpoint: The checkpoint to compare with.
        keys: The audit keys its signature is checked with.
    """
    current = {case.id: CurrentTrail.of(case, store.history(case.id)) for case in cases}
    return verify_against_checkpoint(checkpoint, current, keys=keys)
