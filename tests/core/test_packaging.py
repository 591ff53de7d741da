"""Installing like a real project: the licence ships, extras are named when missing."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

from psirf_flow.errors import MissingDependency, PsirfFlowError
from psirf_flow.store.sql import make_engine


ROOT = Path(__file__).resolve().parents[2]

#: (module imported, optional package hidden, extra the error must name).
MISSING = [
    ("psirf_flow.store.sql", "sqlalchemy", "sqlalchemy"),
    ("psirf_flow.store.sql", "alembic", "sqlalchemy"),
    ("psirf_flow.cli", "click", "cli"),
    ("psirf_flow.testing.strategies", "hypothesis", "testing"),
    ("psirf_flow.testing.stateful", "hypothesis", "testing"),
    ("psirf_flow.testing.store_contract", "pytest", "testing"),
    ("psirf_flow.testing.store_contract", "hypothesis", "testing"),
]

#: Run in a fresh interpreter: hide one package, import one module, report the error.
_PROBE = """
import json, sys
sys.modules[{hidden!r}] = None
from psirf_flow.errors import MissingDependency
try:
    import {target}
except MissingDependency as error:
    print(json.dumps({{
        "code": error.code, "module": error.module, "extra": error.extra,
        "message": str(error), "import_error": isinstance(error, ImportError),
        "cause": type(error.__cause__).__name__,
    }}))
else:
    print("null")
