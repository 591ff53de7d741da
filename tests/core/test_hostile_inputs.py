"""Hostile inputs: only psirf_flow's errors escape, nothing is written or repeated."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from psirf_flow import (
    Actor,
    CaseQuery,
    Engine,
    IdempotencyKeyReused,
    InMemoryStore,
    InvalidInput,
    InvalidPayload,
    PsirfFlowError,
    Role,
    _inputs,
)
from psirf_flow.audit import AuditKeys, Checkpoint, CheckpointedTrail, case_digest, verify_chain
from psirf_flow.cli import KEYS_ENV
from psirf_flow.cli import main as cli_main
from psirf_flow.domain import SystemReader
from psirf_flow.errors import (
    SHOWN_LENGTH,
    AuditKeyError,
    CheckpointInvalid,
    PlanError,
    SchemaVersionError,
    StoreError,
    StoreUnavailable,
    redact,
    shown,
)
from psirf_flow.log import LOGGER_NAME
from psirf_flow.policy import load_plan, load_plan_file
from psirf_flow.relay import OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


#: Ten digits with optional single separators: the shape of an NHS number, however written.
NHS_SHAPE = re.compile(r"\d(?:[ .-]?\d){9}")
#: No message of a refused call is longer than this, whatever the input's size.
LONGEST_MESSAGE = 1_500
ORG = "RX1"
NHS_NUMBER = "9434765919"

PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
LEAD = Actor("lead-1", [Role.LEARNING_RESPONSE_LEAD], ORG)
OUTSIDER = Actor("out-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX2")
JOB = SystemReader("nightly-verify")
OPENING = {"incident_ids": ["INC-1"]}


class LondonClock:
    """A clock reading Europe/London summer time (UTC+1), as a host's clock might."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 7, 1, 10, 30, tzinfo=timezone(timedelta(hours=1), "BST"))

    def now(self) -> datetime:
        """The reading, aware but not in UTC."""
        return self.moment


class NaiveClock:
    """A clock returning naive datetimes (no time zone)."""

    def now(self) -> datetime:
        """A naive reading."""
        return datetime(2026, 7, 1, 10, 30)  # noqa: DTZ001 - the point of this clock


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def log_lines() -> Iterator[list[str]]:
    """Every line psirf_flow logs meanwhile, at every level."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = _Keep()
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def snapshot(store: InMemoryStore) -> dict[str, object]:
    """Everything the in-memory store holds, copied (order of its id list aside)."""
    out: dict[str, object] = {}
    for name, value in vars(store).items():
        if name in {"_lock", "_ids_sorted"}:
            continue
        if name == "_ids":
            out[name] = sorted(value)
        elif isinstance(value, dict):
            out[name] = {
                k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v
                for k, v in value.items()
            }
        else:
            out[name] = value
    return out


def sequential_ids() -> Callable[[], str]:
    """New case ids ``case-1``, ``case-2``… (no long digit runs to confuse the checks)."""
    counter = iter(range(1, 1_000_000))
    return lambda: f"case-{next(counter)}"


def make_engine(clock: Any = None) -> Engine:
    """An engine on a fresh in-memory store."""
    return Engine(
        InMemoryStore(), clock=clock or ManualClock(), new_id=sequential_ids(), couplings=()
    )


def check_refusal(error: PsirfFlowError) -> None:
    """A refusal's message is short and holds nothing shaped like an NHS number."""
    text = str(error)
    assert len(text) <= LONGEST_MESSAGE, text[:200]
    assert not NHS_SHAPE.search(text), text


def check_plan_refusal(error: PlanError) -> None:
    """A plan error holds nothing shaped like an NHS number (its length follows the plan)."""
    assert not NHS_SHAPE.search(str(error)), str(error)


def attempt(engine: Engine, call: Callable[[], object]) -> PsirfFlowError | None:
    """Run ``call``: only a PsirfFlowError may escape; if one does, nothing was written."""
    store = engine.store
    assert isinstance(store, InMemoryStore)
    before = snapshot(store)
    with log_lines() as lines:
        try:
            call()
        except PsirfFlowError as error:
            check_refusal(error)
            assert snapshot(store) == before
            refused: PsirfFlowError | None = error
        else:
            refused = None
    for line in lines:
        assert not NHS_SHAPE.search(line), line
    return refused


# ---------------------------------------------------------------- strategies

_odd_chars = st.sampled_from(["\ud800", "\udfff", "\x00", "\n", "\u202e", "@", " "])
_texts = st.text(st.one_of(st.characters(), _odd_chars), max_size=40)
_specials = st.sampled_from(
    [
        NHS_NUMBER,
        "943 476 5919",
        "pt-9434765919",
        "943.476.5919",
        "NHS9434765919",
        "someone@example.org",
        "1980-02-03",
        "x" * 100_000,
        "\ud800",
        "a\x00b",
        "",
        datetime(2026, 1, 5),  # noqa: DTZ001 - naive on purpose
        datetime(2026, 7, 1, tzinfo=timezone(timedelta(hours=1))),
        timedelta(days=-1),
        timedelta.max,
        Role.REPORTER,
        PSS,
    ]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**400),
    st.floats(),
    _texts,
    st.binary(max_size=12),
    st.builds(object),
    _specials,
)
#: Anything at all: scalars, hostile text, and lists and dicts nested in each other.
anything = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_texts, st.integers()), inner, max_size=4),
        st.tuples(inner, inner),
    ),
    max_leaves=12,
)


