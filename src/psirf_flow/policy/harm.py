"""One harm vocabulary for every lifecycle, taken from the LFPSE harm grades (psirf-rules §8.1).

The codes are the lower-case labels of [`PhysicalHarm`][psirf_flow.policy.facts.PhysicalHarm] and
[`PsychologicalHarm`][psirf_flow.policy.facts.PsychologicalHarm] (the LFPSE grades ``PhysicalHarm``
5 to 1 and ``PsychologicalHarm`` 4 to 1, S-LFPSE-T ✔), listed from the least to the most serious:

* physical harm: ``none``, ``low``, ``moderate``, ``severe``, ``fatal``;
* psychological harm: ``none``, ``low``, ``moderate``, ``severe``;
* the harm a health care professional records when determining a duty-of-candour case
  (regulation 20(7) and (8), psirf-rules §4.2): the physical codes plus
  ``prolonged_psychological`` (experienced, or likely to be, for at least 28 continuous days).

The intake's harm fields, the duty-of-candour determination, the candour screening coupling
and triage's facts all use these codes, so an incident graded ``fatal`` at intake is
``fatal`` in its candour case too.

Earlier releases used other words: the intake's physical harm said ``no_harm`` and the
candour determination said ``no_harm`` and ``death``. Audit entries are immutable, so
cases recorded with the old words keep them;
[`current_harm_code`][psirf_flow.policy.harm.current_harm_code] reads an old code as its current one
wherever a guard or a coupling looks at stored facts (new commands must use the current codes).

Screening (psirf-rules §9.4, INF mapping of the HARD reg 20(8) trigger): harm graded moderate
or above, physical or psychological, opens a duty-of-candour assessment; the decision that
an incident is notifiable stays with a health care professional.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from psirf_flow.policy.facts import PhysicalHarm, PsychologicalHarm


__all__ = [
    "CANDOUR_HARM_CODES",
    "LEGACY_HARM_CODES",
    "PHYSICAL_HARM_CODES",
    "PROLONGED_PSYCHOLOGICAL",
    "PSYCHOLOGICAL_HARM_CODES",
    "SCREENED_PHYSICAL_HARM",
    "SCREENED_PSYCHOLOGICAL_HARM",
    "current_harm_code",
    "harm_screened",
]

PHYSICAL_HARM_CODES: Final = tuple(h.label for h in sorted(PhysicalHarm, reverse=True))
"""LFPSE physical harm grades, least serious first (the labels of ``PhysicalHarm``)."""
PSYCHOLOGICAL_HARM_CODES: Final = tuple(h.label for h in sorted(PsychologicalHarm, reverse=True))
"""LFPSE psychological harm grades, least serious first (the labels of ``PsychologicalHarm``)."""
PROLONGED_PSYCHOLOGICAL: Final = "prolonged_psychological"
"""Prolonged psychological harm (reg 20(7)): at least 28 continuous days."""
CANDOUR_HARM_CODES: Final = (*PHYSICAL_HARM_CODES, PROLONGED_PSYCHOLOGICAL)
"""The harm a health care professional records when determining a candour case."""

LEGACY_HARM_CODES: Final[Mapping[str, str]] = MappingProxyType(
    {"no_harm": PhysicalHarm.NONE.label, "death": PhysicalHarm.FATAL.label}
)
"""Words of earlier releases, read as the current codes (never accepted in new payloads)."""

SCREENED_PHYSICAL_HARM: Final = frozenset(
    h.label for h in PhysicalHarm if h.at_least(PhysicalHarm.MODERATE)
)
"""Physical grades that start a duty-of-candour assessment (moderate, severe, fatal)."""
SCREENED_PSYCHOLOGICAL_HARM: Final = frozenset(
    h.label for h in PsychologicalHarm if h.at_least(PsychologicalHarm.MODERATE)
)
"""Psychological grades that start a duty-of-candour assessment (moderate, severe)."""


def current_harm_code(code: object) -> object:
    """``code`` in the current vocabulary: an old word becomes its code, anything else stays.

    Examples:
        ```python
        from psirf_flow.policy.harm import current_harm_code
        current_harm_code("no_harm"), current_harm_code("death"), current_harm_code("low")
        # ('none', 'fatal', 'low')
        ```
    """
    if isinstance(code, str):
        return LEGACY_HARM_CODES.get(code, code)
    return code


def harm_screened(physical: object, psychological: object) -> bool:
    """Tell whether a grading starts a candour assessment (moderate or above, psirf-rules §9.4).

    Old words are read as their current codes; anything unknown or absent does not screen.

    Examples:
        ```python
        from psirf_flow.policy.harm import harm_screened
        harm_screened("fatal", None), harm_screened("low", "moderate")  # (True, True)
        harm_screened("no_harm", "low")  # False
        ```
    """
    return (
        current_harm_code(physical) in SCREENED_PHYSICAL_HARM
        or current_harm_code(psychological) in SCREENED_PSYCHOLOGICAL_HARM
    )
