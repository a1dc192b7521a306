"""The citizen's satisfaction rating on the counter's small screen: view-model and sender, plain Python.

:class:`RatingPrompt` watches a :class:`~counter.boards.CounterBoard`. When the ticket that was at
the counter leaves it and had most likely been served (see ``CounterBoard``), the screen asks
"how was it?" for ``ask_s`` seconds (``replaced_ask_s`` if the next number was called in the same
click), or until the next call. A tap thanks the citizen at once ("Cảm ơn ông/bà!") for
``thanks_s`` seconds, then the number is back; the rating goes to :class:`RatingSender`, which
posts it in the background. One rating per ticket from this screen: a second tap just thanks again.

The server is the judge: ``201`` and ``409 already_rated`` are both "thank you"; ``409
ticket_not_finished`` (a parked ticket, a no-show the history took for served) is dropped
quietly — offered again only if it comes back and is served; no answer (network, 5xx) is retried with back-off. The citizen never sees an error.
The display token cannot read a ticket's status, so a prompt the history got wrong (rare: a
counter paused and resumed around a no-show) is only found out when tapped — and still thanked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from .boards import CounterBoard, _Observable

log = logging.getLogger(__name__)

RATINGS = ("very_satisfied", "satisfied", "not_satisfied")
RATING_VI = {"very_satisfied": "Rất hài lòng", "satisfied": "Hài lòng", "not_satisfied": "Không hài lòng"}
QUESTION_VI = "Ông/bà có hài lòng với sự phục vụ?"
THANKS_VI = "Cảm ơn ông/bà!"

IDLE, ASK, THANKS = "idle", "ask", "thanks"
# outcomes of a sent rating
RATED, ALREADY_RATED, NOT_FINISHED, REJECTED, GAVE_UP = (
    "rated", "already_rated", "not_finished", "rejected", "gave_up")
FINAL = (RATED, ALREADY_RATED, REJECTED)  # no use sending that ticket's rating again


@dataclass
class _Pending:
    ticket_id: int
    rating: str
    due: float
    attempts: int = 0


class RatingSender:
    """Posts ratings from a worker thread; keeps undelivered ones and retries them.

    ``results[ticket_id]`` is the final outcome; ``attempts[ticket_id]`` counts posts tried.
    ``on_result(ticket_id, outcome)`` is called on the worker thread.
    """

    def __init__(self, server: str, token: str, *, timeout: float = 5.0,
                 retry_delays: Sequence[float] = (1, 2, 5, 10, 30, 60), max_attempts: int = 40,
                 clock: Callable[[], float] = time.monotonic, transport: httpx.BaseTransport | None = None) -> None:
        self.retry_delays, self.max_attempts, self.clock = tuple(retry_delays), max_attempts, clock
        self.on_result: Callable[[int, str], None] | None = None
        self.results: dict[int, str] = {}
        self.attempts: dict[int, int] = {}
        self._queue: list[_Pending] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}"})

    def start(self) -> RatingSender:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rating-sender", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close()
        if self._queue:
            log.error("ratings not delivered at shutdown: %s",
                      ", ".join(f"ticket {p.ticket_id}={p.rating}" for p in self._queue))

    def submit(self, ticket_id: int, rating: str) -> bool:
        """Queue a rating (never blocks). False if this ticket was already submitted."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        with self._cond:
            if any(p.ticket_id == ticket_id for p in self._queue) or self.results.get(ticket_id) in FINAL:
                return False
            self.results.pop(ticket_id, None)
            self.attempts[ticket_id] = 0
            self._queue.append(_Pending(ticket_id, rating, self.clock()))
            self._cond.notify_all()
        return True

    def pending(self) -> list[int]:
        with self._cond:
            return [p.ticket_id for p in self._queue]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout)

    # ---- worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop:
                    now = self.clock()
                    due = [p for p in self._queue if p.due <= now]
                    if due:
                        break
                    wait = min((p.due for p in self._queue), default=now + 60) - now
                    self._cond.wait(timeout=max(0.05, wait))
                if self._stop:
                    return
                item = min(due, key=lambda p: p.due)
                item.attempts += 1
                self.attempts[item.ticket_id] = item.attempts
            outcome = self._post(item)
            with self._cond:
                if outcome is None and item.attempts < self.max_attempts:
                    delay = self.retry_delays[min(item.attempts - 1, len(self.retry_delays) - 1)]
                    item.due = self.clock() + delay
                    self._cond.notify_all()
                    continue
                self._queue.remove(item)
                self.results[item.ticket_id] = outcome or GAVE_UP
                self._cond.notify_all()
            if outcome is None:
                log.error("gave up sending rating %s for ticket %d after %d attempts",
                          item.rating, item.ticket_id, item.attempts)
            if self.on_result is not None:
                try:
                    self.on_result(item.ticket_id, outcome or GAVE_UP)
                except Exception:
                    log.exception("rating result listener failed")

    def _post(self, item: _Pending) -> str | None:
        """The final outcome, or None: try again later."""
        try:
            r = self._http.post(f"/api/v1/tickets/{item.ticket_id}/rating", json={"rating": item.rating})
        except httpx.HTTPError as err:
            log.warning("rating for ticket %d not sent (%s); will retry", item.ticket_id, err or type(err).__name__)
            return None
        if r.status_code == 201:
            return RATED
        if r.status_code >= 500:
            log.warning("rating for ticket %d: server answered %d; will retry", item.ticket_id, r.status_code)
            return None
        try:
            code = str(r.json()["error"]["code"])
        except (ValueError, KeyError, TypeError):
            code = f"http_{r.status_code}"
        if code == "already_rated":
            return ALREADY_RATED
        if code == "ticket_not_finished":
            return NOT_FINISHED
        log.error("rating for ticket %d refused: %d %s", item.ticket_id, r.status_code, code)
        return REJECTED


