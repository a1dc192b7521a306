"""``MOTCUA_DATABASE_URL``: refuse shapes that fail later or silently, and say what to write instead.

A commune volunteer types this by hand. ``postgres://`` (Heroku's spelling), a bare file path and
``sqlite:///var/lib/…`` (three slashes: a path *relative to the current folder*, so the server
quietly creates an empty database wherever it was started) all look plausible and all go wrong.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

EXAMPLE_SQLITE = "sqlite:////var/lib/motcua/motcua.sqlite3"
EXAMPLE_POSTGRES = "postgresql+psycopg://motcua:PASSWORD@127.0.0.1:5432/motcua"


class DatabaseUrlError(ValueError):
    """The URL cannot be what the operator meant; the message says what to write."""


def check_database_url(url: str, *, allow_relative: bool = False) -> str:
    """Return ``url`` if it names a database we can use as intended, else raise DatabaseUrlError."""
    url = url.strip()
    if not url:
        raise DatabaseUrlError(f"MOTCUA_DATABASE_URL is empty; write e.g. {EXAMPLE_SQLITE}")
    if "://" not in url:
        path = Path(url).expanduser()
        absolute = path if path.is_absolute() else Path.cwd() / path
        raise DatabaseUrlError(
            f"MOTCUA_DATABASE_URL={url!r} is a file path, not a URL; write sqlite:///{absolute} "
            f"(sqlite:// then the absolute path: four slashes in all)")
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("postgres", "pg", "postgresql+psycopg2", "postgresql"):
        rest = url.split("://", 1)[1]
        raise DatabaseUrlError(
            f"MOTCUA_DATABASE_URL starts with {scheme}://, which motcua cannot use; "
            f"write postgresql+psycopg://{_mask_rest(rest)}")
    if scheme not in ("sqlite", "postgresql+psycopg"):
        raise DatabaseUrlError(
            f"MOTCUA_DATABASE_URL scheme {scheme}:// is not supported; "
            f"write {EXAMPLE_SQLITE} (a site) or {EXAMPLE_POSTGRES} (a province)")
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise DatabaseUrlError(f"MOTCUA_DATABASE_URL cannot be read as a URL ({err}); "
                               f"write e.g. {EXAMPLE_SQLITE}") from None
    if scheme == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise DatabaseUrlError(f"MOTCUA_DATABASE_URL={url!r} names no file; write e.g. {EXAMPLE_SQLITE}")
        if not Path(database).is_absolute() and not allow_relative:
            raise DatabaseUrlError(
                f"MOTCUA_DATABASE_URL={url!r} is a path relative to the current folder "
                f"(it would create {Path.cwd() / database}); for /{database} write sqlite:////{database} "
                f"(four slashes: an absolute path)")
    elif not parsed.database:
        raise DatabaseUrlError(f"MOTCUA_DATABASE_URL names no database; write e.g. {EXAMPLE_POSTGRES}")
    return url


def describe(url: str) -> str:
    """The URL with its password hidden, for logs and messages: ``sqlite:////var/…`` or ``postgresql+psycopg://u:***@h/db``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _mask_rest(rest: str) -> str:
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{user}:***@{rest.split('@', 1)[1]}"
    return rest
