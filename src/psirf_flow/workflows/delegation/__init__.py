"""The delegation lifecycle: a sign-off role delegated for a period.

The definition, its vocabularies and its guards live in this package; it imports no other
lifecycle package (see [`psirf_flow.workflows.registry`][psirf_flow.workflows.registry], which
assembles them).
"""

from __future__ import annotations

from psirf_flow.workflows.delegation.definition import (
    DELEGATION,
    SIGNER_ROLES,
)


__all__ = [
    "DELEGATION",
    "SIGNER_ROLES",
]
