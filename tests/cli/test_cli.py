"""The ``psirf-flow`` command line."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from psirf_flow import Actor, Engine, Role
from psirf_flow.audit import AuditKeys
from psirf_flow.cli import EXIT_BROKEN, EXIT_INVALID, EXIT_STORE, KEYS_ENV, main
from psirf_flow.store.sql import HEAD_REVISION, SqlStore
from psirf_flow.testing import ManualClock


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(name="db")
def _db(tmp_path: Path) -> Path:
    """A SQLite file holding one PSII with two audit entries."""
    path = tmp_path / "cases.sqlite3"
    store = SqlStore.open(str(path), migrate=True)
    engine = Engine(store, clock=ManualClock())
    pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], "RXY")
    case = engine.open("psii", actor=pss, case_id="PSII-1", payload={"incident_ids": ["INC-1"]})
    engine.fire(
        case.case.id,
        "assign_lead",
        actor=pss,
        payload={"lead_id": "inv-07", "engagement_lead_id": "eng-03"},
    )
    store.dispose()
    return path


class TestDefinitions:
    """Commands that print built-in definitions."""

    def test_workflows_lists_every_builtin(self, runner: CliRunner) -> None:
        """``workflows`` lists the PSII and the intake lifecycle with their versions."""
        result = runner.invoke(main, ["workflows"])

        assert result.exit_code == 0
        assert "psii@1" in result.output
        assert "incident_intake@1" in result.output

    @pytest.mark.parametrize(
        ("fmt", "expected"),
        [
            ("mermaid", "stateDiagram-v2\n    direction LR\n"),
            ("table", "`request_approval`"),
            ("markdown", "## Recording steps"),
        ],
        ids=["mermaid", "table", "markdown"],
    )
    def test_diagram_formats(self, runner: CliRunner, fmt: str, expected: str) -> None:
        """``diagram`` prints the overview, the table or the reference page in each format."""
        result = runner.invoke(main, ["diagram", "psii", "--format", fmt])

        assert result.exit_code == 0, result.output
        assert expected in result.output

    def test_unknown_workflow_is_a_usage_error(self, runner: CliRunner) -> None:
        """An unknown workflow name is refused with the known names listed."""
        result = runner.invoke(main, ["diagram", "no_such_thing"])

        assert result.exit_code == 2
        assert "psii" in result.output


class TestDatabase:
    """Schema and verification commands against a real SQLite file."""

    def test_upgrade_creates_the_schema(self, runner: CliRunner, tmp_path: Path) -> None:
        """``db upgrade`` brings an empty file to the head revision, which ``db revision`` shows."""
        path = str(tmp_path / "new.sqlite3")

        upgraded = runner.invoke(main, ["db", "upgrade", path])
        shown = runner.invoke(main, ["db", "revision", path])

        assert upgraded.exit_code == 0, upgraded.output
        assert f"database: {HEAD_REVISION}" in shown.output

    def test_verify_reports_sound_trails(self, runner: CliRunner, db: Path) -> None:
        """``verify`` checks every case and exits 0 when every chain holds."""
        result = runner.invoke(main, ["verify", str(db)])

        assert result.exit_code == 0, result.output
        assert "1 case(s) verified, 0 broken" in result.output

    def test_verify_names_a_tampered_entry(self, runner: CliRunner, db: Path) -> None:
        """An audit row edited in the database is named and the exit code is 1."""
        with sqlite3.connect(db) as raw:
            raw.execute("UPDATE audit_entries SET actor_id = 'someone-else' WHERE sequence = 2")

        result = runner.invoke(main, ["verify", str(db), "--case", "PSII-1"])

        assert result.exit_code == EXIT_BROKEN
        assert "PSII-1: BROKEN at entry 2" in result.output

    def test_unknown_case_is_an_error(self, runner: CliRunner, db: Path) -> None:
        """Verifying a case that does not exist fails with a plain message."""
        result = runner.invoke(main, ["verify", str(db), "--case", "NOPE"])

        assert result.exit_code == EXIT_INVALID
        assert "no case with id 'NOPE'" in result.output

    @pytest.mark.parametrize(
        "case_id", ["943 476 5919", "pt-9434765919", "Jane Smith", "a@b.example.org"]
    )
    def test_a_case_that_is_not_an_opaque_id_is_refused(
        self, runner: CliRunner, db: Path, case_id: str
    ) -> None:
        """A --case that is a name, holds an NHS number or an e-mail exits 3 without echoing it."""
        result = runner.invoke(main, ["verify", str(db), "--case", case_id])

        assert result.exit_code == EXIT_INVALID
        assert "[PSF700] --case" in result.output
        assert case_id not in result.output
        assert "943" not in result.output

    def test_unreachable_database_is_a_store_error(self, runner: CliRunner) -> None:
        """An unreachable server exits 4 and never prints the password."""
        url = "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere"

        result = runner.invoke(main, ["db", "revision", url])

        assert result.exit_code == EXIT_STORE
        assert "s3cret" not in result.output


class TestReadOnlyCommands:
    """``verify`` and ``db revision`` only read: a mistyped path creates nothing."""

    @pytest.mark.parametrize(
        "command", [["verify"], ["db", "revision"]], ids=["verify", "revision"]
    )
    def test_missing_file_is_a_store_error_and_not_created(
        self, runner: CliRunner, tmp_path: Path, command: list[str]
    ) -> None:
        """A path with no database exits 4, names the path, and leaves no file behind."""
        path = tmp_path / "typo.sqlite3"

        result = runner.invoke(main, [*command, str(path)])

        assert result.exit_code == EXIT_STORE
        assert str(path) in result.output
        assert "no database file" in result.output
        assert list(tmp_path.iterdir()) == []

    def test_verify_leaves_the_file_as_it_was(self, runner: CliRunner, db: Path) -> None:
        """Verification writes nothing to the database file."""
        before = db.read_bytes()

        result = runner.invoke(main, ["verify", str(db)])

        assert result.exit_code == 0, result.output
        assert db.read_bytes() == before


class TestSecretsInUrls:
    """No password, in the userinfo part or the query, is ever printed."""

    @pytest.mark.parametrize(
        "url",
        [
            "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere",
            "postgresql+psycopg://someone@127.0.0.1:1/nowhere?password=s3cret",
            "postgresql+psycopg://someone@127.0.0.1:1/nowhere?sslpassword=s3cret",
            "nosuchdb://someone@127.0.0.1:1/nowhere?password=s3cret",
            "postgresql+psycopg://someone:s3cret@127.0.0.1:notaport/nowhere",
        ],
        ids=["userinfo", "query-password", "query-sslpassword", "unknown-driver", "unparsable"],
    )
    @pytest.mark.parametrize(
        "command",
        [["verify"], ["db", "revision"], ["db", "upgrade"]],
        ids=["verify", "revision", "upgrade"],
    )
    def test_store_errors_hide_the_password(
        self, runner: CliRunner, url: str, command: list[str]
    ) -> None:
        """Every database command exits 4 without printing the secret."""
        result = runner.invoke(main, [*command, url])

        assert result.exit_code == EXIT_STORE, result.output
        assert "s3cret" not in result.output
        assert "store error" in result.output


SECRET = bytes(range(32, 64))
RING = json.dumps({"active": "k1", "keys": {"k1": base64.b64encode(SECRET).decode()}})


@pytest.fixture(name="keyed_db")
def _keyed_db(tmp_path: Path) -> Path:
    """A SQLite file holding one PSII whose two entries are keyed with ``k1``."""
    path = tmp_path / "keyed.sqlite3"
    store = SqlStore.open(str(path), migrate=True)
    engine = Engine(store, clock=ManualClock(), keys=AuditKeys.from_json(RING))
    pss = Actor("pss-01", [Role.PATIENT_SAFETY_SPECIALIST], "RXY")
    engine.open("psii", actor=pss, case_id="PSII-1", payload={"incident_ids": ["INC-1"]})
    engine.fire(
        "PSII-1", "assign_lead", actor=pss, payload={"lead_id": "i-7", "engagement_lead_id": "e-3"}
    )
    store.dispose()
    return path


class TestCheckpoints:
    """``checkpoint`` writes a signed checkpoint; ``verify --checkpoint`` compares with it."""

    def test_checkpoint_then_verify_against_it(
        self, runner: CliRunner, keyed_db: Path, tmp_path: Path
    ) -> None:
        """A keyed checkpoint (key from a file) matches the untouched database: exit 0."""
        keys = tmp_path / "keys.json"
        keys.write_text(RING)
        out = tmp_path / "cp.json"

        made = runner.invoke(
            main, ["checkpoint", str(keyed_db), "--out", str(out), "--key-file", str(keys)]
        )
        checked = runner.invoke(
            main, ["verify", str(keyed_db), "--checkpoint", str(out), "--key-file", str(keys)]
        )

        assert made.exit_code == 0, made.output
        assert "checkpoint of 1 case(s) written to cp.json, signed with key 'k1'" in made.output
        assert json.loads(out.read_text())["cases"]["PSII-1"][0] == 2
        assert checked.exit_code == 0, checked.output
        assert (
            "checkpoint: 1 case(s) compared, 0 finding(s), its signature is valid" in checked.output
        )

    def test_keys_come_from_the_environment(
        self, runner: CliRunner, keyed_db: Path, tmp_path: Path
    ) -> None:
        """Without a key file the ring is read from the environment; no key is ever printed."""
        out = tmp_path / "cp.json"

        made = runner.invoke(
            main, ["checkpoint", str(keyed_db), "--out", str(out)], env={KEYS_ENV: RING}
        )
        checked = runner.invoke(main, ["verify", str(keyed_db)], env={KEYS_ENV: RING})

        assert made.exit_code == 0, made.output
        assert checked.exit_code == 0, checked.output
        for output in (made.output, checked.output, out.read_text()):
            assert SECRET.hex() not in output
            assert base64.b64encode(SECRET).decode() not in output

    def test_keyed_trail_without_keys_cannot_be_checked(
        self, runner: CliRunner, keyed_db: Path
    ) -> None:
        """Verifying a keyed trail without its key is not a pass: exit 1, named as unchecked."""
        result = runner.invoke(main, ["verify", str(keyed_db)], env={KEYS_ENV: ""})

        assert result.exit_code == EXIT_BROKEN
        assert "which was not supplied (it cannot be checked)" in result.output

    def test_deleted_case_and_edited_checkpoint_are_reported(
        self, runner: CliRunner, db: Path, tmp_path: Path
    ) -> None:
        """A case deleted after an unkeyed checkpoint is reported, and exits 1."""
        out = tmp_path / "cp.json"
        assert runner.invoke(main, ["checkpoint", str(db), "--out", str(out)]).exit_code == 0
        with sqlite3.connect(db) as raw:
            raw.execute("DELETE FROM audit_entries WHERE case_id = 'PSII-1'")
            raw.execute("DELETE FROM cases WHERE id = 'PSII-1'")
        document = json.loads(out.read_text())
        document["made_at"] = "2020-01-01T00:00:00.000000Z"
        edited = tmp_path / "edited.json"
        edited.write_text(json.dumps(document))

        deleted = runner.invoke(main, ["verify", str(db), "--checkpoint", str(out)])
        tampered = runner.invoke(main, ["verify", str(db), "--checkpoint", str(edited)])

        assert deleted.exit_code == EXIT_BROKEN
        assert "PSII-1: DELETED: the case is gone" in deleted.output
        assert "its signature is valid" in deleted.output
        assert tampered.exit_code == EXIT_BROKEN
        assert "its signature does NOT match" in tampered.output

    def test_keyed_checkpoint_without_key_is_unchecked(
        self, runner: CliRunner, keyed_db: Path, tmp_path: Path
    ) -> None:
        """A keyed checkpoint verified without its key says its signature cannot be checked."""
        out = tmp_path / "cp.json"
        runner.invoke(main, ["checkpoint", str(keyed_db), "--out", str(out)], env={KEYS_ENV: RING})
        other = json.dumps({"active": "k2", "keys": {"k2": base64.b64encode(bytes(32)).decode()}})

        result = runner.invoke(
            main, ["verify", str(keyed_db), "--checkpoint", str(out)], env={KEYS_ENV: other}
        )

        assert result.exit_code == EXIT_BROKEN
        assert "its signature cannot be checked" in result.output

    @pytest.mark.parametrize(
        ("ring", "checkpoint_text", "words"),
        [
            ("not json", None, "audit key ring must be JSON"),
            (None, "{", "checkpoint is not valid JSON"),
        ],
        ids=["bad-ring", "bad-checkpoint"],
    )
    def test_malformed_inputs_are_refused(  # noqa: PLR0917 - pytest passes parameters
        self,
        runner: CliRunner,
        db: Path,
        tmp_path: Path,
        ring: str | None,
        checkpoint_text: str | None,
        words: str,
    ) -> None:
        """A malformed key ring or checkpoint file is refused with a plain message (exit 3)."""
        arguments = ["verify", str(db)]
        if checkpoint_text is not None:
            bad = tmp_path / "bad.json"
            bad.write_text(checkpoint_text)
            arguments += ["--checkpoint", str(bad)]

        result = runner.invoke(main, arguments, env={KEYS_ENV: ring or ""})

        assert result.exit_code == EXIT_INVALID
        assert words in result.output
