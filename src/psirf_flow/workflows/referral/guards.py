"""Guards of a referral record: information supplied after it is requested, findings received.

A referral to a body leading its own investigation (psirf-rules §3, §9.0, INF) records the
body's request for information before anything is supplied, and closes on the body's
findings only once their receipt is recorded. The guards a referral shares with the intake
(one referral per body, the body allowed) live in
[`psirf_flow.workflows.guards_referral`][psirf_flow.workflows.guards_referral].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from psirf_flow.domain import GuardResult
from psirf_flow.workflows.guards import GuardInput


__all__ = ["REFERRAL_RECORD_GUARDS"]

GuardRow = tuple[str, Callable[[GuardInput], GuardResult], str, bool]

_result = GuardResult.judge


def _information_requested_first(g: GuardInput) -> GuardResult:
    """Information is supplied only after the leading body asked, never dated before.

    Rule: [Information goes to a leading body when it asks; findings are received before closing on
    them][referral-information-on-request].
    """
    name = "information_requested_first"
    requested = g.facts.get("information_requested_date")
    if not isinstance(requested, str):
        return _result(
            name,
            False,
            "information_not_requested",
            "no request for information from the body leading the investigation is recorded",
        )
    supplied = g.facts.get("information_supplied_date")
    return _result(
        name,
        not isinstance(supplied, str) or supplied >= requested,
        "supplied_before_requested",
        f"information cannot be supplied ({supplied}) before it was requested ({requested})",
    )


def _findings_received_if_claimed(g: GuardInput) -> GuardResult:
    """A referral closed on the body's findings has their receipt recorded.

    Rule: [Information goes to a leading body when it asks; findings are received before closing on
    them][referral-information-on-request].
    """
    claimed = g.payload.get("referral_outcome") == "findings_received"
    return _result(
        "findings_received_if_claimed",
        not claimed or isinstance(g.facts.get("findings_received_date"), str),
        "findings_not_received",
        "the referral is being closed on the body's findings, but receiving them is not recorded",
    )


REFERRAL_RECORD_GUARDS: Final[tuple[GuardRow, ...]] = (
    (
        "information_requested_first",
        _information_requested_first,
        "Information is supplied only after the leading body requested it, never dated "
        "before the request.",
        True,
    ),
    (
        "findings_received_if_claimed",
        _findings_received_if_claimed,
        "A referral closed on the body's findings has their receipt recorded.",
        True,
    ),
)
"""Every guard of this module, registered by the referral definition."""
