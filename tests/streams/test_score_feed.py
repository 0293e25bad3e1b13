"""The risk-score feed carries every material change and only those, on both lists."""
from hypothesis import given
from hypothesis import strategies as st

from detectors.enterprise import EnterpriseState
from streams.score_feed import material

LEVELS = ("none", "blue", "yellow", "red")
updates = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(LEVELS), st.floats(0, 1), st.sampled_from(LEVELS)),
                   min_size=1, max_size=60)


def update(score, level, early, early_level):
    return {"score": score, "level": level, "early_score": early, "early_level": early_level}


@given(updates, st.sampled_from([0.0, 0.001, 0.005, 0.05]))
def test_the_feed_never_drifts_further_than_min_change_from_the_truth(seq, min_change):
    state = EnterpriseState.new(3)
    for score, level, early, early_level in seq:
        shown = material(state, update(score, level, early, early_level), min_change)
        last_score, last_level, last_early, last_early_level = state.published
        # after every update, the feed's last word has the current levels and is within min_change
        assert (last_level, last_early_level) == (level, early_level)
        assert abs(last_score - score) < min_change or (shown and last_score == score)
        assert abs(last_early - early) < min_change or (shown and last_early == early)


@given(updates)
def test_with_no_minimum_every_update_is_published(seq):
    state = EnterpriseState.new(3)
    assert all(material(state, update(*u), 0.0) for u in seq)


def test_the_last_published_score_survives_the_table_round_trip():
    state = EnterpriseState.new(3)
    assert material(state, update(0.42, "blue", 0.1, "none"), 0.01)
    restored = EnterpriseState.from_dict(state.to_dict())
    assert restored.published == (0.42, "blue", 0.1, "none")
    assert not material(restored, update(0.425, "blue", 0.104, "none"), 0.01)
    assert material(restored, update(0.425, "yellow", 0.104, "none"), 0.01)
    assert material(restored, update(0.425, "yellow", 0.104, "blue"), 0.01)
