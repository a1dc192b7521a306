"""Audio for the announcer: the chime, espeak-ng speech, volume, and a clip cache.

Everything is 16-bit PCM WAV bytes in memory. Volume is applied by scaling samples
(the same way for the chime and the speech, so the two always match), not by the
player, which in a hall is usually a mini-PC with no mixer anyone touches.
No `audioop` (deprecated, removed in Python 3.13): samples go through `array`.
"""

from __future__ import annotations

import array
import io
import logging
import math
import shutil
import struct
import subprocess
import sys
import threading
import wave
from collections import OrderedDict
from functools import lru_cache

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050  # espeak-ng's native rate; the chime uses it too
INSTALL_HINT = "install it with: sudo apt-get install espeak-ng"


class VoiceError(Exception):
    """Base error of the voice announcer. `retry` says whether trying again may help."""

    code = "voice.error"
    retry = False


class SpeechEngineMissing(VoiceError):
    """espeak-ng (or its Vietnamese voice) is not installed: give up until an admin installs it."""

    code = "voice.engine_missing"
    retry = False


class SynthesisError(VoiceError):
    """espeak-ng failed or timed out on one text; the next one may work."""

    code = "voice.synthesis_failed"
    retry = True


class PlayerError(VoiceError):
    """The audio player is missing or failed; the next clip may play."""

    code = "voice.player_failed"
    retry = True


# --- WAV helpers -----------------------------------------------------------------


def _samples(frames: bytes) -> array.array:
    pcm = array.array("h")
    pcm.frombytes(frames[: len(frames) - len(frames) % 2])
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


def _frames(pcm: array.array) -> bytes:
    if sys.byteorder == "big":
        pcm = array.array("h", pcm)
        pcm.byteswap()
    return pcm.tobytes()


