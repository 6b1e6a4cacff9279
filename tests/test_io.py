"""Readers and adapters: interval files, per-contact logs, the Anonymous Bank format."""

from __future__ import annotations

import collections
import csv
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ANONYMOUS_BANK
from wfm import io
from wfm.errors import InputError

AB_HEADER = ("vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\t"
             "vru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver")


def ab_file(tmp_path, *rows, name="calls.txt"):
    path = tmp_path / name
    path.write_text("\n".join([AB_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def ab_row(call_id, qtype, date, entry, q_start, q_time, outcome, ser_start, ser_time,
           server, sep="\t"):
    fields = ["AA0101", str(call_id), "0", "1", qtype, date, entry, entry, "5", q_start,
              q_start, str(q_time), outcome, ser_start, ser_start, str(ser_time), server]
    return sep.join(fields)


def interval_csv(tmp_path, rows, header="interval_start,market,language,channel,contacts,aht_s"):
    path = tmp_path / "history.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# -- interval files ----------------------------------------------------------------------


def test_interval_csv_reads_to_the_contract(tmp_path):
    path = interval_csv(tmp_path, [
        "2026-03-02T09:00:00Z,US,en,voice,12,301.5",
        "2026-03-02T10:00:00+01:00,DE,de,voice,7,",
        "2026-03-02T10:00:00Z,US,en,voice,0,",
    ])
    df, meta = io.read_interval_file(path)
    assert meta["interval_min"] == 60 and meta["rows"] == 3
    assert str(df["interval_start"].dtype) == "datetime64[ns, UTC]"
    assert df["contacts"].dtype == np.int64
    # +01:00 is converted to UTC: DE's 10:00 local is 09:00 UTC
    de = df[df["market"] == "DE"].iloc[0]
    assert de["interval_start"] == pd.Timestamp("2026-03-02 09:00", tz="UTC")
    assert np.isnan(de["aht_s"])


def test_bad_timestamp_names_file_line_and_column(tmp_path):
    path = interval_csv(tmp_path, [
        "2026-03-02T09:00:00Z,US,en,voice,12,300",
        "2026-03-02T10:00:00Z,US,en,voice,12,300",
        "2026-03-02T25:00:00Z,US,en,voice,12,300",
    ])
    with pytest.raises(InputError) as info:
        io.read_interval_file(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "column 'interval_start': not an ISO 8601 timestamp: line 4 ('2026-03-02T25:00:00Z')" \
        in msg


def test_naive_timestamp_in_a_file(tmp_path):
    path = interval_csv(tmp_path, ["2026-03-02 09:00,US,en,voice,12,300"])
    with pytest.raises(InputError, match=r"without a UTC offset \(naive\).*line 2"):
        io.read_interval_file(path)


def test_every_bad_value_is_listed(tmp_path):
    path = interval_csv(tmp_path, [
        "2026-03-02T09:00:00Z,US,en,voice,twelve,300",
        "2026-03-02T10:00:00Z,US,en,voice,1.5,300",
        "2026-03-02T11:00:00Z,,en,voice,3,abc",
    ])
    with pytest.raises(InputError) as info:
        io.read_interval_file(path)
    problems = "\n".join(info.value.problems)
    assert "column 'contacts': not a number: line 2 ('twelve')" in problems
    assert "column 'contacts': not a whole number: line 3 ('1.5')" in problems
    assert "column 'market': empty value: line 4" in problems
    assert "column 'aht_s': not a number: line 4 ('abc')" in problems


def test_contract_problems_are_given_as_file_lines(tmp_path):
    path = interval_csv(tmp_path, [
        "2026-03-02T09:00:00Z,US,en,voice,12,300",
        "",
        "2026-03-02T10:00:00Z,US,en,voice,-3,300",
        "2026-03-02T10:07:00Z,US,en,voice,4,300",
        "2026-03-02T09:00:00Z,US,en,voice,12,300",
    ])
    with pytest.raises(InputError) as info:
        io.read_interval_file(path)
    msg = str(info.value)
    assert "negative value(s) at line 4 (first: -3)" in msg
    assert "off a 15, 30 or 60-minute grid at line 5" in msg
    assert "share a key (interval_start, market, language, channel) at lines 2, 6" in msg


def test_missing_header_column_and_empty_file(tmp_path):
    path = interval_csv(tmp_path, ["2026-03-02T09:00:00Z,US,en,12,300"],
                        header="interval_start,market,language,contacts,aht_s")
    with pytest.raises(InputError, match=r"missing column channel in the header \(line 1\)"):
        io.read_interval_file(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="the file is empty"):
        io.read_interval_file(empty)
    with pytest.raises(InputError, match="file not found"):
        io.read_interval_file(tmp_path / "nope.csv")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("interval_start,market\n2026,M\xfcnchen\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        io.read_interval_file(path)


def test_parquet_round_trip_and_naive_parquet_rejected(tmp_path):
    df = pd.DataFrame({
        "interval_start": pd.date_range("2026-03-02", periods=3, freq="30min", tz="UTC"),
        "market": "GB", "language": "en", "channel": "chat",
        "contacts": np.array([1, 2, 3], dtype="int64"), "aht_s": 500.0,
    })
    df.to_parquet(tmp_path / "h.parquet")
    back, meta = io.read_interval_file(tmp_path / "h.parquet")
    assert meta["interval_min"] == 30 and back["contacts"].sum() == 6
    df.assign(interval_start=df["interval_start"].dt.tz_localize(None)).to_parquet(
        tmp_path / "naive.parquet")
    with pytest.raises(InputError, match="naive timestamps"):
        io.read_interval_file(tmp_path / "naive.parquet")


# -- per-contact logs ---------------------------------------------------------------------


def test_contact_log_aggregates_to_15_30_60_minutes(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "contact_id,arrived_at,market,language,channel,abandoned,wait_s,handle_s\n"
        "c1,2026-03-02T09:05:00Z,US,en,voice,false,10,200\n"
        "c2,2026-03-02T09:20:00Z,US,en,voice,false,30,400\n"
        "c3,2026-03-02T09:50:00Z,US,en,voice,true,60,\n"
        "c4,2026-03-02T10:10:00Z,US,en,voice,0,0,100\n",
        encoding="utf-8",
    )
    log, meta = io.read_contact_log(path)
    assert meta["rows"] == 4
    for step in (15, 30, 60):
        hist = io.aggregate_contacts(log, step)
        assert hist["contacts"].sum() == 4
        assert len(hist) == 24 * 60 // step  # the whole UTC day, zero-filled
    hourly = io.aggregate_contacts(log, 60).set_index("interval_start")
    nine = hourly.loc[pd.Timestamp("2026-03-02 09:00", tz="UTC")]
    assert nine["contacts"] == 3 and nine["abandoned"] == 1
    assert nine["aht_s"] == pytest.approx(300.0)  # mean of handled contacts only
    assert nine["asa_s"] == pytest.approx(20.0)   # mean wait of handled contacts


def test_contact_log_bad_boolean(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(
        "contact_id,arrived_at,market,language,channel,abandoned,wait_s,handle_s\n"
        "c1,2026-03-02T09:05:00Z,US,en,voice,maybe,10,200\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"column 'abandoned': not a boolean .*line 2 \('maybe'\)"):
        io.read_contact_log(path)


# -- the Anonymous Bank format -----------------------------------------------------------


def test_anonymous_bank_rules(tmp_path):
    path = ab_file(
        tmp_path,
        ab_row(1, "PS", "990105", "9:00:10", "9:00:15", 40, "AGENT", "9:00:55", 180, "DORIT"),
        ab_row(2, "PS", "990105", "9:10:00", "9:10:05", 70, "HANG", "0:00:00", 0, "NO_SERVER"),
        ab_row(3, "PE", "990105", "9:20:00", "0:00:00", 0, "HANG", "0:00:00", 0, "NO_SERVER"),
        ab_row(4, "NW", "990105", "9:30:00", "0:00:00", 0, "PHANTOM", "0:00:00", 0, "NO_SERVER"),
        ab_row(5, "NW", "990105", "23:59:15", "0:00:00", 0, "AGENT", "0:01:40", 120, "YITZ"),
        ab_row(6, "TT", "990105", "10:00:00", "10:00:02", 3, "AGENT", "10:00:05", 60, "ANAT",
               sep=" "),  # a space instead of a tab
    )
    log, meta = io.read_anonymous_bank(path)
    assert meta["phantom_dropped"] == 1 and len(log) == 5
    by_call = log.set_index(log["contact_id"].str.split("-").str[-1])
    # local Asia/Jerusalem (UTC+2 in January) to UTC
    assert by_call.loc["1", "arrived_at"] == pd.Timestamp("1999-01-05 07:00:10", tz="UTC")
    # queue types to language and channel
    assert tuple(by_call.loc["1", ["language", "channel"]]) == ("he", "voice")
    assert tuple(by_call.loc["3", ["language", "channel"]]) == ("en", "voice")
    assert tuple(by_call.loc["5", ["language", "channel"]]) == ("he", "voice-nw")
    assert tuple(by_call.loc["6", ["language", "channel"]]) == ("he", "voice-tt")
    # abandoned = HANG after queueing; a HANG in the voice-response unit is not
    assert by_call.loc["2", "abandoned"] and not by_call.loc["3", "abandoned"]
    # handle time = ser_time of served calls
    assert by_call.loc["1", "handle_s"] == 180 and np.isnan(by_call.loc["2", "handle_s"])
    assert by_call.loc["1", "agent_id"] == "DORIT" and pd.isna(by_call.loc["2", "agent_id"])
    # service that starts after midnight on the same row is on the next day
    assert by_call.loc["5", "answered_at"] == pd.Timestamp("1999-01-05 22:01:40", tz="UTC")
    assert by_call.loc["5", "arrived_at"] == pd.Timestamp("1999-01-05 21:59:15", tz="UTC")


def test_anonymous_bank_bad_lines_are_named(tmp_path):
    path = ab_file(
        tmp_path,
        ab_row(1, "PS", "990105", "9:00:10", "9:00:15", 40, "AGENT", "9:00:55", 180, "DORIT"),
        ab_row(2, "PS", "990105", "9:71:00", "9:10:05", 70, "HANG", "0:00:00", 0, "NO_SERVER"),
        "AA0101\t3\t0\t1\tPS\t990105\t9:20:00",
        ab_row(4, "PS", "991332", "9:00:10", "9:00:15", 40, "BOUNCE", "9:00:55", 180, "X"),
    )
    with pytest.raises(InputError) as info:
        io.read_anonymous_bank(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "column 'vru_entry': not a time H:MM:SS: line 3 ('9:71:00')" in msg
    assert "expected 17 fields: line 4 ('7 fields')" in msg
    assert "column 'date': not a date YYMMDD: line 5 ('991332')" in msg
    assert "column 'outcome': expected AGENT, HANG or PHANTOM: line 5 ('BOUNCE')" in msg


def test_anonymous_bank_wrong_header(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("a\tb\n1\t2\n")
    with pytest.raises(InputError, match="line 1 is not the Anonymous Bank header"):
        io.read_anonymous_bank(path)


def _raw_counts_per_day(path):
    counts = collections.Counter()
    with open(path, encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t")
        next(reader)
        for row in reader:
            if row and row[12] != "PHANTOM":
                counts[dt.datetime.strptime(row[5], "%y%m%d").date()] += 1
    return counts


@pytest.mark.anonymous_bank
def test_anonymous_bank_january_daily_totals_equal_raw_rows():
    path = ANONYMOUS_BANK / "january.txt"
    history, meta = io.read_history(path, format="anonymous-bank", interval_min=60)
    assert meta["interval_min"] == 60
    local_day = history["interval_start"].dt.tz_convert("Asia/Jerusalem").dt.date
    ours = history.groupby(local_day)["contacts"].sum()
    raw = _raw_counts_per_day(path)
    assert len(raw) == 29  # 1999-01-11 and -12 are missing from the source
    assert {d: int(ours[d]) for d in raw} == dict(raw)
    assert set(ours[ours > 0].index) == set(raw)
    # the missing days are a gap, not zeros
    assert dt.date(1999, 1, 11) not in set(local_day)
    # every series is on the hourly grid
    assert (history["interval_start"].dt.minute == 0).all()
    assert {"voice", "voice-nw", "voice-ne", "voice-in", "voice-tt"} <= set(history["channel"])


def test_guess_format(tmp_path):
    assert io.guess_format(ab_file(tmp_path)) == "anonymous-bank"
    assert io.guess_format(interval_csv(tmp_path, [])) == "interval"
    other = tmp_path / "other.csv"
    other.write_text("foo,bar\n1,2\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        io.guess_format(other)


def test_agents_csv(tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text(
        "agent_id,site,languages,contract_hours_week,min_hours_week,role,night_ok,availability\n"
        "A1,Lisbon,en;pt,40,32,front_line,true,2026-11-26\n"
        "A2,Boston,en,24,16,captain,false,\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"value\(s\) 'captain' at line 3"):
        io.read_agents(path)
    path.write_text(path.read_text().replace("captain", "second_line"))
    agents, _ = io.read_agents(path)
    assert agents.loc[0, "languages"] == ["en", "pt"] and agents.loc[1, "availability"] == []
