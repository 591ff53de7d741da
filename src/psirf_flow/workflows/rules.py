"""The rule catalogue: every rule the library encodes, what kind of rule it is and what enforces it.

Pure data, like the workflow definitions. Each [`Rule`][psirf_flow.workflows.rules.Rule]
gives a stable id (the anchor of its row on the rules reference page, which every guard's
docstring links to), its [level][psirf_flow.workflows.rules.RuleLevel] and
[verification mark][psirf_flow.workflows.rules.Verification] as psirf-rules §0.1 and §0.2
define them, its source (the psirf-rules section and the primary source that section names)
and what enforces it: guards (names in
`psirf_flow.workflows.GUARDS`), plan settings (dotted keys of the plan
file), deadline kinds of the schedule, or the engine's own behaviour.

A rule that is local, or whose wording was not confirmed in a primary source, is meant to
be enforced through a plan setting with a default, never as a fixed law. Where the code
does otherwise the rule says so in its `caveat`, which the rules page shows.

The catalogue imports nothing from the lifecycle packages, so they keep standing alone; the
tests check that every name it gives exists and that every registered guard is enforced by
one of its rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

import attrs


__all__ = [
    "GROUPS",
    "RULES",
    "Rule",
    "RuleLevel",
    "Verification",
    "rule_for_id",
    "rules_enforced_by_guard",
]

_ID: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class RuleLevel(StrEnum):
    """What kind of rule it is (psirf-rules §0.1, with its HARD tag split in two)."""

    STATUTORY = "statutory"
    """An Act or regulation (psirf-rules HARD), such as regulation 20, the duty of candour."""
    NATIONAL_REQUIREMENT = "national requirement"
    """A nationally required response, standard, contract term or code (psirf-rules HARD)."""
    NATIONAL_GUIDANCE = "national guidance"
    """NHS England guidance said as "should" (psirf-rules NAT-G): on by default."""
    LOCAL_PLAN_SETTING = "local plan setting"
    """Varies by trust (psirf-rules LOCAL): set in the trust's plan, with a default."""
    LIBRARY_DESIGN = "library design"
    """psirf_flow's own design choice for a workflow engine (psirf-rules INF)."""


class Verification(StrEnum):
    """How sure the source is of the rule's wording or figure (psirf-rules §0.2)."""

    CONFIRMED = "✔ confirmed"
    """Seen in a source during the research."""
    SECONDARY = "◐ secondary"
    """Seen only in a secondary source, or only partly."""
    UNCONFIRMED = "✖ not confirmed"
    """Recalled, not confirmed in a primary source."""
    DESIGN = "— design"
    """A design choice: there is no outside wording to confirm."""


def _check_id(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if _ID.fullmatch(value) is None:
        raise ValueError(f"rule id {value!r} is not lower-case words joined by hyphens")


@attrs.frozen
class Rule:
    """One rule the library encodes.

    Attributes:
        id: Stable id, lower-case words joined by hyphens; the rule's anchor on the rules
            page and the target of the `Rule:` link in its guards' docstrings.
        title: A short title.
        group: The key of its group in [`GROUPS`][psirf_flow.workflows.rules.GROUPS].
        level: What kind of rule it is.
        verified: How sure the source is of its wording or figure.
        section: The psirf-rules sections it comes from, for example `"§4.2"`.
        source: The primary source those sections name, in plain words.
        guards: Guards that enforce it, by their names in
            `psirf_flow.workflows.GUARDS`.
        plan_settings: Dotted plan-file keys that set it (`<name>` stands for a table's key).
        schedule_kinds: Deadline kinds of the schedule that time it.
        engine: What the engine itself does for it, in plain words (empty when nothing).
        caveat: Where the code departs from the rule's level, in plain words.
    """

    id: str = attrs.field(validator=_check_id)
    title: str
    group: str
    level: RuleLevel
    verified: Verification
    section: str
    source: str
    guards: tuple[str, ...] = ()
    plan_settings: tuple[str, ...] = ()
    schedule_kinds: tuple[str, ...] = ()
    engine: str = ""
    caveat: str = ""


GROUPS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "triage": "Triage and the response decision",
        "national": "National requirements",
        "referrals": "Referrals, transfers and regulator notifications",
        "people": "Learning responses: leads and independence",
        "conduct": "Learning responses: terms, engagement, review and sign-off",
        "timescale": "Learning responses: the PSII timescale",
        "candour": "Duty of candour",
        "actions": "Safety actions",
        "delegation": "Delegation",
        "thematic": "Thematic reviews and reserve capacity",
        "records": "Records, clocks and audit",
    }
)
"""The groups of the rules page, by key, in the order shown."""

