"""bring alerts stored before the alert schema refused non-finite and oversized values within it

Before issue #19 the sink stored ``Infinity`` where SQLite took it (reason
contributions in the JSON, ``expected_harm``) and integers beyond 32 bits;
the API then answered ``null`` where its schema says number, or failed to
validate the row. Values are capped as the producers now cap them: −log10 p
at 300, expected harm at 1e12, headcounts at 2^31 − 1; NaN becomes 0.

Revision ID: 0002
Revises: 0001
"""
import json
import math

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CAP = 300.0


def _finite(x: object) -> object:
    if isinstance(x, float) and not math.isfinite(x):
        return 0.0 if math.isnan(x) else math.copysign(CAP, x)
    return x


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE alerts SET expected_harm = 1e12 WHERE expected_harm > 1e12"))
    bind.execute(sa.text("UPDATE alerts SET workers_at_risk = 2147483647 WHERE workers_at_risk > 2147483647"))
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL's JSON never held Infinity or NaN
    rows = bind.execute(sa.text("SELECT alert_id, reasons FROM alerts WHERE reasons LIKE '%Infinity%' "
                                "OR reasons LIKE '%NaN%'")).all()
    for alert_id, reasons in rows:
        fixed = [{k: _finite(v) for k, v in r.items()} for r in json.loads(reasons)]
        bind.execute(sa.text("UPDATE alerts SET reasons = :r WHERE alert_id = :a"),
                     {"r": json.dumps(fixed, allow_nan=False), "a": alert_id})


def downgrade() -> None:
    pass  # the capped values are within the schema either way