def either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Sometimes a valid value (so calls get further), sometimes anything."""
    return st.one_of(valid, anything)


_payloads = either(
    st.sampled_from(
        [
            OPENING,
            {},
            {"incident_ids": [NHS_NUMBER]},
            {"lead_id": "lead-1", "engagement_lead_id": "eng-1"},
            {"count": 10**100},
            {1: "x"},
            {"note": "\ud800"},
            {"incident_ids": [["deep"]]},
        ]
    )
)
_case_ids = either(st.sampled_from(["case-1", "case-2", "nope", None]))
_actors = either(st.sampled_from([PSS, LEAD]))
_roles = either(st.sampled_from([None, Role.PATIENT_SAFETY_SPECIALIST, "reporter"]))
_keys = either(st.sampled_from([None, "k-1", "k-2"]))
# differing_executors: `make mutation` re-imports the test classes for every mutant run.
_fuzz = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.differing_executors,
    ],
)


def _engine_with_a_case() -> Engine:
    engine = make_engine()
    engine.open("psii", actor=PSS, payload=OPENING)  # case-1
    return engine


class TestFuzzedEntryPoints:
    """Whatever is passed, only a PsirfFlowError escapes, and a refusal writes nothing."""

    @_fuzz
    @given(
        workflow=either(st.sampled_from(["psii", "nope"])),
        actor=_actors,
        payload=_payloads,
        case_id=_case_ids,
        organisation=either(st.sampled_from([None, ORG])),
        role=_roles,
        key=_keys,
    )
    def test_open(self, **args: Any) -> None:
        """``Engine.open`` with arbitrary arguments."""
        engine = _engine_with_a_case()
        attempt(
            engine,
            lambda: engine.open(
                args["workflow"],
                actor=args["actor"],
                payload=args["payload"],
                case_id=args["case_id"],
                organisation=args["organisation"],
                role=args["role"],
                idempotency_key=args["key"],
            ),
        )

    @_fuzz
    @given(
        case_id=_case_ids,
        trigger=either(st.sampled_from(["assign_lead", "approve", "nope"])),
        actor=_actors,
        payload=_payloads,
        role=_roles,
        key=_keys,
    )
    def test_fire(self, **args: Any) -> None:
        """``Engine.fire`` with arbitrary arguments."""
        engine = _engine_with_a_case()
        attempt(
            engine,
            lambda: engine.fire(
                args["case_id"],
                args["trigger"],
                actor=args["actor"],
                payload=args["payload"],
                role=args["role"],
                idempotency_key=args["key"],
            ),
        )

    @_fuzz
    @given(case_id=_case_ids, reader=either(st.sampled_from([PSS, OUTSIDER, JOB, None])))
    def test_reads(self, case_id: Any, reader: Any) -> None:
        """Every read (get, history, verify, options, retention) with arbitrary arguments."""
        engine = _engine_with_a_case()
        attempt(engine, lambda: engine.get(case_id, reader=reader))
        attempt(engine, lambda: engine.history(case_id, reader=reader))
        attempt(engine, lambda: engine.verify(case_id, reader=reader))
        attempt(engine, lambda: engine.options(case_id, reader))
        attempt(engine, lambda: engine.retention(case_id, reader=reader))

    @_fuzz
    @given(
        query=either(st.builds(CaseQuery, limit=st.integers(1, 1000))),
        field=anything,
        reader=either(st.sampled_from([PSS, JOB])),
    )
    def test_list_cases(self, query: Any, field: Any, reader: Any) -> None:
        """``Engine.list_cases`` with arbitrary queries and readers, fields of any type."""
        engine = _engine_with_a_case()
        attempt(engine, lambda: engine.list_cases(query, reader=reader))
        attempt(engine, lambda: engine.list_cases(CaseQuery(workflow=field), reader=JOB))

    @_fuzz
    @given(limit=either(st.integers(1, 100)), rounds=either(st.integers(1, 5)), types=anything)
    def test_relay(self, limit: Any, rounds: Any, types: Any) -> None:
        """``OutboxRelay`` construction and runs with arbitrary arguments."""
        engine = _engine_with_a_case()
        attempt(engine, lambda: OutboxRelay(engine, response_types=types))
        relay = OutboxRelay(engine)
        attempt(engine, lambda: relay.run_once(limit))
        attempt(engine, lambda: relay.run_until_idle(limit=limit, max_rounds=rounds))

    @_fuzz
    @given(start=anything, moment=anything, by=anything)
    def test_manual_clock(self, start: Any, moment: Any, by: Any) -> None:
        """``ManualClock`` construction, ``set`` and ``advance`` with arbitrary arguments."""
        for call in (
            lambda: ManualClock(start),
            lambda: ManualClock().set(moment),
            lambda: ManualClock().advance(by),
        ):
            try:
                reading = call()
            except PsirfFlowError as error:
                check_refusal(error)
            else:
                now = reading.now() if isinstance(reading, ManualClock) else reading
                assert now.utcoffset() == timedelta(0)

    @_fuzz
    @given(id_=either(st.just("a-1")), roles=anything, organisation=either(st.just(ORG)))
    def test_actor(self, id_: Any, roles: Any, organisation: Any) -> None:
        """``Actor(...)`` with arbitrary arguments."""
        try:
            Actor(id_, roles, organisation)
        except PsirfFlowError as error:
            check_refusal(error)

    @_fuzz
    @given(text=either(st.sampled_from(["schema = 1\n", "[plan]\nname = 'x'\n"])), path=anything)
    def test_plan_loading(self, text: Any, path: Any) -> None:
        """``load_plan`` and ``load_plan_file`` with arbitrary arguments."""
        for call in (lambda: load_plan(text), lambda: load_plan_file(path)):
            try:
                call()
            except PlanError as error:
                check_plan_refusal(error)


# ---------------------------------------------------------------- the fifteen kinds


class TestTheFifteenKinds:
    """Each kind of bad input the review found is refused with a typed error."""

    @pytest.mark.parametrize(
        "case_id",
        [
            pytest.param("Jane Smith", id="name"),
            pytest.param("", id="empty"),
            pytest.param(42, id="number"),
            pytest.param(None, id="none"),
            pytest.param("x" * 1_000_000, id="huge"),
            pytest.param("case-\ud800", id="lone-surrogate"),
            pytest.param("case\x00", id="nul"),
            pytest.param(NHS_NUMBER, id="nhs-number"),
            pytest.param("pt-9434765919", id="nhs-number-inside"),
            pytest.param("someone@example.org", id="e-mail"),
        ],
    )
    def test_bad_case_ids(self, case_id: object) -> None:
        """A case id that is not an opaque id is refused before anything is read or written."""
        engine = _engine_with_a_case()

        error = attempt(engine, lambda: engine.fire(case_id, "assign_lead", actor=PSS))  # type: ignore[arg-type]

        assert isinstance(error, InvalidInput)
        assert error.argument == "case_id"
        assert error.code == "PSF700"

    def test_bad_case_id_when_opening(self) -> None:
        """Opening with an NHS number as case id is refused, and the number is not repeated."""
        engine = make_engine()

        error = attempt(
            engine, lambda: engine.open("psii", actor=PSS, payload=OPENING, case_id="943 476 5919")
        )

        assert isinstance(error, InvalidInput)
        assert "943" not in str(error)

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param([("incident_ids", ["INC-1"])], id="list-of-pairs"),
            pytest.param("incident_ids=INC-1", id="text"),
            pytest.param(5, id="number"),
            pytest.param(object(), id="object"),
        ],
    )
    def test_payload_not_a_mapping(self, payload: object) -> None:
        """A payload that is not a mapping is refused with InvalidInput."""
        engine = make_engine()

        error = attempt(engine, lambda: engine.open("psii", actor=PSS, payload=payload))  # type: ignore[arg-type]

        assert isinstance(error, InvalidInput)
        assert error.argument == "payload"

    @pytest.mark.parametrize(
        ("payload", "words"),
        [
            pytest.param({1: "x", "incident_ids": ["INC-1"]}, "is not a field name", id="int-key"),
            pytest.param({"incident_ids": [["INC-1"]]}, "a value of a kind", id="nested-list"),
            pytest.param({"incident_ids": {"a": 1}}, "a value of a kind", id="dict-value"),
            pytest.param({"\ud800": 1}, "is not a field", id="surrogate-key"),
        ],
    )
    def test_payload_shapes(self, payload: dict[Any, Any], words: str) -> None:
        """Field names that are not text, or values no field takes, are an InvalidPayload."""
        engine = make_engine()

        error = attempt(engine, lambda: engine.open("psii", actor=PSS, payload=payload))

        assert isinstance(error, InvalidPayload)
        assert words in str(error)

    @pytest.mark.parametrize(
        "actor",
        [
            pytest.param(None, id="none"),
            pytest.param("pss-1", id="id-only"),
            pytest.param({}, id="dict"),
        ],
    )
    def test_actor_is_not_an_actor(self, actor: object) -> None:
        """``actor=None`` (or any non-Actor) is refused with InvalidInput."""
        engine = _engine_with_a_case()

        for call in (
            lambda: engine.open("psii", actor=actor, payload=OPENING),  # type: ignore[arg-type]
            lambda: engine.fire("case-1", "assign_lead", actor=actor),  # type: ignore[arg-type]
        ):
            error = attempt(engine, call)
            assert isinstance(error, InvalidInput)
            assert error.argument == "actor"

    def test_a_london_clock_in_summer_is_read_in_utc(self) -> None:
        """An aware non-UTC clock reading is converted to UTC, not refused."""
        clock = LondonClock()
        engine = make_engine(clock)

        opened = engine.open("psii", actor=PSS, payload=OPENING)

        assert opened.case.opened_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
        assert opened.case.opened_at.tzinfo is UTC
        assert opened.entry.recorded_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)

    def test_a_naive_clock_is_refused(self) -> None:
        """A clock returning naive datetimes is refused with InvalidInput; nothing is written."""
        engine = make_engine(NaiveClock())

        error = attempt(engine, lambda: engine.open("psii", actor=PSS, payload=OPENING))

        assert isinstance(error, InvalidInput)
        assert "time zone" in str(error)

    def test_manual_clock_converts_and_refuses(self) -> None:
        """ManualClock keeps UTC, refuses naive times and moves backwards with InvalidInput."""
        london = datetime(2026, 7, 1, 10, tzinfo=timezone(timedelta(hours=1)))
        clock = ManualClock(london)

        assert clock.now() == datetime(2026, 7, 1, 9, tzinfo=UTC)
        assert clock.now().tzinfo is UTC
        with pytest.raises(InvalidInput, match="aware"):
            ManualClock(datetime(2026, 1, 1))  # noqa: DTZ001 - naive on purpose
        with pytest.raises(InvalidInput, match="backwards"):
            clock.set(datetime(2026, 1, 1, tzinfo=UTC))
        with pytest.raises(InvalidInput, match="zero or more"):
            clock.advance(timedelta(days=-1))
        with pytest.raises(InvalidInput, match="last date"):
            clock.advance(timedelta.max)
        with pytest.raises(InvalidInput, match="timedelta"):
            clock.advance(5)  # type: ignore[arg-type]

    def test_huge_counts(self) -> None:
        """A count beyond 999,999,999 is an InvalidPayload, not an overflow in the store."""
        from psirf_flow.workflows import FieldKind, FieldSpec
        from psirf_flow.workflows.payload import check_payload

        _, problems = check_payload(
            [FieldSpec("n", FieldKind.COUNT)], {"n": 10**100}, salt="case-1"
        )

        assert problems == ["'n' must be a whole number from 0 to 999,999,999"]

    @pytest.mark.parametrize(
        "limit",
        [
            pytest.param(10**100, id="huge"),
            pytest.param(0, id="zero"),
            pytest.param(-1, id="negative"),
            pytest.param("10", id="text"),
            pytest.param(True, id="bool"),
            pytest.param(2.5, id="float"),
            pytest.param(None, id="none"),
        ],
    )
    def test_bad_limits(self, limit: object) -> None:
        """Relay limits that are not whole numbers from 1 to 10,000 are refused."""
        engine = _engine_with_a_case()
        relay = OutboxRelay(engine)

        for call in (
            lambda: relay.run_once(limit),  # type: ignore[arg-type]
            lambda: relay.run_until_idle(limit=limit),  # type: ignore[arg-type]
            lambda: relay.run_until_idle(max_rounds=limit),  # type: ignore[arg-type]
        ):
            error = attempt(engine, call)
            assert isinstance(error, InvalidInput)

    def test_bad_query(self) -> None:
        """A query that is not a CaseQuery, or has fields of the wrong type, is refused."""
        engine = _engine_with_a_case()

        for query in (
            lambda: "psii",
            lambda: 5,
            lambda: CaseQuery(workflow=5),  # type: ignore[arg-type]
            lambda: CaseQuery(after="\ud800"),
            lambda: CaseQuery(organisations=["RX1", 7]),  # type: ignore[list-item]
        ):
            error = attempt(engine, lambda q=query: engine.list_cases(q(), reader=JOB))
            assert isinstance(error, InvalidInput)
        for reader in (None, "job", ORG):
            error = attempt(engine, lambda r=reader: engine.list_cases(reader=r))
            assert isinstance(error, InvalidInput)
            assert error.argument == "reader"

    def test_deeply_nested_plan(self) -> None:
        """A plan nested deeper than the parser follows is a PlanError, not a RecursionError."""
        text = "a = " + "[" * 50_000 + "]" * 50_000

        with pytest.raises(PlanError, match="nests too deeply"):
            load_plan(text)

    def test_number_too_long_in_plan(self) -> None:
        """A number too long to read is a PlanError, not a ValueError."""
        with pytest.raises(PlanError):
            load_plan("schema = " + "9" * 5_000)

    @pytest.mark.parametrize(
        ("path", "words"),
        [
            pytest.param("plan\x00.toml", "cannot be read", id="nul"),
            pytest.param(0, "expected a file path", id="fd-number"),
            pytest.param(b"plan.toml", "expected a file path", id="bytes"),
            pytest.param(None, "expected a file path", id="none"),
        ],
    )
    def test_bad_plan_paths(self, path: object, words: str) -> None:
        """A plan path with NUL or of the wrong type is a PlanError (never reads stdin)."""
        with pytest.raises(PlanError, match=words):
            load_plan_file(path)  # type: ignore[arg-type]

    def test_plan_text_of_the_wrong_type(self) -> None:
        """Plan text that is not a string is a PlanError."""
        with pytest.raises(PlanError, match="expected the text"):
            load_plan(b"schema = 1")  # type: ignore[arg-type]

    def test_plan_problems_do_not_repeat_nhs_numbers(self, tmp_path: Path) -> None:
        """A plan holding an NHS number as a key or a value never repeats it."""
        plan = tmp_path / "plan.toml"
        plan.write_text(f'schema = {NHS_NUMBER}\n"{NHS_NUMBER}" = "someone@example.org"\n')

        with pytest.raises(PlanError) as refused:
            load_plan_file(plan)

        assert not NHS_SHAPE.search(str(refused.value))
        assert "someone@example.org" not in str(refused.value)

    @pytest.mark.parametrize(
        ("roles", "role"),
        [
            pytest.param(5, None, id="roles-number"),
            pytest.param(["wizard"], None, id="roles-unknown"),
            pytest.param([None], None, id="roles-none-item"),
            pytest.param([Role.REPORTER], 5, id="role-number"),
            pytest.param([Role.REPORTER], "wizard", id="role-unknown"),
        ],
    )
    def test_wrong_role_types(self, roles: object, role: object) -> None:
        """Roles of the wrong type, or unknown, are refused with InvalidInput."""
        engine = _engine_with_a_case()

        if role is None:
            with pytest.raises(InvalidInput) as refused:
                Actor("a-1", roles, ORG)  # type: ignore[arg-type]
            assert refused.value.argument == "roles"
        else:
            error = attempt(
                engine, lambda: engine.fire("case-1", "assign_lead", actor=PSS, role=role)
            )  # type: ignore[arg-type]
            assert isinstance(error, InvalidInput)
            assert error.argument == "role"

    @pytest.mark.parametrize(
        "key",
        [
            pytest.param(5, id="number"),
            pytest.param("", id="empty"),
            pytest.param("k\x00", id="nul"),
            pytest.param("k\ud800", id="surrogate"),
            pytest.param("k" * 257, id="too-long"),
            pytest.param(["k"], id="list"),
        ],
    )
    def test_bad_idempotency_keys(self, key: object) -> None:
        """An idempotency key of the wrong type or shape is refused, and never repeated."""
        engine = make_engine()

        error = attempt(
            engine,
            lambda: engine.open("psii", actor=PSS, payload=OPENING, idempotency_key=key),  # type: ignore[arg-type]
        )

        assert isinstance(error, InvalidInput)
        assert error.argument == "idempotency_key"
        assert "k" * 10 not in str(error)

    def test_reused_idempotency_key_is_not_echoed(self) -> None:
        """IdempotencyKeyReused never repeats the key in its message."""
        engine = make_engine()
        engine.open("psii", actor=PSS, payload=OPENING, idempotency_key="secret-key-943")

        error = attempt(
            engine,
            lambda: engine.open(
                "psii",
                actor=PSS,
                payload={"incident_ids": ["INC-2"]},
                idempotency_key="secret-key-943",
            ),
        )

        assert isinstance(error, IdempotencyKeyReused)
        assert "secret-key-943" not in str(error)
        assert error.key == "secret-key-943"

    @pytest.mark.parametrize(
        "value",
        [
            NHS_NUMBER,
            "943 476 5919",
            "943-476-5919",
            "943.476.5919",
            "pt-9434765919",
            "NHS9434765919",
            "9434765919x",
            "ref-1-9434765919-2",
            "someone@example.org",
            "a.b+c@mail.nhs.uk",
        ],
    )
    def test_identifiers_holding_an_nhs_number_or_e_mail(self, value: str) -> None:
        """Ids holding an NHS number anywhere, or an e-mail address, are refused unrepeated."""
        with pytest.raises(InvalidInput) as refused:
            Actor(value, [Role.REPORTER], ORG)

        assert refused.value.argument == "id"
        assert "943" not in str(refused.value)
        assert "@" not in str(refused.value)

    @pytest.mark.parametrize(
        "value",
        [
            "9434765918",  # ten digits, wrong check digit
            "INC-2026-0001",
            "rx9-psirp@2.0#falls",
            "urn:uuid:1234",
            "lead-1",
        ],
    )
    def test_identifiers_still_accepted(self, value: str) -> None:
        """Opaque ids without an NHS number or an e-mail address are accepted."""
        assert Actor(value, [Role.REPORTER], ORG).id == value

    def test_an_nhs_number_as_case_id_never_reaches_the_log(self) -> None:
        """Refusing an NHS number as case id logs the refusal without the number."""
        engine = _engine_with_a_case()

        with log_lines() as lines, pytest.raises(InvalidInput):
            engine.fire(NHS_NUMBER, "assign_lead", actor=PSS)

        assert len(lines) == 1
        assert lines[0].startswith("psirf_flow.input_refused")
        assert "error_code='PSF700'" in lines[0]
        assert "943" not in lines[0]


class TestBounds:
    """The limits that keep hostile values small are enforced, each with a typed error."""

    def test_relay_arguments(self) -> None:
        """A relay needs an Engine and a mapping of names to names."""
        engine = _engine_with_a_case()

        with pytest.raises(InvalidInput, match="must be an Engine"):
            OutboxRelay("engine")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="must be a mapping"):
            OutboxRelay(engine, response_types="psii")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="response_types must be text"):
            OutboxRelay(engine, response_types={"round_table": 5})  # type: ignore[dict-item]
        assert OutboxRelay(engine, response_types={"round_table": "mdt_review"}).run_once() == (
            OutboxRelay(engine).run_once()
        )

    @pytest.mark.parametrize("version", ["3", -1, 10**9, True, 2.0])
    def test_bad_expected_versions(self, version: object) -> None:
        """``expected_version`` must be a whole number from 0 to 999,999,999."""
        engine = _engine_with_a_case()

        error = attempt(
            engine,
            lambda: engine.fire("case-1", "assign_lead", actor=PSS, expected_version=version),  # type: ignore[arg-type]
        )

        assert isinstance(error, InvalidInput)
        assert error.argument == "expected_version"

    def test_too_many_organisations_in_a_query(self) -> None:
        """A query may name at most 10,000 organisations."""
        engine = _engine_with_a_case()
        many = [f"R{i}" for i in range(10_001)]

        error = attempt(
            engine, lambda: engine.list_cases(CaseQuery(organisations=many), reader=JOB)
        )

        assert isinstance(error, InvalidInput)
        assert error.argument == "query.organisations"

    def test_a_plan_too_long(self) -> None:
        """A document over two million characters is refused before parsing."""
        with pytest.raises(PlanError, match="longer than 2,000,000 characters"):
            load_plan("#" * 2_000_001)

    def test_too_many_roles(self) -> None:
        """An actor may hold at most 64 role values."""
        with pytest.raises(InvalidInput, match="more than 64"):
            Actor("a-1", [Role.REPORTER] * 65, ORG)

    def test_names_that_could_never_be_names(self) -> None:
        """A trigger or workflow name with control characters, or too long, is refused."""
        engine = _engine_with_a_case()

        for trigger in ("assign\nlead", "x" * 129, "", "\ud800"):
            error = attempt(engine, lambda t=trigger: engine.fire("case-1", t, actor=PSS))
            assert isinstance(error, InvalidInput)
            assert error.argument == "trigger"

    def test_payload_size(self) -> None:
        """A payload has at most 256 fields and a list field at most 10,000 items."""
        engine = make_engine()
        wide = {f"f{i}": 1 for i in range(257)}
        long = {"incident_ids": [f"INC-{i}" for i in range(10_001)]}

        assert isinstance(
            attempt(engine, lambda: engine.open("psii", actor=PSS, payload=wide)), InvalidInput
        )
        assert isinstance(
            attempt(engine, lambda: engine.open("psii", actor=PSS, payload=long)), InvalidPayload
        )

    @pytest.mark.parametrize("day", ["1899-12-31", "2200-01-01", "0001-01-01", "9999-12-31"])
    def test_far_dates(self, day: str) -> None:
        """A date field takes 1900 to 2199 (far dates would overflow timescale arithmetic)."""
        from psirf_flow.workflows import FieldKind, FieldSpec
        from psirf_flow.workflows.payload import check_payload

        _, problems = check_payload([FieldSpec("d", FieldKind.DATE)], {"d": day}, salt="c")

        assert problems == ["'d' must be a date from 1900 to 2199"]

    def test_a_clock_reading_out_of_range(self) -> None:
        """An aware time that cannot be expressed in UTC is refused with InvalidInput."""
        edge = datetime.max.replace(tzinfo=timezone(timedelta(hours=-1)))

        with pytest.raises(InvalidInput, match="out of the range"):
            ManualClock(edge)
        with pytest.raises(InvalidInput, match="must be a datetime"):
            ManualClock("2026-01-05T09:00Z")  # type: ignore[arg-type]

    def test_plan_errors_list_at_most_a_hundred_problems(self) -> None:
        """A plan error's message lists 100 problems and counts the rest; ``problems`` has all."""
        from psirf_flow.errors import PlanProblem

        error = PlanError("<plan>", [PlanProblem(f"k{i}", i, "is wrong") for i in range(150)])

        assert len(error.problems) == 150
        assert str(error).count("is wrong") == 100
        assert str(error).endswith("  - and 50 more")


