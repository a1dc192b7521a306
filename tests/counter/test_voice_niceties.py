"""Announcer niceties (service name, recall said twice, volume by time of day), recorded-phrase packs
(Vietnamese and a minority language dropped in a folder), the audio output device and cutting a clip."""

from __future__ import annotations

import shutil
import threading
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from counter.voice import Announcer, SimPlayer, VoiceConfig, announcement_text, chime_wav
from counter.voice_audio import concat_wavs, make_wav, read_wav, scale_wav, wav_duration
from counter.voice_phrases import PackError, PhrasePack, announcement_keys, build_pack, vietnamese_phrases
from counter.voice_players import CommandPlayer, device_argv
from counter.voice_schedule import VolumeSchedule

VN = timezone(timedelta(hours=7))
MORNING = datetime(2025, 3, 10, 9, 0, tzinfo=VN)
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")


def call(seq, ticket="A023", counter="3", *, recall=False, service="hotich", at=MORNING):
    return {"v": 1, "at": at.isoformat(), "seq": seq, "ticket": ticket, "counter": counter, "label": counter,
            "service": service, "recall": recall}


def tone(n: int, rate: int = 22050, channels: int = 1) -> bytes:
    """A distinct little clip per phrase (a constant level n*10), so joins can be checked exactly."""
    return make_wav((int(n * 10).to_bytes(2, "little", signed=True)) * (200 * channels), rate=rate, channels=channels)


def write_pack(folder: Path, keys) -> Path:
    folder.mkdir(parents=True)
    for i, key in enumerate(keys, start=1):
        (folder / f"{key}.wav").write_bytes(tone(i))
    return folder


class FixedClock:
    def __init__(self, now=MORNING):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def announce():
    made = []

    def make(clock=None, **config):
        player = SimPlayer()
        announcer = Announcer(VoiceConfig(**config), player=player, clock=clock or FixedClock())
        made.append(announcer)
        announcer.start()
        return announcer, player

    yield make
    for announcer in made:
        announcer.stop()


# ---- the service's name, recalls, volume by time of day -------------------------------------------
def test_the_service_name_is_said_only_when_the_site_asks():
    assert announcement_text("A023", "3", service="Hộ tịch") == "Mời số A, không hai ba, lĩnh vực Hộ tịch, đến quầy số ba."
    assert announcement_text("A023", "3", True, "Hộ tịch") == (
        "Nhắc lại: mời số A, không hai ba, lĩnh vực Hộ tịch, đến quầy số ba.")
    assert announcement_text("A023", "3") == "Mời số A, không hai ba, đến quầy số ba."


@needs_espeak
def test_announcer_says_the_service_name_on_request(announce):
    announcer, player = announce(say_service=True, service_names={"hotich": "Hộ tịch"})
    announcer.handle_call(call(1))
    assert player.wait_for(2) and announcer.wait_idle(60)
    assert player.played[1] == announcer.clip("Mời số A, không hai ba, lĩnh vực Hộ tịch, đến quầy số ba.")
    plain, plain_player = announce()
    plain.handle_call(call(1))
    assert plain_player.wait_for(2) and plain.wait_idle(60)
    assert plain_player.played[1] == plain.clip("Mời số A, không hai ba, đến quầy số ba.")


@needs_espeak
def test_a_recall_is_said_twice_after_one_chime(announce):
    announcer, player = announce()
    announcer.handle_call(call(1))
    announcer.handle_call(call(2, recall=True))
    assert player.wait_for(5) and announcer.wait_idle(60)
    recall = announcer.clip("Nhắc lại: mời số A, không hai ba, đến quầy số ba.")
    assert player.played[2:] == [chime_wav(80), recall, recall]
    once, once_player = announce(recall_repeats=1)
    once.handle_call(call(1, recall=True))
    assert once_player.wait_for(2) and once.wait_idle(60)
    assert len(once_player.played) == 2


def test_volume_schedule_by_time_of_day():
    schedule = VolumeSchedule.parse("07:00=80, 11:30=30, 13:30=70")
    assert schedule.at(time(6, 59)) == 70  # before the first step: yesterday's last one holds
    assert [schedule.at(time(h, m)) for h, m in ((7, 0), (11, 29), (11, 30), (13, 0), (18, 0))] == [80, 80, 30, 30, 70]
    for bad in ("", "7h=80", "07:00=120", "07:00=80,07:00=60", "07:00"):
        with pytest.raises(ValueError):
            VolumeSchedule.parse(bad)


@needs_espeak
def test_lunchtime_calls_are_quieter(announce):
    lunch = FixedClock(datetime(2025, 3, 10, 12, 0, tzinfo=VN))
    announcer, player = announce(clock=lunch, volume_schedule="07:00=80,11:30=30,13:30=70")
    announcer.handle_call(call(1, at=lunch.now))
    assert player.wait_for(2) and announcer.wait_idle(60)
    assert player.played[0] == chime_wav(30)
    assert player.played[1] == announcer.clip("Mời số A, không hai ba, đến quầy số ba.", 30)


# ---- recorded-phrase packs ----------------------------------------------------------------------
def test_keys_of_a_call_spell_the_ticket_and_prefer_a_recorded_counter_number():
    assert announcement_keys("A023", "Quầy 3") == [
        "moi_so", "letter_a", "pause", "digit_0", "digit_2", "digit_3", "pause", "den_quay_so", "number_3"]
    assert announcement_keys("B105", 12, recall=True, has=lambda k: k != "number_12")[-3:] == [
        "den_quay_so", "digit_1", "digit_2"]
    assert announcement_keys("A023", "Bàn tiếp nhận") is None  # no number a pack could say


