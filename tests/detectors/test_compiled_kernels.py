"""Compiled kernels against the plain-Python references they replace: the same numbers, bit for bit."""
import math

import numpy as np
from hypothesis import given, settings, strategies as st

from detectors.surge_nb import backtest_dispersion, backtest_dispersion_reference, phase_factors

counts = st.one_of(st.just(math.nan), st.integers(0, 60).map(float), st.floats(0, 500, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(ring=st.lists(counts, min_size=8, max_size=80), data=st.data())
def test_dispersion_kernel_is_the_reference(ring, data):
    size = len(ring)
    pos = data.draw(st.integers(0, size - 1))
    far = data.draw(st.integers(1, min(size - 1, 30)))
    lag = tuple(range(data.draw(st.integers(1, far)), far + 1))
    period = data.draw(st.sampled_from([1, 2, 7, 24, 52]))
    skip = data.draw(st.integers(0, 3))
    use_factors = data.draw(st.booleans())
    factors = phase_factors(ring, pos, period, skip)[0] if use_factors else None
    args = (pos, lag, factors, period, skip, 28, data.draw(st.floats(0, 50)), data.draw(st.floats(0.1, 5)),
            data.draw(st.floats(0, 2)))
    ref = backtest_dispersion_reference(ring, *args)
    fast = backtest_dispersion(np.array(ring), *args[:2], None if factors is None else np.array(factors), *args[3:])
    assert fast == ref
