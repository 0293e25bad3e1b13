"""What each source system sees of the latent state: records, with delays, noise and gaps.

Every source has its own view and its own delay:

* water and electricity utilities: monthly billing reports of enterprises
  behind on their bills (and a paid-up report when they clear);
* social insurance: monthly arrears and paid headcount, reported a month or
  more after the month;
* courts: suits filed by unpaid suppliers (registered weeks after the dispute),
  judgments months later, the dishonest-debtor blacklist months after that;
* market regulation: abnormal-operations listings, fines;
* housing and construction: monthly project status and project wage accounts;
* 12345 hotline, petitions, public opinion: workers' complaints, mostly near
  the end (once wages are late or unpaid), often not naming the enterprise.

Healthy enterprises produce misleading records too: a late bill, a suit they
win, a complaint about something else, a paid-headcount drop when migrant
workers go home for the Spring Festival, an industry-wide late month, a
project suspended for an environmental inspection.

``signal_noise`` scales detection losses and false signals; ``missing_data`` is
the share of enterprises (or projects) a source has no record of. Neither
touches the truth. Randomness comes from the observation stream only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from simulators.world.district import ROLE_GENERAL, District
from simulators.world.gatherings import TENSION_TOPIC, reports, tension_voices
from simulators.world.latent import Latent
from simulators.world.scenario import INDUSTRIES, TOPICS, Scenario
from simulators.world.truth import spring_festival_days

MONTH = 30.44
IND = {k: i for i, k in enumerate(INDUSTRIES)}
LABOUR = np.array([IND["construction"], IND["manufacturing_labour"], IND["catering"]])
CONSUMER = np.array([IND["catering"], IND["retail"], IND["services"]])

RawEvent = tuple[float, str, dict]
"""(event day since start, data class, class fields without event_id/occurred_at/source)"""


@dataclass
class View:
    """One distress or arrears episode of one enterprise, as daily flags from ``day0``."""

    ent: int
    day0: int
    defer_si: np.ndarray
    defer_util: np.ndarray
    stall: np.ndarray
    arrears: np.ndarray
    shed: np.ndarray
    credit: np.ndarray
    cash: np.ndarray
    sudden: str = ""

    def at(self, day: float) -> int:
        """Index for ``day`` or -1 if outside the episode."""
        j = int(np.floor(day)) - self.day0
        return j if 0 <= j < len(self.arrears) else -1


def views(lat: Latent, d: District) -> list[View]:
    t = lat.traj
    out = [View(int(t.enterprise[k]), int(t.onset[k]), t.defer_si[k, :n], t.defer_util[k, :n], t.stall[k, :n],
                t.arrears[k, :n], t.shed[k, :n], t.credit[k, :n], t.cash[k, :n])
           for k, n in enumerate(t.length.tolist())]
    su = lat.sudden
    for i, a, b, cause in zip(su.enterprise.tolist(), su.start.tolist(), su.end.tolist(), su.cause):
        n = int(b - a)
        ones = np.ones(n, bool)
        stall = ones if (d.role[i] == ROLE_GENERAL or cause == "developer_default") else np.zeros(n, bool)
        out.append(View(i, int(a), ones, ones, stall, ones, np.full(n, 0.3, np.float32), np.ones(n, np.float32),
                        np.full(n, -0.5, np.float32), cause))
    return out


class Observer:
    def __init__(self, s: Scenario, d: District, lat: Latent, rng: np.random.Generator) -> None:
        self.s, self.d, self.lat, self.rng = s, d, lat, rng
        self.nu = s.signal_noise
        self.false_mult = 0.5 + self.nu
        self.events: list[RawEvent] = []
        n = len(d)
        miss = s.missing_data
        self.has = {src: rng.random(n) >= miss for src in ("water", "power", "si")}
        self.project_account = rng.random(len(d.projects)) >= miss
        self.views = views(lat, d)
        self.months = int(np.ceil(s.days / MONTH)) + 1
        self.sf = spring_festival_days(s.start, -60, s.days + 60)
        self.bill_day = rng.uniform(0, 28, n)
        self.shocks = int(round(s.sources.industry_shocks_per_year * s.days / 365.0))
        """industry-wide late months per source over the span"""

    def emit(self, day: float, cls: str, fields: dict) -> None:
        if 0.0 <= day < self.s.days:
            self.events.append((float(day), cls, fields))

    def keep(self, base: float = 0.3) -> bool:
        """Does the source report this record? (noise loses some)"""
        return self.rng.random() >= base * self.nu

    # -- utilities -------------------------------------------------------------------------
    def utilities(self) -> None:
        d, rng = self.d, self.rng
        for kind, cls, bill in (("water", "water_arrears", d.water_bill), ("power", "electricity_arrears", d.power_bill)):
            has = self.has[kind]
            for v in self.views:
                if not has[v.ent]:
                    continue
                months = 0
                first = int(np.floor((v.day0 - self.bill_day[v.ent]) / MONTH))
                for m in range(first, first + len(v.arrears) // 28 + 3):
                    day = m * MONTH + self.bill_day[v.ent]
                    j = v.at(day)
                    flagged = j >= 0 and bool(v.defer_util[j])
                    prev, months = months, (months + 1 if flagged else 0)
                    if months == 0 and prev == 0:
                        continue
                    if j < 0 and prev == 0:
                        break
                    if self.keep(0.3):
                        self._bill(day + rng.uniform(1, 6), cls, v.ent, months, bill[v.ent], months >= 3 and rng.random() < 0.3)
                    if months == 0:
                        break
            # healthy enterprises: one late month now and then, paid the next month
            n = len(d)
            late = rng.random((n, self.months)) < 0.004 * self.false_mult
            # industry-wide late months (a billing-system change, a holiday)
            for _ in range(self.shocks):
                ind = int(rng.integers(0, len(INDUSTRIES)))
                month = int(rng.integers(0, self.months))
                late[:, month] |= (d.industry == ind) & (rng.random(n) < self.s.sources.industry_shock_share)
            for i, m in zip(*np.nonzero(late & has[:, None])):
                day = m * MONTH + self.bill_day[i]
                self._bill(day + rng.uniform(1, 6), cls, int(i), 1, bill[i], False)
                self._bill(day + MONTH + rng.uniform(1, 6), cls, int(i), 0, bill[i], False)

    def _bill(self, day: float, cls: str, i: int, months: int, usual: float, cut: bool) -> None:
        jitter = float(self.rng.lognormal(0.0, 0.1 + 0.3 * self.nu))
        self.emit(day, cls, {"enterprise_id": self.d.uscc[i], "months_overdue": months,
                             "overdue_amount": round(months * usual * jitter, 2), "usual_monthly_bill": round(float(usual), 2),
                             "disconnected": bool(cut)})

    # -- social insurance ------------------------------------------------------------------
    def social_insurance(self) -> None:
        d, rng = self.d, self.rng
        has = self.has["si"]
        for v in self.views:
            if not has[v.ent]:
                continue
            insured = int(d.employees[v.ent])
            unpaid = 0
            first = int(np.floor(v.day0 / MONTH))
            for m in range(first, first + len(v.arrears) // 28 + 3):
                end = (m + 1) * MONTH
                j = v.at(end)
                deferring = j >= 0 and bool(v.defer_si[j])
                prev, unpaid = unpaid, (unpaid + 1 if deferring else 0)
                shed = float(v.shed[j]) if j >= 0 else 0.0
                paid = int(round(insured * (1 - shed) * (rng.uniform(0, 0.4) if deferring else 1.0)))
                if unpaid == 0 and prev == 0 and paid >= 0.92 * insured:
                    if j < 0 and m > first:
                        break
                    continue
                if self.keep(0.25):
                    self._si(end + rng.uniform(*self.s.sources.si_report_lag_days), v.ent, unpaid, insured, paid)
                if j < 0 and unpaid == 0:
                    break
        n = len(d)
        admin = rng.random((n, self.months)) < 0.002 * self.false_mult
        for i, m in zip(*np.nonzero(admin & has[:, None])):
            end = (m + 1) * MONTH
            ins = int(d.employees[i])
            self._si(end + 30 + rng.uniform(5, 20), int(i), 1, ins, 0)
            self._si(end + MONTH + 30 + rng.uniform(5, 20), int(i), 0, ins, ins)
        # migrant workers leave early for the Spring Festival: paid headcount drops at healthy labour-intensive firms
        for sf in self.sf:
            m = int(np.floor(sf / MONTH))
            pick = np.flatnonzero(np.isin(d.industry, LABOUR) & has & (rng.random(n) < 0.15 * self.false_mult)
                                  & (d.employees >= 10))
            for i in pick.tolist():
                ins = int(d.employees[i])
                self._si((m + 1) * MONTH + 30 + rng.uniform(5, 20), i, 0, ins, int(ins * rng.uniform(0.6, 0.9)))

    def _si(self, day: float, i: int, months: int, insured: int, paid: int) -> None:
        owed = months * insured * 1500.0 * float(self.rng.lognormal(0, 0.1))
        self.emit(day, "social_insurance_arrears", {"enterprise_id": self.d.uscc[i], "months_unpaid": months,
                                                    "amount_owed": round(owed, 2), "insured_headcount": insured,
                                                    "paid_headcount": min(paid, insured)})

    # -- courts and market regulation ------------------------------------------------------
    def courts(self) -> None:
        d, rng = self.d, self.rng
        construction = IND["construction"]
        for v in self.views:
            i = v.ent
            n = len(v.arrears)
            hazard = (0.006 * (v.credit > 0.7) + 0.01 * ((v.cash < 0.5) & (v.credit > 0.9)) + 0.02 * v.arrears)
            if v.sudden:
                hazard = np.full(n, 0.03)
            days = v.day0 + np.flatnonzero(rng.random(n) < hazard)
            worst_end = bool(v.arrears.any())
            for k, day in enumerate(days.tolist()):
                labour = bool(v.arrears[day - v.day0])
                ctype = "labour" if labour else ("construction" if d.industry[i] == construction else
                                                 str(rng.choice(["contract", "loan"])))
                self._suit(day + rng.uniform(20, 75), i, ctype, judged=("judged_against" if rng.random() < 0.7 else "settled"),
                           lag=rng.uniform(90, 180), blacklist=worst_end and rng.random() < 0.6)
            if (v.sudden == "owner_absconds" or (v.cash < 0.2).any()) and rng.random() < (0.8 if v.sudden else 0.15):
                start = v.day0 + (rng.uniform(20, 60) if v.sudden else float(np.argmax(v.cash < 0.2)) + rng.uniform(10, 40))
                if self.keep(0.2):
                    self.emit(start, "market_penalty", {"enterprise_id": d.uscc[i], "kind": "abnormal_operations", "amount": 0.0})
        # healthy enterprises: sued (and mostly win or settle), a rare blacklisting, fines, annual-report listings
        n = len(d)
        years = self.s.days / 365.0
        rate = 0.02 * np.where(d.industry == construction, 3.0, 1.0) * self.false_mult * years
        for i in np.flatnonzero(rng.random(n) < rate).tolist():
            outcome = str(rng.choice(["judged_for", "settled", "dismissed", "judged_against"], p=[0.45, 0.3, 0.1, 0.15]))
            self._suit(rng.uniform(0, self.s.days), i, str(rng.choice(["contract", "loan", "construction"])),
                       judged=outcome, lag=rng.uniform(90, 200), blacklist=False)
        for i in np.flatnonzero(rng.random(n) < 0.03 * years).tolist():
            self.emit(rng.uniform(0, self.s.days), "litigation", {"enterprise_id": d.uscc[i], "role": "plaintiff",
                      "status": "filed", "case_type": "contract", "amount": round(float(rng.lognormal(np.log(80000), 1)), 2),
                      "case_number": f"(2025)浙0110民初{int(rng.integers(1000, 99999))}号"})
        for i in np.flatnonzero(rng.random(n) < 0.001 * self.false_mult * years).tolist():
            day = rng.uniform(0, self.s.days)
            self.emit(day, "court_blacklist", {"enterprise_id": d.uscc[i], "action": "listed",
                                               "case_number": f"(2024)浙0110执{int(rng.integers(1000, 9999))}号",
                                               "amount": round(float(rng.lognormal(np.log(50000), 1)), 2)})
            self.emit(day + rng.uniform(30, 90), "court_blacklist", {"enterprise_id": d.uscc[i], "action": "removed",
                                                                      "case_number": "", "amount": 0.0})
        fine_rate = 0.01 * np.where(np.isin(d.industry, CONSUMER), 2.0, 1.0) * self.false_mult * years
        for i in np.flatnonzero(rng.random(n) < fine_rate).tolist():
            self.emit(rng.uniform(0, self.s.days), "market_penalty", {"enterprise_id": d.uscc[i], "kind": "fine",
                                                                     "amount": round(float(rng.lognormal(np.log(5000), 0.8)), 2)})
        # annual reports are due on 30 June; small firms that miss it are listed in July
        july = (date(self.s.start.year, 7, 10) - self.s.start).days
        if july < 0:
            july = (date(self.s.start.year + 1, 7, 10) - self.s.start).days
        for i in np.flatnonzero(rng.random(n) < 0.01 * self.false_mult).tolist():
            day = july + rng.uniform(0, 20)
            self.emit(day, "market_penalty", {"enterprise_id": d.uscc[i], "kind": "abnormal_operations", "amount": 0.0})
            self.emit(day + rng.uniform(20, 120), "market_penalty", {"enterprise_id": d.uscc[i],
                                                                    "kind": "removed_from_abnormal", "amount": 0.0})

    def _suit(self, day: float, i: int, ctype: str, judged: str, lag: float, blacklist: bool) -> None:
        rng = self.rng
        if not self.keep(0.2):
            return
        case = f"(2025)浙0110民初{int(rng.integers(1000, 99999))}号"
        amount = round(float(rng.lognormal(np.log(150000), 1.0)), 2)
        base = {"enterprise_id": self.d.uscc[i], "role": "defendant"}
        self.emit(day, "litigation", {**base, "status": "filed", "case_type": ctype, "amount": amount, "case_number": case})
        self.emit(day + lag, "litigation", {**base, "status": judged, "case_type": ctype, "amount": amount, "case_number": case})
        if judged == "judged_against" and blacklist:
            self.emit(day + lag + rng.uniform(60, 120), "court_blacklist",
                      {"enterprise_id": self.d.uscc[i], "action": "listed", "case_number": case.replace("民初", "执"),
                       "amount": amount})

    # -- construction ----------------------------------------------------------------------
    def construction(self) -> None:
        d, rng, p = self.d, self.rng, self.d.projects
        by_ent: dict[int, list[View]] = {}
        for v in self.views:
            by_ent.setdefault(v.ent, []).append(v)
        defaults = {dev: day for dev, day in self.lat.developer_defaults}
        year, month0 = self.s.start.year, self.s.start.month
        for k in range(len(p)):
            i, dev = int(p.contractor[k]), int(p.developer[k])
            pid = f"P{self.s.geography.district}-{k:05d}"
            for m in range(self.months):
                day = m * MONTH + rng.uniform(0, 10)
                state = "active"
                short = False
                for v in by_ent.get(i, []):
                    j = v.at(day)
                    if j >= 0 and (v.stall[j] or v.arrears[j]):
                        state = "stalled"
                    if j >= 0 and (v.cash[j] < 0.3 or v.arrears[j]):
                        short = True
                if dev in defaults and day >= defaults[dev]:
                    state, short = "stalled", True
                if state == "active" and rng.random() < 0.01 * self.false_mult:
                    state = "suspended"      # environmental inspection, permit, weather
                workers = int(p.workers[k] * (0.3 if state != "active" else rng.uniform(0.85, 1.1)))
                if self.keep(0.2):
                    self.emit(day, "construction_project", {"enterprise_id": d.uscc[i], "project_id": pid,
                              "developer_id": d.uscc[dev] if dev >= 0 else None, "area_code": d.grid_codes[int(p.grid[k])],
                              "status": state, "workers_on_site": workers})
                if not self.project_account[k]:
                    continue
                due = float(p.workers[k]) * 6500.0
                if short:
                    paid = due * rng.uniform(0.0, 0.6)
                elif rng.random() < 0.02 * self.false_mult:
                    paid = due * rng.uniform(0.7, 0.95)     # a late transfer, made good next month
                else:
                    paid = due
                yy, mm = divmod(month0 - 1 + m, 12)
                if self.keep(0.2):
                    self.emit((m + 1) * MONTH + rng.uniform(5, 15), "wage_account", {
                        "enterprise_id": d.uscc[i], "project_id": pid, "period": f"{year + yy:04d}-{mm + 1:02d}",
                        "payroll_due": round(due, 2), "payroll_paid": round(paid, 2),
                        "deposit_balance": round(float(p.workers[k]) * 2000.0, 2)})

    # -- workers' voice: complaints, petitions, public opinion -----------------------------
    def voices(self) -> None:
        d, rng = self.d, self.rng
        named = 0.8 - 0.4 * self.nu
        construction = IND["construction"]
        for v in self.views:
            i = v.ent
            w = float(d.employees[i])
            root = np.sqrt(max(w, 1.0))
            late = (v.cash < 0.3) & ~v.arrears
            n = len(v.arrears)
            topic = "construction_payment" if d.industry[i] == construction and rng.random() < 0.4 else "wage"
            unpaid = self._voiced(v)
            rate_c = 0.04 * root * unpaid + 0.008 * self.s.sources.voices_before_onset * root * late
            for j in np.flatnonzero(rng.random(n) < np.minimum(rate_c, 0.9)).tolist():
                self._complaint(v.day0 + j + rng.uniform(0.3, 0.8), i, topic, int(rng.integers(1, 4)), rng.random() < named)
            rate_p = 0.01 * root * unpaid
            for j in np.flatnonzero(rng.random(n) < np.minimum(rate_p, 0.5)).tolist():
                self._petition(v.day0 + j + rng.uniform(0.3, 0.7), i, topic, 1, False, rng.random() < named + 0.1)
            arr = np.flatnonzero(v.arrears)
            if len(arr) and w >= 10 and rng.random() < 0.3:
                people = int(np.clip(w * rng.uniform(0.1, 0.5), 5, 300))
                self._petition(v.day0 + arr[0] + rng.uniform(3, 20), i, topic, people, True, True)
            rate_o = 0.004 * root * unpaid
            for j in np.flatnonzero(rng.random(n) < rate_o).tolist():
                self.emit(v.day0 + j + rng.uniform(0, 1), "public_opinion", {
                    "enterprise_id": d.uscc[i] if rng.random() < named else None, "area_code": d.area(i),
                    "wage_related": True, "sentiment": round(float(rng.uniform(-1.0, -0.4)), 3),
                    "reach": int(rng.lognormal(np.log(2000), 1.2))})
        # healthy enterprises: a single worker's wage dispute, complaints about something else, bad reviews
        n = len(d)
        years = self.s.days / 365.0
        size = np.sqrt(np.maximum(d.employees, 1) / 20.0)
        dispute = 0.02 * self.s.sources.healthy_wage_complaints
        for i in np.flatnonzero(rng.random(n) < np.minimum(dispute * size * self.false_mult * years, 0.5)).tolist():
            self._complaint(rng.uniform(0, self.s.days), i, "wage", 1, True)
        other = np.where(np.isin(d.industry, CONSUMER), 0.3, 0.08) * self.false_mult * years
        for i in np.flatnonzero(rng.random(n) < np.minimum(other, 0.9)).tolist():
            topic = "consumer" if d.industry[i] in CONSUMER else str(rng.choice(["environment", "other"]))
            self._complaint(rng.uniform(0, self.s.days), i, topic, 1, True)
        for i in np.flatnonzero(rng.random(n) < 0.003 * self.false_mult * years).tolist():
            self._petition(rng.uniform(0, self.s.days), i, str(rng.choice(["property", "environment", "other"])), 1, False, True)
        consumer = np.flatnonzero(np.isin(d.industry, CONSUMER))
        for i in consumer[rng.random(len(consumer)) < 0.02 * self.false_mult * years].tolist():
            self.emit(rng.uniform(0, self.s.days), "public_opinion", {
                "enterprise_id": d.uscc[i], "area_code": d.area(i), "wage_related": False,
                "sentiment": round(float(rng.uniform(-0.9, -0.2)), 3), "reach": int(rng.lognormal(np.log(500), 1.0))})

    def _voiced(self, v: View) -> np.ndarray:
        """Days on which workers complain about unpaid wages: the arrears, after this world's delay."""
        lo, hi = self.s.sources.voices_delay_days
        if hi <= 0:
            return v.arrears
        days = np.arange(len(v.arrears))
        first = int(np.argmax(v.arrears)) if v.arrears.any() else len(days)
        return v.arrears & (days >= first + self.rng.uniform(lo, hi))

    def _complaint(self, day: float, i: int, topic: str, callers: int, named: bool) -> None:
        self.emit(day, "hotline_complaint", {"enterprise_id": self.d.uscc[i] if named else None,
                                             "area_code": self.d.area(i), "topic": topic, "callers": callers})

    def _petition(self, day: float, i: int, topic: str, people: int, collective: bool, named: bool) -> None:
        self.emit(day, "petition", {"enterprise_id": self.d.uscc[i] if named else None, "area_code": self.d.area(i),
                                    "topic": topic, "petitioners": people, "collective": collective})

    # -- gatherings ------------------------------------------------------------------------
    def gatherings(self) -> None:
        rng = self.rng
        for inc in self.lat.incidents:
            if not 0 <= inc.start < self.s.days:
                continue
            cause = inc.cause if rng.random() >= 0.3 * self.nu else "other"
            for day, count in reports(inc, rng, self.nu):
                self.emit(day, "gathering_report", {"area_code": inc.area_code, "gathering_id": inc.gathering_id,
                                                    "headcount": count, "cause": cause, "enterprise_id": inc.enterprise_id})
        # building tension: its own stream, so a world without it observes every other record as before; the
        # voices name no enterprise (people complain about a site, a compound, a boss), so the wage-arrears
        # engine sees none of them and only the area's counts rise
        trng = np.random.default_rng([self.s.seed, 2324])
        for inc in self.lat.incidents:
            if not inc.tension_days or not 0 <= inc.start < self.s.days:
                continue
            topic = TENSION_TOPIC[inc.cause]
            for day, cls, people in tension_voices(inc, trng):
                if cls == "hotline_complaint":
                    self.emit(day, cls, {"enterprise_id": None, "area_code": inc.area_code, "topic": topic,
                                         "callers": people})
                else:
                    self.emit(day, cls, {"enterprise_id": None, "area_code": inc.area_code, "topic": topic,
                                         "petitioners": people, "collective": people >= 5})

    def observe(self) -> list[RawEvent]:
        self.utilities()
        self.social_insurance()
        self.courts()
        self.construction()
        self.voices()
        self.gatherings()
        self.habits()
        return self.events

    # -- healthy firms that look distressed ------------------------------------------------
    def habits(self) -> None:
        """Chronic late payers and industry-wide late social-insurance months (drawn last, so a world
        without them draws exactly as before).

        A chronic late payer is a healthy firm that pays its social insurance
        and its utility bills a month late now and then, year after year, and
        catches up the month after: a signal that says nothing new about it.
        """
        src, d, rng = self.s.sources, self.d, self.rng
        n = len(d)
        si_late = np.zeros((n, self.months), bool)
        for _ in range(self.shocks):
            ind = int(rng.integers(0, len(INDUSTRIES)))
            month = int(rng.integers(0, self.months))
            si_late[:, month] |= (d.industry == ind) & (rng.random(n) < src.industry_shock_share)
        chronic = np.zeros(n, bool)
        if src.chronic_late_share > 0:
            chronic = rng.random(n) < src.chronic_late_share
            si_late |= chronic[:, None] & (rng.random((n, self.months)) < src.chronic_late_monthly)
        for i, m in zip(*np.nonzero(si_late & self.has["si"][:, None])):
            end = (m + 1) * MONTH
            ins = int(d.employees[i])
            months = 2 if rng.random() < 0.15 else 1
            self._si(end + rng.uniform(*src.si_report_lag_days), int(i), months, ins,
                     int(ins * rng.uniform(0.3, 1.0)))
            self._si(end + months * MONTH + rng.uniform(*src.si_report_lag_days), int(i), 0, ins, ins)
        if not chronic.any():
            return
        for kind, cls, bill in (("water", "water_arrears", d.water_bill), ("power", "electricity_arrears", d.power_bill)):
            late = chronic[:, None] & self.has[kind][:, None] & (rng.random((n, self.months)) < src.chronic_late_monthly)
            for i, m in zip(*np.nonzero(late)):
                day = m * MONTH + self.bill_day[i]
                months = 2 if rng.random() < 0.15 else 1
                self._bill(day + rng.uniform(1, 6), cls, int(i), months, bill[i], False)
                self._bill(day + months * MONTH + rng.uniform(1, 6), cls, int(i), 0, bill[i], False)


