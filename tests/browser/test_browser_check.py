"""The browser check (tools/browser_check.py) fails for the right reasons, on small fixtures.

`make browser-check` runs the same checks on the real site; these tests show that each one
passes on a page that meets it and fails, saying why, on a page that does not. They drive
the system's Chromium, as the check does.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parents[2]


def _load_tool() -> types.ModuleType:
    """tools/browser_check.py, loaded from its file (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "browser_check", ROOT / "tools" / "browser_check.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("browser_check", module)
    spec.loader.exec_module(module)
    return module


bc = _load_tool()

_SVG = '<svg width="240" height="120" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
_LABELS = '<text x="10" y="20">opened</text><text x="10" y="60">closed_out</text>'

#: Fixture pages: path under the site root -> body HTML.
PAGES = {
    "": "<h1>Home</h1>",
    "reference/workflows/good/": f'<div class="psirf-diagram">{_SVG.format(body=_LABELS)}</div>',
    "reference/workflows/wrapped/": (
        '<div class="psirf-diagram">'
        + _SVG.format(
            body="<text><tspan>opened</tspan></text><text>closed_<tspan>out</tspan></text>"
        )
        + "</div>"
    ),
    "reference/workflows/mermaid/": '<pre class="mermaid"><code>stateDiagram-v2</code></pre>',
    "reference/workflows/empty/": '<div class="psirf-diagram"><p>opened closed_out</p></div>',
    "reference/workflows/hidden/": (
        f'<div class="psirf-diagram" style="display:none">{_SVG.format(body=_LABELS)}</div>'
    ),
    "reference/workflows/unlabelled/": (
        '<div class="psirf-diagram">'
        + _SVG.format(body='<rect width="50" height="20"/>')
        + "</div>"
    ),
    "reference/workflows/partial/": (
        '<div class="psirf-diagram">'
        + _SVG.format(body='<text x="10" y="20">opened</text>')
        + "</div>"
    ),
    "reference/api/": '<p>See <a href="engine/"><code>Engine</code></a>.</p>',
    "reference/api/engine/": (
        "<p>Returns a :class:<code>Case</code>; see :meth:<code>Engine.fire</code> "
        "and :class:<code>Actor</code>.</p>"
    ),
    "reference/api/hidden-role/": "<p>Clean text.</p><p hidden>:func:<code>x</code></p>",
    "external/": '<img src="https://cdn.example.invalid/logo.png" alt="">',
    "other-port/": '<img src="http://127.0.0.1:9/pixel.png" alt="">',
    "noisy/": '<script>console.error("boom")</script>',
    "throws/": '<script>throw new Error("kaboom")</script>',
    "search/": (
        '<input data-md-component="search-query"><div class="md-search-result"></div>'
        "<script>"
        'const box = document.querySelector("input");'
        'box.addEventListener("input", () => {'
        '  const link = document.createElement("a");'
        '  link.className = "md-search-result__link";'
        '  link.href = box.value === "duty of candour" ? "../reference/workflows/duty_of_candour/"'
        '    : "../reference/rules/";'
        '  document.querySelector(".md-search-result").append(link);'
        "});"
        "</script>"
    ),
}


def _write_site(root: Path) -> Path:
    for path, body in PAGES.items():
        page = root / path / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(
            f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>",
            encoding="utf-8",
        )
    (root / "404.html").write_text("<p>missing</p>", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small built site holding one page per case the checks must tell apart."""
    return _write_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def tab(site: Path) -> Iterator[Any]:
    """One headless Chromium tab onto the fixture site, shared by this module's tests."""
    with bc.browser_on(site) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _fresh_records(request: pytest.FixtureRequest) -> None:
    """Start each browser test with no blocked requests or errors left from another."""
    if "tab" in request.fixturenames:
        opened = request.getfixturevalue("tab")
        opened.blocked.clear()
        opened.errors.clear()


# ------------------------------------------------------------------ pure helpers


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("Returns a :class:Case and calls :meth:Engine.fire.", [":class:", ":meth:"]),
        (":py:func:load and :mod:psirf_flow.engine", [":py:func:", ":mod:"]),
        (":attr:x :exc:y :data:z :obj:w :ref:v", [":attr:", ":exc:", ":data:", ":obj:", ":ref:"]),
        ("Returns a Case and calls Engine.fire.", []),
        ("a ratio of 3:2, a time 10:30, a dict {class: 1}", []),
        (":classic: is not a role", []),
    ],
)
def test_raw_roles_finds_each_sphinx_role(text: str, roles: list[str]) -> None:
    """raw_roles lists every Sphinx role as rendered and nothing that merely has colons."""
    assert bc.raw_roles(text) == roles


@pytest.mark.parametrize(
    ("states", "text", "missing"),
    [
        (["opened", "closed_out"], "opened closed_out", []),
        (["opened", "closed_out"], "openedclosed_\n out", []),
        (["opened", "closed_out"], "opened", ["closed_out"]),
        (["awaiting review"], "awaiting\nreview", []),
        (["opened"], "", ["opened"]),
    ],
)
def test_label_missing_ignores_line_wrapping(
    states: list[str], text: str, missing: list[str]
) -> None:
    """A state counts as labelled when its name is in the text, whatever the line breaks."""
    assert bc.label_missing(states, text) == missing


def test_site_paths_find_pages_api_pages_and_the_engine_page(site: Path) -> None:
    """Pages are listed by path without 404.html; the API pages and engine page are found."""
    paths = bc.page_paths(site)

    assert set(paths) == set(PAGES)
    assert bc.api_paths(site) == [
        "reference/api/",
        "reference/api/engine/",
        "reference/api/hidden-role/",
    ]
    assert bc.engine_api_path(site) == "reference/api/engine/"


