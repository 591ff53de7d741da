"""``psirf_flow.lessons`` and ``psirf-flow lessons``: closed learning responses and actions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from psirf_flow import Actor, Engine, InMemoryStore, Role, lessons
from psirf_flow.cli import EXIT_INVALID, EXIT_STORE, main
from psirf_flow.domain import SystemReader
from psirf_flow.errors import InvalidInput
from psirf_flow.lessons import (
    UNREADABLE,
    AreaStatus,
    LessonItem,
    LinkedAction,
    closed_responses,
)
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


READER = SystemReader("lessons-test")
ORG = "RXY"
OTHER = "RAB"


def _people(org: str) -> dict[str, Actor]:
    return {
        "pss": Actor("pss-9", [Role.PATIENT_SAFETY_SPECIALIST], org),
        "fac": Actor("fac-1", [Role.FACILITATOR], org),
        "senior": Actor("sl-1", [Role.SENIOR_LEADER], org),
    }


def _huddle(engine: Engine, case_id: str, org: str, *, close: dict[str, object] | None) -> None:
    """Open a swarm huddle and drive it to approved, shared and (given ``close``) closed."""
    people = _people(org)
    engine.open(
        "swarm_huddle", actor=people["pss"], case_id=case_id, payload={"incident_ids": ["INC-1"]}
    )
    steps: list[tuple[str, str, dict[str, object]]] = [
        ("pss", "assign_facilitator", {"facilitator_id": "fac-1"}),
        ("fac", "begin_gathering", {}),
        ("fac", "complete_analysis", {}),
        ("fac", "submit_draft", {"draft_ref": "DRAFT-1"}),
        ("senior", "agree_findings", {}),
        ("fac", "request_approval", {}),
        ("senior", "approve", {"report_ref": f"REPORT-{case_id}"}),
    ]
    if close is not None:
        steps += [("fac", "share", {"family_sharing": "shared"}), ("pss", "close", close)]
    for who, trigger, payload in steps:
        engine.fire(case_id, trigger, actor=people[who], payload=payload)


def _action(engine: Engine, case_id: str, org: str, responses: list[str], areas: list[str]) -> None:
    engine.open(
        "safety_action",
        actor=_people(org)["pss"],
        case_id=case_id,
        payload={"learning_response_ids": responses, "area_for_improvement_ids": areas},
    )


def _seed(engine: Engine, clock: ManualClock) -> None:
    """LR-1 and LR-2 closed 10 March and 2 April, LR-3 open, LR-9 another organisation's.

    LR-1 has two linked actions and names one more that does not exist; LR-2 has none.
    """
    clock.set(datetime(2026, 3, 9, 10, tzinfo=UTC))
    _huddle(engine, "LR-1", ORG, close=None)
    _action(engine, "SA-1", ORG, ["LR-1"], ["AFI-2", "AFI-1"])
    _action(engine, "SA-2", ORG, ["LR-1", "LR-3"], ["AFI-3"])
    people = _people(ORG)
    # 23:30 UTC on 10 March is still 10 March in London (GMT).
    clock.set(datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    engine.fire("LR-1", "share", actor=people["fac"], payload={"family_sharing": "shared"})
    engine.fire(
        "LR-1", "close", actor=people["pss"], payload={"safety_action_ids": ["SA-1", "SA-GONE"]}
    )
    clock.set(datetime(2026, 3, 12, 9, tzinfo=UTC))
    _huddle(engine, "LR-9", OTHER, close={"no_actions_rationale": "no_new_learning"})
    clock.set(datetime(2026, 4, 1, 23, 30, tzinfo=UTC))  # 2 April in London (BST)
    _huddle(engine, "LR-2", ORG, close={"no_actions_rationale": "no_new_learning"})
    _huddle(engine, "LR-3", ORG, close=None)


@pytest.fixture(name="engine")
def _engine() -> Engine:
    clock = ManualClock()
    engine = Engine(InMemoryStore(), clock=clock)
    _seed(engine, clock)
    return engine


LR1 = LessonItem(
    case_id="LR-1",
    organisation=ORG,
    workflow="swarm_huddle",
    response_type="swarm_huddle",
    closed_on=date(2026, 3, 10),
    report_ref="REPORT-LR-1",
    meeting_ref=None,
    safety_action_ids=("SA-1", "SA-GONE"),
    no_actions_rationale=None,
    area_for_improvement_ids=("AFI-1", "AFI-2", "AFI-3"),
    actions=(
        LinkedAction(
            case_id="SA-1",
            state="proposed",
            due_on=None,
            area_for_improvement_ids=("AFI-1", "AFI-2"),
        ),
        LinkedAction(
            case_id="SA-2", state="proposed", due_on=None, area_for_improvement_ids=("AFI-3",)
        ),
        LinkedAction(case_id="SA-GONE", state=UNREADABLE, due_on=None, area_for_improvement_ids=()),
    ),
    areas=(
        AreaStatus(area_id="AFI-1", action_ids=("SA-1",), status="in_progress"),
        AreaStatus(area_id="AFI-2", action_ids=("SA-1",), status="in_progress"),
        AreaStatus(area_id="AFI-3", action_ids=("SA-2",), status="in_progress"),
    ),
)
LR2 = LessonItem(
    case_id="LR-2",
    organisation=ORG,
    workflow="swarm_huddle",
    response_type="swarm_huddle",
    closed_on=date(2026, 4, 2),
    report_ref="REPORT-LR-2",
    meeting_ref=None,
    safety_action_ids=(),
    no_actions_rationale="no_new_learning",
    area_for_improvement_ids=(),
    actions=(),
    areas=(),
)


class TestClosedResponses:
    """The pure query over an engine."""

    @pytest.mark.parametrize(
        ("since", "until", "expected"),
        [
            (date(2026, 3, 1), date(2026, 4, 30), ["LR-1", "LR-2"]),
            (date(2026, 3, 10), date(2026, 3, 10), ["LR-1"]),
            (date(2026, 3, 11), date(2026, 4, 1), []),
            (date(2026, 4, 2), date(2026, 4, 2), ["LR-2"]),
        ],
    )
    def test_period_is_inclusive_local_dates(
        self, engine: Engine, since: date, until: date, expected: list[str]
    ) -> None:
        """Responses closed on Europe/London dates from since to until (inclusive) are listed."""
        found = closed_responses(engine, reader=READER, since=since, until=until, organisation=ORG)

        assert [item.case_id for item in found] == expected

    def test_records_references_and_linked_actions(self, engine: Engine) -> None:
        """Each item carries its references, closure codes and every linked safety action."""
        found = closed_responses(
            engine, reader=READER, since=date(2026, 3, 1), until=date(2026, 4, 30), organisation=ORG
        )

        assert found == (LR1, LR2)

    def test_other_organisations_are_not_read(self, engine: Engine) -> None:
        """Only the named organisations' responses appear; all of them without a filter."""
        since, until = date(2026, 3, 1), date(2026, 4, 30)

        mine = closed_responses(
            engine, reader=READER, since=since, until=until, organisation=[OTHER]
        )
        every = closed_responses(engine, reader=READER, since=since, until=until)

        assert [item.case_id for item in mine] == ["LR-9"]
        assert [item.case_id for item in every] == ["LR-1", "LR-9", "LR-2"]

    def test_a_person_reads_only_their_organisation(self, engine: Engine) -> None:
        """A person reader sees their own organisation's responses only."""
        person = _people(OTHER)["pss"]

        found = closed_responses(
            engine, reader=person, since=date(2026, 1, 1), until=date(2026, 12, 31)
        )

        assert [item.case_id for item in found] == ["LR-9"]

    @pytest.mark.parametrize(
        ("arguments", "argument"),
        [
            ({"since": datetime(2026, 3, 1, tzinfo=UTC)}, "since"),
            ({"until": "2026-04-30"}, "until"),
            ({"until": date(2026, 2, 1)}, "until"),
            ({"organisation": []}, "organisation"),
            ({"organisation": 7}, "organisation"),
        ],
    )
    def test_bad_arguments_are_refused(
        self, engine: Engine, arguments: dict[str, object], argument: str
    ) -> None:
        """A wrong kind of argument raises InvalidInput naming it."""
        values: dict[str, Any] = {
            "since": date(2026, 3, 1),
            "until": date(2026, 4, 30),
            **arguments,
        }

        with pytest.raises(InvalidInput) as refused:
            closed_responses(engine, reader=READER, **values)

        assert refused.value.argument == argument

    def test_engine_must_be_an_engine(self) -> None:
        """Anything but an Engine is refused as the engine argument."""
        not_an_engine: Any = object()

        with pytest.raises(InvalidInput) as refused:
            closed_responses(
                not_an_engine, reader=READER, since=date(2026, 1, 1), until=date(2026, 1, 2)
            )

        assert refused.value.argument == "engine"


