"""The ``psirf-flow`` command line: migrations, audit checks, definitions, plans, reports, lessons.

Needs the ``cli`` extra (click) and, for database commands, the ``sqlalchemy`` extra.

Audit keys (for keyed trails and signed checkpoints) are read from a key file
(``--key-file``) or from the ``PSIRF_FLOW_AUDIT_KEYS`` environment variable, both holding
``{"active": "<id>", "keys": {"<id>": "<base64 key>"}}``; never from a command-line value,
which other users of the machine could read.

Exit codes ([`EXIT_CODES`][psirf_flow.cli.EXIT_CODES] maps each error class to one): 0 success; 1 an
audit trail failed verification; 2 a command was refused (``CommandRejected`` and its subclasses); 3
a definition, plan or input is invalid (``DefinitionError``, ``InvalidInput``, ``PlanError``,
``AuditKeyError``, ``CheckpointInvalid`` and every other ``PsirfFlowError``; also a demo
that cannot run outside a checkout); 4 the store failed (``StoreError`` and its subclasses:
unreachable database, wrong schema, corrupt record, busy). click's usage errors exit 2.
Database URLs are printed with any password masked ([`shown_url`][psirf_flow.cli.shown_url]).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

import attrs


try:
    import click
except ImportError as _error:
    from psirf_flow._extras import missing

    raise missing("click", needed_by="the psirf-flow command") from _error
from attrs import AttrsInstance

from psirf_flow import _inputs, lessons, reports
from psirf_flow.audit import AuditKeys, Checkpoint, CheckpointVerification
from psirf_flow.clock import SystemClock
from psirf_flow.domain import Case, SystemReader
from psirf_flow.engine import Engine
from psirf_flow.errors import (
    AuditKeyError,
    CheckpointInvalid,
    CommandRejected,
    DefinitionError,
    InvalidInput,
    PlanError,
    PlanProblem,
    PsirfFlowError,
    StoreError,
    redact,
    shown,
)
from psirf_flow.policy import Plan, load_plan_file
from psirf_flow.policy._problems import fix_for
from psirf_flow.policy.schema import plan_schema_text
from psirf_flow.policy.timing import local_date
from psirf_flow.ports import CaseQuery, Store
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.diagram import reference_markdown, to_markdown_table, to_mermaid


__all__ = ["EXIT_CODES", "exit_code_for", "main", "shown_url"]

EXIT_BROKEN: Final = 1
EXIT_REJECTED: Final = 2
EXIT_INVALID: Final = 3
EXIT_STORE: Final = 4
KEYS_ENV: Final = "PSIRF_FLOW_AUDIT_KEYS"
"""The environment variable holding the audit key ring (JSON), when no key file is given."""
_LONGEST_USAGE: Final = 300
"""The most characters of a usage error's message shown."""

_KEY_FILE = click.option(
    "--key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"A JSON audit key ring (otherwise ${KEYS_ENV}, if set).",
)

_VERIFIER: Final = SystemReader("psirf-flow-cli-verify")
"""``psirf-flow verify`` reads every organisation's cases, as a named system reader."""


EXIT_CODES: Final[tuple[tuple[type[PsirfFlowError], int, str], ...]] = (
    (CommandRejected, EXIT_REJECTED, "refused"),
    (DefinitionError, EXIT_INVALID, "invalid"),
    (StoreError, EXIT_STORE, "store error"),
    (PsirfFlowError, EXIT_INVALID, "error"),
)
"""Each error class (most specific first) and the exit code it leaves the command with;
the first class an error is an instance of decides. 1 is reserved for an audit trail
that fails verification (a finding, not an error), 0 for success."""


def exit_code_for(error: PsirfFlowError) -> int:
    """The exit code a command leaves with when ``error`` stops it (see `EXIT_CODES`).

    Args:
        error: The error that stopped the command.

    Returns:
        The code of the first class in [`EXIT_CODES`][psirf_flow.cli.EXIT_CODES] that ``error`` is
        an instance of.
    """
    return next(code for kind, code, _ in EXIT_CODES if isinstance(error, kind))


