"""Online backups of a site's SQLite database, and restoring one into a new place.

Only SQLite's backup API makes a consistent copy of a live WAL database: a file copy can take
the main file and the ``-wal`` file at different moments and yield a corrupt or stale backup.
The copy is made in one step (``pages=-1``) so writers going on meanwhile cannot make it restart
forever; in WAL mode they are not blocked while it runs. Each backup is checked
(``PRAGMA quick_check``), written under a temporary name, fsynced and renamed, so a backup
folder only ever holds complete files.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PREFIX = "motcua-"
SUFFIX = ".sqlite3"


class BackupError(RuntimeError):
    """A backup or restore cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class RestoreResult:
    target: Path
    counts: dict[str, int]


def _connect_existing(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise BackupError(f"database file {path} does not exist")
    return sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)


def backup_sqlite(db_file: Path, dest_dir: Path, *, keep: int | None = 14, keep_days: float | None = None,
                  label: str = "") -> Path:
    """Write one consistent copy of ``db_file`` into ``dest_dir`` and apply retention; return its path."""
    dest_dir = Path(dest_dir)
    if not dest_dir.parent.exists():
        raise BackupError(f"backup folder {dest_dir.parent} does not exist: is the USB disk plugged in and "
                          "mounted? (lsblk shows disks; mount it, or give another --to)")
    dest_dir.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"{label}-{stamp}{SUFFIX}" if label else f"{PREFIX}{stamp}{SUFFIX}"
    final = _unique(dest_dir / name)
    partial = final.with_name(final.name + ".part")
    src = _connect_existing(Path(db_file))
    try:
        dst = sqlite3.connect(str(partial))
        try:
            os.chmod(partial, 0o600)
            src.backup(dst)  # one step: a consistent snapshot even while the server writes
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the backup of {db_file} failed its check ({check}); the database may be damaged")
            dst.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
        finally:
            dst.close()
    except sqlite3.Error as err:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot back up {db_file} to {dest_dir}: {err}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    _fsync(partial)
    os.replace(partial, final)
    _fsync(dest_dir)
    if keep is not None or keep_days is not None:
        prune(dest_dir, keep=keep, keep_days=keep_days)
    return final


def list_backups(dest_dir: Path) -> list[Path]:
    """Nightly backups, oldest first (pre-upgrade backups are never pruned automatically)."""
    found = [p for p in Path(dest_dir).glob(f"{PREFIX}*{SUFFIX}") if p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def prune(dest_dir: Path, *, keep: int | None, keep_days: float | None = None) -> list[Path]:
    """Delete the oldest nightly backups beyond ``keep`` files or older than ``keep_days``."""
    backups = list_backups(dest_dir)
    doomed: set[Path] = set()
    if keep is not None and keep >= 1 and len(backups) > keep:
        doomed.update(backups[: len(backups) - keep])
    if keep_days is not None:
        cutoff = time.time() - keep_days * 86400
        doomed.update(p for p in backups[:-1] if p.stat().st_mtime < cutoff)  # never the newest
    for path in doomed:
        path.unlink(missing_ok=True)
    return sorted(doomed)


def restore_sqlite(backup_file: Path, target: Path, *, force: bool = False) -> RestoreResult:
    """Copy ``backup_file`` into ``target`` (a new file, or an existing one only with ``force``)."""
    backup_file, target = Path(backup_file), Path(target)
    src = _connect_existing(backup_file)
    try:
        try:
            check = src.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as err:
            raise BackupError(f"{backup_file} is not a motcua backup ({err})") from None
        if check != "ok" or "alembic_version" not in tables:
            raise BackupError(f"{backup_file} is not a usable motcua backup (check: {check})")
        if target.exists() and not force:
            raise BackupError(
                f"{target} already exists; restoring would replace its data. Stop the server first "
                "(systemctl stop motcua-server), then run again with --force, or restore to a new path")
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = not target.exists()
        dst = sqlite3.connect(str(target), timeout=30)
        try:
            if fresh:
                os.chmod(target, 0o600)
            src.backup(dst)  # through SQLite's locks: safe even if something holds the target open
            dst.execute("PRAGMA journal_mode=WAL")
            counts = {t: dst.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                      for t in ("tickets", "ticket_events", "dossiers", "dossier_events", "outbox") if t in tables}
        finally:
            dst.close()
    finally:
        src.close()
    return RestoreResult(target, counts)


def _unique(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
