"""The citizen's rating on the counter screen: which departures are offered, taps, the server's
answers, retries while the server is away — first fed messages directly, then against a live server
and a real Mosquitto, and a real window's screenshot of the prompt. No sleeps, no wall-clock asserts."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from counter.boards import CounterBoard
from counter.feed import BoardFeed
from counter.rating import (
    ALREADY_RATED,
    ASK,
    IDLE,
    NOT_FINISHED,
    RATED,
    THANKS,
    THANKS_VI,
    RatingPrompt,
    RatingSender,
)
from devices.mqtt import Topics, envelope
from tests.counter.test_screens import ARTIFACTS, finish, kivy_env, motcua, wait_online
from tests.kiosk.proxy import FlakyProxy
from tests.support.live import LiveSite

T = 60.0
TOPICS = Topics("demo")


# ---- fed directly ---------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def state(ticket_id, at, status="open"):
    return envelope({"counter": "1", "label": "Quầy 1", "status": status, "ticket": f"A{ticket_id:03d}" if ticket_id
                     else None, "service": "hotich" if ticket_id else None, "ticket_id": ticket_id},
                    at=at).encode()


def test_the_servers_ticket_status_decides_what_is_offered():
    """With ``ticket_status`` in the state, a ticket re-published while only called is no rating."""
    board = CounterBoard("demo", "1")
    t = moments(5)
    topic = Topics("demo").counter_state("1")

    def with_status(ticket_id, at, ticket_status):
        return envelope({"counter": "1", "label": "Quầy 1", "status": "open", "ticket": f"A{ticket_id:03d}",
                         "service": "hotich", "ticket_id": ticket_id, "ticket_status": ticket_status}, at=at).encode()

    board.handle(topic, with_status(1, t[0], "called"))
    board.handle(topic, with_status(1, t[1], "called"))  # the history rule alone would call this a start
    board.handle(topic, state(None, t[2]))
    assert board.departure.ticket_id == 1 and not board.departure.served
    board.handle(topic, with_status(2, t[3], "called"))
    board.handle(topic, with_status(2, t[4], "serving"))
    board.handle(topic, state(None, t[4] + timedelta(seconds=1)))
    assert board.departure.ticket_id == 2 and board.departure.served


def recall(seq, ticket_id, at):
    return envelope({"seq": seq, "ticket": f"A{ticket_id:03d}", "counter": "1", "label": "Quầy 1",
                     "service": "hotich", "recall": True}, at=at).encode()


def moments(n):
    base = datetime(2025, 3, 10, 3, 0, tzinfo=timezone.utc)
    return [base + timedelta(seconds=i) for i in range(n)]


def fake_sender(answers: dict[int, tuple[int, str | None]] | None = None) -> tuple[RatingSender, list]:
    posted: list[tuple[int, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tid = int(request.url.path.split("/")[-2])
        posted.append((tid, request.read().decode()))
        status, code = (answers or {}).get(tid, (201, None))
        return httpx.Response(status, json={"error": {"code": code}} if code else {"ticket_id": tid})

    return RatingSender("http://server", "tok", transport=httpx.MockTransport(handler), retry_delays=(0.05,)), posted


def test_only_a_served_ticket_is_offered_once_it_has_gone():
    board, clock = CounterBoard("demo", "1"), Clock()
    sender, _ = fake_sender()
    prompt = RatingPrompt(board, sender, clock=clock)
    s = TOPICS.counter_state("1")
    t = moments(20)
    # 1: called, recalled, no-show → nothing to rate
    board.handle(s, state(1, t[0])), board.handle(TOPICS.calls, recall(5, 1, t[1])), board.handle(s, state(1, t[1]))
    board.handle(s, state(None, t[2]))
    assert board.departure.ticket_id == 1 and not board.departure.served and prompt.state == IDLE
    # 2: called, counter paused and reopened, no-show → nothing either
    board.handle(s, state(2, t[3])), board.handle(s, state(2, t[4], "paused")), board.handle(s, state(2, t[5]))
    board.handle(s, state(None, t[6]))
    assert not board.departure.served and prompt.state == IDLE
    # 3: called, started (same ticket, same status, new at; redelivered once), finished → offered
    board.handle(s, state(3, t[7])), board.handle(s, state(3, t[8])), board.handle(s, state(3, t[8]))
    board.handle(s, state(None, t[9]))
    assert prompt.state == ASK and prompt.ticket == "A003" and prompt.ticket_id == 3
    clock.now += 31
    prompt.tick()
    assert prompt.state == IDLE  # nobody tapped within 30 s
    # 4: called, started, and the next call finishes it → offered (shorter), not ended by that call
    board.handle(s, state(4, t[10])), board.handle(s, state(4, t[11]))
    board.handle(s, state(5, t[12]))
    assert board.departure.replaced and prompt.state == ASK and prompt.ticket_id == 4
    board.handle(TOPICS.calls, recall(6, 5, t[13]))  # the next call (a recall of 5) ends the prompt
    assert prompt.state == IDLE
    # a display started while 7 was being served (retained snapshot) offers it when it goes
    late = CounterBoard("demo", "1")
    late_prompt = RatingPrompt(late, fake_sender()[0], clock=clock)
    late.handle(s, state(7, t[14]), True), late.handle(s, state(None, t[15]))
    assert late_prompt.state == ASK and late_prompt.ticket_id == 7
    assert prompt.offered == [3, 4]


def test_taps_thank_at_once_and_send_one_rating_per_ticket():
    board, clock = CounterBoard("demo", "1"), Clock()
    sender, posted = fake_sender({9: (409, "ticket_not_finished")})
    sender.start()
    prompt = RatingPrompt(board, sender, clock=clock)
    s = TOPICS.counter_state("1")
    t = moments(10)
    try:
        assert not prompt.rate("satisfied")  # nothing asked: a stray tap does nothing
        board.handle(s, state(8, t[0])), board.handle(s, state(8, t[1])), board.handle(s, state(None, t[2]))
        assert prompt.rate("very_satisfied")
        assert prompt.state == THANKS and prompt.thanks == THANKS_VI == "Cảm ơn ông/bà!"
        assert not prompt.rate("not_satisfied")  # the double tap: thanks again, nothing sent
        assert sender.wait_until(lambda: sender.results.get(8) == RATED, T)
        assert posted == [(8, '{"rating":"very_satisfied"}')]
        clock.now += 5
        prompt.tick()
        assert prompt.state == IDLE
        # 9 was parked after starting: offered, tapped, the server says not finished → quietly dropped
        board.handle(s, state(9, t[3])), board.handle(s, state(9, t[4])), board.handle(s, state(None, t[5]))
        assert prompt.rate("satisfied") and prompt.state == THANKS
        assert sender.wait_until(lambda: sender.results.get(9) == NOT_FINISHED, T)
        assert prompt.wait_until(lambda: 9 not in prompt._done, T)
        # 9 comes back, is served and leaves: offered again, and this time the rating counts
        board.handle(s, state(9, t[6]))
        assert prompt.state == IDLE  # the call ends the thanks: the number first
        board.handle(s, state(9, t[7])), board.handle(s, state(None, t[8]))
        assert prompt.state == ASK and prompt.offered == [8, 9, 9]
        before = len(posted)
        assert prompt.rate("satisfied")
        assert sender.wait_until(lambda: len(posted) == before + 1, T)
        with pytest.raises(ValueError):
            prompt.rate("great")
    finally:
        sender.stop()


# ---- live server and broker ---------------------------------------------------------------------
class Desk:
    """Official canbo1 at counter 1, over HTTP."""

    def __init__(self, live: LiveSite) -> None:
        self.live = live
        self.kiosk, self.official, self.manager = live.client("kiosk"), live.client("canbo1"), live.client("giamdoc")

    def post(self, client: httpx.Client, path: str, **kw) -> dict:
        r = client.post(path, **kw)
        r.raise_for_status()
        return r.json()

    def serve(self, *actions: str) -> dict:
        """Issue a ticket, call it to counter 1 and do ``actions`` to it."""
        self.post(self.kiosk, "/api/v1/sites/demo/tickets", json={"service": "hotich",
                                                                  "idempotency_key": uuid.uuid4().hex})
        ticket = self.post(self.official, "/api/v1/sites/demo/counters/1/call-next")
        for action in actions:
            self.post(self.official, f"/api/v1/tickets/{ticket['id']}/{action}")
        return ticket

    def ratings(self) -> dict:
        r = self.manager.get("/api/v1/sites/demo/reports/tickets")
        r.raise_for_status()
        return r.json()["ratings"]

    def close(self) -> None:
        for c in (self.kiosk, self.official, self.manager):
            c.close()


@pytest.fixture
def desk(mqtt_site):
    d = Desk(mqtt_site)
    d.post(d.official, "/api/v1/sites/demo/counters/1/open")
    yield d
    d.close()


@pytest.fixture
def screen(broker):
    """Counter 1's board fed by the broker; ``make(server_url)`` adds a prompt sending there."""
    board = CounterBoard("demo", "1")
    feed = BoardFeed.counter(broker.url("counter-1"), board)
    senders: list[RatingSender] = []

    def make(server_url: str, token: str, **kw) -> RatingPrompt:
        sender = RatingSender(server_url, token, **kw).start()
        senders.append(sender)
        return RatingPrompt(board, sender)

    feed.start()
    assert board.wait_until(lambda: board.connected, T)
    yield board, make
    feed.stop()
    for sender in senders:
        sender.stop()