def shown_url(url: str) -> str:
    """``url`` as the command line may print it: any password replaced by ``***``.

    A SQLite file path (not a URL) is returned as given; a URL's password and any query
    parameter that may carry a secret are masked, as in the store's own error messages.

    Args:
        url: A SQLAlchemy URL or a SQLite file path, as given on the command line.

    Returns:
        The text to show.
    """
    if "://" not in url:
        return url
    import sqlalchemy as sa  # noqa: PLC0415 - optional extra
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    from psirf_flow.store.sql._errors import _shown  # noqa: PLC0415

    try:
        return _shown(sa.make_url(url))
    except (ArgumentError, ValueError):
        return "(an unreadable URL)"


def _without_secrets(text: str, url: str | None) -> str:
    """``text`` with ``url``'s password (if any) masked, wherever it appears."""
    if url is None or "://" not in url:
        return text
    import sqlalchemy as sa  # noqa: PLC0415 - optional extra
    from sqlalchemy.exc import ArgumentError  # noqa: PLC0415

    from psirf_flow.store.sql._errors import _secrets  # noqa: PLC0415

    try:
        secrets = _secrets(sa.make_url(url))
    except (ArgumentError, ValueError):
        return text.replace(url, "(an unreadable URL)")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@contextmanager
def _errors_to_exit_codes(url: str | None = None) -> Iterator[None]:
    """Turn a psirf_flow error into its one-line message on stderr and its exit code."""
    try:
        yield
    except PsirfFlowError as error:
        label = next(label for kind, _, label in EXIT_CODES if isinstance(error, kind))
        click.echo(f"{label}: {_without_secrets(str(error), url)}", err=True)
        sys.exit(exit_code_for(error))


def _definition(name: str) -> WorkflowDefinition:
    registry = DefinitionRegistry.default()
    definition = registry.latest(name)
    if definition is None:
        known = ", ".join(sorted({d.name for d in registry}))
        msg = f"no workflow called {shown(name)}; known workflows: {known}"
        raise click.BadParameter(msg, param_hint="WORKFLOW")
    return definition


class _RedactedUsage(click.Group):
    """The root group: click's own usage errors repeat no NHS number and stay short.

    click repeats a refused argument in full (``'9434765919' is not one of ...``); the
    message is redacted and cut to `_LONGEST_USAGE` characters before it is shown.
    """

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; rewrite a usage error's message first if one is raised."""
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            text = redact(error.format_message(), dates=False)
            if len(text) > _LONGEST_USAGE:
                text = text[:_LONGEST_USAGE] + "…"
            shown_instead = (
                click.UsageError(text, error.ctx)
                if isinstance(error, click.UsageError)
                else click.ClickException(text)
            )
            raise shown_instead from None


@click.group(cls=_RedactedUsage)
@click.version_option(package_name="psirf-flow")
def main() -> None:
    """Run psirf_flow's maintenance tasks from the command line."""


@main.group()
def db() -> None:
    """Create, upgrade and inspect a psirf_flow database."""


@db.command("upgrade")
@click.argument("url")
def db_upgrade(url: str) -> None:
    """Create or upgrade the schema at URL (a SQLAlchemy URL or a SQLite file path)."""
    from psirf_flow.store.sql import HEAD_REVISION, upgrade  # noqa: PLC0415 - optional extra

    with _errors_to_exit_codes(url):
        upgrade(url)
    click.echo(f"schema is at revision {HEAD_REVISION}")


@db.command("revision")
@click.argument("url")
def db_revision(url: str) -> None:
    """Show the schema revision at URL and the one this release expects (read-only)."""
    from psirf_flow.store.sql import HEAD_REVISION, make_engine  # noqa: PLC0415 - optional extra
    from psirf_flow.store.sql.migrate import _read  # noqa: PLC0415

    with _errors_to_exit_codes(url):
        engine = make_engine(url, read_only=True)
        try:
            found = _read(engine)
        finally:
            engine.dispose()
    legacy = " (in the old alembic_version table: run db upgrade)" if found.legacy else ""
    click.echo(f"url: {shown_url(url)}")
    click.echo(f"database: {found.revision or 'none (empty database)'}{legacy}")
    click.echo(f"expected: {HEAD_REVISION}")


