"""Start-up of ``motcua server``: the schema first, then uvicorn, then "listening on …"."""

from __future__ import annotations

import logging

import uvicorn

log = logging.getLogger("server")


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that logs where it listens once the socket is bound (uvicorn's own line is
    at a log level we keep quiet)."""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            host = self.config.host
            shown = f"[{host}]" if ":" in host else host
            log.info("listening on http://%s:%d", shown, self.config.port)
            if host in ("0.0.0.0", "::"):
                log.info("(all addresses: phones and devices use this machine's LAN address, e.g. MOTCUA_PUBLIC_URL)")


def run(app, host: str, port: int) -> None:
    # proxy_headers off: X-Forwarded-For is trusted only from MOTCUA_TRUSTED_PROXIES (server/api/security.py)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            proxy_headers=False)
    AnnouncingServer(config).run()
