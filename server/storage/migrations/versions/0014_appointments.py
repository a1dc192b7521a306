"""appointments: phone verification codes (issue 13 part 4)

Revision ID: 0014
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_codes",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(10), nullable=False),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("phone_key", sa.String(64), nullable=False),
        sa.Column("address_key", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("guesses", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("proof_hash", sa.String(64), nullable=True),
        sa.Column("proof_expires_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_codes")),
        sa.UniqueConstraint("proof_hash", name=op.f("uq_phone_codes_proof_hash")),
    )
    op.create_index("ix_phone_codes_phone_key", "phone_codes", ["phone_key", "created_at"])
    op.create_index("ix_phone_codes_address_key", "phone_codes", ["address_key", "created_at"])
    op.create_index("ix_phone_codes_created_at", "phone_codes", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_phone_codes_created_at", table_name="phone_codes")
    op.drop_index("ix_phone_codes_address_key", table_name="phone_codes")
    op.drop_index("ix_phone_codes_phone_key", table_name="phone_codes")
    op.drop_table("phone_codes")
