"""The relay trusts nothing it did not write, isolates poisoned messages and guards its identity.

Every test runs on the in-memory store, a SQLite file and (when configured) PostgreSQL,
except the failure tests at the end, which inject store failures into the in-memory store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from psirf_flow import Actor, Engine, InMemoryStore, InvalidInput, Role
from psirf_flow.audit import AuditEntry
from psirf_flow.decide import decide_open
from psirf_flow.domain import SYSTEM_ACTOR_ID, Case, Command, OutboxMessage
from psirf_flow.errors import (
    AuditChainBroken,
    ConcurrencyConflict,
    CorruptRecord,
    ReservedIdentity,
    StoreError,
    StoreUnavailable,
)
from psirf_flow.log import ALLOWED_KEYS
from psirf_flow.ports import CaseQuery, Change, Store
from psirf_flow.relay import DeadReason, OutboxRelay, RelayReport
from psirf_flow.store.sql import SqlStore
from psirf_flow.store.sql.schema import AUDIT_ENTRIES
from psirf_flow.testing import ManualClock
from psirf_flow.testing.logs import capture_events
from psirf_flow.workflows.couplings import (
    COUPLINGS,
    Coupling,
    FollowUp,
    candour_case_id,
    coupling_messages,
    derived_id,
    learning_response_id,
    message_id,
    read_follow_up,
)


ORG = "RXY"
OTHER_TRUST = "RZZ"
PSS = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], ORG)
NEVER_EVENT = "psirf.national.never_event@1"
BASE = timedelta(seconds=30)
LONG_ID = "I" + "n" * 124  # 125 characters: "<id>/doc" would be 129


class Boom:
    """A coupling reaction that works when the command commits and raises when armed."""

    def __init__(self) -> None:
        self.armed = False

    def __call__(self, case: Case, trigger: str, sequence: int) -> FollowUp | None:
        """Note the incident on itself (a harmless step) unless armed."""
        del trigger
        if case.facts.get("incident_id") != "BOOM":
            return None
        if self.armed:
            msg = "the reaction cannot be built"
            raise RuntimeError(msg)
        return FollowUp(action="fire", target_case_id=case.id, trigger="nothing", payload={})


@pytest.fixture(name="boom")
def _boom() -> Boom:
    return Boom()


@pytest.fixture(
    name="store", params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def _store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    url = request.getfixturevalue("sqlite_path" if request.param == "sqlite" else "pg_url")
    store = SqlStore.open(str(url), migrate=True)
    yield store
    store.dispose()


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(name="engine")
def _engine(store: Store, clock: ManualClock, boom: Boom) -> Engine:
    exploding = Coupling(
        name="boom",
        workflows=frozenset({"incident_intake"}),
        triggers=frozenset({"decide_response"}),
        react=boom,
        rule="test.boom@1",
        summary="Raises when the relay rebuilds it.",
    )
    return Engine(store, clock=clock, couplings=(*COUPLINGS, exploding))


@pytest.fixture(name="relay")
def _relay(engine: Engine) -> OutboxRelay:
    return OutboxRelay(engine, max_attempts=3, base_delay=BASE, max_delay=timedelta(minutes=1))


def _decide(
    engine: Engine, case_id: str, *, incident: str | None = None, harm: str = "severe"
) -> str:
    """Drive an intake to a PSII decision (its decision is audit entry 4)."""
    engine.open(
        "incident_intake",
        actor=PSS,
        case_id=case_id,
        payload={"incident_id": incident or case_id[:20], "physical_harm": harm},
    )
    engine.fire(case_id, "begin_review", actor=PSS)
    engine.fire(
        case_id,
        "record_triage",
        actor=PSS,
        payload={
            "national_rule_refs": [NEVER_EVENT],
            "national_psii_rule_refs": [NEVER_EVENT],
            "plan_ref": "RXY-PSIRP@3",
        },
    )
    spec = engine.definition_for(engine.store.load(case_id)).transition("decide_response")
    assert spec is not None
    rationale = next(f.choices[0] for f in spec.fields if f.name == "rationale")
    engine.fire(
        case_id,
        "decide_response",
        actor=PSS,
        payload={"response_type": "psii", "basis": "national_requirement", "rationale": rationale},
    )
    return case_id


_CAST = {
    "pss": PSS,
    "lead": Actor("inv-07", [Role.LEARNING_RESPONSE_LEAD], ORG),
    "engagement": Actor("eng-03", [Role.ENGAGEMENT_LEAD], ORG),
    "reviewer": Actor("rev-05", [Role.PEER_REVIEWER], ORG),
    "senior": Actor("sl-08", [Role.SENIOR_LEADER], ORG),
    "exec": Actor("exec-01", [Role.EXECUTIVE_LEAD], ORG),
}
_TO_APPROVAL: list[tuple[str, str, dict[str, object]]] = [
    ("pss", "assign_lead", {"lead_id": "inv-07", "engagement_lead_id": "eng-03"}),
    ("lead", "record_terms_of_reference", {"terms_of_reference_ref": "TOR-1"}),
    (
        "engagement",
        "record_engagement",
        {"person_id": "pat-1", "person_kind": "patient", "engagement": "involved"},
    ),
    ("lead", "begin_gathering", {}),
    ("lead", "complete_analysis", {}),
    ("lead", "submit_draft", {"draft_ref": "DRAFT-1"}),
    ("reviewer", "record_peer_review", {"peer_review_ref": "PR-1"}),
    ("lead", "record_expert_input", {"expert_input": "panel", "expert_ids": ["sme-1"]}),
    ("lead", "record_staff_accuracy_check", {"staff_accuracy_check": "confirmed"}),
    ("engagement", "record_family_draft_response", {"family_draft_response": "commented"}),
    ("senior", "agree_findings", {}),
    ("lead", "request_approval", {}),
    ("exec", "approve", {"report_ref": "REPORT-1"}),
]


def _psii_to_approval(engine: Engine, case_id: str) -> None:
    """Take a commissioned PSII through planning, review and approval."""
    for who, trigger, payload in _TO_APPROVAL:
        spec = engine.definition_for(engine.store.load(case_id)).transition(trigger)
        assert spec is not None
        full = dict(payload)
        for field in spec.fields:
            if field.required and field.name not in full and field.choices:
                full[field.name] = field.choices[0]
        engine.fire(case_id, trigger, actor=_CAST[who], payload=full)


def _forge(store: Store, clock: ManualClock, *messages: OutboxMessage) -> None:
    """Write ``messages`` behind the engine's back (riding on an unrelated case's commit)."""
    definition = Engine(InMemoryStore(), clock=clock).definitions.latest("psii")
    assert definition is not None
    decision = decide_open(
        definition,
        case_id=f"carrier-{len(store.list_cases(CaseQuery()).items)}",
        organisation=ORG,
        command=Command("open", PSS, {"incident_ids": ["INC-0"]}),
        now=clock.now(),
    )
    store.commit(Change(decision.case, None, decision.entry, outbox=messages))


def _rewrite_actor(store: Store, case_id: str, sequence: int, actor_id: str) -> None:
    """Change who an audit entry says acted, behind the engine's back, on any store.

    The in-memory store through its test hook; a SQL store with a raw ``UPDATE``, as
    someone holding the database credentials could.
    """
    if isinstance(store, InMemoryStore):
        entry = store.history(case_id)[sequence - 1]
        store.tamper(case_id, sequence, attrs.evolve(entry, actor_id=actor_id))
        return
    assert isinstance(store, SqlStore)
    with store.engine.begin() as connection:
        changed = connection.execute(
            sa.update(AUDIT_ENTRIES)
            .where(AUDIT_ENTRIES.c.case_id == case_id, AUDIT_ENTRIES.c.sequence == sequence)
            .values(actor_id=actor_id)
        )
    assert changed.rowcount == 1


def _outcomes(store: Store, case_id: str) -> dict[str, str | None]:
    return {m.kind: m.outcome for m in store.outbox(case_id)}


def _forged(store: Store, clock: ManualClock, source: str, **changes: Any) -> OutboxMessage:
    """A copy of the source's first real message, with ``changes``."""
    genuine = store.outbox(source)[0]
    return attrs.evolve(genuine, created_at=clock.now(), **changes)


