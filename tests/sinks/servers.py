"""Local HTTP servers that speak the external APIs (HubSpot batch upsert, Slack Web API).

Real HTTP on 127.0.0.1 with scripted faults (429 with Retry-After, 5xx, slow answers), so the
sinks' retry and rate-limit code is exercised over a real socket.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Fault:
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 0.0
    body: dict = field(default_factory=dict)


class FakeApi:
    """Shared plumbing: a queue of faults to answer with before behaving normally."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests = 0
        self.lock = threading.Lock()

    def fail_next(self, count: int, **kw: object) -> None:
        with self.lock:
            self.faults += [Fault(**kw) for _ in range(count)]  # type: ignore[arg-type]

    def next_fault(self) -> Fault | None:
        with self.lock:
            self.requests += 1
            return self.faults.pop(0) if self.faults else None

    def handle(self, path: str, body: dict, headers: dict, method: str = "POST") -> tuple[int, dict, dict]:
        raise NotImplementedError


class FakeHubSpot(FakeApi):
    """Contacts batch upsert plus the properties API. With ``properties`` set (a portal's
    property names), an upsert naming an unknown property is refused, as HubSpot does."""

    PROPERTIES = "/crm/v3/properties/contacts"

    def __init__(self, token: str = "test-token", properties: set[str] | None = None) -> None:
        super().__init__()
        self.token = token
        self.contacts: dict[str, dict[str, str]] = {}
        self.writes: Counter[str] = Counter()
        self.request_times: list[float] = []
        self.properties = properties
        self.property_defs: dict[str, dict] = {}
        self.groups: set[str] = set()
        self.lifecycle_stages: set[str] | None = None  # a portal's stages; others are refused per input
        self.transient: dict[str, int] = {}  # email -> how many more times it gets a per-input RATE_LIMITS
        self.race_create = False  # the next property create answers 409, as when two sinks start together

    def handle(self, path: str, body: dict, headers: dict, method: str = "POST") -> tuple[int, dict, dict]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"status": "error", "message": "invalid token"}, {}
        if path.startswith(self.PROPERTIES):
            return self._properties(method, path, body)
        if path != "/crm/v3/objects/contacts/batch/upsert":
            return 404, {"status": "error"}, {}
        inputs = body.get("inputs", [])
        if len(inputs) > 100:
            return 400, {"status": "error", "message": "batch over 100"}, {}
        for item in inputs:  # validated as a whole first: a refused batch writes nothing
            if item.get("idProperty") != "email" or "@" not in str(item.get("id")):
                return 400, {"status": "error", "message": f"bad id {item.get('id')!r}"}, {}
            unknown = set(item.get("properties", {})) - (self.properties or set()) if self.properties else set()
            if unknown:
                return (
                    400,
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"PROPERTY_DOESNT_EXIST {sorted(unknown)}",
                    },
                    {},
                )
        results, errors = [], []
        for item in inputs:
            error = self._input_error(item)
            if error is not None:
                errors.append(error)
                continue
            self.contacts.setdefault(item["id"], {}).update(item["properties"])
            self.writes[item["id"]] += 1
            result = {"id": item["id"], "properties": self.contacts[item["id"]]}
            if "objectWriteTraceId" in item:
                result["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(result)
        self.request_times.append(time.monotonic())
        if errors and all("objectWriteTraceId" in i for i in inputs):  # multi-status is opt-in
            return 207, {"status": "COMPLETE", "results": results, "numErrors": len(errors), "errors": errors}, {}
        return 200, {"status": "COMPLETE", "results": results}, {}

    def _input_error(self, item: dict) -> dict | None:
        """HubSpot's per-input error shape (docs: error handling, multi-status errors)."""
        email = item["id"]
        context = {"objectWriteTraceId": [item.get("objectWriteTraceId", "")]}
        if self.transient.get(email, 0) > 0:
            self.transient[email] -= 1
            return {"status": "error", "category": "RATE_LIMITS", "message": "secondly limit", "context": context}
        stage = item.get("properties", {}).get("lifecyclestage")
        if stage is not None and self.lifecycle_stages is not None and stage not in self.lifecycle_stages:
            detail = {
                "isValid": False,
                "message": f"{stage} was not one of the allowed options",
                "name": "lifecyclestage",
            }
            message = f"Property values were not valid: {json.dumps([detail])}"
            return {"status": "error", "category": "VALIDATION_ERROR", "message": message, "context": context}
        return None

    def _properties(self, method: str, path: str, body: dict) -> tuple[int, dict, dict]:
        if method == "GET" and path == self.PROPERTIES:
            return 200, {"results": [{"name": n} for n in sorted(self.properties or set())]}, {}
        if method == "POST" and path == f"{self.PROPERTIES}/groups":
            if body["name"] in self.groups:
                return 409, {"status": "error", "message": "group exists"}, {}
            self.groups.add(body["name"])
            return 201, body, {}
        if method == "POST" and path == f"{self.PROPERTIES}/batch/create" and self.race_create:
            self.race_create = False  # another sink created them between our list and our create
            self.properties = (self.properties or set()) | {spec["name"] for spec in body["inputs"]}
            message = "Property already exists"
            return 409, {"status": "error", "category": "OBJECT_ALREADY_EXISTS", "message": message}, {}
        if method == "POST" and path == f"{self.PROPERTIES}/batch/create":
            for spec in body["inputs"]:
                if spec.get("groupName") not in self.groups | {"contactinformation"}:
                    return 400, {"status": "error", "message": f"no group {spec.get('groupName')!r}"}, {}
            for spec in body["inputs"]:
                self.property_defs[spec["name"]] = spec
                self.properties = (self.properties or set()) | {spec["name"]}
            return 201, {"status": "COMPLETE", "results": body["inputs"]}, {}
        return 404, {"status": "error"}, {}


class FakeSlack(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict] = []

    def handle(self, path: str, body: dict, headers: dict, method: str = "POST") -> tuple[int, dict, dict]:
        if path != "/api/chat.postMessage":
            return 404, {"ok": False, "error": "unknown_method"}, {}
        if not headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        self.messages.append(body)
        return 200, {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}, {}


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self._serve("POST")

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            self._serve("GET")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            ctype = self.headers.get("Content-Type", "")
            if "json" in ctype:
                body = json.loads(raw or b"{}")
            else:  # slack-sdk may send form-encoded bodies
                from urllib.parse import parse_qsl

                body = dict(parse_qsl(raw.decode()))
                if "blocks" in body:
                    body["blocks"] = json.loads(body["blocks"])
            fault = api.next_fault()
            if fault is not None:
                time.sleep(fault.delay_s)
                if fault.status == 200:
                    status, payload, extra = api.handle(self.path, body, dict(self.headers), method)
                else:
                    status, payload = fault.status, fault.body or {"ok": False, "error": "ratelimited"}
                    extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            else:
                status, payload, extra = api.handle(self.path, body, dict(self.headers), method)
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                pass

    return Handler


@contextmanager
def serve(api: FakeApi, port: int = 0) -> Iterator[str]:
    """Run ``api`` on a loopback port (a free one by default); yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(api))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
