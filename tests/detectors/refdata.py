"""Loaders for the shared reference data (R `surveillance` outputs).

The data live beside the project in ``../shared/data``; tests skip with a
clear message when the folder is absent.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
SURV = DATA / "surveillance"


def _column(name: str, column: str) -> np.ndarray:
    path = SURV / name
    if not path.exists():
        pytest.skip(f"reference data not found: {path.resolve()} (shared data folder absent)")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r[column]) for r in rows])


def salmonella() -> tuple[np.ndarray, int]:
    """History + monitored counts as one series, and the index where monitoring starts."""
    train = _column("salmonella_train.csv", "n_cases")
    test = _column("salmonella_test.csv", "n_cases")
    return np.concatenate([train, test]), len(train)


def reference_alarms(method: str) -> np.ndarray:
    """The 0/1 alarm column R produced on the monitored range."""
    return _column(f"{method}_pred.csv", "alarm").astype(int)


def outbreak_flags() -> np.ndarray:
    path = SURV / "salmonella_test.csv"
    if not path.exists():
        pytest.skip(f"reference data not found: {path.resolve()}")
    with path.open(newline="") as f:
        return np.array([r["outbreak"] == "True" for r in csv.DictReader(f)])
