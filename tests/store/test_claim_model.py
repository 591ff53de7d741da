"""Claims behave alike in every store: the in-memory store, SQLite and a plain model agree."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from psirf_flow import InMemoryStore
from psirf_flow.decide import decide_open
from psirf_flow.domain import Actor, Command, Escalation, EscalationStatus, Role
from psirf_flow.ports import Change, Store
from psirf_flow.store.sql import SqlStore
from psirf_flow.workflows import DefinitionRegistry


WHEN = datetime(2026, 1, 5, 9, tzinfo=UTC)
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
CASES = ("m-0", "m-1", "m-2")
# Any: attrs types the ``tuple`` converter of ``Escalation.notify`` with an unbound variable.
NOTIFY: Any = (Role.PATIENT_SAFETY_SPECIALIST.value,)
_REGISTRY = DefinitionRegistry.default()
_STATUSES = st.sampled_from([s.value for s in EscalationStatus])

Key = tuple[str, str, int, int]

_tiers = st.lists(
    st.tuples(
        st.sampled_from(CASES), st.integers(-120, 120), _STATUSES, st.sampled_from(["a", "b"])
    ),
    min_size=1,
    max_size=12,
)
_claim = st.tuples(
    st.just("claim"),
    st.integers(0, 10),  # minutes the clock moves first
    st.integers(0, 2),  # which claimant
    st.integers(1, 5),  # limit
    st.integers(1, 15),  # lease in minutes
)
_settle = st.tuples(
    st.just("settle"),
    st.integers(0, 11),  # which tier (modulo the tiers made)
    _STATUSES,
    st.integers(-120, 120),  # its new fire_at offset in minutes
    st.just(0),
)
_operations = st.lists(st.one_of(_claim, _settle), min_size=1, max_size=15)


class _Model:
    """What a claim should return: pending, due, not under a live claim, earliest first."""

    def __init__(self) -> None:
        self.tiers: dict[Key, Escalation] = {}
        self.claims: dict[Key, datetime] = {}

    def write(self, tier: Escalation) -> None:
        self.tiers[tier.key] = tier
        self.claims.pop(tier.key, None)

    def claim(self, now: datetime, limit: int, lease: timedelta) -> tuple[Escalation, ...]:
        due = sorted(
            (
                t
                for t in self.tiers.values()
                if t.status == EscalationStatus.PENDING
                and t.fire_at <= now
                and self.claims.get(t.key, now) <= now
            ),
            key=lambda t: (t.fire_at, t.key),
        )[:limit]
        for tier in due:
            self.claims[tier.key] = now + lease
        return tuple(due)


def _opening(case_id: str, tiers: tuple[Escalation, ...]) -> Change:
    definition = _REGISTRY.latest("psii")
    assert definition is not None
    decision = decide_open(
        definition,
        case_id=case_id,
        organisation=PSS.organisation,
        command=Command("open", PSS, {"incident_ids": ["INC-1"]}),
        now=WHEN,
    )
    return Change(decision.case, None, decision.entry, escalations=tiers)


def _settling(store: Store, tier: Escalation) -> Change:
    """A change on the tier's case that writes ``tier`` (the entry is the opening's, renumbered)."""
    case, head = store.load_with_head(tier.case_id)
    assert head is not None
    version = case.version + 1
    return Change(
        attrs.evolve(case, version=version),
        case.version,
        attrs.evolve(head, sequence=version),
        escalations=(tier,),
    )


@contextmanager
def _stores() -> Iterator[tuple[Store, Store]]:
    with tempfile.TemporaryDirectory() as folder:
        sql = SqlStore.open(str(Path(folder) / "claims.sqlite3"), migrate=True)
        try:
            yield InMemoryStore(), sql
        finally:
            sql.dispose()


@given(tiers=_tiers, operations=_operations)
def test_every_store_claims_what_the_model_claims(
    tiers: list[tuple[str, int, str, str]], operations: list[tuple[Any, ...]]
) -> None:
    """Over any tiers, claims, leases and settled tiers, both stores return the model's claims."""
    made = [
        Escalation(
            case_id=case_id,
            kind=kind,
            tier=n,
            stage="breach",
            organisation=PSS.organisation,
            fire_at=WHEN + timedelta(minutes=offset),
            notify=NOTIFY,
            status=status,
        )
        for n, (case_id, offset, status, kind) in enumerate(tiers)
    ]
    model = _Model()
    now = WHEN
    with _stores() as stores:
        for case_id in CASES:
            mine = tuple(t for t in made if t.case_id == case_id)
            for store in stores:
                store.commit(_opening(case_id, mine))
        for tier in made:
            model.write(tier)
        for operation in operations:
            if operation[0] == "claim":
                _, minutes, claimant, limit, lease_minutes = operation
                now += timedelta(minutes=minutes)
                lease = timedelta(minutes=lease_minutes)
                expected = model.claim(now, limit, lease)
                for store in stores:
                    got = store.claim_due(now, limit=limit, claimant=f"s-{claimant}", lease=lease)
                    assert tuple(got) == expected
            else:
                _, which, status, offset, _ = operation
                tier = attrs.evolve(
                    made[which % len(made)],
                    status=status,
                    fire_at=WHEN + timedelta(minutes=offset),
                )
                model.write(tier)
                for store in stores:
                    store.commit(_settling(store, tier))
        for case_id in CASES:
            expected_tiers = tuple(model.tiers[k] for k in sorted(model.tiers) if k[0] == case_id)
            for store in stores:
                assert tuple(store.escalations(case_id)) == expected_tiers


@settings(max_examples=25, deadline=None)
@given(
    moves=st.lists(
        st.tuples(
            st.integers(0, 2),
            st.integers(-120, 120),
            st.one_of(st.just(EscalationStatus.PENDING.value), _STATUSES),
        ),
        min_size=100,
        max_size=160,
    ),
    limit=st.integers(1, 4),
)
def test_the_memory_store_claims_like_the_model_after_many_moves(
    moves: list[tuple[int, int, str]], limit: int
) -> None:
    """Tiers rewritten many times are claimed as the model does; the due index stays bounded."""
    made = [
        Escalation(
            case_id=CASES[0],
            kind="a",
            tier=n,
            stage="breach",
            organisation=PSS.organisation,
            fire_at=WHEN,
            notify=NOTIFY,
        )
        for n in range(3)
    ]
    store = InMemoryStore()
    model = _Model()
    store.commit(_opening(CASES[0], tuple(made)))
    for tier in made:
        model.write(tier)
    for which, offset, status in moves:
        tier = attrs.evolve(made[which], status=status, fire_at=WHEN + timedelta(minutes=offset))
        model.write(tier)
        store.commit(_settling(store, tier))
        assert len(store._due_heap) <= 2 * 3 + 64  # stale entries are dropped, not kept
    now = WHEN + timedelta(minutes=120)
    lease = timedelta(minutes=5)
    for _ in range(3):
        expected = model.claim(now, limit, lease)
        assert tuple(store.claim_due(now, limit=limit, claimant="s-1", lease=lease)) == expected
