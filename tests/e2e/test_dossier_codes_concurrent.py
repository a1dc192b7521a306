"""Dossier codes under a crowd: eight officials receive dossiers at once against the real server
process, on SQLite and on PostgreSQL, with the site's codes in the TT 03/2025 legal shape.

The daily sequence is gapless and never given twice (one ``UPDATE … RETURNING`` per dossier,
never ``max()+1``), including the very first dossier of a day, when the sequence row does not
exist yet and every official's transaction races to create it.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, update

from server.domain.dossier_codes import CodeShape, parse_code
from server.storage.tables import site_sequences
from tests.e2e.test_claims_concurrent import at_once
from tests.support.crowd import crowd_site

pytestmark = pytest.mark.slow

OFFICIALS = [str(n) for n in range(1, 9)]
UNIT = "000.00.12.H12"
NAMES = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan"]


@pytest.fixture
def crowd(db_url, tmp_path):
    site = crowd_site(db_url, tmp_path, counters=len(OFFICIALS),
                      settings={"dossier_code": "tt03", "agency_code": UNIT})
    site.db_url = db_url
    yield site
    site.stop()


def receive(client, n):
    # Every other one without an idempotency key: a retry on a unique-key clash (what the key
    # allows) must not be what keeps the sequence whole.
    key = {"idempotency_key": str(uuid.uuid4())} if n % 2 else {}
    return client.post("/api/v1/dossiers", json={
        "procedure_code": "1.001193", "applicant_name": f"Nguyễn Văn {NAMES[n]}", "channel": "direct", **key})


def test_codes_are_gapless_under_a_crowd_and_widen_past_9999(crowd):
    clients = [crowd.client(c) for c in OFFICIALS]
    try:
        rounds = 3
        answers = []
        for _ in range(rounds):  # the first round creates the day's sequence row, raced by all
            answers += at_once([lambda c=c, i=i: receive(c, i) for i, c in enumerate(clients)])
        assert [r.status_code for r in answers] == [201] * (rounds * len(clients)), [r.text for r in answers]
        parsed = [parse_code(r.json()["code"], CodeShape.TT03) for r in answers]
        assert {p.unit for p in parsed} == {UNIT}
        assert len({p.day for p in parsed}) == 1
        assert sorted(p.n for p in parsed) == list(range(1, rounds * len(clients) + 1))

        # Past 9999 the sequence widens: set the day's counter near the end, receive again.
        day = parsed[0].day
        engine = create_engine(crowd.db_url)
        try:
            with engine.begin() as conn:
                conn.execute(update(site_sequences).where(site_sequences.c.site == "demo",
                                                          site_sequences.c.name == f"dossier-{day:%y%m%d}")
                             .values(value=9996))
        finally:
            engine.dispose()
        more = at_once([lambda c=c, i=i: receive(c, i) for i, c in enumerate(clients)])
        codes = sorted(r.json()["code"] for r in more)
        assert [parse_code(c).n for c in sorted(codes, key=lambda c: parse_code(c).n)] == list(range(9997, 10005))
        assert f"{UNIT}-{day:%y%m%d}-10004" in codes and f"{UNIT}-{day:%y%m%d}-9999" in codes

        # The code works wherever it is used: the API path, and the citizen's tracking page.
        widest = f"{UNIT}-{day:%y%m%d}-10004"
        got = clients[0].get(f"/api/v1/dossiers/{widest}")
        assert got.status_code == 200 and got.json()["code"] == widest
        track = clients[0].get(f"/api/v1/track/{got.json()['token']}")
        assert track.status_code == 200 and widest in track.text
    finally:
        for c in clients:
            c.close()
