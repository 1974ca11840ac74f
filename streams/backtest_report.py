"""Backtest output for people: a terminal summary table and a self-contained HTML report."""

from __future__ import annotations

from html import escape

from rich.console import Console
from rich.table import Table

ROWS = [
    ("MQLs (contact)", "mql_contact_count"),
    ("MQLs (account)", "mql_account_count"),
    ("MQL → SAL", "conversion.mql_to_sal"),
    ("MQL → SQL", "conversion.mql_to_sql"),
    ("MQL → won", "conversion.mql_to_won"),
    ("pipeline from MQLs", "pipeline"),
    ("revenue from MQLs", "revenue"),
    ("SLA breaches", "sla_breaches"),
    ("median hours to MQL", "median_hours_to_mql"),
    ("precision (MQL → later SQL)", "precision_sql"),
    ("recall (SQLs that were MQLs)", "recall_sql"),
]


def _get(metrics: dict, path: str) -> object:
    value: object = metrics
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fmt(value: object, path: str) -> str:
    if value is None:
        return "–"
    if path.startswith("conversion") or path in ("precision_sql", "recall_sql"):
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_summary(result: dict, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"backtest {result['range']['from']} → {result['range']['to']} ({result['events']:,} events)")
    table.add_column("metric")
    table.add_column(f"baseline ({result['rules']['baseline']})", justify="right")
    table.add_column(f"candidate ({result['rules']['candidate']})", justify="right")
    for label, path in [("MQLs", "mql_count"), *ROWS]:
        table.add_row(label, _fmt(_get(result["baseline"], path), path), _fmt(_get(result["candidate"], path), path))
    console.print(table)
    d = result["diff"]
    console.print(
        f"added {len(d['added'])}, removed {len(d['removed'])}, unchanged {d['unchanged']}; "
        f"median time-to-MQL change {d['median_time_to_mql_change_hours']:+.2f} h; elapsed {result['elapsed_s']} s"
    )


def _chart(base: dict[str, int], cand: dict[str, int]) -> str:
    """Grouped bars of weekly MQLs as inline SVG (no scripts, opens offline)."""
    weeks = sorted(set(base) | set(cand))
    if not weeks:
        return "<p>No MQLs in range.</p>"
    top = max([*base.values(), *cand.values(), 1])
    bar, gap, height = 14, 10, 180
    width = len(weeks) * (2 * bar + gap) + 40
    parts = [
        f'<svg width="{width + 40}" height="{height + 80}" role="img" aria-label="weekly MQLs">',
        f'<text x="0" y="16" font-size="10">{top}</text><line x1="26" y1="10" x2="{width}" y2="10" stroke="#ddd"/>',
    ]
    for i, week in enumerate(weeks):
        x = 30 + i * (2 * bar + gap)
        for j, (series, colour) in enumerate(((base, "#7a8ca3"), (cand, "#e07a1f"))):
            v = series.get(week, 0)
            h = round(v / top * height)
            parts.append(
                f'<rect x="{x + j * bar}" y="{height - h + 10}" width="{bar - 2}" height="{h}" fill="{colour}">'
                f"<title>{week}: {v}</title></rect>"
            )
        parts.append(
            f'<text x="{x}" y="{height + 26}" font-size="9" transform="rotate(45 {x} {height + 26})">'
            f"{escape(week)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _leads(rows: list[dict]) -> str:
    if not rows:
        return "<p>None.</p>"
    head = (
        "<tr><th>id</th><th>kind</th><th>MQL at</th><th>priority</th><th>fit</th><th>intent</th>"
        "<th>outcome</th><th>pipeline</th><th>evidence</th></tr>"
    )
    body = "".join(
        f"<tr><td>{escape(str(r['id']))}</td><td>{r['kind']}</td><td>{escape(r['mql_at'])}</td>"
        f"<td>{r['priority']}</td><td>{r['fit_score']:g}</td><td>{r['intent_score']:.1f}</td>"
        f"<td>{r['outcome']}</td><td>{r['pipeline']:,.0f}</td>"
        f"<td class=ev>{escape(', '.join(r['evidence']))}</td></tr>"
        for r in rows
    )
    return f"<table>{head}{body}</table>"


def render_html(result: dict) -> str:
    b, c, d = result["baseline"], result["candidate"], result["diff"]
    summary = "".join(
        f"<tr><td>{label}</td><td>{_fmt(_get(b, p), p)}</td><td>{_fmt(_get(c, p), p)}</td></tr>"
        for label, p in [("MQLs", "mql_count"), *ROWS]
    )
    funnel = "".join(
        f"<tr><td>{stage}</td><td>{b['funnel'][stage]}</td><td>{c['funnel'][stage]}</td></tr>"
        for stage in ("mql", "sal", "sql", "opportunity", "won")
    )
    rules = result["rules"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>leadstream backtest</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }}
td.ev {{ font-size: 11px; color: #555; max-width: 40em; }}
.legend span {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style></head><body>
<h1>Backtest: {escape(rules["baseline"])} vs {escape(rules["candidate"])}</h1>
<p>{escape(result["range"]["from"])} → {escape(result["range"]["to"])}; {result["events"]:,} events replayed,
{result["dead_letters"]} dead-lettered; MQLs added {len(d["added"])}, removed {len(d["removed"])},
unchanged {d["unchanged"]}; median time-to-MQL change {d["median_time_to_mql_change_hours"]:+.2f} h.</p>
<h2>Summary</h2>
<table><tr><th>metric</th><th>baseline</th><th>candidate</th></tr>{summary}</table>
<h2>Weekly MQLs</h2>
<p class="legend"><span style="background:#7a8ca3"></span>baseline<span style="background:#e07a1f"></span>candidate</p>
{_chart(b["by_week"], c["by_week"])}
<h2>Funnel</h2>
<table><tr><th>stage reached after MQL</th><th>baseline</th><th>candidate</th></tr>{funnel}</table>
<h2>Added by the candidate ({len(d["added"])})</h2>{_leads(d["added_details"])}
<h2>Removed by the candidate ({len(d["removed"])})</h2>{_leads(d["removed_details"])}
</body></html>
"""
