"""Payload checking: declared fields only, typed per kind, identifiers opaque, free text hashed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from psirf_flow import Actor, Engine, InvalidPayload, Role
from psirf_flow.domain import SystemReader, check_identifier, is_nhs_number
from psirf_flow.errors import InvalidInput
from psirf_flow.workflows import FieldKind, FieldSpec
from psirf_flow.workflows.payload import check_payload, text_digest


#: Reads in these tests name a system reader unless they test access itself.
READER = SystemReader("test-suite")


class TestNhsNumbers:
    """``is_nhs_number`` recognises valid NHS numbers (modulus 11 check digit)."""

    @pytest.mark.parametrize(
        ("value", "valid"),
        [
            pytest.param("9434765919", True, id="valid"),
            pytest.param("943 476 5919", True, id="valid-spaced"),
            pytest.param("943-476-5919", True, id="valid-hyphenated"),
            pytest.param("4010232137", True, id="valid-other"),
            pytest.param("1000000060", True, id="valid-check-digit-zero-from-eleven"),
            pytest.param("9434765918", False, id="wrong-check-digit"),
            pytest.param("1234567890", False, id="check-digit-would-be-ten"),
            pytest.param("943476591", False, id="nine-digits"),
            pytest.param("94347659190", False, id="eleven-digits"),
            pytest.param("9434 765919", False, id="wrong-grouping"),
            pytest.param("943a765919", False, id="letter"),
            pytest.param("", False, id="empty"),
        ],
    )
    def test_table(self, value: str, valid: bool) -> None:
        """Each value is or is not a valid NHS number as the table says."""
        assert is_nhs_number(value) is valid


class TestIdentifiers:
    """Opaque identifiers refuse names, free text and NHS numbers."""

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            pytest.param("lead-1", None, id="plain"),
            pytest.param("urn:uuid:1234", None, id="urn"),
            pytest.param("a" * 128, None, id="longest"),
            pytest.param("a" * 129, "is not an opaque identifier", id="too-long"),
            pytest.param("Jane Smith", "is not an opaque identifier", id="name-with-space"),
            pytest.param("-lead", "is not an opaque identifier", id="leading-punctuation"),
            pytest.param("", "is not an opaque identifier", id="empty"),
            pytest.param("9434765919", "looks like an NHS number", id="nhs-number"),
            pytest.param("943 476 5919", "looks like an NHS number", id="nhs-number-spaced"),
            pytest.param("9434765918", None, id="ten-digits-not-nhs-number"),
            pytest.param(42, "expected an identifier (text), got int", id="not-text"),
        ],
    )
    def test_check_identifier(self, value: object, problem: str | None) -> None:
        """Identifiers are checked in plain words."""
        found = check_identifier(value)

        if problem is None:
            assert found is None
        else:
            assert found is not None
            assert problem in found

    def test_actor_refuses_a_name_as_id(self) -> None:
        """An actor cannot be created with a person's name as id."""
        with pytest.raises(ValueError, match="is not an opaque identifier"):
            Actor("Jane Smith", [Role.REPORTER], "RX1")

    def test_actor_refuses_unknown_roles(self) -> None:
        """Roles must be role values."""
        with pytest.raises(ValueError, match="wizard"):
            Actor("a-1", ["wizard"], "RX1")
        with pytest.raises(InvalidInput, match="roles must be a collection"):
            Actor("a-1", 5, "RX1")  # type: ignore[arg-type]

    def test_actor_accepts_one_role(self) -> None:
        """A single role is accepted and held."""
        actor = Actor("a-1", Role.REPORTER, "RX1")  # type: ignore[arg-type]

        assert actor.roles == frozenset({Role.REPORTER})
        assert actor.holds(Role.REPORTER)
        assert not actor.holds(Role.EXECUTIVE_LEAD)


