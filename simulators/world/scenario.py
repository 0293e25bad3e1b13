"""Scenario files: the parameters of one simulated district, validated on load.

A scenario is a YAML file in ``simulators/world/scenarios/``. Unknown keys are
refused and every error names the field and the value, so a typo in a
scenario cannot silently fall back to a default.

>>> s = load_scenario("quiet")
>>> s.name, s.arrears.distress_rate
('quiet', 0.0)
>>> parse_scenario("name: x\\nenterprises: -5\\n", "bad.yaml")
Traceback (most recent call last):
...
simulators.world.scenario.ScenarioError: bad.yaml: enterprises: Input should be greater than or equal to 10 (got -5)
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from earlywarn.validation import parse_yaml_model, validate_mapping

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

INDUSTRIES: tuple[str, ...] = (
    "construction", "manufacturing_labour", "manufacturing", "catering", "retail",
    "logistics", "services", "real_estate", "other",
)
TOPICS: tuple[str, ...] = (
    "wage", "construction_payment", "social_insurance", "property", "environment", "consumer", "other",
)
FAULT_SOURCES: tuple[str, ...] = (
    "water_arrears", "electricity_arrears", "social_insurance_arrears", "court_blacklist", "litigation",
    "market_penalty", "construction_project", "wage_account", "hotline_complaint", "petition", "public_opinion",
)


def _known_industries(v: dict[str, float]) -> None:
    """Refuse a per-industry table that names an industry the simulator does not have."""
    unknown = sorted(set(v) - set(INDUSTRIES))
    if unknown:
        raise ValueError(f"unknown industry {unknown[0]!r}; known: {list(INDUSTRIES)}")


class ScenarioError(ValueError):
    """A scenario file that cannot be read or fails its schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Geography(_Strict):
    district: str = Field(default="330110", pattern=r"^\d{6}$", description="6-digit county division code")
    streets: int = Field(default=20, ge=1, le=999)
    communities_per_street: int = Field(default=15, ge=1, le=999)
    grids_per_community: int = Field(default=5, ge=1, le=999)


class Arrears(_Strict):
    """The latent dynamics: how often enterprises fall into distress and how it ends."""

    distress_rate: float = Field(default=0.045, ge=0, le=1,
                                 description="gradual distress onsets per enterprise-year (before industry risk)")
    recovery_share: float = Field(default=0.82, ge=0, le=1,
                                  description="share of gradual distress onsets whose fate is to recover")
    sudden_share: float = Field(default=0.22, ge=0, lt=1,
                                description="target share of arrears episodes that are sudden (no precursor)")
    industry_risk: dict[str, float] = Field(default_factory=lambda: {
        "construction": 4.0, "manufacturing_labour": 2.5, "catering": 1.0, "logistics": 1.0,
        "manufacturing": 0.7, "retail": 0.5, "services": 0.35, "real_estate": 1.0, "other": 0.5})
    spring_festival_settlement: float = Field(
        default=0.6, ge=0, description="extra payroll months due before the Spring Festival (construction, "
        "labour-intensive manufacturing): the year-end wage settlement")
    developer_defaults: int = Field(default=1, ge=0, description="developers that go bankrupt owing construction payments")

    @field_validator("industry_risk")
    @classmethod
    def _industries(cls, v: dict[str, float]) -> dict[str, float]:
        _known_industries(v)
        if any(x < 0 for x in v.values()):
            raise ValueError("industry risk multipliers must be ≥ 0")
        return v


class Faults(_Strict):
    """Source-system faults, applied to delivery only (never to the ground truth)."""

    outages: int = Field(default=3, ge=0, description="sources that go silent for weeks")
    outage_days: tuple[int, int] = Field(default=(14, 42), description="min and max length of an outage, days")
    outage_backfill_share: float = Field(default=0.5, ge=0, le=1,
                                         description="share of outages whose events arrive late in one burst at the end")
    late_share: float = Field(default=0.02, ge=0, le=1, description="share of events delivered 1–20 days late")
    duplicate_share: float = Field(default=0.01, ge=0, le=1, description="share of events delivered twice")
    malformed_share: float = Field(default=0.002, ge=0, le=1, description="share of events that arrive malformed")

    @field_validator("outage_days")
    @classmethod
    def _range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1]:
            raise ValueError(f"need 1 ≤ min ≤ max, got {list(v)}")
        return v


def _range_check(v: tuple[float, float]) -> tuple[float, float]:
    if not 0 <= v[0] <= v[1]:
        raise ValueError(f"need 0 ≤ min ≤ max, got {list(v)}")
    return v


