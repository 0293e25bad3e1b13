"""Read a recorded event log from disk, line by line, in bounded memory (docs/event-log.md).

Two layouts, freely mixed in one directory:

* **one file, class on each line** — ``{"class": ..., "at": ..., "event": {...}}``
  or ``{"class": ..., "at": ..., "raw": "..."}`` (``at`` optional: absent means
  the event's ``occurred_at``). This is what the simulator writes.
* **one file per data class** — ``<class>.jsonl``, each line the bare JSON the
  topic ``ew.<class>`` carries; delivery time = ``occurred_at``.

Files may be gzip-compressed (``.jsonl.gz``). Several files are merged by time
with :func:`heapq.merge` over their line iterators, so only one line per file
is held at a time. A line that cannot be read as a log line is not fatal: it
is recorded in :class:`LineProblems` with its file and line number and the
run goes on. Whether a readable line is a *valid event* is decided later, by
the same contracts the stream uses.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "petition.jsonl").write_text('{"event_id":"p1","occurred_at":"2026-01-02T09:00:00+08:00"}\\nnot json\\n')
>>> problems = LineProblems()
>>> [(i.cls, i.line, i.event is not None) for i in read_events(d, problems)]
[('petition', 1, True), ('petition', 2, False)]
>>> problems.lines
0
"""
from __future__ import annotations

import gzip
import heapq
import io
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from streams.records import RECORD_BY_CLASS

SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")
MAX_SHOWN = 50
"""Problem lines kept verbatim for the report; the rest are only counted."""


class EventLogError(ValueError):
    """A path that cannot be read as an event log at all (missing, unreadable, no log files)."""


@dataclass(frozen=True, slots=True)
class LogItem:
    """One readable line: where it came from, its class and time, and the record or the raw payload."""

    file: str
    line: int
    cls: str
    at: float
    """delivery time, epoch seconds: ``at`` if the line has one, else the record's ``occurred_at``"""
    event: dict[str, Any] | None
    raw: str | None
    """the payload as text when it is not a JSON object (a malformed delivery)"""

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class LineProblems:
    """Lines that were skipped, counted by reason; the first few kept with file and line number."""

    lines: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    shown: list[str] = field(default_factory=list)

    def add(self, where: str, reason: str, detail: str = "") -> None:
        self.lines += 1
        self.by_reason[reason] += 1
        if len(self.shown) < MAX_SHOWN:
            self.shown.append(f"{where}: {reason}" + (f" — {detail}" if detail else ""))

    def summary(self) -> dict[str, Any]:
        return {"lines": self.lines, "by_reason": dict(self.by_reason.most_common()), "first": list(self.shown)}


