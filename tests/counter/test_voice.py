"""The voice announcer: exact texts, real espeak-ng audio through the sim player, and the
queue rules (duplicates, stale calls, quiet hours, volume). No sleeps: events and joins."""

from __future__ import annotations

import array
import io
import math
import shutil
import sys
import threading
import wave
from datetime import datetime, timedelta, timezone

import pytest

from counter.voice import (
    Announcer,
    Outcome,
    QuietHours,
    SimPlayer,
    SpeechEngineMissing,
    VoiceConfig,
    announcement_text,
    chime_wav,
    run_announcer,
)
from counter.voice_audio import EspeakSynth, PlayerError
from counter.voice_text import number_text, place_text, ticket_text

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

VN = timezone(timedelta(hours=7))
NOON = datetime(2025, 3, 10, 10, 0, tzinfo=VN)  # a Monday morning in the hall
TIMEOUT = 60.0


def rms_and_duration(wav: bytes) -> tuple[float, float]:
    """Independent of the code under test: wave + array, no audioop."""
    with wave.open(io.BytesIO(wav), "rb") as w:
        assert w.getsampwidth() == 2
        frames = w.readframes(w.getnframes())
        rate, channels = w.getframerate(), w.getnchannels()
    pcm = array.array("h")
    pcm.frombytes(frames)
    if sys.byteorder == "big":
        pcm.byteswap()
    rms = math.sqrt(sum(s * s for s in pcm) / len(pcm)) if pcm else 0.0
    return rms, len(pcm) / (rate * channels)


def call(seq: int, ticket: str, counter: str, *, recall: bool = False, at: datetime = NOON) -> dict:
    return {
        "v": 1, "at": at.isoformat(), "seq": seq, "ticket": ticket, "counter": counter,
        "label": counter, "service": ticket[0], "recall": recall,
    }


class Clock:
    """A settable clock, so "stale" and "quiet" are decided without waiting."""

    def __init__(self, now: datetime = NOON) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_announcer(clock):
    started: list[Announcer] = []

    def make(player: SimPlayer | None = None, **config) -> Announcer:
        announcer = Announcer(VoiceConfig(**config), player=player or SimPlayer(), clock=clock)
        started.append(announcer)
        return announcer

    yield make
    for announcer in started:
        if announcer.player is not None and getattr(announcer.player, "gate", None) is not None:
            announcer.player.gate.set()
        announcer.stop()


# --- the words -----------------------------------------------------------------------


def test_call_and_recall_texts_are_exact():
    assert announcement_text("A023", "3", False) == "Mời số A, không hai ba, đến quầy số ba."
    assert announcement_text("A023", "3", True) == "Nhắc lại: mời số A, không hai ba, đến quầy số ba."
    assert announcement_text("B105", 12, False) == "Mời số B, một không năm, đến quầy số mười hai."


@pytest.mark.parametrize("label", ["3", 3, "Quầy 3", "quầy số 3", "QUẦY SỐ 3", "Quay 3", " Quầy  3 "])
def test_counter_labels_never_double_the_word_quay(label):
    text = announcement_text("A023", label, False)
    assert text == "Mời số A, không hai ba, đến quầy số ba."


def test_other_counter_labels_are_said_as_written():
    assert place_text("Quầy tiếp nhận") == "quầy tiếp nhận"
    assert place_text("Bàn 2") == "Bàn hai"


@pytest.mark.parametrize(
    ("n", "words"),
    [(0, "không"), (3, "ba"), (10, "mười"), (11, "mười một"), (15, "mười lăm"), (20, "hai mươi"),
     (21, "hai mươi mốt"), (24, "hai mươi bốn"), (35, "ba mươi lăm"), (99, "chín mươi chín"),
     (105, "một không năm")],
)
def test_counter_numbers_are_read_as_numbers(n, words):
    assert number_text(n) == words


def test_ticket_digits_are_read_one_by_one_with_leading_zeros():
    assert ticket_text("A023") == "A, không hai ba"
    assert ticket_text("a100") == "A, một không không"
    assert ticket_text("AB-012") == "A B, không một hai"
    assert ticket_text("007") == "không không bảy"


# --- audio through the queue ----------------------------------------------------------


@needs_espeak
def test_calls_and_a_recall_play_chime_then_speech_in_order(make_announcer):
    sim = SimPlayer()
    announcer = make_announcer(sim, volume=100, recall_repeats=1)  # twice is tested with the niceties
    announcer.start()
    outcomes = [
        announcer.handle_call(call(1, "A023", "3")),
        announcer.handle_call(call(2, "A024", "1")),
        announcer.handle_call(call(3, "A023", "3", recall=True)),
    ]
    assert outcomes == [Outcome.QUEUED] * 3
    assert announcer.wait_idle(TIMEOUT)

    assert len(sim.played) == 6
    chime = chime_wav(100)
    assert sim.played[0::2] == [chime, chime, chime]
    speeches = sim.played[1::2]
    expected = [
        announcement_text("A023", "3", False),
        announcement_text("A024", "1", False),
        announcement_text("A023", "3", True),
    ]
    assert speeches == [announcer.clip(text) for text in expected]  # the right clip, in order
    assert len(set(speeches)) == 3
    for speech in speeches:
        rms, seconds = rms_and_duration(speech)
        assert rms > 500, "speech is (nearly) silent"
        assert seconds > 0.5
    assert announcer.stats["announced"] == 3


