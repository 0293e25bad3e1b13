"""Effectiveness from outcomes: the effective and strict rates, response times, precision at capacity, recall.

Computed on request from the cases in the caller's area (``alerts_api.cases.stats`` holds the definitions).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session

from alerts_api.cases import stats
from alerts_api.deps import Caller, case_reader, get_session
from alerts_api.outcome_schemas import AREA, Effectiveness
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.store.stats import case_facts, slice_counts

router = APIRouter(prefix="/stats", tags=["statistics"], responses=RESPONSES)


@router.get("/effectiveness", response_model=Effectiveness,
            dependencies=[only_query("by", "kind", "area", "capacity")])
def effectiveness(request: Request, caller: Caller = Depends(case_reader),
                  session: Session = Depends(get_session),
                  by: stats.GroupBy = Query("overall", description="group by rule version, level, area (street) "
                                            "or month opened"),
                  kind: str = Query("wage_arrears", max_length=32, pattern=r"^[a-z_]+$"),
                  area: str | None = Query(None, pattern=AREA, description="area-code prefix within your scope"),
                  capacity: int = Query(20, ge=1, le=10_000, description="visits the inspectors can make per group")):
    """How often warnings were right, by what inspectors found; recall from the random verification slice."""
    if caller.kinds is not None and kind not in caller.kinds:
        raise HTTPException(403, f"role {caller.role_name} may not read {kind} statistics")
    scope = caller.area_scope
    if area and scope and not area.startswith(scope):
        raise HTTPException(403, f"area {area} is outside your scope {scope}")
    where = area or scope
    facts = case_facts(session, kind=kind, area_scope=where)
    groups = stats.effectiveness(facts, by, capacity, request.app.state.policy.deadline_days,
                                 request.app.state.clock())
    checked, positives, population = slice_counts(session, area_scope=where)
    overall = stats.summarize("all", facts, capacity, request.app.state.policy.deadline_days,
                              request.app.state.clock())
    hits = overall["arrears_confirmed"] + overall["hidden_risk"]
    return Effectiveness(kind=kind, by=by, groups=groups,
                         random_slice=stats.recall_from_slice(hits, positives, checked, population))
