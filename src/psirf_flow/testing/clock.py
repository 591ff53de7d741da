"""A clock that moves only when told to, for tests and simulations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


__all__ = ["ManualClock"]


class ManualClock:
    """A :class:`~psirf_flow.ports.Clock` that never moves by itself.

    Args:
        start: The initial time; must be aware. Defaults to 2026-01-05 09:00 UTC.

    Example:
        >>> from datetime import timedelta
        >>> clock = ManualClock()
        >>> clock.advance(timedelta(days=1)).isoformat()
        '2026-01-06T09:00:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _checked(start if start is not None else datetime(2026, 1, 5, 9, tzinfo=UTC))

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Move the clock to ``moment`` (aware; may not go backwards) and return it."""
        moment = _checked(moment)
        if moment < self._now:
            msg = f"a ManualClock does not go backwards ({moment} is before {self._now})"
            raise ValueError(msg)
        self._now = moment
        return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by ``by`` (zero or more) and return the new time."""
        if by < timedelta(0):
            msg = "a ManualClock does not go backwards"
            raise ValueError(msg)
        self._now += by
        return self._now


def _checked(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        msg = "ManualClock needs aware datetimes"
        raise ValueError(msg)
    return moment.astimezone(UTC)
