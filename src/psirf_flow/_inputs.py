"""Checks of the values a host hands to public entry points, before anything is read or written.

Every public call of the engine, the relay and the test clock runs its arguments through
these functions first. A value of the wrong type or shape is refused with
[`InvalidInput`][psirf_flow.errors.InvalidInput] (or, for a payload's fields,
[`InvalidPayload`][psirf_flow.errors.InvalidPayload]), so that only psirf_flow's own errors escape
(never ``TypeError``, ``AttributeError``, ``UnicodeEncodeError``, ``OverflowError`` or
``RecursionError`` from deeper down) and nothing is written. Messages repeat a refused value
only through [`shown`][psirf_flow.errors.shown], and never repeat an idempotency key.

Private: the public names are the entry points that call these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Final, TypeGuard, TypeVar, cast

from psirf_flow.domain import Actor, Reader, Role, SystemReader, check_identifier, to_role
from psirf_flow.errors import InvalidInput, InvalidPayload, shown
from psirf_flow.ports import CaseQuery, Clock, Store
from psirf_flow.workflows.couplings import Coupling


__all__ = [
    "MAX_LIMIT",
    "actor",
    "case_query",
    "clock",
    "couplings",
    "idempotency_key",
    "identifier",
    "limit",
    "moment",
    "name",
    "optional_callable",
    "optional_identifier",
    "optional_instance",
    "optional_role",
    "optional_version",
    "oversight",
    "payload",
    "period",
    "reader",
    "store",
    "system_reader",
]

MAX_LIMIT: Final = 10_000
"""The most items one call may ask for (pages, outbox batches, relay rounds)."""
_LONGEST_NAME: Final = 128
"""The longest name (of a workflow or a trigger) and the longest idempotency key."""
_LONGEST_KEY: Final = 256
_MOST_FIELDS: Final = 256
"""The most fields a payload may have, and the most items a list field may hold."""
_MOST_ITEMS: Final = 10_000
_SCALARS: Final = (str, int, float, bool, date, type(None))
_COLLECTIONS: Final = (list, tuple, set, frozenset)
_T = TypeVar("_T")


def identifier(argument: str, value: object) -> str:
    """``value`` if it is an opaque identifier (see `check_identifier`).

    Raises:
        InvalidInput: Naming ``argument`` and the problem, never repeating the value.
    """
    problem = check_identifier(value)
    if problem is not None or not isinstance(value, str):
        raise InvalidInput(argument, problem or "must be an identifier")
    return value


def optional_identifier(argument: str, value: object) -> str | None:
    """``None``, or ``value`` checked as by `identifier`."""
    return None if value is None else identifier(argument, value)


def name(argument: str, value: object) -> str:
    """``value`` if it is text that could name a workflow or a trigger.

    Whether the name exists is for the caller to say (``UnknownWorkflow``,
    ``UnknownTrigger``); this only refuses what could never be a name.
    """
    if not isinstance(value, str):
        raise InvalidInput(argument, f"must be text, got {type(value).__name__}")
    # Lone surrogates and control characters are not printable: refused here too.
    if not 0 < len(value) <= _LONGEST_NAME or not value.isprintable():
        raise InvalidInput(argument, f"{shown(value)} is not a name psirf_flow could know")
    return value


def actor(argument: str, value: object) -> Actor:
    """``value`` if it is an [`Actor`][psirf_flow.domain.Actor]."""
    if not isinstance(value, Actor):
        raise InvalidInput(argument, f"must be an Actor, got {type(value).__name__}")
    return value


def reader(value: object) -> Reader:
    """``value`` if it is a reader (an ``Actor`` or a ``SystemReader``)."""
    if not isinstance(value, Actor | SystemReader):
        raise InvalidInput(
            "reader", f"must be an Actor or a SystemReader, got {type(value).__name__}"
        )
    return value


def system_reader(value: object) -> SystemReader:
    """``value`` if it is a `SystemReader` (a job reading everything).

    For the calls that must see every case (checkpoints): a person's
    [`Actor`][psirf_flow.domain.Actor] sees only some, and a checkpoint of some cases would report
    the others as unexpected.
    """
    if not isinstance(value, SystemReader):
        raise InvalidInput("reader", f"must be a SystemReader, got {type(value).__name__}")
    return value


def optional_version(argument: str, value: object) -> int | None:
    """``None``, or ``value`` if it is a whole number from 0 to 999,999,999."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**9:
        raise InvalidInput(argument, "must be a whole number from 0 to 999,999,999")
    return value


