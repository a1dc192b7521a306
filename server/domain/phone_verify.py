"""Phone verification: a one-time code by SMS proves a citizen holds the number they typed.

Plain Python; the store (:mod:`server.storage.phone_verify_store`) keeps the rows. Used by
appointments (issue 13 part 1) and remote tickets (part 2) alike, so the rules live here once:

* a code is 6 random digits, kept only as an HMAC keyed with the server's secret, for
  :data:`CODE_TTL` — a stolen database gives nobody a live code;
* each verification allows :data:`MAX_GUESSES` wrong codes, then it is locked (a new code must
  be asked for, which the send limits below slow down): 5 guesses in 10⁶ is a 1 in 200 000 chance;
* codes are sent at most :data:`SENDS_PER_PHONE` an hour to one number (someone typing a
  stranger's number cannot flood them), :data:`SENDS_PER_ADDRESS` an hour from one client
  address, and :data:`SENDS_PER_MINUTE` a minute for the whole centre (the modem's and the SIM's
  own limits);
* a confirmed code gives a *proof*: a random token (kept hashed) that stands for the phone number
  for :data:`PROOF_TTL`, for one purpose, so the booking form need not keep the number in the page;
* :func:`check_phone_limit` is the one "this phone cannot hold more than N" rule, called by every
  feature that hands something to a phone (bookings, remote tickets).

Refusals carry a Vietnamese sentence first (the citizen's page shows it as is), then English.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from .errors import DomainError, InvalidInput
from .notices import ascii_fold

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_GUESSES = 5
RESEND_GAP = timedelta(seconds=60)
SENDS_PER_PHONE = 3
SENDS_PER_ADDRESS = 10
SENDS_PER_MINUTE = 20
SEND_WINDOW = timedelta(hours=1)
PROOF_TTL = timedelta(minutes=30)
PURPOSES = ("booking", "remote")


class RateLimited(DomainError):
    """Too many codes asked for, or too many guesses: wait, then try again."""

    code = "rate_limited"
    kind = "rate_limited"


class CodeRefused(InvalidInput):
    """Wrong, expired or used-up code."""

    code = "wrong_code"


class SmsUnavailable(DomainError):
    code = "sms_unavailable"
    kind = "unavailable"


class PhoneLimit(DomainError):
    code = "phone_limit"
    kind = "conflict"


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def keyed(secret: bytes, *parts: str) -> str:
    """HMAC-SHA256 of ``parts``: codes, proofs, phones and client addresses are compared by this."""
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def code_matches(secret: bytes, verification: str, typed: str, stored_hash: str) -> bool:
    typed = "".join(ch for ch in typed if ch.isdigit())
    return hmac.compare_digest(keyed(secret, "code", verification, typed), stored_hash)


def code_sms_text(code: str, centre: str, minutes: int = int(CODE_TTL.total_seconds() // 60)) -> str:
    """One GSM 7-bit SMS (no diacritics, like the notices; see :func:`server.domain.notices.sms_text`)."""
    text = f"Ma xac nhan cua ban: {code}. Hieu luc {minutes} phut. Khong dua ma nay cho ai. {ascii_fold(centre)}"
    return text[:160].rstrip()


def check_send_allowed(now: datetime, phone_sends: list[datetime], address_sends: int, minute_sends: int) -> None:
    """Raise :class:`RateLimited` unless one more code may go to this phone from this address now.

    ``phone_sends``: when codes went to this number in the last :data:`SEND_WINDOW`."""
    if phone_sends and now - max(phone_sends) < RESEND_GAP:
        wait = int((RESEND_GAP - (now - max(phone_sends))).total_seconds()) + 1
        raise RateLimited(f"Mã vừa được gửi. Vui lòng chờ {wait} giây rồi hãy xin mã mới. / "
                          f"A code was just sent; wait {wait} s before asking again.",
                          code="code_just_sent", details={"retry_after": wait})
    if len(phone_sends) >= SENDS_PER_PHONE:
        raise RateLimited(f"Số điện thoại này đã nhận {len(phone_sends)} mã trong một giờ qua. "
                          "Vui lòng thử lại sau một giờ. / This phone got too many codes this hour.",
                          code="too_many_codes", details={"retry_after": 3600})
    if address_sends >= SENDS_PER_ADDRESS:
        raise RateLimited("Có quá nhiều yêu cầu gửi mã từ mạng của bạn. Vui lòng thử lại sau. / "
                          "Too many code requests from your network.",
                          code="too_many_requests", details={"retry_after": 3600})
    if minute_sends >= SENDS_PER_MINUTE:
        raise RateLimited("Hệ thống đang bận gửi tin nhắn. Vui lòng thử lại sau một phút. / "
                          "The centre is sending many messages; try again in a minute.",
                          code="sms_busy", details={"retry_after": 60})


def check_guess_allowed(guesses: int, expires_at: datetime, now: datetime, status: str) -> None:
    if status == "locked" or guesses >= MAX_GUESSES:
        raise RateLimited("Bạn đã nhập sai quá nhiều lần. Vui lòng xin mã mới. / "
                          "Too many wrong codes; ask for a new one.", code="too_many_guesses")
    if status != "pending":
        raise CodeRefused("Mã này đã được dùng. Vui lòng xin mã mới. / This code was already used.",
                          code="code_used")
    if now >= expires_at:
        raise CodeRefused("Mã đã hết hạn. Vui lòng xin mã mới. / The code has expired; ask for a new one.",
                          code="code_expired")


def wrong_code(left: int) -> DomainError:
    if left <= 0:
        return RateLimited("Mã không đúng. Bạn đã nhập sai quá nhiều lần; vui lòng xin mã mới. / "
                           "Wrong code, and no guesses left: ask for a new one.", code="too_many_guesses")
    return CodeRefused(f"Mã không đúng. Bạn còn {left} lần thử. / Wrong code; {left} tries left.",
                       code="wrong_code", details={"guesses_left": left})


def check_phone_limit(held: int, limit: int, what: str = "lịch hẹn", what_en: str = "appointments") -> None:
    """The one "same phone cannot hold more than ``limit``" rule: ``held`` is what it holds now."""
    if held >= limit:
        raise PhoneLimit(f"Số điện thoại này đã có {held} {what}, tối đa {limit}. Vui lòng hủy bớt trước khi "
                         f"đặt thêm. / This phone already holds {held} {what_en} (limit {limit}).",
                         code="phone_limit", details={"held": held, "limit": limit})
