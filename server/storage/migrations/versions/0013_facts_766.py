"""dossier_events.paid_online, components_digitised, result_digitised: Decision 766 facts

Sub-indices 3.6 (online payment), 4.1 (digitised results) and 4.2 (digitised dossiers) need facts
the official states with a change: the fee paid online when the fee step ends, the components
digitised when the dossier is accepted, the result digitised when it is resolved. They sit on the
dated history row, so the period ledger counts them on the change's day and a closed period
never changes. NULL: not said (counted as "no"); existing rows keep NULL.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = ("paid_online", "components_digitised", "result_digitised")


def upgrade() -> None:
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossier_events", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