class TestPoisonedMessages:
    """A message that cannot or must not be applied never holds up the others."""

    def test_poisoned_messages_do_not_delay_the_others(
        self, store: Store, engine: Engine, relay: OutboxRelay, clock: ManualClock, boom: Boom
    ) -> None:
        """Forged, other-trust and unbuildable messages are set aside; the rest apply at once."""
        _decide(engine, "INC-BOOM", incident="BOOM")
        _decide(engine, "INC-2")
        _decide(engine, LONG_ID)
        boom.armed = True
        _forge(
            store,
            clock,
            OutboxMessage(
                "forged-1",
                "INC-2",
                "coupling.open_learning_response",
                {"action": "open", "target_case_id": "X-1", "workflow": "psii"},
                clock.now(),
            ),
            _forged(
                store,
                clock,
                "INC-2",
                id="INC-2#4/open_learning_response+x",
                body={
                    "action": "open",
                    "target_case_id": "RZZ-PSII-1",
                    "workflow": "psii",
                    "organisation": OTHER_TRUST,
                    "p.incident_ids": ("INC-2",),
                },
            ),
            _forged(
                store,
                clock,
                "INC-2",
                id="forged-long",
                body={"action": "open", "target_case_id": "T" * 200, "workflow": "psii"},
            ),
        )

        report = relay.run_once()

        assert report == RelayReport(applied=6, failed=1, dead=3)
        for source in ("INC-BOOM", "INC-2", LONG_ID):
            lr, doc = learning_response_id(source, 4), candour_case_id(source)
            assert (store.load(lr).state, store.load(doc).state) == ("commissioned", "assessing")
        assert store.list_cases(CaseQuery(organisation=OTHER_TRUST)).items == ()
        dead = {m.id: m.outcome for m in relay.dead_messages()}
        assert dead == {
            "forged-1": "dead:untrusted_cause",
            "INC-2#4/open_learning_response+x": "dead:untrusted_cause",
            "forged-long": "dead:untrusted_cause",
        }

    def test_unbuildable_message_is_retried_with_back_off_then_dead(
        self, store: Store, engine: Engine, relay: OutboxRelay, clock: ManualClock, boom: Boom
    ) -> None:
        """Each failure waits (doubling, capped); after max_attempts the message is dead."""
        _decide(engine, "INC-BOOM", incident="BOOM")
        boom.armed = True
        boom_id = message_id("INC-BOOM", 4, "boom")
        start = clock.now()

        with capture_events() as logs:
            first = relay.run_once()
            early = relay.run_once()
            clock.advance(BASE)
            second = relay.run_once()
            clock.advance(BASE * 2 - timedelta(seconds=1))
            too_early = relay.run_once()
            clock.advance(timedelta(seconds=1))
            third = relay.run_once()

        assert (first, early, second, too_early, third) == (
            RelayReport(applied=2, failed=1),
            RelayReport(),
            RelayReport(failed=1),
            RelayReport(),
            RelayReport(dead=1),
        )
        message = next(m for m in store.outbox("INC-BOOM") if m.id == boom_id)
        assert (message.outcome, message.attempts, message.last_error) == (
            "dead:unexpected_error",
            3,
            "unexpected_error",
        )
        assert message.next_attempt_at == start + BASE + BASE * 2
        assert message.delivered_at == clock.now()
        assert [m.id for m in relay.dead_messages()] == [boom_id]
        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert [(e["event"], e["attempts"]) for e in warnings] == [
            ("psirf_flow.outbox_message_failed", 1),
            ("psirf_flow.outbox_message_failed", 2),
            ("psirf_flow.outbox_message_dead", 3),
        ]
        assert warnings[-1]["outcome"] == "dead:unexpected_error"
        assert {e["reason_code"] for e in warnings} == {"unexpected_error"}
        assert all(set(e) <= ALLOWED_KEYS for e in logs)
        assert all("cannot be built" not in str(v) for e in logs for v in e.values())

    def test_back_off_doubles_up_to_the_longest_wait(
        self, store: Store, engine: Engine, clock: ManualClock, boom: Boom
    ) -> None:
        """Attempts 1, 2, 3, 4 wait base, twice, four times, then the cap."""
        relay = OutboxRelay(engine, max_attempts=5, base_delay=BASE, max_delay=BASE * 5)
        _decide(engine, "INC-BOOM", incident="BOOM")
        boom.armed = True
        boom_id = message_id("INC-BOOM", 4, "boom")
        waits = []
        for _ in range(4):
            before = clock.now()
            assert relay.run_once().failed == 1
            message = next(m for m in store.outbox("INC-BOOM") if m.id == boom_id)
            assert message.next_attempt_at is not None
            waits.append(message.next_attempt_at - before)
            clock.set(message.next_attempt_at)

        last = relay.run_once()

        assert waits == [BASE, BASE * 2, BASE * 4, BASE * 5]
        assert last == RelayReport(dead=1)

    def test_an_operator_requeues_a_dead_message(
        self, store: Store, engine: Engine, relay: OutboxRelay, clock: ManualClock, boom: Boom
    ) -> None:
        """Once the cause is fixed, a requeued dead message is applied by the next run."""
        _decide(engine, "INC-BOOM", incident="BOOM")
        boom.armed = True
        for _ in range(3):
            relay.run_once()
            clock.advance(BASE * 4)
        boom_id = message_id("INC-BOOM", 4, "boom")
        assert [m.id for m in relay.dead_messages()] == [boom_id]
        boom.armed = False

        requeued = relay.requeue(boom_id)
        again = relay.requeue(boom_id)
        report = relay.run_once()

        assert (requeued, again) == (True, False)
        assert report == RelayReport(rejected=1)  # the test's harmless step is unknown
        assert relay.dead_messages() == ()
        assert _outcomes(store, "INC-BOOM")["coupling.boom"] == "rejected:unknown_trigger"


