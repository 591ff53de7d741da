"""Hypothesis strategies for people, payloads and commands of any workflow definition.

Every strategy reads the definition it is given, so a trust can point them at its own
[`WorkflowDefinition`][psirf_flow.workflows.spec.WorkflowDefinition] as well as at the built-in
ones. Valid values are valid by construction (no filtering beyond the rare NHS-number-shaped
identifier), so the strategies stay fast. Invalid payloads are invalid by construction too:
each one has at least one unknown field, missing required field or badly typed value.

Free text deliberately includes patient-like names and NHS-number-like strings: a ``TEXT``
field must accept them and keep only their salted digest, while an identifier field must
refuse them.

Examples:
    ```python
    from hypothesis import given
    from psirf_flow.testing.strategies import payloads_for
    from psirf_flow.workflows import PSII

    @given(payloads_for(PSII, "approve"))
    def test_approve_payloads(payload):
        assert "report_ref" in payload
    ```
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Final

from psirf_flow._extras import missing


try:
    from hypothesis import strategies as st
except ImportError as _error:
    raise missing("hypothesis", needed_by="the property-test kit") from _error


from psirf_flow.domain import Actor, Command, Role, check_identifier
from psirf_flow.workflows.spec import FieldKind, FieldSpec, WorkflowDefinition


__all__ = [
    "OPEN",
    "PATIENT_LIKE_TEXT",
    "actors",
    "commands",
    "field_values",
    "free_text",
    "identifiers",
    "invalid_payloads",
    "invalid_payloads_for",
    "nhs_numbers",
    "opening_payloads",
    "organisations",
    "payloads",
    "payloads_for",
    "role_sets",
    "roles",
]

OPEN: Final = "open"
"""The pseudo-trigger that names a workflow's opening in `payloads_for`."""

PATIENT_LIKE_TEXT: Final = (
    "Mrs Jane Smith, DOB 01/02/1950",
    "Patient: John O'Neill (NHS 943 476 5919)",
    "9434765919",
    "943-476-5919",
    "Ward 7 bed 3, Mr A. Khan, 12 Acacia Avenue",
    "Family said: 'we were never told'",
    "",
)
"""Free text that looks like patient-identifiable data; ``TEXT`` fields must hash it."""

_FIRST: Final = string.ascii_letters + string.digits
_REST: Final = _FIRST + "._:@/#+-"
_UNKNOWN_FIELDS: Final = ("patient_name", "nhs_number", "free_text", "date_of_birth", "x")


def identifiers(prefix: str = "") -> st.SearchStrategy[str]:
    """Opaque identifiers that [`check_identifier`][psirf_flow.domain.check_identifier] accepts.

    Args:
        prefix: Put in front of every identifier (must itself be a valid start, e.g.
            ``"INC-"``); handy for telling kinds of id apart in failure reports.
    """
    head = st.just(prefix) if prefix else st.sampled_from(_FIRST)
    tail = st.text(alphabet=_REST, max_size=12)
    return st.builds(lambda a, b: (a + b)[:128], head, tail).filter(
        lambda value: check_identifier(value) is None
    )


def organisations() -> st.SearchStrategy[str]:
    """Organisation codes shaped like NHS ODS codes (``R`` and two or three more)."""
    return st.text(alphabet=string.ascii_uppercase + string.digits, min_size=2, max_size=3).map(
        lambda rest: "R" + rest
    )


def roles() -> st.SearchStrategy[Role]:
    """Any one [`Role`][psirf_flow.domain.Role]."""
    return st.sampled_from(list(Role))


