"""The audit format page's stand-alone verifier checks trails the library wrote."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from psirf_flow import Actor, Engine, Role
from psirf_flow.audit import AuditKeys
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "audit-format.md"
VERIFIER = re.compile(r'^```python title="verify_trail.py"\n(.*?)^```', re.DOTALL | re.MULTILINE)
SECRET = bytes(range(7, 47))
RING = json.dumps({"active": "k1", "keys": {"k1": base64.b64encode(SECRET).decode()}})
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
EXEC = Actor("exec-1", [Role.EXECUTIVE_LEAD], "RX1")


@pytest.fixture(name="verifier", scope="module")
def _verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The page's verifier, written out as the reader would save it."""
    (code,) = VERIFIER.findall(PAGE.read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("verifier") / "verify_trail.py"
    path.write_text(code, encoding="utf-8")
    return path


def _database(path: Path, keys: AuditKeys | None) -> Path:
    """Two cases written by the library: one held and resumed with a note, one just opened."""
    store = SqlStore.open(str(path), migrate=True)
    engine = Engine(store, clock=ManualClock(), keys=keys)
    engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1", "INC-2"]}, case_id="C-1")
    engine.fire(
        "C-1", "assign_lead", actor=PSS, payload={"lead_id": "l-1", "engagement_lead_id": "e-1"}
    )
    engine.fire("C-1", "hold", actor=EXEC, payload={"hold_reason": "other", "note": "wait ✓"})
    engine.fire("C-1", "resume", actor=EXEC)
    engine.open("after_action_review", actor=PSS, payload={"incident_ids": ["I-2"]}, case_id="C-2")
    store.dispose()
    return path


def _run(
    verifier: Path, database: Path, ring: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PSIRF_FLOW_AUDIT_KEYS"}
    if ring is not None:
        env["PSIRF_FLOW_AUDIT_KEYS"] = ring
    return subprocess.run(
        [sys.executable, str(verifier), str(database)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


class TestStandAloneVerifier:
    """The verifier on the reference page needs nothing but the standard library."""

    def test_sound_trails_verify(self, verifier: Path, tmp_path: Path) -> None:
        """Trails the library wrote without keys are all OK; the exit code is 0."""
        result = _run(verifier, _database(tmp_path / "a.sqlite3", None))

        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines() == ["C-1: OK (4 entries)", "C-2: OK (1 entries)"]

    def test_keyed_trails_verify_with_the_ring(self, verifier: Path, tmp_path: Path) -> None:
        """Keyed trails verify with the key ring from the environment, and not without it."""
        database = _database(tmp_path / "k.sqlite3", AuditKeys.from_json(RING))

        keyed = _run(verifier, database, RING)
        keyless = _run(verifier, database)

        assert keyed.returncode == 0, keyed.stdout + keyed.stderr
        assert "C-1: OK (4 entries)" in keyed.stdout
        assert keyless.returncode == 1
        assert "C-1: BROKEN at entry 1: its key 'k1' was not supplied" in keyless.stdout

    def test_tampered_entry_is_named(self, verifier: Path, tmp_path: Path) -> None:
        """An entry edited in the database is named; the other case stays OK."""
        database = _database(tmp_path / "t.sqlite3", None)
        with sqlite3.connect(database) as raw:
            raw.execute("UPDATE audit_entries SET role = 'reporter' WHERE sequence = 3")

        result = _run(verifier, database)

        assert result.returncode == 1
        assert result.stdout.splitlines() == [
            "C-1: BROKEN at entry 3: its content does not match its hash",
            "C-2: OK (1 entries)",
        ]

    def test_tampered_case_row_is_named(self, verifier: Path, tmp_path: Path) -> None:
        """A case row whose retention class was edited is named with the field."""
        database = _database(tmp_path / "r.sqlite3", None)
        with sqlite3.connect(database) as raw:
            raw.execute("UPDATE cases SET retention_class = 'standard' WHERE id = 'C-1'")

        result = _run(verifier, database)

        assert result.returncode == 1
        assert "C-1: BROKEN at entry 4: the case row was changed: retention_class" in result.stdout
