"""Typed trigger names and payloads of the built-in workflows (generated: do not edit).

Written by ``tools/gen_types.py`` from
[`DefinitionRegistry.default`][psirf_flow.workflows.DefinitionRegistry.default] (the newest
version of each workflow). For each workflow ``<Name>Trigger`` is a ``Literal``
of its trigger names, ``<Name>OpenPayload`` the payload that opens a case and
``<Name><Trigger>Payload`` the payload of each trigger that takes fields: identifiers,
references and free text are ``str``, identifier lists ``Sequence[str]``, dates a
``datetime.date`` or ``YYYY-MM-DD`` text, flags ``bool``, counts ``int`` and choices a
``Literal`` of their codes. Annotate host code with them so a type checker catches a
misspelt trigger or field; at run time they are plain ``str`` and ``dict`` values. The
annotations are evaluated (no postponed annotations), so ``__required_keys__`` is exact.
"""

from collections.abc import Sequence
from datetime import date
from typing import Literal, Required, TypedDict


__all__ = [
    "AfterActionReviewApprovePayload",
    "AfterActionReviewAssignFacilitatorPayload",
    "AfterActionReviewClosePayload",
    "AfterActionReviewCloseWithoutSharingPayload",
    "AfterActionReviewHoldPayload",
    "AfterActionReviewOpenPayload",
    "AfterActionReviewReassignEngagementLeadPayload",
    "AfterActionReviewReassignFacilitatorPayload",
    "AfterActionReviewRecordCommentResponsePayload",
    "AfterActionReviewRecordDraftVersionPayload",
    "AfterActionReviewRecordEngagementPayload",
    "AfterActionReviewRecordSignOffPayload",
    "AfterActionReviewRecordStaffAccuracyCheckPayload",
    "AfterActionReviewRecordStaffInvolvedPayload",
    "AfterActionReviewRecordTermsOfReferencePayload",
    "AfterActionReviewReopenPayload",
    "AfterActionReviewReturnForReworkPayload",
    "AfterActionReviewReturnFromSignOffPayload",
    "AfterActionReviewSharePayload",
    "AfterActionReviewSignOffPayload",
    "AfterActionReviewStandDownPayload",
    "AfterActionReviewSubmitDraftPayload",
    "AfterActionReviewTrigger",
    "DelegationOpenPayload",
    "DelegationRevokePayload",
    "DelegationTrigger",
    "DutyOfCandourCloseRecordedPayload",
    "DutyOfCandourDetermineNotNotifiablePayload",
    "DutyOfCandourDetermineNotifiablePayload",
    "DutyOfCandourHarmRegradedPayload",
    "DutyOfCandourLearningResponseApprovedPayload",
    "DutyOfCandourMarkUncontactableOrDeclinedPayload",
    "DutyOfCandourOpenPayload",
    "DutyOfCandourReassessPayload",
    "DutyOfCandourRecordContactAttemptPayload",
    "DutyOfCandourRecordDeclinedPayload",
    "DutyOfCandourRecordEnquiriesConcludedPayload",
    "DutyOfCandourRecordFindingsSharedPayload",
    "DutyOfCandourRecordVerbalNotificationPayload",
    "DutyOfCandourRecordWrittenNotificationPayload",
    "DutyOfCandourRelevantPersonEngagesPayload",
    "DutyOfCandourReopenPayload",
    "DutyOfCandourTrigger",
    "HotDebriefApprovePayload",
    "HotDebriefAssignFacilitatorPayload",
    "HotDebriefClosePayload",
    "HotDebriefCloseWithoutSharingPayload",
    "HotDebriefHoldPayload",
    "HotDebriefOpenPayload",
    "HotDebriefReassignEngagementLeadPayload",
    "HotDebriefReassignFacilitatorPayload",
    "HotDebriefRecordCommentResponsePayload",
    "HotDebriefRecordDraftVersionPayload",
    "HotDebriefRecordEngagementPayload",
    "HotDebriefRecordSignOffPayload",
    "HotDebriefRecordStaffAccuracyCheckPayload",
    "HotDebriefRecordStaffInvolvedPayload",
    "HotDebriefRecordTermsOfReferencePayload",
    "HotDebriefReopenPayload",
    "HotDebriefReturnForReworkPayload",
    "HotDebriefReturnFromSignOffPayload",
    "HotDebriefSharePayload",
    "HotDebriefSignOffPayload",
    "HotDebriefStandDownPayload",
    "HotDebriefSubmitDraftPayload",
    "HotDebriefTrigger",
    "IncidentIntakeAddReferralPayload",
    "IncidentIntakeAddToThematicReviewPayload",
    "IncidentIntakeCloseReferralPayload",
    "IncidentIntakeCommissionLocalResponsePayload",
    "IncidentIntakeDecideNoFurtherResponsePayload",
    "IncidentIntakeDecideResponsePayload",
    "IncidentIntakeOpenPayload",
    "IncidentIntakeOverrideNationalRequirementPayload",
    "IncidentIntakeRecordRegulatorNotificationPayload",
    "IncidentIntakeRecordRequiredNotificationsPayload",
    "IncidentIntakeRecordStaffInvolvedPayload",
    "IncidentIntakeRecordTriagePayload",
    "IncidentIntakeReferPayload",
    "IncidentIntakeTransferToAnotherOrganisationPayload",
    "IncidentIntakeTrigger",
    "IncidentIntakeUpdateIncidentRecordPayload",
    "MdtReviewApprovePayload",
    "MdtReviewAssignLeadPayload",
    "MdtReviewClosePayload",
    "MdtReviewCloseWithoutSharingPayload",
    "MdtReviewHoldPayload",
    "MdtReviewOpenPayload",
    "MdtReviewReassignEngagementLeadPayload",
    "MdtReviewReassignLeadPayload",
    "MdtReviewRecordCommentResponsePayload",
    "MdtReviewRecordDraftVersionPayload",
    "MdtReviewRecordEngagementPayload",
    "MdtReviewRecordExpertInputPayload",
    "MdtReviewRecordSignOffPayload",
    "MdtReviewRecordStaffAccuracyCheckPayload",
    "MdtReviewRecordStaffInvolvedPayload",
    "MdtReviewRecordTermsOfReferencePayload",
    "MdtReviewReopenPayload",
    "MdtReviewReturnForReworkPayload",
    "MdtReviewReturnFromSignOffPayload",
    "MdtReviewSharePayload",
    "MdtReviewSignOffPayload",
    "MdtReviewStandDownPayload",
    "MdtReviewSubmitDraftPayload",
    "MdtReviewTrigger",
    "PsiiAgreeTimescalePayload",
    "PsiiApproveExtensionPayload",
    "PsiiApprovePayload",
    "PsiiAssignLeadPayload",
    "PsiiClosePayload",
    "PsiiCloseWithoutSharingPayload",
    "PsiiHoldPayload",
    "PsiiOpenPayload",
    "PsiiOverrideHardCapPayload",
    "PsiiReassignEngagementLeadPayload",
    "PsiiReassignLeadPayload",
    "PsiiRecordCommentResponsePayload",
    "PsiiRecordDraftVersionPayload",
    "PsiiRecordEngagementPayload",
    "PsiiRecordExpertInputPayload",
    "PsiiRecordFamilyDraftResponsePayload",
    "PsiiRecordFamilyPositionPayload",
    "PsiiRecordPeerReviewPayload",
    "PsiiRecordSignOffPayload",
    "PsiiRecordStaffAccuracyCheckPayload",
    "PsiiRecordStaffInvolvedPayload",
    "PsiiRecordTermsOfReferencePayload",
    "PsiiRefuseExtensionPayload",
    "PsiiReopenPayload",
    "PsiiRequestExtensionPayload",
    "PsiiReturnForReworkPayload",
    "PsiiReturnFromSignOffPayload",
    "PsiiSharePayload",
    "PsiiSignOffPayload",
    "PsiiStandDownPayload",
    "PsiiSubmitDraftPayload",
    "PsiiTrigger",
    "ReferralCompletePayload",
    "ReferralOpenPayload",
    "ReferralRecordExternalLeadPayload",
    "ReferralRecordFindingsReceivedPayload",
    "ReferralRecordInformationRequestedPayload",
    "ReferralRecordInformationSuppliedPayload",
    "ReferralRecordNotificationPayload",
    "ReferralTrigger",
    "ReferralWithdrawPayload",
    "SafetyActionAcceptRiskPayload",
    "SafetyActionAttachEvidencePayload",
    "SafetyActionBeginMonitoringPayload",
    "SafetyActionCancelPayload",
    "SafetyActionConfirmEffectivePayload",
    "SafetyActionConfirmNotEffectivePayload",
    "SafetyActionDeferPayload",
    "SafetyActionOpenPayload",
    "SafetyActionRevisePayload",
    "SafetyActionTrigger",
    "SafetyActionUpdateProposalPayload",
    "SwarmHuddleApprovePayload",
    "SwarmHuddleAssignFacilitatorPayload",
    "SwarmHuddleClosePayload",
    "SwarmHuddleCloseWithoutSharingPayload",
    "SwarmHuddleConvertToAfterActionReviewPayload",
    "SwarmHuddleHoldPayload",
    "SwarmHuddleOpenPayload",
    "SwarmHuddleReassignEngagementLeadPayload",
    "SwarmHuddleReassignFacilitatorPayload",
    "SwarmHuddleRecordCommentResponsePayload",
    "SwarmHuddleRecordDraftVersionPayload",
    "SwarmHuddleRecordEngagementPayload",
    "SwarmHuddleRecordSignOffPayload",
    "SwarmHuddleRecordStaffInvolvedPayload",
    "SwarmHuddleRecordTermsOfReferencePayload",
    "SwarmHuddleReopenPayload",
    "SwarmHuddleReturnForReworkPayload",
    "SwarmHuddleReturnFromSignOffPayload",
    "SwarmHuddleSharePayload",
    "SwarmHuddleSignOffPayload",
    "SwarmHuddleStandDownPayload",
    "SwarmHuddleSubmitDraftPayload",
    "SwarmHuddleTrigger",
    "ThematicReviewApprovePayload",
    "ThematicReviewAssignLeadPayload",
    "ThematicReviewClosePayload",
    "ThematicReviewCloseWithoutSharingPayload",
    "ThematicReviewHoldPayload",
    "ThematicReviewOpenPayload",
    "ThematicReviewReassignEngagementLeadPayload",
    "ThematicReviewReassignLeadPayload",
    "ThematicReviewRecordCommentResponsePayload",
    "ThematicReviewRecordDraftVersionPayload",
    "ThematicReviewRecordEngagementPayload",
    "ThematicReviewRecordPeerReviewPayload",
    "ThematicReviewRecordSignOffPayload",
    "ThematicReviewRecordStaffInvolvedPayload",
    "ThematicReviewRecordTermsOfReferencePayload",
    "ThematicReviewReopenPayload",
    "ThematicReviewReturnForReworkPayload",
    "ThematicReviewReturnFromSignOffPayload",
    "ThematicReviewSharePayload",
    "ThematicReviewSignOffPayload",
    "ThematicReviewStandDownPayload",
    "ThematicReviewSubmitDraftPayload",
    "ThematicReviewTrigger",
]


