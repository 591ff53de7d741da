"""Engines configured the way [`SqlStore`][psirf_flow.store.sql.store.SqlStore] needs them.

[`make_engine`][psirf_flow.store.sql.engines.make_engine] turns a SQLAlchemy URL (or a plain SQLite
file path) into an engine. For SQLite every connection uses WAL, ``PRAGMA synchronous`` set by
[`Durability`][psirf_flow.store.sql.engines.Durability], foreign keys, a busy timeout, and explicit
``BEGIN`` so that SAVEPOINTs and transactional DDL work. For PostgreSQL, ``durability="normal"``
turns ``synchronous_commit`` off and a ``busy_timeout`` sets ``lock_timeout``. With
``read_only=True`` nothing can be written: SQLite files are opened with ``mode=ro`` (a missing file
is an error, never created) and ``PRAGMA query_only``; PostgreSQL sessions are
``default_transaction_read_only``.

Secret query parameters of a PostgreSQL URL (``?password=``, ``?sslpassword=``...) are
taken out of the engine's URL (the password into its userinfo part, which SQLAlchemy
hides; the others into the driver's connect arguments), so no repr of the engine shows
them. `_single_statement` lets one connection run its next statement without an
explicit transaction (autocommit on PostgreSQL; the SQLite ``begin`` listener here skips
``BEGIN``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import parse_qsl, quote, urlencode

import sqlalchemy as sa

from psirf_flow._extras import require
from psirf_flow.errors import InvalidInput, StoreError, shown
from psirf_flow.store.sql._errors import _is_secret, _secrets, _shown


if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


__all__ = ["Durability", "make_async_engine", "make_engine"]

Durability = Literal["full", "normal"]
"""``"full"`` survives power loss; ``"normal"`` survives process crashes only."""

_SQLITE_SYNCHRONOUS: Final = {"full": "FULL", "normal": "NORMAL"}
_DEFAULT_BUSY_TIMEOUT: Final = 30.0
"""SQLite's busy timeout when none is given, in seconds."""
_SINGLE_STATEMENT: Final = "psirf_flow_single_statement"
"""A connection option: the next statement runs on its own, outside an explicit transaction."""
_IMMEDIATE: Final = "psirf_flow_begin_immediate"
"""A connection option: on SQLite, the next transaction begins `IMMEDIATE` (it will write)."""
_LONGEST_BUSY_TIMEOUT: Final = 86_400
"""The longest wait for another writer's lock that may be asked for: a day, in seconds."""
_MISSING_FILE: Final = (
    "there is no database file at that path (it is opened read-only, so none was created)"
)


def _url(url: str | sa.URL) -> sa.URL:
    if isinstance(url, sa.URL):
        return url
    if "://" not in url:
        return sa.URL.create("sqlite+pysqlite", database=url)
    try:
        return sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as error:
        # The text is not shown: it cannot be parsed, so its password cannot be hidden.
        msg = "the database URL is not a valid SQLAlchemy URL (it is not shown, to hide secrets)"
        raise StoreError(msg) from error


def _without_secret_query(url: sa.URL) -> tuple[sa.URL, dict[str, Any]]:
    """Move secret query parameters out of ``url``: into its password, or connect args."""
    secret = {k: v for k, v in url.query.items() if _is_secret(k)}
    if not secret:
        return url, {}
    url = url.difference_update_query(secret)
    password = secret.pop("password", None)
    if isinstance(password, str) and url.password is None:
        url = url.set(password=password)
    elif password is not None:
        secret["password"] = password
    return url, secret


