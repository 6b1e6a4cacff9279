"""Tests of wfm.report (`wfm report`) and wfm.compare (`wfm compare`)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tests.test_coverage import synthetic_roster, write_run
from tests.test_staffing import as_forecast
from wfm import compare, pipeline, report, staffing
from wfm import scenario as scenario_mod
from wfm.cli import main
from wfm.errors import InputError


@pytest.fixture(scope="module")
def runs(tmp_path_factory, demo_world, baseline):
    """Baseline and black_friday run folders with the same roster (made for the baseline):
    the what-if raises US and GB volume by 60 % and nobody is added."""
    black_friday = scenario_mod.load(REPO / "scenarios" / "black_friday.toml")
    forecast = as_forecast(demo_world.history, baseline.planning.start_utc)
    req = staffing.requirements(forecast, baseline)
    roster, alloc, agents = synthetic_roster(req, baseline)
    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for sc in (baseline, black_friday):
        r = staffing.requirements(forecast, sc)
        out[sc.name] = folder / sc.name
        write_run(out[sc.name], sc, forecast, r, roster, alloc, agents)
    return out


# -- the report ---------------------------------------------------------------------------


def test_report_is_self_contained_html_with_the_charts(runs):
    summary, frames = pipeline.read_bundle(runs["baseline"])
    text = report.report_html(summary, frames)
    assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"(src|href)\s*=", text)
    assert set(re.findall(r"https?://[^'\" ]+", text)) <= {"http://www.w3.org/2000/svg"}
    queues = sorted(frames["coverage"]["queue"].unique())
    for heading in ("SLA attainment per market (week", "Required vs scheduled per queue",
                    "Gap per queue: day x hour (UTC)", "Gap per market: day x hour",
                    "SLA attainment per market and local day", "Worst intervals"):
        assert heading in text
    # one line chart and one heatmap per queue, one heatmap per market, one bar chart
    n_markets = frames["sla_weekly"]["market"].nunique()
    assert text.count("<svg") == 2 * len(queues) + n_markets + 1
    for q in queues:
        assert f"<figcaption>{q}</figcaption>" in text
    assert "<figcaption>AU (Australia/Sydney)</figcaption>" in text


def test_report_numbers_match_the_coverage(runs):
    summary, frames = pipeline.read_bundle(runs["baseline"])
    text = report.report_html(summary, frames)
    weekly = frames["sla_weekly"]
    us = weekly[(weekly["market"] == "US") & (weekly["channel"] == "all")].iloc[0]
    assert f"US projected: {100 * us['service_level']:.1f} %" in text  # bar tooltip
    assert f"{summary['coverage']['headcount']}</b> agents rostered" in text


def test_report_without_coverage_is_an_input_error(runs, tmp_path, capsys):
    summary, frames = pipeline.read_bundle(runs["baseline"])
    with pytest.raises(InputError, match="no coverage"):
        report.report_html({k: v for k, v in summary.items() if k != "coverage"}, frames)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "summary.json").write_text(json.dumps({"run": {}}))
    assert main(["report", str(bare)]) == 2
    assert "no coverage" in capsys.readouterr().err


def test_cli_report_writes_html_and_prints_the_key_table(runs, capsys):
    assert main(["report", str(runs["baseline"])]) == 0
    out = capsys.readouterr().out
    assert (runs["baseline"] / "report.html").is_file()
    assert "SLA attainment per market and channel" in out
    lines = [line.split() for line in out.splitlines()]
    rows = {(p[0], p[1]): p for p in lines if len(p) > 4 and p[1] in ("voice", "chat", "all")}
    weekly = pd.read_parquet(runs["baseline"] / "sla_weekly.parquet")
    assert len(rows) == len(weekly)
    jp = weekly[(weekly["market"] == "JP") & (weekly["channel"] == "voice")].iloc[0]
    assert rows[("JP", "voice")][3] == f"{100 * jp['service_level']:.1f}"
    assert "coverage:" in out


def test_day_hour_averages_each_hour_on_the_local_clock():
    times = pd.Series(pd.date_range("2026-11-23", periods=96, freq="30min", tz="UTC"))
    values = pd.Series(np.arange(96, dtype=float))
    m, labels = report.day_hour(values, times)
    assert m.shape == (2, 24) and labels == ["Mon 11-23", "Tue 11-24"]
    assert m[0, 0] == 0.5 and m[1, 23] == 94.5
    tokyo, labels = report.day_hour(values, times, "Asia/Tokyo")  # UTC+9
    assert labels[0] == "Mon 11-23" and np.isnan(tokyo[0, :9]).all()
    assert tokyo[0, 9] == 0.5


def test_market_gap_sums_the_queues_that_serve_it():
    t = pd.Timestamp("2026-11-23 10:00", tz="UTC")
    cov = pd.DataFrame({"interval_start": [t, t, t], "queue": ["en_voice", "en_chat", "de_voice"],
                        "gap": [-2.0, 1.0, 3.0]})
    markets = pd.DataFrame({"interval_start": [t, t, t], "market": ["US", "US", "DE"],
                            "timezone": ["America/New_York", "America/New_York",
                                         "Europe/Berlin"],
                            "queue": ["en_voice", "en_chat", "de_voice"]})
    gaps = report.market_gaps(cov, markets).set_index("market")["gap"]
    assert gaps["US"] == -1.0 and gaps["DE"] == 3.0


def test_svg_helpers_escape_labels_and_handle_nan():
    svg = report.svg_heatmap(np.array([[np.nan, -1.0, 2.0]]), ["<x>"], col_labels=["a", "b", "c"])
    assert "&lt;x&gt;" in svg and "<x>" not in svg and "no data" in svg
    bars = report.svg_bars(["A&B"], [("run", [np.nan], "#000")], [0.8])
    assert "A&amp;B" in bars
    assert report.diverging(-10, 2) != report.diverging(10, 2)
    assert report.diverging(0, 2) == "#ffffff"


# -- compare ------------------------------------------------------------------------------


def test_compare_moves_the_way_the_black_friday_whatif_implies(runs):
    a, b = compare.load_run(runs["baseline"]), compare.load_run(runs["black_friday"])
    table = compare.compare(a, b).set_index("metric")
    print("\n" + compare.table_text(compare.compare(a, b), a, b))
    # the same roster: same headcount and paid hours
    assert table.loc["agents rostered", "change"] == 0
    assert table.loc["paid hours", "change"] == 0
    # US and GB +60 %: more contacts and required hours, worse service where en is served
    assert table.loc["contacts", "change"] > 0
    assert table.loc["required headcount-hours", "change"] > 0
    for m in ("US", "GB", "AU"):  # AU shares the pooled English queues
        assert table.loc[f"SLA attainment {m}", "change"] < 0
        assert table.loc[f"hours below target {m}", "change"] >= 0
    for m in ("DE", "FR", "JP", "BR"):
        assert table.loc[f"SLA attainment {m}", "change"] == pytest.approx(0, abs=1e-9)
    assert table.loc["projected service level", "change"] < 0
    assert table.loc["queue-hours below target", "change"] > 0


def test_cli_compare_prints_the_table_and_writes_html(runs, tmp_path, capsys):
    out = tmp_path / "cmp.html"
    assert main(["compare", str(runs["baseline"]), str(runs["black_friday"]), "--out",
                 str(out)]) == 0
    text = capsys.readouterr().out
    assert "baseline" in text and "black_friday" in text
    assert "SLA attainment US" in text and "nights per agent spread, Lisbon" in text
    page = out.read_text()
    assert "<svg" in page and "<script" not in page
    assert "SLA attainment US" in page and "class='no'" in page
    assert main(["compare", str(runs["baseline"]), str(runs["black_friday"])]) == 0
    assert (runs["black_friday"].parent / "compare_baseline_vs_black_friday.html").is_file()


def test_compare_a_run_without_coverage_is_exit_2(runs, tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "summary.json").write_text(json.dumps({"run": {"scenario": "x"}}))
    assert main(["compare", str(runs["baseline"]), str(bare)]) == 2
    assert "no coverage section" in capsys.readouterr().err
