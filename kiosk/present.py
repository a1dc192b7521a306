"""State → the words and tiles each screen shows. Pure, so tests read the screen without a window."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .flow import KioskController
from .state import KioskState
from .text import DEFAULT_ICON, PRIORITIES, PRIORITY_ICONS, SERVICE_ICONS, t, wait_text


@dataclass(frozen=True)
class Tile:
    """One big button: ``action`` is what a tap does (``("service", id, procedure)``…)."""

    icon: str
    label: str
    action: tuple


@dataclass(frozen=True)
class Screen:
    name: str
    lang: str
    title: str = ""
    body: str = ""
    notice: str = ""
    tiles: tuple[Tile, ...] = ()
    texts: dict[str, str] = field(default_factory=dict)


def _name(item: dict[str, Any], lang: str) -> str:
    return (item.get("name_en") or item["name_vi"]) if lang == "en" else item["name_vi"]


def present(vm: KioskController, state: KioskState | None = None) -> Screen:
    s = state or vm.state
    lang = s.lang
    notice = t(s.notice, lang) if s.notice else ""
    common = {"language": t("home.language", lang), "home": t("common.home", lang),
              "centre": vm.centre, "greeting": t("identify.hello", lang, name=s.greeting) if s.greeting else ""}
    if s.screen == "home":
        hits = vm.search_hits(s.query)
        if s.query.strip():
            tiles = tuple(Tile(SERVICE_ICONS.get((vm.service(h.service) or {}).get("icon"), DEFAULT_ICON),
                               h.name_en if lang == "en" else h.name_vi, ("service", h.service, h.procedure))
                          for h in hits)
            body = "" if hits else t("home.no_results", lang)
        else:
            tiles = tuple(Tile(SERVICE_ICONS.get(svc.get("icon"), DEFAULT_ICON), _name(svc, lang),
                               ("service", svc["id"], None)) for svc in vm.services)
            body = ""
        if not vm.services:
            body = t("help.server", lang)
        return Screen("home", lang, t("home.welcome", lang), body, notice, tiles,
                      {**common, "search": t("home.search", lang), "scan_hint": t("home.scan_hint", lang),
                       "query": s.query, "title_app": t("app.title", lang)})
    if s.screen == "identify":
        svc = vm.service(s.service) or {"name_vi": "", "name_en": ""}
        return Screen("identify", lang, t("identify.title", lang), t("identify.consent", lang), notice,
                      texts={**common, "service": _name(svc, lang), "hint": t("identify.hint", lang),
                             "next": t("identify.continue" if s.citizen else "identify.skip", lang)})
    if s.screen == "priority":
        tiles = tuple(Tile(PRIORITY_ICONS[p], t(f"priority.{p}", lang), ("priority", p)) for p in PRIORITIES)
        tiles += (Tile("→", t("priority.none", lang), ("priority", None)),)
        return Screen("priority", lang, t("priority.title", lang), "", notice, tiles, common)
    if s.screen == "issuing":
        return Screen("issuing", lang, t("issuing.wait", lang), "", "", texts=common)
    if s.screen == "ticket":
        ticket = s.ticket or {}
        svc = vm.service(ticket.get("service")) or {"name_vi": ticket.get("service", ""), "name_en": None}
        lines = [t("ticket.ahead", lang, n=ticket.get("ahead", 0)),
                 t("ticket.wait", lang, t=wait_text(ticket.get("est_wait_s"), lang))]
        footer = t("ticket.photo", lang) if s.print_problem else t("ticket.take", lang)
        return Screen("ticket", lang, t("ticket.your_number", lang), "\n".join(lines), notice,
                      texts={**common, "number": ticket.get("number", ""), "service": _name(svc, lang),
                             "footer": footer, "done": t("ticket.done", lang),
                             "track_url": ticket.get("track_url", "")})
    if s.screen == "help":
        return Screen("help", lang, t("help.title", lang), t("help.server", lang), notice,
                      texts={**common, "retry": t("help.retry", lang)})
    if s.screen == "track":
        info = s.track or {}
        lines = []
        status = info.get("status")
        if info.get("kind") == "dossier":
            number = info.get("code", "")
            label = info.get("status_label_en" if lang == "en" else "status_label_vi") or status
            if label:
                lines.append(t("track.status", lang, s=label))
        else:
            number = info.get("number", "")
            if status:
                lines.append(t("track.status", lang, s=t(f"status.{status}", lang) if f"status.{status}" in _STATUS
                               else status))
            if info.get("counter") and status in ("called", "serving"):
                lines.append(t("track.counter", lang, c=info["counter"]))
            if info.get("ahead") is not None and status == "waiting":
                lines.append(t("ticket.ahead", lang, n=info["ahead"]))
        return Screen("track", lang, t("track.title", lang), "\n".join(lines), notice,
                      texts={**common, "number": number or ""})
    raise ValueError(f"unknown screen {s.screen!r}")


_STATUS = {f"status.{s}" for s in ("waiting", "called", "serving", "done", "no_show", "parked",
                                   "transferred", "cancelled")}
