"""Schema of the wage-arrears rule file: evidence channels, two alert lists, each with its model and thresholds.

Two lists, two purposes (an inspector reviews one, acts on the other):

* ``inspect_now`` — firms that show wage-arrears risk today, ranked for the
  effective warning rate: an inspector who goes finds arrears or distress;
* ``early_warning`` — firms not yet in arrears, ranked for an arrears onset
  within the horizon: a visit that may still prevent it.

Each list has its own model over the same features (:mod:`detectors.features`),
its calibration, thresholds and hysteresis. Every alert carries the file's
``version`` and its list, so verification outcomes can be attributed to the
rules that produced them.
"""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from detectors.evidence import SIGNALS
from detectors.features import FEATURES
from detectors.models import Logistic, Model, TreeEnsemble

LEVELS: tuple[str, ...] = ("blue", "yellow", "red")
"""Warning colours, least to most serious."""
LISTS: tuple[str, ...] = ("inspect_now", "early_warning")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignalRule(_Strict):
    """One evidence channel: how its events combine and fade (the channel's decayed strength is a feature)."""

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
    """A monotone map from the model's raw log-odds to the probability observed on held-out truth.

    Why: a model ranks well before its numbers are right; an isotonic fit
    (``earlywarn fit``) corrects the probability an inspector reads and the
    expected harm without changing the order of enterprises.
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

    def knots(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.logit, dtype=float), np.array(self.probability, dtype=float)


class LogisticModel(_Strict):
    kind: Literal["logistic"]
    intercept: float = Field(allow_inf_nan=False)
    weights: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        description="feature → log-odds per unit; features left out weigh 0")

    @model_validator(mode="after")
    def _known(self) -> "LogisticModel":
        unknown = sorted(set(self.weights) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {list(FEATURES)}")
        return self

    def build(self) -> Logistic:
        return Logistic(self.intercept, np.array([self.weights.get(f, 0.0) for f in FEATURES], dtype=float))


class TreesModel(_Strict):
    kind: Literal["trees"]
    trees: int = Field(ge=1, description="number of trees (informative; the blob holds them)")
    blob: str = Field(min_length=1, description="the ensemble: base64 of a compressed npz (written by earlywarn fit)")
    _built: TreeEnsemble | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _readable(self) -> "TreesModel":
        try:
            built = TreeEnsemble.from_blob(self.blob, len(FEATURES))
        except Exception as exc:  # a damaged blob is a bad rule file, with a message that does not echo it
            raise ValueError(f"the tree ensemble cannot be read: {type(exc).__name__}: {str(exc)[:200]}") from None
        if len(built.roots) != self.trees:
            raise ValueError(f"the blob holds {len(built.roots)} trees, the file says {self.trees}")
        self._built = built
        return self

    def build(self) -> TreeEnsemble:
        assert self._built is not None
        return self._built


class AlertList(_Strict):
    description: str = ""
    model: LogisticModel | TreesModel = Field(discriminator="kind")
    calibration: Calibration | None = Field(default=None, description="raw log-odds → probability; absent: the logistic")
    thresholds: LevelThresholds
    hysteresis: float = Field(default=0.02, ge=0, lt=1, description="a level is left only below threshold − hysteresis")

    @model_validator(mode="after")
    def _hysteresis(self) -> "AlertList":
        if self.hysteresis >= self.thresholds.blue:
            raise ValueError(f"hysteresis {self.hysteresis} must be below the blue threshold {self.thresholds.blue}")
        return self

    def scorer(self) -> Model:
        return self.model.build()

    def knots(self) -> tuple[np.ndarray, np.ndarray] | None:
        return None if self.calibration is None else self.calibration.knots()


class UnitChannels(_Strict):
    """How one unit (an area code: grid, community, street or district) is told of its new and escalated cases.

    The webhook's HMAC secret is never in the file: ``secret_env`` names the
    environment variable that holds it.
    """

    webhook: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=500)
    secret_env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{0,63}$",
                                   description="environment variable holding this unit's HMAC-SHA256 secret")
    sms: list[str] = Field(default_factory=list, max_length=20,
                           description="phone numbers, E.164 (+8613…)")

    @model_validator(mode="after")
    def _signed(self) -> "UnitChannels":
        if self.webhook and not self.secret_env:
            raise ValueError("a webhook needs secret_env (the variable that holds its signing secret)")
        for phone in self.sms:
            if not (phone.startswith("+") and phone[1:].isdigit() and 8 <= len(phone) <= 16):
                raise ValueError(f"sms number {phone!r} is not E.164 (+ and 7-15 digits)")
        return self


class RuleFile(_Strict):
    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    signals: dict[str, SignalRule]
    features: list[str] = Field(description="the feature columns the models were fitted on, in order")
    lists: dict[Literal["inspect_now", "early_warning"], AlertList]
    deadlines_days: Deadlines = Deadlines()
    routing: dict[str, dict[Literal["blue", "yellow", "red"], Literal["grid", "community", "street", "district"]]] = (
        Field(default_factory=dict, description="alert kind → colour → the lowest unit level that handles it; "
              "unnamed: blue to the grid, yellow to the street, red to the district (DESIGN §2)"))
    horizon_days: int = Field(default=90, gt=0)
    notify: dict[Annotated[str, Field(pattern=r"^\d{6}(\d{3}){0,3}$")], UnitChannels] = Field(
        default_factory=dict, description="unit area code → its channels; a case goes to the nearest unit at or "
        "above its handling unit that has one")
    credit_waiting_days: float = Field(default=365.0, ge=0, le=3650, description="days an enterprise stays on the "
                                       "wage-arrears record after repaying")
    spot_check_share: float = Field(default=0.01, ge=0, le=1, description="share of unflagged enterprises drawn "
                                    "each month for a random verification")

    @model_validator(mode="after")
    def _consistent(self) -> "RuleFile":
        unknown = sorted(set(self.signals) - set(SIGNALS))
        if unknown:
            raise ValueError(f"unknown signal(s) {unknown}; known: {list(SIGNALS)}")
        missing = sorted(set(SIGNALS) - set(self.signals))
        if missing:
            raise ValueError(f"signal(s) {missing} missing; every signal needs a rule")
        if tuple(self.features) != FEATURES:
            raise ValueError("features differ from the ones this engine computes (the models were fitted for "
                             f"another version); expected {list(FEATURES)}")
        absent = [name for name in LISTS if name not in self.lists]
        if absent:
            raise ValueError(f"list(s) {absent} missing; a rule file has both {list(LISTS)}")
        return self
