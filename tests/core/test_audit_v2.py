"""Audit v2: RFC 8785 encoding, keyed hashes, the case row bound to its trail, checkpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs
import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import Actor, CorruptRecord, Engine, InMemoryStore, InvalidInput, Role
from psirf_flow.audit import (
    CASE_FIELDS,
    GENESIS_HASH,
    AuditEntry,
    AuditKeys,
    Checkpoint,
    CheckpointedTrail,
    CurrentTrail,
    case_differences,
    case_digest,
    entry_hash,
    expected_hash,
    format_time,
    idempotency_digest,
    jcs_bytes,
    make_checkpoint,
    row_mismatch,
    verify_against_checkpoint,
    verify_chain,
)
from psirf_flow.decide import decide, decide_open
from psirf_flow.domain import Command, SystemReader
from psirf_flow.errors import AuditKeyError, CheckpointInvalid
from psirf_flow.ports import Change
from psirf_flow.testing import ManualClock
from psirf_flow.testing.logs import capture_events
from psirf_flow.workflows import PSII
from psirf_flow.workflows.payload import text_digest


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RX1"
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], ORG)
OPENING = {"incident_ids": ["INC-1"]}
ASSIGN = {"lead_id": "lead-1", "engagement_lead_id": "el-1"}
SECRET_1 = bytes(range(32))
SECRET_2 = bytes(range(100, 148))
KEYS_1 = AuditKeys(keys={"k2025": SECRET_1}, active="k2025")
ROTATED = AuditKeys(keys={"k2025": SECRET_1, "k2026": SECRET_2}, active="k2026")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _engine(keys: AuditKeys | None = None, store: InMemoryStore | None = None) -> Engine:
    return Engine(store or InMemoryStore(), clock=ManualClock(START), keys=keys)


def _steps(engine: Engine, case_id: str = "C-1") -> str:
    """Open a PSII and take it through assign, hold (with a note) and resume: four entries."""
    engine.open("psii", actor=PSS, payload=OPENING, case_id=case_id)
    engine.fire(case_id, "assign_lead", actor=PSS, payload=ASSIGN)
    engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other", "note": "wait"})
    engine.fire(case_id, "resume", actor=EXEC)
    return case_id


def _store(engine: Engine) -> InMemoryStore:
    store = engine.store
    assert isinstance(store, InMemoryStore)
    return store


# ------------------------------------------------------------------ RFC 8785


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


class TestCanonicalEncoding:
    """Format 2 content is encoded with RFC 8785; the fast path equals the reference package."""

    @given(value=_json_values)
    def test_fast_path_equals_rfc8785_over_the_audit_domain(self, value: Any) -> None:
        """For any value entries can hold, the fast path writes exactly rfc8785's bytes."""
        assert jcs_bytes(value) == rfc8785.dumps(value)

    @given(keys=st.lists(st.text(max_size=3), min_size=2, max_size=6, unique=True))
    def test_keys_are_ordered_by_utf16_code_units(self, keys: list[str]) -> None:
        """Keys beyond the basic plane sort by their UTF-16 surrogates, as JCS requires."""
        value = dict.fromkeys(keys, 1)

        assert jcs_bytes(value) == rfc8785.dumps(value)

    def test_rfc_sorting_vector(self) -> None:
        """RFC 8785 section 3.2.3: the published property-sorting example, byte for byte."""
        value = {
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\U0001f600": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis",
        }
        expected = (
            '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
            '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
            '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
        ).encode()

        assert jcs_bytes(value) == expected

    def test_rfc_string_and_literal_vector(self) -> None:
        """RFC 8785 section 3.2.2: the strings and literals of the published example."""
        value = {
            "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
            "literals": [None, True, False],
        }
        expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'

        assert jcs_bytes(value) == expected.encode()

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            (1.5, TypeError),
            ({"x": [0.1]}, TypeError),
            (2**53, ValueError),
            (-(2**53), ValueError),
            ("\ud800", ValueError),
            ({1: "x"}, TypeError),
            ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, TypeError),
            (MappingProxyType({"n": 2**60}), ValueError),
        ],
        ids=[
            "float",
            "nested-float",
            "big-int",
            "big-negative",
            "surrogate",
            "int-key",
            "time",
            "read-only-mapping",
        ],
    )
    def test_values_outside_the_domain_are_refused(self, value: Any, error: type) -> None:
        """Floats, unsafe integers, lone surrogates and non-text keys have no encoding here."""
        with pytest.raises(error):
            jcs_bytes(value)

    def test_read_only_mappings_and_text_subclasses_are_encoded(self) -> None:
        """A read-only mapping (as facts are held) and an enum's text encode as plain JSON."""
        value = MappingProxyType({"b": Role.EXECUTIVE_LEAD, "a": ("x",)})

        assert jcs_bytes(value) == b'{"a":["x"],"b":"executive_lead"}'

    def test_early_years_keep_the_legacy_time_text(self) -> None:
        """Years before 1000 are written as format 1 wrote them (strftime, unpadded)."""
        assert format_time(datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)).endswith(
            "-01-02T03:04:05.000006Z"
        )


