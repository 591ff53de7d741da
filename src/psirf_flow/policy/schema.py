"""The JSON Schema of the plan format, generated from the plan records (never written by hand).

Editors that validate TOML against a JSON Schema (Taplo, and the Even Better TOML extension
built on it) use it to check and complete a plan file as it is written. It is written in
draft 4 of JSON Schema, the newest Taplo reads. It is published as
``docs/reference/plan.schema.json`` and printed by ``psirf-flow plan schema``; a test keeps
the published file equal to [`plan_schema`][psirf_flow.policy.schema.plan_schema].

How it is generated, so that a setting added to a plan record appears on its own:

* every attrs record becomes an object in ``definitions`` whose properties are its fields
  (`attrs.fields`, types from `typing.get_type_hints`), with the record's
  docstring as its description and each attribute's docstring line as the property's;
  fields without a default are ``required``; unknown keys are refused
  (``additionalProperties: false``), as the loader refuses them;
* enumerations become ``enum`` lists of their values; text, whole numbers and flags their
  JSON types; ``date`` a string of ``format: date`` (TOML dates reach editors as text);
  ``tuple[X, ...]`` an array; ``Mapping[str, X]`` an object of ``X``; ``X | None`` is ``X``
  left out of ``required``;
* a condition (the loader's own structuring hook,
  [`psirf_flow.policy.conditions`][psirf_flow.policy.conditions]) becomes the recursive
  ``Condition`` definition: ``all``, ``any``, ``not`` or a fact test with exactly one test from
  [`Comparison`][psirf_flow.policy.conditions.Comparison].

Defaults that are plain values are shown as ``default``. The schema checks the shape of a
file; cross-field rules (a default response among the allowed ones, references that
exist) remain the loader's and ``psirf-flow plan check``'s.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from datetime import date, datetime, time
from enum import Enum
from types import UnionType
from typing import Any, Final

import attrs

from psirf_flow.policy._convert import CONVERTER
from psirf_flow.policy.conditions import AllOf, AnyOf, Comparison, FactTest, Not
from psirf_flow.policy.facts import FACTS
from psirf_flow.policy.plan import DECIDER_ROLES, Decider, Plan


__all__ = ["SCHEMA_ID", "plan_schema", "plan_schema_text"]

SCHEMA_ID: Final = "psirf-flow/plan.schema.json"
"""The schema's ``$id``: its place in the documentation."""
_DRAFT: Final = "http://json-schema.org/draft-04/schema#"
"""Draft 4, the newest draft Taplo (and so Even Better TOML) reads."""
_CONDITION_TYPES: Final = frozenset({AllOf, AnyOf, Not, FactTest})
_ATTRIBUTE_LINE: Final = re.compile(r"^(\s+)(\w+): (.*)$")

_TEST_HELP: Final[Mapping[Comparison, str]] = {
    Comparison.IS: "The fact equals this value (true/false, a code, a harm level, a number).",
    Comparison.IN: "The fact is one of these codes or harm levels (a set fact: shares any).",
    Comparison.INCLUDES: "A set fact (categories, patient_groups) has this one code.",
    Comparison.AT_LEAST: "A harm this severe or more; or a number, duration or time this or more.",
    Comparison.PRESENT: "The fact is given (true) or not given (false).",
    Comparison.AT_MOST: "A number, duration or time this value or less.",
    Comparison.MORE_THAN: "A number, duration or time greater than this value.",
    Comparison.LESS_THAN: "A number, duration or time less than this value.",
    Comparison.BETWEEN: '[low, high], both included; a time window such as ["22:00", "06:00"] '
    "wraps midnight.",
    Comparison.WITHIN: 'A duration fact this long or shorter, such as "48 hours".',
    Comparison.ON_OR_AFTER: "A date fact on this day or later.",
    Comparison.BEFORE: "A date fact earlier than this day.",
}
"""What each test of a fact test holds, for editors' hover text."""


def plan_schema() -> dict[str, Any]:
    """The JSON Schema (draft 4) of a plan file, generated from `Plan`."""
    builder = _Builder()
    root = builder.record(Plan)
    schema: dict[str, Any] = {
        "$schema": _DRAFT,
        "id": SCHEMA_ID,
        "title": "psirf_flow patient safety incident response plan",
        **root,
        "definitions": dict(sorted(builder.definitions.items())),
    }
    return schema


def plan_schema_text() -> str:
    """`plan_schema` as the JSON text published in the documentation."""
    return json.dumps(plan_schema(), indent=2, ensure_ascii=False) + "\n"


