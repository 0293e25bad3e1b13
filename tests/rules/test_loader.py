import shutil
import time

import pytest
import yaml

from earlywarn.settings import DEFAULT_RULES
from rules.loader import RuleFileError, RuleWatcher, load_rules, parse_rules


def test_default_rules_validate():
    rules = load_rules(DEFAULT_RULES)
    assert rules.version and rules.thresholds.blue < rules.thresholds.red


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


@pytest.mark.parametrize("edit, needle", [
    (_set("thresholds", {"blue": 0.6, "yellow": 0.5, "red": 0.7}),
     "thresholds: Value error, thresholds must rise blue < yellow < red"),
    (_set("signals.social_insurance.weight", -1.1), "signals.social_insurance.weight: Input should be greater than or equal to 0"),
    (_set("signals.litigation.combine", "mean"), "signals.litigation.combine"),
    (_set("verzion", "x"), "verzion: Extra inputs are not permitted"),
    (_set("signals.petitions", _DELETE), "signal(s) ['petitions'] missing"),
    (_set("hysteresis", 0.5), "hysteresis 0.5 must be below the blue threshold"),
    (_set("calibration", {"logit": [-5.0, -1.0, 2.0], "probability": [0.01, 0.3, 0.2]}),
     "calibration: Value error, probability must not decrease from knot to knot"),
    (_set("calibration", {"logit": [-5.0, -5.0], "probability": [0.01, 0.3]}),
     "calibration: Value error, logit knots must be strictly increasing"),
    (_set("calibration", {"logit": [-5.0, 1.0], "probability": [0.0, 0.3]}),
     "every calibrated probability must lie strictly between 0 and 1"),
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
    path.write_text(_with(DEFAULT_RULES, thresholds={"blue": 0.3, "yellow": 0.5, "red": 0.4}))  # breaks the ordering
    assert watcher.poll() is False
    assert watcher.rules.version == original and "thresholds" in watcher.last_error

    time.sleep(0.01)
    path.write_text(_with(DEFAULT_RULES, version="v-next", thresholds__red=0.8))
    assert watcher.poll() is True
    assert watcher.rules.version == "v-next" and watcher.rules.thresholds.red == 0.80
    assert watcher.last_error is None


def test_the_rule_file_guide_names_every_field_and_signal():
    from pathlib import Path

    from detectors.evidence import SIGNALS
    from rules.schema import RuleFile

    guide = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    for name in RuleFile.model_fields:
        assert f"`{name}" in guide, name
    for signal in SIGNALS:
        assert f"`{signal}`" in guide, signal


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
