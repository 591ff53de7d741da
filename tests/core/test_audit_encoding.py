"""The audit encodings and keys byte for byte: RFC 8785, times, the case digest, HMAC keys.

Hashes are only as good as the bytes they cover: these tests give the exact bytes (and the
exact digests) a verifier written from the format reference would compute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest

from psirf_flow.audit import (
    CASE_FIELDS,
    AuditKeys,
    canonical_bytes,
    case_differences,
    case_digest,
    case_digest_of,
    entry_hash,
    format_time,
    idempotency_digest,
    jcs_bytes,
    legacy_canonical_bytes,
    make_entry,
)
from psirf_flow.audit.canonical import SAFE_INTEGER
from psirf_flow.audit.entries import hashes_match
from psirf_flow.domain import Case
from psirf_flow.errors import AuditKeyError


T = datetime(2026, 5, 4, 3, 2, 1, 987, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None, False]}, '{"a":[true,null,false],"b":1}'),
        (("x", ("y",)), '["x",["y"]]'),
        ({"é": '\u2028\x1f"\\', "e": ""}, '{"e":"","é":"\u2028\\u001f\\"\\\\"}'),
        (
            {"\ue000": 1, "\U0001f600": 2, "€": 3, "a": {"z": 0, "\u00e9": -1}},
            '{"a":{"z":0,"é":-1},"€":3,"\U0001f600":2,"\ue000":1}',
        ),
        (MappingProxyType({"b": (1,), "a": "x"}), '{"a":"x","b":[1]}'),
        ({"k": [{"\ue000": 1, "\U0001f600": 2}]}, '{"k":[{"\U0001f600":2,"\ue000":1}]}'),
        ([{"b": 1, "a": 2}], '[{"a":2,"b":1}]'),
        ({"\ue000": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\ue000":1}'),
        ({"a": "x", "\ue000": 1, "\U0001f600": 2}, '{"a":"x","\U0001f600":2,"\ue000":1}'),
        ({"é": {"\ue000": 1, "\U0001f600": 2}}, '{"é":{"\U0001f600":2,"\ue000":1}}'),
        (["x", {"\ue000": None, "\U0001f600": True}], '["x",{"\U0001f600":true,"\ue000":null}]'),
        (SAFE_INTEGER, "9007199254740991"),
        (-SAFE_INTEGER, "-9007199254740991"),
        (
            {"é": SAFE_INTEGER, "x": [-SAFE_INTEGER]},
            '{"x":[-9007199254740991],"é":9007199254740991}',
        ),
        ("plain", '"plain"'),
        (None, "null"),
        (True, "true"),
    ],
)
def test_rfc8785_encodes_exactly(value: Any, expected: str) -> None:
    """Keys in UTF-16 order, compact, UTF-8, shortest escapes; tuples as arrays."""
    assert jcs_bytes(value) == expected.encode()


@pytest.mark.parametrize(
    "value",
    [
        SAFE_INTEGER + 1,
        -SAFE_INTEGER - 1,
        [SAFE_INTEGER + 1],
        {"a": -SAFE_INTEGER - 1},
        {"é": SAFE_INTEGER + 1},
        {"é": [-SAFE_INTEGER - 1]},
        ("x", SAFE_INTEGER + 1),
    ],
)
def test_integers_beyond_the_safe_range_are_refused(value: Any) -> None:
    """An integer JSON numbers cannot hold exactly is refused wherever it sits."""
    with pytest.raises(
        ValueError, match=r"^an integer outside the range JSON numbers hold exactly$"
    ):
        jcs_bytes(value)


@pytest.mark.parametrize(
    "value",
    [MappingProxyType({"a": SAFE_INTEGER + 1}), MappingProxyType({"a": [-SAFE_INTEGER - 1]})],
)
def test_read_only_mappings_with_unsafe_integers_are_refused(value: Any) -> None:
    """A read-only mapping (checked on the general path) refuses an unsafe integer too."""
    with pytest.raises(
        ValueError, match=r"^an integer outside the range JSON numbers hold exactly$"
    ):
        jcs_bytes(value)


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ({1: "a"}, TypeError, "a mapping key that is not text"),
        ({"é": {2: "a"}}, TypeError, "a mapping key that is not text"),
        ([1.5], TypeError, "a float has no place in audit content"),
        ({"a": {1, 2}}, TypeError, "a set has no place in audit content"),
    ],
)
def test_values_outside_the_domain_are_refused_with_words(
    value: Any, error: type[Exception], words: str
) -> None:
    """A non-text key or a value of another type is refused, saying which."""
    with pytest.raises(error, match=f"^{re.escape(words)}$"):
        jcs_bytes(value)


def test_legacy_encoding_sorts_by_code_point() -> None:
    """Format 1 sorted keys by code point (not UTF-16) and kept characters as they are."""
    value = {"\ue000": 1, "\U0001f600": 2, "a": "é"}

    assert legacy_canonical_bytes(value) == '{"a":"é","\ue000":1,"\U0001f600":2}'.encode()


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (T, "2026-05-04T03:02:01.000987Z"),
        (T.astimezone(timezone(timedelta(hours=-5))), "2026-05-04T03:02:01.000987Z"),
        (datetime(1000, 1, 1, tzinfo=UTC), "1000-01-01T00:00:00.000000Z"),
        (datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC), "999-12-31T23:59:59.000000Z"),
    ],
)
def test_times_are_utc_with_microseconds(moment: datetime, text: str) -> None:
    """Times are written in UTC, with microseconds and a Z (early years unpadded, as before)."""
    assert format_time(moment) == text


def _case(**changes: Any) -> Case:
    values: dict[str, Any] = {
        "id": "C-1",
        "workflow": "psii",
        "workflow_version": "1",
        "organisation": "RX1",
        "state": "planning",
        "version": 4,
        "facts": {"incident_ids": ("INC-1",), "lead_id": "lead-1"},
        "opened_at": T,
        "updated_at": T,
        "held_from": None,
        "head_hash": "a" * 64,
        "retention_class": "standard",
    }
    values.update(changes)
    return Case(**values)


def _field(value: Any) -> str:
    return hashlib.sha256(jcs_bytes(value)).hexdigest()[:32]


def test_case_digest_is_the_documented_encoding() -> None:
    """The digest is RFC 8785 of each covered field's first 32 hex digits of SHA-256."""
    case = _case(held_from="drafting")
    values = {name: getattr(case, name) for name in CASE_FIELDS}
    values["facts"] = dict(case.facts)

    expected = jcs_bytes({name: _field(value) for name, value in values.items()}).decode()

    assert case_digest(case) == expected
    assert case_digest_of(**values) == expected


