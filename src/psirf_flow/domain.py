"""Frozen value records shared by every layer: people, cases, commands and guard results.

Nothing here performs I/O, reads a clock or logs. Records are immutable; a change to a
case is a new [`Case`][psirf_flow.domain.Case] made with `attrs.evolve`.

Identifiers are opaque strings chosen by the host system. They must never carry
patient-identifiable data. [`check_identifier`][psirf_flow.domain.check_identifier] applies one rule
everywhere an id is expected (case, actor, organisation and payload ids):

* 1 to 128 characters of letters, digits and ``._:@/#+-``, starting with a letter or a
  digit (so no spaces: names and free text are refused);
* no NHS number **anywhere in it**: the digits of the id are read as chains, where two
  digits belong to the same chain when at most one space, hyphen or dot stands between
  them (``pt-9434765919``, ``943.476.5919``, ``NHS9434765919``, ``943-476-5919x``); every
  ten consecutive digits of a chain are tested with the NHS number's modulus 11 check
  digit, and any that pass make the id refused. Ten digits that fail the check are
  allowed (one in eleven ten-digit runs passes by chance, so an id made of long digit
  runs can be refused: keep fewer than ten digits in a row, or put letters between them);
* no e-mail address anywhere in it (``someone@example.org``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.errors import InvalidInput, shown


__all__ = [
    "IDENTIFIER_MAX_LENGTH",
    "OVERSIGHT_ROLES",
    "SYSTEM_ACTOR_ID",
    "Actor",
    "Case",
    "Command",
    "Deadline",
    "DeadlineStatus",
    "Escalation",
    "EscalationStatus",
    "FactValue",
    "GuardResult",
    "OutboxMessage",
    "Reader",
    "Role",
    "SystemReader",
    "check_identifier",
    "contains_nhs_number",
    "frozen_facts",
    "is_nhs_number",
    "to_role",
]

FactValue = str | int | bool | tuple[str, ...]
"""What a case may hold as a declared fact: an opaque id, a choice, a flag, a count,
an ISO date, a salted hash of free text, or a tuple of ids."""

SYSTEM_ACTOR_ID: Final = "psirf-flow"
"""The actor id of psirf_flow itself, recorded in the audit entries of coupled steps. It is
reserved, like [`Role.SYSTEM`][psirf_flow.domain.Role.SYSTEM]: the engine refuses host code acting
under it, in any letter case (psirf-rules §9.4)."""

IDENTIFIER_MAX_LENGTH: Final = 128
"""The longest opaque identifier (case ids, actor ids, message ids)."""

_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/#+-]{0,127}")  # 128 at most
_NHS_NUMBER_SHAPE: Final = re.compile(r"\d{3}([ .-]?)\d{3}\1\d{4}")
_DIGIT_CHAIN: Final = re.compile(r"\d(?:[ .-]?\d)*")
"""Digits joined by at most one space, hyphen or dot: where an NHS number may hide."""
_TEN_CHAINED_DIGITS: Final = re.compile(r"\d(?:[ .-]?\d){9}")
"""Ten digits of one chain: a value without them holds no NHS number (a cheap first test)."""
_LONGEST_CHECKED: Final = 256
"""Longer values are refused by shape anyway; only their start is searched for digits."""
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")


class Role(StrEnum):
    """A role a person holds in a trust's patient safety system (psirf-rules §5)."""

    REPORTER = "reporter"
    PATIENT_SAFETY_SPECIALIST = "patient_safety_specialist"
    LEARNING_RESPONSE_LEAD = "learning_response_lead"
    FACILITATOR = "facilitator"
    ENGAGEMENT_LEAD = "engagement_lead"
    PEER_REVIEWER = "peer_reviewer"
    SENIOR_LEADER = "senior_leader"
    EXECUTIVE_LEAD = "executive_lead"
    PATIENT_SAFETY_PARTNER = "patient_safety_partner"
    ICB_OVERSIGHT = "icb_oversight"
    ACTION_OWNER = "action_owner"
    HEALTH_CARE_PROFESSIONAL = "health_care_professional"
    """Makes the duty-of-candour determination: regulation 20(8) defines a notifiable safety
    incident "in the reasonable opinion of a health care professional" (psirf-rules §5 SoD 3)."""
    SYSTEM = "system"
    """psirf_flow itself, applying a coupling between lifecycles (psirf-rules §9.4). Held by
    no person: the audit entry of a coupled step names it, with the step that caused it."""


