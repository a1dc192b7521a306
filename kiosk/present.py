"""State → the words and tiles each screen shows, and what voice mode reads of it. Pure: no window.

``Screen.spoken`` is the screen's text in reading order, made of exactly the strings the screen
shows (the top bar — centre name, language and listen buttons — is not read with the screen; its
buttons are read when touched). ``Screen.controls`` names every button a touch can focus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .flow import KioskController
from .state import KioskState
from .text import PRIORITIES, t, wait_text


@dataclass(frozen=True)
class Tile:
    """One big button: ``action`` is what a tap does (``("service", id, procedure)``…).

    ``icon`` names a picture drawn by :mod:`kiosk.icons` (the service's ``icon`` from the site file).
    """

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
    spoken: tuple[str, ...] = ()
    controls: tuple[Tile, ...] = ()

    def label_of(self, control: tuple | None) -> str | None:
        """The words of the tile or button whose action is ``control``."""
        for item in (*self.tiles, *self.controls):
            if item.action == control:
                return item.label
        return None


def _said(*parts: str) -> tuple[str, ...]:
    """Non-empty strings, split at line breaks (a body of two lines is two shown lines)."""
    return tuple(line for part in parts for line in part.split("\n") if line.strip())


def _nav(key: str, label: str, icon: str = "") -> Tile:
    return Tile(icon, label, ("nav", key))


def _name(item: dict[str, Any], lang: str) -> str:
    return (item.get("name_en") or item["name_vi"]) if lang == "en" else item["name_vi"]


def _booked_line(appointment: dict | None, lang: str) -> str:
    """A booked citizen's ticket says how the booking counts now, instead of the rules line."""
    if not appointment:
        return t("ticket.rules", lang)
    key = {"early": "ticket.booked_early", "late": "ticket.booked_late"}.get(appointment.get("when"), "ticket.booked")
    return t(key, lang, start=appointment.get("start", ""))


def present(vm: KioskController, state: KioskState | None = None) -> Screen:
    s = state or vm.state
    lang = s.lang
    notice = t(s.notice, lang) if s.notice else ""
    greeting = t("identify.hello", lang, name=s.greeting) if s.greeting else ""
    common = {"language": t("home.language", lang), "home": t("common.home", lang), "centre": vm.centre,
              "greeting": greeting, "voice": t("voice.off" if s.voice else "voice.on", lang),
              "focus": _focus_key(s.focus)}
    chrome = (_nav("language", common["language"]),)
    home_button = _nav("home", common["home"])
    if s.screen == "home":
        hits = vm.search_hits(s.query)
        if s.query.strip():
            tiles = tuple(Tile((vm.service(h.service) or {}).get("icon") or "", h.name_en if lang == "en" else h.name_vi,
                               ("service", h.service, h.procedure)) for h in hits)
            body = "" if hits else t("home.no_results", lang)
        else:
            tiles = tuple(Tile(svc.get("icon") or "", _name(svc, lang), ("service", svc["id"], None))
                          for svc in vm.services)
            body = ""
        if not vm.services:
            body = t("help.server", lang)
        title = t("home.welcome", lang)
        search = s.query or t("home.search", lang)
        spoken = _said(title, search, notice, greeting, *(x.label for x in tiles), body, t("home.scan_hint", lang))
        return Screen("home", lang, title, body, notice, tiles,
                      {**common, "search": t("home.search", lang), "scan_hint": t("home.scan_hint", lang),
                       "query": s.query, "title_app": t("app.title", lang), "more": t("home.more", lang)},
                      spoken, chrome)
    if s.screen == "identify":
        svc = vm.service(s.service) or {"name_vi": "", "name_en": ""}
        texts = {**common, "service": _name(svc, lang), "hint": t("identify.hint", lang),
                 "next": t("identify.continue" if s.citizen else "identify.skip", lang)}
        title, body = t("identify.title", lang), t("identify.consent", lang)
        spoken = _said(texts["service"], title, texts["hint"], greeting, notice, body, texts["next"], common["home"])
        return Screen("identify", lang, title, body, notice, texts=texts, spoken=spoken,
                      controls=(*chrome, _nav("continue", texts["next"]), home_button))
    if s.screen == "priority":
        tiles = tuple(Tile(p, t(f"priority.{p}", lang), ("priority", p)) for p in PRIORITIES)
        tiles += (Tile("none", t("priority.none", lang), ("priority", None)),)
        title = t("priority.title", lang)
        spoken = _said(greeting, title, *(x.label for x in tiles), common["home"])
        return Screen("priority", lang, title, "", notice, tiles, common, spoken, (*chrome, home_button))
    if s.screen == "issuing":
        title = t("issuing.wait", lang)
        return Screen("issuing", lang, title, "", "", texts=common, spoken=_said(title), controls=chrome)
    if s.screen == "ticket":
        ticket = s.ticket or {}
        svc = vm.service(ticket.get("service")) or {"name_vi": ticket.get("service", ""), "name_en": None}
        lines = [t("ticket.ahead", lang, n=ticket.get("ahead", 0)),
                 t("ticket.wait", lang, t=wait_text(ticket.get("est_wait_s"), lang))]
        footer = t("ticket.photo", lang) if s.print_problem else t("ticket.take", lang)
        texts = {**common, "number": ticket.get("number", ""), "service": _name(svc, lang),
                 "rules": _booked_line(ticket.get("appointment"), lang), "footer": footer, "done": t("ticket.done", lang),
                 "track_url": ticket.get("track_url", "")}
        title = t("ticket.your_number", lang)
        spoken = _said(title, texts["number"], texts["service"], *lines, texts["rules"], notice, footer,
                       texts["done"])
        return Screen("ticket", lang, title, "\n".join(lines), notice, texts=texts, spoken=spoken,
                      controls=(*chrome, _nav("done", texts["done"])))
    if s.screen == "help":
        texts = {**common, "retry": t("help.retry", lang)}
        title, body = t("help.title", lang), t("help.server", lang)
        return Screen("help", lang, title, body, notice, texts=texts,
                      spoken=_said(title, body, texts["retry"], common["home"]),
                      controls=(*chrome, _nav("retry", texts["retry"]), home_button))
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
        title = t("track.title", lang)
        return Screen("track", lang, title, "\n".join(lines), notice, texts={**common, "number": number or ""},
                      spoken=_said(title, number or "", *lines, notice, common["home"]),
                      controls=(*chrome, home_button))
    raise ValueError(f"unknown screen {s.screen!r}")


_STATUS = {f"status.{s}" for s in ("waiting", "called", "serving", "done", "no_show", "parked",
                                   "transferred", "cancelled", "set_aside")}


def _focus_key(control: tuple | None) -> str:
    """A focused control as a string the .kv can compare with (``"nav:continue"``, ``"priority:infant"``)."""
    return ":".join("" if part is None else str(part) for part in control) if control else ""
