"""Tampering with a SQL database behind the engine's back is detected and located.

Each test writes real trails through the engine, then changes rows with raw SQL through
SQLAlchemy Core, as someone holding the database credentials could, and checks that
verification (or a checkpoint, or the next command) names what was changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from alembic import command

from psirf_flow import Actor, CorruptRecord, Engine, Role
from psirf_flow.audit import GENESIS_HASH, AuditEntry, AuditKeys, Checkpoint, entry_hash
from psirf_flow.decide import decide
from psirf_flow.domain import Command, SystemReader
from psirf_flow.store.sql import SqlStore, make_engine, mapping
from psirf_flow.store.sql.migrate import _alembic_config
from psirf_flow.store.sql.schema import (
    AUDIT_ENTRIES,
    CASES,
    DEADLINES,
    IDEMPOTENCY_KEYS,
    INCIDENT_LINKS,
    OUTBOX,
    metadata,
)
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII


#: The tables holding a case's rows besides its audit entries and idempotency keys (the
#: escalation tiers' table when the schema has it).
_CASE_TABLES = tuple(
    t
    for t in (OUTBOX, metadata.tables.get("escalations"), DEADLINES, INCIDENT_LINKS)
    if t is not None
)


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
KEYS = AuditKeys(keys={"k2026": bytes(range(40))}, active="k2026")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(name="store")
def _store(db_url: str) -> Iterator[SqlStore]:
    store = SqlStore.open(db_url, migrate=True)
    yield store
    store.dispose()


def _engine(store: SqlStore, keys: AuditKeys | None = KEYS) -> Engine:
    return Engine(store, clock=ManualClock(START), keys=keys)


def _four_steps(engine: Engine, case_id: str = "C-1") -> str:
    """Open a PSII, assign, hold and resume it: four entries, back in ``planning``."""
    engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id=case_id)
    engine.fire(
        case_id, "assign_lead", actor=PSS, payload={"lead_id": "l-1", "engagement_lead_id": "e-1"}
    )
    engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
    engine.fire(case_id, "resume", actor=EXEC)
    return case_id


def _run(store: SqlStore, *statements: sa.Executable) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(statement)


def _entry_where(case_id: str, sequence: int) -> Any:
    return sa.and_(AUDIT_ENTRIES.c.case_id == case_id, AUDIT_ENTRIES.c.sequence == sequence)


def _assert_broken_at(engine: Engine, case_id: str, position: int, words: str) -> None:
    result = engine.verify(case_id, reader=READER)
    assert (result.ok, result.first_broken) == (False, position), result.reason
    assert words in result.reason


class TestTamperedEntries:
    """Entries changed, removed, reordered or forged are named by position."""

    def test_altered_field_is_named(self, store: SqlStore) -> None:
        """An entry whose actor was rewritten is named."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        _run(store, AUDIT_ENTRIES.update().where(_entry_where(case_id, 2)).values(actor_id="x-9"))

        _assert_broken_at(engine, case_id, 2, "does not match its hash")

    def test_altered_field_with_recomputed_hash_is_named(self, store: SqlStore) -> None:
        """An unkeyed entry altered and re-hashed is named through the next entry's link."""
        engine = _engine(store, keys=None)
        case_id = _four_steps(engine)
        entry = attrs.evolve(engine.history(case_id, reader=READER)[1], actor_id="x-9")
        rehashed = entry_hash(entry.content())
        _run(
            store,
            AUDIT_ENTRIES.update()
            .where(_entry_where(case_id, 2))
            .values(actor_id="x-9", hash=rehashed),
        )

        _assert_broken_at(engine, case_id, 2, "altered and its hash recomputed")

    def test_deleted_middle_entry_is_named(self, store: SqlStore) -> None:
        """With entry 2 deleted, the entry now second is named."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        _run(store, AUDIT_ENTRIES.delete().where(_entry_where(case_id, 2)))

        _assert_broken_at(engine, case_id, 2, "sequence number is 3, expected 2")

    def test_reordered_entries_are_named(self, store: SqlStore) -> None:
        """Entries 2 and 3 swapped (their numbers exchanged) are named at position 2.

        Read back in sequence order, the second row now carries the third entry's content
        under number 2, which its hash does not cover.
        """
        engine = _engine(store)
        case_id = _four_steps(engine)
        _run(
            store,
            AUDIT_ENTRIES.update().where(_entry_where(case_id, 2)).values(sequence=-2),
            AUDIT_ENTRIES.update().where(_entry_where(case_id, 3)).values(sequence=2),
            AUDIT_ENTRIES.update().where(_entry_where(case_id, -2)).values(sequence=3),
        )

        _assert_broken_at(engine, case_id, 2, "does not match its hash")

    def test_forged_entry_with_recomputed_chain_is_named(self, store: SqlStore) -> None:
        """An entry appended and chained by someone without the key fails its HMAC."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        case = store.load(case_id)
        forger = AuditKeys(keys={"k2026": b"f" * 32}, active="k2026")
        forged = decide(
            PSII,
            case,
            Command("stand_down", EXEC, {"stand_down_reason": "duplicate"}),
            now=START,
            keys=forger,
        )
        values = mapping.case_values(forged.case)
        _run(
            store,
            AUDIT_ENTRIES.insert().values(mapping.audit_values(forged.entry)),
            CASES.update().where(CASES.c.id == case_id).values(values),
        )

        _assert_broken_at(engine, case_id, 5, "does not match its hash")

    def test_truncated_tail_with_rolled_back_row_is_caught_by_a_checkpoint(
        self, store: SqlStore
    ) -> None:
        """The last entry cut and the case row restored verifies alone, not with a checkpoint."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        with store.engine.connect() as connection:
            saved = dict(connection.execute(sa.select(CASES)).one()._mapping)
        engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        made = Checkpoint.from_json(engine.checkpoint(reader=READER).to_json())
        _run(
            store,
            AUDIT_ENTRIES.delete().where(_entry_where(case_id, 5)),
            CASES.update().where(CASES.c.id == case_id).values(saved),
        )

        alone = engine.verify(case_id, reader=READER)
        result = engine.verify_checkpoint(made, reader=READER)

        assert alone.ok
        assert (result.ok, result.signature, result.problems()) == (
            False,
            "valid",
            {case_id: "truncated"},
        )


class TestTamperedCases:
    """A changed case row is named by verify and refused by fire; a deleted case is caught."""

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("state", "closed"),
            ("organisation", "RX9"),
            ("facts", '{"incident_ids":["INC-9"]}'),
            ("held_from", "drafting"),
            ("retention_class", "standard"),
        ],
    )
    def test_changed_case_row_is_named_and_refused(
        self, store: SqlStore, column: str, value: str
    ) -> None:
        """The changed field is named by verify (at the head entry) and by the refusal."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        _run(store, CASES.update().where(CASES.c.id == case_id).values({column: value}))

        result = engine.verify(case_id, reader=READER)
        with pytest.raises(CorruptRecord) as refused:
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})

        assert (result.ok, result.first_broken, result.mismatched_fields) == (False, 4, (column,))
        assert f"its {column} differ" in str(refused.value)
        assert value not in str(refused.value)
        assert len(store.history(case_id)) == 4

    def test_deleted_case_is_caught_by_a_checkpoint(self, store: SqlStore) -> None:
        """A case deleted with every row of it is reported deleted; the other case is fine."""
        engine = _engine(store)
        _four_steps(engine, "C-1")
        _four_steps(engine, "C-2")
        made = engine.checkpoint(reader=READER)
        _run(
            store,
            *(t.delete().where(t.c.case_id == "C-1") for t in _CASE_TABLES),
            IDEMPOTENCY_KEYS.delete().where(IDEMPOTENCY_KEYS.c.case_id == "C-1"),
            AUDIT_ENTRIES.delete().where(AUDIT_ENTRIES.c.case_id == "C-1"),
            CASES.delete().where(CASES.c.id == "C-1"),
        )

        result = engine.verify_checkpoint(made, reader=READER)

        assert (result.ok, result.problems(), result.checked) == (False, {"C-1": "deleted"}, 2)
        assert engine.verify("C-2", reader=READER).ok

    def test_edited_checkpoint_is_caught(self, store: SqlStore) -> None:
        """A checkpoint file whose head hash was edited no longer matches its signature."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        document = json.loads(engine.checkpoint(reader=READER).to_json())
        document["cases"][case_id][1] = "0" * 64
        edited = Checkpoint.from_json(json.dumps(document))

        result = engine.verify_checkpoint(edited, reader=READER)

        assert (result.ok, result.signature, result.problems()) == (
            False,
            "invalid",
            {case_id: "truncated"},
        )


class TestStoreReads:
    """The head entry comes with the case, in one statement."""

    def test_load_with_head_is_one_statement(self, store: SqlStore) -> None:
        """Loading a case for a command reads case and head entry in a single query."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        store.forget_stale(case_id)  # not from the write cache: from the database
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(str(args[2]))

        sa.event.listen(store.engine, "before_cursor_execute", count)
        try:
            case, head = store.load_with_head(case_id)
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", count)

        assert len([s for s in seen if s.lstrip().upper().startswith("SELECT")]) == 1
        assert head is not None
        assert (case.version, head.sequence, head.hash) == (4, 4, case.head_hash)

    def test_case_without_its_head_entry_loads_with_none(self, store: SqlStore) -> None:
        """A case whose head entry is gone loads with ``None``, and fire refuses it."""
        engine = _engine(store)
        case_id = _four_steps(engine)
        _run(store, AUDIT_ENTRIES.delete().where(_entry_where(case_id, 4)))

        # The store's write cache still holds the head: the write finds it gone, and the
        # fresh read the engine then makes refuses the case.
        with pytest.raises(CorruptRecord, match="audit_trail"):
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        case, head = store.load_with_head(case_id)

        assert (case.version, head) == (4, None)