class TestUntrustedCause:
    """A message is applied only if the source case's verified trail caused it."""

    def test_a_forged_message_for_an_uncaused_reaction_is_dead(
        self, store: Store, engine: Engine, relay: OutboxRelay, clock: ManualClock
    ) -> None:
        """A candour message forged for a low-harm decision (real cause, right id) is refused."""
        _decide(engine, "INC-L", harm="low")
        genuine = store.outbox("INC-L")[0]
        body = dict(genuine.body)
        body.update({"target_case_id": candour_case_id("INC-L"), "workflow": "duty_of_candour"})
        forged = attrs.evolve(
            genuine,
            id=message_id("INC-L", 4, "open_candour_screening"),
            kind="coupling.open_candour_screening",
            body=body,
        )
        _forge(store, clock, forged)

        with capture_events() as logs:
            report = relay.run_until_idle()

        assert report == RelayReport(applied=1, dead=1)
        assert store.history(candour_case_id("INC-L")) == ()
        assert [(m.id, m.outcome) for m in relay.dead_messages()] == [
            (forged.id, "dead:untrusted_cause")
        ]
        (warning,) = [e for e in logs if e["log_level"] == "warning"]
        assert warning["event"] == "psirf_flow.outbox_message_dead"
        assert warning["reason_code"] == DeadReason.UNTRUSTED_CAUSE
        assert warning["message_id"] == forged.id
        assert set(warning) <= ALLOWED_KEYS

    @pytest.mark.parametrize(
        ("alter", "applied"),
        [
            (lambda m, e: {}, True),
            (lambda m, e: {"cause_hash": "0" * 64}, False),
            (lambda m, e: {"cause_hash": ""}, False),
            (
                lambda m, e: {
                    "cause_sequence": 3,
                    "cause_hash": e[2].hash,
                    "id": message_id("INC-1", 3, "open_learning_response"),
                    "body": {**m.body, "target_case_id": learning_response_id("INC-1", 3)},
                },
                False,
            ),
            (lambda m, e: {"cause_sequence": 99}, False),
            (
                lambda m, e: {
                    "case_id": "INC-2",
                    "id": message_id("INC-2", 4, "open_learning_response"),
                },
                False,
            ),
            (lambda m, e: {"id": "forged-1"}, False),
            (lambda m, e: {"kind": "coupling.no_such_coupling"}, False),
            (lambda m, e: {"body": {**m.body, "target_case_id": "INC-9/lr4"}}, False),
            (lambda m, e: {"body": {**m.body, "workflow": "mdt_review"}}, False),
            (lambda m, e: {"body": {**m.body, "action": "fire", "trigger": "approve"}}, False),
            (lambda m, e: {"body": {"action": "teleport"}}, False),
        ],
        ids=[
            "as-the-engine-writes-it",
            "wrong-hash",
            "no-hash",
            "entry-no-coupling-listens-to",
            "no-such-entry",
            "other-source-case",
            "not-the-derived-id",
            "unknown-coupling",
            "other-target",
            "other-workflow",
            "other-action",
            "not-a-follow-up",
        ],
    )
    def test_a_message_is_applied_only_if_its_cause_checks_out(
        self,
        store: Store,
        relay: OutboxRelay,
        clock: ManualClock,
        alter: Callable[[OutboxMessage, tuple[AuditEntry, ...]], dict[str, Any]],
        applied: bool,
    ) -> None:
        """A message written behind the engine's back applies only if it is what it would write."""
        quiet = Engine(store, clock=clock, couplings=())  # decides, writing no message
        _decide(quiet, "INC-1")
        _decide(quiet, "INC-2")
        case, entries = store.load("INC-1"), tuple(store.history("INC-1"))
        genuine = coupling_messages(
            COUPLINGS,
            case=case,
            family="intake",
            trigger="decide_response",
            sequence=4,
            now=clock.now(),
            cause_hash=entries[3].hash,
        )[0]
        message = attrs.evolve(genuine, **alter(genuine, entries))
        _forge(store, clock, message)

        report = relay.run_until_idle()

        if applied:
            assert report == RelayReport(applied=1)
            assert store.load(learning_response_id("INC-1", 4)).organisation == ORG
        else:
            assert report == RelayReport(dead=1)
            assert [(m.id, m.outcome) for m in relay.dead_messages()] == [
                (message.id, "dead:untrusted_cause")
            ]
            assert store.history(learning_response_id("INC-1", 4)) == ()
            assert store.history("INC-9/lr4") == ()

    def test_a_copy_under_the_derived_id_of_a_delivered_message_is_refused(
        self, store: Store, engine: Engine, relay: OutboxRelay, clock: ManualClock
    ) -> None:
        """The derived message id is unique: a second row for the same cause cannot be written."""
        _decide(engine, "INC-1")
        relay.run_until_idle()
        genuine = store.outbox("INC-1")[0]

        copy = attrs.evolve(genuine, delivered_at=None, outcome=None, attempts=0)

        with pytest.raises(StoreError):
            _forge(store, clock, copy)

        assert store.outbox("INC-1")[0].outcome == "applied"

    def test_a_broken_source_trail_makes_its_messages_untrusted(
        self, engine: Engine, relay: OutboxRelay
    ) -> None:
        """A message whose source case's trail no longer verifies is refused."""
        store = engine.store
        _decide(engine, "INC-1")

        _rewrite_actor(store, "INC-1", 2, "someone-else")

        report = relay.run_until_idle()

        assert report == RelayReport(dead=2)
        assert {m.outcome for m in relay.dead_messages()} == {"dead:untrusted_cause"}

    def test_the_system_acts_for_the_source_case_organisation(
        self, store: Store, engine: Engine, relay: OutboxRelay
    ) -> None:
        """Coupled cases belong to the source case's trust, and their entries name the system."""
        _decide(engine, "INC-1")

        relay.run_until_idle()

        opened = store.load(learning_response_id("INC-1", 4))
        first = store.history(opened.id)[0]
        assert opened.organisation == ORG
        assert (first.actor_id, first.role, first.organisation) == (SYSTEM_ACTOR_ID, "system", ORG)


