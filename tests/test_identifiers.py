import pytest
from hypothesis import given, strategies as st

from earlywarn.identifiers import (USCC_CHARSET, IdentifierError, area_ancestors, area_level, area_parent,
                                   is_valid_uscc, make_uscc, uscc_problem)

REAL_CODES = ["91350100M000100Y43", "9144030071526726XG"]  # published codes with known check characters


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code):
    assert is_valid_uscc(code)


@given(st.text(alphabet=USCC_CHARSET, min_size=9, max_size=9), st.integers(0, 16), st.sampled_from(USCC_CHARSET))
def test_any_single_character_change_is_caught(tail, pos, replacement):
    code = make_uscc("91330110" + tail)
    assert is_valid_uscc(code)
    if code[pos] == replacement or (2 <= pos < 8 and not replacement.isdigit()):
        return
    mutated = code[:pos] + replacement + code[pos + 1:]
    assert not is_valid_uscc(mutated)


def test_problem_names_what_is_wrong():
    assert "18 characters" in uscc_problem("913501")
    assert "'I'" in uscc_problem("91350100M000100I43")
    assert "expected '3'" in uscc_problem("91350100M000100Y44")


def test_area_codes_roll_up_level_by_level():
    grid = "330110001002003"
    assert area_level(grid) == "grid"
    assert area_ancestors(grid) == ["330110001002003", "330110001002", "330110001", "330110"]
    assert area_parent("330110") is None
    with pytest.raises(IdentifierError, match="6, 9, 12 or 15 digits"):
        area_level("3301100")
