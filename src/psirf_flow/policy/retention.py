"""Retention per incident: the class a record needs, raised to its incident's and never lowered.

The Records Management Code of Practice (psirf-rules §4.5 and §7.2, S-RMCOP ✔, HARD as a
code of practice) keeps serious-incident records 20 years and other incident records 10
years from the date of the incident; under PSIRF, PSII and national-requirement records
are the serious ones (INF). Three rules follow, all pure:

* **Per incident.** The records of one incident (its intake, learning responses, duty of
  candour case and safety actions) are one file: every one of them is kept as long as the
  longest any of them needs. A record's class is the longest of its own class and the
  classes of the incident's other records, its *floor*
  ([`settled_class`][psirf_flow.policy.retention.settled_class]).
* **Never lowered.** A record's earlier class is part of its floor, so later facts (a
  re-triage, a reworked decision) never shorten how long it is kept.
* **Not below the Code.** A plan may lengthen periods but never set one shorter than the
  Code's minimum: every class keeps records at least
  [`MINIMUM_YEARS`][psirf_flow.policy.retention.MINIMUM_YEARS], and the class serious records fall
  in at least [`SERIOUS_MINIMUM_YEARS`][psirf_flow.policy.retention.SERIOUS_MINIMUM_YEARS]
  ([`minimum_problems`][psirf_flow.policy.retention.minimum_problems], which the plan loader reports
  at the TOML paths).

A record's retention is reviewed on the same calendar date its class's years after the
incident ([`review_date`][psirf_flow.policy.retention.review_date], the counting rule of
[`psirf_flow.policy.timing.retention_review_date`][psirf_flow.policy.timing.retention_review_date]).

Class names the settings no longer define are ignored when comparing (a plan that renamed
its classes); ties in years are broken by name, as
[`class_for`][psirf_flow.policy.plan.RetentionSettings.class_for] does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Final

from psirf_flow.policy.plan import LifecycleVariant, RetentionClass, RetentionSettings
from psirf_flow.policy.timing import retention_review_date


__all__ = [
    "MINIMUM_YEARS",
    "SERIOUS_MINIMUM_YEARS",
    "highest_class",
    "lifecycle_variants",
    "minimum_problems",
    "national_requirement",
    "raised_to",
    "review_date",
    "settled_class",
]

MINIMUM_YEARS: Final = 10
"""The shortest period the Code allows for any incident record: 10 years (psirf-rules §4.5)."""
SERIOUS_MINIMUM_YEARS: Final = 20
"""The shortest period for serious-incident records (PSII and national requirement): 20 years."""

Problem = tuple[tuple[str, ...], str]
"""A problem in a plan's ``[retention]`` table: its path below ``retention`` and a message."""

_VARIANTS: Final = frozenset(v.value for v in LifecycleVariant)
"""The workflow names that are learning-response lifecycle variants."""
_LEARNING_RESPONSE: Final = "learning_response"
"""The workflow family whose cases run on a learning-response lifecycle variant."""


def highest_class(settings: RetentionSettings, names: Iterable[str | None]) -> str | None:
    """The longest-kept of ``names`` that ``settings`` defines (ties by name), or ``None``."""
    known = [n for n in names if n is not None and n in settings.classes]
    if not known:
        return None
    return max(known, key=lambda n: (settings.classes[n].years, n))


def lifecycle_variants(workflow: str, family: str) -> tuple[LifecycleVariant, ...]:
    """The learning-response lifecycle a record runs on, for its class (psirf-rules §4.5).

    A case of the learning-response family whose workflow is one of the variants (a PSII,
    an after-action review, ...) runs on that variant; any other record on none.
    """
    if family == _LEARNING_RESPONSE and workflow in _VARIANTS:
        return (LifecycleVariant(workflow),)
    return ()


def national_requirement(facts: Mapping[str, object]) -> bool:
    """Whether a record's facts record a national requirement (psirf-rules §4.5, §7.2).

    Its basis is ``national_requirement`` or it names national rules
    (``national_rule_refs``); such records are kept as serious-incident records.
    """
    return facts.get("basis") == "national_requirement" or bool(facts.get("national_rule_refs"))


