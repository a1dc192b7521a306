"""Queue endpoints: the kiosk menu, tickets, queues, counters and ticket actions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request, Response

from server.storage import catalog

from .deps import DbDep, Issuer, Official, QueueDep, check_site, run_write
from .errors import ApiError
from .models import CallBody, PathKey, PauseBody, TicketCreate, TransferBody
from .routes_privacy import public_counters, verified_id_hash

router = APIRouter(prefix="/api/v1")
SitePath = Annotated[str, PathKey]
CounterPath = Annotated[str, PathKey]
TicketId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""A ticket id fits the database's INTEGER column; a larger one is a 422, not an overflow."""


@router.get("/sites/{site}/services")
def list_services(site: SitePath, db: DbDep):
    menu = catalog.services_menu(db, site)
    if menu is None:
        raise ApiError(404, "unknown_site", f"unknown site {site!r}")
    return menu


@router.post("/sites/{site}/tickets", status_code=201)
async def issue_ticket(site: SitePath, body: TicketCreate, queue: QueueDep, who: Issuer, response: Response,
                       request: Request):
    check_site(who, site)
    view, created = await run_write(
        queue.db, queue.issue, site, body.service, body.idempotency_key, priority=body.priority,
        citizen_hash=verified_id_hash(request, body.citizen),
        citizen_name=body.citizen.name_masked if body.citizen else None, actor=who.subject,
    )
    if not created:
        response.status_code = 200  # a replay: the same ticket, never a second one
    return view


@router.get("/sites/{site}/tickets")
def waiting_list(site: SitePath, queue: QueueDep, who: Official):
    check_site(who, site)
    queue.counters(site)  # 404 for an unknown site
    return {"tickets": queue.waiting_list(site)}


@router.get("/sites/{site}/queues")
def queues(site: SitePath, queue: QueueDep):
    queue.counters(site)  # 404 for an unknown site
    return {"queues": queue.queues(site)}


@router.get("/sites/{site}/counters")
def counters(site: SitePath, queue: QueueDep):
    return {"counters": public_counters(queue.counters(site))}  # public: pause reasons masked


@router.post("/sites/{site}/counters/{counter}/open")
async def open_counter(site: SitePath, counter: CounterPath, queue: QueueDep, who: Official):
    check_site(who, site)
    return await run_write(queue.db, queue.set_counter, site, counter, "open", actor=who.subject)


@router.post("/sites/{site}/counters/{counter}/pause")
async def pause_counter(site: SitePath, counter: CounterPath, body: PauseBody, queue: QueueDep, who: Official):
    check_site(who, site)
    return await run_write(queue.db, queue.set_counter, site, counter, "pause", reason=body.reason, actor=who.subject)


@router.post("/sites/{site}/counters/{counter}/close")
async def close_counter(site: SitePath, counter: CounterPath, queue: QueueDep, who: Official):
    check_site(who, site)
    return await run_write(queue.db, queue.set_counter, site, counter, "close", actor=who.subject)


@router.post("/sites/{site}/counters/{counter}/call-next")
async def call_next(site: SitePath, counter: CounterPath, queue: QueueDep, who: Official):
    check_site(who, site)
    return await run_write(queue.db, queue.call_next, site, counter, actor=who.subject)


@router.post("/sites/{site}/counters/{counter}/call")
async def call_chosen(site: SitePath, counter: CounterPath, body: CallBody, queue: QueueDep, who: Official):
    check_site(who, site)
    return await run_write(queue.db, queue.call_chosen, site, counter, body.ticket, actor=who.subject)


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: TicketId, queue: QueueDep, who: Official):
    return queue.ticket(ticket_id, site=who.site)


TicketAction = Literal["recall", "no-show", "start", "finish", "park", "resume", "cancel"]


@router.post("/tickets/{ticket_id}/transfer")
async def transfer(ticket_id: TicketId, body: TransferBody, queue: QueueDep, who: Official):
    if body.service is None and body.counter is None:
        raise ApiError(422, "invalid_request", "give a service, a counter, or both")
    return await run_write(queue.db, queue.ticket_action, ticket_id, "transfer", actor=who.subject,
                        service=body.service, counter_id=body.counter, site=who.site)


@router.post("/tickets/{ticket_id}/{action}")
async def ticket_action(ticket_id: TicketId, action: TicketAction, queue: QueueDep, who: Official):
    return await run_write(queue.db, queue.ticket_action, ticket_id, action, actor=who.subject, site=who.site)
