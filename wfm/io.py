"""
Reading files into contract frames, and the adapters for source formats.

Every reader returns ``(frame, metadata)``. Source columns are renamed at the edge
through one mapping per format; bad content raises :class:`~wfm.errors.InputError`
naming the file, the line and the column, listing every bad line at once (the first
twenty of each kind).

Formats
-------
interval
    CSV or Parquet with the ``history`` columns: ``interval_start`` (ISO 8601 with a
    UTC offset, e.g. ``2026-03-02T09:00:00Z``), ``market``, ``language``, ``channel``,
    ``contacts``, ``aht_s`` and optionally ``abandoned``, ``answered_in_target``,
    ``asa_s``.
contacts
    A per-contact log, CSV or Parquet, one row per offered contact: ``contact_id``,
    ``arrived_at`` (ISO 8601 with offset), ``market``, ``language``, ``channel``,
    ``abandoned`` (true/false/1/0), ``wait_s``, ``handle_s`` (empty when not handled),
    optionally ``agent_id``.
anonymous-bank
    The Technion "Anonymous Bank" call log (tab-separated, local Asia/Jerusalem times).
interactions, agents
    The contract frames of the same names as CSV (lists separated by ``;``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from wfm import schema
from wfm.errors import InputError

MAX_LISTED = 20
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")

# ---------------------------------------------------------------------------------------
# small parsing helpers that collect problems with line numbers


class _Problems:
    """Collects bad values per column and rule, then raises one InputError."""

    def __init__(self, path: str | Path, what: str = "line"):
        self.path = str(path)
        self.what = what
        self.items: list[tuple[str, str, list[int], list[str]]] = []

    def add(self, column: str, rule: str, lines, values) -> None:
        lines = list(lines)
        if lines:
            self.items.append((column, rule, lines, [str(v) for v in values]))

    def add_text(self, text: str) -> None:
        self.items.append(("", text, [], []))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        problems = []
        for column, rule, lines, values in self.items:
            if not lines:
                problems.append(rule)
                continue
            shown = ", ".join(
                f"{self.what} {n} ({v!r})" for n, v in zip(lines[:MAX_LISTED], values,
                                                          strict=False)
            )
            more = f" and {len(lines) - MAX_LISTED} more" if len(lines) > MAX_LISTED else ""
            problems.append(f"column '{column}': {rule}: {shown}{more}")
        total = sum(max(len(i[2]), 1) for i in self.items)
        raise InputError(f"{self.path}: {total} bad value{'s' if total > 1 else ''}:", problems)


def _timestamps_utc(values: pd.Series, lines: np.ndarray, column: str,
                    problems: _Problems) -> pd.Series:
    """ISO 8601 strings with an offset -> UTC timestamps; naive or bad ones reported."""
    text = values.fillna("").astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET)
    parsed = pd.to_datetime(text.where(has_offset, None), utc=True, errors="coerce",
                            format="ISO8601")
    empty = text == ""
    naive = ~has_offset & ~empty
    bad = has_offset & parsed.isna()
    problems.add(column, "empty timestamp", lines[empty.to_numpy()], text[empty])
    problems.add(column, "timestamp without a UTC offset (naive); write e.g. "
                 "2026-03-02T09:00:00Z or 2026-03-02T10:00:00+01:00",
                 lines[naive.to_numpy()], text[naive])
    problems.add(column, "not an ISO 8601 timestamp", lines[bad.to_numpy()], text[bad])
    return parsed.astype("datetime64[ns, UTC]")


def _numbers(values: pd.Series, lines: np.ndarray, column: str, problems: _Problems, *,
             integer: bool = False, required: bool = True) -> pd.Series:
    text = values.fillna("").astype(str).str.strip()
    empty = text == ""
    parsed = pd.to_numeric(text.where(~empty, None), errors="coerce")
    bad = ~empty & parsed.isna()
    problems.add(column, "not a number", lines[bad.to_numpy()], text[bad])
    if required:
        problems.add(column, "empty value", lines[empty.to_numpy()], text[empty])
    if integer:
        frac = parsed.notna() & (parsed % 1 != 0)
        problems.add(column, "not a whole number", lines[frac.to_numpy()], text[frac])
    return parsed.astype(float)


def _booleans(values: pd.Series, lines: np.ndarray, column: str,
              problems: _Problems) -> pd.Series:
    text = values.fillna("").astype(str).str.strip().str.lower()
    mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    bad = ~text.isin(list(mapping))
    problems.add(column, "not a boolean (true/false/1/0)", lines[bad.to_numpy()], text[bad])
    return pd.Series([mapping.get(v, False) for v in text], index=values.index, dtype=bool)


def _read_table(path: Path, required: tuple[str, ...], problems_word: str = "line"):
    """A CSV (all text) or Parquet file -> (frame, line numbers, is_text)."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many kinds
            raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
        return df, np.arange(len(df)), False
    if suffix not in (".csv", ".txt", ".tsv"):
        raise InputError(f"{path}: unknown file type {suffix!r}; expected .csv or .parquet")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                         sep="\t" if suffix == ".tsv" else ",", encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as "
                         "UTF-8") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable CSV file: {exc}") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty; expected a header line with "
                         f"{', '.join(required)}") from None
    df.columns = [c.strip() for c in df.columns]
    lines = np.arange(len(df)) + 2  # line 1 is the header
    blank = (df == "").all(axis=1).to_numpy() if len(df.columns) else np.zeros(len(df), bool)
    df, lines = df[~blank].reset_index(drop=True), lines[~blank]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} in "
            f"the header (line 1); found {', '.join(df.columns)}"
        )
    return df, lines, True


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (how the store recognises a file it has seen)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# interval files


