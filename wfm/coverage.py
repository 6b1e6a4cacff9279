"""
Coverage vs SLA: roster + allocation + requirement -> scheduled and productive agents per
queue and interval, projected service level, ASA, occupancy and abandonment, and SLA
attainment per market per day and per week.

The steps, each a small function:

1. :func:`scheduled_agents`: agents the allocation puts on each queue and interval. The
   allocation holds one row per agent and interval in which the agent works and is not
   on a break, so lunches are already out. It is checked against the roster: every row
   must lie inside one of the agent's shifts and outside its breaks.
2. :func:`project`: productive agents ``net = floor(scheduled * (1 - shrinkage))`` with
   ``shrinkage = scenario.targets.shrinkage`` (the part of paid time lost to meetings,
   training, absence ... that the roster does not schedule). Rounding down is the exact
   inverse of the staffing rule ``headcount = ceil(agents / (1 - shrinkage))``: a queue
   scheduled at its required headcount has at least its required productive agents, and
   a fraction of an agent answers no call. The projected figures come from
   :mod:`wfm.erlang` at ``net`` agents, with the model the staffing stage used: voice
   (and any other line) Erlang C, or Erlang A where a ``patience_s`` is configured (then
   also the abandon rate); chat ``concurrency`` slots per agent on the first-response
   target; email the backlog model over the planning window (one fraction per queue).
3. :func:`market_intervals`: a market served by a pooled queue gets that queue's
   projected figures, weighted by the market's own contacts (from the forecast) and
   judged against the market's own targets (a pooled queue is staffed to the strictest).
4. :func:`attainment`: contact-weighted SLA attainment per market and channel (and over
   all channels, ``channel = "all"``) per market-local day and per week, with the hours
   below target; :func:`worst_intervals`; :func:`queue_summary`.

:func:`coverage` runs them all and returns a :class:`CoverageResult`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm import erlang, schema, staffing
from wfm.errors import InputError
from wfm.scenario import Scenario

#: columns of the coverage frame, in order (the contract's plus the detail behind them)
COLUMNS = ["interval_start", "queue", "language", "channel", "contacts", "aht_s",
           "traffic_erl", "required", "required_agents", "scheduled", "net", "gap",
           "net_gap", "service_level", "asa_s", "occupancy", "abandon_rate",
           "target_service_level", "target_answer_s", "target_asa_s", "meets_target"]

#: rounding slack when productive agents are rounded down (0.7 * 10 = 6.999... -> 7)
_EPS = 1e-9


@dataclass
class CoverageResult:
    """
    Everything :func:`coverage` computes.

    Attributes
    ----------
    intervals : DataFrame
        Contract ``coverage`` (see :data:`COLUMNS`): one row per queue and interval.
    markets : DataFrame
        One row per market, language, channel and interval: the market's contacts and
        its queue's projected figures, judged against the market's targets.
    daily : DataFrame
        SLA attainment per market, channel (and ``"all"``) and market-local date.
    weekly : DataFrame
        The same over the planning window.
    queues : DataFrame
        Per queue over the window: contacts, service level, hours required, scheduled,
        productive, under and over, hours below target.
    worst : DataFrame
        The queue-intervals that miss the most contacts against the target.
    interval_min : int
        The planning grid. [min]
    """

    intervals: pd.DataFrame
    markets: pd.DataFrame
    daily: pd.DataFrame
    weekly: pd.DataFrame
    queues: pd.DataFrame
    worst: pd.DataFrame
    interval_min: int


# -- scheduled agents ---------------------------------------------------------------------


def _break_windows(roster: pd.DataFrame, site_zones: dict[str, str]) -> pd.DataFrame:
    """
    The unpaid breaks of the roster as UTC windows: agent_id, start, end.

    A break 'HH:MM-HH:MM' is site-local wall time; it starts at the first such wall time
    at or after the shift's local start (a night shift's break can fall on the next day).
    """
    rows = []
    pattern = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
    for r in roster.itertuples(index=False):
        text = r.breaks if isinstance(r.breaks, str) else ""
        if not text.strip():
            continue
        zone = site_zones.get(r.site)
        if zone is None:
            raise InputError(f"roster: site {r.site!r} (agent {r.agent_id}) has no time zone; "
                             "add it to the scenario's [[sites]]")
        start_local = pd.Timestamp(r.start_utc).tz_convert(zone)
        for part in text.split(";"):
            if not part.strip():
                continue
            m = pattern.match(part)
            if m is None:
                raise InputError(
                    f"roster: agent {r.agent_id} on {r.date}: break {part.strip()!r} is not "
                    "'HH:MM-HH:MM' (site-local); write breaks as '12:00-12:30;15:00-15:15'")
            h0, m0, h1, m1 = (int(g) for g in m.groups())
            naive0 = dt.datetime.combine(start_local.date(), dt.time(h0 % 24, m0))
            if naive0 < start_local.tz_localize(None).to_pydatetime():
                naive0 += dt.timedelta(days=1)
            length = (h1 * 60 + m1 - h0 * 60 - m0) % 1440
            b0 = pd.Timestamp(naive0).tz_localize(zone, nonexistent="shift_forward",
                                                  ambiguous=True).tz_convert("UTC")
            rows.append((r.agent_id, b0, b0 + pd.Timedelta(minutes=length)))
    out = pd.DataFrame(rows, columns=["agent_id", "start", "end"])
    for c in ("start", "end"):
        out[c] = pd.to_datetime(out[c], utc=True)
    return out


def check_allocation(allocation: pd.DataFrame, roster: pd.DataFrame,
                     site_zones: dict[str, str], interval_min: int) -> None:
    """
    Every allocation row overlaps one of its agent's shifts and is not wholly inside one of
    its unpaid breaks (an interval only partly on shift or on a break, as on a grid coarser
    than the shift's edges, is accepted).

    Raises
    ------
    InputError
        Naming the first agents and intervals that are allocated off shift or on a break.
    """
    if allocation.empty:
        return
    step = pd.Timedelta(minutes=interval_min)
    alloc = allocation[["agent_id", "interval_start"]].copy()
    alloc["agent_id"] = alloc["agent_id"].astype(str)
    alloc["interval_start"] = alloc["interval_start"].astype("datetime64[ns, UTC]")
    shifts = roster[["agent_id", "start_utc", "end_utc"]].copy()
    shifts["agent_id"] = shifts["agent_id"].astype(str)
    shifts["start_utc"] = shifts["start_utc"].astype("datetime64[ns, UTC]")
    shifts["end_utc"] = shifts["end_utc"].astype("datetime64[ns, UTC]")
    # the latest shift that starts before the interval ends must still run in it
    alloc["probe"] = alloc["interval_start"] + step - pd.Timedelta(microseconds=1)
    joined = pd.merge_asof(alloc.sort_values("probe"), shifts.sort_values("start_utc"),
                           left_on="probe", right_on="start_utc", by="agent_id",
                           direction="backward")
    off = joined["start_utc"].isna() | (joined["interval_start"] >= joined["end_utc"])
    problems = []
    if off.any():
        bad = joined[off].sort_values(["agent_id", "interval_start"])
        shown = ", ".join(f"{r.agent_id} at {r.interval_start.isoformat()}"
                          for r in bad.head(5).itertuples())
        problems.append(f"{int(off.sum())} allocation row(s) outside every shift of their agent "
                        f"in the roster (first: {shown})")
    breaks = _break_windows(roster, site_zones)
    if len(breaks):
        breaks["start"] = breaks["start"].astype("datetime64[ns, UTC]")
        breaks["end"] = breaks["end"].astype("datetime64[ns, UTC]")
        # the latest break that starts by the interval's start must not outlast it
        b = pd.merge_asof(alloc.sort_values("interval_start"), breaks.sort_values("start"),
                          left_on="interval_start", right_on="start", by="agent_id",
                          direction="backward")
        on_break = b["start"].notna() & (b["interval_start"] + step <= b["end"])
        if on_break.any():
            bad = b[on_break].sort_values(["agent_id", "interval_start"])
            shown = ", ".join(f"{r.agent_id} at {r.interval_start.isoformat()}"
                              for r in bad.head(5).itertuples())
            problems.append(f"{int(on_break.sum())} allocation row(s) during an unpaid break "
                            f"of the roster (first: {shown})")
    if problems:
        raise InputError("allocation does not match the roster; an agent serves a queue only "
                         "while on shift and not on a break:", problems)


def scheduled_agents(allocation: pd.DataFrame, requirement: pd.DataFrame) -> pd.DataFrame:
    """
    Agents the allocation puts on each queue and interval of the requirement.

    Parameters
    ----------
    allocation : DataFrame
        Contract ``allocation``: one row per agent and interval the agent serves a queue.
    requirement : DataFrame
        Contract ``requirement``; its (interval_start, queue) rows are the grid.

    Returns
    -------
    DataFrame
        interval_start, queue, scheduled (int); every row of the requirement, 0 where no
        agent is allocated; allocation rows outside the requirement's intervals (a shift
        that runs past the planning window) are left out.

    Raises
    ------
    InputError
        An allocation to a queue the requirement does not have.
    """
    grid = requirement[["interval_start", "queue"]].copy()
    grid["queue"] = grid["queue"].astype(str)
    grid["interval_start"] = grid["interval_start"].astype("datetime64[ns, UTC]")
    alloc = allocation[["interval_start", "queue"]].copy()
    alloc["queue"] = alloc["queue"].astype(str)
    alloc["interval_start"] = alloc["interval_start"].astype("datetime64[ns, UTC]")
    unknown = sorted(set(alloc["queue"]) - set(grid["queue"]))
    if unknown:
        raise InputError(
            f"allocation: queue(s) {', '.join(map(repr, unknown))} are not in the requirement "
            f"(queues: {', '.join(sorted(set(grid['queue'])))}); allocate agents to the "
            "requirement's queues (language_channel)")
    counts = alloc.groupby(["interval_start", "queue"]).size().rename("scheduled")
    out = grid.merge(counts.reset_index(), on=["interval_start", "queue"], how="left")
    out["scheduled"] = out["scheduled"].fillna(0).astype(np.int64)
    return out.sort_values(["interval_start", "queue"]).reset_index(drop=True)


def productive_agents(scheduled, shrinkage: float) -> np.ndarray:
    """
    Productive agents of a scheduled count: ``floor(scheduled * (1 - shrinkage))``.

    Parameters
    ----------
    scheduled : array_like
        Agents on the queue, lunches excluded. [agents]
    shrinkage : float
        Fraction of paid time not spent on contacts and not scheduled in the roster.

    Returns
    -------
    numpy.ndarray
        Whole productive agents (float dtype). [agents] Rounding down inverts the
        staffing rule ``headcount = ceil(agents / (1 - shrinkage))``: scheduling the
        required headcount gives at least the required productive agents.
    """
    s = np.asarray(scheduled, dtype=float)
    return np.floor(s * (1.0 - float(shrinkage)) + _EPS)


# -- projected figures ----------------------------------------------------------------------


def _targets(scenario: Scenario, req: pd.DataFrame) -> dict[str, staffing.QueueTarget]:
    """Each queue's targets as the staffing stage set them (strictest over its markets)."""
    targets = staffing.queue_targets(scenario, staffing.queue_map(scenario))
    for queue, part in req.groupby("queue", sort=True):
        if queue in targets:
            continue
        language = str(part["language"].iloc[0]) if "language" in part else ""
        channel = str(part["channel"].iloc[0]) if "channel" in part else "voice"
        targets[queue] = staffing.market_target(scenario, "", language, channel)
    return targets


