"""
The embedded DuckDB store: history, per-contact logs, interactions, agents, runs.

One file (``wfm.duckdb`` in the working folder by default). All times are stored as
``TIMESTAMPTZ`` and the connection works in UTC.

Ingest is

- **idempotent**: a file is recognised by the SHA-256 of its bytes, and the same
  file twice is skipped; rows are keyed (history by interval and series, contacts by
  contact id), so a different file holding some of the same keys replaces them
  instead of double-counting;
- **transactional**: a file is parsed and validated completely before the store is
  touched, and written in one transaction; any failure leaves the store exactly as
  it was.

Per-contact logs are kept per contact and aggregated to intervals in SQL when
history is read, so the same log serves 15, 30 or 60-minute planning.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from wfm import io, schema
from wfm.errors import InputError

DEFAULT_PATH = "wfm.duckdb"

_TABLES = {
    "ingests": """
        CREATE TABLE IF NOT EXISTS ingests (
            ingest_id INTEGER PRIMARY KEY,
            source VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL UNIQUE,
            format VARCHAR NOT NULL,
            rows BIGINT NOT NULL,
            ingested_at TIMESTAMPTZ NOT NULL,
            metadata JSON
        )""",
    "history": """
        CREATE TABLE IF NOT EXISTS history (
            interval_start TIMESTAMPTZ NOT NULL,
            market VARCHAR NOT NULL,
            language VARCHAR NOT NULL,
            channel VARCHAR NOT NULL,
            interval_min INTEGER NOT NULL,
            contacts BIGINT NOT NULL,
            aht_s DOUBLE,
            abandoned BIGINT,
            answered_in_target BIGINT,
            asa_s DOUBLE,
            ingest_id INTEGER,
            PRIMARY KEY (interval_start, market, language, channel)
        )""",
    "contact_log": """
        CREATE TABLE IF NOT EXISTS contact_log (
            contact_id VARCHAR PRIMARY KEY,
            arrived_at TIMESTAMPTZ NOT NULL,
            market VARCHAR NOT NULL,
            language VARCHAR NOT NULL,
            channel VARCHAR NOT NULL,
            abandoned BOOLEAN NOT NULL,
            wait_s DOUBLE,
            handle_s DOUBLE,
            agent_id VARCHAR,
            timezone VARCHAR,
            ingest_id INTEGER
        )""",
    "interactions": """
        CREATE TABLE IF NOT EXISTS interactions (
            contact_id VARCHAR PRIMARY KEY,
            agent_id VARCHAR NOT NULL,
            started_at TIMESTAMPTZ NOT NULL,
            site VARCHAR,
            market VARCHAR NOT NULL,
            language VARCHAR NOT NULL,
            channel VARCHAR NOT NULL,
            handle_s DOUBLE,
            wait_s DOUBLE,
            resolved_first_contact BOOLEAN,
            csat DOUBLE,
            qa_score DOUBLE,
            complaint BOOLEAN,
            escalated BOOLEAN,
            contact_type VARCHAR,
            ingest_id INTEGER
        )""",
    "agents": """
        CREATE TABLE IF NOT EXISTS agents (
            agent_id VARCHAR PRIMARY KEY,
            site VARCHAR NOT NULL,
            languages VARCHAR[] NOT NULL,
            contract_hours_week DOUBLE NOT NULL,
            min_hours_week DOUBLE NOT NULL,
            role VARCHAR NOT NULL,
            night_ok BOOLEAN NOT NULL,
            availability VARCHAR[],
            channels VARCHAR[],
            preferred_shift VARCHAR,
            wished_days_off VARCHAR[],
            ingest_id INTEGER
        )""",
    "shifts": """
        CREATE TABLE IF NOT EXISTS shifts (
            agent_id VARCHAR NOT NULL,
            date DATE NOT NULL,
            site VARCHAR NOT NULL,
            shift VARCHAR NOT NULL,
            start_utc TIMESTAMPTZ NOT NULL,
            end_utc TIMESTAMPTZ NOT NULL,
            start_local VARCHAR NOT NULL,
            end_local VARCHAR NOT NULL,
            paid_min INTEGER NOT NULL,
            breaks VARCHAR,
            ingest_id INTEGER,
            PRIMARY KEY (agent_id, date)
        )""",
    "runs": """
        CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR PRIMARY KEY,
            scenario VARCHAR NOT NULL,
            scenario_path VARCHAR,
            scenario_text VARCHAR,
            fingerprint VARCHAR,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            status VARCHAR NOT NULL,
            out_dir VARCHAR,
            outputs JSON,
            summary JSON
        )""",
    "meta": """
        CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    # published rosters: one header per (planning week, version); a version is written
    # once and never changed, publishing again adds version n + 1
    "published_rosters": """
        CREATE TABLE IF NOT EXISTS published_rosters (
            week_start DATE NOT NULL,
            version INTEGER NOT NULL,
            published_at TIMESTAMPTZ NOT NULL,
            run_id VARCHAR,
            scenario VARCHAR,
            source VARCHAR,
            shifts INTEGER NOT NULL,
            sha256 VARCHAR NOT NULL,
            PRIMARY KEY (week_start, version)
        )""",
    "published_shifts": """
        CREATE TABLE IF NOT EXISTS published_shifts (
            week_start DATE NOT NULL,
            version INTEGER NOT NULL,
            agent_id VARCHAR NOT NULL,
            date DATE NOT NULL,
            site VARCHAR NOT NULL,
            shift VARCHAR NOT NULL,
            start_utc TIMESTAMPTZ NOT NULL,
            end_utc TIMESTAMPTZ NOT NULL,
            start_local VARCHAR NOT NULL,
            end_local VARCHAR NOT NULL,
            paid_min INTEGER NOT NULL,
            breaks VARCHAR,
            PRIMARY KEY (week_start, version, agent_id, date)
        )""",
}

