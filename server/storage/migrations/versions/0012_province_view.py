"""province view: each centre's dossiers replayed at the province, the site's declared head

Revision ID: 0012
Revises: 0011

At the province, ``province_dossiers`` holds each journalled dossier's dated history (statuses,
who, when; apologies) so the province can replay it through the site's own ledger code into
``dossier_spans`` / ``dossier_flow_rollup`` and report with the site's own report code.
``province_sites.site_head_seq`` is the head a site declared in its last batch (its lag), and
``unprojected`` counts events the province could not replay (a dossier opened before the site's
journal began).

``dossier_flow_rollup`` gains a yearly grain ("y", ``day`` = 1 January), summed here from the
monthly rows, so a report over a whole year (a province: 150 centres) reads one row per key
instead of twelve.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "province_dossiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(40), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("procedure_code", sa.String(40), nullable=False),
        sa.Column("legal_days", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("cutoff", sa.String(5), nullable=True),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("apologies", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_province_dossiers")),
        sa.UniqueConstraint("site", "code", name="uq_province_dossiers_site_code"),
    )
    with op.batch_alter_table("province_sites") as batch:
        batch.add_column(sa.Column("site_head_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unprojected", sa.Integer(), nullable=False, server_default="0"))
    _years_from_months()


def _years_from_months() -> None:
    """One INSERT … SELECT per year present; the same on SQLite and PostgreSQL."""
    from datetime import date

    rollup = sa.table("dossier_flow_rollup", *(sa.column(c) for c in (
        "grain", "site", "day", "kind", "channel", "dim", "value", "n")))
    conn = op.get_bind()
    # 0008's backfill runs today's ledger code, which already writes yearly rows: start afresh
    conn.execute(sa.delete(rollup).where(rollup.c.grain == "y"))
    days = [r[0] for r in conn.execute(sa.select(rollup.c.day).where(rollup.c.grain == "m").distinct())]
    keys = (rollup.c.site, rollup.c.kind, rollup.c.channel, rollup.c.dim, rollup.c.value)
    for year in sorted({(d if isinstance(d, date) else date.fromisoformat(str(d)[:10])).year for d in days}):
        first = date(year, 1, 1)
        rows = sa.select(sa.literal("y"), rollup.c.site, sa.literal(first, sa.Date), rollup.c.kind, rollup.c.channel,
                         rollup.c.dim, rollup.c.value, sa.func.sum(rollup.c.n)).where(
            rollup.c.grain == "m", rollup.c.day >= first, rollup.c.day <= date(year, 12, 31)).group_by(*keys)
        conn.execute(sa.insert(rollup).from_select(
            ["grain", "site", "day", "kind", "channel", "dim", "value", "n"], rows))


def downgrade() -> None:
    op.execute("DELETE FROM dossier_flow_rollup WHERE grain = 'y'")
    with op.batch_alter_table("province_sites") as batch:
        batch.drop_column("unprojected")
        batch.drop_column("site_head_seq")
    op.drop_table("province_dossiers")
