"""The generated typed module matches the built-in definitions and lets mypy catch misspellings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import get_args

import pytest
from mypy import api as mypy_api

from psirf_flow import typed
from psirf_flow.workflows import DefinitionRegistry, FieldKind, WorkflowDefinition


ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_types", ROOT / "tools" / "gen_types.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_types", module)
    spec.loader.exec_module(module)
    return module


GEN = _generator()
NEWEST = [
    definition
    for name in sorted({d.name for d in DefinitionRegistry.default()})
    if (definition := DefinitionRegistry.default().latest(name)) is not None
]


def test_committed_module_is_current() -> None:
    """Regenerating the module from the default registry gives the committed text exactly."""
    committed = (ROOT / "src" / "psirf_flow" / "typed.py").read_text(encoding="utf-8")
    assert GEN.render() == committed


@pytest.mark.parametrize("definition", NEWEST, ids=lambda d: d.name)
def test_trigger_literal_lists_every_trigger(definition: WorkflowDefinition) -> None:
    """Each workflow's ``<Name>Trigger`` Literal holds exactly its trigger names."""
    alias = getattr(typed, f"{GEN.camel(definition.name)}Trigger")
    assert set(get_args(alias)) == set(definition.transitions)


@pytest.mark.parametrize("definition", NEWEST, ids=lambda d: d.name)
def test_payloads_split_required_and_optional_fields(definition: WorkflowDefinition) -> None:
    """Every payload TypedDict has the trigger's fields, required ones in ``__required_keys__``."""
    prefix = GEN.camel(definition.name)
    shapes = [(f"{prefix}OpenPayload", definition.opening.fields)] + [
        (f"{prefix}{GEN.camel(trigger)}Payload", spec.fields)
        for trigger, spec in definition.transitions.items()
    ]
    for name, fields in shapes:
        if not fields:
            assert not hasattr(typed, name)
            continue
        payload = getattr(typed, name)
        assert payload.__required_keys__ == {f.name for f in fields if f.required}, name
        assert payload.__optional_keys__ == {f.name for f in fields if not f.required}, name
        for field in fields:
            if field.kind is FieldKind.CHOICE:
                hint = payload.__annotations__[field.name]
                inner = get_args(hint)[0] if field.required else hint
                assert get_args(inner) == field.choices, (name, field.name)


@pytest.mark.parametrize(
    ("kind", "python_type"),
    [
        (FieldKind.IDENTIFIER, "str"),
        (FieldKind.IDENTIFIERS, "Sequence[str]"),
        (FieldKind.FLAG, "bool"),
        (FieldKind.COUNT, "int"),
        (FieldKind.DATE, "date | str"),
        (FieldKind.REFERENCE, "str"),
        (FieldKind.TEXT, "str"),
        (FieldKind.CASE_REF, "str"),
        (FieldKind.DIGEST, "str"),
    ],
)
def test_kind_types(kind: FieldKind, python_type: str) -> None:
    """Each non-choice field kind maps to the Python type the payload checker accepts."""
    assert GEN._KIND_TYPES[kind] == python_type


_GOOD = """
from datetime import date
from psirf_flow.typed import DutyOfCandourOpenPayload, PsiiTrigger

trigger: PsiiTrigger = "assign_lead"
payload: DutyOfCandourOpenPayload = {"incident_ids": ["inc-1"], "aware_on": date(2026, 1, 5)}
"""

_BAD = """
from psirf_flow.typed import DutyOfCandourOpenPayload, PsiiTrigger

trigger: PsiiTrigger = "asign_lead"
payload: DutyOfCandourOpenPayload = {"incident_ids": ["inc-1"], "awares_on": "2026-01-05"}
"""


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The error lines of mypy --strict for the correct and the misspelt snippet, by file.

    Both snippets are checked in one mypy run (each run type-checks the whole package and
    its dependencies first, which is most of its time); errors are told apart by file name.
    """
    folder = tmp_path_factory.mktemp("mypy")
    (folder / "good.py").write_text(_GOOD, encoding="utf-8")
    (folder / "host.py").write_text(_BAD, encoding="utf-8")
    out, _err, status = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(folder / ".mypy_cache"),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(folder / "good.py"),
            str(folder / "host.py"),
        ]
    )
    errors = [line for line in out.splitlines() if ": error: " in line]
    by_file: dict[str, list[str]] = {"good.py": [], "host.py": [], "elsewhere": []}
    for line in errors:
        name = Path(line.split(":", 1)[0]).name
        by_file[name if name in by_file else "elsewhere"].append(line)
    assert status == (1 if errors else 0), out
    assert by_file["elsewhere"] == [], out
    return by_file


def test_mypy_accepts_correct_host_code(mypy_errors: dict[str, list[str]]) -> None:
    """A correct trigger name and payload type-check cleanly."""
    assert mypy_errors["good.py"] == []


def test_mypy_reports_misspelt_trigger_and_field(mypy_errors: dict[str, list[str]]) -> None:
    """A misspelt trigger and a misspelt payload field are both type errors."""
    errors = mypy_errors["host.py"]
    assert len(errors) == 2, errors
    assert "host.py:4: error:" in errors[0]
    assert "Literal['asign_lead']" in errors[0]
    assert errors[0].endswith("[assignment]")
    assert "host.py:5: error:" in errors[1]
    assert 'Extra key "awares_on"' in errors[1]
    assert errors[1].endswith("[typeddict-unknown-key]")


def test_check_mode_passes_on_the_committed_module() -> None:
    """``gen_types.py --check`` exits 0 when the committed module is current, writing nothing."""
    target = ROOT / GEN.TARGET
    before = target.stat().st_mtime_ns
    assert GEN.main(["--check"]) == 0
    assert target.stat().st_mtime_ns == before
