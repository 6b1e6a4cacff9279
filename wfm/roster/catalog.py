"""
The shift catalogue and agent groups: every shift an agent could work this week, in
its site's local time and in UTC.

A shift is defined in the site's local time (template start window, length, lunch
window). Its UTC position follows from the site's IANA zone for that date, so it moves
when the site changes to or from daylight saving time, and a shift that crosses the
change is an hour shorter or longer in real time (its paid minutes follow the real
time worked). Local start times that do not exist (the hour skipped in spring) are
left out; an ambiguous one (the hour repeated in autumn) is taken at its first
occurrence.

A shift belongs to the week when it starts inside the planning window
``[week_start 00:00 UTC, + days)``; its ``date`` is the site-local date of its start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm.errors import InputError
from wfm.scenario import WEEKDAYS, Scenario, ShiftTemplate, hhmm_to_min

#: local start-hour bands used for preferences: [start, end) in minutes after midnight
PREFERENCE_BANDS = {"early": (0, 8 * 60), "day": (8 * 60, 12 * 60), "late": (12 * 60, 24 * 60)}


@dataclass(frozen=True)
class Option:
    """One shift option: a template started at a local time on a local date at a site."""

    index: int
    site: str
    template: str
    date: dt.date
    start_local: dt.datetime  # tz-aware, the site's zone
    end_local: dt.datetime
    start_utc: pd.Timestamp
    end_utc: pd.Timestamp
    paid_min: int
    lunch_min: int
    lunch_offsets_min: tuple[int, ...]  # allowed lunch starts after the shift start
    night: bool
    weekend: bool
    start_minute_local: int  # minutes after local midnight
    part_time: bool

    @property
    def span_min(self) -> int:
        return int((self.end_utc - self.start_utc).total_seconds() // 60)


@dataclass
class Catalog:
    """Every option of every site, and the interval grid of the planning window."""

    options: list[Option]
    grid: pd.DatetimeIndex  # left edges of the planning intervals (UTC)
    interval_min: int
    by_site: dict[str, list[int]]
    #: option index -> interval positions it covers (lunch not removed)
    cover: dict[int, np.ndarray]
    #: (option index, lunch offset) -> interval positions the lunch takes
    lunch_cover: dict[tuple[int, int], np.ndarray]

    def dates(self, site: str) -> list[dt.date]:
        return sorted({self.options[k].date for k in self.by_site[site]})


def _night(start_local: dt.datetime, end_local: dt.datetime, night_start: int,
           night_end: int) -> bool:
    """Does [start, end) (local wall time) overlap the night window on any day?"""
    day = start_local.date() - dt.timedelta(days=1)
    naive_start = start_local.replace(tzinfo=None)
    naive_end = end_local.replace(tzinfo=None)
    while day <= end_local.date():
        midnight = dt.datetime.combine(day, dt.time())
        n0 = midnight + dt.timedelta(minutes=night_start)
        n1 = midnight + dt.timedelta(minutes=night_end)
        if night_end <= night_start:
            n1 += dt.timedelta(days=1)
        if naive_start < n1 and n0 < naive_end:
            return True
        day += dt.timedelta(days=1)
    return False


def _localize(naive: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """A naive local time in ``zone``; None when the time does not exist (spring gap)."""
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
    return aware if back == naive else None


def templates_for(scenario: Scenario, site: str) -> list[ShiftTemplate]:
    return [t for t in scenario.roster.templates if not t.sites or site in t.sites]


def build_catalog(scenario: Scenario, sites: list[str] | None = None) -> Catalog:
    """All shift options of the planning window for the given sites (all by default)."""
    plan = scenario.planning
    w0, w1 = plan.start_utc, plan.end_utc
    step = pd.Timedelta(minutes=plan.interval_min)
    grid = pd.date_range(w0, w1, freq=step, inclusive="left").as_unit("ns")
    rules = scenario.roster.rules
    night_start, night_end = hhmm_to_min(rules.night_start), hhmm_to_min(rules.night_end)
    if not scenario.roster.templates:
        raise InputError(f"{scenario.path}: key 'roster.templates': no shift templates; add "
                         "at least one [[roster.templates]] table")
    options: list[Option] = []
    by_site: dict[str, list[int]] = {}
    for site_spec in scenario.sites:
        if sites is not None and site_spec.name not in sites:
            continue
        zone = site_spec.zone
        first = (w0 - pd.Timedelta(days=1)).tz_convert(zone).date()
        last = (w1 + pd.Timedelta(days=1)).tz_convert(zone).date()
        by_site[site_spec.name] = []
        templates = templates_for(scenario, site_spec.name)
        if not templates:
            raise InputError(f"{scenario.path}: key 'roster.templates': no template applies "
                             f"to site {site_spec.name!r}; add it to a template's sites")
        day = first
        while day <= last:
            for t in templates:
                lo, hi = hhmm_to_min(t.earliest_start), hhmm_to_min(t.latest_start)
                for minute in range(lo, hi + 1, t.start_step_min):
                    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
                    start_local = _localize(naive, zone)
                    if start_local is None:
                        continue
                    start_utc = pd.Timestamp(start_local).tz_convert("UTC")
                    if not (w0 <= start_utc < w1):
                        continue
                    naive_end = naive + dt.timedelta(minutes=t.length_min)
                    end_local = _localize(naive_end, zone) or (
                        naive_end + dt.timedelta(hours=1)).replace(tzinfo=zone)
                    end_utc = pd.Timestamp(end_local).tz_convert("UTC")
                    real_min = int((end_utc - start_utc).total_seconds() // 60)
                    offsets = ()
                    if t.lunch_min:
                        offsets = tuple(range(t.lunch_earliest_min, t.lunch_latest_min + 1,
                                              plan.interval_min))
                    options.append(Option(
                        index=len(options), site=site_spec.name, template=t.name, date=day,
                        start_local=start_local, end_local=end_local, start_utc=start_utc,
                        end_utc=end_utc, paid_min=real_min - t.lunch_min,
                        lunch_min=t.lunch_min, lunch_offsets_min=offsets,
                        night=_night(start_local, end_local, night_start, night_end),
                        weekend=day.weekday() >= 5, start_minute_local=minute,
                        part_time=t.part_time,
                    ))
                    by_site[site_spec.name].append(len(options) - 1)
            day += dt.timedelta(days=1)
    cover, lunch_cover = {}, {}
    edges = grid.asi8
    step_ns = step.value
    for o in options:
        s, e = o.start_utc.value, o.end_utc.value
        cover[o.index] = np.flatnonzero((edges >= s) & (edges + step_ns <= e))
        for off in o.lunch_offsets_min:
            ls = s + off * 60 * 10**9
            le = ls + o.lunch_min * 60 * 10**9
            lunch_cover[(o.index, off)] = np.flatnonzero((edges < le) & (edges + step_ns > ls))
    return Catalog(options, grid, plan.interval_min, by_site, cover, lunch_cover)


# -- agents -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentInfo:
    """What the solver needs of one agent, derived once from the agents frame."""

    agent_id: str
    site: str
    languages: tuple[str, ...]
    channels: tuple[str, ...]
    night_ok: bool
    min_paid_min: int
    max_paid_min: int
    unavailable: frozenset[dt.date]
    max_shifts: int
    preferred_shift: str
    wished_days_off: frozenset[str]
    part_time: bool

    def available(self, day: dt.date) -> bool:
        return day not in self.unavailable

    def night_reach(self, dates: list[dt.date], max_nights: int) -> int:
        """The most nights the agent can work in the week: night_ok, within the weekly
        cap, the working days of the contract and the dates not on leave."""
        if not self.night_ok:
            return 0
        return min(self.max_shifts, max_nights, sum(1 for d in dates if self.available(d)))


def can_serve(agent_languages, agent_channels, language: str, channel: str) -> bool:
    """An agent serves a queue when they speak its language and (when the agent lists
    channels) serve its channel or the channel's kind (``voice`` for ``voice-nw``)."""
    if language not in agent_languages:
        return False
    return not agent_channels or channel in agent_channels or \
        channel.split("-")[0] in agent_channels


