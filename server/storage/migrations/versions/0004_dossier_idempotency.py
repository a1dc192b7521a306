"""dossiers.idempotency_key: a retried intake (timeout, double Enter) returns the first dossier

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint("uq_dossiers_site_idempotency_key", ["site", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dossiers_site_idempotency_key", type_="unique")
        batch_op.drop_column("idempotency_key")
