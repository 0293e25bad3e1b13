"""A case's lifecycle as one explicit transition table (DESIGN §2's closed loop: open → dispatch → handle →
verify → evaluate → archive), and the outcomes a verification can record.

Pure: no database, no clock. The store applies it and the API answers 409 with
the current state and the allowed actions when an action is not in the table.

>>> advance("new", "dispatch")
'dispatched'
>>> allowed("verified")
['close', 'contest']
"""
from __future__ import annotations

from typing import Literal, get_args

State = Literal["new", "dispatched", "acknowledged", "verified", "contested", "closed"]
Action = Literal["dispatch", "acknowledge", "verify", "contest", "review", "close"]
Outcome = Literal["arrears_confirmed", "hidden_risk", "no_risk", "unable_to_verify"]

STATES: tuple[str, ...] = get_args(State)
ACTIONS: tuple[str, ...] = get_args(Action)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
EFFECTIVE = frozenset({"arrears_confirmed", "hidden_risk"})
"""Yuhang's effective warning rate counts hidden risk as a hit; unable_to_verify leaves the denominator"""

TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "dispatch"): "dispatched",
    ("dispatched", "dispatch"): "dispatched",          # sent on to another unit
    ("dispatched", "acknowledge"): "acknowledged",
    ("acknowledged", "verify"): "verified",
    ("verified", "close"): "closed",
    ("new", "contest"): "contested",
    ("dispatched", "contest"): "contested",
    ("acknowledged", "contest"): "contested",
    ("verified", "contest"): "contested",
    ("contested", "review"): "verified",              # the review's outcome stands as the verification
}
OPEN_STATES = frozenset(s for s in STATES if s != "closed")


class IllegalTransition(ValueError):
    def __init__(self, state: str, action: str) -> None:
        self.state, self.action, self.allowed = state, action, allowed(state)
        super().__init__(f"cannot {action} a case that is {state}; allowed: {', '.join(self.allowed) or 'nothing'}")


def allowed(state: str) -> list[str]:
    """The actions a case in ``state`` accepts, in the table's order."""
    return [a for (s, a) in TRANSITIONS if s == state]


def advance(state: str, action: str) -> str:
    """The state after ``action``; :class:`IllegalTransition` if the table has no such step."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise IllegalTransition(state, action) from None
