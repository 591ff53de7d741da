"""The kit's strategies produce values the library accepts (or, for junk, refuses)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from psirf_flow.domain import Actor, Command, Role, check_identifier, is_nhs_number
from psirf_flow.testing import strategies as kit
from psirf_flow.workflows import LEARNING_RESPONSES, PSII, FieldKind, FieldSpec, WorkflowDefinition
from psirf_flow.workflows.payload import check_payload, text_digest


DEFINITIONS = list(LEARNING_RESPONSES.values())
NAMES = list(LEARNING_RESPONSES)


def _fields(definition: WorkflowDefinition, trigger: str) -> tuple[FieldSpec, ...]:
    if trigger == kit.OPEN:
        return definition.opening.fields
    spec = definition.transition(trigger)
    assert spec is not None
    return spec.fields


class TestPeople:
    """Identifiers, organisations and actors are valid by construction."""

    @given(kit.identifiers())
    def test_identifiers_pass_the_identifier_check(self, value: str) -> None:
        """Every generated identifier is an opaque id the library accepts."""
        assert check_identifier(value) is None

    @given(kit.identifiers(prefix="INC-"))
    def test_prefixed_identifiers_keep_their_prefix(self, value: str) -> None:
        """A prefix is kept at the front of every identifier."""
        assert value.startswith("INC-")
        assert check_identifier(value) is None

    @given(kit.nhs_numbers())
    def test_nhs_numbers_are_valid_and_refused_as_identifiers(self, value: str) -> None:
        """Generated NHS numbers pass the modulus 11 check and are never accepted as ids."""
        assert is_nhs_number(value)
        assert check_identifier(value) is not None

    @pytest.mark.parametrize(
        ("formatted", "length"), [(False, 10), (True, 12)], ids=["plain", "grouped"]
    )
    @given(data=st.data())
    def test_nhs_number_formats(self, data: st.DataObject, formatted: bool, length: int) -> None:
        """Plain NHS numbers are ten digits; grouped ones use the 3-3-4 layout."""
        value = data.draw(kit.nhs_numbers(formatted=formatted))

        assert length == len(value)

    @given(kit.organisations())
    def test_organisations_are_identifiers(self, value: str) -> None:
        """Organisation codes are ODS-shaped and valid identifiers."""
        assert value.startswith("R")
        assert check_identifier(value) is None

    @given(kit.actors(organisation="RX1", roles=[Role.EXECUTIVE_LEAD]))
    def test_actors_with_fixed_organisation_and_roles(self, actor: Actor) -> None:
        """Fixed arguments are used as given."""
        assert ("RX1", frozenset({Role.EXECUTIVE_LEAD})) == (actor.organisation, actor.roles)

    @given(
        kit.actors(
            organisation=st.just("RY2"),
            roles=kit.role_sets(min_size=1),
            ids=st.sampled_from(["p-1", "p-2"]),
        )
    )
    def test_actors_from_strategies(self, actor: Actor) -> None:
        """Strategy arguments are drawn from."""
        assert actor.id in {"p-1", "p-2"}
        assert actor.roles
        assert actor.organisation == "RY2"

    @given(kit.actors())
    def test_default_actors_are_valid(self, actor: Actor) -> None:
        """Actors drawn with no arguments are valid records."""
        assert check_identifier(actor.id) is None
        assert all(isinstance(r, Role) for r in actor.roles)


class TestPayloads:
    """Valid payloads pass the payload check; junk never does."""

    @pytest.mark.parametrize("definition", DEFINITIONS, ids=NAMES)
    @given(data=st.data())
    def test_valid_payloads_pass_the_payload_check(
        self, definition: WorkflowDefinition, data: st.DataObject
    ) -> None:
        """A payload drawn for any trigger (or the opening) has no problem."""
        trigger = data.draw(st.sampled_from([kit.OPEN, *definition.triggers]))
        payload = data.draw(kit.payloads_for(definition, trigger))

        _, problems = check_payload(_fields(definition, trigger), payload, salt="case-1")

        assert problems == []

    @pytest.mark.parametrize("definition", DEFINITIONS, ids=NAMES)
    @given(data=st.data())
    def test_invalid_payloads_fail_the_payload_check(
        self, definition: WorkflowDefinition, data: st.DataObject
    ) -> None:
        """A junk payload for any trigger (or the opening) has at least one problem."""
        trigger = data.draw(st.sampled_from([kit.OPEN, *definition.triggers]))
        payload = data.draw(kit.invalid_payloads_for(definition, trigger))

        _, problems = check_payload(_fields(definition, trigger), payload, salt="case-1")

        assert problems

    @pytest.mark.parametrize("kind", list(FieldKind), ids=[k.value for k in FieldKind])
    @given(data=st.data())
    def test_every_field_kind_round_trips(self, kind: FieldKind, data: st.DataObject) -> None:
        """Valid values of every kind are accepted; one wrong value of it is refused."""
        spec = FieldSpec(
            "f", kind, required=True, choices=("a", "b") if kind is FieldKind.CHOICE else ()
        )
        good = data.draw(kit.payloads([spec]))
        bad = data.draw(kit.invalid_payloads([spec]))

        assert check_payload([spec], good, salt="case-1")[1] == []
        assert check_payload([spec], bad, salt="case-1")[1]

    @given(kit.payloads([FieldSpec("note", FieldKind.TEXT, required=True)]))
    def test_free_text_is_kept_only_as_its_digest(self, payload: dict[str, object]) -> None:
        """Text, including names and NHS numbers, is replaced by its salted digest."""
        text = payload["note"]
        assert isinstance(text, str)

        clean, _ = check_payload([FieldSpec("note", FieldKind.TEXT)], payload, salt="case-1")

        assert text_digest("case-1", text) == clean["note"]
        assert text != clean["note"]

    def test_text_with_a_lone_surrogate_is_refused_not_crashed_on(self) -> None:
        """Text that cannot be encoded is an invalid payload, not a UnicodeEncodeError."""
        _, problems = check_payload(
            [FieldSpec("note", FieldKind.TEXT)], {"note": "\ud800"}, salt="c"
        )

        assert problems == ["'note' must be text"]

    def test_payloads_for_an_unknown_trigger_is_an_error(self) -> None:
        """Asking for payloads of a trigger the definition lacks raises ValueError."""
        with pytest.raises(ValueError, match="no trigger"):
            kit.payloads_for(PSII, "no_such_step")

    @given(kit.opening_payloads(PSII, ids=st.sampled_from(["a-1", "b-2"])))
    def test_opening_payloads_use_the_given_ids(self, payload: dict[str, object]) -> None:
        """Identifiers in opening payloads come from the pool given."""
        ids = payload["incident_ids"]
        assert isinstance(ids, list)
        assert set(ids) <= {"a-1", "b-2"}


class TestCommands:
    """Commands name the definition's triggers and carry valid or junk payloads."""

    @given(kit.commands(PSII))
    def test_commands_name_triggers_of_the_definition(self, command: Command) -> None:
        """Every command names one of the definition's triggers."""
        assert command.trigger in PSII.triggers

    @given(kit.commands(PSII, valid=True))
    def test_valid_commands_have_acceptable_payloads(self, command: Command) -> None:
        """With ``valid=True`` the payload passes the trigger's payload check."""
        assert check_payload(_fields(PSII, command.trigger), command.payload, salt="c")[1] == []

    @given(kit.commands(PSII, valid=False, triggers=["approve", "no_such_step"]))
    def test_invalid_commands_have_unacceptable_payloads(self, command: Command) -> None:
        """With ``valid=False`` the payload is refused, even for an unknown trigger."""
        spec = PSII.transition(command.trigger)
        fields = spec.fields if spec is not None else ()

        assert check_payload(fields, command.payload, salt="c")[1]

    @given(
        kit.commands(PSII, idempotency_keys=st.just("key-1"), actors=kit.actors(organisation="RX1"))
    )
    def test_keys_and_actors_are_drawn_from_what_is_given(self, command: Command) -> None:
        """Idempotency keys and actors come from the strategies given."""
        assert (command.idempotency_key, command.actor.organisation) == ("key-1", "RX1")

    def test_an_empty_trigger_list_is_an_error(self) -> None:
        """Commands cannot be drawn from no trigger at all."""
        with pytest.raises(ValueError, match="no trigger"):
            kit.commands(PSII, triggers=[])