# ---------------------------------------------------------------- redaction


class TestShown:
    """``errors.shown`` redacts identifiers of people and keeps repeated values short."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("lead-1", "'lead-1'", id="plain"),
            pytest.param("pt-9434765919", "'pt-«redacted»'", id="nhs-inside"),
            pytest.param("943.476.5919", "'«redacted»'", id="dots"),
            pytest.param("943 476 5919", "'«redacted»'", id="spaces"),
            pytest.param("1234567890", "'«redacted»'", id="any-ten-digits"),
            pytest.param("mail a@b.example.org", "'mail «redacted»'", id="e-mail"),
            pytest.param("born 1980-02-03", "'born «redacted»'", id="iso-date"),
            pytest.param("born 03/02/1980", "'born «redacted»'", id="uk-date"),
            pytest.param("\ud800\x00", "'\\ud800\\x00'", id="escaped"),
            pytest.param(12, "(a value of type int)", id="not-text"),
        ],
    )
    def test_table(self, value: object, expected: str) -> None:
        """Each value is shown as the table says."""
        assert shown(value) == expected

    def test_cut_short(self) -> None:
        """A long value is cut to 40 characters and an ellipsis."""
        assert shown("x" * 10_000) == repr("x" * SHOWN_LENGTH + "\u2026")

    @given(st.text(st.one_of(st.characters(), _odd_chars, st.sampled_from("0123456789 .-"))))
    def test_bounded_and_redacted(self, value: str) -> None:
        """Whatever the text, what is shown is short and holds no NHS-number shape."""
        text = shown(value)

        assert len(text) <= SHOWN_LENGTH * 10 + 4
        assert not NHS_SHAPE.search(text)

    def test_redact_can_keep_dates(self) -> None:
        """``redact(dates=False)`` keeps dates but still removes NHS numbers."""
        assert redact("on 2026-01-05 for 9434765919", dates=False) == "on 2026-01-05 for «redacted»"


# ---------------------------------------------------------------- entry points added since

KEY_BYTES = bytes(range(40))
KEYS = AuditKeys(keys={"k2026": KEY_BYTES}, active="k2026")
#: A key ring as JSON, the form the CLI and hosts read it in.
KEYS_JSON = json.dumps({"active": "k2026", "keys": {"k2026": base64.b64encode(KEY_BYTES).decode()}})

#: JSON values of every kind, nested: what a hostile document may hold.
_json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**18, max_value=10**60),
        st.floats(allow_nan=False, allow_infinity=False),
        _texts,
        st.sampled_from([NHS_NUMBER, "943 476 5919", "someone@example.org", "x" * 5_000]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_texts, inner, max_size=4)
    ),
    max_leaves=12,
)


def _checkpoint_documents() -> st.SearchStrategy[str]:
    """Checkpoint documents: valid ones, ones with a field replaced, and any JSON at all."""
    good = make_engine()
    good.open("psii", actor=PSS, payload=OPENING)
    document = json.loads(good.checkpoint(reader=JOB).to_json())
    fields = st.sampled_from(["psirf_flow_checkpoint", "made_at", "key_id", "cases", "signature"])
    made_at = st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00",
            "2026-01-05T09:00:00",
            "2026-01-05T09:00:00+14:00",
            "2026-13-05T09:00:00Z",
            "9434765919",
        ]
    )
    cases = st.one_of(
        st.dictionaries(
            st.one_of(_texts, st.sampled_from([NHS_NUMBER, "case-1", "\ud800", ""])),
            st.one_of(
                st.tuples(st.integers(), _texts).map(list),
                st.tuples(st.integers(-(10**30), 10**30), st.just("0" * 64)).map(list),
                _json_values,
            ),
            max_size=3,
        ),
        _json_values,
    )

    def replaced(field: str, value: object) -> str:
        return json.dumps({**document, field: value})

    return st.one_of(
        st.just(json.dumps(document)),
        st.builds(replaced, fields, _json_values),
        st.builds(replaced, st.just("made_at"), made_at),
        st.builds(replaced, st.just("cases"), cases),
        _json_values.map(json.dumps),
        st.sampled_from(["[" * 100_000, "{" * 5_000, '"\\ud800"', "1" * 5_000, "\x00"]),
    )


_checkpoint_texts = _checkpoint_documents()


def _refused_or_done(call: Callable[[], object]) -> object:
    """Run ``call``: it returns, or raises a PsirfFlowError with a short, redacted message."""
    with log_lines() as lines:
        try:
            result = call()
        except PsirfFlowError as error:
            check_refusal(error)
            result = error
    for line in lines:
        assert not NHS_SHAPE.search(line), line
    return result


class TestFuzzedNewEntryPoints:
    """The entry points added with audit v2 and relay hardening: only PsirfFlowError escapes."""

    @_fuzz
    @given(reader=either(st.sampled_from([JOB, PSS])), text=_checkpoint_texts)
    def test_checkpoints(self, reader: Any, text: Any) -> None:
        """``Engine.checkpoint``, ``Checkpoint.from_json`` and ``Engine.verify_checkpoint``."""
        engine = _engine_with_a_case()
        attempt(engine, lambda: engine.checkpoint(reader=reader))
        made = _refused_or_done(lambda: Checkpoint.from_json(text))
        for checkpoint in (made, engine.checkpoint(reader=JOB), text):
            attempt(engine, lambda c=checkpoint: engine.verify_checkpoint(c, reader=reader))

    @_fuzz
    @given(value=anything)
    def test_checkpoint_from_anything(self, value: Any) -> None:
        """``Checkpoint.from_json`` given a value that is not text."""
        _refused_or_done(lambda: Checkpoint.from_json(value))

    @_fuzz
    @given(
        keys=either(
            st.dictionaries(
                st.one_of(_texts, st.sampled_from([NHS_NUMBER, "k1"])),
                st.one_of(st.binary(min_size=30, max_size=40), anything),
                max_size=3,
            )
        ),
        active=either(st.sampled_from(["k1", NHS_NUMBER])),
        text=either(
            st.one_of(
                st.just(KEYS_JSON),
                st.builds(
                    lambda active, ring: json.dumps({"active": active, "keys": ring}),
                    _json_values,
                    st.dictionaries(
                        st.one_of(_texts, st.just(NHS_NUMBER)),
                        st.one_of(_texts, st.just(base64.b64encode(KEY_BYTES).decode())),
                        max_size=3,
                    ),
                ),
                _json_values.map(json.dumps),
                st.just("[" * 100_000),
            )
        ),
    )
    def test_audit_keys(self, keys: Any, active: Any, text: Any) -> None:
        """``AuditKeys(...)`` and ``AuditKeys.from_json`` with arbitrary arguments."""
        _refused_or_done(lambda: AuditKeys(keys=keys, active=active))
        _refused_or_done(lambda: AuditKeys.from_json(text))

    @_fuzz
    @given(
        max_attempts=either(st.integers(1, 100)),
        base_delay=either(st.timedeltas(min_value=timedelta(seconds=1))),
        max_delay=either(st.timedeltas(min_value=timedelta(seconds=1))),
        limit=either(st.integers(1, 100)),
        message_id=either(st.sampled_from(["m-1", "nope"])),
    )
    def test_relay_settings_and_dead_messages(self, **args: Any) -> None:
        """``OutboxRelay`` settings, ``dead_messages`` and ``requeue`` with arbitrary arguments."""
        engine = _engine_with_a_case()
        relay = attempt(
            engine,
            lambda: OutboxRelay(
                engine,
                max_attempts=args["max_attempts"],
                base_delay=args["base_delay"],
                max_delay=args["max_delay"],
            ),
        )
        del relay
        plain = OutboxRelay(engine)
        attempt(engine, lambda: plain.dead_messages(args["limit"]))
        attempt(engine, lambda: plain.requeue(args["message_id"]))

    @_fuzz
    @given(
        workflow=either(st.just("psii")),
        state=either(st.just("planning")),
        organisation=either(st.just(ORG)),
        organisations=either(st.sampled_from([None, [ORG], frozenset({ORG, "RX2"})])),
        after=either(st.just("case-1")),
        limit=either(st.integers(1, 1000)),
    )
    def test_case_query(self, **fields: Any) -> None:
        """``CaseQuery(...)`` with arbitrary fields, and listing with what it makes."""
        engine = _engine_with_a_case()
        query = _refused_or_done(lambda: CaseQuery(**fields))
        attempt(engine, lambda: engine.list_cases(query, reader=JOB))

    @_fuzz
    @given(name_=either(st.just("nightly-verify")))
    def test_system_reader(self, name_: Any) -> None:
        """``SystemReader(...)`` with an arbitrary name."""
        _refused_or_done(lambda: SystemReader(name_))

    @_fuzz
    @given(
        case_id=either(st.just("case-1")),
        entries=either(st.just("history")),
        head_hash=either(st.just("0" * 64)),
        expected=either(st.integers(0, 5)),
        case=either(st.just("case")),
        keys=either(st.sampled_from([None, KEYS])),
    )
    def test_verify_chain_and_case_digest(self, **args: Any) -> None:
        """``verify_chain`` and ``case_digest`` with arbitrary arguments."""
        engine = _engine_with_a_case()
        real = engine.store.load("case-1")
        history = engine.store.history("case-1")
        entries = history if args["entries"] == "history" else args["entries"]
        case = real if args["case"] == "case" else args["case"]
        _refused_or_done(
            lambda: verify_chain(
                args["case_id"],
                entries,
                head_hash=args["head_hash"],
                expected_entries=args["expected"],
                case=case,
                keys=args["keys"],
            )
        )
        _refused_or_done(lambda: case_digest(case))


# ---------------------------------------------------------------- the SQL store and the CLI


def files_in(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (names relative to it) with its bytes.

    SQLite's shared-memory index (``-shm``) and an empty write-ahead log (``-wal``) are
    left out: a read-only reader of a WAL database makes them and cannot remove them; they
    hold no data.
    """
    return {
        str(path.relative_to(folder)): data
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.endswith("-shm")
        for data in [path.read_bytes()]
        if data or not path.name.endswith("-wal")
    }


