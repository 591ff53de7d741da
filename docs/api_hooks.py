"""MkDocs hooks: keep the API reference (one page per public module) complete and current.

Every public module of psirf_flow (no part of its dotted name starting with an underscore,
Alembic's migration scripts aside) has its own page under ``reference/api/``: the package
root is ``reference/api/index.md``, a package ``reference/api/<package>/index.md`` and a
module ``reference/api/<package>/<module>.md``. The build fails when a public module has
no page, so a new module cannot go undocumented.

Two markers are expanded from the code at build time, so the lists cannot drift from it:

- ``<!-- psirf-flow:exports psirf_flow.audit -->`` becomes a table of the names the module
  re-exports in its ``__all__``, each linked to where it is defined and documented, with
  the first line of its docstring;
- ``<!-- psirf-flow:modules psirf_flow.audit -->`` becomes a table of the package's public
  submodules, each linked to its page, with the first line of its docstring.
"""

from __future__ import annotations

import functools
import pkgutil
import posixpath
import re
from pathlib import Path
from typing import Any

import griffe
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

import psirf_flow


PACKAGE = "psirf_flow"
API_DIR = "reference/api"
EXPORTS = re.compile(r"<!--\s*psirf-flow:exports\s+(?P<module>[\w.]+)\s*-->")
MODULES = re.compile(r"<!--\s*psirf-flow:modules\s+(?P<module>[\w.]+)\s*-->")
# Alembic's environment and revision scripts: run by `psirf-flow db upgrade`, never imported.
NOT_API = re.compile(r"^psirf_flow\.store\.sql\.migrations(\.|$)")
SRC = Path(__file__).resolve().parents[1] / "src"
# Modules whose reference page is elsewhere: the errors have their own page, with every code.
ELSEWHERE = {"psirf_flow.errors": "reference/errors.md"}


def public_modules() -> list[str]:
    """Every public module of psirf_flow, the package root first, by dotted name."""
    names = [PACKAGE]
    for info in pkgutil.walk_packages(psirf_flow.__path__, f"{PACKAGE}."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or NOT_API.match(info.name):
            continue
        names.append(info.name)
    return sorted(names)


def page_path(module: str, *, is_package: bool) -> str:
    """The path, under the docs directory, of ``module``'s reference page."""
    if module in ELSEWHERE:
        return ELSEWHERE[module]
    parts = module.split(".")[1:]
    if is_package:
        return posixpath.join(API_DIR, *parts, "index.md")
    return posixpath.join(API_DIR, *parts[:-1], f"{parts[-1]}.md")


def _is_package(module: str) -> bool:
    found = _package().modules_collection.get_member(module)
    return bool(found.is_init_module)


@functools.cache
def _package() -> griffe.Module:
    loaded = griffe.load(PACKAGE, search_paths=[str(SRC)], resolve_aliases=True)
    assert isinstance(loaded, griffe.Module)
    return loaded


def _summary(obj: griffe.Object | griffe.Alias) -> str:
    if obj.docstring is None:
        return ""
    first = obj.docstring.value.strip().split("\n\n")[0]
    return " ".join(first.split()).replace("|", "\\|")


def _is_private(path: str) -> bool:
    return any(part.startswith("_") for part in path.split("."))


def _documented_at(target: griffe.Object) -> tuple[str, str]:
    """Where ``target`` is documented: its own path, or a public module re-exporting it."""
    if not _is_private(target.path):
        return target.path, target.module.path
    collection = _package().modules_collection
    for name in public_modules():
        module = collection.get_member(name)
        if module.is_init_module:
            continue
        for export in module.exports or ():
            member = module.members.get(str(export))
            if member is not None and member.is_alias and member.final_target is target:
                return member.path, name
    raise PluginError(
        f"{target.path} is defined in a private module and no public module exports it"
    )


def _exports_table(module: str) -> str:
    package = _package().modules_collection.get_member(module)
    names = [str(name) for name in package.exports or ()]
    rows = ["| Name | Defined in | What it is |", "| --- | --- | --- |"]
    for name in names:
        member = package.members.get(name)
        if member is None or not member.is_alias:
            continue
        target = member.final_target
        path, where = _documented_at(target)
        rows.append(f"| [`{name}`][{path}] | [`{where}`][{where}] | {_summary(target)} |")
    if len(rows) == 2:
        raise PluginError(f"{module} re-exports nothing to list")
    return "\n".join(rows)


def _modules_table(module: str) -> str:
    prefix = f"{module}."
    children = [
        name
        for name in public_modules()
        if name.startswith(prefix) and "." not in name[len(prefix) :]
    ]
    if not children:
        raise PluginError(f"{module} has no public submodules to list")
    rows = ["| Module | What it holds |", "| --- | --- |"]
    collection = _package().modules_collection
    for name in children:
        rows.append(f"| [`{name}`][{name}] | {_summary(collection.get_member(name))} |")
    return "\n".join(rows)


def on_files(files: Files, config: Any) -> Files:
    """Fail the build when a public module has no reference page."""
    missing = [
        page_path(name, is_package=_is_package(name))
        for name in public_modules()
        if files.get_file_from_path(page_path(name, is_package=_is_package(name))) is None
    ]
    if missing:
        raise PluginError(
            "no API reference page for: " + ", ".join(missing) + " (add the page with a "
            "'::: <module>' block and put it in the nav)"
        )
    return files


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    """Expand the exports and submodule markers on the page."""
    markdown = EXPORTS.sub(lambda match: _exports_table(match.group("module")), markdown)
    return MODULES.sub(lambda match: _modules_table(match.group("module")), markdown)
