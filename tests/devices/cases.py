"""Fixed inputs for the devices tests and the golden ESC/POS files made from them.

Regenerate the golden files after an intended change of layout or encoding with
``.venv/bin/python -m tests.devices.cases`` (from the repository root), then look at the diff
and at the PNGs it writes next to them. (An environment variable would not do: the root
conftest clears every ``MOTCUA_*`` variable before the tests run.)

The bytes depend on Pillow's bundled FreeType rasteriser: a Pillow upgrade may need a regen.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
DATA = HERE / "data"
TRACK_URL = "https://motcua.example.vn/t/q7Xk2mP9vR4sT8wY1zB3cD5eF"
DOSSIER_URL = "https://motcua.example.vn/t/H8jK3nM6pQ9rS2tV5wX7yZ1aB"


def ticket_view():
    from devices.layout import TicketView

    return TicketView(
        centre="Trung tâm Phục vụ hành chính công xã Mường Ảng",
        number="A023",
        service_vi="Đăng ký khai sinh",
        service_en="Birth registration",
        issued_at=datetime(2025, 3, 5, 8, 15),
        ahead=8,
        est_wait_s=840,
        track_url=TRACK_URL,
        footer="Quầy số 3 · Chứng thực bản sao từ bản chính",
    )


def slip_view():
    from devices.layout import SlipView

    return SlipView(
        centre="Trung tâm Phục vụ hành chính công xã Mường Ảng",
        dossier_code="H12.25-250305-0001",
        procedure="Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        applicant="Lò Thị Mai",
        received_at=datetime(2025, 3, 5, 8, 40),
        appointment_at=datetime(2025, 3, 5, 15, 0),
        official="Quàng Văn Sơn",
        track_url=DOSSIER_URL,
        documents=("Bản chính giấy khai sinh", "Bản sao cần chứng thực (02 bản)"),
    )


def apology_view():
    from devices.layout import ApologyView

    return ApologyView(
        centre="UBND xã Mường Ảng",
        dossier_code="H12.25-250305-0001",
        procedure="Đăng ký khai sinh",
        applicant="Hồ Chí Dung",
        original_date=date(2025, 3, 10),
        new_date=date(2025, 3, 14),
        reason="Cần xác minh thông tin nơi cư trú với xã khác",
        official="Quàng Văn Sơn",
        track_url=DOSSIER_URL,
        received_at=datetime(2025, 3, 5, 8, 40),
    )


VIEWS = {"ticket": ticket_view, "slip": slip_view, "apology": apology_view}

# golden file → (printer URL, what to print)
GOLDEN_CASES = {
    "ticket_80_native_qr.bin": ("sim://", "ticket"),
    "ticket_58_image_qr.bin": ("sim://?paper=58&profile=POS-5890", "ticket"),
    "slip_80.bin": ("sim://", "slip"),
    "apology_80.bin": ("sim://", "apology"),
}


def print_job(url: str, kind: str) -> bytes:
    """Print one fixed view on a sim printer and return the bytes it received."""
    from devices.printer import open_printer

    printer = open_printer(url)
    with printer:
        getattr(printer, f"print_{kind}")(VIEWS[kind]())
    return printer.backend.output


def regenerate() -> None:
    from devices import layout

    GOLDEN.mkdir(exist_ok=True)
    for name, (url, kind) in GOLDEN_CASES.items():
        job = print_job(url, kind)
        (GOLDEN / name).write_bytes(job)
        print(f"wrote {GOLDEN / name} ({len(job)} bytes)")
    for kind, render in (("ticket", layout.render_ticket), ("slip", layout.render_slip),
                         ("apology", layout.render_apology)):
        path = GOLDEN / f"{kind}_80.png"
        render(VIEWS[kind]()).save(path)
        print(f"wrote {path} (for looking at, not compared)")


if __name__ == "__main__":
    regenerate()