@functools.cache
def _database_bytes() -> bytes:
    """A migrated SQLite file holding one case, made once (migrating takes a while)."""
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "cases.sqlite3"
        store = SqlStore.open(str(path), migrate=True)
        try:
            Engine(store, clock=ManualClock(), couplings=()).open(
                "psii", actor=PSS, payload=OPENING, case_id="case-1"
            )
        finally:
            store.dispose()
        return path.read_bytes()


@contextmanager
def a_folder_with_a_database() -> Iterator[Path]:
    """A new working directory holding a migrated SQLite file with one case and a text file."""
    with tempfile.TemporaryDirectory() as name, contextlib.chdir(name):
        folder = Path(name)
        (folder / "cases.sqlite3").write_bytes(_database_bytes())
        (folder / "notes.txt").write_text("not a database\n", encoding="utf-8")
        (folder / "keys.json").write_text(KEYS_JSON, encoding="utf-8")
        (folder / "latin1.json").write_bytes("caf\xe9".encode("latin-1"))
        yield folder


#: Database URLs and paths: the real file, missing ones, files that are no database, URLs
#: no driver reads, and hostile text (relative names resolve in the test's own folder).
_urls = either(
    st.sampled_from(
        [
            "cases.sqlite3",
            "sqlite:///cases.sqlite3",
            "missing.sqlite3",
            f"{NHS_NUMBER}.sqlite3",
            f"sqlite:///{NHS_NUMBER}/cases.sqlite3",
            "notes.txt",
            "sqlite:///notes.txt",
            "no-such-folder/x.sqlite3",
            ".",
            "nosuch://user:secret@host/db",
            f"nosuch://{NHS_NUMBER}:{NHS_NUMBER}@host-{NHS_NUMBER}/db",
            "sqlite:///file:x?mode=rwc&uri=true",
            "sqlite://",
            "x\x00y",
            "://",
            "sqlite:///" + "a" * 5_000,
        ]
    )
)