def read_interval_file(path: str | Path, *, interval_min: int | None = None):
    """
    History from an interval file (CSV or Parquet).

    Returns
    -------
    (history, metadata)
        ``history`` follows the contract; ``metadata`` has source, format, rows and
        interval_min.
    """
    path = Path(path)
    spec = schema.HISTORY
    df, lines, is_text = _read_table(path, spec.required)
    if is_text:
        problems = _Problems(path)
        out = pd.DataFrame({
            "interval_start": _timestamps_utc(df["interval_start"], lines, "interval_start",
                                              problems),
        })
        for c in ("market", "language", "channel"):
            text = df[c].str.strip()
            problems.add(c, "empty value", lines[(text == "").to_numpy()], text[text == ""])
            out[c] = text.astype(object)
        out["contacts"] = _numbers(df["contacts"], lines, "contacts", problems, integer=True)
        out["aht_s"] = _numbers(df["aht_s"], lines, "aht_s", problems, required=False)
        for c, integer in (("abandoned", True), ("answered_in_target", True), ("asa_s", False)):
            if c in df.columns:
                out[c] = _numbers(df[c], lines, c, problems, integer=integer, required=integer)
        problems.raise_if_any()
        for c in ("contacts", "abandoned", "answered_in_target"):
            if c in out.columns:
                out[c] = out[c].astype("int64")
        try:
            schema.validate(out, "history", interval_min=interval_min, source=str(path))
        except InputError as exc:
            raise InputError(_rows_to_lines(str(exc), lines)) from None
        df = out
    else:
        schema.validate(df, "history", interval_min=interval_min, source=str(path))
    step = schema.infer_interval_min(df["interval_start"])
    return schema.sort_frame(df, "history"), {
        "source": str(path), "format": "interval", "rows": len(df), "interval_min": step,
    }


