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

Over the internet the link is TLS (``mqtts://``, port 8883): the province broker's listener is
:func:`render_province_conf`; the site's bridge checks the province's certificate against
``bridge_cafile`` (the system's CA bundle, or the province's own CA: :func:`check_cafile`) and the
host name in the URL (``bridge_insecure false``), so the bridge's password never travels in clear
and never to a host that only claims to be the province's.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .broker import ROOT_TOPIC, BrokerError, check_name

LIVE_TOPICS = ("calls", "queues/+/state", "counters/+/state")
"""Relative to ``motcua/v1/<site>/``: what the board shows, all of it without personal data."""
STATE_TOPIC = "bridge/state"
"""The bridge's own ``1`` / ``0`` (the province broker sets ``0`` when the site drops off)."""
BOARD_USER = "board"
"""The province broker's reader: reads every site's live topics, writes nothing."""
DEFAULT_CAFILE = "/etc/ssl/certs/ca-certificates.crt"
"""Debian's bundle of public CAs (package ``ca-certificates``): for a province certificate from a public CA."""
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


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


def check_cafile(path: str) -> None:
    """The CA file a TLS bridge verifies the province with: there, readable, PEM certificates.

    Mosquitto reads it only when the bridge connects, after it started and dropped to its own
    user, and then only logs an OpenSSL error and retries; this says what is wrong before that.
    """
    default = " (the system's CA bundle: apt-get install ca-certificates)" if path == DEFAULT_CAFILE else ""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read(1 << 20)
    except FileNotFoundError as err:
        raise BrokerError(f"CA file {path} does not exist{default}; give the province's CA with --cafile") from err
    except OSError as err:
        raise BrokerError(f"CA file {path}: {err.strerror or err}") from err
    if PEM_CERTIFICATE not in text:
        raise BrokerError(f"CA file {path} holds no PEM certificate ({PEM_CERTIFICATE} …): ask the province "
                          "for its CA certificate in PEM form (openssl x509 -inform der -in CA.cer -out ca.pem)")


def unreadable_to_broker(path: str, user: str = "mosquitto") -> str | None:
    """Why Mosquitto's own user could not read ``path`` (None: it can, or there is no such user here).

    Mosquitto 2.0 drops from root to its user before it loads a listener's ``certfile``/``keyfile``
    and before a bridge loads ``bridge_cafile``: a file only root can read stops the province's
    listener, or leaves the site's bridge retrying with "Unable to load CA certificates".
    """
    import grp
    import pwd

    try:
        who = pwd.getpwnam(user)
    except KeyError:
        return None
    groups = {who.pw_gid} | {g.gr_gid for g in grp.getgrall() if user in g.gr_mem}
    target = Path(path)
    for item, need in [*((d, 1) for d in reversed(target.parents)), (target, 4)]:
        try:
            st = item.stat()
        except FileNotFoundError:
            return f"{path} does not exist (yet)"
        except OSError as err:
            return f"{item}: {err.strerror or err}"
        mode = stat.S_IMODE(st.st_mode)
        allowed = (mode >> 6 if st.st_uid == who.pw_uid else mode >> 3 if st.st_gid in groups else mode) & need
        if not allowed:
            what = "enter the folder" if need == 1 else "read it"
            return f"user {user!r} cannot {what} {item} (owner {st.st_uid}:{st.st_gid}, mode {mode:04o})"
    return None


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


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BrokerError(f"listen address {listen!r}: write HOST:PORT, e.g. 0.0.0.0:8883")
    return host, int(port)


def render_province_conf(*, listen: str = "0.0.0.0:8883", certfile: str, keyfile: str,
                         password_file: str, acl_file: str) -> str:
    """The province broker's conf.d file (``/etc/mosquitto/conf.d/motcua-province.conf``): one TLS
    listener for the sites' bridges and the board, users and ACL from ``bridge-user``, nobody
    anonymous. ``certfile`` holds the broker's certificate (then any intermediates), for the host
    name the sites' URLs use. Mosquitto 2.0 loads both after it dropped to its own user, so the key
    must be readable by it (``root:mosquitto``, 0640): :func:`unreadable_to_broker`."""
    host, port = parse_listen(listen)
    for value, what in ((certfile, "certfile"), (keyfile, "keyfile"), (password_file, "password file"),
                        (acl_file, "ACL file")):
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise BrokerError(f"{what} {value!r}: an absolute path without spaces")
    return "\n".join([
        "# motcua: the province broker for the live board (written by `motcua province broker-config`;",
        "# docs/province.md). Sites' bridges connect over TLS; users and ACL come from `bridge-user`.",
        "per_listener_settings false",
        f"listener {port} {host}",
        f"certfile {certfile}",
        f"keyfile {keyfile}",
        "allow_anonymous false",
        f"password_file {password_file}",
        f"acl_file {acl_file}",
    ]) + "\n"