def _language_channel(req: pd.DataFrame) -> pd.DataFrame:
    """language and channel columns, from the requirement or the queue name."""
    out = req.copy()
    if "language" not in out.columns or "channel" not in out.columns:
        parts = out["queue"].astype(str).str.split("_")
        out["language"] = parts.str[0]
        out["channel"] = parts.str[1]
    return out


def _project_queue(part: pd.DataFrame, target: staffing.QueueTarget, kind: str,
                   interval_s: float) -> dict[str, np.ndarray]:
    """Projected figures of one queue's intervals at its productive agents ``net``."""
    contacts = part["contacts"].to_numpy(dtype=float)
    aht = part["aht_s"].to_numpy(dtype=float)
    aht_calc = np.where(contacts > 0, aht, 1.0)  # no contacts: any AHT, zero load
    traffic = contacts * aht_calc / interval_s
    net = part["net"].to_numpy(dtype=float)
    m = len(part)
    nan = np.full(m, np.nan)
    if kind == "email":
        deadline_s = (target.deadline_h or 24.0) * 3600.0
        within = erlang.deferred_within_deadline(contacts, aht_calc, net, interval_s, deadline_s)
        busy = (contacts * aht_calc).sum() / max((net * interval_s).sum(), 1e-9)
        return {"traffic_erl": traffic, "service_level": np.full(m, within), "asa_s": nan,
                "occupancy": np.where(net > 0, min(busy, 1.0), 0.0), "abandon_rate": nan}
    answer = target.answer_target_s if target.answer_target_s is not None else 20.0
    if kind == "chat":
        k = max(int(target.concurrency), 1)
        sl = erlang.chat_service_level(traffic, net, aht_calc, answer, k)
        asa = erlang.average_speed_of_answer(traffic, net * k, aht_calc)
        occ = erlang.occupancy(traffic, net * k)
        return {"traffic_erl": traffic, "service_level": np.asarray(sl, float),
                "asa_s": np.asarray(asa, float), "occupancy": np.asarray(occ, float),
                "abandon_rate": nan}
    if target.patience_s is not None:
        res = erlang.erlang_a(traffic, net, aht_calc, target.patience_s, answer)
        abandon = np.asarray(res.abandon_rate, float)
        served = traffic * (1.0 - abandon)
        occ = np.where(net > 0, served / np.where(net > 0, net, 1.0), 0.0)
        occ = np.where(traffic > 0, np.minimum(occ, 1.0), 0.0)
        return {"traffic_erl": traffic, "service_level": np.asarray(res.service_level, float),
                "asa_s": np.asarray(res.asa_s, float), "occupancy": occ,
                "abandon_rate": abandon}
    sl = erlang.service_level(traffic, net, aht_calc, answer)
    asa = erlang.average_speed_of_answer(traffic, net, aht_calc)
    occ = erlang.occupancy(traffic, net)
    return {"traffic_erl": traffic, "service_level": np.asarray(sl, float),
            "asa_s": np.asarray(asa, float), "occupancy": np.asarray(occ, float),
            "abandon_rate": nan}


