"""Scoring models over feature rows: a logistic and a boosted-tree ensemble, one small protocol.

Why two: the logistic is transparent (a weight per feature) and hard to
overfit; trees find the interactions that tell a habit from a change (a late
month matters when the firm has none behind it). ``earlywarn fit`` fits
either and the backtest on another world decides which earns its place.

Both give raw log-odds for many rows at once (``raw``; the trees' walk is
compiled with numba, several times the numpy form) and, for the one row
of an alert, what each feature contributed (``contributions``): for the
logistic w·x, for the trees the change in node value along the row's path,
credited to the feature split on (Saabas), so the contributions add up to the
raw log-odds minus the model's base value. Trees are evaluated with numpy
alone: the fitted ensemble is exported to flat arrays, no scikit-learn at run
time.

>>> lg = Logistic(intercept=-2.0, weights=np.array([1.0, 0.5]))
>>> lg.raw(np.array([[1.0, 2.0]])).tolist(), lg.contributions(np.array([1.0, 2.0])).tolist()
([0.0], [1.0, 1.0])
>>> one = TreeEnsemble(feature=np.array([0, -1, -1]), threshold=np.array([0.5, 0.0, 0.0]),
...                    left=np.array([1, -1, -1]), right=np.array([2, -1, -1]),
...                    value=np.array([0.0, -1.0, 1.0]), count=np.array([4.0, 2.0, 2.0]),
...                    roots=np.array([0]), base=-3.0)
>>> one.raw(np.array([[0.0], [1.0]])).tolist()
[-4.0, -2.0]
>>> one.contributions(np.array([1.0])).tolist(), one.expected
([1.0], -3.0)
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numba import njit


class Model(Protocol):
    @property
    def expected(self) -> float:
        """The raw log-odds the contributions are measured from."""
        ...

    def raw(self, X: np.ndarray) -> np.ndarray: ...

    def contributions(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Logistic:
    intercept: float
    weights: np.ndarray

    @property
    def expected(self) -> float:
        return self.intercept

    def raw(self, X: np.ndarray) -> np.ndarray:
        return self.intercept + np.asarray(X, dtype=float) @ self.weights

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=float) * self.weights


@dataclass(frozen=True)
class TreeEnsemble:
    """Regression trees over the features, summed in log-odds; nodes of all trees in flat arrays.

    ``feature`` is -1 at a leaf; a row goes left when ``x[feature] <= threshold``.
    ``value`` at an inner node is the count-weighted mean of its leaves, so a
    path's value changes add up to the leaf's value minus the root's.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    count: np.ndarray
    roots: np.ndarray
    base: float

    @property
    def expected(self) -> float:
        """The raw log-odds of a row about which nothing is known: base plus every root's value."""
        return float(self.base + self.value[self.roots].sum())

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """(rows, trees) index of the leaf each row reaches in each tree.

        All (row, tree) walks advance together, one level per step; walks that
        reached a leaf drop out, so the deep levels cost only the deep paths.
        """
        X = np.ascontiguousarray(X, dtype=float)
        n, t = len(X), len(self.roots)
        out = np.broadcast_to(self.roots, (n, t)).ravel().copy()
        active = np.arange(n * t)
        node = out.copy()
        flat = X.ravel()
        width = X.shape[1]
        row = active // t
        while len(active):
            f = self.feature[node]
            inner = f >= 0
            out[active[~inner]] = node[~inner]
            active, node, row, f = active[inner], node[inner], row[inner], f[inner]
            if not len(active):
                break
            go_left = flat[row * width + f] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        return out.reshape(n, t)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """Raw log-odds of every row (a compiled walk; :meth:`leaves` is the numpy form it is tested against)."""
        if len(X) == 0:
            return np.zeros(0)
        return _walk(np.ascontiguousarray(X, dtype=np.float64), self.feature, self.threshold, self.left,
                     self.right, self.value, self.roots, self.base)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        out = np.zeros(len(x))
        node = self.roots.copy()
        while len(node):
            f = self.feature[node]
            inner = f >= 0
            node, f = node[inner], f[inner]
            child = np.where(x[f] <= self.threshold[node], self.left[node], self.right[node])
            np.add.at(out, f, self.value[child] - self.value[node])
            node = child
        return out

    def to_blob(self) -> str:
        """The ensemble as base64 of a compressed npz (what a rule file carries)."""
        buf = io.BytesIO()
        np.savez_compressed(buf, feature=self.feature.astype(np.int16), threshold=self.threshold,
                            left=self.left.astype(np.int32), right=self.right.astype(np.int32),
                            value=self.value, count=self.count.astype(np.float32),
                            roots=self.roots.astype(np.int32), base=np.array([self.base]))
        return base64.b64encode(buf.getvalue()).decode("ascii")

    @classmethod
    def from_blob(cls, blob: str, n_features: int) -> "TreeEnsemble":
        """Read :meth:`to_blob`'s form back, checking that every index stays inside the arrays."""
        with np.load(io.BytesIO(base64.b64decode(blob, validate=True)), allow_pickle=False) as z:
            arrays: dict[str, Any] = {k: z[k] for k in z.files}
        n = len(arrays["feature"])
        feature = arrays["feature"].astype(np.int64)
        left, right, roots = (arrays[k].astype(np.int64) for k in ("left", "right", "roots"))
        inner = feature >= 0
        if (feature >= n_features).any() or (feature < -1).any():
            raise ValueError(f"a split names a feature outside the {n_features} the engine computes")
        if ((left[inner] <= np.flatnonzero(inner)) | (left[inner] >= n)).any() or \
                ((right[inner] <= np.flatnonzero(inner)) | (right[inner] >= n)).any():
            raise ValueError("a tree's child index points backwards or outside the node arrays (not a tree)")
        if ((roots < 0) | (roots >= n)).any():
            raise ValueError("a tree root lies outside the node arrays")
        for k in ("threshold", "value", "count", "base"):
            if not np.isfinite(arrays[k]).all():
                raise ValueError(f"non-finite {k} in the tree ensemble")
        return cls(feature=feature, threshold=arrays["threshold"].astype(float), left=left, right=right,
                   value=arrays["value"].astype(float), count=arrays["count"].astype(float), roots=roots,
                   base=float(arrays["base"][0]))


@njit(cache=True, nogil=True)
def _walk(X: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
          value: np.ndarray, roots: np.ndarray, base: float) -> np.ndarray:  # pragma: no cover (compiled)
    out = np.full(X.shape[0], base)
    for i in range(X.shape[0]):
        total = 0.0
        for root in roots:
            node = root
            while feature[node] >= 0:
                node = left[node] if X[i, feature[node]] <= threshold[node] else right[node]
            total += value[node]
        out[i] += total
    return out


def calibrated(raw: np.ndarray, knots: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
    """Probability from raw log-odds: the isotonic map when there is one, else the logistic."""
    raw = np.asarray(raw, dtype=float)
    if knots is None:
        return 1.0 / (1.0 + np.exp(-np.clip(raw, -50.0, 50.0)))
    return np.interp(raw, *knots)
