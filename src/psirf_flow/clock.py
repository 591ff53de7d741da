"""The wall clock: the one place in psirf_flow that reads the real time."""

from __future__ import annotations

from datetime import UTC, datetime


__all__ = ["SystemClock"]


class SystemClock:
    """A [`Clock`][psirf_flow.ports.Clock] that returns the real time, aware and in UTC."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(tz=UTC)  # noqa: TID251 - the single sanctioned wall-clock read
