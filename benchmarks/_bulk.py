"""Bulk-load a PostgreSQL database with a large trust's decade of valid cases, fast (COPY).

The rows are not invented: a handful of **template lives** are run through the real engine
(``Engine.open`` / ``Engine.fire`` on an ``InMemoryStore`` with a ``ManualClock``, the
sweeper and the outbox relay where a life needs them), one set per organisation and start
date. Each template is then **cloned** under fresh case ids. Only the case id changes
between clones of a template, so everything else (facts, payloads, deadlines, the case
digest, which does not cover the id) is copied as it is, and each entry's hash is
recomputed for its clone: the entry's canonical bytes (RFC 8785, as
``audit.entries.canonical_bytes`` writes them) are split once per template entry around
its ``case_id`` and ``previous_hash``, and every clone hashes ``prefix + id + middle +
previous hash + suffix``. The first clone of every template is checked against the
library's own ``expected_hash``, so a template the splitting got wrong stops the load.
The loaded cases verify (``Engine.verify``), and their rows match their head entries, so
``fire``, ``verify`` and the sweeper work on them.

The mixture (:class:`Mix`): mostly closed incident intakes (four entries each: reported,
review begun, triage recorded, no further response), closed PSIIs (26 entries; some that
ran late, with the breach tier fired by the sweeper and its notification delivered by the
relay, so the outbox holds delivered rows), open intakes under review, open PSIIs with a
lead assigned (their deadline rows open and not due) and exactly ``due`` open PSIIs whose
response target has passed and whose breach tier is pending: what one sweep must fire.
Cases are spread over ``organisations`` and, for closed ones, over start dates across ten
years before :data:`NOW`. Open PSIIs get one lead per template, so a lead's caseload is a
few tens of cases.

Generation streams: rows go to one ``COPY`` per table (six connections, written in turns),
in blocks; memory is bounded by the templates. Foreign-key triggers are off during the
load (``session_replication_role = replica``, superuser only: the rows reference each other
correctly by construction), then every table is analysed.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from psirf_flow import Actor, Engine, InMemoryNotifier, InMemoryStore, Role, Sweeper
from psirf_flow.audit import GENESIS_HASH, AuditEntry
from psirf_flow.audit.entries import canonical_bytes, expected_hash
from psirf_flow.domain import Case, SystemReader, check_identifier
from psirf_flow.ports import CaseQuery
from psirf_flow.relay import OutboxRelay
from psirf_flow.store.sql import mapping, schema
from psirf_flow.testing import ManualClock


__all__ = ["NOW", "READER", "LoadReport", "Mix", "database", "lead_of", "load", "organisation"]

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
"""The instant the loaded database stands at (a Monday): the benchmarks' clock."""
READER = SystemReader("bench-scale")
"""Who reads in the scale benchmarks (every organisation)."""

_MARK_ID = "@@case-id@@"
_MARK_PREVIOUS = "@@previous-hash@@"
_BLOCK = 4_000
"""Lines buffered per table before they are written to its COPY."""


def organisation(k: int) -> str:
    """The code of organisation ``k`` (``R00`` ... ``R39``)."""
    return f"R{k:02d}"


def lead_of(org: str, k: int) -> str:
    """The id of the ``k``-th learning response lead of ``org``."""
    return f"lead-{org}-{k:03d}"


def _case_id(n: int) -> str:
    """The ``n``-th case id: 32 hex digits, as random as the engine's, but repeatable.

    Like the engine's own random ids, one that the identifier rule refuses (ten digits in
    a row that pass the NHS number check) is drawn again.
    """
    salt = 0
    while True:
        candidate = hashlib.blake2b(
            n.to_bytes(8, "big") + salt.to_bytes(2, "big"), digest_size=16
        ).hexdigest()
        if check_identifier(candidate) is None:
            return candidate
        salt += 1


