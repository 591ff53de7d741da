"""Every error psirf_flow raises, under one root.

Catch [`PsirfFlowError`][psirf_flow.errors.PsirfFlowError] to catch everything the library raises on
purpose. Each class carries a stable ``code`` (safe to store, match on and show in a host's screens)
and structured fields, so a caller never has to parse a message. Third-party exceptions
(SQLAlchemy, psycopg, transitions, cattrs) never leak: they are translated at the boundary
and chained with ``raise ... from``.

```text
PsirfFlowError                        PSF000  root; never raised itself
├── RetryableError                    PSF001  base of the errors worth retrying (never raised)
│   └── ConcurrencyConflict           PSF302  the case changed since it was read; retry
├── DefinitionError                   PSF100  a workflow definition is malformed
├── CommandRejected                   PSF200  a command was refused; nothing was written
│   ├── UnknownTrigger                PSF201  the workflow has no such trigger
│   ├── TransitionNotAllowed          PSF202  the trigger exists but not from this state
│   ├── RoleNotPermitted              PSF203  the actor holds no role that may fire the trigger
│   ├── GuardFailed                   PSF204  guards said no (every failure listed)
│   │   └── ReasonMissing             PSF210  a step that needs a reason was given none
│   ├── InvalidPayload                PSF205  unknown, missing or badly typed payload fields
│   ├── IdempotencyKeyReused          PSF206  the key was used before for a different command
│   ├── OrganisationMismatch          PSF207  the actor belongs to another organisation
│   ├── UnknownWorkflow               PSF208  no workflow of that name is registered
│   └── ReservedIdentity              PSF209  a person used psirf_flow's own id or role
├── CaseNotFound                      PSF300  no case with that id
├── CaseAlreadyExists                 PSF301  a case with that id exists already
├── StoreError                        PSF400  the store failed; nothing was committed
│   ├── StoreUnavailable              PSF401  the database cannot be reached
│   ├── SchemaVersionError            PSF402  the schema is not the one this release expects
│   ├── CorruptRecord                 PSF403  a stored row does not fit the definition it names
│   └── StoreBusy                     PSF404  a lock was held past the busy timeout; retry
│                                             (also a RetryableError)
├── AuditChainBroken                  PSF500  an audit entry was altered, removed or misplaced
├── AuditKeyError                     PSF510  an audit key is missing, too short or malformed
├── CheckpointInvalid                 PSF520  a checkpoint file cannot be read as a checkpoint
├── PlanError                         PSF600  a plan or rule set has mistakes (all listed)
├── PlanVersionUnavailable            PSF610  a case runs under a plan or rule pack version
│                                             the engine was not given
├── InvalidInput                      PSF700  a value given to a public call has the wrong
│                                             type or shape (also a ValueError)
└── MissingDependency                 PSF800  an optional extra is not installed
                                              (also an ImportError)
```

**Retrying.** Catch [`RetryableError`][psirf_flow.errors.RetryableError] to retry exactly what may
succeed if made again: [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] (someone else
changed the case first: the engine reloads it and decides again) and
[`StoreBusy`][psirf_flow.errors.StoreBusy] (the database stayed locked by another writer past the
busy timeout). Nothing was written in either case; retry a few times with the same idempotency key,
then give up and report the error.

Messages are written for the person at the screen: they say what was refused and why, in
plain words, without naming Python objects. A message that repeats a value it was given
shows it through [`shown`][psirf_flow.errors.shown], which redacts anything that looks like an
identifier of a person (NHS-number-shaped digit runs, e-mail addresses, dates) and cuts it short; an
idempotency key is never repeated at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, Final, NamedTuple


if TYPE_CHECKING:
    from psirf_flow.domain import GuardResult


__all__ = [
    "REASON_MISSING",
    "AuditChainBroken",
    "AuditKeyError",
    "CaseAlreadyExists",
    "CaseNotFound",
    "CheckpointInvalid",
    "CommandRejected",
    "ConcurrencyConflict",
    "CorruptRecord",
    "DefinitionError",
    "GuardFailed",
    "IdempotencyKeyReused",
    "InvalidInput",
    "InvalidPayload",
    "MissingDependency",
    "OrganisationMismatch",
    "PlanError",
    "PlanProblem",
    "PlanVersionUnavailable",
    "PsirfFlowError",
    "ReasonMissing",
    "ReservedIdentity",
    "RetryableError",
    "RoleNotPermitted",
    "SchemaVersionError",
    "StoreBusy",
    "StoreError",
    "StoreUnavailable",
    "TransitionNotAllowed",
    "UnknownTrigger",
    "UnknownWorkflow",
    "guard_failure",
    "redact",
    "shown",
]

REDACTED: Final = "\u00abredacted\u00bb"
"""What replaces text that looks like an identifier of a person."""
SHOWN_LENGTH: Final = 40
"""How many characters of a repeated value a message keeps."""
SHOWN_ITEMS: Final = 20
"""How many items of a list (problems, names) a message repeats."""

# Ten or more digits, each pair separated by at most two non-alphanumeric characters
# (spaces, hyphens, dots, slashes...): an NHS number written any way, and longer runs.
_DIGIT_RUN: Final = re.compile(r"\d(?:[^0-9A-Za-z]{0,2}\d){9,}")
_EMAIL: Final = re.compile(r"[^\s@'\"]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
# Dates written with digits: 2026-01-05, 05/01/2026, 5.1.26, 20260105 (8 digits).
_DATE: Final = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{8}")


def redact(text: str, *, dates: bool = True, emails: bool = True) -> str:
    """Replace what looks like an identifier of a person in ``text`` by ``«redacted»``.

    Redacted: runs of ten or more digits however they are separated (an NHS number is ten
    digits, often written 3-3-4 with spaces, hyphens or dots), anything around an ``@``
    (e-mail addresses) and, unless ``dates`` is false, dates written with digits (a date
    of birth). Used for every value a message or log line repeats; see
    [`shown`][psirf_flow.errors.shown]. ``emails=False`` keeps what looks like an e-mail address (a
    database URL's ``user@host.domain``) but still removes digit runs.
    """
    text = _DIGIT_RUN.sub(REDACTED, text)
    if emails:
        text = _EMAIL.sub(REDACTED, text)
    if dates:
        text = _DATE.sub(REDACTED, text)
    return text


def shown(value: object) -> str:
    """How an error message repeats a value it refused: quoted, redacted and short.

    Text is redacted ([`redact`][psirf_flow.errors.redact]) and cut to
    [`SHOWN_LENGTH`][psirf_flow.errors.SHOWN_LENGTH] characters (``…`` marks a cut) whatever its
    size, then quoted with escapes, so control characters and lone surrogates never reach a terminal
    or a log. Anything else is named by its type only (its value could be anything).

    Examples:
        ```python
        from psirf_flow.errors import shown
        shown("pt-943 476 5919")  # "'pt-«redacted»'"
        ```
    """
    if not isinstance(value, str):
        return f"(a value of type {type(value).__name__})"
    # Cut generously first so huge values cost little, then redact, then cut for good.
    text = redact(value[: SHOWN_LENGTH * 4])
    if len(text) > SHOWN_LENGTH or len(value) > SHOWN_LENGTH * 4:
        text = text[:SHOWN_LENGTH] + "\u2026"
    return repr(text)


def _listed(items: Sequence[str], separator: str) -> str:
    """Join at most `SHOWN_ITEMS` items, saying how many more there are."""
    head = separator.join(items[:SHOWN_ITEMS])
    more = len(items) - SHOWN_ITEMS
    return f"{head}{separator}and {more} more" if more > 0 else head


class PsirfFlowError(Exception):
    """Root of every error psirf_flow raises on purpose."""

    code: ClassVar[str] = "PSF000"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class DefinitionError(PsirfFlowError):
    """Raised when a workflow definition is built with one or more mistakes.

    Attributes:
        workflow: The name of the definition.
        problems: Every problem found, in a stable order.
    """

    code = "PSF100"

    def __init__(self, workflow: str, problems: Sequence[str]) -> None:
        self.workflow = workflow
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"workflow definition {workflow!r} has {len(self.problems)} problem(s):\n{lines}"
        )


class CommandRejected(PsirfFlowError):
    """Raised when a command is refused. Nothing was written to the case.

    Attributes:
        case_id: The case the command was aimed at (``None`` when opening a case).
        trigger: The trigger that was refused.
        reason_code: A stable, machine-readable reason.
    """

    code = "PSF200"

    def __init__(
        self, message: str, *, case_id: str | None, trigger: str, reason_code: str
    ) -> None:
        self.case_id = case_id
        self.trigger = trigger
        self.reason_code = reason_code
        super().__init__(message)


class UnknownTrigger(CommandRejected):
    """Raised when the workflow has no trigger with the given name."""

    code = "PSF201"

    def __init__(self, *, case_id: str | None, trigger: str, workflow: str) -> None:
        self.workflow = workflow
        super().__init__(
            f"{workflow!r} has no step called {shown(trigger)}.",
            case_id=case_id,
            trigger=trigger,
            reason_code="unknown_trigger",
        )


class TransitionNotAllowed(CommandRejected):
    """Raised when the trigger exists but cannot be fired from the case's current state."""

    code = "PSF202"

    def __init__(
        self, *, case_id: str | None, trigger: str, state: str, allowed_from: Iterable[str]
    ) -> None:
        self.state = state
        self.allowed_from = tuple(sorted(allowed_from))
        where = ", ".join(self.allowed_from) or "no state"
        super().__init__(
            f"{_words(trigger)!r} cannot be done while the case is {_words(state)!r}; "
            f"it is only possible from: {_words(where)}.",
            case_id=case_id,
            trigger=trigger,
            reason_code="not_allowed_in_state",
        )


class RoleNotPermitted(CommandRejected):
    """Raised when the acting person holds none of the roles allowed to fire the trigger."""

    code = "PSF203"

    def __init__(
        self,
        *,
        case_id: str | None,
        trigger: str,
        actor_id: str,
        actor_roles: Iterable[str],
        permitted_roles: Iterable[str],
    ) -> None:
        self.actor_id = actor_id
        self.actor_roles = tuple(sorted(actor_roles))
        self.permitted_roles = tuple(sorted(permitted_roles))
        held = ", ".join(_words(r) for r in self.actor_roles) or "no role"
        allowed = ", ".join(_words(r) for r in self.permitted_roles) or "nobody"
        super().__init__(
            f"{shown(actor_id)} acts as {held}, but {_words(trigger)!r} may only be done "
            f"by: {allowed}.",
            case_id=case_id,
            trigger=trigger,
            reason_code="role_not_permitted",
        )


class GuardFailed(CommandRejected):
    """Raised when one or more guards refuse a transition; every failed guard is listed.

    Attributes:
        results: Every guard evaluated, passed or failed, in definition order.
        failures: The failed guards only.
    """

    code = "PSF204"

    def __init__(
        self, *, case_id: str | None, trigger: str, results: Sequence[GuardResult]
    ) -> None:
        self.results = tuple(results)
        self.failures = tuple(r for r in self.results if not r.ok)
        reasons = "; ".join(r.explanation for r in self.failures)
        first = self.failures[0].reason_code if self.failures else "guard_failed"
        super().__init__(
            f"{_words(trigger)!r} was refused because {reasons}.",
            case_id=case_id,
            trigger=trigger,
            reason_code=first,
        )


REASON_MISSING: Final = "reason_missing"
"""The reason code of a guard that refuses a step for want of a reason (an override's
rationale, a hold for "other" reasons without a note); see
[`ReasonMissing`][psirf_flow.errors.ReasonMissing].
"""


class ReasonMissing(GuardFailed):
    """Raised when a step that must give a reason gave none (psirf-rules §5 SoD 7).

    A [`GuardFailed`][psirf_flow.errors.GuardFailed] whose failures include the reason code
    [`REASON_MISSING`][psirf_flow.errors.REASON_MISSING], so a host can ask for the reason without
    reading the failures. ``except GuardFailed`` still catches it; ``failures`` lists every failed
    guard as usual.
    """

    code = "PSF210"

    def __init__(
        self, *, case_id: str | None, trigger: str, results: Sequence[GuardResult]
    ) -> None:
        super().__init__(case_id=case_id, trigger=trigger, results=results)
        self.reason_code = REASON_MISSING


def guard_failure(
    *, case_id: str | None, trigger: str, results: Sequence[GuardResult]
) -> GuardFailed:
    """The error for failed guards: `ReasonMissing` when a reason is missing."""
    if any(not r.ok and r.reason_code == REASON_MISSING for r in results):
        return ReasonMissing(case_id=case_id, trigger=trigger, results=results)
    return GuardFailed(case_id=case_id, trigger=trigger, results=results)


class InvalidPayload(CommandRejected):
    """Raised when a payload has unknown, missing or badly typed fields.

    Attributes:
        problems: Every problem found, one per field.
    """

    code = "PSF205"

    def __init__(self, *, case_id: str | None, trigger: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"the details given for {_words(trigger)!r} are not acceptable: "
            + _listed(self.problems, "; ")
            + ".",
            case_id=case_id,
            trigger=trigger,
            reason_code="invalid_payload",
        )


class IdempotencyKeyReused(CommandRejected):
    """Raised when an idempotency key is presented again with a different command.

    The message never repeats the key (a host may build keys from anything); the ``key``
    attribute holds it for the caller.
    """

    code = "PSF206"

    def __init__(self, *, case_id: str | None, trigger: str, key: str) -> None:
        self.key = key
        super().__init__(
            "this idempotency key was already used for a different command; "
            "use a new key for a new command.",
            case_id=case_id,
            trigger=trigger,
            reason_code="idempotency_key_reused",
        )


class OrganisationMismatch(CommandRejected):
    """Raised when an actor tries to act on a case owned by another organisation."""

    code = "PSF207"

    def __init__(
        self, *, case_id: str | None, trigger: str, actor_organisation: str, organisation: str
    ) -> None:
        self.actor_organisation = actor_organisation
        self.organisation = organisation
        super().__init__(
            "the case belongs to another organisation; people from outside it may read "
            "what their organisation oversees but cannot act on it.",
            case_id=case_id,
            trigger=trigger,
            reason_code="organisation_mismatch",
        )


class UnknownWorkflow(CommandRejected):
    """Raised when opening a case of a workflow the engine does not know."""

    code = "PSF208"

    def __init__(self, *, workflow: str, known: Iterable[str]) -> None:
        self.workflow = workflow
        self.known = tuple(sorted(known))
        super().__init__(
            f"there is no workflow called {shown(workflow)}; known workflows: "
            f"{', '.join(self.known) or 'none'}.",
            case_id=None,
            trigger="open",
            reason_code="unknown_workflow",
        )


class ReservedIdentity(CommandRejected):
    """Raised when host code acts as psirf_flow itself.

    The relay's actor id ([`SYSTEM_ACTOR_ID`][psirf_flow.domain.SYSTEM_ACTOR_ID], compared without
    regard to case) and [`SYSTEM`][psirf_flow.domain.Role.SYSTEM] belong to psirf_flow alone:
    an audit entry naming them must mean that a coupling caused the step (psirf-rules
    §9.4). Nothing was written.
    """

    code = "PSF209"

    def __init__(self, *, case_id: str | None, trigger: str) -> None:
        super().__init__(
            "this identity is reserved for psirf_flow's own coupled steps; a person cannot "
            "act with the system id or the system role.",
            case_id=case_id,
            trigger=trigger,
            reason_code="reserved_identity",
        )


class CaseNotFound(PsirfFlowError):
    """Raised when no case has the given id, or none the reader may see.

    A case of another organisation that the reader does not oversee is reported exactly
    like a missing one (same class, same message), so that no call reveals whether it
    exists, whom it belongs to or where it stands.
    """

    code = "PSF300"

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"there is no case with id {shown(case_id)}.")