def test_a_vietnamese_pack_replaces_the_synthesiser_for_what_it_can_say(tmp_path, announce):
    vi = write_pack(tmp_path / "vi", vietnamese_phrases(counters=20))
    pack = PhrasePack.load(vi)
    announcer, player = announce(phrase_packs=(str(vi),), espeak="no-such-espeak-needed")
    announcer.handle_call(call(1, counter="Quầy 3"))
    assert player.wait_for(2) and announcer.wait_idle(60)
    expected = scale_wav(pack.announcement("A023", "Quầy 3"), 0.8)
    assert player.played[1] == expected
    # the clips joined in order: "Mời số", "A", pause, "không", "hai", "ba", pause, "đến quầy số", "ba"
    _, frames = read_wav(pack.announcement("A023", "Quầy 3"))
    assert len(frames) // 2 == 200 * 7 + 2 * int(0.18 * 22050)


def test_a_minority_language_pack_repeats_the_call_after_the_vietnamese(tmp_path, announce):
    vi = write_pack(tmp_path / "vi", vietnamese_phrases(counters=20))
    muong = write_pack(tmp_path / "muong", ["moi_so", "den_quay_so", "letter_a",
                                             *(f"digit_{d}" for d in range(10))])
    announcer, player = announce(phrase_packs=(str(vi), str(muong)), espeak="no-such-espeak-needed")
    announcer.handle_call(call(1))
    assert player.wait_for(3) and announcer.wait_idle(60)
    assert player.played[2] == scale_wav(PhrasePack.load(muong).announcement("A023", "3"), 0.8)
    assert PhrasePack.load(muong).missing(["moi_so", "number_3", "pause"]) == ["number_3"]


@needs_espeak
def test_a_call_the_pack_cannot_say_falls_back_to_espeak(tmp_path, announce):
    vi = write_pack(tmp_path / "vi", ["moi_so", "den_quay_so"])  # no digits recorded yet
    announcer, player = announce(phrase_packs=(str(vi),))
    announcer.handle_call(call(1))
    assert player.wait_for(2) and announcer.wait_idle(60)
    assert player.played[1] == announcer.clip("Mời số A, không hai ba, đến quầy số ba.")


def test_bad_packs_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(PackError, match="is not a folder"):
        PhrasePack.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PackError, match="has no .wav files"):
        PhrasePack.load(tmp_path / "empty")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "moi_so.wav").write_bytes(b"not a wav at all")
    with pytest.raises(PackError, match="moi_so.wav is not a 16-bit PCM WAV"):
        PhrasePack.load(bad)


def test_clips_of_any_rate_and_channels_are_joined_at_one_rate():
    joined = concat_wavs([tone(1, 44100, 2), tone(2, 22050, 1)])
    params, _ = read_wav(joined)
    assert (params.framerate, params.nchannels) == (22050, 1)
    assert wav_duration(joined) == pytest.approx(200 / 44100 + 200 / 22050, abs=2 / 22050)


@needs_espeak
def test_a_built_pack_has_every_phrase_trimmed(tmp_path):
    from counter.voice_audio import EspeakSynth

    count = build_pack(EspeakSynth().synthesize, tmp_path / "vi", {"moi_so": "Mời số", "digit_3": "ba"})
    pack = PhrasePack.load(tmp_path / "vi")
    assert count == 2 and set(pack.clips) == {"moi_so", "digit_3"}
    assert wav_duration(pack.clips["digit_3"]) < wav_duration(EspeakSynth().synthesize("ba"))


# ---- output device, cutting a clip ----------------------------------------------------------------
def test_the_output_device_goes_to_the_player():
    assert device_argv("aplay", "plughw:1,0") == ["aplay", "-q", "-D", "plughw:1,0"]
    assert device_argv("paplay", "alsa_output.usb-headset") == ["paplay", "--device=alsa_output.usb-headset"]
    assert device_argv("aplay", None) == ["aplay", "-q"]


def test_a_cancelled_clip_stops_its_player_process(tmp_path):
    marker = tmp_path / "finished"
    player = CommandPlayer(["sh", "-c", f"sleep 30; touch {marker}", "player"])
    cancel = threading.Event()
    worker = threading.Thread(target=player.play, args=(tone(1), cancel))
    worker.start()
    cancel.set()
    worker.join(20)
    assert not worker.is_alive() and not marker.exists()


# ---- the command line ----------------------------------------------------------------------------------
def test_announcer_settings_errors_are_one_line_and_voice_pack_writes_a_pack(tmp_path):
    import typer
    from typer.testing import CliRunner

    from counter.cli import register

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    base = ["announcer", "--mqtt", "mqtt://announcer:pw@127.0.0.1:1", "--player", "null"]
    bad = runner.invoke(app, [*base, "--volume-schedule", "7h=80"])
    assert bad.exit_code == 2 and "volume schedule must look like '07:00=80,11:30=40'" in bad.output
    bad = runner.invoke(app, [*base, "--phrases", str(tmp_path / "nowhere")])
    assert bad.exit_code == 2 and "is not a folder" in bad.output
    if shutil.which("espeak-ng"):
        made = runner.invoke(app, ["voice-pack", "--out", str(tmp_path / "vi"), "--counters", "3"])
        assert made.exit_code == 0, made.output
        pack = PhrasePack.load(tmp_path / "vi")
        assert not pack.missing(announcement_keys("A023", "Quầy 3", has=pack.__contains__))