def project(requirement: pd.DataFrame, scheduled: pd.DataFrame,
            scenario: Scenario) -> pd.DataFrame:
    """
    Required vs scheduled vs productive agents and the projected service per interval.

    Parameters
    ----------
    requirement : DataFrame
        Contract ``requirement`` (the staffing stage's). Not modified.
    scheduled : DataFrame
        interval_start, queue, scheduled [agents], as :func:`scheduled_agents` returns.
    scenario : Scenario
        Shrinkage, targets (concurrency and patience of each queue) and the grid.

    Returns
    -------
    DataFrame
        Contract ``coverage`` with the columns of :data:`COLUMNS`, sorted by
        interval_start and queue: ``required`` the headcount the requirement asks for
        and ``required_agents`` its productive agents; ``scheduled`` the agents
        allocated; ``net`` the productive agents (:func:`productive_agents`);
        ``gap = scheduled - required``, ``net_gap = net - required_agents`` [agents];
        ``service_level``, ``asa_s``, ``occupancy`` and ``abandon_rate`` (Erlang A
        queues only, NaN elsewhere) projected at ``net`` agents; ``meets_target``:
        no contacts, or the service level and ASA targets both hold.
    """
    schema.validate(requirement, "requirement", source="requirement")
    req = _language_channel(requirement)
    req["queue"] = req["queue"].astype(str)
    req["interval_start"] = req["interval_start"].astype("datetime64[ns, UTC]")
    sched = scheduled[["interval_start", "queue", "scheduled"]].copy()
    sched["queue"] = sched["queue"].astype(str)
    sched["interval_start"] = sched["interval_start"].astype("datetime64[ns, UTC]")
    frame = req.merge(sched, on=["interval_start", "queue"], how="left")
    frame["scheduled"] = frame["scheduled"].fillna(0).astype(np.int64)
    frame["net"] = productive_agents(frame["scheduled"], scenario.targets.shrinkage)
    targets = _targets(scenario, req)
    interval_s = scenario.planning.interval_min * 60.0
    parts = []
    for queue, part in frame.groupby("queue", sort=True):
        part = part.sort_values("interval_start").reset_index(drop=True)
        kind = str(part["channel"].iloc[0]).split("-")[0]
        values = _project_queue(part, targets[queue], kind, interval_s)
        out = part.copy()
        for col, value in values.items():
            out[col] = value
        parts.append(out)
    if not parts:
        return _empty_coverage()
    cov = pd.concat(parts, ignore_index=True)
    cov["required"] = cov["headcount"].astype(float)
    cov["required_agents"] = cov["agents"].astype(float)
    cov["scheduled"] = cov["scheduled"].astype(float)
    cov["gap"] = cov["scheduled"] - cov["required"]
    cov["net_gap"] = cov["net"] - cov["required_agents"]
    for col in ("target_service_level", "target_answer_s", "target_asa_s"):
        if col not in cov.columns:
            cov[col] = np.nan
    cov["meets_target"] = _meets(cov["contacts"], cov["service_level"], cov["asa_s"],
                                 cov["target_service_level"], cov["target_asa_s"])
    for col in ("queue", "language", "channel"):
        cov[col] = cov[col].astype(str)
    cov = schema.sort_frame(cov[COLUMNS], "coverage")
    return schema.validate(cov, "coverage", interval_min=scenario.planning.interval_min,
                           source="coverage")


def _empty_coverage() -> pd.DataFrame:
    """A coverage frame with no rows and the columns of :data:`COLUMNS`."""
    out = schema.empty("coverage")
    for col in COLUMNS:
        if col not in out.columns:
            dtype = (object if col in ("language", "channel") else
                     bool if col == "meets_target" else float)
            out[col] = pd.Series([], dtype=dtype)
    return out[COLUMNS]


def _meets(contacts, sl, asa, target_sl, target_asa) -> np.ndarray:
    """No contacts, or SL >= its target and ASA <= its target (a missing target holds)."""
    c = np.asarray(contacts, dtype=float)
    s = np.asarray(sl, dtype=float)
    a = np.asarray(asa, dtype=float)
    ts = np.asarray(target_sl, dtype=float)
    ta = np.asarray(target_asa, dtype=float)
    sl_ok = np.isnan(ts) | (s >= ts - _EPS)
    asa_ok = np.isnan(ta) | np.isnan(a) | (a <= ta + _EPS)
    return (c <= 0) | (sl_ok & asa_ok)


# -- markets ------------------------------------------------------------------------------


def market_intervals(intervals: pd.DataFrame, scenario: Scenario,
                     forecast: pd.DataFrame | None = None) -> pd.DataFrame:
    """
    Each market's contacts with its queue's projected figures, per interval.

    Parameters
    ----------
    intervals : DataFrame
        The coverage frame (:func:`project`).
    scenario : Scenario
        Markets, their zones, queue splits and targets.
    forecast : DataFrame, optional
        Contract ``forecast``; the what-if knobs are applied and it is put on the
        planning grid as in staffing, so a market's contacts are the ones its queue was
        staffed for. Without it every market of a queue carries the queue's contacts
        (the weights within a day are then the queue's, not the market's).

    Returns
    -------
    DataFrame
        interval_start, market, language, channel, queue, timezone, local_date,
        contacts, service_level, asa_s, abandon_rate, target_service_level (the
        market's own), target_asa_s, below_target (contacts and a missed target);
        sorted by interval_start, market, language, channel.
    """
    if forecast is not None and len(forecast):
        grid = staffing.to_planning_grid(forecast, scenario, whatif=True)
        qmap = staffing.queue_map(scenario, grid)
        frame = grid[["interval_start", "market", "language", "channel", "contacts"]].merge(
            qmap, on=["market", "language", "channel"], how="left")
    else:
        qmap = staffing.queue_map(scenario)
        frame = qmap.merge(intervals[["interval_start", "queue", "contacts"]], on="queue",
                           how="inner")
    frame["interval_start"] = frame["interval_start"].astype("datetime64[ns, UTC]")
    for c in ("market", "language", "channel", "queue"):
        frame[c] = frame[c].astype(str)
    cov = intervals[["interval_start", "queue", "service_level", "asa_s",
                     "abandon_rate"]].copy()
    cov["interval_start"] = cov["interval_start"].astype("datetime64[ns, UTC]")
    frame = frame.merge(cov, on=["interval_start", "queue"], how="inner")
    zones = scenario.market_zones
    targets = {}
    for key in frame[["market", "language", "channel"]].drop_duplicates().itertuples(
            index=False, name=None):
        t = staffing.market_target(scenario, *key)
        sl_t = t.target_service_level
        if key[2].split("-")[0] == "email" and sl_t is None:
            sl_t = 0.9
        asa_t = None if key[2].split("-")[0] == "email" else t.target_asa_s
        targets[key] = (np.nan if sl_t is None else sl_t, np.nan if asa_t is None else asa_t)
    keys = list(zip(frame["market"], frame["language"], frame["channel"], strict=True))
    frame["target_service_level"] = [targets[k][0] for k in keys]
    frame["target_asa_s"] = [targets[k][1] for k in keys]
    frame["timezone"] = frame["market"].map(zones).fillna("UTC").astype(str)
    local_date = pd.Series(index=frame.index, dtype=object)
    for zone, idx in frame.groupby("timezone").groups.items():
        local_date.loc[idx] = frame.loc[idx, "interval_start"].dt.tz_convert(zone).dt.date
    frame["local_date"] = local_date
    frame["below_target"] = ~_meets(frame["contacts"], frame["service_level"], frame["asa_s"],
                                    frame["target_service_level"], frame["target_asa_s"])
    cols = ["interval_start", "market", "language", "channel", "queue", "timezone",
            "local_date", "contacts", "service_level", "asa_s", "abandon_rate",
            "target_service_level", "target_asa_s", "below_target"]
    return frame[cols].sort_values(["interval_start", "market", "language", "channel"],
                                   kind="stable").reset_index(drop=True)


