"""Published rosters (store, `wfm publish`), recorded runs, and atomic writes: a run, an
export or a report killed in the middle of writing leaves no partial result."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from tests.test_coverage import make_shifts, write_run
from wfm import export, pipeline, schema
from wfm.cli import main
from wfm.errors import InputError
from wfm.store import Store

WEEK = dt.date(2026, 11, 23)


def week_roster(week: dt.date, zones: dict[str, str], *, hour: int = 8, agents=("A1", "A2")):
    """A small roster of the week starting ``week``: each agent works Mon-Fri."""
    specs = [(a, "Lisbon", f"{week + dt.timedelta(days=d)} {hour:02d}:00", 510, (240, 30),
              "en_voice") for a in agents for d in range(5)]
    return make_shifts(specs, zones)


def small_requirement(week: dt.date) -> pd.DataFrame:
    grid = pd.date_range(pd.Timestamp(week, tz="UTC"), periods=7 * 48, freq="30min")
    req = pd.DataFrame({"interval_start": grid, "queue": "en_voice", "language": "en",
                        "channel": "voice", "contacts": 10.0, "aht_s": 240.0})
    req["traffic_erl"] = req["contacts"] * req["aht_s"] / 1800.0
    req["agents"], req["headcount"] = np.int64(3), np.int64(5)
    req["service_level"], req["asa_s"], req["occupancy"] = 0.85, 8.0, 0.44
    req["target_service_level"], req["target_answer_s"], req["target_asa_s"] = 0.8, 20.0, 20.0
    return req


@pytest.fixture()
def run_dir(tmp_path, baseline):
    roster, alloc = week_roster(WEEK, baseline.site_zones)
    agents = pd.DataFrame({"agent_id": ["A1", "A2"], "site": "Lisbon",
                           "languages": [["en"], ["en"]], "contract_hours_week": 40.0,
                           "min_hours_week": 0.0, "role": "front_line", "night_ok": False,
                           "availability": [[], []]})
    out = tmp_path / "run"
    write_run(out, baseline, None, small_requirement(WEEK), roster, alloc, agents)
    return out


# -- the store ----------------------------------------------------------------------------


def test_publish_versions_and_published_versions_never_change(tmp_path, baseline):
    v1_roster, _ = week_roster(WEEK, baseline.site_zones)
    v2_roster, _ = week_roster(WEEK, baseline.site_zones, hour=9)
    with Store(tmp_path / "s.duckdb") as store:
        assert store.published_roster(WEEK) is None
        assert store.publish_roster(v1_roster, week_start=WEEK, run_id="r1") == 1
        first = store.published_roster(WEEK)
        pd.testing.assert_frame_equal(first, schema.sort_frame(v1_roster, "roster"),
                                      check_dtype=False)
        schema.validate(first, "roster")
        assert store.publish_roster(v2_roster, week_start=WEEK, run_id="r2") == 2
        latest = store.published_roster(WEEK)
        assert (latest["start_utc"].dt.hour == 9).all()
        # version 1 is exactly what was published first
        pd.testing.assert_frame_equal(store.published_roster(WEEK, version=1), first)
        # publishing the same roster again is a new version with the same content hash
        assert store.publish_roster(v1_roster, week_start=WEEK) == 3
        versions = store.published_versions(WEEK)
        assert list(versions["version"]) == [3, 2, 1]
        sha = versions.set_index("version")["sha256"]
        assert sha[1] == sha[3] != sha[2]
        assert list(versions.set_index("version")["run_id"].fillna("")) == ["", "r2", "r1"]
        assert store.published_roster(WEEK, version=7) is None


def test_previous_week_is_found_by_its_start_date_in_any_form(tmp_path, baseline):
    previous = WEEK - dt.timedelta(days=7)
    roster, _ = week_roster(previous, baseline.site_zones)
    with Store(tmp_path / "s.duckdb") as store:
        store.publish_roster(roster, week_start=previous)
        for key in (previous, "2026-11-16", pd.Timestamp("2026-11-16", tz="UTC"),
                    pd.Timestamp(WEEK) - pd.Timedelta(days=7)):
            got = store.published_roster(key)
            assert got is not None and len(got) == len(roster)
        assert store.published_roster(WEEK) is None
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        assert len(store.published_roster(previous)) == len(roster)


def test_a_roster_of_another_week_is_refused_and_nothing_is_written(tmp_path, baseline):
    roster, _ = week_roster(WEEK + dt.timedelta(days=14), baseline.site_zones)
    with Store(tmp_path / "s.duckdb") as store:
        with pytest.raises(InputError, match="start outside the week of 2026-11-23"):
            store.publish_roster(roster, week_start=WEEK)
        assert store.published_versions().empty
        with pytest.raises(InputError, match="roster frame has"):
            store.publish_roster(roster.drop(columns="site"), week_start=WEEK)
        with pytest.raises(InputError, match="is not a date"):
            store.publish_roster(roster, week_start="next monday")


def test_a_failure_inside_the_publish_transaction_leaves_no_version(tmp_path, baseline):
    roster, _ = week_roster(WEEK, baseline.site_zones)

    class Failing:
        """The store's connection, except that registering the shifts fails."""

        def __init__(self, con):
            self._con = con

        def register(self, *args):
            raise duckdb.IOException("disk gone")

        def __getattr__(self, name):
            return getattr(self._con, name)

    with Store(tmp_path / "s.duckdb") as store:
        real = store.con
        store.con = Failing(real)
        with pytest.raises(duckdb.IOException):
            store.publish_roster(roster, week_start=WEEK)
        store.con = real
        assert store.published_versions().empty
        assert store.counts()["published_shifts"] == 0
        assert store.publish_roster(roster, week_start=WEEK) == 1


