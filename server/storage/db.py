"""Engine set-up and transactions for SQLite (the site default) and PostgreSQL (province tier).

SQLite: WAL, ``BEGIN IMMEDIATE`` for writes (so two writers never deadlock upgrading a read
lock) and an in-process write lock (so threads queue on a mutex instead of sleeping in SQLite's
busy handler). PostgreSQL: plain transactions; row locks come from ``UPDATE … RETURNING``.

Group commit (SQLite, :meth:`Database.group`): the server's writer thread
(:mod:`server.storage.writer`) runs several requests' transactions inside one SQLite transaction,
each in its own savepoint, so they share one ``COMMIT`` and its fsync. Inside a group,
``write()`` is a savepoint (an error undoes that unit alone) and ``read()`` is the group's own
connection (it sees what the units before it wrote, as it would have after their commits).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine, make_url

from .sqlite_files import secure_sqlite_file


class Database:
    """An engine plus ``write()``/``read()`` transactions and after-commit hooks. No I/O until used."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL", pool_size: int = 16) -> None:
        self.url = url
        self._sqlite_synchronous = sqlite_synchronous.upper()
        self._pool_size = pool_size
        self._engine: Engine | None = None
        self._write_lock = threading.Lock()
        self._after_commit: list[Callable[[], None]] = []
        self._is_sqlite: bool | None = None
        self.writer = None
        """The server's :class:`server.storage.writer.WriteQueue` (SQLite), set while it runs: the
        routes' write transactions go through it (``server.api.deps.run_write``)."""
        self._local = threading.local()  # .group: the open group transaction of this thread

    @property
    def is_sqlite(self) -> bool:
        if self._is_sqlite is None:  # asked on every request: parse the URL once
            self._is_sqlite = make_url(self.url).get_backend_name() == "sqlite"
        return self._is_sqlite

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("Database.open() was not called")
        return self._engine

    def open(self) -> "Database":
        if self._engine is not None:
            return self
        url = make_url(self.url)
        if self.is_sqlite:
            if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
                secure_sqlite_file(Path(url.database))  # 0600 in a 0700 directory: personal data
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=self._pool_size,
                max_overflow=8,
            )
            synchronous = self._sqlite_synchronous

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute(f"PRAGMA synchronous={synchronous}")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            @event.listens_for(engine, "begin")
            def _on_begin(conn: Connection):
                write = conn.get_execution_options().get("motcua_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        else:
            engine = create_engine(url, pool_size=self._pool_size, max_overflow=8, pool_pre_ping=True)
        self._engine = engine
        return self

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> "Database":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after every committed write (the outbox publisher's wake-up)."""
        self._after_commit.append(callback)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; commits on success, rolls back on any exception.

        Inside :meth:`group`: a savepoint of the group's transaction, committed with it."""
        group = getattr(self._local, "group", None)
        if group is not None:
            with group.begin_nested():
                yield group
            return
        lock = self._write_lock if self.is_sqlite else None
        if lock is not None:
            lock.acquire()
        try:
            with self.engine.connect() as conn:
                conn.execution_options(motcua_write=True)
                with conn.begin():
                    yield conn
        finally:
            if lock is not None:
                lock.release()
        for callback in self._after_commit:
            callback()

    @contextmanager
    def group(self) -> Iterator[Connection]:
        """One write transaction in which every ``write()`` and ``read()`` of this thread runs
        (see the module's docstring); the after-commit callbacks run once, after its commit."""
        if getattr(self._local, "group", None) is not None:
            raise RuntimeError("groups do not nest")
        with self.write() as conn:
            self._local.group = conn
            try:
                yield conn
            finally:
                self._local.group = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        group = getattr(self._local, "group", None)
        if group is not None:
            yield group
            return
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn


def plain_rows(conn: Connection, stmt) -> list[tuple]:
    """``stmt``'s rows as plain tuples, for reads of many rows (a province's reports: ~100,000).
    On PostgreSQL straight from the driver's cursor: its dates are dates and its timestamps naive
    UTC, as stored; building a Row for each and turning each timestamp aware was most of such a
    report. On SQLite through SQLAlchemy, which turns its date and time strings into values."""
    result = conn.execute(stmt)
    if conn.dialect.name == "postgresql":
        return result.cursor.fetchall()
    return [tuple(r) for r in result.all()]
