"""The privacy rule, enforced by the server whatever a client or an official sends.

Three jobs, one module, so there is one place to read and to test:

* **Masking public text.** Anything a citizen's token or an unauthenticated client can read (the
  tracking page ``/t/{token}``, ``/api/v1/track/...`` and its event stream, the public counter
  list) goes through :func:`mask_public_text` first. It hides

  - *ID-like digit runs*: nine or more digits in a row, where "in a row" allows up to
    :data:`MAX_GAP` separator characters between two digits (spaces of any kind, dots, commas,
    dashes, slashes, brackets, ``+``, underscores, invisible format characters). Any Unicode digit
    counts (``٠١٢``, ``０１２``, ``①``). That covers CCCD numbers (12 digits), old CMND numbers
    (9), phone numbers (10-11, ``+84 912 345 678``) and the same written as ``001.099.012.345``
    or ``0 0 1 0 9 9 …``. A shorter number (a date ``12/05/2025``, "2 bản sao") stays;
  - *the applicant's name*: the full name with any punctuation or none between its words
    (``NguyễnVănAn``, ``NGUYEN-VAN-AN``), and each of its words on its own, compared without
    diacritics and case (``nguyen``, ``VĂN``, ``Ａn``). A word of four letters or more is hidden even
    inside a longer word; a shorter one only as a whole word (or at a lowerUpper seam), so "An"
    does not eat "Anh". It over-masks on purpose: for "Nguyễn Văn An" the words "văn bản" become
    "V** bản".

* **Public versus internal notes.** A dossier status change carries an internal ``note`` (seen by
  officials only) and an optional ``public_note``; the citizen sees the masked public note, or the
  standard sentence for the status (:data:`PUBLIC_SENTENCES`), never the internal note.

* **Citizen data from a kiosk.** A ticket may carry a masked name and a keyed hash of the CCCD
  number, nothing else. :func:`check_masked_name` accepts only the kiosk's mask shape
  (``"L** T** M**"``); :class:`IdHashVerifier` accepts only the kiosk's keyed hash
  ``v1.<key id>.<HMAC-SHA256 hex>.<tag>`` made with this server's ID key (see ``devices.cccd``):
  a raw ID, a plain SHA-256 of an ID or a hash made with another key is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from devices import cccd

MAX_GAP = 3
"""Separator characters allowed between two digits of one run."""
MIN_RUN = 9
"""Digits in a run that get masked: the old 9-digit CMND number is the shortest ID."""
DIGIT_MASK = "***"
_SEPARATORS = frozenset(" .,-_/()+·'\"−")


@lru_cache(maxsize=8192)
def _is_digit(ch: str) -> bool:
    return unicodedata.digit(ch, None) is not None


@lru_cache(maxsize=8192)
def _is_separator(ch: str) -> bool:
    if ch in _SEPARATORS or ch.isspace():
        return True
    return unicodedata.category(ch) in ("Pd", "Cf", "Zs", "Mn")


def mask_digit_runs(text: str) -> str:
    """Replace every run of :data:`MIN_RUN` or more digits (gaps of up to :data:`MAX_GAP`
    separators allowed) with :data:`DIGIT_MASK`."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if not _is_digit(text[i]):
            out.append(text[i])
            i += 1
            continue
        start = end = i  # end: index after the last digit of the run
        digits = 0
        j = i
        while j < n:
            if _is_digit(text[j]):
                digits += 1
                j += 1
                end = j
                continue
            gap = j
            while gap < n and gap - j < MAX_GAP and _is_separator(text[gap]):
                gap += 1
            if gap < n and gap > j and _is_digit(text[gap]):
                j = gap
                continue
            break
        out.append(DIGIT_MASK if digits >= MIN_RUN else text[start:end])
        i = end
    return "".join(out)


# -- names ------------------------------------------------------------------------------------

