"""The live province board's Mosquitto bridge: a site's broker forwards its live topics upward.

Best effort only. The bridge carries the topics a hall display draws — ``calls``,
``queues/<service>/state`` and ``counters/<counter>/state`` (docs/mqtt.md) — and nothing else:
no device topics, nothing with a citizen's data, nothing durable. Durable figures travel in the
signed journal (``server/sync``); the board may miss a call, never a count.

Each site's bridge logs in to the province broker as ``bridge-<site>`` and maps its local prefix
``motcua/v1/<site>/`` onto the same remote prefix; the province broker's ACL
(:func:`render_province_acl`) lets that user write under its own prefix only, so one centre
cannot write over another's board. Everything goes out at QoS 0 with a clean session: while the
province is away the site broker queues nothing for the bridge (``queue_qos0_messages`` is off),
and when it returns the bridge re-sends the retained queue and counter states, so the board is
whole again without the calls it missed.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from .broker import ROOT_TOPIC, BrokerError, check_name

LIVE_TOPICS = ("calls", "queues/+/state", "counters/+/state")
"""Relative to ``motcua/v1/<site>/``: what the board shows, all of it without personal data."""
STATE_TOPIC = "bridge/state"
"""The bridge's own ``1`` / ``0`` (the province broker sets ``0`` when the site drops off)."""
BOARD_USER = "board"
"""The province broker's reader: reads every site's live topics, writes nothing."""
DEFAULT_CAFILE = "/etc/ssl/certs/ca-certificates.crt"


def bridge_user(site: str) -> str:
    return f"bridge-{check_name(site, 'site')}"


@dataclass(frozen=True)
class ProvinceBroker:
    """``mqtt://USER:PASSWORD@HOST:PORT`` (plain, 1883) or ``mqtts://…`` (TLS, 8883)."""

    host: str
    port: int
    username: str
    password: str
    tls: bool

    @classmethod
    def parse(cls, url: str, site: str) -> "ProvinceBroker":
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BrokerError(f"province broker {url!r}: write mqtts://bridge-{site}:PASSWORD@HOST:8883 "
                              "(or mqtt://… on a private link)")
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        if user != bridge_user(site):
            raise BrokerError(f"province broker {url!r}: the user must be {bridge_user(site)!r} "
                              "(the province's ACL lets each site write only as its own bridge user)")
        if not password:
            raise BrokerError(f"province broker {url!r} has no password (the province gave one with the user)")
        if any(c in password for c in "\n\r#") or password != password.strip():
            raise BrokerError("the province broker's password may not hold spaces at its ends, '#' or line breaks")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as err:
            raise BrokerError(f"province broker {url!r}: bad port") from err
        return cls(parts.hostname, port, user, password, tls)


def render_bridge_conf(site: str, broker: ProvinceBroker, *, cafile: str | None = None) -> str:
    """The site broker's conf.d file for the bridge (``/etc/mosquitto/conf.d/motcua-bridge.conf``)."""
    check_name(site, "site")
    prefix = f"{ROOT_TOPIC}/{site}/"
    lines = [
        "# motcua: the live province board (written by `motcua province bridge-config`; docs/province.md).",
        "# Best effort: live calls, queue and counter states only, QoS 0; nothing durable depends on it.",
        f"connection motcua-province-{site}",
        f"address {broker.host}:{broker.port}",
        "bridge_protocol_version mqttv311",
        f"remote_clientid {broker.username}",
        f"remote_username {broker.username}",
        f"remote_password {broker.password}",
        "cleansession true",
        "start_type automatic",
        "restart_timeout 5 60",
        "keepalive_interval 60",
        f"notification_topic {prefix}{STATE_TOPIC}",
    ]
    if broker.tls:
        lines += [f"bridge_cafile {cafile or DEFAULT_CAFILE}", "bridge_insecure false"]
    lines += [f"topic {t} out 0 {prefix} {prefix}" for t in LIVE_TOPICS]
    return "\n".join(lines) + "\n"


def render_province_acl(sites: list[str], board_users: tuple[str, ...] = (BOARD_USER,)) -> str:
    """The province broker's ACL: one block per site's bridge user, writing only under its own
    prefix, and readers for the board. Sorted, so the same sites give the same bytes."""
    parts = ["# motcua province broker ACL (written by `motcua province bridge-user`; docs/province.md).\n"
             "# Each centre's bridge writes its live topics under motcua/v1/<its site>/ and nowhere else.\n"]
    for user in sorted(set(board_users)):
        check_name(user, "board user")
        parts.append(f"\nuser {user}\n" + "".join(f"topic read {ROOT_TOPIC}/+/{t}\n" for t in (*LIVE_TOPICS, STATE_TOPIC)))
    for site in sorted(set(sites)):
        prefix = f"{ROOT_TOPIC}/{check_name(site, 'site')}/"
        parts.append(f"\nuser {bridge_user(site)}\n"
                     + "".join(f"topic write {prefix}{t}\n" for t in (*LIVE_TOPICS, STATE_TOPIC)))
    return "".join(parts)