class TestCoupledIds:
    """Coupled ids stay valid identifiers, whatever the length of the source id."""

    def test_a_125_character_intake_goes_through_the_whole_coupling(
        self,
        store: Store,
        engine: Engine,
        relay: OutboxRelay,
    ) -> None:
        """Response, candour case and findings-due step all apply with shortened, stable ids."""
        _decide(engine, LONG_ID)

        first = relay.run_until_idle()
        response_id = learning_response_id(LONG_ID, 4)
        _psii_to_approval(engine, response_id)
        second = relay.run_until_idle()

        candour = store.load(candour_case_id(LONG_ID))
        assert (first, second) == (RelayReport(applied=2), RelayReport(applied=1))
        assert store.history(candour.id)[-1].trigger == "learning_response_approved"
        assert all(len(m.id) <= 128 for m in store.outbox(LONG_ID))
        assert len(response_id) == len(candour.id) == 128
        assert candour.id == derived_id(LONG_ID, "/doc")
        assert store.load(response_id).facts["candour_case_id"] == candour.id


class TestSquattedIds:
    """A coupled case id someone else took is a rejection a person sees."""

    def test_a_squatted_candour_id_is_case_id_taken(
        self, store: Store, engine: Engine, relay: OutboxRelay
    ) -> None:
        """A person's case under ``INC-7/doc`` does not silently cancel candour screening."""
        _decide(engine, "INC-7")
        engine.open("psii", actor=PSS, case_id="INC-7/doc", payload={"incident_ids": ["I-1"]})

        with capture_events() as logs:
            report = relay.run_until_idle()

        assert report == RelayReport(applied=1, dead=1)
        assert _outcomes(store, "INC-7")["coupling.open_candour_screening"] == (
            "dead:case_id_taken"
        )
        assert [m.id for m in relay.dead_messages()] == [
            message_id("INC-7", 1, "open_candour_screening")
        ]
        assert store.load("INC-7/doc").workflow == "psii"
        warning = next(e for e in logs if e["log_level"] == "warning")
        assert (warning["reason_code"], warning["case_id"]) == ("case_id_taken", "INC-7")

    def test_a_candour_case_a_person_opened_for_the_intake_is_skipped(
        self, store: Store, engine: Engine, relay: OutboxRelay
    ) -> None:
        """Reg 20(8), §4.2: an HCP's early candour case for the intake is the one screening uses."""
        hcp = Actor("hcp-01", [Role.HEALTH_CARE_PROFESSIONAL], ORG)
        engine.open(
            "duty_of_candour",
            actor=hcp,
            case_id="INC-7/doc",
            payload={"incident_ids": ["INC-7"], "intake_case_id": "INC-7"},
        )
        _decide(engine, "INC-7")

        report = relay.run_until_idle()

        assert report == RelayReport(applied=1, skipped=1)
        assert _outcomes(store, "INC-7")["coupling.open_candour_screening"] == (
            "skipped:case_exists"
        )
        assert store.load("INC-7/doc").facts["opened_by"] == "hcp-01"

    def test_another_organisations_case_naming_the_intake_is_still_taken(
        self, store: Store, engine: Engine, relay: OutboxRelay
    ) -> None:
        """A case of another organisation naming the intake cannot stand in for its screening."""
        other = Actor("hcp-99", [Role.HEALTH_CARE_PROFESSIONAL], "QWE")
        engine.open(
            "duty_of_candour",
            actor=other,
            case_id="INC-7/doc",
            payload={"incident_ids": ["INC-7"], "intake_case_id": "INC-7"},
        )
        _decide(engine, "INC-7")

        report = relay.run_until_idle()

        assert report == RelayReport(applied=1, dead=1)
        assert _outcomes(store, "INC-7")["coupling.open_candour_screening"] == (
            "dead:case_id_taken"
        )

    def test_the_same_coupling_opening_it_first_is_a_replay(
        self, store: Store, engine: Engine, relay: OutboxRelay
    ) -> None:
        """A reaction applied before (same message id) replays; nothing is reported taken."""
        _decide(engine, "INC-7")
        message = store.outbox("INC-7")[1]
        follow_up = read_follow_up(message)
        assert follow_up is not None
        engine._apply_follow_up(
            follow_up, workflow=follow_up.workflow, organisation=ORG, idempotency_key=message.id
        )

        report = relay.run_until_idle()

        assert report == RelayReport(applied=1, replayed=1)
        assert relay.dead_messages() == ()

    def test_a_case_the_system_opened_for_another_message_is_skipped(
        self, store: Store, engine: Engine, relay: OutboxRelay
    ) -> None:
        """psirf_flow's own earlier opening (another key) is benign: ``skipped:case_exists``."""
        _decide(engine, "INC-7")
        message = store.outbox("INC-7")[0]
        follow_up = read_follow_up(message)
        assert follow_up is not None
        engine._apply_follow_up(
            follow_up, workflow=follow_up.workflow, organisation=ORG, idempotency_key="other"
        )

        report = relay.run_until_idle()

        assert report == RelayReport(applied=1, skipped=1)
        assert _outcomes(store, "INC-7")["coupling.open_candour_screening"] == (
            "skipped:case_exists"
        )


