"""Card/QR readers: framing, a real pseudo-terminal as the serial port, unplug and replug."""

from __future__ import annotations

import os
import tty
from urllib.parse import quote

import pytest

from devices import errors
from devices.cccd import CardScanned, ScanRejected, TextScanned
from devices.reader import ByteFramer, ReaderOffline, WedgeFeeder, open_reader

CARD = "011080004321||Hồ Chừ Dung|01011980|Nam|Xã Phình Hồ, tỉnh Điện Biên|10052022"
TICKET_QR = "https://motcua.example.vn/t/q7Xk2mP9vR4sT8wY1zB3cD5eF"


def drain(reader, attempts: int = 20) -> list:
    """Read until the reader has been idle once; bounded so a bug cannot hang the test."""
    events = []
    for _ in range(attempts):
        event = reader.read(0.3)
        if event is None:
            break
        events.append(event)
    return events


@pytest.fixture
def pty_port():
    """A pseudo-terminal: write to ``master`` what a scanner would send on ``path``."""
    master, slave = os.openpty()
    tty.setraw(slave)
    state = {"master": master, "slave": slave, "path": os.ttyname(slave)}
    yield state
    for fd in (state["master"], state["slave"]):
        try:
            os.close(fd)
        except OSError:
            pass


# -- framing (pure) ------------------------------------------------------------------------

def test_framer_splits_on_cr_lf_and_across_chunks():
    framer = ByteFramer()
    data = (CARD + "\r\n" + TICKET_QR + "\n").encode()
    events = []
    for i in range(0, len(data), 7):
        events += framer.feed(data[i:i + 7])
    assert [type(e) for e in events] == [CardScanned, TextScanned]
    assert events[1].text == TICKET_QR


def test_framer_bounds_memory_on_an_endless_line():
    framer = ByteFramer(max_line=256)
    events = []
    for _ in range(100):
        events += framer.feed(b"x" * 100)
        assert len(framer._buf) <= 256
    events += framer.feed(b"tail\n" + TICKET_QR.encode() + b"\n")
    assert events == [ScanRejected("too_long"), TextScanned(TICKET_QR)]


def test_framer_invalid_utf8_and_idle_flush():
    framer = ByteFramer()
    assert framer.feed(b"\xff\xfe\xc3(\n") == [ScanRejected("bad_encoding")]
    assert framer.feed(TICKET_QR.encode()) == []  # no terminator yet
    assert framer.flush() == [TextScanned(TICKET_QR)]


def test_wedge_feeder_key_by_key():
    feeder = WedgeFeeder()
    events = []
    for ch in CARD + "\n":
        events += feeder.feed(ch)
    assert len(events) == 1 and isinstance(events[0], CardScanned)
    assert events[0].card.masked_name == "H** C** D**"
    assert feeder.feed("\n\r\n") == []  # blank lines are not scans
    assert feeder.feed(TICKET_QR + "\r") == [TextScanned(TICKET_QR)]


# -- sim -------------------------------------------------------------------------------------

def test_sim_reader_plays_scripted_scans():
    url = f"sim://?scans={quote(TICKET_QR + chr(10) + CARD)}"
    with open_reader(url) as reader:
        events = drain(reader)
    assert events[0] == TextScanned(TICKET_QR)
    assert isinstance(events[1], CardScanned) and events[1].card.id_number == "011080004321"
    assert len(events) == 2


def test_sim_reader_offline_then_back():
    reader = open_reader("sim://?fault=offline&clear_after=1")
    with pytest.raises(ReaderOffline) as info:
        reader.open()
    assert info.value.retryable and isinstance(info.value, errors.DeviceOffline)
    reader.push(TICKET_QR.encode() + b"\n")
    assert reader.read(2.0) == TextScanned(TICKET_QR)  # reconnected inside read()


def test_reader_config_errors():
    with pytest.raises(errors.DeviceConfigError, match="tcp"):
        open_reader("tcp://10.0.0.5:9100")
    with pytest.raises(errors.DeviceConfigError, match="max_line"):
        open_reader("serial:///dev/ttyACM0?max_line=1")


# -- a real serial line (pseudo-terminal) -------------------------------------------------

def test_serial_reader_survives_garbage(pty_port):
    reader = open_reader(f"serial://{pty_port['path']}?max_line=2048")
    with reader:
        os.write(pty_port["master"], b"\x00\x01garbage\xff\xfe\x80\n")
        os.write(pty_port["master"], b"y" * 10_240 + b"\n")  # a 10 kB line
        os.write(pty_port["master"], CARD.encode()[:20] + b"\n")  # partial card
        os.write(pty_port["master"], (CARD + "\r\n").encode())
        os.write(pty_port["master"], TICKET_QR.encode())  # no terminator: idle gap ends it
        events = drain(reader)
    assert events[:3] == [ScanRejected("bad_encoding"), ScanRejected("too_long"),
                          ScanRejected("field_count")]
    assert isinstance(events[3], CardScanned)
    assert events[4:] == [TextScanned(TICKET_QR)]


def test_serial_reader_does_not_block_on_a_line_that_never_ends(pty_port):
    with open_reader(f"serial://{pty_port['path']}?line_idle=5") as reader:
        os.write(pty_port["master"], b"0110800043|partial")
        assert reader.read(0.2) is None  # returns at its timeout with the scan still pending


def test_serial_reader_unplug_and_replug(pty_port):
    reader = open_reader(f"serial://{pty_port['path']}")
    reader.open()
    os.write(pty_port["master"], (TICKET_QR + "\n").encode())
    assert reader.read(1.0) == TextScanned(TICKET_QR)
    os.close(pty_port["master"])  # unplug: the device node goes away
    os.close(pty_port["slave"])
    with pytest.raises(ReaderOffline):
        reader.read(0.3)
    assert reader.connected is False
    # replug: a new pseudo-terminal; reuse its path for the reader (the kernel usually does)
    master, slave = os.openpty()
    tty.setraw(slave)
    pty_port.update(master=master, slave=slave)
    if os.ttyname(slave) != pty_port["path"]:
        pytest.skip("the kernel gave the new pseudo-terminal another name")
    for _ in range(20):  # reconnect happens inside read(); at most every 0.5 s
        try:
            reader.read(0.3)
        except ReaderOffline:
            continue
        if reader.connected:
            break
    assert reader.connected
    os.write(master, (CARD + "\n").encode())
    event = reader.read(1.0)
    assert isinstance(event, CardScanned)
    reader.close()


def test_read_before_open_is_an_error():
    with pytest.raises(ReaderOffline, match="open"):
        open_reader("sim://").read(0.1)
