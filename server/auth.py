"""Users, passwords (argon2) and bearer tokens.

Tokens are random (256 bits) and only their SHA-256 is stored, so a copy of the database gives no
working token. Session tokens expire; device tokens (kiosk, display) live until revoked.

Every request reads its token's row (one indexed read): an expired token stops working at its
expiry to the second, and a token revoked by ``POST /auth/logout`` or by ``motcua token revoke``
in another process stops working on the very next request. (An in-process cache used to keep a
token alive for 30 s after its expiry, and could not see a revocation made by the command line.)
On SQLite that read is one statement on a connection the store keeps, in autocommit (so it sees
every commit made before it, by any process), without a transaction or the SQL layer around it:
it was a sixth of a ticket's server time when it went through the pool and a BEGIN/COMMIT.

Password hashing is slow and takes ~64 MiB on purpose; the login route runs it through
:class:`server.login_guard.LoginGuard`, which bounds how many run at once.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, insert, select, update

from server.storage.db import Database
from server.storage.tables import api_tokens, users

ROLES = ("admin", "manager", "official", "kiosk", "display")
HUMAN_ROLES = ("admin", "manager", "official")
DEVICE_ROLES = ("kiosk", "display")
LAST_USED_EVERY_S = 60.0
"""``last_used_at`` is written at most this often per token: a write per request would queue
every kiosk behind SQLite's single writer for a figure nobody reads to the second."""

_hasher = PasswordHasher()
_BY_HASH = select(api_tokens.c.id, api_tokens.c.kind, api_tokens.c.role, api_tokens.c.subject, api_tokens.c.site,
                  api_tokens.c.counter, api_tokens.c.expires_at, api_tokens.c.revoked_at, api_tokens.c.last_used_at
                  ).where(api_tokens.c.token_hash == bindparam("p_hash"))
_BY_HASH_SQLITE = ("SELECT id, kind, role, subject, site, counter, expires_at, revoked_at, last_used_at "
                   "FROM api_tokens WHERE token_hash = ?")
"""The same read, for the kept SQLite connection (times come back as SQLAlchemy stored them:
naive UTC text, ``2026-12-06 02:13:46.123456``)."""


@dataclass(frozen=True)
class _TokenRow:
    id: int
    kind: str
    role: str
    subject: str
    site: str | None
    counter: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


