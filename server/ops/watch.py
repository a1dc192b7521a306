"""What the broker says about the devices, and whether the broker answers at all.

:class:`DeviceWatch` keeps the retained ``devices/<id>/status`` and ``availability`` messages
seen on a link (the server's own). :func:`probe_broker` is the doctor's view: a fresh connection
with the server's credentials, the CONNACK's answer, then the retained device topics and the
province bridge's state (``bridge/state``, which the site's broker keeps for its own bridge).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time

from devices.mqtt import MqttConfigError, MqttLink, MqttUrl, Topics

from .health import BrokerView, DeviceView
from .problems import ProblemLog

log = logging.getLogger("server.broker")


class DeviceWatch:
    def __init__(self, site: str) -> None:
        self.topics = Topics(site)
        self.devices: dict[str, DeviceView] = {}
        self.bridge_topic = f"{self.topics.base}/bridge/state"
        self.bridge: str | None = None
        """The province bridge's state as the site's broker keeps it (``1``/``0``); None: no bridge."""
        self._lock = threading.Lock()

    def attach(self, link: MqttLink) -> None:
        base = self.topics.base
        link.subscribe(f"{base}/devices/+/status", self._on_message)
        link.subscribe(f"{base}/devices/+/availability", self._on_message)
        link.subscribe(self.bridge_topic, self._on_message)

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic == self.bridge_topic:  # retained by the site's own broker for its province bridge
            self.bridge = payload.decode("ascii", "replace").strip() or None
            return
        kind, device = self.topics.parse(topic)
        if device is None or device == "server" or not kind.startswith("device_"):
            return
        with self._lock:
            view = self.devices.setdefault(device, DeviceView())
            if kind == "device_availability":
                view.availability = payload.decode("utf-8", "replace").strip() or None
            elif kind == "device_status":
                try:
                    body = json.loads(payload)
                    view.status = body if isinstance(body, dict) else None
                except ValueError:
                    view.status = {"kind": "device", "ok": False, "detail": "unreadable status message"}
            if not payload:  # a cleared retained topic: the device was removed
                self.devices.pop(device, None)

    def snapshot(self) -> dict[str, DeviceView]:
        with self._lock:
            return {k: DeviceView(v.availability, dict(v.status) if v.status else None)
                    for k, v in self.devices.items()}


class BrokerLog:
    """Logs the server's broker connection: one line when it is unreachable, one when it is back."""

    def __init__(self, url: str, grace_s: float = 3.0) -> None:
        self.where = _where(url)
        self.problem = ProblemLog(log, f"MQTT broker {self.where}", every_s=300)
        self.grace_s = grace_s
        self._started = time.monotonic()
        self._ever_connected = False

    def tick(self, connected: bool) -> None:
        if connected:
            if not self._ever_connected and not self.problem.failing:
                log.info("MQTT broker %s connected", self.where)
            self._ever_connected = True
            self.problem.ok("reachable again")
            return
        if not self._ever_connected and time.monotonic() - self._started < self.grace_s:
            return
        self.problem.fail("unreachable (is mosquitto running? systemctl status mosquitto); "
                          "calls wait in the database and go out when it is back")


def probe_broker(url: str | None, site: str, wait_s: float = 3.0, listen_s: float = 1.0,
                 ) -> tuple[BrokerView, dict[str, DeviceView]]:
    """Connect as the server would, report the broker's answer and the retained device topics."""
    if not url:
        return BrokerView(False, False), {}
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    try:
        parsed = MqttUrl.parse(url)
    except MqttConfigError as err:
        return BrokerView(True, False, str(err)), {}
    watch = DeviceWatch(site)
    outcome: dict[str, str] = {}
    answered = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"motcua-doctor-{secrets.token_hex(4)}")
    if parsed.username:
        client.username_pw_set(parsed.username, parsed.password)

    def on_connect(c, userdata, flags, reason_code, properties):
        outcome["reason"] = str(reason_code)
        outcome["ok"] = "" if reason_code.is_failure else "yes"
        if not reason_code.is_failure:
            c.subscribe(f"{watch.topics.base}/devices/+/status", qos=1)
            c.subscribe(f"{watch.topics.base}/devices/+/availability", qos=1)
            c.subscribe(watch.bridge_topic, qos=1)
        answered.set()

    client.on_connect = on_connect
    client.on_message = lambda c, u, m: watch._on_message(m.topic, m.payload, bool(m.retain))
    try:
        client.connect(parsed.host, parsed.port, keepalive=10)
    except OSError as err:
        return BrokerView(True, False, f"{_where(url)}: {err.strerror or err}"), {}
    client.loop_start()
    try:
        if not answered.wait(wait_s):
            return BrokerView(True, False, f"{_where(url)}: no answer in {wait_s:.0f} s"), {}
        if not outcome.get("ok"):
            hint = " (wrong user or password in MOTCUA_MQTT_URL?)" if "auth" in outcome["reason"].lower() else ""
            return BrokerView(True, False, f"{_where(url)} refused: {outcome['reason']}{hint}"), {}
        time.sleep(listen_s)  # retained device topics arrive right after the subscription
        return (BrokerView(True, True, f"{_where(url)} as {parsed.username or 'anonymous'}",
                           bridge=watch.bridge), watch.snapshot())
    finally:
        client.disconnect()
        client.loop_stop()


def _where(url: str) -> str:
    try:
        parsed = MqttUrl.parse(url)
    except MqttConfigError:
        return "<bad URL>"
    return f"{parsed.host}:{parsed.port}"