FIELDS = (
    FieldSpec("who", FieldKind.IDENTIFIER),
    FieldSpec("whom", FieldKind.IDENTIFIERS),
    FieldSpec("pick", FieldKind.CHOICE, choices=("a", "b")),
    FieldSpec("flag", FieldKind.FLAG),
    FieldSpec("count", FieldKind.COUNT),
    FieldSpec("when", FieldKind.DATE),
    FieldSpec("doc", FieldKind.REFERENCE),
    FieldSpec("note", FieldKind.TEXT),
    FieldSpec("needed", FieldKind.FLAG, required=True),
)


def check(**payload: object) -> tuple[dict[str, Any], list[str]]:
    """Check ``payload`` against :data:`FIELDS` (``needed`` is supplied unless given)."""
    return check_payload(FIELDS, {"needed": True, **payload}, salt="case-1")


class TestFieldKinds:
    """Every value must fit its field's kind."""

    @pytest.mark.parametrize(
        ("field", "value", "stored"),
        [
            pytest.param("who", "staff-1", "staff-1", id="identifier"),
            pytest.param("whom", ["b-1", "a-1", "b-1"], ("a-1", "b-1"), id="identifiers-sorted"),
            pytest.param("whom", ("a-1",), ("a-1",), id="identifiers-tuple"),
            pytest.param("whom", [], (), id="identifiers-empty"),
            pytest.param("pick", "b", "b", id="choice"),
            pytest.param("flag", False, False, id="flag"),
            pytest.param("count", 0, 0, id="count-zero"),
            pytest.param("when", "2026-02-29".replace("29", "28"), "2026-02-28", id="date-text"),
            pytest.param("when", date(2026, 1, 5), "2026-01-05", id="date"),
            pytest.param(
                "when", datetime(2026, 1, 5, 23, 0, tzinfo=UTC), "2026-01-05", id="datetime"
            ),
            pytest.param("doc", "DOC-1", "DOC-1", id="reference"),
        ],
    )
    def test_accepted(self, field: str, value: object, stored: object) -> None:
        """Well-typed values are accepted and stored in their clean form."""
        clean, problems = check(**{field: value})

        assert problems == []
        assert clean[field] == stored

    @pytest.mark.parametrize(
        ("field", "value", "problem"),
        [
            pytest.param("who", "Jane Smith", "is not an opaque identifier", id="identifier-name"),
            pytest.param("who", 7, "expected an identifier (text)", id="identifier-number"),
            pytest.param("whom", "a-1", "must be a list of identifiers", id="identifiers-text"),
            pytest.param("whom", 3, "must be a list of identifiers", id="identifiers-number"),
            pytest.param("whom", ["ok-1", "Jane Smith"], "is not an opaque", id="identifiers-item"),
            pytest.param("pick", "c", "must be one of: a, b", id="choice-unknown"),
            pytest.param("pick", 1, "must be one of: a, b", id="choice-number"),
            pytest.param("flag", "yes", "must be true or false", id="flag-text"),
            pytest.param("flag", 1, "must be true or false", id="flag-number"),
            pytest.param("count", -1, "must be a whole number", id="count-negative"),
            pytest.param("count", 1.5, "must be a whole number", id="count-fraction"),
            pytest.param("count", True, "must be a whole number", id="count-bool"),
            pytest.param("count", 2**53, "from 0 to 999,999,999", id="count-beyond-json"),
            pytest.param("when", "05/01/2026", "must be a date written YYYY-MM-DD", id="date-uk"),
            pytest.param("when", "2026-02-30", "must be a date", id="date-impossible"),
            pytest.param("when", 20260105, "must be a date", id="date-number"),
            pytest.param("doc", "my report.docx", "is not an opaque identifier", id="ref-name"),
            pytest.param("note", 12, "must be text", id="text-number"),
        ],
    )
    def test_refused(self, field: str, value: object, problem: str) -> None:
        """Badly typed values are refused with a plain-words problem naming the field."""
        clean, problems = check(**{field: value})

        assert field not in clean
        assert len(problems) == 1
        assert problems[0].startswith(f"{field!r} ")
        assert problem in problems[0]

    def test_unknown_fields_are_refused(self) -> None:
        """A field the step does not declare is refused by name."""
        _clean, problems = check(extra=1, another=2)

        assert problems == [
            "'another' is not a field of this step",
            "'extra' is not a field of this step",
        ]

    def test_required_fields(self) -> None:
        """A required field that is missing or ``None`` is refused."""
        assert check_payload(FIELDS, {}, salt="s")[1] == ["'needed' is required"]
        assert check_payload(FIELDS, {"needed": None}, salt="s")[1] == ["'needed' is required"]

    def test_optional_none_is_absent(self) -> None:
        """An optional field given as ``None`` is treated as absent."""
        clean, problems = check(who=None)

        assert problems == []
        assert clean == {"needed": True}

    def test_every_problem_is_listed(self) -> None:
        """Several bad fields are all reported together."""
        _clean, problems = check_payload(FIELDS, {"flag": "x", "count": -1, "zzz": 1}, salt="s")

        assert len(problems) == 4

    def test_identifier_list_problem_does_not_echo_the_value(self) -> None:
        """A refused item of an identifier list is named by position, not by its value."""
        _clean, problems = check(whom=["ok-1", "943 476 5919"])

        assert "943" not in problems[0]
        assert "NHS number" in problems[0]


