"""The hall's voice: a chime, then "Mời số A, không hai ba, đến quầy số ba." for every call.

`Announcer.handle_call(payload)` takes the `calls` MQTT payload
(`{"v":1,"at","seq","ticket","counter","label","service","recall"}`) from whoever
subscribes (this module imports no MQTT), decides whether it should be spoken, and
queues it. One worker thread speaks the queue in order; a clip is never cut off.

Which events are spoken:

* `seq` is strictly increasing per site and persisted on the server, so a server
  restart continues it. An event whose `seq` is <= the last one accepted is a
  redelivery (QoS 1 after a reconnect) or a late straggler: dropped. The one
  exception is a *sequence reset* (site database restored or re-created): a lower
  `seq` whose `at` is later than the last accepted event's `at` cannot be a
  redelivery, so it is accepted, logged, and the new sequence followed.
  A recall is its own event with its own `seq`, so it is spoken again.
* An event older than `max_age_s` (by its `at`) is dropped, at arrival and again
  just before it is spoken: if 30 calls pile up the hall should not hear ten
  minutes of numbers that are long gone.
* In quiet hours (site local time, Asia/Ho_Chi_Minh) nothing is spoken.
* At most `max_pending` wait; beyond that the oldest waiting one is dropped.

How it is spoken: a chime, then the sentence; a recall is said `recall_repeats` times (the
citizen who missed it the first time hears it again); the service's name is said when the site
asks (`say_service`, names from `service_names`); the volume follows `volume_schedule` by time of
day. With phrase packs (:mod:`counter.voice_phrases`) a Vietnamese pack ("vi") replaces espeak-ng
for the calls it can say, and every other pack (a minority language) repeats the call after it.

Nothing happens at construction: `start()` checks espeak-ng and starts the worker,
`stop()` ends it.
"""

from __future__ import annotations

import enum
import json
import logging
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from counter.voice_audio import (
    ClipCache,
    EspeakSynth,
    PlayerError,
    SpeechEngineMissing,
    SynthesisError,
    VoiceError,
    chime_wav,
    scale_wav,
)
from counter.voice_phrases import PhrasePack
from counter.voice_players import Player, SimPlayer, make_player
from counter.voice_schedule import SITE_TIMEZONE, QuietHours, VolumeSchedule, site_timezone
from counter.voice_text import announcement_text

__all__ = [
    "Announcer", "Outcome", "QuietHours", "VoiceConfig", "VoiceError", "SpeechEngineMissing",
    "SynthesisError", "PlayerError", "SimPlayer", "announcement_text", "chime_wav", "make_player",
    "run_announcer",
]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class VoiceConfig:
    """Per-site announcer settings (passed down from the program's settings object)."""

    volume: int = 80  # 0–100, applied to the samples of chime and speech
    quiet_hours: str | None = None  # "22:00-06:00"
    timezone: str = SITE_TIMEZONE
    max_age_s: float = 60.0  # calls older than this are not spoken
    max_pending: int = 20
    chime: bool = True
    voice: str = "vi"
    speed: int = 140
    espeak: str = "espeak-ng"
    cache_size: int = 256
    player: str = "auto"
    device: str | None = None  # audio output (ALSA device / Pulse sink), None: the default
    say_service: bool = False  # "…, lĩnh vực Hộ tịch, đến quầy số ba"
    service_names: dict[str, str] | None = None  # service id → name said
    recall_repeats: int = 2  # a recall is said this many times
    volume_schedule: str | None = None  # "07:00=80,11:30=40,13:30=70" (site local time)
    phrase_packs: tuple[str, ...] = ()  # folders of recorded phrases; "vi" replaces espeak-ng


class Outcome(enum.StrEnum):
    """What handle_call did with an event (also counted in `Announcer.stats`)."""

    QUEUED = "queued"
    DUPLICATE = "duplicate"
    STALE = "stale"
    QUIET = "quiet"
    INVALID = "invalid"


@dataclass(frozen=True)
class _Call:
    seq: int
    at: datetime
    ticket: str
    counter: str | int
    recall: bool
    service: str | None = None


def _parse_call(payload: dict, zone: tzinfo) -> _Call:
    if not isinstance(payload, dict):
        raise ValueError("payload is not an object")
    if payload.get("v", 1) != 1:
        raise ValueError(f"unsupported message version {payload.get('v')!r}")
    seq = payload.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError(f"seq must be an integer, got {seq!r}")
    ticket = payload.get("ticket")
    if not isinstance(ticket, str) or not ticket.strip():
        raise ValueError(f"ticket must be a non-empty string, got {ticket!r}")
    counter = payload.get("label") or payload.get("counter")
    if counter in (None, "") or isinstance(counter, bool):
        raise ValueError("neither label nor counter is given")
    at = datetime.fromisoformat(str(payload.get("at")))
    if at.tzinfo is None:  # the server always sends an offset; be kind if it did not
        at = at.replace(tzinfo=zone)
    service = payload.get("service")
    return _Call(seq, at, ticket.strip(), counter, bool(payload.get("recall", False)),
                 service if isinstance(service, str) and service else None)


