"""Recorded-phrase packs: an announcement said by joining short WAV clips, one per word.

A pack is a folder of WAV files named by *key* (``moi_so.wav``, ``digit_3.wav``…); a site may
record them with a person's voice, in Vietnamese or in a minority language (Mường, Thái, H'Mông…),
and drop the folder next to the announcer (``motcua announcer --phrases /etc/motcua/phrases/muong``).
Any sample rate, mono or stereo, 16-bit PCM. The folder's name is the pack's language.

The keys of one call, in order (``announcement_keys``)::

    [nhac_lai]  moi_so  letter_a  digit_0 digit_2 digit_3  [service_<id>]  den_quay_so  number_3

``nhac_lai`` ("Nhắc lại") only for a recall; ``service_<id>`` only when the site asks the service to be
said and the pack has it; the counter is ``number_<n>`` when the pack has it, else digit by digit.
A pack that lacks a key it needs cannot say that call: the announcer then uses the synthesiser.
``motcua voice-pack --out DIR`` writes a complete Vietnamese pack from espeak-ng, to start from.
"""

from __future__ import annotations

import logging
import re
import wave
from collections.abc import Callable, Iterable
from pathlib import Path

from counter.voice_audio import SAMPLE_RATE, concat_wavs, read_wav, silence_wav, trim_silence
from counter.voice_text import DIGIT_WORDS, number_text

log = logging.getLogger(__name__)

PAUSE = "pause"  # not a file: a short silence between the parts
PAUSE_S = 0.18
PHRASES_VI = {"moi_so": "Mời số", "nhac_lai": "Nhắc lại", "den_quay_so": "đến quầy số"}
_KEY = re.compile(r"^[a-z0-9_]+$")
_COUNTER = re.compile(r"^\s*(?:qu[aầ]y\s*(?:s[oố]\s*)?)?(\d+)\s*\.?\s*$", re.IGNORECASE)


class PackError(ValueError):
    """A pack folder that cannot be used (missing, empty, or a file that is not 16-bit PCM WAV)."""


def counter_number(counter: str | int) -> int | None:
    """3, '3', 'Quầy 3', 'quầy số 3' → 3; a label without a number ('Bàn tiếp nhận') → None."""
    if isinstance(counter, bool):
        return None
    if isinstance(counter, int):
        return counter
    match = _COUNTER.match(str(counter))
    return int(match.group(1)) if match else None


def announcement_keys(ticket: str, counter: str | int, recall: bool = False, service: str | None = None,
                      has: Callable[[str], bool] = lambda _k: True) -> list[str] | None:
    """The clip keys of one call, or None when the counter has no number a pack could say."""
    number = counter_number(counter)
    if number is None or number < 0:
        return None
    keys = ["nhac_lai", PAUSE] if recall else []
    keys.append("moi_so")
    for ch in ticket:
        if ch.isdigit():
            keys.append(f"digit_{ch}")
        elif ch.isalpha() and ch.isascii():
            keys += [f"letter_{ch.lower()}", PAUSE]
    keys.append(PAUSE)
    if service and has(f"service_{service}"):
        keys += [f"service_{service}", PAUSE]
    keys.append("den_quay_so")
    keys += [f"number_{number}"] if has(f"number_{number}") else [f"digit_{d}" for d in str(number)]
    return keys


class PhrasePack:
    """The clips of one folder, kept in memory (a few hundred KB). ``render`` joins them."""

    def __init__(self, lang: str, clips: dict[str, bytes], rate: int = SAMPLE_RATE) -> None:
        self.lang = lang
        self.clips = clips
        self.rate = rate

    @classmethod
    def load(cls, folder: str | Path) -> PhrasePack:
        root = Path(folder)
        if not root.is_dir():
            raise PackError(f"phrase pack {root} is not a folder")
        clips: dict[str, bytes] = {}
        for path in sorted(root.glob("*.wav")):
            key = path.stem.lower()
            if not _KEY.match(key):
                log.warning("phrase pack %s: ignoring %s (names are a-z, 0-9 and _)", root, path.name)
                continue
            data = path.read_bytes()
            try:
                read_wav(data)
            except (wave.Error, ValueError, EOFError) as err:
                raise PackError(f"phrase pack {root}: {path.name} is not a 16-bit PCM WAV ({err})") from err
            clips[key] = data
        if not clips:
            raise PackError(f"phrase pack {root} has no .wav files")
        return cls(root.name, clips)

    def __contains__(self, key: str) -> bool:
        return key == PAUSE or key in self.clips

    def missing(self, keys: Iterable[str]) -> list[str]:
        return [k for k in keys if k not in self]

    def render(self, keys: list[str]) -> bytes | None:
        """One WAV of the clips in order; None if any clip is missing (the caller falls back)."""
        if self.missing(keys):
            return None
        pause = silence_wav(PAUSE_S, self.rate)
        return concat_wavs([pause if k == PAUSE else self.clips[k] for k in keys], self.rate)

    def announcement(self, ticket: str, counter: str | int, recall: bool = False,
                     service: str | None = None) -> bytes | None:
        keys = announcement_keys(ticket, counter, recall, service, has=self.__contains__)
        return None if keys is None else self.render(keys)


def vietnamese_phrases(counters: int = 99) -> dict[str, str]:
    """Every key of a complete Vietnamese pack and the words its clip says."""
    phrases = dict(PHRASES_VI)
    phrases.update({f"digit_{d}": word for d, word in enumerate(DIGIT_WORDS)})
    phrases.update({f"letter_{c}": c.upper() for c in "abcdefghijklmnopqrstuvwxyz"})
    phrases.update({f"number_{n}": number_text(n) for n in range(1, counters + 1)})
    return phrases


def build_pack(synthesize: Callable[[str], bytes], folder: str | Path,
               phrases: dict[str, str] | None = None) -> int:
    """Write one WAV per phrase into `folder` with `synthesize` (text → WAV); returns the count."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    phrases = vietnamese_phrases() if phrases is None else phrases
    for key, words in phrases.items():
        (root / f"{key}.wav").write_bytes(trim_silence(synthesize(words)))
    return len(phrases)
