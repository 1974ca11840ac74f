"""`leadstream replay` as a user runs it: the installed console script, files in and out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import orjson

from tests.processors.builders import FIT, at, contact, form, visit

BIN = Path(sys.executable).with_name("leadstream")


def _write(path: Path, lines: list) -> None:
    with path.open("wb") as fh:
        for item in lines:
            if isinstance(item, bytes):
                fh.write(item + b"\n")
                continue
            topic = {"WebVisit": "web.visits", "FormFill": "form.fills"}.get(type(item).__name__, "crm.changes")
            fh.write(orjson.dumps({"topic": topic, "value": item.model_dump(mode="json")}) + b"\n")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120)


def test_replay_writes_decisions_dead_letters_bad_lines_and_exits_zero(tmp_path: Path) -> None:
    history = tmp_path / "h.jsonl"
    out = tmp_path / "out.jsonl"
    _write(
        history,
        [
            contact(at(-1), "c-1", "dana@acme.io"),
            b'{"topic": "web.visits", "value": {"event_id": "x", "visitor_id": "v"}}',
            # deliberately out of event-time order: replay sorts
            form(at(10), "v1", "dana@acme.io", "demo_request", **FIT),
            visit(at(0), "v1", "/pricing"),
            b"not json at all",
            b'{"topic": "clicks", "value": {}}',
        ],
    )
    result = _run("replay", "--input", str(history), "--output", str(out), "--until", "2026-03-05T00:00:00Z")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    dead = [r["value"] for r in records if r["topic"] == "lead.deadletter"]
    assert sorted(d["position"] for d in dead) == ["line 2", "line 5", "line 6"]
    assert any("occurred_at" in d["error"] for d in dead)
    [mql] = [r["value"] for r in records if r["topic"] == "lead.mql"]
    assert mql["priority"] == "P1" and mql["email"] == "dana@acme.io"
    assert "w-" in " ".join(r["event_id"] for r in mql["reasons"]), "the earlier visit counts"
    sla = [r["value"]["status"] for r in records if r["topic"] == "lead.sla"]
    assert sla[0] == "started" and "breached" in sla, "--until fires the pending deadline"
    assert "lead.mql" in result.stderr and "events/s" in result.stderr


def test_without_until_pending_deadlines_do_not_fire(tmp_path: Path) -> None:
    history, out = tmp_path / "h.jsonl", tmp_path / "o.jsonl"
    _write(history, [form(at(0), "v1", "dana@acme.io", "demo_request", **FIT)])
    assert _run("replay", "--input", str(history), "--output", str(out)).returncode == 0
    statuses = [json.loads(line)["value"].get("status") for line in out.read_text().splitlines()]
    assert "breached" not in statuses and "started" in statuses


def test_run_failures_exit_non_zero(tmp_path: Path) -> None:
    missing = _run("replay", "--input", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    bad_rules = tmp_path / "r.yaml"
    bad_rules.write_text("version: x\n")
    history = tmp_path / "h.jsonl"
    history.write_text("")
    result = _run("replay", "--input", str(history), "--output", str(tmp_path / "o.jsonl"), "--rules", str(bad_rules))
    assert result.returncode != 0 and "window_days" in result.stderr


def test_rules_check_command(tmp_path: Path) -> None:
    assert _run("rules", "check", "processors/rules/default.yaml").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(_run("rules", "default").stdout.replace("fit: 35", "fit: lots", 1))
    result = _run("rules", "check", str(bad))
    assert result.returncode == 1 and "line" in result.stderr and "thresholds.fit" in result.stderr
