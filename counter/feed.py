"""MQTT → view-models and MQTT → voice, through the one wrapper (:class:`devices.mqtt.MqttLink`).

Each display connects with its own MQTT user (``display-hall``, ``announcer``, ``counter-1``…);
the broker's ACL makes it read-only on calls and state and lets it write only its own
``devices/<user>/availability`` (retained ``online``, ``offline`` as last will). Subscriptions are
renewed on every reconnect, so retained state rebuilds the board after a broker restart.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol

from devices.mqtt import MqttLink, MqttUrl, Topics

from .boards import CounterBoard, HallBoard
from .voice import Announcer, Outcome

log = logging.getLogger(__name__)


class Board(Protocol):
    def handle(self, topic: str, payload: bytes | str, retained: bool = False) -> bool: ...
    def set_connected(self, up: bool) -> None: ...


def make_link(mqtt_url: str, site: str, role: str) -> MqttLink:
    """A link whose client id and availability topic are named after the MQTT user."""
    user = MqttUrl.parse(mqtt_url).username or role
    topics = Topics(site)
    client_id = f"motcua-{role}-{site}-{user}-{socket.gethostname()}"[:120]
    return MqttLink(mqtt_url, client_id, availability_topic=topics.device_availability(user))


class BoardFeed:
    """Subscribes a board to the topics it shows. ``start()``/``stop()``; nothing at construction."""

    def __init__(self, link: MqttLink, board: Board, topic_filters: list[str]) -> None:
        self.link, self.board, self.topic_filters = link, board, topic_filters

    @classmethod
    def hall(cls, mqtt_url: str, board: HallBoard) -> "BoardFeed":
        t = board.topics
        return cls(make_link(mqtt_url, t.site, "hall"), board,
                   [t.all_counter_states, t.all_queue_states, t.calls])

    @classmethod
    def counter(cls, mqtt_url: str, board: CounterBoard) -> "BoardFeed":
        t = board.topics
        return cls(make_link(mqtt_url, t.site, f"counter{board.counter}"), board,
                   [board.state_topic, t.calls])

    def start(self) -> None:
        self.link.on_connection_change = self.board.set_connected
        for topic_filter in self.topic_filters:
            self.link.subscribe(topic_filter, self.board.handle)
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.board.set_connected(False)


class AnnouncerFeed:
    """Hands every ``calls`` payload to the :class:`Announcer`; keeps what it did, for tests.

    ``log`` holds ``(seq, ticket, recall, outcome)`` for every call received, in order; the
    announcer itself drops repeats by ``seq``, so a redelivered call is received but not spoken.
    """

    def __init__(self, link: MqttLink, announcer: Announcer, site: str) -> None:
        self.link, self.announcer = link, announcer
        self.topics = Topics(site)
        self.log: list[tuple[Any, Any, bool, Outcome]] = []
        self.connected = threading.Event()
        self._cond = threading.Condition()
        self.on_connection_change: Callable[[bool], None] | None = None

    @classmethod
    def connect(cls, mqtt_url: str, site: str, announcer: Announcer) -> "AnnouncerFeed":
        return cls(make_link(mqtt_url, site, "announcer"), announcer, site)

    def start(self) -> None:
        self.announcer.start()
        self.link.on_connection_change = self._connection_changed
        self.link.subscribe(self.topics.calls, self._on_call)
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.announcer.stop()

    def _connection_changed(self, up: bool) -> None:
        (self.connected.set if up else self.connected.clear)()
        if self.on_connection_change:
            self.on_connection_change(up)

    def _on_call(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            log.warning("ignoring a call that is not JSON on %s", topic)
            return
        outcome = self.announcer.handle_call(data)
        with self._cond:
            if isinstance(data, dict):
                self.log.append((data.get("seq"), data.get("ticket"), bool(data.get("recall")), outcome))
            self._cond.notify_all()

    def spoken(self) -> list[tuple[Any, Any, bool]]:
        """The calls handed on to be spoken, in order: ``(seq, ticket, recall)``."""
        with self._cond:
            return [(s, t, r) for s, t, r, o in self.log if o == Outcome.QUEUED]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)