def make_engine(
    url: str | sa.URL,
    *,
    durability: Durability = "full",
    read_only: bool = False,
    busy_timeout: float | None = None,
) -> sa.Engine:
    """Create an engine configured the way `SqlStore` needs it.

    For SQLite every connection uses WAL, ``synchronous`` set by ``durability``, foreign
    keys, a busy timeout, and explicit ``BEGIN`` so that SAVEPOINTs and transactional
    DDL work. For PostgreSQL, ``durability="normal"`` turns ``synchronous_commit`` off.

    Args:
        url: A SQLAlchemy URL, or a plain file path for SQLite.
        durability: ``"full"`` (default): a commit survives power loss. ``"normal"``:
            faster, survives a crash of the process, but the last commits may be lost on
            power loss or an operating system crash (never corrupted).
        read_only: Never write. SQLite opens the file with ``mode=ro`` (a missing file is
            an error and is not created) and ``PRAGMA query_only``; PostgreSQL sessions
            are ``default_transaction_read_only``. A write is refused with ``StoreError``.
        busy_timeout: How long, in seconds, to wait for a lock another writer holds before
            giving up with [`StoreBusy`][psirf_flow.errors.StoreBusy]. SQLite's
            ``busy_timeout`` (30 s by default); PostgreSQL's ``lock_timeout`` (the
            server's setting by default).

    Raises:
        InvalidInput: (a ``ValueError``) If ``url`` is neither text nor a SQLAlchemy URL,
            ``durability`` is not ``"full"`` or ``"normal"``, ``read_only`` is not a bool, or
            ``busy_timeout`` is not a number of seconds from 0 to a day.
        StoreError: If the URL cannot be read or names no installed driver, or a SQLite
            path holds a NUL character.
    """
    check_options(url, durability=durability, read_only=read_only, busy_timeout=busy_timeout)
    parsed, connect_args = _parsed(url)
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
        require("psycopg", needed_by="a PostgreSQL store")
    with _refusing_url(parsed):
        engine = sa.create_engine(parsed, connect_args=connect_args)
    _configure(engine, durability=durability, read_only=read_only, busy_timeout=busy_timeout)
    return engine


def _parsed(url: str | sa.URL) -> tuple[sa.URL, dict[str, Any]]:
    """``url`` parsed, with its secret query parameters moved into connect arguments."""
    parsed = _url(url)
    if "\x00" in (parsed.database or ""):
        msg = f"cannot use the database URL {_shown(parsed)}: a path cannot hold a NUL character"
        raise StoreError(msg)
    if parsed.get_backend_name() != "sqlite":
        return _without_secret_query(parsed)
    return parsed, {}


@contextmanager
def _refusing_url(parsed: sa.URL) -> Iterator[None]:
    """Turn SQLAlchemy's refusal of a URL (or a missing driver) into ``StoreError``."""
    try:
        yield
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        for secret in _secrets(parsed):
            detail = detail.replace(secret, "***")
        raise StoreError(f"cannot use the database URL {_shown(parsed)}: {detail}") from error


def _configure(
    engine: sa.Engine, *, durability: Durability, read_only: bool, busy_timeout: float | None
) -> None:
    """Listen on ``engine`` for SQLite's pragmas and BEGIN, or PostgreSQL's session settings.

    Shared by `make_engine` and `make_async_engine` (on the asyncio engine's ``sync_engine``:
    SQLAlchemy's events are those of the synchronous engine underneath).
    """
    if engine.dialect.name == "sqlite":
        timeout = _DEFAULT_BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        _configure_sqlite(
            engine,
            _SQLITE_SYNCHRONOUS[durability],
            busy_timeout_ms=round(timeout * 1000),
            read_only=read_only,
        )
    elif engine.dialect.name == "postgresql":
        settings = []
        if durability == "normal":
            settings.append("SET synchronous_commit = off")
        if read_only:
            settings.append("SET default_transaction_read_only = on")
        if busy_timeout is not None:
            settings.append(f"SET lock_timeout = {round(busy_timeout * 1000)}")
        if settings:
            _configure_postgresql(engine, settings)


