"""A person of another organisation learns nothing about a case by any call (issue 8, item 3).

On every store: the in-memory reference, SQLite and PostgreSQL. For each public call a
person of another trust can make about a case, the answer is compared with the answer
about an id nobody ever used: same class, same code, same message, same attributes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from psirf_flow import (
    Actor,
    CaseNotFound,
    CaseQuery,
    Engine,
    InMemoryStore,
    PsirfFlowError,
    Role,
    Store,
    SystemReader,
)
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


TRUST = "RXY"
OTHER_TRUST = "RAB"
ICB = "QWE"
CASE_ID = "PSII-7"
MISSING_ID = "PSII-8"
OWNER = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST, Role.EXECUTIVE_LEAD], TRUST)
#: Another trust's person holding every role a person can hold, the same local id included.
STRANGER = Actor("pss-01", [r for r in Role if r is not Role.SYSTEM], OTHER_TRUST)
ICB_READER = Actor("icb-09", [Role.ICB_OVERSIGHT], ICB)
NOT_OVERSEEING = Actor("icb-10", [Role.ICB_OVERSIGHT], "QZZ")
ASSIGN = {"lead_id": "inv-1", "engagement_lead_id": "el-1"}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty store of each kind."""
    if request.param == "memory":
        yield InMemoryStore()
        return
    url = str(request.getfixturevalue("sqlite_path" if request.param == "sqlite" else "pg_url"))
    sql = SqlStore.open(url, migrate=True)
    yield sql
    sql.dispose()


@pytest.fixture
def engine(store: Store) -> Engine:
    """An engine with one PSII of the trust, its lead assigned with an idempotency key."""
    engine = Engine(store, clock=ManualClock(), oversight={ICB: [TRUST]})
    engine.open(
        "psii",
        actor=OWNER,
        case_id=CASE_ID,
        payload={"incident_ids": ["INC-1"]},
        idempotency_key="k-open",
    )
    engine.fire(CASE_ID, "assign_lead", actor=OWNER, payload=ASSIGN, idempotency_key="k-1")
    return engine


def _answer(call: Callable[[str], object], case_id: str) -> tuple[Any, ...]:
    """What a call says about ``case_id``: the error's class, code, message and fields."""
    with pytest.raises(PsirfFlowError) as raised:
        call(case_id)
    error = raised.value
    fields = {
        k: v.replace(case_id, "<id>") if isinstance(v, str) else v for k, v in vars(error).items()
    }
    return (type(error), error.code, str(error).replace(case_id, "<id>"), fields)


#: Every call a person of another trust can make about one case.
CALLS: dict[str, Callable[[Engine, Actor], Callable[[str], object]]] = {
    "get": lambda e, a: lambda c: e.get(c, reader=a),
    "history": lambda e, a: lambda c: e.history(c, reader=a),
    "verify": lambda e, a: lambda c: e.verify(c, reader=a),
    "options": lambda e, a: lambda c: e.options(c, a),
    "retention": lambda e, a: lambda c: e.retention(c, reader=a),
    "fire-next-step": lambda e, a: lambda c: e.fire(c, "begin_gathering", actor=a),
    "fire-unknown-trigger": lambda e, a: lambda c: e.fire(c, "no_such_step", actor=a),
    "fire-from-wrong-state": lambda e, a: (
        lambda c: e.fire(c, "approve", actor=a, payload={"report_ref": "R-1"})
    ),
    "fire-bad-payload": lambda e, a: lambda c: e.fire(c, "hold", actor=a, payload={"x": 1}),
    "replay-owners-key": lambda e, a: (
        lambda c: e.fire(c, "assign_lead", actor=a, payload=ASSIGN, idempotency_key="k-1")
    ),
    "reuse-owners-key": lambda e, a: (
        lambda c: e.fire(
            c, "hold", actor=a, payload={"hold_reason": "other"}, idempotency_key="k-1"
        )
    ),
}


class TestAnotherTrustLearnsNothing:
    """Another trust's case answers exactly as a case that does not exist."""

    @pytest.mark.parametrize("call", sorted(CALLS), ids=sorted(CALLS))
    @pytest.mark.parametrize("person", [STRANGER, NOT_OVERSEEING], ids=["trust", "other-icb"])
    def test_every_call_answers_as_for_a_missing_case(
        self, engine: Engine, call: str, person: Actor
    ) -> None:
        """The foreign case and a missing id give the same error, message and fields."""
        before = engine.history(CASE_ID, reader=OWNER)
        ask = CALLS[call](engine, person)

        foreign = _answer(ask, CASE_ID)
        missing = _answer(ask, MISSING_ID)

        assert foreign == missing
        assert foreign[0] is CaseNotFound
        assert TRUST not in foreign[2]
        assert "psii" not in foreign[2]
        assert "planning" not in foreign[2]
        assert engine.history(CASE_ID, reader=OWNER) == before

    def test_listings_never_show_another_trusts_case(self, engine: Engine) -> None:
        """Whatever the filters, a stranger's listing holds no case of the trust."""
        queries = [
            CaseQuery(),
            CaseQuery(organisation=TRUST),
            CaseQuery(workflow="psii", state="planning"),
            CaseQuery(organisations=[TRUST, OTHER_TRUST]),
        ]
        for query in queries:
            assert engine.list_cases(query, reader=STRANGER).items == ()
            assert engine.list_cases(query, reader=NOT_OVERSEEING).items == ()

    def test_the_stranger_sees_their_own_cases_only(self, engine: Engine) -> None:
        """A stranger's own case is listed for them; the trust's is not, and vice versa."""
        engine.open("psii", actor=STRANGER, case_id="RAB-1", payload={"incident_ids": ["I-9"]})

        mine = engine.list_cases(CaseQuery(), reader=STRANGER)
        theirs = engine.list_cases(CaseQuery(), reader=OWNER)

        assert [c.id for c in mine.items] == ["RAB-1"]
        assert [c.id for c in theirs.items] == [CASE_ID]

    def test_a_strangers_same_key_is_their_own(self, engine: Engine) -> None:
        """The same idempotency key in another trust opens that trust's own case, no replay."""
        opened = engine.open(
            "psii",
            actor=STRANGER,
            case_id="RAB-2",
            payload={"incident_ids": ["INC-1"]},
            idempotency_key="k-open",
        )

        assert not opened.replayed
        assert (opened.case.id, opened.case.organisation) == ("RAB-2", OTHER_TRUST)
        assert engine.get(CASE_ID, reader=OWNER).version == 2


class TestThoseWhoMayRead:
    """Owners, their overseeing ICB and named system jobs read; nobody outside acts."""

    @pytest.mark.parametrize(
        "reader",
        [OWNER, ICB_READER, SystemReader("nightly-verify")],
        ids=["owner", "overseeing-icb", "system-job"],
    )
    def test_readers_see_the_case_and_its_trail(self, engine: Engine, reader: Any) -> None:
        """Every permitted reader gets the same case, trail and verification."""
        case = engine.get(CASE_ID, reader=reader)

        assert (case.state, case.version, case.organisation) == ("planning", 2, TRUST)
        assert [e.trigger for e in engine.history(CASE_ID, reader=reader)] == [
            "open",
            "assign_lead",
        ]
        assert engine.verify(CASE_ID, reader=reader).ok
        assert [c.id for c in engine.list_cases(CaseQuery(), reader=reader).items] == [CASE_ID]