_RESERVED = [
    (Actor(SYSTEM_ACTOR_ID, [Role.PATIENT_SAFETY_SPECIALIST], ORG), None),
    (Actor("PSIRF-Flow", [Role.PATIENT_SAFETY_SPECIALIST], ORG), None),
    (Actor("pss-09", [Role.PATIENT_SAFETY_SPECIALIST, Role.SYSTEM], ORG), None),
    (Actor("pss-09", [Role.SYSTEM], ORG), None),
    (PSS, Role.SYSTEM),
]
_RESERVED_IDS = ["system-id", "system-id-other-case", "holds-system", "only-system", "as-system"]


class TestReservedIdentity:
    """Host code can neither use the relay's id nor the system role."""

    @pytest.mark.parametrize(("actor", "role"), _RESERVED, ids=_RESERVED_IDS)
    def test_opening_as_the_system_is_refused(
        self, store: Store, engine: Engine, actor: Actor, role: Role | None
    ) -> None:
        """Opening a candour case as psirf_flow is refused and writes nothing."""
        with pytest.raises(ReservedIdentity) as refused:
            engine.open(
                "duty_of_candour",
                actor=actor,
                role=role,
                case_id="DOC-1",
                payload={"incident_ids": ["I-1"], "intake_case_id": "INC-1"},
                idempotency_key="k-1",
            )

        assert (refused.value.code, refused.value.reason_code) == ("PSF209", "reserved_identity")
        assert (refused.value.case_id, refused.value.trigger) == ("DOC-1", "open")
        assert store.list_cases(CaseQuery()).items == ()
        assert store.find_idempotency("k-1") is None

    @pytest.mark.parametrize(("actor", "role"), _RESERVED, ids=_RESERVED_IDS)
    def test_firing_as_the_system_is_refused(
        self, store: Store, engine: Engine, relay: OutboxRelay, actor: Actor, role: Role | None
    ) -> None:
        """Firing the system's own step on a candour case as psirf_flow is refused."""
        _decide(engine, "INC-1")
        relay.run_until_idle()
        doc = candour_case_id("INC-1")
        before = store.load(doc)

        with pytest.raises(ReservedIdentity) as refused:
            engine.fire(
                doc,
                "learning_response_approved",
                actor=actor,
                role=role,
                payload={"learning_response_id": "X", "learning_response_approved_ref": "R"},
            )

        assert (refused.value.case_id, refused.value.trigger) == (
            doc,
            "learning_response_approved",
        )
        assert store.load(doc) == before
        assert len(store.history(doc)) == before.version


