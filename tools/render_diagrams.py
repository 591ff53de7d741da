"""Render the documentation's diagrams to SVG files, ahead of time, with a pinned Mermaid.

The site shows pictures that need no JavaScript, no Node and no network: this script draws
them once and they are committed. It draws:

* the overview of every built-in workflow definition
  ([`to_mermaid`][psirf_flow.workflows.diagram.to_mermaid]) to
  `docs/reference/workflows/diagrams/<name>@<version>.svg`;
* every hand-written Mermaid file under `docs/` (`*.mmd`) to an `.svg` beside it.

Each SVG starts with a comment recording the Mermaid version, the SHA-256 of the source it
was drawn from ([`diagram_digest`][psirf_flow.workflows.diagram.diagram_digest]) and that of
the drawing settings below, so `tests/docs/test_diagrams.py` can tell, without a browser,
when a picture is missing or stale.

Mermaid comes from the npm registry as the exact version pinned below (`npm pack`), into
the git-ignored `.cache/mermaid/` folder, and its tarball is checked against the pinned
sha512 integrity before use. The drawing runs in headless Chromium through playwright
(set `PSIRF_FLOW_CHROMIUM` to the browser's executable, or let playwright find its own).
Labels are SVG text, not HTML, so each file stands alone.

Usage:

```console
$ python tools/render_diagrams.py [--only NAME ...]
```
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

from psirf_flow.workflows import DefinitionRegistry
from psirf_flow.workflows.diagram import diagram_digest, to_mermaid


ROOT = Path(__file__).resolve().parents[1]
#: The Mermaid release the pictures are drawn with, and its tarball's integrity.
MERMAID_VERSION = "12.4.0"
MERMAID_INTEGRITY = (
    "sha512-j2gvsGUFeS/53WdYLl9H5G2YtMZX9G/PlCvV3E5Pf4j5XSnK19D"
    "wazU6wki7OTcKeYKed7+qujRDLhy8NV2zBg=="
)
CACHE = ROOT / ".cache" / "mermaid"
WORKFLOW_DIAGRAMS = ROOT / "docs" / "reference" / "workflows" / "diagrams"
DOCS = ROOT / "docs"
#: The first line of every rendered SVG: the Mermaid release, the source's SHA-256 and the
#: SHA-256 of the settings below (see `settings_digest`).
HEADER = (
    "<!-- psirf-flow diagram: mermaid {version}; source sha256 {digest}; "
    "settings sha256 {settings} -->\n"
)
#: A font stack every reader's system has one of; the SVG names it, nothing is downloaded.
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    '"DejaVu Sans", sans-serif'
)
#: Mermaid settings: SVG text labels at 15 px, natural size, state names kept on one line.
CONFIG = {
    "startOnLoad": False,
    "securityLevel": "strict",
    "theme": "neutral",
    "htmlLabels": False,
    "fontFamily": FONT_STACK,
    "themeVariables": {"fontFamily": FONT_STACK, "fontSize": "15px"},
    "flowchart": {"htmlLabels": False, "wrappingWidth": 400},
    "state": {"useMaxWidth": False, "wrappingWidth": 400},
    "sequence": {"useMaxWidth": False},
}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def settings_digest() -> str:
    """The SHA-256 of the Mermaid settings, so a picture drawn with other settings is stale."""
    return diagram_digest(json.dumps(CONFIG, sort_keys=True))


def _fail(message: str) -> None:
    print(f"render_diagrams: {message}", file=sys.stderr)
    raise SystemExit(1)


def _verified(tarball: Path) -> bool:
    algorithm, _, expected = MERMAID_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    return base64.b64encode(digest).decode("ascii") == expected


def mermaid_script() -> Path:
    """Return the pinned `mermaid.min.js`, fetching and checking its tarball if needed."""
    script = CACHE / MERMAID_VERSION / "mermaid.min.js"
    tarball = CACHE / f"mermaid-{MERMAID_VERSION}.tgz"
    if script.is_file() and tarball.is_file() and _verified(tarball):
        return script
    CACHE.mkdir(parents=True, exist_ok=True)
    if not tarball.is_file():
        npm = shutil.which("npm")
        if npm is None:
            _fail("npm is needed once to fetch the pinned Mermaid (the SVGs are committed)")
        subprocess.run(  # noqa: S603 - fixed arguments, pinned version
            [
                npm,
                "pack",
                f"mermaid@{MERMAID_VERSION}",
                "--pack-destination",
                str(CACHE),
                "--silent",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not _verified(tarball):
        tarball.unlink()
        _fail(f"mermaid-{MERMAID_VERSION}.tgz does not match the pinned integrity; removed it")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/dist/mermaid.min.js")
        if member is None:
            _fail("the Mermaid tarball has no package/dist/mermaid.min.js")
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_bytes(member.read())
    return script


def jobs(only: set[str]) -> Iterator[tuple[str, str, Path]]:
    """Yield (diagram id, Mermaid source, SVG path) for every diagram to draw."""
    for definition in DefinitionRegistry.default():
        if only and definition.name not in only:
            continue
        ident = f"psirf-{definition.name}-{definition.version}".replace("_", "-")
        yield ident, to_mermaid(definition), WORKFLOW_DIAGRAMS / f"{definition.key}.svg"
    for source in sorted(DOCS.rglob("*.mmd")):
        if only and source.stem not in only:
            continue
        ident = "psirf-" + source.stem.replace("_", "-")
        yield ident, source.read_text(encoding="utf-8"), source.with_suffix(".svg")


_RENDER = """
async ([id, source, config]) => {
    mermaid.initialize(config);
    const { svg } = await mermaid.render(id, source);
    return svg;
}
"""


def render(only: set[str]) -> list[Path]:
    """Draw every diagram and write its SVG; return the files written."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only this tool needs it

    script = mermaid_script()
    written: list[Path] = []
    executable = os.environ.get("PSIRF_FLOW_CHROMIUM") or None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_content("<!doctype html><html><body></body></html>")
        page.add_script_tag(path=str(script))
        for ident, source, target in jobs(only):
            svg = page.evaluate(_RENDER, [ident, source, CONFIG])
            header = HEADER.format(
                version=MERMAID_VERSION,
                digest=diagram_digest(source),
                settings=settings_digest(),
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(header + svg + "\n", encoding="utf-8")
            written.append(target)
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Render the diagrams named (all by default) and list the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", default=[], help="workflow names or .mmd file stems to draw"
    )
    args = parser.parse_args(argv)
    for path in render(set(args.only)):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
