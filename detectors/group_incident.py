"""Group-incident risk from a gathering's successive headcounts.

The seed case (000: L297–305) grew from 30–40 people to 300–400 in 30
minutes: growth rate, not size, is the early signal. From the last few counts
of one gathering we fit the log-growth rate, project the headcount
``horizon_min`` minutes ahead and turn the projection into a probability of
reaching ``large`` people. Time is passed in (minutes); nothing reads a clock.

>>> round(growth_probability(np.array([0.0, 10.0]), np.array([35, 80])), 3)
0.998
>>> round(growth_probability(np.array([0.0, 10.0, 20.0]), np.array([30, 31, 30])), 3)
0.031
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def growth_rate(t_min: np.ndarray, counts: np.ndarray, window: int = 3) -> float:
    """Least-squares slope of log(1 + headcount) per minute over the last ``window`` counts (≥ 0)."""
    t = np.asarray(t_min, dtype=float)[-window:]
    y = np.log1p(np.asarray(counts, dtype=float)[-window:])
    if len(t) < 2 or np.ptp(t) <= 0:
        return 0.0
    slope = np.polyfit(t - t.mean(), y, 1)[0]
    return max(float(slope), 0.0)


def growth_probability(t_min: np.ndarray, counts: np.ndarray, horizon_min: float = 30.0,
                       large: float = 100.0, spread: float = 0.35, prior_logodds: float = 0.0) -> float:
    """Probability that the gathering reaches ``large`` people within ``horizon_min`` minutes.

    ``prior_logodds`` shifts it for what is known of the place beforehand
    (:func:`surge_prior`: wage complaints surging in the street).
    """
    if len(counts) == 0:
        return 0.0
    now = float(counts[-1])
    projected = min(now * np.exp(growth_rate(t_min, counts) * horizon_min), 20.0 * max(now, 1.0))
    z = (np.log(max(projected, 1.0)) - np.log(large)) / spread + prior_logodds
    z = min(max(float(z), -50.0), 50.0) if z == z else 0.0  # past ±50 the probability is 0 or 1 to a double
    return float(1.0 / (1.0 + np.exp(-z)))


def surge_prior(statistic: float, per_unit: float = 0.25, cap: float = 6.0) -> float:
    """Log-odds a wage-complaint surge in the street adds to a gathering's escalation.

    ``statistic`` is the combined surge score's −log10 p (:mod:`detectors.surge`)
    over the last days; an alarm-level surge (p = 0.001) adds 0.75, the
    cap 1.5 is reached at p = 1e-6 (calibrated p-values: once in a million
    quiet street-days; the legacy score reached its cap of 10 on almost any
    rise over a flat week). Small on purpose: the street's complaints are a
    weak precursor (the backtest's ``group_incidents`` beside
    ``headcount_only`` measures it), the headcount a strong one.

    >>> surge_prior(0.0), surge_prior(3.0), surge_prior(float("inf"))
    (0.0, 0.75, 1.5)
    """
    if not statistic > 0:
        return 0.0
    return round(per_unit * min(statistic, cap), 6)


WAGE_CAUSES = ("wage", "construction_payment")

PLACE_LOGODDS = {3: 1.5, 2: 0.75}
"""log-odds a wage gathering gains when the enterprise it names is at red (3) or yellow (2) wage-arrears risk"""


def place_prior(cause: str, enterprise_rank: int) -> float:
    """Log-odds that cause and place add: workers owed wages by an enterprise already at risk do not disperse.

    A market queue or a gathering naming no enterprise at risk gets nothing;
    a wage or construction-payment gathering at a site whose enterprise the
    wage-arrears engine holds at red gets +1.5, as much as the strongest street
    complaint surge: a named enterprise is nearer the crowd than a street (the seed case's developer, 000: L1021).

    >>> place_prior("wage", 3), place_prior("construction_payment", 2), place_prior("other", 3), place_prior("wage", 0)
    (1.5, 0.75, 0.0, 0.0)
    """
    if cause not in WAGE_CAUSES:
        return 0.0
    return PLACE_LOGODDS.get(int(enterprise_rank), 0.0)


@dataclass
class GatheringTracker:
    """Per-gathering counts; ``observe`` returns the probability and whether to alert now (once per gathering)."""

    threshold: float = 0.5
    horizon_min: float = 30.0
    large: float = 100.0
    counts: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    alerted: set[str] = field(default_factory=set)

    def observe(self, gathering_id: str, t_min: float, headcount: int, prior_logodds: float = 0.0) -> tuple[float, bool]:
        seq = self.counts.setdefault(gathering_id, [])
        if (t_min, headcount) not in seq:  # a redelivered report is one count, not two
            seq.append((t_min, headcount))
        seq.sort()
        del seq[:-6]
        t = np.array([x[0] for x in seq])
        c = np.array([x[1] for x in seq])
        p = growth_probability(t, c, self.horizon_min, self.large, prior_logodds=prior_logodds)
        fire = p >= self.threshold and gathering_id not in self.alerted
        if fire:
            self.alerted.add(gathering_id)
        return p, fire
