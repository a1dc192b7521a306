"""The security headers do not break the pages: Chromium follows a ticket on the tracking page and a
director signs in to the dashboard (and out, which revokes the token) under the strict CSP, with no
policy violation and every script running."""

import uuid

import httpx
import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""




def page_of(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.add_init_script(WATCH)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return context, page, problems


def test_tracking_page_runs_under_the_policy(site, browser):
    expect = playwright_api.expect
    with site.client("kiosk") as kiosk:
        ticket = kiosk.post("/api/v1/sites/demo/tickets", json={"service": "hotich",
                                                                "idempotency_key": uuid.uuid4().hex}).json()
    context, page, problems = page_of(browser)
    response = page.goto(ticket["track_url"])
    assert "nonce-" in response.headers["content-security-policy"]
    expect(page.locator("#number")).to_have_text(ticket["number"])
    with site.client("canbo1") as official:  # the live stream (EventSource, connect-src 'self') updates it
        official.post("/api/v1/sites/demo/counters/1/open")
        official.post("/api/v1/sites/demo/counters/1/call-next")
    expect(page.locator("#status")).to_have_text("Mời bạn đến quầy — Quầy 1")
    assert page.evaluate("window.__violations") == [] and problems == []
    # an injected inline script (what an XSS would be) is refused by the policy
    page.evaluate("var s = document.createElement('script'); s.textContent = 'window.__pwned = 1';"
                  "document.body.appendChild(s)")
    assert page.evaluate("window.__pwned") is None
    assert any("script-src" in v for v in page.evaluate("window.__violations"))
    context.close()


def test_dashboard_signs_in_draws_and_signs_out_under_the_policy(site, browser):
    expect = playwright_api.expect
    context, page, problems = page_of(browser)
    page.goto(f"{site.base_url}/dashboard/demo")
    page.locator("input[name=username]").fill("giamdoc")
    page.locator("input[name=password]").fill("motcua-test")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator("#status")).to_have_attribute("data-state", "ready")
    expect(page.locator("#ticket-chart .bars")).to_have_count(1)
    # bar widths are set through the CSSOM: the policy refuses style="" in markup (no violation below)
    widths = page.locator("#dossier-chart .bar-fill, #ticket-chart .bar-fill").evaluate_all("els => els.map(e => e.style.width)")
    assert widths and all(w.endswith("%") for w in widths), widths
    token = page.evaluate("sessionStorage.getItem('motcua-token')")
    assert token
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("window.__violations") == [] and problems == []
    # signing out revoked the token on the server, not only in the browser
    for _ in range(50):
        r = httpx.get(f"{site.base_url}/api/v1/sites/demo/reports/tickets", headers={"Authorization": f"Bearer {token}"})
        if r.status_code == 401:
            break
        page.wait_for_timeout(100)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    context.close()
