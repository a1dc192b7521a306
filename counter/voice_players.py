"""Where the announcer's WAV bytes go: a real command-line player, or a recording sim.

A player has `play(wav: bytes, cancel=None) -> None`, that returns when the clip has
finished (that is how the announcer never talks over itself), or as soon as the `cancel`
event is set from another thread (the kiosk's voice: a new touch cuts what is being said).
Each clip gets its own event, so a late cancel can never cut the next clip.
Choose one by name with `make_player`: "auto" (the first of aplay/paplay/play found),
"aplay", "paplay", "play", "sim" (records, plays nothing), "sim-realtime" (records, taking
as long as each clip lasts), or "null" (discards).

`device` chooses the audio output: an ALSA device for aplay (``-D plughw:1,0``, e.g. a
headphone jack or a USB headset), a PulseAudio/PipeWire sink for paplay (``--device=``),
an AUDIODEV for sox's play. None is the system default.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from typing import Protocol

from counter.voice_audio import PlayerError, VoiceError, wav_duration

# name -> argv before the file path. aplay (ALSA) first: present on any Debian box with
# sound; paplay for PulseAudio/PipeWire desktops; sox's `play` as a last resort.
COMMANDS: dict[str, list[str]] = {
    "aplay": ["aplay", "-q"],
    "paplay": ["paplay"],
    "play": ["play", "-q"],
}


class Player(Protocol):
    def play(self, wav: bytes, cancel: threading.Event | None = None) -> None:
        """Play one clip and return when it has finished or `cancel` was set."""


class SimPlayer:
    """Records every clip it is asked to play, in order, in `played`.

    `gate`: if given, each play waits for it to be set — lets a test hold a clip
    "on air" and check that nothing cuts in. `wait_for(n)` blocks until n clips
    have been played (no sleeps in tests). A held clip whose `cancel` is set ends at
    once: it is then in `stopped`, not in `played`. `max_overlap` is the most clips
    ever on air at the same moment (1 means never two at once).
    """

    def __init__(self, gate: threading.Event | None = None, realtime: bool = False) -> None:
        self.realtime = realtime  # take as long as the clip lasts (a cancel ends it early)
        self.played: list[bytes] = []
        self.stopped: list[bytes] = []
        self.started: list[bytes] = []
        self.gate = gate
        self.playing = threading.Event()
        self.max_overlap = 0
        self._on_air = 0
        self._cond = threading.Condition()

    def play(self, wav: bytes, cancel: threading.Event | None = None) -> None:
        with self._cond:
            self._on_air += 1
            self.max_overlap = max(self.max_overlap, self._on_air)
            self.started.append(wav)
            self._cond.notify_all()
        self.playing.set()
        try:
            if self.gate is not None:
                deadline = 6000  # 60 s
                while not self.gate.wait(timeout=0.01):
                    deadline -= 1
                    if cancel is not None and cancel.is_set():
                        with self._cond:
                            self.stopped.append(wav)
                            self._cond.notify_all()
                        return
                    if deadline <= 0:
                        raise PlayerError("sim player gate was never opened")
            if self.realtime and cancel is not None and cancel.wait(wav_duration(wav)):
                with self._cond:
                    self.stopped.append(wav)
                    self._cond.notify_all()
                return
            with self._cond:
                self.played.append(wav)
                self._cond.notify_all()
        finally:
            self.playing.clear()
            with self._cond:
                self._on_air -= 1
                self._cond.notify_all()

    def wait_started(self, count: int, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.started) >= count, timeout=timeout)

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.played) >= count, timeout=timeout)


class NullPlayer:
    """Plays nothing (a display without speakers that still wants the logs)."""

    def play(self, wav: bytes, cancel: threading.Event | None = None) -> None:
        return None


def device_argv(name: str, device: str | None) -> list[str]:
    """The player's argv with the output device chosen (headphones, a USB headset, a sink)."""
    argv = list(COMMANDS[name])
    if device:
        if name == "aplay":
            argv += ["-D", device]
        elif name == "paplay":
            argv += [f"--device={device}"]
    return argv


class CommandPlayer:
    """Plays a clip by writing it to a temporary file and running an external player."""

    def __init__(self, argv: list[str], timeout_s: float = 60.0, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.timeout_s = timeout_s
        self.env = env

    def play(self, wav: bytes, cancel: threading.Event | None = None) -> None:
        if cancel is not None and cancel.is_set():
            return
        fd, path = tempfile.mkstemp(prefix="motcua-voice-", suffix=".wav")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(wav)
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen([*self.argv, path], stdout=subprocess.DEVNULL, stderr=errors, env=self.env)
                waited, step = 0.0, 0.02
                while proc.poll() is None:
                    if (cancel is not None and cancel.wait(step)) or waited > self.timeout_s:
                        proc.kill()
                        proc.wait()
                        if waited > self.timeout_s:
                            raise PlayerError(f"{self.argv[0]} took longer than {self.timeout_s:g} s")
                        return  # cancelled: cut short on purpose
                    if cancel is None:
                        try:
                            proc.wait(step)
                        except subprocess.TimeoutExpired:
                            pass
                    waited += step
                returncode = proc.returncode
                errors.seek(0)
                stderr = errors.read()
        except OSError as err:
            raise PlayerError(f"{self.argv[0]} failed: {err}") from err
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        if returncode != 0:
            lines = stderr.decode(errors="replace").strip().splitlines()
            detail = lines[-1] if lines else "no error output"
            raise PlayerError(f"{self.argv[0]} exited {returncode}: {detail}")


def make_player(name: str = "auto", device: str | None = None) -> Player:
    """A player by name, playing to `device` (None: the default output); a clear PlayerError if none."""
    name = name.strip().lower().removesuffix("://")
    if name == "sim":
        return SimPlayer()
    if name == "sim-realtime":
        return SimPlayer(realtime=True)
    if name == "null":
        return NullPlayer()
    if name == "auto":
        for candidate, argv in COMMANDS.items():
            if shutil.which(candidate):
                return _command_player(candidate, device)
        raise PlayerError(
            "no audio player found (aplay, paplay or play); "
            "install one with: sudo apt-get install alsa-utils"
        )
    if name in COMMANDS:
        if shutil.which(name) is None:
            raise PlayerError(f"audio player {name!r} is not installed")
        return _command_player(name, device)
    raise VoiceError(f"unknown audio player {name!r}; use auto, aplay, paplay, play, sim or null")


def _command_player(name: str, device: str | None) -> CommandPlayer:
    env = {**os.environ, "AUDIODEV": device} if device and name == "play" else None
    return CommandPlayer(device_argv(name, device), env=env)
