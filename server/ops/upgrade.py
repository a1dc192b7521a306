"""Start-up schema handling: refuse a database newer than the code, back up, then migrate.

A site upgrades by installing a new motcua and restarting the service; the server brings the
schema forward itself. Before touching a SQLite schema it takes an online backup next to the
database (``backups/pre-upgrade-<from>-to-<to>-<time>.sqlite3``) so an upgrade can be undone by
``motcua restore``. A database stamped with a revision this code does not know was written by a
newer motcua: starting on it could corrupt data, so the server refuses in one line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from server.storage import migrate
from server.storage.db import Database

from .backup import backup_sqlite
from .dburl import describe, sqlite_path

log = logging.getLogger(__name__)
MIGRATION_LOCK = 0x6D6F7463  # "motc": one key for every motcua replica


class UpgradeError(RuntimeError):
    """The database cannot be used by this code; the message says what to do."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    heads: frozenset[str]

    @property
    def newer(self) -> bool:
        return self.current is not None and not all(migrate.known_revision(r) for r in self.current.split(","))

    @property
    def up_to_date(self) -> bool:
        return self.current is not None and set(self.current.split(",")) == set(self.heads)

    @property
    def head(self) -> str:
        return ",".join(sorted(self.heads))


def schema_state(db: Database) -> SchemaState:
    return SchemaState(migrate.current_revision(db), frozenset(migrate.head_revisions()))


def too_new_message(db: Database, state: SchemaState) -> str:
    return (f"database {describe(db.url)} is at revision {state.current}, newer than this motcua "
            f"(it knows up to {state.head}); install the newer motcua again, or restore a pre-upgrade "
            f"backup with motcua restore")


def prepare_database(db: Database) -> str:
    """Refuse a newer schema; back up (SQLite) and migrate an older one. Returns what was done.

    On PostgreSQL several replicas may start at once: an advisory lock lets one migrate while the
    others wait, then find the schema current."""
    if db.is_sqlite:
        return _prepare(db)
    try:
        conn = db.engine.connect()
    except Exception as err:
        raise UpgradeError(f"database {describe(db.url)} is unreachable: {_first_line(err)}") from None
    try:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        conn.commit()
        return _prepare(db)
    finally:
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            conn.commit()
        finally:
            conn.close()


def _prepare(db: Database) -> str:
    try:
        state = schema_state(db)
    except Exception as err:  # OperationalError and friends: the database is not reachable at all
        raise UpgradeError(f"database {describe(db.url)} is unreachable: {_first_line(err)}") from None
    if state.newer:
        raise UpgradeError(too_new_message(db, state))
    if state.up_to_date:
        return f"database {describe(db.url)} is up to date (revision {state.head})"
    backup = None
    path = sqlite_path(db.url)
    if state.current is not None and path is not None and path.exists():
        backup = backup_sqlite(path, path.parent / "backups", label=f"pre-upgrade-{state.current}-to-{state.head}",
                               keep=None)
        log.info("pre-upgrade backup written to %s", backup)
    migrate.upgrade(db)
    done = f"database {describe(db.url)} upgraded from {state.current or 'empty'} to {state.head}"
    return done + (f" (backup before the upgrade: {backup})" if backup else "")


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    return text[0] if text else type(err).__name__


def pre_upgrade_backups(db_file: Path) -> list[Path]:
    return sorted((db_file.parent / "backups").glob("pre-upgrade-*.sqlite3"))