@pytest.fixture(name="url")
def _url(tmp_path: Path) -> str:
    path = tmp_path / "lessons.sqlite3"
    store = SqlStore.open(str(path), migrate=True)
    clock = ManualClock()
    _seed(Engine(store, clock=clock), clock)
    store.dispose()
    return str(path)


@pytest.fixture(name="runner")
def _runner() -> CliRunner:
    return CliRunner()


class TestLessonsCommand:
    """``psirf-flow lessons``."""

    def test_json_lists_the_period(self, runner: CliRunner, url: str) -> None:
        """--json prints the period, the organisations and each response with its actions."""
        result = runner.invoke(
            main,
            [
                "lessons",
                url,
                "--organisation",
                ORG,
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-31",
                "--json",
            ],
        )

        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document == {
            "organisations": [ORG],
            "since": "2026-03-01",
            "until": "2026-03-31",
            "responses": [
                {
                    "case_id": "LR-1",
                    "organisation": ORG,
                    "workflow": "swarm_huddle",
                    "response_type": "swarm_huddle",
                    "closed_on": "2026-03-10",
                    "report_ref": "REPORT-LR-1",
                    "meeting_ref": None,
                    "safety_action_ids": ["SA-1", "SA-GONE"],
                    "no_actions_rationale": None,
                    "area_for_improvement_ids": ["AFI-1", "AFI-2", "AFI-3"],
                    "actions": [
                        {
                            "case_id": "SA-1",
                            "state": "proposed",
                            "due_on": None,
                            "area_for_improvement_ids": ["AFI-1", "AFI-2"],
                        },
                        {
                            "case_id": "SA-2",
                            "state": "proposed",
                            "due_on": None,
                            "area_for_improvement_ids": ["AFI-3"],
                        },
                        {
                            "case_id": "SA-GONE",
                            "state": "unreadable",
                            "due_on": None,
                            "area_for_improvement_ids": [],
                        },
                    ],
                    "areas": [
                        {"area_id": "AFI-1", "action_ids": ["SA-1"], "status": "in_progress"},
                        {"area_id": "AFI-2", "action_ids": ["SA-1"], "status": "in_progress"},
                        {"area_id": "AFI-3", "action_ids": ["SA-2"], "status": "in_progress"},
                    ],
                }
            ],
        }

    def test_table(self, runner: CliRunner, url: str) -> None:
        """The table shows one row per response with its areas and action states."""
        result = runner.invoke(
            main,
            [
                "lessons",
                url,
                "--organisation",
                ORG,
                "--since",
                "2026-03-01",
                "--until",
                "2026-04-30",
            ],
        )

        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == f"Learning responses closed 2026-03-01 to 2026-04-30 for {ORG}"
        assert lines[1] == "Closed learning responses (2)"
        assert lines[2].split() == ["CASE", "ORG", "TYPE", "CLOSED", "REPORT", "AREAS", "ACTIONS"]
        assert lines[3].split() == [
            "LR-1",
            ORG,
            "swarm_huddle",
            "2026-03-10",
            "REPORT-LR-1",
            "AFI-1,AFI-2,AFI-3",
            "SA-1=proposed,",
            "SA-2=proposed,",
            "SA-GONE=unreadable",
        ]
        assert lines[4].split() == [
            "LR-2",
            ORG,
            "swarm_huddle",
            "2026-04-02",
            "REPORT-LR-2",
            "-",
            "none",
            "(no_new_learning)",
        ]
        areas = lines.index("Areas for improvement (3)")
        assert lines[areas + 1].split() == ["CASE", "AREA", "STATUS", "ACTIONS"]
        assert lines[areas + 2].split() == ["LR-1", "AFI-1", "in_progress", "SA-1"]
        assert lines[areas + 4].split() == ["LR-1", "AFI-3", "in_progress", "SA-2"]

    @pytest.mark.parametrize(
        ("args", "code"),
        [
            (["--since", "2026-03-01"], EXIT_INVALID),
            (["--organisation", ORG], EXIT_INVALID),
            (["--organisation", ORG, "--since", "1 March"], EXIT_INVALID),
            (
                ["--organisation", ORG, "--since", "2026-03-02", "--until", "2026-03-01"],
                EXIT_INVALID,
            ),
            (["--organisation", "x" * 200, "--since", "2026-03-01"], EXIT_INVALID),
        ],
    )
    def test_refused_options_exit_3(
        self, runner: CliRunner, url: str, args: list[str], code: int
    ) -> None:
        """A missing or malformed option exits 3 with one line on stderr."""
        result = runner.invoke(main, ["lessons", url, *args])

        assert result.exit_code == code
        assert result.stderr.startswith("error: ")

    def test_missing_database_exits_4(self, runner: CliRunner, tmp_path: Path) -> None:
        """A SQLite path with no file is a store error (exit 4), and no file is created."""
        missing = tmp_path / "none.sqlite3"

        result = runner.invoke(
            main, ["lessons", str(missing), "--organisation", ORG, "--since", "2026-01-01"]
        )

        assert result.exit_code == EXIT_STORE
        assert not missing.exists()


@pytest.mark.parametrize(
    ("states", "status"),
    [
        (("proposed",), "in_progress"),
        (("closed_effective", "not_effective"), "in_progress"),
        (("closed_effective", "cancelled"), "completed"),
        (("risk_accepted", "closed_effective"), "completed"),
        (("risk_accepted", "cancelled"), "risk_accepted"),
        (("cancelled",), "not_addressed"),
    ],
)
def test_an_areas_status_follows_its_actions(states: tuple[str, ...], status: str) -> None:
    """An area is in progress while an action runs, completed once one is effective."""
    actions = [
        LinkedAction(case_id=f"SA-{n}", state=state, due_on=None, area_for_improvement_ids=("A",))
        for n, state in enumerate(states)
    ]
    other = LinkedAction(case_id="SA-X", state="proposed", due_on=None, area_for_improvement_ids=())

    found = lessons._area("A", [*actions, other])

    assert found == AreaStatus(
        area_id="A", action_ids=tuple(a.case_id for a in actions), status=status
    )
    assert found.status in lessons.AREA_STATUSES