def _rows_to_lines(message: str, lines: np.ndarray) -> str:
    """Turn 'row(s) 3, 7' positions in a validation message into file line numbers."""

    def repl(match: re.Match) -> str:
        word = "lines" if match.group(1) == "rows" else "line"
        nums = [str(int(lines[int(n)])) for n in re.findall(r"\d+", match.group(2))]
        return f"{word} {', '.join(nums)}"

    return re.sub(r"\b(rows?) ((?:\d+)(?:, \d+)*)", repl, message)


# ---------------------------------------------------------------------------------------
# per-contact logs


def read_contact_log(path: str | Path, *, timezone: str = "UTC"):
    """
    A generic per-contact log (format ``contacts``) -> (contact_log, metadata).

    ``timezone`` is the IANA zone whose local days the log covers (used to tell a day
    without contacts from a day missing from the file); a ``timezone`` column in the
    file wins over it.
    """
    path = Path(path)
    required = ("contact_id", "arrived_at", "market", "language", "channel", "abandoned",
                "wait_s", "handle_s")
    df, lines, is_text = _read_table(path, required)
    if is_text:
        problems = _Problems(path)
        out = pd.DataFrame({"contact_id": df["contact_id"].str.strip().astype(object)})
        out["arrived_at"] = _timestamps_utc(df["arrived_at"], lines, "arrived_at", problems)
        for c in ("market", "language", "channel"):
            text = df[c].str.strip()
            problems.add(c, "empty value", lines[(text == "").to_numpy()], text[text == ""])
            out[c] = text.astype(object)
        out["abandoned"] = _booleans(df["abandoned"], lines, "abandoned", problems)
        out["wait_s"] = _numbers(df["wait_s"], lines, "wait_s", problems, required=False)
        out["handle_s"] = _numbers(df["handle_s"], lines, "handle_s", problems, required=False)
        if "agent_id" in df.columns:
            out["agent_id"] = df["agent_id"].str.strip().replace("", None).astype(object)
        out["timezone"] = (df["timezone"].str.strip().astype(object)
                           if "timezone" in df.columns else timezone)
        problems.raise_if_any()
        try:
            schema.validate(out, "contact_log", source=str(path))
        except InputError as exc:
            raise InputError(_rows_to_lines(str(exc), lines)) from None
        df = out
    else:
        schema.validate(df, "contact_log", source=str(path))
    return df.sort_values("arrived_at", kind="stable").reset_index(drop=True), {
        "source": str(path), "format": "contacts", "rows": len(df),
    }


#: Anonymous Bank columns as in the file header -> our names
ANONYMOUS_BANK_COLUMNS = {
    "vru+line": "vru_line", "call_id": "call_id", "customer_id": "customer_id",
    "priority": "priority", "type": "queue_type", "date": "date", "vru_entry": "vru_entry",
    "vru_exit": "vru_exit", "vru_time": "vru_time", "q_start": "q_start", "q_exit": "q_exit",
    "q_time": "q_time", "outcome": "outcome", "ser_start": "ser_start", "ser_exit": "ser_exit",
    "ser_time": "ser_time", "server": "server",
}
ANONYMOUS_BANK_ZONE = "Asia/Jerusalem"
ANONYMOUS_BANK_MARKET = "IL"
#: queue type -> (language, channel); other types become their own line "voice-<type>"
ANONYMOUS_BANK_QUEUES = {"PS": ("he", "voice"), "PE": ("en", "voice")}
_TIME = re.compile(r"^(\d{1,2}):([0-5]\d):([0-5]\d)$")


def anonymous_bank_queue(queue_type: str) -> tuple[str, str]:
    """(language, channel) of an Anonymous Bank queue type: PS -> he voice, PE -> en
    voice, any other type T -> he, ``voice-t`` (its own queue)."""
    return ANONYMOUS_BANK_QUEUES.get(queue_type, ("he", f"voice-{queue_type.lower()}"))


