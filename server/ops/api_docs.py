"""Summaries and descriptions for ``/docs``: what each endpoint is for, who may call it, what it answers.

Kept in one table (applied to the generated OpenAPI schema) so the route modules stay short and
the API reads as one document; ``docs/api.md`` walks through it with curl.
"""

from __future__ import annotations

from fastapi import FastAPI

ROLES = "Roles: `admin` (everything), `manager` (a centre's director: reports, dashboard), `official` (a counter), " \
        "`kiosk` and `display` (device tokens from `motcua device-token`)."

# (method, path) -> (tag, summary, description)
DOCS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("post", "/api/v1/auth/token"): ("auth", "Log in (official, manager, admin)",
        "OAuth2 password form (`username`, `password`) → `{access_token, token_type, role, site, expires_in}`. "
        "Send the token as `Authorization: Bearer …` on every write. " + ROLES),
    ("get", "/api/v1/sites/{site}/services"): ("queue", "The kiosk menu",
        "Services (queue prefix letter, names vi/en, icon) with their procedures (national code, name, field, "
        "legal working days, fee). Public."),
    ("post", "/api/v1/sites/{site}/tickets"): ("queue", "Issue a ticket (kiosk)",
        "Body `{service, priority?, idempotency_key, citizen?}`; 201 `{id, number, service, issued_at, ahead, "
        "est_wait_s, token, track_url}`. The same `idempotency_key` returns the same ticket (200), never a second "
        "one. `citizen` carries only a keyed hash of the CCCD number and a masked name. Roles: kiosk, official, "
        "manager."),
    ("get", "/api/v1/sites/{site}/tickets"): ("queue", "Waiting list (officials)",
        "Tickets waiting at this site, in call order, for the counter terminal's list."),
    ("get", "/api/v1/sites/{site}/queues"): ("queue", "Queue state per service",
        "Per service: waiting, serving, estimated wait, last called. Public (the hall display reads it)."),
    ("get", "/api/v1/sites/{site}/counters"): ("queue", "Counters and what they serve", "Public."),
    ("post", "/api/v1/sites/{site}/counters/{counter}/open"): ("counter", "Open a counter",
        "The official logged in at this counter starts taking tickets."),
    ("post", "/api/v1/sites/{site}/counters/{counter}/pause"): ("counter", "Pause a counter",
        "Body `{reason}`. The hall display shows the counter as paused."),
    ("post", "/api/v1/sites/{site}/counters/{counter}/close"): ("counter", "Close a counter", ""),
    ("post", "/api/v1/sites/{site}/counters/{counter}/call-next"): ("counter", "Call the next ticket",
        "The counter's services in its order of preference, priority tickets first, then the longest waiting. "
        "Answers the called ticket; 409 `queue_empty` when nobody waits; 409 `counter_busy` when the counter "
        "still has a ticket. The call reaches the hall display and the voice over MQTT."),
    ("post", "/api/v1/sites/{site}/counters/{counter}/call"): ("counter", "Call a chosen ticket",
        "Body `{ticket}` (its number, e.g. `A023`)."),
    ("get", "/api/v1/tickets/{ticket_id}"): ("counter", "One ticket", ""),
    ("post", "/api/v1/tickets/{ticket_id}/transfer"): ("counter", "Transfer a ticket",
        "Body `{service?, counter?}`: re-queued there, keeping its number and original issue time."),
    ("post", "/api/v1/tickets/{ticket_id}/{action}"): ("counter", "Act on a called ticket",
        "`recall` (call again), `no-show`, `start` (serving), `finish`, `park` (the citizen fetches a paper), "
        "`resume`, `cancel`."),
    ("post", "/api/v1/tickets/{ticket_id}/rating"): ("counter", "Rate the service",
        "Body `{rating}`: `very_satisfied`, `satisfied` or `not_satisfied`, once per finished ticket."),
    ("post", "/api/v1/dossiers"): ("dossiers", "Receive a dossier at the counter",
        "Body `{ticket_id?, procedure_code, applicant_name, phone?, channel, idempotency_key?}` → 201 `{code, "
        "received_at, due_at, token, track_url}`. The due date counts the procedure's legal working days on the "
        "Vietnamese calendar. With `ticket_id` the ticket's QR tracks the dossier too."),
    ("get", "/api/v1/dossiers/{code}"): ("dossiers", "One dossier with its history", ""),
    ("post", "/api/v1/dossiers/{code}/status"): ("dossiers", "Change a dossier's status",
        "Body `{status, note?, public_note?, reason?}`. A second supplement request needs `reason` (422 "
        "`second_supplement_needs_reason`) and counts late. Statuses: received, processing, supplement_requested, fee_due, paused, "
        "resolved, returned, withdrawn, refused (an unknown one is a 422 that lists them). Some need a note."),
    ("post", "/api/v1/dossiers/{code}/apology"): ("dossiers", "Apology and new date for a late dossier (Mẫu 04)",
        "Body `{new_date, reason}`."),
    ("get", "/api/v1/dossiers/{code}/slip.png"): ("dossiers", "The printed slip as an image", ""),
    ("get", "/api/v1/forms"): ("forms", "The forms of Thông tư 03/2025/TT-VPCP", "Numbers and titles, 01–07."),
    ("get", "/api/v1/dossiers/{code}/forms/{number}"): ("forms", "A dossier's form 01–06, to show or print",
        "`number` 01 slip, 02 supplement request, 03 refusal, 04 apology, 05 stop notice, 06 processing-control "
        "sheet. `?format=png` (default) or `escpos` (the printer's bytes), `&paper=80|58`. A form that does not "
        "apply (03 for a dossier never refused) is 409 `form_not_applicable`. Roles: official, manager."),
    ("get", "/api/v1/sites/{site}/forms/07"): ("forms", "The tracking book (Mẫu 07) of a period",
        "`?from=YYYY-MM-DD&to=YYYY-MM-DD`; `&format=png` (an A4 landscape page, `&page=N`, header `X-Pages`), "
        "`xlsx` (A4 worksheet) or `escpos` (a receipt-paper list)."),
    ("get", "/api/v1/track/{token}"): ("tracking", "Track a ticket or dossier (JSON)",
        "What the citizen's page `/t/{token}` shows: number, people ahead, estimated wait, now serving; later the "
        "dossier's status and appointment date. Public, rate-limited, names masked."),
    ("get", "/api/v1/track/{token}/events"): ("tracking", "Live tracking (server-sent events)", ""),
    ("post", "/api/v1/track/{token}/phone"): ("tracking", "Text me when my turn is near",
        "Body `{phone}`: a Vietnamese mobile number (`0912 345 678`, `+84…`). 200 `{phone (masked), ahead_n, "
        "notice}`. One SMS when `ahead_n` people or fewer are before the ticket in call order. 422 `invalid_phone` "
        "(the sentence in Vietnamese / English), 409 `notifications_off` or `ticket_not_waiting`, 422 `phone_limit`. "
        "The number is deleted when the ticket ends. Public (the token is the secret), rate-limited."),
    ("delete", "/api/v1/track/{token}/phone"): ("tracking", "Remove my phone number", "Public, rate-limited."),
    ("get", "/api/v1/sites/{site}/reports/dossiers"): ("reports", "Dossier report of a site (manager)",
        "`?from=YYYY-MM-DD&to=YYYY-MM-DD`; `&format=xlsx` for Excel. Received, resolved ahead / on time / late, "
        "in progress within / past due, in the province's terms."),
    ("get", "/api/v1/sites/{site}/reports/tickets"): ("reports", "Ticket report of a site (manager)",
        "Tickets, wait and service times per service, counter and official; ratings. `&format=xlsx` for Excel."),
    ("get", "/api/v1/reports/dossiers"): ("reports", "Dossier report of the province (manager without a site)", ""),
    ("get", "/api/v1/reports/tickets"): ("reports", "Ticket report of the province (manager without a site)", ""),
    ("post", "/api/v1/connector/webhook"): ("connector", "Signed webhook from the one-stop system",
        "HMAC-SHA256 signed with `MOTCUA_CONNECTOR_SECRET`."),
}


def install(app: FastAPI) -> None:
    """Fill summaries, tags and (where the route has none) descriptions into the OpenAPI schema."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                entry = DOCS.get((method, path))
                if entry is None:
                    continue
                tag, summary, description = entry
                operation["tags"] = operation.get("tags") or [tag]
                operation["summary"] = summary
                if description and not operation.get("description"):
                    operation["description"] = description
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