def _read_text(path: Path, refused: type[AuditKeyError | CheckpointInvalid], what: str) -> str:
    """The UTF-8 text of ``path``, or ``refused`` naming ``what`` (never the file's text)."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        msg = f"the {what} cannot be read as UTF-8 text"
        raise refused(msg) from None


def _audit_keys(key_file: Path | None) -> AuditKeys | None:
    """The key ring from ``key_file``, else from the environment, else none."""
    if key_file is not None:
        return AuditKeys.from_json(_read_text(key_file, AuditKeyError, "key file"))
    text = os.environ.get(KEYS_ENV)
    return AuditKeys.from_json(text) if text else None


@main.command()
@click.argument("url")
@click.option("--case", "case_ids", multiple=True, help="Verify only this case (repeatable).")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also compare every case with this checkpoint (made by `psirf-flow checkpoint`).",
)
@_KEY_FILE
def verify(
    url: str, case_ids: tuple[str, ...], checkpoint_file: Path | None, key_file: Path | None
) -> None:
    """Verify the audit trail of every case (or the named cases) in the database at URL.

    The database is opened read-only: nothing is written, and a SQLite file that does not
    exist is an error (exit code 4), never created.
    """
    from psirf_flow.store.sql import SqlStore  # noqa: PLC0415 - optional extra

    broken = checked = 0
    against: CheckpointVerification | None = None
    with _errors_to_exit_codes(url):
        keys = _audit_keys(key_file)
        checkpoint = (
            Checkpoint.from_json(_read_text(checkpoint_file, CheckpointInvalid, "checkpoint file"))
            if checkpoint_file is not None
            else None
        )
        # Each --case is checked as an opaque id first, before the database is opened: a
        # refused one (a name, an NHS number) exits with code 3 and is never repeated.
        checked_ids = [_inputs.identifier("--case", c) for c in case_ids]
        store = SqlStore.open(url, read_only=True)
        engine = Engine(store, clock=SystemClock(), keys=keys)
        try:
            cases = [store.load(c) for c in checked_ids] if case_ids else _all_cases(store)
            for case in cases:
                result = engine.verify(case.id, reader=_VERIFIER)
                checked += 1
                if not result.ok:
                    broken += 1
                    click.echo(f"{case.id}: BROKEN at entry {result.first_broken}: {result.reason}")
            if checkpoint is not None:
                against = engine.verify_checkpoint(checkpoint, reader=_VERIFIER)
        finally:
            store.dispose()
    click.echo(f"{checked} case(s) verified, {broken} broken")
    if against is not None:
        _report_checkpoint(against)
    if broken or (against is not None and not against.ok):
        sys.exit(EXIT_BROKEN)


def _report_checkpoint(result: CheckpointVerification) -> None:
    for finding in result.findings:
        click.echo(f"{finding.case_id}: {finding.problem.upper()}: {finding.detail}")
    signature = {
        "valid": "its signature is valid",
        "invalid": "its signature does NOT match (the checkpoint was edited)",
        "unchecked": "its signature cannot be checked (its key was not supplied)",
    }[result.signature]
    click.echo(
        f"checkpoint: {result.checked} case(s) compared, {len(result.findings)} finding(s), "
        f"{signature}"
    )


@main.command()
@click.argument("url")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the checkpoint (JSON); keep it outside the database.",
)
@_KEY_FILE
def checkpoint(url: str, out: Path, key_file: Path | None) -> None:
    """Record every case's entry count and head hash in the database at URL, signed."""
    from psirf_flow.store.sql import SqlStore  # noqa: PLC0415 - optional extra

    # The file's name is the operator's own; it is shown without NHS-number-shaped text.
    name = redact(out.name, dates=False)
    if not out.parent.is_dir():  # found before the database is opened
        click.echo(f"error: cannot write the checkpoint to {name}: no such folder", err=True)
        sys.exit(EXIT_INVALID)
    with _errors_to_exit_codes(url):
        keys = _audit_keys(key_file)
        store = SqlStore.open(url, read_only=True)
        try:
            made = Engine(store, clock=SystemClock(), keys=keys).checkpoint(reader=_VERIFIER)
        finally:
            store.dispose()
    try:
        out.write_text(made.to_json(), encoding="utf-8")
    except OSError as error:
        click.echo(f"error: cannot write the checkpoint to {name}: {error.strerror}", err=True)
        sys.exit(EXIT_INVALID)
    signed = f"signed with key {shown(made.key_id)}" if made.key_id else "unkeyed (SHA-256 digest)"
    click.echo(f"checkpoint of {len(made.cases)} case(s) written to {name}, {signed}")


