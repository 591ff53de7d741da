"""Alembic migrations: empty to head on both backends, and refusing unknown schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from psirf_flow.errors import SchemaVersionError
from psirf_flow.store.sql import (
    HEAD_REVISION,
    VERSION_TABLE,
    SqlStore,
    current_revision,
    make_engine,
    metadata,
    upgrade,
)
from psirf_flow.store.sql.migrate import _alembic_config


def _upgrade_to(url: str, revision: str) -> None:
    """Run the packaged migrations on ``url`` up to ``revision`` only."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


class TestUpgrade:
    """``upgrade`` builds exactly the tables the library defines."""

    def test_head_revision_is_the_last_shipped_migration(self) -> None:
        """HEAD_REVISION names the head of the migrations shipped in the package."""
        script = ScriptDirectory.from_config(_alembic_config())
        assert script.get_current_head() == HEAD_REVISION

    def test_empty_database_has_no_revision(self, db_url: str) -> None:
        """A database psirf_flow never migrated reports no revision."""
        engine = make_engine(db_url)
        try:
            assert current_revision(engine) is None
        finally:
            engine.dispose()

    def test_empty_to_head_matches_the_table_definitions(self, db_url: str) -> None:
        """After upgrading an empty database, reflection shows exactly the MetaData."""
        engine = make_engine(db_url)
        try:
            upgrade(engine)
            assert current_revision(engine) == HEAD_REVISION
            with engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"version_table": VERSION_TABLE}
                )
                assert compare_metadata(context, metadata) == []
                inspector = sa.inspect(connection)
                assert set(inspector.get_table_names()) == {*metadata.tables, VERSION_TABLE}
                for table in metadata.sorted_tables:
                    reflected = {c["name"] for c in inspector.get_columns(table.name)}
                    assert reflected == set(table.columns.keys()), table.name
                    indexes = {i["name"] for i in inspector.get_indexes(table.name)}
                    assert {i.name for i in table.indexes} <= indexes, table.name
                uniques = {
                    tuple(u["column_names"])
                    for u in inspector.get_unique_constraints("audit_entries")
                }
                assert ("case_id", "sequence") in uniques
                outbox = {
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints("outbox")
                }
                assert ("message_id",) in outbox
                assert inspector.get_pk_constraint("idempotency_keys")["constrained_columns"] == [
                    "key"
                ]
        finally:
            engine.dispose()

    def test_listing_and_sweeping_indexes_exist(self, db_url: str) -> None:
        """Cases are indexed for listing and deadlines for sweeping, in that column order."""
        upgrade(db_url)
        engine = make_engine(db_url)
        try:
            inspector = sa.inspect(engine)
            cases = {tuple(i["column_names"]) for i in inspector.get_indexes("cases")}
            deadlines = {tuple(i["column_names"]) for i in inspector.get_indexes("deadlines")}
        finally:
            engine.dispose()
        assert ("workflow", "state", "organisation", "id") in cases
        assert ("status", "due_at") in deadlines

    def test_upgrade_twice_changes_nothing(self, db_url: str) -> None:
        """Upgrading a database already at head is a no-op."""
        upgrade(db_url)
        upgrade(db_url)
        store = SqlStore.open(db_url)
        try:
            assert current_revision(store.engine) == HEAD_REVISION
        finally:
            store.dispose()


class TestSchemaCheck:
    """Opening a store checks the schema revision and refuses a mismatch."""

    def test_missing_schema_is_refused_with_advice(self, db_url: str) -> None:
        """Opening an unmigrated database says the migration must be run."""
        with pytest.raises(SchemaVersionError) as raised:
            SqlStore.open(db_url)
        assert raised.value.found is None
        assert not raised.value.newer
        assert "run the migration" in str(raised.value)

    def test_newer_schema_is_refused(self, db_url: str) -> None:
        """A database stamped with a revision this release does not know refuses to run."""
        upgrade(db_url)
        engine = make_engine(db_url)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00d9999'"))
        finally:
            engine.dispose()
        with pytest.raises(SchemaVersionError) as opened:
            SqlStore.open(db_url)
        assert opened.value.newer
        assert "newer than this release" in str(opened.value)
        assert "f00d9999" in str(opened.value)
        with pytest.raises(SchemaVersionError, match="newer"):
            SqlStore.open(db_url, migrate=True)
        with pytest.raises(SchemaVersionError, match="newer"):
            upgrade(db_url)

    def test_older_schema_is_refused_then_upgraded_keeping_data(self, db_url: str) -> None:
        """A database at the first revision is refused until upgraded; its cases survive."""
        _upgrade_to(db_url, "0001")
        engine = make_engine(db_url)
        try:
            with engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO cases (id, workflow, workflow_version, organisation, state,"
                        " version, held_from, head_hash, facts, opened_at, updated_at) VALUES"
                        " ('old-1', 'psii', '1', 'RX1', 'commissioned', 1, NULL, '', '{}',"
                        " :at, :at)"
                    ),
                    {"at": datetime(2026, 1, 5, tzinfo=UTC)},
                )
        finally:
            engine.dispose()

        with pytest.raises(SchemaVersionError) as refused:
            SqlStore.open(db_url)
        store = SqlStore.open(db_url, migrate=True)
        try:
            kept = store.load("old-1")
        finally:
            store.dispose()

        assert (refused.value.found, refused.value.newer) == ("0001", False)
        assert "psirf-flow db upgrade" in str(refused.value)
        assert (kept.state, kept.retention_class) == ("commissioned", "")

    def test_check_schema_on_a_host_engine(self, db_url: str) -> None:
        """A store made from a host's engine checks its schema on request."""
        engine = make_engine(db_url)
        store = SqlStore(engine)
        try:
            with pytest.raises(SchemaVersionError):
                store.check_schema()
            upgrade(engine)
            store.check_schema()
            assert store.url == engine.url.render_as_string(hide_password=True)
        finally:
            store.dispose()
            engine.dispose()