OVERSIGHT_ROLES: Final = frozenset({Role.PATIENT_SAFETY_PARTNER, Role.ICB_OVERSIGHT})
"""Roles that oversee but never act: patient safety partners (lay members of safety
committees, psirf-rules §5, S-PSP) and ICB oversight (supportive oversight of the
response system, not of individual cases, S-OVS). No definition may let them fire a trigger."""


def _passes_modulus_11(digits: Sequence[int]) -> bool:
    """Tell whether ten digits end with a valid NHS number check digit (modulus 11)."""
    total = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


def is_nhs_number(value: object) -> bool:
    """Tell whether ``value`` is a valid NHS number (ten digits, modulus 11 check digit).

    The usual 3-3-4 grouping with spaces, hyphens or dots (the same one twice) is accepted.
    To refuse ids that *contain* an NHS number, see
    [`contains_nhs_number`][psirf_flow.domain.contains_nhs_number].
    """
    if not isinstance(value, str) or not _NHS_NUMBER_SHAPE.fullmatch(value):
        return False
    return _passes_modulus_11([int(c) for c in value if c.isdigit()])


def contains_nhs_number(value: str) -> bool:
    """Tell whether any ten consecutive digits of ``value`` could be an NHS number.

    Digits joined by at most one space, hyphen or dot form a chain; every ten consecutive
    digits of every chain are tested with the modulus 11 check digit (see the module
    docstring for the rule and its reason).
    """
    if _TEN_CHAINED_DIGITS.search(value) is None:
        # No chain holds ten digits (most ids, UUIDs included): nothing to test.
        return False
    for chain in _DIGIT_CHAIN.findall(value):
        if len(chain) < 10:
            continue
        digits = [int(c) for c in chain if c.isdigit()]
        for start in range(len(digits) - 9):
            if _passes_modulus_11(digits[start : start + 10]):
                return True
    return False


def check_identifier(value: object) -> str | None:
    """Return a plain-words problem with ``value`` as an opaque identifier, or ``None``.

    An identifier is 1 to 128 characters of letters, digits and ``._:@/#+-``, starting
    with a letter or digit, with no NHS number and no e-mail address anywhere in it (the
    rule is in the module docstring). The problem never repeats the value.
    """
    if not isinstance(value, str):
        return f"expected an identifier (text), got {type(value).__name__}"
    if contains_nhs_number(value[:_LONGEST_CHECKED]):
        return "looks like an NHS number or contains one; give an opaque reference instead"
    if not _IDENTIFIER.fullmatch(value):
        return (
            "is not an opaque identifier (1-128 letters, digits or ._:@/#+- with no spaces; "
            "names and free text are not allowed here)"
        )
    if _EMAIL.search(value):
        return "contains an e-mail address; give an opaque reference instead"
    return None