class _Builder:
    def __init__(self) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        name = cls.__name__
        if name not in self.definitions:
            self.definitions[name] = {}  # reserved first: records may refer to themselves
            self.definitions[name] = self.record(cls)
        return {"$ref": f"#/definitions/{name}"}

    def record(self, cls: type) -> dict[str, Any]:
        hints = typing.get_type_hints(cls)
        described = _attribute_docs(cls.__doc__ or "")
        properties: dict[str, Any] = {}
        required: list[str] = []
        for field in attrs.fields(cls):
            prop = dict(self.of(hints[field.name]))
            if "$ref" in prop:  # a $ref's siblings are ignored: wrap it to describe it
                prop = {"allOf": [prop]}
            if field.name in described:
                prop["description"] = described[field.name]
            if field.default is attrs.NOTHING:
                required.append(field.name)
            else:
                default = _default(field.default)
                if default is not None and not ("allOf" in prop and default == {}):
                    prop["default"] = default
            properties[field.name] = prop
        out: dict[str, Any] = {"type": "object"}
        summary = _summary(cls.__doc__ or "")
        if summary:
            out["description"] = summary
        out["properties"] = properties
        if required:
            out["required"] = required
        out["additionalProperties"] = False
        return out

    def of(self, kind: Any) -> dict[str, Any]:
        args = typing.get_args(kind)
        if isinstance(kind, UnionType) or typing.get_origin(kind) is typing.Union:
            members = [a for a in args if a is not type(None)]
            if frozenset(members) == _CONDITION_TYPES:
                return self.condition()
            if len(members) == 1:
                return self.of(members[0])
            return {"anyOf": [self.of(m) for m in members]}
        origin = typing.get_origin(kind)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.of(args[0])}
        if origin in (Mapping, dict) and args[:1] == (str,):
            return {"type": "object", "additionalProperties": self.of(args[1])}
        if isinstance(kind, type):
            return self.simple(kind)
        msg = f"no JSON Schema for {kind!r}"  # a new kind of field: teach the generator
        raise TypeError(msg)

    def simple(self, kind: type) -> dict[str, Any]:
        if issubclass(kind, Enum):
            values = [m.value for m in kind]
            json_type = "string" if all(isinstance(v, str) for v in values) else "integer"
            return {"type": json_type, "enum": values}
        if kind is bool:
            return {"type": "boolean"}
        if kind is int:
            return {"type": "integer"}
        if kind is float:
            return {"type": "number"}
        if kind is str:
            return {"type": "string"}
        if issubclass(kind, date) and not issubclass(kind, datetime):
            return {"type": "string", "format": "date"}
        if kind is Decider:
            # Written as a role's name or as a table (the loader's structure hook).
            roles = {"type": "string", "enum": sorted(r.value for r in DECIDER_ROLES)}
            return {"anyOf": [roles, self.ref(kind)]}
        if attrs.has(kind):
            return self.ref(kind)
        msg = f"no JSON Schema for {kind.__name__}"  # a new kind of field: teach the generator
        raise TypeError(msg)

    def condition(self) -> dict[str, Any]:
        if "Condition" not in self.definitions:
            self.definitions["Condition"] = _condition_schema()
        return {"$ref": "#/definitions/Condition"}


def _condition_schema() -> dict[str, Any]:
    ref = {"$ref": "#/definitions/Condition"}

    def group(key: str, text: str) -> dict[str, Any]:
        return {
            "type": "object",
            "description": text,
            "properties": {key: {"type": "array", "items": ref, "minItems": 1}},
            "required": [key],
            "additionalProperties": False,
        }

    tests = {t.value: {"description": _TEST_HELP[t], **_test_value(t)} for t in Comparison}
    return {
        "description": "A condition over incident facts: all, any, not, or a test of one fact.",
        "anyOf": [
            group("all", "Holds when every one of these holds."),
            group("any", "Holds when at least one of these holds."),
            {
                "type": "object",
                "description": "Holds when this condition does not.",
                "properties": {"not": ref},
                "required": ["not"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "description": "A test of one fact: the fact's name and exactly one test.",
                "properties": {
                    "fact": {
                        "type": "string",
                        "description": "A built-in fact or one the plan declares under "
                        "[facts.<name>]. Built-in: " + ", ".join(sorted(FACTS)) + ".",
                    },
                    **tests,
                },
                "required": ["fact"],
                "minProperties": 2,
                "maxProperties": 2,
                "additionalProperties": False,
            },
        ],
    }


def _test_value(test: Comparison) -> dict[str, Any]:
    scalar = {"type": ["boolean", "number", "string"]}
    if test is Comparison.IN:
        return {"type": "array", "items": {"type": "string"}, "minItems": 1}
    if test is Comparison.BETWEEN:
        return {"type": "array", "items": scalar, "minItems": 2, "maxItems": 2}
    if test is Comparison.PRESENT:
        return {"type": "boolean"}
    return scalar


def _summary(doc: str) -> str:
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ").strip()


def _attribute_docs(doc: str) -> dict[str, str]:
    """The ``Attributes:`` section of a Google-style docstring, one line per attribute."""
    out: dict[str, str] = {}
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes:")
    except StopIteration:
        return out
    indent: int | None = None
    current: str | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        match = _ATTRIBUTE_LINE.match(line)
        width = len(line) - len(line.lstrip())
        if match is not None and (indent is None or width == indent):
            indent = width
            current = match.group(2)
            out[current] = match.group(3).strip()
        elif current is not None and indent is not None and width > indent:
            out[current] += " " + line.strip()
        else:
            break
    return {name: _plain(text) for name, text in out.items()}


def _plain(text: str) -> str:
    """Docstring markup as plain text: cross-references as their names, literals in back-quotes.

    A cross-reference ``[`x.Y`][psirf_flow.x.Y]`` reads ``Y``; a double back-quoted literal
    reads with single back-quotes.
    """
    text = re.sub(r"\[`(?:[\w.]+\.)?(\w+)`\]\[[\w.]+\]", r"\1", text)
    return text.replace("``", "`")


def _default(value: Any) -> Any:
    if isinstance(value, attrs.Factory):  # type: ignore[arg-type]
        if value.takes_self:
            return None
        value = value.factory()
    plain = CONVERTER.unstructure(value)
    return _json(plain)


def _json(value: Any) -> Any:
    """``value`` with dates and times as text, or ``None`` when it holds something else."""
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        items = [_json(v) for v in value]
        return None if None in items else items
    if isinstance(value, Mapping):
        pairs = {str(k): _json(v) for k, v in value.items()}
        return None if None in pairs.values() else pairs
    return None
