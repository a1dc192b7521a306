"""``motcua counter``, ``motcua display`` and ``motcua announcer`` (mounted by ``motcua.cli``).

Kivy is imported only inside the commands that open a window, after the window is configured.
``--screenshot PATH`` (hidden) draws the screen once the data is there, saves a PNG and exits:
for tests and for showing a site what its screens will look like.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Optional

import typer

log = logging.getLogger(__name__)

MqttOpt = typer.Option(None, "--mqtt", envvar="MOTCUA_MQTT_URL",
                       help="broker URL with this device's own user, mqtt://display-hall:…@host:1883")
SiteOpt = typer.Option("demo", "--site", envvar="MOTCUA_SITE", help="site id")
ShotOpt = typer.Option(None, "--screenshot", hidden=True, help="save a PNG once the data is there, then exit")


def _logging() -> None:
    from motcua.devicelog import setup_device_logging

    setup_device_logging()


def _need_mqtt(mqtt: Optional[str]) -> str:
    if not mqtt:
        typer.echo("motcua: give --mqtt mqtt://user:password@host:1883 (or set MOTCUA_MQTT_URL)", err=True)
        raise typer.Exit(2)
    return mqtt


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


def _site_names(server: Optional[str], site: str) -> dict:
    """Centre name, service names and counter labels from the public API (optional nicety)."""
    if not server:
        return {}
    import httpx

    base = f"{server.rstrip('/')}/api/v1/sites/{site}"
    try:
        menu = httpx.get(f"{base}/services", timeout=5).json()
        counters = httpx.get(f"{base}/counters", timeout=5).json()["counters"]
    except (httpx.HTTPError, ValueError, KeyError) as err:
        log.warning("could not read names from %s (%s); showing ids", server, err)
        return {}
    return {
        "centre_name": menu.get("site", {}).get("name", ""),
        "service_names": {s["id"]: s["name_vi"] for s in menu.get("services", [])},
        "counter_labels": {c["counter"]: c["label"] for c in counters},
    }


def counter_terminal(
    server: str = typer.Option(..., "--server", envvar="MOTCUA_SERVER_URL", help="http://host:8000"),
    site: str = SiteOpt,
    counter: str = typer.Option(..., "--counter", help="this counter's id, e.g. 3"),
    user: str = typer.Option("", "--user", help="pre-fill the login (password from MOTCUA_PASSWORD logs in)"),
    refresh_s: float = typer.Option(20.0, "--refresh", help="seconds between waiting-list refreshes"),
    printer: Optional[str] = typer.Option(None, "--printer", envvar="MOTCUA_COUNTER_PRINTER",
                                          help="receipt printer for dossier slips (usb://…, tcp://…, sim://); "
                                               "none: do not print"),
    screenshot: Optional[Path] = ShotOpt,
    screenshot_keys: str = typer.Option("", "--screenshot-keys", hidden=True,
                                        help="F-keys to press first (f9: intake panel, then enter)"),
    screenshot_intake: str = typer.Option("", "--screenshot-intake", hidden=True,
                                          help="type 'search|name|phone' into the intake panel"),
) -> None:
    """The official's terminal: a small always-on-top window, F1–F10 work too."""
    _logging()
    from .client import CounterClient
    from .terminal import TerminalModel
    from .ui.common import configure_window

    receipt = None
    if printer:
        from devices.errors import DeviceError
        from devices.printer import open_printer

        try:
            receipt = open_printer(printer)
        except DeviceError as err:
            typer.echo(f"motcua: printer {printer}: {err}", err=True)
            raise typer.Exit(2) from err
    configure_window(560, 760)
    from .ui.terminal_app import TerminalApp

    model = TerminalModel(CounterClient(server, site, counter), printer=receipt)
    keys = [k.strip() for k in screenshot_keys.split(",") if k.strip()]
    pressed: list[str] = []

    def ready() -> bool:  # for --screenshot: logged in, then each key's action done in turn
        if not model.logged_in or model.busy:
            return False
        if keys:
            if len(pressed) < len(keys) and (not pressed or not model.busy):
                pressed.append(keys[len(pressed)])
                if pressed[-1] == "f9":
                    app.open_intake()
                    app.intake.fill(*screenshot_intake.split("|"))
                elif pressed[-1] == "enter":  # in the intake panel: receive
                    app.intake.submit(wait=True)
                else:
                    model.key(pressed[-1])
            return len(pressed) == len(keys)
        return True

    app = TerminalApp(model, username=user, password=os.environ.get("MOTCUA_PASSWORD") if user else None,
                      refresh_s=refresh_s, screenshot=screenshot, ready=ready)
    try:
        app.run()
    finally:
        model.client.close()
        if receipt is not None:
            receipt.close()