def optional_role(value: object) -> Role | None:
    """``None``, or ``value`` as a [`Role`][psirf_flow.domain.Role] (a role or its name)."""
    return None if value is None else to_role(value, "role")


def idempotency_key(value: object) -> str | None:
    """``None``, or ``value`` if it is 1 to 256 printable characters (never repeated)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= _LONGEST_KEY or not value.isprintable():
        raise InvalidInput("idempotency_key", "must be 1 to 256 printable characters")
    return value


def limit(argument: str, value: object, *, most: int = MAX_LIMIT) -> int:
    """``value`` if it is a whole number from 1 to ``most``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= most:
        raise InvalidInput(argument, f"must be a whole number from 1 to {most:,}")
    return value


def moment(argument: str, value: object) -> datetime:
    """``value`` as an aware UTC datetime (aware times in other zones are converted).

    Raises:
        InvalidInput: If ``value`` is not a datetime or has no time zone (a naive time is
            ambiguous: 01:30 on the last Sunday of October happens twice in London).
    """
    if not isinstance(value, datetime):
        raise InvalidInput(argument, f"must be a datetime, got {type(value).__name__}")
    try:
        offset = value.utcoffset()
        if offset is None:
            raise InvalidInput(argument, "must be an aware datetime (with a time zone)")
        return value if offset == timedelta(0) and value.tzinfo is UTC else value.astimezone(UTC)
    except (OverflowError, ValueError, TypeError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput(argument, "is out of the range of dates psirf_flow keeps") from None


def period(argument: str, value: object) -> timedelta:
    """``value`` if it is a `timedelta` of zero or more."""
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise InvalidInput(argument, "must be a duration (timedelta) of zero or more")
    return value


def payload(value: object, *, case_id: str | None, trigger: str) -> dict[str, object]:
    """``value`` as a payload: a mapping of field names to plain values, or lists of them.

    Whether each field is declared and of the right kind is for the workflow to say
    ([`check_payload`][psirf_flow.workflows.payload.check_payload], after the step and the role are
    judged); this refuses only shapes no field of any kind accepts and that the command's
    fingerprint could not be computed from (field names that are not text, values nested
    in lists or mappings, objects), before the command is fingerprinted or decided.

    Raises:
        InvalidInput: If ``value`` is not a mapping.
        InvalidPayload: If a field's name is not text or its value is not a plain value.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("payload", f"must be a mapping, got {type(value).__name__}")
    if len(value) > _MOST_FIELDS:
        raise InvalidInput("payload", f"has more than {_MOST_FIELDS} fields")
    problems: list[str] = []
    clean: dict[str, object] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            problems.append(f"{shown(key)} is not a field name")
        elif not _plain(item):
            problems.append(f"{shown(key)} holds a value of a kind no field takes")
        else:
            clean[key] = item
    if problems:
        raise InvalidPayload(case_id=case_id, trigger=trigger, problems=problems)
    return clean


def case_query(value: object) -> CaseQuery:
    """``value`` if it is a [`CaseQuery`][psirf_flow.ports.CaseQuery] (``None``: the default one).

    A ``CaseQuery`` checks its own fields when it is made (text filters, at most 10,000
    organisations, a page of 1 to 1000), so only its type is checked here.
    """
    if value is None:
        return CaseQuery()
    if not isinstance(value, CaseQuery):
        raise InvalidInput("query", f"must be a CaseQuery, got {type(value).__name__}")
    return value


def _plain(value: object) -> bool:
    # Text that cannot be encoded (lone surrogates) is left to the workflow's own checks,
    # which refuse it in their usual order (after the step and the role are judged).
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, _COLLECTIONS):
        return len(value) <= _MOST_ITEMS and all(
            isinstance(item, _SCALARS) and not isinstance(item, _COLLECTIONS) for item in value
        )
    return False


# ---------------------------------------------------------------- the engine's settings


def store(value: object) -> Store:
    """``value`` if it has every method of the [`Store`][psirf_flow.ports.Store] Protocol."""
    if not isinstance(value, Store):
        missing = [
            method for method in _STORE_METHODS if not callable(getattr(value, method, None))
        ]
        raise InvalidInput(
            "store",
            f"must have the Store methods; {type(value).__name__} lacks {', '.join(missing)}",
        )
    return value


def clock(value: object) -> Clock:
    """``value`` if it is a clock (it has a callable ``now``)."""
    if not isinstance(value, Clock) or not callable(getattr(value, "now", None)):
        raise InvalidInput("clock", f"must have a now() method, got {type(value).__name__}")
    return value


def optional_instance(argument: str, value: object, kind: type[_T]) -> _T | None:
    """``None``, or ``value`` if it is a ``kind``."""
    if value is None or isinstance(value, kind):
        return value
    raise InvalidInput(argument, f"must be a {kind.__name__} or None, got {type(value).__name__}")


def optional_callable(argument: str, value: object) -> Callable[[], str] | None:
    """``None``, or ``value`` if it can be called."""
    if value is not None and not callable(value):
        raise InvalidInput(argument, f"must be callable or None, got {type(value).__name__}")
    return cast("Callable[[], str] | None", value)


def couplings(value: object) -> tuple[Coupling, ...] | None:
    """``None``, or the couplings ``value`` holds if it is a collection of ``Coupling``."""
    if value is None:
        return None
    if not _collection(value):
        raise InvalidInput(
            "couplings", f"must be a collection of Coupling, got {type(value).__name__}"
        )
    found: tuple[object, ...] = tuple(value)
    checked: list[Coupling] = []
    for item in found:
        if not isinstance(item, Coupling):
            raise InvalidInput(
                "couplings", f"must hold only Coupling items, got {type(item).__name__}"
            )
        checked.append(item)
    return tuple(checked)


def organisations(value: object) -> frozenset[str] | None:
    """``None``, or an organisation code or a non-empty collection of them, as a set.

    The ``organisation`` filter of the people-facing queries (reports and lessons).
    """
    if value is None:
        return None
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, Iterable) or isinstance(codes, bytes):
        raise InvalidInput("organisation", "must be an organisation code or a collection of them")
    checked = frozenset(name("organisation", code) for code in codes)
    if not checked:
        raise InvalidInput("organisation", "names no organisation")
    return checked


def oversight(value: object) -> dict[str, frozenset[str]]:
    """Which organisations each organisation oversees: a mapping of ids to collections of ids.

    ``None`` is no oversight. A value that is one text (``{"QWE": "RXY"}``) is refused
    rather than read as its letters.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "oversight",
            f"must map organisations to the organisations they oversee, got {type(value).__name__}",
        )
    checked: dict[str, frozenset[str]] = {}
    for overseer, overseen in value.items():
        key = identifier("oversight", overseer)
        if not _collection(overseen):
            raise InvalidInput(
                "oversight",
                f"must map each organisation to a collection of organisations, "
                f"got {type(overseen).__name__}",
            )
        checked[key] = frozenset(identifier("oversight", org) for org in overseen)
    return checked


def _collection(value: object) -> TypeGuard[Iterable[object]]:
    """Whether ``value`` is a collection of items (not a text, bytes or a mapping)."""
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)


_STORE_METHODS: Final = tuple(
    name for name in sorted(vars(Store)) if not name.startswith("_") and callable(vars(Store)[name])
)
"""The methods every store has (the ``Store`` Protocol's), named when one is missing."""