class Announcer:
    """Speaks calls one after another. See the module docstring for what is spoken."""

    def __init__(
        self,
        config: VoiceConfig | None = None,
        *,
        player: Player | None = None,
        synth: EspeakSynth | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config or VoiceConfig()
        self.player = player
        self.synth = synth or EspeakSynth(
            voice=self.config.voice, speed=self.config.speed, executable=self.config.espeak
        )
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.cache = ClipCache(self.config.cache_size)
        self.stats: dict[str, int] = {o.value: 0 for o in Outcome} | {
            "announced": 0, "dropped_stale": 0, "dropped_quiet": 0, "overflow": 0, "failed": 0,
        }
        self._zone = site_timezone(self.config.timezone)
        self._quiet = QuietHours.parse(self.config.quiet_hours) if self.config.quiet_hours else None
        self._volume = max(0, min(100, int(self.config.volume)))
        self._schedule = VolumeSchedule.parse(self.config.volume_schedule) if self.config.volume_schedule else None
        packs = [PhrasePack.load(folder) for folder in self.config.phrase_packs]
        self._pack_vi = next((p for p in packs if p.lang == "vi"), None)
        self._packs_other = [p for p in packs if p.lang != "vi"]
        self._pending: deque[_Call] = deque()
        self._busy = False
        self._stopping = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last_seq: int | None = None
        self._last_at: datetime | None = None
        self._last_error: str | None = None

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Check espeak-ng (SpeechEngineMissing says how; not fatal with a Vietnamese pack) and start."""
        if self._thread is not None:
            return
        try:
            self.synth.check()
        except SpeechEngineMissing as err:
            if self._pack_vi is None:
                raise
            log.warning("%s: only calls the recorded phrases can say will be spoken", err)
        if self.player is None:
            self.player = make_player(self.config.player, self.config.device)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="motcua-voice", daemon=True)
        self._thread.start()
        log.info("voice announcer started (volume %d, quiet hours %s)", self._volume, self.config.quiet_hours)

    def stop(self, timeout: float = 30.0) -> None:
        """Let the clip on air finish, drop what is still waiting, end the worker."""
        with self._cond:
            self._stopping = True
            if self._pending:
                log.info("voice announcer stopping: %d call(s) not spoken", len(self._pending))
                self._pending.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Announcer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is waiting or on air; False if `timeout` ran out first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout=timeout)

    # --- settings that may change while running ---------------------------------------

    @property
    def volume(self) -> int:
        return self._volume

    def set_volume(self, volume: int) -> None:
        self._volume = max(0, min(100, int(volume)))

    def volume_at(self, now: datetime | None = None) -> int:
        """The volume now: the schedule's for this time of day, else the set volume."""
        if self._schedule is None:
            return self._volume
        return self._schedule.at((now or self.clock()).astimezone(self._zone).time())

    def is_quiet(self, now: datetime | None = None) -> bool:
        if self._quiet is None:
            return False
        moment = (now or self.clock()).astimezone(self._zone)
        return self._quiet.contains(moment.time())

    # --- events ----------------------------------------------------------------------

    def handle_call(self, payload: dict) -> Outcome:
        """Accept one `calls` payload; never raises (it runs in a subscriber's callback)."""
        try:
            call = _parse_call(payload, self._zone)
        except (ValueError, TypeError) as err:
            log.warning("ignoring malformed call event %r: %s", payload, err)
            return self._count(Outcome.INVALID)
        with self._cond:
            if self._last_seq is not None and call.seq <= self._last_seq:
                if self._last_at is not None and call.at > self._last_at:
                    log.warning(
                        "call seq went back from %d to %d with a later time: "
                        "treating it as a sequence reset on the server", self._last_seq, call.seq,
                    )
                else:
                    log.debug("dropping repeated call seq %d (last %d)", call.seq, self._last_seq)
                    return self._count(Outcome.DUPLICATE)
            self._last_seq, self._last_at = call.seq, call.at
            now = self.clock()
            if self._is_stale(call, now):
                log.info("not announcing %s (seq %d): older than %gs", call.ticket, call.seq, self.config.max_age_s)
                return self._count(Outcome.STALE)
            if self.is_quiet(now):
                log.info("not announcing %s (seq %d): quiet hours", call.ticket, call.seq)
                return self._count(Outcome.QUIET)
            if len(self._pending) >= self.config.max_pending:
                dropped = self._pending.popleft()
                self.stats["overflow"] += 1
                log.warning("announcement queue full: dropping %s (seq %d)", dropped.ticket, dropped.seq)
            self._pending.append(call)
            self._cond.notify_all()
            return self._count(Outcome.QUEUED)

    def clip(self, text: str, volume: int | None = None) -> bytes:
        """The speech WAV for `text` at `volume` (default: current), from the cache if there."""
        volume = self._volume if volume is None else max(0, min(100, int(volume)))
        key = (text, volume)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        wav = scale_wav(self.synth.synthesize(text), volume / 100)
        self.cache.put(key, wav)
        return wav

    # --- worker ----------------------------------------------------------------------

    def _count(self, outcome: Outcome) -> Outcome:
        self.stats[outcome.value] += 1
        return outcome

    def _is_stale(self, call: _Call, now: datetime) -> bool:
        return (now - call.at).total_seconds() > self.config.max_age_s

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if self._stopping:
                    self._cond.notify_all()
                    return
                call = self._pending.popleft()
                self._busy = True
            try:
                self._announce(call)
            except Exception:  # the hall must keep hearing calls whatever one clip does
                log.exception("unexpected error announcing %s (seq %d)", call.ticket, call.seq)
                self.stats["failed"] += 1
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _announce(self, call: _Call) -> None:
        now = self.clock()
        if self._is_stale(call, now):  # waited too long behind others
            log.info("not announcing %s (seq %d): went stale while queued", call.ticket, call.seq)
            self.stats["dropped_stale"] += 1
            return
        if self.is_quiet(now):
            self.stats["dropped_quiet"] += 1
            return
        service = self._service_name(call.service) if self.config.say_service else None
        text = announcement_text(call.ticket, call.counter, call.recall, service)
        volume = self.volume_at(now)
        try:
            speech = self._speech(call, text, volume)  # before the chime: chime and words stay together
            extra = [scale_wav(w, volume / 100) for w in self._other_languages(call)]
            if self.config.chime:
                self.player.play(chime_wav(volume))
            for _ in range(max(1, self.config.recall_repeats) if call.recall else 1):
                self.player.play(speech)
                for clip in extra:
                    self.player.play(clip)
        except VoiceError as err:  # engine gone, one synthesis failed, or the player failed
            self._report(err, call)
            self.stats["failed"] += 1
            return
        self._last_error = None
        self.stats["announced"] += 1
        log.info("announced %s (seq %d): %s", call.ticket, call.seq, text)

    def _service_name(self, service: str | None) -> str | None:
        return (self.config.service_names or {}).get(service or "")

    def _speech(self, call: _Call, text: str, volume: int) -> bytes:
        """The Vietnamese sentence: from the recorded pack when it can say it all, else espeak-ng."""
        if self._pack_vi is not None:
            service = call.service if self.config.say_service else None
            wav = self._pack_vi.announcement(call.ticket, call.counter, call.recall, service)
            if wav is not None:
                return scale_wav(wav, volume / 100)
        return self.clip(text, volume)

    def _other_languages(self, call: _Call) -> list[bytes]:
        service = call.service if self.config.say_service else None
        clips = [p.announcement(call.ticket, call.counter, call.recall, service) for p in self._packs_other]
        return [c for c in clips if c is not None]

    def _report(self, err: VoiceError, call: _Call) -> None:
        """Log an error once while it keeps repeating, not once per call (no log flood)."""
        message = str(err)
        level = logging.DEBUG if message == self._last_error else logging.ERROR
        log.log(level, "could not announce %s (seq %d): %s", call.ticket, call.seq, message)
        self._last_error = message


def _json_lines(stream: Iterable[str]) -> Iterable[dict]:
    for line in stream:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as err:
            log.warning("ignoring a line that is not JSON: %s", err)


def run_announcer(
    config: VoiceConfig | None = None,
    *,
    events: Iterable[dict] | None = None,
    player: Player | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Entry point for the CLI: speak every event from `events`, then return an exit code.

    `events` defaults to JSON lines on stdin (one `calls` payload per line), which is
    handy on a site PC: `mosquitto_sub -t 'motcua/v1/site/calls' | motcua announce`.
    The MQTT subscriber can pass any iterable (e.g. a queue drained until shutdown).
    Returns 0 when the events end, 2 on a configuration problem (espeak-ng missing,
    no audio player), printing what to do on stderr rather than retrying forever.
    """
    config = config or VoiceConfig()
    try:
        announcer = Announcer(config, player=player)
        announcer.start()
    except (VoiceError, ValueError) as err:
        print(f"motcua voice: {err}", file=sys.stderr)
        return 2
    try:
        for payload in events if events is not None else _json_lines(sys.stdin):
            announcer.handle_call(payload)
            if stop is not None and stop.is_set():
                break
        announcer.wait_idle()
    except KeyboardInterrupt:
        pass
    finally:
        announcer.stop()
    return 0
