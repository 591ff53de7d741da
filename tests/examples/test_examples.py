"""Every example in ``examples/`` runs, and the demo shows what the README promises."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class TestQuickstart:
    """The in-memory quick start."""

    def test_runs_an_after_action_review_to_closure(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The quick start closes an AAR, shows a refusal and verifies the chain."""
        runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")

        out = capsys.readouterr().out
        assert "refused as expected" in out
        assert "final state: closed | chain verifies: True" in out


@pytest.fixture(name="demo", scope="module")
def _demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "psii_lifecycle.py"), "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return done, db


class TestDemo:
    """``make demo``: a PSII lifecycle persisted to SQLite with its audit trail."""

    def test_exits_cleanly(self, demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
        """The demo exits 0."""
        done, _ = demo

        assert done.returncode == 0, done.stdout + done.stderr

    def test_shows_at_least_three_explained_refusals(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """At least three refusals are shown, each with the library's plain-words reason."""
        out = demo[0].stdout

        assert out.count("✗ REFUSED") >= 3
        assert out.count("The library said:") == out.count("✗ REFUSED")
        assert "cannot approve" in out
        assert "terms of reference have not been recorded" in out
        assert "patient safety partner" in out

    def test_completes_the_psii(self, demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
        """The PSII reaches closed and the trail verifies in the demo process."""
        out = demo[0].stdout

        assert "close" in out
        assert "-> closed" in out
        assert "Verified in this process: OK" in out

    def test_second_process_verifies_the_sqlite_file(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """A fresh process reopens the SQLite file and the chain still verifies."""
        _, db = demo
        again = subprocess.run(
            [sys.executable, str(EXAMPLES / "verify_audit.py"), "--db", str(db)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

        assert again.returncode == 0, again.stdout + again.stderr
        assert "1 case(s) checked in a fresh process, 0 broken" in again.stdout

    def test_no_patient_data_reaches_the_database_or_logs(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The family's name and NHS number in a free-text note reach neither file."""
        _, db = demo
        stored = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())

        for needle in (b"Jane Smith", b"943 476 5919", b"9434765919"):
            assert needle not in stored
