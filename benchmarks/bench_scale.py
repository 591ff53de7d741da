"""Scale on PostgreSQL: listing and the people-facing queries at 1M cases, and a trust's decade.

Both benchmarks bulk-load a fresh database with :mod:`_bulk` (valid cases cloned from real
lives, COPY; the load time and rate are printed as a setup figure, not compared), then time
what people wait for against raw SQL doing the equivalent query in the same run
(psycopg, one statement, rows fetched; no decoding into records).

``listing`` (in ``make bench``):

* keyset listing, ``Engine.list_cases`` pages of 100 read by a system reader (every
  organisation, ordered by id) at the first page, 1,000 pages deep (or half-way when there
  are fewer) and the last page. Anchors at the same depths: the raw keyset query
  (``WHERE id > :after ORDER BY id LIMIT``) and the raw ``OFFSET`` query, which is what
  keyset avoids. Target: last page / first page ≤ 1.5x.
* one organisation's list (a person of that organisation: ``organisation IN (...)``),
  first and last page, beside the raw ``(organisation, id) > (...)`` keyset query.
* overdue (``reports.overdue`` for one organisation), caseload (``reports.caseload`` of one
  learning response lead) and the oversight summary (``reports.oversight_summary`` for one
  organisation over a year), each beside its raw-SQL equivalent.

``ics`` (``make bench-ics``; not in ``make test``): a large trust's decade by default,
1,000,000 cases and about 5,000,000 audit entries over 40 organisations; times ``fire`` on a
loaded open case, caseload, overdue, a board report (what ``psirf-flow report`` computes for
one organisation over a year), ``verify`` of one closed PSII, one sweep pass firing the
due tiers (about 200; one run, it consumes them) and idle sweeps after it. Prints the load
time and ``pg_database_size``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from _bulk import NOW, READER, LoadReport, Mix, database, lead_of, load, organisation
from _harness import Ratio, Result, Row, interleave
from _workload import quiet_logging

from psirf_flow import Actor, Engine, Role, Sweeper, reports
from psirf_flow.ports import CaseQuery
from psirf_flow.testing import ManualClock


__all__ = ["ics", "listing"]

PG_URL_ENV = "PSIRF_FLOW_BENCH_PG_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PAGE = 100
DEEP_PAGES = 1_000
_RUNNING = ("open", "paused")


def _target() -> str:
    return os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)


def _unavailable(url: str) -> str | None:
    try:
        import psycopg
        import sqlalchemy as sa
    except ImportError as error:
        return f"psycopg or SQLAlchemy is not installed ({error})"
    server = sa.make_url(url)
    try:
        libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(libpq, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        shown = server.render_as_string(hide_password=True)
        return f"cannot reach {shown} ({type(error).__name__}: {str(error).strip()[:120]})"
    return None


def _raw(url: Any) -> Any:
    import psycopg

    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, autocommit=True)


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _load_notes(result: Result, report: LoadReport) -> None:
    result.params["load_s"] = round(report.seconds, 1)
    result.params["load_rows_per_s"] = round(report.rows_per_second)
    result.params["database_mib"] = round(report.database_bytes / 2**20, 1)
    result.params["rows"] = report.rows
    result.notes.append(
        f"setup: {report.total_rows:,} rows loaded in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s: {report.templates} template lives run "
        f"{report.template_seconds:.1f} s, COPY {report.copy_seconds:.1f} s, "
        f"VACUUM ANALYZE {report.analyse_seconds:.1f} s); database "
        f"{report.database_bytes / 2**20:,.0f} MiB"
    )


# ------------------------------------------------------------------ listing


def _cursor_at(connection: Any, pages: int, org: str | None = None) -> str | None:
    """The ``after`` cursor that starts page ``pages + 1`` (None for the first page)."""
    if pages <= 0:
        return None
    where = "" if org is None else "WHERE organisation = %s"
    params: tuple[object, ...] = () if org is None else (org,)
    row = connection.execute(
        f"SELECT id FROM cases {where} ORDER BY id OFFSET %s LIMIT 1",
        (*params, pages * PAGE - 1),
    ).fetchone()
    return None if row is None else str(row[0])


def listing(cases: int = 100_000, reps: int = 5, organisations: int = 40) -> Result:
    """Keyset pages at growing depth, and the overdue, caseload and oversight queries."""
    url = _target()
    result = Result(
        name="scale_listing",
        title=f"PostgreSQL at {cases:,} cases over {organisations} organisations: listing "
        f"and the people-facing queries, median of {reps}",
        params={"cases": cases, "reps": reps, "organisations": organisations, "page": PAGE},
    )
    reason = _unavailable(url)
    if reason is not None:
        result.skipped.append(f"PostgreSQL: {reason}")
        return result
    mix = _mix(cases, organisations)
    with quiet_logging(), database(url) as db:
        report = load(db, mix)
        _load_notes(result, report)
        _listing_runs(result, db, mix, reps)
    for depth in ("deep", "last"):
        result.add_ratio(
            Ratio(
                f"list_cases page {depth} / first page",
                f"list_{depth}",
                "list_first",
                1.5 if depth == "last" else None,
                "<=",
                "≤ 1.5x" if depth == "last" else "",
            )
        )
    result.add_ratio(Ratio("raw OFFSET last / raw keyset last", "offset_last", "keyset_last"))
    result.add_ratio(Ratio("one organisation's last / first page", "org_last", "org_first"))
    for key in ("list_first", "list_last", "org_last", "overdue", "caseload", "oversight"):
        anchor = {
            "list_first": "keyset_first",
            "list_last": "keyset_last",
            "org_last": "org_keyset_last",
        }.get(key, f"{key}_raw")
        result.add_ratio(Ratio(f"{key} / raw SQL", key, anchor))
    return result


def _mix(cases: int, organisations: int) -> Mix:
    orgs = max(1, min(organisations, cases // 50))
    return Mix(
        cases=cases,
        organisations=orgs,
        dates=20 if cases >= 100_000 else 2,
        due=min(200, max(1, cases // 20)),
        leads=max(1, min(40, cases // (orgs * 100))),
    )


def _listing_runs(result: Result, db: Any, mix: Mix, reps: int) -> None:
    from psirf_flow.store.sql import SqlStore

    org = organisation(0)
    lead = lead_of(org, 0)
    person = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], org)
    store = SqlStore.open(db)
    engine = Engine(store, clock=ManualClock(NOW))
    since, until = NOW - timedelta(days=365), NOW
    with contextlib.closing(_raw(db)) as raw:
        total_pages = -(-mix.cases // PAGE)
        deep = min(DEEP_PAGES, total_pages // 2)
        cursors = {
            "first": None,
            "deep": _cursor_at(raw, deep),
            "last": _cursor_at(raw, total_pages - 1),
        }
        org_cases = raw.execute("SELECT count(*) FROM cases WHERE organisation = %s", (org,))
        org_pages = -(-int(org_cases.fetchone()[0]) // PAGE)
        org_last = _cursor_at(raw, org_pages - 1, org)
        result.params["depth_pages"] = {"deep": deep, "last": total_pages - 1, "org": org_pages}

        def keyset(after: str | None) -> Callable[[], object]:
            if after is None:
                sql, params = "SELECT * FROM cases ORDER BY id LIMIT %s", (PAGE + 1,)
            else:
                sql, params = (
                    "SELECT * FROM cases WHERE id > %s ORDER BY id LIMIT %s",
                    (after, PAGE + 1),
                )
            return lambda: raw.execute(sql, params).fetchall()

        def offset(pages: int) -> Callable[[], object]:
            return lambda: raw.execute(
                "SELECT * FROM cases ORDER BY id OFFSET %s LIMIT %s", (pages * PAGE, PAGE + 1)
            ).fetchall()

        def listed(after: str | None, reader: Any = READER) -> Callable[[], object]:
            return lambda: engine.list_cases(CaseQuery(limit=PAGE, after=after), reader=reader)

        running = list(_RUNNING)
        plan: dict[str, tuple[str, str, Callable[[], object]]] = {
            "list_first": ("Engine.list_cases, first page", "ms/page", listed(None)),
            "list_deep": (
                f"Engine.list_cases, page {deep + 1}",
                "ms/page",
                listed(cursors["deep"]),
            ),
            "list_last": (
                f"Engine.list_cases, last page ({total_pages})",
                "ms/page",
                listed(cursors["last"]),
            ),
            "keyset_first": ("raw keyset, first page", "ms/page", keyset(None)),
            "keyset_deep": (f"raw keyset, page {deep + 1}", "ms/page", keyset(cursors["deep"])),
            "keyset_last": ("raw keyset, last page", "ms/page", keyset(cursors["last"])),
            "offset_deep": (f"raw OFFSET, page {deep + 1}", "ms/page", offset(deep)),
            "offset_last": ("raw OFFSET, last page", "ms/page", offset(total_pages - 1)),
            "org_first": (
                f"one organisation's list (a person of {org}), first page",
                "ms/page",
                listed(None, person),
            ),
            "org_last": (
                f"one organisation's list, last page ({org_pages})",
                "ms/page",
                listed(org_last, person),
            ),
            "org_keyset_last": (
                "raw keyset (organisation, id), last page",
                "ms/page",
                lambda: raw.execute(
                    "SELECT * FROM cases WHERE organisation = %s AND id > %s "
                    "ORDER BY organisation, id LIMIT %s",
                    (org, org_last or "", PAGE + 1),
                ).fetchall(),
            ),
            "overdue": (
                f"reports.overdue, {org}",
                "ms/query",
                lambda: reports.overdue(engine, reader=READER, now=NOW, organisation=org),
            ),
            "overdue_raw": (
                "raw SQL: running deadlines due by now, one organisation",
                "ms/query",
                lambda: raw.execute(
                    "SELECT * FROM deadlines WHERE organisation = %s AND status = ANY(%s) "
                    "AND due_at <= %s ORDER BY due_at, case_id, kind, cycle",
                    (org, running, NOW),
                ).fetchall(),
            ),
            "caseload": (
                f"reports.caseload of one lead ({lead})",
                "ms/query",
                lambda: reports.caseload(engine, lead, reader=READER, now=NOW),
            ),
            "caseload_raw": (
                "raw SQL: the lead's running deadlines joined to their cases",
                "ms/query",
                lambda: raw.execute(
                    "SELECT d.*, c.* FROM deadlines d JOIN cases c ON c.id = d.case_id "
                    "WHERE d.owner = %s AND d.status = ANY(%s) ORDER BY d.due_at",
                    (lead, running),
                ).fetchall(),
            ),
            "oversight": (
                f"reports.oversight_summary, {org}, one year",
                "ms/query",
                lambda: reports.oversight_summary(
                    engine, reader=READER, since=since, until=until, now=NOW, organisation=org
                ),
            ),
            "oversight_raw": (
                "raw SQL: cases by workflow and state, and the trails touched in the year",
                "ms/query",
                lambda: (
                    raw.execute(
                        "SELECT workflow, state, count(*) FROM cases WHERE organisation = %s "
                        "GROUP BY workflow, state",
                        (org,),
                    ).fetchall(),
                    raw.execute(
                        "SELECT e.* FROM cases c JOIN audit_entries e ON e.case_id = c.id "
                        "WHERE c.organisation = %s AND c.updated_at >= %s "
                        "ORDER BY e.case_id, e.sequence",
                        (org, since),
                    ).fetchall(),
                ),
            ),
        }
        result.rows = [Row(key, label, unit) for key, (label, unit, _) in plan.items()]
        rows = {row.key: row for row in result.rows}

        def run_one(key: str) -> None:
            rows[key].runs.append(_time(plan[key][2]) * 1e3)

        interleave(reps, plan, run_one, label="listing")
        result.params["overdue_rows"] = len(
            reports.overdue(engine, reader=READER, now=NOW, organisation=org)
        )
        result.params["caseload_cases"] = len(
            reports.caseload(engine, lead, reader=READER, now=NOW)
        )
    store.dispose()


# ------------------------------------------------------------------ ics


def ics(cases: int = 1_000_000, reps: int = 5, organisations: int = 40) -> Result:
    """A large trust's decade: load it, then time the operations people wait for."""
    url = _target()
    result = Result(
        name="scale_ics",
        title=f"Trust-to-ICS scale on PostgreSQL: {cases:,} cases over {organisations} "
        f"organisations, median of {reps}",
        params={"cases": cases, "reps": reps, "organisations": organisations},
    )
    reason = _unavailable(url)
    if reason is not None:
        result.skipped.append(f"PostgreSQL: {reason}")
        return result
    mix = _mix(cases, organisations)
    with quiet_logging(), database(url) as db:
        print(f"  ics: loading {cases:,} cases ...", file=sys.stderr, flush=True)
        report = load(db, mix, progress=lambda text: print(f"  ics: {text}", file=sys.stderr))
        _load_notes(result, report)
        _ics_runs(result, db, report, reps)
    result.notes.append(
        "an idle sweep pass is one claim statement that finds nothing: compare it with the "
        "SELECT 1 round trip beside it"
    )
    return result


