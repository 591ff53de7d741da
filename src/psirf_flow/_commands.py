"""The engine's bookkeeping around a command: ids, idempotency and outbox messages.

* New case ids: random, and always accepted by the identifier rule (`random_id`).
* Idempotency: the fingerprint of what a command asks (`fingerprint`), the record
  committed with it and the replay of an earlier identical command
  (`Idempotency`). A key seen again with another fingerprint is a reused key, not
  a retry. Keys are looked up within the actor's organisation only, by digest.
* Outbox: the coupling messages an accepted command writes (`CouplingOutbox`), the
  couplings listening to each trigger cached per engine.

Private to the engine.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from psirf_flow import _events
from psirf_flow.audit import AuditEntry, AuditKeys, idempotency_digest
from psirf_flow.decide import Decision
from psirf_flow.domain import Actor, Case, Command, FactValue, OutboxMessage, check_identifier
from psirf_flow.errors import IdempotencyKeyReused
from psirf_flow.ports import IdempotencyRecord, Store
from psirf_flow.workflows.couplings import Coupling, coupling_messages


__all__ = ["CouplingOutbox", "Idempotency", "fingerprint", "random_id"]


def random_id() -> str:
    """A random case id (a UUID's hex digits) that the identifier rule accepts.

    About two UUIDs in a hundred have ten digits in a row that pass the NHS number check
    ([`check_identifier`][psirf_flow.domain.check_identifier] refuses those): another is drawn.
    """
    while True:
        candidate = uuid.uuid4().hex
        if check_identifier(candidate) is None:
            return candidate


def _normalised(value: object) -> object:
    """Lists of ids are sets to the library (stored sorted): order must not matter."""
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
        return sorted(set(value))
    return value


def fingerprint(scope: str, command: Command) -> str:
    """Digest of what a command asks (scope, trigger, actor, organisation, role, payload)."""
    body: dict[str, Any] = {
        "scope": scope,
        "trigger": command.trigger,
        "actor": command.actor.id,
        "organisation": command.actor.organisation,
        "role": command.role.value if command.role is not None else None,
        "payload": {k: _normalised(v) for k, v in command.payload.items()},
    }
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(encoded.encode()).hexdigest()


class Idempotency:
    """Idempotency records and replays for one engine (its store and audit keys).

    Args:
        store: Where idempotency records, cases and trails are read.
        keys: The audit keys the key digests are taken with (plain SHA-256 without).
    """

    def __init__(self, store: Store, keys: AuditKeys | None) -> None:
        self._store = store
        self._keys = keys

    def record(
        self, command: Command, decision: Decision, fingerprint: str | None
    ) -> IdempotencyRecord | None:
        """The record committed with ``decision`` when ``command`` carries a key."""
        key = command.idempotency_key
        if key is None or fingerprint is None:
            return None
        return IdempotencyRecord(
            idempotency_digest(command.actor.organisation, key, self._keys),
            decision.case.id,
            fingerprint,
            decision.entry.sequence,
        )

    def replay(
        self,
        log: Any,
        key: str,
        fingerprint: str,
        *,
        case_id: str | None,
        trigger: str,
        actor: Actor,
    ) -> tuple[Case, AuditEntry] | None:
        """The case now and the entry of an earlier identical command, or ``None``.

        Keys are looked up within the actor's organisation only, so another trust's
        person with the same key and local id finds nothing of this trust's.

        Raises:
            IdempotencyKeyReused: If the key was used for a different command (logged).
        """
        record = self._store.find_idempotency(
            idempotency_digest(actor.organisation, key, self._keys)
        )
        if record is None:
            return None
        if record.fingerprint != fingerprint:
            reused = IdempotencyKeyReused(case_id=case_id, trigger=trigger, key=key)
            _events.rejected(log, reused, None, actor, None)
            raise reused
        entry = self._store.history(record.case_id)[record.sequence - 1]
        found = (self._store.load(record.case_id), entry)
        _events.replayed(log, record.case_id, trigger, record.sequence)
        return found


class CouplingOutbox:
    """The outbox messages of accepted commands, for one engine's coupling table.

    Args:
        couplings: The coupling table (it never changes, so listeners are cached).
    """

    def __init__(self, couplings: tuple[Coupling, ...]) -> None:
        self._couplings = couplings
        self._listening: dict[tuple[str, str, str], tuple[Coupling, ...]] = {}

    def messages(
        self,
        case: Case,
        family: str,
        entry: AuditEntry,
        before: Mapping[str, FactValue] | None = None,
    ) -> tuple[OutboxMessage, ...]:
        """The messages the command behind ``entry`` writes, each naming it as its cause.

        ``before`` is the case's facts before the command (none for an opening), which
        couplings that track facts compare with the facts after it.
        """
        listening = self._listening_to(case.workflow, family, entry.trigger)
        if not listening:
            return ()
        return coupling_messages(
            listening,
            case=case,
            family=family,
            trigger=entry.trigger,
            sequence=entry.sequence,
            now=entry.recorded_at,
            cause_hash=entry.hash,
            before=before,
        )

    def _listening_to(self, workflow: str, family: str, trigger: str) -> tuple[Coupling, ...]:
        """The couplings that listen to ``trigger`` of ``workflow`` (cached)."""
        found = self._listening.get((workflow, family, trigger))
        if found is None:
            found = tuple(c for c in self._couplings if c.listens_to(workflow, family, trigger))
            self._listening[(workflow, family, trigger)] = found
        return found
