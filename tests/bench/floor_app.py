"""The floor for the ticket-issue benchmark: a bare FastAPI endpoint doing one SQLite insert.

Same server (uvicorn, one process, the same options as ``motcua server``), the same SQLite settings
(WAL, ``synchronous`` from FLOOR_SYNCHRONOUS), a JSON body like a ticket request, one ``INSERT`` in
its own transaction, a small JSON answer. No auth, no domain rules, no outbox: what is left when
motcua's own work is taken away.

    FLOOR_DB=/tmp/f.sqlite3 python -m tests.bench.floor_app PORT
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import uuid

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

DB = os.environ.get("FLOOR_DB", "floor.sqlite3")
PAGE = "<!doctype html><title>floor</title>" + "x" * int(os.environ.get("FLOOR_PAGE_BYTES", "8000"))
"""The booking page's floor (bench_booking): a fixed page of the real page's size, no database."""
SYNCHRONOUS = os.environ.get("FLOOR_SYNCHRONOUS", "FULL")
_local = threading.local()
app = FastAPI()


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(DB, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
        _local.conn = conn
    return conn


def _schema() -> None:
    conn = sqlite3.connect(DB)
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, service TEXT, k TEXT UNIQUE, token TEXT)")
    conn.commit()
    conn.close()


class Body(BaseModel):
    service: str
    idempotency_key: str


@app.post("/t", status_code=201)
def issue(body: Body) -> dict:
    conn = _conn()
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute("INSERT INTO t (service, k, token) VALUES (?, ?, ?)",
                       (body.service, body.idempotency_key, uuid.uuid4().hex))
    conn.execute("COMMIT")
    return {"id": cur.lastrowid, "service": body.service}


@app.get("/page", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})


if __name__ == "__main__":
    import uvicorn

    _schema()
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                                  access_log=False, proxy_headers=False)).run()
