"""dossier report roll-up: settled buckets per (site, filed day, channel), one report row per dossier

Revision ID: 0003
Revises: 0002

Backfills both from the dossiers already held (their derived columns), in pages by id.
"""
import sqlalchemy as sa
from alembic import op

from server.storage.reports import INPUTS, settle

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PAGE = 20_000
_dossiers = sa.table(
    "dossiers", sa.column("id", sa.Integer()), sa.column("site", sa.String()), sa.column("filed_on", sa.Date()),
    sa.column("channel", sa.String()), sa.column("status", sa.String()),
    *(sa.column(f, sa.Date()) for f in INPUTS if f != "status"),
)


def upgrade() -> None:
    op.create_table(
        "dossier_report_rollup",
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("bucket", sa.String(12), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("site", "filed_on", "channel", "bucket", name=op.f("pk_dossier_report_rollup")),
    )
    rows = op.create_table(
        "dossier_report_rows",
        sa.Column("dossier_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        *(sa.Column(f, sa.Date(), nullable=True) for f in INPUTS if f != "status"),
        sa.Column("bucket", sa.String(12), nullable=False),
        sa.Column("settles_on", sa.Date(), nullable=False),
        sa.Column("settle_class", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dossier_id", name=op.f("pk_dossier_report_rows")),
    )
    conn = op.get_bind()
    d = _dossiers.c
    last = 0
    while True:
        page = conn.execute(
            sa.select(d.id, d.site, d.filed_on, d.channel, *(d[f] for f in INPUTS))
            .where(d.id > last).order_by(d.id).limit(_PAGE)
        ).all()
        if not page:
            break
        batch = []
        for r in page:
            inputs = {f: getattr(r, f) for f in INPUTS}
            bucket, settles_on, settle_class = settle(r.filed_on, **inputs)
            batch.append(dict(inputs, dossier_id=r.id, site=r.site, filed_on=r.filed_on, channel=r.channel,
                              bucket=bucket, settles_on=settles_on, settle_class=settle_class))
        conn.execute(sa.insert(rows), batch)
        last = page[-1].id
    conn.execute(sa.text(
        "INSERT INTO dossier_report_rollup (site, filed_on, channel, bucket, n) "
        "SELECT site, filed_on, channel, bucket, count(*) FROM dossier_report_rows "
        "GROUP BY site, filed_on, channel, bucket"))
    op.create_index("ix_dossier_report_rollup_filed", "dossier_report_rollup",
                    ["filed_on", "site", "channel", "bucket", "n"])
    op.create_index("ix_dossier_report_rows_settle", "dossier_report_rows",
                    ["settle_class", "filed_on", "settles_on", "site", "channel", "bucket", *INPUTS])


def downgrade() -> None:
    op.drop_index("ix_dossier_report_rows_settle", table_name="dossier_report_rows")
    op.drop_table("dossier_report_rows")
    op.drop_index("ix_dossier_report_rollup_filed", table_name="dossier_report_rollup")
    op.drop_table("dossier_report_rollup")