class _FailingStore(InMemoryStore):
    """An in-memory store that fails on demand while the relay reads a source case."""

    def __init__(self) -> None:
        super().__init__()
        self.history_error: Exception | None = None
        self.defer_error: Exception | None = None
        self.stale_loads = 0
        self.conflicts = 0

    def commit(self, change: Change) -> None:
        """Commit, or report a concurrent change of the case while ``conflicts`` lasts."""
        if self.conflicts > 0 and change.case.id == learning_response_id("INC-1", 4):
            self.conflicts -= 1
            raise ConcurrencyConflict(change.case.id, 0)
        super().commit(change)

    def history(self, case_id: str) -> Sequence[AuditEntry]:
        """The trail, or the chosen error for the intake ``INC-1``."""
        if case_id == "INC-1" and self.history_error is not None:
            raise self.history_error
        return super().history(case_id)

    def load(self, case_id: str) -> Case:
        """The case, one version behind its trail while ``stale_loads`` lasts."""
        case = super().load(case_id)
        if case_id == "INC-1" and self.stale_loads > 0:
            self.stale_loads -= 1
            return attrs.evolve(case, version=case.version - 1)
        return case

    def defer_outbox(self, message_id: str, *, until: datetime, reason: str) -> bool:
        """Defer, or raise the chosen error."""
        if self.defer_error is not None:
            raise self.defer_error
        return super().defer_outbox(message_id, until=until, reason=reason)