CHANGED = [
    ("state", "drafting"),
    ("held_from", "planning"),
    ("organisation", "RX2"),
    ("workflow", "pir"),
    ("workflow_version", "2"),
    ("version", 5),
    ("facts", {"incident_ids": ("INC-1",), "lead_id": "lead-2"}),
    ("retention_class", "extended"),
]


def test_every_covered_field_is_in_the_table() -> None:
    """The table below changes each field the digest covers, and only those."""
    assert tuple(name for name, _ in CHANGED) == CASE_FIELDS


@pytest.mark.parametrize(("name", "value"), CHANGED)
def test_the_case_digest_covers_each_field(name: str, value: Any) -> None:
    """Changing any covered field changes the digest, and only that field is named."""
    digest = case_digest(_case())
    changed = _case(**{name: value})

    assert case_digest(changed) != digest
    assert case_differences(changed, digest) == (name,)
    assert case_differences(_case(), digest) == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("opened_at", T + timedelta(days=1)),
        ("updated_at", T + timedelta(days=1)),
        ("head_hash", "b" * 64),
    ],
)
def test_times_and_head_are_not_covered(name: str, value: Any) -> None:
    """Timestamps and the head hash are left to the entry and the chain."""
    assert case_digest(_case(**{name: value})) == case_digest(_case())


