"""The one protocol every detector follows.

A detector is a pure function of (state, observation, time) → (new state,
result). Time always comes in as an argument; nothing here reads the clock.
Each method family also offers a batch form over numpy arrays that runs the
same maths, so the stream and the backtest share one code path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

S = TypeVar("S")


@dataclass(frozen=True)
class Result:
    """What a detector says about one observation.

    ``score`` is in [0, 1] (higher = more anomalous / more risk), ``alarm`` is
    the decision at the configured threshold, ``expected`` is what the
    observation was compared against (shown to users), ``reasons`` are plain
    words an inspector can read.
    """

    score: float
    alarm: bool
    expected: float
    statistic: float = float("nan")
    reasons: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SeriesResult:
    """Batch form of :class:`Result` over a whole series (numpy arrays)."""

    expected: np.ndarray
    score: np.ndarray
    alarm: np.ndarray
    statistic: np.ndarray

    def __len__(self) -> int:
        return len(self.score)


class StreamingDetector(Protocol[S]):
    """State in, observation in → new state and a :class:`Result`."""

    def initial_state(self) -> S: ...

    def update(self, state: S, value: float, at: float) -> tuple[S, Result]: ...
