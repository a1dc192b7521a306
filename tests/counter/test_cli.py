"""The three commands are mounted and refuse a bad invocation with a sentence, before any I/O."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from counter.cli import register


def app() -> typer.Typer:
    root = typer.Typer()
    register(root)
    return root


def test_commands_are_mounted():
    result = CliRunner().invoke(app(), ["--help"])
    assert result.exit_code == 0
    for name in ("counter", "display", "announcer"):
        assert name in result.output


def test_display_needs_exactly_one_kind():
    runner = CliRunner()
    for args in ([], ["--hall", "--counter", "1"]):
        result = runner.invoke(app(), ["display", *args, "--mqtt", "mqtt://u:p@127.0.0.1:1"])
        assert result.exit_code == 2
        assert "either --hall or --counter N" in result.output


def test_display_and_announcer_need_a_broker(monkeypatch):
    monkeypatch.delenv("MOTCUA_MQTT_URL", raising=False)
    for args in (["display", "--hall"], ["announcer"]):
        result = CliRunner().invoke(app(), args)
        assert result.exit_code == 2 and "--mqtt" in result.output


def test_a_bad_led_url_is_a_configuration_error():
    result = CliRunner().invoke(app(), ["display", "--counter", "1", "--mqtt", "mqtt://u:p@127.0.0.1:1",
                                        "--led", "bogus://x"])
    assert result.exit_code == 2 and "bogus" in result.output
