"""Alembic environment for psirf_flow's own tables.

Run it through [`upgrade`][psirf_flow.store.sql.migrate.upgrade], which passes an open connection in
``config.attributes["connection"]``; no ``alembic.ini`` is needed. Given only a
``sqlalchemy.url`` main option, it connects by itself; in offline mode it writes SQL.

The revision is recorded in psirf_flow's own version table
([`VERSION_TABLE`][psirf_flow.store.sql.migrate.VERSION_TABLE]), never in Alembic's default
``alembic_version``, which a host's own migrations may use in the same schema.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from psirf_flow.store.sql.migrate import VERSION_TABLE
from psirf_flow.store.sql.schema import metadata


config = context.config


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        msg = "set config.attributes['connection'] or the sqlalchemy.url option"
        raise RuntimeError(msg)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as own:
            _configure(own)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
