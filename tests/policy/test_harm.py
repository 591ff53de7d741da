"""One harm vocabulary for every lifecycle, aligned with the LFPSE harm grades (§8.1)."""

from __future__ import annotations

import pytest

from psirf_flow.policy import PhysicalHarm, PsychologicalHarm
from psirf_flow.policy.harm import (
    CANDOUR_HARM_CODES,
    LEGACY_HARM_CODES,
    PHYSICAL_HARM_CODES,
    PSYCHOLOGICAL_HARM_CODES,
    SCREENED_PHYSICAL_HARM,
    SCREENED_PSYCHOLOGICAL_HARM,
    current_harm_code,
    harm_screened,
)
from psirf_flow.workflows.candour import DUTY_OF_CANDOUR, HARM_CATEGORIES
from psirf_flow.workflows.intake import INTAKE, PHYSICAL_HARM, PSYCHOLOGICAL_HARM


def _choices(spec_fields: object, name: str) -> tuple[str, ...]:
    assert isinstance(spec_fields, tuple)
    return next(f.choices for f in spec_fields if f.name == name)


def test_codes_are_the_lfpse_grades_least_serious_first() -> None:
    """Psirf-rules §8.1: the codes are the LFPSE grades 5..1 (physical), 4..1 (psychological)."""
    assert PHYSICAL_HARM_CODES == ("none", "low", "moderate", "severe", "fatal")
    assert PSYCHOLOGICAL_HARM_CODES == ("none", "low", "moderate", "severe")
    assert [PhysicalHarm[c.upper()].value for c in PHYSICAL_HARM_CODES] == [5, 4, 3, 2, 1]
    assert [PsychologicalHarm[c.upper()].value for c in PSYCHOLOGICAL_HARM_CODES] == [4, 3, 2, 1]
    assert (*PHYSICAL_HARM_CODES, "prolonged_psychological") == CANDOUR_HARM_CODES


def test_every_lifecycle_uses_the_one_vocabulary() -> None:
    """Issue 9 item 11: intake and candour take the same codes as the policy enums."""
    assert PHYSICAL_HARM == PHYSICAL_HARM_CODES
    assert PSYCHOLOGICAL_HARM == PSYCHOLOGICAL_HARM_CODES
    assert HARM_CATEGORIES == CANDOUR_HARM_CODES
    assert _choices(INTAKE.opening.fields, "physical_harm") == PHYSICAL_HARM_CODES
    assert _choices(INTAKE.opening.fields, "psychological_harm") == PSYCHOLOGICAL_HARM_CODES
    update = INTAKE.transition("update_incident_record")
    assert update is not None
    assert _choices(update.fields, "physical_harm") == PHYSICAL_HARM_CODES
    determine = DUTY_OF_CANDOUR.transition("determine_notifiable")
    assert determine is not None
    assert _choices(determine.fields, "harm_category") == CANDOUR_HARM_CODES


@pytest.mark.parametrize(
    ("code", "expected"),
    [("no_harm", "none"), ("death", "fatal"), ("none", "none"), ("fatal", "fatal"), (3, 3)],
)
def test_old_words_read_as_current_codes(code: object, expected: object) -> None:
    """Stored cases keep their old words; readers see the current code."""
    assert current_harm_code(code) == expected


def test_old_words_are_not_new_codes() -> None:
    """New payloads use the current codes only: no old word is still a code."""
    assert set(LEGACY_HARM_CODES).isdisjoint(CANDOUR_HARM_CODES)
    assert set(LEGACY_HARM_CODES.values()) <= set(CANDOUR_HARM_CODES)


SCREENING = [
    # physical, psychological, screened (psirf-rules §9.4)
    ("none", "none", False),
    ("low", "low", False),
    ("moderate", None, True),
    ("severe", None, True),
    ("fatal", None, True),
    ("death", None, True),
    ("no_harm", "moderate", True),
    (None, "severe", True),
    (None, None, False),
    ("low", "prolonged_psychological", False),
]


@pytest.mark.parametrize(("physical", "psychological", "screened"), SCREENING)
def test_screening_is_moderate_or_above(
    physical: str | None, psychological: str | None, screened: bool
) -> None:
    """Psirf-rules §9.4: moderate or above, physical or psychological, starts an assessment."""
    assert harm_screened(physical, psychological) is screened


def test_screened_sets() -> None:
    """Psirf-rules §9.4: the screened grades, named."""
    assert {"moderate", "severe", "fatal"} == SCREENED_PHYSICAL_HARM
    assert {"moderate", "severe"} == SCREENED_PSYCHOLOGICAL_HARM
