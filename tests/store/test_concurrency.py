"""Real processes racing on PostgreSQL: no lost update, no reused version, chains verify."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from psirf_flow import Actor, Engine, Role
from psirf_flow.audit import idempotency_digest
from psirf_flow.domain import SystemReader
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")

WORKER = Path(__file__).with_name("_concurrency_worker.py")
PROCESSES = 8
CASES = 50
COMMANDS = 60
PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")


@pytest.mark.postgres
@pytest.mark.slow
class TestConcurrentProcesses:
    """Eight processes fire commands on the same fifty cases in random order."""

    def test_every_accepted_command_has_exactly_one_entry(self, pg_url: str) -> None:
        """Accepted + conflicted = attempted; versions are unique; every chain verifies."""
        store = SqlStore.open(pg_url, migrate=True)
        engine = Engine(store, clock=ManualClock())
        case_ids = [f"CC-{n:03d}" for n in range(CASES)]
        for case_id in case_ids:
            engine.open("psii", actor=PSS, payload={"incident_ids": ["INC-1"]}, case_id=case_id)
            engine.fire(
                case_id,
                "assign_lead",
                actor=PSS,
                payload={"lead_id": "inv-1", "engagement_lead_id": "el-1"},
            )
        workers = [
            subprocess.Popen(
                [sys.executable, str(WORKER), pg_url, str(n), str(COMMANDS), str(n), str(CASES)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(PROCESSES)
        ]
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready", worker.stderr
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=240)
            assert worker.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))

        accepted = [tuple(a) for r in results for a in r["accepted"]]
        conflicted = [k for r in results for k in r["conflicted"]]
        print(  # the figures the issue asks for; shown with -s
            f"\nconcurrency: attempted={PROCESSES * COMMANDS} accepted={len(accepted)} "
            f"conflicted={len(conflicted)}"
        )
        assert len(accepted) + len(conflicted) == PROCESSES * COMMANDS
        assert conflicted, "no race happened, so the test proved nothing"
        versions = Counter((case_id, sequence) for case_id, sequence, _ in accepted)
        assert max(versions.values()) == 1
        per_case = Counter(case_id for case_id, _, _ in accepted)
        for case_id in case_ids:
            history = store.history(case_id)
            case = store.load(case_id)
            assert len(history) == 2 + per_case[case_id]
            assert case.version == history[-1].sequence == len(history)
            assert engine.verify(case_id, reader=READER).ok
            recorded = {
                (case_id, e.sequence, e.actor_id)
                for e in history
                if e.trigger == "record_engagement"
            }
            claimed = {(c, s, f"el-{k.split('-')[0]}") for c, s, k in accepted if c == case_id}
            assert recorded == claimed
        for case_id, sequence, key in accepted:
            record = store.find_idempotency(idempotency_digest(PSS.organisation, key))
            assert record is not None
            assert (record.case_id, record.sequence) == (case_id, sequence)
        assert all(
            store.find_idempotency(idempotency_digest(PSS.organisation, k)) is None
            for k in conflicted
        )
        store.dispose()