class TestFailures:
    """Store failures while delivering are counted, typed and isolated (in-memory store)."""

    @pytest.fixture(name="failing")
    def _failing(self) -> _FailingStore:
        return _FailingStore()

    @pytest.fixture(name="relay_on")
    def _relay_on(self, failing: _FailingStore, clock: ManualClock) -> OutboxRelay:
        engine = Engine(failing, clock=clock)
        _decide(engine, "INC-1")
        _decide(engine, "INC-2")
        return OutboxRelay(engine, max_attempts=2, base_delay=BASE, max_delay=BASE)

    @pytest.mark.parametrize(
        "failure",
        [
            (StoreUnavailable("sqlite:///x", "gone"), "dead:store_unavailable", "PSF401"),
            (CorruptRecord("INC-1", "its row is malformed"), "dead:store_error", "PSF403"),
            (StoreError("the store failed"), "dead:store_error", "PSF400"),
            (AuditChainBroken("INC-1", 2, "altered"), "dead:unexpected_error", "PSF500"),
            (KeyError("INC-1"), "dead:unexpected_error", None),
        ],
        ids=["unavailable", "corrupt", "store-error", "other-library-error", "bug"],
    )
    def test_a_failing_read_is_retried_then_dead_with_its_type(
        self,
        failing: _FailingStore,
        relay_on: OutboxRelay,
        clock: ManualClock,
        failure: tuple[Exception, str, str | None],
    ) -> None:
        """Each kind of failure has its dead reason; the other intake's messages still apply."""
        error, outcome, error_code = failure
        failing.history_error = error

        with capture_events() as logs:
            first = relay_on.run_once()
            clock.advance(BASE)
            second = relay_on.run_once()

        assert (first, second) == (RelayReport(applied=2, failed=2), RelayReport(dead=2))
        assert {m.outcome for m in relay_on.dead_messages()} == {outcome}
        codes = {e.get("error_code") for e in logs if e["log_level"] == "warning"}
        assert codes == {error_code}

    def test_a_failure_to_record_the_attempt_leaves_the_message_due(
        self, failing: _FailingStore, relay_on: OutboxRelay
    ) -> None:
        """If even counting the attempt fails, the message stays due and the run goes on."""
        failing.history_error = StoreUnavailable("sqlite:///x", "gone")
        failing.defer_error = StoreUnavailable("sqlite:///x", "gone")

        with capture_events() as logs:
            report = relay_on.run_once()

        assert report == RelayReport(applied=2, retry=2)
        assert [m.attempts for m in failing.pending_outbox(10)] == [0, 0]
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
            "psirf_flow.outbox_message_failed"
        ] * 2

    def test_a_trail_read_during_a_commit_is_read_again(
        self, failing: _FailingStore, relay_on: OutboxRelay
    ) -> None:
        """A case read one commit behind its trail is read again before being judged."""
        failing.stale_loads = 1

        assert relay_on.run_once() == RelayReport(applied=4)

    def test_a_case_that_keeps_moving_is_left_for_the_next_run(
        self, failing: _FailingStore, relay_on: OutboxRelay
    ) -> None:
        """A trail never read consistently is a conflict, not a forgery: the message waits."""
        failing.stale_loads = 100

        report = relay_on.run_once()

        assert report == RelayReport(applied=2, retry=2)
        assert relay_on.dead_messages() == ()

    def test_a_message_naming_no_stored_case_is_untrusted(
        self, failing: _FailingStore, relay_on: OutboxRelay, clock: ManualClock
    ) -> None:
        """A message whose source case does not exist is dead, never applied."""
        genuine = failing.outbox("INC-1")[0]
        _forge(failing, clock, attrs.evolve(genuine, id="forged-1", case_id="INC-404"))

        report = relay_on.run_until_idle()

        assert report == RelayReport(applied=4, dead=1)
        assert [m.id for m in relay_on.dead_messages()] == ["forged-1"]

    def test_other_messages_are_not_couplings(
        self, failing: _FailingStore, relay_on: OutboxRelay, clock: ManualClock
    ) -> None:
        """A message of another kind is skipped by the coupling relay, as before."""
        notice = OutboxMessage("n-1", "INC-1", "test.notice", {"case": "INC-1"}, clock.now())
        _forge(failing, clock, notice)

        report = relay_on.run_until_idle()

        assert report == RelayReport(applied=4, skipped=1)
        every = [m for c in failing.list_cases(CaseQuery()).items for m in failing.outbox(c.id)]
        assert [m.outcome for m in every if m.id == "n-1"] == ["skipped:not_a_coupling"]

    def test_at_least_one_attempt_is_required(self, failing: _FailingStore) -> None:
        """A relay allowed no attempt at all is a configuration mistake."""
        with pytest.raises(ValueError, match="max_attempts"):
            OutboxRelay(Engine(failing, clock=ManualClock()), max_attempts=0)

    def test_a_concurrent_change_leaves_the_message_pending_uncounted(
        self, failing: _FailingStore, relay_on: OutboxRelay
    ) -> None:
        """A conflict is not a failure: no attempt is counted and the next run applies it."""
        failing.conflicts = 1

        first = relay_on.run_once()
        second = relay_on.run_once()

        assert (first, second) == (RelayReport(applied=3, retry=1), RelayReport(applied=1))
        message = failing.outbox("INC-1")[0]
        assert (message.outcome, message.attempts, message.last_error) == ("applied", 1, None)


