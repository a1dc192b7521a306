"""Pure parts of the kiosk: reducer rules, folding for search, sentences, voice, CLI wiring."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from devices.layout import missing_glyphs
from kiosk import state as st
from kiosk.speech import speakable
from kiosk.text import TEXT, fold, t, wait_text


def test_fold_ignores_case_diacritics_and_d_stroke():
    assert fold("Đăng ký  khai sinh") == "dang ky khai sinh"
    assert fold("CHỨNG THỰC bản sao") == "chung thuc ban sao"
    assert fold("đ Đ") == "d d"


def test_every_sentence_exists_in_both_languages_with_vietnamese_diacritics_intact():
    for key, (vi, en) in TEXT.items():
        assert vi and en, key
    assert t("help.title") == "Vui lòng đến bàn hướng dẫn"
    assert t("cccd.bad_birth_date", "en") == "The card could not be read. You can still take a number."
    assert t("printer.something_new") == "Máy in gặp sự cố."
    with pytest.raises(KeyError):
        t("no.such.key")


def test_glyphs_and_sentences_draw_with_the_bundled_font():
    glyphs = "▣⟲☎▼"
    assert missing_glyphs(glyphs) == set()
    assert missing_glyphs("".join(vi + en for vi, en in TEXT.values())) == set()


def test_wait_text():
    assert wait_text(None) == "chưa ước tính được"
    assert wait_text(600) == "khoảng 10 phút" and wait_text(600, "en") == "about 10 min"
    assert wait_text(3900) == "khoảng 1 giờ 5 phút"


def test_reducer_ignores_actions_that_do_not_fit_the_screen():
    s = st.home(0)
    assert st.reduce(s, st.ChoosePriority(None, 1)) == s
    assert st.reduce(s, st.Retry(1)) == s
    assert st.reduce(s, st.TicketIssued({"number": "A001"}, None, 1)) == s
    s = st.reduce(s, st.ChooseService("hotich", "key-12345", 1))
    assert st.reduce(s, st.ChooseService("cutru", "key-other", 2)) == s
    assert st.reduce(s, st.ChoosePriority("vip", 2)).screen == "identify"


def test_reducer_walks_a_flow_and_idle_resets_everything():
    timeouts = st.Timeouts(idle=10)
    s = st.reduce(st.home(0), st.SetLanguage("en", 0), timeouts)
    s = st.reduce(s, st.ChooseService("hotich", "key-12345", 1), timeouts)
    s = st.reduce(s, st.CardRead("Lò Thị Mai", {"id_hash": "0" * 64, "name_masked": "L** T** M**"}, 2), timeouts)
    s = st.reduce(s, st.Continue(3), timeouts)
    s = st.reduce(s, st.ChoosePriority("infant", 4), timeouts)
    assert (s.screen, s.priority, s.lang, s.flow_key) == ("issuing", "infant", "en", "key-12345")
    assert st.reduce(s, st.Tick(1000), timeouts) == s  # never leave while a request is in flight
    s = st.reduce(s, st.TicketIssued({"number": "A001"}, None, 5), timeouts)
    assert s.screen == "ticket" and s.greeting is None
    assert st.reduce(s, st.Tick(5 + timeouts.ticket), timeouts) == st.home(5 + timeouts.ticket)


def test_home_at_rest_does_not_reset():
    s = st.home(0)
    assert st.reduce(s, st.Tick(10_000)) is s


def test_the_number_is_said_digit_by_digit_as_the_hall_calls_it():
    assert speakable("A023", "vi", "A023") == "A, không hai ba"
    assert speakable("B105", "en", "B105") == "B, 1, 0, 5"
    assert speakable("Số thứ tự của bạn", "vi", "A023") == "Số thứ tự của bạn"  # other lines as shown


def test_cli_registers_the_kiosk_command():
    import typer

    from kiosk.cli import register

    app = typer.Typer()
    register(app)

    @app.command()
    def other() -> None:  # a second command so typer keeps "kiosk" as a subcommand
        pass

    result = CliRunner().invoke(app, ["kiosk", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.output)
    for option in ("--server", "--token", "--site", "--printer", "--reader", "--fullscreen", "--voice",
                   "--no-voice", "--mqtt", "--device-id", "--voice-player", "--audio-device", "--voice-volume"):
        assert option in plain
    bad = CliRunner().invoke(app, ["kiosk", "--server", "http://127.0.0.1:9", "--token", "x",
                                   "--printer", "lpt://1"])
    assert bad.exit_code == 2 and "unknown scheme" in bad.output


def test_the_consent_says_what_is_sent_in_plain_words_not_jargon():
    for vi, _en in TEXT.values():
        assert "băm" not in vi and "hash" not in vi.lower()
    assert "không đọc ngược ra số được" in t("identify.consent")