def _valid_identifier(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    problem = check_identifier(value)
    if problem is not None:
        raise InvalidInput(attribute.name, problem)


def to_role(value: object, argument: str = "role") -> Role:
    """``value`` as a [`Role`][psirf_flow.domain.Role] (a role or its name), or `InvalidInput`."""
    if isinstance(value, Role):
        return value
    if isinstance(value, str):
        try:
            return Role(value)
        except ValueError:
            pass
    raise InvalidInput(argument, f"{shown(value)} is not a role psirf_flow knows")


ROLE_NAMES: Final[Mapping[Role, str]] = MappingProxyType(
    {
        Role.REPORTER: "reporter",
        Role.PATIENT_SAFETY_SPECIALIST: "patient safety specialist",
        Role.LEARNING_RESPONSE_LEAD: "learning response lead",
        Role.FACILITATOR: "facilitator",
        Role.ENGAGEMENT_LEAD: "engagement lead",
        Role.PEER_REVIEWER: "peer reviewer",
        Role.SENIOR_LEADER: "senior leader",
        Role.EXECUTIVE_LEAD: "executive lead",
        Role.PATIENT_SAFETY_PARTNER: "patient safety partner",
        Role.ICB_OVERSIGHT: "ICB oversight",
        Role.ACTION_OWNER: "safety action owner",
        Role.HEALTH_CARE_PROFESSIONAL: "health care professional",
        Role.SYSTEM: "psirf_flow itself",
    }
)
"""Each role's name as a patient safety lead would say it (psirf-rules §5), lower case so it
reads inside a sentence; acronyms stay in capitals."""


def role_name(role: object) -> str:
    """The human name of a role (a `Role` or its code), e.g. ``patient safety specialist``.

    Args:
        role: A [`Role`][psirf_flow.domain.Role], or its code as stored in an audit entry or an
            outbox body.

    Raises:
        InvalidInput: If ``role`` is not a role psirf_flow knows (argument ``role``).
    """
    return ROLE_NAMES[to_role(role)]


_MAX_ROLES: Final = 64


def _to_roles(value: object) -> frozenset[Role]:
    if isinstance(value, Role | str):
        return frozenset({to_role(value, "roles")})
    if not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInput(
            "roles", f"must be a collection of Role values, got {type(value).__name__}"
        )
    if len(value) > _MAX_ROLES:
        raise InvalidInput("roles", f"holds more than {_MAX_ROLES} values")
    return frozenset(to_role(r, "roles") for r in value)


_MAX_COMMITTEES: Final = 64


def _to_committees(value: object) -> frozenset[str]:
    """``value`` as a set of committee ids, each an opaque identifier, or `InvalidInput`."""
    items: object = (value,) if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise InvalidInput(
            "committees", f"must be a collection of committee ids, got {type(value).__name__}"
        )
    if len(items) > _MAX_COMMITTEES:
        raise InvalidInput("committees", f"holds more than {_MAX_COMMITTEES} values")
    for item in items:
        problem = check_identifier(item)
        if problem is not None:
            raise InvalidInput("committees", f"a committee id {problem}")
    return frozenset(items)


@attrs.frozen
class Actor:
    """A person acting on a case: an opaque id, the roles they hold and their organisation.

    Args:
        id: The host system's opaque id for the person (never a name).
        roles: The roles they hold; one role or any collection of roles.
        organisation: The organisation they act for (an ODS code, for instance).
        committees: The ids of the governance groups (committees or panels the trust's plan
            declares) the person sits on, as the host knows them, like roles; a committee's
            decision or approval is recorded by one of its members (psirf-rules §5).
    """

    id: str = attrs.field(validator=_valid_identifier)
    roles: frozenset[Role] = attrs.field(converter=_to_roles)
    organisation: str = attrs.field(validator=_valid_identifier)
    committees: frozenset[str] = attrs.field(default=frozenset(), converter=_to_committees)

    def sits_on(self, committee: str) -> bool:
        """Tell whether the actor is a member of ``committee`` (an id)."""
        return committee in self.committees

    def holds(self, role: Role) -> bool:
        """Tell whether the actor holds ``role``."""
        return role in self.roles

    @property
    def is_reserved(self) -> bool:
        """Tell whether the actor claims psirf_flow's own identity (its id or role)."""
        return Role.SYSTEM in self.roles or self.id.casefold() == SYSTEM_ACTOR_ID.casefold()


@attrs.frozen
class SystemReader:
    """A named batch job or service that reads every organisation's cases.

    Every read names its reader. People read through their [`Actor`][psirf_flow.domain.Actor] (their
    own organisation's cases, and those their organisation oversees); a job that must see every
    case (a nightly verification, a checkpoint, a relay) names itself with a
    ``SystemReader``, so the choice to read everything is explicit in the host's code and
    its name reaches the logs. A system reader can only read: no command accepts it.

    Args:
        name: What the job is (an opaque identifier, e.g. ``"nightly-verify"``).
    """

    name: str = attrs.field(validator=_valid_identifier)


Reader = Actor | SystemReader
"""Who reads a case: a person ([`Actor`][psirf_flow.domain.Actor]) or a named job (`SystemReader`).

Every read of the engine (``get``, ``history``, ``verify``, ``retention``, ``list_cases``)
takes one as ``reader=``; a case the reader may not see is reported like a missing one.
"""


def frozen_facts(value: Mapping[str, FactValue]) -> Mapping[str, FactValue]:
    """A read-only copy of ``value`` (facts, payload data, message bodies)."""
    return MappingProxyType(dict(value))


def _aware(_instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    _check_aware(attribute.name, value)


def _check_aware(name: str, value: object) -> None:
    # No ``isinstance(value, datetime)``: the purity test runs the core with clock names
    # removed; anything without a zero UTC offset is refused.
    offset = getattr(value, "utcoffset", None)
    if offset is None or offset() != timedelta(0):
        raise InvalidInput(name, "must be an aware UTC datetime")


@attrs.frozen
class Case:
    """One case of a workflow as it stands after its latest accepted command.

    Attributes:
        id: Opaque case id.
        workflow: Name of the workflow definition the case follows.
        workflow_version: Version of that definition, pinned when the case was opened.
        organisation: The organisation that owns the case.
        state: The current state.
        version: How many commands have been accepted; equals the last audit sequence number.
        facts: Declared facts gathered from payloads (opaque ids, choices, flags, hashes).
        opened_at: When the case was opened (aware UTC).
        updated_at: When the latest command was accepted (aware UTC).
        held_from: While on hold, the state the case returns to on resume.
        head_hash: Hash of the latest audit entry; the next entry chains to it.
        retention_class: The records-retention class the engine assigned (for example
            ``"serious"`` or ``"standard"``), kept current as facts change, so a host can
            archive by it (psirf-rules §4.5, §7.2).
    """

    id: str = attrs.field(validator=_valid_identifier)
    workflow: str
    workflow_version: str
    organisation: str
    state: str
    version: int
    facts: Mapping[str, FactValue] = attrs.field(converter=frozen_facts, hash=False)
    opened_at: datetime = attrs.field(validator=_aware)
    updated_at: datetime = attrs.field(validator=_aware)
    held_from: str | None = None
    head_hash: str = ""
    retention_class: str = ""

    @property
    def facts_dict(self) -> dict[str, FactValue]:
        """A plain ``dict`` copy of the facts (for comparison and serialisation)."""
        return dict(self.facts)

    @functools.cached_property
    def _audit_digest(self) -> str | None:
        """Private: the audit case digest of this record, when the core has computed it.

        ``None`` until then. The decision core stores the digest it recorded in the entry
        that made the case (a pure function of these frozen fields), so the row check of
        the next command need not compute it again. Not an attrs field: it takes no part
        in ``__init__``, equality, ``repr``, ``evolve`` or ``asdict``.
        """
        return None


_new_object = object.__new__
_set_slot = object.__setattr__


def _trusted_case(
    *,
    id: str,
    workflow: str,
    workflow_version: str,
    organisation: str,
    state: str,
    version: int,
    facts: Mapping[str, FactValue],
    opened_at: datetime,
    updated_at: datetime,
    held_from: str | None,
    head_hash: str,
    retention_class: str,
    digest: str | None = None,
) -> Case:
    """A [`Case`][psirf_flow.domain.Case] built from values the core has already checked.

    Private to the decision core. It sets the fields as ``Case(...)`` does but runs no
    validator and no converter: ``id`` and ``opened_at`` come from a case that passed
    them, ``updated_at`` was checked by the caller, and ``facts`` must be a read-only
    mapping over a ``dict`` nothing else will change (the core's own fresh copy). With
    ``digest``, the case carries its audit case digest. A property test proves the
    result equal, field for field, to ``Case(...)`` of the same values.
    """
    case: Case = _new_object(Case)
    _set_slot(case, "id", id)
    _set_slot(case, "workflow", workflow)
    _set_slot(case, "workflow_version", workflow_version)
    _set_slot(case, "organisation", organisation)
    _set_slot(case, "state", state)
    _set_slot(case, "version", version)
    _set_slot(case, "facts", facts)
    _set_slot(case, "opened_at", opened_at)
    _set_slot(case, "updated_at", updated_at)
    _set_slot(case, "held_from", held_from)
    _set_slot(case, "head_hash", head_hash)
    _set_slot(case, "retention_class", retention_class)
    if digest is not None:
        _set_slot(case, "_audit_digest", digest)
    return case


@attrs.frozen
class Command:
    """A request to fire ``trigger`` on a case as ``actor``.

    Args:
        trigger: The trigger's name.
        actor: Who is acting.
        payload: Declared fields for the trigger; unknown fields are refused.
        role: The role the actor acts in; when ``None`` the first permitted role they hold.
        idempotency_key: When given, a retry with the same key returns the first result.
    """

    trigger: str
    actor: Actor
    payload: Mapping[str, object] = attrs.field(factory=dict)
    role: Role | None = None
    idempotency_key: str | None = None


@attrs.frozen
class GuardResult:
    """The outcome of one named guard.

    Attributes:
        name: The guard's registered name.
        ok: Whether it allowed the transition.
        reason_code: A stable code (``"ok"`` when it passed).
        explanation: Plain words a user understands, used in rejection messages.
    """

    name: str
    ok: bool
    reason_code: str = "ok"
    explanation: str = ""

    @classmethod
    def judge(cls, name: str, ok: bool, code: str, explanation: str) -> GuardResult:
        """The result of guard ``name``: passed, or failed with ``code`` and ``explanation``."""
        if ok:
            return cls(name=name, ok=True, reason_code="ok", explanation="")
        return cls(name=name, ok=False, reason_code=code, explanation=explanation)


class DeadlineStatus(StrEnum):
    """Where a deadline stands.

    * ``open``: running (its escalations may fire);
    * ``paused``: its case is on hold; due date and tiers move later on resuming;
    * ``met``: the action was recorded (``met_at``), on time or late;
    * ``cleared``: its stage was left without the action (stood down, declined, merged);
    * ``superseded``: replaced by a new clock (a reopening, a new agreed target date, an
      approved extension); kept for the record.
    """

    OPEN = "open"
    PAUSED = "paused"
    MET = "met"
    CLEARED = "cleared"
    SUPERSEDED = "superseded"


class EscalationStatus(StrEnum):
    """Where one escalation tier stands: ``pending``, ``paused``, ``fired`` or ``cancelled``."""

    PENDING = "pending"
    PAUSED = "paused"
    FIRED = "fired"
    CANCELLED = "cancelled"


def _aware_or_none(_instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    if value is not None:
        _aware(_instance, attribute, value)


@attrs.frozen(kw_only=True)
class Deadline:
    """A due date on a case, written in the same transaction as the step that starts it.

    One row per case, kind and cycle: a reopened case starts a new cycle (a new clock for
    the new work) and keeps the old rows. The counting rules are
    [`psirf_flow.policy.timing`][psirf_flow.policy.timing].

    Attributes:
        case_id: The case it belongs to.
        kind: What is due ([`psirf_flow.schedule`][psirf_flow.schedule] names the kinds, e.g.
            ``"response_target"``, ``"candour_notification"``).
        cycle: 0 for the first clock; one more on each reopening.
        organisation: The case's organisation (reports are by organisation).
        workflow: The case's workflow name.
        started_at: The instant of the event that started it (aware UTC).
        due_date: The Europe/London date it is due on (``None`` for an hours rule).
        due_at: When it is breached (aware UTC): 00:00 local on the day after
            ``due_date``, or the exact instant for an hours rule.
        status: A [`DeadlineStatus`][psirf_flow.domain.DeadlineStatus] value.
        owner: The person answerable for it, when the case names one (the lead, the
            action owner); an opaque id.
        ladder: The name of the plan's escalation ladder it follows (``None``: the
            default ladder).
        tier: One more than the highest of its tiers fired so far (0 before any fires).
        paused_at: When its case went on hold (while ``paused``).
        met_at: When it was met, cleared or superseded.
    """

    case_id: str
    kind: str
    cycle: int = 0
    organisation: str = ""
    workflow: str = ""
    started_at: datetime = attrs.field(validator=_aware)
    due_date: date | None = None
    due_at: datetime = attrs.field(validator=_aware)
    status: str = DeadlineStatus.OPEN.value
    owner: str | None = None
    ladder: str | None = None
    tier: int = 0
    paused_at: datetime | None = attrs.field(default=None, validator=_aware_or_none)
    met_at: datetime | None = attrs.field(default=None, validator=_aware_or_none)

    @property
    def key(self) -> tuple[str, str, int]:
        """``(case_id, kind, cycle)``: the deadline's identity."""
        return (self.case_id, self.kind, self.cycle)


def _role_codes(value: Iterable[str]) -> tuple[str, ...]:
    """The roles a tier notifies, as a tuple of codes."""
    return tuple(value)


@attrs.frozen(kw_only=True)
class Escalation:
    """One tier of a deadline's escalation ladder, scheduled as its own row.

    Each tier fires exactly once: the sweeper claims due rows, and firing one is an
    audited entry on the case (recording ``fire_at`` and the instant it fired) committed
    with the row's change to ``fired``, under the case's version check and an idempotency
    key unique to the tier.

    Attributes:
        case_id: The case.
        kind: The deadline's kind.
        cycle: The deadline's cycle.
        tier: Its position in the ladder, from 0, in the order the tiers fire.
        stage: ``"warning"`` (before due), ``"breach"`` (at due) or ``"escalation"``
            (after due).
        organisation: The case's organisation.
        fire_at: When it is scheduled to fire (aware UTC); moves later with a hold.
        notify: The roles told when it fires (one outbox notification per recipient).
        action: A trigger the plan declares to apply to the case when it fires (as
            psirf_flow itself, audited), or ``None``.
        status: An [`EscalationStatus`][psirf_flow.domain.EscalationStatus] value.
        fired_at: When it fired (``None`` until then).
    """

    case_id: str
    kind: str
    cycle: int = 0
    tier: int
    stage: str
    organisation: str = ""
    fire_at: datetime = attrs.field(validator=_aware)
    notify: tuple[str, ...] = attrs.field(default=(), converter=_role_codes)
    action: str | None = None
    status: str = EscalationStatus.PENDING.value
    fired_at: datetime | None = attrs.field(default=None, validator=_aware_or_none)

    @property
    def key(self) -> tuple[str, str, int, int]:
        """``(case_id, kind, cycle, tier)``: the tier's identity."""
        return (self.case_id, self.kind, self.cycle, self.tier)

    @property
    def dedupe_key(self) -> str:
        """The idempotency key of firing this tier: the same in every process."""
        return f"escalation:{self.case_id}:{self.kind}:{self.cycle}:{self.tier}"


@attrs.frozen
class OutboxMessage:
    """A message to deliver after commit (a coupling or a notification).

    Attributes:
        id: Unique id of the message (the delivery key).
        case_id: The case whose command produced it.
        kind: What it is (for example ``"coupling.findings_due_on_approval"``).
        body: Opaque ids and codes only; never free text.
        created_at: When it was written (aware UTC).
        delivered_at: When a relay finished with it (``None`` while pending), including
            when it set the message aside as dead.
        outcome: What delivery did: ``"applied"``, ``"replayed"``, ``"skipped:<code>"``,
            ``"rejected:<code>"`` or ``"dead:<code>"`` (``None`` while pending).
        cause_sequence: The audit sequence number of the command that caused it.
        cause_hash: The hash of that audit entry; the relay applies the message only if the
            case's verified trail holds exactly this entry at ``cause_sequence``.
        attempts: How many times a relay tried to deliver it.
        next_attempt_at: When it is due again after a failed attempt (``None``: at once).
        last_error: The reason code of the last failed attempt (``None`` if none failed).
    """

    id: str
    case_id: str
    kind: str
    body: Mapping[str, FactValue] = attrs.field(converter=frozen_facts, hash=False)
    created_at: datetime = attrs.field(validator=_aware)
    delivered_at: datetime | None = None
    outcome: str | None = None
    cause_sequence: int = 0
    cause_hash: str = ""
    attempts: int = 0
    next_attempt_at: datetime | None = attrs.field(
        default=None, validator=attrs.validators.optional(_aware)
    )
    last_error: str | None = None

    @property
    def dead(self) -> bool:
        """Tell whether a relay set the message aside for an operator (``dead:<code>``)."""
        return self.outcome is not None and self.outcome.startswith("dead:")
