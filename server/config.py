"""Settings of the server program: one object, built in ``main`` and passed down.

Values come from ``MOTCUA_*`` environment variables, or a TOML file given with ``--config``
(environment wins over the file, so an operator can override one value for one run).
"""

from __future__ import annotations

import ipaddress
import math
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Union

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET_KEY = "demo-secret-key-change-me"
SECRET_KEY_MIN_BITS = 64
"""Estimated from the key's own characters; ``secrets.token_urlsafe(32)`` has about 220."""
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
GENERATE_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ConfigError(Exception):
    """The settings cannot work; the message says which one and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    database_url: str = "sqlite:///motcua.sqlite3"
    mqtt_url: str | None = None
    """``mqtt://user:password@127.0.0.1:1883``; None runs without a broker (the outbox keeps events)."""
    public_url: str = "http://127.0.0.1:8000"
    """The base of every URL printed in a QR code: what a citizen's phone can reach."""
    secret_key: str = DEMO_SECRET_KEY
    demo: bool = False
    site: str = "demo"
    """The site this server is the system of record for (its MQTT topics carry this id)."""
    sqlite_synchronous: str = "FULL"
    """FULL survives power loss (a commune's mini-PC sees many); NORMAL is faster."""
    token_ttl_s: int = 12 * 3600
    recall_limit: int = 2
    rate_limit_per_minute: int = Field(default=120, ge=1)
    kiosk_id_key: str | None = None
    """``MOTCUA_KIOSK_ID_KEY``: the site's key for hashing CCCD numbers (the same value on the
    kiosks, which otherwise fetch it from the server). Unset: derived from the secret key."""
    connector: str | None = None
    """The electronic one-stop system dossiers sync with: ``sim`` (built in, for the demo) or unset."""
    connector_secret: str | None = None
    """Shared secret for signed webhooks from that system (HMAC-SHA256)."""
    connector_interval_s: float = Field(default=30.0, gt=0)
    """How often dossier events are pushed to, and status changes pulled from, that system."""
    # -- "your turn is near" (server/notify, docs/notifications.md)
    notify_modem: str | None = None
    """The GSM modem that sends the SMS notices: ``serial:///dev/ttyUSB2?baudrate=115200`` (or
    ``sim://`` to try without one). Unset, and no ``notify_zalo``: no SMS, no phone field."""
    notify_zalo: str | None = None
    """``sim://`` only: the simulated Zalo ZNS channel, used when no modem is set."""
    notify_ahead: int = Field(default=3, ge=0, le=50)
    """Tell a citizen when this many people (or fewer) are before them; a site's ``notify_ahead``
    in its site file overrides it (0 = off at that site)."""
    notify_per_minute: int = Field(default=20, ge=1, le=600)
    """At most this many notices a minute (a dongle sends about 10; operators flag bursts as spam)."""
    # -- who may log in how often, and whose X-Forwarded-For is believed (server/login_guard.py)
    trusted_proxies: str = ""
    """Comma-separated addresses or networks of reverse proxies whose ``X-Forwarded-For`` is
    believed (e.g. ``127.0.0.1`` behind a local nginx). Default: none, the peer address counts."""
    login_hash_slots: int = Field(default=2, ge=1, le=64)
    """Password checks (argon2, ~64 MiB each) running at once; more logins wait, then get 503."""
    login_wait_s: float = Field(default=2.0, gt=0)
    login_lockout_after: int = Field(default=5, ge=1)
    """Wrong passwords for one account within ``login_lockout_s`` that lock it."""
    login_lockout_s: float = Field(default=900.0, gt=0)
    login_address_failures_per_minute: int = Field(default=10, ge=1)
    """Wrong passwords one client address may send per minute (any accounts) before a 429."""

    # -- the province tier (issue 12; docs/province.md)
    role: str = "site"
    """``site`` (the system of record, SQLite or PostgreSQL) or ``province`` (PostgreSQL only:
    takes sites' journals at ``/api/v1/province/ingest``; ``motcua server --role province``)."""
    province_url: str | None = None
    """At a site: the province's base URL (``https://province.example.vn``); unset, no up-sync."""
    province_key: str | None = None
    """At a site: the key ``motcua province register`` printed for it there."""
    sync_batch: int = Field(default=500, ge=1, le=1000)
    """Events per up-sync request (memory stays one batch whatever the backlog)."""
    sync_interval_s: float = Field(default=2.0, gt=0)
    """How often the up-sync looks for new events when it is in step."""
    sync_max_backoff_s: float = Field(default=60.0, gt=0)
    """The longest wait between tries while the province is unreachable."""
    sync_keep_days: float = Field(default=30.0, ge=0)
    """Journal events the province acknowledged are deleted from the site after this many days (0: never)."""

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def check(self) -> "Settings":
        """Refuse settings that only make sense in the demo."""
        if not self.demo and self.secret_key == DEMO_SECRET_KEY:
            raise ConfigError(
                "MOTCUA_SECRET_KEY is still the demo default; set a long random value "
                "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        if len(self.secret_key) < 16:
            raise ConfigError(f"MOTCUA_SECRET_KEY is too short (16 characters at least); generate one with: {GENERATE_KEY}")
        bits = secret_key_bits(self.secret_key)
        if not self.demo and bits < SECRET_KEY_MIN_BITS:
            raise ConfigError(f"MOTCUA_SECRET_KEY is too easy to guess (about {bits:.0f} bits, "
                              f"{SECRET_KEY_MIN_BITS} needed: short or repetitive); generate one with: {GENERATE_KEY}")
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as err:
            raise ConfigError(f"MOTCUA_TRUSTED_PROXIES: {err}") from None
        if self.connector not in (None, "", "sim"):
            raise ConfigError(f"MOTCUA_CONNECTOR={self.connector!r} is not a known one-stop connector (known: sim)")
        if self.notify_modem or self.notify_zalo:
            from devices.errors import DeviceConfigError
            from server.notify.channels import build_notifier

            try:
                build_notifier(self.notify_modem, self.notify_zalo)
            except DeviceConfigError as err:
                name = "MOTCUA_NOTIFY_MODEM" if self.notify_modem else "MOTCUA_NOTIFY_ZALO"
                raise ConfigError(f"{name}: {err}") from None
        if self.sqlite_synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ConfigError("MOTCUA_SQLITE_SYNCHRONOUS must be FULL, NORMAL or EXTRA")
        self.check_database()
        self.check_role()
        return self

    def check_role(self) -> "Settings":
        if self.role not in ("site", "province"):
            raise ConfigError(f"MOTCUA_ROLE={self.role!r}: write site (a centre) or province")
        if self.role == "province" and not self.database_url.startswith("postgresql"):
            raise ConfigError("MOTCUA_ROLE=province needs PostgreSQL: set MOTCUA_DATABASE_URL="
                              "postgresql+psycopg://user:pass@host/db (several replicas share it)")
        if self.role == "site" and self.province_url:
            if not self.province_url.startswith(("https://", "http://")):
                raise ConfigError(f"MOTCUA_PROVINCE_URL={self.province_url!r}: write https://HOST[:PORT]")
            if not self.province_key:
                raise ConfigError("MOTCUA_PROVINCE_URL is set but MOTCUA_PROVINCE_KEY is not: set the key "
                                  "`motcua province register SITE` printed at the province")
        return self

    def check_database(self) -> "Settings":
        """Refuse a database URL that is unset (outside the demo) or of a shape that goes wrong later."""
        from server.ops.dburl import EXAMPLE_SQLITE, DatabaseUrlError, check_database_url

        if not self.demo and "database_url" not in self.model_fields_set:
            raise ConfigError(f"MOTCUA_DATABASE_URL is not set; set it (e.g. {EXAMPLE_SQLITE}) "
                              "or give database_url in the --config file")
        try:
            check_database_url(self.database_url, allow_relative=self.demo)
        except DatabaseUrlError as err:
            raise ConfigError(str(err)) from None
        return self


def parse_networks(text: str | Iterable[str] | None) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks. Raises ValueError naming a bad entry."""
    if not text:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    networks = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(networks)


def secret_key_bits(key: str) -> float:
    """A cautious estimate of a key's entropy: its length times the Shannon entropy of its own
    characters, counting a run of neighbouring characters (``abcd``, ``1234``) only once."""
    if not key:
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    steps = [ord(b) - ord(a) for a, b in zip(key, key[1:])]
    predictable = sum(1 for a, b in zip(steps, steps[1:]) if a == b)  # abcd, 2468, aaaa…
    return per_char * (len(key) - predictable)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the TOML file (if any), then the environment, then explicit overrides."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            file_values = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ConfigError(f"config file not found: {config_file}") from err
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {config_file} is not valid TOML: {err}") from err
        file_values = file_values.get("motcua", file_values)
        _check_file_keys(config_file, file_values)

    try:
        env = Settings()  # environment only; its explicitly set fields override the file
        values = {**file_values, **{k: getattr(env, k) for k in env.model_fields_set}, **overrides}
        return Settings.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_one_line(err, config_file)) from None


def _check_file_keys(config_file: Path, values: dict[str, Any]) -> None:
    """A wrong-shaped file (unknown keys, sections) would otherwise be ignored without a word."""
    known = set(Settings.model_fields)
    unknown = sorted(k for k in values if k not in known)
    if unknown:
        raise ConfigError(
            f"config file {config_file}: unknown setting(s) {', '.join(unknown)}; write top-level keys "
            f"(or under [motcua]) among: {', '.join(sorted(known))}")


def _one_line(err: ValidationError, config_file: Path | None) -> str:
    where = f"config file {config_file}: " if config_file else ""
    parts = []
    for e in err.errors()[:3]:
        name = ".".join(str(p) for p in e.get("loc", ())) or "setting"
        shown = "" if any(w in name for w in ("secret", "url")) else f", got {e.get('input')!r}"
        parts.append(f"{name} (MOTCUA_{name.upper()}): {e.get('msg', 'invalid')}{shown}")
    return where + "; ".join(parts)
