"""Every command that prints a database URL shows it without its password (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from psirf_flow.cli import main


pytestmark = pytest.mark.postgres

PASSWORD = "s3cret-pw"  # noqa: S105 - the server trusts local connections; it is never checked


@pytest.fixture(name="url")
def _url(pg_url: str) -> str:
    """The test schema's URL with a password the server ignores, migrated."""
    with_password = sa.make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    assert CliRunner().invoke(main, ["db", "upgrade", with_password]).exit_code == 0
    return with_password


def test_db_revision_prints_the_url_masked(url: str) -> None:
    """``db revision`` names the database it read with ``***`` for the password."""
    result = CliRunner().invoke(main, ["db", "revision", url])

    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("url: postgresql+psycopg://")
    assert ":***@" in first
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["db", "upgrade", "{url}"],
        ["db", "revision", "{url}"],
        ["verify", "{url}"],
        ["verify", "{url}", "--case", "NOPE"],
        ["report", "{url}", "--organisation", "RXY"],
        ["report", "{url}", "--organisation", "RXY", "--json"],
        ["lessons", "{url}", "--organisation", "RXY", "--since", "2026-01-01"],
        ["sweep", "{url}", "--once"],
        ["checkpoint", "{url}", "--out", "{out}"],
    ],
    ids=lambda args: "-".join(a for a in args if not a.startswith("{")),
)
def test_no_command_shows_the_password(url: str, args: list[str], tmp_path: Path) -> None:
    """Succeeding or failing, no command repeats the URL's password."""
    out = tmp_path / "cp.json"
    result = CliRunner().invoke(main, [a.format(url=url, out=out) for a in args])

    assert result.exit_code in {0, 3}, result.output
    assert PASSWORD not in result.output
