"""GET /areas/{code}: an area's open cases and their roll-up one level down (district → streets → communities →
grids, ``earlywarn/identifiers.py``), within the caller's scope and kinds.

A caller may ask for its own area or one inside it; a coarser area would
show other areas' counts, so it is refused (403), not trimmed.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.deps import Caller, case_reader, get_session
from alerts_api.paging import MAX_LIMIT, MAX_OFFSET
from alerts_api.routes.alerts import RESPONSES, only_query
from alerts_api.routes.cases import case_out
from alerts_api.store.alerts import scoped
from alerts_api.store.audit import record_reads
from alerts_api.store.cases import list_cases
from alerts_api.store.models import Case
from alerts_api.store.area_index import RULE, area_index, month_range
from alerts_api.view_schemas import AreaIndexRow, AreaIndexView, AreaMonthOut, AreaView, ChildArea, Counts
from earlywarn.identifiers import AREA_LEVELS, area_level, area_parent

router = APIRouter(prefix="/areas", tags=["areas"], responses=RESPONSES)


@router.get("/{area_code}/index", response_model=AreaIndexView, dependencies=[only_query("months", "until", "by")])
def get_area_index(request: Request,
                   area_code: str = Path(pattern=r"^[0-9]{6}([0-9]{3}){0,2}$",
                                         description="6 (district), 9 (street) or 12 (community) digits"),
                   months: int = Query(12, ge=3, le=60, description="months reported, ending with `until`"),
                   until: str | None = Query(None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$",
                                             description="last month reported (YYYY-MM); default this month"),
                   by: str | None = Query(None, pattern="^(street|community|grid)$",
                                          description="the level to report at; default one level down"),
                   caller: Caller = Depends(case_reader), session: Session = Depends(get_session)) -> AreaIndexView:
    """Warnings, incidents and the stability index per month, and the areas flagged for supervised
    rectification: warned three months running with incidents down less than 30 % month on month."""
    scope = caller.area_scope
    if scope and not area_code.startswith(scope):
        raise HTTPException(403, f"area {area_code} is outside your scope {scope}")
    digits = {name: width for width, name in AREA_LEVELS.items()}[by] if by else len(area_code) + 3
    if digits <= len(area_code):   # the field named, as FastAPI's own 422s do
        raise RequestValidationError([{"loc": ("query", "by"), "type": "value_error", "input": by,
                                       "msg": f"not below area {area_code} ({area_level(area_code)})"}])
    span = month_range(until or request.app.state.clock().strftime("%Y-%m"), months)
    rows = area_index(session, area_code, digits, span, caller.kinds)
    return AreaIndexView(area_code=area_code, by=AREA_LEVELS[digits], months=span, rule=RULE,
                         flagged=[r.area_code for r in rows if r.flagged_now],
                         areas=[AreaIndexRow(area_code=r.area_code, flagged_now=r.flagged_now,
                                             months=[AreaMonthOut(**vars(m)) for m in r.months]) for r in rows])


@router.get("/{area_code}", response_model=AreaView, dependencies=[only_query("limit", "offset")])
def get_area(request: Request,
             area_code: str = Path(pattern=r"^[0-9]{6}([0-9]{3}){0,3}$",
                                   description="6 (district), 9 (street), 12 (community) or 15 (grid) digits"),
             limit: int = Query(50, ge=1, le=MAX_LIMIT, description="open cases on this page"),
             offset: int = Query(0, ge=0, le=MAX_OFFSET),
             caller: Caller = Depends(case_reader), session: Session = Depends(get_session)) -> AreaView:
    """Open cases in the area, and counts by level, kind and state for each child area one level down."""
    scope = caller.area_scope
    if scope and not area_code.startswith(scope):
        raise HTTPException(403, f"area {area_code} is outside your scope {scope}")
    total, rows = list_cases(session, area_scope=area_code, open_only=True, limit=limit, offset=offset,
                             kinds=caller.kinds)
    counts, here, children = _roll_up(session, area_code, caller)
    record_reads(session, request.app.state.clock(), caller.token_hint, "case.list", [r.case_code for r in rows],
                 via=f"area {area_code}")
    session.commit()
    return AreaView(area_code=area_code, level=area_level(area_code), parent=area_parent(area_code),
                    open_cases_total=total, open_cases=[case_out(r, caller) for r in rows], counts=counts,
                    here=here, children=children)


def _roll_up(session: Session, area_code: str, caller: Caller) -> tuple[Counts, Counts, list[ChildArea]]:
    """Open cases grouped by the child area (the code's first len+3 digits), level, kind and state."""
    width = len(area_code) + 3
    child = func.substr(Case.area_code, 1, width)
    stmt = scoped(select(child, Case.level, Case.kind, Case.state, func.count()), Case.area_code, area_code,
                  Case.kind, caller.kinds).where(Case.open_key.is_not(None))
    counts, here, by_child = Counts(), Counts(), {}
    for code, level, kind, state, n in session.execute(stmt.group_by(child, Case.level, Case.kind, Case.state)):
        targets = [counts, here if len(code) < width else by_child.setdefault(code, Counts())]
        for c in targets:
            c.total += n
            for field, key in (("by_level", level), ("by_kind", kind), ("by_state", state)):
                bucket = getattr(c, field)
                bucket[key] = bucket.get(key, 0) + n
    return counts, here, [ChildArea(area_code=code, level=AREA_LEVELS[width], open_cases=c)
                          for code, c in sorted(by_child.items())]
