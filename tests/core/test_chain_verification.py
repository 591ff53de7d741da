"""``verify_chain`` names exactly the first entry that does not fit, and says why.

Each row tampers with a three-entry trail built by ``make_entry`` (pure, no engine) and
gives the whole :class:`ChainVerification` a caller relies on: ``ok``, the entry count,
``first_broken``, the reason in words, ``cannot_check`` and ``mismatched_fields``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from psirf_flow.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditKeys,
    ChainVerification,
    case_digest,
    entry_hash,
    jcs_bytes,
    make_entry,
    raise_if_broken,
    verify_chain,
)
from psirf_flow.domain import Case
from psirf_flow.errors import AuditChainBroken


CASE_ID = "C-1"
ORG = "RX1"
T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
STATES = ("reported", "triaged", "closed")
KEYS = AuditKeys({"k1": b"k" * 32}, active="k1")


def _case(version: int, state: str, head_hash: str, **changes: object) -> Case:
    """Case ``CASE_ID`` at ``version`` in ``state`` with ``head_hash``, and ``changes``."""
    values: dict[str, object] = {
        "id": CASE_ID,
        "workflow": "intake",
        "workflow_version": "1",
        "organisation": ORG,
        "state": state,
        "version": version,
        "facts": {"incident_ids": ("INC-1",)},
        "opened_at": T0,
        "updated_at": T0,
        "head_hash": head_hash,
        "retention_class": "standard",
    }
    values.update(changes)
    return Case(**values)  # type: ignore[arg-type]


def trail(keys: AuditKeys | None = None, count: int = 3) -> list[AuditEntry]:
    """``count`` chained format 2 entries of one case, hashed under ``keys`` if given."""
    entries: list[AuditEntry] = []
    previous = GENESIS_HASH
    for n in range(1, count + 1):
        entry = make_entry(
            case_id=CASE_ID,
            sequence=n,
            workflow="intake",
            workflow_version="1",
            trigger="open" if n == 1 else f"step_{n}",
            from_state=None if n == 1 else STATES[n - 2],
            to_state=STATES[n - 1],
            actor_id="pss-1",
            role="patient_safety_specialist",
            organisation=ORG,
            guards=(),
            rules=(),
            data={"n": n},
            recorded_at=T0 + timedelta(hours=n),
            previous_hash=previous,
            case_digest=case_digest(_case(n, STATES[n - 1], "")),
            keys=keys,
        )
        entries.append(entry)
        previous = entry.hash
    return entries


def rehash(entry: AuditEntry, **changes: Any) -> AuditEntry:
    """``entry`` with ``changes`` and its (unkeyed) hash recomputed, as a forger would."""
    changed = attrs.evolve(entry, **changes)
    return attrs.evolve(changed, hash=entry_hash(changed.content()))


def rechain(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Recompute every link and hash from the first entry on (a thorough forger)."""
    out: list[AuditEntry] = []
    previous = GENESIS_HASH
    for e in entries:
        fixed = rehash(e, previous_hash=previous)
        out.append(fixed)
        previous = fixed.hash
    return out


def replace(position: int, make: Callable[[AuditEntry], AuditEntry]) -> list[AuditEntry]:
    """The trail with entry ``position`` (from 1) replaced by ``make(entry)``."""
    entries = trail()
    entries[position - 1] = make(entries[position - 1])
    return entries


def broken(first: int, reason: str, *, count: int = 3, **more: object) -> ChainVerification:
    """The verification of a broken three-entry trail."""
    return ChainVerification(CASE_ID, False, count, first, reason, **more)  # type: ignore[arg-type]