@needs_espeak
def test_a_new_call_never_cuts_off_the_one_on_air(make_announcer):
    gate = threading.Event()
    sim = SimPlayer(gate=gate)
    announcer = make_announcer(sim)
    announcer.start()
    announcer.handle_call(call(1, "A023", "3"))
    assert sim.playing.wait(TIMEOUT)  # the chime of A023 is on air, held by the gate
    announcer.handle_call(call(2, "A024", "1"))
    assert sim.played == []  # nothing finished, nothing interrupted
    gate.set()
    assert announcer.wait_idle(TIMEOUT)
    assert sim.played == [
        chime_wav(80), announcer.clip(announcement_text("A023", "3")),
        chime_wav(80), announcer.clip(announcement_text("A024", "1")),
    ]


@needs_espeak
def test_the_same_event_twice_is_announced_once(make_announcer):
    sim = SimPlayer()
    announcer = make_announcer(sim)
    announcer.start()
    event = call(7, "A023", "3")
    assert announcer.handle_call(event) == Outcome.QUEUED
    assert announcer.handle_call(dict(event)) == Outcome.DUPLICATE  # redelivered after reconnect
    older = call(6, "A022", "2", at=NOON - timedelta(seconds=5))
    assert announcer.handle_call(older) == Outcome.DUPLICATE  # late straggler
    assert announcer.wait_idle(TIMEOUT)
    assert len(sim.played) == 2


@needs_espeak
def test_a_server_sequence_reset_is_followed_not_ignored(make_announcer, clock):
    announcer = make_announcer()
    assert announcer.handle_call(call(500, "A023", "3")) == Outcome.QUEUED
    # the site database was re-created: seq starts again, but the event is newer
    later = NOON + timedelta(seconds=30)
    clock.now = later
    assert announcer.handle_call(call(1, "A001", "1", at=later)) == Outcome.QUEUED
    assert announcer.handle_call(call(1, "A001", "1", at=later)) == Outcome.DUPLICATE


def test_a_stale_event_is_dropped(make_announcer, clock):
    sim = SimPlayer()
    announcer = make_announcer(sim, max_age_s=60)
    announcer.start()
    old = call(1, "A023", "3", at=clock.now - timedelta(seconds=120))
    assert announcer.handle_call(old) == Outcome.STALE
    assert announcer.wait_idle(TIMEOUT)
    assert sim.played == []
    assert announcer.stats["stale"] == 1


@needs_espeak
def test_a_call_that_goes_stale_while_waiting_is_dropped(make_announcer, clock):
    gate = threading.Event()
    sim = SimPlayer(gate=gate)
    announcer = make_announcer(sim, max_age_s=60)
    announcer.start()
    announcer.handle_call(call(1, "A023", "3"))
    assert sim.playing.wait(TIMEOUT)
    announcer.handle_call(call(2, "A024", "1"))
    clock.now = NOON + timedelta(minutes=5)  # the first announcement took "forever"
    gate.set()
    assert announcer.wait_idle(TIMEOUT)
    assert len(sim.played) == 2  # only A023's chime and speech
    assert announcer.stats["dropped_stale"] == 1


@needs_espeak
def test_a_full_queue_drops_the_oldest_waiting_call(make_announcer):
    gate = threading.Event()
    sim = SimPlayer(gate=gate)
    announcer = make_announcer(sim, max_pending=2)
    announcer.start()
    announcer.handle_call(call(1, "A001", "1"))
    assert sim.playing.wait(TIMEOUT)  # A001 on air
    for seq, ticket in [(2, "A002"), (3, "A003"), (4, "A004")]:
        assert announcer.handle_call(call(seq, ticket, "1")) == Outcome.QUEUED
    gate.set()
    assert announcer.wait_idle(TIMEOUT)
    speeches = sim.played[1::2]
    assert speeches == [announcer.clip(announcement_text(t, "1")) for t in ("A001", "A003", "A004")]
    assert announcer.stats["overflow"] == 1


def test_quiet_hours_silence_announcements(make_announcer, clock):
    sim = SimPlayer()
    announcer = make_announcer(sim, quiet_hours="22:00-06:00")
    announcer.start()
    night = datetime(2025, 3, 10, 23, 30, tzinfo=VN).astimezone(timezone.utc)  # 16:30 UTC
    clock.now = night
    assert announcer.handle_call(call(1, "A023", "3", at=night)) == Outcome.QUIET
    assert announcer.wait_idle(TIMEOUT)
    assert sim.played == []
    assert announcer.is_quiet(datetime(2025, 3, 11, 5, 59, tzinfo=VN))
    assert not announcer.is_quiet(datetime(2025, 3, 11, 6, 0, tzinfo=VN))
    assert not announcer.is_quiet(datetime(2025, 3, 10, 14, 59, 59, tzinfo=timezone.utc))  # 21:59:59
    assert announcer.is_quiet(datetime(2025, 3, 10, 15, 0, tzinfo=timezone.utc))  # 22:00 in Hà Nội


