"""
Forecast -> requirement: productive agents and headcount per queue and interval.

The steps, each a small function:

1. :func:`queue_map`: markets pool into queues, one per language and channel
   (``en_voice``, ``es_chat``); a market split out by ``scenario.queues.split`` gets its
   own queue ``{language}_{channel}_{market}``.
2. What-if knobs: ``scenario.whatif.volume`` and ``.aht`` multiply the forecast's
   contacts and AHT of the markets, languages and channels they select.
3. The hourly forecast is put on the planning grid (``scenario.planning.interval_min``):
   an hour's contacts are spread evenly over its sub-intervals (same AHT); a finer
   forecast is summed (contact-weighted AHT). The forecast must cover the planning
   window ``planning.start_utc .. end_utc`` for every series.
4. Targets: the channel's defaults (``scenario.targets.voice``, ``.chat``, ``.email``),
   then every matching ``targets.overrides`` entry in order; a pooled queue takes the
   strictest value of each target over its markets (highest service level, shortest
   answer time and ASA, lowest max occupancy, shortest patience, lowest concurrency,
   shortest deadline).
5. Queueing model by channel: voice (and any other line) Erlang C, or Erlang A when a
   ``patience_s`` is set; chat: ``concurrency`` slots per agent with the first-response
   target (:func:`wfm.erlang.chat_required_agents`); email: a level backlog model over
   the planning window (:func:`wfm.erlang.deferred_required_agents`).
6. headcount = ceil(agents / (1 - shrinkage)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm import erlang, schema
from wfm.errors import InputError
from wfm.scenario import Scenario

#: columns of the requirement frame, in order
COLUMNS = ["interval_start", "queue", "language", "channel", "contacts", "aht_s",
           "traffic_erl", "agents", "headcount", "service_level", "asa_s", "occupancy",
           "target_service_level", "target_answer_s", "target_asa_s",
           "target_max_occupancy"]


# -- queues ---------------------------------------------------------------------------------


def _queue_name(language: str, channel: str, market: str | None = None) -> str:
    return f"{language}_{channel}" if market is None else f"{language}_{channel}_{market}"


def _is_split(scenario: Scenario, market: str, channel: str) -> bool:
    for split in scenario.queues.split:
        if split.market == market and (not split.channels or channel in split.channels):
            return True
    return False


def queue_map(scenario: Scenario, series: pd.DataFrame | None = None) -> pd.DataFrame:
    """
    Which queue serves each market, language and channel.

    Parameters
    ----------
    scenario : Scenario
        Its markets (languages x channels) and ``queues.split``.
    series : DataFrame, optional
        Extra (market, language, channel) rows to map too, e.g. the series of a
        forecast that the scenario does not list; they pool by language and channel.

    Returns
    -------
    DataFrame
        Columns market, language, channel, queue; one row per combination, sorted.
    """
    rows = [(m.code, lang, ch) for m in scenario.markets for lang in m.languages
            for ch in m.channels]
    if series is not None and len(series):
        rows += list(series[["market", "language", "channel"]].drop_duplicates()
                     .itertuples(index=False, name=None))
    rows = sorted(set(rows))
    out = pd.DataFrame(rows, columns=["market", "language", "channel"], dtype=object)
    out["queue"] = [
        _queue_name(lang, ch, market if _is_split(scenario, market, ch) else None)
        for market, lang, ch in rows
    ]
    for col in out.columns:
        out[col] = out[col].astype(str)
    return out.sort_values(["market", "language", "channel"]).reset_index(drop=True)


# -- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueTarget:
    """The targets a queue is staffed to (None = not applied)."""

    target_service_level: float | None
    answer_target_s: float | None
    target_asa_s: float | None
    max_occupancy: float
    patience_s: float | None
    concurrency: int
    deadline_h: float | None


def _selected(obj, market: str, language: str, channel: str) -> bool:
    return ((not obj.markets or market in obj.markets)
            and (not obj.languages or language in obj.languages)
            and (not obj.channels or channel in obj.channels
                 or channel.split("-")[0] in obj.channels))


def market_target(scenario: Scenario, market: str, language: str, channel: str) -> QueueTarget:
    """The targets of one market, language and channel: channel defaults + overrides."""
    base = scenario.targets.channel(channel)
    values = {
        "target_service_level": base.target_service_level,
        "answer_target_s": base.answer_target_s,
        "target_asa_s": base.target_asa_s,
        "max_occupancy": scenario.targets.max_occupancy,
        "patience_s": base.patience_s,
    }
    for override in scenario.targets.overrides:
        if _selected(override, market, language, channel):
            for key in values:
                value = getattr(override, key)
                if value is not None:
                    values[key] = value
    return QueueTarget(concurrency=base.concurrency, deadline_h=base.deadline_h, **values)


def _strictest(targets: list[QueueTarget]) -> QueueTarget:
    def pick(name, func):
        vals = [getattr(t, name) for t in targets if getattr(t, name) is not None]
        return func(vals) if vals else None

    return QueueTarget(
        target_service_level=pick("target_service_level", max),
        answer_target_s=pick("answer_target_s", min),
        target_asa_s=pick("target_asa_s", min),
        max_occupancy=pick("max_occupancy", min),
        patience_s=pick("patience_s", min),
        concurrency=pick("concurrency", min),
        deadline_h=pick("deadline_h", min),
    )


def queue_targets(scenario: Scenario, qmap: pd.DataFrame) -> dict[str, QueueTarget]:
    """The targets of every queue of ``qmap``: the strictest over its markets."""
    per_queue: dict[str, list[QueueTarget]] = {}
    for row in qmap.itertuples(index=False):
        per_queue.setdefault(row.queue, []).append(
            market_target(scenario, row.market, row.language, row.channel))
    return {q: _strictest(ts) for q, ts in per_queue.items()}


# -- what-if knobs ------------------------------------------------------------------------------


def apply_whatif(forecast: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """
    The forecast with ``scenario.whatif`` applied (a new frame).

    Every ``whatif.volume`` entry whose selectors match a row multiplies its contacts
    (and ``contacts_lo``/``contacts_hi``); every ``whatif.aht`` entry its ``aht_s``.
    Factors of several matching entries multiply.
    """
    out = forecast.copy()
    keys = out[["market", "language", "channel"]].astype(str)
    for knob, columns in (("volume", ("contacts", "contacts_lo", "contacts_hi")),
                          ("aht", ("aht_s",))):
        factor = np.ones(len(out))
        for adj in getattr(scenario.whatif, knob):
            hit = np.ones(len(out), dtype=bool)
            if adj.markets:
                hit &= keys["market"].isin(adj.markets).to_numpy()
            if adj.languages:
                hit &= keys["language"].isin(adj.languages).to_numpy()
            if adj.channels:
                base = keys["channel"].str.split("-").str[0]
                hit &= (keys["channel"].isin(adj.channels)
                        | base.isin(adj.channels)).to_numpy()
            factor = np.where(hit, factor * adj.factor, factor)
        for col in columns:
            if col in out.columns:
                out[col] = out[col].astype(float) * factor
    return out


# -- forecast onto the planning grid -------------------------------------------------------------


def _series_label(key) -> str:
    market, language, channel = key
    return f"{market}/{language}/{channel}"


def to_planning_grid(forecast: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """
    The forecast cut to the planning window and put on its interval grid.

    A forecast interval longer than the planning interval is spread evenly over its
    sub-intervals (contacts divided, AHT kept); shorter ones are summed, with the
    contact-weighted AHT.

    Raises
    ------
    InputError
        When a series lacks intervals of the planning window (the error lists the
        series and the first missing interval), or when no series covers it.
    """
    start, end = scenario.planning.start_utc, scenario.planning.end_utc
    step_min = scenario.planning.interval_min
    ts = forecast["interval_start"]
    src_min = schema.infer_interval_min(ts) or 60
    if len(ts.drop_duplicates()) > 1:
        gaps = ts.drop_duplicates().sort_values().diff().dropna()
        src_min = min(src_min, int(gaps.min() / pd.Timedelta(minutes=1)))
    src = pd.Timedelta(minutes=src_min)
    window = forecast[(ts + src > start) & (ts < end)]
    if window.empty:
        raise InputError(
            f"forecast: no rows in the planning window {start.isoformat()} .. "
            f"{end.isoformat()} (forecast covers {ts.min()} .. {ts.max()}); forecast the "
            "planning week (scenario planning.week_start) or change the scenario's week"
        )
    expected = pd.date_range(start.floor(f"{src_min}min"), end - pd.Timedelta(seconds=1),
                             freq=f"{src_min}min", tz="UTC")
    problems = []
    for key, part in window.groupby(["market", "language", "channel"], sort=True):
        missing = expected.difference(pd.DatetimeIndex(part["interval_start"]))
        if len(missing):
            problems.append(
                f"series {_series_label(key)}: {len(missing)} of {len(expected)} "
                f"{src_min}-minute intervals of the planning window missing (first: "
                f"{missing[0].isoformat()})"
            )
    if problems:
        raise InputError(
            f"forecast does not cover the planning window {start.isoformat()} .. "
            f"{end.isoformat()}; forecast the whole week for every series, or change the "
            "scenario's planning.week_start/days", problems)
    step = pd.Timedelta(minutes=step_min)
    frame = window[["interval_start", "market", "language", "channel", "contacts",
                    "aht_s"]].copy()
    frame["contacts"] = frame["contacts"].astype(float)
    frame["aht_s"] = frame["aht_s"].astype(float)
    if src > step:
        parts = int(src / step)
        offsets = [step * i for i in range(parts)]
        pieces = []
        for off in offsets:
            piece = frame.copy()
            piece["interval_start"] = piece["interval_start"] + off
            piece["contacts"] = piece["contacts"] / parts
            pieces.append(piece)
        frame = pd.concat(pieces, ignore_index=True)
    elif src < step:
        frame["interval_start"] = frame["interval_start"].dt.floor(f"{step_min}min")
        frame["work"] = frame["contacts"] * frame["aht_s"]
        frame["work_n"] = frame["contacts"].where(frame["aht_s"].notna(), 0.0)
        frame = (frame.groupby(["interval_start", "market", "language", "channel"],
                               as_index=False)[["contacts", "work", "work_n"]].sum(min_count=1))
        frame["aht_s"] = frame["work"] / frame["work_n"].where(frame["work_n"] > 0)
        frame = frame.drop(columns=["work", "work_n"])
    frame = frame[(frame["interval_start"] >= start) & (frame["interval_start"] < end)]
    return frame.reset_index(drop=True)


# -- requirements ------------------------------------------------------------------------------


def _pool(frame: pd.DataFrame, qmap: pd.DataFrame) -> pd.DataFrame:
    """Contacts and contact-weighted AHT per queue and interval; fills missing AHT."""
    merged = frame.merge(qmap, on=["market", "language", "channel"], how="left")
    # a row with contacts but no AHT takes its series' mean AHT over the window, else
    # its queue's mean
    has = merged["aht_s"].notna() & (merged["contacts"] > 0)
    merged["work"] = np.where(has, merged["contacts"] * merged["aht_s"], 0.0)
    merged["work_n"] = np.where(has, merged["contacts"], 0.0)
    series_keys = ["market", "language", "channel"]
    s_work = merged.groupby(series_keys)[["work", "work_n"]].transform("sum")
    q_work = merged.groupby("queue")[["work", "work_n"]].transform("sum")
    series_aht = s_work["work"] / s_work["work_n"].where(s_work["work_n"] > 0)
    queue_aht = q_work["work"] / q_work["work_n"].where(q_work["work_n"] > 0)
    need = merged["aht_s"].isna() & (merged["contacts"] > 0)
    fill = series_aht.where(series_aht.notna(), queue_aht)
    merged["aht_s"] = merged["aht_s"].where(~need, fill)
    still = merged["aht_s"].isna() & (merged["contacts"] > 0)
    if still.any():
        bad = sorted(merged.loc[still, "queue"].unique())
        raise InputError(
            f"forecast: queue(s) {', '.join(bad)} have contacts but no AHT in any interval "
            "of the planning window; give aht_s for at least some intervals of these series"
        )
    merged["work"] = merged["contacts"] * merged["aht_s"].fillna(0.0)
    pooled = merged.groupby(["queue", "interval_start"], as_index=False).agg(
        contacts=("contacts", "sum"), work=("work", "sum"),
        language=("language", "first"), channel=("channel", "first"))
    pooled["aht_s"] = pooled["work"] / pooled["contacts"].where(pooled["contacts"] > 0)
    return pooled.drop(columns=["work"])


def _fill_grid(pooled: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Every queue on every interval of the window (no contacts where absent)."""
    grid = pd.date_range(scenario.planning.start_utc, scenario.planning.end_utc,
                         freq=f"{scenario.planning.interval_min}min", inclusive="left",
                         tz="UTC")
    queues = pooled[["queue", "language", "channel"]].drop_duplicates("queue")
    full = queues.merge(pd.DataFrame({"interval_start": grid}), how="cross")
    out = full.merge(pooled.drop(columns=["language", "channel"]),
                     on=["queue", "interval_start"], how="left")
    out["contacts"] = out["contacts"].fillna(0.0)
    return out