"""


@pytest.mark.slow
@pytest.mark.parametrize(("target", "hidden", "extra"), MISSING)
def test_missing_optional_package_names_its_extra(target: str, hidden: str, extra: str) -> None:
    """Importing a module without its extra raises MissingDependency naming the extra."""
    script = _PROBE.format(hidden=hidden, target=target)

    result = subprocess.run(  # one short interpreter start, no shell
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )

    report = json.loads(result.stdout)
    message = report.pop("message")
    assert report == {
        "code": "PSF800",
        "module": hidden,
        "extra": extra,
        "import_error": True,
        "cause": "ModuleNotFoundError",
    }
    assert message.startswith("[PSF800] ")
    assert f"needs {hidden}, which is not installed" in message
    assert message.endswith(f'pip install "psirf-flow[{extra}]"')


def test_testing_clock_imports_without_the_testing_extra() -> None:
    """psirf_flow.testing's ManualClock needs neither hypothesis nor pytest."""
    script = (
        "import sys\nsys.modules['hypothesis'] = None\nsys.modules['pytest'] = None\n"
        "from psirf_flow.testing import ManualClock\nprint(ManualClock.__name__)\n"
    )

    result = subprocess.run(  # one short interpreter start, no shell
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "ManualClock"


def test_postgresql_url_without_psycopg_names_the_postgresql_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Opening a psycopg URL without psycopg raises MissingDependency naming 'postgresql'."""
    monkeypatch.setitem(sys.modules, "psycopg", None)

    with pytest.raises(MissingDependency) as raised:
        make_engine("postgresql+psycopg://reader@db.invalid/cases")

    error = raised.value
    assert isinstance(error, PsirfFlowError)
    assert isinstance(error, ImportError)
    assert (error.code, error.module, error.extra) == ("PSF800", "psycopg", "postgresql")
    assert str(error) == (
        "[PSF800] a PostgreSQL store needs psycopg, which is not installed; "
        'install it with pip install "psirf-flow[postgresql]"'
    )
    assert "reader" not in str(error)


def test_missing_dependency_message_and_fields() -> None:
    """MissingDependency carries the package, the extra and the install command."""
    error = MissingDependency("click", "cli", "the psirf-flow command")

    assert (error.code, error.module, error.extra) == ("PSF800", "click", "cli")
    assert str(error) == (
        "[PSF800] the psirf-flow command needs click, which is not installed; "
        'install it with pip install "psirf-flow[cli]"'
    )


def test_license_is_mit_and_declared_for_wheel_and_sdist() -> None:
    """LICENSE is the MIT text and pyproject ships it in the wheel and the sdist."""
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert text.startswith("MIT License\n\nCopyright (c) 2026 the psirf_flow contributors\n")
    assert "WITHOUT WARRANTY OF ANY KIND" in text
    assert project["project"]["license"] == "MIT"
    assert project["project"]["license-files"] == ["LICENSE"]
    assert "LICENSE" in project["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    assert any(dep.startswith("tzdata") for dep in project["project"]["dependencies"])


def _installed_from_here() -> importlib.metadata.Distribution:
    """The installed psirf-flow distribution, or skip when it was built from another tree."""
    dist = importlib.metadata.distribution("psirf-flow")
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct.get("url") != ROOT.as_uri():
        pytest.skip("the installed psirf-flow was built from another checkout")
    return dist


def test_installed_metadata_names_the_license_file_and_tzdata() -> None:
    """An install of this tree records License-File, the MIT expression and tzdata."""
    dist = _installed_from_here()

    assert dist.metadata.get_all("License-File") == ["LICENSE"]
    assert dist.metadata["License-Expression"] == "MIT"
    assert any(req.startswith("tzdata") for req in dist.requires or [])
    licence = [f for f in dist.files or [] if f.name == "LICENSE"]
    assert len(licence) == 1
    assert licence[0].read_text(encoding="utf-8").startswith("MIT License")


def _lock_dev() -> types.ModuleType:
    """tools/lock_dev.py, loaded from its file (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("lock_dev", ROOT / "tools" / "lock_dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lock_dev_reads_the_makefile_install_line() -> None:
    """The lock script pins what the Makefile's install line names, the project by its extras."""
    lock_dev = _lock_dev()

    roots = lock_dev.install_requirements((ROOT / "Makefile").read_text(encoding="utf-8"))

    assert roots == [
        "psirf-flow[sqlalchemy,postgresql,async,cli,testing,docs]",
        "pytest-cov>=5.0",
        "ruff>=0.6",
        "mypy>=1.11",
        "import-linter>=2.0",
        "fastapi>=0.115",
        "httpx>=0.27",
        "build>=1.2",
        "hatchling>=1.27",
        "playwright>=1.48",
        "pytest-xdist>=3.6",
        "python-statemachine>=3.0",
        "eventsourcing>=9.3",
        "psycopg-pool>=3.2",
        "pyinstrument>=5.0",
    ]


def test_lock_dev_follows_extras_and_markers_and_reports_missing() -> None:
    """The closure follows requested extras, skips other extras and reports what is absent."""
    lock_dev = _lock_dev()
    index = {
        "psirf-flow": ("psirf-flow", "0.1.0", ["attrs>=23", 'click>=8; extra == "cli"']),
        "attrs": ("attrs", "26.1.0", ['hypothesis; extra == "tests"']),
        "click": ("click", "8.5.1", ['colorama; python_version < "3"']),
        "pytest-cov": ("pytest-cov", "7.0.0", ["coverage[toml]>=7", "pytest>=7"]),
        "coverage": ("coverage", "7.18.0", []),
    }

    pins, missing = lock_dev.closure(["psirf-flow[cli]", "pytest_cov>=5"], index.get)

    assert pins == {
        "attrs": "26.1.0",
        "click": "8.5.1",
        "pytest-cov": "7.0.0",
        "coverage": "7.18.0",
    }
    assert missing == {"pytest"}
    assert lock_dev.render(pins, missing).splitlines()[2:] == [
        "# Not installed when generated, left unpinned: pytest",
        "attrs==26.1.0",
        "click==8.5.1",
        "coverage==7.18.0",
        "pytest-cov==7.0.0",
    ]


def test_dev_constraints_pin_exact_versions() -> None:
    """constraints/dev.txt holds only name==version lines (and comments), sorted by name."""
    lines = (ROOT / "constraints" / "dev.txt").read_text(encoding="utf-8").splitlines()
    pins = [line for line in lines if not line.startswith("#")]

    assert pins
    assert all(re.fullmatch(r"[a-z0-9-]+==[A-Za-z0-9.+!-]+", line) for line in pins)
    assert pins == sorted(pins, key=lambda line: line.partition("==")[0])
    assert {"mypy", "ruff", "import-linter", "pytest-cov", "sqlalchemy", "tzdata"} <= {
        line.partition("==")[0] for line in pins
    }