def read_anonymous_bank(path: str | Path):
    """
    The Anonymous Bank call log -> (contact_log, metadata).

    Tab- (or space-) separated, one row per call, local Asia/Jerusalem times. Rows
    with outcome PHANTOM (no real call) are dropped; ``abandoned`` is a HANG after
    the call entered the queue; ``handle_s`` is ``ser_time`` of served calls;
    ``wait_s`` is ``q_time``. Times that pass midnight on the same row (service
    ending after 00:00) are moved to the next day. Extra columns: ``queue_type``,
    ``priority``, ``answered_at`` (UTC) and ``agent_id`` (the server's name).

    Raises
    ------
    InputError
        Naming the file, the line and the column of every bad value.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    raw_lines = text.splitlines()
    if not raw_lines:
        raise InputError(f"{path}: the file is empty; expected the Anonymous Bank header "
                         f"({' '.join(ANONYMOUS_BANK_COLUMNS)})")
    header = raw_lines[0].split()
    expected = list(ANONYMOUS_BANK_COLUMNS)
    if header != expected:
        raise InputError(
            f"{path}: line 1 is not the Anonymous Bank header; expected columns "
            f"{' '.join(expected)}, found {' '.join(header)}"
        )
    problems = _Problems(path)
    rows, lines = [], []
    bad_count = []
    for number, line in enumerate(raw_lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split()  # a few rows use a space instead of a tab
        if len(fields) != len(expected):
            bad_count.append((number, f"{len(fields)} fields"))
            continue
        rows.append(fields)
        lines.append(number)
    if bad_count:
        problems.add("(row)", f"expected {len(expected)} fields",
                     [n for n, _ in bad_count], [w for _, w in bad_count])
    df = pd.DataFrame(rows, columns=list(ANONYMOUS_BANK_COLUMNS.values()))
    lines = np.asarray(lines, dtype=int)

    date = pd.to_datetime(df["date"], format="%y%m%d", errors="coerce")
    bad = date.isna()
    problems.add("date", "not a date YYMMDD", lines[bad.to_numpy()], df["date"][bad])
    seconds = {}
    for c in ("vru_entry", "q_start", "ser_start"):
        p = df[c].str.extract(_TIME).apply(pd.to_numeric, errors="coerce")
        ok = p.notna().all(axis=1) & (p[0] < 24)
        problems.add(c, "not a time H:MM:SS", lines[~ok.to_numpy()], df[c][~ok])
        p = p.fillna(0)
        seconds[c] = (p[0] * 3600 + p[1] * 60 + p[2]).to_numpy()
    numbers = {}
    for c in ("q_time", "ser_time", "priority"):
        numbers[c] = _numbers(df[c], lines, c, problems, integer=True).to_numpy()
    outcome = df["outcome"]
    bad = ~outcome.isin(["AGENT", "HANG", "PHANTOM"])
    problems.add("outcome", "expected AGENT, HANG or PHANTOM", lines[bad.to_numpy()],
                 outcome[bad])
    bad = ~df["queue_type"].str.fullmatch(r"[A-Z]{2}")
    problems.add("type", "expected a two-letter queue type such as PS", lines[bad.to_numpy()],
                 df["queue_type"][bad])
    problems.raise_if_any()

    keep = (outcome != "PHANTOM").to_numpy()
    n_phantom = int((~keep).sum())
    day = date.to_numpy()
    arrival_local = day + pd.to_timedelta(seconds["vru_entry"], unit="s").to_numpy()
    # service start on the same row may pass midnight: then it is on the next day
    ser = seconds["ser_start"]
    wraps = (ser + 12 * 3600 < seconds["vru_entry"])
    answered_local = day + pd.to_timedelta(ser + wraps * 86400, unit="s").to_numpy()

    zone_args = {"ambiguous": np.zeros(len(df), dtype=bool), "nonexistent": "shift_forward"}
    arrived = pd.DatetimeIndex(arrival_local).tz_localize(ANONYMOUS_BANK_ZONE, **zone_args)
    answered = pd.DatetimeIndex(answered_local).tz_localize(ANONYMOUS_BANK_ZONE, **zone_args)
    served = (outcome == "AGENT").to_numpy()
    queued = (df["q_start"] != "0:00:00").to_numpy()
    lang_channel = df["queue_type"].map(anonymous_bank_queue)

    out = pd.DataFrame({
        "contact_id": (df["date"] + "-" + df["vru_line"] + "-" + df["call_id"]).astype(object),
        "arrived_at": arrived.tz_convert("UTC").astype("datetime64[ns, UTC]"),
        "market": ANONYMOUS_BANK_MARKET,
        "language": lang_channel.str[0].astype(object),
        "channel": lang_channel.str[1].astype(object),
        "abandoned": (outcome == "HANG").to_numpy() & queued,
        "wait_s": np.where(queued, np.maximum(numbers["q_time"], 0), 0.0),
        "handle_s": np.where(served, numbers["ser_time"], np.nan),
        "agent_id": df["server"].where(df["server"] != "NO_SERVER", None).astype(object),
        "timezone": ANONYMOUS_BANK_ZONE,
        "queue_type": df["queue_type"].astype(object),
        "priority": numbers["priority"].astype("int64"),
        "answered_at": pd.Series(answered.tz_convert("UTC")).where(served).astype(
            "datetime64[ns, UTC]").to_numpy(),
        "line": lines,
    })
    out = out[keep].reset_index(drop=True)
    try:
        schema.validate(out, "contact_log", source=str(path))
    except InputError as exc:
        raise InputError(_rows_to_lines(str(exc), out["line"].to_numpy())) from None
    out = out.drop(columns="line")
    return out.sort_values(["arrived_at", "contact_id"], kind="stable").reset_index(drop=True), {
        "source": str(path), "format": "anonymous-bank", "rows": len(out),
        "phantom_dropped": n_phantom, "timezone": ANONYMOUS_BANK_ZONE,
    }


def contacts_to_history_sql(table: str, interval_min: int) -> str:
    """
    SQL that aggregates a per-contact table (contract ``contact_log``) to history on
    the ``interval_min`` grid (UTC).

    Intervals without contacts are filled with zeros on every local day (in the
    source's ``timezone``) on which the market had any contact; days absent from the
    source stay absent: they are gaps, not zeros. The connection's TimeZone must be
    UTC.
    """
    if interval_min not in schema.INTERVAL_CHOICES_MIN:
        raise InputError(f"interval_min {interval_min} is not one of "
                         f"{schema.INTERVAL_CHOICES_MIN}")
    step = f"INTERVAL '{interval_min} minutes'"
    return f"""
    WITH src AS (SELECT *, coalesce(timezone, 'UTC') AS tz FROM {table}),
    buckets AS (
        SELECT time_bucket({step}, arrived_at) AS interval_start,
               market, language, channel,
               CAST(count(*) AS BIGINT) AS contacts,
               avg(handle_s) AS aht_s,
               CAST(sum(CASE WHEN abandoned THEN 1 ELSE 0 END) AS BIGINT) AS abandoned,
               avg(CASE WHEN handle_s IS NOT NULL THEN wait_s END) AS asa_s
        FROM src
        GROUP BY ALL
    ),
    days AS (
        SELECT DISTINCT market, tz, date_trunc('day', timezone(tz, arrived_at)) AS local_day
        FROM src
    ),
    series AS (SELECT DISTINCT market, language, channel FROM src),
    grid_raw AS (
        SELECT s.market, s.language, s.channel,
               unnest(range(timezone(d.tz, d.local_day),
                            timezone(d.tz, d.local_day + INTERVAL 1 DAY), {step})) AS t
        FROM series s JOIN days d USING (market)
    ),
    grid AS (
        SELECT DISTINCT market, language, channel, time_bucket({step}, t) AS interval_start
        FROM grid_raw
    )
    SELECT g.interval_start, g.market, g.language, g.channel,
           CAST(coalesce(b.contacts, 0) AS BIGINT) AS contacts,
           b.aht_s,
           CAST(coalesce(b.abandoned, 0) AS BIGINT) AS abandoned,
           b.asa_s
    FROM grid g LEFT JOIN buckets b USING (interval_start, market, language, channel)
    ORDER BY g.interval_start, g.market, g.language, g.channel
    """


def connect_memory() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def history_from_result(df: pd.DataFrame) -> pd.DataFrame:
    """Contract dtypes on a history frame that came back from DuckDB."""
    df = df.copy()
    df["interval_start"] = pd.to_datetime(df["interval_start"], utc=True).astype(
        "datetime64[ns, UTC]")
    for c in ("market", "language", "channel"):
        df[c] = df[c].astype(object)
    for c in ("contacts", "abandoned", "answered_in_target"):
        if c in df.columns:
            df[c] = df[c].astype("int64")
    for c in ("aht_s", "asa_s"):
        if c in df.columns:
            df[c] = df[c].astype(float)
    return schema.sort_frame(df, "history")


def aggregate_contacts(contact_log: pd.DataFrame, interval_min: int = 60) -> pd.DataFrame:
    """Per-contact log -> history on the ``interval_min`` grid (the same SQL as the
    store uses)."""
    schema.validate(contact_log, "contact_log")
    if "timezone" not in contact_log.columns:
        contact_log = contact_log.assign(timezone="UTC")
    con = connect_memory()
    try:
        con.register("contact_log_in", contact_log)
        result = con.execute(contacts_to_history_sql("contact_log_in", interval_min)).df()
    finally:
        con.close()
    return history_from_result(result)


def read_history(path: str | Path, *, format: str | None = None, interval_min: int = 60):
    """
    History from any supported file: ``format`` is ``interval``, ``contacts`` or
    ``anonymous-bank`` (inferred from the file when not given).
    """
    fmt = format or guess_format(path)
    if fmt == "interval":
        return read_interval_file(path)
    if fmt == "contacts":
        log, meta = read_contact_log(path)
    elif fmt == "anonymous-bank":
        log, meta = read_anonymous_bank(path)
    else:
        raise InputError(f"{path}: format {fmt!r} does not hold history; use interval, "
                         "contacts or anonymous-bank")
    return aggregate_contacts(log, interval_min), {**meta, "interval_min": interval_min}


def guess_format(path: str | Path) -> str:
    """The format of a file from its first line (header)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() in (".parquet", ".pq"):
        cols = set(pd.read_parquet(path).columns)
    else:
        with open(path, encoding="utf-8", errors="replace") as f:
            first = f.readline()
        if first.split()[:1] == ["vru+line"]:
            return "anonymous-bank"
        cols = {c.strip() for c in first.strip().split(",")}
    if "interval_start" in cols:
        return "interval"
    if "arrived_at" in cols:
        return "contacts"
    if "started_at" in cols and "agent_id" in cols:
        return "interactions"
    if "languages" in cols and "agent_id" in cols:
        return "agents"
    raise InputError(
        f"{path}: cannot tell the format from the header; give --format interval, contacts, "
        "anonymous-bank, interactions or agents"
    )


# ---------------------------------------------------------------------------------------
# interactions and agents as CSV


def _split_list(values: pd.Series) -> pd.Series:
    return values.fillna("").map(lambda v: [x.strip() for x in str(v).split(";") if x.strip()])


def read_interactions(path: str | Path):
    """Per-contact KPI records (contract ``interactions``) from CSV or Parquet."""
    path = Path(path)
    spec = schema.INTERACTIONS
    df, lines, is_text = _read_table(path, spec.required)
    if is_text:
        problems = _Problems(path)
        out = pd.DataFrame({c: df[c].str.strip().astype(object)
                            for c in ("contact_id", "agent_id", "site", "market", "language",
                                      "channel")})
        out["started_at"] = _timestamps_utc(df["started_at"], lines, "started_at", problems)
        for c in ("handle_s", "wait_s", "csat", "qa_score"):
            out[c] = _numbers(df[c], lines, c, problems, required=c in ("handle_s",))
        for c in ("resolved_first_contact", "complaint", "escalated"):
            out[c] = _booleans(df[c], lines, c, problems)
        if "contact_type" in df.columns:
            out["contact_type"] = df["contact_type"].str.strip().astype(object)
        problems.raise_if_any()
        try:
            schema.validate(out, "interactions", source=str(path))
        except InputError as exc:
            raise InputError(_rows_to_lines(str(exc), lines)) from None
        df = out
    else:
        schema.validate(df, "interactions", source=str(path))
    return schema.sort_frame(df, "interactions"), {"source": str(path),
                                                   "format": "interactions", "rows": len(df)}


def read_agents(path: str | Path):
    """The agents table from CSV (lists such as ``languages`` separated by ';')."""
    path = Path(path)
    spec = schema.AGENTS
    df, lines, is_text = _read_table(path, spec.required)
    if is_text:
        problems = _Problems(path)
        out = pd.DataFrame({c: df[c].str.strip().astype(object)
                            for c in ("agent_id", "site", "role")})
        for c in ("languages", "availability", "channels", "wished_days_off"):
            if c in df.columns:
                out[c] = _split_list(df[c])
        for c in ("contract_hours_week", "min_hours_week"):
            out[c] = _numbers(df[c], lines, c, problems)
        out["night_ok"] = _booleans(df["night_ok"], lines, "night_ok", problems)
        if "preferred_shift" in df.columns:
            out["preferred_shift"] = df["preferred_shift"].str.strip().astype(object)
        problems.raise_if_any()
        try:
            schema.validate(out, "agents", source=str(path))
        except InputError as exc:
            raise InputError(_rows_to_lines(str(exc), lines)) from None
        df = out
    else:
        schema.validate(df, "agents", source=str(path))
    return schema.sort_frame(df, "agents"), {"source": str(path), "format": "agents",
                                             "rows": len(df)}


def write_frame_csv(df: pd.DataFrame, path: str | Path) -> None:
    """CSV with lists joined by ';' and timestamps in ISO 8601 with offset."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, list | tuple)).any():
            out[c] = out[c].map(lambda v: ";".join(map(str, v)) if isinstance(v, list | tuple)
                                else v)
        elif isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].map(lambda t: t.isoformat() if pd.notna(t) else "")
    out.to_csv(path, index=False)


# ---------------------------------------------------------------------------------------
# run folders: written whole or not at all


def replace_dir(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target``; an old ``target`` is removed only
    after the new one is in place (a crash leaves the old result or the new one)."""
    new, target = Path(new), Path(target)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_stale_partials(target: Path, older_than_s: float = 3600.0) -> None:
    """Remove what killed writes of ``target`` left behind (hidden ``.NAME.partial-*``
    and ``.NAME.old-*`` siblings older than an hour; younger ones may be in use)."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    now = time.time()
    for pattern in (f".{target.name}.partial-*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            try:
                if now - leftover.stat().st_mtime > older_than_s:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                continue


def read_bundle(out_dir: str | Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    """The summary and frames of a written run folder."""
    out_dir = Path(out_dir)
    summary_file = out_dir / "summary.json"
    if not summary_file.is_file():
        raise InputError(f"{out_dir}: not a run folder (no summary.json); give the --out "
                         "folder of a `wfm run`")
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    frames = {p.stem: pd.read_parquet(p) for p in sorted(out_dir.glob("*.parquet"))}
    for kind, frame in frames.items():
        if kind in schema.SPECS:
            frames[kind] = schema.sort_frame(frame, kind)
    return summary, frames