def test_quiet_hours_windows():
    overnight = QuietHours.parse("22:00-06:00")
    assert overnight.contains(datetime(2025, 1, 1, 23).time())
    assert overnight.contains(datetime(2025, 1, 1, 0, 30).time())
    assert not overnight.contains(datetime(2025, 1, 1, 12).time())
    lunch = QuietHours.parse("11:30-13:30")
    assert lunch.contains(datetime(2025, 1, 1, 12).time())
    assert not lunch.contains(datetime(2025, 1, 1, 14).time())
    with pytest.raises(ValueError, match="22:00-06:00"):
        QuietHours.parse("late")


@needs_espeak
def test_volume_scales_speech_and_chime(make_announcer):
    announcer = make_announcer()
    text = announcement_text("A023", "3")
    loud, _ = rms_and_duration(announcer.clip(text, 100))
    soft, _ = rms_and_duration(announcer.clip(text, 30))
    silent, _ = rms_and_duration(announcer.clip(text, 0))
    assert silent == 0
    assert loud > 500
    assert soft == pytest.approx(0.3 * loud, rel=0.02)
    assert rms_and_duration(chime_wav(0))[0] == 0
    assert rms_and_duration(chime_wav(100))[0] > 2 * rms_and_duration(chime_wav(40))[0]


@needs_espeak
def test_clips_are_cached_by_text_and_volume(make_announcer):
    synthesized: list[str] = []

    class CountingSynth(EspeakSynth):
        def synthesize(self, text: str) -> bytes:
            synthesized.append(text)
            return super().synthesize(text)

    announcer = Announcer(VoiceConfig(), player=SimPlayer(), synth=CountingSynth())
    text = announcement_text("A023", "3", True)
    first = announcer.clip(text)
    assert announcer.clip(text) is first
    announcer.clip(text, volume=50)
    assert synthesized == [text, text]


@needs_espeak
def test_a_failing_player_does_not_stop_the_announcer(make_announcer):
    class UnpluggedOnce(SimPlayer):
        failures = 1

        def play(self, wav: bytes) -> None:
            if self.failures:
                self.failures -= 1
                raise PlayerError("speaker unplugged")
            super().play(wav)

    player = UnpluggedOnce()
    announcer = make_announcer(player)
    announcer.start()
    announcer.handle_call(call(1, "A023", "3"))
    announcer.handle_call(call(2, "A024", "1"))
    assert announcer.wait_idle(TIMEOUT)
    assert player.played == [chime_wav(80), announcer.clip(announcement_text("A024", "1"))]
    assert announcer.stats["failed"] == 1 and announcer.stats["announced"] == 1


def test_construction_starts_nothing():
    calls: list[str] = []

    class SpySynth(EspeakSynth):
        def check(self) -> None:
            calls.append("check")

        def synthesize(self, text: str) -> bytes:
            calls.append(text)
            return b""

    before = threading.active_count()
    announcer = Announcer(VoiceConfig(quiet_hours="22:00-06:00"), synth=SpySynth())
    assert threading.active_count() == before
    assert calls == [] and announcer.player is None


def test_missing_espeak_says_how_to_install_it(capsys):
    synth = EspeakSynth(executable="espeak-ng-is-not-here")
    with pytest.raises(SpeechEngineMissing, match="apt-get install espeak-ng"):
        synth.check()
    announcer = Announcer(VoiceConfig(), player=SimPlayer(), synth=synth)
    with pytest.raises(SpeechEngineMissing):
        announcer.start()
    assert announcer._thread is None  # no worker spinning on a missing engine

    code = run_announcer(VoiceConfig(espeak="espeak-ng-is-not-here"), events=[], player=SimPlayer())
    assert code == 2
    assert "apt-get install espeak-ng" in capsys.readouterr().err


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"v": 2, "seq": 1, "at": NOON.isoformat(), "ticket": "A1", "counter": "1"},
     {"v": 1, "seq": "1", "at": NOON.isoformat(), "ticket": "A1", "counter": "1"},
     {"v": 1, "seq": 1, "at": "yesterday", "ticket": "A1", "counter": "1"},
     {"v": 1, "seq": 1, "at": NOON.isoformat(), "ticket": "", "counter": "1"},
     {"v": 1, "seq": 1, "at": NOON.isoformat(), "ticket": "A1"}],
)
def test_malformed_events_are_ignored_not_raised(make_announcer, payload):
    assert make_announcer().handle_call(payload) == Outcome.INVALID


@needs_espeak
def test_run_announcer_speaks_events_and_returns():
    sim = SimPlayer()
    now = datetime.now(timezone.utc)
    events = [call(1, "A023", "3", at=now), call(1, "A023", "3", at=now), call(2, "B001", "Quầy 2", at=now)]
    assert run_announcer(VoiceConfig(volume=60), events=events, player=sim) == 0
    assert len(sim.played) == 4
    assert sim.played[0] == chime_wav(60)
