"""The data contract: every InputError path of schema.validate, with its message."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfm import schema
from wfm.errors import InputError


def history(n=4, **overrides) -> pd.DataFrame:
    df = pd.DataFrame({
        "interval_start": pd.date_range("2026-03-02", periods=n, freq="h", tz="UTC"),
        "market": "US",
        "language": "en",
        "channel": "voice",
        "contacts": np.arange(n, dtype="int64") + 3,
        "aht_s": 300.0,
    })
    for k, v in overrides.items():
        df[k] = v
    return df


def problems_of(df, kind="history", **kw) -> str:
    with pytest.raises(InputError) as info:
        schema.validate(df, kind, **kw)
    return str(info.value)


def test_valid_history_passes_and_is_not_modified():
    df = history()
    before = df.copy()
    assert schema.validate(df, "history") is df
    pd.testing.assert_frame_equal(df, before)


def test_missing_columns_are_named():
    msg = problems_of(history().drop(columns=["contacts", "aht_s"]))
    assert "missing columns contacts, aht_s" in msg
    assert "a history frame needs interval_start, market, language, channel, contacts" in msg


def test_wrong_dtype_names_column_expected_and_found():
    msg = problems_of(history(contacts=[1.5, 2.0, 3.0, 4.0]))
    assert "column 'contacts': expected integers (int64), found dtype float64" in msg


def test_text_in_a_number_column():
    msg = problems_of(history(aht_s=["300", "x", "1", "2"]))
    assert "column 'aht_s': expected numbers" in msg


def test_naive_timestamps_are_rejected_with_a_fix():
    df = history()
    df["interval_start"] = df["interval_start"].dt.tz_localize(None)
    msg = problems_of(df)
    assert "naive timestamps" in msg
    assert "tz_convert('UTC')" in msg


def test_timestamps_in_another_zone_are_rejected():
    df = history()
    df["interval_start"] = df["interval_start"].dt.tz_convert("Europe/Lisbon")
    msg = problems_of(df)
    assert "time zone Europe/Lisbon, expected UTC" in msg


def test_off_grid_timestamps_name_the_rows():
    df = history(n=6)
    df.loc[3, "interval_start"] = df.loc[3, "interval_start"] + pd.Timedelta(minutes=7)
    msg = problems_of(df)
    assert "1 timestamp(s) off a 15, 30 or 60-minute grid at row 3" in msg
    assert "2026-03-02T03:07:00+00:00" in msg


def test_grid_given_explicitly():
    df = history(n=4)
    df["interval_start"] = pd.date_range("2026-03-02", periods=4, freq="30min", tz="UTC")
    schema.validate(df, "history", interval_min=30)
    msg = problems_of(df, interval_min=60)
    assert "off the 60-minute grid at rows 1, 3" in msg


def test_negative_contacts():
    msg = problems_of(history(contacts=np.array([1, -2, 3, -4], dtype="int64")))
    assert "column 'contacts': 2 negative value(s) at rows 1, 3 (first: -2)" in msg


def test_duplicate_keys_are_reported_with_the_key():
    df = pd.concat([history(n=3), history(n=3).iloc[[1]]], ignore_index=True)
    msg = problems_of(df)
    assert "2 rows share a key (interval_start, market, language, channel) at rows 1, 3" in msg
    assert "market=US" in msg


def test_missing_key_values():
    df = history()
    df["market"] = df["market"].astype(object)
    df.loc[2, "market"] = None
    msg = problems_of(df)
    assert "column 'market': 1 missing value(s) at row 2" in msg


def test_every_problem_is_listed_at_once():
    df = history(contacts=np.array([1, -2, 3, 4], dtype="int64"))
    df.loc[0, "interval_start"] = df.loc[0, "interval_start"] + pd.Timedelta(minutes=1)
    df = pd.concat([df, df.iloc[[2]]], ignore_index=True).drop(columns="aht_s")
    with pytest.raises(InputError) as info:
        schema.validate(df, "history", source="week.csv")
    err = info.value
    assert str(err).startswith("week.csv: history frame has 4 problems:")
    assert len(err.problems) == 4


def test_line_numbers_when_rows_come_from_a_file():
    msg = problems_of(history(contacts=np.array([1, -2, 3, 4], dtype="int64")), first_line=2)
    assert "at line 3" in msg


def test_abandoned_cannot_exceed_offered():
    df = history(abandoned=np.array([0, 9, 0, 0], dtype="int64"))
    msg = problems_of(df)
    assert "more abandoned than offered contacts at row 1" in msg


def test_fraction_out_of_range_hints_at_percent():
    req = pd.DataFrame({
        "interval_start": pd.date_range("2026-03-02", periods=2, freq="30min", tz="UTC"),
        "queue": "en_voice", "contacts": 10.0, "aht_s": 300.0, "traffic_erl": 1.7,
        "agents": np.array([3, 3], dtype="int64"), "headcount": np.array([5, 5], dtype="int64"),
        "service_level": [80.0, 0.8], "asa_s": 10.0, "occupancy": 0.5,
    })
    msg = problems_of(req, "requirement")
    assert "column 'service_level': 1 value(s) outside [0, 1] at row 0 (first: 80)" in msg
    assert "write 0.8 for 80 %" in msg


def agents(**overrides):
    df = pd.DataFrame({
        "agent_id": ["A1", "A2"], "site": ["Lisbon", "Boston"],
        "languages": [["en"], ["en", "es"]], "contract_hours_week": [40.0, 24.0],
        "min_hours_week": [32.0, 16.0], "role": ["front_line", "second_line"],
        "night_ok": [True, False], "availability": [[], ["2026-11-26"]],
    })
    for k, v in overrides.items():
        df[k] = v
    return df


def test_valid_agents_pass():
    schema.validate(agents(), "agents")


def test_role_outside_the_allowed_set():
    msg = problems_of(agents(role=["front_line", "boss"]), "agents")
    assert "column 'role': value(s) 'boss' at row 1; allowed: 'front_line'" in msg


def test_languages_must_be_lists():
    msg = problems_of(agents(languages=["en", "es"]), "agents")
    assert "column 'languages': expected lists, found" in msg


def test_min_hours_above_contract():
    msg = problems_of(agents(min_hours_week=[48.0, 16.0]), "agents")
    assert "1 agent(s) with min_hours_week above contract_hours_week at row 0" in msg


def test_forecast_outside_its_interval():
    fc = history().drop(columns=["contacts"]).assign(
        contacts=10.0, contacts_lo=[8.0, 11.0, 8.0, 8.0], contacts_hi=12.0, model="m")
    msg = problems_of(fc, "forecast")
    assert "1 row(s) where the forecast lies outside its interval" in msg


def test_roster_shift_ending_before_start():
    start = pd.Timestamp("2026-11-23 08:00", tz="UTC")
    roster = pd.DataFrame({
        "agent_id": ["A1"], "date": [dt.date(2026, 11, 23)], "site": ["Lisbon"],
        "shift": ["FT8"], "start_utc": [start], "end_utc": [start - pd.Timedelta(hours=1)],
        "start_local": ["2026-11-23T08:00:00+00:00"], "end_local": ["2026-11-23T07:00:00+00:00"],
        "paid_min": np.array([480], dtype="int64"), "breaks": [""],
    })
    msg = problems_of(roster, "roster")
    assert "1 shift(s) that end before they start at row 0" in msg


def test_not_a_dataframe_and_unknown_kind():
    with pytest.raises(InputError, match="expected a pandas DataFrame"):
        schema.validate([1, 2], "history")
    with pytest.raises(ValueError, match="unknown frame kind 'histroy'"):
        schema.validate(history(), "histroy")


def test_empty_frames_have_contract_columns():
    for kind in schema.SPECS:
        frame = schema.empty(kind)
        assert list(frame.columns) == list(schema.SPECS[kind].required)
        schema.validate(frame, kind)


def test_pandas_string_dtype_counts_as_text():
    df = history()
    df["market"] = df["market"].astype("string")
    schema.validate(df, "history")


@settings(max_examples=40, deadline=None)
@given(
    step=st.sampled_from([15, 30, 60]),
    n=st.integers(1, 50),
    counts=st.lists(st.integers(0, 10_000), min_size=50, max_size=50),
    offset_steps=st.integers(0, 1000),
)
def test_any_grid_aligned_history_passes(step, n, counts, offset_steps):
    start = pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(minutes=step * offset_steps)
    df = pd.DataFrame({
        "interval_start": pd.date_range(start, periods=n, freq=f"{step}min"),
        "market": "JP", "language": "ja", "channel": "chat",
        "contacts": np.array(counts[:n], dtype="int64"), "aht_s": 400.0,
    })
    schema.validate(df, "history", interval_min=step)
    assert schema.infer_interval_min(df["interval_start"]) in (step, 30, 60)


@settings(max_examples=40, deadline=None)
@given(minute=st.integers(1, 59).filter(lambda m: m % 15), row=st.integers(0, 9))
def test_any_off_grid_minute_is_caught(minute, row):
    df = history(n=10)
    df.loc[row, "interval_start"] = df.loc[row, "interval_start"] + pd.Timedelta(minutes=minute)
    msg = problems_of(df)
    assert f"at row {row} " in msg


def test_describe_lists_units():
    text = schema.describe("history")
    assert "aht_s" in text and "[s]" in text
