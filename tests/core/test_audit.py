"""The audit trail: complete entries, canonical hashing, and verification that names the break."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import AuditChainBroken, AuditEntry, Engine, InMemoryStore, verify_chain
from psirf_flow.audit import (
    GENESIS_HASH,
    canonical_bytes,
    entry_hash,
    format_time,
    raise_if_broken,
)
from psirf_flow.domain import SystemReader


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")


class TestEntries:
    """One complete entry per accepted transition."""

    def test_every_entry_has_the_required_fields(self, lifecycle: Any, engine: Engine) -> None:
        """Each entry carries every required field and both hashes; sequences are gap-free."""
        case = lifecycle.to("closed")
        history = engine.history(case.id, reader=READER)

        assert [e.sequence for e in history] == list(range(1, len(history) + 1))
        previous = GENESIS_HASH
        for entry in history:
            assert entry.case_id == case.id
            assert entry.workflow == "psii"
            assert entry.workflow_version == "1"
            assert entry.actor_id
            assert entry.role
            assert entry.organisation == "RX1"
            assert entry.trigger
            assert entry.to_state
            assert entry.recorded_at.tzinfo is not None
            assert entry.previous_hash == previous
            assert entry.hash == entry_hash(entry.content())
            assert len(entry.hash) == 64
            previous = entry.hash

    def test_guard_results_are_recorded(self, lifecycle: Any, engine: Engine) -> None:
        """The request-approval entry records every guard by name, result and reason code."""
        case = lifecycle.to("awaiting_approval")

        entry = engine.history(case.id, reader=READER)[-1]

        assert entry.trigger == "request_approval"
        assert entry.guards[0] == ("actor_is_lead", True, "ok")
        assert len(entry.guards) == 9
        assert entry.guards[-1][:2] == ("team_independent", True)
        assert entry.guards[-1][2].startswith("ok:staff:")
        assert entry.rules == ("psirf.approval.prerequisites@1",)

    def test_rejections_are_not_audited(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """A refused command leaves no entry."""
        case = lifecycle.to("planning")
        before = engine.history(case.id, reader=READER)

        with pytest.raises(Exception, match="refused"):
            engine.fire(case.id, "begin_gathering", actor=cast.other_lead)

        assert engine.history(case.id, reader=READER) == before


class TestCanonicalEncoding:
    """The hashed encoding is deterministic."""

    def test_key_order_does_not_matter(self) -> None:
        """Sorted keys, compact separators and UTF-8 make one encoding for equal content."""
        one = {"b": 1, "a": [1, 2], "c": {"y": None, "x": "é"}}
        two = {"c": {"x": "é", "y": None}, "a": [1, 2], "b": 1}

        assert canonical_bytes(one) == canonical_bytes(two)
        assert canonical_bytes(one) == '{"a":[1,2],"b":1,"c":{"x":"é","y":null}}'.encode()

    def test_hash_is_sha256_of_the_encoding(self) -> None:
        """The hash is the SHA-256 hex digest of the canonical bytes."""
        content = {"k": "v"}

        assert entry_hash(content) == hashlib.sha256(b'{"k":"v"}').hexdigest()

    def test_nan_is_refused(self) -> None:
        """Not-a-number has no canonical form and is refused."""
        with pytest.raises(ValueError, match="JSON compliant"):
            canonical_bytes({"x": float("nan")})

    def test_times_are_utc_with_microseconds(self) -> None:
        """Times are written in UTC with microseconds and a Z, whatever their zone."""
        moment = datetime(2026, 1, 5, 10, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))

        assert format_time(moment) == "2026-01-05T09:00:00.000005Z"

    def test_content_is_json_ready(self, lifecycle: Any, engine: Engine) -> None:
        """An entry's content round-trips through JSON unchanged."""
        case = lifecycle.to("closed")

        for entry in engine.history(case.id, reader=READER):
            content = entry.content()
            assert json.loads(canonical_bytes(content)) == content
            assert "hash" not in content


