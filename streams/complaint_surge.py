"""Complaint and petition surges per (street, topic), for the stream worker.

Daily bucket counts come from :class:`streams.windows.WindowedCounts` (late
events within the allowed lateness update their bucket; duplicates by
event_id count once; a silent source is *missing*, never a drop). Each closed
bucket updates the combined surge detector of every known series; an alarm
becomes a ``complaint_surge`` alert that shows the count it was compared
against. No Faust import: the agent feeds events and watermarks in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from detectors.engine import DecodedEvent, iso
from detectors.evidence import WAGE_TOPICS
from detectors.levels import alert_id
from detectors.surge import SurgeConfig, SurgeState, reportable, update_surge
from streams.windows import ClosedBucket, WindowedCounts

SURGE_CLASSES = frozenset({"hotline_complaint", "petition"})
DAY = 86400.0
RULES_VERSION = "surge-combined-1"


def _level(statistic: float) -> tuple[str, int]:
    """−log10 p → colour: the rarer the count, the more serious (calibrated p, issue #22: one in 10,000 quiet
    street-days is yellow, one in a million red)."""
    if statistic >= 6:
        return "red", 3
    if statistic >= 4:
        return "yellow", 2
    return "blue", 1


@dataclass
class ComplaintSurgeTracker:
    lateness_days: float = 2.0
    utc_offset_hours: float = 8.0
    area_digits: int = 9
    """street level by default: grid counts are too thin for a daily baseline"""
    config: SurgeConfig = field(default_factory=lambda: SurgeConfig(bucket_seconds=DAY, period=7))
    deadline_days: dict[str, float] = field(default_factory=lambda: {"blue": 1, "yellow": 3, "red": 7})

    def __post_init__(self) -> None:
        self.windows = WindowedCounts(bucket="day", allowed_lateness=self.lateness_days * DAY,
                                      utc_offset=self.utc_offset_hours * 3600)
        self.series: dict[tuple[str, str], SurgeState] = {}
        self.episodes: dict[tuple[str, str], float] = {}
        self.watermark = float("-inf")
        self.wage_surges: dict[str, list[tuple[float, float]]] = {}
        """area → (bucket start, −log10 p) of its wage-topic series, the last few weeks (for the group-incident prior)"""
        self._changed = False
        """whether a batch changed anything since :meth:`changes` was last called"""

    def process(self, events: list[DecodedEvent]) -> list[dict[str, Any]]:
        """Count the batch's complaints and petitions; alerts for buckets that closed."""
        for ev in events:
            if ev.data_class not in SURGE_CLASSES:
                continue
            area = str(ev.fields.get("area_code", ""))[: self.area_digits]
            self.windows.add(ev.event_id, area, str(ev.fields.get("topic", "other")), ev.t)
            self._changed = True
            self.watermark = max(self.watermark, ev.t)
        if self.watermark == float("-inf"):
            return []
        alerts: list[dict[str, Any]] = []
        for bucket in self.windows.advance(self.watermark):
            alerts.extend(self._close(bucket))
        return alerts

    # ------------------------------------------------------------ persistence
    def changes(self) -> dict[str, Any]:
        """The whole tracker as one JSON value under one key, if a batch changed it (else nothing).

        One value, not a key per series: closing a day updates every series at once, and a worker killed
        while its changelog was half written must never come back with some series past that day and the
        rest before it (issue #19: a kill -9 changed 148 of 776 surge alerts that way). A street-topic series
        is a few hundred bytes, so a district's tracker is tens of kilobytes.
        """
        if not self._changed:
            return {}
        self._changed = False
        return {"all": {
            "wm": self.watermark if math.isfinite(self.watermark) else None,
            "windows": self.windows.snapshot_meta(),
            "open": {repr(start): self.windows.snapshot_bucket(start) for start in self.windows.open_buckets()},
            "series": [[area, topic, state.to_dict(), self.episodes.get((area, topic))]
                       for (area, topic), state in self.series.items()],
            "wage": self.wage_surges,
        }}

    def restore(self, items: dict[str, Any]) -> None:
        """Rebuild from what :meth:`changes` wrote."""
        v = items.get("all")
        if not v:
            return
        self.watermark = float("-inf") if v["wm"] is None else float(v["wm"])
        self.windows.restore_meta(v["windows"])
        for start, bucket in v["open"].items():
            self.windows.restore_bucket(float(start), bucket)
        for area, topic, state, episode in v["series"]:
            self.series[(area, topic)] = SurgeState.from_dict(self.config, state)
            if episode is not None:
                self.episodes[(area, topic)] = float(episode)
        self.wage_surges = {area: [(float(a), float(b)) for a, b in recent] for area, recent in v["wage"].items()}

    def area_statistic(self, area_code: str, at: float, within_days: float = 7.0) -> float:
        """The strongest wage-complaint surge (−log10 p) in ``area_code``'s street, days closed in the week before ``at``."""
        recent = self.wage_surges.get(area_code[: self.area_digits], ())
        return max((stat for start, stat in recent if at - within_days * DAY <= start <= at), default=0.0)

    def _close(self, bucket: ClosedBucket) -> list[dict[str, Any]]:
        out = []
        for key in set(self.series) | set(bucket.counts):
            state = self.series.get(key) or SurgeState.new(self.config)
            count = bucket.count(key)
            state, result = update_surge(state, count, bucket.start)
            self.series[key] = state
            statistic = reportable(result.statistic)  # a flat baseline gives p = 0: Infinity is no JSON number
            if key[1] in WAGE_TOPICS and not math.isnan(result.statistic):
                recent = self.wage_surges.setdefault(key[0], [])
                recent.append((bucket.start, statistic))
                del recent[:-4 * len(WAGE_TOPICS) * 7]
            if not result.alarm:
                self.episodes.pop(key, None)
                continue
            start = self.episodes.setdefault(key, bucket.start)
            level, rank = _level(statistic)
            area, topic = key
            out.append({
                "alert_id": alert_id("complaint_surge", f"{area}|{topic}", iso(start)),
                "kind": "complaint_surge", "subject_id": f"{area}|{topic}", "subject_name": f"{topic} complaints in {area}",
                "area_code": area, "level": level, "level_rank": rank, "status": "open",
                "score": round(float(result.score), 6), "workers_at_risk": 0, "expected_harm": float(count or 0),
                "reasons": [{"signal": "complaint_surge", "label": f"{topic.replace('_', ' ')} complaints and petitions",
                             "contribution": round(statistic, 3),
                             "detail": f"{count} on {iso(bucket.start)[:10]} against {result.expected:.1f} expected",
                             "event_id": "", "event_time": bucket.start}],
                "episode_start": iso(start), "raised_at": iso(start), "changed_at": iso(bucket.start),
                "deadline": (datetime.fromtimestamp(bucket.end, tz=timezone.utc)
                             + timedelta(days=self.deadline_days[level])).isoformat(),
                "rules_version": RULES_VERSION,
            })
        return out
