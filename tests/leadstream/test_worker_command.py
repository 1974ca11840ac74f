"""`leadstream worker` as an operator runs it: decisions appear live, SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from schemas.catalog import STREAMS
from streams.settings import Settings
from tests.processors.builders import FIT, form
from tests.streams.test_kafka_contract import _drain

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def test_worker_decides_live_and_stops_on_sigterm(kafka_settings: Settings) -> None:
    from datetime import UTC, datetime

    s = kafka_settings
    env = {
        **os.environ,
        "LEADSTREAM_BOOTSTRAP_SERVERS": s.bootstrap_servers,
        "LEADSTREAM_REGISTRY_URL": s.registry_url,
        "LEADSTREAM_REDIS_URL": s.redis_url or "",
        "LEADSTREAM_POSTGRES_DSN": s.postgres_dsn.get_secret_value(),
        "LEADSTREAM_APP_VERSION": f"test-{time.time_ns()}",
    }
    for spec in STREAMS:
        env[f"LEADSTREAM_TOPICS__{spec.name.upper()}"] = s.topic(spec.name)
    exe = Path(sys.executable).with_name("leadstream")
    proc = subprocess.Popen(
        [str(exe), "worker", "--stats-every", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        producer = Producer(s.kafka_config())
        event = form(datetime.now(UTC), "v-live", "live@acme.io", "demo_request", **FIT)
        producer.produce(s.topic("form_fills"), event.model_dump_json().encode(), key=b"v-live")
        assert producer.flush(30) == 0
        [(_, mql)] = _drain(s, "mql", 1, timeout=60)
        assert mql.email == "live@acme.io" and mql.priority == "P1"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert '"event": "worker stopped"' in out
    stats = [json.loads(line[line.index("{") :]) for line in out.splitlines() if '{"event":"stats"' in line]
    assert stats and stats[-1]["consumed"] >= 1 and stats[-1]["mqls"] >= 1, out[-2000:]
    assert "live@acme.io" not in out  # no raw emails in the logs
