"""LED counter display: the line protocol, its sim, a file and a pseudo-terminal transport."""

from __future__ import annotations

import os
import tty

import pytest

from devices import errors
from devices.display import DisplayOffline, DisplayTimeout, open_display


def test_new_call_blinks_and_refresh_does_not():
    with open_display("sim://") as display:
        display.show_call("A023", 3)
        display.show_call("A023", 3, new=False)
        display.brightness(7)
        display.clear()
        display.text("HELLO 123")
        assert display.frames == ["SHOW A023 03", "BLINK 3", "SHOW A023 03", "BRIGHT 7",
                                  "CLEAR", "TEXT HELLO 123"]


@pytest.mark.parametrize("call", [
    lambda d: d.show_call("a023", 3),
    lambda d: d.show_call("A0234567", 3),
    lambda d: d.show_call("A023", 0),
    lambda d: d.show_call("A023", 100),
    lambda d: d.brightness(10),
    lambda d: d.text("Quầy số 3"),  # no Vietnamese glyphs on LEDs: refused, not stripped
    lambda d: d.text("X" * 17),
])
def test_invalid_frames_are_refused_and_nothing_is_sent(call):
    with open_display("sim://") as display:
        with pytest.raises(ValueError):
            call(display)
        assert display.frames == []


def test_file_display_writes_the_exact_bytes(tmp_path):
    out = tmp_path / "led.txt"
    with open_display(f"file://{out}") as display:
        display.show_call("B105", 12)
    assert out.read_bytes() == b"SHOW B105 12\nBLINK 3\n"


def test_serial_display_over_a_pseudo_terminal():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with open_display(f"serial://{os.ttyname(slave)}?baudrate=19200") as display:
            display.show_call("A023", 3)
            assert os.read(master, 100) == b"SHOW A023 03\nBLINK 3\n"
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("fault, error", [("offline", DisplayOffline), ("timeout", DisplayTimeout)])
def test_display_faults_and_recovery(fault, error):
    display = open_display(f"sim://?fault={fault}&after=2&clear_after=1")
    display.open()  # op 1
    display.clear()  # op 2
    with pytest.raises(error) as info:
        display.show_call("A024", 3)
    assert info.value.retryable and info.value.__cause__ is not None
    display.show_call("A024", 3)  # reconnects, fault cleared
    assert display.frames == ["CLEAR", "SHOW A024 03", "BLINK 3"]
    display.close()


def test_display_config_errors():
    with pytest.raises(errors.DeviceConfigError, match="port"):
        open_display("tcp://10.0.0.7")
    with pytest.raises(errors.DeviceConfigError, match="fault"):
        open_display("sim://?fault=paper_out")
    with pytest.raises(errors.DeviceConfigError, match="usb"):
        open_display("usb://04b8:0202")
