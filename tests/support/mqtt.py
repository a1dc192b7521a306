"""A test subscriber on the real broker: collects every message, waits for conditions."""

from __future__ import annotations

import json
import threading
import time
import uuid

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


class Collector:
    def __init__(self, broker, user: str, topic: str = "motcua/v1/#", *, persistent_id: str | None = None) -> None:
        self.messages: list[tuple[str, dict | str, bool]] = []
        self._cond = threading.Condition()
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=persistent_id or f"test-{uuid.uuid4().hex[:8]}",
                                  clean_session=persistent_id is None)
        self.client.username_pw_set(user, broker.users[user])
        self.topic = topic
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.broker = broker

    def _on_message(self, client, userdata, msg):
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            payload = msg.payload.decode(errors="replace")
        with self._cond:
            self.messages.append((msg.topic, payload, bool(msg.retain)))
            self._cond.notify_all()

    def start(self) -> "Collector":
        self.client.connect(self.broker.host, self.broker.port, keepalive=5)
        self.client.loop_start()
        assert self.subscribed.wait(10), "subscription not acknowledged"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, predicate, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.messages if predicate(m)]
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching message in {timeout}s; got {self.messages[-5:]}")
                self._cond.wait(remaining)

    def calls(self) -> list[dict]:
        with self._cond:
            return [p for t, p, _ in self.messages if t.endswith("/calls")]
