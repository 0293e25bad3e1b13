"""cases and their timelines (issue #20)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_code", sa.String(24), nullable=False, unique=True),
        sa.Column("query_code", sa.String(12), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False, index=True),
        sa.Column("subject_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("area_code", sa.String(15), nullable=False, index=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("level_rank", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("open_key", sa.String(100), nullable=True, unique=True),
        sa.Column("unit_level", sa.String(16), nullable=False),
        sa.Column("unit_area", sa.String(15), nullable=False, index=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("overdue", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("escalations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("outcome_note", sa.Text, nullable=False, server_default=""),
        sa.Column("inspector", sa.String(64), nullable=False, server_default=""),
        sa.Column("satisfaction", sa.Integer, nullable=True),
        sa.Column("rules_version", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("case_events")
    op.drop_table("cases")