class TestFreeText:
    """Free text is never kept: a salted SHA-256 digest is stored instead."""

    def test_text_is_replaced_by_a_salted_digest(self) -> None:
        """The stored value is ``sha256:`` and 64 hex digits, and not the text."""
        clean, _ = check(note="The patient fell.")

        assert re.fullmatch(r"sha256:[0-9a-f]{64}", clean["note"])
        assert clean["note"] == text_digest("case-1", "The patient fell.")
        assert "fell" not in clean["note"]

    def test_digest_differs_per_case(self) -> None:
        """The same words in two cases give two different digests."""
        assert text_digest("case-1", "same words") != text_digest("case-2", "same words")
        assert text_digest("case-1", "same words") == text_digest("case-1", "same words")

    def test_engine_stores_digests_per_case(
        self, lifecycle: Any, engine: Engine, cast: Any
    ) -> None:
        """Through the engine, the same note on two cases is stored as two digests."""
        notes = []
        for _ in range(2):
            case = lifecycle.to("planning")
            outcome = engine.fire(
                case.id,
                "record_engagement",
                actor=cast.engagement,
                payload={
                    "person_id": "fam-1",
                    "person_kind": "family_member",
                    "engagement": "declined",
                    "note": "Family asked for time.",
                },
            )
            notes.append(outcome.entry.data["note"])
            assert outcome.case.facts["note.fam-1"] == notes[-1]

        assert notes[0] != notes[1]
        assert all(n.startswith("sha256:") for n in notes)

    def test_lone_surrogate_text_is_refused_not_crashed(self) -> None:
        """Text that cannot be encoded is refused as a payload problem."""
        clean, problems = check(note="\ud800")

        assert "note" not in clean
        assert problems == ["'note' must be text"]


class TestThroughTheEngine:
    """The engine refuses bad payloads with ``InvalidPayload``."""

    def test_unknown_field(self, lifecycle: Any, engine: Engine, cast: Any) -> None:
        """An undeclared field is refused and nothing is written."""
        case = lifecycle.open()

        with pytest.raises(InvalidPayload) as refused:
            engine.fire(
                case.id,
                "assign_lead",
                actor=cast.pss,
                payload={"lead_id": "lead-1", "engagement_lead_id": "eng-1", "patient": "x"},
            )

        assert refused.value.problems == ("'patient' is not a field of this step",)
        assert refused.value.reason_code == "invalid_payload"
        assert len(engine.history(case.id, reader=READER)) == 1
