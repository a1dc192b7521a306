"""upward sync: the site's hash-chained journal, its acknowledged position, the province's tables

Revision ID: 0010
Revises: 0009

The journal starts empty: events before this revision are not journalled (no backfill), so a
site upgraded from an older motcua sends the province only what happens after the upgrade; its
earlier history reaches the province through a report export, not the sync (docs/province.md).
"""
import sqlalchemy as sa
from alembic import op

import server.storage.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_journal",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("site", "seq", name=op.f("pk_sync_journal")),
        sa.UniqueConstraint("event_id", name=op.f("uq_sync_journal_event_id")),
    )
    op.create_table(
        "sync_state",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("acked_seq", sa.Integer(), nullable=False),
        sa.Column("acked_hash", sa.String(64), nullable=True),
        sa.Column("acked_at", server.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("attempt_at", server.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "province_sites",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("previous_key", sa.String(100), nullable=True),
        sa.Column("previous_until", server.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("last_batch_ts", sa.Integer(), nullable=False),
        sa.Column("registered_at", server.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("synced_at", server.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("gap", sa.String(500), nullable=True),
        sa.Column("gap_at", server.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("broken", sa.String(500), nullable=True),
        sa.Column("broken_at", server.storage.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_province_sites")),
    )
    op.create_table(
        "province_events",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("received_at", server.storage.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("site", "seq", name=op.f("pk_province_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_province_events_event_id")),
    )


def downgrade() -> None:
    op.drop_table("province_events")
    op.drop_table("province_sites")
    op.drop_table("sync_state")
    op.drop_table("sync_journal")
