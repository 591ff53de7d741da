"""The SQLAlchemy store: SQLite files and PostgreSQL through SQLAlchemy 2 Core.

Needs the ``sqlalchemy`` extra (``postgresql`` for PostgreSQL through psycopg 3). Open a
store with [`SqlStore.open`][psirf_flow.store.sql.store.SqlStore.open]; create or upgrade the schema
with [`upgrade`][psirf_flow.store.sql.migrate.upgrade] (the Alembic migrations ship inside the
package). See the how-to guide "Persist with SQLAlchemy". psirf_flow records its schema revision in
its own table ([`VERSION_TABLE`][psirf_flow.store.sql.migrate.VERSION_TABLE]), so a host's own
Alembic history can share the schema.

Examples:
    ```python
    from psirf_flow.store.sql import SqlStore
    store = SqlStore.open("cases.sqlite3", migrate=True)
    ```
"""

from psirf_flow._extras import missing


try:
    import sqlalchemy  # noqa: F401 - imported first to name the missing extra
except ImportError as _error:
    raise missing("sqlalchemy", needed_by="the SQL store") from _error
try:
    import alembic  # noqa: F401 - imported first to name the missing extra
except ImportError as _error:
    raise missing("alembic", needed_by="the SQL store") from _error

from psirf_flow.store.sql.engines import Durability, make_async_engine, make_engine
from psirf_flow.store.sql.migrate import HEAD_REVISION, VERSION_TABLE, current_revision, upgrade
from psirf_flow.store.sql.schema import metadata
from psirf_flow.store.sql.store import SqlStore


__all__ = [
    "HEAD_REVISION",
    "VERSION_TABLE",
    "Durability",
    "SqlStore",
    "current_revision",
    "make_async_engine",
    "make_engine",
    "metadata",
    "upgrade",
]
