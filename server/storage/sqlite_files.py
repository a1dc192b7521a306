"""A site's SQLite file holds personal data (names, phone numbers): only the server's user may
read it. The file is created 0600 in a 0700 directory, and a file (or its ``-wal``/``-shm``/
``-journal``) found readable by others is tightened at open, with a log line saying so.

Not done with ``umask``: it is process-wide, and other threads of the server (or of a test run)
could create files while it is changed. Creating the file ourselves with an explicit mode does
the same for the one file that matters; SQLite then gives its ``-wal``/``-shm`` files the
database file's own mode.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
SIDECARS = ("-wal", "-shm", "-journal")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _tighten(path: Path, wanted: int, what: str) -> None:
    try:
        mode = _mode(path)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & ~0o077 | (wanted & 0o700))
        log.warning("%s %s was open to other users (mode %04o); now %04o", what, path, mode, _mode(path))


def _own_directory(directory: Path, database: Path) -> bool:
    """True when the directory holds only this database (so tightening it hides nothing else)."""
    names = {database.name, *(database.name + s for s in SIDECARS)}
    return all(entry.name in names for entry in directory.iterdir())


def secure_sqlite_file(database: Path) -> None:
    """Create ``database``'s directory (0700) and the empty file (0600) if missing; tighten
    existing ones. A shared directory (one holding other files, e.g. the working directory) is
    left as it is, with a warning to give the database a directory of its own."""
    database = database.expanduser()
    directory = database.parent if str(database.parent) else Path(".")
    if not directory.exists():
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(directory, DIR_MODE)
    elif _mode(directory) & 0o077:
        if _own_directory(directory, database):
            _tighten(directory, DIR_MODE, "database directory")
        else:
            log.warning("database directory %s is shared with other files and open to other users (mode %04o); "
                        "the database file itself is 0600, but better give it a directory of its own "
                        "(e.g. /var/lib/motcua, mode 0700)", directory, _mode(directory))
    if not database.exists():
        fd = os.open(database, os.O_CREAT | os.O_WRONLY, FILE_MODE)  # an empty file is an empty database
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    _tighten(database, FILE_MODE, "database file")
    for suffix in SIDECARS:
        _tighten(database.with_name(database.name + suffix), FILE_MODE, "database file")