def _ics_runs(result: Result, db: Any, report: LoadReport, reps: int) -> None:
    from psirf_flow.store.sql import SqlStore

    org = organisation(0)
    lead = lead_of(org, 0)
    store = SqlStore.open(db)
    engine = Engine(store, clock=ManualClock(NOW))
    open_cases = iter(report.samples["psii_open"] * reps)
    engagement = Actor("eng-1", [Role.ENGAGEMENT_LEAD], org)
    fired = iter(range(10**6))
    closed = report.samples["psii_closed"][0]

    def fire() -> object:
        return engine.fire(
            next(open_cases),
            "record_engagement",
            actor=engagement,
            payload={
                "person_id": f"fam-{next(fired)}",
                "person_kind": "family_member",
                "engagement": "involved",
                "contact_attempts": 1,
            },
        )

    with contextlib.closing(_raw(db)) as raw:
        plan: dict[str, tuple[str, str, Callable[[], object]]] = {
            "fire": ("Engine.fire on a loaded open PSII (record_engagement)", "ms", fire),
            "caseload": (
                f"reports.caseload of one lead ({lead})",
                "ms",
                lambda: reports.caseload(engine, lead, reader=READER, now=NOW),
            ),
            "overdue": (
                f"reports.overdue, {org}",
                "ms",
                lambda: reports.overdue(engine, reader=READER, now=NOW, organisation=org),
            ),
            "board": (
                f"board report, {org}, one year (what psirf-flow report computes)",
                "ms",
                lambda: _board(engine, org),
            ),
            "verify": (
                "Engine.verify, one closed PSII (26 entries)",
                "ms",
                lambda: engine.verify(closed, reader=READER),
            ),
            "round_trip": (
                "SELECT 1 round trip (anchor)",
                "ms",
                lambda: raw.execute("SELECT 1").fetchone(),
            ),
        }
        result.rows = [Row(key, label, unit) for key, (label, unit, _) in plan.items()]
        rows = {row.key: row for row in result.rows}

        def run_one(key: str) -> None:
            rows[key].runs.append(_time(plan[key][2]) * 1e3)

        interleave(reps, plan, run_one, label="ics")
        sweeper = Sweeper(engine, claimant="bench-scale-sweeper")
        swept: list[Any] = []
        sweep_row = Row(
            "sweep",
            f"one sweep pass firing the due tiers ({report.cases_by_shape['psii_due']} due)",
            "ms",
        )
        sweep_row.runs.append(_time(lambda: swept.append(sweeper.sweep(NOW))) * 1e3)
        idle = Row("sweep_idle", "a sweep pass with nothing due (after it)", "ms")
        for _ in range(reps):
            idle.runs.append(_time(lambda: sweeper.sweep(NOW)) * 1e3)
        result.rows += [sweep_row, idle]
        result.params["sweep"] = swept[0].summary()
        result.notes.append(
            "the first sweep runs once (it fires what is due); its figure is one run, "
            f"{statistics.mean(sweep_row.runs) / max(1, swept[0].fired):.2f} ms per tier fired"
        )
    store.dispose()


def _board(engine: Engine, org: str) -> object:
    """What ``psirf-flow report`` computes for one organisation over a year."""
    since = NOW - timedelta(days=365)
    return (
        reports.oversight_summary(
            engine, reader=READER, since=since, until=NOW, now=NOW, organisation=org
        ),
        reports.overdue(engine, reader=READER, now=NOW, organisation=org),
        reports.due_soon(engine, reader=READER, now=NOW, within=5, organisation=org),
        reports.candour_timeliness(engine, reader=READER, since=since, until=NOW, organisation=org),
        reports.safety_actions(engine, reader=READER, now=NOW, organisation=org),
    )
