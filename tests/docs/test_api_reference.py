"""The API reference renders: a page per public module, every public name documented.

Docstrings are written for mkdocstrings (Google style, Markdown, autorefs cross-references),
so Sphinx roles, reST literal blocks and doctest prose are refused in the source, and the
built pages are checked for what a reader would see.
"""

from __future__ import annotations

import ast
import contextlib
import html
import importlib
import inspect
import io
import pkgutil
import re
import textwrap
from pathlib import Path
from typing import Any

import griffe
import pytest

import psirf_flow


ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE_DIR = SRC / "psirf_flow"
MKDOCS_YML = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
# Alembic's environment and revision scripts are run by `psirf-flow db upgrade`, never imported.
NOT_API = re.compile(r"^psirf_flow\.store\.sql\.migrations(\.|$)")
# The errors have their own reference page, with every code and what a host should do.
ELSEWHERE = {"psirf_flow.errors": "reference/errors.md"}
ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|ref|const):`")
LITERAL_BLOCK = re.compile(r"::[ \t]*$", re.MULTILINE)
FENCE = re.compile(r"^\s*```")
EXAMPLE = re.compile(r"^[ ]*Examples:\n[ ]*```python\n(?P<code>.*?)\n[ ]*```", re.S | re.M)
CROSS_REF = re.compile(r"\[`?([^\]`]+)`?\]\[([\w.]+)\]")


