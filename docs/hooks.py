"""MkDocs hooks: generate the workflow reference from the definitions the engine runs.

A stub page holds a marker such as ``<!-- psirf-flow:workflow psii -->``. At build time the
marker is replaced by `psirf_flow.workflows.diagram.reference_markdown` for the newest
built-in definition of that name (any workflow in ``DefinitionRegistry.default()``): the
diagram, the opening and the transition table. The build fails when a marker names an
unknown workflow, or when a built-in workflow has no page, so the reference cannot drift
from the code. The marker ``<!-- psirf-flow:rules -->`` is replaced by
`psirf_flow.workflows.rules_reference.rules_markdown` for every built-in workflow and
the shipped national rule pack.
"""

from __future__ import annotations

import re
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from psirf_flow.policy.national import load_national_rules
from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.diagram import reference_markdown
from psirf_flow.workflows.rules_reference import rules_markdown


MARKER = re.compile(r"<!--\s*psirf-flow:workflow\s+(?P<name>[A-Za-z0-9_]+)\s*-->")
PAGES = "reference/workflows/{name}.md"
RULES_MARKER = re.compile(r"<!--\s*psirf-flow:rules\s*-->")


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
        return reference_markdown(definition)

    return MARKER.sub(expand, markdown)
