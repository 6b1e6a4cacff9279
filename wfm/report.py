"""
The coverage report of a run: a self-contained HTML page and the key table for the terminal.

The page has no scripts and loads nothing: charts are inline SVG (required vs scheduled
per queue, day x hour heatmaps of the gap per queue and per market, SLA attainment per
market), tables are plain HTML. :func:`report_html` builds it from a run's summary and
frames; :func:`write_report` reads a ``wfm run`` folder and writes ``report.html`` into it
atomically; :func:`key_table` is what ``wfm report`` prints.

The SVG helpers (:func:`svg_lines`, :func:`svg_heatmap`, :func:`svg_bars`) are shared with
:mod:`wfm.compare`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from wfm.errors import InputError

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
p.meta{color:#555;margin-top:0}
table{border-collapse:collapse;font-size:13px;margin-bottom:1.5em}
th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}
td.t,th.t{text-align:left}
.no{color:#b00;font-weight:600}.ok{color:#070}
.grid{display:flex;flex-wrap:wrap;gap:14px}
.grid figure{margin:0}
figcaption{font-size:12px;font-weight:600;margin-bottom:2px}
svg text{font-family:system-ui,sans-serif}
.legend span{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px}
"""

SCHEDULED_COLOR = "#2f6db5"
REQUIRED_COLOR = "#d9822b"
NET_COLOR = "#6aa84f"


def esc(value) -> str:
    return html.escape(str(value))


def _pct(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{100 * float(v):.{digits}f} %"


def _num(v, digits: int = 1) -> str:
    if v is None:
        return ""
    v = float(v)
    if math.isinf(v):
        return "∞"
    if not math.isfinite(v):
        return ""
    return f"{v:,.{digits}f}"


# -- colours ------------------------------------------------------------------------------


def diverging(value: float, vmax: float) -> str:
    """Red (short) - white - green (over) for ``value`` in [-vmax, vmax]; grey for NaN."""
    if value is None or not np.isfinite(value):
        return "#eeeeee"
    x = float(np.clip(value / max(vmax, 1e-9), -1.0, 1.0))
    if x < 0:
        r, g, b = 255, int(255 - 155 * -x), int(255 - 155 * -x)
        r = int(255 - 40 * -x)
    else:
        r, g, b = int(255 - 155 * x), int(255 - 60 * x), int(255 - 155 * x)
    return f"#{r:02x}{g:02x}{b:02x}"


# -- SVG ------------------------------------------------------------------------------------


def svg_lines(series: Sequence[tuple[str, np.ndarray, str]], *, width: int = 560,
              height: int = 150, ticks: Sequence[tuple[int, str]] = (),
              y_label: str = "agents") -> str:
    """
    A line chart of one or more series over the same x positions (step lines).

    ``series``: (name, values, colour); ``ticks``: (x index, label) of vertical grid lines.
    """
    left, right, top, bottom = 34, 8, 8, 18
    n = max((len(v) for _, v, _ in series), default=0)
    values = np.concatenate([np.asarray(v, float) for _, v, _ in series]) if series else []
    finite = np.asarray(values, float)[np.isfinite(values)] if len(values) else np.array([])
    ymax = max(float(finite.max()) if finite.size else 1.0, 1.0)
    w, h = width - left - right, height - top - bottom

    def x(i):
        return left + w * i / max(n, 1)

    def y(v):
        return top + h * (1.0 - v / ymax)

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img'>"]
    parts.append(f"<rect x='{left}' y='{top}' width='{w}' height='{h}' fill='#fafafa' "
                 "stroke='#ccc'/>")
    for i, label in ticks:
        parts.append(f"<line x1='{x(i):.1f}' y1='{top}' x2='{x(i):.1f}' y2='{top + h}' "
                     "stroke='#ddd'/>")
        parts.append(f"<text x='{x(i) + 2:.1f}' y='{height - 5}' font-size='9' "
                     f"fill='#555'>{esc(label)}</text>")
    for frac in (0.0, 0.5, 1.0):
        v = ymax * frac
        parts.append(f"<text x='{left - 3}' y='{y(v) + 3:.1f}' font-size='9' fill='#555' "
                     f"text-anchor='end'>{v:.0f}</text>")
    parts.append(f"<text x='2' y='{top + 8}' font-size='9' fill='#555'>{esc(y_label)}</text>")
    for name, v, colour in series:
        v = np.asarray(v, float)
        pts = []
        for i, val in enumerate(v):
            if not np.isfinite(val):
                continue
            pts.append(f"{x(i):.1f},{y(val):.1f}")
            pts.append(f"{x(i + 1):.1f},{y(val):.1f}")
        if pts:
            parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.2' "
                         f"points='{' '.join(pts)}'><title>{esc(name)}</title></polyline>")
    parts.append("</svg>")
    return "".join(parts)


