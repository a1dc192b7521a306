"""Login throttling, lock-out and a bound on password hashing.

Each argon2 check costs ~64 MiB and a good fraction of a core on purpose. Unbounded, 32 parallel
bogus logins took a site server from 98 MB to 1.8 GB and the kiosk's p99 from 10 ms to 777 ms.
So:

- at most ``hash_slots`` hashes run at once, on their own threads (never the event loop), at a
  lower CPU priority than the threads serving kiosks and counters; a login that cannot get a slot
  within ``wait_s`` is refused with 503 and ``Retry-After`` (as is one arriving when
  ``max_waiting`` are already queued), so memory stays at ``hash_slots`` × 64 MiB whatever comes;
- each client address has a bucket of ``address_failures`` wrong passwords, refilled over a
  minute; an empty bucket means 429 and ``Retry-After`` before any hashing;
- an account (known or not: the answer never tells which names exist) is locked for
  ``lockout_s`` after ``account_failures`` wrong passwords within ``lockout_s``, even with the
  right password, with a Vietnamese sentence saying for how long.

State is in memory, per server process: a restart clears lock-outs (so does a correct login after
one has expired). Plain Python with an injectable clock; the HTTP route translates
:class:`LoginRefused` into the answer.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
MAX_KEYS = 100_000
"""Accounts and addresses remembered; beyond this the stale ones are dropped (a spray of random
names must not grow the server's memory either)."""


class LoginRefused(Exception):
    """Refused before any password was checked. ``retry_after`` in whole seconds."""

    def __init__(self, status: int, code: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, max(1, retry_after)


@dataclass
class _Account:
    failures: int = 0
    first_failure: float = 0.0
    locked_until: float = 0.0


def _lower_priority() -> None:
    """Hashing threads yield the CPU to the threads serving kiosks and counters (Linux: per thread)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # pragma: no cover - not Linux, or not permitted
        pass


class LoginGuard:
    def __init__(self, *, hash_slots: int = 2, wait_s: float = 2.0, max_waiting: int = 32,
                 account_failures: int = 5, lockout_s: float = 900.0, address_failures: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hash_slots, self.wait_s, self.max_waiting = hash_slots, wait_s, max_waiting
        self.account_failures, self.lockout_s = account_failures, lockout_s
        self.address_failures = float(address_failures)
        self.address_refill = address_failures / 60.0
        self.clock = clock
        self._accounts: dict[str, _Account] = {}
        self._addresses: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0
        self.refused: dict[str, int] = {}  # code -> count, for tests and logs

    def start(self) -> "LoginGuard":
        self._executor = ThreadPoolExecutor(self.hash_slots, thread_name_prefix="login-hash",
                                            initializer=_lower_priority)
        self._slots = asyncio.Semaphore(self.hash_slots)
        return self

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # ---- before hashing -------------------------------------------------------------------------
    def check(self, username: str, address: str) -> None:
        """Raise :class:`LoginRefused` if this account is locked or this address has no tries left."""
        now = self.clock()
        with self._lock:
            account = self._accounts.get(username.casefold())
            if account is not None and account.locked_until > now:
                raise self._refuse(self._locked(account.locked_until - now))
            tokens = self._tokens(address, now)
            if tokens < 1.0:
                wait = math.ceil((1.0 - tokens) / self.address_refill)
                raise self._refuse(LoginRefused(
                    429, "too_many_attempts",
                    f"Quá nhiều lần đăng nhập sai từ máy này. Vui lòng thử lại sau {wait} giây. / "
                    f"Too many wrong passwords from this address; try again in {wait} s.", wait))

    @asynccontextmanager
    async def slot(self):
        """A hashing slot, waited for at most ``wait_s``; else 503 ``login_busy``."""
        assert self._slots is not None, "LoginGuard.start() was not called"
        if self._waiting >= self.max_waiting:
            raise self._refuse(self._busy())
        self._waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_s)
        except asyncio.TimeoutError:
            raise self._refuse(self._busy()) from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` (the password check) on a hashing thread; call inside :meth:`slot`."""
        assert self._executor is not None, "LoginGuard.start() was not called"
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # ---- after hashing --------------------------------------------------------------------------
    def failed(self, username: str, address: str) -> LoginRefused | None:
        """Count a wrong password; the refusal to answer with if it just locked the account."""
        now = self.clock()
        key = username.casefold()
        with self._lock:
            self._prune()
            tokens = self._tokens(address, now)
            self._addresses[address] = (max(0.0, tokens - 1.0), now)
            account = self._accounts.setdefault(key, _Account())
            if account.failures == 0 or now - account.first_failure > self.lockout_s:
                account.failures, account.first_failure = 0, now
            account.failures += 1
            if account.failures >= self.account_failures:
                account.failures, account.locked_until = 0, now + self.lockout_s
                return self._refuse(self._locked(self.lockout_s))
        return None

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._accounts.pop(username.casefold(), None)

    # ---- internals (with ``_lock`` held) --------------------------------------------------------
    def _tokens(self, address: str, now: float) -> float:
        tokens, at = self._addresses.get(address, (self.address_failures, now))
        return min(self.address_failures, tokens + (now - at) * self.address_refill)

    def _prune(self) -> None:
        if len(self._accounts) > MAX_KEYS:
            now = self.clock()
            self._accounts = {k: a for k, a in self._accounts.items()
                              if a.locked_until > now or now - a.first_failure <= self.lockout_s}
        if len(self._addresses) > MAX_KEYS:
            now = self.clock()
            self._addresses = {k: v for k, v in self._addresses.items()
                               if self._tokens(k, now) < self.address_failures}

    def _locked(self, seconds: float) -> LoginRefused:
        minutes = max(1, math.ceil(seconds / 60))
        return LoginRefused(
            429, "account_locked",
            f"Tài khoản tạm thời bị khoá do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau {minutes} phút "
            f"hoặc liên hệ quản trị viên. / Account locked after too many wrong passwords; "
            f"try again in {minutes} min.", math.ceil(seconds))

    def _busy(self) -> LoginRefused:
        return LoginRefused(503, "login_busy", "Máy chủ đang bận kiểm tra đăng nhập. Vui lòng thử lại sau giây lát. / "
                            "The server is busy checking logins; try again in a moment.", 2)

    def _refuse(self, refusal: LoginRefused) -> LoginRefused:
        self.refused[refusal.code] = self.refused.get(refusal.code, 0) + 1
        return refusal
