"""Errors: one root, a drawn hierarchy, stable codes, plain-words messages, structured fields."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from psirf_flow import errors
from psirf_flow.domain import GuardResult
from psirf_flow.errors import (
    AuditChainBroken,
    AuditKeyError,
    CaseAlreadyExists,
    CaseNotFound,
    CheckpointInvalid,
    CommandRejected,
    ConcurrencyConflict,
    CorruptRecord,
    DefinitionError,
    GuardFailed,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidPayload,
    MissingDependency,
    OrganisationMismatch,
    PlanError,
    PlanProblem,
    PlanVersionUnavailable,
    PsirfFlowError,
    ReasonMissing,
    ReservedIdentity,
    RetryableError,
    RoleNotPermitted,
    SchemaVersionError,
    StoreBusy,
    StoreError,
    StoreUnavailable,
    TransitionNotAllowed,
    UnknownTrigger,
    UnknownWorkflow,
)


#: The stable codes. A code, once published, never changes meaning.
CODES = {
    "PsirfFlowError": "PSF000",
    "RetryableError": "PSF001",
    "DefinitionError": "PSF100",
    "CommandRejected": "PSF200",
    "UnknownTrigger": "PSF201",
    "TransitionNotAllowed": "PSF202",
    "RoleNotPermitted": "PSF203",
    "GuardFailed": "PSF204",
    "InvalidPayload": "PSF205",
    "IdempotencyKeyReused": "PSF206",
    "OrganisationMismatch": "PSF207",
    "UnknownWorkflow": "PSF208",
    "ReservedIdentity": "PSF209",
    "ReasonMissing": "PSF210",
    "CaseNotFound": "PSF300",
    "CaseAlreadyExists": "PSF301",
    "ConcurrencyConflict": "PSF302",
    "StoreError": "PSF400",
    "StoreUnavailable": "PSF401",
    "SchemaVersionError": "PSF402",
    "CorruptRecord": "PSF403",
    "StoreBusy": "PSF404",
    "AuditChainBroken": "PSF500",
    "AuditKeyError": "PSF510",
    "CheckpointInvalid": "PSF520",
    "PlanError": "PSF600",
    "PlanVersionUnavailable": "PSF610",
    "InvalidInput": "PSF700",
    "MissingDependency": "PSF800",
}

ERROR_CLASSES = {
    name: obj
    for name in errors.__all__
    if isinstance(obj := getattr(errors, name), type) and issubclass(obj, BaseException)
}

_FAILED = GuardResult("actor_is_lead", False, "actor_not_assigned_lead", "lead-2 is not the lead")
_PASSED = GuardResult("findings_agreed", True)
_NO_REASON = GuardResult(
    "override_rationale_given",
    False,
    errors.REASON_MISSING,
    "an override beyond the hard cap needs a reason",
)

#: One realistic instance of every error, with the reason code it must carry (if any).
SAMPLES: dict[str, tuple[Callable[[], PsirfFlowError], str | None]] = {
    "PsirfFlowError": (lambda: PsirfFlowError("something went wrong"), None),
    "DefinitionError": (lambda: DefinitionError("tiny", ["no initial state is given"]), None),
    "CommandRejected": (
        lambda: CommandRejected("refused", case_id="c-1", trigger="approve", reason_code="x"),
        "x",
    ),
    "UnknownTrigger": (
        lambda: UnknownTrigger(case_id="c-1", trigger="to_closed", workflow="psii"),
        "unknown_trigger",
    ),
    "TransitionNotAllowed": (
        lambda: TransitionNotAllowed(
            case_id="c-1", trigger="request_approval", state="drafting", allowed_from=["review"]
        ),
        "not_allowed_in_state",
    ),
    "RoleNotPermitted": (
        lambda: RoleNotPermitted(
            case_id="c-1",
            trigger="approve",
            actor_id="lead-1",
            actor_roles=["learning_response_lead"],
            permitted_roles=["executive_lead"],
        ),
        "role_not_permitted",
    ),
    "GuardFailed": (
        lambda: GuardFailed(case_id="c-1", trigger="begin_gathering", results=[_PASSED, _FAILED]),
        "actor_not_assigned_lead",
    ),
    "ReasonMissing": (
        lambda: ReasonMissing(
            case_id="c-1", trigger="override_hard_cap", results=[_FAILED, _NO_REASON]
        ),
        "reason_missing",
    ),
    "InvalidPayload": (
        lambda: InvalidPayload(
            case_id="c-1", trigger="hold", problems=["'hold_reason' is required"]
        ),
        "invalid_payload",
    ),
    "IdempotencyKeyReused": (
        lambda: IdempotencyKeyReused(case_id="c-1", trigger="approve", key="k-1"),
        "idempotency_key_reused",
    ),
    "OrganisationMismatch": (
        lambda: OrganisationMismatch(
            case_id="c-1", trigger="approve", actor_organisation="RX2", organisation="RX1"
        ),
        "organisation_mismatch",
    ),
    "UnknownWorkflow": (
        lambda: UnknownWorkflow(workflow="rca", known=["psii"]),
        "unknown_workflow",
    ),
    "ReservedIdentity": (
        lambda: ReservedIdentity(case_id="c-1", trigger="approve"),
        "reserved_identity",
    ),
    "CaseNotFound": (lambda: CaseNotFound("c-1"), None),
    "CaseAlreadyExists": (lambda: CaseAlreadyExists("c-1"), None),
    "RetryableError": (lambda: RetryableError("the database was busy; try again"), None),
    "ConcurrencyConflict": (lambda: ConcurrencyConflict("c-1", 4, current_version=5), None),
    "StoreError": (lambda: StoreError("the store failed; nothing was committed"), None),
    "StoreUnavailable": (
        lambda: StoreUnavailable("postgresql://db.example/psirf", "connection refused"),
        None,
    ),
    "SchemaVersionError": (lambda: SchemaVersionError("0009", "0003", newer=True), None),
    "CorruptRecord": (lambda: CorruptRecord("c-1", "its state 'limbo' is unknown"), None),
    "StoreBusy": (lambda: StoreBusy("sqlite+pysqlite:///cases.db", "database is locked"), None),
    "AuditChainBroken": (
        lambda: AuditChainBroken("c-1", 3, "it does not chain to the entry before it"),
        None,
    ),
    "AuditKeyError": (
        lambda: AuditKeyError("audit key 'k2026' is 16 bytes long; at least 32 are needed"),
        None,
    ),
    "CheckpointInvalid": (
        lambda: CheckpointInvalid("the checkpoint is not valid JSON"),
        None,
    ),
    "PlanError": (
        lambda: PlanError("<plan>", [PlanProblem("priorities[0].name", 3, "is missing")]),
        None,
    ),
    "InvalidInput": (lambda: InvalidInput("case_id", "must be text"), None),
    "MissingDependency": (
        lambda: MissingDependency("sqlalchemy", "sqlalchemy", "the SQL store"),
        None,
    ),
    "PlanVersionUnavailable": (
        lambda: PlanVersionUnavailable("c-1", "rx9-psirp@1", "2026.1"),
        None,
    ),
}

#: The trigger each sample rejection above was aimed at ("open" for an unknown workflow).
REJECTED_TRIGGERS = {
    "CommandRejected": "approve",
    "UnknownTrigger": "to_closed",
    "TransitionNotAllowed": "request_approval",
    "RoleNotPermitted": "approve",
    "GuardFailed": "begin_gathering",
    "ReasonMissing": "override_hard_cap",
    "InvalidPayload": "hold",
    "IdempotencyKeyReused": "approve",
    "OrganisationMismatch": "approve",
    "UnknownWorkflow": "open",
    "ReservedIdentity": "approve",
}


def _tree() -> dict[str, tuple[str, str | None]]:
    """Parse the module docstring's tree into ``name -> (code, parent name)``."""
    doc = errors.__doc__ or ""
    found: dict[str, tuple[str, str | None]] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.search(r"([A-Z]\w+)\s+(PSF\d{3})\b", line)
        if match is None:
            continue
        column = match.start(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        found[match.group(1)] = (match.group(2), stack[-1][1] if stack else None)
        stack.append((column, match.group(1)))
    return found


class TestHierarchy:
    """One root, and a hierarchy drawn in the module docstring that matches the classes."""

    def test_every_error_subclasses_the_root(self) -> None:
        """Every exception the module exports derives from ``PsirfFlowError``."""
        assert ERROR_CLASSES
        for name, cls in ERROR_CLASSES.items():
            assert issubclass(cls, PsirfFlowError), name

    def test_everything_exported_is_an_error_or_its_record(self) -> None:
        """The module exports errors, plus only the records errors carry."""
        assert set(errors.__all__) - set(ERROR_CLASSES) == {
            "PlanProblem",
            "REASON_MISSING",
            "guard_failure",
            "redact",
            "shown",
        }
        assert PlanError("<plan>", [PlanProblem("", None, "is empty")]).problems[0].message

    def test_codes_are_pinned(self) -> None:
        """Each error's code is the one published in the table; no error is left out."""
        assert {name: cls.code for name, cls in ERROR_CLASSES.items()} == CODES

    def test_codes_are_unique(self) -> None:
        """No two errors share a code."""
        codes = [cls.code for cls in ERROR_CLASSES.values()]
        assert len(codes) == len(set(codes))

    def test_docstring_tree_matches_the_classes(self) -> None:
        """Every class appears in the drawn tree with its code, under its real parent."""
        tree = _tree()

        assert set(tree) == set(ERROR_CLASSES)
        for name, (code, parent) in tree.items():
            cls = ERROR_CLASSES[name]
            assert code == cls.code, name
            expected_parent = None if cls is PsirfFlowError else cls.__bases__[0].__name__
            assert parent == expected_parent, name


class TestMessages:
    """Messages are plain words a user understands without reading code."""

    def test_every_error_has_a_sample(self) -> None:
        """Each exported error is exercised by the message tests below."""
        assert set(SAMPLES) == set(ERROR_CLASSES)

    @pytest.mark.parametrize("name", sorted(SAMPLES))
    def test_message_is_plain_words(self, name: str) -> None:
        """The message names no Python object, class or traceback, and shows its code."""
        error = SAMPLES[name][0]()
        text = str(error)

        assert type(error).__name__ == name
        assert text == f"[{error.code}] {error.message}"
        for forbidden in ("psirf_flow.", "Traceback", "object at 0x", "None"):
            assert forbidden not in text
        for class_name in ERROR_CLASSES:
            assert class_name not in text

    def test_older_schema_message_is_plain_words(self) -> None:
        """The message asking for a migration names the command to run, no Python object."""
        message = str(SchemaVersionError("0001", "0003", newer=False))

        assert "psirf_flow." not in message
        assert "psirf-flow db upgrade" in message

    @pytest.mark.parametrize(
        ("make", "words"),
        [
            pytest.param(
                SAMPLES["TransitionNotAllowed"][0],
                "'request approval' cannot be done while the case is 'drafting'; "
                "it is only possible from: review.",
                id="not-allowed",
            ),
            pytest.param(
                SAMPLES["RoleNotPermitted"][0],
                "'lead-1' acts as learning response lead, but 'approve' may only be done by: "
                "executive lead.",
                id="role",
            ),
            pytest.param(
                SAMPLES["GuardFailed"][0],
                "'begin gathering' was refused because lead-2 is not the lead.",
                id="guard",
            ),
            pytest.param(
                lambda: TransitionNotAllowed(case_id="c", trigger="x", state="y", allowed_from=[]),
                "it is only possible from: no state.",
                id="nowhere",
            ),
            pytest.param(
                lambda: RoleNotPermitted(
                    case_id="c", trigger="x", actor_id="a", actor_roles=[], permitted_roles=[]
                ),
                "'a' acts as no role, but 'x' may only be done by: nobody.",
                id="nobody",
            ),
            pytest.param(
                lambda: UnknownWorkflow(workflow="rca", known=[]),
                "known workflows: none.",
                id="no-workflows",
            ),
            pytest.param(
                lambda: SchemaVersionError("0009", "0003", newer=True),
                "upgrade psirf_flow before using it",
                id="schema-newer",
            ),
        ],
    )
    def test_message_wording(self, make: Callable[[], PsirfFlowError], words: str) -> None:
        """Identifiers are turned into words and the message says what to do."""
        assert words in str(make())

    @pytest.mark.parametrize(
        ("results", "expected"),
        [
            pytest.param([_PASSED, _FAILED], GuardFailed, id="other-failure"),
            pytest.param([_FAILED, _NO_REASON], ReasonMissing, id="reason-missing"),
            pytest.param([_NO_REASON], ReasonMissing, id="only-reason-missing"),
        ],
    )
    def test_guard_failure_picks_reason_missing(
        self, results: list[GuardResult], expected: type[GuardFailed]
    ) -> None:
        """A missing reason among the failures is its own error (PSF210), still a GuardFailed."""
        error = errors.guard_failure(case_id="c-1", trigger="hold", results=results)

        assert type(error) is expected
        assert isinstance(error, GuardFailed)
        assert error.failures == tuple(r for r in results if not r.ok)
        expected_code = "reason_missing" if expected is ReasonMissing else "actor_not_assigned_lead"
        assert error.reason_code == expected_code
        assert error.code == ("PSF210" if expected is ReasonMissing else "PSF204")

    def test_guard_failed_without_failures_still_has_a_code(self) -> None:
        """A guard rejection built with no failed result falls back to a generic code."""
        error = GuardFailed(case_id="c-1", trigger="resume", results=[_PASSED])

        assert error.reason_code == "guard_failed"
        assert error.failures == ()


class TestStructuredFields:
    """Errors carry structured fields so callers never parse messages."""

    @pytest.mark.parametrize(
        "name", sorted(n for n, c in ERROR_CLASSES.items() if issubclass(c, CommandRejected))
    )
    def test_rejections_carry_case_trigger_and_reason(self, name: str) -> None:
        """Every rejection carries ``case_id``, ``trigger`` and a stable ``reason_code``."""
        make, reason_code = SAMPLES[name]
        error = make()

        assert isinstance(error, CommandRejected)
        assert error.case_id == (None if name == "UnknownWorkflow" else "c-1")
        assert error.trigger == REJECTED_TRIGGERS[name]
        assert error.reason_code == reason_code

    def test_other_fields(self) -> None:
        """Non-rejection errors carry the ids and details they are about."""
        assert CaseNotFound("c-1").case_id == "c-1"
        assert ConcurrencyConflict("c-1", 4).expected_version == 4
        assert ConcurrencyConflict("c-1", 4).current_version is None
        assert ConcurrencyConflict("c-1", 4, current_version=6).current_version == 6
        assert StoreBusy("u", "d").url == "u"
        legacy = SchemaVersionError("0002", "0002", newer=False, legacy_table=True)
        assert (legacy.found, legacy.newer, legacy.legacy_table) == ("0002", False, True)
        assert not SchemaVersionError(None, "0003", newer=False).legacy_table
        broken = AuditChainBroken("c-1", 3, "why")
        assert (broken.case_id, broken.sequence, broken.reason) == ("c-1", 3, "why")
        definition_error = DefinitionError("tiny", ["a", "b"])
        assert definition_error.problems == ("a", "b")
        schema = SchemaVersionError(None, "0003", newer=False)
        assert (schema.found, schema.expected, schema.newer) == (None, "0003", False)
        assert CorruptRecord("c-1", "x").case_id == "c-1"
        assert StoreUnavailable("u", "d").url == "u"
        assert InvalidPayload(case_id=None, trigger="t", problems=["p"]).problems == ("p",)


class TestRetryable:
    """One ``except RetryableError`` catches exactly the errors worth retrying."""

    @pytest.mark.parametrize(
        ("name", "retryable"),
        [
            ("ConcurrencyConflict", True),
            ("StoreBusy", True),
            ("StoreError", False),
            ("StoreUnavailable", False),
            ("SchemaVersionError", False),
            ("CorruptRecord", False),
            ("CommandRejected", False),
            ("GuardFailed", False),
            ("CaseNotFound", False),
            ("AuditChainBroken", False),
        ],
    )
    def test_which_errors_are_retryable(self, name: str, retryable: bool) -> None:
        """Conflicts and busy stores are retryable; refusals and failures are not."""
        assert isinstance(SAMPLES[name][0](), RetryableError) is retryable

    def test_store_busy_is_still_a_store_error(self) -> None:
        """Code catching StoreError (the CLI, hosts) still catches a busy store."""
        busy = StoreBusy("sqlite+pysqlite:///cases.db", "database is locked")

        assert isinstance(busy, StoreError)
        assert "try again" in str(busy)
        assert "sqlite+pysqlite:///cases.db" in str(busy)

    def test_conflict_message_names_both_versions(self) -> None:
        """A conflict whose found version is known says which it was."""
        assert "no longer at version 4, but at version 5" in str(
            ConcurrencyConflict("c-1", 4, current_version=5)
        )
        assert "no longer at version 4)" in str(ConcurrencyConflict("c-1", 4))

    def test_legacy_table_message_asks_for_the_migration(self) -> None:
        """A revision in the old shared table is refused with the command that moves it."""
        message = str(SchemaVersionError("0002", "0002", newer=False, legacy_table=True))

        assert "alembic_version" in message
        assert "psirf-flow db upgrade" in message
