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
class CrowdSizes:
    """How large the district's gatherings got, and so how likely a crowd of ``n`` is to reach ``large``.

    Why: a crowd growing from 3 to 19 in ten minutes projects past 100 as
    surely as one growing from 30 to 80, but most crowds stop short: sizes are
    heavy-tailed, and what decides is the chance that *this* crowd's peak lies
    beyond ``large`` given that it has reached ``n``. Peaks above ``floor`` are
    modelled as Pareto with tail index ``alpha``, so that chance is
    ``(n / large) ** alpha``. ``alpha`` is learnt from the district's own
    finished gatherings (conjugate gamma posterior; the prior is Zipf's
    ``alpha = 1`` worth ``prior_weight`` gatherings, so a new district starts
    there and its own record takes over after a few dozen). The predictive
    (alpha integrated out) is ``(1 + log(large / n) / b) ** -a``.

    >>> sizes = CrowdSizes()
    >>> round(sizes.reach_probability(19, 100), 2), round(sizes.reach_probability(80, 100), 2)
    (0.22, 0.8)
    >>> sizes.reach_probability(120, 100)
    1.0
    >>> for peak in [12, 15, 20, 11, 14, 30, 12, 18, 25, 13] * 3:
    ...     sizes.add(peak)
    >>> round(sizes.alpha, 1), round(sizes.reach_probability(19, 100), 3)  # a district of small crowds
    (1.6, 0.071)
    """

    floor: float = 10.0
    prior_alpha: float = 1.0
    prior_weight: float = 10.0
    seen: int = 0
    sum_log: float = 0.0

    cap: float = 10_000.0
    """a peak counts at most this: one miscounted or forged report of a million must not set a district's tail"""

    def add(self, peak: float) -> None:
        """A finished gathering's largest count (under ``floor`` it says nothing of the tail)."""
        if peak >= self.floor:
            self.seen += 1
            self.sum_log += float(np.log(min(peak, self.cap) / self.floor))

    @property
    def alpha(self) -> float:
        """Posterior mean tail index."""
        return (self.prior_weight + self.seen) / (self.prior_weight / self.prior_alpha + self.sum_log)

    def reach_probability(self, now: float, large: float) -> float:
        """Predictive probability that a crowd that has reached ``now`` people peaks at ``large`` or more."""
        if now >= large:
            return 1.0
        a = self.prior_weight + self.seen
        b = self.prior_weight / self.prior_alpha + self.sum_log
        return float((1.0 + np.log(large / max(now, self.floor)) / b) ** -a)


DONE_AFTER_MIN = 360.0
"""a gathering with no count for six hours is over: its largest count joins the district's record"""


RED_AT = 0.8
"""escalation probability from which a gathering is red rather than yellow"""


@dataclass(frozen=True)
class Judgement:
    """What one count says of a gathering: ``p`` that it becomes large within the horizon, ``p_growth`` that it
    grows fast enough (the growth alone), its ``rank`` now (0 none, 1 blue, 2 yellow, 3 red) and whether that
    rank is new (``rise``: raise or escalate the alert)."""

    p: float
    p_growth: float
    rank: int
    rise: bool


@dataclass
class GatheringTracker:
    """Per-gathering counts, judged at each count; a gathering's alert only ever rises (blue → yellow → red).

    ``p_growth`` is the chance the crowd keeps growing fast enough to pass ``large`` within the horizon
    (:func:`growth_probability`, cause and place as its prior log-odds); ``p`` multiplies it by the chance its
    peak lies beyond ``large`` at all (:class:`CrowdSizes`). Why two tiers: the growth alone is early (a
    median 28 minutes before the peak on the simulator) but most crowds it flags stop short; the size record
    halves those at a cost of about ten minutes. So growth alone makes a **blue** alert, the grid's own to
    check on the spot, and ``p`` ≥ ``threshold`` a **yellow** one (≥ RED_AT red) for the street and district.
    ``sizes=None`` is the rule before (issue #23's baseline): the growth alone, yellow or red.
    """

    threshold: float = 0.5
    horizon_min: float = 30.0
    large: float = 100.0
    sizes: CrowdSizes | None = field(default_factory=CrowdSizes)
    counts: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)
    """gathering → the highest rank alerted (absent: never alerted)"""
    since: dict[str, float] = field(default_factory=dict)
    """gathering → when (minutes) it was first alerted: its alert's episode start"""
    peak: dict[str, int] = field(default_factory=dict)
    """gathering → largest count reported (``counts`` keeps the last six only)"""
    done: set[str] = field(default_factory=set)
    """gatherings over (no count for DONE_AFTER_MIN), their peak in ``sizes``"""
    finished: list[str] = field(default_factory=list)
    """gatherings found over since the caller last cleared this (their state changed)"""

    def finish_before(self, t_min: float) -> None:
        """Gatherings whose last count is older than DONE_AFTER_MIN before ``t_min`` are over: learn their peaks.

        Called with each report's own time, so the record is the same whatever the batches."""
        for gid, seq in self.counts.items():
            if gid not in self.done and seq and seq[-1][0] < t_min - DONE_AFTER_MIN:
                self.done.add(gid)
                self.finished.append(gid)
                if self.sizes is not None:
                    self.sizes.add(self.peak[gid])  # set with the counts, by observe or restore

    def observe(self, gathering_id: str, t_min: float, headcount: int, prior_logodds: float = 0.0) -> Judgement:
        self.finish_before(t_min)
        seq = self.counts.setdefault(gathering_id, [])
        if (t_min, headcount) not in seq:  # a redelivered report is one count, not two
            seq.append((t_min, headcount))
        seq.sort()
        del seq[:-6]
        self.peak[gathering_id] = max(self.peak.get(gathering_id, 0), headcount)
        t = np.array([x[0] for x in seq])
        c = np.array([x[1] for x in seq])
        grows = growth_probability(t, c, self.horizon_min, self.large, prior_logodds=prior_logodds)
        if self.sizes is None:
            p, watch = grows, 0
        else:
            p, watch = grows * self.sizes.reach_probability(c[-1], self.large), int(grows >= self.threshold)
        rank = 3 if p >= RED_AT else 2 if p >= self.threshold else watch
        before = self.ranks.get(gathering_id, 0)
        if rank > before:
            self.ranks[gathering_id] = rank
            self.since.setdefault(gathering_id, t_min)
        return Judgement(p, grows, max(rank, before), rank > before)

    @property
    def alerted(self) -> set[str]:
        return set(self.ranks)

    def restore(self, gathering_id: str, value: dict) -> None:
        """One gathering as a table held it. Before 2026-12-03 it held ``counts`` and ``alerted`` only: such an
        alert was yellow or red, taken as red so it is never raised twice (its start is its first count)."""
        counts = [(float(t), int(n)) for t, n in value["counts"]]
        self.counts[gathering_id] = counts
        peak = value.get("peak")
        self.peak[gathering_id] = int(peak) if peak is not None else max((n for _, n in counts), default=0)
        rank = int(value.get("rank", 3 if value.get("alerted") else 0))
        if rank:
            self.ranks[gathering_id] = rank
            self.since[gathering_id] = float(value.get("since", counts[0][0] if counts else 0.0))
        if value.get("done"):
            self.done.add(gathering_id)
            if self.sizes is not None:
                self.sizes.add(self.peak[gathering_id])
