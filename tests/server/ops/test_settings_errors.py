"""Each bad setting a volunteer can type gets one line (exit code 2) that says what to write instead."""

from __future__ import annotations

import pytest

from server.domain.dossiers import DossierStatus
from server.storage.catalog import demo_site_file
from tests.support.cli import motcua, one_line_error

SECRET = {"MOTCUA_SECRET_KEY": "ops-test-secret-key-0123456789abcdef"}


def test_postgres_scheme_says_postgresql_psycopg(tmp_path):
    line = one_line_error(motcua("db", "upgrade", cwd=tmp_path,
                                 env={"MOTCUA_DATABASE_URL": "postgres://motcua:pw@127.0.0.1/motcua"}))
    assert "write postgresql+psycopg://motcua:***@127.0.0.1/motcua" in line
    assert "pw@" not in line


def test_a_plain_path_says_the_sqlite_url_to_write(tmp_path):
    line = one_line_error(motcua("db", "upgrade", cwd=tmp_path,
                                 env={"MOTCUA_DATABASE_URL": "/var/lib/motcua/motcua.sqlite3"}))
    assert "is a file path, not a URL; write sqlite:////var/lib/motcua/motcua.sqlite3" in line


def test_three_slashes_would_be_relative_and_are_refused_without_creating_anything(tmp_path):
    result = motcua("server", cwd=tmp_path, env={"MOTCUA_DATABASE_URL": "sqlite:///var/lib/motcua/m.sqlite3", **SECRET})
    line = one_line_error(result)
    assert "relative to the current folder" in line
    assert "write sqlite:////var/lib/motcua/m.sqlite3" in line
    assert list(tmp_path.iterdir()) == []  # today: var/lib/motcua/m.sqlite3 appears under the cwd


def test_unset_database_url_is_refused_outside_the_demo(tmp_path):
    for args in (["server"], ["db", "upgrade"]):
        line = one_line_error(motcua(*args, cwd=tmp_path, env=SECRET))
        assert line.startswith("motcua: MOTCUA_DATABASE_URL is not set")
    assert list(tmp_path.iterdir()) == []  # today: motcua.sqlite3 is created in the current folder


def test_db_upgrade_says_which_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'site' / 'm.sqlite3'}"
    first = motcua("db", "upgrade", env={"MOTCUA_DATABASE_URL": url})
    assert first.returncode == 0, first.stderr
    assert f"database {url} upgraded from empty to" in first.stdout
    again = motcua("db", "upgrade", env={"MOTCUA_DATABASE_URL": url})
    assert f"database {url} is up to date" in again.stdout


@pytest.mark.parametrize("content, expected", [
    ('[database]\nurl = "sqlite:////tmp/x.sqlite3"\n', "unknown setting(s) database; write top-level keys"),
    ('database_url = 5\n', "database_url (MOTCUA_DATABASE_URL): Input should be a valid string"),
    ('recall_limit = "two"\n', "recall_limit (MOTCUA_RECALL_LIMIT): Input should be a valid integer"),
])
def test_a_wrong_shaped_config_file_is_one_line(tmp_path, content, expected):
    config = tmp_path / "motcua.toml"
    config.write_text(content, encoding="utf-8")
    line = one_line_error(motcua("db", "upgrade", "--config", str(config), cwd=tmp_path))
    assert f"config file {config}:" in line and expected in line


def test_an_unknown_timezone_in_the_site_file_is_refused_before_loading(tmp_path):
    site_file = tmp_path / "site.toml"
    text = demo_site_file().read_text(encoding="utf-8")
    assert 'timezone = "Asia/Ho_Chi_Minh"' in text
    site_file.write_text(text.replace('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Asia/Hanoi"'), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    line = one_line_error(motcua("site", "load", str(site_file), env={"MOTCUA_DATABASE_URL": url}))
    assert "timezone 'Asia/Hanoi' is not a known time zone" in line and "Asia/Ho_Chi_Minh" in line


def test_user_add_for_a_site_that_does_not_exist(tmp_path):
    env = {"MOTCUA_DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}"}
    assert motcua("site", "load", str(demo_site_file()), env=env).returncode == 0
    line = one_line_error(motcua("user", "add", "canbo9", "--role", "official", "--site", "xa-mot",
                                 "--password", "pw-123456", env=env))
    assert line == "motcua: site 'xa-mot' does not exist (known: demo); load it first: motcua site load FILE"
    ok = motcua("user", "add", "canbo9", "--role", "official", "--site", "demo", "--password", "pw-123456", env=env)
    assert ok.returncode == 0, ok.stderr


def test_usb_printer_without_pyusb_is_one_line(tmp_path):
    # pyusb ships in the devices extra; a machine installed without it must be told, not shown 70 lines.
    blocker = tmp_path / "no_pyusb"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'usb' or name.startswith('usb.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Hide())\n", encoding="utf-8")
    from tests.support.cli import ROOT

    result = motcua("kiosk", "--server", "http://127.0.0.1:9", "--token", "t", "--id-key", "k",
                    "--printer", "usb://04b8:0202",
                    env={"PYTHONPATH": f"{blocker}:{ROOT}", "SDL_VIDEODRIVER": "offscreen"})
    line = one_line_error(result)
    assert "usb:// printers need pyusb" in line and "motcua[devices]" in line


def test_pyusb_ships_in_the_devices_extra_and_a_udev_rule_exists():
    import tomllib

    from tests.support.cli import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("pyusb") for dep in project["optional-dependencies"]["devices"])
    rules = (ROOT / "deploy" / "udev" / "60-motcua-escpos.rules").read_text(encoding="utf-8")
    assert 'ATTRS{idVendor}=="04b8"' in rules  # Epson, the commonest receipt printer


def test_unknown_dossier_status_lists_the_valid_ones(site):
    with site.client("canbo1") as c:
        dossier = c.post("/api/v1/dossiers", json={"procedure_code": "1.004873", "applicant_name": "Lò Thị Mai",
                                                   "channel": "direct"})
        assert dossier.status_code == 201, dossier.text
        r = c.post(f"/api/v1/dossiers/{dossier.json()['code']}/status", json={"status": "done"})
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "unknown dossier status 'done'" in message
    for status in DossierStatus:
        assert status.value in message
