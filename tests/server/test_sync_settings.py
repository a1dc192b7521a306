"""Province-tier settings: a wrong combination stops the program with one line saying what to write."""

import re

import pytest

from server.config import ConfigError, Settings

PG = "postgresql+psycopg://motcua@127.0.0.1/motcua"
KEY = "k7Qz-Rr2pXw9LmB4vN8sT1yH6cJ0dF3a"


@pytest.mark.parametrize("values, says", [
    ({"role": "province", "database_url": "sqlite:////var/lib/motcua/motcua.sqlite3"}, "needs PostgreSQL"),
    ({"role": "nation", "database_url": PG}, "write site (a centre) or province"),
    ({"province_url": "https://tinh.example.vn"}, "MOTCUA_PROVINCE_KEY is not"),
    ({"province_url": "tinh.example.vn", "province_key": "x"}, "write https://HOST"),
])
def test_wrong_province_settings_are_refused_in_one_line(values, says):
    settings = Settings(database_url=values.pop("database_url", "sqlite:////var/lib/motcua/m.sqlite3"),
                        secret_key=KEY, **values)
    with pytest.raises(ConfigError, match=re.escape(says)):
        settings.check()


def test_a_province_on_postgresql_and_a_site_with_url_and_key_are_accepted():
    assert Settings(database_url=PG, secret_key=KEY, role="province").check().role == "province"
    site = Settings(database_url="sqlite:////var/lib/motcua/m.sqlite3", secret_key=KEY,
                    province_url="https://tinh.example.vn", province_key="site-key").check()
    assert (site.role, site.province_url) == ("site", "https://tinh.example.vn")