def check_options(
    url: object, *, durability: object, read_only: object, busy_timeout: object
) -> None:
    """Refuse options of the wrong type or range with InvalidInput, before anything is opened.

    Shared by [`make_engine`][psirf_flow.store.sql.engines.make_engine] and ``SqlStore.open``; the
    message never repeats a URL (it may hold a password) and repeats other values only through
    ``errors.shown``.
    """
    if not isinstance(url, str | sa.URL):
        raise InvalidInput(
            "url", f"must be a SQLAlchemy URL or a SQLite file path, got {type(url).__name__}"
        )
    if not isinstance(durability, str) or durability not in _SQLITE_SYNCHRONOUS:
        raise InvalidInput("durability", f"must be 'full' or 'normal', not {shown(durability)}")
    if not isinstance(read_only, bool):
        raise InvalidInput("read_only", f"must be True or False, not {shown(read_only)}")
    if busy_timeout is None:
        return
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, int | float)
        or not 0 <= busy_timeout <= _LONGEST_BUSY_TIMEOUT  # NaN and infinities fail too
    ):
        raise InvalidInput(
            "busy_timeout",
            f"must be a number of seconds from 0 to {_LONGEST_BUSY_TIMEOUT:,}, "
            f"not {shown(busy_timeout)}",
        )