def svg_heatmap(matrix: np.ndarray, row_labels: Sequence[str], *, vmax: float | None = None,
                cell: int = 13, unit: str = "agents",
                col_labels: Sequence[str] | None = None) -> str:
    """
    A heatmap of ``matrix`` (rows x columns, e.g. days x 24 hours) in diverging colours;
    each cell has a tooltip (``<title>``) with its value.
    """
    m = np.asarray(matrix, float)
    rows, cols = m.shape if m.ndim == 2 else (0, 0)
    col_labels = list(col_labels) if col_labels is not None else [str(c) for c in range(cols)]
    finite = m[np.isfinite(m)]
    vmax = vmax if vmax is not None else (float(np.abs(finite).max()) if finite.size else 1.0)
    left, top = 66, 14
    width, height = left + cols * cell + 4, top + rows * cell + 4
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img'>"]
    for j in range(0, cols, 3):
        parts.append(f"<text x='{left + j * cell + 1}' y='{top - 3}' font-size='9' "
                     f"fill='#555'>{esc(col_labels[j])}</text>")
    for i in range(rows):
        parts.append(f"<text x='{left - 4}' y='{top + i * cell + cell - 3}' font-size='9' "
                     f"fill='#333' text-anchor='end'>{esc(row_labels[i])}</text>")
        for j in range(cols):
            v = m[i, j]
            tip = "no data" if not np.isfinite(v) else f"{v:+.1f} {unit}"
            parts.append(f"<rect x='{left + j * cell}' y='{top + i * cell}' width='{cell - 1}' "
                         f"height='{cell - 1}' fill='{diverging(v, vmax)}'><title>"
                         f"{esc(row_labels[i])} {esc(col_labels[j])}: {tip}</title></rect>")
    parts.append("</svg>")
    return "".join(parts)


def svg_bars(labels: Sequence[str], groups: Sequence[tuple[str, Sequence[float], str]],
             targets: Sequence[float] | None = None, *, vmin: float = 0.0,
             vmax: float = 1.0, percent: bool = True, width: int = 560) -> str:
    """
    Horizontal bars per label, one bar per group (name, values, colour), with an optional
    target tick per label.
    """
    bar, gap = 11, 8
    k = max(len(groups), 1)
    left, right, top = 60, 60, 16
    per = k * bar + gap
    height = top + len(labels) * per + 6
    w = width - left - right

    def x(v):
        return left + w * (float(np.clip(v, vmin, vmax)) - vmin) / max(vmax - vmin, 1e-9)

    def fmt(v):
        return _pct(v, 1) if percent else _num(v, 1)

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' role='img'>"]
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        v = vmin + (vmax - vmin) * frac
        parts.append(f"<line x1='{x(v):.1f}' y1='{top - 4}' x2='{x(v):.1f}' y2='{height - 4}' "
                     "stroke='#eee'/>")
        parts.append(f"<text x='{x(v):.1f}' y='{top - 6}' font-size='9' fill='#555' "
                     f"text-anchor='middle'>{esc(fmt(v))}</text>")
    for i, label in enumerate(labels):
        y0 = top + i * per
        parts.append(f"<text x='{left - 4}' y='{y0 + k * bar / 2 + 4:.1f}' font-size='11' "
                     f"text-anchor='end'>{esc(label)}</text>")
        for g, (name, values, colour) in enumerate(groups):
            v = values[i]
            if v is None or not np.isfinite(v):
                continue
            yb = y0 + g * bar
            parts.append(f"<rect x='{left}' y='{yb}' width='{max(x(v) - left, 0.5):.1f}' "
                         f"height='{bar - 1}' fill='{colour}'><title>{esc(label)} {esc(name)}: "
                         f"{esc(fmt(v))}</title></rect>")
            parts.append(f"<text x='{x(v) + 3:.1f}' y='{yb + bar - 2}' font-size='9'>"
                         f"{esc(fmt(v))}</text>")
        if targets is not None and targets[i] is not None and np.isfinite(targets[i]):
            t = x(targets[i])
            parts.append(f"<line x1='{t:.1f}' y1='{y0 - 2}' x2='{t:.1f}' y2='{y0 + k * bar + 1}' "
                         f"stroke='#111' stroke-width='2'><title>{esc(label)} target "
                         f"{esc(fmt(targets[i]))}</title></line>")
    parts.append("</svg>")
    return "".join(parts)


