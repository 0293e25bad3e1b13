"""The crowd-growth projection's interval holds what it says on the simulator's crowds."""
import numpy as np
import pytest

from detectors.crowd_growth import project
from simulators.world.gatherings import MINUTE, headcount, reports
from simulators.world.truth import GroupIncident


def random_crowd(rng: np.random.Generator) -> GroupIncident:
    """One of the simulator's three kinds of gathering (wage, developer default, unrelated), drawn as it draws them."""
    kind = rng.integers(0, 3)
    if kind == 0:
        peak = int(rng.integers(20, 300))
        h0, rise, hours = max(3, int(peak * rng.uniform(0.08, 0.2))), rng.uniform(20, 60), rng.uniform(2, 6)
    elif kind == 1:
        h0, peak, rise, hours = int(rng.integers(30, 41)), int(rng.integers(300, 401)), 30.0, 5.0
    else:
        peak = int(np.clip(rng.lognormal(np.log(40), 0.8), 8, 500))
        h0, rise, hours = max(3, int(peak * rng.uniform(0.2, 0.6))), rng.uniform(30, 120), rng.uniform(1, 5)
    return GroupIncident("g", "330110001001001", 0.0, rise * MINUTE, hours / 24, h0, max(peak, h0), "wage")


def coverage(level: float, seed: int, crowds: int = 500) -> tuple[float, int]:
    """Share of fresh counts 30 minutes after each of a crowd's first 8 reports that fall inside the interval."""
    rng = np.random.default_rng(seed)
    inside = total = 0
    for _ in range(crowds):
        inc, noise = random_crowd(rng), rng.uniform(0, 1)
        rep = reports(inc, rng, noise)
        for k in range(2, min(len(rep), 8) + 1):
            at = rep[k - 1][0] + 30 * MINUTE
            if at > inc.end:
                break
            t = np.array([r[0] for r in rep[:k]]) / MINUTE
            c = np.array([r[1] for r in rep[:k]])
            count = headcount(inc, at) * rng.lognormal(0.0, 0.08 + 0.15 * noise)
            p = project(t, c, level=level)
            inside += p.lower <= count <= p.upper
            total += 1
    return inside / total, total


@pytest.mark.parametrize("seed", [11, 12])
def test_a_90_percent_interval_holds_80_to_97_percent_of_simulated_crowds_30_minutes_on(seed):
    share, n = coverage(0.9, seed)
    assert n > 2000
    assert 0.80 <= share <= 0.97, share


def test_a_narrower_nominal_level_covers_less():
    wide, _ = coverage(0.9, 13, crowds=200)
    narrow, _ = coverage(0.5, 13, crowds=200)
    assert narrow < wide - 0.15
    assert 0.35 <= narrow <= 0.75


def test_the_seed_case_projects_hundreds_and_more_counts_narrow_the_interval():
    """35 at 09:00 and 80 at 09:10 (000: L297–305): the projection must reach the 300–400 that came."""
    two = project(np.array([0.0, 10.0]), np.array([35, 80]))
    assert two.lower < 300 and two.upper > 400 and two.median > 300
    assert two.probability_at_least(100) > 0.9
    t = np.array([0.0, 10.0, 20.0, 30.0])
    clean = project(t, 35 * np.exp(0.08 * t))
    assert clean.upper / clean.lower < two.upper / two.lower
    assert clean.rate_per_min == pytest.approx(0.08, rel=0.05)


def test_a_flat_crowd_is_projected_flat_and_unlikely_to_become_large():
    p = project(np.array([0.0, 10.0, 20.0, 30.0]), np.array([30, 31, 30, 29]))
    assert p.lower < 29 < p.upper < 60
    assert p.probability_at_least(100) < 0.01
    assert p.doubling_min is None


def test_a_single_count_gives_an_interval_around_it():
    p = project(np.array([5.0]), np.array([50]))
    assert p.rate_per_min == 0 and p.lower < 50 < p.upper
    with pytest.raises(ValueError):
        project(np.array([]), np.array([]))
