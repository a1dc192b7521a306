"""The FastAPI application: built from settings by :func:`create_app`, nothing at import time."""

from __future__ import annotations

import asyncio
import logging
import socket
from contextlib import asynccontextmanager
from datetime import datetime, timezone

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from devices.mqtt import MqttLink, Topics
from server import privacy
from server.auth import AuthStore
from server.config import ConfigError, Settings, parse_networks
from server.login_guard import LoginGuard
from server.ops import api_docs, routes_health
from server.ops.watch import BrokerLog, DeviceWatch
from server.publisher import OutboxPublisher
from server.storage import journal, migrate
from server.storage.db import Database
from server.storage.queue_store import QueueStore
from server.storage.writer import WriteQueue

from server.connector.base import ConnectorSync
from server.connector.sim import SimOneStop
from server.notify.channels import build_notifier
from server.notify.sender import NoticeSender
from server.storage.dossier_store import DossierStore
from server.storage.notice_store import NoticeStore
from server.storage.appointment_store import AppointmentStore
from server.storage.phone_verify_store import PhoneVerifyStore
from server.storage.remote_store import RemoteStore
from server.storage.tracking import TrackingStore
from server.sync.province import ProvinceStore
from server.sync.sender import UpSync

from . import errors, routes_auth, routes_queue
from . import routes_connector, routes_dossiers, routes_forms, routes_ratings, routes_reports, routes_track
from . import routes_appointments, routes_notify, routes_phone, routes_privacy, routes_province, routes_province_view
from . import routes_remote
from .live import CommitNotifier, RateLimiter
from .security import SecurityHeaders

log = logging.getLogger(__name__)