@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character compared without case, diacritics or width: "Ễ" → "e", "Ａ" → "a", "Đ" → "d"."""
    if ch in "đĐ":
        return "d"
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base.casefold()


def fold(text: str) -> str:
    return "".join(_fold_char(ch) for ch in text)


def _folded_with_origin(text: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        for c in _fold_char(ch):
            chars.append(c)
            origin.append(index)
    return "".join(chars), origin


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _word_start(text: str, i: int) -> bool:
    j = i - 1
    while j >= 0 and unicodedata.combining(text[j]):
        j -= 1
    if j < 0 or not _is_letter(text[j]):
        return True
    return text[j].islower() and text[i].isupper()  # a lowerUpper seam: "anhAn"


def _word_end(text: str, end: int) -> bool:
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    if end >= len(text) or not _is_letter(text[end]):
        return True
    last = end - 1
    while last > 0 and unicodedata.combining(text[last]):
        last -= 1
    return text[last].islower() and text[end].isupper()


def name_parts(name: str) -> list[str]:
    return [p for p in re.split(r"[\W\d_]+", fold(name or "")) if p]


def _span(origin: list[int], text: str, start: int, stop: int) -> tuple[int, int]:
    a, b = origin[start], origin[stop - 1] + 1
    while b < len(text) and unicodedata.combining(text[b]):
        b += 1  # a decomposed "ễ" keeps its marks with its letter
    return a, b


def mask_name_in_text(text: str, name: str) -> str:
    """Hide ``name`` (the full name and each of its words) inside ``text``; see the module doc."""
    parts = name_parts(name)
    # A one-letter word ("Vàng A Páo") is its own initial, which every mask shows; masking it
    # would only mask the masks again. Every pattern below holds a word of 2+ letters, so none
    # can match inside a mask ("X**"): masking twice changes nothing more.
    if not text or not any(len(p) > 1 for p in parts):
        return text
    folded, origin = _folded_with_origin(text)
    spans: list[tuple[int, int, str]] = []
    full_mask = " ".join(p[0].upper() + "**" for p in name.split() if p)
    if len(parts) > 1:
        whole = re.compile((r"[\W_]{0,%d}" % MAX_GAP).join(map(re.escape, parts)))
        for m in whole.finditer(folded):
            a, b = _span(origin, text, m.start(), m.end())
            spans.append((a, b, full_mask))
    for part in sorted({p for p in parts if len(p) > 1}, key=len, reverse=True):
        at = folded.find(part)
        while at != -1:
            a, b = _span(origin, text, at, at + len(part))
            if len(part) >= 4 or (_word_start(text, a) and _word_end(text, b)):
                spans.append((a, b, text[a] + "**"))
            at = folded.find(part, at + 1)
    return _apply(text, spans)


def _apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Replace spans (the earliest, then the longest wins; overlapping ones are merged)."""
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[str] = []
    pos = 0
    for a, b, mask in spans:
        if a < pos:  # overlaps a span already masked: mask what sticks out, with no new text
            if b > pos:
                pos = b
            continue
        out.append(text[pos:a])
        out.append(mask)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def mask_public_text(text: str | None, names: tuple[str, ...] | list[str] = ()) -> str | None:
    """What a public page may show of free text an official typed: names, then digit runs."""
    if text is None:
        return None
    masked = unicodedata.normalize("NFKC", text)  # "０", "①", "ｎ" become plain, so nothing hides behind width
    # A mask ("N**") can leave a short word standing alone ("NGUYENVăn" → "N**Văn"): repeat until
    # nothing changes. Each pass that changes something hides at least one letter, so this ends.
    for _ in range(len(masked) + 1):
        before = masked
        for name in names:
            if name:
                masked = mask_name_in_text(masked, name)
        if masked == before:
            break
    return mask_digit_runs(masked)


# -- public notes -----------------------------------------------------------------------------

