"""silences, notification outbox and delivery log, credit record, spot-check draws (issue #20)

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(64), nullable=False, index=True),
        sa.Column("area_code", sa.String(15), nullable=False, index=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False, index=True),
        sa.Column("ended_at", TZ, nullable=True),
        sa.Column("muted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latest_alert", sa.JSON, nullable=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("case_code", sa.String(24), nullable=False, index=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending", index=True),
        sa.Column("delivered_at", TZ, nullable=True),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id"), nullable=False, index=True),
        sa.Column("case_code", sa.String(24), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_table(
        "credit_record",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(64), nullable=False, index=True),
        sa.Column("subject_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("area_code", sa.String(15), nullable=False, index=True),
        sa.Column("case_code", sa.String(24), nullable=False, unique=True),
        sa.Column("listed_at", TZ, nullable=False),
        sa.Column("repaid_at", TZ, nullable=True),
        sa.Column("remove_after", TZ, nullable=True),
        sa.Column("removed_at", TZ, nullable=True, index=True),
    )
    op.create_table(
        "spot_check_draws",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("area_code", sa.String(15), nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("population", sa.Integer, nullable=False),
        sa.Column("drawn", sa.JSON, nullable=False),
        sa.Column("drawn_at", TZ, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
    )
    op.create_index("ux_spot_check_month_area", "spot_check_draws", ["month", "area_code"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_spot_check_month_area", "spot_check_draws")
    for table in ("spot_check_draws", "credit_record", "deliveries", "outbox", "silences"):
        op.drop_table(table)
