"""Engine behaviour at the edges: races, stale reads, old rows, and who may ask what."""

from __future__ import annotations

import attrs
import pytest

from psirf_flow import Actor, Case, CaseNotFound, CorruptRecord, Engine, InMemoryStore, Role
from psirf_flow.decide import decide
from psirf_flow.domain import Command, SystemReader
from psirf_flow.ports import IdempotencyRecord
from psirf_flow.testing import ManualClock
from psirf_flow.workflows import PSII


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

ORG = "RXY"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
EXEC = Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG)
OUTSIDER = Actor("pss-77", [Role.PATIENT_SAFETY_SPECIALIST], "RAB")


class LateKeyStore(InMemoryStore):
    """A store whose first idempotency look-up misses, as if another relay was mid-commit."""

    def __init__(self) -> None:
        super().__init__()
        self.missed = False

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        """Miss once, then answer truthfully."""
        if not self.missed:
            self.missed = True
            return None
        return super().find_idempotency(key)


class StaleCaseStore(InMemoryStore):
    """A store whose next load returns the case as it was one command earlier."""

    def __init__(self) -> None:
        super().__init__()
        self.stale: Case | None = None

    def load(self, case_id: str) -> Case:
        """Return the stale copy once, if one is set."""
        if self.stale is not None:
            stale, self.stale = self.stale, None
            return stale
        return super().load(case_id)


def _open(engine: Engine, case_id: str = "PSII-1") -> str:
    return engine.open(
        "psii", actor=PSS, case_id=case_id, payload={"incident_ids": ["I-1"]}
    ).case.id


class TestRaces:
    """Concurrent callers never produce a second effect."""

    def test_open_that_loses_a_race_to_the_same_key_replays(self) -> None:
        """An opening whose case another caller created with the same key is a replay."""
        store = LateKeyStore()
        engine = Engine(store, clock=ManualClock())
        first = engine.open(
            "psii",
            actor=PSS,
            case_id="P-1",
            payload={"incident_ids": ["I-1"]},
            idempotency_key="k1",
        )
        store.missed = False

        again = engine.open(
            "psii",
            actor=PSS,
            case_id="P-1",
            payload={"incident_ids": ["I-1"]},
            idempotency_key="k1",
        )

        assert (again.replayed, again.entry) == (True, first.entry)
        assert len(engine.history("P-1", reader=READER)) == 1

    def test_key_retry_with_ids_in_another_order_is_the_same_command(self) -> None:
        """Lists of ids are sets: a retry listing them in another order replays."""
        engine = Engine(InMemoryStore(), clock=ManualClock())
        first = engine.open(
            "psii", actor=PSS, payload={"incident_ids": ["I-1", "I-2"]}, idempotency_key="k2"
        )

        again = engine.open(
            "psii", actor=PSS, payload={"incident_ids": ["I-2", "I-1"]}, idempotency_key="k2"
        )

        assert again.replayed
        assert again.case.id == first.case.id

    def test_verify_reads_again_when_a_commit_lands_between_reads(self) -> None:
        """A trail longer than the case read just before it is re-read, not reported broken."""
        store = StaleCaseStore()
        engine = Engine(store, clock=ManualClock())
        case_id = _open(engine)
        store.stale = store.load(case_id)
        engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"})

        result = engine.verify(case_id, reader=READER)

        assert (result.ok, result.entries) == (True, 2)


class TestReadingRules:
    """Options reveal a case's state, so they follow the read rules."""

    def test_outsider_cannot_ask_what_they_may_do(self) -> None:
        """Asking for the options of another organisation's case is answered as for no case."""
        engine = Engine(InMemoryStore(), clock=ManualClock())
        case_id = _open(engine)

        with pytest.raises(CaseNotFound):
            engine.options(case_id, OUTSIDER)


class TestOldRows:
    """Rows written by older releases or under other settings still make sense."""

    @pytest.mark.parametrize("stored", ["", "no-longer-defined"], ids=["empty", "unknown"])
    def test_retention_is_classed_afresh_when_missing_or_unknown(self, stored: str) -> None:
        """A PSII whose stored class is empty or unknown is classed 'serious' again."""
        store = InMemoryStore()
        engine = Engine(store, clock=ManualClock())
        case_id = _open(engine)
        store._cases[case_id] = attrs.evolve(store.load(case_id), retention_class=stored)

        name, rule = engine.retention(case_id, reader=READER)

        assert (name, rule.years) == ("serious", 20)

    def test_resume_with_nothing_to_return_to_is_a_corrupt_record(self) -> None:
        """A case on hold that records no state to resume to is reported, not guessed."""
        engine = Engine(InMemoryStore(), clock=ManualClock())
        case_id = _open(engine)
        held = engine.fire(case_id, "hold", actor=EXEC, payload={"hold_reason": "other"}).case
        broken = attrs.evolve(held, held_from=None)

        with pytest.raises(CorruptRecord) as refused:
            decide(PSII, broken, Command("resume", EXEC), now=held.updated_at)

        assert "records no state for 'resume' to return to" in str(refused.value)
