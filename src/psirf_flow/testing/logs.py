"""Capture psirf_flow's log events in a test, as dicts.

psirf_flow's events go to the standard-library logger ``psirf_flow`` (see
[`psirf_flow.log`][psirf_flow.log]), not through structlog's global configuration, so
``structlog.testing.capture_logs`` does not see them.
[`capture_events`][psirf_flow.testing.logs.capture_events] attaches a handler to that logger for the
duration of a ``with`` block and keeps each event's fields.

Examples:
    ```python
    import logging
    from psirf_flow.testing.logs import capture_events
    with capture_events(logging.WARNING) as events:
        pass
    events  # []
    ```
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psirf_flow.log import LOGGER_NAME


__all__ = ["capture_events"]


class _Keep(logging.Handler):
    """Keeps each psirf_flow event as a dict of its fields and its ``log_level``."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__(logging.DEBUG)
        self._events = events

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "psirf_flow", None)
        if isinstance(fields, dict):
            self._events.append({**fields, "log_level": record.levelname.lower()})


@contextmanager
def capture_events(level: int = logging.DEBUG) -> Iterator[list[dict[str, Any]]]:
    """Capture the events psirf_flow emits at ``level`` and above inside the block.

    Yields the list the events are appended to, each a dict with ``event``, the event's
    allow-listed fields and ``log_level`` (``"warning"``, ``"info"``, …). The logger's
    level and handlers are restored afterwards.
    """
    logger = logging.getLogger(LOGGER_NAME)
    events: list[dict[str, Any]] = []
    handler = _Keep(events)
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield events
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
