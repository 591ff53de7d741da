"""The plan format's JSON Schema: generated from the records, published, fitting the examples."""

from __future__ import annotations

import json
import tomllib
import typing
from collections.abc import Iterator, Mapping
from datetime import date, time
from pathlib import Path
from typing import Any

import attrs
import pytest

from psirf_flow.policy import Comparison, Plan, dump_plan, load_plan
from psirf_flow.policy.schema import plan_schema, plan_schema_text


ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "docs" / "reference" / "plan.schema.json"
#: Every example plan: the first one beside the examples, and the three under examples/plans
#: (their triage tables, ``*.incidents.toml``, are not plans).
EXAMPLES = sorted(
    [
        *(ROOT / "examples").glob("plan-*.toml"),
        *(
            p
            for p in (ROOT / "examples" / "plans").glob("*.toml")
            if not p.name.endswith(".incidents.toml")
        ),
    ]
)

_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def _is(value: object, name: str) -> bool:
    if isinstance(value, bool) and name in {"integer", "number"}:
        return False
    return isinstance(value, _JSON_TYPES[name])


def schema_errors(  # noqa: PLR0912 - a small validator for the subset generated
    value: object, schema: Mapping[str, Any], root: Mapping[str, Any], at: str = "$"
) -> list[str]:
    """Where ``value`` breaks ``schema``: the subset of draft 7 the generator writes."""
    errors: list[str] = []
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/definitions/")
        errors += schema_errors(value, root["definitions"][name], root, at)
    for sub in schema.get("allOf", ()):
        errors += schema_errors(value, sub, root, at)
    if "anyOf" in schema and all(schema_errors(value, s, root, at) for s in schema["anyOf"]):
        errors.append(f"{at}: fits none of the alternatives")
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, n) for n in names):
            return [*errors, f"{at}: not {schema['type']}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: not one of {schema['enum']}")
    if schema.get("format") == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            errors.append(f"{at}: not a date")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [f"{at}.{k}: required" for k in schema.get("required", ()) if k not in value]
        if not schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", 10**6):
            errors.append(f"{at}: wrong number of keys")
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], root, f"{at}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{at}.{key}: not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(item, schema["additionalProperties"], root, f"{at}.{key}")
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 10**6):
            errors.append(f"{at}: wrong number of items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], root, f"{at}[{i}]")
    return errors


def as_editors_see_it(value: object) -> object:
    """TOML data as an editor validates it: dates and times as text."""
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_editors_see_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_editors_see_it(v) for v in value]
    return value


def records(cls: type, seen: set[type] | None = None) -> Iterator[type]:
    """Every attrs record reachable from ``cls``'s fields (the plan format's tables)."""
    seen = set() if seen is None else seen
    if cls in seen or not attrs.has(cls):
        return
    seen.add(cls)
    yield cls
    for kind in typing.get_type_hints(cls).values():
        stack = [kind]
        while stack:
            current = stack.pop()
            stack += typing.get_args(current)
            if isinstance(current, type) and attrs.has(current):
                yield from records(current, seen)


SCHEMA = plan_schema()


class TestGeneratedSchema:
    """The schema follows the records, so new settings appear without editing it."""

    def test_published_file_is_the_generated_one(self) -> None:
        """docs/reference/plan.schema.json equals the generated schema (regenerate it if not)."""
        assert PUBLISHED.read_text(encoding="utf-8") == plan_schema_text()

    @pytest.mark.parametrize("record", list(records(Plan)), ids=lambda c: c.__name__)
    def test_every_setting_of_every_table_is_in_the_schema(self, record: type) -> None:
        """Each record's fields are its table's properties, the required ones required."""
        if record.__name__ in {"AllOf", "AnyOf", "Not", "FactTest", "Duration"}:
            return  # conditions have their own structuring hook and definition
        table = SCHEMA if record is Plan else SCHEMA["definitions"][record.__name__]
        fields = attrs.fields(record)
        assert list(table["properties"]) == [f.name for f in fields]
        assert table.get("required", []) == [f.name for f in fields if f.default is attrs.NOTHING]
        assert table["additionalProperties"] is False

    def test_conditions_offer_every_test(self) -> None:
        """The fact test lists every comparison, and groups recurse through Condition."""
        fact_test = SCHEMA["definitions"]["Condition"]["anyOf"][3]
        assert set(fact_test["properties"]) == {"fact", *(c.value for c in Comparison)}
        assert all("description" in p for p in fact_test["properties"].values())

    def test_enums_and_dates(self) -> None:
        """Enumerations list their values; dates are text of format date; docs become hover text."""
        header = SCHEMA["definitions"]["PlanHeader"]["properties"]
        assert header["status"]["enum"] == [
            "draft",
            "board_approved",
            "icb_agreed_provisionally",
            "icb_agreed",
        ]
        assert header["effective_from"] == {
            "type": "string",
            "format": "date",
            "description": "First day the plan applies.",
        }
        assert SCHEMA["properties"]["plan"]["allOf"] == [{"$ref": "#/definitions/PlanHeader"}]


