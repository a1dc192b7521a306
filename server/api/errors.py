"""One error shape for every answer: ``{"error": {"code", "message"}}``; bad input never gets a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.auth import AuthError
from server.domain.errors import DomainError

log = logging.getLogger(__name__)

STATUS_BY_KIND = {"conflict": 409, "not_found": 404, "invalid": 422, "forbidden": 403, "rate_limited": 429,
                  "unavailable": 503}
CODE_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                  409: "conflict", 422: "invalid_request", 429: "rate_limited"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, headers=None, **extra) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        retry = exc.details.get("retry_after")
        headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
        return error_response(STATUS_BY_KIND.get(exc.kind, 409), exc.code, exc.message, headers, **exc.details)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError):
        return error_response(401, exc.code, exc.message, {"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        fields = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", "")} for err in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(f['loc'])}: {f['msg']}" for f in fields[:5]) or "invalid request"
        return error_response(422, "invalid_request", summary, fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = CODE_BY_STATUS.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; it has been logged")