def test_a_finished_ticket_is_rated_once_even_after_a_double_tap(desk, screen, mqtt_site):
    _, make = screen
    prompt = make(mqtt_site.base_url, mqtt_site.tokens["counter-1"])
    ticket = desk.serve("start", "finish")
    assert prompt.wait_until(lambda: prompt.state == ASK, T)
    assert (prompt.ticket_id, prompt.ticket) == (ticket["id"], ticket["number"])
    assert prompt.rate("very_satisfied") and not prompt.rate("very_satisfied")
    assert prompt.state == THANKS
    assert prompt.sender.wait_until(lambda: prompt.sender.results.get(ticket["id"]) == RATED, T)
    # another screen (or this one restarted) taps for the same ticket: the server says already rated
    other = RatingSender(mqtt_site.base_url, mqtt_site.tokens["counter-1"]).start()
    try:
        assert other.submit(ticket["id"], "not_satisfied")
        assert other.wait_until(lambda: other.results.get(ticket["id"]) == ALREADY_RATED, T)
    finally:
        other.stop()
    ratings = desk.ratings()
    assert ratings["total"] == 1 and ratings["very_satisfied"] == 1 and ratings["not_satisfied"] == 0
    assert ratings["by_official"] == {"canbo1": {"very_satisfied": 1, "satisfied": 0, "not_satisfied": 0}}


