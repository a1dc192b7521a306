"""SMS modem: the AT dialogue byte for byte on a pseudo-terminal, the +CMS ERROR codes, a modem that
stops answering mid-message, and the sim's scripted faults."""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import pytest

from devices.errors import DeviceConfigError
from devices.modem import (
    ModemOffline, ModemQueueFull, ModemTimeout, NoSignal, NoSim, SmsRejected, check_sms_text, open_modem,
)
from devices.modem_sim import AtModemSimulator
from tests.support.pty_modem import PtyModem

TEXT = "MOTCUA: Sap den luot so A023. Con 3 nguoi truoc ban."


class ScriptedModem:
    """The far end of a pty, driven step by step by the test: read what came, answer by hand."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.url = f"serial://{os.ttyname(self.slave)}?baudrate=115200&timeout=0.5&send_timeout=0.5"

    def expect(self, wanted: bytes, wait: float = 5.0) -> bytes:
        got = b""
        deadline = time.monotonic() + wait
        while not got.endswith(wanted) and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                got += os.read(self.master, 4096)
        assert got.endswith(wanted), got
        return got

    def answer(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


def _handshake(modem: ScriptedModem, echo: bool = True) -> None:
    """What ``open()`` says, answered like a Huawei E3372 with echo on until ATE0."""
    assert modem.expect(b"AT\r") == b"\x1b\rAT\r"  # ESC cancels a half-typed message first
    modem.answer(b"AT\r\r\nOK\r\n" if echo else b"\r\nOK\r\n")
    modem.expect(b"ATE0\r")
    modem.answer(b"ATE0\r\r\nOK\r\n" if echo else b"\r\nOK\r\n")
    for command in (b"AT+CMEE=1\r", b"AT+CMGF=1\r", b'AT+CSCS="IRA"\r'):
        assert modem.expect(command) == command
        modem.answer(b"\r\nOK\r\n")


def _run(fn):
    """Run the adapter in a thread while the test plays the modem."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            box["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


def test_text_mode_dialogue_byte_for_byte_on_a_pty():
    far = ScriptedModem()
    try:
        modem = open_modem(far.url)
        thread, box = _run(lambda: (modem.open(), modem.send_sms("+84912345678", TEXT)))
        _handshake(far)
        assert far.expect(b'AT+CMGS="+84912345678"\r') == b'AT+CMGS="+84912345678"\r'
        far.answer(b"\r\n> ")
        assert far.expect(b"\x1a") == TEXT.encode() + b"\x1a"
        far.answer(b"\r\n+CMGS: 17\r\n\r\nOK\r\n")
        thread.join(5)
        assert box == {"value": (None, 17)}
        modem.close()
    finally:
        far.close()


@pytest.mark.parametrize("code, error, retryable", [
    (310, NoSim, False), (331, NoSignal, True), (322, ModemQueueFull, True), (330, SmsRejected, False),
])
def test_cms_error_after_the_text_names_the_fault(code, error, retryable):
    far = ScriptedModem()
    try:
        modem = open_modem(far.url)
        thread, box = _run(lambda: (modem.open(), modem.send_sms("0912345678", TEXT)))
        _handshake(far, echo=False)
        far.expect(b'AT+CMGS="0912345678"\r')
        far.answer(b"\r\n> ")
        far.expect(b"\x1a")
        far.answer(f"\r\n+CMS ERROR: {code}\r\n".encode())
        thread.join(5)
        err = box["error"]
        assert type(err) is error and err.retryable is retryable and err.maybe_sent is False
        assert f"+CMS ERROR: {code}" in str(err)
        modem.close()
    finally:
        far.close()


def test_a_modem_that_stops_answering_mid_message_may_have_sent_it_and_is_reopened():
    far = ScriptedModem()
    try:
        modem = open_modem(far.url)
        handed = []
        thread, box = _run(lambda: (modem.open(), modem.send_sms("0912345678", TEXT, lambda: handed.append(1))))
        _handshake(far, echo=False)
        far.expect(b'AT+CMGS="0912345678"\r')
        far.answer(b"\r\n> ")
        far.expect(b"\x1a")  # and then: silence
        thread.join(5)
        err = box["error"]
        assert isinstance(err, ModemTimeout) and err.maybe_sent is True and err.retryable and handed == [1]
        # the next message starts over: ESC, AT, ATE0 … as after a re-plug
        thread, box = _run(lambda: modem.send_sms("0912345678", "lan 2"))
        _handshake(far, echo=False)
        far.expect(b'AT+CMGS="0912345678"\r')
        far.answer(b"\r\n> ")
        assert far.expect(b"\x1a") == b"lan 2\x1a"
        far.answer(b"\r\n+CMGS: 18\r\n\r\nOK\r\n")
        thread.join(5)
        assert box == {"value": 18}
        modem.close()
    finally:
        far.close()


