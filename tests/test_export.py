"""Tests of wfm.export: roster CSV, XLSX and iCalendar in site-local time; `wfm export`."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import stat
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from icalendar import Calendar
from openpyxl import load_workbook

from tests.test_coverage import make_shifts, synthetic_roster, write_run
from tests.test_staffing import as_forecast
from wfm import export, schema, staffing
from wfm.cli import main
from wfm.errors import InputError

ZONES = {"Lisbon": "Europe/Lisbon", "Boston": "America/New_York", "Shenzhen": "Asia/Shanghai"}
UTC = dt.UTC


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture(scope="module")
def dst_roster():
    """
    Shifts on both sides of Lisbon's spring change (Sunday 2026-03-29, 01:00 UTC: WET ->
    WEST) and its autumn change (Sunday 2026-10-25, 01:00 UTC: WEST -> WET), a night shift
    across each change, and one shift starting in the repeated autumn hour.
    """
    specs = [
        ("L1", "Lisbon", "2026-03-28 08:00", 510, (240, 30), "pt_voice"),   # WET, UTC+0
        ("L1", "Lisbon", "2026-03-30 08:00", 510, (240, 30), "pt_voice"),   # WEST, UTC+1
        ("L2", "Lisbon", "2026-03-28 22:00", 510, (240, 30), "pt_voice"),   # across spring
        ("L3", "Lisbon", "2026-10-24 22:00", 510, (240, 30), "pt_voice"),   # across autumn
        ("B1", "Boston", "2026-03-28 09:00", 480, None, "en_voice"),        # EDT since 03-08
        ("S1", "Shenzhen", "2026-03-29 09:00", 480, None, "ja_voice"),      # no DST
    ]
    roster, alloc = make_shifts(specs, ZONES)
    # 01:30 local in the repeated hour, second occurrence (WET) = 01:30 UTC
    start, end = _utc("2026-10-25 01:30"), _utc("2026-10-25 09:30")
    lisbon = ZoneInfo("Europe/Lisbon")
    extra = pd.DataFrame([{
        "agent_id": "L4", "date": dt.date(2026, 10, 25), "site": "Lisbon", "shift": "PT8",
        "start_utc": start, "end_utc": end,
        "start_local": start.to_pydatetime().astimezone(lisbon).isoformat(),
        "end_local": end.to_pydatetime().astimezone(lisbon).isoformat(),
        "paid_min": 480, "breaks": ""}])
    extra["start_utc"] = extra["start_utc"].astype("datetime64[ns, UTC]")
    extra["end_utc"] = extra["end_utc"].astype("datetime64[ns, UTC]")
    roster = schema.sort_frame(pd.concat([roster, extra], ignore_index=True), "roster")
    return roster, alloc


#: (agent, local date) -> (start_local, end_local, start_utc, end_utc) as they must export
EXPECTED = {
    ("L1", "2026-03-28"): ("2026-03-28T08:00:00+00:00", "2026-03-28T16:30:00+00:00",
                           "2026-03-28T08:00:00Z", "2026-03-28T16:30:00Z"),
    ("L1", "2026-03-30"): ("2026-03-30T08:00:00+01:00", "2026-03-30T16:30:00+01:00",
                           "2026-03-30T07:00:00Z", "2026-03-30T15:30:00Z"),
    ("L2", "2026-03-28"): ("2026-03-28T22:00:00+00:00", "2026-03-29T06:30:00+01:00",
                           "2026-03-28T22:00:00Z", "2026-03-29T05:30:00Z"),
    ("L3", "2026-10-24"): ("2026-10-24T22:00:00+01:00", "2026-10-25T06:30:00+00:00",
                           "2026-10-24T21:00:00Z", "2026-10-25T06:30:00Z"),
    ("L4", "2026-10-25"): ("2026-10-25T01:30:00+00:00", "2026-10-25T09:30:00+00:00",
                           "2026-10-25T01:30:00Z", "2026-10-25T09:30:00Z"),
    ("B1", "2026-03-28"): ("2026-03-28T09:00:00-04:00", "2026-03-28T17:00:00-04:00",
                           "2026-03-28T13:00:00Z", "2026-03-28T21:00:00Z"),
    ("S1", "2026-03-29"): ("2026-03-29T09:00:00+08:00", "2026-03-29T17:00:00+08:00",
                           "2026-03-29T01:00:00Z", "2026-03-29T09:00:00Z"),
}


# -- DST: CSV, XLSX and ICS on both sides of a change -------------------------------------


def test_csv_local_times_are_right_on_both_sides_of_dst(dst_roster):
    roster, alloc = dst_roster
    text = export.roster_csv(roster, ZONES, allocation=alloc)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert list(frame.columns) == export.CSV_COLUMNS
    assert len(frame) == len(roster) == len(EXPECTED)
    for r in frame.itertuples():
        assert (r.start_local, r.end_local, r.start_utc, r.end_utc) == EXPECTED[
            (r.agent_id, r.date)], (r.agent_id, r.date)
    row = frame.set_index(["agent_id", "date"]).loc[("L2", "2026-03-28")]
    assert (row["utc_offset_start"], row["utc_offset_end"]) == ("+00:00", "+01:00")
    assert row["timezone"] == "Europe/Lisbon" and row["weekday"] == "Sat"
    assert row["breaks"] == "02:00-02:30"
    assert row["queues"] == "pt_voice"
    # the night shift across the spring change is 7.5 h of real time, 8.5 h on the clock
    assert _utc(row["end_utc"]) - _utc(row["start_utc"]) == pd.Timedelta(hours=7.5)


def test_xlsx_local_times_are_right_on_both_sides_of_dst(dst_roster):
    roster, alloc = dst_roster
    data = export.roster_xlsx(roster, ZONES, allocation=alloc)
    wb = load_workbook(io.BytesIO(data))
    assert {"Lisbon", "Boston", "Shenzhen"} <= set(wb.sheetnames)
    seen = 0
    for site in ("Lisbon", "Boston", "Shenzhen"):
        ws = wb[site]
        header = [c.value for c in ws[1]]
        assert header[4] == f"start ({ZONES[site]})"
        assert ws.freeze_panes == "B2"
        for row in ws.iter_rows(min_row=2, values_only=True):
            agent, date = row[0], row[1]
            day = date.date() if isinstance(date, dt.datetime) else date
            start_local, end_local, start_utc, end_utc = EXPECTED[(agent, day.isoformat())]
            assert row[4] == dt.datetime.fromisoformat(start_local).replace(tzinfo=None)
            assert row[5] == dt.datetime.fromisoformat(end_local).replace(tzinfo=None)
            assert row[10] == dt.datetime.fromisoformat(start_utc[:-1])
            assert row[11] == dt.datetime.fromisoformat(end_utc[:-1])
            offsets = {start_local[-6:], end_local[-6:]}
            assert row[6] == (start_local[-6:] if len(offsets) == 1
                              else f"{start_local[-6:]} -> {end_local[-6:]}")
            seen += 1
    assert seen == len(EXPECTED)


def test_ics_has_the_site_tzid_and_parses_back_to_the_same_shifts(dst_roster):
    roster, alloc = dst_roster
    stamp = dt.datetime(2026, 3, 1, tzinfo=UTC)
    files = export.roster_ics(roster, ZONES, allocation=alloc, stamp=stamp)
    assert set(files) == {"sites/Lisbon.ics", "sites/Boston.ics", "sites/Shenzhen.ics",
                          "agents/L1.ics", "agents/L2.ics", "agents/L3.ics", "agents/L4.ics",
                          "agents/B1.ics", "agents/S1.ics"}
    lisbon = files["sites/Lisbon.ics"].decode()
    assert "DTSTART;TZID=Europe/Lisbon:20260330T080000" in lisbon
    assert "DTSTART;TZID=Europe/Lisbon:20260328T080000" in lisbon
    assert "DTEND;TZID=Europe/Lisbon:20260329T063000" in lisbon
    # the second 01:30 of 2026-10-25 cannot carry the TZID (RFC 5545 reads the first)
    assert "DTSTART:20261025T013000Z" in lisbon
    parsed = pd.concat([export.read_ics_shifts(files[f"sites/{s}.ics"]) for s in ZONES],
                       ignore_index=True)
    got = {(r.agent_id, r.date, r.start_utc, r.end_utc) for r in parsed.itertuples()}
    want = {(r.agent_id, r.date, r.start_utc, r.end_utc) for r in roster.itertuples()}
    assert got == want
    per_agent = pd.concat([export.read_ics_shifts(v) for k, v in files.items()
                           if k.startswith("agents/")], ignore_index=True)
    assert {(r.agent_id, r.date, r.start_utc, r.end_utc) for r in per_agent.itertuples()} == want
    tzids = parsed.set_index(["agent_id", "date"])["tzid"]
    assert tzids[("L1", dt.date(2026, 3, 30))] == "Europe/Lisbon"
    assert tzids[("B1", dt.date(2026, 3, 28))] == "America/New_York"
    assert tzids[("S1", dt.date(2026, 3, 29))] == "Asia/Shanghai"


def test_ics_vtimezone_alone_gives_the_right_utc_times(dst_roster):
    """Read DTSTART with the calendar's own VTIMEZONE, not the system's zone database."""
    roster, _ = dst_roster
    files = export.roster_ics(roster, ZONES, stamp=dt.datetime(2026, 3, 1, tzinfo=UTC))
    cal = Calendar.from_ical(files["sites/Lisbon.ics"])
    (vtz,) = cal.walk("VTIMEZONE")
    assert str(vtz["TZID"]) == "Europe/Lisbon"
    own = vtz.to_tz()
    by_uid = {f"{r.agent_id}-{r.date.isoformat()}@wfm": r for r in roster.itertuples()}
    checked = 0
    for ev in cal.walk("VEVENT"):
        prop = ev["DTSTART"]
        if prop.params.get("TZID") != "Europe/Lisbon":
            continue
        naive = prop.dt.replace(tzinfo=None)
        start = naive.replace(tzinfo=own).astimezone(UTC)
        assert start == by_uid[str(ev["UID"])].start_utc.to_pydatetime()
        checked += 1
    assert checked == 4


def test_ics_events_name_the_shift_breaks_and_queues(dst_roster):
    roster, alloc = dst_roster
    files = export.roster_ics(roster, ZONES, allocation=alloc,
                              stamp=dt.datetime(2026, 3, 1, tzinfo=UTC), name="wfm test")
    cal = Calendar.from_ical(files["agents/L2.ics"])
    assert str(cal["X-WR-CALNAME"]) == "wfm test: agent L2"
    assert str(cal["X-WR-TIMEZONE"]) == "Europe/Lisbon"
    (ev,) = cal.walk("VEVENT")
    assert str(ev["UID"]) == "L2-2026-03-28@wfm"
    assert str(ev["SUMMARY"]) == "L2: FT8 shift (Lisbon)"
    desc = str(ev["DESCRIPTION"])
    assert "Breaks (local): 02:00-02:30" in desc and "Queues: pt_voice" in desc
    assert "8 paid hours" in desc
    assert ev.decoded("DTSTAMP") == dt.datetime(2026, 3, 1, tzinfo=UTC)


# -- checks of the roster --------------------------------------------------------------------


def test_local_strings_that_disagree_with_utc_are_an_input_error(dst_roster):
    roster, _ = dst_roster
    bad = roster.copy()
    i = bad.index[(bad["agent_id"] == "L1") & (bad["date"] == dt.date(2026, 3, 30))][0]
    bad.loc[i, "start_local"] = "2026-03-30T08:00:00+00:00"  # the winter offset: an hour off
    with pytest.raises(InputError, match=r"agent L1 on 2026-03-30: start_local") as err:
        export.roster_csv(bad, ZONES)
    assert "2026-03-30T08:00:00+01:00" in str(err.value)
    wrong_date = roster.copy()
    wrong_date.loc[i, "date"] = dt.date(2026, 3, 31)
    with pytest.raises(InputError, match="is not the site-local date 2026-03-30"):
        export.roster_csv(wrong_date, ZONES)


def test_a_site_without_a_zone_is_an_input_error(dst_roster):
    roster, _ = dst_roster
    with pytest.raises(InputError, match="site 'Shenzhen' .* has no time zone"):
        export.roster_csv(roster, {"Lisbon": "Europe/Lisbon", "Boston": "America/New_York"})


def test_an_empty_roster_exports_headers_only():
    empty = schema.empty("roster")
    assert export.roster_csv(empty, ZONES).strip() == ",".join(export.CSV_COLUMNS)
    wb = load_workbook(io.BytesIO(export.roster_xlsx(empty, ZONES)))
    assert sorted(wb.sheetnames) == sorted(ZONES)
    assert export.roster_ics(empty, ZONES) == {}


def test_net_fill_colours_short_red_and_over_green():
    assert export.net_fill(0) == "FFFFFF"
    assert export.net_fill(-5) == export.net_fill(-3) == "F8696B"
    assert export.net_fill(-1).startswith("F") and export.net_fill(2).startswith("B5")
    assert export.net_fill(float("nan")) == "EEEEEE"


# -- run folders and the CLI ----------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, demo_world, baseline):
    forecast = as_forecast(demo_world.history, baseline.planning.start_utc)
    req = staffing.requirements(forecast, baseline)
    roster, alloc, agents = synthetic_roster(req, baseline, scale=0.4)
    out = tmp_path_factory.mktemp("export") / "baseline"
    write_run(out, baseline, forecast, req, roster, alloc, agents)
    return out


def test_xlsx_of_a_run_has_site_sheets_and_a_coverage_sheet_coloured_by_net(run_dir):
    from wfm import pipeline

    summary, frames = pipeline.read_bundle(run_dir)
    data = export.roster_xlsx(frames["roster"], summary["coverage"]["site_zones"],
                              allocation=frames["allocation"], coverage=frames["coverage"],
                              sla_weekly=frames["sla_weekly"])
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Boston", "Lisbon", "Shenzhen", "coverage", "coverage detail",
                             "SLA"]
    ws = wb["coverage"]
    assert ws.freeze_panes == "B2"
    queues = [c.value for c in ws[1]][1:]
    assert queues == sorted(frames["coverage"]["queue"].unique())
    cov = frames["coverage"]
    net_gaps = dict(zip(zip(cov["interval_start"], cov["queue"], strict=True), cov["net_gap"],
                        strict=True))
    checked = 0
    for row in ws.iter_rows(min_row=2, max_row=60):
        ts = pd.Timestamp(row[0].value, tz="UTC")
        for q, cell in zip(queues, row[1:], strict=True):
            net_gap = net_gaps[(ts, q)]
            assert cell.value == net_gap
            assert cell.fill.fgColor.rgb[-6:] == export.net_fill(net_gap)
            checked += 1
    assert checked == 59 * len(queues)
    lis = wb["Lisbon"]
    assert lis.max_row - 1 == int((frames["roster"]["site"] == "Lisbon").sum())
    assert wb["SLA"].freeze_panes == "A2"


def test_cli_export_writes_every_format(run_dir, tmp_path, capsys):
    out = tmp_path / "exp"
    for fmt in ("csv", "xlsx", "ics"):
        assert main(["export", str(run_dir), "--format", fmt, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "roster.csv" in text and "roster.xlsx" in text and "calendars" in text
    csv = pd.read_csv(out / "roster.csv")
    roster = pd.read_parquet(run_dir / "roster.parquet")
    assert len(csv) == len(roster)
    assert len(list((out / "ics" / "agents").glob("*.ics"))) == roster["agent_id"].nunique()
    assert sorted(p.name for p in (out / "ics" / "sites").glob("*.ics")) == [
        "Boston.ics", "Lisbon.ics", "Shenzhen.ics"]
    # default folder: RUN_DIR/export; nothing half-written is left beside the files
    assert main(["export", str(run_dir), "--format", "csv"]) == 0
    assert (run_dir / "export" / "roster.csv").read_text() == (out / "roster.csv").read_text()
    assert not [p for p in out.iterdir() if ".partial-" in p.name]


def test_cli_export_of_a_run_without_roster_or_zones_is_exit_2(run_dir, tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "summary.json").write_text(json.dumps({"run": {"scenario": "x"}}))
    assert main(["export", str(bare), "--format", "csv"]) == 2
    assert "has no roster" in capsys.readouterr().err
    pd.read_parquet(run_dir / "roster.parquet").to_parquet(bare / "roster.parquet")
    assert main(["export", str(bare), "--format", "csv"]) == 2
    assert "time zones" in capsys.readouterr().err
    assert main(["export", str(bare), "--format", "csv", "--scenario", "baseline",
                 "--out", str(tmp_path / "o")]) == 0
    assert main(["export", str(tmp_path / "nowhere"), "--format", "csv"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["export", str(run_dir), "--format", "pdf"]) == 2


def test_atomic_file_write_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "roster.csv"
    export.write_bytes_atomic(target, "old\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        export.write_bytes_atomic(target, "new\n" * 1000)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["roster.csv"]


def test_atomic_writes_get_the_usual_file_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = export.write_bytes_atomic(tmp_path / "report.html", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    folder = export.write_folder_atomic(tmp_path / "ics", {"a.ics": "x"})
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask


def test_folder_write_refuses_names_that_leave_the_folder(tmp_path):
    with pytest.raises(InputError, match="leaves the export folder"):
        export.write_folder_atomic(tmp_path / "ics", {"../evil.ics": b"x"})
    assert not (tmp_path / "evil.ics").exists()
    assert not list(tmp_path.iterdir())


def test_queues_per_shift_come_from_the_allocation(dst_roster):
    roster, alloc = dst_roster
    shifts = export.local_shifts(roster, ZONES, allocation=alloc)
    q = shifts.set_index("agent_id")["queues"]
    assert q["B1"] == "en_voice" and q["S1"] == "ja_voice" and q["L4"] == ""
    assert np.all(shifts["date"].map(type) == dt.date)
