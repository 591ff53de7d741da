"""Look at the built documentation site in a real browser, offline.

``make browser-check`` runs this after ``make docs``. It serves ``site/`` on 127.0.0.1 (a
random free port, the standard library's ``http.server`` in a thread), opens every page in
the system's headless Chromium through playwright (never a downloaded browser) and fails
when:

* a page asks for anything not on that local server (a CDN script, a web font, an image):
  every such request is blocked and recorded, so a page that would need the network is
  caught even though it cannot reach it;
* a page logs a console error or throws an uncaught exception;
* a lifecycle page (``reference/workflows/<name>/``, one per built-in workflow) does not
  draw its diagram as a visible ``<svg>`` inside ``.psirf-diagram``, with a non-zero size
  and every state of the workflow as a text label;
* an API reference page (``reference/api/`` and every page under it) shows a raw Sphinx
  role such as ``:class:`` in its visible text;
* typing "duty of candour" into the site's search box does not list the duty-of-candour
  workflow page.

It saves screenshots of the key pages and of the search results as PNG files (by default
in ``build/screenshots/``, which git ignores) and prints where. Run it with the project's
Python, from the repository root:

```console
$ python tools/browser_check.py                 # checks site/, screenshots in build/screenshots/
$ python tools/browser_check.py --site other/ --screenshots /somewhere/else
```

The functions that look at one page (`diagram_problems`, `role_problems`,
`search_problems`) take an open playwright page, so the tests can run them on small HTML
fixtures as well as on the real site.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import re
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, ViewportSize, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout


ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: Launch flags that keep the system Chromium headless, quiet and off the network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Belt and braces: even a request that escaped interception could not resolve a host.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
#: How long one page may take to load or one element to appear (playwright waits, no sleeps);
#: generous, for the one-page API reference on a busy machine.
TIMEOUT_MS = 60_000

WORKFLOW_PAGE = "reference/workflows/{name}/"
API_ROOT = "reference/api/"
SEARCH_QUERY = "duty of candour"
SEARCH_TARGET = WORKFLOW_PAGE.format(name="duty_of_candour")

#: A Sphinx cross-reference role left unconverted, as it reads once rendered
#: (``:class:`Engine``` shows as ``:class:Engine``), with or without the ``py:`` domain.
RAW_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|ref):")

#: Screenshot file name -> page, for the pages a reviewer looks at first.
KEY_PAGES: Mapping[str, str] = {
    "home": "",
    "tutorial": "tutorials/first-investigation/",
    "workflow-psii": WORKFLOW_PAGE.format(name="psii"),
    "workflow-duty-of-candour": SEARCH_TARGET,
    "api-index": API_ROOT,
    "rules": "reference/rules/",
}


@dataclass
class Findings:
    """What the browser saw: problems by page, blocked requests, screenshots taken."""

    problems: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was wrong and nothing tried to leave the machine."""
        return not self.problems and not self.blocked


def raw_roles(text: str) -> list[str]:
    """Every raw Sphinx role in ``text``, in order (``[]`` when there is none)."""
    return RAW_ROLE.findall(text)


def page_paths(site: Path) -> list[str]:
    """Every HTML page of the built site, as a path relative to its root (``""`` = home)."""
    pages = (html.relative_to(site).as_posix() for html in site.rglob("*.html"))
    return sorted(page.removesuffix("index.html") for page in pages if page != "404.html")


def api_paths(site: Path) -> list[str]:
    """The API reference's pages: ``reference/api/`` and every page below it."""
    return [path for path in page_paths(site) if path.startswith(API_ROOT)]


def engine_api_path(site: Path) -> str | None:
    """The API page of ``psirf_flow.engine`` (a page under the API root named ``engine``)."""
    for path in api_paths(site):
        if path.rstrip("/").rsplit("/", 1)[-1] in {"engine", "psirf_flow.engine"}:
            return path
    return None


