"""``motcua device add|list|sync`` on the server: one command per device, one line to paste on it.

Mounted by ``motcua.cli`` (``register(app)``); the logic lives in :mod:`motcua.site_devices`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Optional

import typer

device_app = typer.Typer(no_args_is_help=True, help="Kiosks, displays and announcers of this site")

ConfigOpt = typer.Option(None, "--config", envvar="MOTCUA_CONFIG",
                         help="the site's config file (default /etc/motcua/motcua.toml)")


def _open(config: Optional[Path]):
    from motcua.cli import _database, _settings

    from .site_devices import DEFAULT_CONFIG, BrokerLayout, SiteDevicesError

    config = config or DEFAULT_CONFIG
    if not config.exists():
        typer.echo(f"motcua: {config} not found: give --config (the installer writes {DEFAULT_CONFIG})", err=True)
        raise typer.Exit(2)
    settings = _settings(config)
    try:
        layout = BrokerLayout.from_config(config, settings.public_url)
    except SiteDevicesError as err:
        typer.echo(f"motcua: {err}", err=True)
        raise typer.Exit(2) from err
    return settings, layout, _database(settings)


def _fail(err: Exception) -> None:
    typer.echo(f"motcua: {err}", err=True)
    raise typer.Exit(2) from err


@device_app.command("add")
def device_add(
    name: str = typer.Argument(..., help="device name, e.g. kiosk-2 (a-z, 0-9, '-', '.', '_')"),
    role: str = typer.Option(..., help="kiosk | display (the hall TV) | counter (a counter's screen/LED) | announcer"),
    counter: Optional[str] = typer.Option(None, help="with --role counter: the counter id it shows"),
    renew: bool = typer.Option(False, "--renew", help="new token and broker password (the old line stops working)"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Create the device's token and broker user, reload Mosquitto, print the line to paste on it."""
    from .site_devices import SiteDevicesError, add_device, load_devices, reload_broker, sync_broker

    settings, layout, db = _open(config)
    try:
        info, created = add_device(db, settings, layout, name, role, counter=counter, renew=renew)
        if sync_broker(layout, settings.mqtt_url, load_devices(layout), force_passwords=(name,) if renew else ()):
            typer.echo(reload_broker(layout), err=True)
    except (SiteDevicesError, OSError) as err:
        _fail(err)
    finally:
        db.close()
    command = {"kiosk": "kiosk", "display": "display", "counter": "display", "announcer": "announcer"}[role]
    typer.echo(f"{'new' if created else 'existing'} {role} {name}; on the device run: "
               f"motcua {command} --join '<the line below>'", err=True)
    typer.echo(info.encode())


@device_app.command("list")
def device_list(config: Optional[Path] = ConfigOpt) -> None:
    """The site's devices (names, roles, broker users; no secrets)."""
    from .site_devices import load_devices

    settings, layout, db = _open(config)
    db.close()
    for name, info in load_devices(layout).items():
        typer.echo(f"{name}\t{info.role}\t{info.counter or ''}\t{info.site}")


@device_app.command("sync")
def device_sync(
    site_file: Optional[Path] = typer.Option(None, "--site-file", help="add every [[devices]] entry of it first"),
    config: Optional[Path] = ConfigOpt,
) -> None:
    """Bring devices, the broker's password file and ACL in step (what the installer runs). Idempotent."""
    from .site_devices import SiteDevicesError, add_device, load_devices, reload_broker, sync_broker

    settings, layout, db = _open(config)
    try:
        wanted = [{"name": "display-hall", "role": "display"}, {"name": "announcer", "role": "announcer"}]
        if site_file is not None:
            entries = tomllib.loads(site_file.read_text(encoding="utf-8")).get("devices", [])
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise SiteDevicesError(f"{site_file}: [[devices]] entries need name and role")
            wanted += entries
        for entry in wanted:
            if not entry.get("name") or not entry.get("role"):
                raise SiteDevicesError(f"a [[devices]] entry needs name and role: {entry}")
            counter = entry.get("counter")
            _, created = add_device(db, settings, layout, str(entry["name"]), str(entry["role"]),
                                    counter=str(counter) if counter is not None else None)
            if created:
                typer.echo(f"device {entry['name']} ({entry['role']}) added")
        if sync_broker(layout, settings.mqtt_url, load_devices(layout)):
            typer.echo(reload_broker(layout))
        else:
            typer.echo("broker users and ACL already in step")
    except (SiteDevicesError, OSError, tomllib.TOMLDecodeError) as err:
        _fail(err)
    finally:
        db.close()


def register(app: typer.Typer) -> None:
    app.add_typer(device_app, name="device")
