"""Engines configured the way :class:`~psirf_flow.store.sql.SqlStore` needs them.

:func:`make_engine` turns a SQLAlchemy URL (or a plain SQLite file path) into an engine.
For SQLite every connection uses WAL, ``PRAGMA synchronous`` set by :data:`Durability`,
foreign keys, a busy timeout, and explicit ``BEGIN`` so that SAVEPOINTs and transactional
DDL work. For PostgreSQL, ``durability="normal"`` turns ``synchronous_commit`` off.
:func:`_single_statement` lets one connection run its next statement without an explicit
transaction (autocommit on PostgreSQL; the SQLite ``begin`` listener here skips ``BEGIN``).
"""

from __future__ import annotations

from typing import Any, Final, Literal

import sqlalchemy as sa

from psirf_flow.errors import StoreError
from psirf_flow.store.sql._errors import _shown


__all__ = ["Durability", "make_engine"]

#: ``"full"`` survives power loss; ``"normal"`` survives process crashes only.
Durability = Literal["full", "normal"]

_SQLITE_SYNCHRONOUS: Final = {"full": "FULL", "normal": "NORMAL"}
_BUSY_TIMEOUT_MS: Final = 30_000
#: A connection option: the next statement runs on its own, outside an explicit transaction.
_SINGLE_STATEMENT: Final = "psirf_flow_single_statement"


def _url(url: str | sa.URL) -> sa.URL:
    if isinstance(url, sa.URL):
        return url
    if "://" not in url:
        return sa.URL.create("sqlite+pysqlite", database=url)
    return sa.make_url(url)


def make_engine(url: str | sa.URL, *, durability: Durability = "full") -> sa.Engine:
    """Create an engine configured the way :class:`SqlStore` needs it.

    For SQLite every connection uses WAL, ``synchronous`` set by ``durability``, foreign
    keys, a 30 s busy timeout, and explicit ``BEGIN`` so that SAVEPOINTs and transactional
    DDL work. For PostgreSQL, ``durability="normal"`` turns ``synchronous_commit`` off.

    Args:
        url: A SQLAlchemy URL, or a plain file path for SQLite.
        durability: ``"full"`` (default): a commit survives power loss. ``"normal"``:
            faster, survives a crash of the process, but the last commits may be lost on
            power loss or an operating system crash (never corrupted).

    Raises:
        ValueError: If ``durability`` is not ``"full"`` or ``"normal"``.
        StoreError: If the URL names no installed driver.
    """
    if durability not in _SQLITE_SYNCHRONOUS:
        msg = f"durability must be 'full' or 'normal', not {durability!r}"
        raise ValueError(msg)
    parsed = _url(url)
    try:
        engine = sa.create_engine(parsed)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
        raise StoreError(f"cannot use the database URL {_shown(parsed)}: {error}") from error
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, _SQLITE_SYNCHRONOUS[durability])
    elif engine.dialect.name == "postgresql" and durability == "normal":
        _configure_postgresql_async_commit(engine)
    return engine


def _configure_sqlite(engine: sa.Engine, synchronous: str) -> None:
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        # Take transaction control away from the driver; SQLAlchemy emits BEGIN below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def on_begin(connection: sa.Connection) -> None:
        if connection.get_execution_options().get(_SINGLE_STATEMENT):
            # One statement that reads: SQLite runs it in its own implicit transaction.
            return
        connection.exec_driver_sql("BEGIN")

    sa.event.listen(engine, "connect", on_connect)
    sa.event.listen(engine, "begin", on_begin)


def _configure_postgresql_async_commit(engine: sa.Engine) -> None:
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET synchronous_commit = off")
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
