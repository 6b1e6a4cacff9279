"""
Column names, dtypes and units of every frame of the data contract.

Every frame is long: one row per key (and interval). Time is a tz-aware UTC column;
units are in the column names (``_s`` seconds, ``_min`` minutes, ``_erl`` Erlangs,
``_h`` hours); a rate without a suffix is a fraction in [0, 1].

:func:`validate` checks a frame against its :class:`FrameSpec` and raises one
:class:`~wfm.errors.InputError` listing every problem at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wfm.errors import InputError

#: Interval lengths the planner works with. [min]
INTERVAL_CHOICES_MIN = (15, 30, 60)

#: Roles of the composite scorecard (DESIGN.md).
ROLES = ("front_line", "second_line", "minor_language", "after_sales")

#: Channels and the queueing model each one uses.
CHANNELS = ("voice", "chat", "email")

# kinds of column
TIMESTAMP_UTC = "timestamp_utc"
INT = "int"
FLOAT = "float"
STR = "str"
BOOL = "bool"
LIST = "list"
DATE = "date"


@dataclass(frozen=True)
class Column:
    """One column: its name, kind, unit and the rules its values keep."""

    name: str
    kind: str
    unit: str = ""
    description: str = ""
    required: bool = True
    nonnegative: bool = False
    fraction: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class FrameSpec:
    """A frame of the data contract: its key and its columns."""

    kind: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _key(name: str, kind: str, **kw) -> Column:
    return Column(name, kind, nullable=False, **kw)


_INTERVAL = _key("interval_start", TIMESTAMP_UTC, description="left edge of the interval, UTC")
_MARKET = _key("market", STR, description="market code where contacts come from, e.g. US")
_LANGUAGE = _key("language", STR, description="ISO 639-1 language code, e.g. en")
_CHANNEL = _key("channel", STR, description="voice, chat or email (a line may add a suffix)")
_QUEUE = _key("queue", STR, description="what agents are skilled for: language_channel")
_AGENT = _key("agent_id", STR)

SPECS: dict[str, FrameSpec] = {}


def _register(spec: FrameSpec) -> FrameSpec:
    SPECS[spec.kind] = spec
    return spec


HISTORY = _register(
    FrameSpec(
        "history",
        ("interval_start", "market", "language", "channel"),
        (
            _INTERVAL,
            _MARKET,
            _LANGUAGE,
            _CHANNEL,
            Column("contacts", INT, "contacts", "offered contacts", nonnegative=True,
                   nullable=False),
            Column("aht_s", FLOAT, "s", "average handle time; NaN where nothing was handled",
                   nonnegative=True),
            Column("abandoned", INT, "contacts", required=False, nonnegative=True),
            Column("answered_in_target", INT, "contacts", required=False, nonnegative=True),
            Column("asa_s", FLOAT, "s", "average speed of answer", required=False,
                   nonnegative=True),
        ),
        "offered contacts and handle time per interval, market, language and channel",
    )
)

FORECAST = _register(
    FrameSpec(
        "forecast",
        HISTORY.key,
        (
            _INTERVAL,
            _MARKET,
            _LANGUAGE,
            _CHANNEL,
            Column("contacts", FLOAT, "contacts", "mean forecast", nonnegative=True,
                   nullable=False),
            Column("contacts_lo", FLOAT, "contacts", "lower edge of the 80 % interval",
                   nonnegative=True),
            Column("contacts_hi", FLOAT, "contacts", "upper edge of the 80 % interval",
                   nonnegative=True),
            Column("aht_s", FLOAT, "s", nonnegative=True),
            Column("model", STR),
        ),
    )
)

REQUIREMENT = _register(
    FrameSpec(
        "requirement",
        ("interval_start", "queue"),
        (
            _INTERVAL,
            _QUEUE,
            Column("language", STR, description="language the queue's agents need",
                   required=False),
            Column("channel", STR, description="channel of the queue", required=False),
            Column("contacts", FLOAT, "contacts", nonnegative=True),
            Column("aht_s", FLOAT, "s", nonnegative=True),
            Column("traffic_erl", FLOAT, "Erl", nonnegative=True),
            Column("agents", INT, "agents", "productive agents needed", nonnegative=True),
            Column("headcount", INT, "agents", "scheduled agents after shrinkage",
                   nonnegative=True),
            Column("service_level", FLOAT, fraction=True),
            Column("asa_s", FLOAT, "s", nonnegative=True),
            Column("occupancy", FLOAT, fraction=True),
            Column("target_service_level", FLOAT, required=False, fraction=True),
            Column("target_answer_s", FLOAT, "s", required=False, nonnegative=True),
            Column("target_asa_s", FLOAT, "s", required=False, nonnegative=True),
            Column("target_max_occupancy", FLOAT, required=False, fraction=True),
        ),
    )
)

AGENTS = _register(
    FrameSpec(
        "agents",
        ("agent_id",),
        (
            _AGENT,
            Column("site", STR, nullable=False),
            Column("languages", LIST, description="language codes the agent serves",
                   nullable=False),
            Column("contract_hours_week", FLOAT, "h", "paid hours the contract allows",
                   nonnegative=True, nullable=False),
            Column("min_hours_week", FLOAT, "h", "paid hours the contract guarantees",
                   nonnegative=True, nullable=False),
            Column("role", STR, allowed=ROLES, nullable=False),
            Column("night_ok", BOOL, nullable=False),
            Column("availability", LIST,
                   "site-local ISO dates (YYYY-MM-DD) or weekdays (Mon..Sun) off"),
            Column("channels", LIST, description="channels served; all when missing",
                   required=False),
            Column("preferred_shift", STR, required=False,
                   allowed=("", "early", "day", "late", "night")),
            Column("wished_days_off", LIST, "weekdays Mon..Sun", required=False),
        ),
    )
)

ROSTER = _register(
    FrameSpec(
        "roster",
        ("agent_id", "date"),
        (
            _AGENT,
            _key("date", DATE, description="site-local date of the shift start"),
            Column("site", STR, nullable=False),
            Column("shift", STR, description="shift template name", nullable=False),
            Column("start_utc", TIMESTAMP_UTC, nullable=False),
            Column("end_utc", TIMESTAMP_UTC, nullable=False),
            Column("start_local", STR, description="ISO 8601 with the site's UTC offset",
                   nullable=False),
            Column("end_local", STR, description="ISO 8601 with the site's UTC offset",
                   nullable=False),
            Column("paid_min", INT, "min", nonnegative=True, nullable=False),
            Column("breaks", STR, description="unpaid breaks, local HH:MM-HH:MM; ';' between"),
        ),
    )
)

ALLOCATION = _register(
    FrameSpec(
        "allocation",
        ("interval_start", "agent_id"),
        (_INTERVAL, _AGENT, Column("queue", STR, nullable=False)),
    )
)

COVERAGE = _register(
    FrameSpec(
        "coverage",
        ("interval_start", "queue"),
        (
            _INTERVAL,
            _QUEUE,
            Column("required", FLOAT, "agents", nonnegative=True),
            Column("scheduled", FLOAT, "agents", nonnegative=True),
            Column("gap", FLOAT, "agents", "scheduled - required"),
            Column("service_level", FLOAT, fraction=True),
            Column("asa_s", FLOAT, "s", nonnegative=True),
            Column("occupancy", FLOAT, fraction=True),
        ),
    )
)

INTERACTIONS = _register(
    FrameSpec(
        "interactions",
        ("contact_id",),
        (
            _key("contact_id", STR),
            Column("agent_id", STR, nullable=False),
            Column("started_at", TIMESTAMP_UTC, nullable=False),
            Column("site", STR),
            _MARKET,
            _LANGUAGE,
            _CHANNEL,
            Column("handle_s", FLOAT, "s", nonnegative=True),
            Column("wait_s", FLOAT, "s", nonnegative=True),
            Column("resolved_first_contact", BOOL),
            Column("csat", FLOAT, "rating 1-5", "post-contact rating; NaN when not rated",
                   low=1, high=5),
            Column("qa_score", FLOAT, "points of 100", "NaN when not reviewed", low=0,
                   high=100),
            Column("complaint", BOOL),
            Column("escalated", BOOL),
            Column("contact_type", STR, required=False),
        ),
    )
)

CONTACT_LOG = _register(
    FrameSpec(
        "contact_log",
        ("contact_id",),
        (
            _key("contact_id", STR),
            Column("arrived_at", TIMESTAMP_UTC, nullable=False),
            _MARKET,
            _LANGUAGE,
            _CHANNEL,
            Column("abandoned", BOOL, nullable=False),
            Column("wait_s", FLOAT, "s", "time in queue", nonnegative=True),
            Column("handle_s", FLOAT, "s", "NaN when not handled", nonnegative=True),
            Column("agent_id", STR, required=False),
            Column("timezone", STR, "IANA zone", "the source's local zone; UTC when missing",
                   required=False),
        ),
        "one row per offered contact (the source of history from per-contact logs)",
    )
)

SCORECARD = _register(
    FrameSpec(
        "scorecard",
        ("agent_id", "kpi"),
        (
            _AGENT,
            _key("kpi", STR),
            Column("role", STR, allowed=ROLES),
            Column("n", INT, "contacts", nonnegative=True),
            Column("raw", FLOAT),
            Column("expected", FLOAT),
            Column("adjusted", FLOAT),
            Column("target", FLOAT),
            Column("meets_target", BOOL),
            Column("weight", FLOAT, nonnegative=True),
        ),
    )
)


# ---------------------------------------------------------------------------
# validation


def _where(positions, first_line: int | None, limit: int = 5) -> str:
    positions = list(positions)
    word = "line" if first_line is not None else "row"
    shown = [str(p + first_line) if first_line is not None else str(p) for p in positions[:limit]]
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    plural = "s" if len(positions) > 1 else ""
    return f"{word}{plural} {', '.join(shown)}{more}"


def _kind_ok(series: pd.Series, col: Column) -> str | None:
    """None when the dtype fits the column's kind, else what was found."""
    dtype = series.dtype
    if col.kind == TIMESTAMP_UTC:
        if not isinstance(dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(
            dtype
        ):
            return f"dtype {dtype}"
        return None
    if col.kind == INT:
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_integer_dtype(dtype):
            return f"dtype {dtype}"
        return None
    if col.kind == FLOAT:
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            return f"dtype {dtype}"
        return None
    if col.kind == BOOL:
        if pd.api.types.is_bool_dtype(dtype):
            return None
        if dtype == np.dtype(object):
            bad = series.dropna().map(lambda v: not isinstance(v, bool | np.bool_))
            return "non-boolean values" if bad.any() else None
        return f"dtype {dtype}"
    if col.kind == STR:
        if pd.api.types.is_string_dtype(dtype) and dtype != np.dtype(object):
            return None
        if dtype == np.dtype(object):
            bad = series.dropna().map(lambda v: not isinstance(v, str))
            return "non-text values" if bad.any() else None
        return f"dtype {dtype}"
    if col.kind == LIST:
        if dtype != np.dtype(object):
            return f"dtype {dtype}"
        bad = series.dropna().map(lambda v: not isinstance(v, list | tuple | np.ndarray))
        return "values that are not lists" if bad.any() else None
    if col.kind == DATE:
        if pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
            return None
        if dtype == np.dtype(object):
            bad = series.dropna().map(
                lambda v: not isinstance(v, dt.date) or isinstance(v, dt.datetime)
            )
            return "values that are not dates" if bad.any() else None
        return f"dtype {dtype}"
    raise ValueError(f"unknown column kind {col.kind!r}")


_EXPECTED = {
    TIMESTAMP_UTC: "tz-aware UTC timestamps (datetime64[ns, UTC])",
    INT: "integers (int64)",
    FLOAT: "numbers (float64)",
    BOOL: "booleans",
    STR: "text",
    LIST: "lists",
    DATE: "dates (datetime.date)",
}


def infer_interval_min(timestamps: pd.Series) -> int | None:
    """
    The interval length of a UTC timestamp column: the largest of 60, 30, 15 minutes
    on whose grid every timestamp lies, or None when they are on none of them. [min]
    """
    ts = pd.Series(timestamps).dropna()
    if ts.empty:
        return None
    minutes = ts.dt.minute.to_numpy()
    on_minute = (ts.dt.second.to_numpy() == 0) & (ts.dt.microsecond.to_numpy() == 0)
    if not on_minute.all():
        return None
    for step in sorted(INTERVAL_CHOICES_MIN, reverse=True):
        if (minutes % step == 0).all():
            return step
    return None


def validate(
    df: pd.DataFrame,
    kind: str,
    *,
    interval_min: int | None = None,
    source: str | None = None,
    first_line: int | None = None,
) -> pd.DataFrame:
    """
    Check ``df`` against the contract frame ``kind`` and return it unchanged.

    Parameters
    ----------
    df : DataFrame
        The frame to check; it is never modified.
    kind : str
        A key of :data:`SPECS` (``history``, ``forecast``, ``requirement``, ...).
    interval_min : int, optional
        The interval grid ``interval_start`` must lie on. [min] When not given, any of
        the 15, 30 or 60-minute grids is accepted.
    source : str, optional
        What the frame came from (a file name), named in the message.
    first_line : int, optional
        When the rows come from a text file, the line number of the first row, so
        that problems name file lines instead of row positions.

    Raises
    ------
    InputError
        Listing every problem: missing columns, wrong dtypes, naive or non-UTC
        timestamps, timestamps off the interval grid, missing key values, negative
        counts, fractions outside [0, 1], values outside their range or set,
        duplicate keys.
    """
    if kind not in SPECS:
        raise ValueError(f"unknown frame kind {kind!r}; known: {', '.join(sorted(SPECS))}")
    spec = SPECS[kind]
    where = f"{source}: " if source else ""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{where}{kind} frame expected a pandas DataFrame, got {type(df)!r}")
    problems: list[str] = []

    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        problems.append(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"a {kind} frame needs {', '.join(spec.required)}"
        )

    positions = np.arange(len(df))
    typed_ok: set[str] = set()
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        found = _kind_ok(s, col)
        if found is not None:
            problems.append(
                f"column {col.name!r}: expected {_EXPECTED[col.kind]}, found {found}"
            )
            continue
        typed_ok.add(col.name)
        isna = s.isna().to_numpy() if col.kind != LIST else s.map(_is_missing).to_numpy()
        if not col.nullable and isna.any():
            problems.append(
                f"column {col.name!r}: {int(isna.sum())} missing value(s) at "
                f"{_where(positions[isna], first_line)}; every row needs a {col.name}"
            )
        if col.kind == TIMESTAMP_UTC:
            tz = getattr(s.dtype, "tz", None)
            if tz is None:
                problems.append(
                    f"column {col.name!r}: naive timestamps (no time zone); times must be "
                    "tz-aware UTC: localize with .dt.tz_localize(<IANA zone of the source>) "
                    "then .dt.tz_convert('UTC')"
                )
            elif str(tz) not in ("UTC", "Etc/UTC", "UTC+00:00"):
                problems.append(
                    f"column {col.name!r}: time zone {tz}, expected UTC; convert with "
                    ".dt.tz_convert('UTC')"
                )
        if col.kind in (INT, FLOAT):
            values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            if col.nonnegative:
                neg = values < 0
                if neg.any():
                    first = values[neg][0]
                    problems.append(
                        f"column {col.name!r}: {int(neg.sum())} negative value(s) at "
                        f"{_where(positions[neg], first_line)} (first: {first:g}); "
                        f"{col.name} must be >= 0"
                    )
            if col.fraction:
                out = (values < 0) | (values > 1)
                if out.any():
                    first = values[out][0]
                    hint = " (a rate is a fraction: write 0.8 for 80 %)" if first > 1 else ""
                    problems.append(
                        f"column {col.name!r}: {int(out.sum())} value(s) outside [0, 1] at "
                        f"{_where(positions[out], first_line)} (first: {first:g}){hint}"
                    )
            if col.low is not None or col.high is not None:
                low = -np.inf if col.low is None else col.low
                high = np.inf if col.high is None else col.high
                out = (values < low) | (values > high)
                if out.any():
                    problems.append(
                        f"column {col.name!r}: {int(out.sum())} value(s) outside "
                        f"[{low:g}, {high:g}] at {_where(positions[out], first_line)} "
                        f"(first: {values[out][0]:g})"
                    )
        if col.allowed is not None:
            bad = s.notna().to_numpy() & ~s.isin(col.allowed).to_numpy()
            if bad.any():
                found_values = sorted({str(v) for v in s[bad]})[:5]
                problems.append(
                    f"column {col.name!r}: value(s) {', '.join(map(repr, found_values))} at "
                    f"{_where(positions[bad], first_line)}; allowed: "
                    f"{', '.join(repr(a) for a in col.allowed)}"
                )

    if "interval_start" in typed_ok:
        ts = df["interval_start"]
        if getattr(ts.dtype, "tz", None) is not None:
            problems.extend(_grid_problems(ts, interval_min, positions, first_line))

    if kind == "history" and {"contacts", "abandoned"} <= typed_ok:
        over = (df["abandoned"] > df["contacts"]).to_numpy()
        if over.any():
            problems.append(
                f"column 'abandoned': {int(over.sum())} row(s) with more abandoned than "
                f"offered contacts at {_where(positions[over], first_line)}"
            )
    if kind == "forecast" and {"contacts", "contacts_lo", "contacts_hi"} <= typed_ok:
        bad = ((df["contacts_lo"] > df["contacts"] + 1e-9)
               | (df["contacts_hi"] < df["contacts"] - 1e-9)).to_numpy()
        if bad.any():
            problems.append(
                f"{int(bad.sum())} row(s) where the forecast lies outside its interval "
                f"(contacts_lo <= contacts <= contacts_hi) at {_where(positions[bad], first_line)}"
            )
    if kind == "agents" and {"contract_hours_week", "min_hours_week"} <= typed_ok:
        bad = (df["min_hours_week"] > df["contract_hours_week"]).to_numpy()
        if bad.any():
            problems.append(
                f"{int(bad.sum())} agent(s) with min_hours_week above contract_hours_week at "
                f"{_where(positions[bad], first_line)}"
            )
    if kind == "roster" and {"start_utc", "end_utc"} <= typed_ok:
        bad = (df["end_utc"] <= df["start_utc"]).to_numpy()
        if bad.any():
            problems.append(
                f"{int(bad.sum())} shift(s) that end before they start at "
                f"{_where(positions[bad], first_line)}"
            )

    key_present = [k for k in spec.key if k in df.columns]
    if len(key_present) == len(spec.key) and len(df):
        key_frame = df[list(spec.key)]
        if any(key_frame[k].dtype == np.dtype(object) for k in spec.key):
            key_frame = key_frame.map(lambda v: tuple(v) if isinstance(v, list) else v)
        dup = key_frame.duplicated(keep=False).to_numpy()
        if dup.any():
            first = df.loc[df.index[dup][0], list(spec.key)]
            shown = ", ".join(f"{k}={first[k]}" for k in spec.key)
            problems.append(
                f"{int(dup.sum())} rows share a key ({', '.join(spec.key)}) at "
                f"{_where(positions[dup], first_line)}; first: {shown}; each key must "
                "appear once: aggregate or drop the duplicates"
            )

    if problems:
        n = len(problems)
        raise InputError(
            f"{where}{kind} frame has {n} problem{'s' if n > 1 else ''}:", problems
        )
    return df


def _is_missing(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return False


def _grid_problems(ts: pd.Series, interval_min, positions, first_line) -> list[str]:
    ts = ts.dt.tz_convert("UTC")
    valid = ts.notna().to_numpy()
    minutes = ts.dt.minute.to_numpy(dtype=float, na_value=0)
    seconds = ts.dt.second.to_numpy(dtype=float, na_value=0)
    micro = ts.dt.microsecond.to_numpy(dtype=float, na_value=0)
    if interval_min is not None:
        if interval_min not in INTERVAL_CHOICES_MIN:
            return [f"interval_min {interval_min} is not one of {INTERVAL_CHOICES_MIN}"]
        step = interval_min
        rule = f"the {interval_min}-minute grid"
    else:
        step = min(INTERVAL_CHOICES_MIN)
        rule = f"a {step}, 30 or 60-minute grid"
    off = valid & ((minutes % step != 0) | (seconds != 0) | (micro != 0))
    if not off.any():
        return []
    first = ts[off].iloc[0]
    return [
        f"column 'interval_start': {int(off.sum())} timestamp(s) off {rule} at "
        f"{_where(positions[off], first_line)} (first: {first.isoformat()}); "
        "interval_start is the left edge of an interval: floor the times to the grid"
    ]


def empty(kind: str) -> pd.DataFrame:
    """An empty frame of ``kind`` with the contract's required columns and dtypes."""
    spec = SPECS[kind]
    data = {}
    for col in spec.columns:
        if not col.required:
            continue
        if col.kind == TIMESTAMP_UTC:
            data[col.name] = pd.Series([], dtype="datetime64[ns, UTC]")
        elif col.kind == INT:
            data[col.name] = pd.Series([], dtype="int64")
        elif col.kind == FLOAT:
            data[col.name] = pd.Series([], dtype="float64")
        elif col.kind == BOOL:
            data[col.name] = pd.Series([], dtype="bool")
        else:
            data[col.name] = pd.Series([], dtype=object)
    return pd.DataFrame(data)


def sort_frame(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Sorted by the frame's key with a fresh index (house habit for returned frames)."""
    key = [k for k in SPECS[kind].key if k in df.columns]
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def describe(kind: str) -> str:
    """A plain-text table of a frame's columns, units and rules (README and --help)."""
    spec = SPECS[kind]
    lines = [f"{kind}: key ({', '.join(spec.key)})"]
    for c in spec.columns:
        unit = f" [{c.unit}]" if c.unit else ""
        opt = "" if c.required else " (optional)"
        lines.append(f"  {c.name:<24} {c.kind}{unit}{opt} {c.description}".rstrip())
    return "\n".join(lines)
