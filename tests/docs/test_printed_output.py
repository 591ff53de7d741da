"""The output a guide shows under a ``print`` is what its code really prints.

In the guides listed here, a run of ``# ...`` comment lines at the left margin right after a
line that prints (a ``print(...)`` call, or the indented body of a loop that prints) is the
output of the code above it. Each block is run in order, in one namespace, with its output
captured and compared with those comments (line breaks and runs of spaces are not
significant, so a long value may be wrapped over several comment lines).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parents[2]
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
CHECKED_PAGES = [
    ROOT / "docs" / "how-to" / "run-the-sweeper.md",
    ROOT / "docs" / "how-to" / "report-overdue-work.md",
    ROOT / "docs" / "how-to" / "commission-thematic-reviews.md",
]


def shown_output(block: str) -> str:
    """The output comments of one block, in order, one line each."""
    shown: list[str] = []
    printing = False
    for line in block.splitlines():
        if line.startswith("# ") and printing:
            shown.append(line[2:])
            continue
        if line.startswith("#"):
            printing = False
            continue
        printing = "print(" in line or (printing and line.startswith(" "))
    return "\n".join(shown)


def squeezed(text: str) -> str:
    """Text with every run of white space, line breaks included, made one space."""
    return " ".join(text.split())


@pytest.mark.parametrize("page", CHECKED_PAGES, ids=[p.name for p in CHECKED_PAGES])
def test_every_shown_output_is_real(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each block prints exactly what its output comments show, and shows something."""
    monkeypatch.chdir(ROOT)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    shown_anywhere = False

    for number, block in enumerate(PYTHON_BLOCK.findall(page.read_text(encoding="utf-8")), 1):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"{page.name} block {number}", "exec"), namespace)  # noqa: S102
        shown = shown_output(block)
        shown_anywhere = shown_anywhere or bool(shown)

        assert squeezed(printed.getvalue()) == squeezed(shown), f"block {number}"

    assert shown_anywhere


def test_the_reader_of_output_comments() -> None:
    """Comments after a print or a printing loop are output; other comments are not."""
    block = (
        "# a note\n"
        "x = 1  # inline\n"
        "print(x)\n"
        "# 1\n"
        "for i in (2, 3):\n"
        "    print(i)\n"
        "# 2\n"
        "# 3\n"
        "y = 2\n"
        "# not output\n"
    )

    assert shown_output(block) == "1\n2\n3"
