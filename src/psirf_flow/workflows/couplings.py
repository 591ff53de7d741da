"""Couplings between lifecycles, declared as a table (psirf-rules §9.4).

A coupling says: when a command of one lifecycle is accepted, another lifecycle must react.
The reaction is never applied inside the first command. Instead the engine writes an
outbox message in the same transaction as the command that caused it, and a relay later
applies the message as **its own audited command**, fired by psirf_flow itself
([`SYSTEM`][psirf_flow.domain.Role.SYSTEM]) with the message id as its idempotency key. So a
reaction happens exactly once, even when the process stops between the two steps.

The built-in table ([`COUPLINGS`][psirf_flow.workflows.couplings.COUPLINGS]):

* ``open_learning_response``: an intake ``decide_response`` (or
  ``commission_local_response``) opens the learning response of the decided type, linked
  to the intake, with the staff involved recorded on the intake (psirf-rules §5 rule 1).
* ``open_candour_screening``: from the moment an incident is reported (psirf-rules §4.2,
  §9.3, §9.4), harm graded moderate, severe or fatal (physical) or moderate or severe
  (psychological) opens a duty-of-candour case in ``assessing``: when the intake is opened
  with such a grading, and whenever ``update_incident_record`` re-grades it into that range,
  at any stage. An intake opened before screening followed the grading (it lacks the preset
  fact ``candour_screened_from_report``) is still screened at its decision (a response, a
  referral or none). A health care professional then decides whether it is notifiable
  (reg 20(8)).
* ``rescreen_candour``: a re-grade that crosses the screening line tells the candour case.
  Into the range, a case found not notifiable goes back to ``assessing`` (``reassess``, reason
  ``harm_revised``); out of it, an open candour case records the new grading and the reason
  (``harm_regraded``), and the decision stays with a health care professional (reg 20(8)). A
  candour case that does not exist, or is in a state the step does not apply to, is skipped.
* ``open_referral``: an intake ``refer`` or ``add_referral`` opens the referral's own
  record ([`psirf_flow.workflows.referral`][psirf_flow.workflows.referral]) for the body, with the
  id [`referral_case_id`][psirf_flow.workflows.couplings.referral_case_id] (one per referring
  command). The intake's guards refer each body once per incident; the referral's own opening guard
  refuses a second record for a body, so two referrals to one body accepted before the relay ran
  still open one record.
* ``findings_due_on_approval``: approving a learning response linked to a candour case
  records on that case that the findings may now be shared (reg 20(4)(c)). Approval is
  ``approve`` or, under a plan, ``sign_off`` (the last step of the plan's sign-off chain,
  for instance by a delegate; psirf-rules §5); both couplings on approval listen to both.
* ``findings_due_via_intake``: approving a learning response an intake opened without a
  candour case (harm was below moderate at the decision) tells the intake's candour case
  all the same, in case a later re-grade opened one; when there is none the message is
  skipped (reg 20(4)(c), psirf-rules §9.4).
* ``convert_swarm_to_after_action_review``: a swarm huddle not held in time, stood down by
  psirf_flow with ``convert_to_after_action_review`` (an escalation tier's action), opens an
  after action review for the same incidents, with the id
  [`after_action_review_id`][psirf_flow.workflows.couplings.after_action_review_id], carrying the
  huddle's intake, candour case, response basis and staff involved (psirf-rules §4.1: the huddle's
  clock is LOCAL; issue 10).

Ids derived from a source case (the cases a coupling opens, its message ids, the
``caused_by`` reference) are ``<source id><suffix>``, for instance ``INC-7/doc``. When that
would be longer than an identifier may be (128 characters) the source id is shortened:
[`derived_id`][psirf_flow.workflows.couplings.derived_id] keeps as much of its start as fits, then
``+`` and the first 16 hex digits of the SHA-256 of the whole source id, then the suffix. The result
is stable (the same source always gives the same id) and distinct for distinct sources.

Each message records the audit entry that caused it (``cause_sequence`` and ``cause_hash``),
so the relay can check it against the case's verified trail before applying it. A coupling
whose reaction depends on facts that may change later (the harm grading) names them in
``tracks``: its reaction sees them as they were just after the cause (and, under
``prior:<name>``, just before it), so the relay's check gives the same answer however the
facts have changed since. Tracked facts are set only by payloads and never cleared.

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
from psirf_flow.policy import harm
from psirf_flow.policy.timing import local_date
from psirf_flow.workflows.guards import PRIORITY_FACT


__all__ = [
    "COUPLINGS",
    "PRIOR",
    "Coupling",
    "FollowUp",
    "after_action_review_id",
    "candour_case_id",
    "coupling_for",
    "coupling_messages",
    "derived_id",
    "facts_as_of",
    "learning_response_id",
    "message_id",
    "reaction_case",
    "read_follow_up",
    "referral_case_id",
]

SCREENED_PHYSICAL_HARM: Final = harm.SCREENED_PHYSICAL_HARM
"""Physical and psychological harm codes (intake lifecycle) that start candour screening,
from the one harm vocabulary ([`psirf_flow.policy.harm`][psirf_flow.policy.harm])."""
SCREENED_PSYCHOLOGICAL_HARM: Final = harm.SCREENED_PSYCHOLOGICAL_HARM

PRIOR: Final = "prior:"
"""Prefix of the keys under which a tracking coupling's reaction sees a fact's value just
before the cause (``prior:physical_harm``)."""
_HARM_FACTS: Final = ("physical_harm", "psychological_harm")
_STAFF_FACTS: Final = ("involved_staff_ids", "involved_line_manager_ids")
_INTAKE: Final = "incident_intake"
_SCREENED_FROM_REPORT: Final = "candour_screened_from_report"
"""The intake's preset fact saying it is screened from its report on (see intake/definition.py)."""
_LEARNING_FAMILY: Final = "learning_response"
_PAYLOAD_PREFIX: Final = "p."
_KIND_PREFIX: Final = "coupling."
_DIGEST_LENGTH: Final = 16
"""Hex digits of the source id's SHA-256 kept in a shortened derived id."""


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
        tracks: Facts the reaction reads as they were at the cause (see
            [`reaction_case`][psirf_flow.workflows.couplings.reaction_case]); set only by payloads,
            never cleared.
        optional_target: The case it fires on may not exist: the relay skips the message
            (``skipped:no_target_case``) instead of counting a refusal.
    """

    name: str
    triggers: frozenset[str]
    react: Reaction
    rule: str
    summary: str
    workflows: frozenset[str] = frozenset()
    family: str = ""
    tracks: tuple[str, ...] = ()
    optional_target: bool = False

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

    Examples:
        ```python
        from psirf_flow.workflows.couplings import derived_id
        derived_id("INC-7", "/doc")  # 'INC-7/doc'
        len(derived_id("I" * 125, "/doc"))  # 128
        ```
    """
    candidate = source_id + suffix
    if check_identifier(candidate) is None:
        return candidate
    digest = hashlib.sha256(source_id.encode()).hexdigest()[:_DIGEST_LENGTH]
    keep = max(1, IDENTIFIER_MAX_LENGTH - len(suffix) - len(digest) - 1)
    return f"{source_id[:keep]}+{digest}{suffix}"