# -- data for the charts ------------------------------------------------------------------------


def day_hour(values: pd.Series, times: pd.Series, zone: str = "UTC") -> tuple[np.ndarray, list]:
    """
    Mean of ``values`` per local date (rows) and local hour (24 columns) of ``times``.

    Returns
    -------
    (matrix, labels)
        Dates x 24 (NaN where no interval falls), and 'Mon 11-23' row labels.
    """
    local = pd.to_datetime(times, utc=True).dt.tz_convert(zone)
    frame = pd.DataFrame({"date": local.dt.date.to_numpy(), "hour": local.dt.hour.to_numpy(),
                          "v": np.asarray(values, float)})
    grid = frame.groupby(["date", "hour"])["v"].mean().unstack("hour")
    grid = grid.reindex(columns=range(24))
    labels = [f"{pd.Timestamp(d):%a %m-%d}" for d in grid.index]
    return grid.to_numpy(dtype=float), labels


def market_gaps(coverage: pd.DataFrame, markets: pd.DataFrame) -> pd.DataFrame:
    """
    The gap (scheduled - required headcount) of each market per interval: the sum over
    the queues that serve the market. Columns market, timezone, interval_start, gap.
    """
    pairs = markets[["interval_start", "market", "timezone", "queue"]].drop_duplicates()
    cov = coverage[["interval_start", "queue", "gap"]].copy()
    cov["interval_start"] = cov["interval_start"].astype("datetime64[ns, UTC]")
    pairs = pairs.assign(interval_start=pairs["interval_start"].astype("datetime64[ns, UTC]"))
    joined = pairs.merge(cov, on=["interval_start", "queue"], how="left")
    out = joined.groupby(["market", "timezone", "interval_start"], as_index=False)["gap"].sum()
    return out.sort_values(["market", "interval_start"]).reset_index(drop=True)


# -- tables -------------------------------------------------------------------------------------


def key_table(weekly: pd.DataFrame | list[dict]) -> str:
    """SLA attainment per market and channel for the week, as terminal text."""
    frame = pd.DataFrame(weekly)
    if frame.empty:
        return "(no markets)"
    # "all" after the channels of each market
    frame = frame.assign(_order=frame["channel"].map(lambda c: "~" if c == "all" else c))
    frame = frame.sort_values(["market", "_order"]).drop(columns="_order")
    rows = []
    for r in frame.itertuples(index=False):
        sl = None if pd.isna(r.service_level) else float(r.service_level)
        rows.append({
            "market": r.market, "channel": r.channel,
            "contacts": f"{float(r.contacts):,.0f}",
            "SL": _pct(sl), "target": _pct(r.target_service_level, 0),
            "met": "yes" if bool(r.met) else "NO",
            "ASA s": _num(r.asa_s, 1) if r.asa_s is not None else "",
            "unstable": _pct(getattr(r, "unstable_share", None)),
            "abandon": _pct(r.abandon_rate) if r.abandon_rate is not None else "",
            "h below": _num(r.hours_below_target, 1),
        })
    return pd.DataFrame(rows).to_string(index=False)