def parse_time(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 timestamp *with* a time zone, else None."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt.timestamp() if dt.utcoffset() is not None else None


def log_files(path: Path) -> list[tuple[Path, str | None]]:
    """The files of a log and, for per-class files, their class (None = class on each line)."""
    path = Path(path)
    if not path.exists():
        raise EventLogError(f"{path}: no such file or directory")
    if path.is_file():
        return [(path, _class_of(path))]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
    if not files:
        raise EventLogError(f"{path}: no event-log files in this directory (expected *.jsonl or *.jsonl.gz)")
    return [(p, _class_of(p)) for p in files]


def _class_of(p: Path) -> str | None:
    stem = p.name
    for s in SUFFIXES:
        if stem.endswith(s):
            stem = stem[: -len(s)]
            break
    return stem if stem in RECORD_BY_CLASS else None


def _open(p: Path) -> BinaryIO:
    try:
        fh: BinaryIO = open(p, "rb")
    except OSError as exc:
        raise EventLogError(f"{p}: cannot read: {exc.strerror or exc}") from None
    if p.name.endswith(".gz"):
        return gzip.GzipFile(fileobj=fh)  # type: ignore[return-value]
    return fh


def _lines(p: Path, bar: tqdm | None) -> Iterator[tuple[int, str | None]]:
    """(line number, text) for each non-blank line; text None if it is not UTF-8."""
    fh = _open(p)
    raw_fh = fh.fileobj if isinstance(fh, gzip.GzipFile) else fh  # type: ignore[attr-defined]
    last = 0
    try:
        for n, data in enumerate(fh, 1):
            if bar is not None and n % 2048 == 0:
                pos = raw_fh.tell()
                bar.update(pos - last)
                last = pos
            if not data.strip():
                continue
            try:
                yield n, data.decode("utf-8")
            except UnicodeDecodeError:
                yield n, None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise EventLogError(f"{p}: cannot read: {exc}") from None
    finally:
        if bar is not None:
            bar.update(os.path.getsize(p) - last)
        fh.close()


def iter_lines(lines: Iterable[str], name: str, problems: LineProblems) -> Iterator[LogItem]:
    """Log lines in the one-file form, already in memory (the simulator's output), as items."""
    return _combined(name, ((n, text) for n, text in enumerate(lines, 1) if text.strip()), problems)


def _combined(name: str, numbered: Iterable[tuple[int, str | None]], problems: LineProblems) -> Iterator[LogItem]:
    """Lines ``{"class", "at"?, "event" | "raw"}``."""
    last_at = float("-inf")
    for n, text in numbered:
        where = f"{name}:{n}"
        if text is None:
            problems.add(where, "not UTF-8")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(where, "not JSON", str(exc))
            continue
        if not isinstance(obj, dict):
            problems.add(where, "not a JSON object")
            continue
        cls = obj.get("class")
        if cls not in RECORD_BY_CLASS:
            problems.add(where, "unknown class" if cls is not None else "no class", repr(cls))
            continue
        event, raw = obj.get("event"), obj.get("raw")
        if not isinstance(event, dict) and not isinstance(raw, str):
            problems.add(where, "neither event nor raw", "a line needs an `event` object or a `raw` string")
            continue
        if "at" in obj:
            at = parse_time(obj["at"])
            if at is None:
                problems.add(where, "bad at", f"{obj['at']!r} is not an ISO 8601 time with a time zone")
                continue
        else:
            at = parse_time(event.get("occurred_at")) if isinstance(event, dict) else None
            at = last_at if at is None else at
        last_at = at
        yield LogItem(name, n, cls, at, event if isinstance(event, dict) else None,
                      None if isinstance(event, dict) else raw)


def _per_class(p: Path, cls: str, problems: LineProblems, bar: tqdm | None) -> Iterator[LogItem]:
    """Lines that are the bare topic JSON of ``cls``; time = ``occurred_at``.

    A line that is not a JSON object is still a delivery (the stream would
    dead-letter it), so it is passed on as ``raw`` at the previous line's time.
    """
    name = p.name
    last_at = float("-inf")
    for n, text in _lines(p, bar):
        if text is None:
            problems.add(f"{name}:{n}", "not UTF-8")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            at = parse_time(obj.get("occurred_at"))
            at = last_at if at is None else at
            last_at = at
            yield LogItem(name, n, cls, at, obj, None)
        else:
            yield LogItem(name, n, cls, last_at, None, text.rstrip("\r\n"))


def read_events(path: Path, problems: LineProblems, progress: bool = False) -> Iterator[LogItem]:
    """Every readable line of the log at ``path`` (file or directory), in time order across files.

    Within a file the file's order is kept (the order it was delivered in);
    files are merged by time. Raises :class:`EventLogError` at once for a path
    that is not a log; problem lines go to ``problems``.
    """
    files = log_files(path)
    for p, _ in files:
        if not os.access(p, os.R_OK):
            raise EventLogError(f"{p}: cannot read: permission denied")
    bar = None
    if progress:
        bar = tqdm(total=sum(os.path.getsize(p) for p, _ in files), desc="read", unit="B", unit_scale=True,
                   leave=False, mininterval=0.5)
    its: list[Iterator[LogItem]] = [
        _combined(p.name, _lines(p, bar), problems) if cls is None else _per_class(p, cls, problems, bar) for p, cls in files]
    try:
        if len(its) == 1:
            yield from its[0]
        else:
            yield from heapq.merge(*its, key=lambda item: item.at)
    finally:
        if bar is not None:
            bar.close()


def write_per_class(lines: Iterable[str], out_dir: Path) -> dict[str, int]:
    """Split a one-file log into ``<class>.jsonl`` files of bare topic JSON (the other layout).

    The ``at`` of each line is dropped: in this layout delivery time is
    ``occurred_at``, so late and backfilled deliveries move to their event time.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    handles: dict[str, io.TextIOWrapper] = {}
    counts: Counter[str] = Counter()
    try:
        for text in lines:
            obj = json.loads(text)
            cls = obj["class"]
            if cls not in handles:
                handles[cls] = open(out_dir / f"{cls}.jsonl", "w", encoding="utf-8", newline="\n")
            payload = obj["raw"] if "event" not in obj else json.dumps(obj["event"], ensure_ascii=False,
                                                                        separators=(",", ":"))
            handles[cls].write(payload.replace("\n", " ") + "\n")
            counts[cls] += 1
    finally:
        for fh in handles.values():
            fh.close()
    return dict(counts)
