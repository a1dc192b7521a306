"""Login (OAuth2 password form → bearer token) and logout (revokes the token presented).

A login goes through the :class:`~server.login_guard.LoginGuard`: refused early (429/503 with
``Retry-After``) when the account is locked, the address has sent too many wrong passwords or the
password checks are all busy; the argon2 check itself runs on a bounded pool of hashing threads,
never on the event loop that serves kiosks and counters.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from server.auth import AuthError, Principal
from server.login_guard import LoginRefused

from .deps import AuthDep, BearerDep, SettingsDep, current_principal, run_db
from .errors import ApiError
from .security import client_address

router = APIRouter(prefix="/api/v1")


def _refused(refusal: LoginRefused) -> ApiError:
    return ApiError(refusal.status, refusal.code, refusal.message, {"Retry-After": str(refusal.retry_after)})


@router.post("/auth/token")
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, auth: AuthDep,
                settings: SettingsDep):
    if "\x00" in form.username:  # PostgreSQL refuses NUL in text: a 500 there, not a failed login
        raise ApiError(422, "invalid_request", "the username may not hold a NUL character")
    guard = request.app.state.login_guard
    address = client_address(request)
    try:
        guard.check(form.username, address)
        async with guard.slot():
            guard.check(form.username, address)  # others may have locked it while this one waited
            row = await run_db(auth.db, auth.find_user, form.username)
            ok = await guard.run(auth.check_password, row, form.password)
    except LoginRefused as refusal:
        raise _refused(refusal) from None
    if not ok:
        locked = guard.failed(form.username, address)
        if locked is not None:
            raise _refused(locked)
        raise AuthError("bad_credentials", "Sai tên đăng nhập hoặc mật khẩu. / wrong username or password")
    guard.succeeded(form.username)
    token, principal, expires = await run_db(auth.db, auth.start_session, row)
    return {
        "access_token": token, "token_type": "bearer", "role": principal.role, "site": principal.site,
        "expires_in": settings.token_ttl_s, "expires_at": expires.isoformat(),
    }


@router.post("/auth/logout")
async def logout(auth: AuthDep, credentials: BearerDep, who: Annotated[Principal, Depends(current_principal)]):
    """Revoke the token this request presents: it answers 401 ``token_revoked`` from now on."""
    await run_db(auth.db, auth.revoke, credentials.credentials)
    return {"revoked": True, "subject": who.subject}
