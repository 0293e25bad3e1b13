"""Warning levels with hysteresis, and deterministic alert ids.

A level is entered when the score reaches its threshold and left only when the
score falls below threshold − hysteresis, so a score hovering at a threshold
does not flap. Level 0 is "no warning"; 1 blue, 2 yellow, 3 red.

>>> thr = (0.3, 0.5, 0.7)
>>> int(next_level(0, 0.52, thr, 0.05)), int(next_level(2, 0.47, thr, 0.05)), int(next_level(2, 0.44, thr, 0.05))
(2, 2, 1)
>>> alert_id("wage_arrears", "91350100M000100Y43", "2026-01-05T00:00:00+00:00")
'wa-91cf446efbd2db7535b1'
"""
from __future__ import annotations

import hashlib

import numpy as np

LEVEL_NAMES = ("none", "blue", "yellow", "red")

_PREFIX = {"wage_arrears": "wa", "wage_arrears_early": "we", "group_incident": "gi", "complaint_surge": "cs"}


def next_level(level: np.ndarray | int, score: np.ndarray | float,
               thresholds: tuple[float, float, float], hysteresis: float) -> np.ndarray:
    """The level after observing ``score`` when at ``level`` (vectorised; plain ints in, an int out)."""
    if isinstance(level, int) and isinstance(score, float):
        out = 0
        for k, thr in enumerate(thresholds, start=1):
            if score >= (thr - hysteresis if level >= k else thr):
                out = k
        return out
    level = np.asarray(level)
    score = np.asarray(score, dtype=float)
    out = np.zeros(np.broadcast(level, score).shape, dtype=np.int8)
    for k, thr in enumerate(thresholds, start=1):
        held = level >= k
        out = np.where(score >= np.where(held, thr - hysteresis, thr), k, out)
    return out


def alert_id(kind: str, subject: str, episode_start: str) -> str:
    """Deterministic id: kind + subject + episode start, so replays upsert, never duplicate."""
    digest = hashlib.sha256(f"{kind}|{subject}|{episode_start}".encode()).hexdigest()[:20]
    return f"{_PREFIX.get(kind, kind[:2])}-{digest}"