_L = RuleLevel
_V = Verification
_R20: Final = (
    "Health and Social Care Act 2008 (Regulated Activities) Regulations 2014, regulation 20"
)

RULES: Final[tuple[Rule, ...]] = (
    # Triage and the response decision.
    Rule(
        "response-decision-order",
        "Triage before the response: national requirement, plan priority, emergent risk, "
        "then a proportionate response",
        "triage",
        _L.NATIONAL_GUIDANCE,
        _V.CONFIRMED,
        "§0.5 rule 1, §1, §6 stage 2",
        "Patient Safety Incident Response Framework (NHS England, 2022)",
        guards=("triage_recorded", "triage_refs_consistent", "basis_consistent_with_triage"),
        plan_settings=("priorities", "triage.emergent_risk.decided_by", "triage.proportionate"),
        engine="Triage (`policy/triage.py`) recommends a response in this order; harm alone "
        "never requires a PSII.",
    ),
    Rule(
        "triage-record-kept",
        "Triage recorded again keeps what was recorded, under the case's plan version",
        "triage",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§0.5 rule 10, §7.2",
        "psirf_flow design: a complete decision trail (coroners see decisions not to investigate)",
        guards=("national_rules_kept", "triage_under_governing_plan"),
        engine="Each case runs under the plan and rule pack versions recorded when it opened.",
    ),
    Rule(
        "response-within-plan",
        "Under a plan, the response is one the plan allows, or a recorded departure",
        "triage",
        _L.LOCAL_PLAN_SETTING,
        _V.CONFIRMED,
        "§1.8, §6 stage 2",
        "The trust's patient safety incident response plan (PSIRP)",
        guards=("response_within_plan", "no_further_response_within_plan"),
        plan_settings=(
            "priorities.responses",
            "priorities.departure_permitted",
            "priorities.no_further_response_allowed",
            "triage.proportionate.allowed",
            "triage.proportionate.no_further_response_allowed",
            "triage.proportionate.departure_permitted",
            "triage.emergent_risk.allowed",
            "triage.emergent_risk.departure_permitted",
        ),
        engine="Departures are listed for oversight (`oversight.plan_departures`).",
    ),
    Rule(
        "decider-per-plan",
        "The response is decided by whom the plan names",
        "triage",
        _L.LOCAL_PLAN_SETTING,
        _V.CONFIRMED,
        "§5, §6 stage 2",
        "The trust's PSIRP (Croydon's plan as an example)",
        guards=("decider_per_plan",),
        plan_settings=(
            "response_types.<name>.decided_by",
            "priorities.decided_by",
            "triage.proportionate.decided_by",
            "committees",
        ),
    ),
    Rule(
        "emergent-risk-executive-decision",
        "An emergent or significant risk is decided by the executive lead",
        "triage",
        _L.LOCAL_PLAN_SETTING,
        _V.CONFIRMED,
        "§0.5 rule 1, §5",
        "The trust's PSIRP (Croydon: the executive lead for quality decides)",
        guards=("executive_decides_significant_risk",),
        plan_settings=("triage.emergent_risk.decided_by",),
    ),
    # National requirements.
    Rule(
        "national-psii-required",
        "A national requirement for a locally-led PSII is met by a PSII",
        "national",
        _L.NATIONAL_REQUIREMENT,
        _V.CONFIRMED,
        "§3 rows 1, 2 and 4",
        "PSIRF national requirements (read as a trust's PSIRP reproduces them)",
        guards=("national_psii_respected", "no_outstanding_national_requirement"),
        plan_settings=("triage.national_psii_response",),
        engine="The national rule pack (`policy/data/national_requirements.toml`) is "
        "versioned data; each match is recorded as `rule_id@version`.",
    ),
    Rule(
        "national-referral-required",
        "A national requirement for a referral is met by a completed referral to its body",
        "national",
        _L.NATIONAL_REQUIREMENT,
        _V.SECONDARY,
        "§3 rows 3 and 5 to 11",
        "PSIRF national requirements; the receiving bodies' own rules (MNSI, NHS England "
        "RIIT, CDOP, LeDeR, local authority safeguarding, SQAS, PPO or IOPC, CSP)",
        guards=(
            "national_referral_respected",
            "national_referrals_made",
            "no_outstanding_national_requirement",
        ),
        engine="Rows 3, 5 and 6 were read in a primary source; rows 7 to 11 name confirmed "
        "bodies but their PSIRF wording was not seen.",
    ),
    Rule(
        "local-response-alongside-referral",
        "A local response required alongside a referral is commissioned",
        "national",
        _L.NATIONAL_REQUIREMENT,
        _V.CONFIRMED,
        "§3 rows 5 and 6",
        'PSIRF national requirements ("locally-led PSII may be required")',
        guards=("local_response_if_referral_requires",),
    ),
    Rule(
        "national-override-executive",
        "Setting a national requirement aside is the executive lead's explicit, reasoned "
        "decision, reported to oversight",
        "national",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5 segregation rule 7",
        "psirf_flow design",
        guards=("override_confirmed", "override_matches_triage"),
        engine="Only the executive lead may fire the override step; overrides are listed "
        "for the board and ICB (`oversight.overridden_national_requirements`).",
    ),
    # Referrals, transfers and regulator notifications.
    Rule(
        "referral-body-known",
        "An incident is referred only to a body a national requirement or the plan names",
        "referrals",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§3 (bodies as versioned data)",
        "psirf_flow design: referral bodies are data, not code",
        guards=("referral_body_allowed",),
        plan_settings=("referral_bodies",),
    ),
    Rule(
        "one-referral-per-body",
        "An incident is referred to each body once",
        "referrals",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§9.0",
        "psirf_flow design",
        guards=("one_referral_per_body",),
    ),
    Rule(
        "referrals-complete-before-closing",
        "Every referral is completed (or withdrawn) before the intake closes",
        "referrals",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§9.0",
        "psirf_flow design",
        guards=("referrals_completed",),
    ),
    Rule(
        "referral-information-on-request",
        "Information goes to a leading body when it asks; findings are received before "
        "closing on them",
        "referrals",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§3, §9.0",
        "psirf_flow design",
        guards=("information_requested_first", "findings_received_if_claimed"),
    ),
    Rule(
        "referral-notification-clock",
        "A referral is notified to its body within the plan's time",
        "referrals",
        _L.LOCAL_PLAN_SETTING,
        _V.UNCONFIRMED,
        "§3 row 3, §10 item 13",
        "No national figure found; the trust's plan (default 2 working days)",
        plan_settings=("timescales.referral_notification", "timescales.referral_ladder"),
        schedule_kinds=("referral_notification",),
    ),
    Rule(
        "transfer-to-another-organisation",
        "An incident is transferred only to another organisation",
        "referrals",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§1.2",
        "psirf_flow design",
        guards=("receiving_organisation_other",),
    ),
    Rule(
        "regulator-notifications-as-planned",
        "The regulator notification steps the plan declares are recorded before deciding "
        "or closing",
        "referrals",
        _L.LOCAL_PLAN_SETTING,
        _V.DESIGN,
        "§4.5",
        "The trust's plan (statutory notifications outside PSIRF, such as CQC's, as generic steps)",
        guards=(
            "notifications_in_plan",
            "required_notifications_kept",
            "required_notifications_made",
        ),
        plan_settings=("notifications",),
    ),
    # Learning responses: leads and independence.
    Rule(
        "lead-independent",
        "The lead and engagement lead were not involved in the incident and do not "
        "line-manage those who were",
        "people",
        _L.NATIONAL_GUIDANCE,
        _V.UNCONFIRMED,
        "§5 segregation rule 1, §9.1",
        "Patient safety incident response standards (NHS England, v1.2, 2024) — wording not seen",
        guards=(
            "lead_independent",
            "team_independent",
            "independence_conflict_noted",
            "staff_involved_kept",
        ),
        caveat="Enforced by fixed guards, although the wording is not confirmed: no plan "
        "setting turns it off (psirf-rules asks for a configurable hard guard).",
    ),
    Rule(
        "engagement-lead-for-psii",
        "A PSII names an engagement lead for the patient and family",
        "people",
        _L.NATIONAL_GUIDANCE,
        _V.SECONDARY,
        "§5, §9.1",
        "Guide to engaging and involving patients, families and staff (NHS England)",
        guards=("engagement_lead_assigned",),
        caveat="A fixed guard of the PSII: no plan setting turns it off.",
    ),
    Rule(
        "lead-acts-and-reassignment",
        "The assigned lead acts for the response; a lead is replaced by someone else, with "
        "a reason",
        "people",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5, §9.1",
        "psirf_flow design",
        guards=(
            "actor_is_lead",
            "replaces_current_lead",
            "replaces_current_engagement_lead",
            "replaces_current_facilitator",
            "reassign_reason_explained",
        ),
    ),
    # Learning responses: terms, engagement, review and sign-off.
    Rule(
        "terms-of-reference-before-gathering",
        "Terms of reference (and an agreed target date) come before gathering information",
        "conduct",
        _L.NATIONAL_GUIDANCE,
        _V.SECONDARY,
        "§6 stage 4, §9.1",
        "Guide to engaging and involving patients, families and staff (NHS England)",
        guards=("terms_of_reference_recorded", "terms_before_gathering"),
        plan_settings=("response_types.<name>.terms_of_reference_required",),
    ),
    Rule(
        "engagement-recorded",
        "The patient's or family's engagement is recorded person by person",
        "conduct",
        _L.NATIONAL_GUIDANCE,
        _V.SECONDARY,
        "§6 stage 4, §7.1",
        "Guide to engaging and involving patients, families and staff (NHS England)",
        guards=("engagement_outcome_recorded",),
        caveat="A fixed guard of the PSII: no plan setting turns it off.",
    ),
    Rule(
        "draft-checked",
        "Staff check the draft for factual accuracy and the family's response to it is recorded",
        "conduct",
        _L.NATIONAL_GUIDANCE,
        _V.CONFIRMED,
        "§6 stage 7",
        "Guide to engaging and involving patients, families and staff; trust leaflets "
        "(George Eliot Hospital)",
        guards=("staff_accuracy_checked", "family_draft_review_recorded"),
        caveat="Fixed guards of the response types that run them (the family's response "
        "only where the family is engaged): no plan setting turns them off.",
    ),
    Rule(
        "analysis-inputs-recorded",
        "Expert or panel input, the findings agreed with senior leadership, and two or more "
        "incidents for a thematic review",
        "conduct",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§2, §5",
        "psirf_flow design, after the national learning response tools (NHS England "
        "toolkit) and local practice",
        guards=(
            "expert_input_recorded",
            "findings_agreed",
            "senior_leader_independent",
            "several_incidents_linked",
        ),
        caveat="Which response types require these is fixed by the built-in definitions, "
        "not set in the plan.",
    ),
    Rule(
        "peer-review-independent",
        "A peer review of the draft is recorded by someone independent",
        "conduct",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§6 (report template and quality review)",
        "psirf_flow design, after the learning response review and improvement tool",
        guards=("peer_review_recorded", "reviewer_independent"),
    ),
    Rule(
        "approver-not-author",
        "The approver is neither the lead nor the author, and no one signs two steps in a row",
        "conduct",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5 segregation rule 2",
        "psirf_flow design",
        guards=("approver_independent", "signer_not_repeated"),
    ),
    Rule(
        "sign-off-per-plan",
        "The report is signed off by the plan's chain: roles or committees, in order",
        "conduct",
        _L.LOCAL_PLAN_SETTING,
        _V.CONFIRMED,
        "§5, §6 stage 8",
        "The trust's PSIRP (an executive lead or a delegated committee)",
        guards=("sign_off_step_due", "sign_off_as_planned", "returner_may_sign"),
        plan_settings=("response_types.<name>.sign_off", "committees"),
        engine="Active delegation records are honoured.",
    ),
    Rule(
        "share-before-close",
        "The approved response is shared before it closes, unless the plan gives it no "
        "sharing step",
        "conduct",
        _L.LOCAL_PLAN_SETTING,
        _V.CONFIRMED,
        "§6 stage 9",
        "Trust practice (London North West, Hertfordshire Partnership)",
        guards=("no_sharing_step",),
        plan_settings=("response_types.<name>.sharing_step",),
    ),
    Rule(
        "close-with-actions-or-rationale",
        "A response closes with safety actions linked or a reason for having none",
        "conduct",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§6 stage 10, §9.1",
        "psirf_flow design",
        guards=("actions_or_rationale",),
    ),
    Rule(
        "hold-and-override-reasons",
        "A hold, or an override of the hard cap, states its reason",
        "conduct",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5 segregation rule 7, §9.1",
        "psirf_flow design (PSIRF wording on pausing not seen)",
        guards=("hold_reason_explained", "override_rationale_given"),
        plan_settings=("overrides.rationale_codes",),
    ),
    # Learning responses: the PSII timescale.
    Rule(
        "psii-target-timescale",
        "A PSII's target date is within the plan's timescale (ordinarily one to three months)",
        "timescale",
        _L.NATIONAL_GUIDANCE,
        _V.UNCONFIRMED,
        "§4.1",
        "Patient Safety Incident Response Framework, timeframes for learning responses — "
        "figure not retrieved",
        guards=("target_within_timescale", "target_not_in_past"),
        plan_settings=("response_types.<name>.timescale", "priorities.timescales"),
        schedule_kinds=("response_target",),
    ),
    Rule(
        "psii-six-month-cap",
        "No local PSII takes longer than six months without the executive lead's override",
        "timescale",
        _L.NATIONAL_GUIDANCE,
        _V.UNCONFIRMED,
        "§4.1",
        "Patient Safety Incident Response Framework, timeframes for learning responses — "
        "figure not retrieved",
        guards=("request_within_hard_cap", "extension_within_hard_cap", "override_beyond_hard_cap"),
        plan_settings=("response_types.<name>.hard_cap",),
        schedule_kinds=("response_hard_cap",),
    ),
    Rule(
        "psii-extension",
        "An extension is requested by the lead, to a later date, and approved by someone else",
        "timescale",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§4.1, §5 segregation rule 5",
        "psirf_flow design",
        guards=(
            "extension_pending",
            "request_later_than_target",
            "request_not_in_past",
            "extension_later_than_target",
            "extension_within_request",
            "extension_approver_independent",
        ),
    ),
    Rule(
        "psii-extension-family-position",
        "The family's position on an extension is recorded; approving against it needs a note",
        "timescale",
        _L.NATIONAL_GUIDANCE,
        _V.UNCONFIRMED,
        "§4.1",
        "Patient Safety Incident Response Framework (recalled: extensions agreed with the "
        "patient or family)",
        guards=(
            "family_position_recorded",
            "family_disagreement_explained",
            "family_not_involved_reason_given",
        ),
        caveat="Fixed guards, but they only ask for the family's position and a note: an "
        "extension may still be approved against it.",
    ),
    # Duty of candour.
    Rule(
        "candour-notifiable-incident",
        "A notifiable safety incident is one whose harm regulation 20 names",
        "candour",
        _L.STATUTORY,
        _V.CONFIRMED,
        "§4.2, §9.3",
        f"{_R20}(8) and (9), as amended by SI 2015/64",
        guards=("harm_is_notifiable", "harm_is_not_notifiable"),
        engine="Only a health care professional determines it (a role on the step); "
        "screening starts from the harm grading (a coupling).",
    ),
    Rule(
        "candour-no-or-low-harm-local",
        "The trust may also notify no- or low-harm incidents",
        "candour",
        _L.LOCAL_PLAN_SETTING,
        _V.CONFIRMED,
        "§4.2",
        "Trust policy; not required by regulation 20",
        guards=("harm_is_notifiable_low_harm_local", "harm_is_not_notifiable_low_harm_local"),
        plan_settings=("duty_of_candour.notify_no_or_low_harm",),
    ),
    Rule(
        "candour-aware-date",
        "The date of becoming aware is recorded, never in the future",
        "candour",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5 segregation rule 4, §9.3",
        "psirf_flow design (the clock starts at awareness)",
        guards=("aware_not_in_future",),
    ),
    Rule(
        "candour-verbal-notification",
        "Notify in person with the facts, further enquiries and an apology, and offer support",
        "candour",
        _L.STATUTORY,
        _V.CONFIRMED,
        "§4.2, §9.3",
        f"{_R20}(2) and (3)",
        guards=(
            "verbal_in_person",
            "verbal_facts_given",
            "verbal_enquiries_explained",
            "verbal_apology_given",
            "verbal_support_offered",
        ),
    ),
    Rule(
        "candour-notify-10-working-days",
        "Notify within the plan's working days of becoming aware (10 by default), or say why",
        "candour",
        _L.LOCAL_PLAN_SETTING,
        _V.SECONDARY,
        "§4.2, §9.3",
        f'{_R20}(2) says "as soon as reasonably practicable"; the 10 days come from the '
        "NHS Standard Contract 2013/14 (service condition 35) and trust policy",
        guards=("verbal_delay_explained",),
        plan_settings=("duty_of_candour.verbal_working_days", "duty_of_candour.basis"),
        schedule_kinds=("candour_notification",),
    ),
    Rule(
        "candour-uncontactable-recorded",
        "If the person cannot be contacted or declines, the attempts are recorded",
        "candour",
        _L.STATUTORY,
        _V.SECONDARY,
        "§4.2, §9.3",
        f"{_R20}(5)",
        guards=("unable_to_notify_recorded", "contact_attempt_in_sequence"),
    ),
    Rule(
        "candour-written-notification",
        "Follow with a letter: the facts, the enquiries, results so far and an apology",
        "candour",
        _L.STATUTORY,
        _V.CONFIRMED,
        "§4.2, §9.3",
        f"{_R20}(4)",
        guards=(
            "written_facts_included",
            "written_enquiries_included",
            "written_results_included",
            "written_apology_included",
        ),
    ),
    Rule(
        "candour-written-10-working-days",
        "Send the letter within the plan's working days of the notification (10 by default), "
        "or say why",
        "candour",
        _L.LOCAL_PLAN_SETTING,
        _V.DESIGN,
        "§4.2, §9.3",
        f"Trust policy; {_R20}(4) sets no day count",
        guards=("written_delay_explained",),
        plan_settings=("duty_of_candour.written_working_days",),
        schedule_kinds=("candour_written",),
    ),
    Rule(
        "candour-results-shared",
        "The results of further enquiries are shared once the learning response is approved",
        "candour",
        _L.STATUTORY,
        _V.CONFIRMED,
        "§4.2, §9.3, §9.4",
        f"{_R20}(4)(c)",
        guards=("findings_available", "learning_response_approved_for_incident"),
    ),
    Rule(
        "candour-results-10-working-days",
        "Share the results within the plan's working days of approval (10 by default), or say why",
        "candour",
        _L.LOCAL_PLAN_SETTING,
        _V.DESIGN,
        "§9.3",
        "psirf_flow default; no statutory figure",
        guards=("results_delay_explained",),
        plan_settings=(
            "duty_of_candour.findings_working_days",
            "duty_of_candour.escalation_ladder",
        ),
        schedule_kinds=("candour_findings",),
    ),
    # Safety actions.
    Rule(
        "safety-action-agreed",
        "A safety action is linked to an area for improvement, measurable and time-bound",
        "actions",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§9.2",
        "psirf_flow design (the safety action development guide was not read)",
        guards=("areas_for_improvement_linked", "action_measurable", "action_time_bound"),
    ),
    Rule(
        "safety-action-owner-acts",
        "The owner carries the action out and attaches evidence",
        "actions",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§9.2",
        "psirf_flow design",
        guards=("actor_is_owner", "implementation_evidence_recorded"),
    ),
    Rule(
        "safety-action-verifier-not-owner",
        "Someone other than the owner judges the action effective, on its target",
        "actions",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5 segregation rule 6, §9.2",
        "psirf_flow design",
        guards=("verifier_not_owner", "target_met"),
    ),
    Rule(
        "safety-action-decision-tier",
        "Deferring, accepting the risk or cancelling is a committee's or the executive "
        "lead's decision, not the owner's",
        "actions",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§9.2",
        "psirf_flow design",
        guards=("decision_at_committee_or_executive_tier", "approver_not_owner"),
    ),
    Rule(
        "safety-action-due",
        "A safety action's due date is watched and escalated when missed",
        "actions",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§9.2, §9.4",
        "psirf_flow design",
        plan_settings=("timescales.safety_action_ladder",),
        schedule_kinds=("safety_action_due",),
    ),
    Rule(
        "actions-do-not-block-closure",
        "A learning response closes without waiting for its safety actions",
        "actions",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§0.5 rule 7, §6, §9.4",
        "psirf_flow design",
        engine="No guard of a learning response reads its safety actions' states.",
    ),
    # Delegation.
    Rule(
        "delegation-by-role-holder",
        "Only the holder of a role delegates it, to someone else, for a real period; the "
        "delegator or the executive lead revokes",
        "delegation",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§5",
        "psirf_flow design (sign-off may be delegated to a committee or person)",
        guards=("delegation_well_formed", "actor_is_delegator"),
    ),
    # Thematic reviews and reserve capacity.
    Rule(
        "thematic-reviews-as-planned",
        "Scheduled thematic reviews are the plan's, and gather the incidents it routes to them",
        "thematic",
        _L.LOCAL_PLAN_SETTING,
        _V.SECONDARY,
        "§2",
        "The trust's PSIRP",
        guards=("thematic_review_in_plan", "thematic_review_met", "scheduled_review_as_planned"),
        plan_settings=("thematic_reviews", "priorities.thematic_review"),
        engine="The sweeper commissions each review when it is due.",
    ),
    Rule(
        "reserve-capacity",
        "Reserve PSIIs are drawn by the reserve's decider, for its response type",
        "thematic",
        _L.LOCAL_PLAN_SETTING,
        _V.DESIGN,
        "§1.8",
        "The trust's PSIRP",
        guards=("reserve_draw_allowed",),
        plan_settings=("reserve_capacity.decided_by", "reserve_capacity.extra_psiis"),
        engine="Use per period is listed for oversight (`oversight.reserve_capacity_use`).",
    ),
    # Records, clocks and audit.
    Rule(
        "triage-review-clock",
        "A reported incident is triaged within the plan's time (72 hours by default)",
        "records",
        _L.LOCAL_PLAN_SETTING,
        _V.DESIGN,
        "§6 stage 2",
        "The trust's plan",
        plan_settings=("timescales.triage_review", "timescales.triage_review_ladder"),
        schedule_kinds=("triage_review",),
    ),
    Rule(
        "working-day-calendar",
        "Working days skip the region's bank holidays and the trust's closure days",
        "records",
        _L.LOCAL_PLAN_SETTING,
        _V.DESIGN,
        "§4.2",
        "psirf_flow design: pluggable calendars (UK bank holidays by region, the trust's "
        "closure days)",
        plan_settings=("calendar.region", "calendar.closure_days"),
        engine="Day-based rules count Europe/London local dates (`policy/timing.py`).",
    ),
    Rule(
        "retention-minimums",
        "Serious incident records are kept 20 years, others 10, from the incident",
        "records",
        _L.NATIONAL_REQUIREMENT,
        _V.CONFIRMED,
        "§4.5, §7.2",
        "Records Management Code of Practice (NHS England, 2021, updated 2023)",
        plan_settings=("retention.classes", "retention.default_class"),
        engine="Each case's retention class is raised to its incident's records' classes, "
        "never below the Code's minimums (`policy/retention.py`).",
    ),
    Rule(
        "audit-minimum-necessary",
        "Audit entries and logs carry codes and digests, never patient-identifiable free text",
        "records",
        _L.NATIONAL_REQUIREMENT,
        _V.CONFIRMED,
        "§7.2",
        "Caldicott principles (2020): the minimum necessary, need-to-know access",
        engine="Free-text fields are replaced by salted digests; ids may not hold an NHS "
        "number or e-mail address; log events are allow-listed.",
    ),
    Rule(
        "tamper-evident-trail",
        "Every decision, including not to investigate, is kept in a tamper-evident trail",
        "records",
        _L.LIBRARY_DESIGN,
        _V.DESIGN,
        "§7.2",
        "psirf_flow design",
        engine="Every accepted step writes a hash-chained audit entry with the guards' "
        "results; chains and checkpoints are verified.",
    ),
)
"""Every rule the library encodes, in the order of the rules page."""

_BY_ID: Final = MappingProxyType({rule.id: rule for rule in RULES})


def rule_for_id(rule_id: str) -> Rule | None:
    """The rule with id `rule_id`, or `None` when there is none."""
    return _BY_ID.get(rule_id)


def rules_enforced_by_guard(guard: str) -> tuple[Rule, ...]:
    """The rules that name `guard` among their guards, in catalogue order."""
    return tuple(rule for rule in RULES if guard in rule.guards)
