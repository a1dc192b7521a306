"""``motcua token``: list, issue and revoke bearer tokens (device tokens and staff sessions).

A revocation is a row in the database, which the running server reads on every request: the token
answers 401 ``token_revoked`` on its very next use, without restarting anything. Tokens themselves
are never shown again after they are issued (only their SHA-256 is stored).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

token_app = typer.Typer(no_args_is_help=True, help="Device tokens and staff sessions: list, issue, revoke")
ConfigOpt = typer.Option(None, "--config", help="TOML settings file (MOTCUA_* variables override it)")


def register(app: typer.Typer) -> None:
    app.add_typer(token_app, name="token")


def _store(config: Optional[Path]):
    from motcua.cli import _database, _settings
    from server.auth import AuthStore

    return AuthStore(_database(_settings(config)))


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value is not None else "never"


@token_app.command("list")
def token_list(
    sessions: bool = typer.Option(False, "--sessions", help="also list staff sessions that have not expired"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Active device tokens: id, name, role, site, counter, created, last used (never the token)."""
    store = _store(config)
    try:
        rows = store.active_tokens(sessions=sessions)
    finally:
        store.db.close()
    header = ("ID", "KIND", "NAME", "ROLE", "SITE", "COUNTER", "CREATED", "EXPIRES", "LAST USED")
    table = [header] + [
        (str(r["id"]), r["kind"], r["subject"], r["role"], r["site"] or "-", r["counter"] or "-",
         _when(r["created_at"]), _when(r["expires_at"]) if r["expires_at"] else "-", _when(r["last_used_at"]))
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    if not rows:
        typer.echo("(no active tokens)")


@token_app.command("issue")
def token_issue(
    role: str = typer.Option(..., help="kiosk | display"),
    name: str = typer.Option(..., help="device name, e.g. kiosk-1 or counter-3"),
    site: Optional[str] = typer.Option(None, help="default: MOTCUA_SITE"),
    counter: Optional[str] = typer.Option(None, help="a counter's own display: it may send ratings for this "
                                                     "counter's tickets (and only those)"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Issue a long-lived device token and print it (shown once: copy it to the device)."""
    from motcua.cli import _settings
    from server.auth import AuthError

    settings = _settings(config)
    store = _store(config)
    try:
        token = store.device_token(name, role, site or settings.site, counter=counter)
    except AuthError as err:
        typer.echo(f"motcua: {err.message}", err=True)
        raise typer.Exit(2) from err
    finally:
        store.db.close()
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    ids: list[int] = typer.Argument(None, help="token ids from `motcua token list`"),
    device: Optional[str] = typer.Option(None, "--device", help="every token of this device name"),
    user: Optional[str] = typer.Option(None, "--user", help="every open session of this staff account"),
    token: Optional[str] = typer.Option(None, "--token", help="the token itself (as a device holds it)"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Revoke tokens at once, on the running server too: by id, --device NAME, --user NAME or --token."""
    if not ids and device is None and user is None and token is None:
        typer.echo("motcua: say which tokens: IDS, --device NAME, --user NAME or --token TOKEN "
                   "(see `motcua token list`)", err=True)
        raise typer.Exit(2)
    store = _store(config)
    try:
        count = store.revoke_ids(list(ids or []))
        if device is not None:
            count += store.revoke_device(device)
        if user is not None:
            count += store.revoke_user(user)
        if token is not None:
            count += int(store.revoke(token))
    finally:
        store.db.close()
    if count == 0:
        typer.echo("motcua: no active token matched (already revoked, expired, or a typo?)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{count} token{'s' if count != 1 else ''} revoked")
