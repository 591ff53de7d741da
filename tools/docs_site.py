"""Build the documentation site once per set of inputs, and share that build.

``make docs`` (and so the browser check, which reads ``site/``) and the documentation tests
(``built_site`` in ``tests/docs/conftest.py``, one per pytest-xdist worker) all need the site
that ``mkdocs build --strict`` makes from this tree. A build takes about a minute, and
``make test`` used to run it three times. This tool runs it at most once per set of inputs:

* The inputs are named by a digest of every file git lists in the tree (tracked, and
  untracked but not ignored: path and content), the Python version and the name and
  version of every installed distribution (mkdocs, its theme and plugins, griffe). Any
  change to any of them is a new digest and so a new build: a stale site is never served.
* A build goes into ``build/docs-site/<digest>/`` only when ``mkdocs build --strict``
  succeeded and wrote no ``WARNING`` (it is built beside that directory, then renamed into
  place), so a failed or half-written build is never reused.
* A lock file serialises builders: the second pytest worker waits for the first one's
  build and then reuses it.
* Outside a git checkout (an unpacked sdist) there is no digest; every call builds afresh.

Run it with the project's Python, from anywhere::

    $ python tools/docs_site.py --site-dir site    # the current site, copied into site/
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
#: Where finished builds are kept, one directory per input digest.
CACHE = Path("build") / "docs-site"
#: How many builds to keep; older ones are removed after a new build.
KEEP = 3


class BuildFailed(AssertionError):
    """`mkdocs build --strict` failed or warned; the message holds its output."""


def input_digest(root: Path) -> str | None:
    """The digest of everything the build reads, or ``None`` outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    digest = hashlib.sha256()
    digest.update(f"python {sys.version}\n".encode())
    installed = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
    )
    digest.update("\n".join(installed).encode() + b"\n")
    for name in sorted(set(listed.split(b"\0")) - {b""}):
        path = root / os.fsdecode(name)
        digest.update(name + b"\0")
        try:
            content = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            digest.update(b"-\0")  # deleted from the tree, or a submodule
            continue
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:32]


def build(root: Path, site_dir: Path) -> None:
    """Run ``mkdocs build --strict`` into ``site_dir``; raise `BuildFailed` on any warning."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(  # noqa: S603 - this interpreter's mkdocs, fixed arguments
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0 or "WARNING" in result.stderr:
        raise BuildFailed(result.stderr)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (where the platform has ``fcntl``)."""
    try:
        import fcntl  # noqa: PLC0415 - POSIX only
    except ImportError:  # pragma: no cover - Windows: builders may race, each still correct
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(cache: Path, keep: Path) -> None:
    """Remove all but the newest `KEEP` builds (never ``keep``)."""
    builds = sorted(
        (p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in builds[KEEP:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_site(root: Path = ROOT) -> Path:
    """The built site for the tree as it is now: reused when built before, else built."""
    digest = input_digest(root)
    if digest is None:
        site = Path(tempfile.mkdtemp(prefix="psirf-flow-site-"))
        build(root, site)
        return site
    cache = root / CACHE
    cache.mkdir(parents=True, exist_ok=True)
    site = cache / digest
    with _locked(cache / ".lock"):
        if not site.is_dir():
            partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache))
            try:
                build(root, partial)
                partial.rename(site)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
            _prune(cache, site)
    return site


def main(argv: list[str] | None = None) -> int:
    """Copy the current site into ``--site-dir`` (building it first when needed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-dir", type=Path, default=Path("site"))
    args = parser.parse_args(argv)
    try:
        site = current_site(ROOT)
    except BuildFailed as failed:
        sys.stderr.write(str(failed))
        sys.stderr.write("mkdocs build --strict failed or warned\n")
        return 1
    target: Path = args.site_dir
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(site, target)
    print(f"site for this tree copied from {site} into {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
