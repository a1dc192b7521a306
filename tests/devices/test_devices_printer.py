"""Receipt printer: exact bytes, QR in the bytes, scripted faults, recovery, real TCP transport."""

from __future__ import annotations

import socket
import threading

import pytest
from pyzbar.pyzbar import decode

from devices import errors
from devices.printer import PrinterStatus, ReceiptPrinter, open_printer
from tests.devices.cases import GOLDEN_CASES, print_job

CUT = b"\x1bd\x06\x1dV\x00"  # feed 6 lines, full cut


def printed(url: str, view_name: str, view) -> bytes:
    printer = open_printer(url)
    with printer:
        getattr(printer, f"print_{view_name}")(view)
    return printer.backend.output


# -- exact bytes ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_bytes_match_golden(golden, name):
    url, kind = GOLDEN_CASES[name]
    assert print_job(url, kind) == golden(name)


def test_golden_output_is_deterministic():
    assert print_job("sim://", "ticket") == print_job("sim://", "ticket")


def test_file_backend_writes_the_same_bytes_as_sim(ticket, tmp_path):
    out = tmp_path / "printer.bin"
    with open_printer(f"file://{out}") as printer:
        sent = printer.print_ticket(ticket)
        assert printer.status() == PrinterStatus(online=None, paper="unknown")
    assert out.read_bytes() == printed("sim://", "ticket", ticket)
    assert sent == out.stat().st_size  # the status query wrote nothing to the file


def test_job_framing(ticket, track_url):
    job = printed("sim://", "ticket", ticket)
    assert job.startswith(b"\x1b@\x1dv0\x00")  # initialise, then a raster image
    assert job.endswith(CUT)
    payload = track_url.encode()
    # native QR: GS ( k pL pH 49 80 48 <data> (store), then GS ( k ... 49 81 48 (print)
    store = b"\x1d(k" + (len(payload) + 3).to_bytes(2, "little") + b"1P0" + payload
    assert store in job and b"\x1d(k\x03\x001Q0" in job


@pytest.mark.parametrize("url", ["sim://?qr=image", "sim://?paper=58&profile=POS-5890"])
def test_image_qr_in_the_bytes_decodes_to_the_url(ticket, raster_images, track_url, url):
    job = printed(url, "ticket", ticket)
    assert b"\x1d(k" not in job  # no native QR command
    symbols = decode(raster_images(job))
    assert [s.data.decode() for s in symbols] == [track_url]


# -- status and faults ---------------------------------------------------------------------

def test_status_of_a_healthy_and_a_low_paper_printer(ticket):
    with open_printer("sim://") as printer:
        assert printer.status() == PrinterStatus(online=True, paper="ok")
    with open_printer("sim://?fault=paper_low") as printer:
        assert printer.status() == PrinterStatus(online=True, paper="low")
        printer.print_ticket(ticket)  # low paper still prints
        assert printer.backend.output.endswith(CUT)


@pytest.mark.parametrize("fault, error, retryable, code", [
    ("offline", errors.PrinterOffline, True, "printer.offline"),
    ("timeout", errors.PrinterTimeout, True, "printer.timeout"),
])
def test_transport_faults_on_open(fault, error, retryable, code):
    printer = open_printer(f"sim://?fault={fault}")
    with pytest.raises(error) as info:
        printer.open()
    assert info.value.retryable is retryable and info.value.code == code
    assert isinstance(info.value, errors.DeviceError)
    assert info.value.__cause__ is not None  # translated from a library exception
    assert info.value.url == f"sim://?fault={fault}"


def test_paper_out_is_not_retryable_and_prints_nothing(ticket):
    printer = open_printer("sim://?fault=paper_out")
    with printer:
        with pytest.raises(errors.PaperOut) as info:
            printer.print_ticket(ticket)
        assert printer.status().paper == "out"
    assert info.value.retryable is False
    assert info.value.key == "printer.paper_out"
    assert printer.backend.output == b""


@pytest.mark.parametrize("fault, error", [("offline", errors.PrinterOffline),
                                          ("timeout", errors.PrinterTimeout)])
def test_printer_lost_mid_session_then_comes_back(ticket, fault, error):
    # ops: open(1), status(2), write(3) succeed; the next two fail; then it is back.
    printer = open_printer(f"sim://?fault={fault}&after=3&clear_after=2")
    printer.open()
    printer.print_ticket(ticket)
    for _ in range(2):
        with pytest.raises(error):
            printer.print_ticket(ticket)
    printer.print_ticket(ticket)  # same object, no restart
    one = printed("sim://", "ticket", ticket)
    assert printer.backend.output == one + one