class CaseAlreadyExists(PsirfFlowError):
    """Raised when opening a case whose id is already taken."""

    code = "PSF301"

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(f"a case with id {shown(case_id)} already exists.")


class RetryableError(PsirfFlowError):
    """Base of the errors after which the same call may succeed if made again.

    Nothing was written. Catch it to retry, a few times and with the same idempotency key:
    [`ConcurrencyConflict`][psirf_flow.errors.ConcurrencyConflict] (the case changed first) and
    [`StoreBusy`][psirf_flow.errors.StoreBusy] (the database stayed locked past the busy timeout)
    derive from it. Never raised itself.
    """

    code = "PSF001"


class ConcurrencyConflict(RetryableError):
    """Raised when a case changed between reading and writing it; reload and retry.

    Attributes:
        case_id: The case.
        expected_version: The version the command was decided against (or the caller
            stated with ``expected_version``).
        current_version: The version found instead, when the store knows it (``None``
            otherwise, or when the case is gone).
    """

    code = "PSF302"

    def __init__(
        self, case_id: str, expected_version: int, *, current_version: int | None = None
    ) -> None:
        self.case_id = case_id
        self.expected_version = expected_version
        self.current_version = current_version
        found = "" if current_version is None else f", but at version {current_version}"
        super().__init__(
            f"case {shown(case_id)} was changed by someone else (it is no longer at version "
            f"{expected_version}{found}); reload it and try again."
        )