def display(
    hall: bool = typer.Option(False, "--hall", help="the hall TV: every counter, last calls, queues"),
    counter: Optional[str] = typer.Option(None, "--counter", help="one counter's display"),
    mqtt: Optional[str] = MqttOpt,
    site: str = SiteOpt,
    led: Optional[str] = typer.Option(None, "--led", help="LED display URL (sim://, serial:///dev/ttyUSB0…)"),
    screen: bool = typer.Option(False, "--screen", help="with --led, also open the small screen"),
    server: Optional[str] = typer.Option(None, "--server", envvar="MOTCUA_SERVER_URL",
                                         help="hall: read centre, service and counter names from the server; "
                                              "counter screen (with --token): send citizens' ratings to it"),
    token: Optional[str] = typer.Option(None, "--token", envvar="MOTCUA_DISPLAY_TOKEN",
                                        help="this display's device token: the counter screen asks the citizen "
                                             "to rate the service after each ticket (needs --server; issue it "
                                             "with `motcua token issue --role display --counter N`)"),
    name: str = typer.Option("", "--name", help="centre name shown on the hall display"),
    notice: str = typer.Option("", "--notice", help="a notice scrolling along the bottom"),
    windowed: bool = typer.Option(False, "--windowed", help="a window instead of full screen"),
    screenshot: Optional[Path] = ShotOpt,
    screenshot_calls: int = typer.Option(0, "--screenshot-calls", hidden=True, help="wait for N calls first"),
    screenshot_rating: bool = typer.Option(False, "--screenshot-rating", hidden=True,
                                           help="counter screen: wait for the rating prompt first"),
) -> None:
    """A display fed by MQTT: the hall TV (--hall) or one counter (--counter N, on --led or a screen)."""
    if hall == (counter is not None):
        typer.echo("motcua: give either --hall or --counter N", err=True)
        raise typer.Exit(2)
    if token and not server:
        typer.echo("motcua: --token needs --server http://host:8000 (where ratings are sent)", err=True)
        raise typer.Exit(2)
    mqtt = _need_mqtt(mqtt)
    _logging()
    from .boards import CounterBoard, HallBoard
    from .feed import BoardFeed

    if hall:
        names = _site_names(server, site)
        board = HallBoard(site, centre_name=name or names.get("centre_name", ""), notice=notice,
                          service_names=names.get("service_names"), counter_labels=names.get("counter_labels"))
        feed = BoardFeed.hall(mqtt, board)
        from .ui.common import configure_window

        configure_window(1920, 1080, fullscreen=not windowed and screenshot is None)
        from .ui.hall import HallApp

        def hall_ready() -> bool:
            return board.connected and bool(board.counters) and len(board.calls) >= screenshot_calls

        HallApp(board, feed, screenshot=screenshot, ready=hall_ready).run()
        return

    board = CounterBoard(site, counter)
    feed = BoardFeed.counter(mqtt, board)
    driver = None
    if led:
        from devices.errors import DeviceError

        from .led import LedCounterDisplay

        try:
            driver = LedCounterDisplay(board, led)
            driver.start()
        except DeviceError as err:
            typer.echo(f"motcua: LED display {led}: {err}", err=True)
            raise typer.Exit(2) from err
    try:
        if led and not screen and screenshot is None:
            feed.start()
            try:
                _wait_for_signal()
            finally:
                feed.stop()
            return
        from .ui.common import configure_window

        configure_window(480, 320, fullscreen=not windowed and screenshot is None)
        from .ui.counter_screen import CounterScreenApp

        prompt = None
        if server and token:
            from .rating import RatingPrompt, RatingSender

            prompt = RatingPrompt(board, RatingSender(server, token))

        def ready() -> bool:
            if screenshot_rating:
                return prompt is not None and prompt.asking
            return board.connected and board.ticket is not None

        CounterScreenApp(board, feed, prompt=prompt, screenshot=screenshot, ready=ready).run()
    finally:
        if driver is not None:
            driver.stop()