def label_missing(states: Sequence[str], text: str) -> list[str]:
    """The states whose name is not among a diagram's text labels (whitespace ignored)."""
    squashed = re.sub(r"\s+", "", text)
    return [state for state in states if re.sub(r"\s+", "", state) not in squashed]


def diagram_problems(page: Page, states: Sequence[str]) -> list[str]:
    """What is wrong with the workflow diagram on ``page`` (``[]`` when it is drawn).

    The page must hold an ``<svg>`` inside an element of class ``psirf-diagram``; the first
    one must be visible, have a non-zero width and height, and carry every state name in
    ``states`` as text (``<text>`` or HTML labels inside it).
    """
    if page.locator(".psirf-diagram").count() == 0:
        source = page.locator(".mermaid").count()
        found = f", only {source} Mermaid source block(s)" if source else ""
        return [f"no .psirf-diagram element on the page{found}"]
    svg = page.locator(".psirf-diagram svg")
    if svg.count() == 0:
        return ["no <svg> inside .psirf-diagram"]
    first = svg.first
    if not first.is_visible():
        return ["the diagram's <svg> is not visible"]
    box = first.bounding_box()
    if box is None or box["width"] <= 0 or box["height"] <= 0:
        return [f"the diagram's <svg> has no size ({box})"]
    text = first.text_content() or ""
    if not text.strip():
        return ["the diagram's <svg> has no text labels"]
    missing = label_missing(states, text)
    if missing:
        return ["the diagram has no label for state(s): " + ", ".join(missing)]
    return []


def role_problems(page: Page) -> list[str]:
    """Raw Sphinx roles in the visible text of ``page`` (``[]`` when there is none)."""
    found = raw_roles(page.locator("body").inner_text())
    if not found:
        return []
    counts = {role: found.count(role) for role in dict.fromkeys(found)}
    listed = ", ".join(f"{role} x{n}" for role, n in counts.items())
    return [f"raw Sphinx roles in the visible text: {listed}"]


def search_problems(
    page: Page, query: str, target: str, *, timeout_ms: float = TIMEOUT_MS
) -> list[str]:
    """Type ``query`` into the site's search box; ``[]`` when a result links to ``target``.

    Playwright waits up to ``timeout_ms`` for the result to appear; nothing sleeps.
    """
    box = page.locator("input[data-md-component='search-query']")
    if box.count() == 0:
        return ["the page has no search box"]
    box.first.click()
    box.first.fill(query)
    hit = page.locator(f"a.md-search-result__link[href*='{target}']")
    try:
        hit.first.wait_for(state="attached", timeout=timeout_ms)
    except PlaywrightTimeout:
        links = page.locator("a.md-search-result__link").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        return [f"search for {query!r} did not list {target} (results: {links or 'none'})"]
    return []


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request to standard error."""

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing."""


class _Server(http.server.ThreadingHTTPServer):
    """A local file server that ignores a browser dropping a connection it no longer needs."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about closed connections; report anything else as the stdlib does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 at a free port for the block; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Tab:
    """One headless Chromium tab onto a served site, recording what must not happen.

    Every request not to the served origin is aborted and listed in `blocked`; console
    errors and uncaught page exceptions are listed in `errors`, with the page they came
    from.
    """

    def __init__(self, browser: Browser, base: str) -> None:
        self.base = base
        self._origin = urlsplit(base).netloc
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self._current = ""
        self.context = browser.new_context(viewport=VIEWPORT, service_workers="block")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", self._exception)

    def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"http", "https"} and parts.netloc == self._origin:
            route.continue_()
            return
        self.blocked.append(f"{self._current or '(start)'} -> {url}")
        route.abort("blockedbyclient")

    def _exception(self, error: PlaywrightError) -> None:
        self.errors.append(f"{self._current}: uncaught {error.name}: {error.message}")

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{self._current}: console error: {message.text}")

    def visit(self, path: str) -> Page:
        """Open ``path`` (relative to the site root) and wait for it to load."""
        self._current = path or "(home)"
        self.page.goto(self.base + path, wait_until="load")
        return self.page


@contextlib.contextmanager
def browser_on(site: Path) -> Iterator[Tab]:
    """Serve ``site`` and open it in the system's headless Chromium for the block."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: run `make browser-check`, which installs it")
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            tab = Tab(browser, base)
            try:
                yield tab
            finally:
                tab.context.close()
        finally:
            browser.close()


