"""Login: OAuth2 password form → bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from .deps import AuthDep, SettingsDep
from .errors import ApiError

router = APIRouter(prefix="/api/v1")


@router.post("/auth/token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: AuthDep, settings: SettingsDep):
    if "\x00" in form.username:  # PostgreSQL refuses NUL in text: a 500 there, not a failed login
        raise ApiError(422, "invalid_request", "the username may not hold a NUL character")
    token, principal = auth.login(form.username, form.password)
    return {
        "access_token": token, "token_type": "bearer", "role": principal.role, "site": principal.site,
        "expires_in": settings.token_ttl_s,
    }
