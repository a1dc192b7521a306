"""dossier_events.public_note: what the citizen sees, apart from the officials' internal note

Existing notes stay in ``note`` and so become internal: the tracking page shows, for old rows,
the standard sentence of the status instead of text an official typed for colleagues.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.drop_column("public_note")