def _shoot(tab: Tab, name: str, folder: Path, findings: Findings) -> None:
    path = folder / f"{name}.png"
    tab.page.screenshot(path=str(path), animations="disabled")
    findings.screenshots.append(path)


def check_site(site: Path, workflows: Mapping[str, Sequence[str]], screenshots: Path) -> Findings:
    """Run every check on the built ``site``; ``workflows`` maps each name to its states."""
    findings = Findings()
    pages = page_paths(site)
    apis = api_paths(site)
    engine = engine_api_path(site)
    lifecycles = {WORKFLOW_PAGE.format(name=name): states for name, states in workflows.items()}
    shots = {page: name for name, page in KEY_PAGES.items()}
    if engine is None:
        findings.problems.append(f"{API_ROOT}: no API page for psirf_flow.engine")
    else:
        shots[engine] = "api-engine"
    for missing in sorted(set(lifecycles) - set(pages)):
        findings.problems.append(f"{missing}: the lifecycle page is missing from the site")
    if not apis:
        findings.problems.append(f"{API_ROOT}: no API reference page in the site")
    screenshots.mkdir(parents=True, exist_ok=True)
    with browser_on(site) as tab:
        for path in pages:
            try:
                page = tab.visit(path)
            except PlaywrightError as error:
                reason = error.message.splitlines()[0]
                findings.problems.append(f"{path or '(home)'}: did not load: {reason}")
                continue
            problems: list[str] = []
            if path in lifecycles:
                problems += diagram_problems(page, lifecycles[path])
                diagram = page.locator(".psirf-diagram")
                if diagram.count():
                    diagram.first.scroll_into_view_if_needed()
            if path in apis:
                problems += role_problems(page)
            findings.problems += [f"{path or '(home)'}: {problem}" for problem in problems]
            if path in shots:
                _shoot(tab, shots[path], screenshots, findings)
        tab.visit("")
        findings.problems += [
            f"(search): {p}" for p in search_problems(tab.page, SEARCH_QUERY, SEARCH_TARGET)
        ]
        _shoot(tab, "search-duty-of-candour", screenshots, findings)
        findings.problems += tab.errors
        findings.blocked += tab.blocked
    return findings


def builtin_workflows() -> dict[str, tuple[str, ...]]:
    """Each built-in workflow's name and states, newest version of each."""
    from psirf_flow.workflows import DefinitionRegistry  # noqa: PLC0415 (after argument parsing)

    registry = DefinitionRegistry.default()
    names = sorted({definition.name for definition in registry})
    latest = {name: registry.latest(name) for name in names}
    return {name: d.states for name, d in latest.items() if d is not None}


def main(argv: Sequence[str] | None = None) -> int:
    """Check the site; print what was wrong and where the screenshots are; 0 when all passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site")
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=ROOT / "build" / "screenshots",
        help="where to save the PNG screenshots",
    )
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"no built site in {args.site}: run `make docs` first", file=sys.stderr)
        return 2
    findings = check_site(args.site, builtin_workflows(), args.screenshots)
    pages = len(page_paths(args.site))
    for problem in findings.problems:
        print(f"FAIL {problem}")
    for request in findings.blocked:
        print(f"FAIL blocked a request off this machine: {request}")
    print(f"screenshots: {len(findings.screenshots)} PNG files in {args.screenshots}")
    verdict = "passed" if findings.ok else "FAILED"
    print(
        f"browser check {verdict}: {pages} pages, {len(findings.problems)} problems, "
        f"{len(findings.blocked)} blocked requests"
    )
    return 0 if findings.ok else 1


if __name__ == "__main__":
    sys.exit(main())