_REPORTER: Final = SystemReader("psirf-flow-cli-report")
"""``psirf-flow report`` reads as a named system reader, limited to the named organisations."""


def _moment(option: str, text: str | None, default: datetime) -> datetime:
    """``text`` (ISO 8601 with an offset) as an aware instant, or ``default``."""
    if text is None:
        return default
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(option, "must be an ISO 8601 date and time with an offset") from None
    return _inputs.moment(option, parsed)


def _report_plan(plan_file: Path | None) -> Plan | None:
    """The plan whose calendar counts working days; a broken one is reported on one line."""
    if plan_file is None:
        return None
    try:
        return load_plan_file(plan_file)
    except PlanError as error:
        raise InvalidInput(
            "--plan",
            f"has {len(error.problems)} problem(s); run `psirf-flow plan check` on it",
        ) from None


def _json_value(value: object) -> object:
    """Dates and instants as ISO 8601 text (instants in UTC, with their offset)."""
    return value.isoformat() if isinstance(value, date) else value


def _records(items: Sequence[AttrsInstance]) -> list[dict[str, object]]:
    return [
        {key: _json_value(value) for key, value in attrs.asdict(item, recurse=False).items()}
        for item in items
    ]


def _due_text(item: reports.DeadlineItem) -> str:
    if item.due_date is not None:
        return item.due_date.isoformat()
    return item.due_at.isoformat(timespec="minutes")


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    click.echo(f"{title} ({len(rows)})")
    if not rows:
        click.echo("  none")
        return
    cells = [list(header), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(line[column]) for line in cells) for column in range(len(header))]
    for line in cells:
        click.echo("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


_ITEM_HEADER: Final = ("CASE", "ORG", "WORKFLOW", "KIND", "DUE", "DAYS LATE", "TIERS", "STATUS")


def _item_rows(items: Sequence[reports.DeadlineItem]) -> list[tuple[object, ...]]:
    return [
        (
            i.case_id,
            i.organisation,
            i.workflow,
            i.kind,
            _due_text(i),
            i.days_overdue if i.overdue else "-",
            i.tiers_fired,
            i.status,
        )
        for i in items
    ]


@main.command()
@click.argument("url")
@click.option(
    "--organisation",
    "organisations",
    multiple=True,
    help="Report on this organisation (repeatable; at least one).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (stable keys) instead of tables.")
@click.option("--now", "now_text", help="Judge at this instant (ISO 8601 with offset).")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The trust's plan, whose calendar counts working days (else England and Wales).",
)
@click.option(
    "--within",
    default=5,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Due soon: due within this many working days.",
)
@click.option("--since", "since_text", help="Candour period start (default: a year before now).")
@click.option("--until", "until_text", help="Candour period end (default: now).")
def report(
    url: str,
    organisations: tuple[str, ...],
    *,
    as_json: bool,
    now_text: str | None,
    plan_file: Path | None,
    within: int,
    since_text: str | None,
    until_text: str | None,
) -> None:
    """Print overdue and due-soon deadlines, candour timeliness and safety actions at URL.

    The database is opened read-only. The report covers the organisations named with
    --organisation only (it reads as a system reader, so the operator names them).
    Exit code 0 on success, 3 for a refused option or plan, 4 when the store fails.
    """
    from psirf_flow.store.sql import SqlStore  # noqa: PLC0415 - optional extra

    with _errors_to_exit_codes(url):
        if not organisations:
            raise InvalidInput("--organisation", "name at least one organisation to report on")
        codes = [_inputs.name("--organisation", code) for code in organisations]
        now = _moment("--now", now_text, SystemClock().now())
        until = _moment("--until", until_text, now)
        since = _moment("--since", since_text, until - timedelta(days=365))
        if until <= since:
            raise InvalidInput("--until", "must be after --since")
        plan = _report_plan(plan_file)
        store = SqlStore.open(url, read_only=True)
        try:
            engine = Engine(store, clock=SystemClock(), plan=plan)
            late = reports.overdue(engine, reader=_REPORTER, now=now, organisation=codes)
            soon = reports.due_soon(
                engine, reader=_REPORTER, now=now, within=within, organisation=codes
            )
            candour = reports.candour_timeliness(
                engine, reader=_REPORTER, since=since, until=until, now=now, organisation=codes
            )
            actions = reports.safety_actions(engine, reader=_REPORTER, now=now, organisation=codes)
        finally:
            store.dispose()
    if as_json:
        document = {
            "generated_at": now.isoformat(),
            "organisations": sorted(codes),
            "overdue": _records(late),
            "due_soon": {"within_working_days": within, "items": _records(soon)},
            "candour_timeliness": {
                "since": since.isoformat(),
                "until": until.isoformat(),
                "rows": _records(candour),
            },
            "safety_actions": _records(actions),
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"Report at {now.isoformat(timespec='minutes')} for {', '.join(sorted(codes))}")
    _table("Overdue", _ITEM_HEADER, _item_rows(late))
    _table(f"Due within {within} working day(s)", _ITEM_HEADER, _item_rows(soon))
    _table(
        f"Candour timeliness, due {since.date().isoformat()} to {until.date().isoformat()}",
        ("ORG", "STEP", "DUE", "ON TIME", "LATE", "OPEN OVERDUE", "OPEN NOT DUE", "CLEARED"),
        [
            (
                r.organisation,
                r.kind,
                r.due,
                r.met_on_time,
                r.met_late,
                r.open_overdue,
                r.open_not_due,
                r.cleared,
            )
            for r in candour
        ],
    )
    _table(
        "Safety actions",
        ("CASE", "ORG", "OWNER", "DUE", "OVERDUE", "DAYS LATE", "TIERS", "STATUS"),
        [
            (
                i.case_id,
                i.organisation,
                i.owner or "-",
                _due_text(i),
                "yes" if i.overdue else "no",
                i.days_overdue if i.overdue else "-",
                i.tiers_fired,
                i.status,
            )
            for i in actions
        ],
    )


