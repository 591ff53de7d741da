"""Fixtures of the documentation tests: the site, built once for the tree as it is.

The build is shared with ``make docs`` through ``tools/docs_site.py``: it is kept under
``build/docs-site/`` keyed by a digest of every input, so each pytest worker and the later
``make docs`` reuse one build of the same tree, and any change to the tree builds afresh.
"""

from __future__ import annotations

import importlib.util
import types
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]


def _load_tool() -> types.ModuleType:
    """tools/docs_site.py, loaded from its file (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("docs_site", ROOT / "tools" / "docs_site.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_site = _load_tool()
BuildFailed = docs_site.BuildFailed


@pytest.fixture(scope="session")
def built_site() -> Path:
    """The documentation site built with ``mkdocs build --strict``, warnings refused."""
    site: Path = docs_site.current_site(ROOT)
    return site
