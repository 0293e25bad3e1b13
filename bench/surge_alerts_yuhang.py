"""Complaint-surge alerts on a simulated district: how many, how red, and how many on 1-3 complaints.

Why: issue #22 found the stream flooding officers (1,276 of 1,536 alerts
red, 1,147 of them "1-3 complaints against 0.0 expected"). This replays a
scenario's complaints and petitions through the stream's own
:class:`streams.complaint_surge.ComplaintSurgeTracker`, once with the
calibrated score (the default ``SurgeConfig``) and once with the legacy
z-score tails, and counts per configuration: alert episodes (one alert id
per episode) and alert rows (one per bucket an episode stays open), episodes
per area-year (streets seen x years), the share whose worst level was red,
and the episodes raised on 1-3 complaints against an expectation under 0.5.
The level mapping is the tracker's own (``_level``: -log10 p >= 5 yellow,
>= 8 red), unchanged; ``levels_if_yellow_4_red_6`` shows what the mapping
proposed for calibrated scores would give.

Run: ``python -m bench.surge_alerts_yuhang [--scenario yuhang]``
→ ``bench/results/surge_alerts_<scenario>.json``.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from detectors.surge import SurgeConfig
from simulators.evaluation.backtest import DecodeStats, day_batches, decode_items
from simulators.evaluation.logfiles import iter_lines
from simulators.world.generate import generate
from simulators.world.scenario import load_scenario
from streams.complaint_surge import DAY, SURGE_CLASSES, ComplaintSurgeTracker

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
DETAIL = re.compile(r"^(?P<count>[\d.]+) on \S+ against (?P<expected>[\d.]+) expected$")
CONFIGS = {
    "calibrated (default)": SurgeConfig(bucket_seconds=DAY, period=7),
    "legacy z-score tails": SurgeConfig(bucket_seconds=DAY, period=7, pvalues="normal", combine="bonferroni"),
}
RANK = {"blue": 1, "yellow": 2, "red": 3}


def summarise(alerts: list[dict], areas: int, years: float) -> dict:
    episodes: dict[str, dict] = {}
    for a in alerts:
        e = episodes.setdefault(a["alert_id"], {"level": "blue", "first": a, "top": 0.0})
        if RANK[a["level"]] > RANK[e["level"]]:
            e["level"] = a["level"]
        e["top"] = max(e["top"], a["reasons"][0]["contribution"])
    small = 0
    for e in episodes.values():
        m = DETAIL.match(e["first"]["reasons"][0]["detail"])
        if m and float(m["count"]) <= 3 and float(m["expected"]) < 0.5:
            small += 1
    n = len(episodes)
    red = sum(e["level"] == "red" for e in episodes.values())
    topics: dict[str, list[str]] = {}
    for e in episodes.values():
        topics.setdefault(e["first"]["subject_id"].split("|")[1], []).append(e["first"]["episode_start"][:10])
    return {"alert_rows": len(alerts), "episodes": n, "episodes_per_area_year": n / max(areas * years, 1e-9),
            "episode_starts_by_topic": {k: sorted(v) for k, v in sorted(topics.items())},
            "red_share": red / n if n else 0.0,
            "levels": {lv: sum(e["level"] == lv for e in episodes.values()) for lv in RANK},
            "episodes_on_1_to_3_against_under_0.5": small,
            "levels_if_yellow_4_red_6": {"yellow": sum(4 <= e["top"] < 6 for e in episodes.values()),
                                         "red": sum(e["top"] >= 6 for e in episodes.values())}}


def main(scenario: str = "yuhang") -> dict:
    t0 = time.perf_counter()
    gen = generate(load_scenario(scenario))
    stats = DecodeStats()
    batches = [[ev for ev in batch if ev.data_class in SURGE_CLASSES]
               for _, batch in day_batches(decode_items(iter_lines(gen.lines, f"<{scenario}>", stats.problems), stats))]
    events = [ev for b in batches for ev in b]
    doc: dict = {"scenario": scenario, "complaints_and_petitions": len(events), "configs": {}}
    for label, cfg in CONFIGS.items():
        tracker = ComplaintSurgeTracker(config=cfg)
        alerts: list[dict] = []
        for b in batches:
            alerts.extend(tracker.process(b))
        areas = len({k[0] for k in tracker.series})
        years = (max(ev.t for ev in events) - min(ev.t for ev in events)) / (365.0 * DAY)
        doc["configs"][label] = summarise(alerts, areas, years)
        doc["streets"], doc["years"], doc["series"] = areas, round(years, 3), len(tracker.series)
        print(label, json.dumps(doc["configs"][label]), flush=True)
    doc["seconds"] = round(time.perf_counter() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"surge_alerts_{scenario}.json").write_text(json.dumps(doc, indent=2))
    return doc


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="complaint-surge alerts on a simulated district")
    ap.add_argument("--scenario", default="yuhang")
    main(ap.parse_args().scenario)
