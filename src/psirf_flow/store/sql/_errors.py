"""Error translation shared by the SQL store and its migrations (private).

Every SQLAlchemy or driver exception is translated into a psirf_flow error (chained with
``raise ... from``): [`StoreUnavailable`][psirf_flow.errors.StoreUnavailable] when the database
cannot be reached, [`StoreBusy`][psirf_flow.errors.StoreBusy] when another writer held a lock past
the busy timeout (SQLite's "database is locked"; PostgreSQL's lock, deadlock and serialisation
failures), [`StoreError`][psirf_flow.errors.StoreError] for the rest.

`_shown` is the one place a URL is turned into text for a person (error messages,
the CLI, [`SqlStore`][psirf_flow.store.sql.store.SqlStore]'s ``url`` and ``repr``): the password of
the userinfo part and every query parameter that may carry a secret (`_is_secret`:
``password``, ``sslpassword``, ``passfile`` and any key naming a password, secret or
token) are replaced by ``***``, and a password that a driver repeats in its message is
masked too. `_is_unique_violation` tells a duplicate key (someone else wrote first)
from other integrity failures on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final
from urllib.parse import quote

import sqlalchemy as sa

from psirf_flow.errors import (
    REDACTED,
    PsirfFlowError,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    redact,
)


_PG_UNIQUE_VIOLATION: Final = "23505"
_SQLITE_UNIQUE_VIOLATIONS: Final = frozenset(
    {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}
)
_PG_BUSY: Final = frozenset({"40001", "40P01", "55P03"})
"""PostgreSQL: serialization_failure, deadlock_detected, lock_not_available."""
_SQLITE_BUSY: Final = ("SQLITE_BUSY", "SQLITE_LOCKED")
"""SQLite result codes (and their extended codes) of a lock held by another connection."""
_SECRET_WORDS: Final = ("password", "passwd", "passfile", "secret", "token")
"""Words in a URL query key that mark its value as a secret."""
_MASK: Final = "***"
_LONGEST_URL: Final = 200
"""The most characters of a URL an error message shows."""


def _is_secret(key: str) -> bool:
    """Tell whether a URL query parameter may carry a secret (its value is never shown)."""
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _shown(url: sa.URL) -> str:
    """``url`` as text safe to show: no password, no secret query value, no NUL.

    Nothing shaped like an NHS number either (in a file name, a user or a host), and no
    e-mail address in the database name or path; cut to 200 characters.
    """
    if any(_is_secret(k) for k in url.query):
        url = url.update_query_dict({k: _MASK for k in url.query if _is_secret(k)}, append=False)
    # Each part a person could have typed an identifier into (a file name, a database,
    # user or host name, a query value) is redacted on its own, so an address and its port
    # stay readable (127.0.0.1:5432 is ten digits only when read as one run).
    if url.database and redact(url.database, dates=False) != url.database:
        url = url.set(database=redact(url.database, dates=False))
    if url.username and redact(url.username, dates=False) != url.username:
        url = url.set(username=redact(url.username, dates=False, emails=False))
    if url.host and redact(url.host, dates=False, emails=False) != url.host:
        url = url.set(host=redact(url.host, dates=False, emails=False))
    revealing = {
        k: redact(v, dates=False)
        for k, v in url.query.items()
        if isinstance(v, str) and redact(v, dates=False) != v
    }
    if revealing:
        url = url.update_query_dict(revealing)
    text = url.render_as_string(hide_password=True)
    # render_as_string escapes the mask's and the redaction's characters; show them plainly.
    text = text.replace("%2A%2A%2A", _MASK).replace(quote(REDACTED), REDACTED)
    # Escaping can join digits into a new run (``"1…`` becomes ``%221…``): redact the text
    # around the address once more, keeping the address and port themselves.
    address = f"{url.host}:{url.port}" if url.host and url.port else url.host or ""
    before, found, after = text.partition(address) if address else (text, "", "")
    text = redact(before, dates=False, emails=False) + found
    text += redact(after, dates=False, emails=False)
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= _LONGEST_URL else text[:_LONGEST_URL] + "\u2026"


def _secrets(url: sa.URL) -> tuple[str, ...]:
    """Every secret ``url`` carries (its password and secret query values), longest first."""
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if _is_secret(key):
            found.extend([value] if isinstance(value, str) else list(value))
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


@contextmanager
def _connected(engine: sa.Engine) -> Iterator[sa.Connection]:
    try:
        connection = engine.connect()
    except sa.exc.SQLAlchemyError as error:
        if _is_busy(error):
            raise StoreBusy(_shown(engine.url), _detail(error, engine.url)) from error
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
        if _is_busy(error):
            raise StoreBusy(_shown(url), _detail(error, url)) from error
        raise StoreError(f"the database at {_shown(url)} failed: {_detail(error, url)}") from error
    except sa.exc.SQLAlchemyError as error:
        raise StoreError(f"the database at {_shown(url)} failed: {_detail(error, url)}") from error


def _is_busy(error: sa.exc.SQLAlchemyError) -> bool:
    """Tell a lock held by another writer past the busy timeout from other failures."""
    orig = getattr(error, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return sqlstate in _PG_BUSY
    name = getattr(orig, "sqlite_errorname", "")  # sqlite3
    return isinstance(name, str) and name.startswith(_SQLITE_BUSY)


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
    for secret in _secrets(url):
        text = text.replace(secret, _MASK)
    return text
