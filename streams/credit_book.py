"""The wage-arrears credit record as the worker knows it, from ``ew.credit`` (the API sends it back).

Why: an inspector reading an alert must see that the enterprise is a repeat
offender — arrears confirmed on site before, in which case, how many times.
The API lists an enterprise when a case is verified ``arrears_confirmed``
(``alerts_api/store/credit.py``); here every later wage-arrears alert of a
listed enterprise states it among its reasons.

It is stated, not weighed: the score's weights are fitted on simulated
districts, and the simulator has no verification outcomes to fit a weight for
a past listing on (``contribution`` is 0; README, credit record). No Faust
import: the worker feeds events in and keeps the book in its state table
(``credit:<credit code>``), so a restart keeps it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from detectors.engine import DecodedEvent

CLASS = "credit"


@dataclass
class CreditBook:
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """credit code → {"case_code", "since" (event time of the listing), "offences", "event_id"} while listed"""
    _changed: set[str] = field(default_factory=set)

    def process(self, events: list[DecodedEvent]) -> list[dict[str, Any]]:
        """Take the batch's credit events in (in event-time order, as released); no alert of its own."""
        for ev in events:
            if ev.data_class != CLASS:
                continue
            f = ev.fields
            subject = str(f["subject_id"])
            if f["event"] == "listed":
                self.entries[subject] = {"case_code": str(f["case_code"]), "since": ev.t,
                                         "offences": int(f["offences"]), "event_id": ev.event_id}
            elif f["event"] == "removed":
                self.entries.pop(subject, None)
            elif subject in self.entries:   # repaid: still listed until the waiting period ends
                self.entries[subject]["repaid"] = ev.t
            self._changed.add(subject)
        return []

    def annotate(self, alerts: list[dict[str, Any]]) -> None:
        """Add the credit record to the reasons of every open wage-arrears alert of a listed enterprise."""
        for alert in alerts:
            entry = self.entries.get(str(alert.get("subject_id")))
            if entry is None or alert.get("kind") != "wage_arrears" or alert.get("status") == "closed":
                continue
            since = datetime.fromtimestamp(entry["since"], tz=timezone.utc).date().isoformat()
            detail = (f"arrears confirmed on site in case {entry['case_code']} (listed {since}); "
                      f"{entry['offences']} listing(s) in all")
            if "repaid" in entry:
                detail += "; repaid since, awaiting removal"
            alert["reasons"] = list(alert.get("reasons") or []) + [{
                "signal": "credit_record", "label": "on the wage-arrears credit record (stated, not weighed)",
                "contribution": 0.0, "detail": detail, "event_id": entry["event_id"], "event_time": entry["since"]}]

    def changes(self) -> dict[str, Any]:
        out = {k: self.entries.get(k) for k in self._changed}   # None: removed, the key is deleted
        self._changed.clear()
        return out

    def restore(self, items: dict[str, Any]) -> None:
        self.entries = {k: dict(v) for k, v in items.items() if v}
        self._changed.clear()