TAMPERINGS = [
    pytest.param(trail(), ChainVerification(CASE_ID, True, 3), id="untouched"),
    pytest.param(
        replace(2, lambda e: rehash(e, case_id="C-2")),
        broken(2, "it belongs to case 'C-2'"),
        id="other-case",
    ),
    pytest.param(
        replace(2, lambda e: rehash(e, sequence=5)),
        broken(2, "its sequence number is 5, expected 2"),
        id="sequence",
    ),
    pytest.param(
        replace(3, lambda e: rehash(e, format=3)),
        broken(3, "its format 3 is unknown (it was altered)"),
        id="unknown-format",
    ),
    pytest.param(
        replace(2, lambda e: rehash(e, format=1, case_digest=None, key_id=None)),
        broken(2, "it is in the old format after a newer entry (it was forged or rewritten)"),
        id="old-format-after-new",
    ),
    pytest.param(
        replace(2, lambda e: attrs.evolve(e, data={"n": 9})),
        broken(2, "its content does not match its hash (it was altered)"),
        id="altered",
    ),
    pytest.param(
        replace(1, lambda e: attrs.evolve(e, trigger="\ud800")),
        broken(1, "its content cannot be encoded any more (it was altered)"),
        id="unencodable",
    ),
    pytest.param(
        replace(2, lambda e: rehash(e, data={"n": 9})),
        broken(
            2,
            "its hash is not the one the next entry recorded (it was altered and its hash "
            "recomputed)",
        ),
        id="altered-and-rehashed",
    ),
    pytest.param(
        replace(1, lambda e: rehash(e, previous_hash="f" * 64)),
        broken(1, "it does not start the chain (it was rewritten)"),
        id="first-not-genesis",
    ),
    pytest.param(
        rechain(replace(3, lambda e: attrs.evolve(e, from_state="reported"))),
        broken(3, "it starts from state 'reported' but the entry before it ended in 'triaged'"),
        id="state-gap",
    ),
    pytest.param(
        rechain(replace(1, lambda e: attrs.evolve(e, from_state="triaged"))),
        broken(1, "it starts from state 'triaged' but opens the case"),
        id="first-has-a-source",
    ),
    pytest.param(
        trail()[:2],
        ChainVerification(CASE_ID, True, 2),
        id="shorter-without-head",
    ),
]


@pytest.mark.parametrize(("entries", "expected"), TAMPERINGS)
def test_each_tampering_names_its_entry(
    entries: list[AuditEntry], expected: ChainVerification
) -> None:
    """Every tampering gives ok False, the exact first broken entry and why."""
    assert verify_chain(CASE_ID, entries) == expected


def _head() -> str:
    return trail()[-1].hash


HEADS = [
    pytest.param(
        {"head_hash": "", "expected_entries": None},
        [],
        ChainVerification(CASE_ID, True, 0),
        id="empty-and-no-head",
    ),
    pytest.param(
        {"head_hash": _head(), "expected_entries": 3},
        trail(),
        ChainVerification(CASE_ID, True, 3),
        id="head-and-count-match",
    ),
    pytest.param(
        {"head_hash": _head(), "expected_entries": 2},
        trail(),
        ChainVerification(CASE_ID, True, 3),
        id="more-entries-than-recorded-is-not-missing",
    ),
    pytest.param(
        {"head_hash": None, "expected_entries": 5},
        trail(),
        broken(4, "the case records 5 entries but the trail holds 3 (entries are missing)"),
        id="missing-entries",
    ),
    pytest.param(
        {"head_hash": _head(), "expected_entries": None},
        [],
        broken(1, "the case records entries but the trail is empty", count=0),
        id="empty-trail",
    ),
    pytest.param(
        {"head_hash": _head(), "expected_entries": None},
        trail()[:2],
        broken(
            3,
            "the last entry is not the one the case records (entries are missing, or the "
            "last entry was altered and its hash recomputed)",
            count=2,
        ),
        id="cut-tail",
    ),
    pytest.param(
        {"head_hash": "e" * 64, "expected_entries": 3},
        trail(),
        broken(
            3, "its hash is not the one the case records (it was altered and its hash recomputed)"
        ),
        id="rehashed-head",
    ),
]


@pytest.mark.parametrize(("given", "entries", "expected"), HEADS)
def test_the_case_head_and_count_are_checked(
    given: dict[str, object], entries: list[AuditEntry], expected: ChainVerification
) -> None:
    """The case's head hash and entry count catch a cut or re-hashed tail."""
    assert verify_chain(CASE_ID, entries, **given) == expected  # type: ignore[arg-type]


ROWS = [
    pytest.param({}, (), id="matching-row"),
    pytest.param({"state": "reported"}, ("state",), id="state"),
    pytest.param(
        {"state": "reported", "facts": {"incident_ids": ("INC-2",)}},
        ("state", "facts"),
        id="state-and-facts",
    ),
    pytest.param({"version": 4}, ("version",), id="version-only"),
]


@pytest.mark.parametrize(("changes", "fields"), ROWS)
def test_the_case_row_is_bound_to_the_last_entry(
    changes: dict[str, object], fields: tuple[str, ...]
) -> None:
    """A case row that differs from the last entry names that entry and the fields."""
    entries = trail()
    values: dict[str, object] = {"version": 3, "state": "closed", **changes}
    row = _case(head_hash=entries[-1].hash, **values)  # type: ignore[arg-type]
    # The count given wins over the row's version: a row claiming more entries is then a
    # row that does not match, not a trail missing entries.
    expected_entries = 3

    result = verify_chain(CASE_ID, entries, case=row, expected_entries=expected_entries)

    if not fields:
        assert result == ChainVerification(CASE_ID, True, 3)
        return
    verb = "differs" if len(fields) == 1 else "differ"
    assert result == broken(
        3,
        f"the case row does not match this entry: its {', '.join(fields)} {verb} "
        "(the case row was altered)",
        mismatched_fields=fields,
    )


