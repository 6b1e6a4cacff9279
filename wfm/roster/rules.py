"""
An independent rule checker for rosters: it reads only the roster and allocation
frames, the agents and the scenario, never the solver's structures, so it can judge
any roster (ours, an imported one, an edited one).

Rules (DESIGN.md, issue "roster"): rest between shifts in real time (also after the
previous week's roster), consecutive working days, days off per week, one shift per
local date, paid minutes of the contract (days of leave credit a fifth of the weekly
contract each), skills (each allocated queue in the agent's languages and channels),
night shifts only with night_ok and at most N a week, availability, and the
allocation inside the agent's shift but not in its breaks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm.scenario import WEEKDAYS, Scenario, hhmm_to_min


@dataclass(frozen=True)
class Violation:
    rule: str
    agent_id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: agent {self.agent_id}: {self.detail}"


def _night(start_local: pd.Timestamp, end_local: pd.Timestamp, n0: int, n1: int) -> bool:
    """Does [start, end) in local wall time overlap the night window on any day?"""
    s = start_local.tz_localize(None)
    e = end_local.tz_localize(None)
    day = (s - pd.Timedelta(days=1)).normalize()
    while day <= e:
        a = day + pd.Timedelta(minutes=n0)
        b = day + pd.Timedelta(minutes=n1) + (pd.Timedelta(days=1) if n1 <= n0 else
                                              pd.Timedelta(0))
        if s < b and a < e:
            return True
        day += pd.Timedelta(days=1)
    return False


def _breaks_utc(row, zone: ZoneInfo) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Breaks 'HH:MM-HH:MM' (site-local) of a shift, as UTC intervals inside the shift."""
    out = []
    text = row.breaks if isinstance(row.breaks, str) else ""
    start_local = row.start_utc.tz_convert(zone)
    for part in filter(None, (p.strip() for p in text.split(";"))):
        a, b = part.split("-")
        for day_shift in range(0, 2):
            base = (start_local.tz_localize(None).normalize()
                    + pd.Timedelta(days=day_shift))
            s = (base + pd.Timedelta(minutes=hhmm_to_min(a))).tz_localize(
                zone, nonexistent="shift_forward", ambiguous=False).tz_convert("UTC")
            e = s + pd.Timedelta(minutes=(hhmm_to_min(b) - hhmm_to_min(a)) % (24 * 60))
            if row.start_utc <= s < row.end_utc:
                out.append((s, e))
                break
    return out