def _staff_queue(part: pd.DataFrame, target: QueueTarget, kind: str,
                 interval_s: float) -> dict[str, np.ndarray]:
    """Agents and service measures of one queue's intervals."""
    contacts = part["contacts"].to_numpy(dtype=float)
    aht = part["aht_s"].to_numpy(dtype=float)
    aht_calc = np.where(contacts > 0, aht, 1.0)  # no contacts: any AHT, zero load
    traffic = contacts * aht_calc / interval_s
    sl_t, ans_t, asa_t = target.target_service_level, target.answer_target_s, target.target_asa_s
    occ_t = target.max_occupancy
    if kind == "email":
        deadline_h = target.deadline_h or 24.0
        frac_t = sl_t if sl_t is not None else 0.9
        agents = erlang.deferred_required_agents(contacts, aht_calc, interval_s,
                                                 deadline_h * 3600.0, frac_t)
        achieved = erlang.deferred_within_deadline(contacts, aht_calc, agents, interval_s,
                                                   deadline_h * 3600.0)
        busy = (contacts * aht_calc).sum() / max((agents * interval_s).sum(), 1e-9)
        return {
            "traffic_erl": traffic, "agents": agents,
            "service_level": np.where(agents > 0, achieved, np.where(traffic > 0, 0.0, 1.0)),
            "asa_s": np.full(len(part), np.nan),
            "occupancy": np.where(agents > 0, min(busy, 1.0), 0.0),
            "target_service_level": frac_t, "target_answer_s": deadline_h * 3600.0,
            "target_asa_s": np.nan,
        }
    answer = ans_t if ans_t is not None else 20.0
    if kind == "chat":
        k = max(int(target.concurrency), 1)
        agents = np.asarray(erlang.chat_required_agents(
            traffic, aht_calc, concurrency=k, first_response_s=answer,
            target_service_level=sl_t, target_asa_s=asa_t, max_occupancy=occ_t), dtype=float)
        slots = agents * k
        sl = np.asarray(erlang.service_level(traffic, slots, aht_calc, answer), dtype=float)
        asa = np.asarray(erlang.average_speed_of_answer(traffic, slots, aht_calc), dtype=float)
        occ = np.asarray(erlang.occupancy(traffic, slots), dtype=float)
    elif target.patience_s is not None:
        agents = np.asarray(erlang.required_agents(
            traffic, aht_calc, answer_target_s=answer, target_service_level=sl_t,
            target_asa_s=asa_t, max_occupancy=occ_t, patience_s=target.patience_s),
            dtype=float)
        res = erlang.erlang_a(traffic, agents, aht_calc, target.patience_s, answer)
        sl, asa = np.asarray(res.service_level, float), np.asarray(res.asa_s, float)
        served = traffic * (1.0 - np.asarray(res.abandon_rate, float))
        occ = np.where(agents > 0, served / np.where(agents > 0, agents, 1.0), 0.0)
        occ = np.where(traffic > 0, np.minimum(occ, 1.0), 0.0)
    else:
        agents = np.asarray(erlang.required_agents(
            traffic, aht_calc, answer_target_s=answer, target_service_level=sl_t,
            target_asa_s=asa_t, max_occupancy=occ_t), dtype=float)
        sl = np.asarray(erlang.service_level(traffic, agents, aht_calc, answer), dtype=float)
        asa = np.asarray(erlang.average_speed_of_answer(traffic, agents, aht_calc), dtype=float)
        occ = np.asarray(erlang.occupancy(traffic, agents), dtype=float)
    return {
        "traffic_erl": traffic, "agents": agents, "service_level": sl, "asa_s": asa,
        "occupancy": occ,
        "target_service_level": np.nan if sl_t is None else sl_t,
        "target_answer_s": answer,
        "target_asa_s": np.nan if asa_t is None else asa_t,
    }