def _weighted(frame: pd.DataFrame, keys: list[str], interval_h: float) -> pd.DataFrame:
    """
    Contact-weighted service level, ASA, abandonment and target per group.

    ASA is averaged over the intervals where the projected queue is stable (finite
    ASA); the contacts of the unstable ones (agents <= load, Erlang C ASA infinite) are
    reported as ``unstable_share``, so one short interval does not make a week's ASA
    infinite and the reader still sees it.
    """
    f = frame.copy()
    c = f["contacts"].to_numpy(dtype=float)
    f["w_sl"] = c * f["service_level"].to_numpy(dtype=float)
    asa = f["asa_s"].to_numpy(dtype=float)
    has_asa = np.isfinite(asa) & (c > 0)
    f["w_asa"] = np.where(has_asa, c * np.where(has_asa, asa, 0.0), 0.0)
    f["n_asa"] = np.where(has_asa, c, 0.0)
    f["n_unstable"] = np.where(np.isinf(asa) & (c > 0), c, 0.0)
    ab = f["abandon_rate"].to_numpy(dtype=float)
    has_ab = ~np.isnan(ab) & (c > 0)
    f["w_ab"] = np.where(has_ab, c * np.where(has_ab, ab, 0.0), 0.0)
    f["n_ab"] = np.where(has_ab, c, 0.0)
    tsl = f["target_service_level"].to_numpy(dtype=float)
    has_t = ~np.isnan(tsl)
    f["w_t"] = np.where(has_t, c * np.where(has_t, tsl, 0.0), 0.0)
    f["n_t"] = np.where(has_t, c, 0.0)
    f["t_any"] = np.where(has_t, tsl, np.nan)
    # hours below target: distinct intervals in which any of the group's rows misses
    below = f[f["below_target"]].drop_duplicates(keys + ["interval_start"])
    hours = below.groupby(keys).size().rename("hours_below_target") * interval_h
    g = f.groupby(keys, sort=True)
    out = g.agg(contacts=("contacts", "sum"), w_sl=("w_sl", "sum"), w_asa=("w_asa", "sum"),
                n_asa=("n_asa", "sum"), n_unstable=("n_unstable", "sum"),
                w_ab=("w_ab", "sum"), n_ab=("n_ab", "sum"), w_t=("w_t", "sum"),
                n_t=("n_t", "sum"), t_mean=("t_any", "mean"))
    out = out.join(hours, how="left")
    out["hours_below_target"] = out["hours_below_target"].fillna(0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["service_level"] = np.where(out["contacts"] > 0, out["w_sl"] / out["contacts"],
                                        np.nan)
        out["asa_s"] = np.where(out["n_asa"] > 0, out["w_asa"] / out["n_asa"], np.nan)
        out["unstable_share"] = np.where(out["contacts"] > 0,
                                         out["n_unstable"] / out["contacts"], np.nan)
        out["abandon_rate"] = np.where(out["n_ab"] > 0, out["w_ab"] / out["n_ab"], np.nan)
        out["target_service_level"] = np.where(out["n_t"] > 0, out["w_t"] / out["n_t"],
                                               out["t_mean"])
    sl = out["service_level"].to_numpy(dtype=float)
    t = out["target_service_level"].to_numpy(dtype=float)
    out["met"] = (out["contacts"].to_numpy() <= 0) | np.isnan(t) | (sl >= t - _EPS)
    out = out.reset_index()
    return out[keys + ["contacts", "service_level", "target_service_level", "met", "asa_s",
                       "unstable_share", "abandon_rate", "hours_below_target"]]


def attainment(markets: pd.DataFrame, interval_min: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """
    Contact-weighted SLA attainment per market: per market-local day and per week.

    Parameters
    ----------
    markets : DataFrame
        As :func:`market_intervals` returns.
    interval_min : int
        The planning grid. [min]

    Returns
    -------
    (daily, weekly) : tuple of DataFrame
        ``daily``: market, channel, date (market-local), contacts, service_level (the
        share of the contacts answered within the target, contact-weighted over the
        intervals: sum(contacts * SL) / sum(contacts)), target_service_level (the
        market's, contact-weighted over channels for ``channel = "all"``), met (bool;
        True with no contacts or no target), asa_s (contact-weighted over the intervals
        where the projected queue is stable), unstable_share (share of the contacts
        arriving in intervals where it is not: agents <= load, ASA infinite),
        abandon_rate (Erlang A queues only), hours_below_target (intervals with contacts
        that miss a target). [h]
        ``weekly``: the same per market and channel over the planning window.
        Both hold one row per market and channel plus a ``channel = "all"`` row per
        market; sorted by market, channel (and date).
    """
    h = interval_min / 60.0
    cols_day = ["market", "channel", "date"]
    f = markets.rename(columns={"local_date": "date"})
    per_channel_day = _weighted(f, cols_day, h)
    all_day = _weighted(f.assign(channel="all"), cols_day, h)
    daily = pd.concat([per_channel_day, all_day], ignore_index=True)
    per_channel_week = _weighted(f, ["market", "channel"], h)
    all_week = _weighted(f.assign(channel="all"), ["market", "channel"], h)
    weekly = pd.concat([per_channel_week, all_week], ignore_index=True)
    for frame in (daily, weekly):
        frame["market"] = frame["market"].astype(str)
        frame["channel"] = frame["channel"].astype(str)
    daily = daily.sort_values(cols_day, kind="stable").reset_index(drop=True)
    weekly = weekly.sort_values(["market", "channel"], kind="stable").reset_index(drop=True)
    return daily, weekly


# -- queues -------------------------------------------------------------------------------


def queue_summary(intervals: pd.DataFrame, interval_min: int) -> pd.DataFrame:
    """
    Per queue over the planning window.

    Returns
    -------
    DataFrame
        queue, channel, contacts, service_level (contact-weighted), target_service_level,
        met, asa_s, unstable_share (as :func:`attainment`), abandon_rate, required_h
        (headcount-hours), required_agent_h,
        scheduled_h, net_h (productive agent-hours), under_h (sum of
        max(required - scheduled, 0)), over_h, hours_below_target [h]; sorted by queue.
    """
    h = interval_min / 60.0
    f = intervals.assign(below_target=~intervals["meets_target"].astype(bool))
    w = _weighted(f, ["queue"], h)
    gap = f["scheduled"] - f["required"]
    sums = f.assign(under=(-gap).clip(lower=0), over=gap.clip(lower=0)).groupby("queue").agg(
        channel=("channel", "first"), required_h=("required", "sum"),
        required_agent_h=("required_agents", "sum"), scheduled_h=("scheduled", "sum"),
        net_h=("net", "sum"), under_h=("under", "sum"), over_h=("over", "sum"))
    for c in ("required_h", "required_agent_h", "scheduled_h", "net_h", "under_h", "over_h"):
        sums[c] = sums[c] * h
    out = w.merge(sums.reset_index(), on="queue", how="left")
    cols = ["queue", "channel", "contacts", "service_level", "target_service_level", "met",
            "asa_s", "unstable_share", "abandon_rate", "required_h", "required_agent_h",
            "scheduled_h", "net_h", "under_h", "over_h", "hours_below_target"]
    return out[cols].sort_values("queue").reset_index(drop=True)


def worst_intervals(intervals: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """
    The ``n`` queue-intervals that miss the most contacts against the target.

    The measure is ``missed = contacts * max(target_service_level - service_level, 0)``:
    the contacts that would have to be answered in time to reach the target. Only
    intervals with a shortfall are listed; ties go to the lower service level.

    Returns
    -------
    DataFrame
        interval_start, queue, contacts, required, scheduled, net, required_agents,
        service_level, target_service_level, asa_s, missed; sorted by missed, descending.
    """
    f = intervals.copy()
    short = (f["target_service_level"] - f["service_level"]).clip(lower=0).fillna(0.0)
    f["missed"] = f["contacts"] * short
    f = f[f["missed"] > 0]
    f = f.sort_values(["missed", "service_level", "interval_start", "queue"],
                      ascending=[False, True, True, True], kind="stable").head(n)
    cols = ["interval_start", "queue", "contacts", "required", "scheduled", "net",
            "required_agents", "service_level", "target_service_level", "asa_s", "missed"]
    return f[cols].reset_index(drop=True)


# -- all of it ------------------------------------------------------------------------------


def coverage(roster: pd.DataFrame, allocation: pd.DataFrame, requirement: pd.DataFrame,
             scenario: Scenario, *, forecast: pd.DataFrame | None = None,
             worst_n: int = 10, check: bool = True) -> CoverageResult:
    """
    Coverage vs SLA of a roster.

    Parameters
    ----------
    roster : DataFrame
        Contract ``roster``. Not modified.
    allocation : DataFrame
        Contract ``allocation``: who serves which queue when (lunches excluded).
    requirement : DataFrame
        Contract ``requirement`` of the same planning window.
    scenario : Scenario
        Shrinkage, targets, markets (zones), sites (zones) and the planning grid.
    forecast : DataFrame, optional
        Contract ``forecast``: weights each market by its own contacts.
    worst_n : int, default 10
        Queue-intervals listed in ``worst``.
    check : bool, default True
        Check that the allocation lies inside the roster's shifts and outside breaks.

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError
        A frame that breaks its contract, an allocation to an unknown queue, or (with
        ``check``) an allocation outside the roster's shifts or during a break.
    """
    interval_min = scenario.planning.interval_min
    schema.validate(roster, "roster", source="roster")
    schema.validate(allocation, "allocation", interval_min=interval_min, source="allocation")
    if check:
        check_allocation(allocation, roster, scenario.site_zones, interval_min)
    sched = scheduled_agents(allocation, requirement)
    intervals = project(requirement, sched, scenario)
    markets = market_intervals(intervals, scenario, forecast)
    daily, weekly = attainment(markets, interval_min)
    return CoverageResult(intervals=intervals, markets=markets, daily=daily, weekly=weekly,
                          queues=queue_summary(intervals, interval_min),
                          worst=worst_intervals(intervals, worst_n), interval_min=interval_min)


def _clean(value):
    """JSON-ready: NaN -> None, inf -> 'inf', numpy scalars -> Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return round(value, 4)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def night_fairness(roster: pd.DataFrame, agents: pd.DataFrame | None,
                   scenario: Scenario) -> list[dict]:
    """Nights per agent per site (min, max, spread over the night_ok agents) of the roster,
    counted as :func:`wfm.fairness.roster_fairness` counts them; [] without agents."""
    from wfm import fairness

    if agents is None or agents.empty or roster.empty:
        return []
    rules = scenario.roster.rules
    result = fairness.roster_fairness(roster, agents, site_zones=scenario.site_zones,
                                      night_start=rules.night_start, night_end=rules.night_end)
    sites = result.sites
    nights = sites[sites["metric"] == "nights"]
    return [{"site": r.site, "agents": int(r.agents), "mean": r.mean, "min": r.min,
             "max": r.max, "spread": r.spread} for r in nights.itertuples()]


def summarize(result: CoverageResult, roster: pd.DataFrame, scenario: Scenario, *,
              agents: pd.DataFrame | None = None) -> dict:
    """
    A JSON-ready summary: totals, SLA per market (week), per queue, the worst intervals,
    the roster's headcount and paid hours, nights per agent, and the zones and planning
    window (what the exports and reports of a run folder need).
    """
    iv = result.intervals
    h = result.interval_min / 60.0
    contacts = float(iv["contacts"].sum())
    answered = float((iv["contacts"] * iv["service_level"]).sum())
    below = iv[~iv["meets_target"].astype(bool)]
    weekly = result.weekly
    all_rows = weekly[weekly["channel"] == "all"]
    plan = scenario.planning
    out = {
        "planning": {"week_start": plan.week_start.isoformat(), "days": plan.days,
                     "interval_min": plan.interval_min,
                     "start_utc": plan.start_utc.isoformat(),
                     "end_utc": plan.end_utc.isoformat()},
        "site_zones": dict(scenario.site_zones),
        "market_zones": dict(scenario.market_zones),
        "shrinkage": scenario.targets.shrinkage,
        "headcount": int(roster["agent_id"].nunique()),
        "shifts": int(len(roster)),
        "paid_hours": float(roster["paid_min"].sum()) / 60.0,
        "contacts": contacts,
        "service_level": answered / contacts if contacts > 0 else None,
        "queue_hours_below_target": float(len(below)) * h,
        "market_hours_below_target": float(all_rows["hours_below_target"].sum()),
        "markets_met": int(all_rows["met"].sum()),
        "markets": int(len(all_rows)),
        "required_h": float(iv["required"].sum()) * h,
        "scheduled_h": float(iv["scheduled"].sum()) * h,
        "net_h": float(iv["net"].sum()) * h,
        "under_h": float((iv["required"] - iv["scheduled"]).clip(lower=0).sum()) * h,
        "sla_week": weekly.to_dict("records"),
        "queues": result.queues.to_dict("records"),
        "worst": result.worst.to_dict("records"),
        "nights": night_fairness(roster, agents, scenario),
    }
    return _clean(out)


def headline(summary: dict) -> list[str]:
    """Lines for the terminal."""
    sl = summary.get("service_level")
    sl_text = "n/a" if sl is None else f"{sl:.1%}"
    worst = [r for r in summary["sla_week"] if r["channel"] == "all"]
    worst = sorted(worst, key=lambda r: (r["service_level"] is None, r["service_level"] or 0))
    lines = [
        f"\ncoverage: {summary['headcount']} agents rostered, {summary['paid_hours']:,.0f} paid "
        f"hours; projected service level {sl_text} of {summary['contacts']:,.0f} contacts; "
        f"{summary['markets_met']}/{summary['markets']} markets meet their SLA for the week; "
        f"{summary['queue_hours_below_target']:,.1f} queue-hours below target",
    ]
    if worst and worst[0]["service_level"] is not None:
        w = worst[0]
        lines.append(f"lowest market: {w['market']} at {w['service_level']:.1%} "
                     f"(target {w['target_service_level']:.0%}), "
                     f"{w['hours_below_target']:.1f} h below target")
    return lines
