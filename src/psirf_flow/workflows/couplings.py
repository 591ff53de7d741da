"""Couplings between lifecycles, declared as a table (psirf-rules §9.4).

A coupling says: when a command of one lifecycle is accepted, another lifecycle must react.
The reaction is never applied inside the first command. Instead the engine writes an
outbox message in the same transaction as the command that caused it, and a relay later
applies the message as **its own audited command**, fired by psirf_flow itself
(:attr:`~psirf_flow.domain.Role.SYSTEM`) with the message id as its idempotency key. So a
reaction happens exactly once, even when the process stops between the two steps.

The built-in table (:data:`COUPLINGS`):

* ``open_learning_response``: an intake ``decide_response`` (or
  ``commission_local_response``) opens the learning response of the decided type, linked
  to the intake.
* ``open_candour_screening``: an intake decision (a response, a referral or none) where
  harm was recorded moderate, severe or fatal (physical) or moderate or severe
  (psychological) opens a duty-of-candour case in ``assessing``; a health care professional
  then decides whether it is notifiable (reg 20(8)).
* ``open_referral``: an intake ``refer`` or ``add_referral`` opens the referral's own
  record (:mod:`psirf_flow.workflows.referral`) for the body, with the id
  :func:`referral_case_id` (one per referring command). The intake's guards refer each
  body once per incident; the referral's own opening guard refuses a second record for a
  body, so two referrals to one body accepted before the relay ran still open one record.
* ``findings_due_on_approval``: approving a learning response linked to a candour case
  records on that case that the findings may now be shared (reg 20(4)(c)).

Ids derived from a source case (the cases a coupling opens, its message ids, the
``caused_by`` reference) are ``<source id><suffix>``, for instance ``INC-7/doc``. When that
would be longer than an identifier may be (128 characters) the source id is shortened:
:func:`derived_id` keeps as much of its start as fits, then ``+`` and the first 16 hex
digits of the SHA-256 of the whole source id, then the suffix. The result is stable (the
same source always gives the same id) and distinct for distinct sources.

Each message records the audit entry that caused it (``cause_sequence`` and ``cause_hash``),
so the relay can check it against the case's verified trail before applying it.

Opening a candour case on recorded harm is a screening step only; psirf-rules §9.4 maps the
harm grading to the start of an assessment, and the notifiable decision stays with a health
care professional (reg 20(8), HARD). Everything here is pure: functions of the case after
the command and its audit entry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Final, Literal

import attrs

from psirf_flow.domain import (
    IDENTIFIER_MAX_LENGTH,
    Case,
    FactValue,
    OutboxMessage,
    check_identifier,
    frozen_facts,
)


__all__ = [
    "COUPLINGS",
    "Coupling",
    "FollowUp",
    "candour_case_id",
    "coupling_for",
    "coupling_messages",
    "derived_id",
    "learning_response_id",
    "message_id",
    "read_follow_up",
    "referral_case_id",
]

#: Physical and psychological harm codes (intake lifecycle) that start candour screening.
SCREENED_PHYSICAL_HARM: Final = frozenset({"moderate", "severe", "fatal"})
SCREENED_PSYCHOLOGICAL_HARM: Final = frozenset({"moderate", "severe"})

_INTAKE: Final = "incident_intake"
_LEARNING_FAMILY: Final = "learning_response"
_PAYLOAD_PREFIX: Final = "p."
_KIND_PREFIX: Final = "coupling."
#: Hex digits of the source id's SHA-256 kept in a shortened derived id.
_DIGEST_LENGTH: Final = 16


@attrs.frozen
class FollowUp:
    """A command another lifecycle must receive.

    Attributes:
        action: ``"open"`` a new case or ``"fire"`` a trigger on an existing one.
        target_case_id: The case to open (a deterministic id) or to fire on.
        workflow: For ``open``, the workflow to open.
        trigger: For ``fire``, the trigger.
        payload: Declared fields for the command (opaque ids and codes only).
    """

    action: Literal["open", "fire"]
    target_case_id: str
    workflow: str = ""
    trigger: str = ""
    payload: Mapping[str, FactValue] = attrs.field(factory=dict, converter=frozen_facts)


Reaction = Callable[[Case, str, int], FollowUp | None]


@attrs.frozen
class Coupling:
    """One row of the coupling table.

    Attributes:
        name: Stable name, part of every message id it produces.
        workflows: Source workflows it listens to (by name); empty for a whole family.
        family: Source lifecycle family it listens to, if ``workflows`` is empty.
        triggers: Source triggers it reacts to.
        react: Pure function ``(case after, trigger, sequence) -> FollowUp | None``.
        rule: Rule reference recorded with the message.
        summary: One line for documentation.
    """

    name: str
    triggers: frozenset[str]
    react: Reaction
    rule: str
    summary: str
    workflows: frozenset[str] = frozenset()
    family: str = ""

    @property
    def kind(self) -> str:
        """The ``kind`` of the messages this coupling writes (``coupling.<name>``)."""
        return _KIND_PREFIX + self.name

    def listens_to(self, workflow: str, family: str, trigger: str) -> bool:
        """Tell whether an accepted ``trigger`` of ``workflow`` concerns this coupling."""
        source = workflow in self.workflows if self.workflows else family == self.family
        return source and trigger in self.triggers


def _str(facts: Mapping[str, FactValue], key: str) -> str | None:
    value = facts.get(key)
    return value if isinstance(value, str) else None


def derived_id(source_id: str, suffix: str) -> str:
    """An id derived from ``source_id``: ``source_id + suffix`` when that is a valid id.

    Otherwise (too long), a stable shortened form that fits: the start of ``source_id``,
    ``+``, the first 16 hex digits of the SHA-256 of the whole ``source_id``, then
    ``suffix``, 128 characters in all. ``suffix`` is short and made of identifier
    characters (for example ``"/doc"`` or ``"#4/open_candour_screening"``).

    Example:
        >>> derived_id("INC-7", "/doc")
        'INC-7/doc'
        >>> len(derived_id("I" * 125, "/doc"))
        128
    """
    candidate = source_id + suffix
    if check_identifier(candidate) is None:
        return candidate
    digest = hashlib.sha256(source_id.encode()).hexdigest()[:_DIGEST_LENGTH]
    keep = max(1, IDENTIFIER_MAX_LENGTH - len(suffix) - len(digest) - 1)
    return f"{source_id[:keep]}+{digest}{suffix}"


def _caused_by(case: Case, sequence: int) -> str:
    return derived_id(case.id, f"#{sequence}")


def message_id(case_id: str, sequence: int, coupling_name: str) -> str:
    """The id of the message ``coupling_name`` writes for entry ``sequence`` of a case."""
    return derived_id(case_id, f"#{sequence}/{coupling_name}")


def learning_response_id(intake_case_id: str, sequence: int) -> str:
    """The id of the learning response opened by an intake decision (deterministic)."""
    return derived_id(intake_case_id, f"/lr{sequence}")


def candour_case_id(intake_case_id: str) -> str:
    """The id of the duty-of-candour case opened by an intake's screening (deterministic)."""
    return derived_id(intake_case_id, "/doc")


