""""Your turn is near": who is n-th in the real call order, Vietnamese mobile numbers, the SMS text.

Plain Python. The place in the queue is computed with :func:`server.domain.queue.sort_key` itself,
so the notice follows the order counters really call in (tickets sent to a counter, the starvation
limit, service preference, priority), not a separate guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime

from . import queue as q
from .errors import InvalidInput

NEAR = "near"
"""The one notice kind today; (ticket, kind) is unique, so each ticket gets it at most once."""
DEFAULT_AHEAD = 3

_MOBILE = re.compile(r"0(3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-46-9])[0-9]{7}")
"""Vietnamese mobile numbers since the 2018 renumbering: 10 digits, 03x/05x/07x/08x/09x."""
PHONE_HINT_VI = ("Số điện thoại di động Việt Nam gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 "
                 "(ví dụ 0912 345 678).")
PHONE_HINT_EN = "A Vietnamese mobile number has 10 digits and starts with 03, 05, 07, 08 or 09 (e.g. 0912 345 678)."


class InvalidPhone(InvalidInput):
    code = "invalid_phone"


def normalize_phone(text: str) -> str:
    """``"0912 345 678"``, ``"+84 912.345.678"``, ``"(84) 912345678"`` → ``"+84912345678"``.

    Refuses landlines (02x), old 11-digit numbers (01xx) and anything foreign, with a sentence a
    citizen can act on.
    """
    if not isinstance(text, str):
        raise InvalidPhone(f"{PHONE_HINT_VI} / {PHONE_HINT_EN}")
    digits = unicodedata.normalize("NFKC", text).strip()
    digits = re.sub(r"[\s.\-()/]", "", digits)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise InvalidPhone(f"{PHONE_HINT_VI} / {PHONE_HINT_EN}")
    return "+84" + digits[1:]


def mask_phone(phone: str) -> str:
    """``+84912345678`` → ``091* *** 678``: the citizen recognises their number, a finder learns nothing."""
    local = "0" + phone[3:] if phone.startswith("+84") else phone
    return f"{local[:3]}* *** {local[-3:]}"


def call_order_ahead(ticket: q.Ticket, waiting: Iterable[q.Ticket], counters: Sequence[q.Counter],
                     overdue: datetime | None, now: datetime | None = None) -> int | None:
    """How many waiting tickets the soonest counter for ``ticket`` would call before it.

    For each counter that can serve the ticket (open ones; if none is open, all of them), count
    the waiting tickets that counter can serve and ranks before it by ``sort_key``; the answer is
    the smallest count: the place in the line at the counter where the turn comes first. None when
    no counter serves the ticket at all.
    """
    pool = [t for t in waiting if t.status == q.TicketStatus.WAITING and t.id != ticket.id]
    able = [c for c in counters if q.can_serve(c, ticket)]
    open_ones = [c for c in able if c.status != q.CounterStatus.CLOSED]
    best = None
    for counter in open_ones or able:
        mine = q.sort_key(counter, ticket, overdue, now)
        before = sum(1 for t in pool if q.can_serve(counter, t) and q.sort_key(counter, t, overdue, now) < mine)
        best = before if best is None else min(best, before)
    return best


def near_tickets(subscribed: Iterable[q.Ticket], waiting: Sequence[q.Ticket], counters: Sequence[q.Counter],
                 overdue: datetime | None, n: int, now: datetime | None = None) -> list[tuple[q.Ticket, int]]:
    """(ticket, ahead) for each subscribed waiting ticket with at most ``n`` people before it."""
    out = []
    for ticket in subscribed:
        if ticket.status != q.TicketStatus.WAITING:
            continue
        ahead = call_order_ahead(ticket, waiting, counters, overdue, now)
        if ahead is not None and ahead <= n:
            out.append((ticket, ahead))
    return out


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics ("Tà Văn" → "Ta Van", "Đ" → "D"), for SMS only (see sms_text)."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return re.sub(r"[^ !\"#%&'()*+,\-./0-9:;<=>?A-Za-z]", "", text)


def sms_text(number: str, ahead: int, centre: str, track_url: str | None, limit: int = 160) -> str:
    """The notice as one SMS in Vietnamese without diacritics (GSM 7-bit, up to 160 characters).

    Why not UCS-2: with diacritics an SMS holds 70 characters, so this message would be two or
    three parts; text-mode dongles cannot join parts, and each part is charged. Vietnamese without
    diacritics is what banks and one-time codes use, and every phone shows it. The page link is
    added only if it still fits, then the centre's name.
    """
    people = "Ban la nguoi tiep theo" if ahead == 0 else f"Con {ahead} nguoi truoc ban"
    core = f"So {number}: sap den luot. {people}. Xin moi quay lai"
    place = ascii_fold(centre).strip()
    for text in (f"{core} {place}. Xem: {track_url}" if track_url else None,
                 f"{core}. Xem: {track_url}" if track_url else None,
                 f"{core} {place}.", f"{core}."):
        if text and len(text) <= limit:
            return text
    return text[:limit]
