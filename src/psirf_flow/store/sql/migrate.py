"""Schema versions: the revision a database is at, and :func:`upgrade` to this release's.

The Alembic migrations ship inside the package (``psirf_flow.store.sql:migrations``).
:data:`HEAD_REVISION` is the revision this release reads and writes;
:func:`current_revision` reads the one recorded in a database; :func:`upgrade` creates or
upgrades the tables in one transaction (on PostgreSQL under an advisory lock, so
concurrent upgrades wait for each other). A database at a revision this release does not
know is newer than it, and is refused with :class:`~psirf_flow.errors.SchemaVersionError`.
"""

from __future__ import annotations

import functools
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from psirf_flow.errors import SchemaVersionError
from psirf_flow.store.sql._errors import _connected, _translated
from psirf_flow.store.sql.engines import make_engine


__all__ = ["HEAD_REVISION", "current_revision", "upgrade"]

#: The schema revision this release of psirf_flow reads and writes.
HEAD_REVISION: Final = "0004_outbox_retry"
#: Serialises concurrent migrations on PostgreSQL (any constant; "psirf" in ASCII).
_MIGRATION_LOCK: Final = 0x7073_6972_66


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "psirf_flow.store.sql:migrations")
    return config


@functools.cache
def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(_alembic_config())
    return frozenset(r.revision for r in script.walk_revisions())


def current_revision(engine: sa.Engine | sa.Connection) -> str | None:
    """Return the schema revision recorded in the database (``None`` when it has none).

    Raises:
        StoreUnavailable: If the database cannot be reached.
        StoreError: If reading the revision fails.
    """
    if isinstance(engine, sa.Connection):
        return MigrationContext.configure(engine).get_current_revision()
    with _translated(engine.url), _connected(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _schema_error(found: str | None) -> SchemaVersionError:
    newer = found is not None and found not in _known_revisions()
    return SchemaVersionError(found, HEAD_REVISION, newer=newer)


def upgrade(target: sa.Engine | str | sa.URL) -> None:
    """Create psirf_flow's tables, or upgrade them to :data:`HEAD_REVISION`.

    Runs the Alembic migrations shipped inside the package, in one transaction (on
    PostgreSQL under an advisory lock, so concurrent upgrades wait for each other). Run it
    at deployment, or pass ``migrate=True`` to :meth:`SqlStore.open`.

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
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            found = current_revision(connection)
            if found is not None and found not in _known_revisions():
                raise _schema_error(found)
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if engine is not target:
            engine.dispose()