_LESSONS_READER: Final = SystemReader("psirf-flow-cli-lessons")
"""``psirf-flow lessons`` reads as a named system reader, limited to the named organisations."""


def _day(option: str, text: str | None, default: date) -> date:
    """``text`` (an ISO 8601 date, Europe/London) as a date, or ``default``."""
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(option, "must be an ISO 8601 date (YYYY-MM-DD)") from None


def _lesson_record(item: lessons.LessonItem) -> dict[str, object]:
    """One closed response as JSON: dates as ISO 8601 text, tuples as lists."""

    def plain(value: object) -> object:
        return list(value) if isinstance(value, tuple) else _json_value(value)

    record = {key: plain(value) for key, value in attrs.asdict(item, recurse=False).items()}
    record["actions"] = [
        {key: plain(value) for key, value in attrs.asdict(action, recurse=False).items()}
        for action in item.actions
    ]
    return record


@main.command("lessons")
@click.argument("url")
@click.option(
    "--organisation",
    "organisations",
    multiple=True,
    help="Read this organisation's cases (repeatable; at least one).",
)
@click.option("--since", "since_text", help="First closing date (YYYY-MM-DD, Europe/London).")
@click.option("--until", "until_text", help="Last closing date (default: today, Europe/London).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (stable keys) instead of a table."
)
def lessons_command(
    url: str,
    organisations: tuple[str, ...],
    *,
    since_text: str | None,
    until_text: str | None,
    as_json: bool,
) -> None:
    """Print the learning responses closed in a period at URL, with their safety actions.

    The raw material of a lessons-learned bulletin: each response's type, the references
    recorded at approval and closure, and the state of each linked safety action with the
    areas for improvement it answers (ids, codes and references only). The database is
    opened read-only; only the organisations named with --organisation are read. Exit code
    0 on success, 3 for a refused option, 4 when the store fails.
    """
    from psirf_flow.store.sql import SqlStore  # noqa: PLC0415 - optional extra

    with _errors_to_exit_codes(url):
        if not organisations:
            raise InvalidInput("--organisation", "name at least one organisation to read")
        codes = [_inputs.name("--organisation", code) for code in organisations]
        if since_text is None:
            raise InvalidInput("--since", "give the first closing date of the period")
        since = _day("--since", since_text, date.min)
        until = _day("--until", until_text, local_date(SystemClock().now()))
        if until < since:
            raise InvalidInput("--until", "must not be before --since")
        store = SqlStore.open(url, read_only=True)
        try:
            engine = Engine(store, clock=SystemClock())
            items = lessons.closed_responses(
                engine, reader=_LESSONS_READER, since=since, until=until, organisation=codes
            )
        finally:
            store.dispose()
    if as_json:
        document = {
            "organisations": sorted(codes),
            "since": since.isoformat(),
            "until": until.isoformat(),
            "responses": [_lesson_record(item) for item in items],
        }
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(
        f"Learning responses closed {since.isoformat()} to {until.isoformat()} "
        f"for {', '.join(sorted(codes))}"
    )
    _table(
        "Closed learning responses",
        ("CASE", "ORG", "TYPE", "CLOSED", "REPORT", "AREAS", "ACTIONS"),
        [
            (
                i.case_id,
                i.organisation,
                i.response_type,
                i.closed_on.isoformat(),
                i.report_ref or "-",
                ",".join(i.area_for_improvement_ids) or "-",
                ", ".join(f"{a.case_id}={a.state}" for a in i.actions)
                or (f"none ({i.no_actions_rationale})" if i.no_actions_rationale else "none"),
            )
            for i in items
        ],
    )


