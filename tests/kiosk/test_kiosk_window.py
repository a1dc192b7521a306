"""The real kiosk window (Kivy, offscreen EGL) driven by touches against a live site and a sim printer.

Each case runs ``tests/kiosk/window_driver.py`` in its own process (Kivy's Window is a process
singleton) and leaves screenshots of every screen in ``tests/_artifacts/kiosk/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from devices.layout import TicketView, ticket_blocks
from devices.printer import open_printer

from .conftest import official_list, waiting

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts" / "kiosk"


def drive(site, width: int, height: int, lang: str, voice: bool = False) -> dict:
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    env.pop("DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.kiosk.window_driver", site.base_url, site.tokens["kiosk"],
         str(width), str(height), lang, str(ARTIFACTS), *(["voice"] if voice else [])],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    tag = f"{lang}_{width}x{height}" + ("_voice" if voice else "")
    result_file = ARTIFACTS / f"result_{tag}.json"
    assert result_file.exists(), proc.stderr[-3000:]
    result = json.loads(result_file.read_text("utf-8"))
    assert result["errors"] == [] and result.get("ok"), (result["errors"], proc.stderr[-2000:])
    result["tag"] = tag
    return result


@pytest.mark.parametrize("width, height, lang", [(1080, 1920, "vi"), (1920, 1080, "en")])
def test_touch_flow_issues_one_ticket_prints_it_and_shows_the_qr(site, width, height, lang):
    result = drive(site, width, height, lang)
    tag = result["tag"]
    # One ticket on the server despite the double tap on the priority button.
    assert waiting(site) == 1
    [listed] = official_list(site)
    assert result["shown_number"] == listed["number"] == "A001" and listed["priority"] == "elderly"
    assert result["lang"] == lang
    assert result["greeting"] == ("Hello, Lò Thị Mai" if lang == "en" else "Xin chào, Lò Thị Mai")
    assert result["body"]["citizen"]["name_masked"] == "L** T** M**"
    assert set(result["body"]["citizen"]) == {"id_hash", "name_masked"}
    # The printed bytes are exactly the ticket layout with the server's number and tracking URL.
    view = dict(result["ticket_view"])
    view["issued_at"] = datetime.fromisoformat(view["issued_at"])
    ticket_view = TicketView(**view)
    assert ticket_view.number == "A001" and ticket_view.track_url == result["ticket"]["track_url"]
    printed = (ARTIFACTS / f"printer_{tag}.bin").read_bytes()
    assert printed == open_printer("sim://").encode(ticket_blocks(ticket_view))
    assert result["ticket"]["track_url"].encode() in printed
    # The QR on screen (to photograph when the printer fails) decodes to the same URL.
    shot = Image.open(ARTIFACTS / f"6-ticket_{tag}.png")
    assert shot.size == (width, height)
    assert [d.data.decode() for d in decode(shot)] == [result["ticket"]["track_url"]]
    if lang == "vi":
        assert result["search_hits"][0] == "Đăng ký khai sinh"
    assert len(result["screens"]) == 6
    # Every tile's words fit inside it ("Người đưa con nhỏ dưới 36 tháng" at 1080×1920 included),
    # and every home tile is in view, with no scrolling needed (else a "more" hint would show).
    assert result["overflow"] == []
    assert result["home_hidden_tiles"] == [] and result["home_more_hint"] == ""


@pytest.mark.parametrize("width, height", [(1080, 1920), (1920, 1080)])
def test_voice_mode_reads_what_is_shown_touch_once_to_hear_twice_to_choose(site, width, height):
    result = drive(site, width, height, "vi", voice=True)
    screens = {s["screen"]: s for s in result["voice_screens"]}
    assert list(screens) == ["home", "identify", "priority", "ticket", "track", "issuing", "help"]
    assert result["under_top_bar"] == []  # nothing spills over the top bar (the ticket in landscape did)
    for name, screen in screens.items():
        # What the narrator said is exactly the lines the window shows (in any order).
        assert sorted(screen["said"]) == sorted(screen["shown"]), name
        assert len(screen["said"]) >= (1 if name == "issuing" else 2), name
    assert "Hộ tịch" in screens["home"]["said"]
    assert "Người đưa con nhỏ dưới 36 tháng" in screens["priority"]["said"]
    ticket = screens["ticket"]["said"]
    number = result["voice"]["ticket"]["number"]
    assert ticket[:2] == ["Số thứ tự của bạn", number]
    assert any(line.startswith("Thời gian chờ dự kiến") for line in ticket)
    assert any(line.startswith("Khi nghe gọi số của bạn") for line in ticket)
    # The number is said digit by digit, as the hall will call it.
    assert result["voice_lines"][1] == "A, không không một" and number == "A001"
    # One touch read the tile and stayed; the second chose it.
    assert result["after_one_touch"] == {"screen": "home", "focused": True, "said": ["Hộ tịch"]}
    assert result["next_after_one_touch"] == "identify"
    assert result["priority_after_one_touch"] == "priority"
    assert result["voice"]["ticket"]["priority"] == "infant"
    assert screens["track"]["said"][:2] == ["Lượt của bạn", number]
    # Never two clips at once; every clip that started ended or was cut before the next started.
    voice = result["voice"]
    assert voice["max_overlap"] == 1
    on_air = None
    for event, utterance in voice["events"]:
        if event == "start":
            assert on_air is None
            on_air = utterance
        elif event in ("end", "cut"):
            assert on_air == utterance
            on_air = None
    assert voice["played"] + voice["cut"] == len(voice["spoken"])
    # Clips last as long as they sound: the touches came faster than the readings, so some were cut
    # or dropped before they started — and still none overlapped.
    cut_or_dropped = [e for e, _ in voice["events"] if e in ("cut", "dropped")]
    assert len(cut_or_dropped) >= 3 and voice["cut"] >= 1
    assert voice["played"] >= 1  # the tile's name, waited for, played to its end
