"""API keys and orgs: key → principal, scope checks, key and org management.

Keys are ``mtk_`` + 32 random bytes (URL-safe base64). Only SHA-256 of a key is
stored: with 256 bits of entropy a fast hash is as safe as a slow one, and it keeps
the request path free of password hashing. Every request checks its key with the
metadata store, which may answer from a cache only as long as no key was revoked
since (the SQLite store's key stamp), so a revocation from any process takes effect
on the very next request.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable

from .. import ids
from ..errors import ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError
from ..models import ApiKeyInfo, CreatedApiKey, Org, Principal, Scope
from ..stores.base import KeyRecord, MetadataStore
from ..timeexpr import from_us

DEFAULT_ORG = "org_default"
KEY_PREFIX = "mtk_"
_KEY_SHAPE = re.compile(r"^mtk_[A-Za-z0-9_-]{43}=?$")
LOCAL_PRINCIPAL = Principal(org_id=DEFAULT_ORG, scopes=frozenset({"admin"}), key_id=None)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def require(principal: Principal, scope: Scope) -> None:
    if not principal.can(scope):
        raise ForbiddenError(f"this API key lacks the {scope!r} scope")


class AuthService:
    def __init__(self, metadata: MetadataStore, clock: Callable[[], int]) -> None:
        self._metadata = metadata
        self._clock = clock

    async def authenticate(self, key: str | None) -> Principal:
        if not key:
            raise UnauthorizedError("missing API key: send x-api-key or Authorization: Bearer")
        # A malformed key cannot match; skip the lookup and say the same thing as for
        # an unknown key, so the answer reveals nothing.
        if not _KEY_SHAPE.match(key):
            raise UnauthorizedError("invalid API key")
        principal = await self._metadata.principal_for_hash(hash_key(key))
        if principal is None:
            raise UnauthorizedError("invalid API key")
        return principal

    async def ensure_default_org(self) -> Org:
        return await self._metadata.ensure_org(DEFAULT_ORG, "Default", self._clock())

    async def bootstrap(self) -> str | None:
        """On first run (no active key anywhere) create ``org_default`` and an admin
        key; return the key, which is never stored or shown again. Race-free across
        processes: the check and the insert share one write transaction."""
        await self.ensure_default_org()
        key, record = self._record(DEFAULT_ORG, "admin", ["read", "write", "admin"])
        created = await self._metadata.insert_key(record, only_if_no_keys=True)
        return key if created else None

    async def create_key(
        self, principal: Principal, name: str, scopes: list[Scope], org_id: str | None = None
    ) -> CreatedApiKey:
        require(principal, "admin")
        target = org_id or principal.org_id
        if target != principal.org_id:
            raise ForbiddenError("an API key can only create keys for its own org")
        return await self.create_key_local(target, name, scopes)

    async def create_key_local(self, org_id: str, name: str, scopes: list[Scope]) -> CreatedApiKey:
        """Create a key for any org: for the local CLI, which owns the database file."""
        name = name.strip()
        if not name or len(name) > 128:
            raise InvalidInputError("name must be 1-128 characters", field="name")
        key, record = self._record(org_id, name, scopes)
        await self._metadata.insert_key(record)
        return CreatedApiKey(**record.info.model_dump(), key=key)

    async def list_keys(self, principal: Principal) -> list[ApiKeyInfo]:
        require(principal, "admin")
        return await self._metadata.list_keys(principal.org_id)

    async def list_keys_local(self, org_id: str | None) -> list[ApiKeyInfo]:
        return await self._metadata.list_keys(org_id)

    async def revoke_key(self, principal: Principal, key_id: str) -> None:
        require(principal, "admin")
        if not await self._metadata.revoke_key(principal.org_id, key_id, self._clock()):
            raise NotFoundError(f"API key {key_id!r} not found")

    async def revoke_key_local(self, key_id: str) -> None:
        if not await self._metadata.revoke_key(None, key_id, self._clock()):
            raise NotFoundError(f"API key {key_id!r} not found or already revoked")

    async def create_org(self, name: str) -> Org:
        name = name.strip()
        if not name or len(name) > 128:
            raise InvalidInputError("org name must be 1-128 characters", field="name")
        return await self._metadata.create_org(ids.org_id(), name, self._clock())

    async def list_orgs(self) -> list[Org]:
        return await self._metadata.list_orgs()

    def _record(self, org_id: str, name: str, scopes: list[Scope]) -> tuple[str, KeyRecord]:
        key = new_key()
        unique_scopes: list[Scope] = sorted(set(scopes))  # type: ignore[assignment]
        info = ApiKeyInfo(
            id=ids.key_id(),
            org_id=org_id,
            name=name,
            prefix=key[:8],
            scopes=unique_scopes,
            created_at=from_us(self._clock()),
            revoked_at=None,
        )
        return key, KeyRecord(info=info, key_hash=hash_key(key))
