"""The built distributions: both carry the licence, and the wheel runs on a bare machine.

Builds the sdist and the wheel from this tree with ``python -m build --no-isolation`` (the
build backend, hatchling, is installed with the development tools, so nothing is fetched
to build), then installs the wheel without extras into a fresh virtual environment (no
system site packages) and runs it there with no zone database visible: ``PYTHONTZPATH`` is
set empty, so ``zoneinfo`` finds Europe/London only in the ``tzdata`` package the wheel
requires. Installing the wheel's dependencies may use the package index; pip's cache makes
repeated runs quick.
"""

from __future__ import annotations

import email.parser
import json
import os
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from collections.abc import Mapping
from email.message import Message
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LICENSE = (ROOT / "LICENSE").read_bytes()
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

#: Runs in the fresh environment: what it imported, from where, and what it could not.
_PROBE = """
import importlib.metadata, importlib.util, json, sys, zoneinfo
import psirf_flow
report = {
    "tzpath": list(zoneinfo.TZPATH),
    "london": str(zoneinfo.ZoneInfo("Europe/London")),
    "tzdata": importlib.metadata.version("tzdata"),
    "in_venv": psirf_flow.__file__.startswith(sys.prefix),
    "version": psirf_flow.__version__,
    "optional_found": sorted(
        name for name in ("sqlalchemy", "alembic", "psycopg", "click", "hypothesis", "pytest")
        if importlib.util.find_spec(name) is not None
    ),
}
try:
    from psirf_flow.store.sql import SqlStore
except ImportError as error:
    report["sql"] = {
        "type": type(error).__name__, "code": error.code, "module": error.module,
        "extra": error.extra, "message": str(error),
    }
print(json.dumps(report))
"""

#: Runs in the fresh environment with the tzdata package hidden: is any zone file visible?
_NO_SYSTEM_ZONES = """
import sys, zoneinfo
sys.modules["tzdata"] = None
try:
    zoneinfo.ZoneInfo("Europe/London")
except zoneinfo.ZoneInfoNotFoundError:
    print("no zone database")
else:
    print("found a zone file outside tzdata")
"""


def _run(
    args: list[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run one process (no shell); fail the test with its output when it fails."""
    result = subprocess.run(  # the project's own interpreters, no shell
        args, capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args[:4]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _plain_env() -> dict[str, str]:
    """This process's environment without anything that points Python at this tree."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONTZPATH", "COV_CORE_SOURCE"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("COV_")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _bare_env() -> dict[str, str]:
    """A plain environment in which zoneinfo searches no system directory at all."""
    return {**_plain_env(), "PYTHONTZPATH": ""}


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built from this tree (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        env=_plain_env(),
        cwd=out,
    )
    sdists, wheels = list(out.glob("*.tar.gz")), list(out.glob("*.whl"))
    assert len(sdists) == 1
    assert len(wheels) == 1
    return {"sdist": sdists[0], "wheel": wheels[0]}


@pytest.fixture(scope="module")
def bare_python(dists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv's interpreter with only the wheel (no extras) and its dependencies."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(system_site_packages=False, clear=True, with_pip=False).create(home)
    python = home / "bin" / "python"
    # This environment's pip installs into the new one: no pip bootstrap in the fresh venv.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-input",
            "--no-compile",
            str(dists["wheel"]),
        ],
        env=_plain_env(),
        cwd=home,
    )
    return python


def _metadata(text: str) -> Message:
    return email.parser.Parser().parsestr(text)


def test_sdist_carries_the_licence_and_its_metadata(dists: dict[str, Path]) -> None:
    """The sdist holds LICENSE at its top and declares the MIT expression in PKG-INFO."""
    with tarfile.open(dists["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        licence = sdist.extractfile(f"{top}/LICENSE")
        info = sdist.extractfile(f"{top}/PKG-INFO")
        assert licence is not None
        assert info is not None
        licence_bytes, pkg_info = licence.read(), _metadata(info.read().decode("utf-8"))

    assert licence_bytes == LICENSE
    assert pkg_info["License-Expression"] == "MIT"
    assert pkg_info.get_all("License-File") == ["LICENSE"]


def test_wheel_carries_the_licence_and_requires_tzdata(dists: dict[str, Path]) -> None:
    """The wheel holds LICENSE under .dist-info/licenses/; METADATA says MIT and needs tzdata."""
    with zipfile.ZipFile(dists["wheel"]) as wheel:
        names = wheel.namelist()
        info_dir = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        licence = wheel.read(f"{info_dir}/licenses/LICENSE")
        metadata = _metadata(wheel.read(f"{info_dir}/METADATA").decode("utf-8"))

    requires = metadata.get_all("Requires-Dist") or []
    assert licence == LICENSE
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert [r for r in requires if r.startswith("tzdata")] == ["tzdata>=2024.1"]
    assert not any(n.startswith(("tests/", "docs/", "examples/")) for n in names)


def test_fresh_venv_sees_no_zone_database_outside_tzdata(bare_python: Path, tmp_path: Path) -> None:
    """With PYTHONTZPATH empty and tzdata hidden, zoneinfo finds no zone file at all."""
    result = _run([str(bare_python), "-c", _NO_SYSTEM_ZONES], env=_bare_env(), cwd=tmp_path)

    assert result.stdout.strip() == "no zone database"


def test_wheel_imports_without_extras_and_names_the_missing_one(
    bare_python: Path, tmp_path: Path
) -> None:
    """The bare install imports, finds London in tzdata alone, and SqlStore names its extra."""
    result = _run([str(bare_python), "-c", _PROBE], env=_bare_env(), cwd=tmp_path)

    report = json.loads(result.stdout)
    sql = report.pop("sql")
    assert report.pop("tzdata")
    assert report == {
        "tzpath": [],
        "london": "Europe/London",
        "in_venv": True,
        "version": VERSION,
        "optional_found": [],
    }
    assert sql == {
        "type": "MissingDependency",
        "code": "PSF800",
        "module": "sqlalchemy",
        "extra": "sqlalchemy",
        "message": "[PSF800] the SQL store needs sqlalchemy, which is not installed; "
        'install it with pip install "psirf-flow[sqlalchemy]"',
    }


def test_quickstart_runs_from_the_bare_wheel(bare_python: Path, tmp_path: Path) -> None:
    """examples/quickstart.py runs to a closed case with a verified chain on the bare install."""
    result = _run(
        [str(bare_python), str(ROOT / "examples" / "quickstart.py")], env=_bare_env(), cwd=tmp_path
    )

    lines = result.stdout.splitlines()
    assert lines[0].startswith("refused as expected: ")
    assert lines[-1] == "final state: closed | chain verifies: True"
    assert result.stderr == ""
