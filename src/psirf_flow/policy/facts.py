"""The facts about an incident that triage looks at: opaque codes and flags, never free text.

:class:`IncidentFacts` is what the host system tells triage about one incident. Every
field is a code, a flag, a date or a harm level from the national recording system
(LFPSE, psirf-rules §8.1). Nothing here may carry a name, a narrative or an NHS number:
codes are checked with :func:`psirf_flow.domain.check_identifier`.

:data:`FACTS` is the catalogue of facts a condition in a plan or in the national rule set
may test, with the kind of each (flag, harm level, single code or set of codes). It is the
only vocabulary conditions can use, so a typo in a plan is reported when it is loaded
rather than silently never matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from enum import Enum, IntEnum
from types import MappingProxyType
from typing import Any, Final

import attrs

from psirf_flow.domain import check_identifier


__all__ = [
    "FACTS",
    "FactKind",
    "IncidentFacts",
    "PhysicalHarm",
    "PsychologicalHarm",
]


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


#: Every fact a condition may test, with its kind. Names are the fields of IncidentFacts.
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
    }
)

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
        """The value of the fact called ``fact`` (one of :data:`FACTS`).

        Raises:
            KeyError: If ``fact`` is not a known fact.
        """
        if fact not in FACTS:
            raise KeyError(fact)
        return getattr(self, fact)
