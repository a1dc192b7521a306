"""The slip preview in both paper widths, as the counter terminal fetches it to print."""

import io

from PIL import Image


def test_slip_png_in_both_paper_widths(site):
    with site.client("canbo1") as official:
        code = official.post("/api/v1/dossiers", json={"procedure_code": "1.001193", "applicant_name": "Lò Thị Mai",
                                                      "channel": "direct"}).json()["code"]
        for paper, width in ((80, 576), (58, 384)):
            r = official.get(f"/api/v1/dossiers/{code}/slip.png", params={"paper": paper})
            assert r.status_code == 200 and r.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(r.content)).width == width
        r = official.get(f"/api/v1/dossiers/{code}/slip.png", params={"paper": 72})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