class StoreError(PsirfFlowError):
    """Raised when the store fails; the transaction was rolled back and nothing was lost."""

    code = "PSF400"


class StoreUnavailable(StoreError):
    """Raised when the database cannot be reached. The URL is shown without its password."""

    code = "PSF401"

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(f"the database at {url} cannot be reached: {detail}")


class SchemaVersionError(StoreError):
    """Raised when the database schema is newer (or older) than this release expects.

    Attributes:
        found: The revision recorded in the database (``None`` when it has none).
        expected: The revision this release needs.
        newer: True when ``found`` is newer than this release knows.
        legacy_table: True when ``found`` is recorded in the shared ``alembic_version``
            table that earlier releases used; the migration moves it.
    """

    code = "PSF402"

    def __init__(
        self, found: str | None, expected: str, *, newer: bool, legacy_table: bool = False
    ) -> None:
        self.found = found
        self.expected = expected
        self.newer = newer
        self.legacy_table = legacy_table
        if newer:
            message = (
                f"the database schema is at revision {found!r}, which is newer than this "
                f"release of psirf_flow knows ({expected!r}); upgrade psirf_flow before using it."
            )
        elif legacy_table:
            message = (
                f"the database records its schema revision {found!r} in the shared "
                "alembic_version table, which this release no longer uses; run the migration "
                "first: psirf-flow db upgrade <database URL>."
            )
        else:
            message = (
                f"the database schema is at revision {found!r} but this release needs "
                f"{expected!r}; run the migration first: psirf-flow db upgrade <database URL>."
            )
        super().__init__(message)


