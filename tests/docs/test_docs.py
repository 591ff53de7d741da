"""The documentation is tested: generated reference, runnable pages, the site build, maps."""

from __future__ import annotations

import importlib.util
import itertools
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

import psirf_flow.errors
from psirf_flow import Role
from psirf_flow.workflows import (
    GUARDS,
    INTAKE,
    LEARNING_RESPONSES,
    PREVIOUS_STATE,
    SAME_STATE,
    DefinitionRegistry,
    GuardSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)
from psirf_flow.workflows.diagram import (
    opening_to_markdown,
    recording_steps_markdown,
    reference_markdown,
    state_ids,
    to_markdown_table,
    to_mermaid,
)


ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
DEFINITIONS = list(LEARNING_RESPONSES.values())
NAMES = [d.name for d in DEFINITIONS]
BUILT_IN_NAMES = sorted({d.name for d in DefinitionRegistry.default()})
BUILT_INS = list(DefinitionRegistry.default())
BUILT_IN_KEYS = [d.key for d in BUILT_INS]
RESUME_NOTE = " (to the state it was held from)"
MERMAID_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
# Pages whose Python blocks form one runnable program each.
RUNNABLE_PAGES = sorted(
    [
        DOCS / "index.md",
        *(DOCS / "tutorials").glob("*.md"),
        DOCS / "how-to" / "add-a-local-guard.md",
        DOCS / "how-to" / "handle-rejections.md",
        DOCS / "how-to" / "embed-in-your-system.md",
        DOCS / "how-to" / "run-the-relay.md",
        DOCS / "how-to" / "oversight-and-organisations.md",
        DOCS / "how-to" / "report-overdue-work.md",
        DOCS / "how-to" / "run-the-sweeper.md",
        DOCS / "how-to" / "test-your-workflow.md",
        DOCS / "how-to" / "commission-thematic-reviews.md",
        DOCS / "how-to" / "host-in-an-asyncio-service.md",
        DOCS / "explanation" / "audit-and-information-governance.md",
        DOCS / "explanation" / "counting-rules.md",
        DOCS / "reference" / "workflows" / "index.md",
    ]
)


def _edges(diagram: str) -> set[tuple[str, str, str]]:
    """Parse ``a --> b: label`` lines into (source, target, label) triples."""
    found = set()
    for line in diagram.splitlines():
        match = re.fullmatch(r"\s*(\S+) --> (\S+?)(?:: (.*))?", line)
        if match:
            found.add((match.group(1), match.group(2), match.group(3) or ""))
    return found


def _tiny(
    states: tuple[str, ...], *, guards: dict[str, GuardSpec] | None = None
) -> WorkflowDefinition:
    """A two-step workflow over ``states`` (first is initial, last is final)."""
    return define(
        name="tiny",
        version="1",
        family="test",
        title="Tiny",
        states=states,
        initial=states[0],
        final_states=(states[-1],),
        opening=OpeningSpec(roles=(Role.REPORTER,)),
        transitions=[
            TransitionSpec(
                trigger=f"step_{i}",
                sources=(a,),
                dest=b,
                roles=(Role.REPORTER,),
                guards=tuple(guards or ()),
            )
            for i, (a, b) in enumerate(itertools.pairwise(states))
        ],
        guards=guards,
    )