@dataclass(frozen=True)
class Mix:
    """How many cases of each shape, over how many organisations and start dates."""

    cases: int
    organisations: int = 40
    dates: int = 20
    due: int = 200
    leads: int = 40
    psii_open_share: float = 0.03
    intake_open_share: float = 0.01
    psii_closed_share: float = 0.05
    psii_late_share: float = 0.005

    def counts(self) -> dict[str, int]:
        """Cases per shape; closed intakes take what the others leave."""
        shares = {
            "psii_open": self.psii_open_share,
            "intake_open": self.intake_open_share,
            "psii_closed": self.psii_closed_share,
            "psii_late": self.psii_late_share,
        }
        counts = {k: max(1, round(self.cases * v)) for k, v in shares.items()}
        counts["psii_due"] = self.due
        counts["intake_closed"] = self.cases - sum(counts.values())
        if counts["intake_closed"] < 1:
            msg = f"{self.cases} cases is too few for this mixture"
            raise ValueError(msg)
        return counts


@dataclass
class LoadReport:
    """What a load wrote and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    templates: int = 0
    template_seconds: float = 0.0
    copy_seconds: float = 0.0
    analyse_seconds: float = 0.0
    database_bytes: int = 0
    cases_by_shape: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    """A few case ids of each shape in the first organisation, for the benchmarks to act on."""

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def seconds(self) -> float:
        return self.template_seconds + self.copy_seconds + self.analyse_seconds

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else float("nan")


# ------------------------------------------------------------------ template lives


def _actors(org: str) -> dict[str, Actor]:
    return {
        "reporter": Actor("rep-1", [Role.REPORTER], org),
        "pss": Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], org),
        "lead": Actor("lead-0", [Role.LEARNING_RESPONSE_LEAD], org),
        "engagement": Actor("eng-1", [Role.ENGAGEMENT_LEAD], org),
        "peer": Actor("peer-1", [Role.PEER_REVIEWER], org),
        "senior": Actor("senior-1", [Role.SENIOR_LEADER], org),
        "exec": Actor("exec-1", [Role.EXECUTIVE_LEAD], org),
    }


Step = tuple[str, str, Mapping[str, object]]
_REVIEW: tuple[Step, ...] = (
    ("record_peer_review", "peer", {"peer_review_ref": "PR-1"}),
    ("record_expert_input", "lead", {"expert_input": "panel", "expert_ids": ["exp-1", "exp-2"]}),
    ("record_staff_accuracy_check", "lead", {"staff_accuracy_check": "confirmed"}),
    ("record_family_draft_response", "engagement", {"family_draft_response": "commented"}),
    ("agree_findings", "senior", {}),
)
_PSII_TO_CLOSE: tuple[Step, ...] = (
    (
        "record_terms_of_reference",
        "lead",
        {"terms_of_reference_ref": "TOR-1", "family_involvement_in_terms": "involved"},
    ),
    (
        "record_engagement",
        "engagement",
        {
            "person_id": "fam-1",
            "person_kind": "family_member",
            "engagement": "involved",
            "contact_attempts": 1,
        },
    ),
    ("begin_gathering", "lead", {}),
    ("hold", "exec", {"hold_reason": "external_process"}),
    ("resume", "exec", {}),
    ("complete_analysis", "lead", {}),
    ("submit_draft", "lead", {"draft_ref": "DRAFT-1"}),
    *_REVIEW,
    ("request_approval", "lead", {}),
    ("return_for_rework", "exec", {"rework_reason": "factual_gaps"}),
    ("submit_draft", "lead", {"draft_ref": "DRAFT-2"}),
    *_REVIEW,
    ("request_approval", "lead", {}),
    ("approve", "exec", {"report_ref": "REP-1"}),
    ("share", "engagement", {"family_sharing": "shared", "shared_with_staff": True}),
    ("close", "pss", {"no_actions_rationale": "no_new_learning"}),
)


@dataclass
class _Template:
    """One real life, ready to clone: its rows with the case id left out."""

    shape: str
    case: Case
    entries: tuple[AuditEntry, ...]
    pieces: list[tuple[str, str, str]]
    """Per entry: its canonical bytes before the case id, between id and previous hash,
    after the previous hash (latin-1 text, so that concatenation stays cheap)."""
    entry_lines: list[tuple[str, str]]
    """Per entry: the COPY line's columns before ``case_id`` ... after ``hash``."""
    case_line: tuple[str, str]
    deadline_lines: list[str]
    escalation_lines: list[str]
    outbox_lines: list[tuple[str, int]]
    """Per message: its line (``{id}`` and ``{cause}`` to fill in) and its cause's sequence."""
    link_lines: list[str]
    template_id: str
    checked: bool = False