def _connector(settings: Settings, dossiers: DossierStore) -> ConnectorSync | None:
    """The one-stop system connector chosen by ``MOTCUA_CONNECTOR`` (only ``sim`` ships today)."""
    if not settings.connector:
        return None
    if settings.connector != "sim":
        raise ConfigError(f"unknown connector {settings.connector!r} (known: sim)")
    secret = settings.connector_secret or settings.secret_key
    return ConnectorSync(dossiers, SimOneStop(secret), interval_s=settings.connector_interval_s)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous).open()
        if db.is_sqlite:
            migrate.upgrade(db)  # a site's single server owns its file; keep the schema current
            db.writer = WriteQueue(db).start()  # the routes' writes: off the event loop, group commit
        app.state.db = db
        app.state.queue = QueueStore(db, public_url=settings.public_url, recall_limit=settings.recall_limit)
        app.state.auth = AuthStore(db, token_ttl_s=settings.token_ttl_s)
        app.state.login_guard = LoginGuard(
            hash_slots=settings.login_hash_slots, wait_s=settings.login_wait_s,
            account_failures=settings.login_lockout_after, lockout_s=settings.login_lockout_s,
            address_failures=settings.login_address_failures_per_minute,
        ).start()
        app.state.dossiers = DossierStore(db, public_url=settings.public_url)
        notifier = build_notifier(settings.notify_modem, settings.notify_zalo)
        app.state.notices = NoticeStore(db, default_ahead=settings.notify_ahead, enabled=notifier is not None)
        app.state.notices.erase_stale()  # phones of tickets that ended while the server was down
        app.state.tracking = TrackingStore(app.state.queue, app.state.dossiers, app.state.notices)
        app.state.remote = RemoteStore(app.state.queue, app.state.notices, settings.secret_key.encode())
        app.state.remote.forget_phone_keys()  # hashes of phones from earlier days
        app.state.remote_limiter = RateLimiter(settings.remote_joins_per_minute)
        app.state.notice_sender = None
        if notifier is not None:
            app.state.queue.notify_ahead = settings.notify_ahead
            app.state.notice_sender = NoticeSender(
                app.state.notices, notifier, public_url=settings.public_url,
                per_minute=settings.notify_per_minute).start()
        app.state.phone_verify = PhoneVerifyStore(db, settings.secret_key.encode(), notifier, site=settings.site)
        id_key = (settings.kiosk_id_key or privacy.derive_id_key(settings.secret_key)).encode()
        app.state.appointments = AppointmentStore(
            db, app.state.queue, app.state.dossiers, secret=settings.secret_key.encode(), id_key=id_key,
            public_url=settings.public_url, notifier=notifier)
        app.state.appointments.close_days()  # days that ended while the server was down
        if app.state.notice_sender is not None:
            app.state.notice_sender.chores += [app.state.phone_verify.sweep, app.state.appointments.chores,
                                               app.state.remote.forget_phone_keys]
        app.state.id_hashes = privacy.IdHashVerifier(id_key)
        app.state.remote_phones = (routes_remote.VerifiedPhone(app.state.phone_verify) if settings.remote_verify_phone
                                   else routes_remote.TypedPhone())
        app.state.track_limiter = RateLimiter(settings.rate_limit_per_minute)
        app.state.notifier = CommitNotifier()
        app.state.notifier.bind(asyncio.get_running_loop())
        db.on_commit(app.state.notifier.changed)
        app.state.connector = _connector(settings, app.state.dossiers)
        if app.state.connector is not None:
            app.state.connector.start()
        publisher = None
        if settings.mqtt_url:
            link = MqttLink(
                settings.mqtt_url,
                client_id=f"motcua-server-{settings.site}-{socket.gethostname()}",
                availability_topic=Topics(settings.site).device_availability("server"),
            )
            queue = app.state.queue
            app.state.device_watch = DeviceWatch(settings.site)
            app.state.device_watch.attach(link)
            publisher = OutboxPublisher(db, link, snapshot=lambda: queue.snapshot(settings.site))
            publisher.on_tick = BrokerLog(settings.mqtt_url).tick
            publisher.start()
        app.state.publisher = publisher
        upsync = None
        if settings.role == "site" and settings.province_url and settings.province_key:
            with db.write() as conn:  # a site upgraded before profiles were journalled sends its own now
                journal.record_profile(conn, settings.site, datetime.now(timezone.utc))
            upsync = UpSync(db, settings.site, settings.province_url, settings.province_key,
                            batch=settings.sync_batch, interval_s=settings.sync_interval_s,
                            max_backoff_s=settings.sync_max_backoff_s, timeout_s=settings.sync_timeout_s,
                            keep_days=settings.sync_keep_days).start()
        app.state.upsync = upsync
        if settings.role == "province":
            app.state.province = ProvinceStore(db)
        try:
            yield
        finally:
            if upsync is not None:
                upsync.stop()
            if publisher is not None:
                publisher.stop()
            if app.state.notice_sender is not None:
                app.state.notice_sender.stop()
            if app.state.connector is not None:
                app.state.connector.stop()
            app.state.login_guard.stop()
            app.state.auth.close()
            if db.writer is not None:
                db.writer.stop()
                db.writer = None
            db.close()

    app = FastAPI(title="motcua", version="0.1.0", lifespan=lifespan,
                  description="Queue tickets, counter calls and dossier tracking for một cửa centres.")
    app.state.settings = settings
    try:
        app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    except ValueError as err:
        raise ConfigError(f"MOTCUA_TRUSTED_PROXIES: {err}") from None
    try:
        app.state.lan_networks = parse_networks(settings.lan_networks)
    except ValueError as err:
        raise ConfigError(f"MOTCUA_LAN_NETWORKS: {err}") from None
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    routes_health.install_database_errors(app)
    app.include_router(routes_health.router)
    app.include_router(routes_auth.router)
    app.include_router(routes_ratings.router)  # before routes_queue: /tickets/{id}/rating vs /{action}
    app.include_router(routes_dossiers.router)
    app.include_router(routes_forms.router)
    app.include_router(routes_queue.router)
    app.include_router(routes_notify.router)
    app.include_router(routes_phone.router)
    app.include_router(routes_remote.router)  # before routes_track: /api/v1/track/{token}/check-in
    app.include_router(routes_appointments.router)
    app.include_router(routes_track.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_connector.router)
    app.include_router(routes_privacy.router)
    if settings.role == "province":
        app.include_router(routes_province.router)
        app.include_router(routes_province_view.router)
    api_docs.install(app)
    app.mount("/static", StaticFiles(directory=str(routes_track.WEB / "static")), name="static")

    return app
