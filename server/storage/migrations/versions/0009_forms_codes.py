"""dossiers.cutoff and dossier_events.reason: the 2025 rules (forms and codes)

``dossiers.cutoff`` keeps the procedure's same-day cut-off ("HH:MM") in force when the dossier
was accepted, so replaying its history (reports, ledger) gives the same due date even after the
site file changes the cut-off. ``dossier_events.reason`` holds why a supplement was asked a
second time (the rule allows one request; a second one must say why and counts late).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cutoff", sa.String(length=5), nullable=True))
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.drop_column("cutoff")
