"""A small district for the roles, feed and audit tests: two streets, wage-arrears and group-incident cases, and
one user of each role (real users with real tokens, issued through the store as `earlywarn users` does)."""
from __future__ import annotations

from dataclasses import dataclass

from alerts_api.cases.routing import Policy
from alerts_api.store.alerts import upsert_alert
from alerts_api.store.cases import on_alert
from alerts_api.store.users import add_user, issue_token
from earlywarn.identifiers import make_uscc
from tests.alerts_api.test_store_and_api import T0, alert

STREET_A, STREET_B = "330110001", "330110002"
ENT_A, ENT_A2, ENT_B = make_uscc("91330110MA2AAAA01"), make_uscc("91330110MA2AAAA02"), make_uscc("91330110MA2BBBB01")
NAMES = {ENT_A: "Acme Garments A", ENT_A2: "Second Works A", ENT_B: "Brightline B"}
USERS = {  # name → role, area
    "insp-a": ("inspector", STREET_A), "officer-a": ("stability_officer", STREET_A),
    "officer-b": ("stability_officer", STREET_B), "district": ("stability_officer", "330110"),
    "eng": ("engineer", None), "adm": ("admin", None)}


@dataclass
class District:
    tokens: dict[str, str]
    cases: dict[str, str]
    """label → case code: wa-a, wa-a2 (street A), gi-a (group incident, street A), wa-b (street B)"""


def raise_alert(sessions, alert_id: str, subject: str, area: str, kind: str = "wage_arrears", level: str = "yellow",
                rank: int = 2, now=T0, score: float = 0.5) -> str:
    a = alert(alert_id=alert_id, level=level, rank=rank, area=area, changed=now).model_copy(
        update={"subject_id": subject, "subject_name": NAMES.get(subject, subject), "kind": kind, "score": score})
    with sessions() as s, s.begin():
        upsert_alert(s, a, "alert-sink", now)
        return on_alert(s, a, now, Policy()).case_code


def district(sessions) -> District:
    cases = {"wa-a": raise_alert(sessions, "wa-a", ENT_A, STREET_A + "001002"),
             "wa-a2": raise_alert(sessions, "wa-a2", ENT_A2, STREET_A + "003", level="red", rank=3),
             "gi-a": raise_alert(sessions, "gi-a", "gathering-7", STREET_A + "001", kind="group_incident",
                                 level="red", rank=3),
             "wa-b": raise_alert(sessions, "wa-b", ENT_B, STREET_B + "001001")}
    tokens = {}
    with sessions() as s, s.begin():
        for name, (role, area) in USERS.items():
            add_user(s, name, role, area, actor="test", now=T0)
            tokens[name] = issue_token(s, name, actor="test", now=T0)[1]
    return District(tokens, cases)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
