"""The ledger kept in each dossier's own transaction equals the ledger rebuilt from the event
histories alone — after many officials changed dossiers at the same time (threads, each with its
own connection), on SQLite and PostgreSQL."""

import random
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from server.storage import ledger_backfill
from server.storage.dossier_store import DossierStore
from server.storage.tables import dossier_flow_rollup, dossier_spans

VN = timezone(timedelta(hours=7))


def snapshot(db):
    with db.read() as conn:
        flows = Counter({tuple(r[:-1]): r.n for r in conn.execute(select(dossier_flow_rollup)).all() if r.n})
        spans = Counter(tuple(r[1:]) for r in conn.execute(select(dossier_spans)).all())
    return flows, spans


def test_concurrent_changes_keep_the_ledger_equal_to_the_histories(db):
    store = DossierStore(db, public_url="http://qr.test")
    start = datetime(2026, 10, 5, 8, tzinfo=VN)
    codes = [store.create(site="demo", procedure_code="1.004873", applicant_name=f"Người {i}",
                          channel="online" if i % 3 == 0 else "direct", actor=f"canbo{i % 4 + 1}",
                          now=start + timedelta(hours=i))["code"] for i in range(24)]
    errors = []

    def official(k: int) -> None:
        rnd = random.Random(k)
        try:
            for code in codes[k::6]:
                at = start + timedelta(days=2, hours=k)
                if store.get(code)["status"] == "submitted":
                    store.change_status(code, "received", actor=f"canbo{k}", now=at)
                for status, note in rnd.choice([[("processing", None), ("resolved", None)],
                                                [("supplement_requested", "Thiếu giấy"), ("processing", None)],
                                                [("paused", "Chờ"), ("withdrawn", "Rút")],
                                                [("refused", "Sai thủ tục")]]):
                    at += timedelta(days=rnd.randrange(1, 6))
                    store.change_status(code, status, note=note, actor=f"canbo{k}", now=at, reason=note)
        except Exception as err:  # noqa: BLE001 — reported below
            errors.append(err)

    threads = [threading.Thread(target=official, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    kept = snapshot(db)
    assert sum(kept[0].values()) > 0 and sum(kept[1].values()) > 0
    with db.write() as conn:
        assert ledger_backfill.rebuild(conn) == 24
    assert snapshot(db) == kept
