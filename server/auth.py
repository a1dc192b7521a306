"""Users, passwords (argon2) and bearer tokens.

Tokens are random (256 bits) and only their SHA-256 is stored, so a copy of the database gives no
working token. Session tokens expire; device tokens (kiosk, display) live until revoked.
A small in-process cache keeps the per-request check off the database on the hot path.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import insert, select, update

from server.storage.db import Database
from server.storage.tables import api_tokens, users

ROLES = ("admin", "manager", "official", "kiosk", "display")
HUMAN_ROLES = ("admin", "manager", "official")
DEVICE_ROLES = ("kiosk", "display")
CACHE_S = 30.0

_hasher = PasswordHasher()


class AuthError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    site: str | None
    kind: str  # session | device


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthStore:
    def __init__(self, db: Database, *, token_ttl_s: int = 12 * 3600, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or _hasher  # tests pass a cheap one; verify reads the cost from each hash
        self.token_ttl_s = token_ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def add_user(self, username: str, password: str, role: str, *, site: str | None = None,
                 full_name: str | None = None) -> None:
        if role not in HUMAN_ROLES:
            raise AuthError("bad_role", f"role must be one of {', '.join(HUMAN_ROLES)}")
        if len(password) < 8:
            raise AuthError("weak_password", "password must have at least 8 characters")
        with self.db.write() as conn:
            existing = conn.execute(select(users.c.id).where(users.c.username == username)).first()
            values = dict(password_hash=self.hasher.hash(password), role=role, site=site, full_name=full_name, active=True)
            if existing:
                conn.execute(update(users).where(users.c.id == existing.id).values(**values))
            else:
                conn.execute(insert(users).values(username=username, **values))

    def login(self, username: str, password: str) -> tuple[str, Principal]:
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username, users.c.active)).first()
        try:
            if row is None:
                self.hasher.hash(password)  # same time either way: don't reveal which usernames exist
                raise VerificationError()
            self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError) as err:
            raise AuthError("bad_credentials", "wrong username or password") from err
        principal = Principal(row.username, row.role, row.site, "session")
        expires = datetime.now(timezone.utc) + timedelta(seconds=self.token_ttl_s)
        return self._issue(principal, expires), principal

    def device_token(self, name: str, role: str, site: str | None = None) -> str:
        if role not in DEVICE_ROLES:
            raise AuthError("bad_role", f"device role must be one of {', '.join(DEVICE_ROLES)}")
        return self._issue(Principal(name, role, site, "device"), None)

    def _issue(self, principal: Principal, expires: datetime | None) -> str:
        token = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute(insert(api_tokens).values(
                token_hash=_hash_token(token), kind=principal.kind, role=principal.role,
                subject=principal.subject, site=principal.site, created_at=datetime.now(timezone.utc),
                expires_at=expires,
            ))
        return token

    def revoke(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.token_hash == _hash_token(token))
                         .values(revoked_at=datetime.now(timezone.utc)))
        with self._lock:
            self._cache.pop(_hash_token(token), None)

    def authenticate(self, token: str) -> Principal | None:
        digest = _hash_token(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.db.read() as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == digest)).first()
        principal = None
        if row is not None and row.revoked_at is None and (
            row.expires_at is None or row.expires_at > datetime.now(timezone.utc)
        ):
            principal = Principal(row.subject, row.role, row.site, row.kind)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now + CACHE_S, principal)
        return principal
