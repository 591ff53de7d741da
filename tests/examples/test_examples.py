"""Every example in ``examples/`` runs, and each prints what ``examples/README.md`` promises.

``RUN_HERE`` names the test class that runs each example; an example file that no test runs
(here, or by name in another test module) fails ``test_every_example_has_a_test``. The
PostgreSQL examples are marked ``postgres`` and run against ``PSIRF_FLOW_TEST_PG_URL``;
the ones that start processes are marked ``slow``.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

#: Each example script and the test class in this module that runs it.
RUN_HERE = {
    "quickstart.py": "TestQuickstart",
    "psii_lifecycle.py": "TestDemo",
    "verify_audit.py": "TestDemo",
    "clocks_and_escalations.py": "TestClocksAndEscalations",
    "trust_plan_triage.py": "TestTrustPlanTriage",
    "host_transaction.py": "TestHostTransaction",
    "postgres_workers.py": "TestPostgresWorkers",
    "test_local_plan.py": "TestLocalPlan",
}


def _run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    """Run ``python ARGS`` as the tests are run (same interpreter and import path)."""
    environment = {**os.environ, **(env or {})}
    # Keep the import path meaning the same from another working directory.
    environment["PYTHONPATH"] = os.pathsep.join(
        str(Path(part).resolve())
        for part in environment.get("PYTHONPATH", "").split(os.pathsep)
        if part
    )
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=cwd,
        env=environment,
    )


def test_every_example_has_a_test() -> None:
    """Every script in examples/ is run by a class here, or named by another test module."""
    here = Path(__file__).resolve()
    elsewhere = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.resolve() != here
    )
    untested = [
        script.name
        for script in sorted(EXAMPLES.glob("*.py"))
        if script.name not in RUN_HERE
        and not re.search(rf"\b{re.escape(script.stem)}\b", elsewhere)
    ]

    assert untested == []
    assert {name for name in RUN_HERE if not (EXAMPLES / name).is_file()} == set()
    assert {name for name in RUN_HERE.values() if name not in globals()} == set()


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", sorted(name for name in RUN_HERE if not name.startswith("test_"))
)
def test_every_script_explains_itself_with_help(script: str) -> None:
    """``python examples/X.py --help`` prints the script's usage and first line, and exits 0."""
    done = _run(str(EXAMPLES / script), "--help", timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: {script}")
    first = " ".join((EXAMPLES / script).read_text(encoding="utf-8").split('"""')[1].split()[:4])
    assert first in " ".join(done.stdout.split())


class TestQuickstart:
    """The in-memory quick start."""

    def test_runs_an_after_action_review_to_closure(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The quick start closes an AAR, shows a refusal and verifies the chain."""
        monkeypatch.setattr(sys, "argv", ["quickstart.py"])
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
    """``make demo``: an incident run under the trust's plan, persisted to SQLite, audited."""

    def test_exits_cleanly(self, demo: tuple[subprocess.CompletedProcess[str], Path]) -> None:
        """The demo exits 0 and writes nothing to stderr."""
        done, _ = demo

        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr == ""

    def test_runs_under_the_example_plan(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The mental health and community trust's plan and the rule pack govern every case."""
        out = demo[0].stdout

        assert "an incident under the plan rxm-psirp@1.0 of trust RXM" in out
        assert "Triage under rxm-psirp@1.0 and national rules 2026.2:" in out
        for case in (
            "INC-2026-0311  (incident_intake, response_decided; plan rxm-psirp@1.0, rules 2026.2)",
            "INC-2026-0311/doc  (duty_of_candour, complete; plan rxm-psirp@1.0, rules 2026.2)",
            "INC-2026-0311/lr8  (psii, closed; plan rxm-psirp@1.0, rules 2026.2)",
            "DEL-2026-014  (delegation, active; plan rxm-psirp@1.0, rules 2026.2)",
        ):
            assert case in out

    def test_triage_and_the_committee_decision(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """Triage follows the plan's priority; the panel's chair decides, the relay opens it."""
        out = demo[0].stdout

        assert "pathway            local_priority (community-suicide)" in out
        assert "planned response   round_table_review (allowed: round_table_review, psii)" in out
        assert "decided by         committee suicide-review-panel" in out
        assert (
            "  ✓ Sun 17 May 17:30 BST  srp-02   Decide response              -> response_decided"
            "       as senior leader\n"
        ) in out
        assert "applied 1 coupling message(s): the decision opens the PSII" in out

    def test_shows_the_plans_refusals_explained(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """Six refusals, each with the library's plain-words reason and its code."""
        out = demo[0].stdout

        assert out.count("✗ REFUSED") == 6
        assert out.count("The library said:") == out.count("✗ REFUSED")
        assert (
            "Refusals shown and explained: 6 (committee_not_named, "
            "response_not_allowed_by_plan, lead_involved_in_incident, terms_not_agreed, "
            "PSF203, sign_off_steps_missing)"
        ) in out
        assert "the proposed lead was involved in the incident" in out
        assert "permits no departure from them" in out

    def test_sign_off_chain_with_a_delegate(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The group signs step 1; the deputy signs the executive step under the delegation."""
        out = demo[0].stdout

        assert (
            "psg-06   Record sign off              -> awaiting_approval      as senior leader"
            in out
        )
        assert (
            "md-09    Sign off                     -> approved               as senior leader"
            in out
        )
        assert (
            "eng-03   Record findings shared       -> complete               as engagement lead"
            in out
        )
        assert (
            "pss-01   Close                        -> closed                 as patient safety"
            in out
        )

    def test_lists_the_incidents_records_and_verifies_each(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The incident's records are its intake, PSII and candour case; every trail verifies."""
        out = demo[0].stdout
        records = out.split("9. Every record of incident INC-2026-0311\n", 1)[1].split("\n\n")[0]

        assert records.split("\n") == [
            "  intake             INC-2026-0311            incident_intake    response_decided",
            "  learning_response  INC-2026-0311/lr8        psii               closed",
            "  duty_of_candour    INC-2026-0311/doc        duty_of_candour    complete",
        ]
        assert out.count("Verified: OK") == 4
        assert "BROKEN" not in out

    def test_the_plans_clocks_start_move_and_are_met(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The PSII's clocks start with its lead, move with the hold; candour met in time."""
        out = demo[0].stdout

        assert (
            "  ⏱ INC-2026-0311/lr8: the lead's appointment starts the PSII's clocks "
            "(three months; cap six)\n"
            "      response_target        open       due Tue 18 Aug 2026 (late from Wed 19 Aug "
            "00:00 BST)\n"
            "      response_hard_cap      open       due Wed 18 Nov 2026 (late from Thu 19 Nov "
            "00:00 GMT)\n"
        ) in out
        assert (
            "      candour_notification   met        on Wed 13 May 11:30 BST "
            "(due Tue 26 May 2026)\n"
            "      candour_written        met        on Thu 14 May 11:30 BST "
            "(due Thu 28 May 2026)\n"
        ) in out
        assert (
            "  ⏱ INC-2026-0311/lr8: the agreed target (7 Aug) and the cap, moved 9 days by "
            "the hold\n"
            "      response_target        open       due Sun 16 Aug 2026 (late from Mon 17 Aug "
            "00:00 BST)\n"
            "      response_hard_cap      open       due Fri 27 Nov 2026 (late from Sat 28 Nov "
            "00:00 GMT)\n"
        ) in out
        assert (
            "      triage_review          met        on Sun 17 May 17:30 BST, late "
            "(due Thu 14 May 09:30 BST)\n"
        ) in out

    def test_the_sweeper_fires_what_fell_due_and_notifies(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """Two sweeps: the triage review's warning and breach, then the lead's warning."""
        out = demo[0].stdout

        assert (
            "  ⏰ Fri 15 May 17:30 BST  sweeper fired 2 escalation tier(s): the plan's 72-hour "
            "triage review has passed; the panel meets weekly\n"
            "      → patient safety specialist: triage_review warning (case INC-2026-0311)\n"
            "      → patient safety specialist: triage_review breach (case INC-2026-0311)\n"
            "      → senior leader: triage_review breach (case INC-2026-0311)\n"
        ) in out
        assert (
            "  ⏰ Sun 2 Aug 09:30 BST  sweeper fired 1 escalation tier(s): ten working days "
            "before the target, the lead is warned\n"
            "      → learning response lead inv-07: response_target warning "
            "(case INC-2026-0311/lr8)\n"
        ) in out
        assert out.count("Escalation fired") == 3
        assert "escalation_fired" not in out
        assert (
            "   6  Fri 15 May 17:30 BST  psirf-flow psirf_flow itself          Escalation fired"
        ) in out

    def test_the_board_reports_at_the_end(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The lead's caseload mid-way and at the end, nothing overdue, candour met on time."""
        out = demo[0].stdout
        board = out.split("7. The clocks at the end, and the board's reports\n", 1)[1]

        assert (
            "  ☰ Sun 2 Aug 09:30 BST  caseload of inv-07: 1 case(s)\n"
            "      INC-2026-0311/lr8  awaiting_approval  next response_target Sun 16 Aug 2026, "
            "not overdue\n"
        ) in out
        assert board.split("\n\n")[0].split("\n")[2:] == [
            "  ☰ Sat 8 Aug 17:30 BST  caseload of inv-07: 0 case(s)",
            "  ☰ overdue at RXM: 0 deadline(s)",
            "  ☰ duty of candour at RXM in 2026/27 so far (due, met on time, met late):",
            "      candour_notification   1, 1, 0",
            "      candour_written        1, 1, 0",
            "      candour_findings       1, 1, 0",
        ]

    def test_speaks_in_uk_local_time_and_human_names(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """Times are UK local with the zone; steps and roles carry their human names."""
        out = demo[0].stdout

        assert (
            "  ✓ Mon 11 May 09:30 BST  rep-17   Open                         -> reported"
            "               as reporter\n"
        ) in out
        assert (
            "   2  Mon 11 May 11:30 BST  hcp-04     health care professional   "
            "Determine notifiable         assessing -> verbal_due\n"
        ) in out
        assert (
            "  ✗ REFUSED  psp-02   Begin gathering              as patient safety partner\n" in out
        )
        assert "00:00 GMT)" in out
        assert "UTC" not in out
        for code in ("patient_safety_specialist", "record_verbal_notification", "assign_lead"):
            assert code not in out

    def test_second_process_verifies_every_case(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The demo's own second process verifies all four cases; so does a fresh one."""
        out, db = demo[0].stdout, demo[1]
        again = subprocess.run(
            [sys.executable, str(EXAMPLES / "verify_audit.py"), "--db", str(db)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

        assert "4 case(s) checked in a fresh process, 0 broken" in out
        assert again.returncode == 0, again.stdout + again.stderr
        assert "4 case(s) checked in a fresh process, 0 broken" in again.stdout
        assert "case INC-2026-0311/lr8: 23 entries, state closed: OK" in again.stdout

    def test_no_patient_data_reaches_the_database_or_logs(
        self, demo: tuple[subprocess.CompletedProcess[str], Path]
    ) -> None:
        """The family's name and NHS number in a free-text note reach neither file nor output."""
        done, db = demo
        stored = b"".join(p.read_bytes() for p in db.parent.iterdir() if p.is_file())

        assert db.with_suffix(".log").stat().st_size > 0
        for needle in ("Jane Smith", "943 476 5919", "9434765919"):
            assert needle.encode() not in stored
            assert needle not in done.stdout


@pytest.fixture(name="clocks", scope="module")
def _clocks() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "clocks_and_escalations.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


class TestClocksAndEscalations:
    """A swarm huddle not held in time: swept, converted, and late on the board report."""

    def test_exits_cleanly(self, clocks: subprocess.CompletedProcess[str]) -> None:
        """The example exits 0, writes nothing to stderr and verifies both trails."""
        assert clocks.returncode == 0, clocks.stdout + clocks.stderr
        assert clocks.stderr == ""
        assert "Audit trails verified: 2 of 2" in clocks.stdout

    def test_the_plan_sets_the_huddles_clock_and_ladder(
        self, clocks: subprocess.CompletedProcess[str]
    ) -> None:
        """24 hours from 14:00 GMT; the swarm-not-held ladder warns at 10:00, acts at 14:00."""
        out = clocks.stdout

        assert "Under rxa-psirp@2.1: a swarm huddle is commissioned" in out
        assert "  response_target    breaches Tue 02 Mar 14:00 GMT  (swarm-not-held)" in out
        assert "    Tue 02 Mar 10:00 GMT  response_target tier 0 (warning): facilitator" in out
        assert (
            "    Tue 02 Mar 14:00 GMT  response_target tier 1 (breach): "
            "patient_safety_specialist, facilitator, then convert_to_after_action_review"
        ) in out

    def test_the_sweeper_and_relay_convert_the_huddle(
        self, clocks: subprocess.CompletedProcess[str]
    ) -> None:
        """The warning, then the breach: three notifications, the huddle stood down, an AAR."""
        out = clocks.stdout
        sent = out.split("Notifications delivered (ids and roles only):\n", 1)[1].split("\n\n")[0]

        assert "the sweeper fired 1 tier(s), the relay applied\n  1 message(s)" in out
        assert "the sweeper fired 1 tier(s), the relay applied\n  4 message(s)" in out
        assert sent.split("\n") == [
            "  escalation:SH-2027-031:response_target:0:0:facilitator  -> facilitator (fac-02)",
            "  escalation:SH-2027-031:response_target:0:1:patient_safety_specialist  "
            "-> patient_safety_specialist",
            "  escalation:SH-2027-031:response_target:0:1:facilitator  -> facilitator (fac-02)",
        ]
        assert "  SH-2027-031      swarm_huddle         stood_down" in out
        assert "  SH-2027-031/aar  after_action_review  commissioned" in out
        assert "last entry: convert_to_after_action_review by psirf-flow (system)" in out

    def test_the_board_report_is_json(self, clocks: subprocess.CompletedProcess[str]) -> None:
        """The review is three working days late with its breach tier fired; nothing else."""
        document = json.loads(clocks.stdout.split("Board report (JSON):\n", 1)[1])

        assert document["generated_at"] == "2027-04-06T09:00:00+00:00"
        assert document["overdue"] == [
            {
                "case_id": "SH-2027-031/aar",
                "organisation": "RXA",
                "workflow": "after_action_review",
                "kind": "response_target",
                "cycle": 0,
                "status": "open",
                "owner": None,
                "due_date": "2027-04-01",
                "due_at": "2027-04-01T23:00:00+00:00",
                "tiers_fired": 1,
                "overdue": True,
                "days_overdue": 3,
            }
        ]
        assert document["due_soon"] == []
        assert document["safety_actions"] == []
        assert document["candour_timeliness"] == []


@pytest.fixture(name="triage_run", scope="module")
def _triage_run() -> subprocess.CompletedProcess[str]:
    return _run(str(EXAMPLES / "trust_plan_triage.py"))


class TestTrustPlanTriage:
    """A trust's plan triages incidents; one is decided by its decider and commissioned."""

    def test_exits_cleanly(self, triage_run: subprocess.CompletedProcess[str]) -> None:
        """The example exits 0, writes nothing to stderr and verifies both trails."""
        assert triage_run.returncode == 0, triage_run.stdout + triage_run.stderr
        assert triage_run.stderr == ""
        assert "Audit trails verified: yes" in triage_run.stdout

    def test_triage_follows_the_plans_priorities(
        self, triage_run: subprocess.CompletedProcess[str]
    ) -> None:
        """Each incident gets the planned response and decider of the priority it meets."""
        out = triage_run.stdout

        assert "Plan rxm-psirp@1.0 of RXM" in out
        assert (
            "  INC-2026-0501\n"
            "    pathway          local_priority (priority: restrictive-practice)\n"
            "    planned response rapid_review\n"
            "    may choose       rapid_review, after_action_review, swarm_huddle\n"
            "    decided by       senior_leader\n"
        ) in out
        assert "    pathway          local_priority (priority: absconsion-detained)" in out
        assert (
            "    pathway          proportionate (priority: none)\n"
            "    planned response none (the decider chooses)\n"
        ) in out
        assert "                     or no further response" in out

    def test_only_the_plans_decider_decides_and_the_clock_is_the_plans(
        self, triage_run: subprocess.CompletedProcess[str]
    ) -> None:
        """The specialist is refused; the senior leader decides; 10 working days over Christmas."""
        out = triage_run.stdout

        assert "pss-01 may not decide it:" in out
        assert "(PSF204)" in out
        assert "sl-14 decides: rapid_review (response_decided)" in out
        assert "INC-2026-0501/lr4 is after_action_review" in out
        assert "the plan allows 10 working days" in out
        assert "response_target  due Mon 4 Jan 2027, late from Tue 5 Jan 2027 00:00 GMT" in out


def _host_lines(out: str) -> None:
    """The lines every run of the host transaction example prints, on either database."""
    assert "  after commit: host status 'reported', case 'reported' with 1 entries" in out
    assert "  inside the transaction: case 'under_review', host 'under_review'" in out
    assert "  after rollback: host status 'reported', case 'reported' with 1 entries" in out
    assert "  refused inside the transaction: PSF203 (RoleNotPermitted)" in out
    assert "  after commit: host status 'under_review', case 'under_review' with 2 entries" in out
    assert "Audit trail verifies: True (2 entries)" in out
    assert out.rstrip().endswith("Both or neither: OK")


def _schemas_left(url: sa.URL) -> list[str]:
    """The example schemas still in the database at ``url``."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
                {"prefix": "psirf_example_%"},
            )
            return [str(row[0]) for row in rows]
    finally:
        engine.dispose()


class TestHostTransaction:
    """The host's own table and a workflow step commit, or roll back, together."""

    def test_on_sqlite(self) -> None:
        """On SQLite: committed together, rolled back together, a refusal leaves it usable."""
        done = _run(str(EXAMPLES / "host_transaction.py"))

        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr == ""
        _host_lines(done.stdout)

    @pytest.mark.postgres
    def test_on_postgresql(self, pg_database_url: sa.URL) -> None:
        """On PostgreSQL the same, in a schema of its own that it drops afterwards."""
        done = _run(
            str(EXAMPLES / "host_transaction.py"),
            "--url",
            pg_database_url.render_as_string(hide_password=False),
        )

        assert done.returncode == 0, done.stdout + done.stderr
        _host_lines(done.stdout)
        assert _schemas_left(pg_database_url) == []


@pytest.mark.postgres
@pytest.mark.slow
class TestPostgresWorkers:
    """Worker processes, a sweeper and a relay on one PostgreSQL database lose nothing."""

    def test_two_workers_three_cases(self, pg_database_url: sa.URL) -> None:
        """Conflicts are retried, every tier fires once, every trail verifies, 0 lost."""
        done = _run(
            str(EXAMPLES / "postgres_workers.py"),
            "--url",
            pg_database_url.render_as_string(hide_password=False),
            "--workers",
            "2",
            "--cases",
            "3",
            timeout=300,
        )
        out = done.stdout

        assert done.returncode == 0, out + done.stderr
        assert "3 after action reviews opened: 1 shared by every worker," in out
        # 2 workers x 2 rounds x 2 people x (1 shared + 1 own case)
        assert "Steps accepted from 2 workers: 16" in out
        assert re.search(r"^Conflicts retried by the workers: \d+$", out, re.MULTILINE)
        assert "Escalation tiers fired by the sweeper: 3 " in out
        assert "Notifications handed on by the relay: 3" in out
        assert "Audit trails verified: 3 of 3" in out
        assert "Lost updates: 0" in out
        assert _schemas_left(pg_database_url) == []


#: The example plan with the triage review's warning moved to 3 working days before a
#: 72-hour clock: the loader cannot refuse it (whether it reaches back past the start depends
#: on the dates), but for a report made on a working morning the warning could never be sent.
_TIMELY = '{ before = { amount = 24, unit = "hours" }, notify = ["patient_safety_specialist"] }'
_TOO_EARLY = _TIMELY.replace('24, unit = "hours"', '3, unit = "working_days"')


@pytest.mark.slow
class TestLocalPlan:
    """The local plan's property tests pass on the example plan and catch a broken one."""

    def _pytest(
        self, tmp_path: Path, *extra: str, plan: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {"PSIRF_FLOW_PLAN": str(plan)} if plan is not None else {}
        return _run(
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            str(EXAMPLES / "test_local_plan.py"),
            *extra,
            cwd=tmp_path,  # hypothesis keeps its example database here
            env=env,
            timeout=600,
        )

    def test_passes_on_the_example_plan(self, tmp_path: Path) -> None:
        """Every property, the stateful engine run included, holds for the example plan."""
        done = self._pytest(tmp_path)

        assert done.returncode == 0, done.stdout + done.stderr
        assert re.search(r"^13 passed", done.stdout, re.MULTILINE), done.stdout

    def test_fails_on_a_plan_whose_warning_comes_too_early(self, tmp_path: Path) -> None:
        """A ladder warning before its clock starts fails the clocks property, and only it."""
        text = (EXAMPLES / "plans" / "mental-health-community-trust.toml").read_text("utf-8")
        assert _TIMELY in text
        broken = tmp_path / "broken-plan.toml"
        broken.write_text(text.replace(_TIMELY, _TOO_EARLY), encoding="utf-8")

        done = self._pytest(tmp_path, "-k", "not the_engine", plan=broken)

        assert done.returncode == 1, done.stdout + done.stderr
        failed = re.findall(r"^FAILED \S*::(\w+)", done.stdout, re.MULTILINE)
        assert failed == ["test_every_tier_fires_after_its_clock_starts"]
        assert "triage review: tier 0 would fire before the clock starts" in done.stdout
        assert re.search(r"^1 failed, 11 passed", done.stdout, re.MULTILINE), done.stdout