def _load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("psirf_flow_docs_hooks", DOCS / "hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestMermaid:
    """`to_mermaid` draws a readable overview: left to right, no loops, hold grouped."""

    @pytest.mark.parametrize("definition", BUILT_INS, ids=BUILT_IN_KEYS)
    def test_is_a_left_to_right_state_diagram(self, definition: WorkflowDefinition) -> None:
        """The overview is a state diagram laid out left to right."""
        assert to_mermaid(definition).startswith("stateDiagram-v2\n    direction LR\n")

    @pytest.mark.parametrize("definition", BUILT_INS, ids=BUILT_IN_KEYS)
    def test_starts_and_ends_with_pseudo_states(self, definition: WorkflowDefinition) -> None:
        """The diagram starts at the initial state and ends every final state."""
        edges = _edges(to_mermaid(definition))

        assert ("[*]", definition.initial, "") in edges
        assert {(s, "[*]", "") for s in definition.final_states} <= edges

    @pytest.mark.parametrize("definition", BUILT_INS, ids=BUILT_IN_KEYS)
    def test_no_arrow_loops_back_to_its_own_state(self, definition: WorkflowDefinition) -> None:
        """Steps that keep the case where it is are not drawn as self-loops."""
        assert all(source != target for source, target, _ in _edges(to_mermaid(definition)))

    @pytest.mark.parametrize("definition", BUILT_INS, ids=BUILT_IN_KEYS)
    def test_every_state_changing_step_labels_an_arrow(
        self, definition: WorkflowDefinition
    ) -> None:
        """Each step that moves a case is on an arrow, by its human name."""
        labels = {
            name
            for _, _, label in _edges(to_mermaid(definition))
            for name in label.removesuffix(RESUME_NOTE).split(" / ")
        }
        moving = [
            spec
            for spec in definition.transitions.values()
            if spec.dest != SAME_STATE and set(spec.sources) != {spec.dest}
        ]

        assert {spec.name for spec in moving} <= labels

    @pytest.mark.parametrize("definition", BUILT_INS, ids=BUILT_IN_KEYS)
    def test_recording_steps_are_counted_on_their_state(
        self, definition: WorkflowDefinition
    ) -> None:
        """A state with recording steps says how many; their names label no arrow."""
        diagram = to_mermaid(definition)
        ids = state_ids(definition.states)
        labels = {n for _, _, label in _edges(diagram) for n in label.split(" / ")}
        counts: dict[str, int] = {}
        only_recording = set()
        for spec in definition.transitions.values():
            if spec.dest == SAME_STATE:
                only_recording.add(spec.name)
                for source in spec.sources:
                    counts[source] = counts.get(source, 0) + 1

        for state, n in counts.items():
            noun = "step" if n == 1 else "steps"
            assert f"{ids[state]}: +{n} recording {noun}\n" in diagram
        assert not only_recording & labels

    @pytest.mark.parametrize(
        "definition", [d for d in BUILT_INS if d.holdable_states], ids=lambda d: d.key
    )
    def test_hold_and_resume_are_one_arrow_each(self, definition: WorkflowDefinition) -> None:
        """Holding is one arrow out of the hold group and resuming one arrow back into it."""
        edges = _edges(to_mermaid(definition))
        holds = {s.dest: s for s in definition.transitions.values() if s.holds}
        resumes = [s for s in definition.transitions.values() if s.dest == PREVIOUS_STATE]
        into_hold = {(s, t) for s, t, _ in edges if t in holds}

        assert into_hold == {("hold_group", dest) for dest in holds}
        assert {
            (s, "hold_group", f"{r.name}{RESUME_NOTE}") for r in resumes for s in r.sources
        } <= edges
        assert 'state "Can be put on hold" as hold_group {' in to_mermaid(definition)

    @pytest.mark.parametrize("definition", BUILT_INS, ids=BUILT_IN_KEYS)
    def test_names_the_lifecycle_and_main_path_for_screen_readers(
        self, definition: WorkflowDefinition
    ) -> None:
        """The accessible title names the lifecycle; the description walks its main path."""
        diagram = to_mermaid(definition)

        assert f"    accTitle: {definition.title}, {definition.key}, overview\n" in diagram
        assert f"    accDescr: Main path {definition.initial}, then " in diagram

    def test_unsafe_state_names_are_declared_with_safe_ids(self) -> None:
        """States that are Mermaid keywords or not identifiers get a declared safe id."""
        diagram = to_mermaid(_tiny(("start", "end", "done-and-dusted")))

        assert 'state "end" as s_end' in diagram
        assert 'state "done-and-dusted" as s_done_and_dusted' in diagram
        assert "start --> s_end: Step 0" in diagram
        assert "s_done_and_dusted --> [*]" in diagram

    def test_the_group_id_never_takes_a_state_s_id(self) -> None:
        """A state called `hold_group` keeps its name; the hold box gets another id."""
        roles = (Role.REPORTER,)
        definition = define(
            name="tiny",
            version="1",
            family="test",
            title="Tiny",
            states=("hold_group", "working", "paused", "done"),
            initial="hold_group",
            final_states=("done",),
            opening=OpeningSpec(roles=roles),
            transitions=[
                TransitionSpec("start", ("hold_group",), "working", roles),
                TransitionSpec("finish", ("working",), "done", roles),
                TransitionSpec("pause", ("hold_group", "working"), "paused", roles, holds=True),
                TransitionSpec("resume", ("paused",), PREVIOUS_STATE, roles),
            ],
        )

        edges = _edges(to_mermaid(definition))

        assert ("hold_group", "working", "Start") in edges
        assert ("hold_group_2", "paused", "Pause") in edges
        assert ("paused", "hold_group_2", f"Resume{RESUME_NOTE}") in edges

    @pytest.mark.parametrize(
        ("states", "expected"),
        [
            (["s_a_b", "a-b"], {"s_a_b": "s_a_b", "a-b": "s_a_b_2"}),
            (["a-b", "s_a_b", "a b"], {"a-b": "s_a_b_2", "s_a_b": "s_a_b", "a b": "s_a_b_3"}),
            (["end", "s_end"], {"end": "s_end_2", "s_end": "s_end"}),
        ],
        ids=["prefixed-name-taken", "two-collisions", "keyword-collides"],
    )
    def test_colliding_safe_ids_get_a_suffix(
        self, states: list[str], expected: dict[str, str]
    ) -> None:
        """A safe id already used by another state gets the next free numeric suffix."""
        assert expected == state_ids(states)

    @given(
        st.lists(
            st.from_regex(r"[a-z_][a-z0-9_-]{0,8}|end|state|note", fullmatch=True),
            unique=True,
            min_size=1,
            max_size=12,
        )
    )
    def test_state_ids_are_distinct_and_safe(self, states: list[str]) -> None:
        """Any set of state names gets distinct ids that Mermaid accepts."""
        ids = state_ids(states)

        assert set(states) == set(ids)
        assert len(set(ids.values())) == len(states)
        for ident in ids.values():
            assert MERMAID_ID.fullmatch(ident)
            assert ident not in {"end", "state", "note"}


class TestMarkdownTable:
    """`to_markdown_table` lists every transition with what it requires."""

    @pytest.mark.parametrize("definition", DEFINITIONS, ids=NAMES)
    def test_one_row_per_trigger_in_definition_order(self, definition: WorkflowDefinition) -> None:
        """The table has a header and exactly one row per trigger, in definition order."""
        rows = to_markdown_table(definition).splitlines()
        triggers = [re.search(r"\*\*`(\w+)`\*\*", row).group(1) for row in rows[2:]]  # type: ignore[union-attr]

        assert rows[0].startswith("| Trigger | From | To | Roles | Guards |")
        assert list(definition.triggers) == triggers

    @pytest.mark.parametrize("definition", DEFINITIONS, ids=NAMES)
    def test_rows_carry_roles_guards_fields_and_rules(self, definition: WorkflowDefinition) -> None:
        """Each row names its roles, guards with summaries, fields with choices, and rules."""
        rows = dict(
            zip(definition.triggers, to_markdown_table(definition).splitlines()[2:], strict=True)
        )

        for trigger, spec in definition.transitions.items():
            row = rows[trigger]
            for role in spec.roles:
                assert f"`{role.value}`" in row
            for guard in spec.guards:
                assert f"`{guard}`: {definition.guards[guard].summary}" in row
            for field in spec.fields:
                assert f"`{field.name}` {field.kind.value}" in row
                assert all(f"`{choice}`" in row for choice in field.choices)
            for rule in spec.rules:
                assert f"`{rule}`" in row

    @pytest.mark.parametrize(
        ("dest", "shown"),
        [
            (SAME_STATE, "(stays in the same state)"),
            (PREVIOUS_STATE, "(the state it was held from)"),
        ],
        ids=["same-state", "previous-state"],
    )
    def test_marker_destinations_are_spelled_out(self, dest: str, shown: str) -> None:
        """Recording steps and resumes show their destination in words, not as markers."""
        spec = next(s for s in LEARNING_RESPONSES["psii"].transitions.values() if s.dest == dest)
        row = next(
            r
            for r in to_markdown_table(LEARNING_RESPONSES["psii"]).splitlines()
            if f"`{spec.trigger}`" in r
        )

        assert shown in row
        assert dest not in row

    def test_pipes_in_summaries_are_escaped(self) -> None:
        """A guard summary containing a pipe does not split the table cell."""
        guards = {**GUARDS, "odd": GuardSpec("odd", GUARDS["actor_is_lead"].check, "this | that")}
        table = to_markdown_table(_tiny(("a", "b"), guards=guards))
        row = table.splitlines()[2]

        assert "this \\| that" in row
        assert len(re.findall(r"(?<!\\)\|", row)) == 8

    def test_effects_are_listed_under_the_trigger(self) -> None:
        """Actor facts, holds, reopens and cleared facts are shown with the trigger."""
        table = to_markdown_table(LEARNING_RESPONSES["psii"])

        assert "records the actor as `approved_by`" in table
        assert "remembers the state to resume to" in table
        assert "reopens a closed case" in table
        assert "clears `peer_review_ref`" in table
        assert "keeps one record per `person_id`, listed in `engaged_person_ids`" in table

    def test_a_recording_step_on_closed_cases_does_not_say_it_reopens(self) -> None:
        """The intake's LFPSE update, allowed at any stage, keeps the case where it is."""
        table = to_markdown_table(INTAKE)
        row = next(line for line in table.splitlines() if "update_incident_record" in line)

        assert "may be recorded on a closed case too" in row
        assert "reopens a closed case" not in row


class TestOpeningAndReference:
    """The opening list and the full reference section."""

    def test_opening_without_guards_says_none(self) -> None:
        """An opening with no guards says so, and lists roles, fields and rules."""
        text = opening_to_markdown(LEARNING_RESPONSES["psii"])

        assert "- **Guards:** none" in text
        assert "`patient_safety_specialist`, `executive_lead`" in text
        assert "`incident_ids` identifiers **required**" in text
        assert "`psirf.response.commission@1`" in text

    def test_opening_guards_are_listed_with_summaries(self) -> None:
        """An opening guard is listed with its summary."""
        text = opening_to_markdown(LEARNING_RESPONSES["thematic_review"])

        assert "    - `several_incidents_linked`: At least two incidents are linked." in text

    def test_opening_without_fields_or_rules_says_none(self) -> None:
        """An opening with no fields and no rules says so rather than leaving gaps."""
        text = opening_to_markdown(_tiny(("a", "b")))

        assert "    - none" in text
        assert "- **Rules:** none" in text

    @pytest.mark.parametrize("definition", DEFINITIONS, ids=NAMES)
    def test_reference_holds_diagram_opening_and_table(
        self, definition: WorkflowDefinition
    ) -> None:
        """The reference section fences the diagram and includes the opening and table."""
        text = reference_markdown(definition, heading_level=3)

        assert f"```mermaid\n{to_mermaid(definition)}```" in text
        assert opening_to_markdown(definition) in text
        assert to_markdown_table(definition) in text
        assert recording_steps_markdown(definition) in text
        assert "### Diagram" in text
        assert "### Recording steps" in text
        assert f"`{definition.key}`" in text

    def test_a_given_diagram_replaces_the_mermaid_fence(self) -> None:
        """The site passes its rendered picture, which stands where the fence would be."""
        text = reference_markdown(LEARNING_RESPONSES["psii"], diagram="<svg>picture</svg>")

        assert "<svg>picture</svg>" in text
        assert "```mermaid" not in text


class TestHooks:
    """The mkdocs hook that expands workflow markers."""

    def test_marker_is_replaced_by_the_generated_reference(self) -> None:
        """A workflow marker on a page becomes that workflow's generated reference."""
        hooks = _load_hooks()
        page: Any = SimpleNamespace(file=SimpleNamespace(src_uri="x.md"))

        psii = LEARNING_RESPONSES["psii"]
        svg = (DOCS / "reference" / "workflows" / "diagrams" / f"{psii.key}.svg").read_text()

        out = hooks.on_page_markdown(
            "# T\n\n<!-- psirf-flow:workflow psii -->\n", page, {}, Files([])
        )

        expected = reference_markdown(psii, diagram=hooks.diagram_html(psii, svg))
        assert out == "# T\n\n" + expected + "\n"

    def test_the_picture_is_wrapped_and_linked(self) -> None:
        """The rendered SVG sits in the scrolling wrapper, followed by a link to the file."""
        hooks = _load_hooks()

        html = hooks.diagram_html(LEARNING_RESPONSES["psii"], "<svg>x</svg>\n")

        assert html.startswith('<div class="psirf-diagram" role="figure" ')
        assert "\n<svg>x</svg>\n</div>\n" in html
        assert html.endswith("[open it on its own, full size](diagrams/psii@1.svg).")

    def test_a_missing_picture_fails_the_build_naming_make_diagrams(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without the rendered SVG the build fails and says how to draw it."""
        hooks = _load_hooks()
        monkeypatch.setattr(hooks, "WORKFLOW_DOCS", tmp_path)
        page: Any = SimpleNamespace(file=SimpleNamespace(src_uri="x.md"))

        with pytest.raises(
            PluginError, match=r"x\.md: no rendered diagram for psii@1 .*make diagrams"
        ):
            hooks.on_page_markdown("<!-- psirf-flow:workflow psii -->", page, {}, Files([]))

    def test_unknown_workflow_in_a_marker_fails_the_build(self) -> None:
        """A marker naming an unknown workflow fails the build with the page named."""
        hooks = _load_hooks()
        page: Any = SimpleNamespace(file=SimpleNamespace(src_uri="x.md"))

        with pytest.raises(PluginError, match=r"x\.md: unknown workflow 'nope'"):
            hooks.on_page_markdown("<!-- psirf-flow:workflow nope -->", page, {}, Files([]))

    @pytest.mark.parametrize("name", BUILT_IN_NAMES, ids=BUILT_IN_NAMES)
    def test_a_workflow_without_a_page_fails_the_build(self, tmp_path: Path, name: str) -> None:
        """Every built-in workflow must have a reference page, or the build fails."""
        hooks = _load_hooks()
        pages = {
            other: File(
                f"reference/workflows/{other}.md",
                str(tmp_path),
                str(tmp_path),
                use_directory_urls=True,
            )
            for other in BUILT_IN_NAMES
        }
        without = [page for other, page in pages.items() if other != name]

        assert hooks.on_files(Files(list(pages.values())), {}) is not None
        with pytest.raises(PluginError, match=rf"workflow\(s\): {name} "):
            hooks.on_files(Files(without), {})

    def test_every_built_in_workflow_has_a_page_in_the_docs(self) -> None:
        """The docs directory holds a reference page with a marker for every built-in."""
        for name in BUILT_IN_NAMES:
            page = DOCS / "reference" / "workflows" / f"{name}.md"
            assert f"<!-- psirf-flow:workflow {name} -->" in page.read_text(encoding="utf-8")


class TestRunnableDocs:
    """The documentation's code examples run."""

    @pytest.mark.parametrize(
        "page", RUNNABLE_PAGES, ids=[str(p.relative_to(DOCS)) for p in RUNNABLE_PAGES]
    )
    def test_python_blocks_run_in_order(self, page: Path) -> None:
        """Every Python block on the page runs, in order, in one namespace."""
        blocks = PYTHON_BLOCK.findall(page.read_text(encoding="utf-8"))
        namespace: dict[str, Any] = {"__name__": "__docs__"}

        assert blocks
        for number, block in enumerate(blocks, start=1):
            code = compile(block, f"{page.relative_to(ROOT)} block {number}", "exec")
            exec(code, namespace)  # noqa: S102 - the documentation's own examples

    def test_readme_example_runs(self) -> None:
        """The README's example runs as written."""
        blocks = PYTHON_BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
        namespace: dict[str, Any] = {"__name__": "__readme__"}

        assert blocks
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"README.md block {number}", "exec"), namespace)  # noqa: S102


