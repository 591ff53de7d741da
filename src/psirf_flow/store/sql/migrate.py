"""Schema versions: the revision a database is at, and `upgrade` to this release's.

The Alembic migrations ship inside the package (``psirf_flow.store.sql:migrations``).
[`HEAD_REVISION`][psirf_flow.store.sql.migrate.HEAD_REVISION] is the revision this release reads and
writes; [`current_revision`][psirf_flow.store.sql.migrate.current_revision] reads the one recorded
in a database; [`upgrade`][psirf_flow.store.sql.migrate.upgrade] creates or upgrades the tables in
one transaction (on PostgreSQL under an advisory lock, so concurrent upgrades wait for each other).
A database at a revision this release does not know is newer than it, and is refused with
[`SchemaVersionError`][psirf_flow.errors.SchemaVersionError].

**psirf_flow's own version table.** The revision is recorded in
[`VERSION_TABLE`][psirf_flow.store.sql.migrate.VERSION_TABLE] (``psirf_flow_alembic_version``), not
in Alembic's default ``alembic_version``, so a host application may keep its own Alembic history in
the same schema: neither sees the other's revision. Releases before this one used
``alembic_version``; [`upgrade`][psirf_flow.store.sql.migrate.upgrade] moves psirf_flow's revision
from there to the new table in the same transaction (and under the same lock), and leaves that table
alone when it holds anything else (a host's own revision). Until then,
[`SqlStore.check_schema`][psirf_flow.store.sql.store.SqlStore.check_schema] refuses the database as
needing the migration.

**Forward-only.** psirf_flow's migrations cannot be reversed: every ``downgrade()``
raises ``RuntimeError``. The audit trail is append-only evidence, and a downgrade would
drop the columns (and so the recorded facts) that later revisions added to it. To go back,
restore a backup taken before the upgrade.
"""

from __future__ import annotations

import functools
from typing import Final, NamedTuple

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from psirf_flow.errors import SchemaVersionError
from psirf_flow.store.sql._errors import _connected, _translated
from psirf_flow.store.sql.engines import make_engine


__all__ = ["HEAD_REVISION", "VERSION_TABLE", "current_revision", "upgrade"]

HEAD_REVISION: Final = "0006_deadline_clocks"
"""The schema revision this release of psirf_flow reads and writes."""
VERSION_TABLE: Final = "psirf_flow_alembic_version"
"""The table that records psirf_flow's schema revision (Alembic's ``version_table``)."""
_LEGACY_VERSION_TABLE: Final = "alembic_version"
"""Alembic's default version table, which releases before this one used (and hosts use)."""
_OWN_TABLES: Final = frozenset(
    {"cases", "audit_entries", "idempotency_keys", "deadlines", "outbox"}
)
"""The tables that show a legacy ``alembic_version`` row is psirf_flow's (revision 0001's).
Later revisions' tables (``incident_links``, ``escalations``) stay out on purpose: a
database recorded in the legacy table predates them, and must still be recognised."""
_MIGRATION_LOCK: Final = 0x7073_6972_66
"""Serialises concurrent migrations on PostgreSQL (any constant; "psirf" in ASCII)."""


class _Found(NamedTuple):
    """The revision recorded in a database, and whether it is in the legacy table."""

    revision: str | None
    legacy: bool


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "psirf_flow.store.sql:migrations")
    return config


@functools.cache
def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(_alembic_config())
    return frozenset(r.revision for r in script.walk_revisions())


def _legacy_revisions(connection: sa.Connection) -> tuple[str, ...]:
    """psirf_flow's revisions recorded in the legacy ``alembic_version`` table, if any.

    Only when psirf_flow's tables exist too: a host's own revision (whatever its id) in a
    schema without them is never taken for psirf_flow's.
    """
    inspector = sa.inspect(connection)
    names = set(inspector.get_table_names())
    if _LEGACY_VERSION_TABLE not in names or not names >= _OWN_TABLES:
        return ()
    context = MigrationContext.configure(connection)
    return tuple(r for r in context.get_current_heads() if r in _known_revisions())


def _found(connection: sa.Connection) -> _Found:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    revision = context.get_current_revision()
    if revision is not None:
        return _Found(revision, legacy=False)
    legacy = _legacy_revisions(connection)
    if legacy:
        return _Found(legacy[0], legacy=True)
    return _Found(None, legacy=False)


