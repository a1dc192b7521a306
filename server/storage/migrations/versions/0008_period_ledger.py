"""period ledger: dated spans per dossier and flows per day and month, so a closed period never changes

Revision ID: 0008
Revises: 0007

Backfills both from the dossiers' event histories (``server.storage.ledger_backfill``), and drops
revision 0003's cohort roll-up, which judged stocks by today's status (a downgrade rebuilds it).
"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_dossier_report_rows_settle", table_name="dossier_report_rows")
    op.drop_table("dossier_report_rows")
    op.drop_index("ix_dossier_report_rollup_filed", table_name="dossier_report_rollup")
    op.drop_table("dossier_report_rollup")
    op.create_table(
        "dossier_flow_rollup",
        sa.Column("grain", sa.String(1), nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("dim", sa.String(10), nullable=False),
        sa.Column("value", sa.String(80), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "site", "day", "kind", "channel", "dim", "value",
                                name=op.f("pk_dossier_flow_rollup")),
    )
    op.create_table(
        "dossier_spans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("official", sa.String(80), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("span_class", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("supplements", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_spans")),
    )
    from server.storage.ledger_backfill import rebuild

    rebuild(op.get_bind())
    op.create_index("ix_dossier_spans_dossier_id", "dossier_spans", ["dossier_id"])
    op.create_index("ix_dossier_spans_holding", "dossier_spans",
                    ["span_class", "start_on", "end_on", "site", "state", "channel", "procedure_code", "official",
                     "due_date", "stopped_on", "supplements"])
    op.create_index("ix_dossier_flow_rollup_day", "dossier_flow_rollup",
                    ["grain", "day", "site", "kind", "channel", "dim", "value", "n"])


def downgrade() -> None:
    op.drop_index("ix_dossier_flow_rollup_day", table_name="dossier_flow_rollup")
    op.drop_index("ix_dossier_spans_holding", table_name="dossier_spans")
    op.drop_index("ix_dossier_spans_dossier_id", table_name="dossier_spans")
    op.drop_table("dossier_spans")
    op.drop_table("dossier_flow_rollup")
    spec = importlib.util.spec_from_file_location("revision_0003", Path(__file__).with_name("0003_report_rollup.py"))
    revision_0003 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision_0003)
    revision_0003.upgrade()