def facts_as_of(
    payloads: Iterable[Mapping[str, FactValue]], names: Iterable[str]
) -> dict[str, FactValue]:
    """The last value each of ``names`` was given in ``payloads`` (in order), if any.

    ``payloads`` are the checked payloads of a case's audit entries, oldest first; a name
    never given is absent.
    """
    wanted = frozenset(names)
    found: dict[str, FactValue] = {}
    for payload in payloads:
        found.update((k, v) for k, v in payload.items() if k in wanted)
    return found


def reaction_case(
    coupling: Coupling,
    case: Case,
    after: Mapping[str, FactValue],
    before: Mapping[str, FactValue],
) -> Case:
    """The case a tracking coupling's reaction is given (``case`` itself if it tracks nothing).

    Its tracked facts are their values in ``after`` (absent when absent there), and each
    value in ``before`` is added as ``prior:<name>``.
    """
    if not coupling.tracks:
        return case
    facts = {k: v for k, v in case.facts.items() if k not in coupling.tracks}
    for name in coupling.tracks:
        if name in after:
            facts[name] = after[name]
        if name in before:
            facts[PRIOR + name] = before[name]
    return attrs.evolve(case, facts=facts)


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

    Examples:
        ```python
        from psirf_flow.workflows.couplings import referral_case_id
        referral_case_id("INT-7", 4)  # 'INT-7/ref4'
        ```
    """
    return derived_id(intake_case_id, f"/ref{sequence}")


def after_action_review_id(swarm_case_id: str) -> str:
    """The id of the after action review opened for a swarm huddle not held in time.

    Examples:
        ```python
        from psirf_flow.workflows.couplings import after_action_review_id
        after_action_review_id("INT-7/lr4")  # 'INT-7/lr4/aar'
        ```
    """
    return derived_id(swarm_case_id, "/aar")


def _harm_screened(facts: Mapping[str, FactValue]) -> bool:
    return harm.harm_screened(facts.get("physical_harm"), facts.get("psychological_harm"))


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
        # The plan's response type it runs as: its sign-off chain and settings apply.
        "response_type": response_type,
    }
    # The priority it was decided under: the plan's timescales for that priority apply.
    priority = _str(case.facts, PRIORITY_FACT)
    if priority is not None:
        payload[PRIORITY_FACT] = priority
    if _harm_screened(case.facts):
        payload["candour_case_id"] = candour_case_id(case.id)
    # The staff involved travel with the decision, so the response's independence guards
    # check its lead against them (psirf-rules §5 rule 1).
    for name in _STAFF_FACTS:
        staff = case.facts.get(name)
        if isinstance(staff, tuple) and staff:
            payload[name] = staff
    return FollowUp(
        action="open",
        target_case_id=learning_response_id(case.id, sequence),
        workflow=response_type,
        payload=payload,
    )


def _was_screened(facts: Mapping[str, FactValue]) -> bool:
    return harm.harm_screened(
        facts.get(PRIOR + "physical_harm"), facts.get(PRIOR + "psychological_harm")
    )


_GRADING_TRIGGERS: Final = frozenset({"open", "update_incident_record"})
"""Intake triggers that grade harm (the opening, and a later update of the LFPSE record)."""


def _open_candour(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    incident = _str(case.facts, "incident_id")
    if incident is None or not _harm_screened(case.facts):
        return None
    if trigger in _GRADING_TRIGGERS:
        if _was_screened(case.facts):
            return None  # already screened before this re-grade: nothing new to open
    elif case.facts.get(_SCREENED_FROM_REPORT) is True:
        return None  # a decision: screened when the harm was graded
    payload: dict[str, FactValue] = {
        "incident_ids": (incident,),
        "intake_case_id": case.id,
        "screening_basis": "harm_recorded_moderate_or_above",
        "caused_by": _caused_by(case, sequence),
        # The organisation became aware when the harm was recorded (this step), not when
        # the relay gets to the message: the notification's clock counts from it.
        "aware_on": local_date(case.updated_at).isoformat(),
    }
    if trigger == "decide_response":
        payload["learning_response_ids"] = (learning_response_id(case.id, sequence),)
    return FollowUp(
        action="open",
        target_case_id=candour_case_id(case.id),
        workflow="duty_of_candour",
        payload=payload,
    )


def _rescreen_candour(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    del trigger
    now_screened = _harm_screened(case.facts)
    if now_screened == _was_screened(case.facts):
        return None
    caused_by = _caused_by(case, sequence)
    target = candour_case_id(case.id)
    if now_screened:
        return FollowUp(
            action="fire",
            target_case_id=target,
            trigger="reassess",
            payload={
                "new_information_ref": caused_by,
                "reassess_reason": "harm_revised",
                "caused_by": caused_by,
            },
        )
    payload: dict[str, FactValue] = {
        "regrade_reason": "no_longer_moderate_or_above",
        "caused_by": caused_by,
    }
    for name in _HARM_FACTS:
        value = harm.current_harm_code(case.facts.get(name))
        if isinstance(value, str):
            payload["regraded_" + name] = value
    return FollowUp(action="fire", target_case_id=target, trigger="harm_regraded", payload=payload)


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


def _findings_due_via_intake(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    if _str(case.facts, "candour_case_id") is not None:
        return None  # the response names its candour case: findings_due_on_approval
    intake = _str(case.facts, "intake_case_id")
    if intake is None:
        return None
    linked = attrs.evolve(case, facts={**case.facts, "candour_case_id": candour_case_id(intake)})
    return _findings_due(linked, trigger, sequence)


_CONVERSION_CARRIED: Final = (
    "incident_ids",
    "intake_case_id",
    "candour_case_id",
    "basis",
    *_STAFF_FACTS,
)
"""What an after action review opened for a swarm huddle carries over from it."""


def _convert_swarm(case: Case, trigger: str, sequence: int) -> FollowUp | None:
    del trigger
    if not isinstance(case.facts.get("incident_ids"), tuple):
        return None
    payload: dict[str, FactValue] = {
        name: value for name in _CONVERSION_CARRIED if (value := case.facts.get(name)) is not None
    }
    payload["caused_by"] = _caused_by(case, sequence)
    payload["response_type"] = "after_action_review"
    return FollowUp(
        action="open",
        target_case_id=after_action_review_id(case.id),
        workflow="after_action_review",
        payload=payload,
    )


_APPROVAL: Final = frozenset({"approve", "sign_off"})
"""The steps that approve a learning response: ``approve`` by the fixed approvers, or
``sign_off`` by whoever the plan's chain names for its last step (psirf-rules §5)."""

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
        triggers=frozenset(
            {*_GRADING_TRIGGERS, "decide_response", "decide_no_further_response", "refer"}
        ),
        react=_open_candour,
        rule="candour.reg20.screening@1",
        summary="Harm graded moderate or above, from the report on, opens a duty-of-candour "
        "assessment.",
        tracks=_HARM_FACTS,
    ),
    Coupling(
        name="rescreen_candour",
        workflows=frozenset({_INTAKE}),
        triggers=frozenset({"update_incident_record"}),
        react=_rescreen_candour,
        rule="candour.reg20.screening@1",
        summary="A re-grade across the screening line reassesses the candour case or records "
        "why it no longer screens.",
        tracks=_HARM_FACTS,
        optional_target=True,
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
        triggers=_APPROVAL,
        react=_findings_due,
        rule="candour.reg20.results@1",
        summary="Approving a linked learning response makes sharing its findings due.",
    ),
    Coupling(
        name="findings_due_via_intake",
        family=_LEARNING_FAMILY,
        triggers=_APPROVAL,
        react=_findings_due_via_intake,
        rule="candour.reg20.results@1",
        summary="Approving a response opened by an intake tells the intake's candour case, "
        "if there is one (harm re-graded after the decision).",
        optional_target=True,
    ),
    Coupling(
        name="convert_swarm_to_after_action_review",
        workflows=frozenset({"swarm_huddle"}),
        triggers=frozenset({"convert_to_after_action_review"}),
        react=_convert_swarm,
        rule="psirf.coupling.swarm_not_held_opens_aar@1",
        summary="A swarm huddle not held in time opens an after action review for the same "
        "incidents.",
    ),
)
"""The built-in coupling table."""


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
    before: Mapping[str, FactValue] | None = None,
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
        before: The case's facts before the command (none for an opening), for the
            couplings that track facts
            ([`reaction_case`][psirf_flow.workflows.couplings.reaction_case]).
    """
    messages: list[OutboxMessage] = []
    for coupling in couplings:
        if not coupling.listens_to(case.workflow, family, trigger):
            continue
        seen = reaction_case(coupling, case, case.facts, before or {})
        follow_up = coupling.react(seen, trigger, sequence)
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
    """Turn a coupling message back into its `FollowUp` (``None`` if it is not one)."""
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
