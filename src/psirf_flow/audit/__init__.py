"""The tamper-evident audit trail: entries, canonical encodings, keys, verification, checkpoints.

Each accepted command produces one [`AuditEntry`][psirf_flow.audit.entries.AuditEntry], hash-chained
to the one before it ([`psirf_flow.audit.entries`][psirf_flow.audit.entries]); new entries (format
2) are encoded with RFC 8785 ([`psirf_flow.audit.canonical`][psirf_flow.audit.canonical]), hashed
with HMAC-SHA-256 when the host supplies [`AuditKeys`][psirf_flow.audit.keys.AuditKeys]
([`psirf_flow.audit.keys`][psirf_flow.audit.keys]), and bind the case row through a case digest.
[`verify_chain`][psirf_flow.audit.verify.verify_chain] names the first entry that no longer fits
([`psirf_flow.audit.verify`][psirf_flow.audit.verify]); signed checkpoints catch what a chain cannot
see: a cut tail, a deleted case ([`psirf_flow.audit.checkpoint`][psirf_flow.audit.checkpoint]).
Everything here is pure.

The reference of the formats, with a verifier that needs only the standard library, is
``docs/reference/audit-format.md``.
"""

from __future__ import annotations

from psirf_flow.audit.canonical import format_time, jcs_bytes, legacy_canonical_bytes
from psirf_flow.audit.checkpoint import (
    Checkpoint,
    CheckpointedTrail,
    CheckpointFinding,
    CheckpointVerification,
    CurrentTrail,
    make_checkpoint,
    verify_against_checkpoint,
)
from psirf_flow.audit.entries import (
    CASE_FIELDS,
    CURRENT_FORMAT,
    GENESIS_HASH,
    LEGACY_FORMAT,
    AuditEntry,
    canonical_bytes,
    case_differences,
    case_digest,
    case_digest_of,
    entry_hash,
    expected_hash,
    make_entry,
)
from psirf_flow.audit.keys import MIN_KEY_BYTES, AuditKeys, idempotency_digest
from psirf_flow.audit.verify import (
    ChainVerification,
    describe_fields,
    raise_if_broken,
    row_mismatch,
    verify_chain,
)


__all__ = [
    "CASE_FIELDS",
    "CURRENT_FORMAT",
    "GENESIS_HASH",
    "LEGACY_FORMAT",
    "MIN_KEY_BYTES",
    "AuditEntry",
    "AuditKeys",
    "ChainVerification",
    "Checkpoint",
    "CheckpointFinding",
    "CheckpointVerification",
    "CheckpointedTrail",
    "CurrentTrail",
    "canonical_bytes",
    "case_differences",
    "case_digest",
    "case_digest_of",
    "describe_fields",
    "entry_hash",
    "expected_hash",
    "format_time",
    "idempotency_digest",
    "jcs_bytes",
    "legacy_canonical_bytes",
    "make_checkpoint",
    "make_entry",
    "raise_if_broken",
    "row_mismatch",
    "verify_against_checkpoint",
    "verify_chain",
]