@pytest.mark.parametrize("digest", ["", "not json", "[1, 2]", '"text"'])
def test_an_unreadable_digest_names_every_field(digest: str) -> None:
    """A digest that cannot be read names every covered field, in order."""
    assert case_differences(_case(), digest) == CASE_FIELDS


def _entry(keys: AuditKeys | None) -> Any:
    return make_entry(
        case_id="C-1",
        sequence=2,
        workflow="psii",
        workflow_version="1",
        trigger="begin",
        from_state="planning",
        to_state="drafting",
        actor_id="lead-1",
        role="learning_response_lead",
        organisation="RX1",
        guards=(),
        rules=("R-1@1",),
        data={"ids": ("a", "b"), "n": 1},
        recorded_at=T,
        previous_hash="c" * 64,
        case_digest="{}",
        keys=keys,
    )


def test_entries_hash_their_content_with_sha256_or_the_active_hmac_key() -> None:
    """Unkeyed: SHA-256 of RFC 8785 content; keyed: HMAC under the active key, named."""
    ring = AuditKeys({"old": b"o" * 32, "new": b"n" * 32}, active="new")
    plain = _entry(None)
    keyed = _entry(ring)

    assert plain.key_id is None
    assert plain.hash == hashlib.sha256(jcs_bytes(plain.content())).hexdigest()
    assert keyed.key_id == "new"
    assert keyed.hash == hmac.new(b"n" * 32, jcs_bytes(keyed.content()), hashlib.sha256).hexdigest()
    assert keyed.content()["data"] == {"ids": ["a", "b"], "n": 1}


class TestKeys:
    """An audit key ring signs with its active key and checks old entries by key id."""

    RING = AuditKeys({"a.1": b"A" * 32, "b_2": b"B" * 40}, active="b_2")

    def test_sign_uses_the_active_key(self) -> None:
        """``sign`` is HMAC-SHA-256 under the active key; ``sign_with`` under the named one."""
        data = b"entry"

        assert self.RING.sign(data) == hmac.new(b"B" * 40, data, hashlib.sha256).hexdigest()
        assert self.RING.sign_with("a.1", data) == (
            hmac.new(b"A" * 32, data, hashlib.sha256).hexdigest()
        )
        assert self.RING.sign_with("nope", data) is None
        assert self.RING.active_secret == b"B" * 40

    def test_idempotency_digest_is_scoped_and_keyed(self) -> None:
        """The digest covers organisation and key with a separator; keyed, it is an HMAC."""
        data = b"RX1\x1fk-1"

        assert idempotency_digest("RX1", "k-1") == hashlib.sha256(data).hexdigest()
        assert idempotency_digest("RX1", "k-1", self.RING) == (
            hmac.new(b"B" * 40, data, hashlib.sha256).hexdigest()
        )

    @pytest.mark.parametrize(
        ("keys", "ok"),
        [
            ({"k": b"x" * 32}, True),
            ({"k": b"x" * 31}, False),
            ({"a" * 64: b"x" * 32}, True),
            ({"a" * 65: b"x" * 32}, False),
            ({"0.a_b-c": b"x" * 32}, True),
            ({".k": b"x" * 32}, False),
            ({"k k": b"x" * 32}, False),
            ({"": b"x" * 32}, False),
            ({"k": "x" * 32}, False),
            ({}, False),
        ],
    )
    def test_which_rings_are_accepted(self, keys: dict[Any, Any], ok: bool) -> None:
        """Keys of at least 32 bytes under short plain ids; anything else is refused."""
        active = next(iter(keys), "k")
        if ok:
            assert AuditKeys(keys, active=active).keys == keys
        else:
            with pytest.raises(AuditKeyError):
                AuditKeys(keys, active=active)

    def test_messages_name_ids_and_lengths_only(self) -> None:
        """Each refusal says what is wrong in words, naming the key id, never the key."""
        cases: list[tuple[Any, str, str]] = [
            ({}, "k", "the audit key ring is empty"),
            ({"k": b"x" * 31}, "k", "audit key 'k' is 31 bytes long; at least 32 are needed"),
            ({"k": "x" * 32}, "k", "audit key 'k' is not bytes"),
            ({"k k": b"x" * 32}, "k k", "an audit key id must be 1-64 letters, digits"),
            ({"k": b"x" * 32}, "j", "the active audit key 'j' is not in the key ring"),
        ]
        for keys, active, words in cases:
            with pytest.raises(AuditKeyError) as refused:
                AuditKeys(keys, active=active)
            assert str(refused.value).startswith(f"[PSF510] {words}")

    def test_equality_and_hash_follow_keys_and_active(self) -> None:
        """Rings with the same keys and active key are equal and hash alike."""
        same = AuditKeys({"b_2": b"B" * 40, "a.1": b"A" * 32}, active="b_2")
        other_active = AuditKeys({"a.1": b"A" * 32, "b_2": b"B" * 40}, active="a.1")
        other_secret = AuditKeys({"a.1": b"A" * 32, "b_2": b"C" * 40}, active="b_2")

        assert same == self.RING
        assert hash(same) == hash(self.RING) == hash(("b_2", ("a.1", "b_2")))
        assert other_active != self.RING
        assert other_secret != self.RING
        assert self.RING != "b_2"
        assert (
            repr(self.RING) == str(self.RING) == "AuditKeys(active='b_2', key_ids=('a.1', 'b_2'))"
        )

    def test_ring_reads_from_json(self) -> None:
        """A JSON ring gives the same keys and active id; bad base64 names the key id."""
        text = json.dumps(
            {
                "active": "b_2",
                "keys": {
                    "a.1": base64.b64encode(b"A" * 32).decode(),
                    "b_2": base64.b64encode(b"B" * 40).decode(),
                },
            }
        )

        assert AuditKeys.from_json(text) == self.RING
        sloppy = base64.b64encode(b"A" * 32).decode()
        for encoded in ("not base64!", sloppy[:8] + "!" + sloppy[8:]):
            with pytest.raises(AuditKeyError) as refused:
                AuditKeys.from_json(json.dumps({"active": "a.1", "keys": {"a.1": encoded}}))
            assert str(refused.value) == "[PSF510] audit key 'a.1' is not valid base64"
        for bad in [
            "nope",
            "[]",
            '{"active": 1, "keys": {}}',
            '{"active": "a", "keys": []}',
            '{"active": "a", "keys": {"a": 1}}',
            '{"keys": {}}',
        ]:
            with pytest.raises(AuditKeyError) as refused:
                AuditKeys.from_json(bad)
            assert str(refused.value) == (
                '[PSF510] an audit key ring must be JSON: {"active": id, "keys": {id: base64 key}}'
            )


