"""``motcua kiosk``: the citizen's touch app. Registered into the ``motcua`` CLI by ``register(app)``.

Kivy is imported only when the command runs, so ``motcua --help`` stays fast and headless.
"""

from __future__ import annotations

import logging
from typing import Optional

import typer

log = logging.getLogger(__name__)


def build_controller(server: str, token: str, site: str, printer_url: str, *, id_key: bytes,
                     mqtt: Optional[str] = None, device_id: str = "kiosk-1",
                     idle: float = 60.0, timeout: float = 5.0):
    """Everything but the window and the voice: client, printer, status reporter, controller (no I/O yet)."""
    from devices.printer import open_printer

    from .client import KioskClient
    from .flow import KioskController
    from .state import Timeouts
    from .status import MqttStatus

    status = MqttStatus(mqtt, site, device_id) if mqtt else None
    vm = KioskController(KioskClient(server, token, site, timeout=timeout).open(), open_printer(printer_url),
                         id_key=id_key, status=status, timeouts=Timeouts(idle=idle))
    return vm, status


def server_id_key(server: str, token: str) -> bytes:
    """The site's CCCD hashing key, from the server (kiosk token): every kiosk hashes alike and
    the server can check each hash was made with it."""
    import httpx

    response = httpx.get(f"{server.rstrip('/')}/api/v1/kiosk/id-key", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
    response.raise_for_status()
    return response.json()["key"].encode()


def build_narrator(vm, *, player: str = "auto", device: Optional[str] = None, volume: int = 100,
                   read_numbers: bool = False):
    """The kiosk's voice (espeak-ng through `player` to `device`) and the narrator that drives it.

    Without any audio player the kiosk still runs: voice mode then stays silent (logged once).
    """
    from counter.voice_audio import VoiceError
    from counter.voice_players import NullPlayer, make_player

    from .speech import Narrator
    from .voice import KioskVoice

    try:
        out = make_player(player, device)
    except VoiceError as err:
        log.warning("kiosk voice: %s; voice mode will be silent", err)
        out = NullPlayer()
    return Narrator(vm, KioskVoice(out, volume=volume).start(), read_numbers=read_numbers)


def register(app: typer.Typer) -> None:
    @app.command()
    def kiosk(
        server: str = typer.Option(..., help="server base URL, e.g. http://127.0.0.1:8000"),
        token: str = typer.Option(..., envvar="MOTCUA_KIOSK_TOKEN", help="device token (motcua device-token --role kiosk)"),
        site: str = typer.Option("demo", help="site id"),
        printer: str = typer.Option("sim://", help="receipt printer URL: usb://, serial://, tcp://, file://, sim://"),
        reader: Optional[str] = typer.Option(None, help="card/QR reader URL (serial://, sim://); "
                                             "a keyboard-wedge scanner needs none"),
        fullscreen: bool = typer.Option(False, "--fullscreen", help="kiosk mode: full screen"),
        voice: bool = typer.Option(False, "--voice/--no-voice",
                                   help="read the issued number aloud even when voice mode is off"),
        voice_player: str = typer.Option("auto", "--voice-player",
                                         help="audio player for the voice: auto, aplay, paplay, play, sim, sim-realtime, null"),
        audio_device: Optional[str] = typer.Option(
            None, "--audio-device", envvar="MOTCUA_KIOSK_AUDIO_DEVICE",
            help="where the voice goes, e.g. a headphone jack or USB headset: an ALSA device for aplay "
                 "(plughw:1,0) or a PulseAudio/PipeWire sink for paplay; default: the system output"),
        voice_volume: int = typer.Option(100, "--voice-volume", min=0, max=100, help="0-100"),
        mqtt: Optional[str] = typer.Option(None, envvar="MOTCUA_MQTT_URL",
                                           help="mqtt://kiosk-1:pass@host:1883, to report printer status"),
        device_id: str = typer.Option("kiosk-1", help="this kiosk's device id (MQTT topics, client id)"),
        id_key: Optional[str] = typer.Option(None, envvar="MOTCUA_KIOSK_ID_KEY",
                                             help="the site key for hashing CCCD numbers (default: fetched from the server)"),
        idle: float = typer.Option(60.0, help="seconds without a touch before going home"),
        width: int = typer.Option(1080, help="window width when not full screen"),
        height: int = typer.Option(1920, help="window height when not full screen"),
    ) -> None:
        """Run the kiosk: services, optional CCCD, priority, ticket printing, QR tracking."""
        from motcua.devicelog import setup_device_logging

        setup_device_logging()
        from devices.errors import DeviceConfigError
        from devices.reader import open_reader

        from devices.printer import open_printer

        try:
            open_printer(printer)  # a wrong device URL is said before the server is asked for anything
            key = id_key.encode() if id_key is not None else None
        except (DeviceConfigError, ValueError) as err:
            typer.echo(f"motcua kiosk: {err}", err=True)
            raise typer.Exit(2) from err
        if key is None:
            try:
                key = server_id_key(server, token)  # the server checks hashes against its own key
            except Exception as err:  # noqa: BLE001 - any failure here is "cannot start", said plainly
                typer.echo(f"motcua kiosk: cannot get the site's ID key from {server} ({err}); start the "
                           "server first, or set MOTCUA_KIOSK_ID_KEY to the server's value", err=True)
                raise typer.Exit(2) from err
        try:
            vm, status = build_controller(server, token, site, printer, id_key=key, mqtt=mqtt,
                                          device_id=device_id, idle=idle)
            scan_reader = open_reader(reader) if reader else None
        except (DeviceConfigError, ValueError) as err:
            typer.echo(f"motcua kiosk: {err}", err=True)
            raise typer.Exit(2) from err

        from .kivyconf import configure_kivy

        configure_kivy(width, height, fullscreen)
        from .app import KioskApp

        if status is not None:
            status.start()
        if scan_reader is not None:
            try:
                scan_reader.open()
            except Exception as err:  # the reader reconnects by itself; the kiosk works without it
                log.warning("card reader: %s", err)
        narrator = build_narrator(vm, player=voice_player, device=audio_device, volume=voice_volume,
                                  read_numbers=voice)
        try:
            KioskApp(vm, reader=scan_reader, narrator=narrator).run()
        finally:
            if scan_reader is not None:
                scan_reader.close()
            if status is not None:
                status.stop()
            vm.client.close()