def role_sets(*, min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[frozenset[Role]]:
    """Sets of roles, possibly empty (a person may hold no role in the system)."""
    return st.frozensets(roles(), min_size=min_size, max_size=max_size)


def actors(
    *,
    organisation: str | st.SearchStrategy[str] | None = None,
    roles: Iterable[Role] | st.SearchStrategy[frozenset[Role]] | None = None,
    ids: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Actor]:
    """Actors: an opaque id, a set of roles and an organisation.

    Args:
        organisation: A fixed organisation, a strategy for one, or ``None`` for
            [`organisations`][psirf_flow.testing.strategies.organisations].
        roles: A fixed collection of roles, a strategy for role sets, or ``None`` for
            [`role_sets`][psirf_flow.testing.strategies.role_sets].
        ids: A strategy for the person's id;
            [`identifiers`][psirf_flow.testing.strategies.identifiers] by default.
    """
    org = (
        organisations()
        if organisation is None
        else organisation
        if isinstance(organisation, st.SearchStrategy)
        else st.just(organisation)
    )
    held = (
        role_sets()
        if roles is None
        else roles
        if isinstance(roles, st.SearchStrategy)
        else st.just(frozenset(roles))
    )
    return st.builds(
        Actor, id=ids if ids is not None else identifiers(), roles=held, organisation=org
    )


_any_actors: Final = actors


def nhs_numbers(*, formatted: bool | None = None) -> st.SearchStrategy[str]:
    """Valid NHS numbers (modulus 11 check digit), plain or in the usual 3-3-4 grouping.

    Args:
        formatted: ``True`` for ``"943 476 5919"`` style, ``False`` for ten plain digits,
            ``None`` for either.
    """

    def build(digits: list[int], style: str) -> str:
        total = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True))
        if (11 - total % 11) % 11 == 10:
            # No NHS number has these nine digits; moving the ninth (weight 2) fixes that.
            total += 2 * ((digits[8] + 1) % 10 - digits[8])
            digits = [*digits[:8], (digits[8] + 1) % 10]
        check = (11 - total % 11) % 11
        text = "".join(map(str, [*digits, check]))
        if style == "plain":
            return text
        sep = " " if style == "spaced" else "-"
        return f"{text[:3]}{sep}{text[3:6]}{sep}{text[6:]}"

    styles = ["plain"] if formatted is False else ["spaced", "hyphens"] if formatted else None
    style = st.sampled_from(styles or ["plain", "spaced", "hyphens"])
    digits = st.lists(st.integers(0, 9), min_size=9, max_size=9)
    return st.builds(build, digits, style)


def free_text() -> st.SearchStrategy[str]:
    """Free text: arbitrary Unicode, patient-like names and NHS-number-like strings."""
    return st.one_of(st.text(max_size=40), st.sampled_from(PATIENT_LIKE_TEXT), nhs_numbers())