def test_entry_content_is_encoded_by_its_format() -> None:
    """Format 2 content is RFC 8785 (UTF-16 key order); format 1 keeps code-point order."""
    content = {"format": 2, "data": {"\ue000": 1, "\U0001f600": 2}}
    legacy = {"format": 1, "data": {"\ue000": 1, "\U0001f600": 2}}

    assert canonical_bytes(content) == jcs_bytes(content)
    assert canonical_bytes(content) != legacy_canonical_bytes(content)
    assert canonical_bytes(legacy) == legacy_canonical_bytes(legacy)
    assert canonical_bytes({"data": {"n": SAFE_INTEGER + 1}}) == b'{"data":{"n":9007199254740992}}'
    assert entry_hash(content) == hashlib.sha256(jcs_bytes(content)).hexdigest()


def test_hashes_match_compares_whole_hashes() -> None:
    """Only the same hash matches: a prefix, a longer text or a changed digit does not."""
    digest = "ab" * 32

    assert hashes_match(digest, "ab" * 32)
    assert not hashes_match(digest, digest[:-1])
    assert not hashes_match(digest, digest + "0")
    assert not hashes_match(digest, "ac" + digest[2:])


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Sydney"])
def test_times_ignore_the_machine_zone(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recorded text is UTC whatever the process's local time zone is."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert format_time(T.astimezone(timezone(timedelta(hours=2)))) == (
            "2026-05-04T03:02:01.000987Z"
        )
    finally:
        monkeypatch.undo()
        time.tzset()