def _public_modules() -> list[str]:
    names = [psirf_flow.__name__]
    for info in pkgutil.walk_packages(psirf_flow.__path__, "psirf_flow."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        if not NOT_API.match(info.name):
            names.append(info.name)
    return sorted(names)


PUBLIC_MODULES = _public_modules()
SOURCE_FILES = sorted(PACKAGE_DIR.rglob("*.py"))


def _page(module: str) -> Path:
    if module in ELSEWHERE:
        return ROOT / "docs" / ELSEWHERE[module]
    parts = module.split(".")[1:]
    is_package = (PACKAGE_DIR.joinpath(*parts) / "__init__.py").exists()
    if is_package:
        return ROOT / "docs" / "reference" / "api" / Path(*parts, "index.md")
    return ROOT / "docs" / "reference" / "api" / Path(*parts[:-1], f"{parts[-1]}.md")


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    """The package as mkdocstrings sees it (static analysis by griffe)."""
    loaded = griffe.load("psirf_flow", search_paths=[str(SRC)], resolve_aliases=True)
    assert isinstance(loaded, griffe.Module)
    return loaded


def _docstrings(path: Path) -> list[tuple[int, str]]:
    """Every docstring in a source file: of modules, classes, functions and attributes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            found.append((node.lineno, node.value.value))
    return found


def _outside_fences(text: str) -> str:
    kept, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            kept.append(line)
    return "\n".join(kept)


class TestPages:
    """Each public module has its own reference page, in the navigation."""

    def test_the_public_modules_are_found(self) -> None:
        """The walk finds the package root, its packages and modules, and no private module."""
        assert PUBLIC_MODULES[0] == "psirf_flow"
        assert {"psirf_flow.engine", "psirf_flow.audit.keys", "psirf_flow.store.sql"} <= set(
            PUBLIC_MODULES
        )
        assert not [m for m in PUBLIC_MODULES if "._" in m]

    @pytest.mark.parametrize("module", PUBLIC_MODULES)
    def test_module_has_a_page_in_the_nav(self, module: str) -> None:
        """The module's page exists, renders the module and is listed in mkdocs.yml's nav."""
        page = _page(module)

        assert page.exists(), f"no reference page for {module}: add {page.relative_to(ROOT)}"
        assert re.search(rf"^::: {re.escape(module)}$", page.read_text(encoding="utf-8"), re.M)
        assert str(page.relative_to(ROOT / "docs")) in MKDOCS_YML

    def test_no_page_for_a_module_that_does_not_exist(self) -> None:
        """Every page under reference/api renders a public module (none left behind)."""
        expected = {_page(module) for module in PUBLIC_MODULES}
        pages = set((ROOT / "docs" / "reference" / "api").rglob("*.md"))

        assert pages - expected == set()


class TestDocumented:
    """Every public name has a docstring that mkdocstrings can render."""

    @pytest.mark.parametrize("module", PUBLIC_MODULES)
    def test_every_exported_name_has_a_docstring(self, module: str, package: griffe.Module) -> None:
        """Each name in the module's ``__all__`` (or public member) has a docstring."""
        runtime = importlib.import_module(module)
        names = getattr(runtime, "__all__", None) or [
            name for name in vars(runtime) if not name.startswith("_")
        ]
        static = package.modules_collection.get_member(module)
        undocumented = []
        for name in names:
            if name.startswith("__"):
                continue
            target = static.members[name]
            if target.is_alias:
                target = target.final_target
            if not (target.docstring and target.docstring.value.strip()):
                undocumented.append(f"{name} ({target.path})")

        assert static.docstring is not None, f"{module} has no module docstring"
        assert undocumented == []


class TestDocstringMarkup:
    """Docstrings use Markdown and autorefs, never Sphinx or reST markup."""

    @pytest.mark.parametrize(
        "path", SOURCE_FILES, ids=[str(p.relative_to(SRC)) for p in SOURCE_FILES]
    )
    def test_no_sphinx_roles_or_literal_blocks(self, path: Path) -> None:
        """No docstring holds a Sphinx role, a reST ``::`` block or doctest prose."""
        problems = []
        for line, text in _docstrings(path):
            prose = _outside_fences(text)
            if ROLE.search(text):
                problems.append(f"line {line}: Sphinx role {ROLE.search(text).group(0)}")
            if LITERAL_BLOCK.search(prose):
                problems.append(f"line {line}: reST literal block (::)")
            if re.search(r"^\s*>>>", prose, re.MULTILINE):
                problems.append(f"line {line}: doctest prose outside a code block")

        assert problems == []

    @pytest.mark.parametrize(
        "path", SOURCE_FILES, ids=[str(p.relative_to(SRC)) for p in SOURCE_FILES]
    )
    def test_no_sphinx_attribute_comments(self, path: Path) -> None:
        """No ``#:`` comment documents an attribute (griffe reads docstrings after it instead)."""
        lines = path.read_text(encoding="utf-8").splitlines()

        assert [n for n, line in enumerate(lines, 1) if line.lstrip().startswith("#:")] == []

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("See :class:`Engine`.", "role"),
            ("See :py:func:`decide`.", "role"),
            ("Usage::\n\n    run()", "literal"),
            ("Example:\n    >>> run()", "doctest"),
            ("See [`Engine`][psirf_flow.engine.Engine].", None),
            ("Examples:\n    ```python\n    run()  # see ::\n    ```", None),
            ("Examples:\n    ```python\n    >>> run()\n    ```", None),
        ],
    )
    def test_the_markup_checks_tell_apart(self, text: str, problem: str | None) -> None:
        """The checks above flag roles, literal blocks and doctest prose, and pass Markdown."""
        prose = _outside_fences(text)
        found = (
            "role"
            if ROLE.search(text)
            else "literal"
            if LITERAL_BLOCK.search(prose)
            else "doctest"
            if re.search(r"^\s*>>>", prose, re.M)
            else None
        )

        assert found == problem


def _example_blocks() -> list[Any]:
    """Every fenced python block in an ``Examples:`` section of a docstring in src."""
    found = []
    for path in SOURCE_FILES:
        for line, text in _docstrings(path):
            for number, match in enumerate(EXAMPLE.finditer(inspect.cleandoc(text))):
                code = textwrap.dedent(match.group("code"))
                found.append(pytest.param(code, id=f"{path.relative_to(SRC)}:{line}:{number}"))
    return found


