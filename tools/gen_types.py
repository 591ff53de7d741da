"""Write ``src/psirf_flow/typed.py``: typed trigger names and payloads of the built-in workflows.

For the newest version of every workflow in ``DefinitionRegistry.default()``, the module
gets a ``Literal`` alias of its trigger names (``PsiiTrigger``), a ``TypedDict`` of its
opening fields (``PsiiOpenPayload``) and one ``TypedDict`` per trigger that accepts payload
fields (``PsiiAssignLeadPayload``), so a type checker catches a misspelt trigger or field in
host code. ``tests/core/test_typed.py`` regenerates the text and compares it with the
committed module, so the types always match the definitions.

Usage:

```
python tools/gen_types.py [--check]
```
"""

from __future__ import annotations

import argparse
import keyword
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from psirf_flow.workflows import DefinitionRegistry, WorkflowDefinition
from psirf_flow.workflows.spec import FieldKind, FieldSpec


TARGET = Path("src") / "psirf_flow" / "typed.py"
"""Where the generated module lives, relative to the repository root."""

_KIND_TYPES = {
    FieldKind.IDENTIFIER: "str",
    FieldKind.IDENTIFIERS: "Sequence[str]",
    FieldKind.FLAG: "bool",
    FieldKind.COUNT: "int",
    FieldKind.DATE: "date | str",
    FieldKind.REFERENCE: "str",
    FieldKind.TEXT: "str",
    FieldKind.CASE_REF: "str",
    FieldKind.DIGEST: "str",
}
"""The Python type a payload value of each kind is given as (what the payload checker accepts)."""

_HEADER = '''\
"""Typed trigger names and payloads of the built-in workflows (generated: do not edit).

Written by ``tools/gen_types.py`` from
[`DefinitionRegistry.default`][psirf_flow.workflows.DefinitionRegistry.default] (the newest
version of each workflow). For each workflow ``<Name>Trigger`` is a ``Literal``
of its trigger names, ``<Name>OpenPayload`` the payload that opens a case and
``<Name><Trigger>Payload`` the payload of each trigger that takes fields: identifiers,
references and free text are ``str``, identifier lists ``Sequence[str]``, dates a
``datetime.date`` or ``YYYY-MM-DD`` text, flags ``bool``, counts ``int`` and choices a
``Literal`` of their codes. Annotate host code with them so a type checker catches a
misspelt trigger or field; at run time they are plain ``str`` and ``dict`` values. The
annotations are evaluated (no postponed annotations), so ``__required_keys__`` is exact.
"""

from collections.abc import Sequence
from datetime import date
from typing import Literal, Required, TypedDict


'''


def camel(name: str) -> str:
    """``after_action_review`` as ``AfterActionReview``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _value_type(spec: FieldSpec) -> str:
    if spec.kind is FieldKind.CHOICE:
        return "Literal[" + ", ".join(f'"{choice}"' for choice in spec.choices) + "]"
    return _KIND_TYPES[spec.kind]


def _field_lines(spec: FieldSpec) -> Iterator[str]:
    if not spec.name.isidentifier() or keyword.iskeyword(spec.name):
        raise ValueError(f"field {spec.name!r} is not a Python identifier")
    value = _value_type(spec)
    if spec.required:
        value = f"Required[{value}]"
    line = f"    {spec.name}: {value}"
    if len(line) <= 100:
        yield line
        return
    # Too long for one line: split a choice Literal one code a line, as ruff formats it.
    indent = "        " if spec.required else "    "
    if spec.required:
        yield f"    {spec.name}: Required["
        yield f"{indent}Literal["
    else:
        yield f"    {spec.name}: Literal["
    yield from (f'{indent}    "{choice}",' for choice in spec.choices)
    yield f"{indent}]"
    if spec.required:
        yield "    ]"


def _typed_dict(name: str, summary: str, fields: Iterable[FieldSpec]) -> list[str]:
    lines = ["", "", f"class {name}(TypedDict, total=False):", f'    """{summary}"""', ""]
    for spec in fields:
        lines.extend(_field_lines(spec))
    return lines


def _literal(name: str, values: Iterable[str]) -> list[str]:
    values = list(values)
    if len(values) == 1:
        return [f'{name} = Literal["{values[0]}"]']
    return [f"{name} = Literal[", *(f'    "{value}",' for value in values), "]"]


def _workflow(definition: WorkflowDefinition) -> tuple[list[str], list[str]]:
    prefix = camel(definition.name)
    names = [f"{prefix}Trigger"]
    lines = ["", ""]
    lines += _literal(f"{prefix}Trigger", sorted(definition.transitions))
    lines.append(f'"""The triggers of ``{definition.name}`` version {definition.version}."""')
    if definition.opening.fields:
        names.append(f"{prefix}OpenPayload")
        lines += _typed_dict(
            f"{prefix}OpenPayload",
            f"The payload that opens a ``{definition.name}`` case.",
            definition.opening.fields,
        )
    for trigger in sorted(definition.transitions):
        spec = definition.transitions[trigger]
        if spec.fields:
            names.append(f"{prefix}{camel(trigger)}Payload")
            lines += _typed_dict(
                names[-1], f"The payload of ``{definition.name}`` ``{trigger}``.", spec.fields
            )
    return names, lines


def render(registry: DefinitionRegistry | None = None) -> str:
    """The text of the generated module for ``registry`` (the default registry when ``None``)."""
    registry = registry if registry is not None else DefinitionRegistry.default()
    newest = sorted({definition.name for definition in registry})
    exported: list[str] = []
    body: list[str] = []
    for name in newest:
        definition = registry.latest(name)
        assert definition is not None
        names, lines = _workflow(definition)
        exported += names
        body += lines
    if len(set(exported)) != len(exported):
        raise ValueError("two generated names collide")
    return (
        _HEADER
        + "\n".join(["__all__ = [", *(f'    "{n}",' for n in sorted(exported)), "]", *body])
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the generated module; 1 when it is out of date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the module is stale")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    target = root / TARGET
    text = render()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python tools/gen_types.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
