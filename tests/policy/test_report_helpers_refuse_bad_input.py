"""The pure reporting and scheduling helpers refuse bad input with InvalidInput only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from psirf_flow.errors import InvalidInput
from psirf_flow.oversight import (
    overridden_national_requirements,
    plan_departures,
    reserve_capacity_use,
)
from psirf_flow.policy import load_plan_file, thematic_reviews_due
from psirf_flow.policy.thematic import ThematicReviewDue, commissioning_payload, gathered_reviews


PLAN = load_plan_file(
    Path(__file__).parents[2] / "examples" / "plan-mental-health-community-trust.toml"
)
DAY = date(2026, 7, 1)
DUE = ThematicReviewDue(
    review_id="discharge-quarterly",
    response_type="thematic_review",
    due_on=DAY,
    next_due=date(2026, 9, 30),
    incident_ids=("INC-1", "INC-2"),
)

ROWS: list[tuple[str, Callable[[], object], str]] = [
    ("overrides-none", lambda: overridden_national_requirements(None), "entries"),  # type: ignore[arg-type]
    ("overrides-text", lambda: overridden_national_requirements("abc"), "entries"),  # type: ignore[arg-type]
    ("overrides-not-entries", lambda: overridden_national_requirements([1]), "entries"),  # type: ignore[list-item]
    ("departures-none", lambda: plan_departures(None), "entries"),  # type: ignore[arg-type]
    ("departures-not-entries", lambda: plan_departures([{}]), "entries"),  # type: ignore[list-item]
    ("reserve-entries", lambda: reserve_capacity_use(None, PLAN, on=DAY), "entries"),  # type: ignore[arg-type]
    ("reserve-plan", lambda: reserve_capacity_use([], None, on=DAY), "plan"),  # type: ignore[arg-type]
    ("reserve-on", lambda: reserve_capacity_use([], PLAN, on="2026-07-01"), "on"),  # type: ignore[arg-type]
    ("due-plan", lambda: thematic_reviews_due(None, on=DAY), "plan"),  # type: ignore[arg-type]
    ("due-on", lambda: thematic_reviews_due(PLAN, on=None), "on"),  # type: ignore[arg-type]
    ("due-gathered", lambda: thematic_reviews_due(PLAN, on=DAY, gathered=[1]), "gathered"),  # type: ignore[arg-type]
    ("gathered-none", lambda: gathered_reviews(None), "intakes"),  # type: ignore[arg-type]
    ("gathered-text", lambda: gathered_reviews("facts"), "intakes"),  # type: ignore[arg-type]
    ("commission-due", lambda: commissioning_payload(None), "due"),  # type: ignore[arg-type]
    ("commission-ids-text", lambda: commissioning_payload(DUE, "INC-1"), "incident_ids"),
    ("commission-ids-number", lambda: commissioning_payload(DUE, 7), "incident_ids"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("call", "argument"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input_is_refused_naming_the_argument(
    call: Callable[[], object], argument: str
) -> None:
    """A wrong argument raises InvalidInput (PSF700) naming it, never a raw Python error."""
    with pytest.raises(InvalidInput) as refused:
        call()

    assert refused.value.argument == argument
    assert refused.value.code == "PSF700"


def test_good_input_still_answers() -> None:
    """The checks let the documented inputs through unchanged."""
    assert overridden_national_requirements([]) == []
    assert plan_departures(iter([])) == []
    assert gathered_reviews([{"incident_id": "INC-1", "thematic_review_ids": ("r",)}]) == {
        "r": ("INC-1",)
    }
    assert commissioning_payload(DUE)["incident_ids"] == ["INC-1", "INC-2"]
    assert reserve_capacity_use([], PLAN, on=DAY)[0].used == 0