def _store_refusal(call: Callable[[], object]) -> None:
    """``call`` opens a store (then closed) or refuses it with a short, redacted message."""
    opened = _refused_or_done(call)
    if isinstance(opened, SqlStore):
        opened.dispose()


class TestFuzzedSqlStoreAndCli:
    """``SqlStore.open`` (SQLite) and the CLI commands: refusals are typed and write nothing."""

    @_fuzz
    @given(
        url=_urls,
        migrate=either(st.just(False)),
        durability=either(st.sampled_from(["full", "normal"])),
        read_only=either(st.booleans()),
        busy_timeout=either(st.sampled_from([None, 0, 0.5, 5])),
    )
    def test_sql_store_open(self, **options: Any) -> None:
        """``SqlStore.open`` with arbitrary URLs and options, in a folder of known files."""
        with a_folder_with_a_database() as folder:
            before = files_in(folder)
            url = options.pop("url")
            try:
                store = SqlStore.open(url, **options)
            except PsirfFlowError as error:
                check_refusal(error)
                assert files_in(folder) == before
            else:
                store.dispose()

    @_fuzz
    @given(
        command=st.sampled_from(["verify", "checkpoint", "db upgrade", "db revision", "diagram"]),
        url=_urls,
        cases=st.lists(either(st.sampled_from(["case-1", NHS_NUMBER])), max_size=2),
        checkpoint=either(_checkpoint_texts),
        key_file=st.sampled_from([None, "keys.json", "latin1.json", "notes.txt", "missing.json"]),
        env_keys=st.one_of(
            st.none(),
            st.just(KEYS_JSON),
            st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
            st.just(NHS_NUMBER),
        ),
        out=st.sampled_from(["cp.json", "no-such-folder/cp.json", ".", f"{NHS_NUMBER}.json"]),
        workflow=either(st.sampled_from(["psii", "nope", NHS_NUMBER])),
        fmt=either(st.sampled_from(["mermaid", "table", "markdown"])),
    )
    def test_cli(self, **args: Any) -> None:
        """Each CLI command with arbitrary arguments: an exit code, no traceback, nothing leaked."""
        with a_folder_with_a_database() as folder:
            (folder / "checkpoint.json").write_text(_as_text(args["checkpoint"]), encoding="utf-8")
            line = _command_line(**args)
            before = files_in(folder)
            env = {KEYS_ENV: args["env_keys"]} if args["env_keys"] is not None else {}
            with log_lines() as lines:
                result = CliRunner().invoke(cli_main, line, env=env, catch_exceptions=True)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                result.exception
            )
            assert result.exit_code in {0, 1, 2, 3, 4}
            assert "Traceback" not in result.output
            assert not NHS_SHAPE.search(result.output), result.output
            for logged in lines:
                assert not NHS_SHAPE.search(logged), logged
            if result.exit_code not in {0, 1}:
                assert len(result.output) <= LONGEST_MESSAGE, result.output[:200]
                if args["command"] != "db upgrade":
                    assert files_in(folder) == before


