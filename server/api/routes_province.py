"""Province role: sites push their journals here (signed with their own key), and read the head.

Mounted only when the server runs with ``MOTCUA_ROLE=province``. Authentication is the site's
HMAC signature (``server.sync.signing``), not a bearer token: a site's key is all it needs.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError, field_validator

from server.sync import signing
from server.sync.province import MAX_BATCH, ProvinceStore

from .errors import ApiError

router = APIRouter(tags=["province"])
HEX64 = r"^[0-9a-f]{64}$"


class EventIn(BaseModel):
    seq: int = Field(ge=1)
    event_id: str = Field(min_length=1, max_length=36)
    kind: str = Field(min_length=1, max_length=40)
    at: str = Field(min_length=1, max_length=32)
    body: str = Field(max_length=20000)
    prev_hash: str = Field(pattern=HEX64)
    hash: str = Field(pattern=HEX64)


class SiteHead(BaseModel):
    seq: int = Field(ge=0)
    hash: str = Field(pattern=HEX64)


class Batch(BaseModel):
    site: str = Field(min_length=1, max_length=40)
    site_head: SiteHead
    events: list[EventIn] = Field(max_length=MAX_BATCH)

    @field_validator("events")
    @classmethod
    def _increasing(cls, events: list[EventIn]) -> list[EventIn]:
        if any(b.seq <= a.seq for a, b in zip(events, events[1:])):
            raise ValueError("events must be in strictly increasing seq order")
        return events


def _store(request: Request) -> ProvinceStore:
    return request.app.state.province


async def _signed_site(request: Request, body: bytes) -> tuple[str, int]:
    """The site whose key signed this request, and its signed time; 401 otherwise."""
    site = request.headers.get(signing.SITE_HEADER, "")
    given = request.headers.get(signing.SIGNATURE_HEADER, "")
    try:
        ts = int(request.headers.get(signing.TIME_HEADER, ""))
    except ValueError:
        raise ApiError(401, "signature_missing", f"sign the request: headers {signing.SITE_HEADER}, "
                       f"{signing.TIME_HEADER} (unix seconds) and {signing.SIGNATURE_HEADER}") from None
    if abs(time.time() - ts) > signing.MAX_SKEW_S:
        raise ApiError(401, "signature_expired", f"{signing.TIME_HEADER} is more than {signing.MAX_SKEW_S} s from "
                       "the province's clock: check the site's clock (NTP)")
    keys = await run_in_threadpool(_store(request).keys, site)
    if not keys:
        raise ApiError(403, "unknown_site", f"site {site!r} is not registered at this province "
                       "(motcua province register SITE there)")
    if not signing.matches(keys, given, site, ts, request.method, request.url.path, body):
        raise ApiError(401, "bad_signature", f"the signature does not match site {site}'s key "
                       "(MOTCUA_PROVINCE_KEY at the site; rotated? set the new key)")
    return site, ts


@router.get("/api/v1/province/sites/{site}/head", summary="Where the province stands for a site (province role)",
            description="The highest `seq` the province holds for the site and its `hash`, and any `gap` or `broken` "
                        "flag. Signed by the site's key (headers `X-Motcua-Site`, `X-Motcua-Time`, "
                        "`X-Motcua-Signature`); 401 `bad_signature` / `signature_expired`, 403 `unknown_site`.")
async def head(site: str, request: Request) -> dict:
    signed, _ = await _signed_site(request, b"")
    if signed != site:
        raise ApiError(403, "wrong_site", f"signed by site {signed}, asked about {site}")
    return await run_in_threadpool(_store(request).head, site)


@router.get("/api/v1/province/sites/{site}/events/{seq}/hash",
            summary="The hash the province holds for one of a site's events (province role)",
            description="`{site, seq, hash}`; `hash` is null when the province does not hold that seq. Signed like "
                        "`…/head`. Used by `motcua sync rebase` at a restored site to find where its chain and the "
                        "province's part.")
async def event_hash(site: str, seq: int, request: Request) -> dict:
    signed, _ = await _signed_site(request, b"")
    if signed != site:
        raise ApiError(403, "wrong_site", f"signed by site {signed}, asked about {site}")
    if not 0 <= seq < 2**31:
        raise ApiError(422, "invalid_seq", f"seq {seq}: write a number from 0")
    return await run_in_threadpool(_store(request).hash_at, site, seq)


@router.post("/api/v1/province/ingest", summary="Take a batch of a site's journal (province role)",
             description="Body `{site, site_head: {seq, hash}, events: [{seq, event_id, kind, at, body, prev_hash, "
                         "hash}]}` signed by the site's key. Inserted once, keyed by (site, seq); answers "
                         "`{site, seq, hash, added}` (the head held). 409 `sequence_gap` (refused, the missing seqs "
                         "named), `chain_forked` / `event_edited` / `site_rewound` (the site is flagged) and "
                         "`chain_broken` (flagged earlier: refused until `motcua province clear`).")
async def ingest(request: Request) -> dict:
    body = await request.body()
    site, ts = await _signed_site(request, body)
    try:
        batch = Batch.model_validate_json(body)  # parsed and checked in one pass (pydantic-core)
    except (ValueError, ValidationError) as err:
        raise ApiError(422, "invalid_batch", f"site {site}: not a valid batch ({str(err).splitlines()[0][:300]})") from None
    if batch.site != site:
        raise ApiError(403, "wrong_site", f"signed by site {site}, the batch says {batch.site}")
    return await run_in_threadpool(_store(request).ingest, site, ts, batch.site_head.model_dump(),
                                   [e.model_dump() for e in batch.events])
