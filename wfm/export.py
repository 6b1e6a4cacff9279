"""
Roster exports: CSV, XLSX and iCalendar, in each site's local time; atomic file writes.

The roster keeps shifts as UTC instants (``start_utc``, ``end_utc``); every local time in
an export is derived from them with ``zoneinfo`` and the site's IANA zone, so a shift on
either side of a daylight-saving change shows the wall-clock time the agent sees. The
roster's own ``start_local``/``end_local`` strings are checked against the UTC instants
(and ``date`` against the local date of the start) before anything is written.

- :func:`roster_csv`: one row per shift, UTC and site-local times.
- :func:`roster_xlsx`: one sheet per site in local time, a coverage sheet coloured by net
  staffing (productive agents minus required productive agents), frozen headers.
- :func:`roster_ics`: one calendar per site and one per agent; events carry the site's
  ``TZID`` and the calendar its ``VTIMEZONE`` (built with ``icalendar``).

Writes are atomic: :func:`write_bytes_atomic` writes a temporary sibling and renames it
over the target; :func:`write_folder_atomic` builds a whole folder beside the target and
swaps it in with :func:`wfm.io.replace_dir`. A crash leaves the previous file or
folder (or none), never a half-written one. :func:`export_run` exports a run folder.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from wfm import schema
from wfm.errors import InputError

FORMATS = ("csv", "xlsx", "ics")

#: columns of the CSV export (and of :func:`local_shifts`), in order
CSV_COLUMNS = ["agent_id", "site", "timezone", "date", "weekday", "shift", "start_local",
               "end_local", "start_utc", "end_utc", "utc_offset_start", "utc_offset_end",
               "paid_min", "breaks", "queues"]

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# -- atomic writes -------------------------------------------------------------------------


def write_bytes_atomic(path: str | Path, data: bytes | str) -> Path:
    """
    Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed
    to disk, then renamed over ``path`` (``os.replace``). Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    # a new name opened exclusively (not mkstemp, whose files are private): the file gets
    # the permissions the umask gives any other file the user writes
    tmp = path.with_name(f".{path.name}.partial-{uuid.uuid4().hex[:12]}")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_folder_atomic(folder: str | Path, files: Mapping[str, bytes | str]) -> Path:
    """
    Replace ``folder`` by a folder holding exactly ``files`` (relative path -> content),
    atomically: the folder is built beside the target and swapped in when complete.
    """
    from wfm.io import replace_dir  # the run bundle's swap, reused

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.partial-{uuid.uuid4().hex[:12]}")
    tmp.mkdir()  # permissions from the umask (mkdtemp's would be private)
    try:
        for rel, data in files.items():
            target = tmp / rel
            if tmp.resolve() not in target.resolve().parents:
                raise InputError(f"export: file name {rel!r} leaves the export folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


# -- the shifts in local time ------------------------------------------------------------------


def _zone(site: str, site_zones: Mapping[str, str], agent_id: str) -> ZoneInfo:
    name = site_zones.get(site)
    if name is None:
        raise InputError(f"roster: site {site!r} (agent {agent_id}) has no time zone; known "
                         f"sites: {', '.join(sorted(site_zones)) or 'none'}; add the site to "
                         "the scenario's [[sites]] with its IANA zone")
    return ZoneInfo(name)


def _offset(ts: dt.datetime) -> str:
    """'+01:00' of an aware datetime."""
    text = ts.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def _queues_per_shift(roster: pd.DataFrame, allocation: pd.DataFrame | None) -> list[str]:
    """The queues each shift serves (allocation rows inside it), ';'-joined."""
    if allocation is None or allocation.empty or roster.empty:
        return [""] * len(roster)
    alloc = allocation[["agent_id", "interval_start", "queue"]].copy()
    alloc["agent_id"] = alloc["agent_id"].astype(str)
    alloc["queue"] = alloc["queue"].astype(str)
    alloc["interval_start"] = alloc["interval_start"].astype("datetime64[ns, UTC]")
    shifts = roster[["agent_id", "start_utc", "end_utc"]].reset_index(drop=True).copy()
    shifts["row"] = np.arange(len(shifts))
    shifts["agent_id"] = shifts["agent_id"].astype(str)
    shifts["start_utc"] = shifts["start_utc"].astype("datetime64[ns, UTC]")
    joined = pd.merge_asof(alloc.sort_values("interval_start"),
                           shifts.sort_values("start_utc"), left_on="interval_start",
                           right_on="start_utc", by="agent_id", direction="backward")
    joined = joined[joined["row"].notna()
                    & (joined["interval_start"] < joined["end_utc"].astype(
                        "datetime64[ns, UTC]"))]
    joined = joined.assign(row=joined["row"].astype(np.int64))
    per_row = joined.groupby("row")["queue"].agg(lambda q: ";".join(sorted(set(q))))
    return [per_row.get(i, "") for i in range(len(roster))]


def local_shifts(roster: pd.DataFrame, site_zones: Mapping[str, str], *,
                 allocation: pd.DataFrame | None = None) -> pd.DataFrame:
    """
    The roster with site-local times derived from its UTC instants.

    Parameters
    ----------
    roster : DataFrame
        Contract ``roster``. Not modified.
    site_zones : mapping
        Site -> IANA zone of every site of the roster.
    allocation : DataFrame, optional
        Contract ``allocation``: fills ``queues`` with the queues each shift serves.

    Returns
    -------
    DataFrame
        :data:`CSV_COLUMNS` plus ``start_dt``/``end_dt`` (aware local datetimes); one row
        per shift, sorted by site, date, start and agent. ``start_local``/``end_local``
        are ISO 8601 with the UTC offset in force at that instant; ``start_utc``/
        ``end_utc`` ISO 8601 with ``Z``.

    Raises
    ------
    InputError
        A roster that breaks its contract, a site without a zone, or a shift whose
        ``start_local``/``end_local``/``date`` do not match its UTC times.
    """
    schema.validate(roster, "roster", source="roster")
    queues = _queues_per_shift(roster, allocation)
    rows = []
    problems = []
    for r, q in zip(roster.itertuples(index=False), queues, strict=True):
        zone = _zone(r.site, site_zones, r.agent_id)
        start = pd.Timestamp(r.start_utc).to_pydatetime().astimezone(zone)
        end = pd.Timestamp(r.end_utc).to_pydatetime().astimezone(zone)
        for label, text, instant in (("start_local", r.start_local, start),
                                     ("end_local", r.end_local, end)):
            try:
                given = dt.datetime.fromisoformat(str(text))
            except ValueError:
                given = None
            # compared in UTC: an aware time in a repeated hour never equals one of
            # another tzinfo (PEP 495)
            if (given is None or given.tzinfo is None
                    or given.astimezone(dt.UTC) != instant.astimezone(dt.UTC)):
                problems.append(f"agent {r.agent_id} on {r.date}: {label} {text!r} is not "
                                f"{instant.isoformat()} ({r.site}, {zone.key}) of the UTC time")
        date = r.date.date() if isinstance(r.date, dt.datetime | pd.Timestamp) else r.date
        if date != start.date():
            problems.append(f"agent {r.agent_id}: date {date} is not the site-local date "
                            f"{start.date()} of the shift start {start.isoformat()}")
        rows.append({
            "agent_id": str(r.agent_id), "site": str(r.site), "timezone": zone.key,
            "date": start.date(), "weekday": _WEEKDAYS[start.weekday()], "shift": str(r.shift),
            "start_local": start.isoformat(), "end_local": end.isoformat(),
            "start_utc": pd.Timestamp(r.start_utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end_utc": pd.Timestamp(r.end_utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "utc_offset_start": _offset(start), "utc_offset_end": _offset(end),
            "paid_min": int(r.paid_min), "breaks": r.breaks if isinstance(r.breaks, str) else "",
            "queues": q, "start_dt": start, "end_dt": end,
        })
    if problems:
        raise InputError("roster: local times do not match the UTC times (the export derives "
                         "local times from start_utc/end_utc and the site's zone):", problems)
    out = pd.DataFrame(rows, columns=CSV_COLUMNS + ["start_dt", "end_dt"])
    out["_start"] = pd.to_datetime(out["start_utc"], utc=True)
    out = out.sort_values(["site", "date", "_start", "agent_id"], kind="stable")
    return out.drop(columns="_start").reset_index(drop=True)


# -- CSV -------------------------------------------------------------------------------------


def roster_csv(roster: pd.DataFrame, site_zones: Mapping[str, str], *,
               allocation: pd.DataFrame | None = None) -> str:
    """The roster as CSV text: one row per shift (:data:`CSV_COLUMNS`), UTC and site-local
    times; sorted by site, local date, start and agent."""
    frame = local_shifts(roster, site_zones, allocation=allocation)[CSV_COLUMNS]
    return frame.to_csv(index=False, lineterminator="\n")


# -- XLSX ------------------------------------------------------------------------------------

#: net staffing -> fill colour (red short, green over); the last bucket is open-ended
_NET_FILLS = ((-3, "F8696B"), (-2, "FA9C9D"), (-1, "FCC9CA"), (0, "FFFFFF"), (1, "DDF2E0"),
              (2, "B5E3BF"), (3, "8ACF9A"))


def net_fill(net_gap: float) -> str:
    """The fill colour (RGB hex) of a net-staffing value. [agents]"""
    if net_gap is None or not np.isfinite(net_gap):
        return "EEEEEE"
    v = int(np.clip(np.round(net_gap), -3, 3))
    return dict(_NET_FILLS)[v]


def _sheet_title(name: str, taken: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "site"
    base, i = title, 2
    while title.lower() in taken:
        suffix = f" ({i})"
        title = base[:31 - len(suffix)] + suffix
        i += 1
    taken.add(title.lower())
    return title


def roster_xlsx(roster: pd.DataFrame, site_zones: Mapping[str, str], *,
                allocation: pd.DataFrame | None = None, coverage: pd.DataFrame | None = None,
                sla_weekly: pd.DataFrame | None = None) -> bytes:
    """
    The roster as an XLSX workbook (bytes).

    Sheets: one per site with one row per shift in the site's local time (Excel has no
    time zones: the header names the zone, an offset column gives the UTC offset and the
    UTC times are alongside); ``coverage`` (when given): intervals x queues of net
    staffing (productive minus required productive agents), each cell filled red when
    short and green when over (:func:`net_fill`), and ``coverage detail`` with required,
    scheduled, productive and the projected service per queue and interval; ``SLA``
    (when given): the weekly SLA attainment per market. Every sheet freezes its header.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    shifts = local_shifts(roster, site_zones, allocation=allocation)
    wb = Workbook()
    wb.remove(wb.active)
    bold = Font(bold=True)
    taken: set[str] = set()
    sites = sorted(set(shifts["site"]) | set(site_zones)) if len(shifts) else sorted(site_zones)
    for site in sites:
        zone = site_zones.get(site, "UTC")
        ws = wb.create_sheet(_sheet_title(site, taken))
        header = ["agent", "date", "day", "shift", f"start ({zone})", f"end ({zone})",
                  "UTC offset", "paid h", "breaks (local)", "queues", "start (UTC)",
                  "end (UTC)"]
        ws.append(header)
        part = shifts[shifts["site"] == site]
        for r in part.itertuples(index=False):
            offset = (r.utc_offset_start if r.utc_offset_start == r.utc_offset_end
                      else f"{r.utc_offset_start} -> {r.utc_offset_end}")
            ws.append([r.agent_id, r.date, r.weekday, r.shift,
                       r.start_dt.replace(tzinfo=None), r.end_dt.replace(tzinfo=None),
                       offset, round(r.paid_min / 60.0, 2), r.breaks, r.queues,
                       pd.Timestamp(r.start_utc).to_pydatetime().replace(tzinfo=None),
                       pd.Timestamp(r.end_utc).to_pydatetime().replace(tzinfo=None)])
        for row in ws.iter_rows(min_row=2):
            row[1].number_format = "yyyy-mm-dd"
            for cell in (row[4], row[5], row[10], row[11]):
                cell.number_format = "yyyy-mm-dd hh:mm"
        for cell in ws[1]:
            cell.font = bold
        widths = [10, 11, 5, 8, 24, 24, 16, 7, 14, 22, 17, 17]
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = "B2"
    if coverage is not None and len(coverage):
        cov = coverage.copy()
        cov["interval_start"] = cov["interval_start"].dt.tz_convert("UTC")
        grid = cov.pivot_table(index="interval_start", columns="queue", values="net_gap",
                               aggfunc="first").sort_index()
        ws = wb.create_sheet(_sheet_title("coverage", taken))
        ws.append(["interval (UTC)"] + [str(q) for q in grid.columns])
        for ts, values in grid.iterrows():
            ws.append([ts.to_pydatetime().replace(tzinfo=None)]
                      + [None if pd.isna(v) else float(v) for v in values])
        for row in ws.iter_rows(min_row=2):
            row[0].number_format = "ddd yyyy-mm-dd hh:mm"
            for cell in row[1:]:
                if cell.value is not None:
                    cell.fill = PatternFill("solid", fgColor=net_fill(cell.value))
                    cell.alignment = Alignment(horizontal="center")
        for cell in ws[1]:
            cell.font = bold
        ws.column_dimensions["A"].width = 22
        ws.freeze_panes = "B2"
        detail_cols = ["interval_start", "queue", "contacts", "required", "required_agents",
                       "scheduled", "net", "gap", "net_gap", "service_level",
                       "target_service_level", "asa_s", "occupancy", "abandon_rate"]
        ws = wb.create_sheet(_sheet_title("coverage detail", taken))
        ws.append(["interval (UTC)"] + detail_cols[1:])
        cov = cov.sort_values(["interval_start", "queue"])
        for r in cov[detail_cols].itertuples(index=False):
            values = [r[0].to_pydatetime().replace(tzinfo=None), str(r[1])]
            for v in r[2:]:
                v = float(v)
                values.append(None if not np.isfinite(v) else round(v, 4))
            ws.append(values)
        for row in ws.iter_rows(min_row=2, max_col=1):
            row[0].number_format = "yyyy-mm-dd hh:mm"
        for cell in ws[1]:
            cell.font = bold
        ws.column_dimensions["A"].width = 18
        ws.freeze_panes = "C2"
    if sla_weekly is not None and len(sla_weekly):
        ws = wb.create_sheet(_sheet_title("SLA", taken))
        cols = ["market", "channel", "contacts", "service_level", "target_service_level",
                "met", "asa_s", "abandon_rate", "hours_below_target"]
        ws.append(cols)
        for r in sla_weekly[cols].itertuples(index=False):
            values = []
            for v in r:
                if isinstance(v, float | np.floating):
                    v = None if not np.isfinite(v) else round(float(v), 4)
                elif isinstance(v, np.bool_ | bool):
                    v = bool(v)
                values.append(v)
            ws.append(values)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- iCalendar -------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text)).strip("_") or "x"


def _ics_time(local: dt.datetime) -> dt.datetime:
    """
    The value of DTSTART/DTEND: the site-local time (written with the site's TZID), or
    UTC for the second occurrence of a repeated hour: RFC 5545 reads an ambiguous local
    time as its first occurrence, so the second one cannot be written with a TZID.
    """
    other = local.replace(fold=1 - local.fold)
    if local.fold == 1 and other.utcoffset() != local.utcoffset():
        return local.astimezone(dt.UTC)
    return local


def roster_ics(roster: pd.DataFrame, site_zones: Mapping[str, str], *,
               allocation: pd.DataFrame | None = None, stamp: dt.datetime | None = None,
               name: str = "wfm roster") -> dict[str, bytes]:
    """
    The roster as iCalendar files: one calendar per site and one per agent.

    Parameters
    ----------
    roster, site_zones, allocation
        As :func:`local_shifts`.
    stamp : datetime, optional
        DTSTAMP of the events (aware); now when not given.
    name : str
        Prefix of the calendars' names (X-WR-CALNAME).

    Returns
    -------
    dict
        Relative path -> file content: ``sites/<site>.ics`` and ``agents/<agent>.ics``.
        Every event has DTSTART/DTEND with the site's TZID (its VTIMEZONE is in the
        calendar; a time in the second occurrence of a repeated fall-back hour is written
        in UTC, see :func:`_ics_time`), a UID stable per agent and date
        (``<agent>-<date>@wfm``), the shift, the paid hours, the breaks and the queues in
        SUMMARY and DESCRIPTION.
    """
    from icalendar import Calendar, Event, Timezone

    shifts = local_shifts(roster, site_zones, allocation=allocation)
    stamp = stamp or dt.datetime.now(dt.UTC)
    # one VTIMEZONE per zone, covering the roster's dates (a week before to a year after)
    if len(shifts):
        first = min(shifts["date"]) - dt.timedelta(days=7)
        last = max(shifts["date"]) + dt.timedelta(days=366)
    zones: dict[str, Timezone] = {}

    def vtimezone(zone: str) -> Timezone:
        if zone not in zones:
            zones[zone] = Timezone.from_tzid(zone, first_date=first, last_date=last)
        return zones[zone]

    def calendar(title: str, zone: str | None) -> Calendar:
        cal = Calendar()
        cal.add("prodid", "-//wfm//roster export//EN")
        cal.add("version", "2.0")
        cal.add("calscale", "GREGORIAN")
        cal.add("x-wr-calname", f"{name}: {title}")
        if zone:
            cal.add("x-wr-timezone", zone)
        return cal

    def event(r) -> Event:
        ev = Event()
        ev.add("uid", f"{r.agent_id}-{r.date.isoformat()}@wfm")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", _ics_time(r.start_dt))
        ev.add("dtend", _ics_time(r.end_dt))
        ev.add("summary", f"{r.agent_id}: {r.shift} shift ({r.site})")
        lines = [f"Shift {r.shift}, {r.paid_min / 60:g} paid hours",
                 f"Local {r.start_dt:%a %Y-%m-%d %H:%M} - {r.end_dt:%H:%M} ({r.timezone})",
                 f"UTC {r.start_utc} - {r.end_utc}"]
        if r.breaks:
            lines.append(f"Breaks (local): {r.breaks}")
        if r.queues:
            lines.append(f"Queues: {r.queues}")
        ev.add("description", "\n".join(lines))
        ev.add("location", r.site)
        ev.add("categories", [str(r.shift)])
        return ev

    events = [event(r) for r in shifts.itertuples(index=False)]  # one per shift, shared
    files: dict[str, bytes] = {}
    for site, rows in shifts.groupby("site", sort=True).indices.items():
        zone = site_zones[site]
        cal = calendar(f"site {site}", zone)
        cal.add_component(vtimezone(zone))
        for i in rows:
            cal.add_component(events[i])
        files[f"sites/{_slug(site)}.ics"] = cal.to_ical()
    for agent, part in shifts.groupby("agent_id", sort=True):
        agent_zones = [site_zones[x] for x in dict.fromkeys(part["site"])]
        cal = calendar(f"agent {agent}", agent_zones[0])
        for zone in agent_zones:
            cal.add_component(vtimezone(zone))
        for i in part.sort_values("start_utc").index:
            cal.add_component(events[i])
        files[f"agents/{_slug(agent)}.ics"] = cal.to_ical()
    return files


def read_ics_shifts(data: bytes) -> pd.DataFrame:
    """
    The events of an iCalendar file as shifts: uid, agent_id, date, tzid, start_utc,
    end_utc, start_local, end_local (ISO 8601 with offsets); sorted by start_utc.
    """
    from icalendar import Calendar

    rows = []
    for ev in Calendar.from_ical(data).walk("VEVENT"):
        start, end = ev.decoded("dtstart"), ev.decoded("dtend")
        uid = str(ev["uid"])
        body = uid.rpartition("@")[0]  # <agent>-<YYYY-MM-DD>
        agent_id, date = body[:-11], body[-10:]
        rows.append({"uid": uid, "agent_id": agent_id, "date": dt.date.fromisoformat(date),
                     "tzid": ev["dtstart"].params.get("TZID"),
                     "start_utc": pd.Timestamp(start).tz_convert("UTC"),
                     "end_utc": pd.Timestamp(end).tz_convert("UTC"),
                     "start_local": start.isoformat(), "end_local": end.isoformat()})
    out = pd.DataFrame(rows, columns=["uid", "agent_id", "date", "tzid", "start_utc", "end_utc",
                                      "start_local", "end_local"])
    return out.sort_values(["start_utc", "agent_id"]).reset_index(drop=True)


# -- run folders -------------------------------------------------------------------------------


def site_zones_of(summary: dict, scenario=None) -> dict[str, str]:
    """Site -> IANA zone of a run: the scenario's when given, else the run summary's."""
    if scenario is not None:
        return dict(scenario.site_zones)
    for section in ("coverage", "run"):
        zones = summary.get(section, {}).get("site_zones")
        if zones:
            return dict(zones)
    raise InputError("the run folder does not say the sites' time zones (its summary.json "
                     "has no coverage section); pass --scenario with the run's scenario")


def export_run(run_dir: str | Path, fmt: str, out_dir: str | Path | None = None, *,
               scenario=None) -> list[Path]:
    """
    Export the roster of a ``wfm run`` folder.

    Parameters
    ----------
    run_dir : path
        The run folder (roster.parquet, allocation.parquet, coverage.parquet,
        summary.json).
    fmt : str
        ``csv`` -> ``roster.csv``; ``xlsx`` -> ``roster.xlsx``; ``ics`` -> the folder
        ``ics/`` with ``sites/*.ics`` and ``agents/*.ics``.
    out_dir : path, optional
        Where to write (default ``<run_dir>/export``).
    scenario : Scenario, optional
        For the sites' zones when the run summary lacks them.

    Returns
    -------
    list of Path
        The files (or the ics folder) written, each written atomically.
    """
    from wfm.io import read_bundle

    if fmt not in FORMATS:
        raise InputError(f"export format {fmt!r} unknown; use one of {', '.join(FORMATS)}")
    run_dir = Path(run_dir)
    summary, frames = read_bundle(run_dir)
    if "roster" not in frames:
        raise InputError(f"{run_dir}: the run has no roster (roster.parquet); run a scenario "
                         "whose roster stage solves one (`wfm run SCENARIO`)")
    zones = site_zones_of(summary, scenario)
    out = Path(out_dir) if out_dir is not None else run_dir / "export"
    roster, allocation = frames["roster"], frames.get("allocation")
    if fmt == "csv":
        return [write_bytes_atomic(out / "roster.csv",
                                   roster_csv(roster, zones, allocation=allocation))]
    if fmt == "xlsx":
        data = roster_xlsx(roster, zones, allocation=allocation,
                           coverage=frames.get("coverage"), sla_weekly=frames.get("sla_weekly"))
        return [write_bytes_atomic(out / "roster.xlsx", data)]
    finished = summary.get("run", {}).get("finished_at")
    stamp = dt.datetime.fromisoformat(finished) if finished else None
    name = f"wfm {summary.get('run', {}).get('scenario', 'roster')}"
    files = roster_ics(roster, zones, allocation=allocation, stamp=stamp, name=name)
    return [write_folder_atomic(out / "ics", files)]


# -- publishing ------------------------------------------------------------------------------


def run_week(summary: dict, frames: dict[str, pd.DataFrame]) -> tuple[dt.date, int]:
    """The planning week of a run: (week_start as a UTC date, days)."""
    plan = summary.get("coverage", {}).get("planning") or summary.get("run", {}).get("planning")
    if plan:
        return dt.date.fromisoformat(plan["week_start"]), int(plan.get("days", 7))
    req = frames.get("requirement")
    if req is not None and len(req):
        start = pd.Timestamp(req["interval_start"].min()).tz_convert("UTC")
        end = pd.Timestamp(req["interval_start"].max()).tz_convert("UTC")
        return start.date(), int((end - start).days) + 1
    raise InputError("the run folder does not say its planning week (no coverage section "
                     "in summary.json and no requirement.parquet)")


def publish_run(run_dir: str | Path, store_path: str | Path) -> dict:
    """
    Publish the roster of a ``wfm run`` folder into the store as the next version of its
    planning week, and mark the folder (``published.json``, written atomically).

    Returns
    -------
    dict
        week_start, version, shifts, run_id, store, published_at.
    """
    import json

    from wfm.io import read_bundle
    from wfm.store import Store

    run_dir = Path(run_dir)
    summary, frames = read_bundle(run_dir)
    roster = frames.get("roster")
    if roster is None:
        raise InputError(f"{run_dir}: the run has no roster (roster.parquet) to publish; run "
                         "a scenario whose roster stage solves one (`wfm run SCENARIO`)")
    week, days = run_week(summary, frames)
    run = summary.get("run", {})
    published_at = dt.datetime.now(dt.UTC)
    with Store(store_path) as store:
        version = store.publish_roster(roster, week_start=week, days=days,
                                       run_id=run.get("run_id"), scenario=run.get("scenario"),
                                       source=str(run_dir), published_at=published_at)
    record = {"week_start": week.isoformat(), "version": version, "shifts": int(len(roster)),
              "run_id": run.get("run_id"), "store": str(store_path),
              "published_at": published_at.isoformat()}
    write_bytes_atomic(run_dir / "published.json", json.dumps(record, indent=2))
    return record
