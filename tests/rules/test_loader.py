import shutil
import time

import pytest

from earlywarn.settings import DEFAULT_RULES
from rules.loader import RuleFileError, RuleWatcher, load_rules, parse_rules


def test_default_rules_validate():
    rules = load_rules(DEFAULT_RULES)
    assert rules.version and rules.thresholds.blue < rules.thresholds.red


@pytest.mark.parametrize("edit, needle", [
    (("thresholds: {blue: 0.30, yellow: 0.50, red: 0.70}", "thresholds: {blue: 0.60, yellow: 0.50, red: 0.70}"),
     "thresholds: Value error, thresholds must rise blue < yellow < red"),
    (("weight: 1.1,", "weight: -1.1,"), "signals.social_insurance.weight: Input should be greater than or equal to 0"),
    (("combine: sum, cap: 3.0, label: \"sued", "combine: mean, cap: 3.0, label: \"sued"), "signals.litigation.combine"),
    (('version: "', 'verzion: "'), "verzion: Extra inputs are not permitted"),
    (("hysteresis: 0.05", "hysteresis: 0.5"), "hysteresis 0.5 must be below the blue threshold"),
    (("signals:", "signals: [\n"), "not valid YAML"),
])
def test_bad_rule_file_is_refused_with_a_precise_message(edit, needle):
    text = DEFAULT_RULES.read_text()
    assert edit[0] in text
    with pytest.raises(RuleFileError) as err:
        parse_rules(text.replace(edit[0], edit[1], 1), "rules.yaml")
    assert needle in str(err.value)
    assert str(err.value).startswith("rules.yaml: ")


def test_unreadable_rule_file_is_a_clear_error(tmp_path):
    with pytest.raises(RuleFileError, match="cannot read rule file"):
        load_rules(tmp_path / "missing.yaml")


def test_watcher_swaps_good_files_and_keeps_running_rules_on_bad_ones(tmp_path):
    path = tmp_path / "rules.yaml"
    shutil.copy(DEFAULT_RULES, path)
    watcher = RuleWatcher(path)
    original = watcher.rules.version
    assert watcher.poll() is False

    time.sleep(0.01)
    path.write_text(path.read_text().replace("red: 0.70", "red: 0.40"))  # breaks the ordering
    assert watcher.poll() is False
    assert watcher.rules.version == original and "thresholds" in watcher.last_error

    time.sleep(0.01)
    path.write_text(DEFAULT_RULES.read_text().replace(original, "v-next").replace("red: 0.70", "red: 0.80"))
    assert watcher.poll() is True
    assert watcher.rules.version == "v-next" and watcher.rules.thresholds.red == 0.80
    assert watcher.last_error is None