def _all_cases(store: Store) -> Iterator[Case]:
    after: str | None = None
    while True:
        page = store.list_cases(CaseQuery(after=after, limit=500))
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


@main.command()
def workflows() -> None:
    """List the built-in workflow definitions."""
    for definition in sorted(DefinitionRegistry.default(), key=lambda d: d.name):
        click.echo(f"{definition.key:<28} {definition.family:<18} {definition.title}")


@main.command()
@click.argument("workflow")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "table", "markdown"]),
    default="mermaid",
    show_default=True,
    help=(
        "Mermaid overview (left to right, recording steps counted, hold grouped), "
        "transition table, or the full reference page."
    ),
)
def diagram(workflow: str, fmt: str) -> None:
    """Print WORKFLOW's diagram or table, generated from its definition."""
    definition = _definition(workflow)
    if fmt == "mermaid":
        click.echo(to_mermaid(definition))
    elif fmt == "table":
        click.echo(to_markdown_table(definition))
    else:
        click.echo(reference_markdown(definition))


# ---------------------------------------------------------------- plan


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGINT or SIGTERM while inside (the previous handlers come back)."""

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@main.command()
@click.argument("url")
@click.option("--once", is_flag=True, help="Sweep once and exit (for a scheduler such as cron).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1, max=86_400),
    default=60.0,
    show_default=True,
    help="Seconds between sweeps.",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The trust's plan (TOML), for cases that run under it.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Tiers claimed at a time.",
)
@click.option(
    "--thematic-reviews",
    is_flag=True,
    help="Also commission the plan's scheduled thematic reviews that are due (needs --plan).",
)
@_KEY_FILE
def sweep(
    url: str,
    *,
    once: bool,
    interval: float,
    plan_file: Path | None,
    batch: int,
    thematic_reviews: bool,
    key_file: Path | None,
) -> None:
    """Fire the escalation tiers that are due in the database at URL, each exactly once.

    Runs until SIGINT or SIGTERM (finishing the batch in hand), or sweeps once with
    --once; then prints a one-line summary. Several sweepers may run at once on
    PostgreSQL; on SQLite run one. Deliver the notifications with the outbox relay.
    With --thematic-reviews and --plan, the first sweep of each day also opens the
    plan's scheduled thematic reviews that are due, each occurrence once.
    """
    from psirf_flow.store.sql import SqlStore  # noqa: PLC0415 - optional extra
    from psirf_flow.sweeper import Sweeper  # noqa: PLC0415

    if thematic_reviews and plan_file is None:
        msg = "--thematic-reviews needs the plan that schedules them (--plan)"
        raise click.UsageError(msg)
    with _errors_to_exit_codes(url):
        keys = _audit_keys(key_file)
        loaded = load_plan_file(plan_file) if plan_file is not None else None
        store = SqlStore.open(url)
        try:
            sweeper = Sweeper(
                Engine(store, clock=SystemClock(), keys=keys, plan=loaded),
                batch=batch,
                thematic_reviews=thematic_reviews,
            )
            if once:
                report = sweeper.sweep()
            else:
                stop = threading.Event()
                with _stop_on_signals(stop):
                    report = sweeper.run(stop, interval=interval)
        finally:
            store.dispose()
    click.echo(f"swept: {report.summary()}")


@main.group()
def plan() -> None:
    """Check a trust's plan file; print the plan format's JSON Schema."""


def _problem_record(problem: PlanProblem) -> dict[str, object]:
    return {
        "line": problem.line,
        "path": problem.path,
        "message": problem.message,
        "fix": fix_for(problem.message),
    }


@plan.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for editors).")
def plan_check(file: Path, *, as_json: bool) -> None:
    """Check the plan in FILE and print every problem with its line and a fix.

    Exit code 0 when the plan is valid, 3 when it has problems (or cannot be read).
    """
    name = click.format_filename(file)
    loaded: Plan | None = None
    problems: tuple[PlanProblem, ...] = ()
    try:
        loaded = load_plan_file(file)
    except PlanError as error:
        problems = error.problems
    if as_json:
        click.echo(
            json.dumps(
                {
                    "source": name,
                    "valid": loaded is not None,
                    "plan": None if loaded is None else loaded.ref,
                    "problems": [_problem_record(p) for p in problems],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    elif loaded is not None:
        click.echo(
            f"{name}: {loaded.ref} is valid ({len(loaded.priorities)} priorities, "
            f"{len(loaded.response_types)} response types)"
        )
    else:
        for problem in problems:
            place = f"{name}:{problem.line}" if problem.line is not None else name
            where = f" {problem.path}:" if problem.path else ""
            click.echo(f"{place}:{where} {problem.message}")
            fix = fix_for(problem.message)
            if fix is not None:
                click.echo(f"    fix: {fix}")
        click.echo(f"{name}: {len(problems)} problem(s)", err=True)
    if loaded is None:
        sys.exit(EXIT_INVALID)


@plan.command("schema")
def plan_schema_command() -> None:
    """Print the JSON Schema of the plan format (for editors such as Taplo)."""
    click.echo(plan_schema_text(), nl=False)


DEMO_SCRIPT: Final = Path("examples") / "psii_lifecycle.py"
"""The demo script, relative to a checkout's root (``make demo`` runs the same file)."""


def _demo_script() -> Path | None:
    """The checkout's demo script when psirf_flow runs from a checkout, else ``None``."""
    import psirf_flow  # noqa: PLC0415

    root = Path(psirf_flow.__file__).resolve().parents[2]
    script = root / DEMO_SCRIPT
    return script if script.is_file() else None


@main.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("demo-data/psirf_demo.sqlite3"),
    show_default=True,
    help="SQLite file the demo creates (replaced if it exists).",
)
def demo(db_path: Path) -> None:
    """Run the demo ``make demo`` runs (a PSII from report to closure), from a checkout only.

    The demo is an example script, not part of the installed package: run from an
    installed copy, the command prints one line and exits 3. Otherwise it exits with the
    demo's own code (0 when every step and every audit check went as expected).
    """
    import subprocess  # noqa: PLC0415

    script = _demo_script()
    if script is None:
        click.echo(
            "the demo runs from a source checkout only (examples/ is not installed)", err=True
        )
        sys.exit(EXIT_INVALID)
    done = subprocess.run(  # noqa: S603 - runs this checkout's own example script
        [sys.executable, str(script), "--db", str(db_path)], check=False
    )
    sys.exit(done.returncode)
