"""Fixtures for the store tests: SQLite files and isolated PostgreSQL databases and schemas.

PostgreSQL tests run against the server named by ``PSIRF_FLOW_TEST_PG_URL``. Each test
session creates its own database there (``psirf_flow_t_<random>``) and drops it at the
end; each test gets its own schema inside it. Parallel runs therefore never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa


PG_URL_ENV = "PSIRF_FLOW_TEST_PG_URL"
REQUIRE_PG_ENV = "PSIRF_FLOW_REQUIRE_PG"


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


@pytest.fixture
def sqlite_path(tmp_path: Path) -> str:
    """A SQLite file path in the test's temporary directory (not created yet)."""
    return str(tmp_path / "cases.sqlite3")


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on each backend: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_path"))
    return str(request.getfixturevalue("pg_url"))
