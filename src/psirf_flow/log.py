"""Structured logging through structlog, with an allow-list so no patient data can leak.

psirf_flow never configures logging: the host does. The engine emits one event per
accepted or rejected command, carrying only the keys in :data:`ALLOWED_KEYS`. Payloads,
facts and messages never reach a log line (psirf-rules §7.2; Caldicott principle 3,
"use the minimum necessary").

Hosts that log through structlog can add :func:`drop_unlisted_keys` to their processor
chain to hold *their own* events to the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Final

import structlog


__all__ = ["ALLOWED_KEYS", "LOGGER_NAME", "drop_unlisted_keys", "get_logger", "safe_fields"]

#: The name psirf_flow's logger is bound to.
LOGGER_NAME: Final = "psirf_flow"

#: The only keys psirf_flow puts on a log event.
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
        "role",
        "reason_code",
        "error_code",
        "sequence",
        "replayed",
        "message_id",
        "outcome",
        "attempts",
        "logger",
        "level",
        "log_level",
        "timestamp",
    }
)


def get_logger() -> Any:
    """Return psirf_flow's structlog logger (configured by the host, lazily bound)."""
    return structlog.get_logger(LOGGER_NAME)


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
    """Structlog processor: remove every key not in :data:`ALLOWED_KEYS`."""
    for key in [k for k in event_dict if k not in ALLOWED_KEYS]:
        del event_dict[key]
    return event_dict
