"""Peak RSS of the engine under hostile input patterns (issue 11 item 6); a measurement, not a test.

Scenarios, each in a fresh child process so each peak RSS is its own:

- ``contacts``: web visits that each carry a distinct ``contact_id`` (and visitor), spread evenly
  over ``--days`` of event time, through the one ``processors.driver.Driver`` as replay drives it
  (``feed``, then ``discard_changes``). Anyone who can reach the tracker can send these; before
  the fix every one became a contact kept forever.
- ``urls``: ``--urls`` distinct URLs of ``--url-kb`` KiB each from anonymous visitors, which
  filled the URL memo (bounded by entry count, not bytes).

Run against another checkout with ``PYTHONPATH=<checkout>`` (the first line printed says which
``processors`` was imported; it needs ``Driver.discard_changes``); set ``LEADSTREAM_PURE_PYTHON=1``
for comparable figures.

    LEADSTREAM_PURE_PYTHON=1 .venv/bin/python tools/hostile_memory.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used, after PYTHONPATH has chosen the checkout
    from processors.engine import Engine
    from processors.rules import Rules
    from schemas.models import WebVisit

DAY_MS = 86_400_000
START_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
PATHS = ("/", "/blog/lead-scoring-101", "/pricing", "/docs/getting-started", "/compare/vs-acme")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _visits(n: int, days: float, kind: str, url_bytes: int) -> Iterator[tuple[int, WebVisit]]:
    """(at_ms, WebVisit) pairs in event-time order, built one at a time (nothing held here)."""
    from schemas.models import WebVisit

    step = days * DAY_MS / max(n, 1)
    for i in range(n):
        at = START_MS + int(i * step)
        value: dict[str, object]
        if kind == "contacts":
            url = f"https://www.leadstream-demo.com{PATHS[i % len(PATHS)]}"
            value = {"visitor_id": f"hv-{i}", "contact_id": f"hc-{i}", "url": url}
        else:
            prefix = f"https://www.leadstream-demo.com/p/{i}/"
            url = prefix + "x" * (url_bytes - len(prefix))
            value = {"visitor_id": f"uv-{i % 500}", "url": url}
        value["event_id"] = f"h-{i}"
        value["occurred_at"] = datetime.fromtimestamp(at / 1000, UTC)
        yield at, WebVisit.model_validate(value)


@dataclass
class _Regenerated:
    """The driver's checkpoint: the start of the scenario, whose visits are regenerated on demand
    (they are deterministic), so undoing a failed decision holds no event in memory either."""

    rules: Rules
    n: int
    days: float
    kind: str
    url_bytes: int

    def rebuild(self) -> Engine:
        from processors.engine import Engine

        return Engine(self.rules)

    def events_since(self, count: int) -> Iterator[tuple[int, WebVisit]]:
        return islice(_visits(self.n, self.days, self.kind, self.url_bytes), count)


def child(kind: str, n: int, days: float, url_bytes: int) -> None:
    """One scenario in this process; prints one line of figures."""
    import processors
    from processors.driver import Driver
    from processors.engine import Engine
    from processors.rules import load_rules

    rules = load_rules()
    driver = Driver(Engine(rules), _Regenerated(rules, n, days, kind, url_bytes))
    base = _peak_rss_mib()
    started = time.perf_counter()
    feed, discard = driver.feed, driver.discard_changes
    for at, event in _visits(n, days, kind, url_bytes):
        feed(event, at)
        discard()  # as replay does: nothing publishes state records, so change tracking stays empty
    elapsed = time.perf_counter() - started
    st = driver.engine.store  # driver.engine: a failed decision rebuilds the engine
    memo_keys = len(rules.intent.url_memo)
    print(
        f"{kind} peak_rss_mib={_peak_rss_mib():.0f} start_rss_mib={base:.0f} contacts={len(st.contacts)} "
        f"crm_ids={len(st.crm_ids)} visitors={len(st.visitors)} url_memo_entries={memo_keys} "
        f"failed={driver.failures} elapsed_s={elapsed:.1f} processors={os.path.dirname(processors.__file__)}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=("contacts", "urls", "all"), default="all")
    ap.add_argument("--visits", type=int, default=1_000_000, help="hostile visits (contacts scenario)")
    ap.add_argument("--days", type=float, default=120, help="event time they are spread over")
    ap.add_argument("--urls", type=int, default=2_000, help="distinct long URLs (urls scenario)")
    ap.add_argument("--url-kb", type=int, default=100, help="size of each long URL in KiB")
    ap.add_argument("--runs", type=int, default=1, help="runs per scenario; the median is printed")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        n = args.visits if args.scenario == "contacts" else args.urls
        child(args.scenario, n, args.days, args.url_kb * 1024)
        return
    scenarios = ("contacts", "urls") if args.scenario == "all" else (args.scenario,)
    print(f"python={sys.executable} PYTHONPATH={os.environ.get('PYTHONPATH', '')} "
          f"LEADSTREAM_PURE_PYTHON={os.environ.get('LEADSTREAM_PURE_PYTHON', '')}", flush=True)  # fmt: skip
    for scenario in scenarios:
        peaks = []
        for _ in range(args.runs):
            cmd = [sys.executable, __file__, "--child", "--scenario", scenario, "--visits", str(args.visits),
                   "--days", str(args.days), "--urls", str(args.urls), "--url-kb", str(args.url_kb)]  # fmt: skip
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            print("  " + line, flush=True)
            peaks.append(float(line.split("peak_rss_mib=")[1].split()[0]))
        print(f"{scenario}: median peak RSS {statistics.median(peaks):.0f} MiB over {len(peaks)} run(s)", flush=True)


if __name__ == "__main__":
    main()
