"""Error translation shared by the SQL store and its migrations (private).

Every SQLAlchemy or driver exception is translated into a psirf_flow error (chained with
``raise ... from``): :class:`~psirf_flow.errors.StoreUnavailable` when the database cannot
be reached, :class:`~psirf_flow.errors.StoreError` for the rest. URLs are shown without
their password, and a password that a driver repeats in its message is masked.
:func:`_is_unique_violation` tells a duplicate key (someone else wrote first) from other
integrity failures on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import sqlalchemy as sa

from psirf_flow.errors import PsirfFlowError, StoreError, StoreUnavailable


_PG_UNIQUE_VIOLATION: Final = "23505"
_SQLITE_UNIQUE_VIOLATIONS: Final = frozenset(
    {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
)


def _shown(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)


@contextmanager
def _connected(engine: sa.Engine) -> Iterator[sa.Connection]:
    try:
        connection = engine.connect()
    except sa.exc.SQLAlchemyError as error:
        raise StoreUnavailable(_shown(engine.url), _detail(error, engine.url)) from error
    with connection:
        yield connection


@contextmanager
def _translated(url: sa.URL) -> Iterator[None]:
    try:
        yield
    except PsirfFlowError:
        raise
    except sa.exc.DBAPIError as error:
        if error.connection_invalidated:
            raise StoreUnavailable(_shown(url), _detail(error, url)) from error
        raise StoreError(f"the database at {_shown(url)} failed: {_detail(error, url)}") from error
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"the database at {_shown(url)} failed: {_detail(error, url)}") from error


def _is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """Tell a duplicate key (someone else wrote first) from other integrity failures."""
    orig = error.orig
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return bool(sqlstate == _PG_UNIQUE_VIOLATION)
    name = getattr(orig, "sqlite_errorname", "")  # sqlite3
    return name in _SQLITE_UNIQUE_VIOLATIONS


def _detail(error: sa.exc.SQLAlchemyError, url: sa.URL) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    text = lines[0] if lines else type(cause).__name__
    if url.password:
        text = text.replace(str(url.password), "***")
    return text
