"""Hostile inputs: only psirf_flow's errors escape, nothing is written or repeated."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
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
)
from psirf_flow.domain import SystemReader
from psirf_flow.errors import SHOWN_LENGTH, PlanError, redact, shown
from psirf_flow.log import LOGGER_NAME
from psirf_flow.policy import load_plan, load_plan_file
from psirf_flow.relay import OutboxRelay
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
            "psii",
            5,
            CaseQuery(workflow=5),  # type: ignore[arg-type]
            CaseQuery(after="\ud800"),
            CaseQuery(organisations=["RX1", 7]),  # type: ignore[list-item]
        ):
            error = attempt(engine, lambda q=query: engine.list_cases(q, reader=JOB))
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
        query = CaseQuery(organisations=[f"R{i}" for i in range(10_001)])

        error = attempt(engine, lambda: engine.list_cases(query, reader=JOB))

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