class RatingPrompt(_Observable):
    """What the rating part of the counter screen shows: ``state`` is idle, ask or thanks.

    Board changes arrive on the MQTT thread, taps on the UI thread; ``tick()`` (from the screen's
    clock) ends the prompt and the thanks when their time is up.
    """

    def __init__(self, board: CounterBoard, sender: RatingSender, *, ask_s: float = 30.0,
                 replaced_ask_s: float = 15.0, thanks_s: float = 4.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.board, self.sender = board, sender
        self.ask_s, self.replaced_ask_s, self.thanks_s, self.clock = ask_s, replaced_ask_s, thanks_s, clock
        self.state = IDLE
        self.ticket: str | None = None  # the number being rated
        self.ticket_id: int | None = None
        self.offered: list[int] = []  # every ticket the prompt was shown for, in order
        self._until = 0.0
        self._blinks = board.blinks
        self._departures = board.departures
        self._done: set[int] = set()  # rated here: never offered again
        sender.on_result = self._on_result
        board.listen(self._on_board)

    # ---- input --------------------------------------------------------------------------------
    def _on_board(self) -> None:
        b = self.board
        with b._cond:
            departures, departure, blinks = b.departures, b.departure, b.blinks
        with self._cond:
            changed = False
            if departures != self._departures and departure is not None:
                self._departures = departures
                if departure.served and departure.ticket_id not in self._done:
                    self._set(ASK, departure.ticket_id, departure.ticket,
                              self.replaced_ask_s if departure.replaced else self.ask_s)
                    self.offered.append(departure.ticket_id)
                    self._blinks = blinks  # the call that replaced it does not end the prompt
                    changed = True
            if blinks != self._blinks:
                self._blinks = blinks
                if self.state != IDLE:  # the next citizen is called: their number comes first
                    self._set(IDLE)
                    changed = True
        if changed:
            self._notify()

    def rate(self, rating: str) -> bool:
        """A tap. True if this tap sent the rating; a second tap (or a late one) only thanks again."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        with self._cond:
            if self.state == IDLE or self.ticket_id is None:
                return False
            tid, sent = self.ticket_id, False
            if self.state == ASK and tid not in self._done:
                self._done.add(tid)
                sent = self.sender.submit(tid, rating)
            self._set(THANKS, tid, self.ticket, self.thanks_s)
        self._notify()
        return sent

    def tick(self, now: float | None = None) -> None:
        with self._cond:
            if self.state == IDLE or (now if now is not None else self.clock()) < self._until:
                return
            self._set(IDLE)
        self._notify()

    def _on_result(self, ticket_id: int, outcome: str) -> None:
        log.info("rating for ticket %d: %s", ticket_id, outcome)
        with self._cond:
            if outcome == NOT_FINISHED:  # parked, say: it may come back, be served and be offered then
                self._done.discard(ticket_id)
            self._changed()  # waiters see the sender's result; the screen keeps its thanks

    def _set(self, state: str, ticket_id: int | None = None, ticket: str | None = None, for_s: float = 0.0) -> None:
        """With ``_cond`` held."""
        self.state, self.ticket_id, self.ticket = state, ticket_id, ticket
        self._until = self.clock() + for_s
        self._changed()

    # ---- what the screen shows ----------------------------------------------------------------
    @property
    def asking(self) -> bool:
        return self.state == ASK

    @property
    def question(self) -> str:
        return QUESTION_VI

    @property
    def thanks(self) -> str:
        return THANKS_VI
