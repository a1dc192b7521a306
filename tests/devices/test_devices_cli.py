"""``motcua devices`` commands an installer runs on site: messages and exit codes."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from devices.cli import app

runner = CliRunner()
CARD = "011095001234|123456789|Lò Thị Mai|15031995|Nữ|Xã Mường Đăng|20042021"


def run(*args: str):
    return runner.invoke(app, list(args))


def test_print_test_ok(tmp_path):
    out = tmp_path / "p.bin"
    result = run("print-test", "--printer", f"file://{out}")
    assert result.exit_code == 0, result.output
    assert "OK: printed a test ticket" in result.output
    data = out.read_bytes()
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1dV\x00")


@pytest.mark.parametrize("url, code, text", [
    ("sim://?fault=paper_out", 1, "printer.paper_out"),
    ("sim://?fault=offline", 1, "retrying may help"),
    ("lpt://1", 2, "unknown scheme"),
])
def test_print_test_failures(url, code, text):
    result = run("print-test", "--printer", url)
    assert result.exit_code == code
    assert text in result.output


def test_read_card_masks_personal_data():
    result = run("read-card", "--reader", f"sim://?scans={quote(CARD)}", "--timeout", "5")
    assert result.exit_code == 0, result.output
    assert "L** T** M**" in result.output
    assert "Lò" not in result.output and "011095001234" not in result.output


def test_read_card_text_rejected_and_timeout():
    ok = run("read-card", "--reader", f"sim://?scans={quote('https://x.vn/t/abc')}", "--timeout", "5")
    assert ok.exit_code == 0 and "https://x.vn/t/abc" in ok.output
    bad = run("read-card", "--reader", f"sim://?scans={quote('011|x|y|z|Nam|a|b')}", "--timeout", "5")
    assert bad.exit_code == 1 and "bad_id" in bad.output
    idle = run("read-card", "--reader", "sim://", "--timeout", "0.3")
    assert idle.exit_code == 1 and "No scan" in idle.output


def test_show(tmp_path):
    out = tmp_path / "led.txt"
    assert run("show", "--display", f"file://{out}", "HELLO").exit_code == 0
    assert run("show", "--display", f"file://{out}", "A023", "--counter", "3").exit_code == 0
    assert out.read_bytes() == b"TEXT HELLO\nSHOW A023 03\nBLINK 3\n"
    refused = run("show", "--display", f"file://{out}", "Quầy số 3")
    assert refused.exit_code == 2 and "ASCII" in refused.output