class Sources(_Strict):
    """When and how each source system reacts to distress, and how often healthy firms look distressed.

    The defaults are the ``yuhang`` world. Another world moves them: sources
    that react at other times (complaints only once wages are unpaid, social
    insurance deferred only just before), chronic late payers, industry-wide
    late months. A detector's figures count only if they hold across worlds.
    """

    voices_before_onset: float = Field(
        default=1.0, ge=0, description="complaints, petitions and opinion while wages are still paid but cash is "
        "short, relative to the yuhang rate (0.008·√workers a day); 0 = workers speak only once wages are unpaid")
    voices_delay_days: tuple[float, float] = Field(
        default=(0.0, 0.0), description="days after the arrears begin before workers start complaining (uniform)")
    si_defer_share: float = Field(default=0.75, ge=0, le=1,
                                  description="share of distressed firms that defer social insurance at all")
    si_defer_cash: tuple[float, float] = Field(
        default=(0.5, 1.0), description="cash (months of payroll) below which a firm defers social insurance "
        "(uniform per firm); lower = later, closer to the arrears")
    util_defer_share: float = Field(default=0.55, ge=0, le=1,
                                    description="share of distressed firms that defer utility bills at all")
    util_defer_cash: tuple[float, float] = Field(default=(0.2, 0.7), description="as si_defer_cash, for utility bills")
    si_report_lag_days: tuple[float, float] = Field(
        default=(35.0, 50.0), description="days from the end of a contribution month to its arrears report")
    chronic_late_share: float = Field(
        default=0.0, ge=0, le=1, description="healthy firms that pay social insurance and utility bills late as a "
        "habit (a late month, then caught up), year after year")
    chronic_late_monthly: float = Field(default=0.35, ge=0, le=1,
                                        description="chance of a late month for a chronic late payer")
    industry_shocks_per_year: float = Field(
        default=1.0, ge=0, description="industry-wide late months per source (water, electricity, social "
        "insurance) and year: a billing-system change, a holiday, a bad month for the trade")
    industry_shock_share: float = Field(default=0.15, ge=0, le=1,
                                        description="share of the industry's firms late in such a month")
    healthy_wage_complaints: float = Field(
        default=1.0, ge=0, description="single-worker wage disputes at healthy firms, relative to yuhang")

    _ranges = field_validator("voices_delay_days", "si_defer_cash", "util_defer_cash", "si_report_lag_days")(
        classmethod(lambda cls, v: _range_check(v)))


class Gatherings(_Strict):
    escalation_share: float = Field(default=0.12, ge=0, le=1,
                                    description="share of arrears episodes with ≥ 20 workers that escalate to a gathering")
    unrelated_per_month: float = Field(default=1.0, ge=0, description="gatherings with no wage cause, per month")
    tension_share: float = Field(default=0.0, ge=0, le=1,
                                 description="share of wage gatherings (half that of others) preceded by 4–14 days "
                                 "of rising complaints and petitions in their grid; the rest come with no warning")


class Surge(_Strict):
    """A hotline topic running above last year's level."""

    topic: str
    factor_yoy: float = Field(gt=0, description="this year's rate over the same period last year, e.g. 1.7251")
    start_day: int = Field(ge=0)
    days: int = Field(ge=1)

    @field_validator("topic")
    @classmethod
    def _topic(cls, v: str) -> str:
        if v not in TOPICS:
            raise ValueError(f"unknown topic {v!r}; known: {list(TOPICS)}")
        return v


class CompoundSurge(_Strict):
    """Many complaints about one residential compound in one month."""

    topic: str = "property"
    start_day: int = Field(ge=0)
    days: int = Field(default=30, ge=1)
    complaints: int = Field(ge=1, description="extra complaints over the period, e.g. 331")


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    seed: int = Field(default=1, ge=0)
    enterprises: int = Field(default=2000, ge=10, le=1_000_000)
    start: date = date(2025, 3, 1)
    days: int = Field(default=365, ge=30, le=1100, description="days of events")
    warmup_days: int = Field(default=60, ge=0, description="episodes starting earlier are left out of recall")
    lookahead_days: int = Field(default=90, ge=0, description="truth simulated past the last event, for checks")
    geography: Geography = Geography()
    industry_mix: dict[str, float] = Field(default_factory=lambda: {
        "construction": 0.08, "manufacturing_labour": 0.14, "manufacturing": 0.14, "catering": 0.11,
        "retail": 0.18, "logistics": 0.06, "services": 0.21, "real_estate": 0.02, "other": 0.06})
    arrears: Arrears = Arrears()
    signal_noise: float = Field(default=0.5, ge=0, le=1,
                                description="0 = clean signals … 1 = very noisy; never changes the truth")
    missing_data: float = Field(default=0.15, ge=0, le=1,
                                description="share of enterprises a source has no record of (per source)")
    hotline_per_day: float = Field(default=770.0, ge=0, description="background hotline complaints per day, district-wide")
    surges: list[Surge] = Field(default_factory=list)
    compound_surge: CompoundSurge | None = None
    gatherings: Gatherings = Gatherings()
    sources: Sources = Sources()
    faults: Faults = Faults()
    inspectors: int = Field(default=40, ge=1, description="labour inspectors, for alerts per inspector per week")

    @field_validator("industry_mix")
    @classmethod
    def _mix(cls, v: dict[str, float]) -> dict[str, float]:
        _known_industries(v)
        if any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("shares must be ≥ 0 and not all zero")
        return v

    @model_validator(mode="after")
    def _window(self) -> "Scenario":
        if self.warmup_days >= self.days:
            raise ValueError(f"warmup_days {self.warmup_days} must be below days {self.days}")
        for i, s in enumerate(self.surges):
            if s.start_day >= self.days:
                raise ValueError(f"surges.{i}.start_day {s.start_day} is past the last day {self.days - 1}")
        return self

    def with_overrides(self, **changes: object) -> "Scenario":
        """A copy with some top-level fields changed, validated again."""
        data = self.model_dump()
        for key, value in changes.items():
            if "." in key:
                head, tail = key.split(".", 1)
                data[head] = {**data[head], tail: value}
            else:
                data[key] = value
        return _validate(data, f"scenario {self.name} with overrides")


def _validate(data: object, origin: str) -> Scenario:
    return validate_mapping(data, Scenario, origin, ScenarioError)


def parse_scenario(text: str, origin: str = "<string>") -> Scenario:
    return parse_yaml_model(text, Scenario, origin, ScenarioError)


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path, **overrides: object) -> Scenario:
    """Load a scenario by name (``yuhang``) or path; ``overrides`` change top-level fields."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ScenarioError(f"no scenario named {name_or_path!r}; known: {scenario_names()}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc.strerror or exc}") from None
    scenario = parse_scenario(text, str(path))
    return scenario.with_overrides(**overrides) if overrides else scenario


Kind = Literal["gradual", "sudden"]