def raised_to(settings: RetentionSettings, own: str, floor: Iterable[str | None]) -> str:
    """``own`` raised to the longest-kept class of ``floor`` (never lowered, per incident).

    Classes ``settings`` does not define are ignored; ``own`` is kept when nothing known is
    longer (or when ``settings`` no longer defines any of them).
    """
    settled = highest_class(settings, (own, *floor))
    return own if settled is None else settled


def settled_class(
    settings: RetentionSettings,
    variants: Iterable[LifecycleVariant],
    *,
    national_requirement: bool,
    floor: Iterable[str | None] = (),
) -> str:
    """The class a record carries: its own need, raised to its floor (psirf-rules §4.5).

    Args:
        settings: The plan's retention settings.
        variants: The learning-response lifecycles the record runs on (none for others).
        national_requirement: Whether the record's facts record a national requirement.
        floor: Classes it must not fall below: the record's class so far (never lowered)
            and the classes of the other records of its incidents (per incident).
    """
    own, _ = settings.class_for(variants, national_requirement=national_requirement)
    return raised_to(settings, own, floor)


def minimum_problems(settings: RetentionSettings) -> list[Problem]:
    """Where ``settings`` keeps records shorter than the Code allows (psirf-rules §4.5, §7.2).

    Every class keeps records at least [`MINIMUM_YEARS`][psirf_flow.policy.retention.MINIMUM_YEARS];
    the class a PSII's records and a national-requirement incident's records fall in keeps them at
    least [`SERIOUS_MINIMUM_YEARS`][psirf_flow.policy.retention.SERIOUS_MINIMUM_YEARS]. Paths are
    below the ``retention`` table.
    """
    problems: list[Problem] = [
        (
            ("classes", name, "years"),
            f"must be at least {MINIMUM_YEARS} years, the Records Management Code's minimum "
            f"for incident records, not {rc.years}",
        )
        for name, rc in settings.classes.items()
        if rc.years < MINIMUM_YEARS
    ]
    if not settings.classes or settings.default_class not in settings.classes:
        return problems  # reported elsewhere; the serious class cannot be worked out
    serious: dict[str, list[str]] = {}
    for what, (name, rc) in (
        ("PSII", settings.class_for([LifecycleVariant.PSII], national_requirement=False)),
        ("national-requirement", settings.class_for([], national_requirement=True)),
    ):
        if MINIMUM_YEARS <= rc.years < SERIOUS_MINIMUM_YEARS:
            serious.setdefault(name, []).append(what)
    problems.extend(
        (
            ("classes", name, "years"),
            f"{' and '.join(whats)} records fall in this class, so it must keep them at least "
            f"{SERIOUS_MINIMUM_YEARS} years (the Records Management Code's period for serious "
            f"incidents), not {settings.classes[name].years}",
        )
        for name, whats in serious.items()
    )
    return problems


def review_date(incident_date: date, retention_class: RetentionClass) -> date:
    """When a record of ``retention_class`` is due for review (psirf-rules §4.5).

    The Records Management Code counts from the date of the incident: the review falls on
    the same calendar date the class's years later (28 February for an incident on 29
    February), with no working-day roll-forward.

    Examples:
        ```python
        from datetime import date
        from psirf_flow.policy.plan import RetentionClass
        from psirf_flow.policy.retention import review_date
        review_date(date(2024, 2, 29), RetentionClass(years=10))  # date(2034, 2, 28)
        ```

    Args:
        incident_date: The incident's date (Europe/London).
        retention_class: The record's retention class.

    Raises:
        ValueError: If ``incident_date`` is not a date or ``retention_class`` is not a
            [`RetentionClass`][psirf_flow.policy.plan.RetentionClass]; the message names the
            argument.
    """
    return retention_review_date(incident_date, _retention_class(retention_class).years)


def _retention_class(value: object) -> RetentionClass:
    if not isinstance(value, RetentionClass):
        msg = "retention_class must be a RetentionClass"
        raise ValueError(msg)
    return value
