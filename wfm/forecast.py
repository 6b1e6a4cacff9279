"""
Hourly forecasts of contacts and AHT per market x language x channel, chosen by backtest.

Every series is modelled on its market's local wall clock: the UTC history is put on a
regular grid of local hours (the hour that does not exist when clocks go forward is a
gap; the two UTC hours of the hour that repeats when clocks go back are averaged), so a
peak at 11:00 local stays at 11:00 local across a change of daylight saving time. The
forecast of each UTC hour is the forecast of its local hour.

Models (one interface: ``fit(series, end) -> self`` on the local hours before ``end``,
``predict(n_hours) -> mean contacts`` for the next ``n_hours`` local hours):

``seasonal_naive``
    The same local hour one week earlier (baseline).
``historical_average``
    The mean of the same local weekday-hour over the last ``average_weeks`` weeks
    (baseline).
``mstl``
    MSTL (statsmodels) with daily and weekly seasonality on log1p of the last
    ``mstl_weeks`` weeks, after dividing out the holiday and event effects estimated by
    the count regression. The level is the last value of simple exponential smoothing
    of the seasonally adjusted series' daily means (forecasts are a day or more ahead,
    so the level is smoothed at that scale), the seasonal components repeat their last cycle,
    and the calendar effects of the forecast days are multiplied back in. The seasonal
    LOESS is local-constant with wide windows (25 days, 51 weeks: a stable profile), and
    every LOESS is evaluated on a sparse grid (``*_jump``): together about 20 times
    faster than the defaults and, on the demo world, more accurate.
``count_glm``
    A Poisson GLM (statsmodels): log mean = local hour-of-week + a day-level part
    (a linear trend when there are at least ``trend_min_weeks`` weeks, public holidays,
    the day after a holiday, and known events), fitted on the last ``history_weeks`` weeks
    with weights halving every ``half_life_weeks`` weeks. The 168 hour-of-week levels have
    a closed form given the day-level part, and the day-level part is a small GLM on daily
    totals given the levels (exact for a Poisson likelihood); the two are alternated to
    the joint maximum, which is much faster than one GLM with 168 dummy columns. Events
    of a kind seen in the fitted history (the name without its year: "Black Friday 2025"
    and "Black Friday 2026" are one kind) get an estimated effect; a kind never seen uses
    the scenario's ``effect`` as a fixed multiplier. The last day's deviation from the
    fit is carried forward with an AR(1) coefficient measured on the history
    (``persistence``; a busy day tends to be followed by a busy day, Brown et al. 2005).
``daily_profile``
    For a series with less than two weeks of history: the mean of each local hour of the
    day over the days there are (a warning says so); weekly seasonality, holidays and
    trend are not modelled.

``method="auto"`` forecasts with the equal-weight mean of ``historical_average``,
``count_glm`` and ``mstl``, unless rolling one-week-ahead backtests over the
``backtest_windows`` weeks before the cutoff show a single model or the mean of two
doing better by more than one standard error of the paired difference of window errors:
then that one (``model`` names it; ``a+b`` is the mean of a and b). Combining is the
default because on short or noisy histories the windows cannot tell the models apart
and switching on noise costs accuracy. The seasonal naive is always backtested as a
baseline but is not a candidate.

Each model's 80 % interval is the pair of quantiles of a negative binomial around its
mean whose dispersion is measured on the same windows (Var = mu + alpha * mu^2), so
the interval reflects the model's real out-of-sample errors, not only Poisson noise;
for small counts each end may move one count inwards when that brings the interval's
probability nearer to 80 % (see :func:`nb_interval`).

AHT is forecast per local hour-of-week as the contact-weighted mean of the last
``aht_weeks`` weeks, shrunk towards the hour-of-day mean (and that towards the overall
mean) with a prior weight of ``aht_prior_contacts`` contacts.

:meth:`Forecaster.backtest` refits every model at each cutoff on the history before it
(and makes auto's choice from windows before it); :func:`accuracy` reports WAPE, MASE,
bias and interval coverage. :func:`for_scenario` is what the pipeline uses: the
scenario's ``forecast.path``, else a file in ``forecasts/`` with the same cutoff,
history and settings, else a forecast made now (and saved there).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import holidays as holidays_lib
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import signal, stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning
from statsmodels.tsa.seasonal import MSTL

from wfm import schema
from wfm.errors import InputError
from wfm.progress import ProgressFn, notify

HOURS_PER_WEEK = 168
KEY = ("market", "language", "channel")
BASELINES = ("seasonal_naive", "historical_average")
#: the models a forecaster can be fixed to (``method=``)
CANDIDATES = ("historical_average", "seasonal_naive", "count_glm", "mstl")
#: the models ``method="auto"`` combines or chooses from
AUTO_CANDIDATES = ("historical_average", "count_glm", "mstl")
SHORT_MODEL = "daily_profile"
METHODS = ("auto", *CANDIDATES, SHORT_MODEL)
#: history a series needs for the weekly models; shorter gets ``daily_profile`` [h]
MIN_HISTORY_H = 2 * HOURS_PER_WEEK
#: where ``wfm forecast`` writes and the pipeline looks for forecast files
DEFAULT_DIR = Path("forecasts")
_HOUR = pd.Timedelta(hours=1)


class ForecastWarning(UserWarning):
    """A forecast was made, but with less than the usual information (says which)."""


class _TooShort(Exception):
    """A model cannot be fitted on the history it was given."""


# -- settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventSpec:
    """A known event on local dates: a volume multiplier (the prior when unseen)."""

    name: str
    start: dt.date
    end: dt.date
    effect: float = 1.0
    markets: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The name without its year: events of one kind share an estimated effect."""
        return event_kind(self.name)

    def applies(self, market: str, channel: str) -> bool:
        if self.markets and market not in self.markets:
            return False
        if self.channels and channel not in self.channels and (
                channel.split("-")[0] not in self.channels):
            return False
        return True


@dataclass(frozen=True)
class ProfileSpec:
    """A series without history takes the forecast of a ``like`` series times ``factor``."""

    market: str
    language: str
    like_market: str
    channel: str = ""
    like_language: str = ""
    like_channel: str = ""
    factor: float = 1.0
    aht_s: float | None = None

    def like(self, channel: str) -> tuple[str, str, str]:
        return (self.like_market, self.like_language or self.language,
                self.like_channel or channel)


def event_kind(name: str) -> str:
    """'Black Friday 2026' -> 'Black Friday'; the kind events are compared by."""
    kind = re.sub(r"(?<!\d)(19|20)\d{2}(?!\d)", " ", name)
    return re.sub(r"\s+", " ", kind).strip() or name


@dataclass(frozen=True)
class Settings:
    """Every knob of the forecaster (defaults as in the scenario's ``[forecast]``)."""

    method: str = "auto"
    #: weeks of history the count regression is fitted on [weeks]
    history_weeks: int = 52
    #: weeks the historical average (and the seasonal naive fallback) looks back [weeks]
    average_weeks: int = 4
    #: weeks of rolling windows the automatic choice and the intervals are measured on
    backtest_windows: int = 4
    #: weeks the MSTL model is fitted on [weeks]
    mstl_weeks: int = 12
    #: weight of an observation halves every this many weeks in the count regression
    half_life_weeks: float = 13.0
    #: the count regression fits a trend only with at least this much history [weeks]
    trend_min_weeks: int = 8
    #: carry the last day's deviation from the count regression forward (AR(1))
    persistence: bool = True
    #: weeks of history the AHT profile is measured on [weeks]
    aht_weeks: int = 8
    #: prior weight of the hour-of-day AHT in each hour-of-week AHT [contacts]
    aht_prior_contacts: float = 20.0
    #: coverage of the forecast interval (0.8: the 10 % and 90 % quantiles)
    interval: float = 0.8
    #: dispersion used when no backtest window is available (Var = mu + alpha mu^2)
    default_alpha: float = 0.1

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# -- the local grid ---------------------------------------------------------------------


@dataclass
class _Calendar:
    """Day-level regressors of one series from its first local day on."""

    dates: np.ndarray  # datetime.date per day
    holiday: np.ndarray  # bool
    after_holiday: np.ndarray  # bool: the first non-holiday day after a holiday
    kinds: tuple[str, ...]
    event: np.ndarray  # (days, kinds) 0/1
    prior: np.ndarray  # (days, kinds) log effect where the event is on