def _configure_sqlite(
    engine: sa.Engine, synchronous: str, *, busy_timeout_ms: int, read_only: bool
) -> None:
    def on_do_connect(
        _dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        # Open the file with mode=ro, so that a missing file is an error, not created.
        path = cargs[0] if cargs else cparams.get("database")
        if cparams.get("uri") and cargs and isinstance(path, str):
            # A URI file name may ask for mode=rwc (create): read-only means mode=ro.
            cargs[:] = [_read_only_uri(path)]
            return
        if cparams.get("uri") or not isinstance(path, str) or path in ("", ":memory:"):
            return
        if not os.path.exists(path):
            raise sqlite3.OperationalError(_MISSING_FILE)
        cargs[:] = [f"file:{quote(path)}?mode=ro"]
        cparams["uri"] = True

    def on_connect(dbapi_connection: Any, _record: object) -> None:
        # Take transaction control away from the driver; SQLAlchemy emits BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            if read_only:
                cursor.execute("PRAGMA query_only = ON")
            else:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA synchronous = {synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(_SINGLE_STATEMENT):
            # One statement that reads: SQLite runs it in its own implicit transaction.
            return
        if connection.get_execution_options().get(_IMMEDIATE):
            # A transaction that will write: take the write lock now, so that two writers
            # queue behind the busy timeout instead of failing when one upgrades its read.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        connection.exec_driver_sql("BEGIN")

    if read_only:
        sa.event.listen(engine, "do_connect", on_do_connect)
    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def _read_only_uri(uri: str) -> str:
    """``uri`` (a SQLite ``file:`` URI) with ``mode=ro``, unless it names a memory database."""
    base, _, query = uri.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if ("mode", "memory") in pairs:
        return uri
    return f"{base}?{urlencode([*(p for p in pairs if p[0] != 'mode'), ('mode', 'ro')])}"


def _configure_postgresql(engine: sa.Engine, settings: list[str]) -> None:
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for setting in settings:
                cursor.execute(setting)
        finally:
            cursor.close()
        dbapi_connection.commit()

    sa.event.listen(engine, "connect", on_connect)


def _single_statement(connection: sa.Connection) -> None:
    """Let ``connection`` run its next statement on its own, without BEGIN and ROLLBACK.

    A single statement is atomic and sees one snapshot by itself, so a read (or the
    one-statement write) needs no explicit transaction: that saves two round trips on
    PostgreSQL (autocommit) and two statements on SQLite (its ``begin`` listener skips
    BEGIN; the closing rollback then has nothing to do).
    """
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    else:
        connection.execution_options(**{_SINGLE_STATEMENT: True})


_ASYNC_DRIVERS: Final = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}
"""The asyncio drivers the asyncio store runs on, by backend."""
_SYNC_DRIVERS: Final = {
    "sqlite": ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"),
    "postgresql": ("postgresql", "postgresql+psycopg", "postgresql+psycopg_async"),
}
"""The drivers of a URL the asyncio store turns into its backend's asyncio driver."""
_LARGEST_POOL: Final = 1000
"""The most connections a pool may be asked to keep (or open beyond that)."""


def make_async_engine(
    url: str | sa.URL,
    *,
    durability: Durability = "full",
    read_only: bool = False,
    busy_timeout: float | None = None,
    pool_size: int | None = None,
    max_overflow: int | None = None,
) -> AsyncEngine:
    """Create an asyncio engine configured as `make_engine` configures a synchronous one.

    The URL's driver becomes its backend's asyncio driver: ``aiosqlite`` for SQLite (a plain
    file path, ``sqlite:///...`` or ``sqlite+aiosqlite:///...``) and psycopg's asyncio
    connection for PostgreSQL (``postgresql://...`` or ``postgresql+psycopg://...``). The
    pragmas, ``BEGIN`` handling and PostgreSQL session settings are the same, set on the
    synchronous engine underneath (``AsyncEngine.sync_engine``), whose events SQLAlchemy
    fires for asyncio connections too.

    Args:
        url: A SQLAlchemy URL, or a plain file path for SQLite.
        durability: As for ``make_engine``.
        read_only: As for ``make_engine``.
        busy_timeout: As for ``make_engine``.
        pool_size: Connections the pool keeps open (SQLAlchemy's default, 5, when omitted).
        max_overflow: Connections it may open beyond ``pool_size`` at busy times
            (SQLAlchemy's default, 10, when omitted).

    Raises:
        InvalidInput: (a ``ValueError``) If an option is not as ``make_engine`` takes it,
            or a pool size is not a whole number from 0 to 1,000 (``pool_size`` from 1).
        StoreError: If the URL cannot be read, names another driver or an in-memory SQLite
            database (each pooled connection would see its own), or a path holds a NUL
            character.
        MissingDependency: If the ``async`` extra is not installed.
    """
    check_options(url, durability=durability, read_only=read_only, busy_timeout=busy_timeout)
    pool: dict[str, int] = {}
    sizes: tuple[tuple[str, object, int], ...] = (
        ("pool_size", pool_size, 1),
        ("max_overflow", max_overflow, 0),
    )
    for argument, value, least in sizes:
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(argument, f"must be a whole number, not {shown(value)}")
        if not least <= value <= _LARGEST_POOL:
            msg = f"must be a whole number from {least} to {_LARGEST_POOL:,}, not {shown(value)}"
            raise InvalidInput(argument, msg)
        pool[argument] = value
    parsed, connect_args = _parsed(url)
    backend = parsed.get_backend_name()
    if parsed.drivername not in _SYNC_DRIVERS.get(backend, ()):
        msg = (
            f"cannot use the database URL {_shown(parsed)}: the asyncio store runs on SQLite "
            "(aiosqlite) or PostgreSQL (psycopg)"
        )
        raise StoreError(msg)
    if backend == "sqlite" and (
        parsed.database in {None, "", ":memory:"} or parsed.query.get("mode") == "memory"
    ):
        msg = (
            f"cannot use the database URL {_shown(parsed)}: the asyncio store needs a SQLite "
            "file (each pooled connection would see its own in-memory database)"
        )
        raise StoreError(msg)
    parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    require("greenlet", needed_by="the asyncio store")
    require("aiosqlite" if backend == "sqlite" else "psycopg", needed_by="the asyncio store")
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415 - needs greenlet

    with _refusing_url(parsed):
        engine = create_async_engine(parsed, connect_args=connect_args, **pool)
    _configure(
        engine.sync_engine, durability=durability, read_only=read_only, busy_timeout=busy_timeout
    )
    return engine
