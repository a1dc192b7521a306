"""``motcua history import FILE --site SITE [--dry-run]``: bring in a centre's existing register."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

history_app = typer.Typer(no_args_is_help=True, help="A centre's past dossiers (its old register)")


@history_app.command("import")
def import_(
    file: Path = typer.Argument(..., help="the register as .xlsx or .csv (Sổ theo dõi hồ sơ)"),
    site: str = typer.Option(..., "--site", help="the site the dossiers belong to"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check every row and list refusals; write nothing"),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML settings file"),
) -> None:
    """Import the register: every row refused is listed with its reason; re-running adds nothing."""
    from motcua.cli import _database, _settings
    from server.domain.errors import DomainError
    from server.storage.dossier_store import DossierStore
    from server.storage.history_import import RegisterError, import_register

    settings = _settings(config)
    db = _database(settings)
    try:
        store = DossierStore(db, public_url=settings.public_url)
        try:
            result = import_register(store, site, file, dry_run=dry_run)
        except (RegisterError, DomainError) as err:
            typer.echo(f"motcua: {err}", err=True)
            raise typer.Exit(2) from err
    finally:
        db.close()
    for r in result.refused:
        typer.echo(f"dòng {r['row']}: {r['MaHoSo'] or '—'}: {r['code']}: {r['message']}")
    verb = "would be" if dry_run else "were"
    typer.echo(f"{result.rows} rows: {result.created} {verb} created, {result.updated} {verb} updated, "
               f"{result.unchanged} already there, {len(result.refused)} refused"
               + (" (dry run: nothing written)" if dry_run else ""))
    if result.refused:
        raise typer.Exit(1)
