"""``earlywarn detect-series``: run a surge method over a CSV of counts.

Why a file-to-file command: an analyst can check a detector on any exported
series (a hotline topic, a NAB file) without the stream running, and gets
exactly the numbers the stream would produce.

Input CSV: ``timestamp,value`` (ISO 8601 timestamps or epoch seconds; an
empty value is a missing bucket). Output CSV:
``timestamp,value,expected,anomaly_score,alarm``.

Real exports are untidy, so the series is tidied first, each step announced
as a warning: rows out of time order are sorted; rows sharing a timestamp
are summed (``--duplicates sum``, counts from several sources) or averaged
(``mean``, repeated readings); buckets missing between the first and last
timestamp (at the series' usual step) are added as *missing* rows — never as
zeros, which would read as a sudden drop. Negative values are accepted only
by the methods that do not assume counts (EARS C1-C3).

For sub-daily buckets the calibrated methods read their ``-log10 p`` against
the series' own record of surprises (:func:`detectors.surge.recalibrated`):
bursty counts such as tweets or calls would otherwise be "surprising" every
few hours on a busy series and never on a sparse one.

``--score prob`` (default) writes ``1 - p`` to 15 digits; ``--score log`` writes
``-log10 p`` at full precision, which keeps big surges apart where ``1 - p``
rounds to 1.

``--alarms`` says which buckets carry a score and an alarm. ``every``: each
bucket its own, as the published methods report them (EARS, Farrington and
NB-CUSUM match R's ``surveillance`` bucket by bucket this way). ``onset``:
only buckets that start an episode — whose statistic beats every one of the
previous day of sub-daily buckets, week of daily ones, or four weeks beyond
(:func:`detectors.surge.refractory_buckets`) — as the alert layer raises one
alert per episode; the others get score 0 and no alarm. ``auto`` (default):
``onset`` for ``combined``, the product's own method, ``every`` for the rest.
"""
from __future__ import annotations

import csv
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Callable

import numpy as np
import typer

from detectors.surge import METHODS, log10_p, onset_filter, refractory_buckets, run_method

SIGNED_METHODS = ("ears-c1", "ears-c2", "ears-c3")
"""methods whose maths does not assume counts, so negative values are allowed"""
MAX_FILLED = 10
"""gap rows added at most this many times the input rows (a stray timestamp must not make a billion rows)"""


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


def _parse_value(raw: str, line: int, signed: bool = False) -> float:
    s = raw.strip()
    if s == "" or s.lower() in ("na", "nan", "null"):
        return math.nan
    try:
        v = float(s)
    except ValueError:
        raise ValueError(f"line {line}: field 'value' is not a number: {raw!r}") from None
    if math.isinf(v):
        raise ValueError(f"line {line}: field 'value' must be finite, got {raw!r}")
    if v < 0 and not signed:
        raise ValueError(f"line {line}: field 'value' must be a count >= 0 for this method, got {raw!r} "
                         f"(negative values: {', '.join(SIGNED_METHODS)})")
    return v


def read_series(path: Path, signed: bool = False) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Raw timestamp strings, epoch seconds and values in file order; ValueError names line and field."""
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
            vals.append(_parse_value(row["value"], line, signed))
    return raw_ts, np.array(ts, dtype=float), np.array(vals, dtype=float)


def tidy_series(raw_ts: list[str], ts: np.ndarray, vals: np.ndarray, duplicates: str = "sum",
                warn: Callable[[str], None] = lambda _: None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Sorted, one row per timestamp, gaps filled as missing (see module docstring).

    >>> raw, t, v = tidy_series(["4", "1", "1", "2", "5"], np.array([4.0, 1, 1, 2, 5]),
    ...                         np.array([4.0, 1, 2, 7, 6]))
    >>> raw, v.tolist()
    (['1', '2', '3', '4', '5'], [3.0, 7.0, nan, 4.0, 6.0])
    """
    if duplicates not in ("sum", "mean"):
        raise ValueError(f"duplicates must be 'sum' or 'mean', got {duplicates!r}")
    n = len(ts)
    if n > 1 and np.any(np.diff(ts) < 0):
        warn(f"rows not in time order: {int(np.sum(np.diff(ts) < 0))} step(s) back in time; sorted")
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    raw_ts = [raw_ts[i] for i in order]
    uniq, first, counts = np.unique(ts, return_index=True, return_counts=True)
    if len(uniq) < n:
        warn(f"{n - len(uniq)} row(s) repeat an earlier timestamp; values {'summed' if duplicates == 'sum' else 'averaged'}")
        present = ~np.isnan(vals)
        group = np.repeat(np.arange(len(uniq)), counts)
        total = np.bincount(group, weights=np.where(present, vals, 0.0), minlength=len(uniq))
        k = np.bincount(group, weights=present.astype(float), minlength=len(uniq))
        with np.errstate(invalid="ignore", divide="ignore"):
            merged = total if duplicates == "sum" else total / k
        vals = np.where(k > 0, merged, np.nan)  # all copies missing: still missing
        raw_ts = [raw_ts[i] for i in first]
        ts = uniq
    if len(ts) < 3:
        return raw_ts, ts, vals
    step = float(np.median(np.diff(ts)))
    slots = np.rint((ts - ts[0]) / step).astype(np.int64)
    on_grid = np.allclose(ts, ts[0] + slots * step, atol=step * 1e-6)
    if not on_grid or slots[-1] + 1 == len(ts):
        return raw_ts, ts, vals
    if slots[-1] + 1 > MAX_FILLED * len(ts):
        raise ValueError(f"field 'timestamp': filling the gaps at the usual step of {step:g} s would make "
                         f"{slots[-1] + 1} rows from {len(ts)}; check for a stray timestamp")
    full_ts = ts[0] + np.arange(slots[-1] + 1) * step
    full_vals = np.full(len(full_ts), np.nan)
    full_vals[slots] = vals
    full_raw = [_format_like(raw_ts[0], t) for t in full_ts]
    for i, s in enumerate(slots):
        full_raw[s] = raw_ts[i]
    warn(f"{len(full_ts) - len(ts)} bucket(s) absent at the usual step of {step:g} s; written as missing, not zero")
    return full_raw, full_ts, full_vals


