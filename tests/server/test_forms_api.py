"""The forms over HTTP on a live site: each dossier form 01–06 as PNG (QR read by zbar) and as
ESC/POS bytes, the tracking book (07) as A4 PNG pages and an A4 Excel sheet; bad requests are
clear refusals, never a 500."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from PIL import Image
from pyzbar.pyzbar import decode

from server.storage import forms
from tests.server.test_dossier_api import intake


def qr(content: bytes) -> list[str]:
    return [s.data.decode() for s in decode(Image.open(io.BytesIO(content))) if s.type == "QRCODE"]


def status(c, code, status, **body):
    r = c.post(f"/api/v1/dossiers/{code}/status", json={"status": status, **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_every_dossier_form_as_png_and_printer_bytes(site, tmp_path):
    asked = intake(site, name="Lò Thị Mai")
    refused = intake(site, name="Lò Văn Páo")
    withdrawn = intake(site, name="Quàng Thị Xuân")
    with site.client("canbo1") as c:
        status(c, asked["code"], "supplement_requested", note="Thiếu ảnh 4x6")
        status(c, asked["code"], "processing")
        status(c, asked["code"], "supplement_requested", note="Ảnh sai kích thước", reason="Ảnh mờ, không nhận diện được")
        status(c, refused["code"], "refused", note="Không thuộc thẩm quyền của xã")
        status(c, withdrawn["code"], "withdrawn", note="Công dân xin rút")
        cases = {"01": asked, "02": asked, "03": refused, "05": withdrawn, "06": asked}
        for number, d in cases.items():
            r = c.get(f"/api/v1/dossiers/{d['code']}/forms/{number}")
            assert r.status_code == 200 and r.headers["content-type"] == "image/png", (number, r.text)
            (tmp_path / f"mau{number}.png").write_bytes(r.content)
            assert qr(r.content) == [d["track_url"]], number
            raw = c.get(f"/api/v1/dossiers/{d['code']}/forms/{number}", params={"format": "escpos", "paper": 58})
            assert raw.status_code == 200 and raw.content.startswith(b"\x1b@") and b"\x1dv0" in raw.content
        # the source text of each image: its number, title and the dossier's own data
        store = site.app.state.dossiers
        second = forms.dossier_form(store, asked["code"], "02").text()
        assert second[1:3] == ["Mẫu số 02", "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"]
        assert {"Thiếu ảnh 4x6", "Ảnh sai kích thước"} & set(second) == {"Ảnh sai kích thước"}  # the last request
        assert "Ảnh mờ, không nhận diện được" in second and "2" in second
        refusal = forms.dossier_form(store, refused["code"], "03").text()
        assert refusal[1] == "Mẫu số 03" and "Không thuộc thẩm quyền của xã" in refusal
        assert "Công dân rút hồ sơ" in forms.dossier_form(store, withdrawn["code"], "05").text()
        control = forms.dossier_form(store, asked["code"], "06")
        assert control.text()[1] == "Mẫu số 06" and len(control.rows) == 4  # received, asked, processing, asked
        assert {row[3] for row in control.rows} == {"Trước hạn"}  # all hand-offs before the due date

        # a form that does not apply, an unknown form, a bad paper
        r = c.get(f"/api/v1/dossiers/{asked['code']}/forms/03")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "form_not_applicable")
        r = c.get(f"/api/v1/dossiers/{asked['code']}/forms/09")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_form")
        r = c.get(f"/api/v1/dossiers/{asked['code']}/forms/02", params={"paper": 72})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")


def test_the_tracking_book_as_a4_png_and_excel(site, tmp_path):
    d = intake(site, name="Lò Thị Mai")
    today = date.fromisoformat(d["received_at"][:10])
    period = {"from": today.isoformat(), "to": today.isoformat()}
    with site.client("canbo1") as c:
        r = c.get("/api/v1/sites/demo/forms/07", params=period)
        assert r.status_code == 200 and r.headers["x-pages"] == "1"
        (tmp_path / "mau07.png").write_bytes(r.content)
        assert Image.open(io.BytesIO(r.content)).size == (2339, 1654)
        x = c.get("/api/v1/sites/demo/forms/07", params={**period, "format": "xlsx"})
        assert x.status_code == 200
        ws = openpyxl.load_workbook(io.BytesIO(x.content)).active
        assert ws["A2"].value == "Mẫu số 07 — SỔ THEO DÕI HỒ SƠ"
        assert [cell.value for cell in ws[5]][:3] == ["STT", "Mã hồ sơ", "Thủ tục"]
        assert [cell.value for cell in ws[6]][:2] == [1, d["code"]] and ws.max_row == 6
        assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "landscape"  # 9: A4
        raw = c.get("/api/v1/sites/demo/forms/07", params={**period, "format": "escpos"})
        assert raw.status_code == 200 and raw.content.startswith(b"\x1b@")
        r = c.get("/api/v1/sites/demo/forms/07", params={"from": "2026-02-01", "to": "2026-01-01"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_period")
        r = c.get("/api/v1/sites/demo/forms/07", params={**period, "page": 2})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "no_such_page")
    book = forms.book_view(site.app.state.dossiers, "demo", today, today)
    assert book.text()[1:3] == ["Mẫu số 07", "SỔ THEO DÕI HỒ SƠ"] and book.rows[0][1] == d["code"]
