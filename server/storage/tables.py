"""The schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create and evolve it.

Times are stored as naive UTC and handed back aware (:class:`UTCDateTime`), so SQLite and
PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


sites = Table(
    "sites",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(60), nullable=False, default="Asia/Ho_Chi_Minh"),
    Column("address", String(300)),
    Column("settings", Text, nullable=False, default="{}"),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name_vi", String(300), nullable=False),
    Column("name_en", String(300)),
    Column("field_vi", String(120)),
    Column("legal_days", Integer, nullable=False),
    Column("fee_vnd", Integer, nullable=False, default=0),
    Column("note", String(300)),
)

services = Table(
    "services",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("prefix", String(2), nullable=False),
    Column("name_vi", String(200), nullable=False),
    Column("name_en", String(200)),
    Column("icon", String(60)),
    Column("sort_order", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("site", "prefix", name="uq_services_site_prefix"),
)

service_procedures = Table(
    "service_procedures",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("service", String(40), primary_key=True),
    Column("procedure_code", String(40), primary_key=True),
    Column("sort_order", Integer, nullable=False, default=0),
    Column("legal_days", Integer),
    Column("fee_vnd", Integer),
    ForeignKeyConstraint(["site", "service"], ["services.site", "services.id"]),
    ForeignKeyConstraint(["procedure_code"], ["procedures.code"]),
)

counters = Table(
    "counters",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("id", String(40), primary_key=True),
    Column("label", String(60), nullable=False),
    Column("services", Text, nullable=False, default="[]"),
    Column("status", String(12), nullable=False, default="closed"),
    Column("pause_reason", String(200)),
    Column("current_ticket_id", Integer),
    Column("official", String(80)),
)

ticket_sequences = Table(
    "ticket_sequences",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("prefix", String(2), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("last_number", Integer, nullable=False, default=0),
)

site_sequences = Table(
    "site_sequences",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False, default=0),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(40), nullable=False),
    Column("service", String(40), nullable=False),
    Column("prefix", String(2), nullable=False),
    Column("number", Integer, nullable=False),
    Column("day", Date, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("status", String(12), nullable=False),
    Column("priority", String(12)),
    Column("counter", String(40)),
    Column("target_counter", String(40)),
    Column("called_at", UTCDateTime),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("recall_count", Integer, nullable=False, default=0),
    Column("transfer_count", Integer, nullable=False, default=0),
    Column("original_service", String(40)),
    Column("est_wait_s", Integer),
    Column("official", String(80)),
    Column("idempotency_key", String(100), nullable=False),
    Column("token", String(64), nullable=False, unique=True),
    Column("citizen_hash", String(64)),
    Column("citizen_name", String(120)),
    Column("source", String(40)),
    # remote tickets (revision 0015): taken from a phone, called only once checked in
    Column("remote", Boolean, nullable=False, server_default=false()),  # no Python default: older schemas
    Column("checked_in_at", UTCDateTime),
    Column("phone_key", String(64)),  # keyed hash of the phone that took a remote ticket: its daily limit
    # an appointment's slot (server/domain/appointments.py): inside it the ticket goes before walk-ins
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    UniqueConstraint("site", "idempotency_key", name="uq_tickets_site_idempotency_key"),
    UniqueConstraint("site", "day", "prefix", "number", name="uq_tickets_site_day_number"),
    # counts and call order read only this index: waiting/serving counts, people ahead
    Index("ix_tickets_queue", "site", "day", "service", "status", "priority", "issued_at", "id"),  # id: 0016
    Index("ix_tickets_called", "site", "day", "service", "called_at"),
    Index("ix_tickets_finished", "site", "day", "service", "finished_at"),
    Index("ix_tickets_remote", "site", "day", "remote", "phone_key"),
    # the call's candidates besides the longest-waiting of each service (revision 0016)
    Index("ix_tickets_target", "site", "day", "target_counter", "status"),
    Index("ix_tickets_window", "site", "day", "status", "window_start"),
)

ticket_events = Table(
    "ticket_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("action", String(20), nullable=False),
    Column("status", String(12), nullable=False),
    Column("counter", String(40)),
    Column("service", String(40)),
    Column("actor", String(80)),
    Column("note", String(300)),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("retain", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime),
    UniqueConstraint("site", "seq", name="uq_outbox_site_seq"),
    Index("ix_outbox_pending", "published_at", "id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("full_name", String(120)),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(12), nullable=False),
    Column("site", String(40)),
    Column("active", Boolean, nullable=False, default=True),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # session | device
    Column("role", String(12), nullable=False),
    Column("subject", String(80), nullable=False),  # username or device name
    Column("site", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("counter", String(40)),  # a counter's own display: it may rate only that counter's tickets
    Column("last_used_at", UTCDateTime),  # refreshed at most once a minute (motcua token list)
)

# -- dossiers (issue 6) -------------------------------------------------------------------------
# Local dates (``*_on``) are stored beside the moments so that reports bucket in SQL, with an
# index that covers them, instead of converting time zones row by row.

dossiers = Table(
    "dossiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(40), nullable=False),
    Column("code", String(40), nullable=False, unique=True),
    Column("procedure_code", String(40), nullable=False),
    Column("legal_days", Integer, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("status", String(24), nullable=False),
    Column("ticket_id", Integer, index=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("applicant_name", String(120), nullable=False),
    Column("phone", String(20)),
    Column("official", String(80)),
    Column("submitted_at", UTCDateTime),
    Column("received_at", UTCDateTime),
    Column("filed_on", Date, nullable=False),  # local day of receipt (submission for online)
    Column("received_on", Date),
    Column("due_date", Date),  # legal due date, pauses for supplements already added
    Column("clock_stopped_on", Date),  # local day the open supplement wait started
    Column("resolved_at", UTCDateTime),
    Column("resolved_on", Date),
    Column("returned_at", UTCDateTime),
    Column("closed_on", Date),  # local day of withdrawal or refusal
    Column("promised_date", Date),  # due date, or the new date of the last apology
    Column("external_id", String(80)),
    Column("idempotency_key", String(100)),  # a retried intake returns the first dossier
    Column("cutoff", String(5)),  # the procedure's same-day cut-off "HH:MM" at acceptance (revision 0009)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("site", "idempotency_key", name="uq_dossiers_site_idempotency_key"),
    Index("ix_dossiers_site_report", "site", "filed_on", "channel", "status", "due_date", "resolved_on",
          "closed_on", "received_on", "clock_stopped_on"),
    Index("ix_dossiers_report", "filed_on", "channel", "status", "due_date", "resolved_on",
          "closed_on", "received_on", "clock_stopped_on"),
)

dossier_events = Table(
    "dossier_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", Integer, nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("from_status", String(24)),
    Column("to_status", String(24), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("note", String(500)),  # internal: officials only
    Column("public_note", String(500)),  # for the citizen, masked on every public page (revision 0007)
    Column("reason", String(500)),  # why a supplement was asked a second time (revision 0009)
    Column("exported_at", UTCDateTime),  # sent to the electronic one-stop system
    # Decision 766 facts the official states with the change (revision 0013; NULL: not said)
    Column("paid_online", Boolean),  # leaving fee_due: the fee was paid online (3.6)
    Column("components_digitised", Boolean),  # on acceptance: the components were digitised (4.2)
    Column("result_digitised", Boolean),  # on resolving: the result was digitised (4.1)
    Index("ix_dossier_events_export", "exported_at", "id"),
)

dossier_apologies = Table(
    "dossier_apologies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", Integer, nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("new_date", Date, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("reason", String(500), nullable=False),
)

ticket_ratings = Table(
    "ticket_ratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False, unique=True),
    Column("site", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("rating", String(20), nullable=False),
    Column("dossier_id", Integer),
    Column("official", String(80)),
    Column("service", String(40)),
    Column("rated_at", UTCDateTime, nullable=False),
    Column("actor", String(80)),
    Index("ix_ticket_ratings_site_day", "site", "day"),
)

connector_deliveries = Table(
    "connector_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(80), nullable=False, unique=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# -- period ledger (revision 0008) ---------------------------------------------------------------
# Kept by ``DossierStore`` in the same transaction as every dossier write, from the dated history
# (``server.domain.ledger``). ``dossier_flow_rollup``: how many of each flow (accepted, resolved
# ahead…, withdrawn…) happened on a day and in a month, per site and channel, once per procedure
# and once per official: a period adds up its whole months and the days at its edges. ``dossier_spans``: per dossier, the stretches of days it stood in one state (waiting
# for acceptance, open, waiting for a supplement, stopped), indexed by the span's length class
# (``end_on - start_on <= 2**span_class`` days; 99 while it lasts) so the spans holding on one day
# — a period's stocks — are found by a few range scans.

dossier_flow_rollup = Table(
    "dossier_flow_rollup",
    metadata,
    Column("grain", String(1), primary_key=True),  # "d": the day, "m"/"y": the month/year starting on ``day``
    Column("site", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("channel", String(10), primary_key=True),
    Column("dim", String(10), primary_key=True),  # "procedure" or "official"
    Column("value", String(80), primary_key=True),
    Column("n", Integer, nullable=False),
    Index("ix_dossier_flow_rollup_day", "grain", "day", "site", "kind", "channel", "dim", "value", "n"),
)

dossier_spans = Table(
    "dossier_spans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dossier_id", Integer, nullable=False, index=True),
    Column("site", String(40), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("procedure_code", String(40), nullable=False),
    Column("official", String(80), nullable=False),
    Column("state", String(12), nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),
    Column("span_class", Integer, nullable=False),
    Column("due_date", Date),
    Column("stopped_on", Date),
    Column("supplements", Integer, nullable=False),
    Index("ix_dossier_spans_holding", "span_class", "start_on", "end_on", "site", "state", "channel",
          "procedure_code", "official", "due_date", "stopped_on", "supplements"),  # covering
)

# -- upward sync (revision 0010) -----------------------------------------------------------------
# ``sync_journal`` (at a site): every durable event a province needs (ticket issued and every
# status change, calls, dossier events, ratings), written by ``server.storage.journal`` in the same
# transaction as the change; a per-site gapless ``seq`` and a hash chain (each row carries the hash
# of the one before). ``sync_state``: what the province last acknowledged, so the lag is readable
# by ``motcua doctor`` in another process. ``province_sites`` / ``province_events`` (at the
# province): registered sites with their signing keys and chain heads, and the events received.

sync_journal = Table(
    "sync_journal",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("at", String(32), nullable=False),  # ISO-8601 UTC text, hashed as written
    Column("body", Text, nullable=False),  # canonical JSON text, hashed as written
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("acked_seq", Integer, nullable=False, default=0),
    Column("acked_hash", String(64)),
    Column("acked_at", UTCDateTime),
    Column("attempt_at", UTCDateTime),
    Column("error", String(500)),
)

province_sites = Table(
    "province_sites",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key", String(100), nullable=False),
    Column("previous_key", String(100)),
    Column("previous_until", UTCDateTime),
    Column("head_seq", Integer, nullable=False, default=0),
    Column("head_hash", String(64), nullable=False),
    Column("last_batch_ts", Integer, nullable=False, default=0),  # the site's signed clock, seconds
    Column("registered_at", UTCDateTime, nullable=False),
    Column("synced_at", UTCDateTime),
    Column("gap", String(500)),  # the last refused gap, named
    Column("gap_at", UTCDateTime),
    Column("broken", String(500)),  # why the chain is broken: ingest refused until cleared
    Column("broken_at", UTCDateTime),
    Column("site_head_seq", Integer),  # the head the site declared in its last batch (revision 0012)
    Column("unprojected", Integer, nullable=False, default=0, server_default="0"),  # events not replayable
)

province_events = Table(
    "province_events",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("at", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
)

# ``province_dossiers`` (at the province, revision 0012): each journalled dossier's dated history
# (JSON lists), replayed by ``server.sync.projector`` through the site's own ledger code into
# ``dossier_spans`` / ``dossier_flow_rollup``, so the province reports with the site's report code.
province_dossiers = Table(
    "province_dossiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("site", String(40), nullable=False),
    Column("code", String(40), nullable=False),
    Column("procedure_code", String(40), nullable=False),
    Column("legal_days", Integer, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("cutoff", String(5)),
    Column("history", Text, nullable=False),  # [[from, to, by, at ISO], …]
    Column("apologies", Text, nullable=False),  # [[issued_at ISO, due_date, new_date, by], …]
    UniqueConstraint("site", "code", name="uq_province_dossiers_site_code"),
)

# -- "your turn is near" (revision 0011) ---------------------------------------------------------
# A phone number lives in ``ticket_phones`` only, one row per ticket, deleted when the ticket ends
# (done, no-show, cancelled) and at the end of its day; nothing else (outbox, MQTT, notices, logs)
# ever holds it. ``notices``: one row per (ticket, kind) — the unique key is what makes a notice
# go out at most once, whatever the number of sender threads or server processes.

ticket_phones = Table(
    "ticket_phones",
    metadata,
    Column("ticket_id", Integer, primary_key=True, autoincrement=False),
    Column("site", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("phone", String(16), nullable=False),  # +84xxxxxxxxx
    Column("added_at", UTCDateTime, nullable=False),
    Index("ix_ticket_phones_site_day", "site", "day"),
)

notices = Table(
    "notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("site", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("ahead", Integer, nullable=False),  # people before the ticket when the notice was decided
    # pending → sending (claimed, leased) → handed (text given to the modem) → sent;
    # or unknown (handed, then no answer or a crash: never sent again), failed, dropped (no phone any more)
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_try_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sender", String(80)),
    Column("lease_until", UTCDateTime),
    Column("channel", String(10)),
    Column("reference", String(40)),
    Column("detail", String(200)),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("ticket_id", "kind", name="uq_notices_ticket_kind"),
    Index("ix_notices_due", "status", "next_try_at", "id"),
)

# Phone verification (server/domain/phone_verify.py): one row per code sent. The code and the proof
# are kept only as HMACs; the number itself (needed to send, then to stand behind the proof) is
# blanked once the proof has expired, and the row deleted after the hour the send limits look at.
phone_codes = Table(
    "phone_codes",
    metadata,
    Column("id", String(40), primary_key=True),  # the verification id the page holds (random)
    Column("purpose", String(10), nullable=False),  # booking | remote
    Column("phone", String(16)),  # +84…; NULL once no longer needed
    Column("phone_key", String(64), nullable=False),  # HMAC of the number: the per-phone limits
    Column("address_key", String(64), nullable=False),  # HMAC of the client address: per-address limit
    Column("code_hash", String(64), nullable=False),
    # pending → confirmed (proof issued); locked (too many guesses); failed (the SMS did not go out)
    Column("status", String(10), nullable=False),
    Column("guesses", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("proof_hash", String(64), unique=True),
    Column("proof_expires_at", UTCDateTime),
    Index("ix_phone_codes_phone_key", "phone_key", "created_at"),
    Index("ix_phone_codes_address_key", "address_key", "created_at"),
    Index("ix_phone_codes_created_at", "created_at"),
)

# Appointments (server/domain/appointments.py, docs/appointments.md).
appointment_plans = Table(
    "appointment_plans",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("service", String(40), primary_key=True),
    Column("plan", Text, nullable=False),  # JSON: slots, days_ahead, per_phone, dates
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(80)),
)

# How many bookings each slot holds: a conditional UPDATE (booked < capacity) is the capacity check,
# so two citizens taking the last place at once cannot both get it, on SQLite or PostgreSQL.
appointment_slot_counts = Table(
    "appointment_slot_counts",
    metadata,
    Column("site", String(40), primary_key=True),
    Column("service", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("start", String(5), primary_key=True),
    Column("booked", Integer, nullable=False, default=0),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token", String(64), nullable=False, unique=True),  # random: the QR and the page's address
    Column("site", String(40), nullable=False),
    Column("service", String(40), nullable=False),
    Column("day", Date, nullable=False),
    Column("start", String(5), nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("phone", String(16)),  # +84…; erased when the appointment is over
    Column("phone_key", String(64), nullable=False),  # HMAC of the number: the per-phone limit
    Column("citizen_hash", String(64)),  # keyed CCCD hash (as kiosks send), for check-in by card
    # booked → arrived (ticket issued) | cancelled | no_show (the day ended without check-in)
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime),
    Column("ticket_id", Integer),
    # the day-before reminder: pending → handed → sent | unknown | failed | none (booked too late)
    Column("reminder", String(10), nullable=False),
    Column("reminder_detail", String(200)),
    Index("ix_appointments_site_day", "site", "day", "service", "status"),
    Index("ix_appointments_phone_key", "phone_key", "status"),
    Index("ix_appointments_reminder", "reminder", "day"),
)