def _html_table(frame: pd.DataFrame, formats: dict, *, text_cols=()) -> str:
    head = "".join(f"<th class='{'t' if c in text_cols else ''}'>{esc(c)}</th>"
                   for c in frame.columns)
    body = []
    for r in frame.itertuples(index=False):
        cells = []
        for c, v in zip(frame.columns, r, strict=True):
            text = formats[c](v) if c in formats else esc(v)
            cells.append(f"<td class='{'t' if c in text_cols else ''}'>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _met(v) -> str:
    return "<span class='ok'>yes</span>" if bool(v) else "<span class='no'>no</span>"


# -- the page ---------------------------------------------------------------------------------


def report_html(summary: dict, frames: dict[str, pd.DataFrame]) -> str:
    """
    The coverage report as one self-contained HTML page (inline CSS and SVG, no scripts).

    Parameters
    ----------
    summary : dict
        The run's summary (``summary.json``); needs its ``coverage`` section.
    frames : dict
        The run's frames; uses ``coverage``, ``sla_daily``, ``sla_weekly`` and
        ``coverage_markets`` when present.

    Raises
    ------
    InputError
        When the run has no coverage (no roster was solved).
    """
    cov_summary = summary.get("coverage")
    coverage = frames.get("coverage")
    if cov_summary is None or coverage is None:
        raise InputError("the run has no coverage (no coverage.parquet / summary coverage "
                         "section): its roster stage gave no roster; run a scenario whose "
                         "roster stage solves one (`wfm run SCENARIO`)")
    run = summary.get("run", {})
    plan = cov_summary.get("planning", {})
    weekly = frames.get("sla_weekly", pd.DataFrame(cov_summary.get("sla_week", [])))
    daily = frames.get("sla_daily")
    interval_min = int(plan.get("interval_min", 30))
    sl = cov_summary.get("service_level")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>wfm coverage report: {esc(run.get('scenario', ''))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Coverage vs SLA: {esc(run.get('scenario', ''))}</h1>",
        f"<p class='meta'>run {esc(run.get('run_id', ''))}; week from "
        f"{esc(plan.get('start_utc', ''))} to {esc(plan.get('end_utc', ''))} (UTC), "
        f"{interval_min}-minute intervals; shrinkage {_pct(cov_summary.get('shrinkage'), 0)} "
        "(productive agents = floor(scheduled x (1 - shrinkage)))</p>",
        f"<p><b>{cov_summary['headcount']}</b> agents rostered, "
        f"<b>{_num(cov_summary['paid_hours'], 0)}</b> paid hours in "
        f"{cov_summary['shifts']} shifts. Projected service level <b>{_pct(sl)}</b> of "
        f"{_num(cov_summary['contacts'], 0)} contacts; <b>{cov_summary['markets_met']}/"
        f"{cov_summary['markets']}</b> markets meet their SLA for the week; "
        f"<b>{_num(cov_summary['queue_hours_below_target'], 1)}</b> queue-hours below "
        f"target. Required {_num(cov_summary['required_h'], 0)} headcount-hours, scheduled "
        f"{_num(cov_summary['scheduled_h'], 0)}, productive {_num(cov_summary['net_h'], 0)}."
        "</p>",
    ]
    # SLA per market
    all_rows = weekly[weekly["channel"] == "all"].sort_values("market")
    parts.append("<h2>SLA attainment per market (week, contact-weighted)</h2>")
    parts.append("<p>Share of the market's contacts answered within its target, from its "
                 "queue's projected service level in each interval; the black tick is the "
                 "market's target.</p>")
    parts.append(svg_bars(list(all_rows["market"]),
                          [("projected", list(all_rows["service_level"].astype(float)),
                            SCHEDULED_COLOR)],
                          list(all_rows["target_service_level"].astype(float))))
    table = weekly.copy()
    table["channel_order"] = table["channel"].map(lambda c: "~" if c == "all" else c)
    table = table.sort_values(["market", "channel_order"]).drop(columns="channel_order")
    cols = ["market", "channel", "contacts", "service_level", "target_service_level", "met",
            "asa_s", "unstable_share", "abandon_rate", "hours_below_target"]
    cols = [c for c in cols if c in table.columns]
    parts.append("<p>ASA is averaged over the intervals where the projected queue is stable; "
                 "unstable_share is the share of contacts arriving when it is not (fewer "
                 "productive agents than the load: the queue grows, ASA has no limit).</p>")
    parts.append(_html_table(table[cols], {
        "contacts": lambda v: _num(v, 0), "service_level": _pct,
        "target_service_level": lambda v: _pct(v, 0), "met": _met,
        "asa_s": lambda v: _num(v, 1), "unstable_share": _pct, "abandon_rate": _pct,
        "hours_below_target": lambda v: _num(v, 1)}, text_cols=("market", "channel")))
    if daily is not None and len(daily):
        parts.append("<h2>SLA attainment per market and local day</h2>")
        parts.append("<p>Market-local dates; the planning week runs in UTC, so the first and "
                     "last local dates of a market are partial days.</p>")
        d = daily[daily["channel"] == "all"].copy()
        d["date"] = d["date"].map(lambda v: pd.Timestamp(v).date())
        order = sorted(set(d["date"]))
        head = "".join(f"<th>{x:%a %m-%d}</th>" for x in order)
        rows = []
        for market, part in d.groupby("market", sort=True):
            by = part.set_index("date")
            cells = []
            for day in order:
                if day not in by.index:
                    cells.append("<td></td>")
                    continue
                r = by.loc[day]
                cls = "ok" if bool(r["met"]) else "no"
                cells.append(f"<td class='{cls}' title='{esc(_num(r['contacts'], 0))} contacts, "
                             f"{esc(_num(r['hours_below_target'], 1))} h below target'>"
                             f"{_pct(r['service_level'], 0)}</td>")
            rows.append(f"<tr><td class='t'>{esc(market)}</td>{''.join(cells)}</tr>")
        parts.append(f"<table><tr><th class='t'>market</th>{head}</tr>{''.join(rows)}</table>")
    # required vs scheduled
    parts.append("<h2>Required vs scheduled per queue</h2>")
    parts.append(f"<p class='legend'><span style='background:{REQUIRED_COLOR}'></span>required "
                 f"headcount<span style='background:{SCHEDULED_COLOR}'></span>scheduled (on the "
                 f"queue, lunches out)<span style='background:{NET_COLOR}'></span>productive "
                 "(after shrinkage); UTC, one tick per day</p><div class='grid'>")
    per_day = int(24 * 60 / interval_min)
    for queue, part in coverage.groupby("queue", sort=True):
        part = part.sort_values("interval_start")
        start = pd.Timestamp(part["interval_start"].iloc[0])
        ticks = [(i, f"{start + pd.Timedelta(days=i // per_day):%a}")
                 for i in range(0, len(part), per_day)]
        chart = svg_lines([("required", part["required"].to_numpy(float), REQUIRED_COLOR),
                           ("scheduled", part["scheduled"].to_numpy(float), SCHEDULED_COLOR),
                           ("productive", part["net"].to_numpy(float), NET_COLOR)],
                          ticks=ticks)
        parts.append(f"<figure><figcaption>{esc(queue)}</figcaption>{chart}</figure>")
    parts.append("</div>")
    # heatmaps
    # colour scale: the 95th percentile of |gap|, so a few overlap spikes do not wash out
    # the rest (larger values take the strongest colour)
    gaps = np.abs(coverage["gap"].to_numpy(float))
    gaps = gaps[np.isfinite(gaps)]
    vmax = float(max(np.percentile(gaps, 95) if gaps.size else 1.0, 1.0))
    parts.append("<h2>Gap per queue: day x hour (UTC)</h2><p>Scheduled minus required "
                 "headcount, mean over the hour; red short, green over.</p><div class='grid'>")
    for queue, part in coverage.groupby("queue", sort=True):
        m, labels = day_hour(part["gap"], part["interval_start"])
        parts.append(f"<figure><figcaption>{esc(queue)}</figcaption>"
                     f"{svg_heatmap(m, labels, vmax=vmax)}</figure>")
    parts.append("</div>")
    markets = frames.get("coverage_markets")
    if markets is not None and len(markets):
        gaps = market_gaps(coverage, markets)
        parts.append("<h2>Gap per market: day x hour (market-local time)</h2><p>The gap of "
                     "the queues that serve the market (summed over its channels), on the "
                     "market's own clock.</p><div class='grid'>")
        for (market, zone), part in gaps.groupby(["market", "timezone"], sort=True):
            m, labels = day_hour(part["gap"], part["interval_start"], zone)
            parts.append(f"<figure><figcaption>{esc(market)} ({esc(zone)})</figcaption>"
                         f"{svg_heatmap(m, labels, vmax=vmax)}</figure>")
        parts.append("</div>")
    # queues, worst intervals, nights
    queues = pd.DataFrame(cov_summary.get("queues", []))
    if len(queues):
        parts.append("<h2>Queues (week)</h2>")
        hours = ["required_h", "scheduled_h", "net_h", "under_h", "over_h",
                 "hours_below_target"]
        qcols = ["queue", "contacts", "service_level", "target_service_level", "met", "asa_s",
                 "unstable_share", *hours]
        qcols = [c for c in qcols if c in queues.columns]
        parts.append(_html_table(queues[qcols], {
            "contacts": lambda v: _num(v, 0), "service_level": _pct,
            "target_service_level": lambda v: _pct(v, 0), "met": _met,
            "asa_s": lambda v: _num(v if v != "inf" else math.inf, 1),
            "unstable_share": _pct, **{c: (lambda v: _num(v, 1)) for c in hours}},
            text_cols=("queue",)))
    worst = pd.DataFrame(cov_summary.get("worst", []))
    parts.append("<h2>Worst intervals</h2>")
    if len(worst):
        parts.append("<p>Queue-intervals missing the most contacts against the target "
                     "(contacts x (target - projected service level)).</p>")
        wcols = ["interval_start", "queue", "contacts", "required", "scheduled", "net",
                 "required_agents", "service_level", "target_service_level", "missed"]
        parts.append(_html_table(worst[wcols], {
            "contacts": lambda v: _num(v, 1), "service_level": _pct,
            "target_service_level": lambda v: _pct(v, 0), "missed": lambda v: _num(v, 1),
            "required": lambda v: _num(v, 0), "scheduled": lambda v: _num(v, 0),
            "net": lambda v: _num(v, 0), "required_agents": lambda v: _num(v, 0)},
            text_cols=("interval_start", "queue")))
    else:
        parts.append("<p>No interval misses its service-level target.</p>")
    nights = pd.DataFrame(cov_summary.get("nights", []))
    if len(nights):
        parts.append("<h2>Nights per agent (night_ok agents, per site)</h2>")
        parts.append(_html_table(nights, {c: (lambda v: _num(v, 1))
                                          for c in ("mean", "min", "max", "spread")},
                                 text_cols=("site",)))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path, out: str | Path | None = None) -> tuple[Path, dict]:
    """
    Write ``report.html`` of a ``wfm run`` folder (atomically); returns (path, summary).
    """
    from wfm.export import write_bytes_atomic
    from wfm.io import read_bundle

    run_dir = Path(run_dir)
    summary, frames = read_bundle(run_dir)
    text = report_html(summary, frames)
    path = write_bytes_atomic(Path(out) if out else run_dir / "report.html", text)
    return path, summary
