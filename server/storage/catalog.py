"""The catalogue: procedures (national codes), a site's services (kiosk menu) and counters.

Loaded from the bundled ``seed/procedures.csv`` plus a site file (TOML); loading is an upsert,
so running ``motcua site load`` again after an edit is safe and nothing is duplicated.
"""

from __future__ import annotations

import csv
import json
import tomllib
from importlib import resources
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from devices.mqtt import check_id
from server.domain.remote import RemoteSettingsError
from server.domain.remote import parse_rules as parse_remote_rules

from . import journal
from .db import Database

from .site_settings import SiteSettingsError, build_profile, max_wait, notify_ahead, parse_cutoff
from .tables import counters, procedures, service_procedures, services, sites


class SiteFileError(ValueError):
    """The site file is wrong; the message says where."""


def seed_procedures() -> list[dict[str, Any]]:
    text = resources.files("server.seed").joinpath("procedures.csv").read_text(encoding="utf-8")
    rows = []
    for row in csv.DictReader(text.splitlines()):
        rows.append({
            "code": row["code"], "name_vi": row["name_vi"], "name_en": row["name_en"] or None,
            "field_vi": row["field_vi"] or None, "legal_days": int(row["legal_working_days"]),
            "fee_vnd": int(row["fee_vnd"] or 0), "note": row["note"] or None,
        })
    return rows


def demo_site_file() -> Path:
    return Path(str(resources.files("server.seed").joinpath("demo_site.toml")))


def _upsert(conn: Connection, table, values: dict[str, Any], keys: list[str]) -> None:
    dialect = conn.dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    changes = {k: v for k, v in values.items() if k not in keys}
    conn.execute(ins.on_conflict_do_update(index_elements=keys, set_=changes) if changes else ins.on_conflict_do_nothing())


