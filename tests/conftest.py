"""Shared fixtures, hypothesis profiles and the PostgreSQL gate.

PostgreSQL tests are marked ``postgres`` and use the server named by
``PSIRF_FLOW_TEST_PG_URL``: each test session creates its own database there
(``psirf_flow_t_<random>``, dropped at the end) and each test that asks for ``pg_url`` gets
its own schema inside it, so parallel runs never collide. Tests that only need a migrated,
empty database (the store contracts) ask for ``pg_migrated_url`` or
``migrated_sqlite_path`` instead: the migrations run once per session (per xdist worker)
and each test gets that schema emptied, or a copy of that file, which saves the migration
(a third of a second and more) per test. Without the URL they are skipped
with a visible reason; with ``PSIRF_FLOW_REQUIRE_PG=1`` (as ``.ci/run`` sets) a missing
server or a run in which no PostgreSQL test executed fails the session instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from psirf_flow.testing import ManualClock


# In CI (CI=true) the search is derandomised: a submission lands or not on its own merits,
# never on a lucky seed. Developers' runs explore new examples each time.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
# `make mutation` runs pytest many times in one process against each mutant: the search is
# derandomised so a verdict is reproducible, and a test class re-imported by each run is not
# a different executor.
settings.register_profile(
    "mutation",
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_URL_ENV = "PSIRF_FLOW_TEST_PG_URL"
REQUIRE_PG_ENV = "PSIRF_FLOW_REQUIRE_PG"

_pg_ran: list[str] = []


@pytest.fixture(name="clock")
def _clock() -> ManualClock:
    """A manual clock starting on Monday 5 January 2026, 09:00 UTC."""
    return ManualClock()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember every PostgreSQL test that actually ran its body."""
    if report.when == "call" and "postgres" in report.keywords and not report.skipped:
        _pg_ran.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when PostgreSQL is required but none of its tests ran."""
    if os.environ.get(REQUIRE_PG_ENV) == "1" and exitstatus == 0 and not _pg_ran:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"FAILED: {REQUIRE_PG_ENV}=1 but no PostgreSQL test ran", red=True)


#: The test files that take longest (``--durations`` on a full run), longest first. They run
#: before every other file, so that under pytest-xdist the run does not end with one worker
#: busy on a minute-long test while the other has nothing left to take.
LONGEST_FIRST = (
    "tests/kit/test_stateful_engine.py",
    "tests/docs/test_api_reference.py",  # builds the documentation site for tests/docs
    "tests/docs/test_docs.py",  # or this one does, whichever starts first
    "tests/store/test_sweeper_processes.py",
    "tests/store/test_crash.py",
    "tests/examples/test_examples.py",
    "tests/kit/test_stateful_clocks.py",
    "tests/store/test_async_engine.py",
    "tests/store/test_concurrency.py",
    "tests/store/test_claim_model.py",
    "tests/core/test_audit.py",
    "tests/policy/test_loading.py",
    "tests/bench/test_benchmarks_smoke.py",
    "tests/core/test_typed.py",
)


def _longest_first(items: list[pytest.Item]) -> None:
    """Move the files of `LONGEST_FIRST` to the front, each whole and in its own order."""
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the longest files first; skip PostgreSQL tests (visibly) when there is no server."""
    missing = [path for path in LONGEST_FIRST if not (config.rootpath / path).is_file()]
    if missing:
        raise pytest.UsageError(f"LONGEST_FIRST in tests/conftest.py names no file: {missing}")
    _longest_first(items)
    if os.environ.get(PG_URL_ENV):
        return
    if os.environ.get(REQUIRE_PG_ENV) == "1":
        msg = f"{REQUIRE_PG_ENV}=1 but {PG_URL_ENV} is not set, so PostgreSQL tests cannot run"
        raise pytest.UsageError(msg)
    skip = pytest.mark.skip(reason=f"PostgreSQL tests need {PG_URL_ENV} (see .ci/run)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _admin_engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[sa.URL]:
    """A PostgreSQL database made for this session alone, dropped afterwards."""
    raw = os.environ.get(PG_URL_ENV)
    if not raw:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV} (see .ci/run)")
    server = sa.make_url(raw)
    admin = _admin_engine(server)
    name = f"psirf_flow_t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL at {server.render_as_string()} is not reachable: {error.orig}"
        if os.environ.get(REQUIRE_PG_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def pg_url(pg_database_url: sa.URL) -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema of the session database."""
    schema = f"s_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(pg_database_url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = pg_database_url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the head revision once per session, never opened again."""
    from psirf_flow.store.sql.migrate import upgrade  # alembic: only when a test needs it

    path = tmp_path_factory.mktemp("migrated") / "template.sqlite3"
    upgrade(str(path))
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert leftovers == [], f"the migrated template left {leftovers} beside it"
    return path


@pytest.fixture
def migrated_sqlite_path(tmp_path: Path, _migrated_sqlite_template: Path) -> str:
    """A SQLite file freshly migrated and empty: a byte copy of the session's migrated file."""
    path = tmp_path / "cases.sqlite3"
    shutil.copyfile(_migrated_sqlite_template, path)
    return str(path)


class _MigratedSchema:
    """A schema migrated once, and how to empty it: tables children first, and sequences."""

    def __init__(self, url: sa.URL, schema: str) -> None:
        from psirf_flow.store.sql.migrate import VERSION_TABLE  # alembic: only when needed

        self.url = url
        self.schema = schema
        engine = _admin_engine(url)
        try:
            metadata = sa.MetaData(schema=schema)
            metadata.reflect(engine)
            with engine.connect() as connection:
                self.sequences = tuple(
                    connection.execute(
                        sa.text(
                            "SELECT sequence_name FROM information_schema.sequences "
                            "WHERE sequence_schema = :schema ORDER BY sequence_name"
                        ),
                        {"schema": schema},
                    ).scalars()
                )
        finally:
            engine.dispose()
        self.tables = tuple(
            table.name for table in reversed(metadata.sorted_tables) if table.name != VERSION_TABLE
        )

    def empty(self) -> None:
        """Delete every row but the revision and restart every sequence, in one transaction.

        ``DELETE`` rather than ``TRUNCATE``: on tables this small it is the cheaper of the
        two (``TRUNCATE`` writes new files for each table and index).
        """
        engine = _admin_engine(self.url)
        try:
            with engine.begin() as connection:
                # A connection left open by an earlier test must fail this loudly, never hang.
                connection.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
                for table in self.tables:
                    connection.exec_driver_sql(f'DELETE FROM "{self.schema}"."{table}"')
                for sequence in self.sequences:
                    connection.execute(
                        sa.text("SELECT setval(CAST(:name AS regclass), 1, false)"),
                        {"name": f'"{self.schema}"."{sequence}"'},
                    )
        finally:
            engine.dispose()


@pytest.fixture(scope="session")
def _pg_migrated_schema(pg_database_url: sa.URL) -> Iterator[_MigratedSchema]:
    """A schema of the session database migrated to the head revision once per session."""
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(pg_database_url)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    from psirf_flow.store.sql.migrate import upgrade  # alembic: only when a test needs it

    url = pg_database_url.update_query_dict({"options": f"-csearch_path={schema}"})
    upgrade(url)
    try:
        yield _MigratedSchema(url, schema)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def pg_migrated_url(_pg_migrated_schema: _MigratedSchema) -> str:
    """A URL whose connections use a migrated schema holding no rows, as if freshly migrated.

    The session's migrated schema is reused: every row but the revision is deleted and
    every sequence restarted (so serial ids start again at 1) before the test. Only for
    tests that use the schema through the store: one that changes tables or keeps a
    connection open past its teardown needs ``pg_url``.
    """
    _pg_migrated_schema.empty()
    return _pg_migrated_schema.url.render_as_string(hide_password=False)