def test_a_no_show_offers_no_rating(desk, screen, mqtt_site):
    board, make = screen
    prompt = make(mqtt_site.base_url, mqtt_site.tokens["counter-1"])
    gone = desk.serve("recall", "no-show")
    served = desk.serve("start", "finish")  # the next one, served: the first thing offered
    assert prompt.wait_until(lambda: prompt.state == ASK, T)
    assert board.departure.ticket_id == served["id"] and prompt.offered == [served["id"]]
    assert gone["id"] not in prompt.offered
    assert desk.ratings()["total"] == 0


def test_a_rating_tapped_while_the_server_is_away_arrives_when_it_is_back(desk, screen, mqtt_site):
    _, make = screen
    proxy = FlakyProxy(mqtt_site.port).start()
    try:
        proxy.down()
        prompt = make(proxy.url, mqtt_site.tokens["counter-1"], retry_delays=(0.2, 0.5), timeout=3)
        ticket = desk.serve("start", "finish")
        assert prompt.wait_until(lambda: prompt.state == ASK, T)
        assert prompt.rate("not_satisfied") and prompt.state == THANKS  # the citizen is thanked at once
        sender = prompt.sender
        assert sender.wait_until(lambda: sender.attempts.get(ticket["id"], 0) >= 3, T)
        assert sender.pending() == [ticket["id"]] and desk.ratings()["total"] == 0
        proxy.up()
        assert sender.wait_until(lambda: sender.results.get(ticket["id"]) == RATED, T), sender.attempts
        assert desk.ratings()["not_satisfied"] == 1 and desk.ratings()["total"] == 1
    finally:
        proxy.stop()


def test_counter_screen_rating_prompt_screenshot(mqtt_site, broker, tmp_path):
    shot = ARTIFACTS / "rating.png"
    shot.unlink(missing_ok=True)
    d = Desk(mqtt_site)
    try:
        d.post(d.official, "/api/v1/sites/demo/counters/1/open")
        ticket = d.serve("start")  # being served when the screen starts: it learns this from retained state
        proc = motcua("display", "--counter", "1", "--mqtt", broker.url("counter-1"), "--site", "demo",
                      "--windowed", "--server", mqtt_site.base_url, "--token", mqtt_site.tokens["counter-1"],
                      "--screenshot", str(shot), "--screenshot-rating", env=kivy_env(tmp_path))
        wait_online(broker, "counter-1", proc)
        d.post(d.official, f"/api/v1/tickets/{ticket['id']}/finish")
        image = finish(proc, shot)
        assert image.size == (480, 320)
        # the three buttons: green, amber, red along the middle row
        row = [image.getpixel((x, 200)) for x in range(0, 480, 4)]
        assert any(g > 120 and r < 80 for r, g, b in row)  # green
        assert any(r > 180 and g < 90 for r, g, b in row)  # red
    finally:
        d.close()
