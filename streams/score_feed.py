"""Which score updates go on the risk-score feed: material changes only.

Why: every event moves a score a little, and each update on the feed is a
Kafka send, the worker's dearest operation (DESIGN §7). A reader of the feed
(an inspector's list ranked by expected harm) needs the level and the score
to within a fraction of a percent, not every sixth decimal. So an update is
published when the level changed or the score moved by at least
``min_change`` since the last published one; the state remembers that one,
so the rule holds across batches and restarts.

>>> from detectors.enterprise import EnterpriseState
>>> s = EnterpriseState.new(1)
>>> [material(s, {"score": x, "level": lvl}, 0.01) for x, lvl in
...  [(0.10, "none"), (0.105, "none"), (0.112, "none"), (0.113, "blue")]]
[True, False, True, True]
"""
from __future__ import annotations

from typing import Any

from detectors.enterprise import EnterpriseState


def material(state: EnterpriseState, update: dict[str, Any], min_change: float) -> bool:
    """True if ``update`` should be published; then it becomes the state's last published score."""
    last = state.published
    if last is not None and update["level"] == last[1] and abs(update["score"] - last[0]) < min_change:
        return False
    state.published = (float(update["score"]), str(update["level"]))
    return True