AfterActionReviewTrigger = Literal[
    "agree_findings",
    "approve",
    "assign_facilitator",
    "begin_gathering",
    "close",
    "close_without_sharing",
    "complete_analysis",
    "hold",
    "reassign_engagement_lead",
    "reassign_facilitator",
    "record_comment_response",
    "record_draft_version",
    "record_engagement",
    "record_sign_off",
    "record_staff_accuracy_check",
    "record_staff_involved",
    "record_terms_of_reference",
    "reopen",
    "request_approval",
    "resume",
    "return_for_rework",
    "return_from_sign_off",
    "share",
    "sign_off",
    "stand_down",
    "submit_draft",
]
"""The triggers of ``after_action_review`` version 2."""


class AfterActionReviewOpenPayload(TypedDict, total=False):
    """The payload that opens a ``after_action_review`` case."""

    incident_ids: Required[Sequence[str]]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]
    intake_case_id: str
    candour_case_id: str
    caused_by: str
    response_type: str
    plan_priority_id: str
    basis: Literal["national_requirement", "local_priority", "emergent_risk", "other"]


class AfterActionReviewApprovePayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``approve``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class AfterActionReviewAssignFacilitatorPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``assign_facilitator``."""

    facilitator_id: Required[str]
    engagement_lead_id: str


class AfterActionReviewClosePayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``close``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class AfterActionReviewCloseWithoutSharingPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``close_without_sharing``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class AfterActionReviewHoldPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``hold``."""

    hold_reason: Required[
        Literal[
            "police",
            "coroner",
            "other",
            "external_process",
            "staff_availability",
            "family_request",
        ]
    ]
    note: str


class AfterActionReviewReassignEngagementLeadPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``reassign_engagement_lead``."""

    engagement_lead_id: Required[str]
    replaced_engagement_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class AfterActionReviewReassignFacilitatorPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``reassign_facilitator``."""

    facilitator_id: Required[str]
    replaced_facilitator_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class AfterActionReviewRecordCommentResponsePayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_comment_response``."""

    commenter: Required[Literal["family", "staff", "peer"]]
    comment_ref: Required[str]
    comment_response_ref: Required[str]


class AfterActionReviewRecordDraftVersionPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_draft_version``."""

    draft_ref: Required[str]
    draft_digest: Required[str]


class AfterActionReviewRecordEngagementPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_engagement``."""

    person_id: Required[str]
    person_kind: Required[Literal["patient", "family_member", "staff_involved"]]
    engagement: Required[Literal["involved", "declined", "uncontactable"]]
    contact_preference: Literal[
        "in_person",
        "telephone",
        "video_call",
        "letter",
        "email",
        "through_a_representative",
        "no_further_contact",
    ]
    support_offered: bool
    contact_attempts: int
    note: str


class AfterActionReviewRecordSignOffPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_sign_off``."""

    sign_off_step: Required[int]
    report_digest: str
    meeting_ref: str
    delegation_id: str


class AfterActionReviewRecordStaffAccuracyCheckPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_staff_accuracy_check``."""

    staff_accuracy_check: Required[Literal["confirmed", "amended"]]


class AfterActionReviewRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class AfterActionReviewRecordTermsOfReferencePayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``record_terms_of_reference``."""

    terms_of_reference_ref: Required[str]


class AfterActionReviewReopenPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[
        Literal[
            "inquest",
            "police_investigation",
            "new_evidence",
            "family_concern",
        ]
    ]
    note: str


class AfterActionReviewReturnForReworkPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``return_for_rework``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str


class AfterActionReviewReturnFromSignOffPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``return_from_sign_off``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str
    meeting_ref: str
    delegation_id: str


class AfterActionReviewSharePayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``share``."""

    family_sharing: Required[Literal["shared", "declined", "uncontactable", "not_applicable"]]
    shared_with_staff: bool


class AfterActionReviewSignOffPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``sign_off``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class AfterActionReviewStandDownPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``stand_down``."""

    stand_down_reason: Required[
        Literal[
            "superseded_by_external_investigation",
            "referred_elsewhere",
            "duplicate",
            "no_further_learning",
            "other",
        ]
    ]
    note: str


class AfterActionReviewSubmitDraftPayload(TypedDict, total=False):
    """The payload of ``after_action_review`` ``submit_draft``."""

    draft_ref: Required[str]
    draft_digest: str


DelegationTrigger = Literal["revoke"]
"""The triggers of ``delegation`` version 1."""


class DelegationOpenPayload(TypedDict, total=False):
    """The payload that opens a ``delegation`` case."""

    delegate_id: Required[str]
    delegated_role: Required[
        Literal[
            "patient_safety_specialist",
            "learning_response_lead",
            "facilitator",
            "engagement_lead",
            "peer_reviewer",
            "senior_leader",
            "executive_lead",
            "action_owner",
            "health_care_professional",
        ]
    ]
    response_types: Required[Sequence[str]]
    valid_from: Required[date | str]
    valid_to: Required[date | str]
    delegation_ref: str


class DelegationRevokePayload(TypedDict, total=False):
    """The payload of ``delegation`` ``revoke``."""

    revoke_reason: Required[
        Literal[
            "delegate_left_role",
            "no_longer_needed",
            "made_in_error",
            "other",
        ]
    ]
    note: str


DutyOfCandourTrigger = Literal[
    "close_recorded",
    "determine_not_notifiable",
    "determine_notifiable",
    "harm_regraded",
    "learning_response_approved",
    "mark_uncontactable_or_declined",
    "reassess",
    "record_contact_attempt",
    "record_declined",
    "record_enquiries_concluded",
    "record_findings_shared",
    "record_verbal_notification",
    "record_written_notification",
    "relevant_person_engages",
    "reopen",
]
"""The triggers of ``duty_of_candour`` version 1."""


class DutyOfCandourOpenPayload(TypedDict, total=False):
    """The payload that opens a ``duty_of_candour`` case."""

    incident_ids: Required[Sequence[str]]
    learning_response_ids: Sequence[str]
    intake_case_id: str
    caused_by: str
    screening_basis: Literal["harm_recorded_moderate_or_above", "could_result_in_harm", "manual"]
    aware_on: date | str


class DutyOfCandourCloseRecordedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``close_recorded``."""

    attempts_record_ref: Required[str]


class DutyOfCandourDetermineNotNotifiablePayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``determine_not_notifiable``."""

    harm_category: Required[
        Literal[
            "none",
            "low",
            "moderate",
            "severe",
            "fatal",
            "prolonged_psychological",
        ]
    ]
    harm_basis: Required[Literal["appears_to_have_resulted", "could_result"]]
    not_notifiable_reason: Required[
        Literal[
            "harm_below_threshold",
            "not_unintended_or_unexpected",
            "not_during_regulated_activity",
            "death_not_directly_related",
        ]
    ]
    note: str


class DutyOfCandourDetermineNotifiablePayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``determine_notifiable``."""

    harm_category: Required[
        Literal[
            "none",
            "low",
            "moderate",
            "severe",
            "fatal",
            "prolonged_psychological",
        ]
    ]
    harm_basis: Required[Literal["appears_to_have_resulted", "could_result"]]
    note: str


class DutyOfCandourHarmRegradedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``harm_regraded``."""

    regraded_physical_harm: Literal["none", "low", "moderate", "severe", "fatal"]
    regraded_psychological_harm: Literal["none", "low", "moderate", "severe"]
    regrade_reason: Required[Literal["no_longer_moderate_or_above", "grading_changed"]]
    caused_by: str


class DutyOfCandourLearningResponseApprovedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``learning_response_approved``."""

    learning_response_id: Required[str]
    learning_response_approved_ref: Required[str]
    caused_by: str


class DutyOfCandourMarkUncontactableOrDeclinedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``mark_uncontactable_or_declined``."""

    unable_reason: Required[Literal["uncontactable", "declined"]]


class DutyOfCandourReassessPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``reassess``."""

    new_information_ref: Required[str]
    reassess_reason: Required[Literal["harm_revised", "new_facts", "review_of_decision"]]
    caused_by: str
    note: str


class DutyOfCandourRecordContactAttemptPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``record_contact_attempt``."""

    contact_attempts: Required[int]
    contact_method: Required[
        Literal[
            "in_person",
            "telephone",
            "letter",
            "email",
            "via_next_of_kin",
        ]
    ]
    contact_outcome: Required[
        Literal[
            "no_response",
            "message_left",
            "contact_details_invalid",
            "not_available",
            "meeting_arranged",
        ]
    ]


class DutyOfCandourRecordDeclinedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``record_declined``."""

    declined_record_ref: Required[str]
    relevant_person_basis: Literal["patient", "on_death", "under_16", "lacks_capacity"]


class DutyOfCandourRecordEnquiriesConcludedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``record_enquiries_concluded``."""

    enquiries_concluded_ref: Required[str]
    enquiries: Required[Literal["external_investigation", "no_learning_response", "other"]]


class DutyOfCandourRecordFindingsSharedPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``record_findings_shared``."""

    results_letter_ref: Required[str]
    results_delivery: Required[Literal["given_in_person", "post", "email", "secure_portal"]]
    results_delay_reason: Literal[
        "relevant_person_unavailable",
        "relevant_person_request",
        "awaiting_information",
        "staff_availability",
        "determination_delayed",
        "other",
    ]


class DutyOfCandourRecordVerbalNotificationPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``record_verbal_notification``."""

    in_person: Required[bool]
    facts_given: Required[bool]
    further_enquiries_explained: Required[bool]
    apology_given: Required[bool]
    support_offered: Required[bool]
    verbal_record_ref: Required[str]
    relevant_person_basis: Required[Literal["patient", "on_death", "under_16", "lacks_capacity"]]
    representative_ids: Sequence[str]
    verbal_delay_reason: Literal[
        "relevant_person_unavailable",
        "relevant_person_request",
        "awaiting_information",
        "staff_availability",
        "determination_delayed",
        "other",
    ]


class DutyOfCandourRecordWrittenNotificationPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``record_written_notification``."""

    facts_included: Required[bool]
    enquiries_included: Required[bool]
    results_to_date_included: Required[bool]
    apology_included: Required[bool]
    written_copy_ref: Required[str]
    written_delivery: Required[Literal["given_in_person", "post", "email", "secure_portal"]]
    written_delay_reason: Literal[
        "relevant_person_unavailable",
        "relevant_person_request",
        "awaiting_information",
        "staff_availability",
        "determination_delayed",
        "other",
    ]


class DutyOfCandourRelevantPersonEngagesPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``relevant_person_engages``."""

    engaged_via: Required[
        Literal[
            "relevant_person_contacted_us",
            "later_attempt_succeeded",
            "other",
        ]
    ]


