"""The FastAPI application: built from settings by :func:`create_app`, nothing at import time."""

from __future__ import annotations

import logging
import socket
from contextlib import asynccontextmanager

from fastapi import FastAPI

from devices.mqtt import MqttLink, Topics
from server.auth import AuthStore
from server.config import Settings
from server.publisher import OutboxPublisher
from server.storage import migrate
from server.storage.db import Database
from server.storage.queue_store import QueueStore

from . import errors, routes_auth, routes_queue

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous).open()
        if db.is_sqlite:
            migrate.upgrade(db)  # a site's single server owns its file; keep the schema current
        app.state.db = db
        app.state.queue = QueueStore(db, public_url=settings.public_url, recall_limit=settings.recall_limit)
        app.state.auth = AuthStore(db, token_ttl_s=settings.token_ttl_s)
        publisher = None
        if settings.mqtt_url:
            link = MqttLink(
                settings.mqtt_url,
                client_id=f"motcua-server-{settings.site}-{socket.gethostname()}",
                availability_topic=Topics(settings.site).device_availability("server"),
            )
            queue = app.state.queue
            publisher = OutboxPublisher(db, link, snapshot=lambda: queue.snapshot(settings.site))
            publisher.start()
        app.state.publisher = publisher
        try:
            yield
        finally:
            if publisher is not None:
                publisher.stop()
            db.close()

    app = FastAPI(title="motcua", version="0.1.0", lifespan=lifespan,
                  description="Queue tickets, counter calls and dossier tracking for một cửa centres.")
    app.state.settings = settings
    errors.install(app)
    app.include_router(routes_auth.router)
    app.include_router(routes_queue.router)

    @app.get("/api/v1/health")
    def health():
        publisher = app.state.publisher
        return {"ok": True, "mqtt": bool(publisher and publisher.link.connected.is_set())}

    return app
