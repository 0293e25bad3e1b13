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
>>> [material(s, {"score": x, "level": lvl, "early_score": 0.0, "early_level": "none"}, 0.01) for x, lvl in
...  [(0.10, "none"), (0.105, "none"), (0.112, "none"), (0.113, "blue")]]
[True, False, True, True]
>>> material(s, {"score": 0.113, "level": "blue", "early_score": 0.0, "early_level": "blue"}, 0.01)
True
"""
from __future__ import annotations

from typing import Any

from detectors.enterprise import EnterpriseState


def material(state: EnterpriseState, update: dict[str, Any], min_change: float) -> bool:
    """True if ``update`` should be published; then it becomes the state's last published score.

    Both lists count: a level change on either, or either score moving by ``min_change``.
    """
    now = (float(update["score"]), str(update["level"]), float(update["early_score"]), str(update["early_level"]))
    last = state.published
    if last is not None and now[1] == last[1] and now[3] == last[3] and abs(now[0] - last[0]) < min_change \
            and abs(now[2] - last[2]) < min_change:
        return False
    state.published = now
    return True