def referral_case_id(intake_case_id: str, sequence: int) -> str:
    """The id of the referral opened by the intake's entry ``sequence`` (deterministic).

    The id comes from the referring command, not from the body: the relay checks each
    message against the source case as it is now, and a later referral replaces the
    intake's ``referral_body`` fact (every body stays in ``referral_bodies``).

    Example:
        >>> referral_case_id("INT-7", 4)
        'INT-7/ref4'
    """
    return derived_id(intake_case_id, f"/ref{sequence}")


def _harm_screened(facts: Mapping[str, FactValue]) -> bool:
    return (
        facts.get("physical_harm") in SCREENED_PHYSICAL_HARM
        or facts.get("psychological_harm") in SCREENED_PSYCHOLOGICAL_HARM
    )


_BASIS: Final = {
    "national_requirement": "national_requirement",
    "local_priority": "local_priority",
    "emergent_risk": "emergent_risk",
}


def _open_learning_response(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    del trigger
    response_type = _str(case.facts, "response_type")
    incident = _str(case.facts, "incident_id")
    if response_type is None or incident is None:
        return None
    payload: dict[str, FactValue] = {
        "incident_ids": (incident,),
        "basis": _BASIS.get(str(case.facts.get("basis")), "other"),
        "intake_case_id": case.id,
        "caused_by": _caused_by(case, sequence),
    }
    if _harm_screened(case.facts):
        payload["candour_case_id"] = candour_case_id(case.id)
    return FollowUp(
        action="open",
        target_case_id=learning_response_id(case.id, sequence),
        workflow=response_type,
        payload=payload,
    )


def _open_candour(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    incident = _str(case.facts, "incident_id")
    if incident is None or not _harm_screened(case.facts):
        return None
    payload: dict[str, FactValue] = {
        "incident_ids": (incident,),
        "intake_case_id": case.id,
        "screening_basis": "harm_recorded_moderate_or_above",
        "caused_by": _caused_by(case, sequence),
    }
    if trigger == "decide_response":
        payload["learning_response_ids"] = (learning_response_id(case.id, sequence),)
    return FollowUp(
        action="open",
        target_case_id=candour_case_id(case.id),
        workflow="duty_of_candour",
        payload=payload,
    )


_REFERRAL_CARRIED: Final = (
    "national_rule_refs",
    "referral_rule_ref",
    "body_leads_investigation",
    "local_response_also_required",
)


def _open_referral(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    del trigger
    incident = _str(case.facts, "incident_id")
    body = _str(case.facts, "referral_body")
    if incident is None or body is None:  # pragma: no cover - both are required facts
        return None
    payload: dict[str, FactValue] = {
        "incident_ids": (incident,),
        "referral_body": body,
        "intake_case_id": case.id,
        "caused_by": _caused_by(case, sequence),
    }
    payload.update({k: v for k in _REFERRAL_CARRIED if (v := case.facts.get(k)) is not None})
    return FollowUp(
        action="open",
        target_case_id=referral_case_id(case.id, sequence),
        workflow="referral",
        payload=payload,
    )


def _findings_due(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    del trigger
    target = _str(case.facts, "candour_case_id")
    report = _str(case.facts, "report_ref")
    if target is None or report is None:
        return None
    return FollowUp(
        action="fire",
        target_case_id=target,
        trigger="learning_response_approved",
        payload={
            "learning_response_id": case.id,
            "learning_response_approved_ref": report,
            "caused_by": _caused_by(case, sequence),
        },
    )


#: The built-in coupling table.
COUPLINGS: Final[tuple[Coupling, ...]] = (
    Coupling(
        name="open_learning_response",
        workflows=frozenset({_INTAKE}),
        triggers=frozenset({"decide_response", "commission_local_response"}),
        react=_open_learning_response,
        rule="psirf.coupling.triage_opens_response@1",
        summary="A triage decision opens the learning response it decided on.",
    ),
    Coupling(
        name="open_candour_screening",
        workflows=frozenset({_INTAKE}),
        triggers=frozenset({"decide_response", "decide_no_further_response", "refer"}),
        react=_open_candour,
        rule="candour.reg20.screening@1",
        summary="Harm recorded moderate or above opens a duty-of-candour assessment.",
    ),
    Coupling(
        name="open_referral",
        workflows=frozenset({_INTAKE}),
        triggers=frozenset({"refer", "add_referral"}),
        react=_open_referral,
        rule="psirf.coupling.referral_opens_record@1",
        summary="A referral at intake opens the referral's own record, one per body.",
    ),
    Coupling(
        name="findings_due_on_approval",
        family=_LEARNING_FAMILY,
        triggers=frozenset({"approve"}),
        react=_findings_due,
        rule="candour.reg20.results@1",
        summary="Approving a linked learning response makes sharing its findings due.",
    ),
)


def coupling_for(couplings: Iterable[Coupling], kind: str) -> Coupling | None:
    """The coupling of ``couplings`` that writes messages of ``kind``, or ``None``."""
    return next((c for c in couplings if c.kind == kind), None)


def coupling_messages(
    couplings: Iterable[Coupling],
    *,
    case: Case,
    family: str,
    trigger: str,
    sequence: int,
    now: datetime,
    cause_hash: str = "",
) -> tuple[OutboxMessage, ...]:
    """The outbox messages an accepted command produces (pure).

    Args:
        couplings: The coupling table.
        case: The case after the command.
        family: The case's lifecycle family.
        trigger: The trigger that was accepted (``"open"`` for an opening).
        sequence: The audit sequence number of the command.
        now: When the command was accepted.
        cause_hash: The hash of the command's audit entry, recorded on each message.
    """
    messages: list[OutboxMessage] = []
    for coupling in couplings:
        if not coupling.listens_to(case.workflow, family, trigger):
            continue
        follow_up = coupling.react(case, trigger, sequence)
        if follow_up is None:
            continue
        body: dict[str, FactValue] = {
            "action": follow_up.action,
            "target_case_id": follow_up.target_case_id,
            "workflow": follow_up.workflow,
            "trigger": follow_up.trigger,
            "rule": coupling.rule,
        }
        body.update({_PAYLOAD_PREFIX + k: v for k, v in follow_up.payload.items()})
        messages.append(
            OutboxMessage(
                id=message_id(case.id, sequence, coupling.name),
                case_id=case.id,
                kind=coupling.kind,
                body=body,
                created_at=now,
                cause_sequence=sequence,
                cause_hash=cause_hash,
            )
        )
    return tuple(messages)


def read_follow_up(message: OutboxMessage) -> FollowUp | None:
    """Turn a coupling message back into its :class:`FollowUp` (``None`` if it is not one)."""
    body = message.body
    action = body.get("action")
    target = body.get("target_case_id")
    if action not in ("open", "fire") or not isinstance(target, str):
        return None
    return FollowUp(
        action="open" if action == "open" else "fire",
        target_case_id=target,
        workflow=str(body.get("workflow", "")),
        trigger=str(body.get("trigger", "")),
        payload={
            k.removeprefix(_PAYLOAD_PREFIX): v
            for k, v in body.items()
            if k.startswith(_PAYLOAD_PREFIX)
        },
    )
