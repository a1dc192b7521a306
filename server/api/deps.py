"""Dependencies shared by the routes, as ``Annotated`` aliases (one place, one spelling).

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread pool,
and four thread hops per request cost more than the ticket's whole transaction. None of them
blocks on SQLite; the token check (one indexed read, so a revoked or expired token stops at once)
goes through :func:`run_db`, which keeps PostgreSQL's round trip off the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth import AuthStore, Principal
from server.config import Settings
from server.storage.db import Database
from server.storage.queue_store import QueueStore

from .errors import ApiError

_bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_queue(request: Request) -> QueueStore:
    return request.app.state.queue


async def get_auth(request: Request) -> AuthStore:
    return request.app.state.auth


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
QueueDep = Annotated[QueueStore, Depends(get_queue)]
AuthDep = Annotated[AuthStore, Depends(get_auth)]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _authenticate(auth: AuthStore, token: str) -> Principal:
    principal, stale = await run_db(auth.db, auth.check, token)  # AuthError → 401 saying why
    if stale is not None:  # last_used_at, at most once a minute per token: a write, so the writer's
        await run_write(auth.db, auth.touch, stale)
    return principal


async def current_principal(auth: AuthDep, credentials: BearerDep) -> Principal:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", "a bearer token is required", {"WWW-Authenticate": "Bearer"})
    return await _authenticate(auth, credentials.credentials)


async def optional_principal(auth: AuthDep, credentials: BearerDep) -> Principal | None:
    """No token: None (a public call); a bad one is still a 401, never silently anonymous."""
    if credentials is None or not credentials.credentials:
        return None
    return await _authenticate(auth, credentials.credentials)


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits only ``roles`` (admin is always admitted)."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role != "admin" and principal.role not in roles:
            raise ApiError(403, "forbidden", f"role {principal.role} may not do this (needs {', '.join(roles)})")
        return principal

    return check


async def run_db(db: Database, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store call that mostly reads: inline for SQLite, in the thread pool for PostgreSQL.

    A site's SQLite read takes well under a millisecond and never waits for a writer (WAL), so
    the thread hop cost more than the work. PostgreSQL waits on the network, so it must not hold
    the event loop.
    """
    if db.is_sqlite:
        return fn(*args, **kwargs)
    return await run_in_threadpool(fn, *args, **kwargs)


async def run_write(db: Database, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a store call that writes: SQLite through the writer thread (group commit, so the
    event loop never waits for the disk: ``server.storage.writer``), PostgreSQL in the thread pool."""
    if db.writer is not None:
        return await db.writer.run(fn, *args, **kwargs)
    return await run_db(db, fn, *args, **kwargs)


def check_site(principal: Principal, site: str) -> None:
    if principal.site is not None and principal.site != site:
        raise ApiError(403, "wrong_site", f"this token belongs to site {principal.site}")


Official = Annotated[Principal, Depends(require("official", "manager"))]
Issuer = Annotated[Principal, Depends(require("kiosk", "official", "manager"))]
Manager = Annotated[Principal, Depends(require("manager"))]
