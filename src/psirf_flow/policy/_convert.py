"""The one cattrs converter that turns TOML data into policy records and back.

It is strict where cattrs' defaults are forgiving, because a plan is written by people and
a quiet coercion would hide a mistake:

* text must be text, whole numbers whole numbers (``true`` is not ``1``), flags ``true`` or
  ``false``, and dates TOML dates (``2026-04-01``) or ISO text;
* a list must be a list (text is not a list of characters) and a table a table;
* an enumerated value must be one of its listed values, and the message lists them;
* unknown keys are refused (``forbid_extra_keys``), with a "did you mean" hint;
* every problem is collected (``detailed_validation``), never only the first.

Unstructuring omits settings equal to their default, so a dumped plan stays short.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from types import MappingProxyType, UnionType
from typing import Any, Final

import attrs
import cattrs
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn

from psirf_flow.domain import Role, check_identifier
from psirf_flow.errors import shown
from psirf_flow.policy._problems import Invalid, describe
from psirf_flow.policy.conditions import (
    AllOf,
    AnyOf,
    FactTest,
    Not,
    structure_condition,
    unstructure_condition,
)
from psirf_flow.policy.plan import Decider


__all__ = ["CONVERTER", "make_converter"]

_CONDITION_TYPES: Final = frozenset({AllOf, AnyOf, Not, FactTest})


def _structure_str(obj: object, cl: Any) -> str:
    if _is_enum(cl):  # str-valued enums reach the str hook through single dispatch
        return _structure_enum(obj, cl)  # type: ignore[return-value]
    if not isinstance(obj, str):
        msg = f"expected text, got {describe(obj)}"
        raise Invalid(msg)
    return obj


def _structure_int(obj: object, cl: Any) -> int:
    if _is_enum(cl):  # int-valued enums reach the int hook through single dispatch
        return _structure_enum(obj, cl)  # type: ignore[return-value]
    if isinstance(obj, bool) or not isinstance(obj, int):
        msg = f"expected a whole number, got {describe(obj)}"
        raise Invalid(msg)
    return obj


def _structure_bool(obj: object, _cl: object) -> bool:
    if not isinstance(obj, bool):
        msg = f"expected true or false, got {describe(obj)}"
        raise Invalid(msg)
    return obj


def _structure_date(obj: object, _cl: object) -> date:
    if isinstance(obj, date) and not isinstance(obj, datetime):
        return obj
    if isinstance(obj, str):
        try:
            return date.fromisoformat(obj)
        except ValueError:
            pass
    msg = f"expected a date such as 2026-04-01, got {describe(obj)}"
    raise Invalid(msg)


def _is_enum(cl: Any) -> bool:
    return isinstance(cl, type) and issubclass(cl, Enum)


def _structure_enum(obj: object, cl: type[Enum]) -> Enum:
    for member in cl:
        if member.value == obj and type(member.value) is type(obj):
            return member
    allowed = ", ".join(repr(m.value) for m in cl)
    msg = f"expected one of {allowed}, got {describe(obj)}"
    raise Invalid(msg)


def _is_var_tuple(cl: Any) -> bool:
    args = typing.get_args(cl)
    return typing.get_origin(cl) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_str_mapping(cl: Any) -> bool:
    return typing.get_origin(cl) in (Mapping, dict) and typing.get_args(cl)[:1] == (str,)


def _is_condition(cl: Any) -> bool:
    is_union = isinstance(cl, UnionType) or typing.get_origin(cl) is typing.Union
    return is_union and frozenset(typing.get_args(cl)) - {type(None)} == _CONDITION_TYPES


def _tuple_hook(cl: Any, converter: cattrs.Converter) -> Callable[[object, Any], tuple[Any, ...]]:
    item_type = typing.get_args(cl)[0]

    def structure(obj: object, _cl: Any) -> tuple[Any, ...]:
        if not isinstance(obj, list):
            msg = f"expected a list, got {describe(obj)}"
            raise Invalid(msg)
        items: list[Any] = []
        errors: list[Exception] = []
        for i, item in enumerate(obj):
            try:
                items.append(converter.structure(item, item_type))
            except Exception as exc:  # noqa: BLE001 - collected and reported with its index
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring item {i}", i, item_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError("While structuring a list", errors, cl)
        return tuple(items)

    return structure


def _mapping_hook(
    cl: Any, converter: cattrs.Converter
) -> Callable[[object, Any], Mapping[str, Any]]:
    value_type = typing.get_args(cl)[1]

    def structure(obj: object, _cl: Any) -> Mapping[str, Any]:
        if not isinstance(obj, dict):
            msg = f"expected a table, got {describe(obj)}"
            raise Invalid(msg)
        items: dict[str, Any] = {}
        errors: list[Exception] = []
        for key, item in obj.items():
            try:
                items[key] = converter.structure(item, value_type)
            except Exception as exc:  # noqa: BLE001 - collected and reported with its key
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    IterableValidationNote(f"Structuring {key!r}", key, value_type),
                ]
                errors.append(exc)
        if errors:
            raise IterableValidationError("While structuring a table", errors, cl)
        return MappingProxyType(items)

    return structure


def _attrs_hook(cl: Any, converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    generated = make_dict_structure_fn(cl, converter)

    def structure(obj: object, _cl: Any) -> Any:
        if not isinstance(obj, dict):
            msg = f"expected a table, got {describe(obj)}"
            raise Invalid(msg)
        return generated(obj, cl)

    return structure


def _decider_hook(converter: cattrs.Converter) -> Callable[[object, Any], Decider]:
    """``decided_by``: a role's name, or a table ``{ committee = "..." }`` (or ``{ role }``)."""
    generated = make_dict_structure_fn(Decider, converter)

    def structure(obj: object, _cl: Any) -> Decider:
        if isinstance(obj, str):
            for role in Role:
                if role.value == obj:
                    return Decider(role=role)
            roles = ", ".join(repr(r.value) for r in Role if r is not Role.SYSTEM)
            if check_identifier(obj) is None:
                msg = (
                    f"{shown(obj)} is not a role (one of {roles}); to name a committee write "
                    f'decided_by = {{ committee = "{obj}" }}'
                )
            else:
                msg = f"expected a role (one of {roles}) or a committee, got {describe(obj)}"
            raise Invalid(msg)
        if not isinstance(obj, dict):
            msg = f'expected a role\'s name or {{ committee = "..." }}, got {describe(obj)}'
            raise Invalid(msg)
        return generated(obj, Decider)

    return structure


