"""The space-time scan finds a cluster spread over three sibling grids that no grid shows alone, and keeps its
false-positive rate on maps with no cluster."""
import numpy as np
import pytest

from detectors.spacetime_scan import scan, sibling_zones

CODES = [f"330110001{c:03d}{g:03d}" for c in range(1, 21) for g in range(1, 6)]  # 20 communities of 5 grids
ZONES = sibling_zones(CODES)
SINGLE = [(i,) for i in range(len(CODES))]
HISTORY, WINDOW = 35, 7
PLANTED = [5, 6, 7]        # three grids of community 002


def weekday_map(rng: np.random.Generator, rates: np.ndarray) -> np.ndarray:
    """Counts per grid and day with a district-wide weekday pattern (weekends 0.6×, as the hotline has)."""
    days = HISTORY + WINDOW
    weekday = np.where(np.arange(days) % 7 >= 5, 0.6, 1.1)
    return rng.poisson(rates[:, None] * weekday[None, :])


def test_a_cluster_over_three_grids_each_under_its_own_threshold_is_found():
    """A grid's own threshold is the same scan over grids alone, at the same 5% family-wise level: maps where
    it finds none of the three grids are the case under test, and pooling sibling grids must find them."""
    rng = np.random.default_rng(23)
    found = maps = drawn = 0
    while maps < 40:
        rates = rng.uniform(4, 10, len(CODES))
        counts = weekday_map(rng, rates)
        counts[PLANTED, -7:] = rng.poisson(1.4 * rates[PLANTED, None], size=(3, 7))
        drawn += 1
        alone = scan(counts, SINGLE, replicates=199, rng=rng)
        if any(set(c.grids) & set(PLANTED) for c in alone.clusters):
            continue                                  # a grid shows it alone: not the case under test
        maps += 1
        r = scan(counts, ZONES, replicates=199, rng=rng)
        found += bool(r.clusters) and len(set(r.clusters[0].grids) & set(PLANTED)) >= 2
    assert maps / drawn < 0.6, "the planted cluster is weak enough that grids alone often miss it"
    assert found / maps >= 0.7, found / maps


def test_the_false_positive_rate_on_null_maps_is_near_nominal():
    rng = np.random.default_rng(29)
    alarms = [scan(weekday_map(rng, rng.uniform(0.3, 6, len(CODES))), ZONES, replicates=99, rng=rng).p_value <= 0.05
              for _ in range(150)]
    assert 0.005 <= np.mean(alarms) <= 0.10, np.mean(alarms)


def test_the_cluster_reports_what_it_saw():
    rng = np.random.default_rng(3)
    counts = weekday_map(rng, np.full(len(CODES), 3.0))
    counts[PLANTED, -2:] += 10
    c = scan(counts, ZONES, replicates=99, rng=rng).clusters[0]
    assert set(c.grids) == set(PLANTED) and c.days == 2
    assert c.observed == counts[PLANTED, -2:].sum()
    assert c.relative_risk > 2 and c.p_value <= 0.01


def test_an_empty_map_and_a_window_longer_than_the_counts():
    assert scan(np.zeros((len(CODES), 42)), ZONES, replicates=9).clusters == []
    with pytest.raises(ValueError, match="max_days"):
        scan(np.ones((3, 5)), [(0,)], max_days=7)


def test_the_compiled_null_map_ratio_is_the_poisson_formula_and_ties_with_the_observed_map():
    """``_max_llr`` sums each zone from the grids and takes o·log(o/e) + e − o without building the matrices: the
    same largest ratio as the plain formula (to rounding), and exactly the observed map's when the null map is it,
    so a p-value counts a tie as it always did."""
    from detectors.spacetime_scan import _llr, _max_llr, _suffix, _zone_matrix

    rng = np.random.default_rng(5)
    z = _zone_matrix(ZONES, len(CODES))
    for _ in range(50):
        counts = rng.poisson(rng.uniform(0.2, 30), size=(len(CODES), WINDOW)).astype(float)
        expected = z @ np.outer(rng.uniform(0.5, 40, len(CODES)), np.cumsum(np.full(WINDOW, 0.03)))
        observed = z @ _suffix(counts)
        with np.errstate(divide="ignore", invalid="ignore"):
            plain = np.where((observed > expected) & (expected > 0),
                             observed * np.log(observed / expected) + expected - observed, 0.0)
        log_e = np.log(expected)
        log_int = np.concatenate(([-np.inf], np.log(np.arange(1, 50, dtype=float))))  # big counts: np.log
        fast = _max_llr(z.indptr, z.indices, _suffix(counts), expected, log_e, log_int)
        assert fast == pytest.approx(plain.max(initial=0.0), rel=1e-12, abs=1e-12)
        assert fast == _llr(observed, expected, log_e, log_int).max(initial=0.0)
