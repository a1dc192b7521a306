"""Where the announcer's WAV bytes go: a real command-line player, or a recording sim.

A player has one method, `play(wav: bytes) -> None`, that returns when the clip has
finished (that is how the announcer never talks over itself). Choose one by name with
`make_player`: "auto" (the first of aplay/paplay/play found), "aplay", "paplay",
"play", "sim" (records, plays nothing), or "null" (discards).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from typing import Protocol

from counter.voice_audio import PlayerError, VoiceError

# name -> argv before the file path. aplay (ALSA) first: present on any Debian box with
# sound; paplay for PulseAudio/PipeWire desktops; sox's `play` as a last resort.
COMMANDS: dict[str, list[str]] = {
    "aplay": ["aplay", "-q"],
    "paplay": ["paplay"],
    "play": ["play", "-q"],
}


class Player(Protocol):
    def play(self, wav: bytes) -> None:
        """Play one clip and return when it has finished."""


class SimPlayer:
    """Records every clip it is asked to play, in order, in `played`.

    `gate`: if given, each play waits for it to be set — lets a test hold a clip
    "on air" and check that nothing cuts in. `wait_for(n)` blocks until n clips
    have been played (no sleeps in tests).
    """

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.played: list[bytes] = []
        self.gate = gate
        self.playing = threading.Event()
        self._cond = threading.Condition()

    def play(self, wav: bytes) -> None:
        self.playing.set()
        try:
            if self.gate is not None and not self.gate.wait(timeout=60):
                raise PlayerError("sim player gate was never opened")
            with self._cond:
                self.played.append(wav)
                self._cond.notify_all()
        finally:
            self.playing.clear()

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.played) >= count, timeout=timeout)


class NullPlayer:
    """Plays nothing (a display without speakers that still wants the logs)."""

    def play(self, wav: bytes) -> None:
        return None


class CommandPlayer:
    """Plays a clip by writing it to a temporary file and running an external player."""

    def __init__(self, argv: list[str], timeout_s: float = 60.0) -> None:
        self.argv = argv
        self.timeout_s = timeout_s

    def play(self, wav: bytes) -> None:
        fd, path = tempfile.mkstemp(prefix="motcua-voice-", suffix=".wav")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(wav)
            done = subprocess.run(
                [*self.argv, path], capture_output=True, timeout=self.timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise PlayerError(f"{self.argv[0]} failed: {err}") from err
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            detail = lines[-1] if lines else "no error output"
            raise PlayerError(f"{self.argv[0]} exited {done.returncode}: {detail}")


def make_player(name: str = "auto") -> Player:
    """A player by name; a clear PlayerError if none can be found."""
    name = name.strip().lower().removesuffix("://")
    if name == "sim":
        return SimPlayer()
    if name == "null":
        return NullPlayer()
    if name == "auto":
        for candidate, argv in COMMANDS.items():
            if shutil.which(candidate):
                return CommandPlayer(argv)
        raise PlayerError(
            "no audio player found (aplay, paplay or play); "
            "install one with: sudo apt-get install alsa-utils"
        )
    if name in COMMANDS:
        if shutil.which(name) is None:
            raise PlayerError(f"audio player {name!r} is not installed")
        return CommandPlayer(COMMANDS[name])
    raise VoiceError(f"unknown audio player {name!r}; use auto, aplay, paplay, play, sim or null")
