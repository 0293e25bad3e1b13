"""Schema of the wage-arrears rule file: weights, half-lives, thresholds, deadlines.

Every alert carries the file's ``version``, so verification outcomes can be
attributed to the rules that produced them.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from detectors.evidence import SIGNALS

LEVELS: tuple[str, ...] = ("blue", "yellow", "red")
"""Warning colours, least to most serious."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalRule(_Strict):
    weight: float = Field(ge=0, description="log-odds per unit of (saturated) evidence")
    half_life_days: float = Field(gt=0, description="evidence halves after this many days")
    combine: Literal["max", "sum"] = Field(
        description="'max' for state reports (months overdue), 'sum' for incidents (suits, complaints)")
    cap: float = Field(default=3.0, gt=0, description="evidence saturates here so no one channel dominates")
    label: str = Field(description="plain words for an inspector")


class LevelThresholds(_Strict):
    blue: float = Field(gt=0, lt=1)
    yellow: float = Field(gt=0, lt=1)
    red: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> "LevelThresholds":
        if not self.blue < self.yellow < self.red:
            raise ValueError(f"thresholds must rise blue < yellow < red, got {self.blue}, {self.yellow}, {self.red}")
        return self

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.blue, self.yellow, self.red)


class Deadlines(_Strict):
    """Days to handle an alert of each level (DESIGN §2: red 7 at district, yellow 3 at street, blue on the spot)."""

    blue: float = Field(default=1, gt=0)
    yellow: float = Field(default=3, gt=0)
    red: float = Field(default=7, gt=0)


class Calibration(_Strict):
    """A monotone map from the model's raw log-odds to the probability observed on simulated truth.

    Why: a logistic over saturating evidence ranks well but is too sure at the
    top and too shy in the middle (the reliability table shows it); an isotonic
    fit (``earlywarn fit``) corrects the numbers an inspector reads and the
    expected harm, without changing the order of enterprises.
    """

    logit: list[float] = Field(min_length=2, description="raw log-odds knots, strictly increasing")
    probability: list[float] = Field(min_length=2, description="calibrated probability at each knot, non-decreasing")

    @model_validator(mode="after")
    def _monotone(self) -> "Calibration":
        if len(self.logit) != len(self.probability):
            raise ValueError(f"logit has {len(self.logit)} knots but probability {len(self.probability)}")
        if any(b <= a for a, b in zip(self.logit, self.logit[1:])):
            raise ValueError("logit knots must be strictly increasing")
        if any(b < a for a, b in zip(self.probability, self.probability[1:])):
            raise ValueError("probability must not decrease from knot to knot")
        if not all(0.0 < q < 1.0 for q in self.probability):
            raise ValueError("every calibrated probability must lie strictly between 0 and 1")
        return self


class RuleFile(_Strict):
    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    intercept: float = Field(description="log-odds of 90-day arrears with no evidence, before the industry prior")
    industry_prior: dict[str, float] = Field(default_factory=dict, description="log-odds offset per industry")
    signals: dict[str, SignalRule]
    thresholds: LevelThresholds
    hysteresis: float = Field(default=0.05, ge=0, lt=1, description="a level is left only below threshold − hysteresis")
    deadlines_days: Deadlines = Deadlines()
    horizon_days: int = Field(default=90, gt=0)
    calibration: Calibration | None = Field(default=None, description="raw log-odds → probability; absent: the logistic")

    @model_validator(mode="after")
    def _known_signals(self) -> "RuleFile":
        unknown = sorted(set(self.signals) - set(SIGNALS))
        if unknown:
            raise ValueError(f"unknown signal(s) {unknown}; known: {list(SIGNALS)}")
        missing = sorted(set(SIGNALS) - set(self.signals))
        if missing:
            raise ValueError(f"signal(s) {missing} missing; every signal needs a rule (weight 0 to switch one off)")
        if self.hysteresis >= self.thresholds.blue:
            raise ValueError(f"hysteresis {self.hysteresis} must be below the blue threshold {self.thresholds.blue}")
        return self
