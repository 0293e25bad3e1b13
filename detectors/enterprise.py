"""One enterprise's compact state and the step that updates it.

The stream agent and the backtest both call :func:`step` with the events of
one instant, so they raise the same alerts. Time is an argument (epoch
seconds of event time); nothing here reads the clock.

>>> from detectors.evidence import Evidence
>>> p = ScoreParams(weights=np.array([2.0]), half_lives=np.array([30.0]), combine_max=np.array([False]),
...                 caps=np.array([3.0]), intercept=-3.0, labels=("complaints",), signals=("complaints",))
>>> s = EnterpriseState.new(1)
>>> s, out = step(s, 0.0, [(Evidence("complaints", 1.0, "wage complaint"), "e1")], p, (0.3, 0.5, 0.7), 0.05)
>>> round(out.score, 3), out.level, out.announce
(0.269, 0, False)
>>> s, out = step(s, 3600.0, [(Evidence("complaints", 1.0, "wage complaint"), "e2")], p, (0.3, 0.5, 0.7), 0.05)
>>> out.level, out.announce, out.episode_start
(3, True, 3600.0)
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.evidence import Evidence
from detectors.levels import next_level
from detectors.named_surge import NamedSurge
from detectors.wage_score import ScoreParams, apply_evidence, contributions, decay, probability

DAY = 86400.0


@dataclass
class EnterpriseState:
    """Everything the scorer keeps for one enterprise (a few hundred bytes)."""

    evidence: np.ndarray
    t: float | None = None
    industry: str | None = None
    area_code: str | None = None
    employees: int = 0
    name: str = ""
    level: int = 0
    announced: int = 0
    episode_start: float | None = None
    recent_ids: deque[str] = field(default_factory=lambda: deque(maxlen=256))
    behind: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    """signal → (event id, plain words, event time) of the latest event behind it."""
    named: NamedSurge | None = None
    """weekly wage complaints naming the enterprise; None until it is first named (most never are)"""
    published: tuple[float, str] | None = None
    """(score, level) last put on the risk-score feed; the stream publishes only material changes"""

    @classmethod
    def new(cls, n_signals: int, dedup: int = 256) -> "EnterpriseState":
        return cls(evidence=np.zeros(n_signals), recent_ids=deque(maxlen=dedup))

    def seen(self, event_id: str) -> bool:
        """True if this event id was already counted (then it must be skipped)."""
        if event_id in self.recent_ids:
            return True
        self.recent_ids.append(event_id)
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"e": [round(float(x), 6) for x in self.evidence], "t": self.t, "ind": self.industry,
                "area": self.area_code, "emp": self.employees, "name": self.name, "lvl": self.level,
                "ann": self.announced, "ep": self.episode_start, "ids": list(self.recent_ids),
                "why": {k: list(v) for k, v in self.behind.items()},
                **({"cs": self.named.to_dict()} if self.named else {}),
                **({"pub": list(self.published)} if self.published else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any], dedup: int = 256) -> "EnterpriseState":
        return cls(evidence=np.asarray(d["e"], dtype=float), t=d.get("t"), industry=d.get("ind"),
                   area_code=d.get("area"), employees=int(d.get("emp", 0)), name=d.get("name", ""),
                   level=int(d.get("lvl", 0)), announced=int(d.get("ann", 0)), episode_start=d.get("ep"),
                   recent_ids=deque(d.get("ids", []), maxlen=dedup),
                   behind={k: (v[0], v[1], float(v[2])) for k, v in d.get("why", {}).items()},
                   named=NamedSurge.from_dict(d["cs"]) if "cs" in d else None,
                   published=(float(d["pub"][0]), str(d["pub"][1])) if "pub" in d else None)


@dataclass(frozen=True)
class StepResult:
    score: float
    level: int
    announce: bool
    """True when an alert opens or escalates: only then is it (re)announced."""
    closed: bool
    """True when the score fell back below every level: the episode ends."""
    episode_start: float | None
    contributions: np.ndarray


def step(state: EnterpriseState, t: float, items: list[tuple[Evidence, str]], p: ScoreParams,
         thresholds: tuple[float, float, float], hysteresis: float) -> tuple[EnterpriseState, StepResult]:
    """Decay to ``t``, add the evidence of this instant, rescore, decide the level.

    Evidence older than the state (a late event) is aged to the state's time
    rather than rewinding it. An episode starts at the time of the instant
    that crossed, so its alert id does not depend on whether a newer event of
    another class (another topic, consumed in parallel) was processed first.
    """
    if state.t is None:
        state.t = t
    now = max(t, state.t)
    state.evidence = decay(state.evidence, (now - state.t) / DAY, p)
    if items:
        index = {s: i for i, s in enumerate(p.signals)}
        sig = np.array([index[e.signal] for e, _ in items])
        age = max(0.0, (now - t) / DAY)
        strength = np.array([e.strength for e, _ in items]) * np.exp2(-age / p.half_lives[sig])
        state.evidence = apply_evidence(state.evidence, sig, strength, p)
        for (e, event_id), s in zip(items, strength):
            prior = state.behind.get(e.signal)
            if prior is None or s >= 0.5 * e.strength or prior[2] <= t:
                state.behind[e.signal] = (event_id, e.text, t)
    state.t = now
    score = float(probability(state.evidence, p.prior(state.industry), p))
    new_level = int(next_level(state.level, score, thresholds, hysteresis))
    announce = closed = False
    if new_level > 0 and state.level == 0:
        state.episode_start = t  # the instant whose evidence crossed, even if newer events came first
    if new_level > state.announced:
        announce = True
        state.announced = new_level
    if new_level == 0 and state.level > 0:
        closed = True
        state.announced = 0
    episode = state.episode_start
    if closed:
        state.episode_start = None
    state.level = new_level
    return state, StepResult(score, new_level, announce, closed, episode, contributions(state.evidence, p))


def reasons(state: EnterpriseState, contrib: np.ndarray, p: ScoreParams, top: int = 3) -> list[dict[str, Any]]:
    """The top channels by contribution, in plain words, with the event behind each."""
    order = np.argsort(-contrib)
    out = []
    for i in order[:top]:
        if contrib[i] <= 0:
            break
        sig = p.signals[i]
        event_id, text, at = state.behind.get(sig, ("", "", 0.0))
        out.append({"signal": sig, "label": p.labels[i], "contribution": round(float(contrib[i]), 3),
                    "detail": text, "event_id": event_id, "event_time": at})
    return out
