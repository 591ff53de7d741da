"""The shared site build (tools/docs_site.py) is reused only for exactly the same inputs.

These tests run the tool on a small git repository with the mkdocs build replaced by a fake
that records each call, so they show when a build is reused and when it is made afresh.
"""

from __future__ import annotations

import importlib.util
import subprocess
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


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=60)  # noqa: S607


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a committed docs page and an ignored build directory."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    (root / ".gitignore").write_text("build/\nsite/\n", encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    return root


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every directory the (fake) mkdocs build was asked to fill, in order."""
    made: list[Path] = []

    def fake_build(root: Path, site_dir: Path) -> None:
        made.append(site_dir)
        site_dir.mkdir(parents=True, exist_ok=True)
        (site_dir / "index.html").write_text(
            (root / "docs" / "index.md").read_text(encoding="utf-8"), encoding="utf-8"
        )

    monkeypatch.setattr(docs_site, "build", fake_build)
    return made


def test_the_same_tree_is_built_once_and_reused(repo: Path, builds: list[Path]) -> None:
    """A second call for an unchanged tree returns the first build without building."""
    first = docs_site.current_site(repo)
    second = docs_site.current_site(repo)

    assert first == second
    assert len(builds) == 1
    assert (first / "index.html").read_text(encoding="utf-8") == "# Home\n"


def test_an_edited_file_builds_afresh(repo: Path, builds: list[Path]) -> None:
    """Changing a tracked file's content gives a new digest and a new build."""
    before = docs_site.current_site(repo)
    (repo / "docs" / "index.md").write_text("# Changed\n", encoding="utf-8")
    after = docs_site.current_site(repo)

    assert after != before
    assert len(builds) == 2
    assert (after / "index.html").read_text(encoding="utf-8") == "# Changed\n"


def test_a_new_untracked_file_builds_afresh(repo: Path, builds: list[Path]) -> None:
    """An untracked (not ignored) file is an input too: a new page may be in the nav."""
    before = docs_site.input_digest(repo)
    (repo / "docs" / "new.md").write_text("# New\n", encoding="utf-8")

    assert docs_site.input_digest(repo) != before


def test_ignored_files_are_not_inputs(repo: Path) -> None:
    """Files git ignores (the build itself, the copied site) do not change the digest."""
    before = docs_site.input_digest(repo)
    (repo / "site").mkdir()
    (repo / "site" / "index.html").write_text("<p>old</p>", encoding="utf-8")

    assert docs_site.input_digest(repo) == before


def test_a_deleted_tracked_file_changes_the_digest(repo: Path) -> None:
    """A tracked file removed from the tree is a different input from the file present."""
    before = docs_site.input_digest(repo)
    (repo / "docs" / "index.md").unlink()

    assert docs_site.input_digest(repo) != before


def test_a_failed_build_is_never_kept(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build that fails leaves nothing behind to be reused, and the next call builds again."""
    calls: list[Path] = []

    def failing(root: Path, site_dir: Path) -> None:
        calls.append(site_dir)
        (site_dir / "index.html").write_text("half", encoding="utf-8")
        raise docs_site.BuildFailed("WARNING - a broken link")

    monkeypatch.setattr(docs_site, "build", failing)

    for _ in range(2):
        with pytest.raises(docs_site.BuildFailed, match="broken link"):
            docs_site.current_site(repo)

    assert len(calls) == 2
    assert [p.name for p in (repo / "build" / "docs-site").iterdir() if p.is_dir()] == []


def test_outside_git_every_call_builds(tmp_path: Path, builds: list[Path]) -> None:
    """Without git's file list there is no digest, so nothing is reused."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")

    assert docs_site.input_digest(tmp_path) is None
    first = docs_site.current_site(tmp_path)
    second = docs_site.current_site(tmp_path)

    assert first != second
    assert len(builds) == 2


def test_only_the_newest_builds_are_kept(repo: Path, builds: list[Path]) -> None:
    """After several edits only the newest few builds remain, the current one among them."""
    for n in range(docs_site.KEEP + 2):
        (repo / "docs" / "index.md").write_text(f"# Version {n}\n", encoding="utf-8")
        current = docs_site.current_site(repo)

    kept = [p for p in (repo / "build" / "docs-site").iterdir() if p.is_dir()]
    assert len(kept) == docs_site.KEEP
    assert current in kept


def test_main_copies_the_site_into_the_site_dir(
    repo: Path, builds: list[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``--site-dir`` receives a copy of the current build, replacing what was there."""
    monkeypatch.setattr(docs_site, "ROOT", repo)
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.html").write_text("old", encoding="utf-8")

    assert docs_site.main(["--site-dir", str(target)]) == 0

    assert sorted(p.name for p in target.iterdir()) == ["index.html"]
