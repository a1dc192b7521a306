"""An independent check of what a public page shows: an ID-like digit run or the applicant's name.

Written apart from ``server.privacy`` (regular expressions over a folded copy, not its scanner),
so a test compares two readings of the same rule:

* a run is 9+ digits (any Unicode digit) with at most 3 separators (spaces, dots, commas, dashes,
  slashes, brackets, ``+``, invisible format characters) between two digits;
* a name leak is the full name (any case, with or without diacritics, words joined by up to 3
  non-letters or none), a name word of 4+ letters anywhere, or a shorter name word as a word
  (one-letter words excepted: "Vàng A Páo" masks to "V** A** P**", initials are what masks show).
"""

from __future__ import annotations

import re
import unicodedata

_SEP = r"[\s.,\-_/()+·'\"\u00ad\u200b-\u200f\u2060\ufeff\u2010-\u2015\u2212]"
_RUN = re.compile(rf"\d(?:{_SEP}{{0,3}}\d){{8,}}")


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.digit(c)) if unicodedata.digit(c, None) is not None else c for c in text)


def id_runs(text: str) -> list[str]:
    return _RUN.findall(_plain(text))


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).replace("đ", "d").replace("Đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _words(text: str) -> list[str]:
    """Words of ``text``, split at non-letters and at lowerUpper seams ("anhAn" → anh, An)."""
    words = []
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))  # marks join
    for piece in re.findall(r"[^\W\d_]+", bare):
        start = 0
        for i in range(1, len(piece)):
            if piece[i - 1].islower() and piece[i].isupper():
                words.append(piece[start:i])
                start = i
        words.append(piece[start:])
    return words


def name_leaks(text: str, name: str) -> list[str]:
    parts = [p for p in re.split(r"[\W\d_]+", fold(name)) if p]
    folded = fold(text)
    found = []
    if len(parts) > 1 and re.search(r"[\W_]{0,3}".join(map(re.escape, parts)), folded):
        found.append(name)
    words = {fold(w) for w in _words(text)}
    for part in (p for p in parts if len(p) > 1):  # a one-letter word is its own initial, which masks show
        if (len(part) >= 4 and part in folded) or part in words:
            found.append(part)
    return found


def digits_only(text: str) -> str:
    return "".join(c for c in _plain(text) if c.isdigit())
