import shutil
import time

import pytest
import yaml

from earlywarn.settings import DEFAULT_RULES
from rules.loader import RuleFileError, RuleWatcher, load_rules, parse_rules


def test_default_rules_validate():
    rules = load_rules(DEFAULT_RULES)
    assert rules.version and set(rules.lists) == {"inspect_now", "early_warning"}
    for lst in rules.lists.values():
        assert lst.thresholds.blue < lst.thresholds.red
        lst.scorer()


def _set(path: str, value):
    def edit(d: dict) -> dict:
        *parents, last = path.split(".")
        node = d
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return d
    return edit


_DELETE = object()


NOW = "lists.inspect_now"


@pytest.mark.parametrize("edit, needle", [
    (_set(f"{NOW}.thresholds", {"blue": 0.6, "yellow": 0.5, "red": 0.7}),
     "lists.inspect_now.thresholds: Value error, thresholds must rise blue < yellow < red"),
    (_set("signals.social_insurance.half_life_days", -1.1),
     "signals.social_insurance.half_life_days: Input should be greater than 0"),
    (_set("signals.litigation.combine", "mean"), "signals.litigation.combine"),
    (_set("verzion", "x"), "verzion: Extra inputs are not permitted"),
    (_set("signals.petitions", _DELETE), "signal(s) ['petitions'] missing"),
    (_set("lists.early_warning", _DELETE), "list(s) ['early_warning'] missing"),
    (_set("features", ["recent_utility_arrears"]), "features differ from the ones this engine computes"),
    (_set(f"{NOW}.hysteresis", 0.99), "must be below the blue threshold"),
    (_set(f"{NOW}.calibration", {"logit": [-5.0, -1.0, 2.0], "probability": [0.01, 0.3, 0.2]}),
     "calibration: Value error, probability must not decrease from knot to knot"),
    (_set(f"{NOW}.calibration", {"logit": [-5.0, -5.0], "probability": [0.01, 0.3]}),
     "calibration: Value error, logit knots must be strictly increasing"),
    (_set(f"{NOW}.calibration", {"logit": [-5.0, 1.0], "probability": [0.0, 0.3]}),
     "every calibrated probability must lie strictly between 0 and 1"),
    (_set(f"{NOW}.model.blob", "bm90IGFuIG5weg=="), "the tree ensemble cannot be read"),
    (_set(f"{NOW}.model.trees", 3), "trees, the file says 3"),
    (_set(f"{NOW}.model", {"kind": "logistic", "intercept": -3.0, "weights": {"shoe_size": 1.0}}),
     "unknown feature(s) ['shoe_size']"),
    (_set(f"{NOW}.model", {"kind": "forest"}), "model"),
])
def test_bad_rule_file_is_refused_with_a_precise_message(edit, needle):
    data = edit(yaml.safe_load(DEFAULT_RULES.read_text()))
    with pytest.raises(RuleFileError) as err:
        parse_rules(yaml.safe_dump(data), "rules.yaml")
    assert needle in str(err.value)
    assert str(err.value).startswith("rules.yaml: ")


def test_broken_yaml_is_refused():
    with pytest.raises(RuleFileError, match="rules.yaml: not valid YAML"):
        parse_rules("signals: [\n", "rules.yaml")


def _with(_path, **changes) -> str:
    data = yaml.safe_load(DEFAULT_RULES.read_text())
    for key, value in changes.items():
        _set(key.replace("__", "."), value)(data)
    return yaml.safe_dump(data)


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
    path.write_text(_with(DEFAULT_RULES, lists__inspect_now__thresholds={"blue": 0.3, "yellow": 0.5, "red": 0.4}))
    assert watcher.poll() is False                                          # breaks the ordering
    assert watcher.rules.version == original and "thresholds" in watcher.last_error
    assert watcher.failures == 1                                            # the worker's refused-reload counter

    time.sleep(0.01)
    path.write_text(_with(DEFAULT_RULES, version="v-next", lists__inspect_now__thresholds__red=0.97))
    assert watcher.poll() is True
    assert watcher.rules.version == "v-next" and watcher.rules.lists["inspect_now"].thresholds.red == 0.97
    assert watcher.last_error is None
    assert watcher.failures == 1


def test_the_rule_file_guide_names_every_field_and_signal():
    from pathlib import Path

    from detectors.evidence import SIGNALS
    from detectors.features import FEATURES
    from rules.schema import AlertList, RuleFile

    guide = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    for name in [*RuleFile.model_fields, *AlertList.model_fields]:
        assert f"`{name}" in guide, name
    for name in [*SIGNALS, *(f for f in FEATURES if not f.startswith("recent_"))]:
        assert f"`{name}`" in guide, name
    assert "`recent_<channel>`" in guide           # one per channel, each named above


@pytest.mark.parametrize("content", [
    "root:$6$s3cr3tHASH$abcdef:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",   # /etc/shadow: a string
    "version: s3cr3tHASH\nthresholds: [s3cr3tHASH\n",                                 # broken YAML
    "version: 1\nsignals: s3cr3tHASH\nthresholds: {blue: s3cr3tHASH}\n",              # wrong values
    "s3cr3tHASH: {\n  - : x",                                                         # more broken YAML
])
def test_a_rule_file_error_names_the_file_and_place_never_its_text(tmp_path, content, caplog):
    """Issue #19: EW_RULES_FILE=/etc/shadow put the file's lines into the log."""
    path = tmp_path / "rules.yaml"
    path.write_text(content)
    with pytest.raises(RuleFileError) as err:
        load_rules(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "s3cr3t" not in message and "abcdef" not in message, message
    good = tmp_path / "good.yaml"
    shutil.copy(DEFAULT_RULES, good)
    watcher = RuleWatcher(good)
    time.sleep(0.01)
    good.write_text(content)
    with caplog.at_level("ERROR"):
        assert watcher.poll() is False
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in watcher.last_error