class DutyOfCandourReopenPayload(TypedDict, total=False):
    """The payload of ``duty_of_candour`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[Literal["harm_revised", "new_facts", "review_of_decision"]]
    note: str


HotDebriefTrigger = Literal[
    "agree_findings",
    "approve",
    "assign_facilitator",
    "begin_gathering",
    "close",
    "close_without_sharing",
    "complete_analysis",
    "hold",
    "reassign_engagement_lead",
    "reassign_facilitator",
    "record_comment_response",
    "record_draft_version",
    "record_engagement",
    "record_sign_off",
    "record_staff_accuracy_check",
    "record_staff_involved",
    "record_terms_of_reference",
    "reopen",
    "request_approval",
    "resume",
    "return_for_rework",
    "return_from_sign_off",
    "share",
    "sign_off",
    "stand_down",
    "submit_draft",
]
"""The triggers of ``hot_debrief`` version 1."""


class HotDebriefOpenPayload(TypedDict, total=False):
    """The payload that opens a ``hot_debrief`` case."""

    incident_ids: Required[Sequence[str]]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]
    intake_case_id: str
    candour_case_id: str
    caused_by: str
    response_type: str
    plan_priority_id: str
    basis: Literal["national_requirement", "local_priority", "emergent_risk", "other"]


class HotDebriefApprovePayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``approve``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class HotDebriefAssignFacilitatorPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``assign_facilitator``."""

    facilitator_id: Required[str]
    engagement_lead_id: str


class HotDebriefClosePayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``close``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class HotDebriefCloseWithoutSharingPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``close_without_sharing``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class HotDebriefHoldPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``hold``."""

    hold_reason: Required[
        Literal[
            "police",
            "coroner",
            "other",
            "external_process",
            "staff_availability",
            "family_request",
        ]
    ]
    note: str


class HotDebriefReassignEngagementLeadPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``reassign_engagement_lead``."""

    engagement_lead_id: Required[str]
    replaced_engagement_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class HotDebriefReassignFacilitatorPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``reassign_facilitator``."""

    facilitator_id: Required[str]
    replaced_facilitator_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class HotDebriefRecordCommentResponsePayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_comment_response``."""

    commenter: Required[Literal["family", "staff", "peer"]]
    comment_ref: Required[str]
    comment_response_ref: Required[str]


class HotDebriefRecordDraftVersionPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_draft_version``."""

    draft_ref: Required[str]
    draft_digest: Required[str]


class HotDebriefRecordEngagementPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_engagement``."""

    person_id: Required[str]
    person_kind: Required[Literal["patient", "family_member", "staff_involved"]]
    engagement: Required[Literal["involved", "declined", "uncontactable"]]
    contact_preference: Literal[
        "in_person",
        "telephone",
        "video_call",
        "letter",
        "email",
        "through_a_representative",
        "no_further_contact",
    ]
    support_offered: bool
    contact_attempts: int
    note: str


class HotDebriefRecordSignOffPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_sign_off``."""

    sign_off_step: Required[int]
    report_digest: str
    meeting_ref: str
    delegation_id: str


class HotDebriefRecordStaffAccuracyCheckPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_staff_accuracy_check``."""

    staff_accuracy_check: Required[Literal["confirmed", "amended"]]


class HotDebriefRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class HotDebriefRecordTermsOfReferencePayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``record_terms_of_reference``."""

    terms_of_reference_ref: Required[str]


class HotDebriefReopenPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[
        Literal[
            "inquest",
            "police_investigation",
            "new_evidence",
            "family_concern",
        ]
    ]
    note: str


class HotDebriefReturnForReworkPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``return_for_rework``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str


class HotDebriefReturnFromSignOffPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``return_from_sign_off``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str
    meeting_ref: str
    delegation_id: str


class HotDebriefSharePayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``share``."""

    family_sharing: Required[Literal["shared", "declined", "uncontactable", "not_applicable"]]
    shared_with_staff: bool


class HotDebriefSignOffPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``sign_off``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class HotDebriefStandDownPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``stand_down``."""

    stand_down_reason: Required[
        Literal[
            "superseded_by_external_investigation",
            "referred_elsewhere",
            "duplicate",
            "no_further_learning",
            "other",
        ]
    ]
    note: str


class HotDebriefSubmitDraftPayload(TypedDict, total=False):
    """The payload of ``hot_debrief`` ``submit_draft``."""

    draft_ref: Required[str]
    draft_digest: str


IncidentIntakeTrigger = Literal[
    "add_referral",
    "add_to_thematic_review",
    "begin_review",
    "close_referral",
    "commission_local_response",
    "decide_no_further_response",
    "decide_response",
    "override_national_requirement",
    "record_regulator_notification",
    "record_required_notifications",
    "record_staff_involved",
    "record_triage",
    "refer",
    "transfer_to_another_organisation",
    "update_incident_record",
]
"""The triggers of ``incident_intake`` version 1."""


class IncidentIntakeOpenPayload(TypedDict, total=False):
    """The payload that opens a ``incident_intake`` case."""

    incident_id: Required[str]
    lfpse_ref: str
    physical_harm: Literal["none", "low", "moderate", "severe", "fatal"]
    psychological_harm: Literal["none", "low", "moderate", "severe"]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]


class IncidentIntakeAddReferralPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``add_referral``."""

    referral_body: Required[str]
    referral_rule_ref: str
    body_leads_investigation: bool
    local_response_also_required: bool


class IncidentIntakeAddToThematicReviewPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``add_to_thematic_review``."""

    thematic_review_id: Required[str]


class IncidentIntakeCloseReferralPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``close_referral``."""

    decision_note: str


class IncidentIntakeCommissionLocalResponsePayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``commission_local_response``."""

    response_type: Required[str]
    basis: Required[
        Literal[
            "national_requirement",
            "local_priority",
            "emergent_risk",
            "proportionate",
        ]
    ]
    rationale: Required[
        Literal[
            "national_requirement_applies",
            "plan_planned_response",
            "plan_response_changed_case_by_case",
            "significant_risk_identified",
            "learning_opportunity",
            "concern_raised_by_patient_family_or_staff",
            "other",
        ]
    ]
    plan_priority_id: str
    decision_note: str
    departure_reason: Literal[
        "more_proportionate_response",
        "greater_learning_opportunity",
        "patient_or_family_wishes",
        "already_examined_elsewhere",
        "other",
    ]
    departure_note: str
    decider_committee: str
    meeting_ref: str
    reserve_capacity_used: bool


class IncidentIntakeDecideNoFurtherResponsePayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``decide_no_further_response``."""

    no_response_rationale: Required[
        Literal[
            "no_new_learning",
            "learning_captured_elsewhere",
            "covered_by_existing_improvement_plan",
            "immediate_actions_sufficient",
            "not_a_patient_safety_incident",
            "duplicate_report",
            "other",
        ]
    ]
    decision_note: str
    decider_committee: str
    meeting_ref: str


class IncidentIntakeDecideResponsePayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``decide_response``."""

    response_type: Required[str]
    basis: Required[
        Literal[
            "national_requirement",
            "local_priority",
            "emergent_risk",
            "proportionate",
        ]
    ]
    rationale: Required[
        Literal[
            "national_requirement_applies",
            "plan_planned_response",
            "plan_response_changed_case_by_case",
            "significant_risk_identified",
            "learning_opportunity",
            "concern_raised_by_patient_family_or_staff",
            "other",
        ]
    ]
    plan_priority_id: str
    decision_note: str
    departure_reason: Literal[
        "more_proportionate_response",
        "greater_learning_opportunity",
        "patient_or_family_wishes",
        "already_examined_elsewhere",
        "other",
    ]
    departure_note: str
    decider_committee: str
    meeting_ref: str
    reserve_capacity_used: bool


class IncidentIntakeOverrideNationalRequirementPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``override_national_requirement``."""

    overridden_rule_refs: Required[Sequence[str]]
    national_requirement_overridden: Required[bool]
    override_reason: Required[
        Literal[
            "criteria_not_met_on_review",
            "already_investigated_elsewhere",
            "national_rule_under_review",
            "other",
        ]
    ]
    override_note: str


class IncidentIntakeRecordRegulatorNotificationPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``record_regulator_notification``."""

    notification_id: Required[str]
    regulator_notification_ref: Required[str]
    regulator_notification_date: Required[date | str]


class IncidentIntakeRecordRequiredNotificationsPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``record_required_notifications``."""

    required_notification_ids: Required[Sequence[str]]


class IncidentIntakeRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class IncidentIntakeRecordTriagePayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``record_triage``."""

    national_rule_refs: Sequence[str]
    national_psii_rule_refs: Sequence[str]
    plan_priority_ids: Sequence[str]
    plan_ref: Required[str]
    executive_decision_required: bool
    recommended_response: str
    thematic_reviews_met: Sequence[str]


class IncidentIntakeReferPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``refer``."""

    referral_body: Required[str]
    referral_rule_ref: str
    body_leads_investigation: bool
    local_response_also_required: bool


class IncidentIntakeTransferToAnotherOrganisationPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``transfer_to_another_organisation``."""

    receiving_organisation: Required[str]
    transfer_reason: Required[
        Literal[
            "care_provided_by_other_organisation",
            "incident_occurred_elsewhere",
            "reported_to_wrong_organisation",
            "other",
        ]
    ]
    transfer_ref: str
    decision_note: str


class IncidentIntakeUpdateIncidentRecordPayload(TypedDict, total=False):
    """The payload of ``incident_intake`` ``update_incident_record``."""

    lfpse_ref: str
    physical_harm: Literal["none", "low", "moderate", "severe", "fatal"]
    psychological_harm: Literal["none", "low", "moderate", "severe"]


MdtReviewTrigger = Literal[
    "agree_findings",
    "approve",
    "assign_lead",
    "begin_gathering",
    "close",
    "close_without_sharing",
    "complete_analysis",
    "hold",
    "reassign_engagement_lead",
    "reassign_lead",
    "record_comment_response",
    "record_draft_version",
    "record_engagement",
    "record_expert_input",
    "record_sign_off",
    "record_staff_accuracy_check",
    "record_staff_involved",
    "record_terms_of_reference",
    "reopen",
    "request_approval",
    "resume",
    "return_for_rework",
    "return_from_sign_off",
    "share",
    "sign_off",
    "stand_down",
    "submit_draft",
]
"""The triggers of ``mdt_review`` version 1."""


class MdtReviewOpenPayload(TypedDict, total=False):
    """The payload that opens a ``mdt_review`` case."""

    incident_ids: Required[Sequence[str]]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]
    intake_case_id: str
    candour_case_id: str
    caused_by: str
    response_type: str
    plan_priority_id: str
    basis: Literal["national_requirement", "local_priority", "emergent_risk", "other"]


class MdtReviewApprovePayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``approve``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class MdtReviewAssignLeadPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``assign_lead``."""

    lead_id: Required[str]
    engagement_lead_id: str


class MdtReviewClosePayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``close``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class MdtReviewCloseWithoutSharingPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``close_without_sharing``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class MdtReviewHoldPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``hold``."""

    hold_reason: Required[
        Literal[
            "police",
            "coroner",
            "other",
            "external_process",
            "staff_availability",
            "family_request",
        ]
    ]
    note: str


class MdtReviewReassignEngagementLeadPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``reassign_engagement_lead``."""

    engagement_lead_id: Required[str]
    replaced_engagement_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class MdtReviewReassignLeadPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``reassign_lead``."""

    lead_id: Required[str]
    replaced_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class MdtReviewRecordCommentResponsePayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_comment_response``."""

    commenter: Required[Literal["family", "staff", "peer"]]
    comment_ref: Required[str]
    comment_response_ref: Required[str]


class MdtReviewRecordDraftVersionPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_draft_version``."""

    draft_ref: Required[str]
    draft_digest: Required[str]


class MdtReviewRecordEngagementPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_engagement``."""

    person_id: Required[str]
    person_kind: Required[Literal["patient", "family_member", "staff_involved"]]
    engagement: Required[Literal["involved", "declined", "uncontactable"]]
    contact_preference: Literal[
        "in_person",
        "telephone",
        "video_call",
        "letter",
        "email",
        "through_a_representative",
        "no_further_contact",
    ]
    support_offered: bool
    contact_attempts: int
    note: str


class MdtReviewRecordExpertInputPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_expert_input``."""

    expert_input: Required[Literal["subject_matter_expert", "panel"]]
    expert_ids: Required[Sequence[str]]


class MdtReviewRecordSignOffPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_sign_off``."""

    sign_off_step: Required[int]
    report_digest: str
    meeting_ref: str
    delegation_id: str


class MdtReviewRecordStaffAccuracyCheckPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_staff_accuracy_check``."""

    staff_accuracy_check: Required[Literal["confirmed", "amended"]]


class MdtReviewRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class MdtReviewRecordTermsOfReferencePayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``record_terms_of_reference``."""

    terms_of_reference_ref: Required[str]


class MdtReviewReopenPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[
        Literal[
            "inquest",
            "police_investigation",
            "new_evidence",
            "family_concern",
        ]
    ]
    note: str


class MdtReviewReturnForReworkPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``return_for_rework``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str


class MdtReviewReturnFromSignOffPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``return_from_sign_off``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str
    meeting_ref: str
    delegation_id: str


class MdtReviewSharePayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``share``."""

    family_sharing: Required[Literal["shared", "declined", "uncontactable", "not_applicable"]]
    shared_with_staff: bool


class MdtReviewSignOffPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``sign_off``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class MdtReviewStandDownPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``stand_down``."""

    stand_down_reason: Required[
        Literal[
            "superseded_by_external_investigation",
            "referred_elsewhere",
            "duplicate",
            "no_further_learning",
            "other",
        ]
    ]
    note: str


class MdtReviewSubmitDraftPayload(TypedDict, total=False):
    """The payload of ``mdt_review`` ``submit_draft``."""

    draft_ref: Required[str]
    draft_digest: str


