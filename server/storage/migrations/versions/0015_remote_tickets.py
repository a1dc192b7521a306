"""remote tickets: taken from a phone, set aside when their turn comes before they check in

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("remote", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("checked_in_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("phone_key", sa.String(64), nullable=True))
    op.create_index("ix_tickets_remote", "tickets", ["site", "day", "remote", "phone_key"])


def downgrade() -> None:
    op.drop_index("ix_tickets_remote", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("phone_key")
        batch.drop_column("checked_in_at")
        batch.drop_column("remote")
