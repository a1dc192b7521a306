"""The kiosk's device status over MQTT: ``devices/<id>/status`` (retained) and a last-will availability.

Only the kiosk's own device topics are written (the broker's ACL allows nothing else). The last
report is kept and sent again on every reconnect, so a printer that ran out of paper while the
broker was down is still reported once it is back.
"""

from __future__ import annotations

import json

from devices.mqtt import MqttLink, Topics, envelope


class MqttStatus:
    """``start()`` connects (in the background); ``printer(ok, detail)`` publishes a retained status."""

    def __init__(self, url: str, site: str, device_id: str) -> None:
        self.topics = Topics(site)
        self.device_id = device_id
        self.topic = self.topics.device_status(device_id)
        self.link = MqttLink(url, client_id=device_id,
                             availability_topic=self.topics.device_availability(device_id))
        self._last: str | None = None

    def start(self) -> None:
        self.link.on_connection_change = self._on_connection
        self.link.start()

    def stop(self) -> None:
        self.link.stop()

    def printer(self, ok: bool, detail: str) -> None:
        self._last = envelope({"kind": "printer", "ok": ok, "detail": detail})
        if self.link.connected.is_set():
            self.link.publish(self.topic, self._last, retain=True)

    def _on_connection(self, up: bool) -> None:
        if up and self._last is not None:
            self.link.publish(self.topic, self._last, retain=True)

    @staticmethod
    def parse(payload: bytes) -> dict:
        return json.loads(payload)
