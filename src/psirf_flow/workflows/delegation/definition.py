"""The delegation lifecycle: who signs off for whom, for which response types, and when.

psirf-rules §5 lets the executive lead sign off PSII reports or delegate it (to a committee
or a chair; LOCAL ✔ GEH/Croydon). A delegation is a record, not a role given away: the
person delegating (the delegator, who must hold the role they delegate) opens a
``delegation`` case naming the delegate, the delegated role, the plan's response types it
covers and the first and last days it is in force (Europe/London calendar dates). It is
``active`` until revoked; outside its dates it simply does not apply.

A delegate signs a learning response's sign-off step for that role by citing the case as
``delegation_id`` (see
[`psirf_flow.workflows.learning_response.sign_off`][psirf_flow.workflows.learning_response.sign_off]),
without holding the role, and still passes every separation-of-duties guard.
"""

from __future__ import annotations

from typing import Final

from psirf_flow.workflows.delegation.guards import DELEGATION_GUARDS
from psirf_flow.workflows.guards import SIGNER_ROLES, GuardSpec, lifecycle_guards
from psirf_flow.workflows.spec import (
    NOTE_FIELD,
    FieldKind,
    FieldSpec,
    OpeningSpec,
    TransitionSpec,
    WorkflowDefinition,
    define,
)


__all__ = ["DELEGATION", "SIGNER_ROLES"]

LIFECYCLE_GUARDS: Final = lifecycle_guards(GuardSpec(*row) for row in DELEGATION_GUARDS)
"""The guards this lifecycle resolves its guard names against: the shared ones and its own."""


def _build() -> WorkflowDefinition:
    return define(
        guards=LIFECYCLE_GUARDS,
        name="delegation",
        version="1",
        family="delegation",
        title="Delegation of sign-off",
        states=("active", "revoked"),
        initial="active",
        final_states=("revoked",),
        opening=OpeningSpec(
            roles=SIGNER_ROLES,
            fields=(
                FieldSpec("delegate_id", FieldKind.IDENTIFIER, required=True),
                FieldSpec.choice(
                    "delegated_role", tuple(r.value for r in SIGNER_ROLES), required=True
                ),
                FieldSpec("response_types", FieldKind.IDENTIFIERS, required=True),
                FieldSpec("valid_from", FieldKind.DATE, required=True),
                FieldSpec("valid_to", FieldKind.DATE, required=True),
                FieldSpec("delegation_ref", FieldKind.REFERENCE),
            ),
            guards=("delegation_well_formed",),
            rules=("psirf.sod.delegated_sign_off@1",),
        ),
        transitions=[
            TransitionSpec(
                trigger="revoke",
                sources=("active",),
                dest="revoked",
                roles=SIGNER_ROLES,
                guards=("actor_is_delegator",),
                fields=(
                    FieldSpec.choice(
                        "revoke_reason",
                        ("delegate_left_role", "no_longer_needed", "made_in_error", "other"),
                        required=True,
                    ),
                    NOTE_FIELD,
                ),
                rules=("psirf.sod.delegated_sign_off@1",),
                summary="Revoke the delegation before its end date.",
            )
        ],
    )


DELEGATION: Final = _build()
"""The delegation lifecycle."""