def agent_infos(agents: pd.DataFrame, scenario: Scenario, catalog: Catalog) -> list[AgentInfo]:
    """
    Per-agent limits for the week. Days off given in ``availability`` (ISO dates or
    weekday names) are paid leave: each one credits a fifth of the weekly contract, so
    the minimum and maximum paid minutes still to schedule drop by that much. A plan of
    fewer than 7 days holds that share of the weekly contract and working days (working
    days rounded up).
    """
    rules = scenario.roster.rules
    sites = set(catalog.by_site)
    unknown = sorted(set(agents["site"]) - set(scenario.site_zones))
    if unknown:
        raise InputError(
            f"agents: site(s) {', '.join(unknown)} are not in the scenario's [[sites]] "
            f"({', '.join(scenario.site_zones)}); add them with their time zone"
        )
    infos = []
    for row in agents.itertuples(index=False):
        if row.site not in sites:
            continue
        dates = catalog.dates(row.site)
        off = set()
        for item in (row.availability if isinstance(row.availability, list | tuple | np.ndarray)
                     else []):
            item = str(item)
            if item in WEEKDAYS:
                off |= {d for d in dates if WEEKDAYS[d.weekday()] == item}
            else:
                try:
                    off.add(dt.date.fromisoformat(item))
                except ValueError:
                    raise InputError(
                        f"agents: agent {row.agent_id}: availability entry {item!r} is neither "
                        "an ISO date (YYYY-MM-DD) nor a weekday (Mon..Sun)"
                    ) from None
        leave_days = len(off & set(dates[:7])) if len(dates) else 0
        credit = leave_days * row.contract_hours_week * 60 / 5
        share = scenario.planning.days / 7  # a shorter plan holds part of the week
        channels = getattr(row, "channels", None)
        channels = tuple(channels) if isinstance(channels, list | tuple | np.ndarray) else ()
        wished = getattr(row, "wished_days_off", None)
        wished = frozenset(wished) if isinstance(wished, list | tuple | np.ndarray) else frozenset()
        preferred = getattr(row, "preferred_shift", "") or ""
        infos.append(AgentInfo(
            agent_id=row.agent_id, site=row.site, languages=tuple(row.languages),
            channels=channels, night_ok=bool(row.night_ok),
            min_paid_min=int(max(0, row.min_hours_week * 60 * share - credit)),
            max_paid_min=int(max(0, row.contract_hours_week * 60 * share - credit)),
            unavailable=frozenset(off),
            max_shifts=max(0, int(np.ceil((7 - rules.min_days_off) * share - 1e-9))
                           - leave_days),
            preferred_shift=str(preferred), wished_days_off=wished,
            part_time=row.contract_hours_week < 35,
        ))
    return infos


