"""appointments: phone verification codes, plans, slot counts, bookings; ticket windows (issue 13 parts 1, 4)

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_codes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("phone_key", sa.String(64), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("guesses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("proof_hash", sa.String(64), nullable=True),
        sa.Column("proof_expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_codes")),
        sa.UniqueConstraint("proof_hash", name=op.f("uq_phone_codes_proof_hash")),
    )
    op.create_index("ix_phone_codes_phone_key", "phone_codes", ["phone_key", "created_at"])
    op.create_index("ix_phone_codes_address_key", "phone_codes", ["address_key", "created_at"])
    op.create_index("ix_phone_codes_created_at", "phone_codes", ["created_at"])
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("window_start", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("window_end", sa.DateTime(), nullable=True))
    op.create_table(
        "appointment_plans",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("site", "service", name=op.f("pk_appointment_plans")),
    )
    op.create_table(
        "appointment_slot_counts",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site", "service", "day", "start", name=op.f("pk_appointment_slot_counts")),
    )
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("phone_key", sa.String(64), nullable=False),
        sa.Column("citizen_hash", sa.String(64), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("reminder", sa.String(10), nullable=False),
        sa.Column("reminder_detail", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("token", name=op.f("uq_appointments_token")),
    )
    op.create_index("ix_appointments_site_day", "appointments", ["site", "day", "service", "status"])
    op.create_index("ix_appointments_phone_key", "appointments", ["phone_key", "status"])
    op.create_index("ix_appointments_reminder", "appointments", ["reminder", "day"])


def downgrade() -> None:
    op.drop_table("appointments")
    op.drop_table("appointment_slot_counts")
    op.drop_table("appointment_plans")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("window_end")
        batch.drop_column("window_start")
    op.drop_index("ix_phone_codes_created_at", table_name="phone_codes")
    op.drop_index("ix_phone_codes_address_key", table_name="phone_codes")
    op.drop_index("ix_phone_codes_phone_key", table_name="phone_codes")
    op.drop_table("phone_codes")
