"""One enterprise's compact state, how an instant's evidence folds into it, and the level decision per list.

The stream agent and the backtest both go through :class:`detectors.engine.WageArrearsEngine`,
which calls :func:`absorb` with the evidence of one instant and :func:`decide` with the
score of each alert list, so they raise the same alerts. Time is an argument (epoch
seconds of event time); nothing here reads the clock.

>>> from detectors.evidence import Evidence
>>> p = EvidenceParams(half_lives=np.array([30.0]), combine_max=np.array([False]), caps=np.array([3.0]),
...                    labels=("complaints",), signals=("complaints",))
>>> s = EnterpriseState.new(1)
>>> absorb(s, 0.0, [(Evidence("complaints", 1.0, "wage complaint"), "e1")], p).tolist()
[1.0]
>>> ls = ListState()
>>> decide(ls, 0.0, 0.52, (0.3, 0.5, 0.7), 0.05)
Decision(level=2, announce=True, closed=False, episode_start=0.0)
>>> decide(ls, 3600.0, 0.46, (0.3, 0.5, 0.7), 0.05).level, decide(ls, 7200.0, 0.1, (0.3, 0.5, 0.7), 0.05).closed
(2, True)
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from detectors.decay import EvidenceParams, apply_evidence, decay
from detectors.evidence import Evidence
from detectors.features import SIGNAL_OF, History
from detectors.levels import next_level
from detectors.named_surge import NamedSurge

DAY = 86400.0


@dataclass
class ListState:
    """Where an enterprise stands on one alert list: its level, the level announced, the open episode."""

    level: int = 0
    announced: int = 0
    episode_start: float | None = None

    def to_list(self) -> list[Any]:
        return [self.level, self.announced, self.episode_start]


@dataclass
class EnterpriseState:
    """Everything the scorer keeps for one enterprise (a few hundred bytes)."""

    evidence: np.ndarray
    t: float | None = None
    industry: str | None = None
    area_code: str | None = None
    employees: int = 0
    name: str = ""
    lists: dict[str, ListState] = field(default_factory=dict)
    recent_ids: deque[str] = field(default_factory=lambda: deque(maxlen=256))
    behind: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    """signal → (event id, plain words, event time) of the latest event behind it."""
    named: NamedSurge | None = None
    """weekly wage complaints naming the enterprise; None until it is first named (most never are)"""
    published: tuple[float, str, float, str] | None = None
    """(score, level, early score, early level) last put on the risk-score feed; only material changes go out"""
    history: History = field(default_factory=History.new)
    late: list[tuple[int, str, str]] = field(default_factory=list)
    """(local day, kind, industry key) of its late reports counted in the industry context, the last
    CONTEXT_DAYS: the context is the sum of these over firms, so a restarted worker rebuilds it from the
    states and can never count a report the states do not (issue #19)"""

    @classmethod
    def new(cls, n_signals: int, dedup: int = 256) -> "EnterpriseState":
        return cls(evidence=np.zeros(n_signals), recent_ids=deque(maxlen=dedup))

    def on(self, name: str) -> ListState:
        """This enterprise's standing on alert list ``name``."""
        ls = self.lists.get(name)
        if ls is None:
            ls = self.lists[name] = ListState()
        return ls

    def seen(self, event_id: str) -> bool:
        """True if this event id was already counted (then it must be skipped)."""
        if event_id in self.recent_ids:
            return True
        self.recent_ids.append(event_id)
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"e": [round(float(x), 6) for x in self.evidence], "t": self.t, "ind": self.industry,
                "area": self.area_code, "emp": self.employees, "name": self.name,
                "lists": {k: v.to_list() for k, v in self.lists.items() if v.level or v.announced},
                "ids": list(self.recent_ids),
                "why": {k: list(v) for k, v in self.behind.items()}, "h": self.history.to_dict(),
                **({"cs": self.named.to_dict()} if self.named else {}),
                **({"pub": list(self.published)} if self.published else {}),
                **({"late": [list(x) for x in self.late]} if self.late else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any], dedup: int = 256) -> "EnterpriseState":
        return cls(evidence=np.asarray(d["e"], dtype=float), t=d.get("t"), industry=d.get("ind"),
                   area_code=d.get("area"), employees=int(d.get("emp", 0)), name=d.get("name", ""),
                   lists={k: ListState(int(v[0]), int(v[1]), v[2]) for k, v in d.get("lists", {}).items()},
                   recent_ids=deque(d.get("ids", []), maxlen=dedup),
                   behind={k: (v[0], v[1], float(v[2])) for k, v in d.get("why", {}).items()},
                   named=NamedSurge.from_dict(d["cs"]) if "cs" in d else None,
                   published=(float(d["pub"][0]), str(d["pub"][1]), float(d["pub"][2]), str(d["pub"][3]))
                   if "pub" in d and len(d["pub"]) == 4 else None,
                   history=History.from_dict(d["h"]) if "h" in d else History.new(),
                   late=[(int(a), str(b), str(c)) for a, b, c in d.get("late", [])])