class TestExamplesFitTheSchema:
    """The shipped example plans validate against the schema; broken ones do not."""

    @pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
    def test_example_plan_validates(self, example: Path) -> None:
        """The example, as an editor sees it, breaks nothing in the schema."""
        data = as_editors_see_it(tomllib.loads(example.read_text(encoding="utf-8")))
        assert schema_errors(data, SCHEMA, SCHEMA) == []

    @pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
    def test_dumped_plan_validates(self, example: Path) -> None:
        """A plan written back by dump_plan fits the schema too."""
        plan = load_plan(example.read_text(encoding="utf-8"))
        data = as_editors_see_it(tomllib.loads(dump_plan(plan)))
        assert schema_errors(data, SCHEMA, SCHEMA) == []

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            (lambda d: d["plan"].pop("id"), "$.plan.id: required"),
            (lambda d: d["plan"].update(status="approved"), "$.plan.status: not one of"),
            (lambda d: d["plan"].update(review_date="soon"), "$.plan.review_date: not a date"),
            (lambda d: d.update(priority=[]), "$.priority: not allowed"),
            (
                lambda d: d["priorities"][0].update(criteria={"fact": "died"}),
                "$.priorities[0].criteria: fits none",
            ),
            (
                lambda d: d["priorities"][0].update(
                    criteria={"all": [{"fact": "x", "is": True, "in": ["a"]}]}
                ),
                "$.priorities[0].criteria: fits none",
            ),
            (lambda d: d["reserve_capacity"].update(extra_psiis=True), "extra_psiis: not integer"),
            (
                lambda d: d["priorities"][0].update(criteria={"all": []}),
                "$.priorities[0].criteria: fits none",
            ),
        ],
        ids=[
            "missing",
            "enum",
            "date",
            "unknown",
            "no-test",
            "two-tests",
            "bool-for-int",
            "empty-all",
        ],
    )
    def test_broken_plan_does_not_validate(self, change: Any, where: str) -> None:
        """Each kind of mistake the schema can see is seen."""
        data = as_editors_see_it(tomllib.loads(EXAMPLES[0].read_text(encoding="utf-8")))
        assert isinstance(data, dict)
        change(data)
        errors = schema_errors(data, SCHEMA, SCHEMA)
        assert any(e.startswith(where) or where in e for e in errors), errors


def test_schema_directives_point_at_the_published_schema() -> None:
    """An example's ``#:schema`` first line names the published file, relative to the example."""
    directed = [e for e in EXAMPLES if e.read_text(encoding="utf-8").startswith("#:schema ")]
    assert directed
    for example in directed:
        first = example.read_text(encoding="utf-8").splitlines()[0]
        target = (example.parent / first.removeprefix("#:schema ").strip()).resolve()
        assert target == PUBLISHED.resolve()


def test_schema_is_valid_json_with_a_draft() -> None:
    """The published file is JSON naming draft 4 (the newest Taplo reads) and its own id."""
    published = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert published["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert published["id"] == "psirf-flow/plan.schema.json"
    draft_6_and_later = {"$id", "examples", "const", "contains", "propertyNames", "if"}
    assert not draft_6_and_later & set(_keywords(published))


def _keywords(schema: object) -> Iterator[str]:
    """Every keyword used anywhere in ``schema`` (property names excluded)."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            if key == "properties":
                for sub in value.values():
                    yield from _keywords(sub)
            else:
                yield from _keywords(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _keywords(item)