def test_no_engine_page_when_the_api_is_one_page(tmp_path: Path) -> None:
    """A site whose API reference is a single page has no engine page to screenshot."""
    (tmp_path / "reference" / "api").mkdir(parents=True)
    (tmp_path / "reference" / "api" / "index.html").write_text("<p>api</p>", encoding="utf-8")

    assert bc.engine_api_path(tmp_path) is None


def test_main_refuses_a_missing_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without a built site the check fails at once (status 2) and says to build it."""
    status = bc.main(["--site", str(tmp_path / "nowhere"), "--screenshots", str(tmp_path)])

    assert status == 2
    assert "run `make docs` first" in capsys.readouterr().err


# ------------------------------------------------------------------ in the browser


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "problems"),
    [
        ("reference/workflows/good/", []),
        ("reference/workflows/wrapped/", []),
        (
            "reference/workflows/mermaid/",
            ["no .psirf-diagram element on the page, only 1 Mermaid source block(s)"],
        ),
        ("reference/workflows/empty/", ["no <svg> inside .psirf-diagram"]),
        ("reference/workflows/hidden/", ["the diagram's <svg> is not visible"]),
        ("reference/workflows/unlabelled/", ["the diagram's <svg> has no text labels"]),
        ("reference/workflows/partial/", ["the diagram has no label for state(s): closed_out"]),
    ],
)
def test_diagram_check(tab: Any, path: str, problems: list[str]) -> None:
    """A lifecycle page passes only with a visible, sized SVG labelled with every state."""
    page = tab.visit(path)

    assert bc.diagram_problems(page, ["opened", "closed_out"]) == problems


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "problems"),
    [
        ("reference/api/", []),
        ("reference/api/hidden-role/", []),
        ("reference/api/engine/", ["raw Sphinx roles in the visible text: :class: x2, :meth: x1"]),
    ],
)
def test_role_check(tab: Any, path: str, problems: list[str]) -> None:
    """An API page fails when its visible text shows a raw role; hidden text does not count."""
    page = tab.visit(path)

    assert bc.role_problems(page) == problems


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "blocked"),
    [
        ("", []),
        ("external/", ["external/ -> https://cdn.example.invalid/logo.png"]),
        ("other-port/", ["other-port/ -> http://127.0.0.1:9/pixel.png"]),
    ],
)
def test_requests_off_the_served_site_are_blocked_and_recorded(
    tab: Any, path: str, blocked: list[str]
) -> None:
    """Any request not to the served origin (another host or port) is aborted and listed."""
    tab.visit(path)

    assert tab.blocked == blocked


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "expected"),
    [("noisy/", "noisy/: console error: boom"), ("throws/", "throws/: uncaught Error: kaboom")],
)
def test_console_errors_and_exceptions_are_recorded(tab: Any, path: str, expected: str) -> None:
    """A console error or an uncaught exception on a page is recorded against it."""
    tab.visit(path)

    assert tab.errors == [expected]


@pytest.mark.slow
def test_search_check_passes_when_the_target_is_listed(tab: Any) -> None:
    """Typing the query waits for a result linking to the target page."""
    page = tab.visit("search/")

    problems = bc.search_problems(page, "duty of candour", "reference/workflows/duty_of_candour/")

    assert problems == []


@pytest.mark.slow
def test_search_check_fails_naming_what_was_listed(tab: Any) -> None:
    """When no result links to the target, the problem names the query and the results."""
    page = tab.visit("search/")

    problems = bc.search_problems(
        page, "sign-off", "reference/workflows/duty_of_candour/", timeout_ms=500
    )

    assert problems == [
        "search for 'sign-off' did not list reference/workflows/duty_of_candour/ "
        "(results: ['../reference/rules/'])"
    ]


@pytest.mark.slow
def test_search_check_fails_without_a_search_box(tab: Any) -> None:
    """A page with no search box fails the search check."""
    page = tab.visit("")

    assert bc.search_problems(page, "x", "y/") == ["the page has no search box"]


@pytest.mark.slow
def test_check_site_reports_every_problem_and_saves_screenshots(tmp_path: Path) -> None:
    """A whole run lists each page's problems, blocked requests and the screenshots taken."""
    site = _write_site(tmp_path / "site")
    shots = tmp_path / "shots"

    workflows = {"good": ("opened", "closed_out"), "gone": ("a",)}

    # Its own thread: playwright's sync API runs one session per thread, and this module's
    # shared tab holds one open on the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        findings = pool.submit(bc.check_site, site, workflows, shots).result()

    assert not findings.ok
    assert set(findings.problems) == {
        "reference/workflows/gone/: the lifecycle page is missing from the site",
        "reference/api/engine/: raw Sphinx roles in the visible text: :class: x2, :meth: x1",
        "(search): the page has no search box",
        "noisy/: console error: boom",
        "throws/: uncaught Error: kaboom",
        "external/: console error: Failed to load resource: net::ERR_BLOCKED_BY_CLIENT.Inspector",
        "other-port/: console error: Failed to load resource: net::ERR_BLOCKED_BY_CLIENT.Inspector",
    }
    assert findings.blocked == [
        "external/ -> https://cdn.example.invalid/logo.png",
        "other-port/ -> http://127.0.0.1:9/pixel.png",
    ]
    assert sorted(p.name for p in findings.screenshots) == [
        "api-engine.png",
        "api-index.png",
        "home.png",
        "search-duty-of-candour.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in findings.screenshots)
