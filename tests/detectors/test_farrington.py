"""Farrington: agreement with R surveillance::algo.farrington on Salmonella."""
from __future__ import annotations

import numpy as np

from detectors.farrington import farrington_batch, fit_quasipoisson
from tests.detectors.refdata import reference_alarms, salmonella


def test_reproduces_r_alarms() -> None:
    x, start = salmonella()
    r = farrington_batch(x, period=52, b=3, w=3, reweight=True, alpha=0.01, trend=True,
                         limit54=(5, 4), start=start)
    ours = r.alarm[start:].astype(int)
    ref = reference_alarms("Farrington")
    mismatch = np.nonzero(ours != ref)[0]
    agreement = 1.0 - len(mismatch) / len(ref)
    print(f"Farrington agreement with R: {agreement:.4f} ({len(ref) - len(mismatch)}/{len(ref)}); "
          f"mismatching weeks: {mismatch.tolist()}")
    assert ref.sum() > 0
    assert len(mismatch) == 0


def test_irls_matches_closed_form_for_intercept_only() -> None:
    y = np.array([3.0, 5, 4, 6, 2, 7, 3])
    fit = fit_quasipoisson(y, np.ones((7, 1)))
    assert fit.converged
    np.testing.assert_allclose(fit.mu, y.mean(), rtol=1e-9)
    pearson = np.sum((y - y.mean()) ** 2 / y.mean()) / 6
    # R takes the working weights from the start of the last IRLS step: ~1e-6 off
    np.testing.assert_allclose(fit.dispersion, pearson, rtol=1e-4)


def test_irls_recovers_a_loglinear_trend() -> None:
    t = np.arange(1.0, 40.0)
    mu = np.exp(0.5 + 0.05 * t)
    fit = fit_quasipoisson(mu, np.column_stack([np.ones_like(t), t]))
    np.testing.assert_allclose(fit.coef, [0.5, 0.05], rtol=1e-6)


def test_zeros_and_gaps_give_no_alarm_and_no_crash() -> None:
    x = np.zeros(52 * 3 + 10)
    x[20:30] = np.nan
    r = farrington_batch(x, period=52)
    assert not r.alarm.any()
    assert np.all((r.score[~np.isnan(r.score)] >= 0) & (r.score[~np.isnan(r.score)] <= 1))


def test_limit54_suppresses_single_case() -> None:
    x = np.zeros(52 * 3 + 5)
    x[-1] = 3  # far above a zero baseline but fewer than 5 cases in 4 weeks
    assert not farrington_batch(x, period=52).alarm[-1]
    x[-4:] = [2, 1, 0, 9]
    assert farrington_batch(x, period=52).alarm[-1]


def test_degenerate_reference_windows_do_not_crash() -> None:
    """All-zero references (mu -> eps, as R floors it) and a steep trend."""
    x = np.zeros(52 * 3 + 10)
    x[-1] = 6
    x[-4:-1] = 1
    r = farrington_batch(x, period=52)
    assert r.alarm[-1]
    y = np.concatenate([np.zeros(150), 10.0 ** np.linspace(0, 4, 20)])
    r = farrington_batch(y, period=52, start=len(y) - 5)
    assert np.all(np.isfinite(r.expected[-5:]))
