"""The lifecycle overviews: what they show, and that the committed pictures match them."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import itertools
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow import Role
from psirf_flow.workflows import (
    PREVIOUS_STATE,
    SAME_STATE,
    DefinitionRegistry,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)
from psirf_flow.workflows.diagram import (
    HOLD_GROUP,
    diagram_digest,
    overview,
    recording_steps_markdown,
    to_mermaid,
)


ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DIAGRAMS = DOCS / "reference" / "workflows" / "diagrams"
BUILT_INS = list(DefinitionRegistry.default())
KEYS = [d.key for d in BUILT_INS]
LATEST = {d.name: d for d in BUILT_INS if DefinitionRegistry.default().latest(d.name) is d}
HEADER = re.compile(
    r"<!-- psirf-flow diagram: mermaid (?P<version>[0-9.]+); "
    r"source sha256 (?P<digest>[0-9a-f]{64}); settings sha256 (?P<settings>[0-9a-f]{64}) -->\n<svg "
)
HAND_DRAWN = sorted(DOCS.rglob("*.mmd"))
MERMAID_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*\{?[ \t]*\.?mermaid\b", re.MULTILINE)
FIX = "run `make diagrams` and commit the SVGs"


def _tool() -> ModuleType:
    path = ROOT / "tools" / "render_diagrams.py"
    spec = importlib.util.spec_from_file_location("psirf_flow_render_diagrams", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _moving(definition: WorkflowDefinition) -> list[TransitionSpec]:
    """The steps that move a case to another state."""
    return [
        spec
        for spec in definition.transitions.values()
        if spec.dest != SAME_STATE and set(spec.sources) != {spec.dest}
    ]


class TestOverview:
    """`overview` keeps the main path, groups holding and leaves recording steps to tables."""

    @pytest.mark.parametrize(
        ("name", "main_path"),
        [
            (
                "psii",
                (
                    "commissioned",
                    "planning",
                    "gathering_and_analysis",
                    "drafting",
                    "review",
                    "awaiting_approval",
                    "approved",
                    "shared",
                    "closed",
                ),
            ),
            ("incident_intake", ("reported", "under_review", "response_decided")),
            (
                "duty_of_candour",
                ("assessing", "verbal_due", "written_due", "results_due", "complete"),
            ),
            (
                "safety_action",
                (
                    "proposed",
                    "agreed",
                    "in_progress",
                    "implemented",
                    "monitoring",
                    "closed_effective",
                ),
            ),
            ("referral", ("to_notify", "notified", "body_leads", "completed")),
            ("delegation", ("active", "revoked")),
        ],
        ids=lambda v: v if isinstance(v, str) else "",
    )
    def test_main_path_follows_the_first_forward_steps(
        self, name: str, main_path: tuple[str, ...]
    ) -> None:
        """The main path is the lifecycle's usual route, from the initial to a final state."""
        assert overview(LATEST[name]).main_path == main_path

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_main_path_runs_from_initial_to_final(self, definition: WorkflowDefinition) -> None:
        """Every main path starts at the initial state, ends final and visits no state twice."""
        path = overview(definition).main_path

        assert path[0] == definition.initial
        assert path[-1] in definition.final_states
        assert len(set(path)) == len(path)

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_main_path_is_drawn_first_in_order(self, definition: WorkflowDefinition) -> None:
        """The first arrows are the main path's steps, in order, so the layout lines them up."""
        view = overview(definition)
        steps = list(zip(view.main_path, view.main_path[1:], strict=False))

        assert [(e.source, e.target) for e in view.edges[: len(steps)]] == steps

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_no_edge_is_a_loop_and_each_pair_is_drawn_once(
        self, definition: WorkflowDefinition
    ) -> None:
        """No arrow starts and ends at one state, and two states share at most one arrow."""
        ends = [(e.source, e.target) for e in overview(definition).edges]

        assert all(source != target for source, target in ends)
        assert len(set(ends)) == len(ends)

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_every_move_is_on_an_edge_and_no_recording_step(
        self, definition: WorkflowDefinition
    ) -> None:
        """Every step that moves a case is drawn; a step that never moves one is not."""
        drawn = {t for e in overview(definition).edges for t in e.triggers}

        assert drawn == {spec.trigger for spec in _moving(definition)}

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_recording_steps_are_listed_per_state(self, definition: WorkflowDefinition) -> None:
        """Each state's recording steps are listed, in definition order."""
        expected: dict[str, list[str]] = {}
        for spec in definition.transitions.values():
            for source in spec.sources:
                if spec.dest in (SAME_STATE, source):
                    expected.setdefault(source, []).append(spec.trigger)

        recording = overview(definition).recording
        assert {s: list(t) for s, t in recording.items()} == expected
        assert list(recording) == [s for s in definition.states if s in expected]

    @pytest.mark.parametrize(
        ("name", "hold_state", "hold", "group"),
        [
            (
                "psii",
                "on_hold",
                "hold",
                (
                    "commissioned",
                    "planning",
                    "gathering_and_analysis",
                    "drafting",
                    "review",
                    "awaiting_approval",
                ),
            ),
            (
                "safety_action",
                "deferred",
                "defer",
                ("proposed", "agreed", "in_progress", "implemented", "monitoring", "not_effective"),
            ),
            ("incident_intake", None, None, ()),
            ("duty_of_candour", None, None, ()),
        ],
        ids=["psii", "safety_action", "incident_intake", "duty_of_candour"],
    )
    def test_hold_is_grouped(
        self, name: str, hold_state: str | None, hold: str | None, group: tuple[str, ...]
    ) -> None:
        """The states that can be held form one group, held and resumed by one arrow each."""
        view = overview(LATEST[name])
        into_hold = [e for e in view.edges if e.target == hold_state]
        resumes = [e for e in view.edges if e.target == HOLD_GROUP]

        assert view.hold_group == group
        if hold_state is None:
            assert not any(HOLD_GROUP in (e.source, e.target) for e in view.edges)
        else:
            assert [(e.source, e.triggers) for e in into_hold] == [(HOLD_GROUP, (hold,))]
            assert [(e.source, e.triggers) for e in resumes] == [(hold_state, ("resume",))]

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_only_steps_open_to_the_whole_group_leave_it_as_one(
        self, definition: WorkflowDefinition
    ) -> None:
        """An arrow leaves the group only for steps every state in the group allows."""
        view = overview(definition)
        for edge in view.edges:
            if edge.source == HOLD_GROUP:
                for trigger in edge.triggers:
                    assert set(view.hold_group) <= set(definition.transitions[trigger].sources)

    @given(
        length=st.integers(min_value=2, max_value=7),
        recording=st.lists(st.integers(min_value=0, max_value=6), max_size=6),
    )
    def test_a_chain_is_its_own_main_path(self, length: int, recording: list[int]) -> None:
        """In a chain of states, the main path is the chain and recording steps stay off it."""
        states = tuple(f"s{i}" for i in range(length))
        roles = (Role.REPORTER,)
        moves = [
            TransitionSpec(f"go_{i}", (a,), b, roles)
            for i, (a, b) in enumerate(itertools.pairwise(states))
        ]
        notes = [
            TransitionSpec(f"note_{n}", (states[i % (length - 1)],), SAME_STATE, roles)
            for n, i in enumerate(recording)
        ]
        definition = define(
            name="chain",
            version="1",
            family="test",
            title="Chain",
            states=states,
            initial=states[0],
            final_states=(states[-1],),
            opening=OpeningSpec(roles=roles),
            transitions=[*moves, *notes],
        )

        view = overview(definition)

        assert view.main_path == states
        assert view.hold_group == ()
        assert sum(len(steps) for steps in view.recording.values()) == len(recording)
        assert all(e.triggers[0].startswith("go_") for e in view.edges)

    def test_a_single_holdable_state_resumes_to_itself_without_a_box(self) -> None:
        """With one state that can be held there is no group: resume points straight back."""
        roles = (Role.REPORTER,)
        definition = define(
            name="tiny",
            version="1",
            family="test",
            title="Tiny",
            states=("working", "paused", "done"),
            initial="working",
            final_states=("done",),
            opening=OpeningSpec(roles=roles),
            transitions=[
                TransitionSpec("finish", ("working",), "done", roles),
                TransitionSpec("pause", ("working",), "paused", roles, holds=True),
                TransitionSpec("resume", ("paused",), PREVIOUS_STATE, roles),
            ],
        )

        view = overview(definition)

        assert view.hold_group == ()
        assert [(e.source, e.target) for e in view.edges] == [
            ("working", "done"),
            ("working", "paused"),
            ("paused", "working"),
        ]
        assert "{" not in to_mermaid(definition)

    def test_a_step_from_the_whole_group_into_it_is_drawn_per_state(self) -> None:
        """A step every held-from state allows, leading back into the group, is not one arrow."""
        roles = (Role.REPORTER,)
        definition = define(
            name="tiny",
            version="1",
            family="test",
            title="Tiny",
            states=("a", "b", "paused", "done"),
            initial="a",
            final_states=("done",),
            opening=OpeningSpec(roles=roles),
            transitions=[
                TransitionSpec("next", ("a",), "b", roles),
                TransitionSpec("finish", ("b",), "done", roles),
                TransitionSpec("restart", ("a", "b"), "a", roles),
                TransitionSpec("pause", ("a", "b"), "paused", roles, holds=True),
                TransitionSpec("resume", ("paused",), PREVIOUS_STATE, roles),
            ],
        )

        view = overview(definition)

        assert view.hold_group == ("a", "b")
        assert [(e.source, e.target) for e in view.edges if "restart" in e.triggers] == [("b", "a")]
        assert view.recording == {"a": ("restart",)}

    def test_recording_table_lists_steps_per_state(self) -> None:
        """The recording-steps table has one row per state that has any."""
        psii = LATEST["psii"]
        table = recording_steps_markdown(psii)

        assert table.startswith("| State | Steps that keep the case there |\n| --- | --- |\n")
        assert "| `commissioned` | `record_staff_involved` |" in table
        assert len(table.splitlines()) == 2 + len(overview(psii).recording)

    def test_recording_table_says_when_there_are_none(self) -> None:
        """A lifecycle without recording steps says so rather than printing an empty table."""
        assert recording_steps_markdown(LATEST["delegation"]).startswith("No step keeps")


