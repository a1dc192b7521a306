"""Display view-models fed MQTT messages directly (no broker): dedupe, resets, blinking, LED frames."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from counter.boards import OFFLINE_BANNER, CounterBoard, HallBoard
from counter.led import LedCounterDisplay, counter_number
from devices.mqtt import Topics, envelope

T = Topics("demo")
AT = datetime(2025, 3, 10, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội, a Monday


def call(seq, ticket, counter, recall=False, at=AT):
    return envelope({"seq": seq, "ticket": ticket, "counter": counter, "label": f"Quầy {counter}",
                     "service": "hotich", "recall": recall}, at=at).encode()


def state(counter, ticket, status="open"):
    return envelope({"counter": counter, "label": f"Quầy {counter}", "status": status, "ticket": ticket,
                     "service": "hotich" if ticket else None}).encode()


def test_hall_dedupes_by_seq_and_follows_a_sequence_reset():
    board = HallBoard("demo", service_names={"hotich": "Hộ tịch"})
    assert board.handle(T.calls, call(10, "A001", "1"))
    assert not board.handle(T.calls, call(10, "A001", "1"))  # QoS 1 redelivery
    assert not board.handle(T.calls, call(9, "A000", "2"))  # a late straggler
    assert board.handle(T.calls, call(12, "A002", "2"))
    assert board.handle(T.calls, call(3, "A003", "3", at=AT + timedelta(minutes=5)))  # server db restored
    assert [c.ticket for c in board.calls] == ["A003", "A002", "A001"]
    assert board.duplicates == 2
    assert board.snapshot()["counters"] == {"1": "A001", "2": "A002", "3": "A003"}


def test_hall_keeps_the_last_calls_newest_first_and_state_from_retained():
    board = HallBoard("demo", max_calls=3, counter_labels={"1": "Quầy 1", "10": "Quầy 10", "2": "Quầy 2"})
    for i in range(1, 6):
        board.handle(T.calls, call(i, f"A00{i}", "1"))
    assert [c.seq for c in board.calls] == [5, 4, 3]
    assert board.handle(T.counter_state("2"), state("2", "B007"), True)
    assert not board.handle(T.counter_state("2"), state("2", "B007"), False)  # same snapshot again
    assert board.handle(T.queue_state("hotich"), envelope({"waiting": 4, "serving": 1, "est_wait_s": 300,
                                                          "last_called": "A005"}), True)
    assert [r.counter for r in board.counter_rows()] == ["1", "2", "10"]
    assert board.counters["10"].ticket is None and board.counters["2"].ticket == "B007"
    assert board.queue_rows()[0].waiting == 4
    assert not board.handle(T.calls, b"not json")
    assert not board.handle("motcua/v1/other/calls", call(99, "Z001", "1"))


def test_offline_banner_and_clock():
    board = HallBoard("demo")
    seen = []
    board.listen(lambda: seen.append(board.banner))
    assert board.banner == OFFLINE_BANNER
    board.set_connected(True)
    board.set_connected(True)
    board.set_connected(False)
    assert seen == ["", OFFLINE_BANNER]
    assert board.clock_text(AT) == ("Thứ Hai, 10/03/2025", "10:00")


def test_counter_board_blinks_on_a_new_call_and_a_recall_not_on_a_snapshot():
    board = CounterBoard("demo", "3")
    board.handle(T.counter_state("3"), state("3", "C004"), True)  # retained at start: shown, no blink
    assert (board.ticket, board.blinks) == ("C004", 0)
    board.handle(T.counter_state("3"), state("3", "C005"), False)
    board.handle(T.calls, call(20, "C005", "3"))  # the call itself: state already said it
    board.handle(T.counter_state("3"), state("3", "C005"), False)  # a resync snapshot: same number
    assert board.blinks == 1
    board.handle(T.calls, call(21, "C005", "3", recall=True))
    board.handle(T.calls, call(21, "C005", "3", recall=True))  # redelivered: one blink only
    board.handle(T.calls, call(22, "A001", "1", recall=True))  # another counter's
    board.handle(T.counter_state("1"), state("1", "A001"), False)
    assert (board.ticket, board.blinks) == ("C005", 2)
    board.handle(T.counter_state("3"), state("3", None, "paused"))
    assert (board.ticket, board.status) == (None, "paused")


def test_led_frames_follow_the_board():
    board = CounterBoard("demo", "3")
    led = LedCounterDisplay(board, "sim://")
    led.start()
    board.handle(T.counter_state("3"), state("3", "C004"), True)
    board.handle(T.counter_state("3"), state("3", "C005"))
    board.handle(T.calls, call(2, "C005", "3", recall=True))
    board.handle(T.counter_state("3"), state("3", None))
    board.handle(T.counter_state("3"), state("3", None, "closed"))
    led.stop()
    assert led.display.frames == ["CLEAR", "SHOW C004 03", "SHOW C005 03", "BLINK 3", "SHOW C005 03", "BLINK 3",
                                  "CLEAR"]
    assert counter_number("x", "Quầy 12") == 12


def test_an_unplugged_led_catches_up_when_it_returns():
    board = CounterBoard("demo", "2")
    led = LedCounterDisplay(board, "sim://?fault=offline&after=2&clear_after=1")
    led.start()  # open and the first CLEAR work (operations 1, 2)
    board.handle(T.counter_state("2"), state("2", "B001"))  # the write fails: logged, not raised
    assert not led.ok
    board.handle(T.counter_state("2"), state("2", "B002"))  # back: shows the number now served
    assert led.ok and led.display.frames[-2:] == ["SHOW B002 02", "BLINK 3"]
