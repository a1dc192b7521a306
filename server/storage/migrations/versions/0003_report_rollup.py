"""dossier report roll-up: settled buckets per (site, filed day, channel), one report row per dossier

Revision ID: 0003
Revises: 0002

Backfills both from the dossiers already held (their derived columns), in pages by id.
"""
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PAGE = 20_000
CLOSED = ("withdrawn", "refused")
# The cohort report of this revision, kept here as it was (revision 0008 replaced the report).
STOPPED = "stopped"  # waiting for a supplement: within / past due depends on the day judged
INPUTS = ("status", "received_on", "due_date", "resolved_on", "closed_on", "clock_stopped_on")
ALWAYS, NEVER = date.min, date.max  # ``settles_on`` of a bucket that never / always changes
NEVER_CLASS = 99  # lag class of dossiers that never settle (waiting for a supplement)
MAX_CLASS = 22  # 2**22 days: longer than any two dates apart


def bucket_as_of(status: str, received_on: date | None, due_date: date | None, resolved_on: date | None,
                 closed_on: date | None, clock_stopped_on: date | None, day: date) -> str:
    """The bucket of a dossier judged on ``day`` (``STOPPED``: finish with ``provisional_due``)."""
    if resolved_on is not None and resolved_on <= day:
        if due_date is not None and resolved_on <= due_date:
            return "ahead" if resolved_on < due_date else "on_time"
        return "late"
    if closed_on is not None and closed_on <= day and status in CLOSED:
        return status
    if received_on is None or received_on > day:
        return "awaiting"
    if status == "paused":
        return "paused"
    if status == "supplement_requested" and clock_stopped_on is not None and clock_stopped_on <= day:
        return STOPPED
    return "past_due" if due_date is not None and due_date < day else "within"


def settle(filed_on: date, status: str, received_on: date | None, due_date: date | None,
           resolved_on: date | None, closed_on: date | None, clock_stopped_on: date | None) -> tuple[str, date, int]:
    """(bucket once settled, day from which it holds, lag class): ``bucket_as_of`` changes only on
    the row's dates, so the last change is found by judging the row on each of them."""
    inputs = (status, received_on, due_date, resolved_on, closed_on, clock_stopped_on)
    points = {received_on, resolved_on, closed_on, clock_stopped_on}
    if due_date is not None and due_date < NEVER:
        points.add(due_date + timedelta(days=1))  # past due from the day after
    days = sorted(p for p in points if p is not None and p > ALWAYS)
    final = bucket_as_of(*inputs, days[-1] if days else ALWAYS)
    if final == STOPPED:
        return final, NEVER, NEVER_CLASS
    settles = ALWAYS
    for i in range(len(days) - 1, -1, -1):
        if bucket_as_of(*inputs, days[i - 1] if i else ALWAYS) != final:
            settles = days[i]
            break
    lag = (settles - filed_on).days
    return final, settles, 0 if lag <= 1 else (lag - 1).bit_length()  # lag <= 2**class


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
