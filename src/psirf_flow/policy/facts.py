"""The facts about an incident that triage looks at: codes, flags, numbers, dates and times.

[`IncidentFacts`][psirf_flow.policy.facts.IncidentFacts] is what the host system tells triage about
one incident. Every field is a code, a flag, a number (an age, a gestation, a count), a date, a time
of day, a duration or a harm level from the national recording system (LFPSE, psirf-rules §8.1).
Nothing here may carry a name, a narrative or an NHS number: codes are checked with
[`psirf_flow.domain.check_identifier`][psirf_flow.domain.check_identifier].

[`FACTS`][psirf_flow.policy.facts.FACTS] is the catalogue of built-in facts a condition in a plan or
in the national rule set may test, with the kind of each. A plan may declare facts of its own
(``[facts.<name>]`` with a ``kind``, [`FactDeclaration`][psirf_flow.policy.facts.FactDeclaration]);
their values reach triage in ``IncidentFacts(extra={...})`` and
[`check_extra_facts`][psirf_flow.policy.facts.check_extra_facts] checks them against the declared
kinds. Conditions can use only the catalogue plus the plan's own facts, so a typo in a plan is
reported when it is loaded rather than silently never matching.

Real plans speak of ages ("adults", "under 18"), gestation ("born at 37 weeks or more"),
counts ("more than one specialty involved"), times of day ("between 22:00 and 06:00") and
windows ("within 48 hours of admission"): these are numeric, time-of-day and duration facts
(psirf-rules §1.8: the plan's local priorities are LOCAL, so their wording is data). A
fact the host has not given is *missing* (``None``): a missing fact never matches a
comparison (see [`psirf_flow.policy.conditions`][psirf_flow.policy.conditions]).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from enum import Enum, IntEnum, StrEnum
from types import MappingProxyType
from typing import Any, Final

import attrs

from psirf_flow.domain import check_identifier
from psirf_flow.errors import InvalidInput
from psirf_flow.policy._problems import close_match
from psirf_flow.policy.calendars import UK_TIME


__all__ = [
    "DECLARABLE_KINDS",
    "FACTS",
    "MAX_AGE_YEARS",
    "MAX_GESTATION_WEEKS",
    "Duration",
    "DurationUnit",
    "FactDeclaration",
    "FactKind",
    "IncidentFacts",
    "PhysicalHarm",
    "PsychologicalHarm",
    "catalogue",
    "check_extra_facts",
    "parse_duration",
    "parse_time_of_day",
]

MAX_AGE_YEARS: Final = 130
"""The oldest age accepted, in years (a larger number is a mistake, not a person)."""
MAX_GESTATION_WEEKS: Final = 45
"""The longest gestation accepted, in weeks (beyond it the number is a mistake)."""


class PhysicalHarm(IntEnum):
    """Physical harm as recorded in LFPSE (``PatientInformation.PhysicalHarm``).

    The values are the LFPSE codes, so a *lower* value is *more* severe (psirf-rules §8.1,
    S-LFPSE-T ✔). Harm levels drive duty of candour, never the choice of learning response
    on their own (psirf-rules §1, design consequence).
    """

    FATAL = 1
    SEVERE = 2
    MODERATE = 3
    LOW = 4
    NONE = 5

    @property
    def label(self) -> str:
        """The lower-case name used in plan files (for example ``"moderate"``)."""
        return self.name.lower()

    def at_least(self, other: PhysicalHarm) -> bool:
        """Tell whether this harm is as severe as ``other`` or more severe."""
        return self.value <= other.value


class PsychologicalHarm(IntEnum):
    """Psychological harm as recorded in LFPSE (``PatientInformation.PsychologicalHarm``).

    LFPSE codes, lower is more severe; the field is experimental in LFPSE (psirf-rules §4.3,
    §8.1 ✔).
    """

    SEVERE = 1
    MODERATE = 2
    LOW = 3
    NONE = 4

    @property
    def label(self) -> str:
        """The lower-case name used in plan files (for example ``"moderate"``)."""
        return self.name.lower()

    def at_least(self, other: PsychologicalHarm) -> bool:
        """Tell whether this harm is as severe as ``other`` or more severe."""
        return self.value <= other.value


class FactKind(Enum):
    """What sort of value a fact holds, which decides the tests a condition may apply."""

    FLAG = "flag"
    """``True`` or ``False``; tested with ``is``."""
    CODE = "code"
    """One opaque code or nothing; tested with ``is``, ``in`` or ``present``."""
    CODES = "codes"
    """A set of opaque codes; tested with ``includes`` or ``in`` (any of)."""
    PHYSICAL_HARM = "physical_harm"
    """An LFPSE physical harm level; tested with ``is``, ``in`` or ``at_least``."""
    PSYCHOLOGICAL_HARM = "psychological_harm"
    """An LFPSE psychological harm level; tested with ``is``, ``in`` or ``at_least``."""
    NUMBER = "number"
    """A number (an age, a gestation in weeks, a count); compared with ``at_least`` etc."""
    DURATION = "duration"
    """A length of time (``"48 hours"``); compared like a number, and with ``within``."""
    DATE = "date"
    """A calendar date; compared with ``on_or_after``, ``before`` and ``between``."""
    TIME = "time"
    """A time of day (``"22:00"``); ``between`` may wrap midnight."""


DECLARABLE_KINDS: Final = frozenset(
    {
        FactKind.FLAG,
        FactKind.CODE,
        FactKind.CODES,
        FactKind.NUMBER,
        FactKind.DURATION,
        FactKind.DATE,
        FactKind.TIME,
    }
)
"""The kinds a plan may declare for a fact of its own (harm levels are LFPSE's alone)."""


class DurationUnit(StrEnum):
    """The units a duration is written in; each is a fixed length of time."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


_UNIT_DELTA: Final[Mapping[DurationUnit, timedelta]] = MappingProxyType(
    {
        DurationUnit.MINUTES: timedelta(minutes=1),
        DurationUnit.HOURS: timedelta(hours=1),
        DurationUnit.DAYS: timedelta(days=1),
        DurationUnit.WEEKS: timedelta(weeks=1),
    }
)
_DURATION_TEXT: Final = re.compile(r"\s*(\d{1,6})\s+(minute|hour|day|week)s?\s*")
_TIME_TEXT: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@attrs.frozen
class Duration:
    """A length of time as a plan writes it: ``"48 hours"``, ``"7 days"``, ``"30 minutes"``.

    Days and weeks are fixed lengths (24 hours, 7 days), not calendar or working days: a
    window "within 48 hours of admission" is measured on the clock.

    Attributes:
        amount: How many units (zero or more).
        unit: The unit.
    """

    amount: int
    unit: DurationUnit

    @property
    def delta(self) -> timedelta:
        """The duration as a `timedelta`."""
        return self.amount * _UNIT_DELTA[self.unit]

    def __str__(self) -> str:
        unit = self.unit.value[:-1] if self.amount == 1 else self.unit.value
        return f"{self.amount} {unit}"


def parse_duration(text: object) -> Duration | None:
    """``text`` as a `Duration` (``"48 hours"``, ``"1 day"``), or ``None``."""
    if not isinstance(text, str):
        return None
    match = _DURATION_TEXT.fullmatch(text)
    if match is None:
        return None
    return Duration(int(match.group(1)), DurationUnit(match.group(2) + "s"))


def parse_time_of_day(text: object) -> time | None:
    """``text`` as a time of day when written ``HH:MM`` (24-hour clock), or ``None``."""
    if not isinstance(text, str):
        return None
    match = _TIME_TEXT.fullmatch(text)
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


@attrs.frozen(kw_only=True)
class FactDeclaration:
    """A fact a plan declares for its own conditions (``[facts.<name>]``).

    Attributes:
        kind: What sort of value it holds (not a harm level).
        title: What people call it, for example ``"Time from call to arrival"``.
    """

    kind: FactKind
    title: str = ""


FACTS: Final[Mapping[str, FactKind]] = MappingProxyType(
    {
        "physical_harm": FactKind.PHYSICAL_HARM,
        "psychological_harm": FactKind.PSYCHOLOGICAL_HARM,
        "died": FactKind.FLAG,
        "death_more_likely_than_not_due_to_problems_in_care": FactKind.FLAG,
        "death_possibly_linked_to_problems_in_care": FactKind.FLAG,
        "detained_under_mha": FactKind.FLAG,
        "mca_applies": FactKind.FLAG,
        "child": FactKind.FLAG,
        "learning_disability_or_autistic": FactKind.FLAG,
        "in_custody": FactKind.FLAG,
        "never_event_type": FactKind.CODE,
        "mnsi_criteria_met": FactKind.FLAG,
        "mental_health_related_homicide": FactKind.FLAG,
        "domestic_homicide": FactKind.FLAG,
        "safeguarding_concern": FactKind.FLAG,
        "screening_incident": FactKind.FLAG,
        "service_line": FactKind.CODE,
        "setting": FactKind.CODE,
        "patient_groups": FactKind.CODES,
        "categories": FactKind.CODES,
        "emergent_risk": FactKind.FLAG,
        "age_years": FactKind.NUMBER,
        "gestation_weeks": FactKind.NUMBER,
        "specialties_involved": FactKind.NUMBER,
        "wards_involved": FactKind.NUMBER,
        "time_of_day": FactKind.TIME,
        "time_since_admission": FactKind.DURATION,
        "occurred_on": FactKind.DATE,
        "identified_on": FactKind.DATE,
    }
)
"""Every fact a condition may test, with its kind. Names are the fields of IncidentFacts."""


def catalogue(declared: Mapping[str, FactDeclaration] | None = None) -> Mapping[str, FactKind]:
    """Every fact a condition may test: the built-in `FACTS` plus a plan's own."""
    if not declared:
        return FACTS
    return MappingProxyType({**FACTS, **{name: d.kind for name, d in declared.items()}})


_DEATH_DETAIL_FLAGS: Final = (
    "death_more_likely_than_not_due_to_problems_in_care",
    "death_possibly_linked_to_problems_in_care",
)


def _code(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    problem = check_identifier(value)
    if problem is not None:
        msg = f"{attribute.name} {value!r} {problem}"
        raise ValueError(msg)


def _codes(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    assert isinstance(value, frozenset)  # the converter made it one
    for item in sorted(value, key=str):
        problem = check_identifier(item)
        if problem is not None:
            msg = f"{attribute.name} entry {item!r} {problem}"
            raise ValueError(msg)


def _to_codes(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number_in(low: float, high: float, *, whole: bool = False) -> Any:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None:
            return
        if not _is_number(value) or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            raise InvalidInput(attribute.name, f"must be {kind}, not {type(value).__name__}")
        assert isinstance(value, int | float)
        if not low <= value <= high:
            raise InvalidInput(attribute.name, f"must be between {low} and {high}, not {value}")

    return check


def _to_time(value: object) -> object:
    """``"HH:MM"`` text, or an aware instant read on the UK clock, as a time of day."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value  # refused by the validator: a naive instant has no clock
        return value.astimezone(UK_TIME).time().replace(tzinfo=None)
    parsed = parse_time_of_day(value)
    return value if parsed is None else parsed


def _time(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, time) or value.tzinfo is not None:
        raise InvalidInput(
            attribute.name,
            "must be a time of day written HH:MM (24-hour clock) without a zone, "
            "or an aware datetime",
        )


def _to_timedelta(value: object) -> object:
    if isinstance(value, Duration):
        return value.delta
    parsed = parse_duration(value)
    return value if parsed is None else parsed.delta


def _duration(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, timedelta):
        raise InvalidInput(attribute.name, 'must be a duration such as "48 hours" or a timedelta')
    if value < timedelta(0):
        raise InvalidInput(attribute.name, "must not be negative")


def _date(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
        raise InvalidInput(attribute.name, "must be a date (not a date and time)")


_FACT_NAME: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _extra_value(name: str, value: object) -> object:
    """``value`` as stored in ``extra`` (codes as a frozenset, a Duration as a timedelta)."""
    where = f"extra[{name!r}]"
    if isinstance(value, bool) or _is_number(value) or value is None:
        return value
    if isinstance(value, str):
        problem = check_identifier(value)
        if problem is not None:
            raise InvalidInput(where, problem)
        return value
    if isinstance(value, Duration):
        value = value.delta
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise InvalidInput(where, "must not be a negative duration")
        return value
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise InvalidInput(where, "must be a time of day without a zone")
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, set | frozenset | list | tuple):
        for item in value:
            problem = check_identifier(item)
            if problem is not None:
                raise InvalidInput(where, f"entry {problem}")
        return frozenset(value)
    raise InvalidInput(
        where,
        "must be a flag, a code, a set of codes, a number, a timedelta (or Duration), "
        f"a date or a time of day, not {type(value).__name__}",
    )


def _to_extra(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "extra", f"must be a mapping of fact names to values, not {type(value).__name__}"
        )
    out: dict[str, object] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _FACT_NAME.fullmatch(name):
            raise InvalidInput(
                "extra", "has a key that is not a fact name (lower-case letters, digits and _)"
            )
        if name in FACTS or name in _ATTRIBUTES:
            raise InvalidInput(
                "extra", f"{name!r} is a built-in fact; give it as IncidentFacts({name}=...)"
            )
        out[name] = _extra_value(name, item)
    return MappingProxyType(out)


def _kind_of(value: object) -> FactKind | None:
    """The kind a value given in ``extra`` is (``None`` when missing)."""
    kinds: tuple[tuple[type | tuple[type, ...], FactKind], ...] = (
        (bool, FactKind.FLAG),
        (str, FactKind.CODE),
        (frozenset, FactKind.CODES),
        ((int, float), FactKind.NUMBER),
        (timedelta, FactKind.DURATION),
        (time, FactKind.TIME),
        (date, FactKind.DATE),
    )
    for types, kind in kinds:
        if isinstance(value, types):
            return kind
    return None


@attrs.frozen(kw_only=True)
class IncidentFacts:
    """What triage knows about one incident: opaque codes, flags, dates and harm levels.

    Flags describe the person affected and the circumstances as the host has recorded
    them; triage never infers them. Setting a death detail (for example
    ``death_more_likely_than_not_due_to_problems_in_care``) requires ``died``; fatal
    physical harm requires ``died``.

    Attributes:
        incident_id: The host's opaque incident reference.
        occurred_on: When the incident happened.
        identified_on: When the organisation became aware of it (not before ``occurred_on``).
        physical_harm: LFPSE physical harm level.
        psychological_harm: LFPSE psychological harm level.
        died: The person affected has died (whatever the cause).
        death_more_likely_than_not_due_to_problems_in_care: A mortality review judged the
            death more likely than not due to problems in care (psirf-rules §3 row 2).
        death_possibly_linked_to_problems_in_care: There is reason to think the death may be
            linked to problems in care (psirf-rules §3 row 4).
        detained_under_mha: The person was detained under the Mental Health Act 1983.
        mca_applies: The Mental Capacity Act 2005 applied to the person.
        child: The person was a child (under 18).
        learning_disability_or_autistic: The person had a learning disability or was
            autistic (LeDeR scope, psirf-rules §3 row 7).
        in_custody: The person was in police custody, prison or other detention where
            health care was delivered by the NHS (psirf-rules §3 row 10).
        never_event_type: The Never Event type code when the incident meets the Never
            Events criteria, else ``None`` (psirf-rules §3 row 1, W1).
        mnsi_criteria_met: The maternity or neonatal incident meets MNSI's criteria.
        mental_health_related_homicide: A homicide by a person in receipt of mental health
            care (psirf-rules §3 row 5).
        domestic_homicide: A domestic homicide (psirf-rules §3 row 11).
        safeguarding_concern: There is a safeguarding concern (psirf-rules §3 row 8).
        screening_incident: The incident occurred in an NHS screening programme.
        service_line: The trust's code for the service line, for example
            ``"community_mental_health"``.
        setting: The trust's code for the care setting, for example ``"inpatient_ward"``.
        patient_groups: Codes of groups the person belongs to, for example
            ``"detained_mha"``.
        categories: Incident category codes, for example ``"falls"``, ``"pressure_ulcer"``.
        emergent_risk: Someone authorised has flagged an emergent or significant risk that
            needs an executive decision (psirf-rules §0.5 rule 1).
        age_years: The person's age in years (0 to
            [`MAX_AGE_YEARS`][psirf_flow.policy.facts.MAX_AGE_YEARS]), if known.
        gestation_weeks: Completed weeks of gestation (0 to
            [`MAX_GESTATION_WEEKS`][psirf_flow.policy.facts.MAX_GESTATION_WEEKS]), for maternity and
            neonatal incidents.
        specialties_involved: How many specialties were involved in the care (a count).
        wards_involved: How many wards or teams were involved (a count).
        time_of_day: The local (Europe/London) time of day the incident happened; a
            `time`, ``"HH:MM"`` text, or an aware datetime, which is
            read on the UK clock (so 21:30 UTC in summer is 22:30).
        time_since_admission: How long after admission it happened; a
            `timedelta`, a [`Duration`][psirf_flow.policy.facts.Duration] or text such as ``"36
            hours"``.
        extra: Values of the facts the plan declares itself (``[facts.<name>]``), by name;
            checked against the declarations by
            [`check_extra_facts`][psirf_flow.policy.facts.check_extra_facts].
    """

    incident_id: str = attrs.field(validator=_code)
    occurred_on: date | None = None
    identified_on: date | None = None
    physical_harm: PhysicalHarm = attrs.field(default=PhysicalHarm.NONE, converter=PhysicalHarm)
    psychological_harm: PsychologicalHarm = attrs.field(
        default=PsychologicalHarm.NONE, converter=PsychologicalHarm
    )
    died: bool = False
    death_more_likely_than_not_due_to_problems_in_care: bool = False
    death_possibly_linked_to_problems_in_care: bool = False
    detained_under_mha: bool = False
    mca_applies: bool = False
    child: bool = False
    learning_disability_or_autistic: bool = False
    in_custody: bool = False
    never_event_type: str | None = attrs.field(default=None, validator=_code)
    mnsi_criteria_met: bool = False
    mental_health_related_homicide: bool = False
    domestic_homicide: bool = False
    safeguarding_concern: bool = False
    screening_incident: bool = False
    service_line: str | None = attrs.field(default=None, validator=_code)
    setting: str | None = attrs.field(default=None, validator=_code)
    patient_groups: frozenset[str] = attrs.field(
        factory=frozenset, converter=_to_codes, validator=_codes
    )
    categories: frozenset[str] = attrs.field(
        factory=frozenset, converter=_to_codes, validator=_codes
    )
    emergent_risk: bool = False
    age_years: int | float | None = attrs.field(
        default=None, validator=_number_in(0, MAX_AGE_YEARS)
    )
    gestation_weeks: int | float | None = attrs.field(
        default=None, validator=_number_in(0, MAX_GESTATION_WEEKS)
    )
    specialties_involved: int | None = attrs.field(
        default=None, validator=_number_in(0, 10_000, whole=True)
    )
    wards_involved: int | None = attrs.field(
        default=None, validator=_number_in(0, 10_000, whole=True)
    )
    time_of_day: time | None = attrs.field(default=None, converter=_to_time, validator=_time)
    time_since_admission: timedelta | None = attrs.field(
        default=None, converter=_to_timedelta, validator=_duration
    )
    extra: Mapping[str, object] = attrs.field(
        factory=lambda: MappingProxyType({}), converter=_to_extra
    )

    def __attrs_post_init__(self) -> None:
        if not self.died:
            for name in _DEATH_DETAIL_FLAGS:
                if getattr(self, name):
                    msg = f"{name} is set but died is not"
                    raise ValueError(msg)
            if self.physical_harm is PhysicalHarm.FATAL:
                msg = "physical_harm is fatal but died is not set"
                raise ValueError(msg)
        if (
            self.occurred_on is not None
            and self.identified_on is not None
            and self.identified_on < self.occurred_on
        ):
            msg = "identified_on is before occurred_on"
            raise ValueError(msg)

    def value_of(self, fact: str) -> object:
        """The value of the fact called ``fact``: a built-in one or one given in ``extra``.

        A plan's own fact that the host has not given is missing (``None``).

        Raises:
            KeyError: If ``fact`` names a field that is not a fact (``incident_id``).
        """
        if fact in FACTS:
            return getattr(self, fact)
        if fact in _ATTRIBUTES:
            raise KeyError(fact)
        return self.extra.get(fact)


_ATTRIBUTES: Final = frozenset({"incident_id", "extra"})


def check_extra_facts(facts: IncidentFacts, declared: Mapping[str, FactDeclaration]) -> None:
    """Check the plan's own facts given in ``facts.extra`` against their declarations.

    Every name in ``extra`` must be declared by the plan (``[facts.<name>]``), and each
    value must be of the declared kind: a flag ``bool``, a code ``str``, codes a set of
    ``str``, a number ``int`` or ``float``, a duration a ``timedelta`` (or
    [`Duration`][psirf_flow.policy.facts.Duration]), a date a ``date``, a time a ``time``. A
    ``None`` value is missing.

    Raises:
        InvalidInput: Naming the first fact that is undeclared or of the wrong kind.
    """
    for name, value in sorted(facts.extra.items()):
        declaration = declared.get(name)
        if declaration is None:
            close = close_match(name, declared)
            hint = f"; did you mean {close!r}?" if close else ""
            known = ", ".join(sorted(declared)) or "none"
            raise InvalidInput(
                f"extra[{name!r}]", f"is not a fact this plan declares (declared: {known}){hint}"
            )
        kind = _kind_of(value)
        if kind is not None and kind is not declaration.kind:
            raise InvalidInput(
                f"extra[{name!r}]",
                f"is a {kind.value} but the plan declares a {declaration.kind.value}",
            )
