"""
Two runs side by side: headcount, paid hours, SLA attainment per market, hours below target,
nights per agent spread; as a table for the terminal and as a self-contained HTML page.

Every figure is read from the runs' summaries (the ``coverage`` section written by the
coverage stage), so a comparison never recomputes anything and compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from wfm.errors import InputError
from wfm.report import _CSS, REQUIRED_COLOR, SCHEDULED_COLOR, esc, svg_bars


@dataclass
class RunView:
    """What a comparison reads of one run: its name, folder and summary."""

    name: str
    path: Path
    summary: dict

    @property
    def coverage(self) -> dict:
        cov = self.summary.get("coverage")
        if cov is None:
            raise InputError(f"{self.path}: the run has no coverage section in summary.json "
                             "(no roster was solved); compare runs whose roster and coverage "
                             "stages ran")
        return cov


def load_run(path: str | Path) -> RunView:
    """A run folder's summary (``summary.json``)."""
    from wfm.io import read_bundle

    path = Path(path)
    summary, _ = read_bundle(path)
    name = summary.get("run", {}).get("scenario") or path.name
    return RunView(name=name, path=path, summary=summary)


def _float(v) -> float:
    if v is None:
        return np.nan
    if v == "inf":
        return np.inf
    return float(v)


def compare(a: RunView, b: RunView) -> pd.DataFrame:
    """
    The comparison table.

    Returns
    -------
    DataFrame
        metric, unit, a, b, change (b - a); rows: agents rostered, shifts, paid hours,
        contacts, required headcount-hours, scheduled agent-hours, projected service
        level, markets meeting their SLA, queue-hours and market-hours below target,
        nights per agent spread per site, then SLA attainment and hours below target per
        market (week, all channels).
    """
    ca, cb = a.coverage, b.coverage
    rows = []

    def add(metric, unit, va, vb):
        va, vb = _float(va), _float(vb)
        rows.append({"metric": metric, "unit": unit, "a": va, "b": vb, "change": vb - va})

    add("agents rostered", "agents", ca.get("headcount"), cb.get("headcount"))
    add("shifts", "shifts", ca.get("shifts"), cb.get("shifts"))
    add("paid hours", "h", ca.get("paid_hours"), cb.get("paid_hours"))
    add("contacts", "contacts", ca.get("contacts"), cb.get("contacts"))
    add("required headcount-hours", "h", ca.get("required_h"), cb.get("required_h"))
    add("scheduled agent-hours", "h", ca.get("scheduled_h"), cb.get("scheduled_h"))
    add("projected service level", "fraction", ca.get("service_level"),
        cb.get("service_level"))
    add("markets meeting SLA", "markets", ca.get("markets_met"), cb.get("markets_met"))
    add("queue-hours below target", "h", ca.get("queue_hours_below_target"),
        cb.get("queue_hours_below_target"))
    add("market-hours below target", "h", ca.get("market_hours_below_target"),
        cb.get("market_hours_below_target"))
    na = {r["site"]: r for r in ca.get("nights", [])}
    nb = {r["site"]: r for r in cb.get("nights", [])}
    for site in sorted(set(na) | set(nb)):
        add(f"nights per agent spread, {site}", "nights", na.get(site, {}).get("spread"),
            nb.get(site, {}).get("spread"))
    wa = {r["market"]: r for r in ca.get("sla_week", []) if r["channel"] == "all"}
    wb = {r["market"]: r for r in cb.get("sla_week", []) if r["channel"] == "all"}
    markets = sorted(set(wa) | set(wb))
    for m in markets:
        add(f"SLA attainment {m}", "fraction", wa.get(m, {}).get("service_level"),
            wb.get(m, {}).get("service_level"))
    for m in markets:
        add(f"hours below target {m}", "h", wa.get(m, {}).get("hours_below_target"),
            wb.get(m, {}).get("hours_below_target"))
    return pd.DataFrame(rows, columns=["metric", "unit", "a", "b", "change"])


def _fmt(value: float, unit: str, *, signed: bool = False) -> str:
    if not np.isfinite(value):
        return "" if np.isnan(value) else "∞"
    if unit == "fraction":
        text = f"{100 * value:+.1f} pt" if signed else f"{100 * value:.1f} %"
        return text
    digits = 0 if unit in ("agents", "shifts", "markets", "contacts") or abs(value) >= 100 else 1
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