class TestRenderedPictures:
    """The committed SVGs are drawn from today's definitions, with the pinned Mermaid."""

    @pytest.mark.parametrize("definition", BUILT_INS, ids=KEYS)
    def test_each_overview_has_a_current_picture(self, definition: WorkflowDefinition) -> None:
        """Every built-in definition's SVG exists and records the digest of its overview."""
        path = DIAGRAMS / f"{definition.key}.svg"

        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: {FIX}"
        match = HEADER.match(path.read_text(encoding="utf-8"))
        assert match is not None, f"{path.relative_to(ROOT)} has no diagram header: {FIX}"
        assert match["digest"] == diagram_digest(to_mermaid(definition)), (
            f"{path.relative_to(ROOT)} was drawn from an older {definition.key}: {FIX}"
        )

    @pytest.mark.parametrize("source", HAND_DRAWN, ids=[p.name for p in HAND_DRAWN])
    def test_each_hand_written_diagram_has_a_current_picture(self, source: Path) -> None:
        """Every `.mmd` file under docs has an SVG beside it, drawn from its current text."""
        path = source.with_suffix(".svg")

        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: {FIX}"
        match = HEADER.match(path.read_text(encoding="utf-8"))
        assert match is not None, f"{path.relative_to(ROOT)} has no diagram header: {FIX}"
        assert match["digest"] == diagram_digest(source.read_text(encoding="utf-8")), (
            f"{path.relative_to(ROOT)} was drawn from an older {source.name}: {FIX}"
        )

    def test_no_picture_is_left_from_a_removed_definition(self) -> None:
        """The diagrams folder holds a picture for each built-in definition and nothing else."""
        assert sorted(p.name for p in DIAGRAMS.glob("*")) == sorted(f"{k}.svg" for k in KEYS)

    def test_pictures_record_the_pinned_mermaid_version_and_settings(self) -> None:
        """Every picture was drawn with the Mermaid version and the settings the tool pins."""
        tool = _tool()
        for path in [*DIAGRAMS.glob("*.svg"), *(p.with_suffix(".svg") for p in HAND_DRAWN)]:
            match = HEADER.match(path.read_text(encoding="utf-8"))
            assert match is not None
            assert match["version"] == tool.MERMAID_VERSION, f"{path.name}: {FIX}"
            assert match["settings"] == tool.settings_digest(), f"{path.name}: {FIX}"

    def test_pictures_stand_alone(self) -> None:
        """Labels are SVG text (no HTML inside) and nothing is fetched from elsewhere."""
        for path in [*DIAGRAMS.glob("*.svg"), *(p.with_suffix(".svg") for p in HAND_DRAWN)]:
            text = path.read_text(encoding="utf-8")
            assert "<foreignObject" not in text, path.name
            assert "@import" not in text, path.name
            assert not re.search(
                r"""(href|src)=["']?(https?:)?//|url\(\s*["']?(https?:)?//""", text
            )

    def test_the_tool_pins_an_exact_version_and_its_integrity(self) -> None:
        """The render tool names one exact Mermaid release and its sha512 integrity."""
        tool = _tool()

        assert re.fullmatch(r"\d+\.\d+\.\d+", tool.MERMAID_VERSION)
        assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", tool.MERMAID_INTEGRITY)


