"""Levels and episodes of a whole batch of scored instants at once: the compiled form of :func:`decide`.

Why: the engine decides each instant on the inspect-now list, then on the
early-warning list (forced to 0 while the firm is on inspect-now), in time
order per enterprise. Per instant in Python that is two calls, two
dataclasses and a dict lookup; here it is one loop over arrays. The
arithmetic is the reference's (``score >= thr - hysteresis`` on float64),
so the levels, announcements and episode starts are the same bit for bit
(tests/detectors/test_compiled_kernels.py).

>>> import numpy as np
>>> thr = np.array([[0.3, 0.5, 0.7], [0.3, 0.5, 0.7]]); hyst = np.array([0.05, 0.05])
>>> lvl, ann, ep = np.zeros((1, 2), np.int64), np.zeros((1, 2), np.int64), np.full((1, 2), np.nan)
>>> out = decide_batch(np.array([0, 0, 0]), np.array([0.0, 1.0, 2.0]), np.array([[0.52, 0.0], [0.46, 0.0],
...                    [0.1, 0.4]]), thr, hyst, lvl, ann, ep)
>>> out[0][:, 0].tolist(), out[1][:, 0].tolist(), out[2][:, 0].tolist(), out[0][:, 1].tolist()
([2, 2, 0], [True, False, False], [False, False, True], [0, 0, 1])
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def decide_batch(enterprise: np.ndarray, t: np.ndarray, scores: np.ndarray, thresholds: np.ndarray,
                 hysteresis: np.ndarray, level: np.ndarray, announced: np.ndarray, episode: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover (compiled)
    """Decide every instant of a batch, in order, on each list (column 0 first, it gates column 1).

    ``enterprise`` is each instant's row in the per-enterprise arrays ``level``, ``announced`` and
    ``episode`` (start time, NaN for none), which are updated in place; ``scores`` (instants × lists)
    has list 1's score set to 0 where list 0's level is above 0, as the reference does. Returns per
    instant and list: level, announce, closed, and the episode start the decision belongs to (NaN: none).
    """
    n, m = scores.shape
    out_level = np.zeros((n, m), np.int64)
    out_announce = np.zeros((n, m), np.bool_)
    out_closed = np.zeros((n, m), np.bool_)
    out_episode = np.full((n, m), np.nan)
    for k in range(n):
        e = enterprise[k]
        for j in range(m):
            if j > 0 and out_level[k, 0] > 0:
                scores[k, j] = 0.0
            score = scores[k, j]
            old = level[e, j]
            new = 0
            for i in range(thresholds.shape[1]):
                thr = thresholds[j, i]
                if score >= (thr - hysteresis[j] if old >= i + 1 else thr):
                    new = i + 1
            if new > 0 and old == 0:
                episode[e, j] = t[k]
            if new > announced[e, j]:
                out_announce[k, j] = True
                announced[e, j] = new
            if new == 0 and old > 0:
                out_closed[k, j] = True
                announced[e, j] = 0
            out_episode[k, j] = episode[e, j]
            if out_closed[k, j]:
                episode[e, j] = np.nan
            level[e, j] = new
            out_level[k, j] = new
    return out_level, out_announce, out_closed, out_episode
