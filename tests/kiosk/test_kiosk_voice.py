"""Voice mode without a window: the reducer's rules, the narrator on a live site, the audio queue."""

from __future__ import annotations

import threading

import pytest

from counter.voice_audio import EspeakSynth, make_wav, read_wav, wav_duration
from counter.voice_players import SimPlayer
from kiosk import state as st
from kiosk.icons import DRAW, PRIORITY_ICONS, SERVICE_ICONS, icon_image
from kiosk.present import present
from kiosk.speech import Narrator
from kiosk.voice import KioskVoice

from .conftest import walk_to_priority


class ToneSynth:
    """A stand-in synthesiser for queue tests: a short clip per line (the order is what matters)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.lines: list[str] = []
        self.gate = gate

    def synthesize(self, text: str) -> bytes:
        if self.gate is not None:
            self.gate.wait(30)
        self.lines.append(text)
        return make_wav(b"\x10\x00" * 2205)


class RecordingVoice:
    def __init__(self) -> None:
        self.said: list[tuple[tuple[str, ...], str]] = []
        self.silenced = 0

    def say(self, lines, lang="vi"):
        self.said.append((tuple(lines), lang))
        return len(self.said)

    def silence(self):
        self.silenced += 1


# ---- reducer ------------------------------------------------------------------------------------
def test_focus_needs_voice_mode_and_is_forgotten_with_the_screen():
    s = st.home(0)
    assert st.reduce(s, st.Focus(("service", "hotich", None), 1)) == s  # voice off: nothing to focus
    s = st.reduce(s, st.SetVoice(True, 1))
    s = st.reduce(s, st.Focus(("service", "hotich", None), 2))
    assert s.focus == ("service", "hotich", None)
    s = st.reduce(s, st.ChooseService("hotich", "k-1", 3))
    assert s.screen == "identify" and s.focus is None and s.voice
    s = st.reduce(s, st.Focus(("nav", "continue"), 4))
    assert st.reduce(s, st.SetVoice(False, 5)).focus is None


def test_idle_reset_turns_voice_mode_off_but_the_home_button_keeps_it():
    timeouts = st.Timeouts(idle=60)
    s = st.reduce(st.home(0), st.SetVoice(True, 0), timeouts)
    assert st.reduce(s, st.Tick(59), timeouts).voice  # at home, voice on is not "at rest"
    assert st.reduce(s, st.Tick(60), timeouts) == st.home(60)  # …and an idle minute resets it
    s = st.reduce(s, st.ChooseService("hotich", "k-1", 1), timeouts)
    assert st.reduce(s, st.GoHome(2), timeouts).voice  # the citizen pressed "home": still listening
    assert not st.reduce(s, st.Tick(61), timeouts).voice


# ---- controller + narrator on a live site ---------------------------------------------------------
def test_touch_once_reads_twice_chooses_and_each_screen_is_read(make_vm, clock):
    vm = make_vm()
    voice = RecordingVoice()
    narrator = Narrator(vm, voice)
    vm.press(("service", "hotich", None))  # voice off: one touch chooses
    assert vm.state.screen == "identify" and voice.said == []
    vm.go_home()
    vm.toggle_voice()
    home = present(vm)
    assert voice.said[-1] == (home.spoken, "vi") and "Hộ tịch" in home.spoken
    vm.press(("service", "cutru", None))
    assert vm.state.screen == "home" and voice.said[-1] == (("Cư trú",), "vi")
    vm.press(("service", "hotich", None))  # another tile: read, not chosen
    assert vm.state.screen == "home" and voice.said[-1] == (("Hộ tịch",), "vi")
    vm.press(("service", "hotich", None))
    assert vm.state.screen == "identify" and vm.state.service == "hotich"
    assert voice.said[-1][0] == present(vm).spoken and voice.said[-1][0][0] == "Hộ tịch"
    vm.press(("nav", "language"))
    vm.press(("nav", "language"))
    assert vm.state.lang == "en" and voice.said[-1] == (present(vm).spoken, "en")
    vm.press(("nav", "continue"))
    vm.press(("nav", "continue"))
    vm.press(("priority", "infant"))
    assert vm.state.screen == "priority" and voice.said[-1] == (("With a child under 36 months",), "en")
    vm.press(("priority", "infant"))
    assert vm.state.screen == "ticket" and vm.state.ticket["priority"] == "infant"
    lines, lang = voice.said[-1]
    number = vm.state.ticket["number"]
    shown = narrator.said[-1]  # the lines as shown; the voice gets the number spelled out
    assert shown[:2] == ("Your number", number) and lines[:2] == ("Your number", ", ".join(number)) and lang == "en"
    assert any("Estimated wait" in line for line in lines) and any("counter named" in line for line in lines)
    assert shown[2:] == lines[2:]
    clock.advance(60)
    vm.tick()  # idle reset: voice mode off, the voice silenced
    assert not vm.state.voice and voice.silenced == 1


def test_read_numbers_outside_voice_mode(make_vm):
    vm = make_vm()
    voice = RecordingVoice()
    Narrator(vm, voice, read_numbers=True)
    walk_to_priority(vm)
    vm.press(("priority", None))
    assert voice.said == [(("Số thứ tự của bạn", "A, không không một"), "vi")]
    assert vm.state.ticket["number"] == "A001"


def test_every_screen_reads_only_lines_it_shows(make_vm):
    vm = make_vm()
    vm.toggle_voice()
    for screen in ("home", "identify", "priority", "ticket"):
        shown = present(vm)
        texts = set(shown.texts.values()) | {shown.title, shown.notice} | {x.label for x in shown.tiles}
        texts |= set(shown.body.split("\n"))
        assert shown.spoken and set(shown.spoken) <= texts, screen
        if screen == "home":
            vm.press(("service", "hotich", None)); vm.press(("service", "hotich", None))  # noqa: E702
        elif screen == "identify":
            vm.continue_()
        elif screen == "priority":
            vm.choose_priority(None)


# ---- the audio queue --------------------------------------------------------------------------------
def test_a_new_utterance_cuts_the_one_on_air_and_never_overlaps():
    gate = threading.Event()
    player = SimPlayer(gate=gate)
    voice = KioskVoice(player, synths={"vi": ToneSynth()}).start()
    try:
        first = voice.say(["Xin mời chọn lĩnh vực", "Hộ tịch"])
        assert player.wait_started(1)
        second = voice.say(["Hộ tịch"])  # a touch while the screen is being read
        third = voice.say(["Cư trú"])  # and another before the second began: it replaces it
        assert player.wait_started(2)
        gate.set()
        assert voice.wait_idle()
    finally:
        voice.close()
    assert voice.events == [("queued", first), ("start", first), ("queued", second), ("dropped", second),
                            ("queued", third), ("cut", first), ("start", third), ("end", third)]
    assert player.max_overlap == 1 and len(player.stopped) == 1 and len(player.played) == 1
    assert voice.spoken == [("Xin mời chọn lĩnh vực", "Hộ tịch"), ("Cư trú",)]


def test_an_utterance_superseded_while_synthesising_is_never_played():
    gate = threading.Event()
    synth = ToneSynth(gate)
    player = SimPlayer()
    voice = KioskVoice(player, synths={"vi": synth}).start()
    try:
        first = voice.say(["một", "hai", "ba"])
        second = voice.say(["bốn"])
        gate.set()
        assert voice.wait_idle()
    finally:
        voice.close()
    assert ("start", first) not in voice.events and ("end", second) in voice.events
    assert voice.spoken == [("bốn",)] and len(player.played) == 1


def test_silence_cuts_what_is_on_air():
    gate = threading.Event()
    player = SimPlayer(gate=gate)
    voice = KioskVoice(player, synths={"vi": ToneSynth()}).start()
    try:
        utterance = voice.say(["Nghe hướng dẫn"])
        assert player.wait_started(1)
        voice.silence()
        assert voice.wait_idle()
    finally:
        voice.close()
    assert voice.events[-1] == ("cut", utterance) and player.played == []


def test_the_kiosk_speaks_with_the_announcers_espeak_voice():
    synth = EspeakSynth(voice="vi")
    try:
        synth.check()
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"espeak-ng not installed: {err}")
    voice = KioskVoice(SimPlayer(), synths={"vi": synth})
    wav = voice.render(["Số thứ tự của bạn", "A, không không một"])
    params, frames = read_wav(wav)
    assert params.framerate == 22050 and wav_duration(wav) > 1.5 and max(frames) > 0
    assert voice.render(["Số thứ tự của bạn"]) is not None and voice.cache.hits == 1  # a line is cached


# ---- icons --------------------------------------------------------------------------------------------
def test_every_service_and_priority_has_its_own_drawn_picture():
    images = {name: icon_image(name, 96) for name in (*SERVICE_ICONS, *PRIORITY_ICONS, "speaker", "card")}
    assert set(images) <= set(DRAW)
    pixels = {name: im.tobytes() for name, im in images.items()}
    assert len(set(pixels.values())) == len(pixels)  # all different
    for name, im in images.items():
        alpha = im.getchannel("A")
        inked = sum(1 for a in alpha.tobytes() if a > 128) / (96 * 96)
        assert 0.08 < inked < 0.75, (name, inked)  # a real shape, not blank, not a filled square


def test_the_kiosk_voice_goes_to_the_chosen_output_and_survives_a_missing_player(make_vm, caplog):
    import shutil

    from counter.voice_players import CommandPlayer, NullPlayer
    from kiosk.cli import build_narrator

    vm = make_vm()
    if shutil.which("aplay"):
        narrator = build_narrator(vm, player="aplay", device="plughw:1,0")  # e.g. the headphone jack
        assert isinstance(narrator.voice.player, CommandPlayer)
        assert narrator.voice.player.argv[-2:] == ["-D", "plughw:1,0"]
        narrator.voice.close()
    if shutil.which("play"):
        narrator = build_narrator(vm, player="play", device="hw:1,0")
        assert narrator.voice.player.env["AUDIODEV"] == "hw:1,0"
        narrator.voice.close()
    narrator = build_narrator(vm, player="no-such-player")
    assert isinstance(narrator.voice.player, NullPlayer)  # the kiosk runs; voice mode is silent
    assert "voice mode will be silent" in caplog.text
    narrator.voice.close()
