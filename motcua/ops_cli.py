"""``motcua backup``, ``motcua restore`` and ``motcua doctor``: keeping a site running.

Registered into the ``motcua`` CLI by ``register(app)``. Each failure is one line and exit code 2.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

ConfigOpt = typer.Option(None, "--config", help="TOML settings file (MOTCUA_* variables override it)")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"motcua: {message}", err=True)
    return typer.Exit(2)


def _settings(config: Optional[Path]):
    from server.config import ConfigError, load_settings

    try:
        return load_settings(config).check_database()
    except ConfigError as err:
        raise _fail(str(err)) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def backup(
        to: Optional[Path] = typer.Option(None, "--to", envvar="MOTCUA_BACKUP_DIR", help="backup folder (e.g. a USB disk: /media/usb/motcua); "
                                          "default: backups/ next to the database"),
        keep: int = typer.Option(14, "--keep", min=1, envvar="MOTCUA_BACKUP_KEEP", help="keep this many nightly backups in the folder"),
        keep_days: Optional[float] = typer.Option(None, "--keep-days", help="also delete backups older than this"),
        config: Optional[Path] = ConfigOpt,
    ) -> None:
        """Online backup of the site's SQLite database (safe while the server runs), with retention."""
        from server.ops.backup import BackupError, backup_sqlite, list_backups
        from server.ops.dburl import describe, sqlite_path

        settings = _settings(config)
        path = sqlite_path(settings.database_url)
        if path is None:
            raise _fail(f"{describe(settings.database_url)} is PostgreSQL: back it up with pg_dump "
                        "(see docs/troubleshooting.md); motcua backup copies SQLite databases")
        folder = to if to is not None else path.parent / "backups"
        try:
            written = backup_sqlite(path, folder, keep=keep, keep_days=keep_days)
        except BackupError as err:
            raise _fail(str(err)) from None
        typer.echo(f"backup written: {written} ({written.stat().st_size} bytes; "
                   f"{len(list_backups(folder))} kept in {folder})")

    @app.command()
    def restore(
        file: Path = typer.Argument(..., help="a backup file written by motcua backup"),
        to: str = typer.Option(..., "--to", help="the database to create: a path or sqlite:////abs/path"),
        force: bool = typer.Option(False, "--force", help="replace an existing database (stop the server first)"),
    ) -> None:
        """Restore a backup into a new database file (an existing one only with --force)."""
        from server.ops.backup import BackupError, restore_sqlite
        from server.ops.dburl import DatabaseUrlError, check_database_url, sqlite_path

        if "://" in to:
            try:
                target = sqlite_path(check_database_url(to))
            except DatabaseUrlError as err:
                raise _fail(str(err)) from None
            if target is None:
                raise _fail("restore writes SQLite files; for PostgreSQL use pg_restore")
        else:
            target = Path(to).expanduser().resolve()
        try:
            result = restore_sqlite(file, target, force=force)
        except BackupError as err:
            raise _fail(str(err)) from None
        counts = ", ".join(f"{n} {t}" for t, n in result.counts.items())
        typer.echo(f"restored {file} into {result.target} ({counts})")
        typer.echo(f"use it with: MOTCUA_DATABASE_URL=sqlite:///{result.target}")

    @app.command()
    def doctor(config: Optional[Path] = ConfigOpt,
               wait: float = typer.Option(3.0, help="seconds to wait for the broker's answer")) -> None:
        """Check database, schema, broker, publisher lag, disk, clock and devices; say what to do."""
        from server.ops.health import SyncView, run_checks
        from server.ops.watch import probe_broker
        from server.storage.db import Database

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        settings = _settings(config)
        broker, devices = probe_broker(settings.mqtt_url, settings.site, wait_s=wait)
        from server.ops.dburl import sqlite_path

        db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous, pool_size=1)
        missing = sqlite_path(settings.database_url)
        if missing is None or missing.exists():
            db.open()  # else the check reports the missing file; opening would create it
        try:
            report = run_checks(db, broker=broker, devices=devices,
                                sync=SyncView(settings.site, settings.province_url))
        finally:
            db.close()
        for line in report.lines():
            typer.echo(line)
        typer.echo({"ok": "all good", "warn": "working, with warnings above",
                    "fail": "NOT WORKING: fix the FAIL lines first"}[report.status])
        raise typer.Exit(0 if report.status == "ok" else 1 if report.status == "warn" else 2)