@lru_cache(maxsize=8)
def _signal_index(signals: tuple[str, ...]) -> dict[str, int]:
    return {s: i for i, s in enumerate(signals)}


def absorb(state: EnterpriseState, t: float, items: list[tuple[Evidence, str]], p: EvidenceParams) -> np.ndarray:
    """Decay the evidence to the state's time (or ``t`` if later), add this instant's; the evidence now.

    Evidence older than the state (a late event) is aged to the state's time
    rather than rewinding it.
    """
    if state.t is None:
        state.t = t
    now = max(t, state.t)
    state.evidence = decay(state.evidence, (now - state.t) / DAY, p)
    if items:
        index = _signal_index(p.signals)
        sig = np.array([index[e.signal] for e, _ in items])
        age = max(0.0, (now - t) / DAY)
        strength = np.array([e.strength for e, _ in items]) * np.exp2(-age / p.half_lives[sig])
        state.evidence = apply_evidence(state.evidence, sig, strength, p)
        for (e, event_id), s in zip(items, strength):
            prior = state.behind.get(e.signal)
            if prior is None or s >= 0.5 * e.strength or prior[2] <= t:
                state.behind[e.signal] = (event_id, e.text, t)
    state.t = now
    return state.evidence


@dataclass(frozen=True)
class Decision:
    level: int
    announce: bool
    """True when an alert opens or escalates: only then is it (re)announced."""
    closed: bool
    """True when the score fell back below every level: the episode ends."""
    episode_start: float | None


def decide(ls: ListState, t: float, score: float, thresholds: tuple[float, float, float],
           hysteresis: float) -> Decision:
    """The level after ``score`` at instant ``t``; an episode starts at the instant that crossed.

    So its alert id does not depend on whether a newer event of another class
    (another topic, consumed in parallel) was processed first.
    """
    new_level = int(next_level(ls.level, float(score), thresholds, hysteresis))
    announce = closed = False
    if new_level > 0 and ls.level == 0:
        ls.episode_start = t
    if new_level > ls.announced:
        announce = True
        ls.announced = new_level
    if new_level == 0 and ls.level > 0:
        closed = True
        ls.announced = 0
    episode = ls.episode_start
    if closed:
        ls.episode_start = None
    ls.level = new_level
    return Decision(new_level, announce, closed, episode)


NON_EVENT_REASONS = {
    "breadth": "several kinds of signal at once",
    "industry": "its industry pays on time these weeks, so its own lateness stands out",
    "profile": "industry and size",
}


def reasons(contributions: np.ndarray, features: tuple[str, ...], behind: dict[str, tuple[str, str, float]],
            labels: dict[str, str], top: int = 3) -> list[dict[str, Any]]:
    """The channels that raised the score most, in plain words, with the event behind each.

    A model's per-feature contributions (log-odds) are summed per channel: the
    recent evidence, the habit counters and the latest report of social
    insurance are one reason ("social insurance"), with the latest event behind it.
    """
    by_channel: dict[str, float] = {}
    for name, c in zip(features, contributions.tolist()):
        if np.isfinite(c):
            ch = SIGNAL_OF[name]
            by_channel[ch] = by_channel.get(ch, 0.0) + c
    out = []
    for ch, c in sorted(by_channel.items(), key=lambda kv: -kv[1])[:top]:
        if c <= 0:
            break
        event_id, text, at = behind.get(ch, ("", NON_EVENT_REASONS.get(ch, ""), 0.0))
        out.append({"signal": ch, "label": labels.get(ch, NON_EVENT_REASONS.get(ch, ch)),
                    "contribution": round(float(c), 3), "detail": text, "event_id": event_id, "event_time": at})
    return out