def _unstructure_decider(value: Decider) -> Any:
    if value.role is not None and value.committee is None:
        return value.role.value
    return {
        key: item
        for key, item in (
            ("role", None if value.role is None else value.role.value),
            ("committee", value.committee),
        )
        if item is not None
    }


def _unstructure_enum(value: Enum) -> Any:
    return value.value


def _unstructure_mapping(value: Mapping[str, Any]) -> dict[str, Any]:
    return {key: CONVERTER.unstructure(item) for key, item in value.items()}


def _unstructure_tuple(value: tuple[Any, ...]) -> list[Any]:
    return [CONVERTER.unstructure(item) for item in value]


def make_converter() -> cattrs.Converter:
    """Build the strict converter described in the module docstring."""
    converter = cattrs.Converter(
        forbid_extra_keys=True, omit_if_default=True, detailed_validation=True
    )
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(date, _structure_date)
    converter.register_structure_hook_func(_is_enum, _structure_enum)
    converter.register_structure_hook_factory(attrs.has, _attrs_hook)
    converter.register_structure_hook_factory(_is_var_tuple, _tuple_hook)
    converter.register_structure_hook_factory(_is_str_mapping, _mapping_hook)
    converter.register_structure_hook_func(_is_condition, structure_condition)
    converter.register_structure_hook(Decider, _decider_hook(converter))
    converter.register_unstructure_hook(Decider, _unstructure_decider)
    for condition_type in _CONDITION_TYPES:
        converter.register_unstructure_hook(condition_type, unstructure_condition)
    converter.register_unstructure_hook_func(_is_condition, unstructure_condition)
    converter.register_unstructure_hook_func(_is_enum, _unstructure_enum)
    converter.register_unstructure_hook(MappingProxyType, _unstructure_mapping)
    converter.register_unstructure_hook_func(_is_str_mapping, _unstructure_mapping)
    converter.register_unstructure_hook_func(_is_var_tuple, _unstructure_tuple)
    converter.register_unstructure_hook(tuple, _unstructure_tuple)
    return converter


CONVERTER: Final = make_converter()
"""The converter every policy document is loaded and dumped with."""
