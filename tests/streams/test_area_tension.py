"""Tension per community: each signal against the community's own history, levels, reasons, payload shape."""
import numpy as np

from alerts_api.schemas import AlertIn
from detectors.engine import DecodedEvent
from streams.area_tension import AreaTensionTracker
from streams.group_incidents import GroupIncidentWatch

DAY = 86400.0
T0 = 1_751_299_200.0 - 8 * 3600   # 2025-07-01T00:00+08:00: far from the Spring Festival and year end
TENSE, CALM = "330110001002", "330110001003"
WEIGHTS = {"intercept": -6.0, "at_risk_workers": 0.5, "collective_petitions": 1.0, "voice_surprise": 0.6,
           "cluster": 0.3, "calendar": 0.5}
LEVELS = (0.02, 0.08, 0.25)
"""both fixed here, so the tests check the mechanism and not whatever the fit last gave"""


def voices(day: int, n: int, grid: str, kind: str = "hotline_complaint", topic: str = "wage", people: int = 1):
    extra = {"petitioners": people, "collective": people >= 5} if kind == "petition" else {}
    return [DecodedEvent(kind, {"event_id": f"{kind}-{grid}-{day}-{i}-{people}", "area_code": grid, "topic": topic,
                                **extra}, T0 + day * DAY + 3600 * (9 + i % 8)) for i in range(n)]


def quiet_days(rng: np.random.Generator, days: range) -> list[list[DecodedEvent]]:
    """Both communities' ordinary load: about one wage complaint a day across their grids."""
    out = []
    for d in days:
        batch = []
        for comm in (TENSE, CALM):
            for g in range(1, 6):
                batch += voices(d, int(rng.poisson(0.2)), f"{comm}{g:03d}")
        out.append(batch)
    return out


def run(tracker, batches):
    alerts = []
    for b in batches:
        alerts += tracker.process(b)
    return alerts


def test_a_week_of_rising_wage_complaints_and_a_collective_petition_raise_the_community_and_say_why():
    rng = np.random.default_rng(1)
    tracker = AreaTensionTracker(weights=WEIGHTS, levels=LEVELS)
    assert run(tracker, quiet_days(rng, range(70))) == [], "ordinary load raises nothing"
    rising = [voices(d, 2 + d - 70, f"{TENSE}00{1 + d % 3}") + voices(d, 0, f"{CALM}001") for d in range(70, 77)]
    rising[-2] += voices(75, 1, f"{TENSE}002", kind="petition", people=40)
    alerts = run(tracker, rising + quiet_days(rng, range(77, 79)))
    assert alerts and {a["subject_id"] for a in alerts} == {TENSE}
    signals = {r["signal"] for a in alerts for r in a["reasons"]}
    assert {"voice_surprise", "collective_petitions"} <= signals
    first = alerts[0]
    assert first["kind"] == "area_tension" and first["area_code"] == TENSE
    assert [a["alert_id"] for a in alerts] == [first["alert_id"]] * len(alerts), "one episode; re-raised as it grows"
    assert [a["level_rank"] for a in alerts] == sorted({a["level_rank"] for a in alerts})
    for a in alerts:
        AlertIn.model_validate(a)


def test_a_community_that_always_complains_this_much_is_not_tense():
    rng = np.random.default_rng(2)
    tracker = AreaTensionTracker(weights=WEIGHTS, levels=LEVELS)
    loud = [voices(d, int(rng.poisson(6)), f"{TENSE}00{1 + d % 5}") for d in range(90)]
    assert run(tracker, loud) == []


def test_workers_at_an_enterprise_at_red_risk_count_in_its_community():
    tracker = AreaTensionTracker(weights={**WEIGHTS, "at_risk_workers": 1.0}, levels=LEVELS)
    watch = GroupIncidentWatch(tension=tracker)
    run(watch, quiet_days(np.random.default_rng(3), range(60)))
    watch.note_alerts([{"kind": "wage_arrears", "list": "inspect_now", "subject_id": "91330110MA0000001X",
                        "level_rank": 3, "workers_at_risk": 400, "area_code": f"{TENSE}004"}])
    alerts = run(watch, quiet_days(np.random.default_rng(4), range(60, 62)))
    assert [a["subject_id"] for a in alerts] == [TENSE]
    assert alerts[0]["reasons"][0]["signal"] == "at_risk_workers" and "800 workers" in alerts[0]["reasons"][0]["detail"]
    assert alerts[0]["workers_at_risk"] == 800
    watch.note_alerts([{"kind": "wage_arrears", "list": "inspect_now", "subject_id": "91330110MA0000001X",
                        "level_rank": 0, "area_code": f"{TENSE}004"}])
    assert tracker.features(61)[TENSE][0] == 0, "a closed wage alert leaves the community"


def test_the_levels_follow_design_deadlines():
    from datetime import datetime
    tracker = AreaTensionTracker(weights={**WEIGHTS, "at_risk_workers": 3.0}, levels=LEVELS)
    tracker.process(voices(0, 3, f"{TENSE}001"))
    tracker.note_alerts([{"kind": "wage_arrears", "subject_id": "e", "level_rank": 3, "workers_at_risk": 2000,
                          "area_code": f"{TENSE}001"}])
    (a,) = tracker.process(voices(2, 1, f"{CALM}001"))[:1]
    assert a["level"] == "red" and a["level_rank"] == 3
    days = (datetime.fromisoformat(a["deadline"]) - datetime.fromisoformat(a["raised_at"])).days
    assert days == 7