def requirements(forecast: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """
    Productive agents and headcount per queue and planning interval.

    Parameters
    ----------
    forecast : DataFrame
        Contract ``forecast`` (hourly or finer, UTC) covering the planning window
        ``scenario.planning.start_utc .. end_utc`` for every series. Not modified.
    scenario : Scenario
        Markets, queue splits, targets, shrinkage and what-if knobs.

    Returns
    -------
    DataFrame
        Contract ``requirement`` with the optional ``language``, ``channel`` and
        ``target_*`` columns; one row per queue and interval of the planning window
        (zero contacts need zero agents), sorted by interval_start and queue.

    Raises
    ------
    InputError
        A forecast that breaks the contract, does not cover the planning window, or
        has contacts without any AHT in a queue.
    """
    schema.validate(forecast, "forecast", source="forecast")
    frame = apply_whatif(forecast, scenario)
    frame = to_planning_grid(frame, scenario)
    qmap = queue_map(scenario, frame)
    pooled = _fill_grid(_pool(frame, qmap), scenario)
    targets = queue_targets(scenario, qmap)
    interval_s = scenario.planning.interval_min * 60.0
    shrinkage = scenario.targets.shrinkage
    parts = []
    for queue, part in pooled.groupby("queue", sort=True):
        part = part.sort_values("interval_start").reset_index(drop=True)
        target = targets[queue]
        kind = str(part["channel"].iloc[0]).split("-")[0]
        values = _staff_queue(part, target, kind, interval_s)
        out = part[["interval_start", "queue", "language", "channel", "contacts",
                    "aht_s"]].copy()
        for col, value in values.items():
            out[col] = value
        out["target_max_occupancy"] = target.max_occupancy
        parts.append(out)
    req = pd.concat(parts, ignore_index=True)
    agents = req["agents"].to_numpy(dtype=float)
    req["agents"] = agents.astype(np.int64)
    req["headcount"] = np.ceil(agents / (1.0 - shrinkage) - 1e-9).astype(np.int64)
    for col in ("queue", "language", "channel"):
        req[col] = req[col].astype(str)
    req = req[COLUMNS]
    req = schema.sort_frame(req, "requirement")
    return schema.validate(req, "requirement", interval_min=scenario.planning.interval_min,
                           source="requirement")


def summarize(req: pd.DataFrame, interval_min: int) -> dict:
    """
    Peak and total agents and headcount per queue, and headcount-hours of the window.

    Returns
    -------
    dict
        ``queues``: list of {queue, peak_agents, peak_headcount, agent_hours,
        headcount_hours, contacts}; ``headcount_hours``, ``agent_hours``: totals. [h]
    """
    hours = interval_min / 60.0
    rows = []
    for queue, part in req.groupby("queue", sort=True):
        rows.append({
            "queue": queue,
            "contacts": round(float(part["contacts"].sum()), 1),
            "peak_agents": int(part["agents"].max()),
            "peak_headcount": int(part["headcount"].max()),
            "agent_hours": round(float(part["agents"].sum() * hours), 1),
            "headcount_hours": round(float(part["headcount"].sum() * hours), 1),
        })
    return {
        "queues": rows,
        "agent_hours": round(float(req["agents"].sum() * hours), 1),
        "headcount_hours": round(float(req["headcount"].sum() * hours), 1),
        "interval_min": interval_min,
    }


def headline(summary: dict) -> list[str]:
    """One or two lines for the terminal."""
    queues = summary["queues"]
    if not queues:
        return ["staffing: no queues"]
    busiest = max(queues, key=lambda q: q["peak_headcount"])
    return [
        f"\nstaffing: {len(queues)} queues, {summary['headcount_hours']:,.0f} headcount-hours "
        f"({summary['agent_hours']:,.0f} productive agent-hours) for the week",
        f"busiest queue {busiest['queue']}: peak {busiest['peak_agents']} agents, "
        f"{busiest['peak_headcount']} headcount",
    ]