def test_findings_for_a_candour_case_that_never_opened_are_rejected() -> None:
    """A fire on a case that does not exist is ``rejected:case_not_found`` for a person."""
    without_candour = tuple(c for c in COUPLINGS if c.name != "open_candour_screening")
    engine = Engine(InMemoryStore(), clock=ManualClock(), couplings=without_candour)
    relay = OutboxRelay(engine)
    _decide(engine, "INC-1")
    relay.run_until_idle()
    response_id = learning_response_id("INC-1", 4)
    _psii_to_approval(engine, response_id)

    report = relay.run_until_idle()

    assert report == RelayReport(rejected=1)
    assert [m.outcome for m in engine.store.outbox(response_id)] == ["rejected:case_not_found"]


def test_the_wait_never_overflows() -> None:
    """A very late attempt waits the longest wait, however large the doubling would be."""
    relay = OutboxRelay(
        Engine(InMemoryStore(), clock=ManualClock()),
        max_attempts=100,
        base_delay=timedelta(days=1),
        max_delay=timedelta(days=2),
    )

    assert relay._delay(1) == timedelta(days=1)
    assert relay._delay(5_000) == timedelta(days=2)


@pytest.mark.parametrize(
    ("settings", "argument"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 101}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"base_delay": timedelta(0)}, "base_delay"),
        ({"max_delay": 30}, "max_delay"),
    ],
    ids=["no-attempts", "too-many", "a-flag", "no-wait", "not-a-timedelta"],
)
def test_relay_settings_out_of_range_are_refused(settings: dict[str, Any], argument: str) -> None:
    """Attempts outside 1..100 and waits that are not positive durations are refused."""
    with pytest.raises(InvalidInput) as refused:
        OutboxRelay(Engine(InMemoryStore(), clock=ManualClock()), **settings)

    assert refused.value.argument == argument
