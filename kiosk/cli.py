"""``motcua kiosk``: the citizen's touch app. Registered into the ``motcua`` CLI by ``register(app)``.

Kivy is imported only when the command runs, so ``motcua --help`` stays fast and headless.
"""

from __future__ import annotations

import hashlib
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
                                             help="site secret for hashing CCCD numbers (same on every kiosk)"),
        idle: float = typer.Option(60.0, help="seconds without a touch before going home"),
        width: int = typer.Option(1080, help="window width when not full screen"),
        height: int = typer.Option(1920, help="window height when not full screen"),
    ) -> None:
        """Run the kiosk: services, optional CCCD, priority, ticket printing, QR tracking."""
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        from devices.errors import DeviceConfigError
        from devices.reader import open_reader

        if id_key is None:
            log.warning("no --id-key/MOTCUA_KIOSK_ID_KEY: CCCD hashes differ between kiosks of this site")
            key = hashlib.sha256(b"motcua-kiosk-id-key|" + token.encode()).digest()
        else:
            key = id_key.encode()
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
