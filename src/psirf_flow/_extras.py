"""Optional dependencies: import one, or say which extra installs it.

The core needs only its listed dependencies. The SQL store (``sqlalchemy``), the PostgreSQL
driver (``postgresql``), the command line (``cli``) and the test kit (``testing``) are
extras; a module that needs one calls `require` before importing it, so a missing
package is reported as [`MissingDependency`][psirf_flow.errors.MissingDependency] naming the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

from psirf_flow.errors import MissingDependency


__all__ = ["EXTRAS", "missing", "require"]

EXTRAS: Final = {
    "sqlalchemy": "sqlalchemy",
    "alembic": "sqlalchemy",
    "psycopg": "postgresql",
    "greenlet": "async",
    "aiosqlite": "async",
    "click": "cli",
    "hypothesis": "testing",
    "pytest": "testing",
}
"""The extra that installs each optional top-level module."""


def require(module: str, *, needed_by: str) -> ModuleType:
    """Import an optional top-level module, or explain which extra installs it.

    Args:
        module: A key of `EXTRAS` (``"sqlalchemy"``, ``"click"``, ...).
        needed_by: What needs it, in plain words for the message (``"the SQL store"``).

    Returns:
        The imported module.

    Raises:
        MissingDependency: (an ``ImportError``) If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise missing(module, needed_by=needed_by) from error


def missing(module: str, *, needed_by: str) -> MissingDependency:
    """The error to raise (``from`` the ``ImportError``) when ``module`` is not installed.

    Args:
        module: A key of `EXTRAS`.
        needed_by: What needs it, in plain words for the message.

    Returns:
        A [`MissingDependency`][psirf_flow.errors.MissingDependency] naming the extra to install.
    """
    return MissingDependency(module, EXTRAS[module], needed_by)