class TestNoScriptDiagrams:
    """The site draws no diagram in the reader's browser and loads nothing from a CDN."""

    @pytest.mark.parametrize(
        "page",
        sorted(DOCS.rglob("*.md")),
        ids=[str(p.relative_to(DOCS)) for p in sorted(DOCS.rglob("*.md"))],
    )
    def test_no_page_has_a_mermaid_fence(self, page: Path) -> None:
        """No page under docs/ holds a Mermaid code fence; pictures are pre-rendered SVG."""
        assert MERMAID_FENCE.search(page.read_text(encoding="utf-8")) is None

    @pytest.mark.parametrize(
        "text",
        ["```mermaid\nx\n```", "~~~ mermaid\nx\n~~~", "  ```{.mermaid}\nx\n```"],
        ids=["backticks", "tildes", "attribute"],
    )
    def test_the_fence_check_sees_each_spelling(self, text: str) -> None:
        """The fence pattern catches each way Markdown can open a Mermaid block."""
        assert MERMAID_FENCE.search(text) is not None

    def test_mkdocs_config_has_no_mermaid_fence_and_no_remote_assets(self) -> None:
        """mkdocs.yml declares no Mermaid fence and no script or stylesheet from elsewhere."""
        config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
        fences = [
            fence
            for extension in config["markdown_extensions"]
            if isinstance(extension, dict) and "pymdownx.superfences" in extension
            for fence in (extension["pymdownx.superfences"] or {}).get("custom_fences", [])
        ]
        assets = [*config.get("extra_javascript", []), *config.get("extra_css", [])]

        assert not [f for f in fences if "mermaid" in str(f).lower()]
        assert "pymdownx.superfences" in config["markdown_extensions"]
        assert all(not re.match(r"([a-z]+:)?//", str(a)) for a in assets)
        assert "assets/stylesheets/extra.css" in assets


