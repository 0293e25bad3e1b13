"""The worker's state that is not per enterprise, kept in one Faust table so kill -9 and a restart lose none of it.

Each part is a tracker with ``changes()`` (what a batch touched, as JSON by
key; None deletes) and ``restore(items)``: the complaint-surge windows and
series (one value), the gatherings' headcounts (one per gathering), the
community tension's days, grids and wage-arrears levels
(:meth:`streams.area_tension.AreaTensionTracker.changes`). Keys are
prefixed with the part's name. Issue #19: these lived in memory, so a restart
lost every surge baseline and a gathering's growth. (The engine's industry
context is rebuilt from the enterprise states instead:
``IndustryContext.rebuilt``.)

The table is partitioned by key like any other; one worker holds all of it
(these trackers see the whole district), see the README on scaling out.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol


class Persistent(Protocol):
    def changes(self) -> dict[str, Any]: ...

    def restore(self, items: dict[str, Any]) -> None: ...


Parts = Mapping[str, Persistent]
"""part name → its tracker"""


def changes(parts: Parts) -> dict[str, Any]:
    """What each part changed since it was last asked, by table key (None deletes)."""
    return {f"{name}:{key}": value for name, part in parts.items() for key, value in part.changes().items()}


def apply(table: MutableMapping[str, Any], writes: Mapping[str, Any]) -> None:
    """Write ``writes`` to the table in their order; None deletes the key."""
    for key, value in writes.items():
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value


def too_large(writes: Mapping[str, Any], limit: int) -> dict[str, int]:
    """Keys whose value's JSON is over ``limit`` bytes, with its size.

    Why: a changelog record over the producer's request limit fails in Faust's producer buffer, which stops
    the worker, and a restart replays the same batch into the same failure. Such a value is a bug or an
    unbounded key; refusing that one write keeps the stream (and every other key's durability) going.
    """
    out = {}
    for key, value in writes.items():
        if value is not None:
            size = len(json.dumps(value))
            if size > limit:
                out[key] = size
    return out


def save(table: MutableMapping[str, Any], parts: Parts) -> int:
    """Write what each part changed since the last save; how many keys were written."""
    writes = changes(parts)
    apply(table, writes)
    return len(writes)


def restore(items: Mapping[str, Any], parts: Parts) -> int:
    """Rebuild every part from the table's items; how many keys were read."""
    by_part: dict[str, dict[str, Any]] = {name: {} for name in parts}
    for k, v in items.items():
        name, _, key = str(k).partition(":")
        if name in by_part:
            by_part[name][key] = v
    for name, part in parts.items():
        part.restore(by_part[name])
    return sum(len(v) for v in by_part.values())
