"""The kiosk's voice: screens and touched buttons read aloud, offline, one utterance at a time.

Synthesis is the hall announcer's own (:class:`counter.voice_audio.EspeakSynth`, espeak-ng
``-v vi``): one path for every voice of the site. What is said is chosen in
:mod:`kiosk.speech`; this module only turns lines into sound and keeps the queue:

* one worker thread plays one clip at a time, so two utterances never overlap;
* the *latest* request wins: ``say`` cuts the utterance on air (its player is cancelled), and
  replaces one still waiting; a request superseded while being synthesised is never played;
* ``silence`` cuts and drops everything (voice mode off, idle reset).

``events`` records ``(event, utterance id)`` — ``queued``, ``start``, ``end``, ``cut``,
``dropped`` — so tests can check the order without listening. ``first_audio`` maps an
utterance id to the ``clock()`` time its first sample was handed to the player.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from counter.voice_audio import ClipCache, EspeakSynth, VoiceError, concat_wavs, scale_wav, silence_wav
from counter.voice_players import Player

log = logging.getLogger(__name__)

PAUSE_S = 0.25  # between two lines of a screen


@dataclass
class _Utterance:
    id: int
    lines: tuple[str, ...]
    lang: str
    cancel: threading.Event = field(default_factory=threading.Event)


class KioskVoice:
    """``say(lines, lang)`` speaks; ``silence()`` stops. Start with ``start()``, end with ``close()``."""

    def __init__(self, player: Player, *, synths: dict[str, object] | None = None, volume: int = 100,
                 cache_size: int = 256, clock: Callable[[], float] = time.perf_counter) -> None:
        self.player = player
        self.synths = synths or {"vi": EspeakSynth(voice="vi"), "en": EspeakSynth(voice="en")}
        self.volume = max(0, min(100, int(volume)))
        self.cache = ClipCache(cache_size)
        self.clock = clock
        self.events: list[tuple[str, int]] = []
        self.spoken: list[tuple[str, ...]] = []  # the lines of every utterance that started playing
        self.requested: list[tuple[str, ...]] = []  # the lines of every ``say``, in order
        self.first_audio: dict[int, float] = {}
        self.asked_at: dict[int, float] = {}
        self._cond = threading.Condition()
        self._pending: _Utterance | None = None
        self._on_air: _Utterance | None = None
        self._next_id = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._failed_logged = False

    # ---- life cycle ---------------------------------------------------------------------------
    def start(self) -> KioskVoice:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-voice", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closing = True
            self._drop_pending()
            if self._on_air is not None:
                self._on_air.cancel.set()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ---- requests (from the UI thread) -----------------------------------------------------------
    def say(self, lines: Sequence[str], lang: str = "vi") -> int:
        """Speak `lines` now: what is on air is cut, what waits is replaced. Returns the utterance id."""
        lines = tuple(line for line in lines if line and line.strip())
        with self._cond:
            self._next_id += 1
            utterance = _Utterance(self._next_id, lines, lang)
            self.asked_at[utterance.id] = self.clock()
            self.requested.append(lines)
            self._drop_pending()
            if self._on_air is not None:
                self._on_air.cancel.set()
            self._pending = utterance
            self.events.append(("queued", utterance.id))
            self._cond.notify_all()
            return utterance.id

    def silence(self) -> None:
        with self._cond:
            self._drop_pending()
            if self._on_air is not None:
                self._on_air.cancel.set()
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and self._on_air is None, timeout=timeout)

    def _drop_pending(self) -> None:
        if self._pending is not None:
            self.events.append(("dropped", self._pending.id))
            self._pending = None

    # ---- the worker ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closing)
                if self._closing:
                    return
                utterance, self._pending = self._pending, None
                self._on_air = utterance  # a newer say() cancels it from here on, even mid-synthesis
            try:
                self._speak(utterance)
            except Exception:  # the voice is a courtesy: it never stops the kiosk
                log.exception("kiosk voice failed")
            finally:
                with self._cond:
                    self._on_air = None
                    self._cond.notify_all()

    def _speak(self, utterance: _Utterance) -> None:
        try:
            wav = self.render(utterance.lines, utterance.lang, utterance.cancel)
        except VoiceError as err:
            if not self._failed_logged:
                log.warning("kiosk voice: %s", err)
                self._failed_logged = True
            self.events.append(("failed", utterance.id))
            return
        if wav is None or utterance.cancel.is_set():
            self.events.append(("dropped", utterance.id))
            return
        self.events.append(("start", utterance.id))
        self.spoken.append(utterance.lines)
        self.first_audio[utterance.id] = self.clock()
        self.player.play(wav, utterance.cancel)
        self.events.append(("cut" if utterance.cancel.is_set() else "end", utterance.id))

    def render(self, lines: Sequence[str], lang: str = "vi", cancel: threading.Event | None = None) -> bytes | None:
        """The WAV of `lines` (each line cached), or None if cancelled half way."""
        synth = self.synths.get(lang) or self.synths["vi"]
        clips = []
        for line in lines:
            if cancel is not None and cancel.is_set():
                return None
            key = (f"{lang}|{line}", self.volume)
            clip = self.cache.get(key)
            if clip is None:
                clip = scale_wav(synth.synthesize(line), self.volume / 100)
                self.cache.put(key, clip)
            clips += [clip, silence_wav(PAUSE_S)]
        return concat_wavs(clips) if clips else None
