"""The live feed's reads: case events after a given id, in id order, within a caller's area and kinds.

Why the ``case_events`` id is the feed's position: every change of a case (the
sink's alerts, people's steps, the deadline job's escalations, whichever
process made it) is one row there, so a client that reconnects with the last
id it saw (``Last-Event-ID``) resumes exactly.

Why the gap wait: on PostgreSQL ids are handed out when a row is inserted, not
when its transaction commits, so id 11 can be visible while id 10 is still
being written; a reader that jumped past 10 would never send it. A
:class:`Cursor` therefore stops before a missing id and only skips it once it
stayed missing for ``grace`` seconds (a rolled-back insert leaves a gap
forever). SQLite has one writer at a time and never shows such a gap.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts_api.store.alerts import scoped
from alerts_api.store.models import Case, CaseEvent

BATCH = 200


@dataclass
class Cursor:
    """Where a feed stands: every event id ≤ ``position`` was sent or is not the caller's.

    >>> c = Cursor(5, grace=2.0)
    >>> c.advance([6, 8, 9], now=0.0)      # 7 is missing: perhaps still being written
    [6]
    >>> c.advance([8, 9], now=1.0)
    []
    >>> c.advance([7, 8, 9], now=1.5)      # it was: committed late, sent in order
    [7, 8, 9]
    >>> c.advance([11], now=2.0), c.advance([11], now=4.5)   # 10 never comes (rolled back): skipped after grace
    ([], [11])
    """

    position: int
    grace: float = 2.0
    _gap_since: float | None = field(default=None, repr=False)

    def advance(self, ids: list[int], now: float) -> list[int]:
        """The ids (ascending, all > position) that may be read now; moves the position past them."""
        out = []
        for i in ids:
            if i != self.position + 1:
                if self._gap_since is None:
                    self._gap_since = now
                if now - self._gap_since < self.grace:
                    break
            self._gap_since = None
            self.position = i
            out.append(i)
        return out


def newest_event_id(session: Session) -> int:
    return session.execute(select(func.coalesce(func.max(CaseEvent.id), 0))).scalar_one()


def events_after(session: Session, cursor: Cursor, now: float, *, area_scope: str | None,
                 kinds: Collection[str] | None) -> list[tuple[CaseEvent, Case]]:
    """The next events the caller may see (at most :data:`BATCH` ids looked at), oldest first."""
    ids = list(session.execute(select(CaseEvent.id).where(CaseEvent.id > cursor.position)
                               .order_by(CaseEvent.id).limit(BATCH)).scalars())
    ready = cursor.advance(ids, now)
    if not ready:
        return []
    stmt = scoped(select(CaseEvent, Case).join(Case, Case.id == CaseEvent.case_id)
                  .where(CaseEvent.id.in_(ready)), Case.area_code, area_scope, Case.kind, kinds)
    return [(e, c) for e, c in session.execute(stmt.order_by(CaseEvent.id)).all()]
