"""Crash safety: a child killed with SIGKILL at random moments loses nothing it reported."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from psirf_flow import CaseQuery, verify_chain
from psirf_flow.store.sql import SqlStore, upgrade


CHILD = Path(__file__).with_name("_crash_child.py")
KILLS = 22
MOST_LINES = 12


def _all_case_ids(store: SqlStore) -> list[str]:
    ids: list[str] = []
    after: str | None = None
    while True:
        page = store.list_cases(CaseQuery(after=after, limit=200))
        ids.extend(c.id for c in page.items)
        if page.next_after is None:
            return ids
        after = page.next_after


def _check(store: SqlStore, reported: dict[str, int]) -> None:
    for case_id, version in reported.items():
        assert store.load(case_id).version >= version, case_id
        assert len(store.history(case_id)) >= version, case_id
    for case_id in _all_case_ids(store):
        case = store.load(case_id)
        history = store.history(case_id)
        assert case.version == history[-1].sequence == len(history), case_id
        assert verify_chain(case_id, history, head_hash=case.head_hash).ok, case_id


@pytest.mark.slow
class TestCrashSafety:
    """After every SIGKILL, reported commits are present, nothing is partial, chains verify."""

    @pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
    )
    def test_sigkill_loses_nothing_reported(
        self, backend: str, request: pytest.FixtureRequest, tmp_path: Path
    ) -> None:
        """A child killed at random moments, again and again, leaves a consistent database."""
        url = str(request.getfixturevalue("sqlite_path" if backend == "sqlite" else "pg_url"))
        upgrade(url)
        rng = random.Random(f"crash-{backend}")
        reported: dict[str, int] = {}
        kills = 0
        for attempt in range(KILLS):
            lines = rng.choice([0, 1, *range(2, MOST_LINES + 1)])
            with (tmp_path / f"child-{attempt}.err").open("w") as errors:
                child = subprocess.Popen(
                    [sys.executable, str(CHILD), url, str(attempt)],
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                )
                assert child.stdout is not None
                try:
                    for _ in range(lines):
                        line = child.stdout.readline()
                        assert line, (tmp_path / f"child-{attempt}.err").read_text()
                        case_id, version = line.split()
                        reported[case_id] = max(reported.get(case_id, 0), int(version))
                finally:
                    if child.poll() is None:
                        os.kill(child.pid, signal.SIGKILL)
                    child.wait()
                    child.stdout.close()
            assert child.returncode == -signal.SIGKILL
            kills += 1
            store = SqlStore.open(url)
            try:
                _check(store, reported)
            finally:
                store.dispose()
        print(f"\ncrash[{backend}]: kills={kills} reported_cases={len(reported)}")
        assert kills >= 20
        assert len(reported) > 3
