"""The one line a device needs to join its site: ``motcua1:`` + base64url(JSON).

``motcua device add NAME --role ROLE`` on the server prints it; on the device,
``motcua kiosk|display|counter|announcer --join LINE`` (or ``--join-file PATH``) turns it into the
options that command already has (``--server``, ``--token``, ``--site``, ``--mqtt``…). Options
given on the command line win over the line, so one value can still be overridden.

Kept to parsing and argv rewriting, so the device programs need no change to accept it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass
from pathlib import Path

PREFIX = "motcua1:"
ROLES = ("kiosk", "display", "counter", "announcer")
"""kiosk: the ticket kiosk; display: the hall TV; counter: a counter's screen or LED; announcer: voice."""

# Which commands a role's line may start, and the options each command takes from the line.
COMMANDS_FOR_ROLE = {
    "kiosk": ("kiosk",),
    "display": ("display",),
    "counter": ("display", "counter"),
    "announcer": ("announcer",),
}
OPTIONS = {
    "kiosk": {"--server": "server", "--token": "token", "--site": "site", "--mqtt": "mqtt", "--device-id": "device"},
    "display": {"--server": "server", "--token": "token", "--site": "site", "--mqtt": "mqtt"},
    "counter": {"--server": "server", "--site": "site"},
    "announcer": {"--site": "site", "--mqtt": "mqtt"},
}


class JoinError(ValueError):
    """A join line that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class JoinInfo:
    server: str
    site: str
    device: str
    role: str
    mqtt: str
    token: str | None = None
    counter: str | None = None

    def encode(self) -> str:
        body = {"v": 1, **{k: v for k, v in asdict(self).items() if v is not None}}
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(line: str) -> JoinInfo:
    line = line.strip()
    if not line.startswith(PREFIX):
        raise JoinError("a join line starts with 'motcua1:' (print one on the server: motcua device add NAME --role ROLE)")
    data = line[len(PREFIX):]
    try:
        body = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    except (binascii.Error, ValueError) as err:
        raise JoinError("the join line is damaged (copy the whole line again)") from err
    if not isinstance(body, dict) or body.get("v") != 1:
        raise JoinError("the join line is of an unknown version (update motcua on this device)")
    missing = [k for k in ("server", "site", "device", "role", "mqtt") if not isinstance(body.get(k), str) or not body[k]]
    if missing:
        raise JoinError(f"the join line lacks {', '.join(missing)} (print it again on the server)")
    if body["role"] not in ROLES:
        raise JoinError(f"the join line is for an unknown role {body['role']!r}")
    return JoinInfo(**{k: body.get(k) for k in JoinInfo.__dataclass_fields__})


def read_file(path: str | Path) -> JoinInfo:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise JoinError(f"cannot read the join file {path}: {err.strerror}") from err
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) != 1:
        raise JoinError(f"the join file {path} must hold exactly one motcua1: line")
    return decode(lines[0])


def _given(argv: list[str], option: str) -> bool:
    return any(a == option or a.startswith(option + "=") for a in argv)


def apply(argv: list[str]) -> list[str]:
    """``[cmd, …, --join LINE, …]`` → ``[cmd, …, --server URL, --token T, …]``; other argv unchanged."""
    if not argv or argv[0] not in OPTIONS or not (_given(argv, "--join") or _given(argv, "--join-file")):
        return argv
    command, rest, info = argv[0], [], None
    i = 1
    while i < len(argv):
        arg = argv[i]
        for option, reader in (("--join", decode), ("--join-file", read_file)):
            if arg == option or arg.startswith(option + "="):
                if arg == option:
                    if i + 1 >= len(argv):
                        raise JoinError(f"{option} needs a value")
                    value, i = argv[i + 1], i + 1
                else:
                    value = arg.split("=", 1)[1]
                if info is not None:
                    raise JoinError("give one --join or --join-file, not several")
                info = reader(value)
                break
        else:
            rest.append(arg)
        i += 1
    assert info is not None
    if command not in COMMANDS_FOR_ROLE[info.role]:
        allowed = " or ".join(f"motcua {c}" for c in COMMANDS_FOR_ROLE[info.role])
        raise JoinError(f"this join line is for the {info.role} {info.device!r}; use it with {allowed}")
    added: list[str] = []
    for option, field in OPTIONS[command].items():
        value = getattr(info, field)
        if value and not _given(rest, option):
            added += [option, value]
    if command == "counter" and info.counter and not _given(rest, "--counter"):
        added += ["--counter", info.counter]
    if command == "display" and not _given(rest, "--hall") and not _given(rest, "--counter"):
        if info.role == "display":
            added.append("--hall")
        elif info.counter:
            added += ["--counter", info.counter]
    return [command, *added, *rest]
