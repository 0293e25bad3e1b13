"""The synthetic district: enterprises, where they are, and construction projects.

Enterprises are columns of numpy arrays (25,000 of them must be cheap). Every
enterprise gets a valid unified social credit code (registered in the
district), an industry, a size and a grid. Construction is split into general
contractors (who hold projects and the project wage accounts) and labour
subcontractors; real-estate enterprises are the developers behind projects.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from earlywarn.identifiers import USCC_CHARSET, make_uscc
from simulators.world.scenario import INDUSTRIES, Scenario

ROLE_NONE, ROLE_GENERAL, ROLE_SUB, ROLE_DEVELOPER = 0, 1, 2, 3

_MEDIAN_SIZE = {"construction": 35, "manufacturing_labour": 60, "manufacturing": 25, "catering": 10,
                "retail": 6, "logistics": 15, "services": 8, "real_estate": 20, "other": 6}
_POWER_PER_HEAD = {"manufacturing_labour": 450.0, "manufacturing": 700.0, "catering": 350.0, "logistics": 250.0}


@dataclass
class Projects:
    contractor: np.ndarray       # enterprise index of the general contractor (wage account holder)
    developer: np.ndarray        # enterprise index of the developer, -1 if none
    grid: np.ndarray
    workers: np.ndarray

    def __len__(self) -> int:
        return len(self.contractor)


@dataclass
class District:
    district: str
    grid_codes: list[str]        # 15-digit codes, index = grid id
    uscc: list[str]
    names: list[str]
    industry: np.ndarray         # index into INDUSTRIES
    employees: np.ndarray
    grid: np.ndarray
    role: np.ndarray
    water_bill: np.ndarray
    power_bill: np.ndarray
    projects: Projects
    sub_project: np.ndarray      # project a subcontractor works on, -1 if none

    def __len__(self) -> int:
        return len(self.uscc)

    def industry_name(self, i: int) -> str:
        return INDUSTRIES[int(self.industry[i])]

    def area(self, i: int) -> str:
        return self.grid_codes[int(self.grid[i])]


def _org_code(k: int) -> str:
    chars = []
    for _ in range(7):
        k, r = divmod(k, 31)
        chars.append(USCC_CHARSET[r])
    return "MA" + "".join(reversed(chars))


def grid_codes(s: Scenario) -> list[str]:
    g = s.geography
    return [f"{g.district}{st:03d}{co:03d}{gr:03d}"
            for st in range(1, g.streets + 1)
            for co in range(1, g.communities_per_street + 1)
            for gr in range(1, g.grids_per_community + 1)]


def build_district(s: Scenario, rng: np.random.Generator) -> District:
    n = s.enterprises
    grids = grid_codes(s)
    mix = np.array([s.industry_mix.get(k, 0.0) for k in INDUSTRIES], dtype=float)
    industry = rng.choice(len(INDUSTRIES), size=n, p=mix / mix.sum())
    median = np.array([_MEDIAN_SIZE[k] for k in INDUSTRIES], dtype=float)[industry]
    employees = np.clip(np.round(median * rng.lognormal(0.0, 0.9, n)), 1, 5000).astype(np.int64)
    # enterprises cluster: a few grids are industrial parks or shopping streets
    weights = rng.lognormal(0.0, 1.2, len(grids))
    grid = rng.choice(len(grids), size=n, p=weights / weights.sum())

    role = np.zeros(n, dtype=np.int8)
    con = np.flatnonzero(industry == INDUSTRIES.index("construction"))
    role[con] = np.where(rng.random(len(con)) < 0.2, ROLE_GENERAL, ROLE_SUB)
    role[industry == INDUSTRIES.index("real_estate")] = ROLE_DEVELOPER

    general = np.flatnonzero(role == ROLE_GENERAL)
    developers = np.flatnonzero(role == ROLE_DEVELOPER)
    per = rng.integers(1, 4, len(general))
    p_con = np.repeat(general, per)
    p_dev = (rng.choice(developers, len(p_con)) if len(developers) else np.full(len(p_con), -1))
    projects = Projects(contractor=p_con, developer=p_dev,
                        grid=rng.choice(len(grids), len(p_con)),
                        workers=np.clip(np.round(rng.lognormal(np.log(80), 0.7, len(p_con))), 10, 1500).astype(np.int64))
    subs = np.flatnonzero(role == ROLE_SUB)
    sub_project = np.full(n, -1, dtype=np.int64)
    if len(p_con):
        sub_project[subs] = rng.integers(0, len(p_con), len(subs))
    # a general contractor's headcount covers at least its largest site
    if len(p_con):
        site_max = np.zeros(n, dtype=np.int64)
        np.maximum.at(site_max, p_con, projects.workers)
        employees = np.maximum(employees, site_max // 2)

    water = np.round(employees * 25.0 * rng.lognormal(0.0, 0.5, n), 2)
    per_head = np.array([_POWER_PER_HEAD.get(k, 150.0) for k in INDUSTRIES])[industry]
    power = np.round(employees * per_head * rng.lognormal(0.0, 0.5, n), 2)

    perm = rng.choice(31 ** 6, size=n, replace=False)
    uscc = [make_uscc(f"91{s.geography.district}{_org_code(int(k) + 31 ** 6)}") for k in perm]
    words = {"construction": "Construction", "manufacturing_labour": "Garment & Electronics",
             "manufacturing": "Machinery", "catering": "Catering", "retail": "Trading",
             "logistics": "Logistics", "services": "Services", "real_estate": "Real Estate Development",
             "other": "Enterprise"}
    names = [f"Hangzhou {words[INDUSTRIES[int(k)]]} Co. No.{i:05d}" for i, k in enumerate(industry)]
    return District(district=s.geography.district, grid_codes=grids, uscc=uscc, names=names,
                    industry=industry, employees=employees, grid=grid, role=role,
                    water_bill=water, power_bill=power, projects=projects, sub_project=sub_project)
