"""The host's audit keys: HMAC-SHA-256 over entries, free-text digests and idempotency keys.

Without keys, anyone who can write to the database can also recompute a SHA-256 chain, and
can confirm a guessed note against its digest. With an
[`AuditKeys`][psirf_flow.audit.keys.AuditKeys] ring, new entries are hashed with HMAC-SHA-256 under
the *active* key and name it (``key_id``); verification looks each entry's key up by id, so after a
rotation old entries keep verifying with their old key while new ones use the new key. Keys are
secrets: they appear in no ``repr``, no log event and no error message (only their ids do).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from psirf_flow.errors import AuditKeyError, shown


__all__ = ["KEY_ID", "MIN_KEY_BYTES", "AuditKeys", "idempotency_digest"]

MIN_KEY_BYTES: Final = 32
"""The shortest key accepted (256 bits, the HMAC-SHA-256 block of security)."""
KEY_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What an audit key id looks like: a short plain name."""


def _frozen_keys(value: Mapping[str, bytes]) -> Mapping[str, bytes]:
    found: object = value  # the annotation is a promise callers may break
    if not isinstance(found, Mapping):
        msg = f"the audit key ring must be a mapping of key ids to bytes, got {shown(found)}"
        raise AuditKeyError(msg)
    return MappingProxyType(dict(value))


def _check_keys(_instance: AuditKeys, _attribute: object, value: Mapping[str, bytes]) -> None:
    if not value:
        msg = "the audit key ring is empty"
        raise AuditKeyError(msg)
    for key_id, secret in value.items():
        id_value: object = key_id  # the annotations are promises callers may break
        if not isinstance(id_value, str) or not KEY_ID.fullmatch(id_value):
            msg = "an audit key id must be 1-64 letters, digits, '.', '_' or '-'"
            raise AuditKeyError(msg)
        secret_value: object = secret
        if not isinstance(secret_value, bytes):
            msg = f"audit key {shown(key_id)} is not bytes"
            raise AuditKeyError(msg)
        if len(secret) < MIN_KEY_BYTES:
            msg = (
                f"audit key {shown(key_id)} is {len(secret)} bytes long; "
                f"at least {MIN_KEY_BYTES} are needed"
            )
            raise AuditKeyError(msg)


@attrs.frozen(repr=False)
class AuditKeys:
    """A host-supplied ring of HMAC keys for the audit trail, one of them active.

    Args:
        keys: Key id to secret (at least 32 bytes each). Keep retired keys here, so the
            entries they signed still verify.
        active: The id of the key new entries are signed with.

    Raises:
        AuditKeyError: If the ring is empty, a key is shorter than 32 bytes, an id is not
            a short plain name, or ``active`` is not in the ring.
    """

    keys: Mapping[str, bytes] = attrs.field(
        converter=_frozen_keys, validator=_check_keys, eq=False, hash=False
    )
    active: str = attrs.field()

    @active.validator
    def _check_active(self, _attribute: object, value: str) -> None:
        found: object = value  # the annotation is a promise callers may break
        if not isinstance(found, str) or found not in self.keys:
            msg = f"the active audit key {shown(found)} is not in the key ring"
            raise AuditKeyError(msg)

    def __repr__(self) -> str:
        """Name the key ids, never the keys."""
        return f"AuditKeys(active={self.active!r}, key_ids={tuple(sorted(self.keys))!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        """Two rings are equal when they hold the same keys with the same one active."""
        if not isinstance(other, AuditKeys):
            return NotImplemented
        return self.active == other.active and dict(self.keys) == dict(other.keys)

    def __hash__(self) -> int:
        """Hash by key ids and the active id (never by the secrets)."""
        return hash((self.active, tuple(sorted(self.keys))))

    def sign(self, data: bytes) -> str:
        """HMAC-SHA-256 of ``data`` under the active key, as 64 hex digits."""
        return hmac.new(self.keys[self.active], data, hashlib.sha256).hexdigest()

    def sign_with(self, key_id: str, data: bytes) -> str | None:
        """HMAC-SHA-256 of ``data`` under key ``key_id``; ``None`` if the ring lacks it."""
        secret = self.keys.get(key_id)
        if secret is None:
            return None
        return hmac.new(secret, data, hashlib.sha256).hexdigest()

    @property
    def active_secret(self) -> bytes:
        """The active key's bytes (passed to pure functions that digest free text)."""
        return self.keys[self.active]

    @classmethod
    def from_json(cls, text: str) -> AuditKeys:
        """Read a key ring written as ``{"active": id, "keys": {id: base64 secret}}``.

        Raises:
            AuditKeyError: If the text is not such a ring; the message never repeats it.
        """
        found: object = text  # the annotation is a promise callers may break
        try:
            document = json.loads(found) if isinstance(found, str | bytes) else None
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            document = None
        if not (
            isinstance(document, dict)
            and isinstance(document.get("active"), str)
            and isinstance(document.get("keys"), dict)
            and all(isinstance(v, str) for v in document["keys"].values())
        ):
            msg = 'an audit key ring must be JSON: {"active": id, "keys": {id: base64 key}}'
            raise AuditKeyError(msg)
        secrets: dict[str, bytes] = {}
        for key_id, encoded in document["keys"].items():
            try:
                secrets[key_id] = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                msg = f"audit key {shown(key_id)} is not valid base64"
                raise AuditKeyError(msg) from None
        return cls(keys=secrets, active=document["active"])


def idempotency_digest(organisation: str, key: str, keys: AuditKeys | None = None) -> str:
    """The digest an idempotency key is stored as, scoped by organisation.

    SHA-256 without keys; HMAC-SHA-256 under the active key with them (so the stored value
    cannot be matched against guessed keys without the secret). 64 hex digits either way.

    Args:
        organisation: The organisation the command acts for.
        key: The caller's idempotency key.
        keys: The engine's audit keys, if any.
    """
    data = f"{organisation}\x1f{key}".encode()
    if keys is None:
        return hashlib.sha256(data).hexdigest()
    return keys.sign(data)