def _incident(org: str, tid: str) -> str:
    """The incident id of a template life (it must not contain the template's case id)."""
    return f"INC-{org}-{tid[3:]}"


def _life(shape: str, org: str, start: datetime, tid: str, lead: str) -> tuple[Engine, str]:
    """Run one life of ``shape`` in a fresh in-memory engine; return it and the case id."""
    clock = ManualClock(start)
    engine = Engine(InMemoryStore(), clock=clock)
    who = _actors(org)
    who["lead"] = Actor(lead, [Role.LEARNING_RESPONSE_LEAD], org)
    incident = _incident(org, tid)

    def fire(trigger: str, actor: str, payload: Mapping[str, object], gap: timedelta) -> None:
        clock.advance(gap)
        engine.fire(tid, trigger, actor=who[actor], payload=payload)

    if shape.startswith("intake"):
        engine.open(
            "incident_intake",
            actor=who["reporter"],
            case_id=tid,
            payload={
                "incident_id": incident,
                "lfpse_ref": f"LFPSE-{incident[4:]}",
                "physical_harm": "low",
                "psychological_harm": "none",
            },
        )
        fire("begin_review", "pss", {}, timedelta(hours=20))
        if shape == "intake_closed":
            fire("record_triage", "pss", {"plan_ref": f"plan-{org}@1"}, timedelta(days=1))
            fire(
                "decide_no_further_response",
                "pss",
                {"no_response_rationale": "no_new_learning"},
                timedelta(days=2),
            )
        return engine, tid
    engine.open(
        "psii",
        actor=who["pss"],
        case_id=tid,
        payload={
            "incident_ids": [incident],
            "involved_staff_ids": ["staff-7", "staff-9"],
            "basis": "national_requirement",
        },
    )
    fire(
        "assign_lead",
        "pss",
        {"lead_id": lead, "engagement_lead_id": "eng-1"},
        timedelta(days=1),
    )
    if shape in {"psii_open", "psii_due"}:
        fire("record_terms_of_reference", "lead", dict(_PSII_TO_CLOSE[0][2]), timedelta(days=3))
        return engine, tid
    gap = timedelta(days=6 if shape == "psii_late" else 2)
    for trigger, actor, payload in _PSII_TO_CLOSE:
        if shape == "psii_late" and trigger == "approve":
            # Past the response target: the sweeper fires the breach tier and the relay
            # delivers its notification before the report is approved (which meets it).
            Sweeper(engine, claimant="bulk-sweeper").sweep(clock.now())
            OutboxRelay(engine, notifier=InMemoryNotifier()).run_until_idle()
        fire(trigger, actor, payload, gap)
    return engine, tid


def _copy_text(value: object) -> str:
    """``value`` in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _line(values: Mapping[str, Any], columns: Sequence[str]) -> str:
    return "\t".join(_copy_text(values[c]) for c in columns)


def _columns(table: Any) -> tuple[str, ...]:
    """Every column of ``table`` in the schema's order (the order COPY writes them)."""
    return tuple(column.name for column in table.columns)


CASE_COLUMNS = _columns(schema.CASES)
ENTRY_COLUMNS = _columns(schema.AUDIT_ENTRIES)
DEADLINE_COLUMNS = _columns(schema.DEADLINES)
ESCALATION_COLUMNS = _columns(schema.ESCALATIONS)
OUTBOX_COLUMNS = _columns(schema.OUTBOX)
LINK_COLUMNS = _columns(schema.INCIDENT_LINKS)


