"""The PSII lifecycle as an ``eventsourcing`` aggregate: the peer ``bench_peer`` times.

Imported only when eventsourcing is installed. The classes live at module level so that
eventsourcing can find its event classes again by their topic (``_es_model:PsiiCase.Fired``)
when it rebuilds an aggregate from stored events.

:class:`PsiiCase` decides each transition from the PSII definition's own table (the same 11
states and 20 triggers: sources, destination, ``hold`` remembering the state it left,
``resume`` going back to it, recording steps staying put, and the first permitted role the
actor holds), then records one ``Fired`` event carrying the trigger, the actor, the role,
both states and the command's payload. :class:`PsiiApplication` runs one command per call:
``repository.get`` (rebuild from the events; no snapshots, as by default), ``fire``, ``save``.

The two persistence classes are eventsourcing's own SQLite and PostgreSQL factories with
the durability the benchmark asks for (``PSIRF_BENCH_DURABILITY`` in the application's
environment: ``full`` or ``normal``): eventsourcing has no setting for either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory

from psirf_flow import Actor
from psirf_flow.workflows import PREVIOUS_STATE, PSII, SAME_STATE, WorkflowDefinition


SYNC_KEY = "PSIRF_BENCH_DURABILITY"
"""The application environment key the persistence classes read (``full`` or ``normal``)."""
SQLITE_SYNC = {"full": "FULL", "normal": "NORMAL"}
PG_SYNC = {"full": "on", "normal": "off"}


class Table:
    """A definition's transitions as plain lookups: what the aggregate decides from."""

    def __init__(self, definition: WorkflowDefinition) -> None:
        self.initial = definition.initial
        #: trigger -> (sources, destination, roles in order of preference)
        self.specs: dict[str, tuple[frozenset[str], str, tuple[str, ...]]] = {
            spec.trigger: (frozenset(spec.sources), spec.dest, tuple(r.value for r in spec.roles))
            for spec in definition.transitions.values()
        }
        self.holds = frozenset(s.trigger for s in definition.transitions.values() if s.holds)
        self.resumes = frozenset(
            s.trigger for s in definition.transitions.values() if s.dest == PREVIOUS_STATE
        )

    def decide(
        self, state: str, held_from: str | None, trigger: str, roles: frozenset[str]
    ) -> tuple[str, str]:
        """The destination and the acting role; ``ValueError`` if the step is refused."""
        try:
            sources, dest, permitted = self.specs[trigger]
        except KeyError:
            raise ValueError(f"unknown trigger {trigger}") from None
        if state not in sources:
            raise ValueError(f"{trigger} is not allowed from {state}")
        role = next((r for r in permitted if r in roles), None)
        if role is None:
            raise ValueError(f"no permitted role for {trigger}")
        if dest == PREVIOUS_STATE:
            if held_from is None:
                raise ValueError("the case is not held")
            return held_from, role
        return (state if dest == SAME_STATE else dest), role


TABLE = Table(PSII)


class PsiiCase(Aggregate):  # type: ignore[misc]
    """A PSII case as an event-sourced aggregate: state, held-from state, facts, version."""

    @event("Opened")
    def __init__(self, workflow: str, actor_id: str, payload: dict[str, Any]) -> None:
        self.workflow = workflow
        self.state = TABLE.initial
        self.held_from: str | None = None
        self.facts: dict[str, Any] = dict(payload)
        self.opened_by = actor_id

    def fire(self, trigger: str, actor: Actor, payload: Mapping[str, Any]) -> None:
        """Decide the transition from the table, then record it as one event."""
        roles = frozenset(r.value for r in actor.roles)
        dest, role = TABLE.decide(self.state, self.held_from, trigger, roles)
        self._fired(
            trigger=trigger,
            actor_id=actor.id,
            role=role,
            from_state=self.state,
            to_state=dest,
            payload=dict(payload),
        )

    @event("Fired")
    def _fired(  # noqa: PLR0917 - the event's fields, as eventsourcing declares them
        self,
        trigger: str,
        actor_id: str,
        role: str,
        from_state: str,
        to_state: str,
        payload: dict[str, Any],
    ) -> None:
        if trigger in TABLE.holds:
            self.held_from = from_state
        elif trigger in TABLE.resumes:
            self.held_from = None
        self.state = to_state
        self.facts.update(payload)


class PsiiApplication(Application):  # type: ignore[misc]
    """The host's application: one command per call (load, fire, save)."""

    def open_cases(self, actor: Actor, payload: Mapping[str, Any], n: int) -> list[Any]:
        """Open ``n`` cases and save them in one go (set-up, not timed)."""
        cases = [PsiiCase("psii", actor.id, dict(payload)) for _ in range(n)]
        self.save(*cases)
        return [c.id for c in cases]

    def fire(self, case_id: Any, trigger: str, actor: Actor, payload: Mapping[str, Any]) -> int:
        """Load the case from its events, fire ``trigger``, save the new event."""
        case = self.repository.get(case_id)
        case.fire(trigger, actor, payload)
        self.save(case)
        return int(case.version)


class SyncSQLiteFactory(SQLiteFactory):  # type: ignore[misc]
    """eventsourcing's SQLite persistence, running ``PRAGMA synchronous`` on each connection."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        sync = SQLITE_SYNC[self.env.get(SYNC_KEY, "full")]
        pool = self.datastore.pool
        create = pool._create_connection

        def create_with_sync() -> Any:
            connection = create()
            connection._sqlite_conn.execute(f"PRAGMA synchronous = {sync}")
            return connection

        pool._create_connection = create_with_sync


class SyncPostgresFactory(PostgresFactory):  # type: ignore[misc]
    """eventsourcing's PostgreSQL persistence, with ``synchronous_commit`` on its connections."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        sync = PG_SYNC[self.env.get(SYNC_KEY, "full")]
        self.datastore.pool.kwargs["options"] = f"-c synchronous_commit={sync}"
