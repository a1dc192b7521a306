"""``motcua devices …``: on-site checks an installer runs against each device.

Exit codes: 0 ok, 1 the device failed (message says whether retrying can help),
2 the URL or an argument is wrong.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer

from .cccd import CardScanned, ScanRejected, TextScanned
from .errors import DeviceConfigError, DeviceError

app = typer.Typer(help="Check receipt printers, card readers, counter displays and SMS modems.", no_args_is_help=True)

TEST_URL = "https://motcua.example.vn/t/kiem-tra-may-in"


def _fail(err: Exception) -> typer.Exit:
    if isinstance(err, DeviceConfigError):
        typer.secho(f"Configuration error: {err}", err=True, fg="red")
        return typer.Exit(2)
    if isinstance(err, DeviceError):
        hint = "retrying may help" if err.retryable else "someone must fix this first"
        typer.secho(f"{err.code}: {err} ({hint})", err=True, fg="red")
        return typer.Exit(1)
    typer.secho(f"Error: {err}", err=True, fg="red")
    return typer.Exit(2)


@app.command("print-test")
def print_test(printer: Annotated[str, typer.Option(help="Printer URL, e.g. tcp://10.0.0.5:9100")]) -> None:
    """Print a test ticket with Vietnamese text and a QR code."""
    from .layout import TicketView
    from .printer import open_printer

    view = TicketView(
        centre="Kiểm tra máy in — Trung tâm Phục vụ hành chính công",
        number="A000", service_vi="Đăng ký khai sinh", service_en="Printer test",
        issued_at=datetime.now().replace(microsecond=0), ahead=0, est_wait_s=0,
        track_url=TEST_URL, footer="Quầy số 3 · ắằẳẵặ ếềểễệ ốồổỗộ ướừửữự")
    try:
        device = open_printer(printer)
        with device:
            status = device.status()
            typer.echo(f"status: online={status.online} paper={status.paper}")
            sent = device.print_ticket(view)
    except (DeviceError, ValueError) as err:
        raise _fail(err) from err
    typer.secho(f"OK: printed a test ticket ({sent} bytes) on {printer}", fg="green")


@app.command("read-card")
def read_card(
    reader: Annotated[str, typer.Option(help="Reader URL, e.g. serial:///dev/ttyACM0")],
    timeout: Annotated[float, typer.Option(help="Seconds to wait for a scan")] = 30.0,
) -> None:
    """Wait for one scan and say what it was (personal data masked)."""
    from .reader import open_reader

    try:
        device = open_reader(reader)
        with device:
            typer.echo(f"Scan a CCCD or a ticket QR within {timeout:g} s…")
            deadline = time.monotonic() + timeout
            event = None
            while event is None and time.monotonic() < deadline:
                event = device.read(min(1.0, max(0.0, deadline - time.monotonic())))
    except (DeviceError, ValueError) as err:
        raise _fail(err) from err
    if isinstance(event, CardScanned):
        card = event.card
        typer.secho(f"OK: CCCD {card.masked_name}, {card.sex}, born {card.birth_date.year}", fg="green")
    elif isinstance(event, TextScanned):
        typer.secho(f"OK: scanned text {event.text!r}", fg="green")
    elif isinstance(event, ScanRejected):
        typer.secho(f"Scan rejected: {event.reason}", err=True, fg="red")
        raise typer.Exit(1)
    else:
        typer.secho(f"No scan within {timeout:g} s", err=True, fg="red")
        raise typer.Exit(1)


@app.command("show")
def show(
    display: Annotated[str, typer.Option(help="Display URL, e.g. serial:///dev/ttyUSB1")],
    text: Annotated[str, typer.Argument(help="Text (ASCII), or a ticket number with --counter")],
    counter: Annotated[int | None, typer.Option(help="Show TEXT as a call to this counter")] = None,
) -> None:
    """Show a text, or a call (ticket + counter, blinking), on an LED counter display."""
    from .display import open_display

    try:
        device = open_display(display)
        with device:
            if counter is None:
                device.text(text)
            else:
                device.show_call(text, counter)
    except (DeviceError, ValueError) as err:
        raise _fail(err) from err
    typer.secho(f"OK: sent to {display}", fg="green")


SMS_TEST_TEXT = "MOTCUA: tin nhan thu tu may chu Trung tam. Modem SMS hoat dong tot."


@app.command("sms-test")
def sms_test(
    modem: Annotated[str, typer.Option(help="Modem URL, e.g. serial:///dev/ttyUSB2?baudrate=115200")],
    to: Annotated[str, typer.Option(help="A phone to receive the test, e.g. 0912345678")],
) -> None:
    """Show the modem's SIM, signal and network, then send one test SMS."""
    from .modem import open_modem

    try:
        device = open_modem(modem)
        with device:
            status = device.status()
            signal = "none" if status.signal is None else f"{status.signal}/31"
            typer.echo(f"status: sim={'ready' if status.sim_ready else 'MISSING'} signal={signal} "
                       f"network={'registered' if status.registered else 'NOT registered'}")
            reference = device.send_sms(to, SMS_TEST_TEXT)
    except (DeviceError, ValueError) as err:
        raise _fail(err) from err
    typer.secho(f"OK: the modem accepted the test SMS (reference {reference}) on {modem}", fg="green")