@dataclass
class _Series:
    """One series on the regular grid of its market's local hours."""

    key: tuple[str, str, str]
    zone: str
    anchor: pd.Timestamp  # naive local midnight of position 0
    y: np.ndarray  # contacts per local hour, NaN where not observed
    handle_s: np.ndarray  # handle time per local hour (aht_s * contacts) [s]
    handled: np.ndarray  # contacts with a handle time per local hour
    actual: pd.Series  # contacts by UTC hour (for backtests)
    first_utc: pd.Timestamp
    end_utc: pd.Timestamp  # the first hour after the series' history
    calendar: _Calendar | None = None
    cache: dict = field(default_factory=dict)

    @property
    def how0(self) -> int:
        return int(self.anchor.day_of_week) * 24

    def pad_to(self, n: int) -> None:
        """Gaps after the last observed hour up to position ``n`` (a series that ended
        before the cutoff)."""
        extra = n - len(self.y)
        if extra > 0:
            self.y = np.concatenate([self.y, np.full(extra, np.nan)])
            self.handle_s = np.concatenate([self.handle_s, np.zeros(extra)])
            self.handled = np.concatenate([self.handled, np.zeros(extra)])

    def hour_of_week(self, pos: np.ndarray) -> np.ndarray:
        return (self.how0 + pos) % HOURS_PER_WEEK

    def positions(self, utc) -> np.ndarray:
        local = pd.DatetimeIndex(utc).tz_convert(self.zone).tz_localize(None)
        return np.asarray((local - self.anchor) // _HOUR, dtype=np.int64)


def _local_series(key, part: pd.DataFrame, zone: str) -> _Series:
    utc = pd.DatetimeIndex(part["interval_start"])
    local = utc.tz_convert(zone).tz_localize(None)
    anchor = local.min().floor("D")
    pos = np.asarray((local - anchor) // _HOUR, dtype=np.int64)
    n = int(pos.max()) + 1
    contacts = part["contacts"].to_numpy(dtype=float)
    aht = part["aht_s"].to_numpy(dtype=float)
    has_aht = ~np.isnan(aht) & (contacts > 0)
    count = np.bincount(pos, minlength=n)
    per = np.maximum(count, 1)
    y = np.where(count > 0, np.bincount(pos, weights=contacts, minlength=n) / per, np.nan)
    handle = np.bincount(pos, weights=np.where(has_aht, aht * contacts, 0.0), minlength=n) / per
    handled = np.bincount(pos, weights=np.where(has_aht, contacts, 0.0), minlength=n) / per
    return _Series(key, zone, anchor, y, handle, handled,
                   actual=pd.Series(contacts, index=utc),
                   first_utc=utc.min(), end_utc=utc.max() + _HOUR)


# -- calendar -------------------------------------------------------------------------


def _holiday_dates(country: str, years: range, market: str) -> set[dt.date]:
    try:
        return set(holidays_lib.country_holidays(country, years=list(years)).keys())
    except NotImplementedError:
        raise InputError(
            f"market {market}: holiday country {country!r} is not known to the holidays "
            "package; set markets[].holiday_country in the scenario to a supported ISO code "
            "(e.g. 'GB')"
        ) from None


def _build_calendar(s: _Series, n_days: int, country: str, events: Sequence[EventSpec]):
    first = s.anchor.date()
    dates = np.array([first + dt.timedelta(days=i) for i in range(n_days)])
    years = range(first.year - 1, dates[-1].year + 2)
    hol = _holiday_dates(country, years, s.key[0])
    holiday = np.array([d in hol for d in dates])
    previous = np.concatenate([[(first - dt.timedelta(days=1)) in hol], holiday[:-1]])
    after = previous & ~holiday
    market, _, channel = s.key
    mine = [e for e in events if e.applies(market, channel)]
    kinds = tuple(dict.fromkeys(e.kind for e in mine))
    event = np.zeros((n_days, len(kinds)))
    prior = np.zeros((n_days, len(kinds)))
    ordinal = np.array([d.toordinal() for d in dates])
    for e in mine:
        k = kinds.index(e.kind)
        on = (ordinal >= e.start.toordinal()) & (ordinal <= e.end.toordinal())
        event[on, k] = 1.0
        prior[on, k] = math.log(e.effect)
    return _Calendar(dates, holiday, after, kinds, event, prior)


# -- models ---------------------------------------------------------------------------


class Model:
    """The interface every model shares."""

    name = ""

    def fit(self, s: _Series, end: int) -> Model:  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, n_hours: int) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


def _profile_fill(y: np.ndarray, how: np.ndarray) -> np.ndarray:
    """y with gaps filled by the mean of the same hour-of-week (else the overall mean)."""
    out = y.copy()
    gaps = np.isnan(out)
    if not gaps.any():
        return out
    obs = ~gaps
    sums = np.bincount(how[obs], weights=y[obs], minlength=HOURS_PER_WEEK)
    counts = np.bincount(how[obs], minlength=HOURS_PER_WEEK)
    overall = float(np.nanmean(y)) if obs.any() else 0.0
    means = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
    out[gaps] = means[how[gaps]]
    return out


class DailyProfile(Model):
    """Mean of each local hour of the day over the history there is (short series)."""

    name = SHORT_MODEL

    def fit(self, s: _Series, end: int) -> DailyProfile:
        y = s.y[:end]
        obs = ~np.isnan(y)
        if not obs.any():
            raise _TooShort("no observed hour")
        hod = np.arange(end) % 24
        sums = np.bincount(hod[obs], weights=y[obs], minlength=24)
        counts = np.bincount(hod[obs], minlength=24)
        overall = float(y[obs].mean())
        self.profile = np.where(counts > 0, sums / np.maximum(counts, 1), overall)
        self.end = end
        return self

    def predict(self, n_hours: int) -> np.ndarray:
        return self.profile[(self.end + np.arange(n_hours)) % 24]


class HistoricalAverage(Model):
    """Mean of the same local weekday-hour over the last ``weeks`` weeks."""

    name = "historical_average"

    def __init__(self, weeks: int = 4):
        self.weeks = weeks

    def fit(self, s: _Series, end: int) -> HistoricalAverage:
        if end < HOURS_PER_WEEK:
            raise _TooShort("less than a week")
        self.s, self.end = s, end
        return self

    def predict(self, n_hours: int) -> np.ndarray:
        y, end = self.s.y, self.end
        t = end + np.arange(n_hours)
        first_lag = (np.arange(n_hours) // HOURS_PER_WEEK) + 1
        total = np.zeros(n_hours)
        count = np.zeros(n_hours)
        # look back further when every one of the last weeks is a gap
        max_weeks = max(self.weeks, end // HOURS_PER_WEEK)
        for m in range(max_weeks):
            if m >= self.weeks and (count > 0).all():
                break
            lag_pos = t - HOURS_PER_WEEK * (first_lag + m)
            ok = lag_pos >= 0
            v = np.full(n_hours, np.nan)
            v[ok] = y[lag_pos[ok]]
            use = ~np.isnan(v) & ((m < self.weeks) | (count == 0))
            total[use] += v[use]
            count[use] += 1
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        if np.isnan(out).any():
            fallback = DailyProfile().fit(self.s, end).predict(n_hours)
            out = np.where(np.isnan(out), fallback, out)
        return out


class SeasonalNaive(Model):
    """The same local hour one week earlier (a gap: the week before that, and so on)."""

    name = "seasonal_naive"

    def fit(self, s: _Series, end: int) -> SeasonalNaive:
        if end < HOURS_PER_WEEK:
            raise _TooShort("less than a week")
        self.s, self.end = s, end
        return self

    def predict(self, n_hours: int) -> np.ndarray:
        y, end = self.s.y, self.end
        t = end + np.arange(n_hours)
        lag = HOURS_PER_WEEK * ((np.arange(n_hours) // HOURS_PER_WEEK) + 1)
        out = np.full(n_hours, np.nan)
        for m in range(max(1, end // HOURS_PER_WEEK)):
            todo = np.isnan(out)
            if not todo.any():
                break
            lag_pos = t - lag - HOURS_PER_WEEK * m
            ok = todo & (lag_pos >= 0)
            out[ok] = y[lag_pos[ok]]
        if np.isnan(out).any():
            fallback = DailyProfile().fit(self.s, end).predict(n_hours)
            out = np.where(np.isnan(out), fallback, out)
        return out


class CountGLM(Model):
    """
    Poisson GLM: log mean = hour-of-week level + day-level trend, holidays and events.

    See the module docstring for how it is fitted.
    """

    name = "count_glm"

    def __init__(self, history_weeks: int = 52, half_life_weeks: float = 13.0,
                 trend_min_weeks: int = 8, persistence: bool = True, max_iter: int = 30,
                 tol: float = 1e-6):
        self.history_weeks = history_weeks
        self.half_life_weeks = half_life_weeks
        self.trend_min_weeks = trend_min_weeks
        self.use_persistence = persistence
        self.max_iter = max_iter
        self.tol = tol

    # day-level design: trend, holiday, day after, one column per event kind seen
    def _design(self, days: np.ndarray, columns: list) -> tuple[np.ndarray, np.ndarray]:
        cal = self.s.calendar
        x = np.zeros((len(days), len(columns)))
        offset = np.zeros(len(days))
        for j, (what, k) in enumerate(columns):
            if what == "trend":
                x[:, j] = (days - self.day_ref) / 365.25
            elif what == "holiday":
                x[:, j] = cal.holiday[days]
            elif what == "after":
                x[:, j] = cal.after_holiday[days]
            else:
                x[:, j] = cal.event[days, k]
        for k in self.prior_kinds:
            offset += cal.prior[days, k]
        return x, offset

    def fit(self, s: _Series, end: int) -> CountGLM:
        if end < MIN_HISTORY_H:
            raise _TooShort("less than two weeks")
        start = max(0, end - self.history_weeks * HOURS_PER_WEEK)
        start = -(-start // 24) * 24  # whole local days
        y = s.y[start:end]
        obs = ~np.isnan(y)
        if obs.sum() < HOURS_PER_WEEK:
            raise _TooShort("less than a week of observed hours")
        self.s, self.end = s, end
        cal = s.calendar
        pos = np.arange(start, end)[obs]
        yo = y[obs]
        how = s.hour_of_week(pos)
        day = pos // 24
        first_day, last_day = int(day.min()), int(day.max())
        self.day_ref = last_day
        days = np.arange(first_day, last_day + 1)
        di = day - first_day
        age_weeks = (end - 12 - days * 24) / HOURS_PER_WEEK
        w_day = 0.5 ** (np.maximum(age_weeks, 0) / self.half_life_weeks)
        w = w_day[di]
        observed_days = np.bincount(di, minlength=len(days)) > 0

        columns: list = []
        if (last_day - first_day + 1) >= 7 * self.trend_min_weeks:
            columns.append(("trend", None))
        # a regressor needs an observed day on and an observed day off
        for what, values in (("holiday", cal.holiday), ("after", cal.after_holiday)):
            on = values[days] & observed_days
            if on.any() and (~values[days] & observed_days).any():
                columns.append((what, None))
        self.prior_kinds = []
        for k in range(len(cal.kinds)):
            on = (cal.event[days, k] > 0) & observed_days
            if on.sum() >= 1:
                columns.append(("event", k))
            else:
                self.prior_kinds.append(k)
        self.columns = columns
        x_day, off_day = self._design(days, columns)

        y_day = np.bincount(di, weights=yo, minlength=len(days))
        wy = np.bincount(how, weights=w * yo, minlength=HOURS_PER_WEEK)
        beta = np.zeros(len(columns))
        g_day = off_day.copy()
        level = np.zeros(HOURS_PER_WEEK)
        seen = np.bincount(how, minlength=HOURS_PER_WEEK) > 0
        floor = 1e-3 * max(float(np.average(yo, weights=w)), 1e-3)
        previous = np.inf
        for _ in range(self.max_iter):
            # hour-of-week levels: closed form given the day-level part
            wexp = np.bincount(how, weights=w * np.exp(g_day[di]), minlength=HOURS_PER_WEEK)
            rate = np.where(seen, np.maximum(wy, floor * wexp) / np.maximum(wexp, 1e-300), 0)
            fill = np.exp(np.mean(np.log(rate[seen])))
            level = np.log(np.where(seen, rate, fill))
            if not columns:
                break
            # day-level part: a Poisson GLM on daily totals given the levels
            exposure = np.bincount(di, weights=np.exp(level[how]), minlength=len(days))
            rows = observed_days & (exposure > 0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", PerfectSeparationWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                result = sm.GLM(
                    y_day[rows], x_day[rows], family=sm.families.Poisson(),
                    offset=off_day[rows] + np.log(exposure[rows]), var_weights=w_day[rows],
                ).fit(start_params=beta, maxiter=50, tol=1e-8)
            beta = np.clip(np.nan_to_num(result.params), -10, 10)
            g_day = x_day @ beta + off_day
            mu = np.exp(level[how] + g_day[di])
            loglik = float(np.sum(w * (yo * np.log(np.maximum(mu, 1e-300)) - mu)))
            if abs(loglik - previous) <= self.tol * (1 + abs(loglik)):
                break
            previous = loglik
        self.level, self.beta = level, beta
        self.persistence, self.last_residual = 0.0, 0.0
        if self.use_persistence:
            self.persistence, self.last_residual = self._persistence(
                pos, yo, np.exp(level[how] + g_day[di]), end)
        return self

    def _persistence(self, pos, y, mu, end) -> tuple[float, float]:
        """
        AR(1) of the log ratio actual / fitted over 24-hour blocks counted back from
        ``end``: (phi, the last block's ratio). A busy day tends to be followed by a
        busy day (Brown et al. 2005, section 6); phi = 0 when the blocks show no such
        persistence or there are fewer than two weeks of them.
        """
        block = (end - 1 - pos) // 24
        n = int(block.max()) + 1
        hours = np.bincount(block, minlength=n)
        y_b = np.bincount(block, weights=y, minlength=n)
        f_b = np.bincount(block, weights=mu, minlength=n)
        valid = hours >= 12
        r = np.log((y_b + 0.5) / (f_b + 0.5))
        w = 0.5 ** (np.arange(n) / 7.0 / self.half_life_weeks)
        if valid.sum() < 2:
            return 0.0, 0.0
        r = r - np.average(r[valid], weights=w[valid])
        pair = valid[:-1] & valid[1:]  # block b (later) and b + 1 (the one before it)
        if pair.sum() < 14 or not valid[0]:
            return 0.0, 0.0
        prev, nxt, wp = r[1:][pair], r[:-1][pair], w[:-1][pair]
        denominator = float(np.sum(wp * prev ** 2))
        phi = float(np.sum(wp * prev * nxt)) / denominator if denominator > 0 else 0.0
        return float(np.clip(phi, 0.0, 0.9)), float(r[0])

    def day_effect(self, days: np.ndarray, *, trend: bool = True) -> np.ndarray:
        """The day-level part of log mean on absolute day indices."""
        x, off = self._design(days, self.columns)
        if not trend:
            x = x * np.array([c[0] != "trend" for c in self.columns], dtype=float)
        return x @ self.beta + off

    def predict(self, n_hours: int) -> np.ndarray:
        pos = self.end + np.arange(n_hours)
        g = self.day_effect(pos // 24)
        lead_blocks = 1 + np.arange(n_hours) // 24
        g = g + self.last_residual * self.persistence ** lead_blocks
        return np.exp(self.level[self.s.hour_of_week(pos)] + g)


class MSTLModel(Model):
    """MSTL on log1p of the calendar-adjusted recent weeks (see the module docstring)."""

    name = "mstl"
    #: seasonal LOESS windows of the daily and weekly components [cycles]
    WINDOWS = (25, 51)
    #: local-constant seasonal LOESS (degree 0) evaluated every 5th cycle; trend and
    #: low-pass LOESS every 24th point: about 20 times faster than the defaults
    STL_KWARGS = {"robust": False, "seasonal_deg": 0, "seasonal_jump": 5, "trend_jump": 24,
                  "low_pass_jump": 24}

    def __init__(self, weeks: int = 12, calendar_model: CountGLM | None = None,
                 iterate: int = 1):
        self.weeks = weeks
        self.calendar_model = calendar_model
        self.iterate = iterate

    def fit(self, s: _Series, end: int) -> MSTLModel:
        start = max(0, end - self.weeks * HOURS_PER_WEEK)
        if end - start <= MIN_HISTORY_H:  # MSTL needs more than two weekly cycles
            raise _TooShort("two weeks or less")
        pos = np.arange(start, end)
        y = s.y[start:end]
        if np.isnan(y).mean() > 0.5:
            raise _TooShort("mostly gaps")
        how = s.hour_of_week(pos)
        cal = np.zeros(len(pos))
        if self.calendar_model is not None:
            cal = self.calendar_model.day_effect(pos // 24, trend=False)
        adjusted = _profile_fill(y / np.exp(cal), how)
        z = np.log1p(np.maximum(adjusted, 0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = MSTL(z, periods=(24, HOURS_PER_WEEK), windows=self.WINDOWS,
                          iterate=self.iterate, stl_kwargs=self.STL_KWARGS).fit()
        seasonal = np.asarray(result.seasonal)
        if seasonal.ndim == 1 or seasonal.shape[1] < 2:
            raise _TooShort("too short for a weekly component")
        # the level: simple exponential smoothing of the seasonally adjusted series'
        # means over 24-hour blocks counted back from the end (forecasts are made a day
        # or more ahead, so the level is smoothed at that scale)
        adjusted_z = z - seasonal.sum(axis=1)
        usable = len(adjusted_z) // 24 * 24
        daily = adjusted_z[len(adjusted_z) - usable:].reshape(-1, 24).mean(axis=1)
        self.trend_end = ses_level(daily, start_n=7)
        self.seasonal = seasonal
        fitted = np.expm1(np.asarray(result.trend) + seasonal.sum(axis=1))
        obs = ~np.isnan(y)
        denominator = float(np.maximum(fitted[obs], 0).sum())
        self.smear = float(adjusted[obs].sum()) / denominator if denominator > 0 else 1.0
        self.s, self.end = s, end
        return self

    def predict(self, n_hours: int) -> np.ndarray:
        i = np.arange(n_hours)
        z = np.full(n_hours, self.trend_end)
        for j, period in enumerate((24, HOURS_PER_WEEK)):
            last = self.seasonal[-period:, j]
            z = z + last[i % period]
        mean = np.maximum(np.expm1(z), 0) * self.smear
        if self.calendar_model is not None:
            pos = self.end + i
            mean = mean * np.exp(self.calendar_model.day_effect(pos // 24, trend=False))
        return mean


def ses_level(x: np.ndarray, alphas: np.ndarray | None = None, start_n: int = 24) -> float:
    """
    The last level of simple exponential smoothing of ``x``, with the smoothing
    constant (from a log-spaced grid in [0.001, 0.5]) that minimises the one-step-ahead
    squared error; the level starts at the mean of the first ``start_n`` values.
    """
    alphas = np.geomspace(0.001, 0.5, 24) if alphas is None else alphas
    x = np.asarray(x, dtype=float)
    start = float(x[:start_n].mean())
    best, best_level = np.inf, start
    for alpha in alphas:
        level, _ = signal.lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1 - alpha) * start])
        previous = np.concatenate([[start], level[:-1]])
        sse = float(np.sum((x - previous) ** 2))
        if sse < best:
            best, best_level = sse, float(level[-1])
    return best_level


# -- intervals and accuracy ---------------------------------------------------------------


def nb_interval(mean, alpha: float, level: float = 0.8, *,
                nearest: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """
    Central ``level`` interval of a negative binomial with this mean and dispersion.

    Parameters
    ----------
    mean : numeric
        Mean contacts per interval. [contacts]
    alpha : float
        Dispersion: Var = mean + alpha * mean^2; 0 is Poisson.
    level : float
        Coverage of the interval, 0.8 for the 10 % and 90 % quantiles.
    nearest : bool
        Counts are integers, so the quantiles cover more than ``level`` (for a mean of
        0.1, [0, 0] already holds 90 %); with ``nearest`` each end may move one count
        inwards when that brings the interval's probability nearer to ``level``.

    Returns
    -------
    (lo, hi) : arrays
        The quantiles, widened where needed to contain the mean. [contacts]
    """
    mean = np.maximum(np.asarray(mean, dtype=float), 0.0)
    q_lo, q_hi = (1 - level) / 2, (1 + level) / 2
    if alpha <= 1e-6:
        lo = stats.poisson.ppf(q_lo, mean)
        hi = stats.poisson.ppf(q_hi, mean)
    else:
        n = 1.0 / alpha
        p = n / (n + mean)
        lo = stats.nbinom.ppf(q_lo, n, p)
        hi = stats.nbinom.ppf(q_hi, n, p)
    lo = np.nan_to_num(lo, nan=0.0)
    hi = np.nan_to_num(hi, nan=0.0)
    if nearest:
        # counts are discrete: of [lo, hi], [lo + 1, hi], [lo, hi - 1], take the one whose
        # probability is nearest to ``level`` (the plain quantiles cover more than
        # ``level``, much more for small means)
        def cdf(k):
            k = np.asarray(k, dtype=float)
            if alpha <= 1e-6:
                return np.where(k < 0, 0.0, stats.poisson.cdf(k, mean))
            return np.where(k < 0, 0.0, stats.nbinom.cdf(k, n, p))

        best_lo, best_hi = lo.copy(), hi.copy()
        best = np.abs(cdf(hi) - cdf(lo - 1) - level)
        for cand_lo, cand_hi in ((lo + 1, hi), (lo, hi - 1)):
            ok = (cand_lo <= cand_hi) & (cand_lo <= mean) & (cand_hi >= mean)
            gap = np.abs(cdf(cand_hi) - cdf(cand_lo - 1) - level)
            better = ok & (gap < best)
            best_lo = np.where(better, cand_lo, best_lo)
            best_hi = np.where(better, cand_hi, best_hi)
            best = np.where(better, gap, best)
        lo, hi = best_lo, best_hi
    return np.minimum(lo, mean), np.maximum(hi, mean)


def accuracy(backtest: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """
    WAPE, MASE, bias and interval coverage of a backtest frame.

    Parameters
    ----------
    backtest : DataFrame
        The frame :meth:`Forecaster.backtest` returns (``contacts`` is the forecast,
        ``actual`` what happened, ``mase_scale`` the in-sample one-week seasonal naive
        mean absolute error at the cutoff).
    by : sequence of str, optional
        Grouping columns; default per series and model. ``["model"]`` pools the series.

    Returns
    -------
    DataFrame
        One row per group: ``n`` hours, ``actual`` and ``forecast`` totals [contacts],
        ``wape`` = sum|f - y| / sum y, ``mase`` = mean(|f - y| / scale), ``bias`` =
        (sum f - sum y) / sum y, ``coverage`` = share of hours with lo <= y <= hi.
    """
    by = list(by) if by is not None else [*KEY, "model"]
    df = backtest[backtest["actual"].notna()]
    err = df["contacts"] - df["actual"]
    scale = df["mase_scale"].where(df["mase_scale"] > 0)
    work = pd.DataFrame({
        **{c: df[c] for c in by},
        "n": 1,
        "actual": df["actual"],
        "forecast": df["contacts"],
        "abs_error": err.abs(),
        "scaled": err.abs() / scale,
        "inside": ((df["actual"] >= df["contacts_lo"]) & (df["actual"] <= df["contacts_hi"]))
        .astype(float),
    })
    g = work.groupby(by, sort=True)
    out = g.agg(n=("n", "sum"), actual=("actual", "sum"), forecast=("forecast", "sum"),
                abs_error=("abs_error", "sum"), mase=("scaled", "mean"),
                coverage=("inside", "mean")).reset_index()
    total = out["actual"].where(out["actual"] > 0)
    out["wape"] = out["abs_error"] / total
    out["bias"] = (out["forecast"] - out["actual"]) / total
    return out[[*by, "n", "actual", "forecast", "wape", "mase", "bias", "coverage"]]


# -- the forecaster ---------------------------------------------------------------------


@dataclass
class _Choice:
    """A series' model at a cutoff: the mean of ``members``, labelled ``model``."""

    model: str
    members: tuple[str, ...]
    alpha: float
    windows: int = 0
    alphas: dict[str, float] = field(default_factory=dict)
    #: sum of absolute errors per model on the selection windows [contacts]
    abs_error: dict[str, float] = field(default_factory=dict)
    #: actual contacts on the selection windows [contacts]
    actual: float = 0.0

    @property
    def wape(self) -> dict[str, float]:
        if self.actual <= 0:
            return dict.fromkeys(self.abs_error, float("nan"))
        return {n: e / self.actual for n, e in self.abs_error.items()}


class Forecaster:
    """
    Hourly contacts (with an 80 % interval) and AHT per market x language x channel.

    Parameters
    ----------
    method : str
        ``auto`` (per series, chosen by rolling backtest: see the module docstring) or
        one of :data:`CANDIDATES` / ``daily_profile``.
    zones : mapping
        Market code -> IANA time zone; every market of the history needs one.
    holiday_countries : mapping, optional
        Market code -> country code of the ``holidays`` package (default: the market).
    events : sequence, optional
        Known events (objects with name, start, end, effect, markets, channels; local
        dates), e.g. ``scenario.forecast.events``.
    series : sequence of (market, language, channel), optional
        Series that must be forecast; one without history is an error unless a profile
        covers it.
    profiles : sequence, optional
        Volume profiles for series without history (objects with market, language,
        like_market, channel, like_language, like_channel, factor, aht_s), e.g.
        ``scenario.forecast.profiles``: the new series gets the forecast of the "like"
        series at the same local times, times ``factor``.
    progress : callable, optional
        ``progress(done, total, label)`` over the series.
    **settings
        Fields of :class:`Settings` (``history_weeks``, ``average_weeks``, ...).
    """

    def __init__(self, method: str = "auto", *, zones: Mapping[str, str],
                 holiday_countries: Mapping[str, str] | None = None,
                 events: Sequence = (), series: Sequence[tuple[str, str, str]] | None = None,
                 profiles: Sequence = (), progress: ProgressFn | None = None, **settings):
        self.settings = Settings(method=method, **settings)
        if method not in METHODS:
            raise InputError(f"forecast method {method!r} is not known; use one of "
                             f"{', '.join(METHODS)}")
        self.method = method
        self.zones = dict(zones)
        self.holiday_countries = {m: (holiday_countries or {}).get(m) or m for m in self.zones}
        self.events = tuple(
            EventSpec(e.name, e.start, e.end, float(e.effect), tuple(e.markets),
                      tuple(e.channels)) for e in events)
        self.expected = None if series is None else [tuple(k) for k in series]
        self.profiles = tuple(
            ProfileSpec(p.market, p.language, p.like_market, p.channel, p.like_language,
                        p.like_channel, float(p.factor), p.aht_s) for p in profiles)
        self.progress = progress
        self.warnings: list[str] = []
        self._data: tuple[str, dict] | None = None
        self.choices_: dict[tuple, _Choice] = {}
        self.cutoff_: pd.Timestamp | None = None
        self._profile_of: dict[tuple, ProfileSpec] = {}

    @classmethod
    def from_scenario(cls, scenario, **overrides) -> Forecaster:
        """A forecaster with the scenario's zones, holiday countries, events and
        ``[forecast]`` settings; every market x language x channel must have history."""
        f = scenario.forecast
        kwargs = dict(
            method=f.method, zones=scenario.market_zones,
            holiday_countries={m.code: m.holiday_country or m.code for m in scenario.markets},
            events=f.events, profiles=getattr(f, "profiles", ()),
            series=[(m.code, lang, ch) for m in scenario.markets for lang in m.languages
                    for ch in m.channels],
            history_weeks=f.history_weeks, average_weeks=f.average_weeks,
            backtest_windows=f.backtest_windows,
        )
        kwargs.update(overrides)
        return cls(**kwargs)

    # -- preparing the history --------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        warnings.warn(message, ForecastWarning, stacklevel=3)

    def _prepare(self, history: pd.DataFrame) -> dict[tuple, _Series]:
        schema.validate(history, "history")
        fingerprint = history_fingerprint(history)
        if self._data is not None and self._data[0] == fingerprint:
            return self._data[1]
        if history.empty:
            raise InputError("history frame is empty; a forecast needs hourly history per "
                             "market, language and channel")
        hist = history[["interval_start", *KEY, "contacts", "aht_s"]]
        step = schema.infer_interval_min(hist["interval_start"])
        if step != 60:  # sum finer intervals up to hours
            hist = hist.assign(
                interval_start=hist["interval_start"].dt.floor("h"),
                handle=hist["aht_s"].fillna(0) * hist["contacts"],
                handled=hist["contacts"].where(hist["aht_s"].notna(), 0))
            hist = hist.groupby(["interval_start", *KEY], as_index=False)[
                ["contacts", "handle", "handled"]].sum()
            hist["aht_s"] = (hist["handle"] / hist["handled"]).where(hist["handled"] > 0)
        missing_zone = sorted(set(hist["market"]) - set(self.zones))
        if missing_zone:
            raise InputError(
                f"history holds market(s) {', '.join(map(str, missing_zone))} with no time "
                "zone; add them to the scenario's [[markets]] with a timezone (or pass zones=)"
            )
        present = {tuple(str(v) for v in k) for k in hist.groupby(list(KEY)).groups}
        self._profile_of = self._expand_profiles(present)
        if self.expected is not None:
            absent = [k for k in self.expected if k not in present and k not in self._profile_of]
            if absent:
                shown = ", ".join("/".join(k) for k in absent)
                raise InputError(
                    f"no history for {len(absent)} series (market/language/channel): {shown}; "
                    "a forecast needs history for every market, language and channel the "
                    "scenario lists: ingest it (`wfm ingest FILE`), give it a volume profile "
                    "([[forecast.profiles]] with like_market and factor) or remove the "
                    "language or channel from the scenario's [[markets]]"
                )
        series = {}
        for key, part in hist.groupby(list(KEY), sort=True):
            key = tuple(str(k) for k in key)
            series[key] = _local_series(key, part.sort_values("interval_start"),
                                        self.zones[key[0]])
        self._data = (fingerprint, series)
        return series

    def _expand_profiles(self, present: set) -> dict[tuple, ProfileSpec]:
        """Series without history -> the profile that gives their volume."""
        out: dict[tuple, ProfileSpec] = {}
        problems = []
        for p in self.profiles:
            channels = [p.channel] if p.channel else sorted(
                {k[2] for k in (self.expected or []) if k[:2] == (p.market, p.language)})
            for channel in channels or [p.like_channel or "voice"]:
                target = (p.market, p.language, channel)
                like = p.like(channel)
                if target in present:
                    self._warn(f"profile for {'/'.join(target)} not used: the series has "
                               "history")
                    continue
                if like not in present:
                    problems.append(f"profile for {'/'.join(target)}: the like series "
                                    f"{'/'.join(like)} has no history")
                for market in (p.market, p.like_market):
                    if market not in self.zones:
                        problems.append(f"profile for {'/'.join(target)}: market {market} "
                                        "has no time zone")
                out[target] = p
        if problems:
            raise InputError("forecast profiles cannot be used:", problems)
        return out

    def _calendar(self, s: _Series, n_hours: int) -> None:
        n_days = (n_hours + 23) // 24 + 2
        if s.calendar is None or len(s.calendar.dates) < n_days:
            n_days = max(n_days, (len(s.y) + 24 * 400) // 24)
            s.calendar = _build_calendar(s, n_days, self.holiday_countries[s.key[0]],
                                         self.events)

    # -- forecasts at one cutoff -----------------------------------------------------

    def _forecasts_at(self, s: _Series, cutoff: pd.Timestamp, horizon_h: int,
                      names: Sequence[str]) -> dict[str, np.ndarray | None]:
        """Mean forecast per UTC hour of [cutoff, cutoff + horizon_h) for each model
        (None where the model cannot be fitted), fitted on the history before cutoff."""
        hours = pd.date_range(cutoff, periods=horizon_h, freq="h")
        todo = [n for n in names if (cutoff, horizon_h, n) not in s.cache]
        if todo:
            pos = s.positions(hours)
            end = int(pos[0])
            n_local = int(pos.max()) - end + 1
            s.pad_to(end)
            self._calendar(s, end + n_local)
            st = self.settings
            local: dict[str, np.ndarray | None] = {}

            def run(model: Model):
                try:
                    return model.fit(s, end).predict(n_local)
                except _TooShort:
                    return None

            glm = None
            if {"count_glm", "mstl"} & set(todo):
                try:
                    glm = CountGLM(st.history_weeks, st.half_life_weeks,
                                   st.trend_min_weeks, st.persistence).fit(s, end)
                except _TooShort:
                    glm = None
            for name in todo:
                if name == "seasonal_naive":
                    local[name] = run(SeasonalNaive())
                elif name == "historical_average":
                    local[name] = run(HistoricalAverage(st.average_weeks))
                elif name == SHORT_MODEL:
                    local[name] = run(DailyProfile())
                elif name == "count_glm":
                    local[name] = None if glm is None else glm.predict(n_local)
                elif name == "mstl":
                    local[name] = None if glm is None else run(MSTLModel(st.mstl_weeks, glm))
                else:  # pragma: no cover - checked in __init__
                    raise ValueError(name)
            for name in todo:
                mean = local[name]
                s.cache[(cutoff, horizon_h, name)] = (
                    None if mean is None else np.maximum(mean[pos - end], 0.0))
        return {n: s.cache[(cutoff, horizon_h, n)] for n in names}

    def _candidates(self) -> tuple[str, ...]:
        """The models a choice is made from (one unless ``auto``)."""
        return AUTO_CANDIDATES if self.method == "auto" else (self.method,)

    def _computed(self) -> tuple[str, ...]:
        """The models forecast at every backtest cutoff: candidates and baselines."""
        return tuple(dict.fromkeys((*self._candidates(), *BASELINES)))

    def _selection_windows(self, s: _Series, cutoff: pd.Timestamp, horizon_h: int):
        window_h = HOURS_PER_WEEK
        n = math.ceil(self.settings.backtest_windows * HOURS_PER_WEEK / window_h)
        cutoffs = [cutoff - _HOUR * window_h * (m + 1) for m in range(n)]
        usable = [c for c in cutoffs if c - s.first_utc >= _HOUR * MIN_HISTORY_H]
        return window_h, usable

    def _combined(self, s: _Series, cutoff: pd.Timestamp, horizon_h: int,
                  members: Sequence[str]) -> np.ndarray | None:
        """The equal-weight mean of the members' forecasts (None if one cannot fit)."""
        fc = self._forecasts_at(s, cutoff, horizon_h, members)
        if any(fc[m] is None for m in members):
            return None
        return np.mean([fc[m] for m in members], axis=0)

    def _choose(self, s: _Series, cutoff: pd.Timestamp, horizon_h: int) -> _Choice:
        """
        The model for ``s`` at ``cutoff``, from the rolling windows before it: with
        ``auto`` the mean of the candidates within one standard error of the best.
        """
        names = self._computed()
        candidates = self._candidates()
        history_h = (cutoff - s.first_utc) / _HOUR
        if history_h < MIN_HISTORY_H:
            return _Choice(SHORT_MODEL, (SHORT_MODEL,), self.settings.default_alpha)
        window_h, cutoffs = self._selection_windows(s, cutoff, horizon_h)
        windows = []  # (actual, {name: forecast}) on the observed hours of each window
        failed: set[str] = set()
        for c in cutoffs:
            actual = s.actual.reindex(pd.date_range(c, periods=window_h, freq="h")).to_numpy()
            obs = ~np.isnan(actual)
            if not obs.any():
                continue
            fc = self._forecasts_at(s, c, window_h, names)
            failed |= {n for n in names if fc[n] is None}
            windows.append((actual[obs], {n: f[obs] for n, f in fc.items() if f is not None}))
        ok = [n for n in names if n not in failed]
        ok_candidates = [n for n in candidates if n in ok]
        if not windows or not ok_candidates:
            fallback = self.method if self.method not in ("auto", *failed) else (
                "historical_average")
            return _Choice(fallback, (fallback,), self.settings.default_alpha)
        if self.method == "auto":
            members = _select_members(ok_candidates, windows)
        else:
            members = (self.method,)
        label = "+".join(members)
        stats_of = {n: [(a, f[n]) for a, f in windows] for n in ok}
        stats_of[label] = [(a, np.mean([f[m] for m in members], axis=0)) for a, f in windows]
        total = float(sum(a.sum() for a, _ in windows))
        abs_error, alphas = {}, {}
        for n, pairs in stats_of.items():
            abs_error[n] = sum(float(np.abs(f - a).sum()) for a, f in pairs)
            alphas[n] = _dispersion(pairs, self.settings.default_alpha)
        return _Choice(label, members, alphas[label], len(windows), alphas, abs_error, total)

    # -- public API ---------------------------------------------------------------------

    def fit(self, history: pd.DataFrame) -> Forecaster:
        """
        Choose (``auto``) and measure a model per series on the history.

        Parameters
        ----------
        history : DataFrame
            Contract ``history``; hourly (finer intervals are summed to hours).

        Returns
        -------
        Forecaster
            ``self``; :attr:`choices_` holds each series' model and backtest WAPE.
        """
        self.warnings = []
        series = self._prepare(history)
        self.cutoff_ = max(s.end_utc for s in series.values())
        self.choices_ = {}
        self._fitted = series
        for i, (key, s) in enumerate(series.items()):
            notify(self.progress, i, len(series), "/".join(key))
            choice = self._choose(s, self.cutoff_, HOURS_PER_WEEK)
            if choice.model == SHORT_MODEL:
                days = (self.cutoff_ - s.first_utc) / pd.Timedelta(days=1)
                self._warn(
                    f"series {'/'.join(key)} has {days:.1f} days of history (< 14): forecast "
                    "with the mean of each local hour of the day (model 'daily_profile'); "
                    "weekly seasonality, holidays and trend are not modelled")
            elif choice.windows == 0:
                self._warn(f"series {'/'.join(key)}: no backtest window with data before "
                           f"the cutoff; model {choice.model} taken without a backtest")
            self.choices_[key] = choice
        for target, p in self._profile_of.items():
            like = self.choices_[p.like(target[2])]
            self.choices_[target] = _Choice(f"profile({'/'.join(p.like(target[2]))})",
                                            like.members, like.alpha)
        notify(self.progress, len(series), len(series), "done")
        return self

    def predict(self, horizon_h: int) -> pd.DataFrame:
        """
        Forecast ``horizon_h`` hours from the cutoff (the first hour after the history).

        Returns
        -------
        DataFrame
            Contract ``forecast``: contacts (mean), contacts_lo / contacts_hi (the 80 %
            interval), aht_s and the model of each series, sorted by key.
        """
        if self.cutoff_ is None:
            raise RuntimeError("call fit(history) before predict(horizon_h)")
        if horizon_h < 1:
            raise InputError(f"forecast horizon {horizon_h} h: expected at least 1 hour")
        hours = pd.date_range(self.cutoff_, periods=horizon_h, freq="h")
        frames = []
        for key, s in self._fitted.items():
            choice = self.choices_[key]
            mean = self._combined(s, self.cutoff_, horizon_h, choice.members)
            model = choice.model
            if mean is None:  # the chosen model cannot fit at the cutoff itself
                mean = self._forecasts_at(s, self.cutoff_, horizon_h, [SHORT_MODEL])[SHORT_MODEL]
                model = SHORT_MODEL
            lo, hi = nb_interval(mean, choice.alpha, self.settings.interval)
            frames.append(pd.DataFrame({
                "interval_start": hours, "market": key[0], "language": key[1],
                "channel": key[2], "contacts": mean, "contacts_lo": lo, "contacts_hi": hi,
                "aht_s": self._aht(s, hours), "model": model,
            }))
        for target, p in self._profile_of.items():
            frames.append(self._profile_frame(target, p, hours))
        out = schema.sort_frame(pd.concat(frames, ignore_index=True), "forecast")
        return schema.validate(out, "forecast")

    def _profile_frame(self, target: tuple, p: ProfileSpec,
                       hours: pd.DatetimeIndex) -> pd.DataFrame:
        """The like series' forecast at the same local wall-clock times, times factor."""
        like = p.like(target[2])
        s, choice = self._fitted[like], self.choices_[like]
        wall = hours.tz_convert(self.zones[target[0]]).tz_localize(None)
        same = wall.tz_localize(self.zones[like[0]], ambiguous=np.zeros(len(wall), bool),
                                nonexistent="shift_forward").tz_convert("UTC").floor("h")
        offset = np.asarray((same - self.cutoff_) // _HOUR, dtype=np.int64)
        # a local time the like series reaches before the cutoff: take it a week later
        offset = np.where(offset < 0, offset - (offset // HOURS_PER_WEEK) * HOURS_PER_WEEK,
                          offset)
        same = self.cutoff_ + pd.to_timedelta(offset, unit="h")
        horizon_h = int(offset.max()) + 1
        mean = self._combined(s, self.cutoff_, horizon_h, choice.members)
        if mean is None:
            mean = self._forecasts_at(s, self.cutoff_, horizon_h, [SHORT_MODEL])[SHORT_MODEL]
        mean = mean[offset] * p.factor
        lo, hi = nb_interval(mean, choice.alpha, self.settings.interval)
        aht = np.full(len(hours), float(p.aht_s)) if p.aht_s else self._aht(s, same)
        return pd.DataFrame({
            "interval_start": hours, "market": target[0], "language": target[1],
            "channel": target[2], "contacts": mean, "contacts_lo": lo, "contacts_hi": hi,
            "aht_s": aht, "model": self.choices_[target].model,
        })

    def _aht(self, s: _Series, hours: pd.DatetimeIndex) -> np.ndarray:
        """AHT per UTC hour from the local hour-of-week profile of recent weeks. [s]"""
        st = self.settings
        end = int(s.positions(pd.DatetimeIndex([self.cutoff_]))[0])
        start = max(0, end - st.aht_weeks * HOURS_PER_WEEK)
        if s.handled[start:end].sum() <= 0:
            start = 0
        pos = np.arange(start, min(end, len(s.y)))
        handle, handled = s.handle_s[pos], s.handled[pos]
        how = s.hour_of_week(pos)
        if handled.sum() <= 0:
            return np.full(len(hours), np.nan)
        overall = handle.sum() / handled.sum()
        m = st.aht_prior_contacts
        hod_handle = np.bincount(how % 24, weights=handle, minlength=24)
        hod_n = np.bincount(how % 24, weights=handled, minlength=24)
        hod = (hod_handle + m * overall) / (hod_n + m)
        how_handle = np.bincount(how, weights=handle, minlength=HOURS_PER_WEEK)
        how_n = np.bincount(how, weights=handled, minlength=HOURS_PER_WEEK)
        profile = (how_handle + m * hod[np.arange(HOURS_PER_WEEK) % 24]) / (how_n + m)
        return profile[s.hour_of_week(s.positions(hours))]

    def backtest(self, history: pd.DataFrame, horizon_h: int, n_windows: int,
                 step_h: int | None = None) -> pd.DataFrame:
        """
        Rolling-origin backtest: forecasts made at ``n_windows`` cutoffs, ``step_h``
        apart, the last one ``horizon_h`` hours before the end of the history.

        At each cutoff every candidate model is fitted on the history before it; with
        ``method="auto"`` the row group ``model == "auto"`` is the model auto would have
        chosen there (column ``chosen``), using only windows before that cutoff.

        Returns
        -------
        DataFrame
            ``cutoff``, ``interval_start``, market, language, channel, ``model``,
            ``contacts`` (forecast), ``contacts_lo``, ``contacts_hi``, ``actual``,
            ``chosen`` and ``mase_scale``; hours without actuals (gaps) are left out.
        """
        step_h = step_h or horizon_h
        if horizon_h < 1 or n_windows < 1 or step_h < 1:
            raise InputError(f"backtest needs horizon_h, n_windows and step_h >= 1; got "
                             f"{horizon_h}, {n_windows}, {step_h}")
        series = self._prepare(history)
        end = max(s.end_utc for s in series.values())
        last = end - _HOUR * horizon_h
        cutoffs = [last - _HOUR * step_h * j for j in range(n_windows)][::-1]
        names = self._computed()
        frames = []
        for i, (key, s) in enumerate(series.items()):
            notify(self.progress, i, len(series), "/".join(key))
            for cutoff in cutoffs:
                if cutoff - s.first_utc < _HOUR * 24:
                    continue
                hours = pd.date_range(cutoff, periods=horizon_h, freq="h")
                actual = s.actual.reindex(hours).to_numpy()
                obs = ~np.isnan(actual)
                if not obs.any():
                    continue
                choice = self._choose(s, cutoff, horizon_h)
                fc = self._forecasts_at(s, cutoff, horizon_h, names)
                rows = {n: (fc[n], choice.alphas.get(n, self.settings.default_alpha))
                        for n in names if fc[n] is not None}
                chosen = self._combined(s, cutoff, horizon_h, choice.members)
                if chosen is None:
                    chosen = self._forecasts_at(s, cutoff, horizon_h, [SHORT_MODEL])[SHORT_MODEL]
                rows["auto" if self.method == "auto" else self.method] = (chosen, choice.alpha)
                scale = _mase_scale(s, int(s.positions(hours[:1])[0]))
                for name, (mean, alpha) in rows.items():
                    lo, hi = nb_interval(mean, alpha, self.settings.interval)
                    frames.append(pd.DataFrame({
                        "cutoff": cutoff, "interval_start": hours[obs], "market": key[0],
                        "language": key[1], "channel": key[2], "model": name,
                        "contacts": mean[obs], "contacts_lo": lo[obs], "contacts_hi": hi[obs],
                        "actual": actual[obs], "chosen": choice.model, "mase_scale": scale,
                    }))
        notify(self.progress, len(series), len(series), "done")
        if not frames:
            raise InputError(f"no backtest window of {horizon_h} h fits in the history; "
                             "give more history or fewer/shorter windows")
        out = pd.concat(frames, ignore_index=True)
        return out.sort_values(["cutoff", *KEY, "model", "interval_start"],
                               kind="stable").reset_index(drop=True)

    def selection(self) -> pd.DataFrame:
        """Per series: the model (``a+b`` is the mean of a and b), the interval's
        dispersion, the number of selection windows and each model's WAPE on them."""
        rows = []
        for key, c in self.choices_.items():
            rows.append({**dict(zip(KEY, key, strict=True)), "model": c.model,
                         "alpha": c.alpha, "windows": c.windows,
                         **{f"wape_{n}": w for n, w in c.wape.items()}})
        return pd.DataFrame(rows)

    def summary(self) -> dict:
        """
        What :meth:`fit` found: models chosen (count per model), and the WAPE of the
        chosen models and of the baselines on the selection windows, pooled over the
        series (each weighted by its volume) and per series.
        """
        counts: dict[str, int] = {}
        errors: dict[str, float] = {}
        actual = 0.0
        per_series = []
        for key, c in self.choices_.items():
            counts[c.model] = counts.get(c.model, 0) + 1
            per_series.append({"market": key[0], "language": key[1], "channel": key[2],
                               "model": c.model, "windows": c.windows,
                               "alpha": _round(c.alpha),
                               "wape": {n: _round(w) for n, w in c.wape.items()}})
            if c.windows and c.model in c.abs_error and all(b in c.abs_error for b in BASELINES):
                actual += c.actual
                errors["chosen"] = errors.get("chosen", 0.0) + c.abs_error[c.model]
                for n in self._computed():
                    if n in c.abs_error:
                        errors[n] = errors.get(n, 0.0) + c.abs_error[n]
        wape = {n: _round(e / actual) if actual > 0 else None for n, e in errors.items()}
        return {
            "method": self.method,
            "cutoff": None if self.cutoff_ is None else self.cutoff_.isoformat(),
            "series": len(self.choices_),
            "models": dict(sorted(counts.items())),
            "backtest": {
                "what": (f"rolling one-week-ahead windows over the {self.settings.backtest_windows}"
                         " weeks before the cutoff; the chosen models were chosen on them"),
                "wape": wape,
            },
            "per_series": per_series,
            "warnings": list(self.warnings),
        }


SE_FACTOR = 1.0


def _select_members(candidates: Sequence[str], windows) -> tuple[str, ...]:
    """
    The models whose equal-weight mean ``auto`` forecasts with: all candidates, unless a
    single model or a smaller mean beats that on the windows by more than one standard
    error of the paired difference of their window losses (sum of absolute errors).
    """
    subsets = [c for r in range(1, len(candidates) + 1)
               for c in itertools.combinations(candidates, r)]
    loss = {}
    for subset in subsets:
        loss[subset] = np.array([
            np.abs(np.mean([f[m] for m in subset], axis=0) - a).sum() for a, f in windows])
    full = tuple(candidates)
    best = min(subsets, key=lambda c: (loss[c].mean(), -len(c)))
    if best == full or len(windows) < 2:
        return full
    diff = loss[full] - loss[best]
    se = diff.std(ddof=1) / math.sqrt(len(diff))
    return best if diff.mean() > SE_FACTOR * se else full


def _dispersion(pairs, default: float) -> float:
    """Negative-binomial alpha of actual vs forecast by moments: Var = mu + alpha mu^2."""
    sq = sum(float(((f - a) ** 2).sum()) for a, f in pairs)
    mu = sum(float(f.sum()) for _, f in pairs)
    mu2 = sum(float((f ** 2).sum()) for _, f in pairs)
    if mu2 <= 0:
        return default
    return float(np.clip((sq - mu) / mu2, 0.0, 5.0))


Forecaster.accuracy = staticmethod(accuracy)


def _round(x, digits: int = 4):
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def _mase_scale(s: _Series, end: int) -> float:
    """Mean absolute one-week seasonal difference of the history before ``end``."""
    y = s.y[:end]
    if len(y) <= HOURS_PER_WEEK:
        return float("nan")
    diff = np.abs(y[HOURS_PER_WEEK:] - y[:-HOURS_PER_WEEK])
    diff = diff[~np.isnan(diff)]
    return float(diff.mean()) if len(diff) else float("nan")


def history_fingerprint(history: pd.DataFrame) -> str:
    """A short hash of a history frame's contract columns (row order does not matter)."""
    cols = ["interval_start", *KEY, "contacts", "aht_s"]
    part = history[[c for c in cols if c in history.columns]]
    hashed = pd.util.hash_pandas_object(part, index=False).to_numpy()
    digest = hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()
    return digest[:16]


# -- forecasts for a scenario, as files -----------------------------------------------

#: changes with this module's code, so a forecast file made by other code is not reused
MODEL_VERSION = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


@dataclass
class ScenarioForecast:
    """A forecast for a scenario: the frame, its metadata, and where it came from."""

    frame: pd.DataFrame
    meta: dict
    #: "file" (scenario's forecast.path), "cache" (a matching file) or "computed"
    source: str
    path: Path | None = None


def scenario_history(scenario, history: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """
    The part of ``history`` a scenario's forecast is made from: the scenario's markets,
    before the planning window starts. Returns (history, notes on what was left out).
    """
    notes = []
    markets = set(scenario.market_zones)
    others = sorted(set(history["market"]) - markets)
    if others:
        notes.append(f"history of market(s) {', '.join(map(str, others))} not forecast: the "
                     "scenario does not list them in [[markets]]")
        history = history[history["market"].isin(markets)]
    start = scenario.planning.start_utc
    if len(history) and history["interval_start"].max() >= start:
        notes.append(f"history from {start.isoformat()} on (the planning window) not used: the "
                     "forecast starts at the planning week")
        history = history[history["interval_start"] < start]
    if history.empty:
        raise InputError(
            f"{scenario.path or scenario.name}: no history before the planning week "
            f"({start.isoformat()}) for the scenario's markets; ingest history first")
    return history.reset_index(drop=True), notes


def forecast_key(forecaster: Forecaster, history: pd.DataFrame) -> dict:
    """What a forecast file must match to be reused: cutoff, history and settings."""
    cutoff = history["interval_start"].max() + _HOUR
    return {"cutoff": cutoff.isoformat(), "history_fingerprint": history_fingerprint(history),
            "settings_fingerprint": settings_fingerprint(forecaster)}


def settings_fingerprint(forecaster: Forecaster) -> str:
    """A short hash of everything besides the history that a forecast depends on."""
    payload = {
        "model_version": MODEL_VERSION,
        "settings": forecaster.settings.as_dict(),
        "zones": dict(sorted(forecaster.zones.items())),
        "holiday_countries": dict(sorted(forecaster.holiday_countries.items())),
        "events": [[e.name, e.start.isoformat(), e.end.isoformat(), e.effect,
                    list(e.markets), list(e.channels)] for e in forecaster.events],
        "profiles": [list(map(str, dataclasses.astuple(p))) for p in forecaster.profiles],
        "series": None if forecaster.expected is None else sorted(
            "/".join(k) for k in forecaster.expected),
        "holidays_version": getattr(holidays_lib, "__version__", ""),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def forecast_scenario(scenario, history: pd.DataFrame, *,
                      progress: ProgressFn | None = None) -> ScenarioForecast:
    """
    Forecast every series of the scenario from the cutoff (the first hour after the
    history used) to the end of the planning window.

    Returns
    -------
    ScenarioForecast
        ``frame`` (contract ``forecast``) and ``meta``: the cutoff, horizon, settings, the
        model per series and the backtest WAPE of the choice vs the baselines.
    """
    history, notes = scenario_history(scenario, history)
    forecaster = Forecaster.from_scenario(scenario, progress=progress)
    key = forecast_key(forecaster, history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ForecastWarning)
        forecaster.fit(history)
    end = scenario.planning.end_utc
    horizon_h = int((end - forecaster.cutoff_) / _HOUR)
    frame = forecaster.predict(horizon_h)
    summary = forecaster.summary()
    meta = {
        **key,
        "scenario": scenario.name,
        "end": end.isoformat(),
        "horizon_h": horizon_h,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "history": {"first_interval": history["interval_start"].min().isoformat(),
                    "last_interval": history["interval_start"].max().isoformat(),
                    "rows": len(history)},
        "settings": {**forecaster.settings.as_dict(), "model_version": MODEL_VERSION,
                     "zones": forecaster.zones, "holiday_countries": forecaster.holiday_countries,
                     "events": [{"name": e.name, "start": e.start.isoformat(),
                                 "end": e.end.isoformat(), "effect": e.effect,
                                 "markets": list(e.markets), "channels": list(e.channels)}
                                for e in forecaster.events]},
        **{k: v for k, v in summary.items() if k not in ("cutoff", "warnings")},
        "warnings": notes + summary["warnings"],
    }
    return ScenarioForecast(frame, meta, "computed")


def file_stem(scenario_name: str, cutoff: pd.Timestamp) -> str:
    """``<scenario>_<cutoff as YYYYMMDDTHH>`` (UTC), the name of a forecast's files."""
    return f"{scenario_name}_{pd.Timestamp(cutoff).tz_convert('UTC'):%Y%m%dT%H}"


def write_forecast(result: ScenarioForecast, out_dir: str | Path) -> Path:
    """Write ``<scenario>_<cutoff>.parquet`` and the JSON beside it (each atomically);
    returns the Parquet path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = file_stem(result.meta["scenario"], pd.Timestamp(result.meta["cutoff"]))
    path = out_dir / f"{stem}.parquet"
    meta = {**result.meta, "file": path.name}
    for target, write in ((path, lambda p: result.frame.to_parquet(p, index=False)),
                          (path.with_suffix(".json"), lambda p: p.write_text(
                              json.dumps(meta, indent=2, default=str), encoding="utf-8"))):
        tmp = target.with_name(f".{target.name}.partial")
        write(tmp)
        tmp.replace(target)
    result.path = path
    return path


def read_forecast(path: str | Path, *, source: str = "file") -> ScenarioForecast:
    """A forecast file (and its JSON when there is one), checked against the contract."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: forecast file not found; write one with `wfm forecast "
                         "SCENARIO` or fix the scenario's forecast.path")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # any unreadable file is bad input
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    schema.validate(frame, "forecast", source=str(path))
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    return ScenarioForecast(schema.sort_frame(frame, "forecast"), meta, source, path)


def find_forecast(folder: str | Path, key: dict, end: pd.Timestamp) -> Path | None:
    """The newest forecast file in ``folder`` made with the same cutoff, history and
    settings as ``key`` and reaching at least ``end``; None when there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = []
    for meta_path in folder.glob("*.json"):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in key.items()):
            continue
        try:
            reaches = pd.Timestamp(meta.get("end")) >= end
        except (TypeError, ValueError):
            continue
        parquet = meta_path.with_suffix(".parquet")
        if reaches and parquet.is_file():
            found.append((meta.get("created_at", ""), parquet))
    return max(found)[1] if found else None


def check_covers(frame: pd.DataFrame, scenario, source: str) -> None:
    """Every series of the scenario has every hour of the planning window."""
    start, end = scenario.planning.start_utc, scenario.planning.end_utc
    hours = int((end - start) / _HOUR)
    window = frame[(frame["interval_start"] >= start) & (frame["interval_start"] < end)]
    counts = window.groupby(list(KEY))["interval_start"].nunique()
    problems = []
    for m in scenario.markets:
        for lang in m.languages:
            for ch in m.channels:
                n = int(counts.get((m.code, lang, ch), 0))
                if n < hours:
                    problems.append(f"{m.code}/{lang}/{ch}: {n} of {hours} hours")
    if problems:
        raise InputError(
            f"{source}: the forecast does not cover the planning window {start.isoformat()} to "
            f"{end.isoformat()} for {len(problems)} series; make a new one with `wfm forecast`",
            problems)


def for_scenario(scenario, history: pd.DataFrame, *, folder: str | Path | None = DEFAULT_DIR,
                 progress: ProgressFn | None = None) -> ScenarioForecast:
    """
    The forecast a run of ``scenario`` uses: the scenario's ``forecast.path`` when set;
    else a file in ``folder`` with the same cutoff, history and forecast settings (any
    scenario's: what-ifs share the baseline's forecast); else one made now, which is
    written to ``folder`` when that folder exists (so the next run reuses it).
    """
    if scenario.forecast.path:
        path = Path(scenario.forecast.path)
        if not path.is_absolute() and scenario.path:
            path = Path(scenario.path).parent / path
        result = read_forecast(path, source="file")
        check_covers(result.frame, scenario, str(path))
        return result
    used, _ = scenario_history(scenario, history)
    key = forecast_key(Forecaster.from_scenario(scenario), used)
    if folder is not None:
        found = find_forecast(folder, key, scenario.planning.end_utc)
        if found is not None:
            result = read_forecast(found, source="cache")
            check_covers(result.frame, scenario, str(found))
            return result
    result = forecast_scenario(scenario, history, progress=progress)
    if folder is not None and Path(folder).is_dir():
        write_forecast(result, folder)
    return result


def headline(result: ScenarioForecast) -> str:
    """One line for the terminal: series, models, backtest WAPE vs the baselines."""
    meta = result.meta
    models = ", ".join(f"{m} {n}" for m, n in sorted(meta.get("models", {}).items(),
                                                     key=lambda kv: -kv[1]))
    wape = meta.get("backtest", {}).get("wape", {})
    parts = [f"{name} {wape[key]:.1%}" for key, name in (
        ("chosen", "chosen"), ("seasonal_naive", "seasonal naive"),
        ("historical_average", "historical average")) if wape.get(key) is not None]
    where = {"file": f"from {result.path}", "cache": f"reused {result.path}",
             "computed": "computed now" + (f", saved to {result.path}" if result.path else "")}
    return (f"forecast: {meta.get('series', '?')} series from {meta.get('cutoff', '?')}, "
            f"{meta.get('horizon_h', '?')} h ({where[result.source]}); models: {models or '?'}"
            + (f"; backtest WAPE {', '.join(parts)}" if parts else ""))
