"""The public API: a sorted ``__all__`` that matches what is exported, documented, and light."""

from __future__ import annotations

import subprocess
import sys
import types

import psirf_flow


def _exported() -> set[str]:
    """Public names the package namespace actually holds (submodules aside)."""
    return {
        name
        for name, value in vars(psirf_flow).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


class TestAll:
    """``psirf_flow.__all__``."""

    def test_all_is_sorted(self) -> None:
        """``__all__`` is in code-point order (classes, then dunders, then functions)."""
        assert psirf_flow.__all__ == sorted(psirf_flow.__all__)
        assert len(set(psirf_flow.__all__)) == len(psirf_flow.__all__)

    def test_all_matches_the_exported_names(self) -> None:
        """Every public name in the namespace is in ``__all__`` and every listed name exists."""
        listed = set(psirf_flow.__all__) - {"__version__"}

        assert listed == _exported()
        for name in psirf_flow.__all__:
            assert hasattr(psirf_flow, name), name

    def test_every_export_has_a_docstring(self) -> None:
        """Every exported class and function documents itself."""
        for name in psirf_flow.__all__:
            if name == "__version__":
                continue
            doc = getattr(psirf_flow, name).__doc__
            assert doc, name
            assert doc.strip(), name

    def test_version_is_text(self) -> None:
        """The package reports its version."""
        assert isinstance(psirf_flow.__version__, str)
        assert psirf_flow.__version__


def test_import_is_light() -> None:
    """Importing psirf_flow pulls in no database, CLI or test libraries."""
    heavy = ["sqlalchemy", "alembic", "psycopg", "click", "hypothesis", "pytest"]
    script = f"import sys, psirf_flow\nprint(','.join(m for m in {heavy!r} if m in sys.modules))\n"

    result = subprocess.run(  # one short interpreter start, no shell
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == ""
