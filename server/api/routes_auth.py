"""Login: OAuth2 password form → bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from .deps import AuthDep, SettingsDep

router = APIRouter(prefix="/api/v1")


@router.post("/auth/token")
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], auth: AuthDep, settings: SettingsDep):
    token, principal = auth.login(form.username, form.password)
    return {
        "access_token": token, "token_type": "bearer", "role": principal.role, "site": principal.site,
        "expires_in": settings.token_ttl_s,
    }
