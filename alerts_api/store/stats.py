"""The facts the effectiveness statistics are computed from, read in one query per kind."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.cases.lifecycle import EFFECTIVE
from alerts_api.cases.stats import Facts
from alerts_api.store.alerts import scoped
from alerts_api.store.models import Alert, Case, CaseEvent, SpotCheckDraw
from alerts_api.store.spot_checks import KIND as SPOT_CHECK


def case_facts(session: Session, *, kind: str, area_scope: str | None) -> list[Facts]:
    """Every case of ``kind`` in scope, with its first verification time and its latest alert's expected harm."""
    first = (select(CaseEvent.case_id, func.min(CaseEvent.at).label("verified_at"))
             .where(CaseEvent.action.in_(("verify", "review"))).group_by(CaseEvent.case_id).subquery())
    stmt = (select(Case.kind, Case.level, Case.area_code, Case.rules_version, Case.opened_at, first.c.verified_at,
                   Case.outcome, func.coalesce(Alert.expected_harm, 0.0))
            .outerjoin(first, first.c.case_id == Case.id).outerjoin(Alert, Alert.alert_id == Case.alert_id)
            .where(Case.kind == kind))
    stmt = scoped(stmt, Case.area_code, area_scope)
    return [Facts(*row) for row in session.execute(stmt.order_by(Case.id))]


def slice_counts(session: Session, *, area_scope: str | None) -> tuple[int, int, int]:
    """(spot checks visited, of which positive, population the slices were drawn from) in scope."""
    checks = scoped(select(Case.outcome).where(Case.kind == SPOT_CHECK), Case.area_code, area_scope)
    outcomes = [o for (o,) in session.execute(checks)]
    visited = [o for o in outcomes if o in ("arrears_confirmed", "hidden_risk", "no_risk")]
    population = session.execute(scoped(select(func.coalesce(func.sum(SpotCheckDraw.population), 0)),
                                        SpotCheckDraw.area_code, area_scope)).scalar_one()
    return len(visited), sum(o in EFFECTIVE for o in visited), int(population)
