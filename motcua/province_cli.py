"""``motcua province …``: run at the province, against its PostgreSQL database.

``register SITE --name …`` prints the site's key once (set it as ``MOTCUA_PROVINCE_KEY`` at the
site); ``rotate-key SITE`` prints a new one (the old one keeps working for ``--grace-hours``);
``status`` lists each site's held head, its last refused gap and a broken chain; ``clear SITE``
lifts a flag once the operator has dealt with the site.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Optional

import typer

province_app = typer.Typer(no_args_is_help=True, help="The province tier: registered sites, keys, sync status")
ConfigOpt = typer.Option(None, "--config", help="TOML settings file (MOTCUA_* variables override it)")


def _store(config: Optional[Path]):
    from motcua.cli import _database, _settings
    from server.sync.province import ProvinceStore

    settings = _settings(config)
    db = _database(settings)
    return db, ProvinceStore(db)


def _fail(err: Exception) -> None:
    typer.echo(f"motcua: {err}", err=True)
    raise typer.Exit(2) from err


@province_app.command("register")
def register_site(site: str, name: str = typer.Option(..., "--name", help="the centre's name"),
                  config: Optional[Path] = ConfigOpt) -> None:
    """Register a site; prints its key (once): set MOTCUA_PROVINCE_KEY to it at the site."""
    from server.domain.errors import DomainError

    db, store = _store(config)
    try:
        typer.echo(store.register(site, name))
    except DomainError as err:
        _fail(err)
    finally:
        db.close()


@province_app.command("rotate-key")
def rotate_key(site: str, grace_hours: float = typer.Option(24.0, help="hours the old key still signs"),
               config: Optional[Path] = ConfigOpt) -> None:
    """A new key for SITE (printed once); the old one keeps working for --grace-hours."""
    from server.domain.errors import DomainError

    db, store = _store(config)
    try:
        typer.echo(store.rotate_key(site, grace=timedelta(hours=grace_hours)))
    except DomainError as err:
        _fail(err)
    finally:
        db.close()


@province_app.command("clear")
def clear(site: str, config: Optional[Path] = ConfigOpt) -> None:
    """Lift SITE's broken-chain or gap flag (after dealing with the site: docs/province.md)."""
    from server.domain.errors import DomainError

    db, store = _store(config)
    try:
        store.clear(site)
    except DomainError as err:
        _fail(err)
    finally:
        db.close()
    typer.echo(f"{site}: flag cleared")


@province_app.command("status")
def status(config: Optional[Path] = ConfigOpt) -> None:
    """One line per site: events held, last sync, and a gap or broken chain if any."""
    db, store = _store(config)
    try:
        rows = store.sites()
    finally:
        db.close()
    for r in rows:
        when = r["synced_at"].strftime("%Y-%m-%d %H:%M:%S UTC") if r["synced_at"] else "never"
        line = f"{r['site']}: {r['head_seq']} events, last sync {when}"
        if r["broken"]:
            line += f"; CHAIN BROKEN: {r['broken']}"
        elif r["gap"]:
            line += f"; gap refused: {r['gap']}"
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.add_typer(province_app, name="province")
