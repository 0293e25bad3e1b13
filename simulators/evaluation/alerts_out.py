"""Every alert a backtest raised, as JSON Lines, so any outside scorer can judge the same alerts.

One line per alert, detector and points-table baseline alike::

    {"source": "detector", "alert_id": "wa-…", "enterprise_id": "9133…", "raised_at": "2025-06-03T10:01:00+08:00",
     "check_at": "…", "list": "inspect_now", "level": "red", "score": 0.71, "reasons": [...]}

``raised_at`` is when an inspector could first have seen the alert: the
delivery time of the evidence that raised it. The baseline's alerts are those
at the threshold matched to the detector's volume, with the table's
conditions met as reasons and the points as the score.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from simulators.world.truth import CST


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, CST).isoformat()


def _get(a: Any, k: str, default: Any = None) -> Any:
    return a.get(k, default) if isinstance(a, dict) else getattr(a, k, default)


def alert_line(source: str, a: Any) -> dict[str, Any]:
    """The outside form of one backtest alert (an :class:`~simulators.evaluation.backtest.Alert` or a baseline dict)."""
    ent, raised = _get(a, "subject_id"), _get(a, "raised")
    alert_id = _get(a, "alert_id") or "bl-" + hashlib.sha256(f"{ent}|{raised}".encode()).hexdigest()[:20]
    return {"source": source, "alert_id": alert_id, "enterprise_id": ent, "raised_at": _iso(raised),
            "check_at": _iso(_get(a, "check")), "list": _get(a, "list", ""), "level": _get(a, "level"),
            "score": _get(a, "score"), "reasons": _get(a, "reasons", [])}


def write_alerts(path: Path, detector: Iterable[Any], baseline: Iterable[Any]) -> int:
    """Write both alert lists to ``path`` (JSON Lines); the number of lines written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for source, alerts in (("detector", detector), ("baseline", baseline)):
            for a in alerts:
                f.write(json.dumps(alert_line(source, a), ensure_ascii=False, default=float) + "\n")
                n += 1
    return n