def announcer(
    mqtt: Optional[str] = MqttOpt,
    site: str = SiteOpt,
    volume: int = typer.Option(80, min=0, max=100),
    quiet_hours: Optional[str] = typer.Option(None, "--quiet-hours", help="e.g. 22:00-06:00"),
    player: str = typer.Option("auto", "--player", help="auto | aplay | paplay | play | sim | null"),
    no_chime: bool = typer.Option(False, "--no-chime"),
    audio_device: Optional[str] = typer.Option(None, "--audio-device",
                                               help="ALSA device (aplay) or Pulse sink (paplay); default output"),
    say_service: bool = typer.Option(False, "--say-service", help="say the service's name: '…, lĩnh vực Hộ tịch, …'"),
    server: Optional[str] = typer.Option(None, "--server", envvar="MOTCUA_SERVER_URL",
                                         help="http://host:8000, to read the services' names for --say-service"),
    recall_repeat: int = typer.Option(2, "--recall-repeat", min=1, max=5, help="how many times a recall is said"),
    volume_schedule: Optional[str] = typer.Option(
        None, "--volume-schedule", help="volume by time of day, e.g. 07:00=80,11:30=40,13:30=70 (overrides --volume)"),
    phrases: list[str] = typer.Option([], "--phrases", help="a folder of recorded phrases (repeatable); a "
                                      "folder named 'vi' replaces espeak-ng, others repeat the call in their language"),
) -> None:
    """Speak every call and recall from the site's ``calls`` topic, in Vietnamese, offline."""
    mqtt = _need_mqtt(mqtt)
    _logging()
    from .feed import AnnouncerFeed
    from .voice import Announcer, VoiceConfig, VoiceError

    names = _site_names(server, site).get("service_names") if say_service else None
    if say_service and not names:
        log.warning("--say-service without service names (give --server): services are not said")
    config = VoiceConfig(volume=volume, quiet_hours=quiet_hours, player=player, chime=not no_chime,
                         device=audio_device, say_service=say_service, service_names=names,
                         recall_repeats=recall_repeat, volume_schedule=volume_schedule, phrase_packs=tuple(phrases))
    try:
        feed = AnnouncerFeed.connect(mqtt, site, Announcer(config))
        feed.start()
    except (VoiceError, ValueError) as err:
        typer.echo(f"motcua announcer: {err}", err=True)
        raise typer.Exit(2) from err
    feed.on_connection_change = lambda up: log.info("broker %s", "connected" if up else "unreachable")
    try:
        _wait_for_signal()
    finally:
        feed.stop()


def voice_pack(
    out: str = typer.Option(..., "--out", help="folder to write, e.g. /etc/motcua/phrases/vi"),
    counters: int = typer.Option(30, "--counters", min=1, max=99, help="counter numbers to record"),
) -> None:
    """Write a Vietnamese recorded-phrase pack with espeak-ng: one WAV per word, to use or re-record."""
    from .voice_audio import EspeakSynth, VoiceError
    from .voice_phrases import build_pack, vietnamese_phrases

    synth = EspeakSynth()
    try:
        synth.check()
        count = build_pack(synth.synthesize, out, vietnamese_phrases(counters))
    except (VoiceError, OSError) as err:
        typer.echo(f"motcua voice-pack: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"{count} phrases written to {out}; replace any WAV with a recording of the same words")


def register(app: typer.Typer) -> None:
    app.command("counter")(counter_terminal)
    app.command("display")(display)
    app.command("announcer")(announcer)
    app.command("voice-pack")(voice_pack)
