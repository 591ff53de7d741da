"""psirf_flow's own Alembic version table, the move from the shared one, and no downgrades."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner

from psirf_flow.cli import main
from psirf_flow.errors import SchemaVersionError
from psirf_flow.store.sql import (
    HEAD_REVISION,
    VERSION_TABLE,
    SqlStore,
    current_revision,
    make_engine,
    upgrade,
)
from psirf_flow.store.sql.migrate import _alembic_config


FORWARD_ONLY = "psirf_flow migrations are forward-only; restore a backup to go back"
LEGACY = "alembic_version"

#: A host application's own migration environment: Alembic's defaults, its own table.
HOST_ENV = """
from alembic import context

context.configure(connection=context.config.attributes["connection"], target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
"""
#: The host's first revision. Its id is psirf_flow's first on purpose: even the same id
#: must not make either side take the other's history for its own.
HOST_REVISION = '''
"""The host's own table."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("host_things", sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table("host_things")
'''


@pytest.fixture
def host_config(tmp_path: Path) -> Config:
    """The configuration of a host's own Alembic environment (default version table)."""
    location = tmp_path / "host_migrations"
    (location / "versions").mkdir(parents=True)
    (location / "env.py").write_text(textwrap.dedent(HOST_ENV))
    (location / "versions" / "0001_host_things.py").write_text(textwrap.dedent(HOST_REVISION))
    config = Config()
    config.set_main_option("script_location", str(location))
    return config


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    """An engine on an empty database of each backend."""
    made = make_engine(db_url)
    yield made
    made.dispose()


def _host_upgrade(engine: sa.Engine, config: Config) -> None:
    with engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _rows(engine: sa.Engine, table: str) -> list[str]:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(table):
            return []
        version = sa.table(table, sa.column("version_num", sa.String))
        return sorted(connection.execute(sa.select(version.c.version_num)).scalars())


def _host_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _to_legacy_layout(engine: sa.Engine, *extra: str) -> None:
    """Record psirf_flow's revision in ``alembic_version`` as releases before this one did."""
    [revision] = _rows(engine, VERSION_TABLE)
    legacy = sa.Table(
        LEGACY,
        sa.MetaData(),
        sa.Column("version_num", sa.String(32), primary_key=True),
    )
    with engine.begin() as connection:
        legacy.create(connection)
        for value in (revision, *extra):
            connection.execute(legacy.insert().values(version_num=value))
        connection.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))


def _upgrade_to(engine: sa.Engine, revision: str) -> None:
    with engine.connect() as connection, connection.begin():
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _insert_case(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO cases (id, workflow, workflow_version, organisation, state,"
                " version, held_from, head_hash, facts, opened_at, updated_at) VALUES"
                " ('old-1', 'psii', '1', 'RX1', 'commissioned', 1, NULL, '', '{}', :at, :at)"
            ),
            {"at": datetime(2026, 1, 5, tzinfo=UTC)},
        )


def _schema(engine: sa.Engine) -> dict[str, set[str]]:
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        return {
            t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()
        }


class TestSharedSchema:
    """A host with its own Alembic history shares the schema with psirf_flow."""

    @pytest.mark.parametrize("host_first", [True, False], ids=["host-first", "psirf-first"])
    def test_both_upgrade_and_neither_sees_the_other(
        self, engine: sa.Engine, host_config: Config, db_url: str, host_first: bool
    ) -> None:
        """Each history lives in its own table, whichever migrates first, and again."""
        steps: list[Callable[[], None]] = [
            lambda: _host_upgrade(engine, host_config),
            lambda: upgrade(engine),
        ]
        for step in steps if host_first else steps[::-1]:
            step()
        for step in steps:  # both again: nothing to do for either
            step()

        assert _rows(engine, LEGACY) == ["0001"]
        assert _host_revision(engine) == "0001"
        assert _rows(engine, VERSION_TABLE) == [HEAD_REVISION]
        assert current_revision(engine) == HEAD_REVISION
        assert "host_things" in _schema(engine)
        store = SqlStore.open(db_url)  # the schema check passes
        store.dispose()

    def test_host_revision_without_psirf_tables_is_not_taken_for_ours(
        self, engine: sa.Engine, host_config: Config
    ) -> None:
        """A host's revision whose id psirf_flow also uses is no psirf_flow schema."""
        _host_upgrade(engine, host_config)

        assert current_revision(engine) is None


class TestLegacyLayout:
    """An installation whose revision is in the shared ``alembic_version`` table moves it."""

    def test_older_installation_upgrades_and_keeps_its_data(
        self, engine: sa.Engine, db_url: str
    ) -> None:
        """A legacy database at 0001 is refused, then upgraded; its case and tables survive."""
        _upgrade_to(engine, "0001")
        _insert_case(engine)
        _to_legacy_layout(engine)

        assert current_revision(engine) == "0001"
        with pytest.raises(SchemaVersionError) as refused:
            SqlStore.open(db_url)
        upgrade(engine)
        store = SqlStore.open(db_url)
        try:
            kept = store.load("old-1")
        finally:
            store.dispose()

        assert (refused.value.found, refused.value.newer) == ("0001", False)
        assert refused.value.legacy_table
        assert (kept.state, kept.retention_class) == ("commissioned", "")
        assert _rows(engine, VERSION_TABLE) == [HEAD_REVISION]
        assert LEGACY not in _schema(engine)

    def test_legacy_at_head_is_refused_until_moved(self, engine: sa.Engine, db_url: str) -> None:
        """Even at the head revision, the legacy table needs the migration to move it."""
        upgrade(engine)
        _insert_case(engine)
        _to_legacy_layout(engine)
        shown = CliRunner().invoke(main, ["db", "revision", db_url])

        with pytest.raises(SchemaVersionError, match="alembic_version") as refused:
            SqlStore.open(db_url)
        store = SqlStore.open(db_url, migrate=True)
        try:
            assert store.load("old-1").state == "commissioned"
        finally:
            store.dispose()

        assert (refused.value.found, refused.value.legacy_table) == (HEAD_REVISION, True)
        assert f"database: {HEAD_REVISION} (in the old alembic_version table" in shown.output
        assert _rows(engine, VERSION_TABLE) == [HEAD_REVISION]

    def test_bound_store_checks_the_layout_too(self, engine: sa.Engine) -> None:
        """A store inside a host's connection refuses the legacy layout as well."""
        upgrade(engine)
        _to_legacy_layout(engine)

        with engine.connect() as connection, pytest.raises(SchemaVersionError) as refused:
            SqlStore.bind(connection).check_schema()

        assert refused.value.legacy_table

    def test_host_rows_in_the_legacy_table_are_left_alone(self, engine: sa.Engine) -> None:
        """Only psirf_flow's row leaves ``alembic_version``; anything else stays with it."""
        upgrade(engine)
        _to_legacy_layout(engine, "hostrev42")

        upgrade(engine)

        assert _rows(engine, LEGACY) == ["hostrev42"]
        assert _rows(engine, VERSION_TABLE) == [HEAD_REVISION]


class TestForwardOnly:
    """Migrations cannot be reversed: the audit trail's columns are never dropped."""

    def test_every_shipped_migration_refuses_to_downgrade(self) -> None:
        """Each revision's ``downgrade()`` raises the forward-only error."""
        script = ScriptDirectory.from_config(_alembic_config())
        revisions = list(script.walk_revisions())

        assert {r.revision for r in revisions} >= {"0001", HEAD_REVISION}
        for revision in revisions:
            with pytest.raises(RuntimeError, match=FORWARD_ONLY):
                revision.module.downgrade()

    def test_new_revisions_are_forward_only_too(self) -> None:
        """The template new migrations are made from writes the same downgrade."""
        script = ScriptDirectory.from_config(_alembic_config())
        template = Path(script.dir) / "script.py.mako"

        assert f'raise RuntimeError("{FORWARD_ONLY}")' in template.read_text()

    def test_downgrade_through_alembic_raises_and_changes_nothing(self, engine: sa.Engine) -> None:
        """Asking Alembic to go back raises; tables, columns and revision are unchanged."""
        upgrade(engine)
        _insert_case(engine)
        before = _schema(engine)

        with engine.connect() as connection, connection.begin():
            config = _alembic_config()
            config.attributes["connection"] = connection
            with pytest.raises(RuntimeError, match=FORWARD_ONLY):
                command.downgrade(config, "base")

        assert _schema(engine) == before
        assert current_revision(engine) == HEAD_REVISION
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM cases")).scalar_one() == 1
