"""Remote tickets: joining a service's queue from a phone, and what is kept for walk-ins.

Plain Python. The rules, all decided inside the joining transaction (``server.storage.remote_store``):

* a service takes remote tickets only if the site's settings list it under ``remote.services``;
* each listed service has a ``capacity`` (citizens it can take in a day, the manager's figure)
  and a ``walk_in_share`` (percent of that capacity kept for people who come to the kiosk): at
  most ``capacity × (100 − walk_in_share) / 100`` remote tickets a day, and none once the day's
  tickets of the service (walk-in and remote together) reach the capacity. Walk-ins are never
  refused by these rules; only remote joining is;
* one phone takes at most ``per_phone_per_day`` remote tickets a day at the site (default 1).

A remote ticket is called only once its holder has checked in (a kiosk scan of the page's QR, or
"Tôi đã đến" from the centre's network); see :func:`server.domain.queue.check_in`.

Site settings example (``[site.settings.remote]`` in the site file)::

    [site.settings.remote]
    per_phone_per_day = 1
    [site.settings.remote.services.hotich]
    capacity = 60
    walk_in_share = 70

Refusals carry a Vietnamese sentence first (the page shows it as is), then English.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import DomainError

DEFAULT_PER_PHONE = 1
DEFAULT_WALK_IN_SHARE = 70


class RemoteSettingsError(ValueError):
    """The site's ``remote`` settings are wrong; the message names the key."""


class RemoteRefused(DomainError):
    """Remote joining refused; ``code`` says why (off, share used up, day full, phone limit)."""

    code = "remote_refused"
    kind = "conflict"


@dataclass(frozen=True)
class ServiceRule:
    capacity: int
    walk_in_share: int

    @property
    def remote_places(self) -> int:
        """Remote tickets the service takes in a day: what is left after the walk-ins' share."""
        return self.capacity * (100 - self.walk_in_share) // 100


@dataclass(frozen=True)
class RemoteRules:
    services: dict[str, ServiceRule]
    per_phone_per_day: int = DEFAULT_PER_PHONE

    def service(self, service_id: str) -> ServiceRule | None:
        return self.services.get(service_id)


def _whole(value, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RemoteSettingsError(f"settings.remote.{key} must be a whole number from {low} to {high}, not {value!r}")
    return value


def parse_rules(settings: dict | str | None) -> RemoteRules | None:
    """The site's remote rules, or None when remote joining is off (no ``remote`` key)."""
    if isinstance(settings, str) or settings is None:
        try:
            settings = json.loads(settings or "{}")
        except json.JSONDecodeError as err:
            raise RemoteSettingsError(f"settings is not JSON: {err}") from None
    raw = settings.get("remote") if isinstance(settings, dict) else None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RemoteSettingsError("settings.remote must be a table")
    unknown = set(raw) - {"per_phone_per_day", "services"}
    if unknown:
        raise RemoteSettingsError(f"settings.remote has unknown keys: {', '.join(sorted(unknown))} "
                                  "(known: per_phone_per_day, services)")
    per_phone = _whole(raw.get("per_phone_per_day", DEFAULT_PER_PHONE), "per_phone_per_day", 1, 20)
    services_raw = raw.get("services", {})
    if not isinstance(services_raw, dict):
        raise RemoteSettingsError("settings.remote.services must be a table of services")
    services = {}
    for service_id, rule in services_raw.items():
        if not isinstance(rule, dict):
            raise RemoteSettingsError(f"settings.remote.services.{service_id} must be a table")
        extra = set(rule) - {"capacity", "walk_in_share"}
        if extra:
            raise RemoteSettingsError(f"settings.remote.services.{service_id} has unknown keys: "
                                      f"{', '.join(sorted(extra))} (known: capacity, walk_in_share)")
        if "capacity" not in rule:
            raise RemoteSettingsError(f"settings.remote.services.{service_id}.capacity is required "
                                      "(citizens the service can take in a day)")
        services[service_id] = ServiceRule(
            _whole(rule["capacity"], f"services.{service_id}.capacity", 1, 10_000),
            _whole(rule.get("walk_in_share", DEFAULT_WALK_IN_SHARE), f"services.{service_id}.walk_in_share", 0, 100))
    return RemoteRules(services, per_phone)


@dataclass(frozen=True)
class DayCounts:
    """What the service and the phone already hold today (cancelled tickets do not count)."""

    service_tickets: int
    service_remote: int
    phone_remote: int


def check_join(rules: RemoteRules | None, service_id: str, counts: DayCounts) -> ServiceRule:
    """Raise :class:`RemoteRefused` unless one more remote ticket of ``service_id`` may be taken."""
    rule = rules.service(service_id) if rules is not None else None
    if rule is None or rule.remote_places == 0:
        raise RemoteRefused("Lĩnh vực này hiện không nhận lấy số từ xa. Vui lòng đến trung tâm lấy số tại ki-ốt. / "
                            "This service does not take remote tickets; take a ticket at the kiosk.",
                            code="remote_off")
    if counts.phone_remote >= rules.per_phone_per_day:
        raise RemoteRefused(f"Số điện thoại này đã lấy {counts.phone_remote} số từ xa hôm nay, tối đa "
                            f"{rules.per_phone_per_day} số mỗi ngày. / This phone already took "
                            f"{counts.phone_remote} remote tickets today (limit {rules.per_phone_per_day}).",
                            code="phone_daily_limit",
                            details={"held": counts.phone_remote, "limit": rules.per_phone_per_day})
    if counts.service_tickets >= rule.capacity:
        raise RemoteRefused("Hôm nay lĩnh vực này đã đủ số lượng có thể phục vụ. Vui lòng quay lại vào ngày làm "
                            "việc tiếp theo. / This service is full for today.", code="remote_day_full")
    if counts.service_remote >= rule.remote_places:
        raise RemoteRefused("Đã hết số lấy từ xa hôm nay; các chỗ còn lại dành cho người đến trực tiếp. Bạn vẫn "
                            "có thể đến trung tâm và lấy số tại ki-ốt. / Today's remote places are taken; the rest "
                            "are kept for walk-ins. You can still take a ticket at the kiosk.",
                            code="remote_share_full",
                            details={"remote_places": rule.remote_places})
    return rule
