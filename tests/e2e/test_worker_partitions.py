"""The worker refuses source topics of more than one partition instead of scoring a share of a district.

Its district-wide trackers must see every source, and Faust would give a second worker in the group a share
of the partitions: each would then score half a district, silently. A topic created with more partitions on
a production cluster is answered at start-up with the topic named (README, Deploying).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from streams.broker import EmbeddedBroker

pytestmark = pytest.mark.e2e


def test_a_source_topic_of_four_partitions_is_refused_at_start_up(tmp_path):
    with EmbeddedBroker(log_path=tmp_path / "broker.log") as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        admin.create_topics([NewTopic(name="ew.hotline_complaint", num_partitions=4, replication_factor=1)])
        admin.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EW_")} | {
            "EW_KAFKA_BROKER": broker.bootstrap, "EW_DATA_DIR": str(tmp_path), "EW_METRICS_PORT": "0"}
        done = subprocess.run([sys.executable, "-m", "earlywarn.cli", "worker"], env=env, capture_output=True,
                              text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "ew.hotline_complaint has 4 partitions; the worker needs 1 per source topic" in done.stderr


def test_more_than_one_partition_is_refused_in_the_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EW_")} | {
        "EW_KAFKA_BROKER": "127.0.0.1:1", "EW_TOPIC_PARTITIONS": "4", "EW_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "earlywarn.cli", "worker"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "EW_TOPIC_PARTITIONS" in done.stderr, done.stderr[-2000:]
