"""`leadstream bench replay`: replay throughput and memory on a seeded, realistic workload.

Figures, not assertions: the machine is noisy, so the command reports medians of several runs
and the ratio to a raw baseline measured in the same run (JSON parse + model validation only,
the floor any replay pays before deciding anything).
"""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import orjson

from processors._native import PURE_ENV
from processors.driver import Driver
from processors.engine import Engine
from processors.rules import load_rules
from schemas import models
from streams.replay import FileCheckpoint, LineReader, topic_map
from tools.workload import WorkloadConfig, write_jsonl


@dataclass
class ReplayBench:
    events: int
    generate_s: float
    baseline_eps: float
    replay_eps: list[float]
    wall_eps: list[float]
    peak_rss_mb: float
    contacts: int
    bytes_per_contact: float
    builds: list[str]  # what each replay process ran: native (mypyc) or pure Python

    def render(self) -> str:
        med = statistics.median(self.replay_eps)
        builds = sorted(set(self.builds))
        return "\n".join(
            [
                f"build: {' / '.join(builds)} ({PURE_ENV}=1 forces pure Python; `make native` builds native)",
                f"workload: {self.events:,} events (generated in {self.generate_s:.1f} s)",
                f"raw baseline (JSON parse + validate only): {self.baseline_eps:,.0f} events/s",
                f"leadstream replay (parse + decide + write): median {med:,.0f} events/s"
                f" over {len(self.replay_eps)} runs {[round(x) for x in self.replay_eps]}",
                f"  including process start: median {statistics.median(self.wall_eps):,.0f} events/s",
                f"  ratio to baseline: {med / self.baseline_eps:.2f}",
                f"peak RSS of a replay process: {self.peak_rss_mb:,.0f} MiB",
                f"engine state: {self.contacts:,} contacts, {self.bytes_per_contact:,.0f} bytes per contact"
                " (all engine state / contacts, tracemalloc)",
            ]
        )


def _baseline(path: Path) -> float:
    reader = LineReader(topic_map())
    inputs = reader.inputs
    start = time.perf_counter()
    n = 0
    with path.open("rb") as fh:
        for line in fh:
            env = orjson.loads(line)
            inputs[env["topic"]].model.model_validate(env["value"])
            n += 1
    return n / (time.perf_counter() - start)


def _replay_subprocess(path: Path, out: Path) -> tuple[float, float, str]:
    exe = Path(sys.executable).with_name("leadstream")
    start = time.perf_counter()
    proc = subprocess.run(
        [str(exe), "replay", "--input", str(path), "--output", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    match = re.search(r"([\d,]+) events/s", proc.stderr)
    if match is None:
        raise RuntimeError(f"no throughput in replay output: {proc.stderr[-300:]}")
    eps = float(match.group(1).replace(",", ""))
    build = re.search(r"build: (.+)", proc.stderr)
    return eps, wall, build.group(1).strip() if build else "unknown"


def _state_size(path: Path) -> tuple[int, float]:
    """The engine's state after the workload, driven as a replay drives it (the one ``Driver``:
    change tracking discarded after every event, so only the state that a replay keeps is counted)."""
    rules = load_rules()
    reader = LineReader(topic_map())
    with path.open("rb") as fh:
        index = reader.index(fh)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    driver = Driver(Engine(rules), FileCheckpoint(rules, index, reader))
    for at, n, line in index:
        event = reader.event(n, line, at)
        if not isinstance(event, models.DeadLetter):
            driver.feed(event, at)
            driver.discard_changes()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    contacts = len(driver.engine.store.contacts)  # driver.engine: a failed decision rebuilds the engine
    return contacts, (after - before) / max(contacts, 1)


def bench_replay(events: int, seed: int, runs: int, workdir: Path) -> ReplayBench:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"workload-{events}-{seed}.jsonl"
    start = time.perf_counter()
    cfg = WorkloadConfig(seed=seed, events=events, accounts=max(100, events // 70), contacts=max(1000, events // 7))
    count = write_jsonl(cfg, path)
    generated = time.perf_counter() - start
    baseline = _baseline(path)
    replay_eps, wall_eps, builds = [], [], []
    for _ in range(runs):
        eps, wall, build = _replay_subprocess(path, workdir / "out.jsonl")
        replay_eps.append(eps)
        wall_eps.append(count / wall)
        builds.append(build)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    contacts, per_contact = _state_size(path)
    return ReplayBench(count, generated, baseline, replay_eps, wall_eps, peak, contacts, per_contact, builds)
