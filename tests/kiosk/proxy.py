"""A TCP proxy in front of a live site that can play dead or hold answers back (server faults)."""

from __future__ import annotations

import socket
import threading
import time


class FlakyProxy:
    """``mode``: ``"pass"`` forwards; ``"down"`` accepts and hangs up (no HTTP answer).

    ``hold_next`` > 0: that many next requests reach the server, but their answers are held for
    ``hold_s`` seconds — longer than the client's timeout — so the server acts and the kiosk
    never hears about it.
    """

    def __init__(self, target_port: int, hold_s: float = 2.0) -> None:
        self.target_port = target_port
        self.hold_s = hold_s
        self.mode = "pass"
        self.hold_next = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._live: set[socket.socket] = set()

    def down(self) -> None:
        """Play dead: hang up every open connection (keep-alive ones too) and every new one."""
        with self._lock:
            self.mode = "down"
            for conn in list(self._live):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._live.clear()

    def up(self) -> None:
        self.mode = "pass"

    def start(self) -> FlakyProxy:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _accept(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                if self.mode == "down":
                    conn.close()
                    continue
                self._live.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _take_hold(self) -> float:
        with self._lock:
            if self.hold_next > 0:
                self.hold_next -= 1
                return self.hold_s
            return 0.0

    def _serve(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=_pump, args=(conn, upstream, lambda: 0.0), daemon=True).start()
        _pump(upstream, conn, self._take_hold)  # answers (keep-alive too) may be held


def _pump(src: socket.socket, dst: socket.socket, hold) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            delay = hold()
            if delay:
                time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass
