"""What masking costs on the tracking path: ``mask_public_text`` per note, against its floor.

Floor: the same notes through one bare ``re.sub`` that hides plain 9+ digit runs (what a naive
filter would do, and all a regular expression alone can do cheaply), plus ``str.replace`` of the
name as typed. Also the tracking look-up of a dossier with 8 public notes, in process, against
the same look-up with masking switched off.

Run: ``.venv/bin/python tests/bench/bench_privacy.py [--n 20000]``. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server import privacy  # noqa: E402

NAMES = ["Nguyễn Văn An", "Lò Thị Mai", "Hoàng Thị Thu Hương", "Vàng A Páo"]
PIECES = ["thiếu bản sao", "giấy khai sinh", "của ông", "CCCD 001099012345", "ĐT 0912 345 678", "hẹn 12/05/2025",
          "NGUYEN VAN AN", "anh An", "Mời bổ sung 2 bản sao", "liên hệ Bộ phận Một cửa", "số 001.099.012.345"]


def notes(n: int) -> list[tuple[str, str]]:
    rng = random.Random(7)
    return [(" ".join(rng.choice(PIECES) for _ in range(rng.randint(3, 9))), rng.choice(NAMES)) for _ in range(n)]


def timed(fn, data) -> float:
    start = time.perf_counter()
    for text, name in data:
        fn(text, name)
    return (time.perf_counter() - start) / len(data) * 1e6


def floor(text: str, name: str) -> str:
    return re.sub(r"\d{9,}", "***", text).replace(name, "***")


def tracking(n_lookups: int) -> tuple[float, float]:
    from server.storage import catalog, migrate
    from server.storage.db import Database
    from server.storage.dossier_store import DossierStore
    from server.storage.queue_store import QueueStore
    from server.storage.tracking import TrackingStore

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.sqlite3", sqlite_synchronous="NORMAL").open()
        migrate.upgrade(db)
        catalog.load_site(db, catalog.demo_site_file())
        store = DossierStore(db, public_url="http://bench")
        d = store.create(site="demo", procedure_code="1.004873", applicant_name="Nguyễn Văn An",
                         channel="direct", actor="bench")
        for i, (text, _name) in enumerate(notes(8)):
            store.change_status(d["code"], "supplement_requested" if i % 2 == 0 else "processing", actor="bench",
                                note="nội bộ", public_note=text, reason="nội bộ")
        lookups = TrackingStore(QueueStore(db, public_url="http://bench"), store)

        def per_lookup() -> float:
            lookups.lookup(d["token"])
            start = time.perf_counter()
            for _ in range(n_lookups):
                lookups.lookup(d["token"])
            return (time.perf_counter() - start) / n_lookups * 1e3

        masked = per_lookup()
        real = privacy.mask_public_text
        privacy.mask_public_text = lambda text, names=(): text  # the floor: the same look-up, unmasked
        try:
            bare = per_lookup()
        finally:
            privacy.mask_public_text = real
        db.close()
        return masked, bare


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--lookups", type=int, default=500)
    args = parser.parse_args()
    data = notes(args.n)
    timed(lambda t, n: privacy.mask_public_text(t, [n]), data[:500])  # warm up
    runs = [(timed(lambda t, n: privacy.mask_public_text(t, [n]), data), timed(floor, data)) for _ in range(3)]
    mask_us = statistics.median(r[0] for r in runs)
    floor_us = statistics.median(r[1] for r in runs)
    print(f"notes: {args.n}, mean {statistics.mean(len(t) for t, _ in data):.0f} characters")
    print(f"mask_public_text: {mask_us:.1f} µs/note (median of 3)")
    print(f"floor (bare re.sub + str.replace): {floor_us:.2f} µs/note")
    print(f"ratio: {mask_us / floor_us:.1f}x")
    masked, bare = tracking(args.lookups)
    print(f"tracking look-up, dossier with 8 public notes (SQLite, in process): {masked:.2f} ms masked, "
          f"{bare:.2f} ms unmasked (floor), ratio {masked / bare:.2f}x")


if __name__ == "__main__":
    main()
