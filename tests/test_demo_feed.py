"""The demo's simulated months: every seed runs through, with exactly the malformed records it announces."""
import json
import os
import subprocess
import sys

import pytest

from earlywarn import demo_feed


@pytest.mark.parametrize("seed", range(12))
def test_every_month_is_generated_with_its_malformed_records(seed):
    months = list(demo_feed.months(n_enterprises=40, n_months=4, bad_per_month=6, seed=seed))
    assert len(months) == 4
    bad = [r for m in months for r in m if r.malformed]
    assert len(bad) == 4 * 6
    for r in (r for m in months for r in m if not r.malformed):
        json.loads(r.value)


def test_the_same_seed_gives_the_same_records_in_any_process():
    """String hashing differs between processes (PYTHONHASHSEED); the feed must not depend on it."""
    code = ("import hashlib; from earlywarn import demo_feed; h = hashlib.sha256(); "
            "[h.update(r.value) for m in demo_feed.months(n_enterprises=60, n_months=4, seed=5) for r in m]; "
            "print(h.hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(k)},
                              capture_output=True, text=True, check=True).stdout for k in (1, 2, 3)}
    assert len(digests) == 1