def table_text(table: pd.DataFrame, a: RunView, b: RunView) -> str:
    """The comparison as terminal text, with the runs' names as column heads (A and B
    when both runs have the same name)."""
    head_a, head_b = (a.name, b.name) if a.name != b.name else ("A", "B")
    rows = [(r.metric, _fmt(r.a, r.unit), _fmt(r.b, r.unit),
             _fmt(r.change, r.unit, signed=True)) for r in table.itertuples(index=False)]
    heads = ("metric", head_a, head_b, "change")
    widths = [max(len(x[i]) for x in [heads, *rows]) for i in range(4)]
    lines = []
    for row in [heads, *rows]:
        lines.append("  ".join([row[0].ljust(widths[0])]
                               + [row[i].rjust(widths[i]) for i in (1, 2, 3)]).rstrip())
    return "\n".join(lines)


def compare_html(table: pd.DataFrame, a: RunView, b: RunView) -> str:
    """The comparison as a self-contained HTML page (table and inline SVG bars)."""
    ca, cb = a.coverage, b.coverage
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>wfm compare: {esc(a.name)} vs {esc(b.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(a.name)} vs {esc(b.name)}</h1>",
        f"<p class='meta'>A: {esc(a.path)} (run {esc(a.summary.get('run', {}).get('run_id'))})"
        f"<br>B: {esc(b.path)} (run {esc(b.summary.get('run', {}).get('run_id'))})</p>",
        "<table><tr><th class='t'>metric</th><th>A</th><th>B</th><th>change</th></tr>",
    ]
    for r in table.itertuples(index=False):
        worse = _worse(r.metric, r.change)
        cls = " class='no'" if worse else ""
        parts.append(f"<tr><td class='t'>{esc(r.metric)}</td><td>{esc(_fmt(r.a, r.unit))}</td>"
                     f"<td>{esc(_fmt(r.b, r.unit))}</td><td{cls}>"
                     f"{esc(_fmt(r.change, r.unit, signed=True))}</td></tr>")
    parts.append("</table>")
    wa = {r["market"]: r for r in ca.get("sla_week", []) if r["channel"] == "all"}
    wb = {r["market"]: r for r in cb.get("sla_week", []) if r["channel"] == "all"}
    markets = sorted(set(wa) | set(wb))
    parts.append("<h2>SLA attainment per market (week)</h2>")
    parts.append(f"<p class='legend'><span style='background:{SCHEDULED_COLOR}'></span>"
                 f"{esc(a.name)} (A)<span style='background:{REQUIRED_COLOR}'></span>"
                 f"{esc(b.name)} (B); the black tick is the market's target</p>")
    parts.append(svg_bars(
        markets,
        [(a.name, [_float(wa.get(m, {}).get("service_level")) for m in markets],
          SCHEDULED_COLOR),
         (b.name, [_float(wb.get(m, {}).get("service_level")) for m in markets],
          REQUIRED_COLOR)],
        [_float(wb.get(m, wa.get(m, {})).get("target_service_level")) for m in markets]))
    hours_a = [_float(wa.get(m, {}).get("hours_below_target")) for m in markets]
    hours_b = [_float(wb.get(m, {}).get("hours_below_target")) for m in markets]
    top = max([h for h in hours_a + hours_b if np.isfinite(h)] + [1.0])
    parts.append("<h2>Hours below target per market (week)</h2>")
    parts.append(svg_bars(markets, [(a.name, hours_a, SCHEDULED_COLOR),
                                    (b.name, hours_b, REQUIRED_COLOR)],
                          vmax=top, percent=False))
    parts.append("</body></html>")
    return "\n".join(parts)


def _worse(metric: str, change: float) -> bool:
    """Whether a change is for the worse (shown in red)."""
    if not np.isfinite(change) or change == 0:
        return False
    if metric.startswith(("SLA attainment", "projected service level", "markets meeting")):
        return change < 0
    if metric.startswith(("hours below", "queue-hours below", "market-hours below",
                          "nights per agent spread")):
        return change > 0
    return False


def write_compare(run_a: str | Path, run_b: str | Path,
                  out: str | Path | None = None) -> tuple[pd.DataFrame, str, Path]:
    """
    Compare two run folders; write the HTML (atomically) to ``out`` (default
    ``compare_<a>_vs_<b>.html`` beside run B). Returns (table, terminal text, path).
    """
    from wfm.export import write_bytes_atomic

    a, b = load_run(run_a), load_run(run_b)
    table = compare(a, b)
    path = Path(out) if out else (Path(run_b).resolve().parent
                                  / f"compare_{Path(run_a).name}_vs_{Path(run_b).name}.html")
    write_bytes_atomic(path, compare_html(table, a, b))
    return table, table_text(table, a, b), path

