"""Tension per community: each signal against the community's own history, levels, reasons, payload shape."""
import json

import numpy as np

from alerts_api.schemas import AlertIn
from detectors.engine import DecodedEvent, iso
from streams.area_tension import AreaTensionTracker
from streams.group_incidents import GroupIncidentWatch

DAY = 86400.0
LOCAL0 = 1_751_299_200.0          # 2025-07-01T00:00+08:00: far from the Spring Festival and year end
T0 = LOCAL0 - 8 * 3600             # day d's voices come from T0 + d days + 9–16 h: 01:00–08:00 local on day d
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


def run_watch(watch: GroupIncidentWatch, batches) -> list[dict]:
    """As the worker does: the batch, its wage-arrears alerts (none here), the days it closed."""
    alerts = []
    for b in batches:
        alerts += watch.process(b)
        watch.note_alerts([])
        alerts += watch.close_days()
    return alerts


def test_workers_at_an_enterprise_at_red_risk_count_in_its_community():
    tracker = AreaTensionTracker(weights={**WEIGHTS, "at_risk_workers": 1.0}, levels=LEVELS)
    watch = GroupIncidentWatch(tension=tracker)
    run_watch(watch, quiet_days(np.random.default_rng(3), range(60)))
    watch.note_alerts([{"kind": "wage_arrears", "list": "inspect_now", "subject_id": "91330110MA0000001X",
                        "level_rank": 3, "workers_at_risk": 400, "area_code": f"{TENSE}004"}])
    alerts = run_watch(watch, quiet_days(np.random.default_rng(4), range(60, 62)))
    assert [a["subject_id"] for a in alerts] == [TENSE]
    assert alerts[0]["reasons"][0]["signal"] == "at_risk_workers" and "800 workers" in alerts[0]["reasons"][0]["detail"]
    assert alerts[0]["workers_at_risk"] == 800
    watch.note_alerts([{"kind": "wage_arrears", "list": "inspect_now", "subject_id": "91330110MA0000001X",
                        "level_rank": 0, "area_code": f"{TENSE}004"}])
    assert tracker.features(tracker.day_of(LOCAL0) + 61)[TENSE][0] == 0, "a closed wage alert leaves the community"


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


# ---------------------------------------------------------------- batches, the state table, restarts (issue #23)

ENT, OTHER = "91330110MA0000001X", "91330110MA0000002X"


def wage_alert(ent: str, rank: int, t: float, workers: int = 400, grid: str = f"{TENSE}004") -> dict:
    return {"kind": "wage_arrears", "list": "inspect_now", "subject_id": ent, "level_rank": rank,
            "workers_at_risk": workers, "area_code": grid, "changed_at": iso(t)}


def stream() -> list[tuple[DecodedEvent, list[dict]]]:
    """120 days of ordinary load, a building week, and wage-arrears levels rising and falling, in event-time
    order; each level change rides on the event the engine raised it from (here a ``wage_account`` record)."""
    rng = np.random.default_rng(5)
    events = [e for day in quiet_days(rng, range(120)) for e in day]
    events += [e for d in range(80, 86) for e in voices(d, 2 + d - 80, f"{TENSE}00{1 + d % 3}")]
    events += voices(84, 1, f"{TENSE}002", kind="petition", people=30)
    levels = [(61.9, ENT, 3, 400), (62.2, OTHER, 2, 30), (70.95, ENT, 0, 0), (75.3, OTHER, 0, 0), (84.99, ENT, 3, 400),
              (85.5, ENT, 2, 400), (100.999, ENT, 0, 0)]    # local days: 61.9 is 21:36 on day 61
    out = [(e, []) for e in events]
    for k, (day, ent, rank, workers) in enumerate(levels):
        t = LOCAL0 + day * DAY
        out.append((DecodedEvent("wage_account", {"event_id": f"wa-{k}", "enterprise_id": ent}, t),
                    [wage_alert(ent, rank, t, workers)]))
    return sorted(out, key=lambda x: x[0].t)


def tracker(record: list | None = None) -> AreaTensionTracker:
    return AreaTensionTracker(weights={**WEIGHTS, "at_risk_workers": 0.6}, levels=LEVELS, scan_replicates=19,
                              record=record)


def feed(t: AreaTensionTracker, items: list[tuple[DecodedEvent, list[dict]]], engine: bool = True) -> list[dict]:
    """One batch as the worker runs it: the events, then the engine's alerts for them (none when ``engine`` is
    False: a replayed batch whose enterprise states were written raises nothing again), then the days closed."""
    t.take([e for e, _ in items])
    t.note_alerts([a for _, notes in items for a in notes] if engine else [])
    return t.settle()