def _format_like(example: str, t: float) -> str:
    """A timestamp for an added row, in the style of the input's (epoch seconds or ISO 8601, UTC)."""
    s = example.strip()
    try:
        float(s)
        return f"{t:g}" if float(t).is_integer() and abs(t) < 1e15 else repr(t)
    except ValueError:
        pass
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    text = d.strftime("%Y-%m-%d" + (" " if " " in s else "T") + "%H:%M:%S")
    if "T" not in s and " " not in s and len(s) <= 10:
        text = d.strftime("%Y-%m-%d")
    elif s.endswith("Z"):
        text += "Z"
    elif len(s) > 19 and s[19] in "+-":
        text += "+00:00"
    return text


ALARMS = ("auto", "onset", "every")
ONSET_BY_DEFAULT = ("combined",)
"""methods whose ``auto`` is ``onset``: the product's own; the published ones are reported bucket by bucket"""


def detect_series(input: Path, output: Path, method: str = "combined", score: str = "prob",
                  duplicates: str = "sum", warn: Callable[[str], None] = lambda _: None,
                  alarms: str = "auto") -> int:
    """Score every row of ``input`` with ``method``; return the number of alarms."""
    if method.lower() not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if score not in ("prob", "log"):
        raise ValueError(f"score must be 'prob' or 'log', got {score!r}")
    if alarms not in ALARMS:
        raise ValueError(f"alarms must be one of {', '.join(ALARMS)}, got {alarms!r}")
    raw_ts, ts, vals = read_series(Path(input), signed=method.lower() in SIGNED_METHODS)
    raw_ts, ts, vals = tidy_series(raw_ts, ts, vals, duplicates, warn)
    res = run_method(method, vals, ts if len(ts) > 1 else None)
    stat = log10_p(method, res)
    prob = np.nan_to_num(np.clip(np.asarray(res.score, dtype=float), 0.0, 1.0), nan=0.0)
    alarm = np.asarray(res.alarm, dtype=bool)
    if alarms == "onset" or (alarms == "auto" and method.lower() in ONSET_BY_DEFAULT):
        step = float(np.median(np.diff(ts))) if len(ts) > 1 else None
        onset = np.isfinite(onset_filter(stat, refractory_buckets(step)))
        stat = np.where(onset, stat, np.where(np.isnan(stat), np.nan, 0.0))
        prob, alarm = np.where(onset, prob, 0.0), alarm & onset
    if score == "log":
        out_score = [f"{v:.17g}" if math.isfinite(v) else ("" if math.isnan(v) else "inf")
                     for v in np.maximum(stat, 0.0)]
    else:
        out_score = [f"{v:.15g}" for v in prob]   # 15 digits: 1 - p ties at 1 only below p = 1e-15
    with Path(output).open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value", "expected", "anomaly_score", "alarm"])
        for i, t in enumerate(raw_ts):
            v = "" if math.isnan(vals[i]) else f"{vals[i]:g}"
            e = "" if math.isnan(res.expected[i]) else f"{res.expected[i]:.6g}"
            w.writerow([t, v, e, out_score[i], int(bool(alarm[i]))])
    return int(np.sum(alarm))


def detect_series_command(
    input: Annotated[Path, typer.Option("--input", help="CSV with timestamp,value")],
    output: Annotated[Path, typer.Option("--output", help="CSV to write")],
    method: Annotated[str, typer.Option("--method", help=", ".join(METHODS))] = "combined",
    score: Annotated[str, typer.Option("--score", help="prob: 1 - p; log: -log10 p (no ties)")] = "prob",
    duplicates: Annotated[str, typer.Option("--duplicates", help="rows sharing a timestamp: sum or mean")] = "sum",
    alarms: Annotated[str, typer.Option("--alarms", help="every: each bucket; onset: episode starts only; auto: "
                                        "onset for combined, every for the published methods")] = "auto",
) -> None:
    """Typer command: ``app.command("detect-series")(detect_series_command)``."""
    try:
        n = detect_series(input, output, method, score, duplicates,
                          warn=lambda msg: typer.echo(f"warning: {msg}", err=True), alarms=alarms)
    except (ValueError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{n} alarm(s) written to {output}")