def test_printer_offline_at_start_is_used_once_it_comes_back(ticket):
    printer = open_printer("sim://?fault=offline&clear_after=2")
    with pytest.raises(errors.PrinterOffline):
        printer.open()
    with pytest.raises(errors.PrinterOffline):
        printer.print_ticket(ticket)
    printer.print_ticket(ticket)
    assert printer.backend.output == printed("sim://", "ticket", ticket)


def test_paper_refilled_is_used_again(ticket):
    with open_printer("sim://?fault=paper_out&clear_after=1") as printer:
        with pytest.raises(errors.PaperOut):
            printer.print_ticket(ticket)
        printer.print_ticket(ticket)
        assert printer.backend.output.count(CUT) == 1


def test_printing_before_open_is_an_error(ticket):
    with pytest.raises(errors.PrinterError, match="open"):
        open_printer("sim://").print_ticket(ticket)


def test_image_wider_than_profile_is_a_layout_error(ticket):
    with open_printer("sim://?profile=TM-T88V") as printer:  # 512 dots, paper says 576
        with pytest.raises(errors.LayoutError) as info:
            printer.print_ticket(ticket)
    assert info.value.retryable is False


def test_cut_alone():
    with open_printer("sim://") as printer:
        printer.cut()
        assert printer.backend.output == CUT


# -- configuration -------------------------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("lpt://x", "unknown scheme"),
    ("sim://?paper=76", "paper"),
    ("sim://?fault=on_fire", "fault"),
    ("sim://?colour=red", "unknown parameter"),
    ("sim://?profile=NoSuchPrinter", "profile"),
    ("sim://?qr=maybe", "qr"),
    ("usb://04b8", "VID:PID"),
    ("serial:///dev/ttyUSB0?baudrate=fast", "baudrate"),
    ("tcp://:9100", "host"),
])
def test_bad_urls_are_config_errors_naming_the_url(url, message):
    with pytest.raises(errors.DeviceConfigError, match=message) as info:
        open_printer(url)
    assert url in str(info.value)
    assert info.value.retryable is False


def test_usb_without_pyusb_fails_clearly():
    pytest.importorskip("escpos")
    from devices import _escpos

    if _escpos.Usb.is_usable():
        pytest.skip("pyusb is installed here")
    with pytest.raises(errors.DeviceDependencyMissing, match="pyusb"):
        ReceiptPrinter("usb://04b8:0e15")


def test_construction_does_no_io(tmp_path):
    target = tmp_path / "never.bin"
    open_printer(f"file://{target}")
    assert not target.exists()


# -- a real socket: tcp:// ----------------------------------------------------------------

class FakeNetworkPrinter:
    """A port-9100 printer on localhost that stores what it receives."""

    def __init__(self, port: int = 0, answer_status: bool = True) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.answer_status = answer_status
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            while chunk := conn.recv(65536):
                if chunk in (b"\x10\x04\x01", b"\x10\x04\x04"):
                    if self.answer_status:
                        conn.sendall(b"\x12")
                    continue
                self.received += chunk

    def stop(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


def test_tcp_printer_receives_the_exact_job_and_comes_back(ticket):
    server = FakeNetworkPrinter()
    port = server.port
    url = f"tcp://127.0.0.1:{port}?timeout=5"
    printer = open_printer(url)
    with printer:
        assert printer.status() == PrinterStatus(online=True, paper="ok")
        printer.print_ticket(ticket)
        printer.close()
        server.stop()
        assert bytes(server.received) == printed("sim://", "ticket", ticket)
        with pytest.raises(errors.PrinterOffline):
            printer.open()  # nobody listening now
        server = FakeNetworkPrinter(port)  # switched back on
        printer.print_ticket(ticket)
        printer.close()
    server.stop()
    assert bytes(server.received) == printed("sim://", "ticket", ticket)


def test_tcp_printer_that_never_answers_status_times_out():
    server = FakeNetworkPrinter(answer_status=False)
    try:
        printer = open_printer(f"tcp://127.0.0.1:{server.port}?timeout=0.2")
        with printer, pytest.raises(errors.PrinterTimeout) as info:
            printer.status()
        assert info.value.retryable is True
    finally:
        server.stop()
