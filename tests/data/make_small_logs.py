"""Writes tests/data/small-log/events.jsonl and small-log-malformed/events.jsonl (run from the repo root)."""
import json
A, B, C, D = "91330110MA2HWA0018", "91330110MA2HWB002J", "91330110MA2HWC003W", "91330110MA2HWD0047"
AREA = "330110001002003"
L = []
def add(cls, ev): L.append(json.dumps({"class": cls, "event": ev}, ensure_ascii=False, separators=(",", ":")))
for k, (e, name, ind, emp) in enumerate([(A, "Hangzhou Anbu Construction", "construction", 120),
                                         (B, "Yuhang Beiji Construction", "construction", 120),
                                         (C, "Liangzhu Cafe", "catering", 12)]):
    add("enterprise_registry", {"event_id": f"reg-{k}", "occurred_at": "2025-03-01T00:00:00+08:00",
                                "enterprise_id": e, "name": name, "industry": ind, "area_code": AREA, "employees": emp})
add("water_arrears", {"event_id": "c-w1", "occurred_at": "2025-04-05T10:00:00+08:00", "enterprise_id": C,
                      "months_overdue": 0, "overdue_amount": 0.0, "usual_monthly_bill": 400.0})
for m, day in enumerate(["2025-04-10", "2025-05-10", "2025-06-10", "2025-06-20"], 1):
    for e, tag in ((A, "a"), (B, "b")):
        day = day[:10] + "T09:00:00+08:00"
        add("water_arrears", {"event_id": f"{tag}-w{m}", "occurred_at": day, "enterprise_id": e,
                              "months_overdue": m, "overdue_amount": 3000.0 * m, "usual_monthly_bill": 3000.0})
        add("social_insurance_arrears", {"event_id": f"{tag}-s{m}", "occurred_at": day, "enterprise_id": e,
                                         "months_unpaid": m, "amount_owed": 90000.0 * m, "insured_headcount": 100,
                                         "paid_headcount": 100 - 20 * m})
        add("hotline_complaint", {"event_id": f"{tag}-c{m}", "occurred_at": day, "enterprise_id": e,
                                  "area_code": AREA, "topic": "wage"})
open("tests/data/small-log/events.jsonl", "w").write("\n".join(L) + "\n")

bad = {
    5: "this line is not JSON",
    9: json.dumps({"class": "water_arrears", "event": {"event_id": "x-w1", "occurred_at": "2025-04-10T09:00:00+08:00",
                   "enterprise_id": C[:17] + "0", "months_overdue": 1, "overdue_amount": 1.0,
                   "usual_monthly_bill": 1.0}}, separators=(",", ":")),
    12: json.dumps({"class": "no_such_class", "event": {"event_id": "x"}}, separators=(",", ":")),
    15: json.dumps({"class": "litigation", "raw": '{"event_id":"x-l1","occurred_at":"2025-05-0'}, separators=(",", ":")),
    18: json.dumps({"class": "hotline_complaint", "at": "yesterday", "event": {"event_id": "x-c1",
                   "occurred_at": "2025-05-10T09:00:00+08:00", "area_code": AREA, "topic": "wage"}}, separators=(",", ":")),
}
out = list(L)
for n in sorted(bad):
    out.insert(n - 1, bad[n])
text = "\n".join(out) + "\n" + '{"class":"water_arrears","event":{"event_id":"trunc'
open("tests/data/small-log-malformed/events.jsonl", "w").write(text)
print(len(out) + 1)
