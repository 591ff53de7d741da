"""Structured events through structlog to the standard-library logger ``psirf_flow``.

psirf_flow never configures logging: the host does, and nothing is printed until it does.
Events are built by structlog with psirf_flow's own processor chain (structlog's global
configuration is neither used nor changed) and handed to the standard-library logger named
[`LOGGER_NAME`][psirf_flow.log.LOGGER_NAME], which carries a `logging.NullHandler`. A host therefore
controls them with the ``logging`` module as usual: levels, handlers, filters, or
``structlog.stdlib.ProcessorFormatter`` to render them with its own structlog processors.

Each event carries only the keys in [`ALLOWED_KEYS`][psirf_flow.log.ALLOWED_KEYS], as plain scalars.
Payloads, facts and messages never reach a log line (psirf-rules §7.2; Caldicott principle 3, "use
the minimum necessary"). The message of the log record is the event name followed by its fields
(``psirf_flow.command_accepted case_id='c-1' trigger='open' ...``); the same fields are on
the record as attributes, and together as the dict ``record.psirf_flow``.

Levels: refused commands, refused reads, refused input and store failures are **WARNING**
(security events a host should see by default); accepted commands are **INFO** and replays
**DEBUG**. [`enabled`][psirf_flow.log.enabled] tells the engine whether a level is on, so building
an event costs nothing when it is off.

Hosts that log through structlog can add [`drop_unlisted_keys`][psirf_flow.log.drop_unlisted_keys]
to their processor chain to hold *their own* events to the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any, Final

import structlog


__all__ = [
    "ALLOWED_KEYS",
    "LOGGER_NAME",
    "drop_unlisted_keys",
    "enabled",
    "get_logger",
    "safe_fields",
]

LOGGER_NAME: Final = "psirf_flow"
"""The name of the standard-library logger psirf_flow's events go to."""

ALLOWED_KEYS: Final = frozenset(
    {
        "event",
        "case_id",
        "workflow",
        "workflow_version",
        "trigger",
        "from_state",
        "to_state",
        "actor_id",
        "organisation",
        "role",
        "reason_code",
        "error_code",
        "sequence",
        "replayed",
        "message_id",
        "outcome",
        "attempts",
        # escalation tiers and sweeps (counts and codes only)
        "kind",
        "cycle",
        "tier",
        "stage",
        "late_seconds",
        "claimed",
        "fired",
        "skipped",
        "conflicts",
        "failed",
        "logger",
        "level",
        "log_level",
        "timestamp",
    }
)
"""The only keys psirf_flow puts on a log event."""

_STDLIB: Final = logging.getLogger(LOGGER_NAME)
_STDLIB.addHandler(logging.NullHandler())

_RECORD_ATTRIBUTES: Final = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "psirf_flow"}
)
"""Attributes a ``logging.LogRecord`` has already: never overwritten by an event's fields."""


def safe_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """Keep only allow-listed keys whose values are plain scalars."""
    return {
        k: v
        for k, v in fields.items()
        if k in ALLOWED_KEYS and (v is None or isinstance(v, str | int | bool))
    }


def drop_unlisted_keys(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Structlog processor: remove every key not in `ALLOWED_KEYS`."""
    for key in [k for k in event_dict if k not in ALLOWED_KEYS]:
        del event_dict[key]
    return event_dict


def _to_log_call(
    _logger: object, _method: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """Last processor: the standard-library call's ``msg`` and ``extra``."""
    fields = safe_fields(event_dict)
    event = str(fields.pop("event", ""))
    rendered = " ".join(f"{key}={value!r}" for key, value in sorted(fields.items()))
    extra: dict[str, Any] = {k: v for k, v in fields.items() if k not in _RECORD_ATTRIBUTES}
    extra["psirf_flow"] = {"event": event, **fields}
    return {"msg": f"{event} {rendered}" if rendered else event, "extra": extra}


_LOGGER: Final = structlog.wrap_logger(
    _STDLIB,
    processors=[structlog.stdlib.filter_by_level, drop_unlisted_keys, _to_log_call],
    wrapper_class=structlog.stdlib.BoundLogger,
    context_class=dict,
).bind()


def get_logger() -> Any:
    """Return psirf_flow's structlog logger (a ``structlog.stdlib.BoundLogger``).

    Its events go to the standard-library logger [`LOGGER_NAME`][psirf_flow.log.LOGGER_NAME]
    whatever structlog's global configuration says.
    """
    return _LOGGER


def enabled(level: int) -> bool:
    """Tell whether events of ``level`` (e.g. ``logging.INFO``) reach any handler's level.

    A cheap check (the ``logging`` module caches it), so callers skip building events
    that would be dropped.
    """
    return _STDLIB.isEnabledFor(level)
