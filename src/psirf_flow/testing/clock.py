"""A clock that moves only when told to, for tests and simulations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from psirf_flow import _inputs
from psirf_flow.errors import InvalidInput


__all__ = ["ManualClock"]


class ManualClock:
    """A [`Clock`][psirf_flow.ports.Clock] that never moves by itself.

    Times given in another zone (Europe/London in summer, say) are kept in UTC; naive
    times, other types and moves backwards are refused with
    [`InvalidInput`][psirf_flow.errors.InvalidInput] (also a ``ValueError``).

    Args:
        start: The initial time; must be aware. Defaults to 2026-01-05 09:00 UTC.

    Examples:
        ```python
        from datetime import timedelta
        from psirf_flow.testing import ManualClock
        clock = ManualClock()
        clock.advance(timedelta(days=1)).isoformat()  # '2026-01-06T09:00:00+00:00'
        ```
    """

    def __init__(self, start: datetime | None = None) -> None:
        default = datetime(2026, 1, 5, 9, tzinfo=UTC)
        self._now = _inputs.moment("start", default if start is None else start)

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Move the clock to ``moment`` (aware; may not go backwards) and return it."""
        moment = _inputs.moment("moment", moment)
        if moment < self._now:
            raise InvalidInput(
                "moment", "is before the clock's time: a ManualClock does not go backwards"
            )
        self._now = moment
        return self._now

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward by ``by`` (zero or more) and return the new time."""
        by = _inputs.period("by", by)
        try:
            self._now += by
        except OverflowError:
            raise InvalidInput(
                "by", "moves the clock past the last date psirf_flow keeps"
            ) from None
        return self._now