def _read(engine: sa.Engine | sa.Connection) -> _Found:
    if isinstance(engine, sa.Connection):
        return _found(engine)
    with _translated(engine.url), _connected(engine) as connection:
        return _found(connection)


def current_revision(engine: sa.Engine | sa.Connection) -> str | None:
    """Return the schema revision recorded in the database (``None`` when it has none).

    The revision is read from [`VERSION_TABLE`][psirf_flow.store.sql.migrate.VERSION_TABLE]. A
    database migrated by an earlier release, which recorded it in the shared ``alembic_version``
    table, reports that revision too;
    [`SqlStore.check_schema`][psirf_flow.store.sql.store.SqlStore.check_schema] refuses it until
    [`upgrade`][psirf_flow.store.sql.migrate.upgrade] has moved it to
    [`VERSION_TABLE`][psirf_flow.store.sql.migrate.VERSION_TABLE].

    Raises:
        StoreUnavailable: If the database cannot be reached.
        StoreError: If reading the revision fails.
    """
    return _read(engine).revision


def _schema_error(found: str | None, *, legacy: bool = False) -> SchemaVersionError:
    newer = found is not None and not legacy and found not in _known_revisions()
    return SchemaVersionError(found, HEAD_REVISION, newer=newer, legacy_table=legacy)


def _check(engine: sa.Engine | sa.Connection) -> None:
    """Raise `SchemaVersionError` unless the database is at head in its own table."""
    found = _read(engine)
    if found.legacy or found.revision != HEAD_REVISION:
        raise _schema_error(found.revision, legacy=found.legacy)


def _move_legacy_revision(connection: sa.Connection, config: Config) -> None:
    """Move psirf_flow's revision from ``alembic_version`` to `VERSION_TABLE`.

    Runs inside [`upgrade`][psirf_flow.store.sql.migrate.upgrade]'s transaction, once `_found` has
    seen the legacy layout. The legacy table loses psirf_flow's row only; it is dropped when nothing
    else is left in it, and left alone otherwise.
    """
    legacy = _legacy_revisions(connection)
    command.stamp(config, legacy[0])
    version = sa.table(_LEGACY_VERSION_TABLE, sa.column("version_num", sa.String))
    connection.execute(version.delete().where(version.c.version_num.in_(legacy)))
    if connection.execute(sa.select(sa.func.count()).select_from(version)).scalar_one() == 0:
        connection.execute(sa.text(f"DROP TABLE {_LEGACY_VERSION_TABLE}"))


def upgrade(target: sa.Engine | str | sa.URL) -> None:
    """Create psirf_flow's tables, or upgrade them to `HEAD_REVISION`.

    Runs the Alembic migrations shipped inside the package, in one transaction (on
    PostgreSQL under an advisory lock, so concurrent upgrades wait for each other). Run it
    at deployment, or pass ``migrate=True`` to
    [`SqlStore.open`][psirf_flow.store.sql.store.SqlStore.open]. A database migrated by an earlier
    release has its revision moved from ``alembic_version`` to
    [`VERSION_TABLE`][psirf_flow.store.sql.migrate.VERSION_TABLE] first, in the same transaction.
    Migrations are forward-only: there is no downgrade.

    Args:
        target: An engine, a SQLAlchemy URL, or a plain file path for SQLite.

    Raises:
        SchemaVersionError: If the database is at a revision newer than this release.
        StoreUnavailable: If the database cannot be reached.
        StoreError: If the migration fails; it was rolled back.
    """
    engine = target if isinstance(target, sa.Engine) else make_engine(target)
    try:
        with _translated(engine.url), _connected(engine) as connection, connection.begin():
            _upgrade_in(connection)
    finally:
        if engine is not target:
            engine.dispose()


def _upgrade_in(connection: sa.Connection) -> None:
    """`upgrade` inside ``connection``'s open transaction, which the caller ends.

    Also run by the asyncio store through ``AsyncConnection.run_sync``.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    found = _found(connection)
    if found.revision is not None and found.revision not in _known_revisions():
        raise _schema_error(found.revision)
    config = _alembic_config()
    config.attributes["connection"] = connection
    if found.legacy:
        _move_legacy_revision(connection, config)
    command.upgrade(config, "head")