# ------------------------------------------------------------------ keys


class TestKeys:
    """Key rings are validated, rotate by id, and never show their secrets."""

    def test_short_key_is_refused_without_showing_it(self) -> None:
        """A key under 32 bytes is refused with an error naming its id and length only."""
        secret = b"s3cret-but-short"
        with pytest.raises(AuditKeyError) as refused:
            AuditKeys(keys={"k1": secret}, active="k1")

        assert "'k1' is 16 bytes long" in str(refused.value)
        assert secret.decode() not in str(refused.value)
        assert refused.value.code == "PSF510"

    @pytest.mark.parametrize(
        ("keys", "active", "words"),
        [
            ({}, "k1", "empty"),
            ({"k1": SECRET_1}, "k2", "not in the key ring"),
            ({"bad id": SECRET_1}, "bad id", "key id"),
            ({"k1": "text"}, "k1", "is not bytes"),
            ({1: SECRET_1}, 1, "key id"),
        ],
        ids=["empty", "active-missing", "bad-id", "not-bytes", "id-not-text"],
    )
    def test_malformed_rings_are_refused(self, keys: Any, active: str, words: str) -> None:
        """An empty ring, a missing active key, a bad id or a non-bytes key is refused."""
        with pytest.raises(AuditKeyError, match=words):
            AuditKeys(keys=keys, active=active)

    def test_repr_and_str_name_ids_only(self) -> None:
        """Neither repr nor str of a ring shows any key material, only the key ids."""
        shown = "AuditKeys(active='k2026', key_ids=('k2025', 'k2026'))"

        assert repr(ROTATED) == str(ROTATED) == shown
        assert repr([ROTATED]) == f"[{shown}]"

    def test_rings_compare_by_content(self) -> None:
        """Equal rings are equal and hash alike; another active key makes them differ."""
        same = AuditKeys(keys={"k2025": SECRET_1, "k2026": SECRET_2}, active="k2026")
        other = AuditKeys(keys={"k2025": SECRET_1, "k2026": SECRET_2}, active="k2025")

        assert same == ROTATED
        assert hash(same) == hash(ROTATED)
        assert other != ROTATED
        assert ROTATED != "k2026"

    def test_ring_reads_from_json(self) -> None:
        """A JSON ring with base64 keys reads back equal to the ring it describes."""
        text = json.dumps(
            {
                "active": "k2026",
                "keys": {
                    "k2025": base64.b64encode(SECRET_1).decode(),
                    "k2026": base64.b64encode(SECRET_2).decode(),
                },
            }
        )

        assert AuditKeys.from_json(text) == ROTATED

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("not json at all", "must be JSON"),
            ("[]", "must be JSON"),
            ('{"active": "k-secret-ish"}', "must be JSON"),
            ('{"active": "k", "keys": {"k": "###not-base64###"}}', "'k' is not valid base64"),
        ],
        ids=["not-json", "list", "no-keys", "bad-base64"],
    )
    def test_malformed_json_rings_are_refused_without_echo(self, text: str, words: str) -> None:
        """A ring that is not JSON of the right shape is refused; the message does not echo it."""
        with pytest.raises(AuditKeyError, match=words) as refused:
            AuditKeys.from_json(text)

        assert text not in str(refused.value)
        assert "###not-base64###" not in str(refused.value)

    def test_idempotency_digest_is_scoped_and_keyed(self) -> None:
        """Unkeyed it is SHA-256 of organisation and key; keyed, an HMAC under the active key."""
        plain = idempotency_digest("RX1", "key-1", None)

        assert plain == hashlib.sha256(b"RX1\x1fkey-1").hexdigest()
        assert idempotency_digest("RX2", "key-1", None) != plain
        keyed = idempotency_digest("RX1", "key-1", ROTATED)
        assert keyed == hmac.new(SECRET_2, b"RX1\x1fkey-1", hashlib.sha256).hexdigest()
        assert len(keyed) == len(plain) == 64

    def test_free_text_digest_is_keyed_with_the_active_key(self) -> None:
        """With keys, a note becomes an HMAC of case id and text; a guess without the key fails."""
        engine = _engine(KEYS_1)
        case_id = _steps(engine)
        note = engine.history(case_id, reader=READER)[2].data["note"]

        expected = hmac.new(SECRET_1, f"{case_id}\x1fwait".encode(), hashlib.sha256).hexdigest()
        assert note == f"hmac-sha256:{expected}"
        assert note != text_digest(case_id, "wait")
        assert text_digest(case_id, "wait").startswith("sha256:")

    def test_keys_never_reach_logs_or_errors(self) -> None:
        """No log event nor error raised while working with keys carries key material."""
        secrets = [SECRET_1.hex(), repr(SECRET_1), base64.b64encode(SECRET_1).decode()]
        with capture_events() as events:
            engine = _engine(KEYS_1)
            case_id = _steps(engine)
            store = _store(engine)
            store.tamper_case(attrs.evolve(store.load(case_id), state="closed"))
            with pytest.raises(CorruptRecord) as refused:
                engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        text = repr(events) + str(refused.value) + repr(engine.verify(case_id, reader=READER))

        assert events
        assert not [s for s in secrets if s in text]


