"""A registry that is away never dead-letters a valid record: the serde waits (or, for the live
ingest, raises ``RegistryUnavailable``), and only the registry's own "no such id" (404 / 40403)
makes a record bad. Against a tiny local HTTP server speaking the Confluent API, through the
real ``SchemaRegistryClient`` (its real exception types), refusing, hanging, 5xx and 429."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas import avro, models
from schemas.catalog import BY_NAME
from schemas.serde import AvroSerde, Backoff, DecodeError, RegistryHealth, RegistryUnavailable, ValueFormat
from schemas.validation import accept

VISITS = BY_NAME["web_visits"]
VISIT = models.WebVisit.model_validate(
    {"event_id": "e1", "occurred_at": "2026-03-02T09:00:00+01:00", "visitor_id": "v", "url": "https://x.io/"}
)
FAST = Backoff(first_s=0.01, cap_s=0.02)


class FakeRegistry(ThreadingHTTPServer):
    """Answers ``script`` first (status codes, in order), then as a healthy registry would."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[int] = []
        self.schemas = {7: avro.schema_json("web_visit")}
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeRegistry

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _scripted(self) -> bool:
        self.server.requests += 1
        if self.server.script:
            status = self.server.script.pop(0)
            self._answer(status, {"error_code": status * 100, "message": f"scripted {status}"})
            return True
        return False

    def do_GET(self) -> None:
        if self._scripted():
            return
        schema_id = int(self.path.split("/schemas/ids/")[1].split("?")[0])
        if schema_id in self.server.schemas:
            self._answer(200, {"schema": self.server.schemas[schema_id]})
        else:
            self._answer(404, {"error_code": 40403, "message": f"No content with id/hash 'contentId-{schema_id}'"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if not self._scripted():
            self._answer(200, {"id": 11})


@pytest.fixture
def server() -> Iterator[FakeRegistry]:
    srv = FakeRegistry()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _serde(url: str, timeout: float = 2.0) -> AvroSerde:
    """As ``streams.kafka_io.avro_serde`` builds it: a request timeout, no silent client retries."""
    client = SchemaRegistryClient({"url": url, "timeout": timeout, "max.retries": 0})
    return AvroSerde(client, RegistryHealth(), FAST)


def _wire(schema_id: int = 7) -> bytes:
    import io
    import struct

    import fastavro

    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(out, avro.parsed_schema("web_visit"), avro.to_datum(VISIT))
    return out.getvalue()


def _accept(serde: AvroSerde, raw: bytes) -> models.Record:
    return accept(VISITS, "web.visits", "0:5", raw, ValueFormat.avro, serde, b"v")


def test_connection_refused_raises_unavailable_and_is_never_a_dead_letter() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serde = _serde(f"http://127.0.0.1:{port}")
    with serde.no_wait(), pytest.raises(RegistryUnavailable) as info:
        _accept(serde, _wire())  # accept() turns DecodeError into dead letters, never this
    assert "ConnectError" in info.value.reason and "schema id 7" in info.value.what
    assert serde.health.fields() == {"registry": "waiting", "registry_waits": 1}
    with pytest.raises(RegistryUnavailable):
        info.value.retry()  # still away: the retry raises again, without waiting
    assert serde.health.waits == 1, "one outage, however many retries"


def test_a_hung_registry_times_out_as_unavailable() -> None:
    with socket.socket() as listener:  # accepts connections (backlog), never answers: a stopped JVM
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        serde = _serde(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3)
        with serde.no_wait(), pytest.raises(RegistryUnavailable) as info:
            _accept(serde, _wire())
    assert "Timeout" in info.value.reason


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_outage_statuses_are_waited_out_and_the_record_decodes(
    server: FakeRegistry, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The blocking mode (backtest from Kafka, sinks, demo): waits, logs once each way, decodes."""
    server.script = [status] * 4
    serde = _serde(server.url)
    with caplog.at_level(logging.INFO, logger="leadstream.registry"):
        record = _accept(serde, _wire())
    assert isinstance(record, models.WebVisit) and record.event_id == "e1"
    assert server.requests == 5
    assert serde.health.fields() == {"registry": "ok", "registry_waits": 1}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages  # never a flood: one warning, one info
    assert caplog.records[0].levelno == logging.WARNING and f"scripted {status}" in messages[0]
    assert caplog.records[1].levelno == logging.INFO and "back after" in messages[1]


def test_unknown_schema_id_answered_by_the_registry_is_a_dead_letter(server: FakeRegistry) -> None:
    serde = _serde(server.url)
    with serde.no_wait():
        record = _accept(serde, _wire(schema_id=99))
    assert isinstance(record, models.DeadLetter)
    assert "unknown schema id 99" in record.error and "40403" in record.error
    assert serde.health.fields() == {"registry": "ok", "registry_waits": 0}


def test_other_answers_to_a_lookup_wait_rather_than_dead_letter(server: FakeRegistry) -> None:
    """A 401 or a bare 404 (a proxy, a wrong path) says nothing about the record."""
    server.script = [401]
    serde = _serde(server.url)
    with serde.no_wait(), pytest.raises(RegistryUnavailable):
        _accept(serde, _wire())
    assert isinstance(_accept(serde, _wire()), models.WebVisit)  # answered now: decodes


def test_retry_after_the_outage_fills_the_cache(server: FakeRegistry) -> None:
    """How the live ingest waits: ``retry`` (in a thread, with its own backoff), then the held
    records decode from the cache."""
    server.script = [503]
    serde = _serde(server.url)
    with serde.no_wait():
        with pytest.raises(RegistryUnavailable) as info:
            serde.decode(_wire(), "web_visit")
        info.value.retry()
        assert serde.health.state == "ok"
        before = server.requests
        assert serde.decode(_wire(), "web_visit")["event_id"] == "e1"
    assert server.requests == before, "cached: no second request"


def test_output_registration_waits_for_the_registry(server: FakeRegistry) -> None:
    server.script = [502, 503]
    serde = _serde(server.url)
    with serde.no_wait(), pytest.raises(RegistryUnavailable):
        serde.schema_id("lead.mql", "mql")
    assert serde.schema_id("lead.mql", "mql") == 11  # the blocking mode waits out the 503
    assert serde.health.fields() == {"registry": "ok", "registry_waits": 1}


def test_a_refused_schema_is_a_bug_not_an_outage(server: FakeRegistry) -> None:
    server.script = [422]
    serde = _serde(server.url)
    with pytest.raises(SchemaRegistryError):
        serde.schema_id("lead.mql", "mql")
    assert serde.health.state == "ok"


def test_unparseable_registered_schema_is_a_decode_error(server: FakeRegistry) -> None:
    server.schemas[8] = '{"type": "record", "name": "x", "fields": [{"name": "a", "type": "nope"}]}'
    serde = _serde(server.url)
    with pytest.raises(DecodeError, match="schema id 8 is not a usable Avro schema"):
        serde.decode(_wire(schema_id=8), "web_visit")


def test_backoff_doubles_to_its_cap() -> None:
    assert list(itertools.islice(Backoff().delays(), 7)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
