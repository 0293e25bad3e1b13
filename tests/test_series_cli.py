"""earlywarn detect-series: file in, scored file out, clear errors."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from earlywarn.series_cli import detect_series, detect_series_command


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _series(tmp_path: Path, values: list[str]) -> Path:
    rows = ["timestamp,value"] + [f"2024-03-{d + 1:02d}T00:00:00,{v}" for d, v in enumerate(values)]
    return _write(tmp_path / "in.csv", "\n".join(rows) + "\n")


@pytest.mark.parametrize("method", ["ears-c1", "ears-c2", "ears-c3", "nb-cusum", "combined", "farrington"])
def test_writes_scored_rows(tmp_path: Path, method: str) -> None:
    vals = ["3", "4", "2", "3", "5", "3", "4", "3", "2", "4", "3", "4", "3", "40", "3"]
    src = _series(tmp_path, vals)
    out = tmp_path / "out.csv"
    n = detect_series(src, out, method)
    rows = list(csv.DictReader(out.open()))
    assert [r["value"] for r in rows] == vals
    assert list(rows[0]) == ["timestamp", "value", "expected", "anomaly_score", "alarm"]
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)
    assert sum(int(r["alarm"]) for r in rows) == n
    if method in ("ears-c1", "ears-c2", "combined"):
        assert rows[13]["alarm"] == "1"


def test_missing_value_is_kept_missing(tmp_path: Path) -> None:
    src = _series(tmp_path, ["3", "4", "", "3", "5", "3", "4", "3", "2", "4"])
    out = tmp_path / "out.csv"
    detect_series(src, out, "ears-c1")
    rows = list(csv.DictReader(out.open()))
    assert rows[2]["value"] == "" and rows[2]["alarm"] == "0"


def test_unknown_method(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        detect_series(_series(tmp_path, ["1", "2"]), tmp_path / "o.csv", "magic")


def test_missing_column(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", "timestamp,count\n2024-01-01,3\n")
    with pytest.raises(ValueError, match="missing column 'value'"):
        detect_series(src, tmp_path / "o.csv")


def test_non_numeric_value_names_line_and_field(tmp_path: Path) -> None:
    src = _series(tmp_path, ["3", "4", "many", "3"])
    with pytest.raises(ValueError, match=r"line 4: field 'value' is not a number: 'many'"):
        detect_series(src, tmp_path / "o.csv")


def test_bad_timestamp_names_line(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", "timestamp,value\n2024-01-01,3\nyesterday,4\n")
    with pytest.raises(ValueError, match=r"line 3: field 'timestamp'"):
        detect_series(src, tmp_path / "o.csv")


def test_typer_command(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("detect-series")(detect_series_command)
    app.command("noop")(lambda: None)
    src = _series(tmp_path, ["3", "4", "2", "3", "5", "3", "4", "30"])
    out = tmp_path / "o.csv"
    res = CliRunner().invoke(app, ["detect-series", "--input", str(src), "--output", str(out),
                                   "--method", "ears-c1"])
    assert res.exit_code == 0, res.output
    assert "1 alarm(s)" in res.output
    bad = CliRunner().invoke(app, ["detect-series", "--input", str(src), "--output", str(out),
                                   "--method", "nope"])
    assert bad.exit_code == 2


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


def test_repeated_timestamps_are_summed_or_averaged_with_a_warning(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", "timestamp,value\n" + "".join(
        f"2024-03-{d:02d}T00:00:00,{v}\n" for d, v in [(1, 3), (2, 4), (2, 6), (3, 5), (4, 2), (5, 3), (6, 4)]))
    warnings: list[str] = []
    detect_series(src, tmp_path / "sum.csv", "ears-c1", warn=warnings.append)
    detect_series(src, tmp_path / "mean.csv", "ears-c1", duplicates="mean")
    assert [r["value"] for r in _rows(tmp_path / "sum.csv")] == ["3", "10", "5", "2", "3", "4"]
    assert [r["value"] for r in _rows(tmp_path / "mean.csv")] == ["3", "5", "5", "2", "3", "4"]
    assert any("repeat" in w for w in warnings)


def test_unsorted_rows_are_sorted_with_a_warning(tmp_path: Path) -> None:
    days = [3, 1, 2, 5, 4, 6, 7, 8, 9, 10]
    src = _write(tmp_path / "in.csv", "timestamp,value\n" + "".join(f"2024-03-{d:02d}T00:00:00,{d}\n" for d in days))
    warnings: list[str] = []
    detect_series(src, tmp_path / "o.csv", "combined", warn=warnings.append)
    assert [r["value"] for r in _rows(tmp_path / "o.csv")] == [str(d) for d in range(1, 11)]
    assert any("time order" in w for w in warnings)


def test_gaps_are_written_as_missing_never_as_zero(tmp_path: Path) -> None:
    days = [d for d in range(1, 21) if d not in (8, 9)]
    src = _write(tmp_path / "in.csv", "timestamp,value\n" + "".join(f"2024-03-{d:02d}T00:00:00,5\n" for d in days))
    warnings: list[str] = []
    detect_series(src, tmp_path / "o.csv", "combined", warn=warnings.append)
    rows = _rows(tmp_path / "o.csv")
    assert len(rows) == 20
    assert [r["timestamp"] for r in rows[7:9]] == ["2024-03-08T00:00:00", "2024-03-09T00:00:00"]
    assert [r["value"] for r in rows[7:9]] == ["", ""] and [r["alarm"] for r in rows[7:9]] == ["0", "0"]
    assert any("missing" in w for w in warnings)


def test_log_score_keeps_big_surges_apart(tmp_path: Path) -> None:
    vals = ["3", "4", "2", "3", "5", "3", "4", "3", "2", "4", "3", "4", "3", "2"] * 2
    prob, log = tmp_path / "p.csv", tmp_path / "l.csv"
    for name, big in (("a", "60"), ("b", "90")):
        src = _series(tmp_path, vals + [big])
        detect_series(src, prob.with_name(name + "p.csv"), "combined")
        detect_series(src, log.with_name(name + "l.csv"), "combined", score="log")
    pa, pb = (float(_rows(tmp_path / f"{n}p.csv")[-1]["anomaly_score"]) for n in "ab")
    la, lb = (float(_rows(tmp_path / f"{n}l.csv")[-1]["anomaly_score"]) for n in "ab")
    assert pa == pb == 1.0  # 1 - p has rounded to 1 for both
    assert lb > la > 5.0


def test_negative_values_only_where_the_method_allows(tmp_path: Path) -> None:
    src = _series(tmp_path, ["3", "-4", "2", "3", "5", "3", "4", "3", "2", "4"])
    detect_series(src, tmp_path / "o.csv", "ears-c1")
    with pytest.raises(ValueError, match=r"line 3: field 'value' must be a count >= 0 for this method"):
        detect_series(src, tmp_path / "o.csv", "combined")


def test_combined_reports_one_alarm_per_episode_and_the_published_methods_every_bucket(tmp_path: Path) -> None:
    """A surge lasting five days: ``combined`` (auto = onset) alarms at its start only, as the alert layer
    raises one alert per episode; ``--alarms every`` and EARS (auto = every, as R reports it) alarm on the
    days it stays high. A new surge weeks later is a new episode."""
    import numpy as np

    rng = np.random.default_rng(1)
    quiet = [str(v) for v in rng.poisson(4, 21)]
    vals = quiet + ["40", "45", "50", "48", "46"] + [str(v) for v in rng.poisson(4, 40)] + ["60"] + ["4"] * 3
    rows = ["timestamp,value"] + [f"{86400 * d},{v}" for d, v in enumerate(vals)]
    src = _write(tmp_path / "in.csv", "\n".join(rows) + "\n")

    def alarmed(name: str, **kw) -> list[int]:
        out = tmp_path / f"{name}.csv"
        detect_series(src, out, **kw)
        return [i for i, r in enumerate(csv.DictReader(out.open())) if r["alarm"] == "1"]

    episodes = alarmed("auto")
    assert episodes == [21, 66], episodes
    every = alarmed("every", alarms="every")
    assert {21, 22, 23, 66} <= set(every) and set(episodes) <= set(every)
    assert alarmed("ears", method="ears-c1") == alarmed("ears-every", method="ears-c1", alarms="every")
    onset = tmp_path / "onset.csv"
    detect_series(src, onset, score="log")
    scores = [r["anomaly_score"] for r in csv.DictReader(onset.open())]
    assert all(float(s) == 0.0 for s in scores[22:26]) and float(scores[21]) > 10
    with pytest.raises(ValueError, match="alarms must be one of"):
        detect_series(src, tmp_path / "x.csv", alarms="first")