# ------------------------------------------------------------------ entries and decisions


class TestEntries:
    """New entries are format 2, hashed over RFC 8785, keyed when keys are given."""

    def test_unkeyed_entries_hash_with_sha256(self) -> None:
        """Without keys a format 2 entry's hash is SHA-256 of its JCS content; no key id."""
        engine = _engine()
        entry = engine.history(_steps(engine), reader=READER)[1]

        assert (entry.format, entry.key_id) == (2, None)
        assert entry.hash == hashlib.sha256(rfc8785.dumps(entry.content())).hexdigest()
        assert entry.hash == entry_hash(entry.content())

    def test_keyed_entries_hash_with_hmac(self) -> None:
        """With keys a format 2 entry's hash is HMAC-SHA-256 under the active key it names."""
        engine = _engine(KEYS_1)
        entry = engine.history(_steps(engine), reader=READER)[1]

        mac = hmac.new(SECRET_1, rfc8785.dumps(entry.content()), hashlib.sha256).hexdigest()
        assert (entry.format, entry.key_id, entry.hash) == (2, "k2025", mac)
        assert expected_hash(entry, KEYS_1) == mac
        assert expected_hash(entry, None) is None

    def test_each_entry_digests_the_case_after_it(self) -> None:
        """Every entry's case digest is the digest of the case as that step left it."""
        engine = _engine()
        case_id = _steps(engine)
        case = engine.get(case_id, reader=READER)
        history = engine.history(case_id, reader=READER)

        assert history[-1].case_digest == case_digest(case)
        assert case.retention_class == "serious"
        assert case_differences(case, history[-1].case_digest or "") == ()
        recorded = json.loads(history[-1].case_digest or "")
        assert set(recorded) == set(CASE_FIELDS)

    @pytest.mark.parametrize("held", [False, True], ids=["running", "held"])
    def test_case_digest_follows_its_definition(self, held: bool) -> None:
        """The digest is JCS of each field's truncated SHA-256 of its JCS, per rfc8785 itself."""
        engine = _engine()
        case_id = _steps(engine)
        if held:
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        case = engine.get(case_id, reader=READER)
        values = {
            "state": case.state,
            "held_from": case.held_from,
            "organisation": case.organisation,
            "workflow": case.workflow,
            "workflow_version": case.workflow_version,
            "version": case.version,
            "facts": dict(case.facts),
            "retention_class": case.retention_class,
        }
        reference = rfc8785.dumps(
            {k: hashlib.sha256(rfc8785.dumps(v)).hexdigest()[:32] for k, v in values.items()}
        )

        assert case_digest(case).encode() == reference

    def test_decide_takes_the_retention_class_from_classify(self) -> None:
        """decide_open and decide set the class classify gives, before the digest is taken."""
        opened = decide_open(
            PSII,
            case_id="C-9",
            organisation=ORG,
            command=Command("open", PSS, dict(OPENING)),
            now=START,
            classify=lambda case: f"class-{case.state}",
        )
        moved = decide(
            PSII,
            opened.case,
            Command("assign_lead", PSS, dict(ASSIGN)),
            now=START,
            classify=lambda case: f"class-{case.state}",
        )
        kept = decide(PSII, opened.case, Command("assign_lead", PSS, dict(ASSIGN)), now=START)

        assert opened.case.retention_class == "class-commissioned"
        assert moved.case.retention_class == "class-planning"
        assert kept.case.retention_class == "class-commissioned"
        for decision in (opened, moved, kept):
            assert decision.entry.case_digest == case_digest(decision.case)
            assert decision.case.head_hash == decision.entry.hash

    def test_legacy_entries_keep_their_hashes(self) -> None:
        """Format 1 entries as the old code wrote them verify, with the hashes it computed."""
        trail = _legacy_trail()

        assert [e.hash for e in trail] == [LEGACY_HASH_1, LEGACY_HASH_2]
        assert all(expected_hash(e, None) == e.hash for e in trail)
        assert "format" not in trail[0].content()
        assert verify_chain("LEGACY-1", trail, head_hash=LEGACY_HASH_2, expected_entries=2).ok

    def test_new_entries_extend_a_legacy_trail(self) -> None:
        """A command on a case whose trail is format 1 appends a format 2 entry that verifies."""
        store = InMemoryStore()
        trail = _legacy_trail()
        _commit_legacy(store, trail)
        engine = _engine(KEYS_1, store)

        engine.fire("LEGACY-1", "resume", actor=EXEC)
        result = engine.verify("LEGACY-1", reader=READER)

        assert [e.format for e in engine.history("LEGACY-1", reader=READER)] == [1, 1, 2]
        assert (result.ok, result.entries) == (True, 3)