def test_no_prompt_means_not_sent_and_a_failed_handoff_cancels_with_esc():
    far = ScriptedModem()
    try:
        modem = open_modem(far.url)
        thread, box = _run(lambda: (modem.open(), modem.send_sms("0912345678", TEXT)))
        _handshake(far, echo=False)
        far.expect(b'AT+CMGS="0912345678"\r')  # no "> "
        thread.join(5)
        assert isinstance(box["error"], ModemTimeout) and box["error"].maybe_sent is False

        def refuse():
            raise RuntimeError("database away")

        thread, box = _run(lambda: modem.send_sms("0912345678", TEXT, refuse))
        _handshake(far, echo=False)
        far.expect(b'AT+CMGS="0912345678"\r')
        far.answer(b"\r\n> ")
        assert far.expect(b"\x1b") == b"\x1b"  # cancelled: the text never went out
        thread.join(5)
        assert isinstance(box["error"], RuntimeError)
        modem.close()
    finally:
        far.close()


def test_the_simulator_on_a_pty_takes_messages_and_status():
    with PtyModem() as far:
        with open_modem(far.url) as modem:
            status = modem.status()
            assert (status.sim_ready, status.signal, status.registered) == (True, 21, True)
            assert modem.send_sms("+84912345678", TEXT) == 1
            assert modem.send_sms("0987654321", "hai") == 2
    assert [(s.to, s.text) for s in far.sim.sent] == [("+84912345678", TEXT), ("0987654321", "hai")]
    assert b"AT+CMGF=1\r" in far.received


def test_pty_simulator_stall_then_recovers_after_reopen():
    with PtyModem(AtModemSimulator(fault="stall", clear_after=1)) as far:
        modem = open_modem(far.url + "&timeout=0.3&send_timeout=0.3")
        with modem:
            with pytest.raises(ModemTimeout) as caught:
                modem.send_sms("0912345678", TEXT)
            assert caught.value.maybe_sent is True
            assert modem.send_sms("0912345678", TEXT) == 1
    assert len(far.sim.sent) == 1


@pytest.mark.parametrize("fault, error", [
    ("no_sim", NoSim), ("no_signal", NoSignal), ("queue_full", ModemQueueFull), ("offline", ModemOffline),
])
def test_sim_faults(fault, error):
    modem = open_modem(f"sim://?fault={fault}")
    with pytest.raises(error):
        modem.open()
        modem.send_sms("0912345678", TEXT)
    modem.close()


def test_sim_status_reports_no_sim_and_no_signal():
    with open_modem("sim://?fault=no_signal") as modem:
        assert modem.status().signal is None and modem.status().registered is False
    with open_modem("sim://?fault=no_sim") as modem:
        assert modem.status().sim_ready is False


def test_sim_fault_after_and_clear_after():
    with open_modem("sim://?fault=queue_full&after=1&clear_after=1") as modem:
        assert modem.send_sms("0912345678", "1") == 1
        with pytest.raises(ModemQueueFull):
            modem.send_sms("0912345678", "2")
        assert modem.send_sms("0912345678", "3") == 2
        assert [s.text for s in modem.sent] == ["1", "3"]


def test_sim_stall_times_out_quickly_and_the_log_records_only_accepted(tmp_path):
    log = tmp_path / "sms.jsonl"
    with open_modem(f"sim://?fault=stall&clear_after=1&timeout=0.05&send_timeout=0.05&log={log}") as modem:
        with pytest.raises(ModemTimeout):
            modem.send_sms("0912345678", "mot")
        modem.send_sms("0912345678", "hai")
    assert log.read_text().count("\n") == 1 and '"hai"' in log.read_text()


@pytest.mark.parametrize("text", ["Sắp đến lượt", "x" * 161, "", "a[b]", "tab\t"])
def test_text_that_is_not_one_gsm_sms_is_refused_not_mangled(text):
    with pytest.raises(ValueError):
        check_sms_text(text)
    with open_modem("sim://") as modem:
        with pytest.raises(ValueError):
            modem.send_sms("0912345678", text)
        assert modem.sent == []


@pytest.mark.parametrize("url", ["sim://?fault=paper_out", "sim://?colour=red", "tcp://10.0.0.1:1", "usb://04b8:0202"])
def test_bad_modem_urls_are_configuration_errors(url):
    with pytest.raises(DeviceConfigError):
        open_modem(url)