def make_wav(frames: bytes, *, rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


def read_wav(wav: bytes) -> tuple[wave._wave_params, bytes]:
    with wave.open(io.BytesIO(wav), "rb") as w:
        params = w.getparams()
        if params.sampwidth != 2:
            raise ValueError(f"only 16-bit PCM is handled, got {8 * params.sampwidth}-bit")
        return params, w.readframes(params.nframes)


def wav_duration(wav: bytes) -> float:
    params, frames = read_wav(wav)
    return len(frames) / (2 * params.nchannels * params.framerate)


def wav_rms(wav: bytes) -> float:
    """Root mean square of the samples, 0..32767 (0 for silence)."""
    _, frames = read_wav(wav)
    pcm = _samples(frames)
    if not pcm:
        return 0.0
    return math.sqrt(sum(s * s for s in pcm) / len(pcm))


def scale_wav(wav: bytes, gain: float) -> bytes:
    """The same WAV with every sample multiplied by `gain` (clipped to 16 bits)."""
    if gain == 1.0:
        return wav
    params, frames = read_wav(wav)
    pcm = _samples(frames)
    if 0.0 <= gain <= 1.0:  # the usual case: no clipping possible, so skip the clamp
        scaled = array.array("h", [int(s * gain) for s in pcm])
    else:
        scaled = array.array("h", [max(-32768, min(32767, round(s * gain))) for s in pcm])
    return make_wav(_frames(scaled), rate=params.framerate, channels=params.nchannels)


def silence_wav(seconds: float, rate: int = SAMPLE_RATE) -> bytes:
    return make_wav(b"\x00\x00" * int(seconds * rate), rate=rate)


def _mono_at(wav: bytes, rate: int) -> array.array:
    """The samples of `wav` as mono at `rate` (channels averaged, linear resampling)."""
    params, frames = read_wav(wav)
    pcm = _samples(frames)
    if params.nchannels > 1:
        n = params.nchannels
        pcm = array.array("h", (sum(pcm[i : i + n]) // n for i in range(0, len(pcm) - n + 1, n)))
    if params.framerate == rate or not pcm:
        return pcm
    step = params.framerate / rate
    out = array.array("h")
    last = len(pcm) - 1
    for i in range(int(len(pcm) / step)):
        pos = i * step
        j = int(pos)
        frac = pos - j
        out.append(int(pcm[j] * (1 - frac) + pcm[min(j + 1, last)] * frac))
    return out


def trim_silence(wav: bytes, threshold: int = 300, keep_s: float = 0.03) -> bytes:
    """The clip without the quiet lead-in and tail a synthesiser adds (keeps `keep_s` of each)."""
    params, frames = read_wav(wav)
    pcm = _samples(frames)
    loud = [i for i in range(0, len(pcm), params.nchannels) if abs(pcm[i]) > threshold]
    if not loud:
        return wav
    keep = int(keep_s * params.framerate) * params.nchannels
    first = max(0, loud[0] - keep)
    last = min(len(pcm), loud[-1] + keep + params.nchannels)
    first -= first % params.nchannels
    return make_wav(_frames(pcm[first:last]), rate=params.framerate, channels=params.nchannels)


def concat_wavs(wavs: list[bytes], rate: int = SAMPLE_RATE) -> bytes:
    """One mono WAV at `rate` made of the clips in order (recorded phrases of any rate or channels)."""
    pcm = array.array("h")
    for wav in wavs:
        pcm.extend(_mono_at(wav, rate))
    return make_wav(_frames(pcm), rate=rate)


def repair_stream_wav(raw: bytes) -> bytes:
    """A clean WAV from espeak-ng's `--stdout` output.

    When writing to a pipe espeak-ng cannot seek back, so the RIFF and data sizes
    are placeholders (0x7ffff…); `wave` then believes in a billion frames. We take
    the format chunk and everything after the data header as the samples.
    """
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise SynthesisError("espeak-ng did not produce a WAV stream")
    pos, fmt = 12, None
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        body = pos + 8
        if chunk == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", raw, body)
        elif chunk == b"data":
            if fmt is None:
                break
            _, channels, rate, _, block, bits = fmt
            if bits != 16:
                raise SynthesisError(f"unexpected espeak-ng sample size: {bits} bits")
            data = raw[body:]
            return make_wav(data[: len(data) - len(data) % block], rate=rate, channels=channels)
        pos = body + size + (size & 1)
    raise SynthesisError("espeak-ng WAV stream has no fmt/data chunk")


# --- the chime ---------------------------------------------------------------------


@lru_cache(maxsize=16)
def chime_wav(volume: int = 100, rate: int = SAMPLE_RATE) -> bytes:
    """A soft two-tone "ding-dong" (E5 then C5, bell-like decay), ~0.9 s, generated.

    Played before every announcement so people look up before the number is said.
    """
    notes = ((0.00, 659.25), (0.30, 523.25))  # (start s, frequency Hz)
    partials = ((1.0, 1.0), (2.0, 0.25), (3.0, 0.08))  # (multiple, weight): a bell's overtones
    ring, attack, decay = 0.62, 0.008, 5.0
    length = int(rate * (notes[-1][0] + ring))
    mix = [0.0] * length
    for start, freq in notes:
        first = int(start * rate)
        for i in range(int(ring * rate)):
            t = i / rate
            envelope = min(1.0, t / attack) * math.exp(-decay * t)
            value = sum(w * math.sin(2 * math.pi * freq * m * t) for m, w in partials)
            mix[first + i] += envelope * value
    fade = int(0.02 * rate)  # no click at the end
    for i in range(fade):
        mix[length - 1 - i] *= i / fade
    peak = max(abs(v) for v in mix) or 1.0
    gain = 0.55 * 32767 * max(0, min(100, volume)) / 100 / peak
    pcm = array.array("h", (round(v * gain) for v in mix))
    return make_wav(_frames(pcm), rate=rate)


# --- speech ------------------------------------------------------------------------


class EspeakSynth:
    """Text -> WAV bytes with espeak-ng's Vietnamese voice, offline.

    `speed` is in words per minute; 140 (espeak's default is 175) is slow enough for
    a hall with echo without sounding drawn out.
    """

    def __init__(
        self,
        *,
        voice: str = "vi",
        speed: int = 140,
        executable: str = "espeak-ng",
        timeout_s: float = 20.0,
    ) -> None:
        self.voice = voice
        self.speed = speed
        self.executable = executable
        self.timeout_s = timeout_s

    def check(self) -> None:
        """Raise SpeechEngineMissing with the install command if espeak-ng or the voice is absent."""
        path = shutil.which(self.executable)
        if path is None:
            raise SpeechEngineMissing(f"{self.executable} was not found on PATH; {INSTALL_HINT}")
        try:
            listing = subprocess.run(
                [path, f"--voices={self.voice.split('-')[0]}"],
                capture_output=True, text=True, timeout=self.timeout_s, check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SpeechEngineMissing(f"{self.executable} does not run ({err}); {INSTALL_HINT}") from err
        voices = {line.split()[1].lower() for line in listing.stdout.splitlines()[1:] if len(line.split()) > 1}
        if self.voice.lower() not in voices:
            raise SpeechEngineMissing(
                f"{self.executable} has no '{self.voice}' voice; {INSTALL_HINT} (it includes Vietnamese)"
            )

    def synthesize(self, text: str) -> bytes:
        argv = [self.executable, "-v", self.voice, "-s", str(self.speed), "-a", "100", "--stdout", text]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=self.timeout_s, check=False)
        except FileNotFoundError as err:
            raise SpeechEngineMissing(f"{self.executable} was not found; {INSTALL_HINT}") from err
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SynthesisError(f"{self.executable} failed on {text!r}: {err}") from err
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            raise SynthesisError(f"{self.executable} exited {done.returncode} on {text!r}: {detail}")
        return repair_stream_wav(done.stdout)


class ClipCache:
    """Thread-safe LRU of synthesised clips keyed by (text, volume): a recall costs nothing."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._clips: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> bytes | None:
        with self._lock:
            clip = self._clips.get(key)
            if clip is None:
                self.misses += 1
            else:
                self.hits += 1
                self._clips.move_to_end(key)
            return clip

    def put(self, key: tuple[str, int], clip: bytes) -> None:
        with self._lock:
            self._clips[key] = clip
            self._clips.move_to_end(key)
            while len(self._clips) > self.size:
                self._clips.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._clips.clear()

    def __len__(self) -> int:
        return len(self._clips)