#: Hashes the format 1 code computed for :func:`_legacy_trail` (pinned: they never change).
LEGACY_HASH_1 = "a45b5e3e7ead9e03f5bb16c6588749ba6b673a648787831290b5df67631dddad"
LEGACY_HASH_2 = "c18dd91c5c0579fedea9032d7462edb41bf9c7cb469acb18896a5f2ad18ee6b1"


def _legacy_trail() -> list[AuditEntry]:
    """Two format 1 entries, with the hashes the format 1 encoding gives them."""
    first = AuditEntry(
        case_id="LEGACY-1",
        sequence=1,
        workflow="psii",
        workflow_version="1",
        trigger="open",
        from_state=None,
        to_state="commissioned",
        actor_id="pss-1",
        role="patient_safety_specialist",
        organisation="RX1",
        guards=(),
        rules=("psirf.commissioning@1",),
        data={"incident_ids": ("INC-1",)},
        recorded_at=START,
        previous_hash=GENESIS_HASH,
        hash="",
    )
    first = attrs.evolve(first, hash=_old_hash(first))
    second = AuditEntry(
        case_id="LEGACY-1",
        sequence=2,
        workflow="psii",
        workflow_version="1",
        trigger="hold",
        from_state="commissioned",
        to_state="on_hold",
        actor_id="exec-1",
        role="executive_lead",
        organisation="RX1",
        guards=(("g", True, "ok"),),
        rules=(),
        data={"hold_reason": "other", "note": "sha256:" + "ab" * 32, "caf\u00e9": 1},
        recorded_at=datetime(2026, 1, 5, 10, 0, 0, 5, tzinfo=UTC),
        previous_hash=first.hash,
        hash="",
    )
    return [first, attrs.evolve(second, hash=_old_hash(second))]