def _utc(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


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
    counter: str | None = None  # a counter's own display: the counter it stands over


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


class AuthStore:
    def __init__(self, db: Database, *, token_ttl_s: int = 12 * 3600, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.hasher = hasher or _hasher  # tests pass a cheap one; verify reads the cost from each hash
        self.token_ttl_s = token_ttl_s
        self._reader = None  # the kept SQLite connection for token reads (opened at first use)
        self._reader_lock = threading.Lock()

    def close(self) -> None:
        """Give back the kept connection (the server's shutdown)."""
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    # ---- accounts and passwords -----------------------------------------------------------------
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

    def find_user(self, username: str) -> Any:
        """The active account's row, or None."""
        with self.db.read() as conn:
            return conn.execute(select(users).where(users.c.username == username, users.c.active)).first()

    def check_password(self, row: Any, password: str) -> bool:
        """Slow on purpose (argon2). An unknown account costs the same: which names exist stays hidden."""
        try:
            if row is None:
                self.hasher.hash(password)
                return False
            return self.hasher.verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def start_session(self, row: Any) -> tuple[str, Principal, datetime]:
        principal = Principal(row.username, row.role, row.site, "session")
        expires = _now() + timedelta(seconds=self.token_ttl_s)
        return self._issue(principal, expires), principal, expires

    def login(self, username: str, password: str) -> tuple[str, Principal]:
        """Check and open a session in one call (tools and tests; the HTTP route goes through the guard)."""
        row = self.find_user(username)
        if not self.check_password(row, password):
            raise AuthError("bad_credentials", "wrong username or password")
        token, principal, _ = self.start_session(row)
        return token, principal

    # ---- tokens ---------------------------------------------------------------------------------
    def device_token(self, name: str, role: str, site: str | None = None, *, counter: str | None = None) -> str:
        if role not in DEVICE_ROLES:
            raise AuthError("bad_role", f"device role must be one of {', '.join(DEVICE_ROLES)}")
        if counter is not None and role != "display":
            raise AuthError("bad_role", "only a display stands over a counter (--counter needs --role display)")
        return self._issue(Principal(name, role, site, "device", counter), None)

    def _issue(self, principal: Principal, expires: datetime | None) -> str:
        token = secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute(insert(api_tokens).values(
                token_hash=_hash_token(token), kind=principal.kind, role=principal.role,
                subject=principal.subject, site=principal.site, counter=principal.counter, created_at=_now(),
                expires_at=expires,
            ))
        return token

    def authenticate(self, token: str) -> Principal:
        """The token's principal, or :class:`AuthError` saying why not (unknown, expired, revoked)."""
        principal, stale = self.check(token)
        if stale is not None:
            self.touch(stale)
        return principal

    def check(self, token: str) -> tuple[Principal, int | None]:
        """(the token's principal, its id if ``last_used_at`` is due a refresh, else None); the
        server writes that refresh through its writer thread (:meth:`touch`), not on the event loop."""
        row = self._lookup(_hash_token(token))
        now = _now()
        if row is None:
            raise AuthError("invalid_token", "unknown token; log in again (or ask an administrator for a device token)")
        if row.revoked_at is not None:
            raise AuthError("token_revoked", f"this token was revoked at {row.revoked_at.isoformat(timespec='seconds')} "
                            "(logged out, or withdrawn by an administrator); log in again or ask for a new one")
        if row.expires_at is not None and row.expires_at <= now:
            raise AuthError("token_expired", f"this session expired at {row.expires_at.isoformat(timespec='seconds')}; "
                            "log in again")
        stale = row.last_used_at is None or (now - row.last_used_at).total_seconds() >= LAST_USED_EVERY_S
        return Principal(row.subject, row.role, row.site, row.kind, row.counter), row.id if stale else None

    def touch(self, token_id: int, now: datetime | None = None) -> None:
        with self.db.write() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now or _now()))

    def _lookup(self, digest: str) -> _TokenRow | None:
        if not self.db.is_sqlite:
            with self.db.read() as conn:
                row = conn.execute(_BY_HASH, {"p_hash": digest}).first()
            return None if row is None else _TokenRow(*row)
        with self._reader_lock:
            if self._reader is None:
                # from the engine, so it has the same PRAGMAs; autocommit (the engine's connect hook):
                # every read is its own snapshot, taken after whatever any process committed before it
                self._reader = self.db.engine.raw_connection()
            # fetchall: the statement runs to its end, so no read snapshot stays open
            rows = self._reader.driver_connection.execute(_BY_HASH_SQLITE, (digest,)).fetchall()
        if not rows:
            return None
        r = rows[0]
        return _TokenRow(r[0], r[1], r[2], r[3], r[4], r[5], _utc(r[6]), _utc(r[7]), _utc(r[8]))

    # ---- revocation -----------------------------------------------------------------------------
    def revoke(self, token: str) -> bool:
        """Revoke the token presented (logout). False if it was unknown or already revoked."""
        return self._revoke(api_tokens.c.token_hash == _hash_token(token)) > 0

    def revoke_ids(self, ids: list[int]) -> int:
        return self._revoke(api_tokens.c.id.in_(ids)) if ids else 0

    def revoke_device(self, name: str) -> int:
        """Every live token of the device called ``name`` (a stolen kiosk's, say)."""
        return self._revoke((api_tokens.c.kind == "device") & (api_tokens.c.subject == name))

    def revoke_user(self, username: str) -> int:
        """Every open session of ``username`` (a lost phone, an official who left)."""
        return self._revoke((api_tokens.c.kind == "session") & (api_tokens.c.subject == username))

    def _revoke(self, where) -> int:
        with self.db.write() as conn:
            result = conn.execute(update(api_tokens).where(where, api_tokens.c.revoked_at.is_(None))
                                  .values(revoked_at=_now()))
            return result.rowcount or 0

    def active_tokens(self, *, sessions: bool = False) -> list[dict[str, Any]]:
        """Live device tokens (and open sessions if asked): never the token, only what names it."""
        now = _now()
        kinds = ("device", "session") if sessions else ("device",)
        with self.db.read() as conn:
            rows = conn.execute(
                select(api_tokens.c.id, api_tokens.c.kind, api_tokens.c.subject, api_tokens.c.role, api_tokens.c.site,
                       api_tokens.c.counter, api_tokens.c.created_at, api_tokens.c.expires_at,
                       api_tokens.c.last_used_at)
                .where(api_tokens.c.revoked_at.is_(None), api_tokens.c.kind.in_(kinds))
                .order_by(api_tokens.c.kind, api_tokens.c.subject, api_tokens.c.id)
            ).all()
        return [dict(r._mapping) for r in rows if r.expires_at is None or r.expires_at > now]