def background_hotline(s: Scenario, d: District, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """District-wide 12345 load that names no enterprise: (day, grid, topic index) arrays.

    Weekends are quieter, wage topics double in the month before the Spring
    Festival, scenario surges raise one topic, a compound surge adds
    complaints at one grid.
    """
    share = np.array([0.05, 0.02, 0.03, 0.25, 0.15, 0.25, 0.25])
    share = share / share.sum()
    days = np.arange(s.days)
    weekday = (s.start.toordinal() + 6 + days) % 7       # 0 = Monday, as date.weekday()
    base = s.hotline_per_day * np.where(weekday >= 5, 0.6, 1.08)
    rate = base[:, None] * share[None, :]
    for sf in spring_festival_days(s.start, -60, s.days + 60):
        lo, hi = int(max(sf - 30, 0)), int(min(max(sf, 0), s.days))
        rate[lo:hi, TOPICS.index("wage")] *= 2.0
        rate[lo:hi, TOPICS.index("construction_payment")] *= 2.0
    for sg in s.surges:
        rate[sg.start_day:sg.start_day + sg.days, TOPICS.index(sg.topic)] *= sg.factor_yoy
    counts = rng.poisson(rate)
    day_idx, topic_idx = np.nonzero(counts)
    reps = counts[day_idx, topic_idx]
    day = np.repeat(day_idx, reps) + rng.uniform(0.3, 0.9, int(reps.sum()))
    topic = np.repeat(topic_idx, reps)
    grid = rng.integers(0, len(d.grid_codes), len(day))
    if s.compound_surge is not None:
        c = s.compound_surge
        g = int(rng.integers(0, len(d.grid_codes)))
        extra = rng.uniform(c.start_day, min(c.start_day + c.days, s.days), c.complaints)
        day = np.concatenate([day, extra])
        topic = np.concatenate([topic, np.full(len(extra), TOPICS.index(c.topic))])
        grid = np.concatenate([grid, np.full(len(extra), g)])
    order = np.argsort(day, kind="stable")
    return day[order], grid[order], topic[order]
