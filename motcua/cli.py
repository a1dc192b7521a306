"""``motcua``: one command line for every program of the system.

Subcommands import their part lazily, so ``motcua server`` never loads Kivy and
``motcua kiosk`` never loads the server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from motcua.cli_forms import form_app
from motcua.cli_history import history_app

app = typer.Typer(no_args_is_help=True, add_completion=False, help="motcua: một cửa queue and dossiers")
db_app = typer.Typer(no_args_is_help=True, help="Database schema")
site_app = typer.Typer(no_args_is_help=True, help="Sites, services and counters")
user_app = typer.Typer(no_args_is_help=True, help="Staff accounts")
app.add_typer(db_app, name="db")
app.add_typer(site_app, name="site")
app.add_typer(user_app, name="user")
app.add_typer(history_app, name="history")
app.add_typer(form_app, name="form")

ConfigOpt = typer.Option(None, "--config", help="TOML settings file (MOTCUA_* variables override it)")


def _settings(config: Optional[Path], **overrides):
    from server.config import ConfigError, load_settings

    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err


def _database(settings):
    from server.config import ConfigError
    from server.storage.db import Database

    try:
        settings.check_database()
    except ConfigError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err
    return Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous).open()


def _prepare_schema(db) -> str:
    """Refuse a newer schema, back up and migrate an older one; exit 2 with one line on failure."""
    from server.ops.upgrade import UpgradeError, prepare_database

    try:
        return prepare_database(db)
    except UpgradeError as err:
        db.close()
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err


@app.command()
def server(
    host: str = typer.Option("127.0.0.1", help="address to listen on (0.0.0.0 for the LAN)"),
    port: int = typer.Option(8000),
    config: Optional[Path] = ConfigOpt,
    role: Optional[str] = typer.Option(None, "--role", help="site (default) or province (PostgreSQL; MOTCUA_ROLE)"),
) -> None:
    """Run the HTTP API, tracking pages and the MQTT outbox publisher (migrates the schema first)."""
    from server.api.app import create_app
    from server.config import ConfigError
    from server.ops import serve

    settings = _settings(config, role=role)
    try:
        settings.check()
    except ConfigError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # our own line says what the schema did
    db = _database(settings)
    try:
        logging.getLogger("server").info(_prepare_schema(db))
    finally:
        db.close()
    serve.run(create_app(settings), host=host, port=port)


@db_app.command("upgrade")
def db_upgrade(config: Optional[Path] = ConfigOpt) -> None:
    """Create or migrate the schema to the newest version (SQLite: a backup is taken first)."""
    settings = _settings(config)
    db = _database(settings)
    try:
        typer.echo(_prepare_schema(db))
    finally:
        db.close()


@site_app.command("load")
def site_load(file: Path, config: Optional[Path] = ConfigOpt) -> None:
    """Load (or reload) a site file: the site, its services and counters. Idempotent."""
    from server.storage import catalog, migrate

    settings = _settings(config)
    db = _database(settings)
    try:
        migrate.upgrade(db)
        site = catalog.load_site(db, file)
    except catalog.SiteFileError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err
    finally:
        db.close()
    typer.echo(f"site {site} loaded")


@user_app.command("add")
def user_add(
    name: str,
    role: str = typer.Option(..., help="admin | manager | official"),
    site: Optional[str] = typer.Option(None, help="limit the account to one site"),
    full_name: Optional[str] = typer.Option(None),
    password: Optional[str] = typer.Option(None, help="omit to be asked (not echoed)"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Add a staff account (or reset its password and role)."""
    from server.auth import AuthError, AuthStore

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    settings = _settings(config)
    db = _database(settings)
    try:
        _require_site(db, site)
        AuthStore(db).add_user(name, password, role, site=site, full_name=full_name)
    except AuthError as err:
        typer.echo(f"motcua: {err.message}", err=True)
        raise typer.Exit(2) from err
    finally:
        db.close()
    typer.echo(f"user {name} ({role}) saved")


def _require_site(db, site: Optional[str]) -> None:
    from server.ops.sites import UnknownSite, require_site

    try:
        require_site(db, site)
    except UnknownSite as err:
        db.close()
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err


@app.command("device-token")
def device_token(
    role: str = typer.Option(..., help="kiosk | display"),
    name: str = typer.Option(..., help="device name, e.g. kiosk-1"),
    site: Optional[str] = typer.Option(None),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Issue a long-lived token for a kiosk or display and print it."""
    from server.auth import AuthError, AuthStore

    settings = _settings(config)
    db = _database(settings)
    try:
        token = AuthStore(db).device_token(name, role, site or settings.site)
    except AuthError as err:
        typer.echo(f"motcua: {err.message}", err=True)
        raise typer.Exit(2) from err
    finally:
        db.close()
    typer.echo(token)


@app.command()
def demo(
    port: int = typer.Option(8000, help="HTTP port (a free one is chosen if busy)"),
    data_dir: Path = typer.Option(Path(".demo"), help="where the demo keeps its database and broker"),
    traffic: bool = typer.Option(True, help="simulate citizens and officials"),
    duration: float = typer.Option(0, help="stop after this many seconds (0: until Ctrl+C)"),
) -> None:
    """A whole demo site: SQLite, its own Mosquitto, seed catalogue, users, simulated traffic."""
    from server.demo import run_demo

    raise typer.Exit(run_demo(port=port, data_dir=data_dir, traffic=traffic, duration=duration))


def _mount_optional() -> None:
    """Parts register their own commands (``register(app)``) so each owns its options."""
    import importlib

    try:
        from devices.cli import app as devices_app
    except ImportError:
        devices_app = None
    if devices_app is not None:
        app.add_typer(devices_app, name="devices", help="Check printers, card readers and displays on site")
    importlib.import_module("motcua.tokens").register(app)  # motcua token list|issue|revoke
    for module in ("kiosk.cli", "counter.cli", "motcua.ops_cli", "motcua.device_cli", "motcua.province_cli",
                   "motcua.sync_cli"):
        try:
            part = importlib.import_module(module)
        except ImportError as err:
            if err.name != module:
                raise
            continue
        part.register(app)


def main() -> None:
    import sys

    from motcua import join

    try:
        sys.argv[1:] = join.apply(sys.argv[1:])  # --join LINE / --join-file PATH on device commands
    except join.JoinError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise SystemExit(2) from err
    _mount_optional()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