def _old_hash(entry: AuditEntry) -> str:
    """The format 1 hash, computed as the old code did (``json.dumps`` with sorted keys)."""
    encoded = json.dumps(entry.content(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _commit_legacy(store: InMemoryStore, trail: list[AuditEntry]) -> None:
    """Write a held PSII with a format 1 trail, as the old code left it."""
    opened = decide_open(
        PSII,
        case_id="LEGACY-1",
        organisation=ORG,
        command=Command("open", PSS, dict(OPENING)),
        now=START,
    )
    store.commit(Change(attrs.evolve(opened.case, head_hash=trail[0].hash), None, trail[0]))
    held = attrs.evolve(
        opened.case,
        state="on_hold",
        held_from="commissioned",
        version=2,
        head_hash=trail[1].hash,
        retention_class="serious",
    )
    store.commit(Change(held, 1, trail[1]))


# ------------------------------------------------------------------ verification


class TestVerification:
    """verify_chain checks states, formats and keys, and binds the case row."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("state", "closed"),
            ("organisation", "RX9"),
            ("facts", {"incident_ids": ("INC-1", "INC-2")}),
            ("held_from", "planning"),
            ("retention_class", "standard"),
        ],
    )
    def test_altered_case_row_is_named_and_refused(self, field: str, value: Any) -> None:
        """A case row changed behind the engine's back fails verify and is refused by fire."""
        engine = _engine(KEYS_1)
        case_id = _steps(engine)
        store = _store(engine)
        store.tamper_case(attrs.evolve(store.load(case_id), **{field: value}))

        result = engine.verify(case_id, reader=READER)
        with pytest.raises(CorruptRecord) as refused:
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})

        assert (result.ok, result.first_broken, result.mismatched_fields) == (False, 4, (field,))
        assert f"its {field} differ" in result.reason
        assert f"its {field} differ" in str(refused.value)
        assert repr(value) not in str(refused.value)
        assert refused.value.case_id == case_id
        assert len(engine.history(case_id, reader=READER)) == 4

    def test_a_row_without_any_entry_is_refused(self) -> None:
        """A case whose head entry is missing cannot be built upon."""
        engine = _engine()
        case_id = _steps(engine)
        _store(engine).tamper_trail(case_id, [])

        with pytest.raises(CorruptRecord, match="audit_trail"):
            engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})

    def test_broken_state_continuity_is_named(self) -> None:
        """An entry that starts from another state than the one before ended in is named."""
        engine = _engine()
        history = list(engine.history(_steps(engine), reader=READER))
        forged = _rechain([*history[:2], attrs.evolve(history[2], from_state="drafting")])

        result = verify_chain("C-1", forged)

        assert (result.ok, result.first_broken) == (False, 3)
        assert "ended in 'planning'" in result.reason

    def test_first_entry_must_open_the_case(self) -> None:
        """A first entry with a from_state is named: a trail starts from nothing."""
        engine = _engine()
        history = list(engine.history(_steps(engine), reader=READER))
        forged = _rechain([attrs.evolve(history[0], from_state="planning"), *history[1:]])

        result = verify_chain("C-1", forged)

        assert (result.ok, result.first_broken) == (False, 1)

    def test_forged_keyed_entry_is_detected(self) -> None:
        """An entry appended by someone without the key fails its HMAC and is named."""
        engine = _engine(KEYS_1)
        case_id = _steps(engine)
        store = _store(engine)
        case = store.load(case_id)
        forger = AuditKeys(keys={"k2025": bytes(32)}, active="k2025")
        decision = decide(
            PSII, case, Command("stand_down", EXEC, {"stand_down_reason": "duplicate"}),
            now=START, keys=forger,
        )  # fmt: skip
        store.commit(Change(decision.case, case.version, decision.entry))

        result = engine.verify(case_id, reader=READER)

        assert (result.ok, result.first_broken) == (False, 5)
        assert "does not match its hash" in result.reason

    def test_engine_without_keys_refuses_to_extend_a_keyed_trail(self) -> None:
        """An engine given no keys refuses a command on a keyed trail and writes nothing."""
        store = InMemoryStore()
        case_id = _steps(_engine(KEYS_1, store))

        with pytest.raises(AuditKeyError, match="is keyed; this engine was given no audit keys"):
            _engine(None, store).fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})

        assert len(store.history(case_id)) == 4

    def test_unkeyed_entry_after_keyed_ones_is_detected(self) -> None:
        """An unkeyed entry appended to a keyed trail is named as forged without the key."""
        engine = _engine(KEYS_1)
        case_id = _steps(engine)
        store = _store(engine)
        case = store.load(case_id)
        decision = decide(PSII, case, Command("hold", EXEC, {"hold_reason": "other"}), now=START)
        store.commit(Change(decision.case, case.version, decision.entry))

        result = engine.verify(case_id, reader=READER)

        assert (result.ok, result.first_broken) == (False, 5)
        assert "no key after a keyed entry" in result.reason

    def test_legacy_entry_after_a_new_one_is_detected(self) -> None:
        """A format 1 entry after a format 2 one is named as a downgrade."""
        engine = _engine()
        history = list(engine.history(_steps(engine), reader=READER))
        legacy = attrs.evolve(history[3], format=1, case_digest=None)
        forged = [*history[:3], attrs.evolve(legacy, hash=entry_hash(legacy.content()))]

        result = verify_chain("C-1", forged)

        assert (result.ok, result.first_broken) == (False, 4)
        assert "old format" in result.reason

    def test_unknown_format_is_named(self) -> None:
        """An entry claiming a format this release does not know is named."""
        engine = _engine()
        history = list(engine.history(_steps(engine), reader=READER))

        result = verify_chain("C-1", [history[0], attrs.evolve(history[1], format=3)])

        assert (result.ok, result.first_broken) == (False, 2)
        assert result.reason == "its format 3 is unknown (it was altered)"

    def test_key_rotation_keeps_old_entries_verifying(self) -> None:
        """After a rotation old entries verify with the old key and new ones with the new."""
        store = InMemoryStore()
        case_id = _steps(_engine(KEYS_1, store))
        rotated = _engine(ROTATED, store)
        rotated.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})

        result = rotated.verify(case_id, reader=READER)

        assert [e.key_id for e in rotated.history(case_id, reader=READER)] == ["k2025"] * 4 + [
            "k2026"
        ]
        assert (result.ok, result.entries) == (True, 5)

    @pytest.mark.parametrize(
        "keys",
        [None, AuditKeys(keys={"k2026": SECRET_2}, active="k2026")],
        ids=["no-keys", "new-key-only"],
    )
    def test_entries_whose_key_is_missing_cannot_be_checked(self, keys: AuditKeys | None) -> None:
        """Without the key an entry names, verification is not ok and says it cannot check."""
        store = InMemoryStore()
        case_id = _steps(_engine(KEYS_1, store))

        result = _engine(keys, store).verify(case_id, reader=READER)

        assert (result.ok, result.first_broken, result.cannot_check) == (False, 1, True)
        assert "'k2025', which was not supplied" in result.reason

    def test_head_without_case_digest_is_named(self) -> None:
        """A format 2 head with no case digest cannot bind the case row."""
        engine = _engine()
        history = list(engine.history(_steps(engine), reader=READER))
        case = engine.get("C-1", reader=READER)
        last = attrs.evolve(history[-1], case_digest=None)
        last = attrs.evolve(last, hash=entry_hash(last.content()))
        case = attrs.evolve(case, head_hash=last.hash)

        result = verify_chain("C-1", [*history[:-1], last], case=case)

        assert (result.ok, result.first_broken, result.mismatched_fields) == (
            False,
            4,
            ("case_digest",),
        )

    def test_row_mismatch_names_version_and_head_hash(self) -> None:
        """A row pointing at another entry names its version and head hash."""
        engine = _engine()
        case_id = _steps(engine)
        case, history = engine.get(case_id, reader=READER), engine.history(case_id, reader=READER)

        assert row_mismatch(case, history[-1]) == ()
        assert row_mismatch(case, history[-2]) == (
            "version",
            "head_hash",
            "state",
            "held_from",
            "facts",  # the hold notes its date (held_on)
        )
        assert row_mismatch(case, None) == ("audit_trail",)

    def test_legacy_head_binds_only_version_hash_and_state(self) -> None:
        """Against a format 1 head only version, head hash and state can be compared."""
        first, second = _legacy_trail()
        store = InMemoryStore()
        _commit_legacy(store, [first, second])
        case = store.load("LEGACY-1")

        assert row_mismatch(case, second) == ()
        assert row_mismatch(attrs.evolve(case, facts={}, retention_class="x"), second) == ()
        assert row_mismatch(attrs.evolve(case, state="planning"), second) == ("state",)

    def test_unreadable_case_digest_names_every_field(self) -> None:
        """A digest that is not the JSON object it should be names every field."""
        engine = _engine()
        case = engine.get(_steps(engine), reader=READER)

        assert case_differences(case, "not json") == CASE_FIELDS


