"""Checks every store adapter applies the same way (private to ``psirf_flow.store``).

`check_claim` refuses a bad call to ``Store.claim_due`` with
[`InvalidInput`][psirf_flow.errors.InvalidInput] naming the argument; `check_tiers` refuses a
change whose escalation tiers a store could not keep as they are.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from psirf_flow.errors import InvalidInput, StoreError, shown
from psirf_flow.ports import Change


__all__ = ["LONGEST_CLAIMANT", "MOST_CLAIMED", "ROLE_SEPARATOR", "check_claim", "check_tiers"]

MOST_CLAIMED: Final = 10_000
"""The most tiers one call to ``claim_due`` may claim."""
LONGEST_CLAIMANT: Final = 128
"""The longest claimant name (the SQL column's width)."""
ROLE_SEPARATOR: Final = ","
"""What joins the roles a tier notifies when a store keeps them as one text."""


def check_claim(now: object, limit: object, claimant: object, lease: object) -> None:
    """Refuse arguments of ``claim_due`` that are not what its signature promises.

    Raises:
        InvalidInput: Naming ``now`` (not an aware datetime), ``limit`` (not a whole number
            from 1 to 10,000), ``claimant`` (not a non-empty text of at most 128
            characters) or ``lease`` (not a positive timedelta).
    """
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput("now", f"must be an aware datetime, got {shown(now)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MOST_CLAIMED:
        raise InvalidInput("limit", f"must be a whole number from 1 to {MOST_CLAIMED:,}")
    if not isinstance(claimant, str) or not 0 < len(claimant) <= LONGEST_CLAIMANT:
        raise InvalidInput("claimant", f"must be a text of 1 to {LONGEST_CLAIMANT} characters")
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise InvalidInput("lease", f"must be a positive timedelta, got {shown(lease)}")


def check_tiers(change: Change) -> None:
    """Refuse a change whose tiers belong to another case or name an unusable role.

    Raises:
        StoreError: If a tier is of another case, or a role to notify is empty or holds a
            comma.
    """
    case_id = change.case.id
    for tier in change.escalations:
        if tier.case_id != case_id:
            msg = "an escalation in the change belongs to another case"
            raise StoreError(msg)
        if any(not role or ROLE_SEPARATOR in role for role in tier.notify):
            msg = (
                f"escalation tier {tier.tier} of case {case_id!r} names a role to notify"
                " that is empty or holds a comma"
            )
            raise StoreError(msg)