def test_the_case_row_supplies_head_and_count() -> None:
    """Given only the case row, its head hash and version are the ones checked."""
    entries = trail()
    row = _case(4, "closed", entries[-1].hash)

    assert verify_chain(CASE_ID, entries, case=row) == broken(
        4, "the case records 4 entries but the trail holds 3 (entries are missing)"
    )
    assert verify_chain(CASE_ID, entries[:2], case=_case(3, "closed", "d" * 64)) == broken(
        3, "the case records 3 entries but the trail holds 2 (entries are missing)", count=2
    )
    assert verify_chain(
        CASE_ID, entries, case=_case(3, "closed", "d" * 64), head_hash=entries[-1].hash
    ) == broken(
        3,
        "the case row does not match this entry: its head_hash differs (the case row was altered)",
        mismatched_fields=("head_hash",),
    )


class TestKeys:
    """Keyed entries are checked with their own key, and never without it."""

    def test_keyed_trail_verifies_with_its_key(self) -> None:
        """A trail hashed with HMAC verifies with the ring that holds its key."""
        assert verify_chain(CASE_ID, trail(KEYS), keys=KEYS) == ChainVerification(CASE_ID, True, 3)

    @pytest.mark.parametrize(
        "keys", [None, AuditKeys({"k2": b"q" * 32}, active="k2")], ids=["none", "other-ring"]
    )
    def test_keyed_entry_without_its_key_cannot_be_checked(self, keys: AuditKeys | None) -> None:
        """Without the entry's key the result is not ok, and says it cannot be checked."""
        assert verify_chain(CASE_ID, trail(KEYS), keys=keys) == broken(
            1,
            "it is signed with audit key 'k1', which was not supplied (it cannot be checked)",
            cannot_check=True,
        )

    def test_keyed_entry_under_another_secret_is_altered(self) -> None:
        """The same key id with another secret makes every hash wrong."""
        impostor = AuditKeys({"k1": b"z" * 32}, active="k1")

        assert verify_chain(CASE_ID, trail(KEYS), keys=impostor) == broken(
            1, "its content does not match its hash (it was altered)"
        )

    def test_unkeyed_entry_after_a_keyed_one_is_forged(self) -> None:
        """A keyed trail cannot go on with an entry that names no key."""
        entries = trail(KEYS)
        entries[2] = rehash(entries[2], key_id=None)

        assert verify_chain(CASE_ID, entries, keys=KEYS) == broken(
            3, "it carries no key after a keyed entry (it was forged without the key)"
        )

    def test_keyed_entry_after_an_unkeyed_one_is_fine(self) -> None:
        """Keys may be introduced part-way: unkeyed entries then keyed ones verify."""
        plain = trail(count=1)
        keyed = trail(KEYS)[1:]
        keyed = [attrs.evolve(keyed[0], previous_hash=plain[0].hash), keyed[1]]
        keyed[0] = attrs.evolve(keyed[0], hash=KEYS.sign(jcs_bytes(keyed[0].content())))
        keyed[1] = attrs.evolve(keyed[1], previous_hash=keyed[0].hash)
        keyed[1] = attrs.evolve(keyed[1], hash=KEYS.sign(jcs_bytes(keyed[1].content())))

        assert verify_chain(CASE_ID, plain + keyed, keys=KEYS) == ChainVerification(
            CASE_ID, True, 3
        )


@pytest.mark.parametrize(
    ("result", "sequence"),
    [
        (broken(2, "its sequence number is 5, expected 2"), 2),
        (broken(1, "the case records entries but the trail is empty", count=0), 1),
        (ChainVerification(CASE_ID, False, 0, None, "no entry"), 0),
    ],
)
def test_raise_if_broken_carries_case_entry_and_reason(
    result: ChainVerification, sequence: int
) -> None:
    """The error names the case, the broken entry (0 when none) and the reason."""
    with pytest.raises(AuditChainBroken) as raised:
        raise_if_broken(result)

    assert (raised.value.case_id, raised.value.sequence, raised.value.reason) == (
        CASE_ID,
        sequence,
        result.reason,
    )


def test_raise_if_broken_is_silent_when_ok() -> None:
    """An ok result raises nothing."""
    raise_if_broken(ChainVerification(CASE_ID, True, 3))
