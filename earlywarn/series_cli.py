"""``earlywarn detect-series``: run a surge method over a CSV of counts.

Why a file-to-file command: an analyst can check a detector on any exported
series (a hotline topic, a NAB file) without the stream running, and gets
exactly the numbers the stream would produce.

Input CSV: ``timestamp,value`` (ISO 8601 timestamps or epoch seconds; an
empty value is a missing bucket). Output CSV:
``timestamp,value,expected,anomaly_score,alarm``.
"""
from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from detectors.surge import METHODS, run_method


def _parse_timestamp(raw: str, line: int) -> float:
    s = raw.strip()
    try:
        return float(s)
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"line {line}: field 'timestamp' is not a time: {raw!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.timestamp()


def _parse_value(raw: str, line: int) -> float:
    s = raw.strip()
    if s == "" or s.lower() in ("na", "nan", "null"):
        return math.nan
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"line {line}: field 'value' is not a number: {raw!r}") from None
    if math.isinf(v) or v < 0:
        raise ValueError(f"line {line}: field 'value' must be a finite count >= 0, got {raw!r}")
    return v


def read_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Raw timestamp strings, epoch seconds and values; ValueError names line and field."""
    with Path(path).open(newline="") as f:
        reader = csv.DictReader(f)
        fields = [c.strip() for c in (reader.fieldnames or [])]
        for need in ("timestamp", "value"):
            if need not in fields:
                raise ValueError(f"{path}: missing column {need!r} (header is {fields})")
        raw_ts, ts, vals = [], [], []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v if v is not None else "") for k, v in row.items()}
            raw_ts.append(row["timestamp"])
            ts.append(_parse_timestamp(row["timestamp"], line))
            vals.append(_parse_value(row["value"], line))
    t = np.array(ts)
    if len(t) > 1 and np.any(np.diff(t) <= 0):
        bad = int(np.nonzero(np.diff(t) <= 0)[0][0]) + 3
        raise ValueError(f"line {bad}: field 'timestamp' is not after the previous row")
    return raw_ts, t, np.array(vals)


def detect_series(input: Path, output: Path, method: str = "combined") -> int:
    """Score every row of ``input`` with ``method``; return the number of alarms."""
    if method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    raw_ts, ts, vals = read_series(Path(input))
    res = run_method(method, vals, ts if len(ts) > 1 else None)
    score = np.nan_to_num(np.clip(res.score, 0.0, 1.0), nan=0.0)
    with Path(output).open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value", "expected", "anomaly_score", "alarm"])
        for i, t in enumerate(raw_ts):
            v = "" if math.isnan(vals[i]) else f"{vals[i]:g}"
            e = "" if math.isnan(res.expected[i]) else f"{res.expected[i]:.6g}"
            w.writerow([t, v, e, f"{score[i]:.6f}", int(bool(res.alarm[i]))])
    return int(np.sum(res.alarm))


def detect_series_command(
    input: Annotated[Path, typer.Option("--input", help="CSV with timestamp,value")],
    output: Annotated[Path, typer.Option("--output", help="CSV to write")],
    method: Annotated[str, typer.Option("--method", help=", ".join(METHODS))] = "combined",
) -> None:
    """Typer command: ``app.command("detect-series")(detect_series_command)``."""
    try:
        n = detect_series(input, output, method)
    except (ValueError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{n} alarm(s) written to {output}")