class TestRenderTool:
    """The parts of `tools/render_diagrams.py` that need no browser and no network."""

    def test_it_draws_every_definition_and_every_hand_written_diagram(self) -> None:
        """The tool's job list covers each built-in definition and each `.mmd` file once."""
        jobs = list(_tool().jobs(set()))
        targets = [target for _, _, target in jobs]

        assert sorted(targets) == sorted(
            [*(DIAGRAMS / f"{k}.svg" for k in KEYS), *(p.with_suffix(".svg") for p in HAND_DRAWN)]
        )
        assert len({ident for ident, _, _ in jobs}) == len(jobs)
        for definition in BUILT_INS:
            assert next(s for _, s, t in jobs if t.name == f"{definition.key}.svg") == to_mermaid(
                definition
            )

    def test_only_narrows_the_jobs_to_the_names_given(self) -> None:
        """`--only psii` draws the PSII's definitions and nothing else."""
        jobs = list(_tool().jobs({"psii"}))

        assert [t.name for _, _, t in jobs] == ["psii@1.svg"]

    def test_a_tarball_that_does_not_match_the_pin_is_refused_and_removed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A cached Mermaid tarball with the wrong digest is deleted and the tool stops."""
        tool = _tool()
        monkeypatch.setattr(tool, "CACHE", tmp_path)
        tarball = tmp_path / f"mermaid-{tool.MERMAID_VERSION}.tgz"
        tarball.write_bytes(b"not the pinned release")

        with pytest.raises(SystemExit):
            tool.mermaid_script()

        assert not tarball.exists()

    def test_the_integrity_check_reads_the_sha512_of_the_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The check accepts the file whose sha512 is pinned and refuses one byte more."""
        tool = _tool()
        tarball = tmp_path / "m.tgz"
        tarball.write_bytes(b"release")
        digest = base64.b64encode(hashlib.sha512(b"release").digest()).decode("ascii")
        monkeypatch.setattr(tool, "MERMAID_INTEGRITY", f"sha512-{digest}")

        assert tool._verified(tarball)
        tarball.write_bytes(b"release!")
        assert not tool._verified(tarball)