PsiiTrigger = Literal[
    "agree_findings",
    "agree_timescale",
    "approve",
    "approve_extension",
    "assign_lead",
    "begin_gathering",
    "close",
    "close_without_sharing",
    "complete_analysis",
    "hold",
    "override_hard_cap",
    "reassign_engagement_lead",
    "reassign_lead",
    "record_comment_response",
    "record_draft_version",
    "record_engagement",
    "record_expert_input",
    "record_family_draft_response",
    "record_family_position",
    "record_peer_review",
    "record_sign_off",
    "record_staff_accuracy_check",
    "record_staff_involved",
    "record_terms_of_reference",
    "refuse_extension",
    "reopen",
    "request_approval",
    "request_extension",
    "resume",
    "return_for_rework",
    "return_from_sign_off",
    "share",
    "sign_off",
    "stand_down",
    "submit_draft",
]
"""The triggers of ``psii`` version 1."""


class PsiiOpenPayload(TypedDict, total=False):
    """The payload that opens a ``psii`` case."""

    incident_ids: Required[Sequence[str]]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]
    intake_case_id: str
    candour_case_id: str
    caused_by: str
    response_type: str
    plan_priority_id: str
    basis: Literal["national_requirement", "local_priority", "emergent_risk", "other"]


class PsiiAgreeTimescalePayload(TypedDict, total=False):
    """The payload of ``psii`` ``agree_timescale``."""

    target_date: Required[date | str]
    family_timescale_agreement: Required[Literal["agreed", "declined", "uncontactable"]]


class PsiiApprovePayload(TypedDict, total=False):
    """The payload of ``psii`` ``approve``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class PsiiApproveExtensionPayload(TypedDict, total=False):
    """The payload of ``psii`` ``approve_extension``."""

    target_date: Required[date | str]
    note: str


class PsiiAssignLeadPayload(TypedDict, total=False):
    """The payload of ``psii`` ``assign_lead``."""

    lead_id: Required[str]
    engagement_lead_id: Required[str]


class PsiiClosePayload(TypedDict, total=False):
    """The payload of ``psii`` ``close``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class PsiiCloseWithoutSharingPayload(TypedDict, total=False):
    """The payload of ``psii`` ``close_without_sharing``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class PsiiHoldPayload(TypedDict, total=False):
    """The payload of ``psii`` ``hold``."""

    hold_reason: Required[
        Literal[
            "police",
            "coroner",
            "other",
            "external_process",
            "staff_availability",
            "family_request",
        ]
    ]
    note: str


class PsiiOverrideHardCapPayload(TypedDict, total=False):
    """The payload of ``psii`` ``override_hard_cap``."""

    target_date: Required[date | str]
    extension_reason: Required[
        Literal[
            "external_process",
            "awaiting_information",
            "staff_availability",
            "family_request",
            "complexity",
            "other",
        ]
    ]
    hard_cap_override_reason: str
    override_rationale_ref: str
    family_extension_agreement: Required[Literal["agreed", "declined", "uncontactable"]]
    note: str


class PsiiReassignEngagementLeadPayload(TypedDict, total=False):
    """The payload of ``psii`` ``reassign_engagement_lead``."""

    engagement_lead_id: Required[str]
    replaced_engagement_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class PsiiReassignLeadPayload(TypedDict, total=False):
    """The payload of ``psii`` ``reassign_lead``."""

    lead_id: Required[str]
    replaced_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class PsiiRecordCommentResponsePayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_comment_response``."""

    commenter: Required[Literal["family", "staff", "peer"]]
    comment_ref: Required[str]
    comment_response_ref: Required[str]


class PsiiRecordDraftVersionPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_draft_version``."""

    draft_ref: Required[str]
    draft_digest: Required[str]


class PsiiRecordEngagementPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_engagement``."""

    person_id: Required[str]
    person_kind: Required[Literal["patient", "family_member", "staff_involved"]]
    engagement: Required[Literal["involved", "declined", "uncontactable"]]
    contact_preference: Literal[
        "in_person",
        "telephone",
        "video_call",
        "letter",
        "email",
        "through_a_representative",
        "no_further_contact",
    ]
    support_offered: bool
    contact_attempts: int
    note: str


class PsiiRecordExpertInputPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_expert_input``."""

    expert_input: Required[Literal["subject_matter_expert", "panel"]]
    expert_ids: Required[Sequence[str]]


class PsiiRecordFamilyDraftResponsePayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_family_draft_response``."""

    family_draft_response: Required[
        Literal[
            "commented",
            "no_comments",
            "declined",
            "uncontactable",
        ]
    ]
    note: str


class PsiiRecordFamilyPositionPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_family_position``."""

    family_extension_position: Required[Literal["agreed", "not_agreed", "not_involved"]]
    family_not_involved_reason: Literal[
        "chose_not_to_be_involved",
        "uncontactable",
        "no_family_identified",
        "other",
    ]
    note: str


class PsiiRecordPeerReviewPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_peer_review``."""

    peer_review_ref: Required[str]


class PsiiRecordSignOffPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_sign_off``."""

    sign_off_step: Required[int]
    report_digest: str
    meeting_ref: str
    delegation_id: str


class PsiiRecordStaffAccuracyCheckPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_staff_accuracy_check``."""

    staff_accuracy_check: Required[Literal["confirmed", "amended"]]


class PsiiRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class PsiiRecordTermsOfReferencePayload(TypedDict, total=False):
    """The payload of ``psii`` ``record_terms_of_reference``."""

    terms_of_reference_ref: Required[str]
    family_involvement_in_terms: Required[Literal["involved", "declined", "uncontactable"]]


class PsiiRefuseExtensionPayload(TypedDict, total=False):
    """The payload of ``psii`` ``refuse_extension``."""

    extension_refusal_reason: Required[
        Literal[
            "not_justified",
            "family_not_agreed",
            "needs_hard_cap_override",
            "other",
        ]
    ]
    note: str


class PsiiReopenPayload(TypedDict, total=False):
    """The payload of ``psii`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[
        Literal[
            "inquest",
            "police_investigation",
            "new_evidence",
            "family_concern",
        ]
    ]
    note: str


class PsiiRequestExtensionPayload(TypedDict, total=False):
    """The payload of ``psii`` ``request_extension``."""

    requested_target_date: Required[date | str]
    extension_reason: Required[
        Literal[
            "external_process",
            "awaiting_information",
            "staff_availability",
            "family_request",
            "complexity",
            "other",
        ]
    ]
    note: str


class PsiiReturnForReworkPayload(TypedDict, total=False):
    """The payload of ``psii`` ``return_for_rework``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str


class PsiiReturnFromSignOffPayload(TypedDict, total=False):
    """The payload of ``psii`` ``return_from_sign_off``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str
    meeting_ref: str
    delegation_id: str


class PsiiSharePayload(TypedDict, total=False):
    """The payload of ``psii`` ``share``."""

    family_sharing: Required[Literal["shared", "declined", "uncontactable", "not_applicable"]]
    shared_with_staff: bool


class PsiiSignOffPayload(TypedDict, total=False):
    """The payload of ``psii`` ``sign_off``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class PsiiStandDownPayload(TypedDict, total=False):
    """The payload of ``psii`` ``stand_down``."""

    stand_down_reason: Required[
        Literal[
            "superseded_by_external_investigation",
            "referred_elsewhere",
            "duplicate",
            "no_further_learning",
            "other",
        ]
    ]
    note: str


class PsiiSubmitDraftPayload(TypedDict, total=False):
    """The payload of ``psii`` ``submit_draft``."""

    draft_ref: Required[str]
    draft_digest: str


