"""api_tokens.counter and last_used_at: a counter's display may rate only its own tickets, and
``motcua token list`` shows when each device token was last used

Revision ID: 0006
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from server.storage.tables import UTCDateTime

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counter", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("counter")
