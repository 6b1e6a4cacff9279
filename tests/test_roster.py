"""The roster solver: rules kept (checked independently), DST weeks, the previous
week, diagnostics, solver options, and the rule checker itself."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from tests.roster_world import (
    aggregate_of,
    ft8_by_date,
    requirement,
    small_agents,
    small_scenario,
    two_boston_agents,
)
from wfm import schema
from wfm.errors import RosterInfeasible
from wfm.roster import check_roster, solve_roster, unservable_demand
from wfm.roster.assign import cpsat_parameters
from wfm.roster.catalog import build_catalog
from wfm.roster.rules import Violation, _night

ZONES = {"en": "America/New_York", "de": "Europe/Berlin"}


@pytest.fixture(scope="module")
def solved():
    scenario = small_scenario()
    agents = small_agents()
    req = requirement(scenario, {("en", "voice"): 4, ("de", "voice"): 3}, ZONES)
    labels = []
    result = solve_roster(req, agents, scenario, progress=lambda d, t, label: labels.append(
        label))
    return scenario, agents, req, result, labels


def test_solved_roster_keeps_every_rule(solved):
    scenario, agents, _, result, _ = solved
    assert check_roster(result.roster, result.allocation, agents, scenario) == []
    schema.validate(result.roster, "roster")
    schema.validate(result.allocation, "allocation", interval_min=60)
    assert len(result.roster) > 0


def test_allocation_serves_only_the_agents_languages(solved):
    _, agents, _, result, _ = solved
    speaks = agents.set_index("agent_id")["languages"]
    language = result.allocation["queue"].str.split("_").str[0]
    assert all(lang in speaks[a] for a, lang in zip(result.allocation["agent_id"], language,
                                                    strict=True))


def test_report_figures_are_consistent(solved):
    _, _, req, result, labels = solved
    report = result.report
    assert report["status"] == "FEASIBLE"
    assert report["best_bound"] <= report["objective"] + 1e-6
    assert 0 <= report["gap"] < 1
    assert report["required_h"] == pytest.approx(req["headcount"].sum())
    scheduled = result.allocation.groupby("queue").size()
    need = req.groupby("queue")["headcount"].sum()
    # under-coverage per queue = required minus what the allocation covers (never below 0)
    per_interval = result.allocation.groupby(["interval_start", "queue"]).size()
    merged = req.set_index(["interval_start", "queue"])["headcount"].to_frame().join(
        per_interval.rename("scheduled")).fillna(0)
    under = (merged["headcount"] - merged["scheduled"]).clip(lower=0).groupby(level=1).sum()
    for queue in need.index:
        assert report["under_coverage_h"][queue] == pytest.approx(under[queue])
    assert scheduled.sum() == pytest.approx(report["scheduled_h"])
    paid = result.roster["paid_min"].sum() / 60
    assert report["paid_h"] == pytest.approx(paid)
    assert any("LP relaxation" in label for label in labels)
    assert any("incumbent" in label for label in labels)
    # the penalty breakdown is the final roster's: night spread as the fairness table has it
    weights = solved[0].roster.weights
    spreads = [g["nights_night_ok_agents"]["spread"] for site in report["fairness"].values()
               for g in site["groups"].values()]
    assert report["penalties"]["night spread"] == pytest.approx(
        weights.night_spread * sum(spreads))
    search = report["neighbourhood_search"]  # never leaves the roster worse
    assert search["objective_after"] + search["soft_after"] <= \
        search["objective_before"] + search["soft_before"] + 1e-6


def test_report_names_night_ok_agents_outside_their_share_of_nights(solved):
    scenario, agents, _, result, _ = solved
    catalog = build_catalog(scenario, sites=sorted(set(agents["site"])))
    night = {(o.site, o.start_utc.value, o.template): o.night for o in catalog.options}
    nights = result.roster.assign(night=[night[(r.site, r.start_utc.value, r.shift)]
                                         for r in result.roster.itertuples()]
                                  ).groupby("agent_id")["night"].sum()
    for site, figures in result.report["fairness"].items():
        night_ok = agents[(agents["site"] == site) & agents["night_ok"]]["agent_id"]
        counts = nights.reindex(night_ok, fill_value=0)
        low, high = figures["nights_band"]  # every agent here can reach the site's band
        assert high == low + 1
        outside = {row["agent_id"] for row in figures["nights_outside_band"]}
        assert outside == {a for a, n in counts.items() if not low <= n <= high}
        # nights shared site-wide (the default): across the skill groups too
        assert not outside and counts.max() - counts.min() <= 1, (site, counts.to_dict())
    assert result.report["nights_shared"]["below_share"] == []


def test_nights_shared_only_within_skill_groups_when_the_scenario_says_so():
    scenario = small_scenario(time_limit=10)
    scenario = dataclasses.replace(scenario, roster=dataclasses.replace(
        scenario.roster, rules=dataclasses.replace(scenario.roster.rules,
                                                   night_share="group")))
    agents = small_agents(n_lisbon=3, n_boston=0)
    req = requirement(scenario, {("en", "voice"): 2, ("de", "voice"): 1}, ZONES)
    result = solve_roster(req, agents, scenario)
    assert result.report["nights_shared"] is None
    assert not any("shared nights" in point["stage"] for point in result.report["trace"])
    assert check_roster(result.roster, result.allocation, agents, scenario) == []


def test_night_bands_share_the_site_nights_within_what_each_agent_can_reach():
    from wfm.roster.catalog import night_bands

    # the second agent is on leave Monday to Thursday: one working day is left
    scenario, catalog, infos, _ = two_boston_agents(
        availability=[[], ["Mon", "Tue", "Wed", "Thu"]])
    cap = scenario.roster.rules.max_nights_week
    assert cap == 3 and infos[1].max_shifts == 1
    # the second agent can work one night at most, whatever the site works
    for nights, bands in ((0, [(0, 1), (0, 1)]), (2, [(1, 2), (1, 1)]),
                          (4, [(2, 3), (1, 1)]), (9, [(2, 3), (1, 1)])):
        banded = night_bands(infos, catalog, {"Boston": nights}, cap)
        assert [banded.get(i.agent_id) for i in infos] == bands, nights
    no_nights = [dataclasses.replace(i, night_ok=False) for i in infos]
    banded = night_bands(no_nights, catalog, {"Boston": 4}, cap)
    assert [banded.get(i.agent_id) for i in no_nights] == [None, None]


def test_lunch_is_inside_its_window_and_not_allocated(solved):
    scenario, agents, _, result, _ = solved
    ft = result.roster[result.roster["shift"] == "FT8"]
    assert (ft["breaks"] != "").all()
    for row in ft.itertuples():
        start = pd.Timestamp(row.start_local)
        lunch_start = row.breaks.split("-")[0]
        minutes = (int(lunch_start[:2]) * 60 + int(lunch_start[3:]) - start.hour * 60
                   - start.minute) % (24 * 60)
        assert 180 <= minutes <= 300
    assert check_roster(result.roster, result.allocation, agents, scenario) == []


def test_shortage_is_reported_not_infeasible():
    scenario = small_scenario(time_limit=10)
    agents = small_agents(n_lisbon=3, n_boston=2)
    req = requirement(scenario, {("en", "voice"): 30, ("de", "voice"): 20}, ZONES)
    result = solve_roster(req, agents, scenario)
    assert result.report["under_coverage_total_h"] > 0.5 * result.report["required_h"]
    assert check_roster(result.roster, result.allocation, agents, scenario) == []


def test_a_language_nobody_speaks_is_named_before_solving():
    scenario = small_scenario(time_limit=10)
    agents = small_agents()
    req = requirement(scenario, {("en", "voice"): 2, ("ja", "voice"): 2},
                      {**ZONES, "ja": "Asia/Tokyo"})
    lines = unservable_demand(req, agents, scenario)
    assert len(lines) == 1 and lines[0].startswith("queue ja_voice:")
    assert "no agent speaks it" in lines[0]
    result = solve_roster(req, agents, scenario)
    assert result.report["unservable"] == lines
    assert result.report["under_coverage_h"]["ja_voice"] == req.loc[
        req["queue"] == "ja_voice", "headcount"].sum()


def test_night_demand_without_night_agents_is_named():
    scenario = small_scenario(time_limit=10)
    agents = small_agents(n_lisbon=0, n_boston=4).assign(night_ok=False)
    plan = scenario.planning
    grid = pd.date_range(plan.start_utc, plan.end_utc, freq="60min", inclusive="left")
    req = requirement(scenario, {("en", "voice"): 2}, ZONES)
    # demand at 03:00-04:00 Boston time every day, when only night shifts could serve it
    night = grid.tz_convert("America/New_York").hour == 3
    req.loc[req["interval_start"].isin(grid[night]), "headcount"] = 1
    lines = unservable_demand(req, agents, scenario)
    assert lines and "none of its 4 agent(s) can be at work then" in lines[0]


def test_agent_who_cannot_reach_the_contract_minimum_is_named():
    scenario = small_scenario(time_limit=10)
    agents = small_agents()
    agents.loc[0, ["contract_hours_week", "min_hours_week"]] = [48.0, 48.0]
    req = requirement(scenario, {("en", "voice"): 3, ("de", "voice"): 2}, ZONES)
    with pytest.raises(RosterInfeasible) as info:
        solve_roster(req, agents, scenario)
    message = str(info.value)
    assert agents.loc[0, "agent_id"] in message
    assert "48.0 h this week cannot be reached" in message
    assert "lower min_hours_week" in message


def test_rest_and_streak_reach_into_the_previous_week():
    scenario = small_scenario(time_limit=15)
    agents = small_agents()
    req = requirement(scenario, {("en", "voice"): 4, ("de", "voice"): 3}, ZONES)
    w0 = scenario.planning.start_utc
    # every agent worked six days up to a shift ending 20 minutes before the week starts
    rows = []
    for a in agents.itertuples():
        zone = scenario.site(a.site).zone
        for d in range(6):
            end = w0 - pd.Timedelta(minutes=20) - pd.Timedelta(days=d)
            start = end - pd.Timedelta(hours=8)
            rows.append({"agent_id": a.agent_id, "date": start.tz_convert(zone).date(),
                         "site": a.site, "shift": "FT8", "start_utc": start, "end_utc": end,
                         "start_local": start.tz_convert(zone).isoformat(),
                         "end_local": end.tz_convert(zone).isoformat(), "paid_min": 480,
                         "breaks": ""})
    previous = pd.DataFrame(rows)
    result = solve_roster(req, agents, scenario, previous_roster=previous)
    assert check_roster(result.roster, result.allocation, agents, scenario,
                        previous_roster=previous) == []
    first = result.roster.groupby("agent_id")["start_utc"].min()
    assert (first >= w0 + pd.Timedelta(hours=11) - pd.Timedelta(minutes=20)).all()
    # six days worked before: nobody works the first local date of the week
    first_dates = result.roster.groupby("agent_id")["date"].min()
    monday = {a.agent_id: (w0 + pd.Timedelta(hours=12)).tz_convert(
        scenario.site(a.site).zone).date() for a in agents.itertuples()}
    assert all(first_dates[a] > monday[a] for a in first_dates.index)


def test_dst_week_northern_site_and_southern_market():
    # Lisbon springs forward on Sun 2026-03-29 01:00 UTC; Sydney falls back on
    # Sun 2026-04-05 03:00 local (Sat 16:00 UTC): both inside the planning window
    scenario = small_scenario(week_start="2026-03-29", time_limit=15)
    catalog = build_catalog(scenario)
    lisbon = [o for o in catalog.options if o.site == "Lisbon" and o.template == "FT8"
              and o.date == dt.date(2026, 3, 29)]
    midnight = [o for o in lisbon if o.start_minute_local == 0][0]
    assert midnight.end_utc - midnight.start_utc == pd.Timedelta(hours=7, minutes=30)
    assert midnight.paid_min == 420  # an hour shorter in real time
    assert not [o for o in lisbon if o.start_minute_local == 60]  # 01:00 does not exist
    # the same local start on the Monday is an hour earlier in UTC than on the Saturday
    eight = {o.date: o.start_utc.hour for o in catalog.options if o.site == "Lisbon"
             and o.template == "FT8" and o.start_minute_local == 8 * 60}
    assert eight[dt.date(2026, 3, 30)] == 7 and eight[dt.date(2026, 4, 4)] == 7
    agents = small_agents(n_lisbon=6, n_boston=4, n_shenzhen=12)
    zones = {"en": "Australia/Sydney", "de": "Europe/Berlin"}
    req = requirement(scenario, {("en", "voice"): 6, ("de", "voice"): 2}, zones)
    result = solve_roster(req, agents, scenario)
    assert check_roster(result.roster, result.allocation, agents, scenario) == []
    # Sydney's 11:00 peak is covered on both sides of its change: 00:00 UTC on
    # Thursday (AEDT, +11) and 01:00 UTC on the following Sunday (AEST, +10)
    served = result.allocation[result.allocation["queue"] == "en_voice"].groupby(
        "interval_start").size()
    need = req[req["queue"] == "en_voice"].set_index("interval_start")["headcount"]
    # 09:00 in Sydney is 22:00 UTC before its change (AEDT) and 23:00 UTC after (AEST):
    # the same local demand moved one hour later in UTC, and it is served both times
    before = pd.Timestamp("2026-04-03 22:00", tz="UTC")
    after = pd.Timestamp("2026-04-04 23:00", tz="UTC")
    assert need[before] == need[after] > 0
    assert need[pd.Timestamp("2026-04-04 22:00", tz="UTC")] < need[after]
    assert served.get(before, 0) >= 1 and served.get(after, 0) >= 1


def test_every_solver_option_lands_in_parameters():
    solver = cpsat_parameters(cp_model.CpSolver(), time_limit_s=12.5, num_workers=8,
                              random_seed=7)
    assert solver.parameters.max_time_in_seconds == 12.5
    assert solver.parameters.num_workers == 8
    assert solver.parameters.random_seed == 7
    assert solver.parameters.log_search_progress is False


def test_scenario_settings_reach_the_solver(monkeypatch):
    seen = []
    from wfm.roster import assign as assign_mod

    original = assign_mod.cpsat_parameters

    def spy(solver, **kw):
        seen.append(kw)
        return original(solver, **kw)

    monkeypatch.setattr(assign_mod, "cpsat_parameters", spy)
    scenario = small_scenario(time_limit=8)
    scenario = dataclasses.replace(
        scenario, roster=dataclasses.replace(scenario.roster, num_workers=3, random_seed=11))
    req = requirement(scenario, {("en", "voice"): 2, ("de", "voice"): 1}, ZONES)
    solve_roster(req, small_agents(), scenario)
    assert seen and all(kw["num_workers"] == 3 and kw["random_seed"] == 11 for kw in seen)


# -- the rule checker, on rosters written by hand -------------------------------------


def shift(agent, start, hours=8.5, site="Lisbon", zone="Europe/Lisbon", paid=480,
          breaks=""):
    start = pd.Timestamp(start, tz="UTC")
    end = start + pd.Timedelta(hours=hours)
    return {"agent_id": agent, "date": start.tz_convert(zone).date(), "site": site,
            "shift": "FT8", "start_utc": start, "end_utc": end,
            "start_local": start.tz_convert(zone).isoformat(),
            "end_local": end.tz_convert(zone).isoformat(), "paid_min": paid, "breaks": breaks}


def agents_frame(**overrides):
    row = {"agent_id": "A", "site": "Lisbon", "languages": ["de"],
           "contract_hours_week": 40.0, "min_hours_week": 0.0, "role": "front_line",
           "night_ok": True, "availability": []}
    row.update(overrides)
    return pd.DataFrame([row])


def rules_of(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def test_checker_finds_short_rest():
    scenario = small_scenario()
    roster = pd.DataFrame([shift("A", "2026-11-23 08:00"), shift("A", "2026-11-24 02:00")])
    found = check_roster(roster, None, agents_frame(), scenario)
    assert rules_of(found) == {"rest"}
    assert "9.50 h between shifts" in str(found[0])


def test_checker_counts_rest_across_the_week_boundary():
    scenario = small_scenario()
    previous = pd.DataFrame([shift("A", "2026-11-22 16:00")])
    roster = pd.DataFrame([shift("A", "2026-11-23 08:00")])
    assert check_roster(roster, None, agents_frame(), scenario) == []
    found = check_roster(roster, None, agents_frame(), scenario, previous_roster=previous)
    assert rules_of(found) == {"rest"}


def test_checker_finds_too_many_days_and_consecutive_days():
    scenario = small_scenario()
    roster = pd.DataFrame([shift("A", f"2026-11-{23 + d} 08:00", paid=240)
                           for d in range(7)])
    found = check_roster(roster, None, agents_frame(), scenario)
    assert {"days off", "consecutive days"} <= rules_of(found)


def test_checker_contract_night_ok_availability():
    scenario = small_scenario()
    roster = pd.DataFrame([shift("A", "2026-11-23 23:00"), shift("A", "2026-11-25 08:00")])
    agents = agents_frame(night_ok=False, min_hours_week=32.0,
                          availability=["2026-11-25"])
    found = check_roster(roster, None, agents, scenario)
    assert {"night_ok", "availability", "contract minutes"} <= rules_of(found)


def test_checker_skills_and_allocation_in_breaks():
    scenario = small_scenario(interval_min=30)
    roster = pd.DataFrame([shift("A", "2026-11-23 08:00", breaks="12:00-12:30")])
    allocation = pd.DataFrame({
        "interval_start": pd.to_datetime(["2026-11-23 09:00", "2026-11-23 12:00",
                                          "2026-11-23 18:00"], utc=True),
        "agent_id": "A", "queue": ["en_voice", "de_voice", "de_voice"]})
    found = check_roster(roster, allocation, agents_frame(), scenario)
    assert rules_of(found) == {"skills", "allocation in a break", "allocation outside shift"}


def test_checker_local_dates_and_times_must_match():
    scenario = small_scenario()
    row = shift("A", "2026-11-23 08:00")
    row["start_local"] = "2026-11-23T09:00:00+00:00"
    found = check_roster(pd.DataFrame([row]), None, agents_frame(), scenario)
    assert rules_of(found) == {"local time"}


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(["Europe/Lisbon", "Asia/Shanghai", "America/New_York",
                          "Australia/Sydney"]),
    day=st.integers(0, 364),
    minute=st.integers(0, 23 * 60 + 59),
    length=st.integers(240, 630),
)
def test_night_flags_agree_between_catalogue_and_checker(zone, day, minute, length):
    """The catalogue's night flag and the checker's are written separately; they agree."""
    from zoneinfo import ZoneInfo

    from wfm.roster.catalog import _night as catalogue_night

    start = (dt.datetime(2026, 1, 1) + dt.timedelta(days=day, minutes=minute)).replace(
        tzinfo=ZoneInfo(zone))
    end = start + dt.timedelta(minutes=length)
    a = catalogue_night(start, end, 22 * 60, 6 * 60)
    b = _night(pd.Timestamp(start), pd.Timestamp(end), 22 * 60, 6 * 60)
    assert a == b


@settings(max_examples=25, deadline=None)
@given(week=st.integers(0, 51), zone_site=st.sampled_from(["Lisbon", "Boston", "Shenzhen"]))
def test_catalogue_options_are_consistent(week, zone_site):
    """Every option starts in the window, on its local date, with paid = real - lunch."""
    start = dt.date(2026, 1, 5) + dt.timedelta(weeks=week)
    scenario = small_scenario(week_start=start.isoformat())
    catalog = build_catalog(scenario, sites=[zone_site])
    plan = scenario.planning
    for o in catalog.options:
        assert plan.start_utc <= o.start_utc < plan.end_utc
        assert o.start_utc.tz_convert(o.start_local.tzinfo).date() == o.date
        real = (o.end_utc - o.start_utc).total_seconds() / 60
        assert o.paid_min == real - o.lunch_min
        assert abs(real - (o.paid_min + o.lunch_min)) <= 60
    assert np.all([len(catalog.cover[o.index]) > 0 for o in catalog.options])


def test_cli_exit_code_3_names_agents_and_rules(tmp_path, capsys):
    from tests.conftest import REPO
    from wfm.cli import main

    scenario = tmp_path / "no_room.toml"
    scenario.write_text(
        f'base = "{(REPO / "scenarios" / "baseline.toml").as_posix()}"\n'
        'name = "no_room"\n[data]\nsource = "demo"\n[roster.rules]\nmin_days_off = 5\n')
    code = main(["roster", str(scenario), "--out", str(tmp_path / "out"), "--time-limit", "30"])
    err = capsys.readouterr().err
    assert code == 3
    assert "no roster can satisfy the hard rules" in err
    assert "min_days_off=5" in err and "lower min_hours_week" in err
    assert not (tmp_path / "out").exists()


def test_balance_evens_out_nights_without_changing_coverage():
    from collections import Counter

    from wfm.roster.assign import History
    from wfm.roster.topup import balance

    scenario, catalog, infos, groups = two_boston_agents()
    night, day = ft8_by_date(catalog, 22), ft8_by_date(catalog, 9)
    dates = sorted(set(night) & set(day))[1:8]
    a, b = (i.agent_id for i in infos)
    # a works three nights (every other date), b three days later in the week
    shifts = {a: [night[d] for d in dates[0:6:2]], b: [day[d] for d in dates[4:7]]}
    before = Counter(k for ks in shifts.values() for k in ks)
    moves = balance(shifts, catalog, groups, infos, scenario, History(), time_budget_s=5)
    nights = {x: sum(catalog.options[k].night for k in ks) for x, ks in shifts.items()}
    assert moves >= 1 and max(nights.values()) - min(nights.values()) <= 1
    assert Counter(k for ks in shifts.values() for k in ks) == before  # same shifts worked


def test_balance_trades_a_run_of_days_when_no_single_date_can_move():
    from collections import Counter

    from wfm.roster.assign import History
    from wfm.roster.topup import _hand_over, _week_ok, balance

    scenario, catalog, infos, groups = two_boston_agents()
    rules = scenario.roster.rules
    w0, rest_min = scenario.planning.start_utc, rules.min_rest_h * 60
    night, day = ft8_by_date(catalog, 22), ft8_by_date(catalog, 9)
    d = sorted(set(night) & set(day))[1:]
    a, b = infos
    # a: three nights in a row; b: days around a free date. Every single date is either
    # worked by both (a trade puts a day right after a night) or breaks b's rest.
    shifts = {a.agent_id: [night[d[0]], night[d[1]], night[d[2]]],
              b.agent_id: [day[d[0]], day[d[1]], day[d[3]], day[d[4]]]}
    count = {a.agent_id: 3, b.agent_id: 0}
    trial = {k: list(v) for k, v in shifts.items()}
    assert not _hand_over(a, [b], count, "night", trial, catalog, History(), w0, rules,
                          rest_min)
    before = Counter(k for ks in shifts.values() for k in ks)
    moves = balance(shifts, catalog, groups, infos, scenario, History(), time_budget_s=5)
    nights = {x: sum(catalog.options[k].night for k in ks) for x, ks in shifts.items()}
    assert moves >= 1 and max(nights.values()) - min(nights.values()) <= 1
    assert Counter(k for ks in shifts.values() for k in ks) == before  # same shifts worked
    for agent in (a, b):
        assert _week_ok(agent, shifts[agent.agent_id], catalog, History(), w0, rules, rest_min)


def test_a_three_day_plan_holds_three_sevenths_of_the_contract():
    scenario = small_scenario(time_limit=10)
    scenario = dataclasses.replace(scenario, planning=dataclasses.replace(scenario.planning,
                                                                          days=3))
    agents = small_agents()
    req = requirement(scenario, {("en", "voice"): 3, ("de", "voice"): 2}, ZONES)
    result = solve_roster(req, agents, scenario)
    assert check_roster(result.roster, result.allocation, agents, scenario) == []
    per_agent = result.roster.groupby("agent_id")["paid_min"].sum()
    assert per_agent.max() <= 40 * 60 * 3 / 7
    assert result.roster.groupby("agent_id").size().max() <= 3


def test_a_group_model_without_answer_falls_back_to_one_agent_at_a_time(monkeypatch):
    import wfm.roster as roster_mod
    from wfm.roster.assign import SiteAssignment

    real = roster_mod.assign_group

    def no_answer_for_groups(g, catalog, groups, *args, **kw):
        if groups[g].size > 1:  # the group's model "times out" without a solution
            return SiteAssignment({}, "UNKNOWN", float("nan"), float("nan"), 0.0, {}, [])
        return real(g, catalog, groups, *args, **kw)

    monkeypatch.setattr(roster_mod, "assign_group", no_answer_for_groups)
    scenario = small_scenario(time_limit=10)
    agents = small_agents()
    req = requirement(scenario, {("en", "voice"): 3, ("de", "voice"): 2}, ZONES)
    result = solve_roster(req, agents, scenario)
    assert check_roster(result.roster, result.allocation, agents, scenario) == []
    assert result.roster["agent_id"].nunique() == len(agents)


def test_the_assignment_evens_nights_out_without_missing_more_of_the_counts(monkeypatch):
    """Two stages: the counts alone, then fairness on top without missing more of them.
    Hinted with a week where one agent has every night, the first stage keeps that week
    (it meets every count); the second spreads the nights over the group."""
    import sys

    from wfm.roster import _realised
    from wfm.roster.assign import History
    from wfm.roster.catalog import agent_infos, make_groups
    from wfm.roster.neighbourhood import soft_goals

    assign_module = sys.modules["wfm.roster.assign"]
    scenario = small_scenario()
    agents = small_agents(n_lisbon=0, n_boston=3).assign(
        night_ok=True, languages=[["en"]] * 3, contract_hours_week=40.0, min_hours_week=0.0)
    catalog = build_catalog(scenario, sites=["Boston"])
    infos = agent_infos(agents, scenario, catalog)
    groups = make_groups(infos)
    night, day = ft8_by_date(catalog, 22), ft8_by_date(catalog, 9)
    d = sorted(day)
    counts = {(0, night[d[j]]): 1 for j in (0, 2, 4)}
    counts.update({(0, day[d[j]]): 2 for j in (0, 2, 4)})
    first, second, third = (a.agent_id for a in infos)
    hint = {first: [night[d[j]] for j in (0, 2, 4)],
            second: [day[d[j]] for j in (0, 2, 4)], third: [day[d[j]] for j in (0, 2, 4)]}

    def solve():
        return assign_module.assign_group(0, catalog, groups, infos, counts, scenario,
                                          History(), time_limit_s=10, num_workers=2,
                                          hint_shifts=hint)

    def missing(result):
        realised = _realised(result.shifts, groups, infos)
        return sum(max(n - realised.get(key, 0), 0) for key, n in counts.items())

    monkeypatch.setattr(assign_module, "SECOND_STAGE_SHARE", 0.0)  # the counts alone
    alone = solve()
    monkeypatch.undo()
    both = solve()
    nights = [sum(catalog.options[k].night for k in both.shifts[a.agent_id]) for a in infos]
    assert missing(alone) == missing(both) == 0
    assert max(nights) - min(nights) <= 1
    assert soft_goals(both.shifts, catalog, groups, infos, scenario)["night spread"] < \
        soft_goals(alone.shifts, catalog, groups, infos, scenario)["night spread"]


def test_bench_mip_bound_is_stronger_than_the_lp():
    # min x + y with 2x + 2y >= 3: the LP reaches 1.5, whole numbers need 2
    from tests.conftest import load_benchmark
    from wfm.roster.linear import LinearModel

    bench = load_benchmark("roster_bench")
    lm = LinearModel()
    x, y = lm.var(0, 5, "x", cost=1.0), lm.var(0, 5, "y", cost=1.0)
    lm.add([x, y], [2, 2], lo=3, name="cover")
    assert lm.solve_lp(10).objective == pytest.approx(1.5)
    mip = bench.mip_bound(lm, 10)
    assert mip["bound"] == pytest.approx(2.0) and mip["best"] == pytest.approx(2.0)


def test_bench_night_floors_make_every_class_work_its_share_of_nights():
    from tests.conftest import load_benchmark

    bench = load_benchmark("roster_bench")
    scenario = small_scenario()
    agents = small_agents(n_lisbon=3, n_boston=4).assign(night_ok=True)
    req = requirement(scenario, {("en", "voice"): 4, ("de", "voice"): 2}, ZONES)
    catalog, infos, groups, _, agg = aggregate_of(scenario, agents, req)
    floors = {"Boston": 2, "Lisbon": 1}
    fair = bench.with_night_floors(agg.lm, agg, groups, infos, catalog, scenario, floors)
    plain, floored = agg.lm.solve_lp(60), fair.solve_lp(60)
    assert len(agg.lm.rows) < len(fair.rows)  # the model given is not changed
    assert floored.objective >= plain.objective - 1e-6  # a bound of fewer rosters
    for (g, c), night_vars in agg.class_nights.items():
        members = [a for a in (infos[i] for i in groups[g].members)
                   if (a.max_paid_min, a.max_shifts, a.night_ok) == c]
        assert floored.x[night_vars].sum() >= floors[groups[g].site] * len(members) - 1e-6