class CorruptRecord(StoreError):
    """Raised when a stored row names a workflow, version or state the library does not know."""

    code = "PSF403"

    def __init__(self, case_id: str, detail: str) -> None:
        self.case_id = case_id
        super().__init__(f"case {shown(case_id)} cannot be loaded: {detail}")


class StoreBusy(StoreError, RetryableError):
    """Raised when the database stayed locked by another writer past the busy timeout.

    Nothing was written; the same call may succeed if made again (it is a
    [`RetryableError`][psirf_flow.errors.RetryableError]). On SQLite, another connection held the
    write lock longer than the busy timeout (``busy_timeout`` of
    [`make_engine`][psirf_flow.store.sql.engines.make_engine]); on PostgreSQL, a lock or
    serialisation failure made the server abort the transaction.

    Attributes:
        url: The database URL, without its password.
    """

    code = "PSF404"

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(
            f"the database at {url} is busy (another writer held a lock too long): {detail}; "
            "nothing was written, try again."
        )


class AuditChainBroken(PsirfFlowError):
    """Raised by ``raise_if_broken`` when an audit trail fails verification.

    Attributes:
        case_id: The case whose chain is broken.
        sequence: The sequence number of the first broken entry.
        reason: What is wrong with it.
    """

    code = "PSF500"

    def __init__(self, case_id: str, sequence: int, reason: str) -> None:
        self.case_id = case_id
        self.sequence = sequence
        self.reason = reason
        super().__init__(
            f"audit trail of case {shown(case_id)} is broken at entry {sequence}: {reason}"
        )


