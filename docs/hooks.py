"""MkDocs hooks: generate the workflow reference from the definitions the engine runs.

A stub page holds a marker such as `<!-- psirf-flow:workflow psii -->`. At build time the
marker is replaced by
[`reference_markdown`][psirf_flow.workflows.diagram.reference_markdown] for the newest
built-in definition of that name (any workflow in `DefinitionRegistry.default()`): the
overview diagram, the opening, the transition table and the recording steps. The diagram is
the SVG drawn ahead of time by `tools/render_diagrams.py` (`make diagrams`) from
`docs/reference/workflows/diagrams/<name>@<version>.svg`, inlined in a
`<div class="psirf-diagram">` that scrolls sideways at the picture's natural size, with a
link to the file itself; the site loads no script to draw it.

The build fails when a marker names an unknown workflow, when its picture is missing, or
when a built-in workflow has no page, so the reference cannot drift from the code. The
marker `<!-- psirf-flow:rules -->` is replaced by
[`rules_markdown`][psirf_flow.workflows.rules_reference.rules_markdown] for every built-in
workflow and the shipped national rule pack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from psirf_flow.policy.national import load_national_rules
from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.diagram import reference_markdown
from psirf_flow.workflows.rules_reference import rules_markdown


MARKER = re.compile(r"<!--\s*psirf-flow:workflow\s+(?P<name>[A-Za-z0-9_]+)\s*-->")
PAGES = "reference/workflows/{name}.md"
RULES_MARKER = re.compile(r"<!--\s*psirf-flow:rules\s*-->")
#: The rendered overviews, relative to the workflow pages (and to `docs/reference/workflows`).
DIAGRAMS = "diagrams/{key}.svg"
WORKFLOW_DOCS = Path(__file__).resolve().parent / "reference" / "workflows"


def diagram_html(definition: WorkflowDefinition, svg: str) -> str:
    """Wrap the rendered overview of `definition` for a page, with a link to the file.

    Args:
        definition: The workflow drawn.
        svg: The SVG file's text, inlined as it is.

    Returns:
        Markdown: the wrapper holding the picture, then a link that opens it full size.
    """
    path = DIAGRAMS.format(key=definition.key)
    return (
        f'<div class="psirf-diagram" role="figure" '
        f'aria-label="Overview of the {definition.title} lifecycle">\n'
        f"{svg.strip()}\n"
        "</div>\n\n"
        f"Scroll the picture sideways, or [open it on its own, full size]({path})."
    )


def load_diagram(definition: WorkflowDefinition, where: str) -> str:
    """Read the rendered overview of `definition`, or fail the build naming `make diagrams`."""
    name = DIAGRAMS.format(key=definition.key)
    path = WORKFLOW_DOCS / name
    if not path.is_file():
        raise PluginError(
            f"{where}: no rendered diagram for {definition.key} "
            f"(run `make diagrams` to draw docs/reference/workflows/{name})"
        )
    return path.read_text(encoding="utf-8")


def on_files(files: Files, config: Any) -> Files:
    """Fail the build when a built-in workflow has no reference page."""
    names = sorted({definition.name for definition in DefinitionRegistry.default()})
    missing = [name for name in names if files.get_file_from_path(PAGES.format(name=name)) is None]
    if missing:
        raise PluginError(
            "no reference page for workflow(s): "
            + ", ".join(missing)
            + f" (add {PAGES} with the marker <!-- psirf-flow:workflow NAME -->)"
        )
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    """Replace every workflow or rules marker on the page with the generated reference."""
    if RULES_MARKER.search(markdown) is not None:
        rules = rules_markdown(DefinitionRegistry.default(), load_national_rules())
        markdown = RULES_MARKER.sub(lambda _: rules, markdown)
    if MARKER.search(markdown) is None:
        return markdown
    registry = DefinitionRegistry.default()

    def expand(match: re.Match[str]) -> str:
        name = match.group("name")
        definition = registry.latest(name)
        if definition is None:
            known = ", ".join(sorted({d.name for d in registry}))
            raise PluginError(
                f"{page.file.src_uri}: unknown workflow {name!r} in marker (known: {known})"
            )
        svg = load_diagram(definition, page.file.src_uri)
        return reference_markdown(definition, diagram=diagram_html(definition, svg))

    return MARKER.sub(expand, markdown)
