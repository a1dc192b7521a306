"""The SQLite writer thread: the HTTP routes' write transactions, several per commit (group commit).

With ``synchronous=FULL`` every SQLite commit waits for the disk (fsync): ~0.5 ms on a quiet
disk, 5–30 ms when other programs write. Run on the event loop, that wait stopped every other
request; run one per thread-pool thread, the threads queued on the write lock anyway. Here one
thread takes every write the routes ask for, and whatever has queued up while the previous
commit was on disk goes into the next transaction, each request in its own savepoint
(:meth:`server.storage.db.Database.group`). Durability is unchanged: a request is answered only
after the commit that holds its work returned from the disk. What changes is that eight requests
waiting behind one fsync share the next one instead of paying eight.

A unit that raises is rolled back to its savepoint alone and its caller gets its own error; the
others commit. If the commit itself fails, every unit of the batch gets that error (nothing of
them was written). PostgreSQL has no writer thread (its routes use the thread pool).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
from typing import Any, Callable, TypeVar

from .db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH = 64
"""Units in one transaction at most: bounds how long one commit holds the write lock."""


class WriteQueue:
    def __init__(self, db: Database, *, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.commits = 0
        self.units = 0

    def start(self) -> "WriteQueue":
        self._thread = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the writer thread, inside a group; its result once committed."""
        if self._thread is None:
            raise RuntimeError("WriteQueue.start() was not called")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._jobs.put((functools.partial(fn, *args, **kwargs), loop, future))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            job = self._jobs.get()
            if job is None:
                break
            batch = [job]
            while len(batch) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            self._run_batch(batch)

    def _run_batch(self, batch: list) -> None:
        outcomes: list[tuple[bool, Any]] = []
        if len(batch) == 1:  # alone: its own transaction, no savepoint (two statements fewer)
            call, loop, future = batch[0]
            try:
                outcomes.append((True, call()))
            except Exception as err:
                outcomes.append((False, err))
            self._settle_all(batch, outcomes)
            return
        try:
            with self.db.group():
                for call, _loop, _future in batch:
                    try:
                        outcomes.append((True, call()))
                    except Exception as err:  # that unit's savepoint is rolled back; the others go on
                        outcomes.append((False, err))
        except Exception as err:  # the commit (or the BEGIN) failed: nothing of the batch was written
            log.warning("write transaction of %d requests failed: %s", len(batch), err)
            outcomes = [(False, err if ok else value) for ok, value in outcomes]
            outcomes += [(False, err)] * (len(batch) - len(outcomes))
        self._settle_all(batch, outcomes)

    def _settle_all(self, batch: list, outcomes: list[tuple[bool, Any]]) -> None:
        self.commits += 1
        self.units += len(batch)
        for (_call, loop, future), (ok, value) in zip(batch, outcomes):
            try:
                loop.call_soon_threadsafe(_settle, future, ok, value)
            except RuntimeError:  # the loop closed (shutdown): nobody is waiting any more
                pass


def _settle(future: asyncio.Future, ok: bool, value: Any) -> None:
    if future.cancelled():  # the client went away; the work is done (or not) all the same
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