class AuditKeyError(PsirfFlowError):
    """Raised when an audit key ring is malformed: empty, a key too short, no such active key.

    The message names key ids and lengths, never key material.
    """

    code = "PSF510"


class CheckpointInvalid(PsirfFlowError):
    """Raised when a checkpoint document is not a checkpoint (malformed JSON or fields).

    A well-formed checkpoint whose signature does not match is not an error: checkpoint
    verification reports it as tampered.
    """

    code = "PSF520"


class PlanProblem(NamedTuple):
    """One mistake found in a plan file.

    Attributes:
        path: Where in the file, as a TOML path such as ``priorities[2].responses.default``
            (empty for the file as a whole).
        line: The 1-based line it was found on, when it could be located; else ``None``.
        message: What is wrong, in plain words.
    """

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path or "(whole file)"
        if self.line is not None:
            where = f"line {self.line}, {where}"
        return f"{where}: {self.message}"


class PlanError(PsirfFlowError):
    """Raised when a trust's plan (or a national rule set) cannot be loaded.

    Nothing is half-loaded: either every part of the file is valid or this is raised,
    listing every problem found, each with its location.

    Attributes:
        source: A name for the file (a path or ``"<plan>"``).
        problems: Every problem found, in file order where known.
    """

    code = "PSF600"

    def __init__(self, source: str, problems: Sequence[PlanProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = [
            f"  - {_printable(redact(str(p), dates=False))}" for p in self.problems[:_PLAN_LINES]
        ]
        if len(self.problems) > _PLAN_LINES:
            lines.append(f"  - and {len(self.problems) - _PLAN_LINES} more")
        super().__init__(
            f"{_printable(redact(source, dates=False))} has {len(self.problems)} problem(s):\n"
            + "\n".join(lines)
        )


class PlanVersionUnavailable(PsirfFlowError):
    """Raised when a case records a plan or rule pack version the engine was not given.

    A case keeps the versions of the trust's plan and of the national rule pack it was
    opened under (psirf-rules §1.8, §3); deciding it under other versions would apply rules
    it never ran under, so nothing is decided until the engine is given those versions
    (``Engine(earlier_plans=..., earlier_rules=...)``). Nothing was written. The message
    names only the versions.

    Attributes:
        case_id: The case.
        plan_ref: The plan ``id@version`` the case records.
        rules_version: The rule pack version the case records.
    """

    code = "PSF610"

    def __init__(self, case_id: str, plan_ref: str, rules_version: str) -> None:
        self.case_id = case_id
        self.plan_ref = plan_ref
        self.rules_version = rules_version
        super().__init__(
            f"case {shown(case_id)} runs under plan {shown(plan_ref)} and national rules "
            f"{shown(rules_version)}; this engine was not given both, so nothing was "
            "decided (pass the earlier versions as earlier_plans and earlier_rules)."
        )


class InvalidInput(PsirfFlowError, ValueError):
    """Raised when a value given to a public call has the wrong type or shape.

    Nothing was read or written. Also a `ValueError`, so code written before this
    class existed keeps working.

    Attributes:
        argument: The name of the argument that was refused (``"case_id"``, ``"actor"``).
    """

    code = "PSF700"

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        super().__init__(f"{argument} {problem}")


class MissingDependency(PsirfFlowError, ImportError):
    """Raised when a part of psirf_flow needs an optional extra that is not installed.

    The core installs with few dependencies; storage, the PostgreSQL driver, the command
    line and the test kit each need an extra. Importing one of them (or opening a
    PostgreSQL URL) without it raises this error, whose message names the command that
    installs what is missing. Also an `ImportError`, so ``except ImportError`` keeps
    working.

    Attributes:
        module: The top-level module that could not be imported (``"sqlalchemy"``).
        extra: The extra that installs it (``"sqlalchemy"``, ``"postgresql"``, ``"cli"``,
            ``"testing"``).
    """

    code = "PSF800"

    def __init__(self, module: str, extra: str, needed_by: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{needed_by} needs {module}, which is not installed; install it with "
            f'pip install "psirf-flow[{extra}]"'
        )


_PLAN_LINES: Final = 100
"""How many problems a plan error's message lists (``problems`` holds every one)."""


def _printable(text: str) -> str:
    """``text`` itself when printable, else with control characters and surrogates escaped."""
    return text if text.isprintable() else repr(text)[1:-1]


def _words(name: str) -> str:
    """Turn an identifier such as ``request_approval`` into ``request approval``."""
    return name.replace("_", " ")
