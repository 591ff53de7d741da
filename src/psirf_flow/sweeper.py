"""The sweeper: fires the escalation tiers that are due, each exactly once.

[`Sweeper.sweep`][psirf_flow.sweeper.Sweeper.sweep] claims due tiers from the store
([`claim_due`][psirf_flow.ports.Store.claim_due]: on PostgreSQL ``FOR UPDATE SKIP LOCKED``, so
sweepers in several processes never hold the same tier; its cost grows with the rows due, not with
the open cases) and fires each through the engine: one audited ``escalation_fired`` entry on the
case, committed with the tier set ``fired``, the deadline's tier count and one ``notify.escalation``
outbox message per recipient (plus an ``escalation.action`` message when the plan gives the tier an
action), under the case's version check and an idempotency key unique to the tier
([`dedupe_key`][psirf_flow.domain.Escalation.dedupe_key]). A tier is never fired before its
``fire_at``. A sweeper that was down fires what fell due meanwhile, once each, and the
entry records how late (``late_seconds``).

A claim is a lease: a tier claimed by a sweeper that dies is offered again when the lease
runs out, and firing it twice is impossible (the store refuses the second idempotency key
and the version check the second entry). [`Sweeper.run`][psirf_flow.sweeper.Sweeper.run] repeats
sweeps until its stop event is set, waiting on the event (never sleeping), and finishes the batch in
hand before stopping. ``psirf-flow sweep URL`` runs it from the command line.

With ``Sweeper(engine, thematic_reviews=True)`` the first sweep of each Europe/London day
also commissions the plan's scheduled thematic reviews that are due (psirf-rules §2), each
occurrence exactly once across sweepers: see [`Sweeper`][psirf_flow.sweeper.Sweeper].

Deliver the messages with [`OutboxRelay`][psirf_flow.relay.OutboxRelay] (give it a
[`Notifier`][psirf_flow.notify.Notifier]).

Examples:
    ```python
    from datetime import UTC, datetime
    from psirf_flow import Engine, InMemoryStore, Sweeper
    from psirf_flow.testing import ManualClock
    engine = Engine(InMemoryStore(), clock=ManualClock(datetime(2026, 1, 5, tzinfo=UTC)))
    Sweeper(engine).sweep().fired  # 0
    ```
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Final

import attrs

from psirf_flow import _inputs
from psirf_flow._thematic_shell import commission_due
from psirf_flow.domain import Escalation, check_identifier
from psirf_flow.engine import Engine
from psirf_flow.errors import InvalidInput, PsirfFlowError
from psirf_flow.log import enabled, get_logger, safe_fields
from psirf_flow.policy.calendars import UK_TIME


__all__ = ["DEFAULT_BATCH", "DEFAULT_LEASE", "SweepReport", "Sweeper"]

DEFAULT_BATCH: Final = 100
"""Tiers claimed at a time."""
DEFAULT_LEASE: Final = timedelta(minutes=5)
"""How long a claim keeps other sweepers off a tier."""
_MAX_BATCH: Final = 10_000
"""The most tiers claimed at a time."""
_LONGEST_LEASE: Final = timedelta(days=1)
"""The longest lease and the longest wait between sweeps a sweeper accepts."""


@attrs.frozen
class SweepReport:
    """What one sweep (or a run of sweeps) did.

    Attributes:
        claimed: Tiers claimed.
        fired: Tiers fired now (each one audited entry).
        skipped: Claimed tiers no longer pending or not yet due (fired by another
            sweeper, paused, cancelled, or moved later).
        conflicts: Tiers left for the next sweep because the case kept changing.
        failed: Tiers whose firing failed (the store, a corrupt record); tried again when
            their claim runs out.
        late_seconds_max: The latest of the tiers fired, in seconds after ``fire_at``.
        late_seconds_total: The lateness of every tier fired, added up.
        reviews_commissioned: Scheduled thematic reviews opened (only with
            ``Sweeper(thematic_reviews=True)``).
        reviews_skipped: Due scheduled thematic reviews not opened because they gathered
            fewer than two incidents not yet reviewed (looked at again the next day).
        reviews_failed: Due scheduled thematic reviews whose opening was refused or failed.
    """

    claimed: int = 0
    fired: int = 0
    skipped: int = 0
    conflicts: int = 0
    failed: int = 0
    late_seconds_max: int = 0
    late_seconds_total: int = 0
    reviews_commissioned: int = 0
    reviews_skipped: int = 0
    reviews_failed: int = 0

    def __add__(self, other: SweepReport) -> SweepReport:
        return SweepReport(
            claimed=self.claimed + other.claimed,
            fired=self.fired + other.fired,
            skipped=self.skipped + other.skipped,
            conflicts=self.conflicts + other.conflicts,
            failed=self.failed + other.failed,
            late_seconds_max=max(self.late_seconds_max, other.late_seconds_max),
            late_seconds_total=self.late_seconds_total + other.late_seconds_total,
            reviews_commissioned=self.reviews_commissioned + other.reviews_commissioned,
            reviews_skipped=self.reviews_skipped + other.reviews_skipped,
            reviews_failed=self.reviews_failed + other.reviews_failed,
        )

    def summary(self) -> str:
        """One line: ``claimed=3 fired=2 skipped=1 conflicts=0 failed=0 late_max_s=40``.

        When scheduled thematic reviews were commissioned, skipped or failed, the line
        ends with ``reviews_commissioned=1 reviews_skipped=0 reviews_failed=0``.
        """
        line = (
            f"claimed={self.claimed} fired={self.fired} skipped={self.skipped} "
            f"conflicts={self.conflicts} failed={self.failed} "
            f"late_max_s={self.late_seconds_max}"
        )
        if self.reviews_commissioned or self.reviews_skipped or self.reviews_failed:
            line += (
                f" reviews_commissioned={self.reviews_commissioned} "
                f"reviews_skipped={self.reviews_skipped} reviews_failed={self.reviews_failed}"
            )
        return line


def _default_claimant() -> str:
    """A claimant unique to this process (redrawn when the digits look like an NHS number)."""
    while True:
        candidate = f"sweeper-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        if check_identifier(candidate) is None:
            return candidate


class Sweeper:
    """Fire due escalation tiers through an engine.

    Args:
        engine: The engine (its store, clock, plan and audit keys).
        claimant: This sweeper's name on its claims (an opaque id; a random one by default,
            unique per process).
        batch: Tiers claimed at a time (1 to 10,000).
        lease: How long a claim keeps other sweepers off a tier (positive, at most a day);
            longer than a batch takes to fire.
        thematic_reviews: Also commission the plan's scheduled thematic reviews (psirf-rules
            §2): on its first sweep of each Europe/London day, the sweeper opens, as
            psirf_flow itself, each review due on or before that date and not commissioned
            yet, gathering the incidents the plan organisation's intakes added to it and no
            earlier commissioning took. The case id (and idempotency key) is derived from
            the plan id, review id and due date, so sweepers in several processes open it
            once. A review gathering fewer than two incidents is skipped
            (``reviews_skipped``). Ignored when the engine has no plan.

    Raises:
        InvalidInput: If an argument has the wrong type or range, naming it.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        claimant: str | None = None,
        batch: int = DEFAULT_BATCH,
        lease: timedelta = DEFAULT_LEASE,
        thematic_reviews: bool = False,
    ) -> None:
        if not isinstance(engine, Engine):
            raise InvalidInput("engine", f"must be an Engine, got {type(engine).__name__}")
        self._claimant = _inputs.identifier(
            "claimant", _default_claimant() if claimant is None else claimant
        )
        self._batch = _inputs.limit("batch", batch, most=_MAX_BATCH)
        given: object = lease
        if not isinstance(given, timedelta) or not timedelta(0) < given <= _LONGEST_LEASE:
            raise InvalidInput("lease", "must be a positive timedelta of at most one day")
        self._lease = lease
        flag: object = thematic_reviews
        if not isinstance(flag, bool):
            raise InvalidInput("thematic_reviews", "must be True or False")
        self._thematic_reviews = thematic_reviews
        self._reviewed_on: date | None = None
        """The Europe/London date of the last commissioning pass that finished."""
        self._engine = engine
        self._log = get_logger()

    @property
    def claimant(self) -> str:
        """The name this sweeper claims tiers under."""
        return self._claimant

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Fire every tier due by ``now`` (the engine's clock by default), batch by batch.

        Each tier is fired at ``now``: the entry records it as the fired instant and the
        lateness from the tier's ``fire_at``. With ``thematic_reviews``, the first sweep of
        the Europe/London date of ``now`` then commissions the scheduled reviews due by
        that date (the openings are decided at the engine clock's time, as every command
        is); a failure there is counted in ``reviews_failed`` and, if the store failed,
        looked at again on the next sweep.

        Raises:
            InvalidInput: If ``now`` is not an aware datetime.
            StoreError: If the store fails while claiming (a failure while firing one tier
                is counted in ``failed`` and the sweep goes on).
        """
        return self._sweep(now, None)

    def run(self, stop: threading.Event, *, interval: float) -> SweepReport:
        """Sweep, then wait ``interval`` seconds on ``stop``, until ``stop`` is set.

        Stopping is graceful: the batch in hand is finished, and no new one is claimed.
        A sweep that fails (the store unreachable) is logged and tried again after the
        interval.

        Args:
            stop: Set it (from a signal handler or another thread) to stop.
            interval: Seconds between sweeps (more than 0, at most a day).

        Returns:
            The total of every sweep.

        Raises:
            InvalidInput: If ``stop`` is not a ``threading.Event`` or ``interval`` is out of
                range.
        """
        given: object = stop
        if not isinstance(given, threading.Event):
            raise InvalidInput("stop", "must be a threading.Event")
        seconds: object = interval
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 < seconds <= _LONGEST_LEASE.total_seconds()
        ):
            raise InvalidInput("interval", "must be seconds, more than 0 and at most a day")
        total = SweepReport()
        while not stop.is_set():
            try:
                total += self._sweep(None, stop)
            except PsirfFlowError as error:
                self._warn("psirf_flow.sweep_failed", error.code)
            stop.wait(interval)
        return total

    # ------------------------------------------------------------------ internals

    def _sweep(self, now: datetime | None, stop: threading.Event | None) -> SweepReport:
        at = _inputs.moment("now", self._engine.clock.now() if now is None else now)
        total = SweepReport()
        store = self._engine.store
        while stop is None or not stop.is_set():
            claimed = store.claim_due(
                at, limit=self._batch, claimant=self._claimant, lease=self._lease
            )
            for tier in claimed:
                total += self._fire(tier, at)
            if len(claimed) < self._batch:
                break
        if self._thematic_reviews and (stop is None or not stop.is_set()):
            total += self._commission(at)
        if total.claimed and enabled(logging.INFO):
            self._log.info(
                "psirf_flow.sweep_finished",
                **safe_fields(
                    {
                        "claimed": total.claimed,
                        "fired": total.fired,
                        "skipped": total.skipped,
                        "conflicts": total.conflicts,
                        "failed": total.failed,
                        "late_seconds": total.late_seconds_max,
                    }
                ),
            )
        return total

    def _commission(self, at: datetime) -> SweepReport:
        """Commission the scheduled thematic reviews due by ``at``, once per local day."""
        today = at.astimezone(UK_TIME).date()
        if self._reviewed_on == today:
            return SweepReport()
        try:
            done = commission_due(self._engine, today)
        except Exception as error:  # noqa: BLE001 - the tiers fired stay reported
            code = error.code if isinstance(error, PsirfFlowError) else None
            self._warn("psirf_flow.thematic_reviews_failed", code)
            return SweepReport(reviews_failed=1)
        if not done.retry:
            self._reviewed_on = today
        return SweepReport(
            reviews_commissioned=done.commissioned,
            reviews_skipped=done.skipped,
            reviews_failed=done.failed,
        )

    def _fire(self, tier: Escalation, at: datetime) -> SweepReport:
        try:
            outcome, late = self._engine._escalate(tier, at)
        except Exception as error:  # noqa: BLE001 - one tier must not stop the sweep
            code = error.code if isinstance(error, PsirfFlowError) else None
            self._warn("psirf_flow.escalation_failed", code, tier)
            return SweepReport(claimed=1, failed=1)
        if outcome == "fired":
            if enabled(logging.INFO):
                self._log.info(
                    "psirf_flow.escalation_fired",
                    **safe_fields(
                        {
                            "case_id": tier.case_id,
                            "organisation": tier.organisation,
                            "kind": tier.kind,
                            "cycle": tier.cycle,
                            "tier": tier.tier,
                            "stage": tier.stage,
                            "late_seconds": late,
                        }
                    ),
                )
            return SweepReport(claimed=1, fired=1, late_seconds_max=late, late_seconds_total=late)
        if outcome == "skipped":
            return SweepReport(claimed=1, skipped=1)
        return SweepReport(claimed=1, conflicts=1)

    def _warn(self, event: str, code: str | None, tier: Escalation | None = None) -> None:
        if not enabled(logging.WARNING):
            return
        fields: dict[str, object] = {"error_code": code}
        if tier is not None:
            fields.update(case_id=tier.case_id, kind=tier.kind, cycle=tier.cycle, tier=tier.tier)
        self._log.warning(event, **safe_fields(fields))
