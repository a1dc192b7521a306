"""The site's SQLite file holds personal data: 0600, in a 0700 directory, -wal/-shm too (issue 9, item 5)."""

import logging
import os
import stat
from contextlib import contextmanager

from sqlalchemy import text

from server.storage import migrate
from server.storage.db import Database


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextmanager
def umask(value):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_database_and_its_directory_are_private(tmp_path):
    path = tmp_path / "var" / "motcua" / "motcua.sqlite3"
    with umask(0o022):  # the usual default: files 0644, directories 0755
        db = Database(f"sqlite:///{path}").open()
        try:
            migrate.upgrade(db)
            with db.write() as conn:
                conn.execute(text("INSERT INTO sites (id, name, timezone, settings) VALUES ('x', 'X', 'UTC', '{}')"))
            with db.read() as conn:  # while a connection is open the -wal and -shm files exist
                conn.execute(text("SELECT 1"))
                sidecars = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
                assert all(p.exists() for p in sidecars)
                assert {p.name: mode(p) for p in sidecars} == {p.name: 0o600 for p in sidecars}
        finally:
            db.close()
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_an_existing_world_readable_database_is_tightened_and_logged(tmp_path, caplog):
    directory = tmp_path / "data"
    with umask(0o022):
        db = Database(f"sqlite:///{directory / 'site.sqlite3'}").open()
        migrate.upgrade(db)
        db.close()
    os.chmod(directory, 0o755)
    os.chmod(directory / "site.sqlite3", 0o644)
    (directory / "site.sqlite3-wal").write_bytes(b"")
    os.chmod(directory / "site.sqlite3-wal", 0o664)
    with caplog.at_level(logging.WARNING, logger="server.storage.sqlite_files"):
        db = Database(f"sqlite:///{directory / 'site.sqlite3'}").open()
        db.close()
    assert mode(directory / "site.sqlite3") == 0o600
    assert mode(directory / "site.sqlite3-wal") == 0o600
    assert mode(directory) == 0o700
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "open to other users (mode 0644); now 0600" in said and "site.sqlite3-wal" in said


def test_a_shared_directory_is_left_alone_with_a_warning(tmp_path, caplog):
    shared = tmp_path / "home"
    shared.mkdir()
    os.chmod(shared, 0o755)
    (shared / "notes.txt").write_text("not ours")
    with umask(0o022), caplog.at_level(logging.WARNING, logger="server.storage.sqlite_files"):
        Database(f"sqlite:///{shared / 'motcua.sqlite3'}").open().close()
    assert mode(shared) == 0o755 and mode(shared / "motcua.sqlite3") == 0o600
    assert "a directory of its own" in caplog.text
