"""Generate a scenario: district → latent truth → observations → faults → event log.

Four independent random streams are spawned from the scenario seed: the
district, the latent world (truth), the observations and the faults. So the
truth depends on the seed and the latent parameters only; the same seed gives
byte-identical files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simulators.world.district import District, build_district
from simulators.world.eventlog import ABBR, Delivery, apply_faults, record, render, write_lines
from simulators.world.latent import Latent, simulate
from simulators.world.observe import Observer, background_hotline
from simulators.world.scenario import TOPICS, Scenario
from simulators.world.truth import Truth, epoch0, iso_at

CLASS_ORDER = {c: k for k, c in enumerate(ABBR)}


@dataclass
class Generated:
    scenario: Scenario
    district: District
    latent: Latent
    truth: Truth
    lines: list[str]
    faults: dict[str, int] = field(default_factory=dict)

    def write(self, out_dir: Path) -> dict[str, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {"events": out_dir / "events.jsonl", "truth": out_dir / "truth.json"}
        write_lines(paths["events"], self.lines)
        self.truth.write(paths["truth"])
        return paths


def streams(seed: int) -> tuple[np.random.Generator, ...]:
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))


def build_truth(s: Scenario) -> tuple[District, Latent, Truth]:
    """The district and its ground truth, without any observation (fast)."""
    rng_d, rng_l, _, _ = streams(s.seed)
    d = build_district(s, rng_d)
    lat = simulate(s, d, rng_l)
    truth = Truth(scenario=s.name, start=s.start, days=s.days, warmup_days=s.warmup_days, enterprises=len(d),
                  arrears=lat.arrears, distress=lat.distress, incidents=lat.incidents)
    return d, lat, truth


def generate(s: Scenario, progress: bool = False) -> Generated:
    bar = tqdm(total=5, desc=f"simulate {s.name}", unit="stage", disable=not progress, leave=False)
    _, _, rng_o, rng_f = streams(s.seed)
    d, lat, truth = build_truth(s)
    bar.update()
    raw = Observer(s, d, lat, rng_o).observe()
    bg_day, bg_grid, bg_topic = background_hotline(s, d, rng_o)
    bar.update()

    deliveries: list[Delivery] = []
    t0 = epoch0(s.start)
    start_iso = iso_at(t0, 0.0)
    for i in range(len(d)):
        ev = record("enterprise_registry", f"reg-{i:07d}", start_iso, {
            "enterprise_id": d.uscc[i], "name": d.names[i], "industry": d.industry_name(i),
            "area_code": d.area(i), "employees": int(d.employees[i])})
        deliveries.append(Delivery(-1.0, i, "enterprise_registry", ev))
    items = [(day, CLASS_ORDER[cls], k, cls, fields) for k, (day, cls, fields) in enumerate(raw)]
    items += [(float(day), CLASS_ORDER["hotline_complaint"], len(raw) + k, "hotline_complaint",
               {"enterprise_id": None, "area_code": d.grid_codes[int(g)], "topic": TOPICS[int(tp)], "callers": 1})
              for k, (day, g, tp) in enumerate(zip(bg_day.tolist(), bg_grid.tolist(), bg_topic.tolist()))]
    items.sort(key=lambda x: (round(x[0] * 86400), x[1], x[2]))
    base = len(deliveries)
    for n, (day, _, _, cls, fields) in enumerate(items):
        sec = round(day * 86400) / 86400.0
        ev = record(cls, f"{ABBR[cls]}-{n:08d}", iso_at(t0, sec), fields)
        deliveries.append(Delivery(sec + 60.0 / 86400.0, base + n, cls, ev))
    bar.update()
    fault_stats = apply_faults(s, deliveries, rng_f)
    bar.update()
    lines = [render(dv, iso_at(t0, max(dv.arrival, 0.0))) for dv in deliveries]
    bar.update()
    bar.close()
    return Generated(s, d, lat, truth, lines, fault_stats)