def _as_text(value: object) -> str:
    """``value`` if it is text that can be written as UTF-8, else its JSON."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value)
        return value
    return json.dumps(value, default=repr)


def _arg(value: object) -> str:
    """A command-line argument: text as it is, anything else as its JSON (or repr)."""
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def _command_line(**args: Any) -> list[str]:
    """The command line of ``args["command"]`` with the arguments drawn for it."""
    url = _arg(args["url"])
    keys = ["--key-file", args["key_file"]] if args["key_file"] else []
    if args["command"] == "verify":
        cases = [part for c in args["cases"] for part in ("--case", _arg(c))]
        return ["verify", url, *cases, "--checkpoint", "checkpoint.json", *keys]
    if args["command"] == "checkpoint":
        return ["checkpoint", url, "--out", args["out"], *keys]
    if args["command"] == "diagram":
        return ["diagram", _arg(args["workflow"]), "--format", _arg(args["fmt"])]
    return [*args["command"].split(), url]


# ---------------------------------------------------------------- refusals found by fuzzing


def _document(**changes: object) -> str:
    """A checkpoint document of one empty-trail case, with ``changes``."""
    document: dict[str, object] = {
        "psirf_flow_checkpoint": 1,
        "made_at": "2026-01-05T09:00:00.000000Z",
        "key_id": None,
        "cases": {"case-1": [1, "a" * 64]},
        "signature": "0" * 64,
    }
    return json.dumps({**document, **changes})


class TestCheckpointAndKeyRefusals:
    """Checkpoints, key rings and chain verification refuse bad values with typed errors."""

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            pytest.param(None, "must be JSON text", id="none"),
            pytest.param(5, "must be JSON text", id="number"),
            pytest.param(["{}"], "must be JSON text", id="list"),
            pytest.param("[" * 100_000, "not valid JSON", id="nested-too-deeply"),
            pytest.param(_document(made_at="0001-01-01T00:00:00+01:00"), "made_at", id="year-0"),
            pytest.param(_document(made_at="9999-12-31T23:59:59-01:00"), "made_at", id="year-1e4"),
            pytest.param(_document(key_id="not a key id!"), "key_id", id="key-id"),
            pytest.param(
                _document(cases={NHS_NUMBER: [1, "a" * 64]}), "opaque identifier", id="nhs-id"
            ),
            pytest.param(_document(cases={"case-1": [-1, "a" * 64]}), "[entries", id="negative"),
            pytest.param(_document(cases={"case-1": [10**9, "a" * 64]}), "[entries", id="huge"),
            pytest.param(_document(cases={"case-1": [1, "xyz"]}), "[entries", id="head-hash"),
        ],
    )
    def test_checkpoint_documents(self, text: object, words: str) -> None:
        """A checkpoint that is not text, not JSON or out of range is CheckpointInvalid."""
        with pytest.raises(CheckpointInvalid) as refused:
            Checkpoint.from_json(text)  # type: ignore[arg-type]

        assert words in str(refused.value)
        check_refusal(refused.value)

    def test_a_valid_document_still_reads(self) -> None:
        """The document the table varies is itself accepted, field for field."""
        made = Checkpoint.from_json(_document())

        assert made.made_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
        assert dict(made.cases) == {"case-1": CheckpointedTrail(1, "a" * 64)}
        assert (made.key_id, made.signature) == (None, "0" * 64)

    @pytest.mark.parametrize("checkpoint", [None, "{}", 5])
    def test_verify_checkpoint_needs_a_checkpoint(self, checkpoint: object) -> None:
        """``Engine.verify_checkpoint`` of anything but a Checkpoint is InvalidInput."""
        engine = _engine_with_a_case()

        error = attempt(engine, lambda: engine.verify_checkpoint(checkpoint, reader=JOB))  # type: ignore[arg-type]

        assert isinstance(error, InvalidInput)
        assert error.argument == "checkpoint"

    @pytest.mark.parametrize(
        ("keys", "active", "words"),
        [
            pytest.param(None, "k1", "must be a mapping", id="none"),
            pytest.param("k1", "k1", "must be a mapping", id="text"),
            pytest.param([("k1", KEY_BYTES)], "k1", "must be a mapping", id="pairs"),
            pytest.param({"k1": KEY_BYTES}, ["k1"], "is not in the key ring", id="active-list"),
            pytest.param({"k1": KEY_BYTES}, None, "is not in the key ring", id="active-none"),
            pytest.param({NHS_NUMBER: b"short"}, NHS_NUMBER, "bytes long", id="nhs-id-short"),
            pytest.param({NHS_NUMBER: "text"}, NHS_NUMBER, "is not bytes", id="nhs-id-text"),
        ],
    )
    def test_key_rings(self, keys: object, active: object, words: str) -> None:
        """A key ring of the wrong shape is an AuditKeyError that repeats no NHS number."""
        with pytest.raises(AuditKeyError) as refused:
            AuditKeys(keys=keys, active=active)  # type: ignore[arg-type]

        assert words in str(refused.value)
        check_refusal(refused.value)

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param(None, id="none"),
            pytest.param(b"\xff", id="bad-bytes"),
            pytest.param("[" * 100_000, id="nested-too-deeply"),
            pytest.param(json.dumps({"active": "k", "keys": {NHS_NUMBER: "@@"}}), id="nhs-id"),
        ],
    )
    def test_key_ring_documents(self, text: object) -> None:
        """``AuditKeys.from_json`` refuses what is not a ring with AuditKeyError."""
        with pytest.raises(AuditKeyError) as refused:
            AuditKeys.from_json(text)  # type: ignore[arg-type]

        check_refusal(refused.value)

    @pytest.mark.parametrize(
        ("changes", "argument"),
        [
            pytest.param({"case_id": 5}, "case_id", id="case-id"),
            pytest.param({"entries": None}, "entries", id="entries-none"),
            pytest.param({"entries": "abc"}, "entries", id="entries-text"),
            pytest.param({"entries": [None]}, "entries", id="entries-item"),
            pytest.param({"head_hash": 5}, "head_hash", id="head-hash"),
            pytest.param({"expected_entries": True}, "expected_entries", id="expected-bool"),
            pytest.param({"expected_entries": "3"}, "expected_entries", id="expected-text"),
            pytest.param({"case": "case-1"}, "case", id="case"),
            pytest.param({"keys": {"k": KEY_BYTES}}, "keys", id="keys"),
        ],
    )
    def test_verify_chain_arguments(self, changes: dict[str, object], argument: str) -> None:
        """``verify_chain`` refuses arguments of the wrong type with InvalidInput."""
        engine = _engine_with_a_case()
        arguments: dict[str, Any] = {
            "case_id": "case-1",
            "entries": engine.store.history("case-1"),
            "case": engine.store.load("case-1"),
            **changes,
        }
        case_id = arguments.pop("case_id")
        entries = arguments.pop("entries")

        with pytest.raises(InvalidInput) as refused:
            verify_chain(case_id, entries, **arguments)

        assert refused.value.argument == argument

    def test_verify_chain_still_verifies(self) -> None:
        """The arguments the table varies verify a sound trail."""
        engine = _engine_with_a_case()

        result = verify_chain(
            "case-1", engine.store.history("case-1"), case=engine.store.load("case-1")
        )

        assert (result.ok, result.entries) == (True, 1)

    @pytest.mark.parametrize("case", [None, "case-1", {"id": "case-1"}])
    def test_case_digest_needs_a_case(self, case: object) -> None:
        """``case_digest`` of anything but a Case is InvalidInput."""
        with pytest.raises(InvalidInput) as refused:
            case_digest(case)  # type: ignore[arg-type]

        assert refused.value.argument == "case"


class TestQueryAndRelayRefusals:
    """CaseQuery and the relay's settings refuse bad values when they are made."""

    @pytest.mark.parametrize(
        ("fields", "argument"),
        [
            pytest.param({"organisations": [["RX1"]]}, "query.organisations", id="nested"),
            pytest.param({"organisations": "RX1"}, "query.organisations", id="text"),
            pytest.param({"organisations": 5}, "query.organisations", id="number"),
            pytest.param({"organisations": [NHS_NUMBER, 7]}, "query.organisations", id="item"),
            pytest.param({"workflow": 5}, "query.workflow", id="workflow"),
            pytest.param({"state": "a\nb"}, "query.state", id="state"),
            pytest.param({"organisation": ""}, "query.organisation", id="organisation"),
            pytest.param({"after": "x" * 129}, "query.after", id="after"),
            pytest.param({"limit": None}, "query.limit", id="limit-none"),
            pytest.param({"limit": 0}, "query.limit", id="limit-zero"),
            pytest.param({"limit": 1001}, "query.limit", id="limit-1001"),
            pytest.param({"limit": True}, "query.limit", id="limit-bool"),
            pytest.param({"limit": "5"}, "query.limit", id="limit-text"),
            pytest.param({"limit": int(NHS_NUMBER)}, "query.limit", id="limit-nhs-number"),
        ],
    )
    def test_case_queries(self, fields: dict[str, Any], argument: str) -> None:
        """``CaseQuery(...)`` with a field of the wrong type or range is InvalidInput."""
        with pytest.raises(InvalidInput) as refused:
            CaseQuery(**fields)

        assert refused.value.argument == argument
        check_refusal(refused.value)

    def test_a_query_at_its_limits_is_made(self) -> None:
        """The largest query still accepted keeps every field as given."""
        query = CaseQuery(
            workflow="psii",
            state="planning",
            organisation=ORG,
            organisations=(f"R{i}" for i in range(10_000)),
            after="x" * 128,
            limit=1000,
        )

        assert query.organisations is not None
        assert len(query.organisations) == 10_000
        assert (query.after, query.limit) == ("x" * 128, 1000)

    @pytest.mark.parametrize(
        ("argument", "delay"),
        [
            pytest.param("base_delay", timedelta.max, id="base-max"),
            pytest.param("max_delay", timedelta.max, id="max-max"),
            pytest.param("max_delay", timedelta(days=366, microseconds=1), id="max-366d+"),
            pytest.param("base_delay", timedelta(0), id="base-zero"),
        ],
    )
    def test_relay_delays(self, argument: str, delay: timedelta) -> None:
        """A delay must be positive and at most 366 days (the clock plus it cannot overflow)."""
        engine = _engine_with_a_case()

        error = attempt(engine, lambda: OutboxRelay(engine, **{argument: delay}))

        assert isinstance(error, InvalidInput)
        assert error.argument == argument

    def test_a_year_long_delay_is_accepted(self) -> None:
        """366 days is the longest delay accepted."""
        engine = _engine_with_a_case()
        longest = timedelta(days=366)

        relay = OutboxRelay(engine, base_delay=longest, max_delay=longest)

        assert relay.run_once() == RelayReport()


