"""The CCCD (chip citizen ID card) QR payload, and the privacy helpers around it.

Payload: ``ID12|oldID9 (may be empty)|full name|DDMMYYYY birth|Nam/Nữ|address|DDMMYYYY issue``.
Readers in the field send 6 to 8 fields (issue date missing; a trailing empty field), so parsing
is tolerant about the count and strict about each value.  A rejection carries a stable
``reason`` code and never the payload itself (it is personal data).

Any scan that is not a CCCD attempt — e.g. the QR of a ticket's tracking URL — is passed
through as :class:`TextScanned`; the kiosk uses the same reader for both.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

MAX_PAYLOAD = 1024  # characters; a real payload is ~150

# Stable reason codes (logged, translated by the kiosk under "cccd.<reason>").
EMPTY = "empty"
TOO_LONG = "too_long"
BAD_ENCODING = "bad_encoding"
NOT_CCCD = "not_cccd"
FIELD_COUNT = "field_count"
BAD_ID = "bad_id"
BAD_OLD_ID = "bad_old_id"
BAD_NAME = "bad_name"
BAD_BIRTH_DATE = "bad_birth_date"
BAD_SEX = "bad_sex"
BAD_ISSUE_DATE = "bad_issue_date"
REASONS = (EMPTY, TOO_LONG, BAD_ENCODING, NOT_CCCD, FIELD_COUNT, BAD_ID, BAD_OLD_ID, BAD_NAME,
           BAD_BIRTH_DATE, BAD_SEX, BAD_ISSUE_DATE)

_DIGITS12 = re.compile(r"[0-9]{12}")
_OLD_ID = re.compile(r"(?:[0-9]{9}|[0-9]{12})?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CccdRejected(ValueError):
    """The payload is not an acceptable CCCD. ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.key = f"cccd.{reason}"


@dataclass(frozen=True)
class CccdCard:
    """A parsed card. Personal fields are hidden from ``repr`` so they never reach a log."""

    id_number: str = field(repr=False)
    old_id: str | None = field(repr=False)
    name: str = field(repr=False)
    birth_date: date = field(repr=False)
    sex: str  # "Nam" | "Nữ"
    address: str = field(repr=False)
    issue_date: date | None = field(repr=False)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def id_hash(self, key: bytes) -> str:
        return id_hash(self.id_number, key)


@dataclass(frozen=True)
class CardScanned:
    card: CccdCard


@dataclass(frozen=True)
class TextScanned:
    """A scan that is not a CCCD (e.g. ``https://…/t/TOKEN`` from a ticket)."""

    text: str


@dataclass(frozen=True)
class ScanRejected:
    """A CCCD-looking or unreadable scan that failed; the payload is deliberately not kept."""

    reason: str


ScanEvent = CardScanned | TextScanned | ScanRejected


def _date(value: str, reason: str) -> date:
    if not re.fullmatch(r"[0-9]{8}", value):
        raise CccdRejected(reason, "expected DDMMYYYY")
    try:
        parsed = date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError as err:
        raise CccdRejected(reason, str(err)) from None
    if parsed.year < 1900:
        raise CccdRejected(reason, "year before 1900")
    return parsed


def parse_cccd(payload: str) -> CccdCard:
    """Parse one payload or raise :class:`CccdRejected` with a stable reason."""
    text = unicodedata.normalize("NFC", payload).strip()
    if not text:
        raise CccdRejected(EMPTY)
    if len(text) > MAX_PAYLOAD:
        raise CccdRejected(TOO_LONG, f"{len(text)} characters")
    if "|" not in text:
        raise CccdRejected(NOT_CCCD, "no field separator")
    fields = [f.strip() for f in text.split("|")]
    if not 6 <= len(fields) <= 8:
        raise CccdRejected(FIELD_COUNT, f"{len(fields)} fields, expected 6 to 8")
    id_number, old_id, name, birth, sex, address = fields[:6]
    issue = fields[6] if len(fields) >= 7 else ""
    if not _DIGITS12.fullmatch(id_number):
        raise CccdRejected(BAD_ID, "expected 12 digits")
    if not _OLD_ID.fullmatch(old_id):
        raise CccdRejected(BAD_OLD_ID, "expected empty, 9 or 12 digits")
    if not name or _CONTROL.search(name) or any(ch.isdigit() for ch in name):
        raise CccdRejected(BAD_NAME)
    birth_date = _date(birth, BAD_BIRTH_DATE)
    sex_norm = {"nam": "Nam", "nữ": "Nữ"}.get(sex.casefold())
    if sex_norm is None:
        raise CccdRejected(BAD_SEX, "expected Nam or Nữ")
    issue_date = _date(issue, BAD_ISSUE_DATE) if issue else None
    if issue_date is not None and issue_date < birth_date:
        raise CccdRejected(BAD_ISSUE_DATE, "issued before birth")
    return CccdCard(id_number=id_number, old_id=old_id or None, name=" ".join(name.split()),
                    birth_date=birth_date, sex=sex_norm, address=address, issue_date=issue_date)


def classify_scan(text: str) -> ScanEvent | None:
    """Turn one scanned line into an event; ``None`` for an empty line (scanners send CR LF)."""
    stripped = text.strip()
    if not stripped:
        return None
    if len(stripped) > MAX_PAYLOAD:
        return ScanRejected(TOO_LONG)
    if "|" not in stripped:
        if _CONTROL.search(stripped):
            return ScanRejected(BAD_ENCODING)
        return TextScanned(stripped)
    try:
        return CardScanned(parse_cccd(stripped))
    except CccdRejected as err:
        return ScanRejected(err.reason)


ID_HASH_SHAPE = re.compile(r"v1\.(?P<key_id>[0-9a-f]{8})\.(?P<digest>[0-9a-f]{64})\.(?P<tag>[0-9a-f]{16})")
"""What a kiosk sends for a CCCD number: ``v1.<key id>.<HMAC-SHA256 hex>.<tag>``."""


def id_key_id(key: bytes) -> str:
    """A short public name for a key (8 hex), so a server can say "made with another key"."""
    return hashlib.sha256(b"motcua id-key id|" + key).hexdigest()[:8]


def id_hash_tag(digest: str, key: bytes) -> str:
    """Proof that ``digest`` was made by a holder of ``key``: the server, which holds the same
    key, can check it without ever seeing the ID, and so refuses a plain SHA-256 of an ID."""
    return hmac.new(key, b"motcua id-hash tag|" + digest.encode("ascii"), hashlib.sha256).hexdigest()[:16]


def id_hash(id_number: str, key: bytes) -> str:
    """Keyed hash of the ID: lets the server recognise a returning citizen without the number
    ever leaving the kiosk. ``v1.<key id>.<HMAC-SHA256(key, ID) hex>.<tag>``; the server keeps
    only the digest. The key is the site's ID key (the same on every kiosk and the server)."""
    if not key:
        raise ValueError("id_hash needs a non-empty key")
    digest = hmac.new(key, id_number.encode("ascii"), hashlib.sha256).hexdigest()
    return f"v1.{id_key_id(key)}.{digest}.{id_hash_tag(digest, key)}"


def mask_name(name: str) -> str:
    """"Lò Thị Mai" → "L** T** M**": the first letter of each word, then two stars."""
    words = unicodedata.normalize("NFC", name).split()
    return " ".join(word[0] + "**" for word in words)
