"""The `wfm` command through main([...]): help, exit codes, ingest, run, demo."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO
from tests.test_io import interval_csv
from wfm.cli import build_parser, main
from wfm.store import Store


def test_help_for_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Exit codes" in out
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert main([name, "--help"]) == 0, name
        assert "usage: wfm" in capsys.readouterr().out


def test_usage_error_is_exit_2(capsys):
    assert main(["ingest"]) == 2
    assert "required" in capsys.readouterr().err


def test_ingest_good_then_same_file_again(tmp_path, capsys):
    path = interval_csv(tmp_path, ["2026-03-02T09:00:00Z,US,en,voice,12,300"])
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(path), "--store", str(store)]) == 0
    assert "ingested 1 rows" in capsys.readouterr().out
    assert main(["ingest", str(path), "--store", str(store), "--format", "interval"]) == 0
    assert "already ingested" in capsys.readouterr().out


def test_ingest_bad_file_is_exit_2_naming_the_line(tmp_path, capsys):
    path = interval_csv(tmp_path, ["2026-03-02T09:00:00Z,US,en,voice,12,300",
                                   "not-a-time,US,en,voice,12,300"])
    store = tmp_path / "s.duckdb"
    assert main(["ingest", str(path), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}" in err and "line 3" in err
    with Store(store) as s:
        assert s.counts()["history"] == 0 and s.counts()["ingests"] == 0


def test_run_unknown_scenario_and_missing_store(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "no_such_scenario"]) == 2
    assert "scenario 'no_such_scenario' not found" in capsys.readouterr().err
    shutil.copy(REPO / "scenarios" / "baseline.toml", tmp_path / "baseline.toml")
    assert main(["run", "baseline.toml", "--store", str(tmp_path / "none.duckdb")]) == 2
    assert "does not exist; run `wfm demo`" in capsys.readouterr().err


def test_bad_scenario_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    base = (REPO / "scenarios" / "baseline.toml").as_posix()
    bad.write_text(f'base = "{base}"\n[targets]\nshrinkage = 3\n')
    assert main(["run", str(bad)]) == 2
    assert "key 'targets.shrinkage'" in capsys.readouterr().err


def test_run_on_the_demo_store(demo_store, tmp_path, capsys):
    out = tmp_path / "run"
    work = tmp_path / "store.duckdb"
    shutil.copy(demo_store, work)
    code = main(["run", "baseline", "--store", str(work), "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "contacts per market and language" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["history"]["series"] == 20
    assert {b["market"] for b in summary["busiest_hours"]} >= {"US", "JP", "AU"}
    assert (out / "scenario.toml").read_text().count("[[markets]]") == 13
    # the run is recorded in the store
    with Store(work) as store:
        runs = store.runs()
    assert runs.loc[0, "scenario"] == "baseline" and runs.loc[0, "status"] == "done"


@pytest.mark.slow
def test_demo_from_scratch(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--store", "w.duckdb", "--out", "out"]) == 0
    text = capsys.readouterr().out
    assert "demo world built into w.duckdb" in text and "busiest hour" in text
    assert (tmp_path / "out" / "summary.json").is_file()
    assert main(["demo", "--store", "w.duckdb", "--out", "out"]) == 0
    assert "already in w.duckdb" in capsys.readouterr().out


def test_a_failed_run_is_recorded_as_failed(demo_store, tmp_path, monkeypatch):
    from wfm import pipeline
    from wfm import scenario as scenario_mod

    work = tmp_path / "store.duckdb"
    shutil.copy(demo_store, work)

    def broken(ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "STAGES", [("history summary", broken)])
    scenario = scenario_mod.load(REPO / "scenarios" / "baseline.toml")
    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline.run(scenario, tmp_path / "out", store_path=work)
    assert not (tmp_path / "out").exists()
    with Store(work) as store:
        status = store.con.execute("SELECT status FROM runs").fetchall()
    assert status == [("failed: RuntimeError: disk on fire",)]