#: SQLAlchemy warns that it picks its pool for a ``mode=memory`` URI from the URI itself.
_MEMORY_POOL_WARNING = "ignore:Selection of the SingletonThreadPool"


class TestSqlStoreAndCliRefusals:
    """The SQL store's options and the CLI refuse bad values, typed and without leaks."""

    @pytest.mark.parametrize(
        ("options", "argument"),
        [
            pytest.param({"url": 5}, "url", id="url-number"),
            pytest.param({"url": None}, "url", id="url-none"),
            pytest.param({"durability": ["full"]}, "durability", id="durability-list"),
            pytest.param({"durability": "fast"}, "durability", id="durability-unknown"),
            pytest.param({"read_only": "yes"}, "read_only", id="read-only-text"),
            pytest.param({"migrate": "yes"}, "migrate", id="migrate-text"),
            pytest.param({"migrate": 1}, "migrate", id="migrate-one"),
            pytest.param({"migrate": True, "read_only": True}, "migrate", id="both"),
            pytest.param({"busy_timeout": "5"}, "busy_timeout", id="timeout-text"),
            pytest.param({"busy_timeout": 10**400}, "busy_timeout", id="timeout-huge"),
            pytest.param({"busy_timeout": float("nan")}, "busy_timeout", id="timeout-nan"),
            pytest.param({"busy_timeout": float("inf")}, "busy_timeout", id="timeout-inf"),
            pytest.param({"busy_timeout": -1}, "busy_timeout", id="timeout-negative"),
            pytest.param({"busy_timeout": True}, "busy_timeout", id="timeout-bool"),
            pytest.param({"busy_timeout": 86_401}, "busy_timeout", id="timeout-over-a-day"),
        ],
    )
    def test_sql_store_options(
        self, tmp_path: Path, options: dict[str, Any], argument: str
    ) -> None:
        """``SqlStore.open`` refuses bad options with InvalidInput (a ValueError) and no file."""
        options = dict(options)  # the parameter is shared between runs: never change it
        url = options.pop("url", str(tmp_path / "cases.sqlite3"))

        with pytest.raises(InvalidInput) as refused:
            SqlStore.open(url, **options)

        assert refused.value.argument == argument
        assert isinstance(refused.value, ValueError)
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize(
        "url",
        [
            pytest.param("cases.sqlite3", id="path"),
            pytest.param("sqlite:///cases.sqlite3", id="url"),
            pytest.param("sqlite:///file:cases.sqlite3?mode=rwc&uri=true", id="uri"),
            pytest.param(
                "sqlite:///file:m1?mode=memory&cache=shared&uri=true",
                id="memory",
                marks=pytest.mark.filterwarnings(_MEMORY_POOL_WARNING),
            ),
        ],
    )
    def test_opening_a_missing_file_creates_nothing(self, tmp_path: Path, url: str) -> None:
        """Opening a missing SQLite file without ``migrate`` is a missing schema, not a file."""
        with contextlib.chdir(tmp_path), pytest.raises(SchemaVersionError) as refused:
            SqlStore.open(url)

        assert refused.value.found is None
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize(
        "url",
        [
            pytest.param("sqlite:///file:cases.sqlite3?mode=rwc&uri=true", id="mode-rwc"),
            pytest.param("sqlite:///file:cases.sqlite3?uri=true", id="no-mode"),
        ],
    )
    def test_a_read_only_uri_never_creates_the_file(self, tmp_path: Path, url: str) -> None:
        """A URI file name opened read-only is opened with mode=ro, whatever mode it asks."""
        with contextlib.chdir(tmp_path), pytest.raises(StoreUnavailable):
            SqlStore.open(url, read_only=True)

        assert list(tmp_path.iterdir()) == []

    @pytest.mark.filterwarnings(_MEMORY_POOL_WARNING)
    def test_a_read_only_memory_uri_stays_in_memory(self, tmp_path: Path) -> None:
        """A read-only in-memory URI keeps its mode: an empty schema, and no file."""
        url = "sqlite:///file:m2?mode=memory&cache=shared&uri=true"

        with contextlib.chdir(tmp_path), pytest.raises(SchemaVersionError) as refused:
            SqlStore.open(url, read_only=True)

        assert refused.value.found is None
        assert list(tmp_path.iterdir()) == []

    def test_a_read_only_uri_reads_an_existing_file(self, tmp_path: Path) -> None:
        """An existing file named by a URI opens read-only and reads its cases."""
        (tmp_path / "cases.sqlite3").write_bytes(_database_bytes())

        with contextlib.chdir(tmp_path):
            store = SqlStore.open("sqlite:///file:cases.sqlite3?mode=rwc&uri=true", read_only=True)
            try:
                assert [c.id for c in store.list_cases(CaseQuery()).items] == ["case-1"]
            finally:
                store.dispose()

    def test_urls_in_errors_are_redacted_and_short(self) -> None:
        """A URL an error repeats holds no NHS-number-shaped text and is cut short."""
        with pytest.raises(StoreError) as refused:
            SqlStore.open(f"nosuch://{NHS_NUMBER}@host-{NHS_NUMBER}/{'d' * 5_000}")

        check_refusal(refused.value)
        assert "nosuch://" in str(refused.value)

    @pytest.mark.parametrize(
        ("line", "code", "words"),
        [
            pytest.param(["diagram", NHS_NUMBER], 2, "no workflow called", id="workflow"),
            pytest.param(["diagram", "psii", "--format", NHS_NUMBER], 2, "not one of", id="fmt"),
            pytest.param(
                ["verify", "cases.sqlite3", "--key-file", "latin1.json"],
                3,
                "key file cannot be read",
                id="key-file-not-utf8",
            ),
            pytest.param(
                ["verify", "cases.sqlite3", "--checkpoint", "latin1.json"],
                3,
                "checkpoint file cannot be read",
                id="checkpoint-not-utf8",
            ),
            pytest.param(
                ["checkpoint", "cases.sqlite3", "--out", f"no-folder/{NHS_NUMBER}.json"],
                3,
                "cannot write the checkpoint",
                id="out-in-no-folder",
            ),
            pytest.param(
                ["checkpoint", "cases.sqlite3", "--out", "x" * 300 + ".json"],
                3,
                "cannot write the checkpoint",
                id="out-name-too-long",
            ),
            pytest.param(
                ["verify", "missing.sqlite3", "--case", NHS_NUMBER],
                3,
                "--case looks like an NHS number",
                id="case-checked-before-opening",
            ),
            pytest.param(
                ["db", "revision", f"{NHS_NUMBER}.sqlite3"], 4, "store error", id="db-file"
            ),
        ],
    )
    def test_cli_refusals(self, line: list[str], code: int, words: str) -> None:
        """Each refusal has its exit code, says why, and repeats no NHS number."""
        with a_folder_with_a_database() as folder:
            before = files_in(folder)

            result = CliRunner().invoke(cli_main, line)

            assert files_in(folder) == before
        assert result.exit_code == code, result.output
        assert words in result.output
        assert "Traceback" not in result.output
        assert not NHS_SHAPE.search(result.output), result.output


class TestInputChecks:
    """The private checks in ``_inputs`` that entry points call."""

    @pytest.mark.parametrize("value", [PSS, None, "nightly-verify", ORG])
    def test_system_reader_refuses_everything_else(self, value: object) -> None:
        """Only a SystemReader may take a checkpoint (a person sees only some cases)."""
        with pytest.raises(InvalidInput) as refused:
            _inputs.system_reader(value)

        assert refused.value.argument == "reader"

    def test_system_reader_accepts_a_system_reader(self) -> None:
        """A SystemReader is returned as it is."""
        assert _inputs.system_reader(JOB) is JOB
