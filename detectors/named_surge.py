"""Complaint surges per enterprise: wage complaints naming it this week against its own history.

Why: the ``complaints`` channel adds up complaints as they come; this
channel asks the surveillance question of the same events — is this week's
count unusual *for this enterprise*? It runs the combined surge score of
:mod:`detectors.surge` on weekly counts of wage-related hotline complaints
and petitions that name the enterprise. A week with no complaint is a zero
(the enterprise was not named), not a missing bucket; an enterprise never
named before starts from a zero history, and ``min_sigma`` keeps a single
complaint a moderate surprise rather than an infinite one.

The open week is scored as it fills (a peek that does not store), so a
burst is evidence on the day it happens, not when the week closes. A late
complaint for a week already closed counts in the open week.

>>> s = None
>>> for day in (0, 9, 30):
...     s, r = observe(s, day * 86400.0, 1)
>>> round(r.statistic, 2), round(r.expected, 2)
(0.64, 0.29)
>>> s, r = observe(s, 31 * 86400.0, 3)   # four in one week
>>> r.statistic > 5, r.alarm
(True, True)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from detectors.base import Result
from detectors.surge import MAX_STATISTIC, SurgeConfig, SurgeState, advance, update_surge

WEEK = 7 * 86400.0
CONFIG = SurgeConfig(baseline=7, cusum_window=8, cusum_guard=1, components=("c1", "c2", "cusum"), min_sigma=0.5,
                     pvalues="normal", combine="bonferroni")
"""Seven weeks of baseline for C1 (C2 skips two), a two-month CUSUM baseline: a ring of nine weeks.
The legacy z-score tails: the wage-arrears weights were fitted on them (refit before switching to ``nb``)."""


@dataclass(frozen=True)
class NamedSurge:
    """One enterprise's weekly series: closed weeks in the surge state, the open week's count apart."""

    state: SurgeState
    week: int
    count: int

    def to_dict(self) -> dict[str, Any]:
        d = self.state.to_dict()
        d["ring"] = [None if np.isnan(x) else int(x) for x in self.state.ring]
        return {**d, "week": self.week, "n": self.count}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "NamedSurge":
        ring = [np.nan if x is None else x for x in d["ring"]]
        state = SurgeState.from_dict(CONFIG, {**d, "ring": ring})
        return cls(state, int(d["week"]), int(d["n"]))


def _fresh(week: int) -> NamedSurge:
    state = SurgeState.new(CONFIG)
    return NamedSurge(replace(state, ring=np.zeros_like(state.ring)), week, 0)


def observe(series: NamedSurge | None, t: float, n: int) -> tuple[NamedSurge, Result]:
    """Add ``n`` complaints at ``t`` (epoch s); the new series and the open week's combined score."""
    week = int(t // WEEK)
    s = series or _fresh(week)
    state, count = s.state, s.count
    if week > s.week:
        # close the open week, then the quiet weeks since as zeros (beyond a full ring they change nothing)
        quiet = min(week - s.week, len(state.ring) + 1) - 1
        state = advance(state, [count] + [0] * quiet, float(s.week + quiet))
        count = 0
    else:
        week = s.week
    count += n
    _, result = update_surge(state, count, float(week))  # peek: the open week is not stored yet
    if result.statistic > MAX_STATISTIC:  # finite evidence and a finite p in the alert's words
        result = replace(result, statistic=MAX_STATISTIC)
    return NamedSurge(state, week, count), result
