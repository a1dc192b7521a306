"""Render + encode one 80 mm ticket: p50/p95 latency and bytes per ticket (target p50 < 30 ms).

Run: ``.venv/bin/python tests/bench/bench_devices.py [--n 200]``. Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from devices.layout import TicketView, render_ticket, ticket_blocks  # noqa: E402
from devices.printer import open_printer  # noqa: E402


def view(i: int) -> TicketView:
    return TicketView(
        centre="Trung tâm Phục vụ hành chính công xã Mường Ảng",
        number=f"A{i % 1000:03d}",
        service_vi="Chứng thực bản sao từ bản chính",
        service_en="Certified copies",
        issued_at=datetime(2025, 3, 5, 8, 15),
        ahead=i % 40,
        est_wait_s=60 * (i % 90),
        track_url=f"https://motcua.example.vn/t/q7Xk2mP9vR4sT8wY1zB3c{i:06d}",
        footer="Quầy số 3",
    )


def measure(label: str, fn, n: int) -> list[float]:
    fn(0)  # warm caches (fonts, escpos profile)
    samples = []
    for i in range(1, n + 1):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[int(0.95 * (len(samples) - 1))]
    print(f"{label:<56} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   (n={n})")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    n = parser.parse_args().n
    for url in ("sim://", "sim://?qr=image", "sim://?paper=58&profile=POS-5890"):
        printer = open_printer(url)
        measure(f"render+encode ticket [{url}]", lambda i, p=printer: p.encode(ticket_blocks(view(i), p.paper)), n)
        size = len(printer.encode(ticket_blocks(view(1), printer.paper)))
        print(f"{'':<56} {size} bytes per ticket")
    measure("render_ticket only (PIL image, 80 mm)", lambda i: render_ticket(view(i)), n)
    printer = open_printer("sim://")
    printer.open()
    measure("print_ticket end to end on sim:// (80 mm)", lambda i: printer.print_ticket(view(i)), n)
    printer.close()


if __name__ == "__main__":
    main()
