"""The four roles as one table: which kinds of case each sees, who moves cases, who sees personal fields.

Why a table: a route asks the caller's role one question (``may it read
cases?``) instead of naming roles in ``if`` chains spread over handlers.
An inspector handles wage arrears only; a stability officer every kind in
their area; an engineer reads statistics and rule versions with personal
fields blanked; an admin manages users and reads the audit log, not cases.

>>> ROLES["inspector"].kinds
frozenset({'wage_arrears'})
>>> redact({"subject_name": "Acme", "level": "red", "timeline": [{"actor": "li", "detail": {"note": "x", "to": "verified"}}]})
{'subject_name': '', 'level': 'red', 'timeline': [{'actor': '', 'detail': {'to': 'verified'}}]}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

RoleName = Literal["inspector", "stability_officer", "engineer", "admin"]
ROLE_NAMES: tuple[str, ...] = get_args(RoleName)


@dataclass(frozen=True)
class Role:
    name: str
    kinds: frozenset[str] | None
    """case and alert kinds this role sees; None = every kind; empty = none (no case routes)"""
    moves_cases: bool
    personal: bool
    """sees enterprise names and ids, notes, inspector names"""
    admin: bool
    """manages users and tokens, reads the audit log"""

    @property
    def reads_cases(self) -> bool:
        return self.kinds is None or bool(self.kinds)


ROLES: dict[str, Role] = {
    "inspector": Role("inspector", frozenset({"wage_arrears"}), moves_cases=True, personal=True, admin=False),
    "stability_officer": Role("stability_officer", None, moves_cases=True, personal=True, admin=False),
    "engineer": Role("engineer", None, moves_cases=False, personal=False, admin=False),
    "admin": Role("admin", frozenset(), moves_cases=False, personal=False, admin=True),
}
STATIC_TOKEN_ROLE = "stability_officer"
"""what an EW_API_TOKENS token is (the demo's tokens): every kind in its area scope"""
SCOPED_ROLES = frozenset({"inspector", "stability_officer"})
"""roles that must be given an area (they answer for one)"""

PERSONAL = frozenset({"subject_id", "subject_name", "inspector", "outcome_note", "query_code", "actor"})
"""fields blanked for a role without personal access (a query code lets its holder ask about the case)"""
PERSONAL_DETAIL = frozenset({"note", "inspector"})
"""keys dropped from a timeline step's detail"""


def redact(data: Any) -> Any:
    """``data`` (a JSON-ready dict or list) with every personal field blanked, recursively."""
    if isinstance(data, list):
        return [redact(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key in PERSONAL and isinstance(value, str):
            out[key] = ""
        elif key == "detail" and isinstance(value, dict):
            out[key] = {k: redact(v) for k, v in value.items() if k not in PERSONAL_DETAIL}
        else:
            out[key] = redact(value)
    return out
