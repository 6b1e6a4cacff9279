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

:func:`requirements` runs on numpy arrays of series x planning intervals (the What-if
page recomputes it on every change): the forecast is validated once, then put on a
dense grid (:func:`_planning_arrays`, which :func:`to_planning_grid` turns into a
frame); sums over markets and intervals add in the order a pandas ``groupby`` of the
frame would add them, with the same Kahan compensation, so the figures are those of
the frame-based code this replaced, to the last bit.
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

_SERIES_KEY = ["market", "language", "channel"]
_MINUTE_NS = 60_000_000_000


# -- queues ---------------------------------------------------------------------------------


def _queue_name(language: str, channel: str, market: str | None = None) -> str:
    return f"{language}_{channel}" if market is None else f"{language}_{channel}_{market}"


def _is_split(scenario: Scenario, market: str, channel: str) -> bool:
    for split in scenario.queues.split:
        if split.market == market and (not split.channels or channel in split.channels):
            return True
    return False


def _queue_rows(scenario: Scenario,
                series: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    """(market, language, channel, queue) of the scenario's series and ``series``, sorted."""
    rows = {(m.code, lang, ch) for m in scenario.markets for lang in m.languages
            for ch in m.channels}
    rows.update(series)
    out = []
    for market, lang, ch in sorted(rows):
        queue = _queue_name(lang, ch, market if _is_split(scenario, market, ch) else None)
        out.append((str(market), str(lang), str(ch), queue))
    return out


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
    extra = []
    if series is not None and len(series):
        extra = list(series[_SERIES_KEY].drop_duplicates().itertuples(index=False, name=None))
    rows = _queue_rows(scenario, extra)
    out = pd.DataFrame(rows, columns=[*_SERIES_KEY, "queue"], dtype=object)
    for col in out.columns:
        out[col] = out[col].astype(str)
    return out


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


def _targets_of_rows(scenario: Scenario,
                     rows: list[tuple[str, str, str, str]]) -> dict[str, QueueTarget]:
    per_queue: dict[str, list[QueueTarget]] = {}
    for market, language, channel, queue in rows:
        per_queue.setdefault(queue, []).append(
            market_target(scenario, market, language, channel))
    return {q: _strictest(ts) for q, ts in per_queue.items()}


def queue_targets(scenario: Scenario, qmap: pd.DataFrame) -> dict[str, QueueTarget]:
    """The targets of every queue of ``qmap``: the strictest over its markets."""
    return _targets_of_rows(scenario, list(
        qmap[[*_SERIES_KEY, "queue"]].itertuples(index=False, name=None)))


# -- what-if knobs ------------------------------------------------------------------------------


def _whatif_factors(scenario: Scenario,
                    series: list[tuple[str, str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Volume and AHT factors of each (market, language, channel) of ``series``."""
    factors = []
    for knob in ("volume", "aht"):
        out = np.ones(len(series))
        for i, (market, language, channel) in enumerate(series):
            factor = 1.0
            for adj in getattr(scenario.whatif, knob):
                if _selected(adj, market, language, channel):
                    factor = factor * adj.factor
            out[i] = factor
        factors.append(out)
    return factors[0], factors[1]


def _series_codes(frame: pd.DataFrame, rows: np.ndarray | None = None
                  ) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """
    The series of each row (of ``rows`` when given) as a code into the sorted list of
    the (market, language, channel) tuples found there (text, as ``astype(str)`` has it).
    """
    codes, uniques = [], []
    for col in _SERIES_KEY:
        c, u = pd.factorize(frame[col], use_na_sentinel=False)
        codes.append(c.astype(np.int64) if rows is None else c[rows].astype(np.int64))
        uniques.append([str(v) for v in u])
    n_lang, n_chan = len(uniques[1]), len(uniques[2])
    combined = (codes[0] * n_lang + codes[1]) * n_chan + codes[2]
    found, inverse = np.unique(combined, return_inverse=True)
    series = [(uniques[0][k // (n_lang * n_chan)], uniques[1][(k // n_chan) % n_lang],
               uniques[2][k % n_chan]) for k in found.tolist()]
    order = sorted(range(len(series)), key=series.__getitem__)
    rank = np.empty(len(series), dtype=np.int64)
    rank[order] = np.arange(len(series))
    return rank[inverse.reshape(-1)], [series[i] for i in order]


def apply_whatif(forecast: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """
    The forecast with ``scenario.whatif`` applied (a new frame).

    Every ``whatif.volume`` entry whose selectors match a row multiplies its contacts
    (and ``contacts_lo``/``contacts_hi``); every ``whatif.aht`` entry its ``aht_s``.
    Factors of several matching entries multiply.
    """
    out = forecast.copy()
    codes, series = _series_codes(out)
    volume, aht = _whatif_factors(scenario, series)
    for factor, columns in ((volume, ("contacts", "contacts_lo", "contacts_hi")),
                            (aht, ("aht_s",))):
        per_row = factor[codes]
        for col in columns:
            if col in out.columns:
                out[col] = out[col].astype(float) * per_row
    return out


# -- forecast onto the planning grid -------------------------------------------------------------


def _series_label(key) -> str:
    market, language, channel = key
    return f"{market}/{language}/{channel}"


def _utc_ns(timestamps: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds since the epoch."""
    return timestamps.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _interval_min(ts: np.ndarray) -> int | None:
    """:func:`wfm.schema.infer_interval_min` on int64 nanoseconds (no NaT). [min]"""
    if not len(ts):
        return None
    if (ts % _MINUTE_NS >= 1000).any():  # seconds or microseconds past the minute
        return None
    minutes = (ts // _MINUTE_NS) % 60
    for step in sorted(schema.INTERVAL_CHOICES_MIN, reverse=True):
        if (minutes % step == 0).all():
            return step
    return None


@dataclass(frozen=True)
class _Window:
    """The rows of a forecast inside the planning window, checked for coverage."""

    #: length of the forecast's intervals [min]
    src_min: int
    #: positions of the rows in the window
    rows: np.ndarray
    #: (market, language, channel) of every series in the window, sorted
    series: list[tuple[str, str, str]]
    #: series code (into ``series``) of each window row
    series_code: np.ndarray
    #: index of each window row on the source grid (``first_ns`` + k * src_min)
    source_index: np.ndarray
    #: the source grid's first interval and length [ns since the epoch, intervals]
    first_ns: int
    n_source: int


def _window(forecast: pd.DataFrame, scenario: Scenario) -> _Window:
    """
    The rows of the planning window and the forecast's interval length.

    Raises
    ------
    InputError
        When no row lies in the window, or a series lacks intervals of the window
        (every series listed with its first missing interval).
    """
    start, end = scenario.planning.start_utc, scenario.planning.end_utc
    ts_col = forecast["interval_start"]
    ts = _utc_ns(ts_col)
    src_min = _interval_min(ts) or 60
    distinct = np.unique(ts)
    if len(distinct) > 1:
        src_min = min(src_min, int(np.diff(distinct).min() / _MINUTE_NS))
    src_ns = src_min * _MINUTE_NS
    start_ns, end_ns = start.as_unit("ns").value, end.as_unit("ns").value
    rows = np.flatnonzero((ts + src_ns > start_ns) & (ts < end_ns))
    if not len(rows):
        raise InputError(
            f"forecast: no rows in the planning window {start.isoformat()} .. "
            f"{end.isoformat()} (forecast covers {ts_col.min()} .. {ts_col.max()}); forecast "
            "the planning week (scenario planning.week_start) or change the scenario's week"
        )
    first = start.floor(f"{src_min}min")
    first_ns = first.as_unit("ns").value
    last_ns = end_ns - 1_000_000_000  # the grid runs to end - 1 s
    n_source = (last_ns - first_ns) // src_ns + 1 if last_ns >= first_ns else 0
    codes, series = _series_codes(forecast, rows)
    offset = ts[rows] - first_ns
    index = offset // src_ns
    on_grid = (offset % src_ns == 0) & (index >= 0) & (index < n_source)
    present = np.zeros((len(series), n_source), dtype=bool)
    present[codes[on_grid], index[on_grid]] = True
    if not present.all():
        expected = pd.date_range(first, end - pd.Timedelta(seconds=1), freq=f"{src_min}min",
                                 tz="UTC")
        problems = []
        for s in np.flatnonzero(~present.all(axis=1)):
            missing = np.flatnonzero(~present[s])
            problems.append(
                f"series {_series_label(series[s])}: {len(missing)} of {len(expected)} "
                f"{src_min}-minute intervals of the planning window missing (first: "
                f"{expected[missing[0]].isoformat()})"
            )
        raise InputError(
            f"forecast does not cover the planning window {start.isoformat()} .. "
            f"{end.isoformat()}; forecast the whole week for every series, or change the "
            "scenario's planning.week_start/days", problems)
    if not on_grid.all():  # validated forecasts lie on their own grid: never reached
        bad = rows[~on_grid][0]
        raise InputError(
            f"forecast: row {bad}: interval_start {ts_col.iloc[bad]} is not on the "
            f"{src_min}-minute grid of the other rows; floor the times to the grid")
    return _Window(src_min, rows, series, codes, index, first_ns, n_source)


def to_planning_grid(forecast: pd.DataFrame, scenario: Scenario, *,
                     whatif: bool = False) -> pd.DataFrame:
    """
    The forecast cut to the planning window and put on its interval grid; with
    ``whatif``, the scenario's what-if factors applied first (:func:`apply_whatif`).

    A forecast interval longer than the planning interval is spread evenly over its
    sub-intervals (contacts divided, AHT kept); shorter ones are summed, with the
    contact-weighted AHT. The frame of :func:`_planning_arrays` (which
    :func:`requirements` staffs), in the row order its ``order`` gives: a coarser
    forecast's rows, first parts then second parts ...; a finer one's sorted by interval
    and series.

    Raises
    ------
    InputError
        When a series lacks intervals of the planning window (the error lists the
        series and the first missing interval), or when no series covers it.
    """
    grid = _planning_arrays(forecast, scenario, whatif=whatif)
    n_times = len(grid.times)
    cells = np.argsort(grid.order.reshape(-1), kind="stable")
    s_idx, t_idx = np.divmod(cells, n_times)
    frame = pd.DataFrame({
        "interval_start": pd.Series(grid.times[t_idx]).astype(
            forecast["interval_start"].dtype)})
    for i, col in enumerate(_SERIES_KEY):
        frame[col] = pd.Series([grid.series[s][i] for s in s_idx.tolist()],
                               dtype=forecast[col].dtype)
    frame["contacts"] = grid.contacts.reshape(-1)[cells]
    frame["aht_s"] = grid.aht_s.reshape(-1)[cells]
    return frame


# -- the same on arrays: series x planning intervals ----------------------------------------------


def _ordered_sums(values: np.ndarray, group: np.ndarray, order: np.ndarray,
                  n_groups: int) -> np.ndarray:
    """
    Column sums of ``values`` (rows x k) per group, adding each group's rows in
    ascending ``order`` with Kahan compensation and skipping NaN: what a pandas
    ``groupby(...).sum()`` gives on a frame whose rows come in that order.
    """
    idx = np.lexsort((order, group))
    g, v = group[idx], values[idx]
    n, k = v.shape
    total = np.zeros((n_groups, k))
    comp = np.zeros((n_groups, k))
    if not n:
        return total
    head = np.ones(n, dtype=bool)
    head[1:] = g[1:] != g[:-1]
    starts = np.flatnonzero(head)
    rank = np.arange(n) - starts[np.cumsum(head) - 1]
    n_ranks = int(rank.max()) + 1
    if n_ranks > 32:  # long groups: one pass in Python beats a numpy call per rank
        tot, cmp = total.tolist(), comp.tolist()
        for gi, row in zip(g.tolist(), v.tolist(), strict=True):
            t_row, c_row = tot[gi], cmp[gi]
            for j, val in enumerate(row):
                if val != val:
                    continue
                y = val - c_row[j]
                t = t_row[j] + y
                c = t - t_row[j] - y
                c_row[j] = 0.0 if c != c else c
                t_row[j] = t
        return np.array(tot, dtype=float).reshape(n_groups, k)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(n_ranks + 1))
    with np.errstate(invalid="ignore"):
        for r in range(n_ranks):
            sel = by_rank[bounds[r]:bounds[r + 1]]
            gi, val = g[sel], v[sel]
            s, c = total[gi], comp[gi]
            y = val - c
            t = s + y
            c_new = t - s - y
            c_new = np.where(np.isnan(c_new), 0.0, c_new)  # val = +-inf: keep the inf
            skip = np.isnan(val)
            total[gi] = np.where(skip, s, t)
            comp[gi] = np.where(skip, c, c_new)
    return total


@dataclass(frozen=True)
class _Grid:
    """The forecast on the planning grid: series x planning intervals."""

    series: list[tuple[str, str, str]]
    times: pd.DatetimeIndex
    contacts: np.ndarray
    aht_s: np.ndarray
    #: position of each cell's row in the frame :func:`to_planning_grid` returns
    order: np.ndarray


def _planning_arrays(forecast: pd.DataFrame, scenario: Scenario, *,
                     whatif: bool = True) -> _Grid:
    """
    The forecast on the planning grid as series x intervals arrays, with the scenario's
    what-if factors applied (``whatif``) as :func:`apply_whatif` applies them. A coarser
    forecast interval is spread evenly over its planning intervals (contacts divided,
    AHT kept); finer ones are summed, with the contact-weighted AHT.
    """
    step_min = scenario.planning.interval_min
    times = pd.date_range(scenario.planning.start_utc, scenario.planning.end_utc,
                          freq=f"{step_min}min", inclusive="left", tz="UTC")
    win = _window(forecast, scenario)
    rows, codes = win.rows, win.series_code
    if whatif:
        volume, aht_factor = _whatif_factors(scenario, win.series)
    else:
        volume = aht_factor = np.ones(len(win.series))
    contacts = forecast["contacts"].to_numpy(dtype=float, na_value=np.nan)[rows]
    contacts = contacts * volume[codes]
    aht = forecast["aht_s"].to_numpy(dtype=float, na_value=np.nan)[rows] * aht_factor[codes]
    n_series, n_times = len(win.series), len(times)
    src_ns, step_ns = win.src_min * _MINUTE_NS, step_min * _MINUTE_NS
    start_ns = scenario.planning.start_utc.as_unit("ns").value
    # row positions of the source cells (every one is present: _window checked it)
    source_pos = np.empty((n_series, win.n_source), dtype=np.int64)
    source_pos[codes, win.source_index] = np.arange(len(rows))
    source_time = win.first_ns + np.arange(win.n_source) * src_ns
    if src_ns >= step_ns:
        # an interval spreads evenly over its `parts` planning intervals (row order of
        # the frame: all first parts, then all second parts, ...)
        parts = src_ns // step_ns
        cell_time = (source_time[:, None] + np.arange(parts) * step_ns).reshape(-1)
        keep = (cell_time >= start_ns) & (cell_time < start_ns + n_times * step_ns)
        t_index = (cell_time[keep] - start_ns) // step_ns
        if not np.array_equal(t_index, np.arange(n_times)):
            raise AssertionError("the forecast grid does not tile the planning grid")
        src_cell = np.repeat(np.arange(win.n_source), parts)[keep]
        part_no = np.tile(np.arange(parts), win.n_source)[keep]
        pos = source_pos[:, src_cell]
        c_grid = np.full((n_series, win.n_source), np.nan)
        h_grid = np.full((n_series, win.n_source), np.nan)
        c_grid[codes, win.source_index] = contacts
        h_grid[codes, win.source_index] = aht
        c_out = c_grid[:, src_cell]
        if parts > 1:
            c_out = c_out / int(parts)
        return _Grid(win.series, times, c_out, h_grid[:, src_cell],
                     part_no[None, :] * len(forecast) + pos)
    # finer than the grid: sum each series' intervals within a planning interval, in
    # row order (NaN AHT skipped), with the contact-weighted AHT; the frame comes out
    # sorted by interval and series
    ts = _utc_ns(forecast["interval_start"])[rows]
    t_index = (ts - ts % step_ns - start_ns) // step_ns
    inside = (t_index >= 0) & (t_index < n_times)
    t_all = np.where(inside, t_index, n_times)  # outside cells go to a spare column
    with np.errstate(invalid="ignore"):
        work = contacts * aht
    work_n = np.where(np.isnan(aht), 0.0, contacts)
    sums = _ordered_sums(np.column_stack([contacts, work, work_n]),
                         codes * (n_times + 1) + t_all, np.arange(len(rows)),
                         n_series * (n_times + 1))
    counts = np.bincount(codes * (n_times + 1) + t_all, minlength=n_series * (n_times + 1))
    sums = sums.reshape(n_series, n_times + 1, 3)[:, :n_times]
    counts = counts.reshape(n_series, n_times + 1)[:, :n_times]
    if (counts == 0).any():
        raise AssertionError("the forecast grid does not tile the planning grid")
    n_work = np.bincount(codes * (n_times + 1) + t_all, weights=~np.isnan(work),
                         minlength=n_series * (n_times + 1))
    n_work = n_work.reshape(n_series, n_times + 1)[:, :n_times]
    work_sum = np.where(n_work > 0, sums[..., 1], np.nan)  # sum(min_count=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        aht_out = work_sum / np.where(sums[..., 2] > 0, sums[..., 2], np.nan)
    order = np.arange(n_times)[None, :] * n_series + np.arange(n_series)[:, None]
    return _Grid(win.series, times, sums[..., 0], aht_out, order)


# -- requirements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pooled:
    """Contacts and contact-weighted AHT per queue (sorted) and planning interval."""

    queues: list[str]
    languages: list[str]
    channels: list[str]
    contacts: np.ndarray
    aht_s: np.ndarray


def _pool(grid: _Grid, queue_of: dict[tuple[str, str, str], str]) -> _Pooled:
    """Pools the series into their queues; fills missing AHT (see the Raises)."""
    queues = sorted({queue_of[s] for s in grid.series})
    q_index = {q: i for i, q in enumerate(queues)}
    series_queue = np.array([q_index[queue_of[s]] for s in grid.series], dtype=np.int64)
    n_series, n_times = grid.contacts.shape
    contacts, aht = grid.contacts, grid.aht_s
    cell_queue = np.broadcast_to(series_queue[:, None], contacts.shape).reshape(-1)
    order = grid.order.reshape(-1)
    # a row with contacts but no AHT takes its series' mean AHT over the window, else
    # its queue's mean
    need = np.isnan(aht) & (contacts > 0)
    if need.any():
        has = ~np.isnan(aht) & (contacts > 0)
        weights = np.column_stack([np.where(has, contacts * aht, 0.0).reshape(-1),
                                   np.where(has, contacts, 0.0).reshape(-1)])
        cell_series = np.repeat(np.arange(n_series), n_times)
        with np.errstate(invalid="ignore", divide="ignore"):
            s_sum = _ordered_sums(weights, cell_series, order, n_series)
            q_sum = _ordered_sums(weights, cell_queue, order, len(queues))
            series_aht = s_sum[:, 0] / np.where(s_sum[:, 1] > 0, s_sum[:, 1], np.nan)
            queue_aht = q_sum[:, 0] / np.where(q_sum[:, 1] > 0, q_sum[:, 1], np.nan)
        fill = np.where(np.isnan(series_aht), queue_aht[series_queue], series_aht)
        aht = np.where(need, fill[:, None], aht)
    still = np.isnan(aht) & (contacts > 0)
    if still.any():
        bad = sorted({queues[series_queue[s]] for s in np.flatnonzero(still.any(axis=1))})
        raise InputError(
            f"forecast: queue(s) {', '.join(bad)} have contacts but no AHT in any interval "
            "of the planning window; give aht_s for at least some intervals of these series"
        )
    work = contacts * np.where(np.isnan(aht), 0.0, aht)
    cell_group = (series_queue[:, None] * n_times + np.arange(n_times)).reshape(-1)
    sums = _ordered_sums(np.column_stack([contacts.reshape(-1), work.reshape(-1)]),
                         cell_group, order, len(queues) * n_times)
    q_contacts = sums[:, 0].reshape(len(queues), n_times)
    q_work = sums[:, 1].reshape(len(queues), n_times)
    with np.errstate(invalid="ignore", divide="ignore"):
        q_aht = q_work / np.where(q_contacts > 0, q_contacts, np.nan)
    # a queue's language and channel: those of its first row in the first interval
    languages, channels = [], []
    for qi in range(len(queues)):
        members = np.flatnonzero(series_queue == qi)
        first = members[np.argmin(grid.order[members, 0])]
        languages.append(grid.series[first][1])
        channels.append(grid.series[first][2])
    return _Pooled(queues, languages, channels, q_contacts, q_aht)


def _target_column(values: list, n_times: int) -> np.ndarray:
    """One value per queue repeated over its intervals (int64 when every one is an int)."""
    whole = all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in values)
    return np.repeat(np.array(values, dtype=np.int64 if whole else float), n_times)


def _staff(pooled: _Pooled, targets: dict[str, QueueTarget],
           interval_s: float) -> dict[str, np.ndarray]:
    """
    Agents and service measures of every queue (rows queue-major, intervals in order).

    Queues with the same model and the same targets left out are staffed in one call of
    :mod:`wfm.erlang` (its functions work element by element).
    """
    n_queues, n_times = pooled.contacts.shape
    contacts = pooled.contacts
    aht_calc = np.where(contacts > 0, pooled.aht_s, 1.0)  # no contacts: any AHT, zero load
    traffic = contacts * aht_calc / interval_s
    shape = (n_queues, n_times)
    out = {name: np.full(shape, np.nan) for name in
           ("agents", "service_level", "asa_s", "occupancy")}
    tgt = {"target_service_level": [None] * n_queues, "target_answer_s": [None] * n_queues,
           "target_asa_s": [None] * n_queues,
           "target_max_occupancy": [targets[q].max_occupancy for q in pooled.queues]}
    batches: dict[tuple, list[int]] = {}
    for qi, queue in enumerate(pooled.queues):
        target = targets[queue]
        kind = pooled.channels[qi].split("-")[0]
        sl_t, asa_t = target.target_service_level, target.target_asa_s
        if kind == "email":
            deadline_h = target.deadline_h or 24.0
            frac_t = sl_t if sl_t is not None else 0.9
            c, h, a = contacts[qi], aht_calc[qi], traffic[qi]
            agents = erlang.deferred_required_agents(c, h, interval_s, deadline_h * 3600.0,
                                                     frac_t)
            achieved = erlang.deferred_within_deadline(c, h, agents, interval_s,
                                                       deadline_h * 3600.0)
            busy = (c * h).sum() / max((agents * interval_s).sum(), 1e-9)
            out["agents"][qi] = agents
            out["service_level"][qi] = np.where(agents > 0, achieved,
                                                np.where(a > 0, 0.0, 1.0))
            out["occupancy"][qi] = np.where(agents > 0, min(busy, 1.0), 0.0)
            tgt["target_service_level"][qi] = frac_t
            tgt["target_answer_s"][qi] = deadline_h * 3600.0
            tgt["target_asa_s"][qi] = np.nan
            continue
        answer = target.answer_target_s if target.answer_target_s is not None else 20.0
        tgt["target_service_level"][qi] = np.nan if sl_t is None else sl_t
        tgt["target_answer_s"][qi] = answer
        tgt["target_asa_s"][qi] = np.nan if asa_t is None else asa_t
        model = "chat" if kind == "chat" else ("a" if target.patience_s is not None else "c")
        batches.setdefault((model, sl_t is None, asa_t is None), []).append(qi)

    def per_row(values: list) -> np.ndarray:  # one value per queue -> one per row
        return np.repeat(np.asarray(values, dtype=float), n_times)

    for (model, no_sl, no_asa), members in batches.items():
        idx = np.array(members)
        ts = [targets[pooled.queues[qi]] for qi in members]
        a, h = traffic[idx].reshape(-1), aht_calc[idx].reshape(-1)
        answer = per_row([t.answer_target_s if t.answer_target_s is not None else 20.0
                          for t in ts])
        sl_t = None if no_sl else per_row([t.target_service_level for t in ts])
        asa_t = None if no_asa else per_row([t.target_asa_s for t in ts])
        occ_t = per_row([t.max_occupancy for t in ts])
        if model == "chat":
            k = per_row([max(int(t.concurrency), 1) for t in ts])
            agents = np.asarray(erlang.chat_required_agents(
                a, h, concurrency=k, first_response_s=answer, target_service_level=sl_t,
                target_asa_s=asa_t, max_occupancy=occ_t), dtype=float)
            slots = agents * k
            sl = np.asarray(erlang.service_level(a, slots, h, answer), dtype=float)
            asa = np.asarray(erlang.average_speed_of_answer(a, slots, h), dtype=float)
            occ = np.asarray(erlang.occupancy(a, slots), dtype=float)
        elif model == "a":
            patience = per_row([t.patience_s for t in ts])
            agents = np.asarray(erlang.required_agents(
                a, h, answer_target_s=answer, target_service_level=sl_t,
                target_asa_s=asa_t, max_occupancy=occ_t, patience_s=patience), dtype=float)
            res = erlang.erlang_a(a, agents, h, patience, answer)
            sl, asa = np.asarray(res.service_level, float), np.asarray(res.asa_s, float)
            served = a * (1.0 - np.asarray(res.abandon_rate, float))
            occ = np.where(agents > 0, served / np.where(agents > 0, agents, 1.0), 0.0)
            occ = np.where(a > 0, np.minimum(occ, 1.0), 0.0)
        else:
            agents = np.asarray(erlang.required_agents(
                a, h, answer_target_s=answer, target_service_level=sl_t,
                target_asa_s=asa_t, max_occupancy=occ_t), dtype=float)
            sl = np.asarray(erlang.service_level(a, agents, h, answer), dtype=float)
            asa = np.asarray(erlang.average_speed_of_answer(a, agents, h), dtype=float)
            occ = np.asarray(erlang.occupancy(a, agents), dtype=float)
        for name, value in (("agents", agents), ("service_level", sl), ("asa_s", asa),
                            ("occupancy", occ)):
            out[name][idx] = value.reshape(len(members), n_times)
    out["traffic_erl"] = traffic
    for name, values in tgt.items():
        out[name] = _target_column(values, n_times).reshape(shape)
    return out


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
    grid = _planning_arrays(forecast, scenario)
    rows = _queue_rows(scenario, grid.series)
    queue_of = {(m, lang, ch): q for m, lang, ch, q in rows}
    pooled = _pool(grid, queue_of)
    targets = _targets_of_rows(scenario, rows)
    values = _staff(pooled, targets, scenario.planning.interval_min * 60.0)
    n_queues, n_times = pooled.contacts.shape
    agents = values["agents"]
    headcount = np.ceil(agents / (1.0 - scenario.targets.shrinkage) - 1e-9)

    def column(array: np.ndarray) -> np.ndarray:  # queue x interval -> interval-major rows
        return np.ascontiguousarray(array.T).reshape(-1)

    queue_code = np.tile(np.arange(n_queues), n_times)
    data = {
        "interval_start": grid.times.repeat(n_queues),
        "queue": pd.Index(pooled.queues, dtype=str).take(queue_code),
        "language": pd.Index(pooled.languages, dtype=str).take(queue_code),
        "channel": pd.Index(pooled.channels, dtype=str).take(queue_code),
        "contacts": column(pooled.contacts),
        "aht_s": column(pooled.aht_s),
        "traffic_erl": column(values["traffic_erl"]),
        "agents": column(agents).astype(np.int64),
        "headcount": column(headcount).astype(np.int64),
    }
    for name in COLUMNS[9:]:
        data[name] = column(values[name])
    return pd.DataFrame(data)


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
