"""Matching the points table's alert volume counts alerts without building them: the same counts, the same pick."""
from hypothesis import given, settings, strategies as st

from simulators.evaluation.baseline import PointsTrace

entries = st.lists(st.tuples(st.floats(0, 400 * 86400.0), st.integers(0, 9), st.integers(0, 7)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), entries.map(sorted), max_size=6),
       st.sampled_from([0.0, 7.0, 30.0]))
def test_count_is_the_number_of_alerts(by_enterprise, cooldown):
    trace = PointsTrace(by_enterprise, ("a", "b", "c"))
    counts = trace.counts(cooldown)
    assert list(counts) == list(range(1, max(trace.max_points(), 1) + 1))
    for thr, n in counts.items():
        assert n == trace.count(thr, cooldown) == len(trace.alerts(thr, cooldown, 14.0))