ENTRY_FIELDS = [f.name for f in attrs.fields(AuditEntry)]
# Any text, lone surrogates included (a stored entry can be altered into anything).
_texts = st.text(st.characters(exclude_categories=()), max_size=20)
_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)
_fact = st.one_of(
    st.text(max_size=10), st.integers(), st.booleans(), st.tuples(st.text(max_size=5))
)
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "case_id": _ids,
    "sequence": st.integers(min_value=-5, max_value=10_000),
    "workflow": _texts,
    "workflow_version": _texts,
    "trigger": _texts,
    "from_state": st.none() | _texts,
    "to_state": _texts,
    "actor_id": _ids,
    "role": _texts,
    "organisation": _ids,
    "guards": st.lists(st.tuples(_texts, st.booleans(), _texts), max_size=3).map(tuple),
    "rules": st.lists(_texts, max_size=3).map(tuple),
    "data": st.dictionaries(st.text(max_size=8), _fact, max_size=3),
    "recorded_at": st.datetimes(
        min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ),
    "previous_hash": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "hash": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "format": st.integers(min_value=-5, max_value=10),
    "case_digest": st.none() | _texts,
    "key_id": st.none() | _texts,
}


class TestVerification:
    """Verification recomputes the chain and names the first entry that does not fit."""

    def test_every_field_has_a_strategy(self) -> None:
        """The tamper property below covers every field an entry has."""
        assert set(_VALUES) == set(ENTRY_FIELDS)

    def test_untouched_chain_verifies(self, lifecycle: Any, engine: Engine) -> None:
        """A real history verifies, and ``raise_if_broken`` stays quiet."""
        case = lifecycle.to("closed")

        result = engine.verify(case.id, reader=READER)

        assert result.ok
        assert (result.first_broken, result.reason) == (None, "")
        assert result.entries == case.version
        raise_if_broken(result)

    @given(data=st.data())
    def test_altering_any_field_of_any_entry_names_that_entry(
        self, make_lifecycle: Callable[[], Any], data: st.DataObject
    ) -> None:
        """Changing any one field of any stored entry makes verification name exactly that entry."""
        lifecycle = make_lifecycle()
        engine: Engine = lifecycle.engine
        case = lifecycle.to("closed")
        history = engine.history(case.id, reader=READER)
        entry = data.draw(st.sampled_from(history), label="entry")
        field = data.draw(st.sampled_from(ENTRY_FIELDS), label="field")
        value = data.draw(
            _VALUES[field].filter(lambda v: v != getattr(entry, field)), label="value"
        )
        altered = attrs.evolve(entry, **{field: value})
        store = engine.store
        assert isinstance(store, InMemoryStore)

        store.tamper(case.id, entry.sequence, altered)
        result = engine.verify(case.id, reader=READER)

        assert not result.ok
        assert result.first_broken == entry.sequence
        with pytest.raises(AuditChainBroken) as broken:
            raise_if_broken(result)
        assert broken.value.sequence == entry.sequence
        assert broken.value.case_id == case.id
        assert f"broken at entry {entry.sequence}" in str(broken.value)

    def test_deleting_the_last_entry_is_a_head_mismatch(
        self, lifecycle: Any, engine: Engine
    ) -> None:
        """Without its last entry a chain no longer reaches the case's head hash."""
        case = lifecycle.to("closed")
        history = engine.history(case.id, reader=READER)

        result = verify_chain(case.id, history[:-1], head_hash=case.head_hash)

        assert not result.ok
        assert result.first_broken == len(history)
        assert "entries are missing" in result.reason

    def test_deleting_every_entry_is_detected(self, lifecycle: Any) -> None:
        """An empty trail for a case that records a head is broken at entry 1."""
        case = lifecycle.to("planning")

        result = verify_chain(case.id, [], head_hash=case.head_hash)

        assert (result.ok, result.first_broken) == (False, 1)

    def test_empty_chain_without_head(self) -> None:
        """An empty trail with no recorded head verifies (nothing to check)."""
        assert verify_chain("case-x", [], head_hash="").ok
        assert verify_chain("case-x", []).ok

    def test_deleting_a_middle_entry_names_its_place(self, lifecycle: Any, engine: Engine) -> None:
        """Removing entry 3 makes the entry now in third place the first broken one."""
        case = lifecycle.to("review")
        history = list(engine.history(case.id, reader=READER))
        del history[2]

        result = verify_chain(case.id, history, head_hash=case.head_hash)

        assert result.first_broken == 3
        assert "sequence number is 4, expected 3" in result.reason

    def test_reordering_names_the_first_misplaced_entry(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """Swapping entries 2 and 3 is detected at position 2."""
        case = lifecycle.to("drafting")
        history = engine.history(case.id, reader=READER)

        store.tamper(case.id, 2, history[2])
        store.tamper(case.id, 3, history[1])
        result = engine.verify(case.id, reader=READER)

        assert result.first_broken == 2

    def test_entry_from_another_case(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """An entry copied from another case is named as not belonging."""
        one, two = lifecycle.to("planning"), lifecycle.to("planning")

        store.tamper(one.id, 2, engine.history(two.id, reader=READER)[1])
        result = engine.verify(one.id, reader=READER)

        assert result.first_broken == 2
        assert result.reason == f"it belongs to case {two.id!r}"

    def test_rehashed_middle_entry_is_named_itself(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """An entry altered with its hash recomputed is named, via the link the next entry holds.

        The next entry's ``previous_hash`` is covered by that entry's own hash, so a
        mismatch proves the earlier entry changed.
        """
        case = lifecycle.to("review")
        entry = engine.history(case.id, reader=READER)[2]
        forged = attrs.evolve(entry, actor_id="someone-else")
        forged = attrs.evolve(forged, hash=entry_hash(forged.content()))

        store.tamper(case.id, 3, forged)
        result = engine.verify(case.id, reader=READER)

        assert result.first_broken == 3
        assert "altered and its hash recomputed" in result.reason

    def test_rehashed_last_entry_is_named_by_the_head(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """The last entry altered and rehashed is named: it no longer matches the case's head."""
        case = lifecycle.to("review")
        entry = engine.history(case.id, reader=READER)[-1]
        forged = attrs.evolve(entry, actor_id="someone-else")
        forged = attrs.evolve(forged, hash=entry_hash(forged.content()))

        store.tamper(case.id, entry.sequence, forged)
        result = engine.verify(case.id, reader=READER)

        assert not result.ok
        assert result.first_broken == entry.sequence
        assert "altered and its hash recomputed" in result.reason

    def test_missing_last_entry_is_named_by_the_case_version(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """A trail shorter than the case's version is broken where the first entry is missing."""
        case = lifecycle.to("drafting")
        history = engine.history(case.id, reader=READER)
        # Drop the last entry behind the engine's back.
        store._history[case.id].pop()

        result = engine.verify(case.id, reader=READER)

        assert (result.ok, result.first_broken) == (False, len(history))
        assert "entries are missing" in result.reason

    def test_rewritten_first_entry_is_named(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """A first entry re-linked to another chain and rehashed is named as entry 1."""
        case = lifecycle.to("planning")
        entry = engine.history(case.id, reader=READER)[0]
        forged = attrs.evolve(entry, previous_hash="f" * 64)
        forged = attrs.evolve(forged, hash=entry_hash(forged.content()))

        store.tamper(case.id, 1, forged)
        result = engine.verify(case.id, reader=READER)

        assert (result.ok, result.first_broken) == (False, 1)
        assert "does not start the chain" in result.reason

    def test_unencodable_tampered_text_is_reported_not_raised(
        self, lifecycle: Any, engine: Engine, store: InMemoryStore
    ) -> None:
        """A stored field that cannot be encoded any more is named as broken, not a crash."""
        case = lifecycle.to("planning")
        entry = engine.history(case.id, reader=READER)[1]

        store.tamper(case.id, 2, attrs.evolve(entry, trigger="\udcff"))
        result = engine.verify(case.id, reader=READER)

        assert result.first_broken == 2