def test_an_old_store_without_the_tables_has_nothing_published(tmp_path):
    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()
    with Store(path, read_only=True) as store:
        assert store.published_roster(WEEK) is None
        assert store.published_versions().empty


def test_cli_publish_stores_the_run_roster_and_marks_the_folder(run_dir, tmp_path, capsys):
    store = tmp_path / "pub.duckdb"
    assert main(["publish", str(run_dir), "--store", str(store)]) == 0
    assert "as version 1 of the week of 2026-11-23" in capsys.readouterr().out
    assert main(["publish", str(run_dir), "--store", str(store)]) == 0
    assert "as version 2" in capsys.readouterr().out
    mark = json.loads((run_dir / "published.json").read_text())
    assert mark["version"] == 2 and mark["week_start"] == "2026-11-23" and mark["shifts"] == 10
    with Store(store, read_only=True) as s:
        got = s.published_roster(WEEK)
        assert set(s.published_versions()["run_id"]) == {"baseline-test"}
    roster = pd.read_parquet(run_dir / "roster.parquet")
    assert len(got) == len(roster)
    assert (got["start_utc"].to_numpy() == schema.sort_frame(roster, "roster")["start_utc"]
            .to_numpy()).all()


def test_cli_publish_of_a_run_without_roster_is_exit_2(tmp_path, capsys):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "summary.json").write_text(json.dumps({"run": {}}))
    assert main(["publish", str(bare), "--store", str(tmp_path / "s.duckdb")]) == 2
    assert "no roster" in capsys.readouterr().err


def test_run_week_falls_back_to_the_requirement():
    req = small_requirement(WEEK)
    assert export.run_week({}, {"requirement": req}) == (WEEK, 7)
    with pytest.raises(InputError, match="planning week"):
        export.run_week({}, {})


# -- runs are recorded ------------------------------------------------------------------------


def test_every_run_is_recorded_with_scenario_text_times_outputs_and_summary(
        tmp_path, baseline, monkeypatch):
    def stage(ctx):
        ctx.frames["requirement"] = small_requirement(WEEK)
        ctx.summary["coverage"] = {"service_level": 0.9}

    monkeypatch.setattr(pipeline, "STAGES", [("one stage", stage)])
    inputs = pipeline.Inputs(pd.DataFrame(), pd.DataFrame(), source="test")
    store = tmp_path / "s.duckdb"
    result = pipeline.run(baseline, tmp_path / "out", store_path=store, inputs=inputs)
    with Store(store, read_only=True) as s:
        record = s.run_record(result.run_id)
        assert s.run_record("nope") is None
    assert record["scenario"] == "baseline" and record["status"] == "done"
    assert "[planning]" in record["scenario_text"] and "week_start = 2026-11-23" in (
        record["scenario_text"])
    assert record["started_at"] <= record["finished_at"]
    assert record["outputs"]["requirement"] == "requirement.parquet"
    assert record["summary"]["coverage"] == {"service_level": 0.9}
    assert record["out_dir"] == str(tmp_path / "out")


# -- atomic writes: killed in the middle ------------------------------------------------------

_CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    import pandas as pd
    from wfm import export, pipeline, scenario

    what, target, tag = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

    def pause(*args, **kwargs):
        print("MIDWRITE", flush=True)
        sys.stdin.readline()  # blocks until the parent kills this process

    if what == "bundle":
        sc = scenario.load(sys.argv[4])
        ctx = pipeline.RunContext(sc, pipeline.Inputs(pd.DataFrame(), pd.DataFrame()))
        for name in ("a", "b", "c"):
            ctx.frames[name] = pd.DataFrame({"tag": [tag] * 1000, "x": range(1000)})
        ctx.summary["run"] = {"run_id": tag}
        original = pd.DataFrame.to_parquet
        calls = []

        def to_parquet(self, *args, **kwargs):
            original(self, *args, **kwargs)
            calls.append(1)
            if len(calls) == 2 and tag == "second":
                pause()

        pd.DataFrame.to_parquet = to_parquet
        pipeline.write_bundle(target, ctx)
    elif what == "file":
        if tag == "second":
            os.fsync = pause  # the data is in the temporary file, not yet renamed
        export.write_bytes_atomic(target, (tag + "\\n") * 100000)
    elif what == "folder":
        files = {f"agents/a{i}.ics": tag for i in range(5)}
        if tag == "second":
            original = Path.write_bytes
            def write_bytes(self, data):
                original(self, data)
                if self.name == "a2.ics":
                    pause()
            Path.write_bytes = write_bytes
        export.write_folder_atomic(target, files)
    print("DONE", flush=True)
""")


def _child(what: str, target, tag: str, *extra: str, kill: bool):
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, what, str(target), tag, *extra],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
    line = proc.stdout.readline().strip()
    if kill:
        assert line == "MIDWRITE"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
    else:
        assert line == "DONE"
        proc.communicate(timeout=60)
        assert proc.returncode == 0


def test_a_run_killed_while_writing_its_bundle_leaves_the_previous_result(tmp_path):
    out = tmp_path / "run"
    scenario_file = str(REPO / "scenarios" / "baseline.toml")
    # killed during the very first write: no result at all, only a hidden partial folder
    _child("bundle", out, "second", scenario_file, kill=True)
    assert not out.exists()
    assert [p.name.startswith(".run.partial-") for p in tmp_path.iterdir()] == [True]
    with pytest.raises(InputError, match="not a run folder"):
        pipeline.read_bundle(out)
    # a complete run, then one killed mid-write: the complete one is still the result
    _child("bundle", out, "first", scenario_file, kill=False)
    _child("bundle", out, "second", scenario_file, kill=True)
    summary, frames = pipeline.read_bundle(out)
    assert summary["run"]["run_id"] == "first"
    assert set(frames) == {"a", "b", "c"}
    assert all((f["tag"] == "first").all() and len(f) == 1000 for f in frames.values())
    partial = [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert len(partial) == 2 and any((p / "a.parquet").exists() for p in partial)


def test_an_export_killed_while_writing_leaves_the_previous_file(tmp_path):
    target = tmp_path / "roster.csv"
    _child("file", target, "first", kill=False)
    _child("file", target, "second", kill=True)
    text = target.read_text()
    assert text == "first\n" * 100000
    leftovers = [p for p in tmp_path.iterdir() if p.name != "roster.csv"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".roster.csv.partial-")
    assert leftovers[0].stat().st_size == len("second\n") * 100000  # written, never renamed


def test_an_ics_export_killed_while_writing_leaves_the_previous_folder(tmp_path):
    target = tmp_path / "ics"
    _child("folder", target, "first", kill=False)
    _child("folder", target, "second", kill=True)
    files = sorted(p.name for p in (target / "agents").iterdir())
    assert files == [f"a{i}.ics" for i in range(5)]
    assert {(target / "agents" / f).read_text() for f in files} == {"first"}


def test_a_run_that_fails_while_writing_cleans_up_and_keeps_the_previous_result(
        tmp_path, baseline, monkeypatch):
    ctx = pipeline.RunContext(baseline, pipeline.Inputs(pd.DataFrame(), pd.DataFrame()))
    ctx.frames = {"a": pd.DataFrame({"x": [1]}), "b": pd.DataFrame({"x": [2]})}
    ctx.summary = {"run": {"run_id": "old"}}
    out = tmp_path / "run"
    pipeline.write_bundle(out, ctx)
    original = pd.DataFrame.to_parquet

    def to_parquet(self, path, *args, **kwargs):
        if str(path).endswith("b.parquet"):
            raise OSError("no space left on device")
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    ctx.summary = {"run": {"run_id": "new"}}
    with pytest.raises(OSError, match="no space"):
        pipeline.write_bundle(out, ctx)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert json.loads((out / "summary.json").read_text())["run"]["run_id"] == "old"