def batched(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def test_a_day_closed_inside_a_batch_weighs_the_levels_raised_before_its_end_whatever_the_batches():
    """Day 61's close must count the enterprise that went red at 21:36 that day, even when the first event of
    day 62 is in the same batch (the engine scores a batch after the area trackers); and not OTHER, yellow only
    from day 62. One event a batch, 7, 60 (about 26 days), all at once: the same alerts and features."""
    items = stream()
    runs: dict[int, list[dict]] = {}
    rows: dict[int, list] = {}
    for size in (1, 7, 60, len(items)):
        t = tracker(rows.setdefault(size, []))
        runs[size] = [a for b in batched(items, size) for a in feed(t, b)]
    assert runs[1] and all(runs[size] == runs[1] for size in runs), {k: len(v) for k, v in runs.items()}
    assert all(rows[size] == rows[1] for size in rows), "every community-day's features alike"
    assert {r["signal"] for a in runs[1] for r in a["reasons"]} >= {"at_risk_workers", "collective_petitions"}
    day0 = t.day_of(LOCAL0)
    at_risk = {day - day0: round(float(np.expm1(x[0]))) for c, day, x in rows[1] if c == TENSE}
    assert at_risk[60] == 0 and at_risk[61] == 800, "red at 21:36 on day 61: 400 workers, counted twice"
    assert at_risk[62] == 830 and at_risk[69] == 830 and at_risk[70] == 30, "OTHER yellow from day 62, ENT green on 70"
    assert ENT not in t.risk and OTHER not in t.risk, "levels back to green are forgotten once their day closed"


def table_keys(table: dict) -> dict:
    return {k: v for k, v in table.items() if v is not None}


def test_a_kill_anywhere_in_a_catch_up_batchs_writes_changes_nothing():
    """A batch of a worker catching up closes many days at once: each prefix of its writes (what a kill -9
    leaves) restored, the batch replayed from 0–2 batches back with the engine's alerts raised again (its states
    are written after the tracker's), gives the tracker's table and alerts of the run that was never killed."""
    items = stream()
    batches = batched(items, 20)                 # about 9 days a batch
    record: list = []
    t, table, tables, raised, writes, rows, afters = tracker(record), {}, [], [], [], [], []
    for b in batches:
        tables.append(json.dumps(table))
        n = len(record)
        raised.append(feed(t, b))
        rows.append(record[n:])
        writes.append(list(t.changes().items()))
        table.update(writes[-1])
        afters.append(table_keys(table))
    assert sum(map(len, raised)) >= 2
    inner = range(2, len(batches) - 1)
    kills = [k for k in inner if any(v is None for _, v in writes[k])][:1]
    kills += [k for k in inner if raised[k] and k not in kills][:1]
    kills += [k for k in inner if any(key.startswith("risk:") for key, _ in writes[k]) and k not in kills][:1]
    assert len(kills) == 3
    for k in kills:
        n = len(writes[k])
        for cut, engine in [(cut, True) for cut in range(n + 1)] + [(n, False)]:
            again: list = []
            back = tracker(again)
            stored = json.loads(tables[k])
            stored.update(json.loads(json.dumps(writes[k][:cut])))
            back.restore(stored)
            got = []
            for j in range(k - cut % 3, k + 2):
                got += feed(back, batches[j], engine=j > k or (j == k and engine))
                stored.update(back.changes())
            where = f"batch {k}, cut after {cut} of {n} writes, the engine's alerts raised again: {engine}"
            assert table_keys(stored) == afters[k + 1], where
            closed = "meta" in dict(writes[k][:cut])     # then the outbox sends the batch's alerts again
            assert got == ([] if closed else raised[k]) + raised[k + 1], where
            assert again == ([] if closed else rows[k]) + rows[k + 1], f"{where}: each day's features alike"


def test_a_busy_day_is_kept_per_community_and_a_live_batch_writes_only_the_communities_it_heard_from():
    """One key per day held every id the district counted that day, rewritten by every batch: 10,000
    complaints a day made it larger than a changelog record may be."""
    tracker = AreaTensionTracker(weights=WEIGHTS, levels=LEVELS)
    communities = [f"3301100010{c:02d}" for c in range(40)]
    busy = [ev for c in communities for ev in voices(3, 250, f"{c}001")]
    tracker.process(busy)
    first = tracker.changes()
    days = {k: v for k, v in first.items() if k.startswith("day:")}
    assert len(days) == 40 and sum(len(v["seen"]) for v in days.values()) == 10_000
    assert max(len(json.dumps(v)) for v in first.values() if v) < 20_000
    tracker.process(voices(3, 3, f"{communities[7]}002"))
    assert [k for k in tracker.changes() if k.startswith("day:")] == [f"day:{T0_DAY + 3}:{communities[7]}"]


T0_DAY = AreaTensionTracker().day_of(T0 + 9 * 3600)   # the local day of test day 0


def test_a_state_written_with_one_key_per_day_is_read_and_its_ids_still_count_once():
    old = AreaTensionTracker(weights=WEIGHTS, levels=LEVELS)
    day = voices(3, 5, f"{TENSE}001") + voices(3, 2, f"{CALM}002")
    old.process(day)
    whole = {"seen": sorted(e.event_id for e in day), "voices": {f"{TENSE}001": 5, f"{CALM}002": 2},
             "collective": {}}
    table = {f"day:{T0_DAY + 3}": whole, **{k: v for k, v in old.changes().items() if not k.startswith("day:")}}
    new = AreaTensionTracker(weights=WEIGHTS, levels=LEVELS)
    new.restore(table)
    new.process(day + voices(3, 1, f"{TENSE}009"))          # a redelivery, and one new complaint
    assert dict(new.voices[T0_DAY + 3]) == {f"{TENSE}001": 5, f"{CALM}002": 2, f"{TENSE}009": 1}
    new.changes()
    new.process(voices(3 + 66, 1, f"{CALM}001"))              # 66 days on: the old day is forgotten
    gone = {k for k, v in new.changes().items() if v is None}
    assert {f"day:{T0_DAY + 3}", f"day:{T0_DAY + 3}:{TENSE}"} <= gone
