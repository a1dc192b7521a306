"""``motcua devices sms-test``: what an installer sees with a working dongle and with each fault."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from devices.cli import SMS_TEST_TEXT, app
from tests.support.pty_modem import PtyModem

runner = CliRunner()


def test_sms_test_over_a_pty_modem_reports_status_and_sends():
    with PtyModem() as far:
        result = runner.invoke(app, ["sms-test", "--modem", far.url, "--to", "0912 345 678"])
    assert result.exit_code == 0, result.output
    assert "status: sim=ready signal=21/31 network=registered" in result.output
    assert "OK: the modem accepted the test SMS (reference 1)" in result.output
    assert [(s.to, s.text) for s in far.sim.sent] == [("0912345678", SMS_TEST_TEXT)]


@pytest.mark.parametrize("url, code, text", [
    ("sim://?fault=no_sim", 1, "modem.no_sim"),
    ("sim://?fault=no_signal", 1, "signal=none network=NOT registered"),
    ("sim://?fault=queue_full", 1, "retrying may help"),
    ("sim://?fault=offline", 1, "modem.offline"),
    ("sim://?fault=paper_out", 2, "Configuration error"),
    ("serial:///dev/ttyUSB9-missing", 1, "modem.offline"),
])
def test_sms_test_failures(url, code, text):
    result = runner.invoke(app, ["sms-test", "--modem", url, "--to", "0912345678"])
    assert result.exit_code == code, result.output
    assert text in result.output


def test_sms_test_refuses_a_number_that_is_not_one():
    result = runner.invoke(app, ["sms-test", "--modem", "sim://", "--to", "không có"])
    assert result.exit_code == 2 and "not a phone number" in result.output
