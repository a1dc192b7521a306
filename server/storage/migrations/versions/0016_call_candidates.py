"""the call's candidates by index: tickets sent to a counter, booked tickets by their window, and
the longest-waiting of a service in the queue index's own order (``id`` appended: PostgreSQL's
indexes do not carry the row id as SQLite's do, and sorted the whole service at every call)

Revision ID: 0016
Revises: 0015
"""
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tickets_queue", table_name="tickets")
    op.create_index("ix_tickets_queue", "tickets", ["site", "day", "service", "status", "priority", "issued_at", "id"])
    op.create_index("ix_tickets_target", "tickets", ["site", "day", "target_counter", "status"])
    op.create_index("ix_tickets_window", "tickets", ["site", "day", "status", "window_start"])


def downgrade() -> None:
    op.drop_index("ix_tickets_window", table_name="tickets")
    op.drop_index("ix_tickets_target", table_name="tickets")
    op.drop_index("ix_tickets_queue", table_name="tickets")
    op.create_index("ix_tickets_queue", "tickets", ["site", "day", "service", "status", "priority", "issued_at"])