def _split(line: str, *markers: str) -> list[str]:
    parts = [line]
    for marker in markers:
        head, found, tail = parts[-1].partition(marker)
        if not found or marker in tail:
            msg = f"the template's row does not hold {marker!r} exactly once"
            raise ValueError(msg)
        parts[-1:] = [head, tail]
    return parts


def _outbox_lines(store: InMemoryStore, case_id: str, tid: str) -> list[tuple[str, int]]:
    """The case's outbox rows as COPY lines (``{id}`` and ``{cause}`` left to fill in)."""
    outbox_lines = []
    for message in store.outbox(case_id):
        values = {**mapping.outbox_values(message), "position": 0, "cause_hash": "@@cause@@"}
        values["delivered_at"] = message.delivered_at
        values["outcome"] = message.outcome
        values["attempts"] = message.attempts
        line = _line(values, OUTBOX_COLUMNS[1:]).replace("{", "{{").replace("}", "}}")
        line = line.replace(tid, "{id}").replace("@@cause@@", "{cause}")
        outbox_lines.append((line, message.cause_sequence))
    return outbox_lines


def _template(shape: str, org: str, start: datetime, tid: str, lead: str) -> _Template:
    """Run a life and cut its rows into the pieces clones are made of."""
    engine, case_id = _life(shape, org, start, tid, lead)
    store = engine.store
    assert isinstance(store, InMemoryStore)
    listed = store.list_cases(CaseQuery(limit=10))
    if [c.id for c in listed.items] != [case_id]:
        msg = f"a {shape} life made other cases too; it cannot be cloned alone"
        raise ValueError(msg)
    case = store.load(case_id)
    entries = tuple(store.history(case_id))
    pieces = []
    entry_lines = []
    for entry in entries:
        content = entry.content()
        if tid in repr({k: v for k, v in content.items() if k != "case_id"}):
            msg = f"entry {entry.sequence} of a {shape} life names its case elsewhere"
            raise ValueError(msg)
        content["case_id"] = _MARK_ID
        content["previous_hash"] = _MARK_PREVIOUS
        text = canonical_bytes(content).decode("latin-1")
        head, middle, tail = _split(text, f'"{_MARK_ID}"', f'"{_MARK_PREVIOUS}"')
        pieces.append((head + '"', '"' + middle + '"', '"' + tail))
        values = {**mapping.audit_values(entry), "id": 0}
        values["case_id"] = _MARK_ID
        values["previous_hash"] = _MARK_PREVIOUS
        values["hash"] = "@@hash@@"
        line = _line(values, ENTRY_COLUMNS[1:])
        _, before, _, after = _split(line, _MARK_ID, "\t" + _MARK_PREVIOUS, "\t@@hash@@")
        entry_lines.append((before, after))
    if tid in case.facts.__repr__():
        msg = f"the facts of a {shape} life name its case"
        raise ValueError(msg)
    case_values = {**mapping.case_values(case), "id": _MARK_ID, "head_hash": "@@head@@"}
    case_text = _line(case_values, CASE_COLUMNS)
    _, after_id, after_head = _split(case_text, _MARK_ID, "@@head@@")
    case_line = (after_id, after_head)

    def rows(items: Sequence[Any], values: Callable[[Any], dict[str, Any]], cols: Sequence[str]):
        out = []
        for item in items:
            line = _line({**values(item), "case_id": _MARK_ID}, cols)
            out.append(line.replace(_MARK_ID, "{id}").replace("{", "{{").replace("}", "}}"))
        return [o.replace("{{id}}", "{id}") for o in out]

    deadline_lines = rows(store.deadlines(case_id), mapping.deadline_values, DEADLINE_COLUMNS)
    escalation_lines = rows(
        store.escalations(case_id), mapping.escalation_values, ESCALATION_COLUMNS
    )
    outbox_lines = _outbox_lines(store, case_id, tid)
    links = []
    for link in store.incident_links(org, [_incident(org, tid)]):
        links.append("\t".join((link.organisation, link.incident_id, "{id}", link.retention_class)))
    return _Template(
        shape=shape,
        case=case,
        entries=entries,
        pieces=pieces,
        entry_lines=entry_lines,
        case_line=case_line,
        deadline_lines=deadline_lines,
        escalation_lines=escalation_lines,
        outbox_lines=outbox_lines,
        link_lines=links,
        template_id=tid,
    )


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def _plan(mix: Mix) -> list[tuple[str, str, datetime, str, int]]:
    """(shape, organisation, start, lead, clones) for every template, clones > 0."""
    orgs = [organisation(k) for k in range(mix.organisations)]
    counts = mix.counts()
    decade = timedelta(days=3_650)
    starts = [NOW - decade + decade * (i + 0.5) / mix.dates for i in range(mix.dates)]
    # Closed lives must have ended before NOW: start them at least a year before.
    starts = [min(s, NOW - timedelta(days=365)) for s in starts]
    starts = [s.replace(hour=9, minute=0, second=0, microsecond=0) for s in starts]
    plan: list[tuple[str, str, datetime, str, int]] = []
    for shape in ("intake_closed", "psii_closed", "psii_late"):
        # A PSII life is 26 commands to run: fewer start dates for them than for intakes.
        chosen = starts if shape == "intake_closed" else starts[:: max(1, mix.dates // 5)]
        keys = [(o, s) for o in orgs for s in chosen]
        for (org, start), n in zip(keys, _spread(counts[shape], len(keys)), strict=True):
            plan.append((shape, org, start, lead_of(org, 0), n))
    keys_open = [(o, k) for o in orgs for k in range(mix.leads)]
    for (org, k), n in zip(keys_open, _spread(counts["psii_open"], len(keys_open)), strict=True):
        # Opened within the last 60 days: no deadline is due yet.
        start = NOW - timedelta(days=5 + (k * 7) % 55, hours=3)
        plan.append(("psii_open", org, start, lead_of(org, k), n))
    for org, n in zip(orgs, _spread(counts["intake_open"], len(orgs)), strict=True):
        plan.append(("intake_open", org, NOW - timedelta(days=2), lead_of(org, 0), n))
    for org, n in zip(orgs, _spread(counts["psii_due"], len(orgs)), strict=True):
        # The response target (about three months) passed a week ago; the hard cap has not.
        start = NOW - timedelta(days=100)
        plan.append(("psii_due", org, start, lead_of(org, mix.leads), n))
    return [p for p in plan if p[4] > 0]


# ------------------------------------------------------------------ the load


class _Writer:
    """Buffers COPY text lines for one table and writes them in blocks."""

    def __init__(self, copy: Any) -> None:
        self._copy = copy
        self._lines: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= _BLOCK:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            self._copy.write("\n".join(self._lines) + "\n")
            self.count += len(self._lines)
            self._lines.clear()


def _check_clone(template: _Template, case_id: str, hashes: list[str]) -> None:
    """Check the first clone of a template with the library's own hash function."""
    previous = GENESIS_HASH
    for entry, digest in zip(template.entries, hashes, strict=True):
        clone = attrs.evolve(entry, case_id=case_id, previous_hash=previous, hash=digest)
        if expected_hash(clone, None) != digest:
            msg = f"the clone of a {template.shape} entry {entry.sequence} hashes differently"
            raise AssertionError(msg)
        previous = digest
    template.checked = True


def _emit(
    template: _Template,
    case_id: str,
    writers: dict[str, _Writer],
    counters: dict[str, int],
) -> None:
    sha256 = hashlib.sha256
    previous = GENESIS_HASH
    hashes = []
    entries = writers["audit_entries"]
    for (head, middle, tail), (before, after) in zip(
        template.pieces, template.entry_lines, strict=True
    ):
        digest = sha256((head + case_id + middle + previous + tail).encode("latin-1")).hexdigest()
        counters["audit_entries"] += 1
        entries.add(f"{counters['audit_entries']}\t{case_id}{before}\t{previous}\t{digest}{after}")
        hashes.append(digest)
        previous = digest
    if not template.checked:
        _check_clone(template, case_id, hashes)
    after_id, after_head = template.case_line
    writers["cases"].add(f"{case_id}{after_id}{previous}{after_head}")
    for line in template.deadline_lines:
        writers["deadlines"].add(line.format(id=case_id))
    for line in template.escalation_lines:
        writers["escalations"].add(line.format(id=case_id))
    for line, cause in template.outbox_lines:
        counters["outbox"] += 1
        filled = line.format(id=case_id, cause=hashes[cause - 1])
        writers["outbox"].add(f"{counters['outbox']}\t{filled}")
    for line in template.link_lines:
        writers["incident_links"].add(line.format(id=case_id))


_TABLES = {
    "cases": CASE_COLUMNS,
    "audit_entries": ENTRY_COLUMNS,
    "deadlines": DEADLINE_COLUMNS,
    "escalations": ESCALATION_COLUMNS,
    "outbox": OUTBOX_COLUMNS,
    "incident_links": LINK_COLUMNS,
}


def _libpq(url: Any) -> str:
    return str(url.set(drivername="postgresql").render_as_string(hide_password=False))


def load(url: Any, mix: Mix, *, progress: Callable[[str], None] | None = None) -> LoadReport:
    """Fill the (migrated, empty) database at ``url`` with ``mix``; return what was written."""
    import psycopg

    report = LoadReport(cases_by_shape=mix.counts())
    t0 = time.perf_counter()
    templates: list[tuple[_Template, int]] = []
    for number, (shape, org, start, lead, clones) in enumerate(_plan(mix)):
        tid = f"TPL{number:05d}"
        templates.append((_template(shape, org, start, tid, lead), clones))
    report.templates = len(templates)
    report.template_seconds = time.perf_counter() - t0
    if progress:
        progress(f"{len(templates)} template lives in {report.template_seconds:.1f} s")
    counters = {"audit_entries": 0, "outbox": 0}
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        writers: dict[str, _Writer] = {}
        for table, columns in _TABLES.items():
            connection = stack.enter_context(psycopg.connect(_libpq(url), autocommit=True))
            connection.execute("SET synchronous_commit = off")
            with contextlib.suppress(psycopg.Error):
                connection.execute("SET session_replication_role = replica")
            connection.autocommit = False
            cursor = stack.enter_context(connection.cursor())
            copy = stack.enter_context(
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN")
            )
            writers[table] = _Writer(copy)
        number = 0
        for template, clones in templates:
            samples = report.samples.setdefault(template.shape, [])
            for _ in range(clones):
                case_id = _case_id(number)
                number += 1
                _emit(template, case_id, writers, counters)
                if len(samples) < 5 and template.case.organisation == organisation(0):
                    samples.append(case_id)
            if progress and number and number % 100_000 < clones:
                progress(f"{number:,} cases written")
        for writer in writers.values():
            writer.flush()
        # Leaving the stack ends each COPY; the connections then commit as they close.
    report.rows = {table: writers[table].count for table in _TABLES}
    report.copy_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(_libpq(url), autocommit=True) as connection:
        for table, serial in (("audit_entries", "id"), ("outbox", "position")):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{serial}'), "
                f"GREATEST((SELECT max({serial}) FROM {table}), 1))"
            )
        connection.execute("VACUUM ANALYZE")
        size = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        report.database_bytes = int(size[0]) if size else 0
    report.analyse_seconds = time.perf_counter() - t0
    return report


@contextlib.contextmanager
def database(server_url: str, prefix: str = "psirf_flow_bench_scale") -> Iterator[Any]:
    """A new database on the server, with the library's schema; dropped afterwards."""
    import psycopg
    import sqlalchemy as sa

    from psirf_flow.store.sql import SqlStore

    server = sa.make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name)
        SqlStore.open(url, migrate=True).dispose()
        yield url
    finally:
        with psycopg.connect(_libpq(server), autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
