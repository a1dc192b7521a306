"""dossiers, their history and apologies; ticket ratings; connector deliveries

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

from server.storage.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_REPORT_COLUMNS = ["filed_on", "channel", "status", "due_date", "resolved_on", "closed_on", "received_on",
                   "clock_stopped_on"]


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("legal_days", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("applicant_name", sa.String(120), nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("official", sa.String(80), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("clock_stopped_on", sa.Date(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("returned_at", UTCDateTime(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("promised_date", sa.Date(), nullable=True),
        sa.Column("external_id", sa.String(80), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossiers")),
        sa.UniqueConstraint("code", name=op.f("uq_dossiers_code")),
        sa.UniqueConstraint("token", name=op.f("uq_dossiers_token")),
    )
    op.create_index("ix_dossiers_ticket_id", "dossiers", ["ticket_id"])
    op.create_index("ix_dossiers_site_report", "dossiers", ["site", *_REPORT_COLUMNS])
    op.create_index("ix_dossiers_report", "dossiers", _REPORT_COLUMNS)

    op.create_table(
        "dossier_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("exported_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_events")),
    )
    op.create_index("ix_dossier_events_dossier_id", "dossier_events", ["dossier_id"])
    op.create_index("ix_dossier_events_export", "dossier_events", ["exported_at", "id"])

    op.create_table(
        "dossier_apologies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("new_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_apologies")),
    )
    op.create_index("ix_dossier_apologies_dossier_id", "dossier_apologies", ["dossier_id"])

    op.create_table(
        "ticket_ratings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rating", sa.String(20), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=True),
        sa.Column("official", sa.String(80), nullable=True),
        sa.Column("service", sa.String(40), nullable=True),
        sa.Column("rated_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_ratings")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_ratings_ticket_id")),
    )
    op.create_index("ix_ticket_ratings_site_day", "ticket_ratings", ["site", "day"])

    op.create_table(
        "connector_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(80), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_deliveries")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_connector_deliveries_delivery_id")),
    )


def downgrade() -> None:
    op.drop_table("connector_deliveries")
    op.drop_index("ix_ticket_ratings_site_day", table_name="ticket_ratings")
    op.drop_table("ticket_ratings")
    op.drop_index("ix_dossier_apologies_dossier_id", table_name="dossier_apologies")
    op.drop_table("dossier_apologies")
    op.drop_index("ix_dossier_events_export", table_name="dossier_events")
    op.drop_index("ix_dossier_events_dossier_id", table_name="dossier_events")
    op.drop_table("dossier_events")
    for name in ("ix_dossiers_report", "ix_dossiers_site_report", "ix_dossiers_ticket_id"):
        op.drop_index(name, table_name="dossiers")
    op.drop_table("dossiers")