def _check_timezone(path: Path, name: Any) -> None:
    """An unknown zone would load fine and then turn every ticket into a 500."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SiteFileError(f"{path}: [site] timezone {name!r} is not a known time zone; "
                            "write an IANA name such as \"Asia/Ho_Chi_Minh\"") from None


def parse_site_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise SiteFileError(f"site file not found: {path}") from err
    except tomllib.TOMLDecodeError as err:
        raise SiteFileError(f"{path}: not valid TOML: {err}") from err
    site = data.get("site") or {}
    if not site.get("id") or not site.get("name"):
        raise SiteFileError(f"{path}: [site] needs id and name")
    check_id(site["id"], "site id")
    try:
        max_wait(site.get("settings", {}))
        notify_ahead(site.get("settings", {}), 0)
        parse_remote_rules(site.get("settings", {}))
    except (SiteSettingsError, RemoteSettingsError) as err:
        raise SiteFileError(f"{path}: [site.settings] {err}") from None
    _check_timezone(path, site.get("timezone", "Asia/Ho_Chi_Minh"))
    known = {p["code"] for p in seed_procedures()} | {p.get("code") for p in data.get("procedures", [])}
    cutoffs = {}
    for proc in data.get("procedures", []):
        if not isinstance(proc, dict) or not proc.get("code"):
            raise SiteFileError(f"{path}: a [[procedures]] entry lacks code")
        if "cutoff" in proc:
            try:
                parse_cutoff(proc["cutoff"], "cutoff")
            except SiteSettingsError as err:
                raise SiteFileError(f"{path}: procedure {proc['code']}: {err}") from None
            cutoffs[proc["code"]] = proc["cutoff"]
    if "cutoffs" in site.get("settings", {}):
        raise SiteFileError(f"{path}: [site.settings] cutoffs is written by site load; set cutoff = \"HH:MM\" "
                            "on the procedure's [[procedures]] entry instead")
    settings = {**site.get("settings", {}), **({"cutoffs": cutoffs} if cutoffs else {})}
    try:
        build_profile(site["id"], site["name"], None, site.get("timezone", "Asia/Ho_Chi_Minh"),
                      json.dumps(settings, ensure_ascii=False))
    except (SiteSettingsError, ValueError) as err:
        raise SiteFileError(f"{path}: [site.settings] {err}") from None
    site["settings"] = settings
    prefixes: set[str] = set()
    service_ids: set[str] = set()
    for svc in data.get("services", []):
        for key in ("id", "prefix", "name_vi"):
            if not svc.get(key):
                raise SiteFileError(f"{path}: a [[services]] entry lacks {key}")
        check_id(svc["id"], "service id")
        if len(svc["prefix"]) != 1 or not svc["prefix"].isalpha() or not svc["prefix"].isupper():
            raise SiteFileError(f"{path}: service {svc['id']}: prefix must be one capital letter")
        if svc["prefix"] in prefixes:
            raise SiteFileError(f"{path}: prefix {svc['prefix']} is used by two services")
        prefixes.add(svc["prefix"])
        service_ids.add(svc["id"])
        for code in svc.get("procedures", []):
            if code not in known:
                raise SiteFileError(f"{path}: service {svc['id']}: unknown procedure code {code}")
    for ctr in data.get("counters", []):
        if not ctr.get("id") or not ctr.get("label"):
            raise SiteFileError(f"{path}: a [[counters]] entry lacks id or label")
        check_id(str(ctr["id"]), "counter id")
        unknown = [s for s in ctr.get("services", []) if s not in service_ids]
        if unknown:
            raise SiteFileError(f"{path}: counter {ctr['id']}: unknown services {unknown}")
    return data


def load_site(db: Database, path: Path) -> str:
    """Upsert the procedures, the site, its services and counters. Returns the site id."""
    data = parse_site_file(path)
    site = data["site"]
    with db.write() as conn:
        for proc in seed_procedures():
            _upsert(conn, procedures, proc, ["code"])
        for proc in data.get("procedures", []):
            proc = {k: v for k, v in proc.items() if k != "cutoff"}  # per site: kept in the site's settings
            if conn.execute(select(procedures.c.code).where(procedures.c.code == proc["code"])).first():
                if len(proc) > 1:
                    conn.execute(update(procedures).where(procedures.c.code == proc["code"])
                                 .values(**{k: v for k, v in proc.items() if k != "code"}))
            else:
                _upsert(conn, procedures, proc, ["code"])
        _upsert(conn, sites, {
            "id": site["id"], "name": site["name"], "timezone": site.get("timezone", "Asia/Ho_Chi_Minh"),
            "address": site.get("address"), "settings": json.dumps(site.get("settings", {}), ensure_ascii=False),
        }, ["id"])
        listed = []
        for order, svc in enumerate(data.get("services", [])):
            listed.append(svc["id"])
            _upsert(conn, services, {
                "site": site["id"], "id": svc["id"], "prefix": svc["prefix"], "name_vi": svc["name_vi"],
                "name_en": svc.get("name_en"), "icon": svc.get("icon"), "sort_order": order, "active": True,
            }, ["site", "id"])
            conn.execute(delete(service_procedures).where(
                service_procedures.c.site == site["id"], service_procedures.c.service == svc["id"]))
            for p_order, code in enumerate(svc.get("procedures", [])):
                conn.execute(service_procedures.insert().values(
                    site=site["id"], service=svc["id"], procedure_code=code, sort_order=p_order))
        # Services dropped from the file are hidden, not deleted: their tickets stay in history.
        conn.execute(update(services).where(services.c.site == site["id"], services.c.id.not_in(listed))
                     .values(active=False))
        for ctr in data.get("counters", []):
            _upsert(conn, counters, {
                "site": site["id"], "id": str(ctr["id"]), "label": ctr["label"],
                "services": json.dumps(ctr.get("services", [])),
            }, ["site", "id"])
        # the province's copy follows (a schema from before revision 0010 has no journal yet: its
        # upgrade starts the journal, and the server journals the profile when it starts with a province)
        if conn.dialect.has_table(conn, "sync_journal"):
            journal.record_profile(conn, site["id"], datetime.now(timezone.utc))
    return site["id"]


def services_menu(db: Database, site_id: str) -> dict[str, Any] | None:
    """The kiosk menu: services with their procedures (site overrides applied). None: no such site."""
    with db.read() as conn:
        site = conn.execute(select(sites).where(sites.c.id == site_id)).first()
        if site is None:
            return None
        svc_rows = conn.execute(
            select(services).where(services.c.site == site_id, services.c.active).order_by(services.c.sort_order)
        ).all()
        sp, p = service_procedures.c, procedures.c
        proc_rows = conn.execute(
            select(sp.service, sp.legal_days.label("site_days"), sp.fee_vnd.label("site_fee"), p.code,
                   p.name_vi, p.name_en, p.field_vi, p.legal_days, p.fee_vnd)
            .join(procedures, procedures.c.code == sp.procedure_code)
            .where(sp.site == site_id)
            .order_by(sp.service, sp.sort_order)
        ).all()
    by_service: dict[str, list[dict[str, Any]]] = {}
    for r in proc_rows:
        by_service.setdefault(r.service, []).append({
            "code": r.code, "name_vi": r.name_vi, "name_en": r.name_en, "field_vi": r.field_vi,
            "legal_days": r.site_days if r.site_days is not None else r.legal_days,
            "fee_vnd": r.site_fee if r.site_fee is not None else r.fee_vnd,
        })
    return {
        "site": {"id": site.id, "name": site.name, "address": site.address},
        "services": [{
            "id": s.id, "prefix": s.prefix, "name_vi": s.name_vi, "name_en": s.name_en, "icon": s.icon,
            "procedures": by_service.get(s.id, []),
        } for s in svc_rows],
    }