ReferralTrigger = Literal[
    "complete",
    "record_external_lead",
    "record_findings_received",
    "record_information_requested",
    "record_information_supplied",
    "record_notification",
    "withdraw",
]
"""The triggers of ``referral`` version 1."""


class ReferralOpenPayload(TypedDict, total=False):
    """The payload that opens a ``referral`` case."""

    incident_ids: Required[Sequence[str]]
    referral_body: Required[str]
    referral_rule_ref: str
    national_rule_refs: Sequence[str]
    intake_case_id: str
    body_leads_investigation: bool
    local_response_also_required: bool
    caused_by: str


class ReferralCompletePayload(TypedDict, total=False):
    """The payload of ``referral`` ``complete``."""

    referral_outcome: Required[
        Literal[
            "notification_acknowledged",
            "findings_received",
            "body_declined_to_investigate",
            "body_review_complete",
            "trust_contribution_complete",
        ]
    ]


class ReferralRecordExternalLeadPayload(TypedDict, total=False):
    """The payload of ``referral`` ``record_external_lead``."""

    external_investigation_ref: str
    external_lead_date: Required[date | str]


class ReferralRecordFindingsReceivedPayload(TypedDict, total=False):
    """The payload of ``referral`` ``record_findings_received``."""

    external_findings_ref: Required[str]
    findings_received_date: Required[date | str]


class ReferralRecordInformationRequestedPayload(TypedDict, total=False):
    """The payload of ``referral`` ``record_information_requested``."""

    information_request_ref: Required[str]
    information_requested_date: Required[date | str]


class ReferralRecordInformationSuppliedPayload(TypedDict, total=False):
    """The payload of ``referral`` ``record_information_supplied``."""

    information_supplied_ref: Required[str]
    information_supplied_date: Required[date | str]


class ReferralRecordNotificationPayload(TypedDict, total=False):
    """The payload of ``referral`` ``record_notification``."""

    notification_ref: Required[str]
    notification_date: Required[date | str]
    notification_route: Literal["notification", "submission", "portal", "telephone_then_written"]


class ReferralWithdrawPayload(TypedDict, total=False):
    """The payload of ``referral`` ``withdraw``."""

    withdrawal_reason: Required[
        Literal[
            "opened_in_error",
            "body_not_responsible",
            "duplicate_referral",
        ]
    ]
    note: str


SafetyActionTrigger = Literal[
    "accept_risk",
    "agree",
    "attach_evidence",
    "begin_monitoring",
    "cancel",
    "confirm_effective",
    "confirm_not_effective",
    "defer",
    "mark_implemented",
    "resume",
    "revise",
    "start",
    "update_proposal",
]
"""The triggers of ``safety_action`` version 1."""


class SafetyActionOpenPayload(TypedDict, total=False):
    """The payload that opens a ``safety_action`` case."""

    learning_response_ids: Required[Sequence[str]]
    area_for_improvement_ids: Required[Sequence[str]]
    owner_id: str
    measure_ref: str
    baseline_ref: str
    target_ref: str
    due_on: date | str


class SafetyActionAcceptRiskPayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``accept_risk``."""

    decision_tier: Required[Literal["executive", "committee"]]
    decision_ref: Required[str]
    risk_register_ref: Required[str]
    note: str


class SafetyActionAttachEvidencePayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``attach_evidence``."""

    evidence_ref: Required[str]


class SafetyActionBeginMonitoringPayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``begin_monitoring``."""

    monitoring_until: Required[date | str]
    data_source_ref: Required[str]


class SafetyActionCancelPayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``cancel``."""

    cancel_reason: Required[
        Literal[
            "superseded_by_other_action",
            "duplicate",
            "no_longer_relevant",
            "other",
        ]
    ]
    note: str


class SafetyActionConfirmEffectivePayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``confirm_effective``."""

    effectiveness_review_ref: Required[str]
    target_met: Required[bool]


class SafetyActionConfirmNotEffectivePayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``confirm_not_effective``."""

    effectiveness_review_ref: Required[str]
    not_effective_reason: Required[
        Literal[
            "target_not_met",
            "unintended_consequences",
            "not_sustained",
        ]
    ]


class SafetyActionDeferPayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``defer``."""

    decision_tier: Required[Literal["executive", "committee"]]
    decision_ref: Required[str]
    risk_register_ref: Required[str]
    defer_reason: Required[
        Literal[
            "resources",
            "depends_on_other_work",
            "service_change_pending",
            "other",
        ]
    ]
    review_on: Required[date | str]
    note: str


class SafetyActionRevisePayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``revise``."""

    revision_ref: Required[str]
    due_on: Required[date | str]
    measure_ref: str
    baseline_ref: str
    target_ref: str
    note: str


class SafetyActionUpdateProposalPayload(TypedDict, total=False):
    """The payload of ``safety_action`` ``update_proposal``."""

    owner_id: str
    measure_ref: str
    baseline_ref: str
    target_ref: str
    due_on: date | str
    note: str


SwarmHuddleTrigger = Literal[
    "agree_findings",
    "approve",
    "assign_facilitator",
    "begin_gathering",
    "close",
    "close_without_sharing",
    "complete_analysis",
    "convert_to_after_action_review",
    "hold",
    "reassign_engagement_lead",
    "reassign_facilitator",
    "record_comment_response",
    "record_draft_version",
    "record_engagement",
    "record_sign_off",
    "record_staff_involved",
    "record_terms_of_reference",
    "reopen",
    "request_approval",
    "resume",
    "return_for_rework",
    "return_from_sign_off",
    "share",
    "sign_off",
    "stand_down",
    "submit_draft",
]
"""The triggers of ``swarm_huddle`` version 1."""


class SwarmHuddleOpenPayload(TypedDict, total=False):
    """The payload that opens a ``swarm_huddle`` case."""

    incident_ids: Required[Sequence[str]]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]
    intake_case_id: str
    candour_case_id: str
    caused_by: str
    response_type: str
    plan_priority_id: str
    basis: Literal["national_requirement", "local_priority", "emergent_risk", "other"]


class SwarmHuddleApprovePayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``approve``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class SwarmHuddleAssignFacilitatorPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``assign_facilitator``."""

    facilitator_id: Required[str]
    engagement_lead_id: str


class SwarmHuddleClosePayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``close``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class SwarmHuddleCloseWithoutSharingPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``close_without_sharing``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class SwarmHuddleConvertToAfterActionReviewPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``convert_to_after_action_review``."""

    stand_down_reason: Literal["not_held_in_time"]
    caused_by: str


class SwarmHuddleHoldPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``hold``."""

    hold_reason: Required[
        Literal[
            "police",
            "coroner",
            "other",
            "external_process",
            "staff_availability",
            "family_request",
        ]
    ]
    note: str


class SwarmHuddleReassignEngagementLeadPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``reassign_engagement_lead``."""

    engagement_lead_id: Required[str]
    replaced_engagement_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class SwarmHuddleReassignFacilitatorPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``reassign_facilitator``."""

    facilitator_id: Required[str]
    replaced_facilitator_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class SwarmHuddleRecordCommentResponsePayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``record_comment_response``."""

    commenter: Required[Literal["family", "staff", "peer"]]
    comment_ref: Required[str]
    comment_response_ref: Required[str]


class SwarmHuddleRecordDraftVersionPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``record_draft_version``."""

    draft_ref: Required[str]
    draft_digest: Required[str]


class SwarmHuddleRecordEngagementPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``record_engagement``."""

    person_id: Required[str]
    person_kind: Required[Literal["patient", "family_member", "staff_involved"]]
    engagement: Required[Literal["involved", "declined", "uncontactable"]]
    contact_preference: Literal[
        "in_person",
        "telephone",
        "video_call",
        "letter",
        "email",
        "through_a_representative",
        "no_further_contact",
    ]
    support_offered: bool
    contact_attempts: int
    note: str


class SwarmHuddleRecordSignOffPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``record_sign_off``."""

    sign_off_step: Required[int]
    report_digest: str
    meeting_ref: str
    delegation_id: str


class SwarmHuddleRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class SwarmHuddleRecordTermsOfReferencePayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``record_terms_of_reference``."""

    terms_of_reference_ref: Required[str]


class SwarmHuddleReopenPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[
        Literal[
            "inquest",
            "police_investigation",
            "new_evidence",
            "family_concern",
        ]
    ]
    note: str


class SwarmHuddleReturnForReworkPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``return_for_rework``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str


class SwarmHuddleReturnFromSignOffPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``return_from_sign_off``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str
    meeting_ref: str
    delegation_id: str


class SwarmHuddleSharePayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``share``."""

    family_sharing: Required[Literal["shared", "declined", "uncontactable", "not_applicable"]]
    shared_with_staff: bool


class SwarmHuddleSignOffPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``sign_off``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class SwarmHuddleStandDownPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``stand_down``."""

    stand_down_reason: Required[
        Literal[
            "superseded_by_external_investigation",
            "referred_elsewhere",
            "duplicate",
            "no_further_learning",
            "other",
        ]
    ]
    note: str


class SwarmHuddleSubmitDraftPayload(TypedDict, total=False):
    """The payload of ``swarm_huddle`` ``submit_draft``."""

    draft_ref: Required[str]
    draft_digest: str


ThematicReviewTrigger = Literal[
    "agree_findings",
    "approve",
    "assign_lead",
    "begin_gathering",
    "close",
    "close_without_sharing",
    "complete_analysis",
    "hold",
    "reassign_engagement_lead",
    "reassign_lead",
    "record_comment_response",
    "record_draft_version",
    "record_engagement",
    "record_peer_review",
    "record_sign_off",
    "record_staff_involved",
    "record_terms_of_reference",
    "reopen",
    "request_approval",
    "resume",
    "return_for_rework",
    "return_from_sign_off",
    "share",
    "sign_off",
    "stand_down",
    "submit_draft",
]
"""The triggers of ``thematic_review`` version 1."""


class ThematicReviewOpenPayload(TypedDict, total=False):
    """The payload that opens a ``thematic_review`` case."""

    incident_ids: Required[Sequence[str]]
    involved_staff_ids: Sequence[str]
    involved_line_manager_ids: Sequence[str]
    intake_case_id: str
    candour_case_id: str
    caused_by: str
    response_type: str
    plan_priority_id: str
    basis: Literal["national_requirement", "local_priority", "emergent_risk", "other"]
    scheduled_review_id: str


class ThematicReviewApprovePayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``approve``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class ThematicReviewAssignLeadPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``assign_lead``."""

    lead_id: Required[str]
    engagement_lead_id: str


class ThematicReviewClosePayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``close``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class ThematicReviewCloseWithoutSharingPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``close_without_sharing``."""

    safety_action_ids: Sequence[str]
    no_actions_rationale: Literal[
        "no_new_learning",
        "covered_by_existing_improvement_plan",
        "actions_owned_elsewhere",
    ]


class ThematicReviewHoldPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``hold``."""

    hold_reason: Required[
        Literal[
            "police",
            "coroner",
            "other",
            "external_process",
            "staff_availability",
            "family_request",
        ]
    ]
    note: str


class ThematicReviewReassignEngagementLeadPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``reassign_engagement_lead``."""

    engagement_lead_id: Required[str]
    replaced_engagement_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class ThematicReviewReassignLeadPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``reassign_lead``."""

    lead_id: Required[str]
    replaced_lead_id: Required[str]
    reassign_reason: Required[
        Literal[
            "involved_in_incident",
            "line_manages_involved_staff",
            "unavailable",
            "conflict_of_interest",
            "other",
        ]
    ]
    note: str


class ThematicReviewRecordCommentResponsePayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_comment_response``."""

    commenter: Required[Literal["family", "staff", "peer"]]
    comment_ref: Required[str]
    comment_response_ref: Required[str]


class ThematicReviewRecordDraftVersionPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_draft_version``."""

    draft_ref: Required[str]
    draft_digest: Required[str]


class ThematicReviewRecordEngagementPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_engagement``."""

    person_id: Required[str]
    person_kind: Required[Literal["patient", "family_member", "staff_involved"]]
    engagement: Required[Literal["involved", "declined", "uncontactable"]]
    contact_preference: Literal[
        "in_person",
        "telephone",
        "video_call",
        "letter",
        "email",
        "through_a_representative",
        "no_further_contact",
    ]
    support_offered: bool
    contact_attempts: int
    note: str


class ThematicReviewRecordPeerReviewPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_peer_review``."""

    peer_review_ref: Required[str]


class ThematicReviewRecordSignOffPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_sign_off``."""

    sign_off_step: Required[int]
    report_digest: str
    meeting_ref: str
    delegation_id: str


class ThematicReviewRecordStaffInvolvedPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_staff_involved``."""

    involved_staff_ids: Required[Sequence[str]]
    involved_line_manager_ids: Sequence[str]


class ThematicReviewRecordTermsOfReferencePayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``record_terms_of_reference``."""

    terms_of_reference_ref: Required[str]


class ThematicReviewReopenPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``reopen``."""

    new_information_ref: Required[str]
    reopen_reason: Required[
        Literal[
            "inquest",
            "police_investigation",
            "new_evidence",
            "family_concern",
        ]
    ]
    note: str


class ThematicReviewReturnForReworkPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``return_for_rework``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str


class ThematicReviewReturnFromSignOffPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``return_from_sign_off``."""

    rework_reason: Required[
        Literal[
            "factual_gaps",
            "analysis_incomplete",
            "engagement_gaps",
            "other",
        ]
    ]
    note: str
    meeting_ref: str
    delegation_id: str


class ThematicReviewSharePayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``share``."""

    family_sharing: Required[Literal["shared", "declined", "uncontactable", "not_applicable"]]
    shared_with_staff: bool


class ThematicReviewSignOffPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``sign_off``."""

    report_ref: Required[str]
    sign_off_step: int
    report_digest: str
    meeting_ref: str
    delegation_id: str


class ThematicReviewStandDownPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``stand_down``."""

    stand_down_reason: Required[
        Literal[
            "superseded_by_external_investigation",
            "referred_elsewhere",
            "duplicate",
            "no_further_learning",
            "other",
        ]
    ]
    note: str


class ThematicReviewSubmitDraftPayload(TypedDict, total=False):
    """The payload of ``thematic_review`` ``submit_draft``."""

    draft_ref: Required[str]
    draft_digest: str
