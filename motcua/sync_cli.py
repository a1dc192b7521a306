"""``motcua sync …``: run at a site, about its up-sync to the province.

``status`` prints the lag (what ``motcua doctor`` shows); ``rebase`` re-chains a site restored from
an older backup onto what the province holds, so that its new events are taken again
(docs/province.md, "A site restored from a backup").
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

sync_app = typer.Typer(no_args_is_help=True, help="At a site: its up-sync to the province (lag, re-basing after a restore)")
ConfigOpt = typer.Option(None, "--config", help="TOML settings file (MOTCUA_* variables override it)")


def _open(config: Optional[Path], need_province: bool):
    from motcua.cli import _database, _settings

    settings = _settings(config)
    if settings.role != "site":
        typer.echo("motcua: this runs at a site (MOTCUA_ROLE=site)", err=True)
        raise typer.Exit(2)
    if need_province and not (settings.province_url and settings.province_key):
        typer.echo("motcua: set MOTCUA_PROVINCE_URL and MOTCUA_PROVINCE_KEY (as the site's server has them)", err=True)
        raise typer.Exit(2)
    return settings, _database(settings)


@sync_app.command("status")
def status(config: Optional[Path] = ConfigOpt) -> None:
    """How far the province is behind this site."""
    from server.storage import journal

    settings, db = _open(config, need_province=False)
    try:
        with db.read() as conn:
            lag = journal.lag(conn, settings.site)
            head_seq, _ = journal.head(conn, settings.site)
    finally:
        db.close()
    line = f"{settings.site}: journal at seq {head_seq}, province acknowledged {lag.acked_seq}, {lag.pending} pending"
    if lag.since:
        line += f" since {lag.since:%Y-%m-%d %H:%M} UTC"
    if lag.error:
        line += f"; last error: {lag.error}"
    typer.echo(line)


@sync_app.command("rebase")
def rebase(config: Optional[Path] = ConfigOpt) -> None:
    """After a restore from an older backup: re-chain this site's new events after the province's.

    Safe while the server runs. Then, at the province: motcua province clear SITE.
    """
    from server.sync.sender import SyncError, UpSync, rebase as do_rebase

    settings, db = _open(config, need_province=True)
    sync = UpSync(db, settings.site, settings.province_url, settings.province_key)
    try:
        done = do_rebase(sync)
    except SyncError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(1) from err
    finally:
        if sync._client is not None:
            sync._client.close()
        db.close()
    site = settings.site
    if done is None:
        typer.echo(f"{site}: not forked — the site's journal contains what the province holds; nothing to do")
        return
    typer.echo(f"{site}: the site and the province share events 1–{done.fork_seq}; "
               f"{done.province_seq - done.fork_seq} events ({done.fork_seq + 1}–{done.province_seq}) exist only at "
               f"the province and stay there; a re-base marker is seq {done.first_seq} and the site's {done.moved} "
               f"later events are now {done.first_seq + 1}–{done.last_seq}.")
    typer.echo(f"Now, at the province: motcua province clear {site}")


def register(app: typer.Typer) -> None:
    app.add_typer(sync_app, name="sync")
