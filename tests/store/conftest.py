"""Fixtures for the store tests: SQLite files, and a database URL on each backend.

The PostgreSQL database and schema fixtures (``pg_database_url``, ``pg_url``) live in the
root ``tests/conftest.py`` so that every test directory can use them.
"""

from __future__ import annotations

from pathlib import Path

import pytest


PG_URL_ENV = "PSIRF_FLOW_TEST_PG_URL"
REQUIRE_PG_ENV = "PSIRF_FLOW_REQUIRE_PG"


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