class TestLegacyTrails:
    """Trails written before migration 0003 still verify, and grow with format 2 entries."""

    def test_format_1_trail_verifies_after_migration(self, db_url: str) -> None:
        """A trail written at schema 0002 reads as format 1, verifies, and takes new entries."""
        engine = make_engine(db_url)
        config = _alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        first, second = _legacy_trail()
        with engine.begin() as connection:
            connection.execute(CASES.insert().values(_legacy_case_row(second)))
            for entry in (first, second):
                row = mapping.audit_values(entry)
                for new_column in ("format", "case_digest", "key_id"):
                    del row[new_column]
                connection.execute(
                    sa.table("audit_entries", *(sa.column(c) for c in row)).insert().values(row)
                )
        engine.dispose()
        store = SqlStore.open(db_url, migrate=True)
        try:
            keyed = _engine(store)
            before = keyed.verify("LEGACY-1", reader=READER)
            formats = [e.format for e in store.history("LEGACY-1")]
            keyed.fire("LEGACY-1", "resume", actor=EXEC)
            after = keyed.verify("LEGACY-1", reader=READER)
            grown = [(e.format, e.key_id) for e in store.history("LEGACY-1")]
        finally:
            store.dispose()

        assert (before.ok, before.entries, formats) == (True, 2, [1, 1])
        assert (after.ok, after.entries) == (True, 3)
        assert grown == [(1, None), (1, None), (2, "k2026")]


