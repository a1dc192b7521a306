"""How long from a call event's text to playable audio: espeak-ng cold, then from the cache.

Run: .venv/bin/python tests/bench/bench_voice.py [--calls 20] [--rounds 3]
Prints p50/p95 per call. Not collected by pytest (a script, not a test).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timezone

from counter.voice import Announcer, SimPlayer, VoiceConfig, announcement_text, chime_wav
from counter.voice_audio import wav_duration


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"{name:<34} n={len(ms):<4} p50={percentile(ms, 50):8.3f} ms  "
        f"p95={percentile(ms, 95):8.3f} ms  max={max(ms):8.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3, help="cold passes (fresh cache each)")
    args = parser.parse_args()

    letters = "ABCDE"
    calls = [
        (f"{letters[i % 5]}{i * 7 + 3:03d}", str(i % 9 + 1), i % 4 == 3) for i in range(args.calls)
    ]
    texts = [announcement_text(t, c, r) for t, c, r in calls]
    assert len(set(texts)) == len(texts), "calls must be distinct"

    cold, cached, audio = [], [], []
    for _ in range(args.rounds):
        announcer = Announcer(VoiceConfig(volume=80), player=SimPlayer())
        announcer.synth.check()
        for text in texts:
            start = time.perf_counter()
            wav = announcer.clip(text)
            cold.append(time.perf_counter() - start)
            audio.append(wav_duration(wav))
        for text in texts:
            start = time.perf_counter()
            announcer.clip(text)
            cached.append(time.perf_counter() - start)

    chime_wav.cache_clear()
    start = time.perf_counter()
    chime = chime_wav(80)
    chime_cold = time.perf_counter() - start

    # end to end: handle_call -> both clips handed to the (sim) player, fresh cache
    sim = SimPlayer()
    announcer = Announcer(VoiceConfig(volume=80), player=sim)
    announcer.start()
    now = datetime.now(timezone.utc).isoformat()
    end_to_end = []
    for seq, (ticket, counter, recall) in enumerate(calls, start=1):
        start = time.perf_counter()
        announcer.handle_call(
            {"v": 1, "at": now, "seq": seq, "ticket": ticket, "counter": counter,
             "label": counter, "service": ticket[0], "recall": recall}
        )
        sim.wait_for(2 * seq)
        end_to_end.append(time.perf_counter() - start)
    announcer.stop()

    print(f"{args.calls} distinct calls x {args.rounds} cold rounds, espeak-ng -v vi -s 140, volume 80")
    report("text -> WAV, cold (espeak-ng)", cold)
    report("text -> WAV, cached (recall)", cached)
    report("handle_call -> played (sim), cold", end_to_end)
    print(f"{'chime generation (once, cached)':<34} {chime_cold * 1000:.1f} ms, {wav_duration(chime):.2f} s of audio")
    print(f"{'speech length':<34} p50={statistics.median(audio):.2f} s  max={max(audio):.2f} s")


if __name__ == "__main__":
    main()
