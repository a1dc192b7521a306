"""What the hall hears: the Vietnamese sentence spoken for a call or a recall.

Pure functions, no I/O, so tests pin the exact text and the synthesiser only ever
sees words we chose (not raw "A023", which a TTS engine may read as "A hai mươi ba"
one day and "A không hai mươi ba" the next).

Reading rules, chosen for a hall with echo and an elderly, mixed-dialect audience:

* The ticket is a *code*, printed as "A023": letters are kept as letters (the voice
  spells them by their Vietnamese names: "A", "bê", "xê" …), then a comma-pause, then
  every digit on its own — "A, không hai ba". Digit by digit matches what the citizen
  reads on the paper, keeps the leading zero, avoids the dialect-dependent number
  forms ("mốt"/"một", "tư"/"bốn", "linh"/"lẻ", "lăm"/"năm") and survives echo better:
  each syllable is short and distinct and none carries another's meaning.
* The counter is a *place* with a small number painted on a sign, so it is read as a
  number — "quầy số ba", "quầy số mười hai" — the way people say it. Numbers above
  99 (never seen on a counter sign) fall back to digit by digit.
* Commas give the voice a short pause between the parts, which keeps them apart
  when the hall rings.
"""

from __future__ import annotations

import re

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

CALL_TEMPLATE = "Mời số {ticket}, {service}đến {place}."
RECALL_TEMPLATE = "Nhắc lại: mời số {ticket}, {service}đến {place}."

_COUNTER_LABEL = re.compile(r"^\s*(?:qu[aầ]y)\s*(?:s[oố]\s*)?(\d+)\s*\.?\s*$", re.IGNORECASE)
_STARTS_WITH_COUNTER = re.compile(r"^\s*qu[aầ]y\b", re.IGNORECASE)
_RUNS = re.compile(r"\d+|[^\W\d_]+")


def digits_text(digits: str) -> str:
    """'023' -> 'không hai ba' (each digit on its own)."""
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def number_text(n: int) -> str:
    """A counter number as people say it: 3 -> 'ba', 15 -> 'mười lăm', 21 -> 'hai mươi mốt'.

    Only 0–99 are read as numbers; larger ones are read digit by digit.
    """
    if n < 0:
        raise ValueError(f"negative counter number: {n}")
    if n < 10:
        return DIGIT_WORDS[n]
    if n > 99:
        return digits_text(str(n))
    tens, units = divmod(n, 10)
    head = "mười" if tens == 1 else f"{DIGIT_WORDS[tens]} mươi"
    if units == 0:
        return head
    if units == 5:
        unit = "lăm"
    elif units == 1 and tens > 1:
        unit = "mốt"
    else:
        unit = DIGIT_WORDS[units]
    return f"{head} {unit}"


def ticket_text(ticket: str) -> str:
    """'A023' -> 'A, không hai ba'; 'AB012' -> 'A B, không một hai'; '023' -> 'không hai ba'.

    Letters are upper-cased and spaced so the voice spells them; any separator in the
    ticket (dash, space) is dropped.
    """
    parts = []
    for run in _RUNS.findall(ticket):
        if run.isdigit():
            parts.append(digits_text(run))
        else:
            parts.append(" ".join(run.upper()))
    if not parts:
        raise ValueError(f"ticket {ticket!r} has no letters or digits to read")
    return ", ".join(parts)


def place_text(counter: str | int) -> str:
    """Where to go, after 'đến': never 'quầy số Quầy 3'.

    3, '3', 'Quầy 3', 'quầy số 3', 'Quay 3' -> 'quầy số ba'.
    A label that starts with 'Quầy' but has no number ('Quầy tiếp nhận') is kept as
    written, lower-cased first letter: 'quầy tiếp nhận'.
    Any other label ('Bàn 2', 'Phòng một cửa') is said as written, its numbers read
    as numbers: 'Bàn hai'.
    """
    if isinstance(counter, bool):
        raise TypeError("counter must be a label or a number, not a bool")
    if isinstance(counter, int):
        return f"quầy số {number_text(counter)}"
    label = " ".join(str(counter).split())
    if not label:
        raise ValueError("empty counter label")
    if label.isdigit():
        return f"quầy số {number_text(int(label))}"
    match = _COUNTER_LABEL.match(label)
    if match:
        return f"quầy số {number_text(int(match.group(1)))}"
    spoken = re.sub(r"\d+", lambda m: number_text(int(m.group())), label)
    if _STARTS_WITH_COUNTER.match(spoken):
        spoken = "quầy" + spoken[len("quầy"):]
    return spoken


def announcement_text(ticket: str, counter: str | int, recall: bool = False, service: str | None = None) -> str:
    """The exact sentence spoken for a call or a recall; `service` (a name) is said when given.

    >>> announcement_text("A023", "3", False)
    'Mời số A, không hai ba, đến quầy số ba.'
    >>> announcement_text("A023", "Quầy 3", True)
    'Nhắc lại: mời số A, không hai ba, đến quầy số ba.'
    >>> announcement_text("A023", "3", service="Hộ tịch")
    'Mời số A, không hai ba, lĩnh vực Hộ tịch, đến quầy số ba.'
    """
    template = RECALL_TEMPLATE if recall else CALL_TEMPLATE
    said = f"lĩnh vực {' '.join(service.split())}, " if service and service.strip() else ""
    return template.format(ticket=ticket_text(ticket), service=said, place=place_text(counter))
