"""psirf_flow: compliant PSIRF investigation lifecycles for NHS systems.

Guarded state machines defined as data, a pure decision core, an engine that persists
state and a tamper-evident audit trail in one transaction, and pluggable stores.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from psirf_flow.audit import AuditEntry as AuditEntry
from psirf_flow.audit import AuditKeys as AuditKeys
from psirf_flow.audit import ChainVerification as ChainVerification
from psirf_flow.audit import Checkpoint as Checkpoint
from psirf_flow.audit import CheckpointVerification as CheckpointVerification
from psirf_flow.audit import verify_chain as verify_chain
from psirf_flow.clock import SystemClock as SystemClock
from psirf_flow.decide import Decision as Decision
from psirf_flow.decide import Option as Option
from psirf_flow.decide import decide as decide
from psirf_flow.decide import decide_open as decide_open
from psirf_flow.domain import Actor as Actor
from psirf_flow.domain import Case as Case
from psirf_flow.domain import Command as Command
from psirf_flow.domain import GuardResult as GuardResult
from psirf_flow.domain import Reader as Reader
from psirf_flow.domain import Role as Role
from psirf_flow.domain import SystemReader as SystemReader
from psirf_flow.engine import Engine as Engine
from psirf_flow.engine import IncidentRecord as IncidentRecord
from psirf_flow.engine import Outcome as Outcome
from psirf_flow.errors import AuditChainBroken as AuditChainBroken
from psirf_flow.errors import AuditKeyError as AuditKeyError
from psirf_flow.errors import CaseAlreadyExists as CaseAlreadyExists
from psirf_flow.errors import CaseNotFound as CaseNotFound
from psirf_flow.errors import CheckpointInvalid as CheckpointInvalid
from psirf_flow.errors import CommandRejected as CommandRejected
from psirf_flow.errors import ConcurrencyConflict as ConcurrencyConflict
from psirf_flow.errors import CorruptRecord as CorruptRecord
from psirf_flow.errors import DefinitionError as DefinitionError
from psirf_flow.errors import GuardFailed as GuardFailed
from psirf_flow.errors import IdempotencyKeyReused as IdempotencyKeyReused
from psirf_flow.errors import InvalidInput as InvalidInput
from psirf_flow.errors import InvalidPayload as InvalidPayload
from psirf_flow.errors import OrganisationMismatch as OrganisationMismatch
from psirf_flow.errors import PlanVersionUnavailable as PlanVersionUnavailable
from psirf_flow.errors import PsirfFlowError as PsirfFlowError
from psirf_flow.errors import ReasonMissing as ReasonMissing
from psirf_flow.errors import ReservedIdentity as ReservedIdentity
from psirf_flow.errors import RetryableError as RetryableError
from psirf_flow.errors import RoleNotPermitted as RoleNotPermitted
from psirf_flow.errors import SchemaVersionError as SchemaVersionError
from psirf_flow.errors import StoreBusy as StoreBusy
from psirf_flow.errors import StoreError as StoreError
from psirf_flow.errors import StoreUnavailable as StoreUnavailable
from psirf_flow.errors import TransitionNotAllowed as TransitionNotAllowed
from psirf_flow.errors import UnknownTrigger as UnknownTrigger
from psirf_flow.errors import UnknownWorkflow as UnknownWorkflow
from psirf_flow.notify import InMemoryNotifier as InMemoryNotifier
from psirf_flow.notify import LogNotifier as LogNotifier
from psirf_flow.notify import Notification as Notification
from psirf_flow.notify import Notifier as Notifier
from psirf_flow.ports import CaseQuery as CaseQuery
from psirf_flow.ports import Clock as Clock
from psirf_flow.ports import Page as Page
from psirf_flow.ports import Store as Store
from psirf_flow.reports import CandourTimeliness as CandourTimeliness
from psirf_flow.reports import CaseloadItem as CaseloadItem
from psirf_flow.reports import DeadlineItem as DeadlineItem
from psirf_flow.store.memory import InMemoryStore as InMemoryStore
from psirf_flow.sweeper import Sweeper as Sweeper
from psirf_flow.sweeper import SweepReport as SweepReport
from psirf_flow.workflows import DefinitionRegistry as DefinitionRegistry
from psirf_flow.workflows import WorkflowDefinition as WorkflowDefinition


try:
    __version__ = _version("psirf-flow")
except _PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Actor",
    "AuditChainBroken",
    "AuditEntry",
    "AuditKeyError",
    "AuditKeys",
    "CandourTimeliness",
    "Case",
    "CaseAlreadyExists",
    "CaseNotFound",
    "CaseQuery",
    "CaseloadItem",
    "ChainVerification",
    "Checkpoint",
    "CheckpointInvalid",
    "CheckpointVerification",
    "Clock",
    "Command",
    "CommandRejected",
    "ConcurrencyConflict",
    "CorruptRecord",
    "DeadlineItem",
    "Decision",
    "DefinitionError",
    "DefinitionRegistry",
    "Engine",
    "GuardFailed",
    "GuardResult",
    "IdempotencyKeyReused",
    "InMemoryNotifier",
    "InMemoryStore",
    "IncidentRecord",
    "InvalidInput",
    "InvalidPayload",
    "LogNotifier",
    "Notification",
    "Notifier",
    "Option",
    "OrganisationMismatch",
    "Outcome",
    "Page",
    "PlanVersionUnavailable",
    "PsirfFlowError",
    "Reader",
    "ReasonMissing",
    "ReservedIdentity",
    "RetryableError",
    "Role",
    "RoleNotPermitted",
    "SchemaVersionError",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoreUnavailable",
    "SweepReport",
    "Sweeper",
    "SystemClock",
    "SystemReader",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnknownWorkflow",
    "WorkflowDefinition",
    "__version__",
    "decide",
    "decide_open",
    "verify_chain",
]
