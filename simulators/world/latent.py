"""Latent financial state and the distress → arrears dynamics (the ground truth).

Each gradual distress episode is a daily trajectory of two numbers:

* ``cash`` — cash on hand in months of payroll;
* ``credit`` — the share of the enterprise's credit line already drawn.

In distress cash drains at an enterprise-specific speed (weeks to more than a
year), with noise. While credit remains, the enterprise draws it to keep about
one month of payroll in hand; once credit is mostly drawn, it defers what it
can (social insurance, utility bills — each enterprise has its own order and
thresholds, some never defer one of them), stalls its main project, sheds
workers, and when cash runs out wages go unpaid: an arrears episode starts.
Most episodes recover: at a random point the drain reverses and credit is
repaid. Construction and labour-intensive manufacturing owe the year-end wage
settlement before the Spring Festival, which pushes thin-cash enterprises
over the edge then.

Sudden arrears have no precursor in these variables: an owner absconds, or a
developer upstream defaults and its contractors cannot pay their sites.

Everything here draws from the latent random stream only, so the truth does
not change with the observation parameters (noise, missing data, faults).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.world.district import ROLE_DEVELOPER, ROLE_GENERAL, District
from simulators.world.scenario import INDUSTRIES, Scenario
from simulators.world.truth import ArrearsEpisode, DistressInterval, GroupIncident, spring_festival_days

BURN_DAYS = 240
"""Latent history simulated before the first event, so day 0 is in steady state."""
MAX_EPISODE_DAYS = 600
_LABOUR = (INDUSTRIES.index("construction"), INDUSTRIES.index("manufacturing_labour"))


@dataclass
class Trajectories:
    """Daily latent state of every gradual distress episode (rows) from its onset (columns)."""

    enterprise: np.ndarray
    onset: np.ndarray            # day of onset (relative to scenario start; may be negative)
    length: np.ndarray           # valid days from onset
    cash: np.ndarray             # (M, L) float32, months of payroll
    credit: np.ndarray           # (M, L) float32, share of credit line drawn
    defer_si: np.ndarray         # (M, L) bool
    defer_util: np.ndarray       # (M, L) bool
    stall: np.ndarray            # (M, L) bool, main project stalled
    arrears: np.ndarray          # (M, L) bool, wages unpaid
    shed: np.ndarray             # (M, L) float32, share of the workforce gone

    def __len__(self) -> int:
        return len(self.enterprise)


@dataclass
class Sudden:
    enterprise: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cause: list[str]


@dataclass
class Latent:
    traj: Trajectories
    sudden: Sudden
    arrears: list[ArrearsEpisode]
    distress: list[DistressInterval]
    incidents: list[GroupIncident]
    developer_defaults: list[tuple[int, float]]
    horizon: float


def _risk(s: Scenario, d: District) -> np.ndarray:
    mult = np.array([s.arrears.industry_risk.get(k, 1.0) for k in INDUSTRIES])[d.industry]
    return mult / max(float(mult.mean()), 1e-9)


def _settlement_days(s: Scenario, lo: float, hi: float) -> list[float]:
    return spring_festival_days(s.start, lo, hi)


def _onsets(s: Scenario, d: District, rng: np.random.Generator, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    span = horizon + BURN_DAYS
    lam = s.arrears.distress_rate * _risk(s, d) * span / 365.0
    counts = np.minimum(rng.poisson(lam), 2)
    ent = np.repeat(np.arange(len(d)), counts)
    onset = np.floor(rng.uniform(-BURN_DAYS, horizon, len(ent)))
    order = np.lexsort((onset, ent))
    return ent[order], onset[order]


def simulate_gradual(s: Scenario, d: District, rng: np.random.Generator, horizon: float) -> Trajectories:
    ent, onset = _onsets(s, d, rng, horizon)
    m = len(ent)
    length_max = int(min(MAX_EPISODE_DAYS, horizon + BURN_DAYS))
    c = rng.uniform(1.2, 3.0, m)
    k_credit = np.clip(rng.lognormal(np.log(1.2), 0.5, m), 0.3, 5.0)
    u = rng.uniform(0.0, 0.3, m)
    speed = np.clip(rng.lognormal(np.log(0.35), 0.6, m), 0.06, 3.0) / 30.0
    sigma = 0.15 / np.sqrt(30.0)
    exhaust = (c + k_credit * (1 - u)) / speed
    recover = rng.random(m) < s.arrears.recovery_share
    r_day = np.where(recover, exhaust * rng.uniform(0.2, 0.97, m), np.inf)
    v_rec = rng.uniform(0.2, 0.6, m) / 30.0
    src = s.sources                      # when this world's firms defer: same draws, other thresholds
    th_si = np.where(rng.random(m) < src.si_defer_share, rng.uniform(*src.si_defer_cash, m), -1.0)
    th_util = np.where(rng.random(m) < src.util_defer_share, rng.uniform(*src.util_defer_cash, m), -1.0)
    staller = (d.role[ent] == ROLE_GENERAL) & (rng.random(m) < 0.7)
    th_stall = rng.uniform(0.1, 0.4, m)
    duration = np.clip(rng.lognormal(np.log(35.0), 0.6, m), 7, 180)
    labour = np.isin(d.industry[ent], _LABOUR)
    settle = np.zeros(length_max + int(horizon + BURN_DAYS) + 2)
    for sf in _settlement_days(s, -BURN_DAYS - 40, horizon + 40):
        lo = int(sf - 30 + BURN_DAYS)
        settle[max(lo, 0):max(int(sf + BURN_DAYS), 0)] = s.arrears.spring_festival_settlement / 30.0
    noise = rng.standard_normal((m, length_max)).astype(np.float32)

    cash = np.zeros((m, length_max), np.float32)
    credit = np.zeros((m, length_max), np.float32)
    arrears = np.zeros((m, length_max), bool)
    length = np.zeros(m, np.int64)
    in_arrears = np.zeros(m, bool)
    arrears_end = np.full(m, np.inf)
    done = np.zeros(m, bool)
    for j in range(length_max):
        day = onset + j
        live = ~done & (day < horizon)
        recovering = j >= r_day
        drift = np.where(recovering, v_rec, -speed)
        drift = drift - np.where(labour & ~recovering, settle[(day + BURN_DAYS).astype(np.int64).clip(0, len(settle) - 1)], 0.0)
        step_c = np.where(in_arrears, 0.0, drift + sigma * noise[:, j])
        c = np.where(live, c + step_c, c)
        draw = np.where(live & ~in_arrears & (c < 1.0) & (u < 1.0), np.minimum(1.0 - c, (1.0 - u) * k_credit), 0.0)
        c, u = c + draw, u + draw / k_credit
        repay = np.where(live & recovering & (c > 1.5) & (u > 0), np.minimum(c - 1.5, u * k_credit), 0.0)
        c, u = c - repay, u - repay / k_credit
        start_now = live & ~in_arrears & (c <= 0.0)
        in_arrears |= start_now
        arrears_end = np.where(start_now, j + duration, arrears_end)
        cash[:, j], credit[:, j], arrears[:, j] = c, u, in_arrears & live
        length = np.where(live, j + 1, length)
        done |= live & in_arrears & (j + 1 >= arrears_end)
        done |= live & recovering & (u <= 0.3) & (c >= 1.2)
        done |= ~live
        if done.all():
            break

    valid = np.arange(length_max)[None, :] < length[:, None]
    thin = cash < 1.0
    defer_si = valid & ((thin & (cash < th_si[:, None])) | arrears) & (th_si[:, None] > 0)
    defer_util = valid & ((thin & (cash < th_util[:, None])) | arrears) & (th_util[:, None] > 0)
    stall = valid & staller[:, None] & ((cash < th_stall[:, None]) | arrears)
    shed = np.where(valid & (credit > 0.9), np.clip((1.0 - cash) * 0.35, 0.0, 0.5), 0.0).astype(np.float32)
    return Trajectories(enterprise=ent, onset=onset.astype(np.int64), length=length, cash=cash, credit=credit,
                        defer_si=defer_si, defer_util=defer_util, stall=stall, arrears=arrears, shed=shed)


def _runs(mask: np.ndarray, merge_gap: int = 10) -> list[tuple[int, int]]:
    """[start, end) runs of True, with gaps shorter than ``merge_gap`` closed."""
    if not mask.any():
        return []
    x = np.concatenate(([0], mask.astype(np.int8), [0]))
    starts = np.flatnonzero(np.diff(x) == 1)
    ends = np.flatnonzero(np.diff(x) == -1)
    out: list[list[int]] = []
    for a, b in zip(starts, ends):
        if out and a - out[-1][1] < merge_gap:
            out[-1][1] = int(b)
        else:
            out.append([int(a), int(b)])
    return [(a, b) for a, b in out]


def _workers(d: District, i: int, share: float, shed: float = 0.0) -> int:
    base = int(d.employees[i])
    if d.role[i] == ROLE_GENERAL:
        base = max(base, int(d.projects.workers[d.projects.contractor == i].sum()))
    return max(1, int(round(base * share * (1.0 - shed))))


def simulate(s: Scenario, d: District, rng: np.random.Generator) -> Latent:
    """The whole latent world: gradual episodes, sudden arrears, distress intervals, group incidents."""
    horizon = float(s.days + s.lookahead_days)
    traj = simulate_gradual(s, d, rng, horizon)
    arrears: list[ArrearsEpisode] = []
    distress: list[DistressInterval] = []
    busy: dict[int, list[tuple[float, float]]] = {}
    keep = np.ones(len(traj), bool)
    for k in range(len(traj)):
        i, on, n = int(traj.enterprise[k]), float(traj.onset[k]), int(traj.length[k])
        if any(a - 60 <= on <= b + 60 for a, b in busy.get(i, [])):
            keep[k] = False          # a second onset inside the first episode: drop it
            continue
        busy.setdefault(i, []).append((on, on + n))
        arr = np.flatnonzero(traj.arrears[k, :n])
        if len(arr):
            a0, a1 = int(arr[0]), int(arr[-1]) + 1
            arrears.append(ArrearsEpisode(d.uscc[i], on + a0, on + a1,
                                          _workers(d, i, float(rng.uniform(0.3, 1.0)), float(traj.shed[k, a0])),
                                          False, "gradual", i))
        mask = (traj.defer_si[k, :n] | traj.defer_util[k, :n] | traj.stall[k, :n] | traj.arrears[k, :n]
                | ((traj.credit[k, :n] >= 0.8) & (traj.cash[k, :n] < 1.05)))
        for a, b in _runs(mask):
            distress.append(DistressInterval(d.uscc[i], on + a, on + b,
                                             recovered=not traj.arrears[k, a:b].any(), index=i))
    if not keep.all():
        traj = Trajectories(**{f: getattr(traj, f)[keep] for f in traj.__dataclass_fields__})

    sudden, defaults = _sudden(s, d, rng, horizon, arrears, busy)
    for i, a, b, cause in zip(sudden.enterprise, sudden.start, sudden.end, sudden.cause):
        arrears.append(ArrearsEpisode(d.uscc[i], float(a), float(b), _workers(d, int(i), float(rng.uniform(0.5, 1.0))),
                                      True, cause, int(i)))
        distress.append(DistressInterval(d.uscc[i], float(a), float(b), recovered=False, index=int(i)))
    arrears.sort(key=lambda e: (e.start, e.enterprise_id))
    distress.sort(key=lambda x: (x.start, x.enterprise_id))
    from simulators.world.gatherings import group_incidents
    incidents = group_incidents(s, d, rng, arrears, defaults, horizon)
    return Latent(traj=traj, sudden=sudden, arrears=arrears, distress=distress, incidents=incidents,
                  developer_defaults=defaults, horizon=horizon)


def _sudden(s: Scenario, d: District, rng: np.random.Generator, horizon: float,
            gradual: list[ArrearsEpisode], busy: dict[int, list[tuple[float, float]]]
            ) -> tuple[Sudden, list[tuple[int, float]]]:
    ents: list[int] = []
    starts: list[float] = []
    causes: list[str] = []

    def free(i: int, day: float) -> bool:
        return not any(a - 30 <= day <= b + 30 for a, b in busy.get(i, []))

    # developers that go bankrupt owing construction payments: their contractors cannot pay their sites
    defaults: list[tuple[int, float]] = []
    devs = np.unique(d.projects.developer[d.projects.developer >= 0])
    if s.arrears.developer_defaults and len(devs):
        chosen = rng.choice(devs, size=min(s.arrears.developer_defaults, len(devs)), replace=False)
        for dev in chosen:
            day = float(np.floor(rng.uniform(s.warmup_days, max(s.warmup_days + 1, s.days - 30))))
            defaults.append((int(dev), day))
            sites = np.flatnonzero(d.projects.developer == dev)
            hit = set(d.projects.contractor[sites].tolist()) | set(np.flatnonzero(np.isin(d.sub_project, sites)).tolist())
            for i in sorted(hit):
                a = day + float(np.floor(rng.uniform(0, 15)))
                if rng.random() < 0.7 and free(i, a):
                    ents.append(i)
                    starts.append(a)
                    causes.append("developer_default")
                    busy.setdefault(i, []).append((a, a + 60))
    # owners who abscond: as many as the sudden share asks for, relative to gradual arrears in the window
    window = [e for e in gradual if 0 <= e.start < s.days]
    share = s.arrears.sudden_share
    target = len(window) * share / (1 - share) * (horizon + BURN_DAYS) / s.days - len(causes)
    n = int(rng.poisson(max(target, 0.0))) if share > 0 else 0
    if n:
        risk = _risk(s, d)
        cand = rng.choice(len(d), size=n, p=risk / risk.sum())
        sf = _settlement_days(s, -BURN_DAYS, horizon + 60)
        day = rng.uniform(-BURN_DAYS, horizon, n)
        # absconding concentrates in the weeks before the Spring Festival (year-end pay falls due)
        before_sf = rng.random(n) < 0.3
        if sf:
            anchor = rng.choice(np.array(sf), n)
            day = np.where(before_sf, anchor - rng.uniform(1, 45, n), day)
        for i, a in zip(cand.tolist(), np.floor(day).tolist()):
            if -BURN_DAYS <= a < horizon and free(i, a):
                ents.append(i)
                starts.append(a)
                causes.append("owner_absconds")
                busy.setdefault(i, []).append((a, a + 60))
    dur = np.clip(rng.lognormal(np.log(45.0), 0.6, len(ents)), 7, 200)
    st = np.array(starts, dtype=float)
    return Sudden(enterprise=np.array(ents, dtype=np.int64), start=st, end=st + np.floor(dur), cause=causes), defaults


def developer_role(d: District, i: int) -> bool:
    return bool(d.role[i] == ROLE_DEVELOPER)
