"""Group incidents (truth) and the grid's headcount reports of them (observation).

Wage-related gatherings grow out of arrears episodes with many workers, and out
of developers defaulting on construction payments; their headcount follows the
seed case (000: L297–305): 30–40 people at 09:00, 300–400 at 09:30, dispersed
about five hours later. Other gatherings (creditors, buyers, disputes with no
wage cause) happen too and mostly grow more slowly.
"""
from __future__ import annotations

import numpy as np

from simulators.world.district import ROLE_GENERAL, District
from simulators.world.scenario import INDUSTRIES, Scenario
from simulators.world.truth import ArrearsEpisode, GroupIncident

MINUTE = 1.0 / 1440.0


def group_incidents(s: Scenario, d: District, rng: np.random.Generator, arrears: list[ArrearsEpisode],
                    developer_defaults: list[tuple[int, float]], horizon: float) -> list[GroupIncident]:
    out: list[GroupIncident] = []
    construction = INDUSTRIES.index("construction")

    def add(area: str, day: float, minute0: float, h0: int, peak: int, rise: float, hours: float,
            cause: str, ent: str | None, wage: bool) -> None:
        start = day + minute0 * MINUTE
        out.append(GroupIncident("", area, start, start + rise * MINUTE, start + hours / 24.0,
                                 int(h0), int(max(peak, h0)), cause, ent, wage))

    g = s.gatherings
    for e in arrears:
        if e.workers < 20 or not (0 <= e.start < horizon):
            continue
        p = min(0.9, g.escalation_share * float(np.clip(e.workers / 60.0, 0.3, 2.0)))
        if rng.random() >= p:
            continue
        i = e.index
        area = d.area(i)
        if d.role[i] == ROLE_GENERAL:
            sites = np.flatnonzero(d.projects.contractor == i)
            if len(sites):
                area = d.grid_codes[int(d.projects.grid[sites[0]])]
        day = e.start + float(np.floor(rng.uniform(2, max(3.0, min(25.0, e.end - e.start)))))
        peak = max(10, int(e.workers * rng.uniform(0.4, 0.9)))
        h0 = max(3, int(peak * rng.uniform(0.08, 0.2)))
        cause = "construction_payment" if d.industry[i] == construction else "wage"
        add(area, day, rng.uniform(480, 630), h0, peak, rng.uniform(20, 60), rng.uniform(2, 6), cause, e.enterprise_id, True)
    for dev, day in developer_defaults:
        sites = np.flatnonzero(d.projects.developer == dev)
        area = d.grid_codes[int(d.projects.grid[sites[0]])] if len(sites) else d.area(dev)
        cause = "construction_payment" if rng.random() < 0.5 else "property_buyers"
        add(area, day + float(np.floor(rng.uniform(1, 10))), 540.0, int(rng.integers(30, 41)),
            int(rng.integers(300, 401)), 30.0, 5.0, cause, d.uscc[dev], cause == "construction_payment")
    months = horizon / 30.44
    for _ in range(int(rng.poisson(g.unrelated_per_month * months))):
        day = float(np.floor(rng.uniform(0, horizon)))
        peak = int(np.clip(rng.lognormal(np.log(40), 0.8), 8, 500))
        h0 = max(3, int(peak * rng.uniform(0.2, 0.6)))
        cause = str(rng.choice(["other", "creditors", "property_buyers"]))
        area = d.grid_codes[int(rng.integers(0, len(d.grid_codes)))]
        add(area, day, rng.uniform(420, 900), h0, peak, rng.uniform(30, 120), rng.uniform(1, 5), cause, None, False)
    out.sort(key=lambda x: (x.start, x.area_code))
    for k, inc in enumerate(out):
        inc.gathering_id = f"g-{k:05d}"
    if g.tension_share > 0:
        # a stream of its own, so a world without building tension draws every other number as before
        trng = np.random.default_rng([s.seed, 2323])
        for inc in out:
            if trng.random() < g.tension_share * (1.0 if inc.wage_related else 0.5):
                inc.tension_days = int(trng.integers(4, 15))
    return out


TENSION_TOPIC = {"wage": "wage", "construction_payment": "construction_payment", "property_buyers": "property",
                 "creditors": "other", "other": "other"}


def tension_voices(inc: GroupIncident, rng: np.random.Generator) -> list[tuple[float, str, int]]:
    """Complaints and petitions in the incident's grid over its ``tension_days``: (day, class, people).

    Rising day by day from about one a day to four, individual petitions
    among them, and a collective petition (5–60 people) in the last three days
    more often than not — the building tension of 000: L649.
    """
    out: list[tuple[float, str, int]] = []
    n = inc.tension_days
    day0 = float(np.floor(inc.start)) - n
    for k in range(n):
        ramp = (k + 1) / n
        for _ in range(int(rng.poisson(0.8 + 3.2 * ramp))):
            out.append((day0 + k + rng.uniform(0.3, 0.9), "hotline_complaint", int(rng.integers(1, 4))))
        for _ in range(int(rng.poisson(0.1 + 0.5 * ramp))):
            out.append((day0 + k + rng.uniform(0.3, 0.7), "petition", 1))
    if n and rng.random() < 0.6:
        out.append((day0 + n - rng.uniform(0.3, 3.0), "petition", int(rng.integers(5, 61))))
    return out


def headcount(inc: GroupIncident, day: float) -> float:
    """True headcount at ``day``: exponential growth to the peak, plateau, dispersal in the last hour."""
    if day < inc.start or day > inc.end:
        return 0.0
    if day <= inc.peak_at:
        frac = (day - inc.start) / max(inc.peak_at - inc.start, MINUTE)
        return inc.initial_headcount * (inc.peak_headcount / inc.initial_headcount) ** frac
    tail = max(inc.end - 60 * MINUTE, inc.peak_at)
    if day <= tail:
        return float(inc.peak_headcount)
    return inc.peak_headcount * (inc.end - day) / max(inc.end - tail, MINUTE)


def reports(inc: GroupIncident, rng: np.random.Generator, noise: float) -> list[tuple[float, int]]:
    """The grid's counts: about every 10 minutes, with counting error, some missed."""
    out: list[tuple[float, int]] = []
    t = inc.start + rng.uniform(0, 5) * MINUTE
    while t < inc.end:
        if rng.random() > 0.1 + 0.1 * noise:
            true = headcount(inc, t)
            seen = int(round(true * rng.lognormal(0.0, 0.08 + 0.15 * noise)))
            out.append((t, max(seen, 0)))
        t += rng.uniform(8, 12) * MINUTE
    return out