_OPTIONAL = {
    "history": ("abandoned", "answered_in_target", "asa_s"),
    "contact_log": ("agent_id",),
    "interactions": ("contact_type",),
    "agents": ("channels", "preferred_shift", "wished_days_off"),
}


@dataclass
class IngestReport:
    """What an ingest did: rows written per table, or why it was skipped."""

    source: str
    format: str
    sha256: str
    rows: int = 0
    skipped: bool = False
    message: str = ""
    tables: dict = field(default_factory=dict)


class Store:
    """
    The DuckDB store. Use as a context manager::

        with Store("wfm.duckdb") as store:
            store.ingest("january.txt", format="anonymous-bank")
            hist = store.history(interval_min=60)
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, read_only: bool = False):
        self.path = str(path)
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise InputError(f"{self.path}: cannot open the store: {exc}") from None
        self.con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            for ddl in _TABLES.values():
                self.con.execute(ddl)

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- small helpers ----------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {t: self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in _TABLES}

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def _next_ingest_id(self) -> int:
        return self.con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests").fetchone()[0]

    def _write(self, table: str, df: pd.DataFrame, ingest_id: int) -> int:
        """Upsert a frame into a table by its primary key; returns the row count."""
        columns = [c for c in self._columns(table) if c != "ingest_id"]
        frame = df.copy()
        for c in columns:
            if c not in frame.columns:
                frame[c] = None
        frame = frame[columns]
        frame["ingest_id"] = ingest_id
        self.con.register("_incoming", frame)
        try:
            names = ", ".join(columns + ["ingest_id"])
            self.con.execute(
                f"INSERT OR REPLACE INTO {table} ({names}) SELECT {names} FROM _incoming"
            )
        finally:
            self.con.unregister("_incoming")
        return len(frame)

    def _columns(self, table: str) -> list[str]:
        return [r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()]

    # -- ingest -----------------------------------------------------------------------
    def ingest(self, path: str | Path, format: str | None = None, *,
               interval_min: int | None = None) -> IngestReport:
        """
        Ingest one file: ``format`` is ``interval``, ``contacts``, ``anonymous-bank``,
        ``interactions`` or ``agents`` (guessed from the header when not given).

        The same file (same bytes) a second time is skipped; a bad file raises
        :class:`InputError` and leaves the store unchanged.
        """
        path = Path(path)
        fmt = format or io.guess_format(path)
        digest = io.file_digest(path)
        seen = self.con.execute(
            "SELECT ingest_id, strftime(ingested_at, '%Y-%m-%d %H:%M') FROM ingests "
            "WHERE sha256 = ?", [digest]
        ).fetchone()
        if seen is not None:
            return IngestReport(str(path), fmt, digest, skipped=True,
                                message=f"already ingested as #{seen[0]} on {seen[1]} UTC; "
                                        "nothing changed")
        readers = {
            "interval": lambda: io.read_interval_file(path, interval_min=interval_min),
            "contacts": lambda: io.read_contact_log(path),
            "anonymous-bank": lambda: io.read_anonymous_bank(path),
            "interactions": lambda: io.read_interactions(path),
            "agents": lambda: io.read_agents(path),
        }
        if fmt not in readers:
            raise InputError(f"{path}: unknown format {fmt!r}; use one of "
                             f"{', '.join(readers)}")
        frame, meta = readers[fmt]()  # parse and validate before touching the store
        table = {"interval": "history", "contacts": "contact_log",
                 "anonymous-bank": "contact_log", "interactions": "interactions",
                 "agents": "agents"}[fmt]
        if table == "history":
            frame = frame.assign(interval_min=meta["interval_min"] or 60)
        return self._ingest_frames(str(path), fmt, digest, {table: frame}, meta)

    def _ingest_frames(self, source: str, fmt: str, digest: str,
                       frames: dict[str, pd.DataFrame], meta: dict) -> IngestReport:
        self.con.begin()
        try:
            ingest_id = self._next_ingest_id()
            written = {t: self._write(t, f, ingest_id) for t, f in frames.items()}
            self.con.execute(
                "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?)",
                [ingest_id, source, digest, fmt, sum(written.values()),
                 dt.datetime.now(dt.UTC), json.dumps(meta, default=str)],
            )
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        rows = sum(written.values())
        per_table = ", ".join(f"{t}: {n}" for t, n in written.items())
        return IngestReport(source, fmt, digest, rows=rows, tables=written,
                            message=f"ingested {rows} rows ({per_table})")

    def ingest_demo(self, world) -> IngestReport:
        """Write a :class:`wfm.demo.DemoWorld` (never its truth) in one transaction."""
        digest = f"demo-world-seed-{world.seed}"
        seen = self.con.execute("SELECT 1 FROM ingests WHERE sha256 = ?", [digest]).fetchone()
        if seen is not None:
            return IngestReport("demo", "demo", digest, skipped=True,
                                message="the demo world is already in the store")
        frames = {
            "history": world.history.assign(interval_min=60),
            "interactions": world.interactions,
            "agents": world.agents,
            "shifts": world.shifts.drop(columns=["nesting"], errors="ignore"),
        }
        report = self._ingest_frames("demo", "demo", digest, frames, {"seed": world.seed})
        self.set_meta("demo_seed", str(world.seed))
        return report

    def has_demo(self) -> bool:
        return self.get_meta("demo_seed") is not None

    # -- reading ----------------------------------------------------------------------
    def history(self, interval_min: int = 60, *, markets=None, start=None,
                end=None) -> pd.DataFrame:
        """
        History on the ``interval_min`` grid: interval rows (aggregated up when stored
        on a finer grid) plus per-contact logs aggregated in SQL.

        Raises
        ------
        InputError
            When stored interval history is coarser than ``interval_min``.
        """
        if interval_min not in schema.INTERVAL_CHOICES_MIN:
            raise InputError(f"interval_min {interval_min} is not one of "
                             f"{schema.INTERVAL_CHOICES_MIN}")
        coarse = self.con.execute(
            "SELECT DISTINCT interval_min FROM history WHERE interval_min > ? "
            f"OR {interval_min} % interval_min <> 0", [interval_min]
        ).fetchall()
        if coarse:
            raise InputError(
                f"{self.path}: history is stored at {coarse[0][0]}-minute intervals and "
                f"cannot be read at {interval_min} minutes; read it at {coarse[0][0]} minutes "
                "(the staffing step spreads hourly forecasts over shorter intervals)"
            )
        # both sources in one shape; means are weighted by contacts when they meet
        weighted = """
                   sum(contacts) AS contacts,
                   sum(aht_s * contacts) AS handle_total,
                   sum(CASE WHEN aht_s IS NOT NULL THEN contacts END) AS handled_n,
                   sum(abandoned) AS abandoned,
                   sum(answered_in_target) AS answered_in_target,
                   sum(asa_s * contacts) AS wait_total,
                   sum(CASE WHEN asa_s IS NOT NULL THEN contacts END) AS answered_n"""
        sql = f"""
        WITH iv AS (
            SELECT time_bucket(INTERVAL '{interval_min} minutes', interval_start)
                       AS interval_start, market, language, channel, {weighted}
            FROM history GROUP BY ALL
        ),
        cl AS ({io.contacts_to_history_sql('contact_log', interval_min)}),
        cl2 AS (
            SELECT interval_start, market, language, channel, {weighted}
            FROM (SELECT *, NULL::BIGINT AS answered_in_target FROM cl) GROUP BY ALL
        ),
        allrows AS (SELECT * FROM iv UNION ALL SELECT * FROM cl2)
        SELECT interval_start, market, language, channel,
               CAST(sum(contacts) AS BIGINT) AS contacts,
               sum(handle_total) / nullif(sum(handled_n), 0) AS aht_s,
               CAST(sum(abandoned) AS BIGINT) AS abandoned,
               CAST(sum(answered_in_target) AS BIGINT) AS answered_in_target,
               sum(wait_total) / nullif(sum(answered_n), 0) AS asa_s
        FROM allrows
        GROUP BY ALL
        """
        df = self.con.execute(sql).df()
        if df.empty:
            return schema.empty("history")
        for c in ("abandoned", "answered_in_target", "asa_s"):
            if df[c].isna().all():
                df = df.drop(columns=c)
            elif c != "asa_s":
                df[c] = df[c].fillna(0)
        df = io.history_from_result(df)
        if markets is not None:
            df = df[df["market"].isin(list(markets))]
        if start is not None:
            df = df[df["interval_start"] >= pd.Timestamp(start)]
        if end is not None:
            df = df[df["interval_start"] < pd.Timestamp(end)]
        return df.reset_index(drop=True)

    def contact_log(self) -> pd.DataFrame:
        df = self.con.execute("SELECT * EXCLUDE (ingest_id) FROM contact_log "
                              "ORDER BY arrived_at, contact_id").df()
        df["arrived_at"] = pd.to_datetime(df["arrived_at"], utc=True).astype(
            "datetime64[ns, UTC]")
        return df

    def interactions(self, *, start=None, end=None) -> pd.DataFrame:
        df = self.con.execute("SELECT * EXCLUDE (ingest_id) FROM interactions "
                              "ORDER BY contact_id").df()
        df["started_at"] = pd.to_datetime(df["started_at"], utc=True).astype(
            "datetime64[ns, UTC]")
        if df["contact_type"].isna().all():
            df = df.drop(columns="contact_type")
        if start is not None:
            df = df[df["started_at"] >= pd.Timestamp(start)]
        if end is not None:
            df = df[df["started_at"] < pd.Timestamp(end)]
        for c in ("resolved_first_contact", "complaint", "escalated"):
            df[c] = df[c].astype(bool)
        return df.reset_index(drop=True)

    def agents(self) -> pd.DataFrame:
        df = self.con.execute("SELECT * EXCLUDE (ingest_id) FROM agents ORDER BY agent_id").df()
        for c in ("languages", "availability", "channels", "wished_days_off"):
            df[c] = df[c].map(lambda v: list(v) if isinstance(v, list | tuple | np.ndarray)
                              else [])
        if all(len(v) == 0 for v in df["channels"]):
            df = df.drop(columns="channels")
        df["night_ok"] = df["night_ok"].astype(bool)
        df["preferred_shift"] = df["preferred_shift"].fillna("")
        return df

    def shifts(self) -> pd.DataFrame:
        df = self.con.execute("SELECT * EXCLUDE (ingest_id) FROM shifts "
                              "ORDER BY agent_id, date").df()
        for c in ("start_utc", "end_utc"):
            df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
        df["date"] = pd.to_datetime(df["date"]).dt.date
        return df

    # -- runs -------------------------------------------------------------------------
    def record_run(self, run_id: str, scenario, *, started_at, finished_at=None,
                   status: str = "done", out_dir: str = "", outputs=None,
                   summary=None) -> None:
        """Record (or update) a run: the scenario text, times, outputs and summary."""
        text = "\n".join(f"# --- {p}\n{t}" for p, t in scenario.texts)
        self.con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, scenario.name, scenario.path, text, scenario.fingerprint, started_at,
             finished_at, status, out_dir, json.dumps(outputs or {}, default=str),
             json.dumps(summary or {}, default=str)],
        )

    def runs(self) -> pd.DataFrame:
        return self.con.execute(
            "SELECT run_id, scenario, fingerprint, started_at, finished_at, status, out_dir "
            "FROM runs ORDER BY started_at DESC"
        ).df()

    def run_record(self, run_id: str) -> dict | None:
        """A recorded run with its scenario text, times, outputs and summary (parsed)."""
        cur = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
        row = cur.fetchone()
        if row is None:
            return None
        record = dict(zip([d[0] for d in cur.description], row, strict=True))
        for key in ("outputs", "summary"):
            if isinstance(record[key], str):
                record[key] = json.loads(record[key])
        return record

    # -- published rosters ------------------------------------------------------------
    _SHIFT_COLUMNS = ("agent_id", "date", "site", "shift", "start_utc", "end_utc",
                      "start_local", "end_local", "paid_min", "breaks")

    def _has_table(self, name: str) -> bool:
        return bool(self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()[0])

    def publish_roster(self, roster: pd.DataFrame, *, week_start, days: int = 7,
                       run_id: str | None = None, scenario: str | None = None,
                       source: str | None = None, published_at=None) -> int:
        """
        Publish ``roster`` as the roster of the planning week starting ``week_start``
        (00:00 UTC); returns its version (1 for the first, n + 1 after n).

        A published version is never modified: publishing the week again, even the same
        roster, adds a new version, and :meth:`published_roster` returns the latest. The
        header and the shifts are written in one transaction.

        Raises
        ------
        InputError
            A roster that breaks its contract, or shifts that start outside the week
            (from a day before ``week_start`` to a day after its ``days``).
        """
        schema.validate(roster, "roster", source="roster")
        week = _as_date(week_start)
        lo = pd.Timestamp(week).tz_localize("UTC") - pd.Timedelta(days=1)
        hi = pd.Timestamp(week).tz_localize("UTC") + pd.Timedelta(days=days + 1)
        starts = pd.to_datetime(roster["start_utc"], utc=True)
        outside = ((starts < lo) | (starts >= hi)).to_numpy()
        if outside.any():
            first = roster.loc[roster.index[outside][0]]
            raise InputError(
                f"roster: {int(outside.sum())} shift(s) start outside the week of {week} "
                f"(first: agent {first['agent_id']} at {pd.Timestamp(first['start_utc'])}); "
                "publish a roster under the planning week it was solved for")
        frame = roster[list(self._SHIFT_COLUMNS)].copy()
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
        frame["breaks"] = frame["breaks"].fillna("").astype(str)
        frame = frame.sort_values(["agent_id", "date"]).reset_index(drop=True)
        digest = hashlib.sha256(frame.assign(
            start_utc=frame["start_utc"].astype(str), end_utc=frame["end_utc"].astype(str),
            date=frame["date"].astype(str)).to_csv(index=False).encode()).hexdigest()
        self.con.begin()
        try:
            version = self.con.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM published_rosters "
                "WHERE week_start = ?", [week]).fetchone()[0]
            self.con.execute(
                "INSERT INTO published_rosters VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [week, version, published_at or dt.datetime.now(dt.UTC), run_id, scenario,
                 source, len(frame), digest])
            rows = frame.assign(week_start=week, version=version)
            self.con.register("_published", rows)
            try:
                names = ", ".join(("week_start", "version") + self._SHIFT_COLUMNS)
                self.con.execute(f"INSERT INTO published_shifts ({names}) "
                                 f"SELECT {names} FROM _published")
            finally:
                self.con.unregister("_published")
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        return int(version)

    def published_versions(self, week_start=None) -> pd.DataFrame:
        """The published versions (headers), newest first; of one week when given."""
        if not self._has_table("published_rosters"):
            return pd.DataFrame(columns=["week_start", "version", "published_at", "run_id",
                                         "scenario", "source", "shifts", "sha256"])
        sql = "SELECT * FROM published_rosters"
        params = []
        if week_start is not None:
            sql += " WHERE week_start = ?"
            params.append(_as_date(week_start))
        df = self.con.execute(sql + " ORDER BY week_start DESC, version DESC", params).df()
        df["week_start"] = pd.to_datetime(df["week_start"]).dt.date
        return df

    def published_roster(self, week_start, version: int | None = None) -> pd.DataFrame | None:
        """
        The roster published for the planning week that starts at ``week_start`` (a UTC
        date): the latest version, or ``version``; None when none was published.

        Returns
        -------
        DataFrame or None
            Contract ``roster``, sorted by agent_id and date.
        """
        if not self._has_table("published_shifts"):
            return None
        week = _as_date(week_start)
        if version is None:
            version = self.con.execute(
                "SELECT max(version) FROM published_rosters WHERE week_start = ?", [week]
            ).fetchone()[0]
            if version is None:
                return None
        names = ", ".join(self._SHIFT_COLUMNS)
        df = self.con.execute(
            f"SELECT {names} FROM published_shifts WHERE week_start = ? AND version = ? "
            "ORDER BY agent_id, date", [week, int(version)]).df()
        exists = self.con.execute(
            "SELECT count(*) FROM published_rosters WHERE week_start = ? AND version = ?",
            [week, int(version)]).fetchone()[0]
        if not exists:
            return None
        for c in ("start_utc", "end_utc"):
            df[c] = pd.to_datetime(df[c], utc=True).astype("datetime64[ns, UTC]")
        df["date"] = pd.to_datetime(df["date"]).dt.date.astype(object)
        df["paid_min"] = df["paid_min"].astype("int64")
        for c in ("agent_id", "site", "shift", "start_local", "end_local", "breaks"):
            df[c] = df[c].fillna("").astype(str)
        return schema.sort_frame(df, "roster")


def _as_date(value) -> dt.date:
    """A date from a date, an ISO string or a timestamp (its UTC date)."""
    if isinstance(value, dt.datetime):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        return (value.tz_convert("UTC") if value.tzinfo else value).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(f"week_start {value!r} is not a date (YYYY-MM-DD)") from None
