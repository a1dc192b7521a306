"""``motcua province …``: run at the province, against its PostgreSQL database.

``register SITE --name …`` prints the site's key once (set it as ``MOTCUA_PROVINCE_KEY`` at the
site); ``rotate-key SITE`` prints a new one (the old one keeps working for ``--grace-hours``);
``status`` lists each site's held head, its last refused gap and a broken chain; ``clear SITE``
lifts a flag once the operator has dealt with the site.

The live board's Mosquitto bridge (best effort, ``server/bridge.py``): ``bridge-user SITE`` at the
province adds the site's bridge user to the province broker and rewrites its ACL;
``bridge-config`` at the site prints (or writes) the site broker's bridge file; ``broker-config`` at
the province prints its broker's TLS listener.
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


def _warn_unreadable(path: str, what: str, fix: str) -> None:
    """A warning, not a refusal: the file may be put in place after this file is written."""
    from server.bridge import unreadable_to_broker

    why = unreadable_to_broker(path)
    if why:
        typer.echo(f"motcua: warning: Mosquitto reads {what} as its own user, and {why}: {fix}", err=True)


@province_app.command("bridge-config")
def bridge_config(
    site: str = typer.Option(..., "--site", help="this site's id (MOTCUA_SITE)"),
    broker: str = typer.Option(..., "--broker", help="mqtts://bridge-SITE:PASSWORD@HOST:8883, as bridge-user printed it"),
    cafile: Optional[str] = typer.Option(None, help="CA file (PEM) the province's certificate is checked with, for mqtts "
                                                "(default: the system's CA bundle); Mosquitto's user must read it"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write here (0640) instead of printing"),
) -> None:
    """At a site: the Mosquitto bridge file that forwards live calls and states to the province broker."""
    from server.bridge import DEFAULT_CAFILE, ProvinceBroker, check_cafile, render_bridge_conf
    from server.broker import BrokerError

    try:
        province = ProvinceBroker.parse(broker, site)
        if province.tls:
            check_cafile(cafile or DEFAULT_CAFILE)
            _warn_unreadable(cafile or DEFAULT_CAFILE, "the CA file", "install -m 0644 it into /etc/mosquitto/certs/")
        text = render_bridge_conf(site, province, cafile=cafile)
    except BrokerError as err:
        _fail(err)
    if output is None:
        typer.echo(text, nl=False)
        return
    from motcua.site_devices import write_if_changed

    write_if_changed(output, text, mode=0o640, group="mosquitto")  # it holds the bridge's password
    typer.echo(f"wrote {output}: restart mosquitto to (re)connect the bridge")


@province_app.command("broker-config")
def broker_config(
    certfile: str = typer.Option(..., "--certfile", help="the broker's certificate (PEM, then any intermediates)"),
    keyfile: str = typer.Option(..., "--keyfile", help="its private key (PEM)"),
    listen: str = typer.Option("0.0.0.0:8883", "--listen", help="HOST:PORT of the TLS listener"),
    password_file: str = typer.Option("/etc/mosquitto/motcua-province.passwd", help="as for bridge-user"),
    acl_file: str = typer.Option("/etc/mosquitto/motcua-province.acl", help="as for bridge-user"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write here (0644) instead of printing"),
) -> None:
    """At the province: the broker's conf.d file, a TLS listener for the sites' bridges and the board."""
    from server.bridge import render_province_conf
    from server.broker import BrokerError

    try:
        text = render_province_conf(listen=listen, certfile=certfile, keyfile=keyfile,
                                    password_file=password_file, acl_file=acl_file)
    except BrokerError as err:
        _fail(err)
    _warn_unreadable(certfile, "the certificate", "chmod 0644 it, in a folder like /etc/mosquitto/certs/")
    _warn_unreadable(keyfile, "the key", "chown root:mosquitto and chmod 0640 it")
    if output is None:
        typer.echo(text, nl=False)
        return
    from motcua.site_devices import write_if_changed

    write_if_changed(output, text, mode=0o644)
    typer.echo(f"wrote {output}: restart mosquitto to open the listener")


@province_app.command("bridge-user")
def bridge_user_cmd(
    site: str,
    address: str = typer.Option(..., "--address", help="the province broker as sites reach it: HOST:PORT"),
    password_file: Path = typer.Option(Path("/etc/mosquitto/motcua-province.passwd"), help="the province broker's password file"),
    acl_file: Path = typer.Option(Path("/etc/mosquitto/motcua-province.acl"), help="the province broker's ACL file"),
    plain: bool = typer.Option(False, "--plain", help="print mqtt:// (no TLS: a private link only)"),
    pid_file: Optional[Path] = typer.Option(None, help="send this Mosquitto SIGHUP to reload users and ACL"),
) -> None:
    """At the province: a new password for SITE's bridge user (printed once, as the URL for the site's
    bridge-config) and an ACL letting every bridge user write under its own site's prefix only."""
    import os
    import secrets
    import signal
    import urllib.parse

    from motcua.site_devices import SiteDevicesError, _broker_owner, passwd_users, set_password, write_if_changed
    from server.bridge import bridge_user, render_province_acl
    from server.broker import BrokerError

    try:
        user = bridge_user(site)
        password = secrets.token_urlsafe(24)
        set_password(password_file, user, password)
    except (BrokerError, SiteDevicesError) as err:
        _fail(err)
    sites = [u.removeprefix("bridge-") for u in passwd_users(password_file) if u.startswith("bridge-")]
    write_if_changed(acl_file, render_province_acl(sites), mode=0o600)
    for path in (password_file, acl_file):  # Mosquitto re-reads both on SIGHUP as its own user
        path.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(path, *_broker_owner())
    if pid_file is not None and pid_file.exists():
        os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
    scheme = "mqtt" if plain else "mqtts"
    typer.echo(f"{scheme}://{user}:{urllib.parse.quote(password, safe='')}@{address}")


def register(app: typer.Typer) -> None:
    app.add_typer(province_app, name="province")
