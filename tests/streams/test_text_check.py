"""The compiled control-character check refuses exactly what the per-character rule refused."""
import pytest
from hypothesis import given, settings, strategies as st

from streams.records import _check_text


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF, exclude_categories=("Cs",))))
def test_control_characters_are_refused_as_before(value):
    bad = any(ord(c) < 32 or ord(c) == 127 for c in value)
    if bad:
        with pytest.raises(ValueError, match="control characters"):
            _check_text(value)
    else:
        assert _check_text(value) == value
