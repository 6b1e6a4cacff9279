"""
TOML scenarios: load, validate, ``base`` + overrides, the what-if knobs.

A scenario file is TOML. ``base = "baseline.toml"`` (a path relative to the file)
makes it a what-if: the base is loaded first and the file's tables are merged over
it key by key; an array (a list of markets, of volume adjustments, ...) replaces the
base's array as a whole. The result is a frozen :class:`Scenario` of frozen
dataclasses, so it can be hashed and cached.

Every key is checked: an unknown key, a value of the wrong type or outside its range
is reported with the file, the dotted key, what was found and what is allowed; all
problems of a file are reported at once in one :class:`~wfm.errors.ScenarioError`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import hashlib
import json
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wfm.errors import ScenarioError
from wfm.schema import CHANNELS, INTERVAL_CHOICES_MIN

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


# -- field rules ----------------------------------------------------------------------


def _rule(check, allowed: str, **kw):
    """Field metadata: a predicate on the converted value and the words for it."""
    return {"check": check, "allowed": allowed, **kw}


def _fraction(**kw):
    return _rule(lambda v: v is None or 0.0 <= v <= 1.0, "a fraction in [0, 1] (0.8 for 80 %)",
                 **kw)


def _positive(**kw):
    return _rule(lambda v: v is None or v > 0, "a number > 0", **kw)


def _nonnegative(**kw):
    return _rule(lambda v: v is None or v >= 0, "a number >= 0", **kw)


def _timezone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _tz(**kw):
    return _rule(_timezone_ok, "an IANA time zone such as 'Europe/Lisbon'", **kw)


def _hhmm(**kw):
    return _rule(lambda v: bool(_HHMM.match(v)), "a local time 'HH:MM' (00:00 to 23:59)", **kw)


def _weekdays(**kw):
    return _rule(lambda v: all(d in WEEKDAYS for d in v), f"weekdays among {', '.join(WEEKDAYS)}",
                 **kw)


def hhmm_to_min(text: str) -> int:
    """'07:30' -> 450. [min after local midnight]"""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


# -- the scenario's parts ---------------------------------------------------------------


@dataclass(frozen=True)
class MarketSpec:
    """A market: where contacts come from, in its own time zone."""

    code: str
    timezone: str = field(metadata=_tz())
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("voice",)
    #: country code for the ``holidays`` package; the market code when empty
    holiday_country: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class SiteSpec:
    """A site where agents sit, in its own time zone."""

    name: str
    timezone: str = field(metadata=_tz())

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Planning:
    """The week being planned: it starts at ``week_start`` 00:00 UTC."""

    week_start: dt.date
    interval_min: int = field(
        default=30,
        metadata=_rule(lambda v: v in INTERVAL_CHOICES_MIN,
                       f"one of {', '.join(map(str, INTERVAL_CHOICES_MIN))}"),
    )
    days: int = field(default=7, metadata=_rule(lambda v: 1 <= v <= 28, "1 to 28 days"))

    @property
    def start_utc(self):
        import pandas as pd

        return pd.Timestamp(self.week_start).tz_localize("UTC")

    @property
    def end_utc(self):
        import pandas as pd

        return self.start_utc + pd.Timedelta(days=self.days)


@dataclass(frozen=True)
class DataSettings:
    """Where the history, agents and interactions come from."""

    source: Literal["store", "demo"] = "store"
    store: str = "wfm.duckdb"
    demo_seed: int = 2026


@dataclass(frozen=True)
class Event:
    """A known event (promotion, outage, campaign) multiplying volume on local dates."""

    name: str
    start: dt.date
    end: dt.date
    effect: float = field(default=1.0, metadata=_positive())
    markets: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForecastProfile:
    """
    Contacts for a series with no history (a new market or language): the forecast of a
    series that has history, at the same local times, times ``factor``.
    """

    market: str
    language: str
    like_market: str
    #: empty: every channel of the market
    channel: str = ""
    #: empty: the profile's language
    like_language: str = ""
    #: empty: the same channel
    like_channel: str = ""
    factor: float = field(default=1.0, metadata=_positive())
    #: AHT of the new series; the borrowed series' AHT when left out [s]
    aht_s: float | None = field(default=None, metadata=_positive())


@dataclass(frozen=True)
class ForecastSettings:
    method: Literal["auto", "historical_average", "seasonal_naive", "count_glm", "mstl",
                    "daily_profile"] = "auto"
    history_weeks: int = field(default=52, metadata=_rule(lambda v: v >= 1, "at least 1 week"))
    average_weeks: int = field(default=4, metadata=_rule(lambda v: v >= 1, "at least 1 week"))
    backtest_windows: int = field(default=4, metadata=_rule(lambda v: v >= 1, "at least 1"))
    events: tuple[Event, ...] = ()
    #: volume profiles for series without history
    profiles: tuple[ForecastProfile, ...] = ()
    #: a forecast file to use instead of forecasting (relative to the scenario)
    path: str = ""


@dataclass(frozen=True)
class ChannelTarget:
    """Service targets of one channel; a target left out is not applied."""

    target_service_level: float | None = field(default=None, metadata=_fraction())
    #: answer (voice) or first-response (chat) threshold of the service level [s]
    answer_target_s: float | None = field(default=None, metadata=_positive())
    target_asa_s: float | None = field(default=None, metadata=_positive())
    #: mean patience of callers before they abandon (Erlang A) [s]
    patience_s: float | None = field(default=None, metadata=_positive())
    #: contacts one agent handles at once (chat)
    concurrency: int = field(default=1, metadata=_rule(lambda v: 1 <= v <= 10, "1 to 10"))
    #: deferred work (email): answer within this many hours [h]
    deadline_h: float | None = field(default=None, metadata=_positive())


@dataclass(frozen=True)
class TargetOverride:
    """Targets for the contacts the selectors pick (empty selector = all)."""

    markets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    target_service_level: float | None = field(default=None, metadata=_fraction())
    answer_target_s: float | None = field(default=None, metadata=_positive())
    target_asa_s: float | None = field(default=None, metadata=_positive())
    patience_s: float | None = field(default=None, metadata=_positive())
    max_occupancy: float | None = field(default=None, metadata=_fraction())


@dataclass(frozen=True)
class Targets:
    voice: ChannelTarget = ChannelTarget(target_service_level=0.8, answer_target_s=20,
                                         target_asa_s=20)
    chat: ChannelTarget = ChannelTarget(target_service_level=0.8, answer_target_s=30,
                                        concurrency=2)
    email: ChannelTarget = ChannelTarget(target_service_level=0.9, deadline_h=24)
    max_occupancy: float = field(default=0.88, metadata=_fraction())
    shrinkage: float = field(
        default=0.30, metadata=_rule(lambda v: 0.0 <= v < 1.0, "a fraction in [0, 1)")
    )
    overrides: tuple[TargetOverride, ...] = ()

    def channel(self, name: str) -> ChannelTarget:
        kind = name.split("-")[0]
        return getattr(self, kind) if kind in CHANNELS else self.voice


@dataclass(frozen=True)
class Adjustment:
    """A what-if multiplier for the contacts the selectors pick (empty selector = all)."""

    factor: float = field(metadata=_positive())
    markets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class WhatIf:
    volume: tuple[Adjustment, ...] = ()
    aht: tuple[Adjustment, ...] = ()


@dataclass(frozen=True)
class QueueSplit:
    """Serve a market (and channels) from its own queue instead of the pooled one."""

    market: str
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Queues:
    split: tuple[QueueSplit, ...] = ()


@dataclass(frozen=True)
class ShiftTemplate:
    """
    A shift in site-local time: start between ``earliest_start`` and ``latest_start``
    on a ``start_step_min`` grid, ``paid_min`` paid minutes plus an unpaid lunch of
    ``lunch_min`` that starts between ``lunch_earliest_min`` and ``lunch_latest_min``
    after the shift start.
    """

    name: str
    paid_min: int = field(metadata=_rule(lambda v: 240 <= v <= 600, "240 to 600 minutes (4-10 h)"))
    sites: tuple[str, ...] = ()
    earliest_start: str = field(default="00:00", metadata=_hhmm())
    latest_start: str = field(default="23:30", metadata=_hhmm())
    start_step_min: int = field(default=60, metadata=_rule(lambda v: v in (15, 30, 60, 120),
                                                           "15, 30, 60 or 120"))
    lunch_min: int = field(default=0, metadata=_rule(lambda v: 0 <= v <= 90, "0 to 90 minutes"))
    lunch_earliest_min: int = field(default=180, metadata=_nonnegative())
    lunch_latest_min: int = field(default=300, metadata=_nonnegative())
    part_time: bool = False

    @property
    def length_min(self) -> int:
        """Minutes from start to end, lunch included. [min]"""
        return self.paid_min + self.lunch_min


@dataclass(frozen=True)
class RosterRules:
    min_rest_h: float = field(default=11, metadata=_rule(lambda v: 0 <= v <= 24, "0 to 24 h"))
    max_consecutive_days: int = field(default=6, metadata=_rule(lambda v: 1 <= v <= 13, "1 to 13"))
    min_days_off: int = field(default=2, metadata=_rule(lambda v: 0 <= v <= 6, "0 to 6"))
    max_nights_week: int = field(default=3, metadata=_rule(lambda v: 0 <= v <= 7, "0 to 7"))
    night_start: str = field(default="22:00", metadata=_hhmm())
    night_end: str = field(default="06:00", metadata=_hhmm())
    #: "site": every night_ok agent of a site works their fair share of the site's
    #: nights (within [m, m + 1]); "group": nights are only evened out among agents
    #: with the same skills, and coverage decides how many each skill group works
    night_share: str = field(default="site", metadata=_rule(
        lambda v: v in ("site", "group"), '"site" or "group"'))


@dataclass(frozen=True)
class RosterWeights:
    """Weights of the soft goals after coverage (per agent-hour or per unit of spread)."""

    over_coverage: float = field(default=0.05, metadata=_nonnegative())
    night_spread: float = field(default=2.0, metadata=_nonnegative())
    weekend_spread: float = field(default=1.0, metadata=_nonnegative())
    preference: float = field(default=0.5, metadata=_nonnegative())
    split_days_off: float = field(default=0.5, metadata=_nonnegative())


@dataclass(frozen=True)
class RosterSettings:
    time_limit_s: float = field(default=60, metadata=_positive())
    num_workers: int = field(default=8, metadata=_rule(lambda v: 1 <= v <= 64, "1 to 64"))
    random_seed: int = 0
    rules: RosterRules = RosterRules()
    weights: RosterWeights = RosterWeights()
    templates: tuple[ShiftTemplate, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """A whole planning scenario; see the module docstring for the file format."""

    name: str
    planning: Planning
    description: str = ""
    data: DataSettings = DataSettings()
    markets: tuple[MarketSpec, ...] = ()
    sites: tuple[SiteSpec, ...] = ()
    forecast: ForecastSettings = ForecastSettings()
    targets: Targets = Targets()
    whatif: WhatIf = WhatIf()
    queues: Queues = Queues()
    roster: RosterSettings = RosterSettings()
    # set by the loader, not keys of the file
    path: str = field(default="", metadata={"internal": True})
    texts: tuple[tuple[str, str], ...] = field(default=(), metadata={"internal": True})
    fingerprint: str = field(default="", metadata={"internal": True})

    def market(self, code: str) -> MarketSpec:
        for m in self.markets:
            if m.code == code:
                return m
        raise KeyError(code)

    def site(self, name: str) -> SiteSpec:
        for s in self.sites:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def market_zones(self) -> dict[str, str]:
        return {m.code: m.timezone for m in self.markets}

    @property
    def site_zones(self) -> dict[str, str]:
        return {s.name: s.timezone for s in self.sites}

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted({lang for m in self.markets for lang in m.languages}))


# -- loading ----------------------------------------------------------------------------


def load(path: str | Path) -> Scenario:
    """
    Load and validate a scenario file (and its ``base`` chain).

    Raises
    ------
    ScenarioError
        A missing file, bad TOML, a ``base`` cycle, unknown keys or bad values; every
        problem is listed, each naming the file and the dotted key.
    """
    path = Path(path)
    merged, origins, texts = _load_chain(path, ())
    return _build(merged, origins, texts, path)


def loads(text: str, *, name: str = "scenario", base_dir: str | Path = ".") -> Scenario:
    """Load a scenario from TOML text (as the app's editor does); ``base`` is looked up
    in ``base_dir``."""
    pseudo = Path(base_dir) / f"{name}.toml"
    data = _parse(text, pseudo)
    merged, origins, texts = _resolve(data, pseudo, text, ())
    merged.setdefault("name", name)
    return _build(merged, origins, texts, pseudo)


def _parse(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def _load_chain(path: Path, seen: tuple[Path, ...]):
    if not path.is_file():
        raise ScenarioError(
            f"{path}: scenario file not found; give a path to a .toml file such as "
            "scenarios/baseline.toml"
        )
    text = path.read_text(encoding="utf-8")
    data = _parse(text, path)
    data.setdefault("name", path.stem)
    return _resolve(data, path, text, seen)


def _resolve(data: dict, path: Path, text: str, seen: tuple[Path, ...]):
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ScenarioError(f"{path}: 'base' makes a cycle: {chain}; remove one of the links")
    base_name = data.pop("base", None)
    own_origins = {k: str(path) for k in _leaf_keys(data)}
    if base_name is None:
        return data, own_origins, ((str(path), text),)
    if not isinstance(base_name, str):
        raise ScenarioError(f"{path}: key 'base': expected a file name such as "
                            f"'baseline.toml', got {base_name!r}")
    base_path = path.parent / base_name
    if not base_path.is_file():
        raise ScenarioError(
            f"{path}: key 'base': file {base_path} not found; 'base' is a path relative to "
            "the scenario file"
        )
    base, origins, texts = _load_chain(base_path, (*seen, resolved))
    base.pop("name", None)
    base.pop("description", None)
    merged = _merge(base, data)
    origins = {**origins, **own_origins}
    return merged, origins, (*texts, (str(path), text))


def _leaf_keys(data: dict, prefix: str = ""):
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _leaf_keys(v, key + ".")
        yield key


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


class _Collector:
    def __init__(self, origins: dict[str, str], default_file: Path):
        self.origins = origins
        self.default_file = str(default_file)
        self.problems: list[str] = []

    def file_of(self, key: str) -> str:
        probe = key
        while probe:
            base = re.sub(r"\[\d+\]", "", probe)
            if base in self.origins:
                return self.origins[base]
            probe = probe.rpartition(".")[0]
        return self.default_file

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{self.file_of(key)}: key '{key}': {message}")


_MISSING = object()


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "text", int: "an integer", float: "a number", bool: "true or false",
            dt.date: "a date YYYY-MM-DD"}.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(tp, value, key: str, out: _Collector):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(args[0], value, key, out)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            out.add(key, f"got {value!r}; allowed: {', '.join(repr(a) for a in allowed)}")
            return _MISSING
        return value
    if origin is tuple:
        if not isinstance(value, list):
            out.add(key, f"expected {_type_name(tp)}, got {value!r}")
            return _MISSING
        (item,) = typing.get_args(tp)[:1]
        items = [_convert(item, v, f"{key}[{i}]", out) for i, v in enumerate(value)]
        return tuple(items)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            out.add(key, f"expected a table, got {value!r}")
            return _MISSING
        return _build_dataclass(tp, value, key, out)
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif tp is str:
        ok = isinstance(value, str)
    elif tp is dt.date:
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    else:  # pragma: no cover - a field type the loader does not know
        raise TypeError(f"scenario field type {tp!r} unsupported")
    if not ok:
        out.add(key, f"expected {_type_name(tp)}, got {value!r}")
        return _MISSING
    return value


def _build_dataclass(cls, data: dict, prefix: str, out: _Collector):
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for k in data:
        if k not in fields:
            key = f"{prefix}.{k}" if prefix else k
            close = difflib.get_close_matches(k, fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            out.add(key, f"unknown key{hint}; allowed keys here: {', '.join(fields)}")
    kwargs = {}
    broken = False
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                out.add(key, f"missing; expected {_type_name(hints[name])}")
                broken = True
            continue
        value = _convert(hints[name], data[name], key, out)
        if value is _MISSING or (isinstance(value, tuple) and _MISSING in value):
            broken = True
            continue
        check = f.metadata.get("check")
        if check is not None:
            try:
                ok = bool(check(value))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                out.add(key, f"got {data[name]!r}; expected {f.metadata['allowed']}")
                broken = True
                continue
        kwargs[name] = value
    if broken:
        return _MISSING
    return cls(**kwargs)


def _build(merged: dict, origins: dict, texts, path: Path) -> Scenario:
    out = _Collector(origins, path)
    scenario = _build_dataclass(Scenario, merged, "", out)
    if scenario is not _MISSING:
        _cross_checks(scenario, out)
    if out.problems:
        n = len(out.problems)
        raise ScenarioError(
            f"{path}: scenario has {n} problem{'s' if n > 1 else ''}:", out.problems
        )
    fingerprint = hashlib.sha256(
        json.dumps(merged, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return dataclasses.replace(scenario, path=str(path), texts=tuple(texts),
                               fingerprint=fingerprint)


def _cross_checks(s: Scenario, out: _Collector) -> None:
    """Rules between keys: names that must exist, windows that must be ordered."""
    codes = [m.code for m in s.markets]
    sites = [x.name for x in s.sites]
    for label, names in (("markets", codes), ("sites", sites)):
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            out.add(label, f"{', '.join(dup)} defined more than once; each must be unique")
    languages = {lang for m in s.markets for lang in m.languages}
    channels = {c for m in s.markets for c in m.channels}
    for i, m in enumerate(s.markets):
        if not m.languages:
            out.add(f"markets[{i}].languages", f"market {m.code} needs at least one language")
        for c in m.channels:
            if c.split("-")[0] not in CHANNELS:
                out.add(f"markets[{i}].channels",
                        f"got {c!r}; a channel is one of {', '.join(CHANNELS)} "
                        "(optionally with a '-line' suffix)")

    def selectors(key: str, obj) -> None:
        for attr, known, word in (("markets", codes, "market"), ("languages", languages,
                                  "language"), ("channels", channels, "channel")):
            for v in getattr(obj, attr, ()):
                if codes and v not in known:
                    out.add(f"{key}.{attr}", f"unknown {word} {v!r}; known: "
                            f"{', '.join(sorted(known))}")

    for i, e in enumerate(s.forecast.events):
        selectors(f"forecast.events[{i}]", e)
        if e.end < e.start:
            out.add(f"forecast.events[{i}].end", f"{e.end} is before start {e.start}")
    by_code = {m.code: m for m in s.markets}
    for i, p in enumerate(s.forecast.profiles):
        key = f"forecast.profiles[{i}]"
        for attr in ("market", "like_market"):
            if codes and getattr(p, attr) not in by_code:
                out.add(f"{key}.{attr}", f"unknown market {getattr(p, attr)!r}; known: "
                        f"{', '.join(codes)}")
        m = by_code.get(p.market)
        if m is not None and p.language not in m.languages:
            out.add(f"{key}.language", f"market {p.market} does not list language "
                    f"{p.language!r}; add it to the market's languages")
        if m is not None and p.channel and p.channel not in m.channels:
            out.add(f"{key}.channel", f"market {p.market} does not list channel "
                    f"{p.channel!r}; add it to the market's channels")
    for i, o in enumerate(s.targets.overrides):
        selectors(f"targets.overrides[{i}]", o)
    for knob in ("volume", "aht"):
        for i, a in enumerate(getattr(s.whatif, knob)):
            selectors(f"whatif.{knob}[{i}]", a)
    for i, q in enumerate(s.queues.split):
        if codes and q.market not in codes:
            out.add(f"queues.split[{i}].market", f"unknown market {q.market!r}; known: "
                    f"{', '.join(codes)}")
    for i, t in enumerate(s.roster.templates):
        key = f"roster.templates[{i}]"
        for site in t.sites:
            if sites and site not in sites:
                out.add(f"{key}.sites", f"unknown site {site!r}; known: {', '.join(sites)}")
        if hhmm_to_min(t.latest_start) < hhmm_to_min(t.earliest_start):
            out.add(f"{key}.latest_start",
                    f"{t.latest_start} is before earliest_start {t.earliest_start}")
        if t.lunch_min and not (0 < t.lunch_earliest_min <= t.lunch_latest_min
                                and t.lunch_latest_min + t.lunch_min < t.length_min):
            out.add(f"{key}.lunch_latest_min",
                    f"lunch window {t.lunch_earliest_min}-{t.lunch_latest_min} min after the "
                    f"start does not fit a {t.length_min}-minute shift")
        if (t.start_step_min % s.planning.interval_min
                and s.planning.interval_min % t.start_step_min):
            out.add(f"{key}.start_step_min",
                    f"{t.start_step_min} does not fit the {s.planning.interval_min}-minute "
                    "planning grid")
    names = [t.name for t in s.roster.templates]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        out.add("roster.templates", f"template names {', '.join(dup)} are not unique")


def list_scenarios(folder: str | Path = "scenarios") -> list[Path]:
    """The scenario files of a folder, baseline first."""
    files = sorted(Path(folder).glob("*.toml"))
    return sorted(files, key=lambda p: (p.stem != "baseline", p.stem))


_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


def safe_scenario_path(name: str, folder: str | Path = "scenarios") -> Path:
    """
    The path ``folder/<name>.toml`` for a user-given scenario name, refusing names
    that could escape the folder or are not plain: lower-case letters, digits, '_'
    and '-', at most 64 characters.
    """
    stem = name[:-5] if name.endswith(".toml") else name
    if not _SAFE_NAME.match(stem):
        raise ScenarioError(
            f"scenario name {name!r} is not allowed: use lower-case letters, digits, '_' "
            "and '-' (at most 64 characters), e.g. 'black_friday'"
        )
    folder = Path(folder).resolve()
    path = (folder / f"{stem}.toml").resolve()
    if path.parent != folder:  # pragma: no cover - the pattern already forbids it
        raise ScenarioError(f"scenario name {name!r} leaves {folder}")
    return path
