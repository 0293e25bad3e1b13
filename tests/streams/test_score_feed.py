"""The risk-score feed carries every material change and only those."""
from hypothesis import given
from hypothesis import strategies as st

from detectors.enterprise import EnterpriseState
from streams.score_feed import material

LEVELS = ("none", "blue", "yellow", "red")
updates = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(LEVELS)), min_size=1, max_size=60)


@given(updates, st.sampled_from([0.0, 0.001, 0.005, 0.05]))
def test_the_feed_never_drifts_further_than_min_change_from_the_truth(seq, min_change):
    state = EnterpriseState.new(3)
    for score, level in seq:
        shown = material(state, {"score": score, "level": level}, min_change)
        last_score, last_level = state.published
        # after every update, the feed's last word has the current level and is within min_change
        assert last_level == level
        assert abs(last_score - score) < min_change or (shown and last_score == score)


@given(updates)
def test_with_no_minimum_every_update_is_published(seq):
    state = EnterpriseState.new(3)
    assert all(material(state, {"score": s, "level": lvl}, 0.0) for s, lvl in seq)


def test_the_last_published_score_survives_the_table_round_trip():
    state = EnterpriseState.new(3)
    assert material(state, {"score": 0.42, "level": "blue"}, 0.01)
    restored = EnterpriseState.from_dict(state.to_dict())
    assert restored.published == (0.42, "blue")
    assert not material(restored, {"score": 0.425, "level": "blue"}, 0.01)
    assert material(restored, {"score": 0.425, "level": "yellow"}, 0.01)
