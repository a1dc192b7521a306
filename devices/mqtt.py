"""The one MQTT wrapper: topic names, payload envelope, and a paho-mqtt 2 client with a last will.

Every part that talks MQTT (the server's outbox publisher, displays, the announcer, kiosks
reporting printer status) builds and parses topics here, so the tree in DESIGN.md has one
spelling. Nothing connects at construction: ``start()`` / ``stop()``.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

ROOT = "motcua/v1"
FORBIDDEN_IN_IDS = ("+", "#", "/")


class MqttConfigError(ValueError):
    """A bad MQTT URL or topic id; the message names it."""


def check_id(value: str, what: str = "id") -> str:
    if not value or any(ch in value for ch in FORBIDDEN_IN_IDS) or value != value.strip():
        raise MqttConfigError(f"{what} {value!r} cannot be used in an MQTT topic (no '+', '#', '/' or blanks)")
    return value


class Topics:
    """Topic names for one site: ``motcua/v1/<site>/…``."""

    def __init__(self, site: str) -> None:
        self.site = check_id(site, "site")
        self.base = f"{ROOT}/{site}"

    def counter_state(self, counter: str) -> str:
        return f"{self.base}/counters/{check_id(counter, 'counter')}/state"

    @property
    def calls(self) -> str:
        return f"{self.base}/calls"

    def queue_state(self, service: str) -> str:
        return f"{self.base}/queues/{check_id(service, 'service')}/state"

    def device_availability(self, device: str) -> str:
        return f"{self.base}/devices/{check_id(device, 'device')}/availability"

    def device_status(self, device: str) -> str:
        return f"{self.base}/devices/{check_id(device, 'device')}/status"

    @property
    def all_counter_states(self) -> str:
        return f"{self.base}/counters/+/state"

    @property
    def all_queue_states(self) -> str:
        return f"{self.base}/queues/+/state"

    def parse(self, topic: str) -> tuple[str, str | None]:
        """``…/counters/3/state`` → ``("counter_state", "3")``; ``…/calls`` → ``("calls", None)``."""
        if not topic.startswith(self.base + "/"):
            return ("other", None)
        parts = topic[len(self.base) + 1 :].split("/")
        if parts == ["calls"]:
            return ("calls", None)
        if len(parts) == 3 and parts[0] == "counters" and parts[2] == "state":
            return ("counter_state", parts[1])
        if len(parts) == 3 and parts[0] == "queues" and parts[2] == "state":
            return ("queue_state", parts[1])
        if len(parts) == 3 and parts[0] == "devices":
            return (f"device_{parts[2]}", parts[1])
        return ("other", None)


def envelope(body: dict[str, Any], at: datetime | None = None) -> str:
    """A payload as DESIGN.md fixes it: JSON with ``"v": 1`` and an ISO-8601 ``at``."""
    moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return json.dumps({"v": 1, "at": moment.isoformat(timespec="milliseconds"), **body}, ensure_ascii=False)


@dataclass(frozen=True)
class MqttUrl:
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> "MqttUrl":
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp"):
            raise MqttConfigError(f"MQTT URL {url!r} must start with mqtt://")
        if not parts.hostname:
            raise MqttConfigError(f"MQTT URL {url!r} has no host")
        try:
            port = parts.port or 1883
        except ValueError as err:
            raise MqttConfigError(f"MQTT URL {url!r} has a bad port") from err
        return cls(
            parts.hostname,
            port,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )


Handler = Callable[[str, bytes, bool], None]

CLIENT_ID_MAX = 120


def unique_client_id(base: str) -> str:
    """``base`` + this host + a random suffix: two programs with one MQTT user never share an id.

    The broker keeps one connection per client id and drops the older one when a second
    arrives: two announcers on one machine with the same id kicked each other off every second.
    The suffix is drawn once per :class:`MqttLink`, so its own reconnects resume its session;
    sessions left behind by a restart expire in the broker (``persistent_client_expiration``).
    """
    host = socket.gethostname().split(".")[0] or "host"
    if host not in base:
        base = f"{base[: CLIENT_ID_MAX - len(host) - 10]}-{host}"
    return f"{base[: CLIENT_ID_MAX - 9]}-{secrets.token_hex(4)}"


class MqttLink:
    """A reconnecting paho client with an availability last will and topic handlers.

    ``availability_topic`` gets a retained ``online`` on every connect and ``offline`` as the
    will (or on a clean stop). Subscriptions are renewed on every reconnect. ``client_id`` is a
    base name: the id used is made unique per link (:func:`unique_client_id`).
    """

    def __init__(self, url: str, client_id: str, availability_topic: str | None = None) -> None:
        self.url = MqttUrl.parse(url)
        self.client_id = unique_client_id(client_id)
        self.availability_topic = availability_topic
        self._client: paho.Client | None = None
        self._subscriptions: dict[str, Handler] = {}
        self.connected = threading.Event()
        self.on_connection_change: Callable[[bool], None] | None = None

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Register before or after ``start()``; renewed after every reconnect."""
        self._subscriptions[topic_filter] = handler
        if self._client is not None and self.connected.is_set():
            self._client.subscribe(topic_filter, qos=1)

    def start(self) -> None:
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False
        )
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(100)
        if self.url.username:
            client.username_pw_set(self.url.username, self.url.password)
        if self.availability_topic:
            client.will_set(self.availability_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        client.connect_async(self.url.host, self.url.port, keepalive=15)
        client.loop_start()

    def stop(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self.availability_topic and self.connected.is_set():
            info = client.publish(self.availability_topic, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        client.disconnect()
        client.loop_stop()
        self.connected.clear()

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> paho.MQTTMessageInfo:
        if self._client is None:
            raise RuntimeError("MqttLink.start() was not called")
        return self._client.publish(topic, payload, qos=1, retain=retain)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.url.host, self.url.port, reason_code)
            return
        for topic_filter in self._subscriptions:
            client.subscribe(topic_filter, qos=1)
        if self.availability_topic:
            client.publish(self.availability_topic, "online", qos=1, retain=True)
        self.connected.set()
        if self.on_connection_change:
            self.on_connection_change(True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected.clear()
        if self.on_connection_change:
            self.on_connection_change(False)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        for topic_filter, handler in list(self._subscriptions.items()):
            if paho.topic_matches_sub(topic_filter, message.topic):
                try:
                    handler(message.topic, message.payload, bool(message.retain))
                except Exception:  # a bad handler must not kill the network loop
                    log.exception("MQTT handler for %s failed", message.topic)