def _rechain(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Recompute every unkeyed hash and link, as a forger with the database can."""
    out: list[AuditEntry] = []
    previous = GENESIS_HASH
    for entry in entries:
        linked = attrs.evolve(entry, previous_hash=previous)
        linked = attrs.evolve(linked, hash=entry_hash(linked.content()))
        out.append(linked)
        previous = linked.hash
    return out


# ------------------------------------------------------------------ checkpoints


class TestCheckpoints:
    """Signed checkpoints catch cut trails, deleted and smuggled cases, and their own edits."""

    def test_untouched_store_matches_its_checkpoint(self) -> None:
        """A checkpoint made now, exported and imported, matches the store (signature valid)."""
        engine = _engine(KEYS_1)
        _steps(engine, "C-1")
        _steps(engine, "C-2")
        made = Checkpoint.from_json(engine.checkpoint(reader=READER).to_json())
        engine.fire("C-1", "hold", actor=EXEC, payload={"hold_reason": "other"})

        result = engine.verify_checkpoint(made, reader=READER)

        assert (result.ok, result.signature, result.findings, result.checked) == (
            True,
            "valid",
            (),
            2,
        )
        assert made.key_id == "k2025"
        assert made.cases["C-1"] == CheckpointedTrail(
            4, engine.history("C-1", reader=READER)[3].hash
        )

    def test_every_page_of_cases_is_checkpointed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Cases are read page by page; a checkpoint lists every one of them."""
        monkeypatch.setattr("psirf_flow.engine._CHECKPOINT_PAGE", 2)
        engine = _engine()
        for n in range(5):
            engine.open("psii", actor=PSS, payload=OPENING, case_id=f"C-{n}")

        made = engine.checkpoint(reader=READER)

        assert sorted(made.cases) == [f"C-{n}" for n in range(5)]
        assert engine.verify_checkpoint(made, reader=READER).checked == 5

    def test_truncated_trail_with_rolled_back_row_is_caught(self) -> None:
        """A tail cut and the case row rolled back verifies alone, but not against a checkpoint."""
        engine = _engine(KEYS_1)
        case_id = _steps(engine)
        store = _store(engine)
        before = store.load(case_id)
        engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})
        made = engine.checkpoint(reader=READER)
        store.tamper_trail(case_id, engine.history(case_id, reader=READER)[:4])
        store.tamper_case(before)

        alone = engine.verify(case_id, reader=READER)
        result = engine.verify_checkpoint(made, reader=READER)

        assert alone.ok
        assert (result.ok, result.problems()) == (False, {case_id: "truncated"})
        assert "recorded 5 entries" in result.findings[0].detail

    def test_regrown_trail_is_caught(self) -> None:
        """A trail cut and regrown to the same length no longer holds the checkpointed head."""
        engine = _engine()
        case_id = _steps(engine)
        made = engine.checkpoint(reader=READER)
        store = _store(engine)
        history = list(engine.history(case_id, reader=READER))
        regrown = _rechain([*history[:3], attrs.evolve(history[3], actor_id="exec-9")])
        store.tamper_trail(case_id, regrown)

        result = engine.verify_checkpoint(made, reader=READER)

        assert result.problems() == {case_id: "truncated"}
        assert "entry 4 is no longer" in result.findings[0].detail

    def test_deleted_case_is_caught(self) -> None:
        """A case removed with its whole trail is reported deleted."""
        engine = _engine(KEYS_1)
        _steps(engine, "C-1")
        _steps(engine, "C-2")
        made = engine.checkpoint(reader=READER)
        _store(engine).tamper_delete("C-1")

        result = engine.verify_checkpoint(made, reader=READER)

        assert (result.ok, result.problems()) == (False, {"C-1": "deleted"})

    def test_smuggled_case_is_caught_and_later_ones_are_not(self) -> None:
        """A case dated before the checkpoint but absent from it is unexpected; newer ones fit."""
        engine = _engine(KEYS_1)
        _steps(engine, "C-1")
        made = engine.checkpoint(reader=READER)
        clock = engine.clock
        assert isinstance(clock, ManualClock)
        clock.advance(timedelta(days=1))
        engine.open("psii", actor=PSS, payload=OPENING, case_id="C-3")
        smuggled = decide_open(
            PSII,
            case_id="C-2",
            organisation=ORG,
            command=Command("open", PSS, dict(OPENING)),
            now=START - timedelta(days=1),
            keys=KEYS_1,
        )
        _store(engine).commit(Change(smuggled.case, None, smuggled.entry))

        result = engine.verify_checkpoint(made, reader=READER)

        assert result.problems() == {"C-2": "unexpected"}

    def test_edited_checkpoint_is_caught(self) -> None:
        """A checkpoint whose counts were edited no longer matches its signature."""
        engine = _engine(KEYS_1)
        _steps(engine)
        document = json.loads(engine.checkpoint(reader=READER).to_json())
        document["cases"]["C-1"][0] = 3
        edited = Checkpoint.from_json(json.dumps(document))

        result = engine.verify_checkpoint(edited, reader=READER)

        assert (result.ok, result.signature) == (False, "invalid")

    @pytest.mark.parametrize("keys", [None, KEYS_1], ids=["unkeyed", "keyed"])
    def test_bad_signature_length_is_invalid(self, keys: AuditKeys | None) -> None:
        """A signature that is not 64 hex digits is invalid, whatever the mode."""
        made = make_checkpoint(START, [("C-1", CheckpointedTrail(1, "a" * 64))], keys=keys)
        edited = attrs.evolve(made, signature="00")

        result = verify_against_checkpoint(edited, {}, keys=keys)

        assert result.signature == "invalid"
        assert result.problems() == {"C-1": "deleted"}

    def test_keyed_checkpoint_without_its_key_is_unchecked(self) -> None:
        """A keyed checkpoint checked without its key is not ok: its signature is unchecked."""
        made = make_checkpoint(START, [], keys=KEYS_1)

        result = verify_against_checkpoint(made, {}, keys=None)

        assert (result.ok, result.signature) == (False, "unchecked")

    def test_unkeyed_checkpoint_is_a_plain_digest(self) -> None:
        """Without keys the signature is the SHA-256 of the signed bytes."""
        made = make_checkpoint(START, [("C-1", CheckpointedTrail(2, "b" * 64))])

        assert made.key_id is None
        assert made.signature == hashlib.sha256(made.signed_bytes()).hexdigest()
        assert verify_against_checkpoint(
            made, {"C-1": CurrentTrail(START, ("a" * 64, "b" * 64))}
        ).ok

    @pytest.mark.parametrize(
        "text",
        [
            "{",
            "[]",
            '{"psirf_flow_checkpoint": 2}',
            '{"psirf_flow_checkpoint": 1, "made_at": "yesterday"}',
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00"}',
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "key_id": 1}',
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "signature": 1}',
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "signature": "a"}',
            '{"psirf_flow_checkpoint": 1, "made_at": "2026-01-05T09:00:00Z", "signature": "a",'
            ' "cases": {"C-1": [true, "x"]}}',
        ],
        ids=[
            "not-json",
            "list",
            "other-format",
            "bad-time",
            "naive-time",
            "key-id",
            "signature",
            "no-cases",
            "bad-case",
        ],
    )
    def test_malformed_checkpoint_is_refused(self, text: str) -> None:
        """A document that is not a checkpoint raises CheckpointInvalid."""
        with pytest.raises(CheckpointInvalid):
            Checkpoint.from_json(text)


class TestCheckpointArguments:
    """Checkpoints are taken and checked by named system jobs, about real checkpoints."""

    @pytest.mark.parametrize("reader", [EXEC, None, "nightly"], ids=["person", "none", "text"])
    def test_checkpoint_needs_a_system_reader(self, reader: object) -> None:
        """A person's checkpoint would leave out cases: only a SystemReader may take one."""
        engine = _engine(KEYS_1)
        _steps(engine)

        with pytest.raises(InvalidInput) as refused:
            engine.checkpoint(reader=reader)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput) as refused_check:
            engine.verify_checkpoint(
                engine.checkpoint(reader=READER),
                reader=reader,  # type: ignore[arg-type]
            )

        assert (refused.value.argument, refused_check.value.argument) == ("reader", "reader")

    def test_verifying_something_else_is_refused_before_reading(self) -> None:
        """Anything but a Checkpoint is refused, naming the argument."""
        engine = _engine(KEYS_1)

        with pytest.raises(InvalidInput) as refused:
            engine.verify_checkpoint({"cases": {}}, reader=READER)  # type: ignore[arg-type]

        assert refused.value.argument == "checkpoint"