class TestMaps:
    """Hand-written maps of the code stay complete."""

    def test_architecture_lists_every_module(self) -> None:
        """ARCHITECTURE.md names every module file under src/psirf_flow, and no others."""
        package = ROOT / "src" / "psirf_flow"
        modules = {p.relative_to(package).as_posix() for p in package.rglob("*.py")}
        listed = set(
            re.findall(
                r"^\| `([\w/.]+\.py)` \|", (ROOT / "ARCHITECTURE.md").read_text(), re.MULTILINE
            )
        )

        assert modules == listed

    def test_error_reference_lists_every_code(self) -> None:
        """The error reference has a row for every error class and its code."""
        text = (DOCS / "reference" / "errors.md").read_text(encoding="utf-8")
        classes = [
            c
            for c in vars(psirf_flow.errors).values()
            if isinstance(c, type) and issubclass(c, psirf_flow.errors.PsirfFlowError)
        ]

        assert len(classes) >= 19
        for cls in classes:
            assert f"| `{cls.code}` | `{cls.__name__}` |" in text

    def test_changelog_page_includes_the_root_changelog(self) -> None:
        """The changelog page includes CHANGELOG.md, which has an Unreleased section."""
        assert '--8<-- "CHANGELOG.md"' in (DOCS / "changelog.md").read_text(encoding="utf-8")
        assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.slow
class TestSiteBuild:
    """The documentation site builds."""

    def test_strict_build_succeeds_with_generated_reference(self, built_site: Path) -> None:
        """`mkdocs build --strict` succeeds and the PSII page holds the diagram and table."""
        site = built_site
        html = (site / "reference" / "workflows" / "psii" / "index.html").read_text(
            encoding="utf-8"
        )
        assert '<div class="psirf-diagram" role="figure"' in html
        assert "<svg " in html
        for page in site.rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            assert 'class="mermaid"' not in text, page
            assert not re.search(r"<script[^>]+src=\"(https?:)?//", text), page
            assert not re.search(r"<link[^>]+href=\"(https?:)?//[^\"]*\.(css|js)\"", text), page
        assert "<table>" in html
        for trigger in LEARNING_RESPONSES["psii"].triggers:
            assert trigger in html