def field_values(
    spec: FieldSpec, *, ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[object]:
    """Values that ``spec`` accepts.

    Args:
        spec: The field.
        ids: Where identifiers come from ([`identifiers`][psirf_flow.testing.strategies.identifiers]
            by default). Passing a small pool, e.g. ``st.sampled_from(["staff-1", "staff-2"])``,
            makes guards that compare people (independence, "is the lead") both pass and fail.
    """
    some_ids = ids if ids is not None else identifiers()
    match spec.kind:
        case FieldKind.IDENTIFIER | FieldKind.REFERENCE | FieldKind.CASE_REF:
            return some_ids
        case FieldKind.IDENTIFIERS:
            return st.lists(some_ids, max_size=4)
        case FieldKind.CHOICE:
            return st.sampled_from(spec.choices)
        case FieldKind.FLAG:
            return st.booleans()
        case FieldKind.COUNT:
            return st.integers(min_value=0, max_value=10_000)
        case FieldKind.DATE:
            days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
            return st.one_of(days.map(date.isoformat), days)
        case FieldKind.TEXT:
            return free_text()
        case FieldKind.DIGEST:
            return st.binary(min_size=1, max_size=16).map(lambda b: hashlib.sha256(b).hexdigest())


def payloads(
    fields: Sequence[FieldSpec], *, ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[dict[str, object]]:
    """Valid payloads for ``fields``: every required field, and any optional ones.

    Args:
        fields: The declared fields of a trigger or an opening.
        ids: Where identifiers come from (see
            [`field_values`][psirf_flow.testing.strategies.field_values]).
    """
    required = {f.name: field_values(f, ids=ids) for f in fields if f.required}
    optional = {f.name: field_values(f, ids=ids) for f in fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


def _fields(definition: WorkflowDefinition, trigger: str) -> tuple[FieldSpec, ...]:
    if trigger == OPEN:
        return definition.opening.fields
    spec = definition.transition(trigger)
    if spec is None:
        msg = f"{definition.key} has no trigger {trigger!r}"
        raise ValueError(msg)
    return spec.fields


def payloads_for(
    definition: WorkflowDefinition, trigger: str, *, ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[dict[str, object]]:
    """Valid payloads for one trigger of ``definition`` (or `OPEN` for the opening).

    Raises:
        ValueError: If the definition has no such trigger.
    """
    return payloads(_fields(definition, trigger), ids=ids)


def opening_payloads(
    definition: WorkflowDefinition, *, ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[dict[str, object]]:
    """Valid payloads for opening a case of ``definition``."""
    return payloads(definition.opening.fields, ids=ids)


def _wrong_values(spec: FieldSpec) -> st.SearchStrategy[object]:
    """Values ``spec`` refuses (``None`` is not one: it means "not given")."""
    names = st.sampled_from(["Jane Smith", "", " lead", "a b"])
    wrong: dict[FieldKind, st.SearchStrategy[object]] = {
        FieldKind.IDENTIFIER: st.one_of(st.integers(), names, nhs_numbers()),
        FieldKind.REFERENCE: st.one_of(st.integers(), names, nhs_numbers()),
        FieldKind.CASE_REF: st.one_of(st.integers(), names, nhs_numbers()),
        FieldKind.IDENTIFIERS: st.one_of(
            identifiers(), st.integers(), st.lists(names, min_size=1, max_size=2)
        ),
        FieldKind.CHOICE: st.one_of(
            st.integers(), st.text(max_size=8).filter(lambda v: v not in spec.choices)
        ),
        FieldKind.FLAG: st.one_of(st.integers(), st.sampled_from(["yes", "true", ""])),
        FieldKind.COUNT: st.one_of(
            st.integers(max_value=-1), st.booleans(), st.sampled_from(["3", 2.5])
        ),
        FieldKind.DATE: st.one_of(
            st.integers(), st.sampled_from(["2026-13-01", "yesterday", "05/01/2026"])
        ),
        FieldKind.DIGEST: st.one_of(
            st.integers(), st.sampled_from(["", "ab" * 31, "zz" * 32, "sha256:" + "ab" * 32])
        ),
        FieldKind.TEXT: st.one_of(
            st.integers(),
            st.lists(st.text(max_size=3), max_size=2),
            # Lone surrogates: a str, but not text that can be encoded (or hashed).
            st.sampled_from(["\ud800", "note \udfff"]),
        ),
    }
    return wrong[spec.kind]


def invalid_payloads(
    fields: Sequence[FieldSpec], *, ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[dict[str, object]]:
    """Payloads that ``fields`` refuse: an unknown field, a missing required one or a bad value.

    Each payload starts from a valid one and breaks it in one way, so the payload check,
    not something else, is what refuses it.
    """
    declared = {f.name for f in fields}
    unknown = [name for name in _UNKNOWN_FIELDS if name not in declared] or ["x" * 40]
    valid = payloads(fields, ids=ids)
    junk = st.tuples(st.sampled_from(unknown), st.one_of(free_text(), st.integers(), identifiers()))
    wrong = [st.tuples(st.just(f.name), _wrong_values(f)) for f in fields]
    required = [f.name for f in fields if f.required]

    def add(payload: dict[str, object], item: tuple[str, object]) -> dict[str, object]:
        return {**payload, item[0]: item[1]}

    def drop(payload: dict[str, object], name: str) -> dict[str, object]:
        return {k: v for k, v in payload.items() if k != name}

    ways = [st.builds(add, valid, junk)]
    if wrong:
        ways.append(st.builds(add, valid, st.one_of(wrong)))
    if required:
        ways.append(st.builds(drop, valid, st.sampled_from(required)))
    return st.one_of(ways)


def invalid_payloads_for(
    definition: WorkflowDefinition, trigger: str, *, ids: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[dict[str, object]]:
    """Payloads one trigger of ``definition`` (or `OPEN`) refuses."""
    return invalid_payloads(_fields(definition, trigger), ids=ids)


def commands(
    definition: WorkflowDefinition,
    *,
    triggers: Sequence[str] | None = None,
    actors: st.SearchStrategy[Actor] | None = None,
    valid: bool | None = None,
    ids: st.SearchStrategy[str] | None = None,
    idempotency_keys: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Command]:
    """Commands for ``definition``: any trigger, any actor, valid or junk payloads.

    Most commands drawn this way are refused by the engine, which is the point: they
    exercise every rejection path. Use them against a case of the same definition.

    Args:
        definition: The workflow.
        triggers: The triggers to draw from; every trigger of the definition by default.
            Names the definition does not have are allowed (they are sent with junk).
        actors: Who acts; [`actors`][psirf_flow.testing.strategies.actors] with any roles by
            default.
        valid: ``True`` for valid payloads only, ``False`` for invalid ones only, ``None``
            for both.
        ids: Where identifiers in payloads come from (see
            [`field_values`][psirf_flow.testing.strategies.field_values]).
        idempotency_keys: Keys to attach; ``None`` or a fresh identifier by default.
    """
    names = list(triggers if triggers is not None else definition.triggers)
    if not names:
        msg = "no trigger to draw commands from"
        raise ValueError(msg)
    people = actors if actors is not None else _any_actors()
    keys = idempotency_keys if idempotency_keys is not None else st.none() | identifiers("key-")

    per_trigger: list[st.SearchStrategy[tuple[str, dict[str, object]]]] = []
    for name in names:
        spec = definition.transition(name)
        fields = spec.fields if spec is not None else ()
        makers = (
            [payloads, invalid_payloads]
            if valid is None
            else [payloads if valid else invalid_payloads]
        )
        per_trigger.append(
            st.tuples(st.just(name), st.one_of([m(fields, ids=ids) for m in makers]))
        )

    def build(
        chosen: tuple[str, dict[str, object]], actor: Actor, role: Role | None, key: str | None
    ) -> Command:
        return Command(
            trigger=chosen[0], actor=actor, payload=chosen[1], role=role, idempotency_key=key
        )

    return st.builds(build, st.one_of(per_trigger), people, st.none() | roles(), keys)