PUBLIC_SENTENCES: dict[str, tuple[str, str]] = {
    "submitted": ("Hồ sơ đã được gửi trực tuyến và đang chờ cán bộ tiếp nhận.",
                  "Submitted online; waiting for an official to accept it."),
    "received": ("Hồ sơ đã được tiếp nhận tại Bộ phận Một cửa.", "Your dossier was received."),
    "processing": ("Hồ sơ đang được cơ quan chuyên môn giải quyết.", "Your dossier is being processed."),
    "supplement_requested": ("Hồ sơ cần bổ sung giấy tờ. Vui lòng liên hệ Bộ phận Một cửa để biết chi tiết.",
                             "Documents are missing. Please ask the one-stop desk for details."),
    "fee_due": ("Vui lòng nộp phí, lệ phí hoặc thực hiện nghĩa vụ tài chính để hồ sơ được tiếp tục giải quyết.",
                "Please pay the fees or taxes due so that your dossier can go on."),
    "paused": ("Hồ sơ tạm dừng xử lý. Vui lòng liên hệ Bộ phận Một cửa để biết lý do.",
               "Processing is stopped. Please ask the one-stop desk why."),
    "resolved": ("Đã có kết quả. Mời bạn đến nhận kết quả theo lịch hẹn.",
                 "The result is ready. Please collect it as appointed."),
    "returned": ("Đã trả kết quả. Cảm ơn bạn.", "The result was handed over. Thank you."),
    "withdrawn": ("Hồ sơ đã được rút theo yêu cầu của người nộp.", "Withdrawn at the applicant's request."),
    "refused": ("Hồ sơ không được tiếp nhận. Vui lòng liên hệ Bộ phận Một cửa để nhận văn bản nêu rõ lý do.",
                "The dossier was not accepted. Please ask the one-stop desk for the written reasons."),
}


def public_note(status: str, note: str | None, names: tuple[str, ...] | list[str]) -> tuple[str, str, bool]:
    """(Vietnamese text, English text, written by an official) for one timeline entry."""
    masked = mask_public_text(note, names) if note and note.strip() else None
    vi, en = PUBLIC_SENTENCES.get(status, ("", ""))
    if masked:
        return masked, masked, True
    return vi, en, False


# -- citizen data on a ticket -----------------------------------------------------------------

_MASKED_NAME = re.compile(r"[^\W\d_]\*\*(?: [^\W\d_]\*\*){0,11}")


def check_masked_name(value: str) -> str:
    """The kiosk's mask shape, "L** T** M**" (first letter of each word, two stars), or ValueError."""
    value = unicodedata.normalize("NFC", value)
    if not _MASKED_NAME.fullmatch(value):
        raise ValueError("name_masked must be masked the way the kiosk masks it, e.g. 'L** T** M**' "
                         "(first letter of each word, then two stars); an unmasked name is refused")
    return value


class IdHashRefused(ValueError):
    """The id_hash is not this server's keyed hash; the message says what to do."""


def check_id_hash_shape(value: str) -> str:
    """The keyed hash's shape (the key itself is checked by :class:`IdHashVerifier`), or IdHashRefused."""
    if not cccd.ID_HASH_SHAPE.fullmatch(value):
        raise IdHashRefused(
            "id_hash must be the kiosk's keyed hash 'v1.<key id>.<64 hex>.<16 hex>'; a raw ID number or a "
            "plain SHA-256 of one is refused (it can be reversed by trying every number)")
    return value


@dataclass(frozen=True)
class IdHashVerifier:
    """Checks a kiosk's ``id_hash`` against the site's ID key and returns what is stored: the
    64-hex HMAC digest. The raw ID never reaches the server, so it is never stored."""

    key: bytes

    @property
    def key_id(self) -> str:
        return cccd.id_key_id(self.key)

    def verify(self, value: str) -> str:
        key_id, digest, tag = cccd.ID_HASH_SHAPE.fullmatch(check_id_hash_shape(value)).group("key_id", "digest", "tag")
        if key_id != self.key_id:
            raise IdHashRefused(f"id_hash was made with another key (key id {key_id}); this server's ID key is "
                                f"{self.key_id}: give the kiosk the same MOTCUA_KIOSK_ID_KEY, or none")
        if not hmac.compare_digest(tag, cccd.id_hash_tag(digest, self.key)):
            raise IdHashRefused("id_hash does not carry this site's key tag; it was not made by a kiosk of this site")
        return digest


def derive_id_key(secret_key: str) -> str:
    """The site's CCCD hashing key when ``MOTCUA_KIOSK_ID_KEY`` is not set: derived from the
    server's secret key, so it is stable across restarts and never equal to the secret itself."""
    return hmac.new(secret_key.encode(), b"motcua kiosk id-hash key v1", hashlib.sha256).hexdigest()