class TestExamples:
    """The examples in docstrings run, and the results they show are right."""

    @pytest.mark.parametrize("code", _example_blocks())
    def test_example_runs_and_shows_true_results(
        self, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The block runs; an expression followed by ``# <literal>`` equals that literal."""
        monkeypatch.chdir(tmp_path)  # an example may create a file (a SQLite database)
        namespace: dict[str, Any] = {"__name__": "__docstring_example__"}
        lines = code.split("\n")
        module = ast.parse(code)
        for statement in module.body:
            source = ast.get_source_segment(code, statement)
            assert source is not None
            comment = lines[statement.end_lineno - 1].partition("  # ")[2]  # type: ignore[operator]
            if isinstance(statement, ast.Expr) and comment:
                with contextlib.suppress(ValueError, SyntaxError):
                    expected = ast.literal_eval(comment)
                    assert eval(source, namespace) == expected, source  # noqa: S307
                    continue
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(source, "<example>", "exec"), namespace)  # noqa: S102

    def test_examples_are_found(self) -> None:
        """The engine's example is among the collected blocks (the collector works)."""
        ids = [param.id for param in _example_blocks()]

        assert any(i.startswith("psirf_flow/engine.py:") for i in ids)
        assert len(ids) >= 10


def _api_pages(site: Path) -> list[Path]:
    return [
        *sorted((site / "reference" / "api").rglob("index.html")),
        site / "reference" / "errors" / "index.html",
    ]


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


@pytest.mark.slow
class TestBuiltPages:
    """What a reader of the built API pages sees."""

    def test_one_built_page_per_public_module(self, built_site: Path) -> None:
        """The site has a page for every public module."""
        for module in PUBLIC_MODULES:
            relative = _page(module).relative_to(ROOT / "docs").with_suffix("")
            built = built_site / relative / "index.html"
            if relative.name == "index":
                built = built_site / relative.parent / "index.html"

            assert built.exists(), module

    def test_no_raw_roles_or_unresolved_references(self, built_site: Path) -> None:
        """No API page shows a Sphinx role or an unresolved ``[name][path]`` reference."""
        for page in _api_pages(built_site):
            text = _text(page)

            assert not ROLE.search(text), page
            assert not CROSS_REF.search(text), page
            assert "&gt;&gt;&gt;" not in page.read_text(encoding="utf-8"), page

    def test_code_examples_are_code_blocks(self, built_site: Path) -> None:
        """The engine's and the package root's examples render as ``<pre><code>`` blocks."""
        engine = (built_site / "reference" / "api" / "engine" / "index.html").read_text(
            encoding="utf-8"
        )
        root = (built_site / "reference" / "api" / "index.html").read_text(encoding="utf-8")

        for page, code in ((engine, "Engine(InMemoryStore()"), (root, "from psirf_flow import")):
            blocks = re.findall(
                r"<pre[^>]*>(?:<span[^>]*></span>)?<code[^>]*>(.*?)</code></pre>", page, re.S
            )
            assert any(code in _text_of(block) for block in blocks)

    def test_cross_references_are_links(self, built_site: Path) -> None:
        """A cross-reference in a docstring is a link to where the name is documented."""
        engine = (built_site / "reference" / "api" / "engine" / "index.html").read_text(
            encoding="utf-8"
        )

        assert re.search(r'<a[^>]+href="[^"]*decide/#psirf_flow\.decide\.decide"', engine)
        assert re.search(r'<a[^>]+href="[^"]*ports/#psirf_flow\.ports\.Change"', engine)

    def test_root_page_links_every_root_export(self, built_site: Path) -> None:
        """The package root's page lists every name in ``psirf_flow.__all__`` with a link."""
        root = (built_site / "reference" / "api" / "index.html").read_text(encoding="utf-8")

        for name in psirf_flow.__all__:
            if name.startswith("__"):
                continue
            assert re.search(
                rf'<a[^>]+href="[^"]+"[^>]*>(?:<code>)?{name}(?:</code>)?</a>', root
            ), name


def _text_of(block: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", block))