def night_bands(infos: list[AgentInfo], catalog: Catalog, nights_by_site: dict[str, int],
                max_nights: int) -> dict[str, tuple[int, int]]:
    """
    Each night_ok agent's fair share of its site's nights: with ``nights_by_site[site]``
    night shifts worked, the largest m such that every agent working at least
    min(m, reach) of them fits, and the band [min(m, reach), min(m + 1, reach)] per agent
    (reach: :meth:`AgentInfo.night_reach`). Nights within the bands of a site are spread
    by at most one among the agents who can reach them. Returns agent id -> band for the
    night_ok agents of the sites in ``nights_by_site``.
    """
    out = {}
    for site, total in nights_by_site.items():
        dates = catalog.dates(site)
        reach = {a.agent_id: a.night_reach(dates, max_nights) for a in infos
                 if a.site == site and a.night_ok}
        m = 0
        while m < max_nights and sum(min(m + 1, r) for r in reach.values()) <= total:
            m += 1
        m = min(m, max(max_nights - 1, 0))
        out.update({agent: (min(m, r), min(m + 1, r)) for agent, r in reach.items()})
    return out


@dataclass
class Group:
    """Agents of one site with the same skills: interchangeable for coverage."""

    key: tuple
    site: str
    languages: tuple[str, ...]
    channels: tuple[str, ...]
    members: list[int]  # positions in the agent-info list

    @property
    def size(self) -> int:
        return len(self.members)


def make_groups(infos: list[AgentInfo]) -> list[Group]:
    groups: dict[tuple, Group] = {}
    for i, a in enumerate(infos):
        key = (a.site, tuple(sorted(a.languages)), tuple(sorted(a.channels)))
        if key not in groups:
            groups[key] = Group(key, a.site, key[1], key[2], [])
        groups[key].members.append(i)
    return list(groups.values())


def preference_ok(option: Option, preferred: str) -> bool:
    """Does a shift fit an agent's preferred band ('' = no preference)?"""
    if not preferred:
        return True
    if preferred == "night":
        return option.night
    lo, hi = PREFERENCE_BANDS[preferred]
    return lo <= option.start_minute_local < hi and (preferred != "late" or not option.night)
