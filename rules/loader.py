"""Load, validate and hot-reload rule files.

A bad file is refused with a message naming the field and the value, and the
rules already in force stay in force: an engineer's typo must never blind the
inspectors.
"""
from __future__ import annotations

import logging
from pathlib import Path

from earlywarn.validation import parse_yaml_model
from rules.schema import RuleFile

log = logging.getLogger(__name__)


class RuleFileError(ValueError):
    """A rule file that cannot be read or fails its schema."""


def parse_rules(text: str, origin: str = "<string>") -> RuleFile:
    """Validate rule-file text; raise :class:`RuleFileError` naming what is wrong."""
    return parse_yaml_model(text, RuleFile, origin, RuleFileError, show_input=False)  # never echo the file


def load_rules(path: Path | str) -> RuleFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read rule file: {exc.strerror or exc}") from None
    return parse_rules(text, str(path))


class RuleWatcher:
    """Holds the rules in force and swaps in a changed file only if it validates.

    ``poll()`` is cheap (one stat) and is called by the worker between batches,
    so a changed file is picked up without a restart.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.rules = load_rules(self.path)
        self._mtime = self._stat()
        self.last_error: str | None = None
        self.failures = 0
        """changed files refused so far (the worker exports it as a counter)"""

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def poll(self) -> bool:
        """Reload if the file changed; True if new rules are now in force."""
        mtime = self._stat()
        if mtime == self._mtime:
            return False
        self._mtime = mtime
        try:
            new = load_rules(self.path)
        except RuleFileError as exc:
            self.last_error = str(exc)
            self.failures += 1
            log.error("rule file refused, keeping version %s in force: %s", self.rules.version, exc)
            return False
        self.last_error = None
        changed = new != self.rules
        if changed:
            log.warning("rules %s replaced by %s", self.rules.version, new.version)
        self.rules = new
        return changed
