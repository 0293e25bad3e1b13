"""The alerts of the worker's last batches, kept in its state table and sent again after a restart.

Why: a batch's state changes may land in the changelog while its alerts were
not yet sent when the worker dies; on restart the engine will not raise them
again, so the outbox is written *before* the states and resent on restore (the
sink upserts, so a resend is harmless).

Why in chunks under their own keys: the outbox used to be one table value
holding the last 20 batches, and a catch-up batch raising a few thousand
alerts made it 2.4 MB, over the producer's 1 MB request limit: the changelog
send failed and took the worker down, again on every restart. Each batch now
gets its own keys (``outbox:<batch>:<chunk>``), each at most ``chunk_bytes``
of JSON, and a batch's keys are deleted once it is ``batches`` batches old.
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PREFIX = "outbox:"
LEGACY_KEY = "outbox:alerts"
"""the one-value outbox of earlier versions (a list of batches), read on restore and deleted on the next write"""


def chunks(alerts: list[dict[str, Any]], limit: int) -> Iterator[list[dict[str, Any]]]:
    """``alerts`` in order, cut into lists whose JSON stays under ``limit`` bytes (an alert larger alone)."""
    chunk: list[dict[str, Any]] = []
    size = 2
    for alert in alerts:
        n = len(json.dumps(alert)) + 2
        if chunk and size + n > limit:
            yield chunk
            chunk, size = [], 2
        chunk.append(alert)
        size += n
    if chunk:
        yield chunk


@dataclass
class AlertOutbox:
    batches: int = 20
    """how many batches' alerts are kept"""
    chunk_bytes: int = 256_000
    """the largest value written under one key (the producer refuses requests over 1 MB)"""
    _kept: deque[tuple[list[str], list[dict[str, Any]]]] = field(default_factory=deque)
    _next: int = 0
    _stale: list[str] = field(default_factory=list)

    def add(self, alerts: list[dict[str, Any]]) -> dict[str, Any]:
        """Keep a batch's alerts; the table writes that do it (new keys first, then deletions: None)."""
        writes: dict[str, Any] = {}
        keys = []
        for i, chunk in enumerate(chunks(alerts, self.chunk_bytes)):
            key = f"{PREFIX}{self._next:012d}:{i}"
            writes[key] = chunk
            keys.append(key)
        self._next += 1
        self._kept.append((keys, alerts))
        while len(self._kept) > self.batches:
            self._stale += self._kept.popleft()[0]
        writes.update(dict.fromkeys(self._stale))
        self._stale = []
        return writes

    def restore(self, items: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take up the outbox a table holds; its alerts, oldest batch first."""
        self._kept.clear()
        self._stale = []
        found: dict[int, list[tuple[int, str, list[dict[str, Any]]]]] = {}
        legacy = items.get(LEGACY_KEY)
        if legacy is not None:
            self._stale.append(LEGACY_KEY)
            for batch in legacy[-self.batches:]:
                self._kept.append(([], list(batch)))
        for key, value in items.items():
            key = str(key)
            if not key.startswith(PREFIX) or key == LEGACY_KEY:
                continue
            try:
                batch, chunk = (int(part) for part in key[len(PREFIX):].split(":"))
            except ValueError:
                continue
            found.setdefault(batch, []).append((chunk, key, value or []))
        for batch in sorted(found):
            parts = sorted(found[batch])
            self._kept.append(([key for _, key, _ in parts], [a for _, _, chunk in parts for a in chunk]))
        self._next = max(found, default=-1) + 1
        while len(self._kept) > self.batches:
            self._stale += self._kept.popleft()[0]
        return [a for _, alerts in self._kept for a in alerts]
