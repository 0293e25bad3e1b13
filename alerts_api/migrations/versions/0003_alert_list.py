"""alert list: inspect_now or early_warning (issue #18)

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("alert_list", sa.String(16), nullable=False, server_default=""))
        batch.create_index("ix_alerts_alert_list", ["alert_list"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_index("ix_alerts_alert_list")
        batch.drop_column("alert_list")
