"""Small pure helpers for the engine's commands: ids for new cases, command fingerprints.

A fingerprint is the digest of what a command asks; an idempotency key seen again with
another fingerprint is a reused key, not a retry. Private to the engine.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from psirf_flow.domain import Command, check_identifier


__all__ = ["fingerprint", "random_id"]


def random_id() -> str:
    """A random case id (a UUID's hex digits) that the identifier rule accepts.

    About one UUID in a hundred has ten digits in a row that pass the NHS number check
    (:func:`~psirf_flow.domain.check_identifier` refuses those): another is drawn.
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
