"""TOML scenarios: base + overrides, frozen dataclasses, errors that name file and key."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import REPO
from wfm import scenario
from wfm.errors import ScenarioError

MINIMAL = """
name = "mini"
[planning]
week_start = 2026-11-23
[[markets]]
code = "US"
timezone = "America/New_York"
languages = ["en"]
[[sites]]
name = "Boston"
timezone = "America/New_York"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    return info.value


def test_every_shipped_scenario_loads():
    files = scenario.list_scenarios(REPO / "scenarios")
    assert files[0].stem == "baseline" and len(files) >= 3
    for path in files:
        s = scenario.load(path)
        assert s.planning.week_start == dt.date(2026, 11, 23)
        assert len(s.markets) >= 10 and len(s.sites) == 3


def test_baseline_values(baseline):
    assert baseline.planning.interval_min == 30
    assert baseline.targets.voice.target_service_level == 0.8
    assert baseline.targets.voice.answer_target_s == 20
    assert baseline.targets.chat.concurrency == 2
    assert baseline.targets.shrinkage == 0.3
    assert baseline.market("AU").timezone == "Australia/Sydney"
    assert baseline.site("Lisbon").zone.key == "Europe/Lisbon"
    assert baseline.planning.start_utc.isoformat() == "2026-11-23T00:00:00+00:00"
    assert {"en", "de", "fr", "es", "pt", "ja", "ko", "ar", "tr"} == set(baseline.languages)


def test_what_ifs_override_the_base(baseline):
    bf = scenario.load(REPO / "scenarios" / "black_friday.toml")
    assert bf.name == "black_friday"
    assert bf.whatif.volume[0].markets == ("US", "GB") and bf.whatif.volume[0].factor == 1.6
    # everything else comes from the base
    assert bf.markets == baseline.markets and bf.roster == baseline.roster
    assert bf.fingerprint != baseline.fingerprint
    strict = scenario.load(REPO / "scenarios" / "arabic_strict.toml")
    assert strict.targets.overrides[0].target_asa_s == 15
    assert strict.targets.voice == baseline.targets.voice
    assert [p for p, _ in strict.texts][-1].endswith("arabic_strict.toml")


def test_scenarios_are_frozen_and_hashable(baseline):
    with pytest.raises(dataclasses.FrozenInstanceError):
        baseline.name = "x"
    assert hash(baseline.targets) == hash(scenario.load(REPO / "scenarios/baseline.toml").targets)


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path):
    path = write(tmp_path, "s.toml", MINIMAL + "\n[targets.voice]\nservice_levl = 0.8\n")
    err = error_of(path)
    msg = str(err)
    assert f"{path}: key 'targets.voice.service_levl': unknown key" in msg
    assert "allowed keys here: target_service_level, answer_target_s" in msg


def test_did_you_mean(tmp_path):
    path = write(tmp_path, "s.toml", MINIMAL.replace("[planning]", "[planing]"))
    msg = str(error_of(path))
    assert "key 'planing': unknown key (did you mean 'planning'?)" in msg
    assert "key 'planning': missing; expected a table" in msg


def test_bad_values_say_what_is_allowed(tmp_path):
    text = MINIMAL + """
[targets]
shrinkage = 1.5
[targets.voice]
target_service_level = 80
[roster]
num_workers = "eight"
"""
    err = error_of(write(tmp_path, "s.toml", text))
    msg = str(err)
    assert len(err.problems) == 3
    assert "key 'targets.voice.target_service_level': got 80; expected a fraction in [0, 1] " \
           "(0.8 for 80 %)" in msg
    assert "key 'targets.shrinkage': got 1.5; expected a fraction in [0, 1)" in msg
    assert "key 'roster.num_workers': expected an integer, got 'eight'" in msg


def test_bad_time_zone_and_interval(tmp_path):
    text = MINIMAL.replace("America/New_York\"\nlanguages", "America/Nowhere\"\nlanguages")
    text = text.replace("week_start = 2026-11-23", "week_start = 2026-11-23\ninterval_min = 20")
    msg = str(error_of(write(tmp_path, "s.toml", text)))
    assert "key 'markets[0].timezone': got 'America/Nowhere'; expected an IANA time zone" in msg
    assert "key 'planning.interval_min': got 20; expected one of 15, 30, 60" in msg


def test_cross_references_are_checked(tmp_path):
    text = MINIMAL + """
[[whatif.volume]]
markets = ["XX"]
factor = 1.2
[[roster.templates]]
name = "FT"
paid_min = 480
sites = ["Paris"]
earliest_start = "10:00"
latest_start = "08:00"
"""
    msg = str(error_of(write(tmp_path, "s.toml", text)))
    assert "key 'whatif.volume[0].markets': unknown market 'XX'; known: US" in msg
    assert "key 'roster.templates[0].sites': unknown site 'Paris'; known: Boston" in msg
    assert "key 'roster.templates[0].latest_start': 08:00 is before earliest_start 10:00" in msg


def test_errors_in_the_base_name_the_base_file(tmp_path):
    base = write(tmp_path, "base.toml", MINIMAL + "\n[targets]\nshrinkage = -0.1\n")
    child = write(tmp_path, "child.toml", 'base = "base.toml"\nname = "child"\n')
    msg = str(error_of(child))
    assert f"{base}: key 'targets.shrinkage'" in msg


def test_missing_base_cycle_and_bad_toml(tmp_path):
    child = write(tmp_path, "child.toml", 'base = "nope.toml"\n')
    assert "key 'base': file" in str(error_of(child)) and "not found" in str(error_of(child))
    a = write(tmp_path, "a.toml", 'base = "b.toml"\n')
    write(tmp_path, "b.toml", 'base = "a.toml"\n')
    assert "'base' makes a cycle" in str(error_of(a))
    bad = write(tmp_path, "bad.toml", "name = \n")
    assert "not valid TOML" in str(error_of(bad))
    assert "scenario file not found" in str(error_of(tmp_path / "missing.toml"))


def test_loads_from_text_with_a_base(tmp_path):
    write(tmp_path, "base.toml", MINIMAL)
    s = scenario.loads('base = "base.toml"\n[targets]\nshrinkage = 0.25\n', name="edit",
                       base_dir=tmp_path)
    assert s.name == "edit" and s.targets.shrinkage == 0.25 and s.markets[0].code == "US"


@pytest.mark.parametrize("name", ["../evil", "a/b", "", "Black Friday", ".hidden", "x" * 70])
def test_unsafe_scenario_names_are_refused(tmp_path, name):
    with pytest.raises(ScenarioError, match="is not allowed"):
        scenario.safe_scenario_path(name, tmp_path)


def test_safe_scenario_name(tmp_path):
    assert scenario.safe_scenario_path("black_friday-2", tmp_path) == (
        tmp_path / "black_friday-2.toml").resolve()