def _legacy_trail() -> tuple[AuditEntry, AuditEntry]:
    """Two format 1 entries hashed as the format 1 code did (sorted-key ``json.dumps``)."""

    def hashed(entry: AuditEntry) -> AuditEntry:
        encoded = json.dumps(
            entry.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return attrs.evolve(entry, hash=hashlib.sha256(encoded.encode()).hexdigest())

    first = hashed(
        AuditEntry(
            case_id="LEGACY-1",
            sequence=1,
            workflow="psii",
            workflow_version="1",
            trigger="open",
            from_state=None,
            to_state="commissioned",
            actor_id="pss-1",
            role="patient_safety_specialist",
            organisation=ORG,
            guards=(),
            rules=("psirf.commissioning@1",),
            data={"incident_ids": ("INC-1",)},
            recorded_at=START,
            previous_hash=GENESIS_HASH,
            hash="",
        )
    )
    second = hashed(
        AuditEntry(
            case_id="LEGACY-1",
            sequence=2,
            workflow="psii",
            workflow_version="1",
            trigger="hold",
            from_state="commissioned",
            to_state="on_hold",
            actor_id="exec-1",
            role="executive_lead",
            organisation=ORG,
            guards=(("g", True, "ok"),),
            rules=(),
            data={"hold_reason": "other"},
            recorded_at=START,
            previous_hash=first.hash,
            hash="",
        )
    )
    return first, second


def _legacy_case_row(head: AuditEntry) -> dict[str, Any]:
    return {
        "id": "LEGACY-1",
        "workflow": "psii",
        "workflow_version": "1",
        "organisation": ORG,
        "state": "on_hold",
        "version": 2,
        "held_from": "commissioned",
        "head_hash": head.hash,
        "facts": '{"incident_ids":["INC-1"],"opened_by":"pss-1","hold_reason":"other"}',
        "opened_at": START,
        "updated_at": START,
        "retention_class": "serious",
    }
