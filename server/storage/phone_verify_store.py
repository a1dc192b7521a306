"""Phone verification codes: rows in ``phone_codes``, the SMS through the site's notifier.

:meth:`PhoneVerifyStore.start` records the code (as an HMAC) and sends it at once, in the
request, through the same channel as "your turn is near" (:mod:`server.notify.channels`: the
modem's lock keeps one message at a time with the notice sender). Sending in the request lets the
page say plainly when the SMS could not go out; a code is cheap to ask for again, so a lost one is
not resent.

:meth:`confirm` counts every guess in the database (several server processes share the count) and
hands out a proof token; :func:`phone_for_proof` turns a proof back into the number inside
another feature's transaction (a booking, a remote ticket).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from server.domain import notices as n
from server.domain import phone_verify as pv
from server.domain.errors import DomainError

from .db import Database
from .queue_rows import utcnow
from .tables import phone_codes, sites


class NotVerified(DomainError):
    code = "phone_not_verified"
    kind = "forbidden"


def phone_for_proof(conn: Connection, secret: bytes, proof: str | None, purpose: str,
                    now: datetime | None = None) -> str:
    """The verified number a proof stands for, or :class:`NotVerified` (absent, wrong, expired)."""
    now = now or utcnow()
    if not proof or len(proof) > 100:
        raise NotVerified("Vui lòng xác nhận số điện thoại bằng mã gửi qua tin nhắn. / Verify your phone first.")
    row = conn.execute(select(phone_codes.c.phone, phone_codes.c.purpose, phone_codes.c.proof_expires_at).where(
        phone_codes.c.proof_hash == pv.keyed(secret, "proof", proof))).first()
    if row is None or row.phone is None or row.purpose != purpose or row.proof_expires_at <= now:
        raise NotVerified("Phiên xác nhận số điện thoại đã hết hạn. Vui lòng xin mã mới. / "
                          "Your phone verification has expired; ask for a new code.")
    return row.phone


class PhoneVerifyStore:
    def __init__(self, db: Database, secret: bytes, notifier=None, *, site: str | None = None) -> None:
        self.db = db
        self.secret = secret
        self.notifier = notifier
        """A :class:`server.notify.channels.Notifier`, or None: SMS off, verification refused (503)."""
        self.site = site

    def _centre(self) -> str:
        with self.db.read() as conn:
            q = select(sites.c.name)
            if self.site:
                q = q.where(sites.c.id == self.site)
            return conn.execute(q.limit(1)).scalar() or ""

    def start(self, phone_text: str, purpose: str, address: str, now: datetime | None = None) -> dict[str, Any]:
        """Send a code to ``phone_text`` for ``purpose``. → ``{verification, phone (masked), expires_in}``."""
        from server.notify.channels import DeliveryError, Notice

        now = now or utcnow()
        if purpose not in pv.PURPOSES:
            raise pv.CodeRefused(f"unknown purpose {purpose!r} (known: {', '.join(pv.PURPOSES)})", code="invalid_purpose")
        phone = n.normalize_phone(phone_text)
        if self.notifier is None:
            raise pv.SmsUnavailable("Trung tâm chưa bật nhắn tin nên chưa thể xác nhận số điện thoại. / "
                                    "This centre does not send SMS, so phones cannot be verified.")
        phone_key = pv.keyed(self.secret, "phone", phone)
        address_key = pv.keyed(self.secret, "address", address)
        verification, code = pv.new_token(), pv.new_code()
        counted = phone_codes.c.status != "failed"
        with self.db.write() as conn:
            since = now - pv.SEND_WINDOW
            phone_sends = list(conn.execute(select(phone_codes.c.created_at).where(
                phone_codes.c.phone_key == phone_key, phone_codes.c.created_at > since, counted)).scalars())
            address_sends = conn.execute(select(func.count()).select_from(phone_codes).where(
                phone_codes.c.address_key == address_key, phone_codes.c.created_at > since, counted)).scalar_one()
            minute_sends = conn.execute(select(func.count()).select_from(phone_codes).where(
                phone_codes.c.created_at > now - timedelta(minutes=1), counted)).scalar_one()
            pv.check_send_allowed(now, phone_sends, address_sends, minute_sends)
            conn.execute(phone_codes.insert().values(
                id=verification, purpose=purpose, phone=phone, phone_key=phone_key, address_key=address_key,
                code_hash=pv.keyed(self.secret, "code", verification, code), status="pending", guesses=0,
                created_at=now, expires_at=now + pv.CODE_TTL))
        text = pv.code_sms_text(code, self._centre())
        try:
            self.notifier.send(Notice("", 0, "", None, phone, text=text), lambda: None)
        except DeliveryError as err:
            if not err.maybe_sent:  # it did not go out: it does not count against the citizen
                with self.db.write() as conn:
                    conn.execute(update(phone_codes).where(phone_codes.c.id == verification).values(
                        status="failed", phone=None))
            raise pv.SmsUnavailable("Chưa gửi được tin nhắn mã xác nhận. Vui lòng thử lại sau ít phút. / "
                                    "The code could not be sent; try again in a few minutes.",
                                    code="sms_failed") from err
        return {"verification": verification, "phone": n.mask_phone(phone),
                "expires_in": int(pv.CODE_TTL.total_seconds()), "resend_after": int(pv.RESEND_GAP.total_seconds()),
                "guesses": pv.MAX_GUESSES}

    def confirm(self, verification: str, code: str, now: datetime | None = None) -> dict[str, Any]:
        """Check a typed code. → ``{proof, phone (masked), expires_in}``; wrong codes are counted."""
        now = now or utcnow()
        refusal: DomainError | None = None
        with self.db.write() as conn:
            row = conn.execute(select(phone_codes).where(phone_codes.c.id == str(verification)[:40])
                               .with_for_update()).first()
            if row is None:
                raise pv.CodeRefused("Mã không đúng hoặc đã hết hạn. Vui lòng xin mã mới. / Unknown or expired code.",
                                     code="code_expired")
            pv.check_guess_allowed(row.guesses, row.expires_at, now, row.status)
            if pv.code_matches(self.secret, row.id, str(code)[:20], row.code_hash):
                proof = pv.new_token()
                conn.execute(update(phone_codes).where(phone_codes.c.id == row.id, phone_codes.c.status == "pending")
                             .values(status="confirmed", proof_hash=pv.keyed(self.secret, "proof", proof),
                                     proof_expires_at=now + pv.PROOF_TTL))
                return {"proof": proof, "phone": n.mask_phone(row.phone), "purpose": row.purpose,
                        "expires_in": int(pv.PROOF_TTL.total_seconds())}
            guesses = row.guesses + 1
            conn.execute(update(phone_codes).where(phone_codes.c.id == row.id).values(
                guesses=guesses, status="locked" if guesses >= pv.MAX_GUESSES else row.status))
            refusal = pv.wrong_code(pv.MAX_GUESSES - guesses)
        raise refusal  # after the commit: the wrong guess stays counted

    def phone_for_proof(self, proof: str | None, purpose: str, now: datetime | None = None) -> str:
        with self.db.read() as conn:
            return phone_for_proof(conn, self.secret, proof, purpose, now)

    def sweep(self, now: datetime | None = None) -> int:
        """Blank numbers no longer needed, delete rows the limits no longer look at. → rows changed."""
        now = now or utcnow()
        with self.db.write() as conn:
            blanked = conn.execute(update(phone_codes).where(phone_codes.c.phone.is_not(None), or_(
                phone_codes.c.proof_expires_at <= now,
                (phone_codes.c.proof_expires_at.is_(None) & (phone_codes.c.expires_at <= now)),
            )).values(phone=None)).rowcount
            gone = conn.execute(delete(phone_codes).where(
                phone_codes.c.created_at <= now - pv.SEND_WINDOW, phone_codes.c.phone.is_(None))).rowcount
        return blanked + gone