def check_roster(roster: pd.DataFrame, allocation: pd.DataFrame | None, agents: pd.DataFrame,
                 scenario: Scenario, previous_roster: pd.DataFrame | None = None,
                 queues: pd.DataFrame | None = None) -> list[Violation]:
    """
    Every rule violation of a roster (an empty list when it keeps all of them).

    ``queues`` maps queue -> language, channel (for the skills check); by default it is
    read from queue names ``<language>_<channel>[_<market>]``.
    """
    rules = scenario.roster.rules
    zones = {s.name: ZoneInfo(s.timezone) for s in scenario.sites}
    n0, n1 = hhmm_to_min(rules.night_start), hhmm_to_min(rules.night_end)
    out: list[Violation] = []
    info = agents.set_index("agent_id")
    week_dates = [scenario.planning.week_start + dt.timedelta(days=i)
                  for i in range(scenario.planning.days)]

    both = roster if previous_roster is None else pd.concat([previous_roster, roster])
    for agent, shifts in roster.groupby("agent_id"):
        if agent not in info.index:
            out.append(Violation("unknown agent", agent, "not in the agents table"))
            continue
        a = info.loc[agent]
        zone = zones[a["site"]]
        shifts = shifts.sort_values("start_utc")
        dates = [d if isinstance(d, dt.date) else pd.Timestamp(d).date() for d in shifts["date"]]
        if len(set(dates)) < len(dates):
            out.append(Violation("one shift per date", agent, "two shifts start on one date"))
        # dates must be the site-local dates of the starts
        for row, d in zip(shifts.itertuples(), dates, strict=True):
            if row.start_utc.tz_convert(zone).date() != d:
                out.append(Violation("local date", agent, f"shift dated {d} starts "
                                     f"{row.start_utc.tz_convert(zone)}"))
        # rest, in real time, with the previous week's shifts before these
        everything = both[both["agent_id"] == agent].sort_values("start_utc")
        ends = everything["end_utc"].to_numpy()
        starts = everything["start_utc"].to_numpy()
        for j in range(1, len(everything)):
            rest_h = (starts[j] - ends[j - 1]) / np.timedelta64(1, "h")
            if rest_h < rules.min_rest_h - 1e-9:
                out.append(Violation("rest", agent, f"{rest_h:.2f} h between shifts ending "
                                     f"{pd.Timestamp(ends[j - 1])} and starting "
                                     f"{pd.Timestamp(starts[j])} (min {rules.min_rest_h:g} h)"))
        # consecutive working dates, the previous week's included
        worked = sorted({d if isinstance(d, dt.date) else pd.Timestamp(d).date()
                         for d in everything["date"]})
        run = longest = 1
        for d0, d1 in zip(worked, worked[1:], strict=False):
            run = run + 1 if (d1 - d0).days == 1 else 1
            longest = max(longest, run)
        if worked and longest > rules.max_consecutive_days:
            out.append(Violation("consecutive days", agent, f"{longest} working dates in a row "
                                 f"(max {rules.max_consecutive_days})"))
        # availability: dates and weekdays off
        off = set()
        for item in (a["availability"] if isinstance(a["availability"], list | tuple |
                                                         np.ndarray) else []):
            off.add(str(item))
        leave_days = 0
        for d in week_dates:
            if d.isoformat() in off or WEEKDAYS[d.weekday()] in off:
                leave_days += 1
        for d in dates:
            if d.isoformat() in off or WEEKDAYS[d.weekday()] in off:
                out.append(Violation("availability", agent, f"works on {d}, a day off"))
        # days off: at most 7 - min_days_off shifts, less the days of leave
        share = scenario.planning.days / 7
        max_shifts = int(np.ceil((7 - rules.min_days_off) * share - 1e-9)) - leave_days
        if len(shifts) > max_shifts:
            out.append(Violation("days off", agent, f"{len(shifts)} shifts, at most "
                                 f"{max_shifts} leave {rules.min_days_off} days off"))
        # contract minutes
        credit = leave_days * a["contract_hours_week"] * 60 / 5
        paid = int(shifts["paid_min"].sum())
        lo = max(0.0, a["min_hours_week"] * 60 * share - credit)
        hi = max(0.0, a["contract_hours_week"] * 60 * share - credit)
        if paid < lo - 1e-6 or paid > hi + 1e-6:
            out.append(Violation("contract minutes", agent, f"{paid} paid minutes, contract "
                                 f"allows {lo:.0f}-{hi:.0f}"))
        # nights
        nights = sum(_night(r.start_utc.tz_convert(zone), r.end_utc.tz_convert(zone), n0, n1)
                     for r in shifts.itertuples())
        if nights and not bool(a["night_ok"]):
            out.append(Violation("night_ok", agent, f"{nights} night shift(s) without night_ok"))
        if nights > rules.max_nights_week:
            out.append(Violation("nights", agent, f"{nights} night shifts (max "
                                 f"{rules.max_nights_week})"))
        # local times written in the roster match the UTC times
        for r in shifts.itertuples():
            if pd.Timestamp(r.start_local) != r.start_utc or pd.Timestamp(r.end_local) != \
                    r.end_utc:
                out.append(Violation("local time", agent, f"{r.start_local}..{r.end_local} "
                                     f"is not {r.start_utc}..{r.end_utc}"))

    if allocation is not None and len(allocation):
        out.extend(_check_allocation(roster, allocation, info, zones, scenario,
                                     previous_roster, queues))
    return out


def _queue_skills(names, queues: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    if queues is not None:
        return {r.queue: (r.language, r.channel) for r in queues.itertuples()}
    out = {}
    for name in names:
        language, _, rest = str(name).partition("_")
        out[name] = (language, rest.split("_")[0])
    return out


def _check_allocation(roster, allocation, info, zones, scenario, previous_roster, queues):
    out = []
    step = pd.Timedelta(minutes=scenario.planning.interval_min)
    skills = _queue_skills(allocation["queue"].unique(), queues)
    shifts = roster if previous_roster is None else pd.concat([previous_roster, roster])
    dup = allocation.duplicated(["interval_start", "agent_id"])
    for row in allocation[dup].itertuples():
        out.append(Violation("one queue at a time", row.agent_id, f"twice at {row.interval_start}"))
    for agent, part in allocation.groupby("agent_id"):
        if agent not in info.index:
            out.append(Violation("unknown agent", agent, "allocated but not in the agents table"))
            continue
        a = info.loc[agent]
        languages = set(a["languages"])
        channels = set(a["channels"]) if "channels" in info.columns and isinstance(
            a["channels"], list | tuple | np.ndarray) and len(a["channels"]) else None
        for q in part["queue"].unique():
            language, channel = skills[q]
            if language not in languages or (channels and channel not in channels
                                              and channel.split("-")[0] not in channels):
                out.append(Violation("skills", agent, f"serves {q} without {language}/"
                                     f"{channel}"))
        mine = shifts[shifts["agent_id"] == agent]
        spans = []
        for r in mine.itertuples():
            spans.append((r.start_utc, r.end_utc, _breaks_utc(r, zones[a["site"]])))
        for t in part["interval_start"]:
            inside = [s for s in spans if s[0] <= t and t + step <= s[1]]
            if not inside:
                out.append(Violation("allocation outside shift", agent, f"at {t}"))
                continue
            for bs, be in inside[0][2]:
                if t < be and bs < t + step:
                    out.append(Violation("allocation in a break", agent, f"at {t}"))
    return out
