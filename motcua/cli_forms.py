"""``motcua form CODE NUMBER`` and ``motcua form book SITE``: print or save a 2025 form.

For an official at a counter whose terminal prints locally, and for a director's desk: the form
goes to a receipt printer by URL (``--printer usb://04b8:0202``, ``file:///dev/usb/lp0``,
``sim://``) or to a PNG file (``--png FILE``); the book also to an A4 worksheet (``--xlsx FILE``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Optional

import typer

form_app = typer.Typer(no_args_is_help=True, help="The forms of Thông tư 03/2025/TT-VPCP (Mẫu 01–07)")


def _fail(err: Exception) -> typer.Exit:
    typer.echo(f"motcua: {err}", err=True)
    return typer.Exit(2)


def _output(blocks_for, image, png: Optional[Path], printer: Optional[str]) -> None:
    if png is None and printer is None:
        raise _fail(ValueError("say where the form goes: --png FILE and/or --printer URL"))
    if png is not None:
        image.save(png, format="PNG")
        typer.echo(f"saved {png}")
    if printer is not None:
        from devices.errors import DeviceError
        from devices.printer import open_printer

        try:
            with open_printer(printer) as p:
                sent = p.print_blocks(blocks_for(p.paper))
        except DeviceError as err:
            raise _fail(err) from err
        typer.echo(f"printed {sent} bytes on {printer}")


@form_app.command("print")
def print_form(
    code: str = typer.Argument(..., help="the dossier code"),
    number: str = typer.Argument(..., help="01 slip, 02 supplement, 03 refusal, 04 apology, 05 stop, 06 control"),
    png: Optional[Path] = typer.Option(None, "--png", help="save the form as a PNG file"),
    printer: Optional[str] = typer.Option(None, "--printer", help="receipt printer URL (usb://, tcp://, sim://…)"),
    paper: int = typer.Option(80, "--paper", help="paper width of the PNG, mm (80 or 58)"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file"),
) -> None:
    """Print (or save) one dossier's form 01–06."""
    from devices.forms import form_blocks
    from devices.layout import apology_blocks, flatten, paper_width, slip_blocks
    from motcua.cli import _database, _settings
    from server.domain.errors import DomainError
    from server.storage import forms
    from server.storage.dossier_store import DossierStore

    if paper not in (58, 80):
        raise _fail(ValueError("--paper must be 58 or 80"))
    settings = _settings(config)
    db = _database(settings)
    try:
        store = DossierStore(db, public_url=settings.public_url)
        try:
            if number == "01":
                view, blocks = store.slip_view(code), slip_blocks
            elif number == "04":
                view, blocks = store.apology_view(code), apology_blocks
            elif number in forms.DOSSIER_FORMS:
                view, blocks = forms.dossier_form(store, code, number), form_blocks
            else:
                raise _fail(ValueError(f"form {number!r} is not one of 01–06 (the book: motcua form book)"))
        except DomainError as err:
            raise _fail(err) from err
    finally:
        db.close()
    _output(lambda p: blocks(view, p), flatten(blocks(view, paper), paper_width(paper)), png, printer)


@form_app.command("book")
def book(
    site: str = typer.Argument(..., help="the site id"),
    date_from: str = typer.Option(..., "--from", help="first day, YYYY-MM-DD"),
    date_to: str = typer.Option(..., "--to", help="last day, YYYY-MM-DD"),
    png: Optional[Path] = typer.Option(None, "--png", help="save A4 pages as FILE, FILE-2, … (PNG)"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="save the A4 worksheet (Excel)"),
    printer: Optional[str] = typer.Option(None, "--printer", help="print the list on a receipt printer"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file"),
) -> None:
    """Mẫu 07, the tracking book of a period: A4 PNG pages, an Excel sheet, or a receipt list."""
    from devices.forms import book_blocks, render_book_a4
    from motcua.cli import _database, _settings
    from server.domain.errors import DomainError
    from server.storage import forms
    from server.storage.dossier_store import DossierStore

    try:
        first, last = date.fromisoformat(date_from), date.fromisoformat(date_to)
    except ValueError as err:
        raise _fail(ValueError(f"--from and --to are days written YYYY-MM-DD ({err})")) from err
    if png is None and xlsx is None and printer is None:
        raise _fail(ValueError("say where the book goes: --png FILE, --xlsx FILE and/or --printer URL"))
    settings = _settings(config)
    db = _database(settings)
    try:
        try:
            view = forms.book_view(DossierStore(db, public_url=settings.public_url), site, first, last)
        except DomainError as err:
            raise _fail(err) from err
    finally:
        db.close()
    if xlsx is not None:
        xlsx.write_bytes(forms.book_xlsx(view))
        typer.echo(f"saved {xlsx}")
    if png is not None:
        for n, page in enumerate(render_book_a4(view), 1):
            target = png if n == 1 else png.with_name(f"{png.stem}-{n}{png.suffix}")
            page.save(target, format="PNG")
            typer.echo(f"saved {target}")
    if printer is not None:
        _output(lambda p: book_blocks(view, p), None, None, printer)
