"""The DuckDB store: idempotent, transactional ingest; history from logs in SQL."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import ANONYMOUS_BANK
from tests.test_io import ab_file, ab_row, interval_csv
from wfm import io
from wfm.errors import InputError
from wfm.store import Store


def snapshot(store: Store) -> dict:
    """Every table's rows, to show a store is exactly as it was."""
    out = {}
    for table in store.counts():
        out[table] = store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() \
            if table not in ("agents",) else store.con.execute(
                f"SELECT agent_id FROM {table} ORDER BY ALL").fetchall()
    return out


GOOD = [
    "2026-03-02T09:00:00Z,US,en,voice,12,300",
    "2026-03-02T10:00:00Z,US,en,voice,8,310",
    "2026-03-02T09:00:00Z,GB,en,voice,5,280",
]


def test_ingesting_the_same_file_twice_keeps_the_counts(tmp_path):
    path = interval_csv(tmp_path, GOOD)
    with Store(tmp_path / "s.duckdb") as store:
        first = store.ingest(path)
        counts = store.counts()
        second = store.ingest(path)
        assert first.rows == 3 and not first.skipped
        assert second.skipped and "already ingested as #1" in second.message
        assert store.counts() == counts
        assert store.history(60)["contacts"].sum() == 25


def test_a_copy_under_another_name_is_recognised(tmp_path):
    path = interval_csv(tmp_path, GOOD)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(path.read_bytes())
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(path)
        assert store.ingest(copy).skipped


def test_overlapping_files_replace_keys_instead_of_double_counting(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(interval_csv(tmp_path, GOOD))
        (tmp_path / "fix").mkdir()
        corrected = interval_csv(tmp_path / "fix", ["2026-03-02T09:00:00Z,US,en,voice,20,300"])
        report = store.ingest(corrected)
        assert report.rows == 1
        hist = store.history(60)
        assert hist["contacts"].sum() == 20 + 8 + 5
        assert store.counts()["history"] == 3


def test_a_bad_timestamp_on_line_n_is_rejected_and_the_store_unchanged(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(interval_csv(tmp_path, GOOD))
        before = snapshot(store)
        (tmp_path / "bad").mkdir()
        bad = interval_csv(tmp_path / "bad", GOOD[:2] + ["2026-02-30T09:00:00Z,GB,en,voice,5,280"]
                           + GOOD[2:])
        with pytest.raises(InputError) as info:
            store.ingest(bad)
        assert "line 4" in str(info.value) and "interval_start" in str(info.value)
        assert snapshot(store) == before


def test_a_failure_while_writing_rolls_everything_back(tmp_path, demo_world, monkeypatch):
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(interval_csv(tmp_path, GOOD))
        before = snapshot(store)
        calls = []
        original = Store._write

        def failing_write(self, table, df, ingest_id):
            calls.append(table)
            if len(calls) == 2:  # the first table is written, then the disk "fails"
                raise OSError("disk full")
            return original(self, table, df, ingest_id)

        monkeypatch.setattr(Store, "_write", failing_write)
        with pytest.raises(OSError, match="disk full"):
            store.ingest_demo(demo_world)
        assert calls[0] == "history"
        assert snapshot(store) == before
        assert not store.has_demo()


def test_anonymous_bank_log_is_aggregated_in_sql(tmp_path):
    path = ab_file(
        tmp_path,
        ab_row(1, "PS", "990105", "9:00:10", "9:00:15", 40, "AGENT", "9:00:55", 180, "DORIT"),
        ab_row(2, "PS", "990105", "9:40:00", "9:40:05", 70, "HANG", "0:00:00", 0, "NO_SERVER"),
        ab_row(3, "NW", "990105", "10:20:00", "0:00:00", 0, "AGENT", "10:20:00", 100, "ANAT"),
    )
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(path, format="anonymous-bank")
        in_sql = store.history(60)
        in_pandas = io.aggregate_contacts(io.read_anonymous_bank(path)[0], 60)
        pd.testing.assert_frame_equal(in_sql, in_pandas, check_dtype=False)
        assert in_sql["contacts"].sum() == 3
        # one local day (Asia/Jerusalem) of two series, zero-filled
        assert len(in_sql) == 2 * 24
        assert len(store.history(30)) == 2 * 48


def test_reading_finer_than_stored_is_an_error(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(interval_csv(tmp_path, GOOD))
        with pytest.raises(InputError, match="stored at 60-minute intervals and cannot be read "
                                             "at 30 minutes"):
            store.history(30)


def test_finer_interval_history_is_aggregated_up(tmp_path):
    rows = ["2026-03-02T09:00:00Z,US,en,voice,4,100", "2026-03-02T09:30:00Z,US,en,voice,6,200"]
    with Store(tmp_path / "s.duckdb") as store:
        store.ingest(interval_csv(tmp_path, rows))
        hourly = store.history(60)
        assert hourly["contacts"].tolist() == [10]
        assert hourly["aht_s"].iloc[0] == pytest.approx(160.0)  # contact-weighted


def test_demo_world_round_trips(demo_store, demo_world):
    with Store(demo_store, read_only=True) as store:
        hist = store.history(60)
        agents = store.agents()
        interactions = store.interactions()
    assert len(hist) == len(demo_world.history)
    assert hist["contacts"].sum() == demo_world.history["contacts"].sum()
    assert agents["agent_id"].tolist() == demo_world.agents["agent_id"].tolist()
    assert agents.loc[0, "languages"] == demo_world.agents.loc[0, "languages"]
    assert len(interactions) == len(demo_world.interactions)
    # the truth never enters the store
    with Store(demo_store, read_only=True) as store:
        columns = {r[0] for r in store.con.execute(
            "SELECT column_name FROM information_schema.columns").fetchall()}
    assert not {"skill", "night_regular", "new_hire"} & columns


@pytest.mark.anonymous_bank
def test_anonymous_bank_january_through_the_store(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        report = store.ingest(ANONYMOUS_BANK / "january.txt")
        assert report.format == "anonymous-bank"
        hist = store.history(60)
    non_phantom = sum(1 for line in open(ANONYMOUS_BANK / "january.txt", encoding="utf-8")
                      if "\tPHANTOM\t" in line)
    total_rows = sum(1 for _ in open(ANONYMOUS_BANK / "january.txt", encoding="utf-8")) - 1
    assert hist["contacts"].sum() == total_rows - non_phantom
