"""``TransitionSpec.collects``: a step fired several times keeps every id it was given.

Used by the intake for each referral body, each regulator notification step and each
thematic review (psirf-rules §3, §2); checked when a definition is built.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from psirf_flow import Actor, Command, DefinitionError, Role
from psirf_flow.decide import decide, decide_open
from psirf_flow.workflows import (
    SAME_STATE,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)
from psirf_flow.workflows.diagram import to_markdown_table
from psirf_flow.workflows.spec import collected


PSS = Actor("pss-1", [Role.PATIENT_SAFETY_SPECIALIST], "RX1")
NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _definition(
    *, collects: tuple[tuple[str, str], ...], fields: tuple[FieldSpec, ...]
) -> WorkflowDefinition:
    return define(
        name="tally",
        version="1",
        family="test",
        title="Tally",
        states=("open", "done"),
        initial="open",
        final_states=("done",),
        opening=OpeningSpec(roles=(Role.PATIENT_SAFETY_SPECIALIST,)),
        transitions=(
            TransitionSpec(
                trigger="add",
                sources=("open",),
                dest=SAME_STATE,
                roles=(Role.PATIENT_SAFETY_SPECIALIST,),
                fields=fields,
                collects=collects,
            ),
            TransitionSpec(
                trigger="finish",
                sources=("open",),
                dest="done",
                roles=(Role.PATIENT_SAFETY_SPECIALIST,),
            ),
        ),
    )


ITEM = FieldSpec("item", FieldKind.IDENTIFIER)


def test_each_value_is_kept_once_and_sorted() -> None:
    """Values given one by one end up in the list fact, sorted, without duplicates."""
    definition = _definition(collects=(("item", "items"),), fields=(ITEM,))
    case = decide_open(
        definition,
        case_id="C-1",
        organisation="RX1",
        command=Command(trigger="open", actor=PSS),
        now=NOW,
    ).case
    seen: list[object] = []
    for item in ("b", "a", "b", None):
        payload = {} if item is None else {"item": item}
        case = decide(definition, case, Command("add", PSS, payload), now=NOW).case
        seen.append(case.facts.get("items"))

    assert seen == [("b",), ("a", "b"), ("a", "b"), ("a", "b")]
    assert case.facts["item"] == "b"


@pytest.mark.parametrize(
    ("collects", "fields", "problem"),
    [
        pytest.param(
            (("count", "counts"),),
            (FieldSpec("count", FieldKind.COUNT),),
            "collects 'count', which is not an identifier field",
            id="not-an-identifier",
        ),
        pytest.param(
            (("missing", "items"),),
            (ITEM,),
            "collects 'missing', which is not an identifier field",
            id="undeclared-field",
        ),
        pytest.param(
            (("item", "item"),),
            (ITEM,),
            "the list fact 'item' is also set another way",
            id="list-fact-is-a-field",
        ),
    ],
)
def test_bad_collects_are_refused(
    collects: tuple[tuple[str, str], ...], fields: tuple[FieldSpec, ...], problem: str
) -> None:
    """A collects entry must name an identifier field and a list fact set no other way."""
    with pytest.raises(DefinitionError) as error:
        _definition(collects=collects, fields=fields)

    assert any(problem in p for p in error.value.problems), error.value.problems


def test_pure_helper_ignores_values_not_given() -> None:
    """Without the field in the payload nothing is collected."""
    spec = TransitionSpec(
        trigger="add",
        sources=("open",),
        dest="open",
        roles=(Role.PATIENT_SAFETY_SPECIALIST,),
        fields=(ITEM,),
        collects=(("item", "items"),),
    )

    assert collected(spec, {"items": ("a",)}, {}) == {}
    assert collected(spec, {"items": ("a",)}, {"item": "c"}) == {"items": ("a", "c")}
    assert collected(spec, {}, {"item": "c"}) == {"items": ("c",)}


def test_reference_table_says_what_is_collected() -> None:
    """The generated reference table names the list fact."""
    definition = _definition(collects=(("item", "items"),), fields=(ITEM,))

    assert "adds `item` to the list `items`" in to_markdown_table(definition)
