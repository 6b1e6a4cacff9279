"""
What the app's pages share: folders, cached loaders, the session's scenario and
what-if, the display time zone, and how errors are shown.

Caching follows Streamlit's rules (STYLE.md): ``st.cache_data`` for data and pure
computations, keyed by hashable text (a scenario's fingerprint, a store's path and
modification time, an upload's SHA-256); the frames and scenario objects a cached
function needs ride along as ``_``-prefixed arguments, which Streamlit does not hash.
The inputs (history, agents, interactions) are a ``st.cache_resource``: one read-only
copy shared by every session, never mutated (no library function mutates its inputs).

Folders come from the environment so that tests and several instances can point the
app elsewhere: ``WFM_SCENARIOS`` (default ``scenarios``, else the repository's), ``WFM_FORECASTS``
(``forecasts``), ``WFM_RUNS`` (``runs``) and ``WFM_STORE`` (the DuckDB store; default
the scenario's ``data.store``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from wfm import fairness, pipeline, staffing
from wfm import forecast as forecast_mod
from wfm import scenario as scenario_mod
from wfm.errors import InputError, WfmError
from wfm.scenario import Scenario
from wfm.store import Store

# -- folders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AppPaths:
    """The folders and store the app reads and writes."""

    scenarios: Path
    forecasts: Path
    runs: Path
    #: overrides every scenario's ``data.store`` when set
    store: Path | None = None


#: the repository's scenarios, used when the app is started outside the repository
PACKAGE_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def app_paths() -> AppPaths:
    """The app's folders from the environment (see the module docstring)."""
    store = os.environ.get("WFM_STORE")
    scenarios = os.environ.get("WFM_SCENARIOS")
    if not scenarios:
        scenarios = "scenarios" if Path("scenarios").is_dir() else str(PACKAGE_SCENARIOS)
    return AppPaths(
        scenarios=Path(scenarios),
        forecasts=Path(os.environ.get("WFM_FORECASTS", "forecasts")),
        runs=Path(os.environ.get("WFM_RUNS", "runs")),
        store=Path(store) if store else None,
    )


# -- errors -----------------------------------------------------------------------------


def show_error(exc: BaseException, what: str = "") -> None:
    """An error as a message: the first line, then every listed problem; no traceback."""
    text = str(exc).strip() or type(exc).__name__
    head, _, rest = text.partition("\n")
    lines = [f"**{what}:** {head}" if what else head]
    for line in rest.splitlines():
        line = line.strip()
        if line:
            lines.append(f"- {line.removeprefix('- ')}")
    if not isinstance(exc, WfmError):
        lines[0] += f" ({type(exc).__name__})"
    st.error("\n".join(lines), icon=":material/error:")


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Run a page (or a step of it): an error ends it with a message, never a traceback.

    Streamlit's own control flow (``st.stop``, ``st.rerun``, page switches) derives
    from ``BaseException`` and passes through.
    """
    try:
        yield
    except WfmError as exc:
        show_error(exc, what)
    except Exception as exc:  # any other failure is shown, not raised into the page
        show_error(exc, f"{what} failed")


# -- scenarios ----------------------------------------------------------------------------


def scenario_files() -> list[Path]:
    """The scenario files of the scenarios folder, baseline first."""
    return scenario_mod.list_scenarios(app_paths().scenarios)


@st.cache_data(show_spinner=False, max_entries=64)
def _load_scenario(path: str, mtime_ns: int) -> Scenario:
    return scenario_mod.load(path)


def load_scenario(path: str | Path) -> Scenario:
    """A scenario file, cached until the file changes."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: scenario file not found; pick one in the sidebar")
    return _load_scenario(str(path), path.stat().st_mtime_ns)


@st.cache_data(show_spinner=False, max_entries=256)
def _scenario_from_text(text: str, name: str, base_dir: str, base_stamp: str) -> Scenario:
    return scenario_mod.loads(text, name=name, base_dir=base_dir)


def scenario_from_text(text: str, name: str, base_dir: str | Path) -> Scenario:
    """A scenario from TOML text (validated by :func:`wfm.scenario.loads`), cached on
    the text and the files of the scenarios folder it may use as ``base``."""
    folder = Path(base_dir)
    stamp = ",".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(folder.glob("*.toml")))
    return _scenario_from_text(text, name, str(folder), stamp)


def active_path() -> Path:
    """The scenario file picked in the sidebar (baseline by default)."""
    files = scenario_files()
    if not files:
        raise InputError(f"{app_paths().scenarios}: no scenario files (*.toml); the app needs "
                         "at least scenarios/baseline.toml")
    chosen = st.session_state.get("scenario_file")
    by_name = {p.name: p for p in files}
    return by_name.get(chosen, files[0])


def active_scenario() -> Scenario:
    """The scenario picked in the sidebar, without the session's what-if."""
    return load_scenario(active_path())


# -- the session's what-if ------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIfKnobs:
    """
    The What-if page's knobs, on top of a scenario. Multipliers of 1 and targets left
    at None keep the scenario's values; an empty market or language list selects all.
    """

    volume_factor: float = 1.0
    volume_markets: tuple[str, ...] = ()
    volume_languages: tuple[str, ...] = ()
    aht_factor: float = 1.0
    aht_markets: tuple[str, ...] = ()
    aht_languages: tuple[str, ...] = ()
    voice_service_level: float | None = None
    voice_answer_s: float | None = None
    voice_asa_s: float | None = None
    chat_service_level: float | None = None
    chat_answer_s: float | None = None
    shrinkage: float | None = None
    max_occupancy: float | None = None


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InputError(f"what-if value {value!r}: expected a finite number")
        return repr(round(float(value), 6)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _adjustment_lines(table: str, adjustments) -> list[str]:
    lines = []
    for adj in adjustments:
        lines += ["", f"[[{table}]]", f"factor = {_toml_value(adj.factor)}"]
        for attr in ("markets", "languages", "channels"):
            if getattr(adj, attr):
                lines.append(f"{attr} = {_toml_value(list(getattr(adj, attr)))}")
    return lines


def _changed(value, base_value) -> bool:
    if value is None:
        return False
    if base_value is None:
        return True
    return not math.isclose(float(value), float(base_value), rel_tol=1e-9, abs_tol=1e-12)


def describe_knobs(knobs: WhatIfKnobs) -> str:
    """The what-if in a few words (empty when it changes nothing)."""
    parts = []
    for label, factor, markets, languages in (
            ("volume", knobs.volume_factor, knobs.volume_markets, knobs.volume_languages),
            ("AHT", knobs.aht_factor, knobs.aht_markets, knobs.aht_languages)):
        if not math.isclose(factor, 1.0):
            scope = ", ".join([*markets, *languages]) or "all"
            parts.append(f"{label} x{factor:.2f} ({scope})")
    for label, value, fmt in (
            ("voice SL", knobs.voice_service_level, "{:.0%}"),
            ("voice answer", knobs.voice_answer_s, "{:.0f} s"),
            ("voice ASA", knobs.voice_asa_s, "{:.0f} s"),
            ("chat SL", knobs.chat_service_level, "{:.0%}"),
            ("chat first response", knobs.chat_answer_s, "{:.0f} s"),
            ("shrinkage", knobs.shrinkage, "{:.0%}"),
            ("max occupancy", knobs.max_occupancy, "{:.0%}")):
        if value is not None:
            parts.append(f"{label} {fmt.format(value)}")
    return "; ".join(parts)


def whatif_toml(base: Scenario, knobs: WhatIfKnobs, *, name: str = "") -> str:
    """
    A what-if scenario file over ``base`` (``base = "<its file>"``) holding only what
    the knobs change; "" when they change nothing.

    The new volume (AHT) adjustment is appended to the base's own adjustments, which
    are repeated because an array in a what-if replaces the base's array.
    """
    targets, voice, chat = [], [], []
    t = base.targets
    for lines, key, value, base_value in (
            (targets, "shrinkage", knobs.shrinkage, t.shrinkage),
            (targets, "max_occupancy", knobs.max_occupancy, t.max_occupancy),
            (voice, "target_service_level", knobs.voice_service_level,
             t.voice.target_service_level),
            (voice, "answer_target_s", knobs.voice_answer_s, t.voice.answer_target_s),
            (voice, "target_asa_s", knobs.voice_asa_s, t.voice.target_asa_s),
            (chat, "target_service_level", knobs.chat_service_level,
             t.chat.target_service_level),
            (chat, "answer_target_s", knobs.chat_answer_s, t.chat.answer_target_s)):
        if _changed(value, base_value):
            lines.append(f"{key} = {_toml_value(float(value))}")
    body: list[str] = []
    if targets:
        body += ["", "[targets]", *targets]
    if voice:
        body += ["", "[targets.voice]", *voice]
    if chat:
        body += ["", "[targets.chat]", *chat]
    for knob, factor, markets, languages in (
            ("volume", knobs.volume_factor, knobs.volume_markets, knobs.volume_languages),
            ("aht", knobs.aht_factor, knobs.aht_markets, knobs.aht_languages)):
        if math.isclose(factor, 1.0):
            continue
        new = scenario_mod.Adjustment(factor=float(factor), markets=tuple(markets),
                                      languages=tuple(languages))
        body += _adjustment_lines(f"whatif.{knob}", (*getattr(base.whatif, knob), new))
    if not body:
        return ""
    base_file = Path(base.path).name
    title = name or f"{base.name}_whatif"
    head = [f"# What-if made in the app over {base_file}",
            f"base = {_toml_value(base_file)}",
            f"name = {_toml_value(title)}",
            f"description = {_toml_value(describe_knobs(knobs))}"]
    return "\n".join(head + body) + "\n"


def session_knobs(base: Scenario) -> WhatIfKnobs:
    """The session's what-if knobs; they start over when another scenario is picked."""
    state = st.session_state.get("whatif")
    if state is None or state.get("base") != base.path:
        state = {"base": base.path, "knobs": WhatIfKnobs()}
        st.session_state["whatif"] = state
        clear_knob_widgets()
    return state["knobs"]


def clear_knob_widgets() -> None:
    """Forget the What-if page's widget values (keys ``wi_*``), so they start from the
    session's knobs again."""
    for key in [k for k in st.session_state if str(k).startswith("wi_")]:
        del st.session_state[key]


def set_session_knobs(base: Scenario, knobs: WhatIfKnobs) -> None:
    st.session_state["whatif"] = {"base": base.path, "knobs": knobs}


def whatif_scenario(base: Scenario, knobs: WhatIfKnobs) -> Scenario:
    """``base`` with the knobs applied (``base`` itself when they change nothing)."""
    text = whatif_toml(base, knobs)
    if not text:
        return base
    return scenario_from_text(text, f"{base.name}_whatif", Path(base.path).parent)


def working_scenario() -> Scenario:
    """The scenario every page plans with: the sidebar's pick plus the session's what-if."""
    base = active_scenario()
    return whatif_scenario(base, session_knobs(base))


# -- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedInputs:
    """The inputs of a scenario and the key that names them in the caches."""

    inputs: pipeline.Inputs
    key: str


def store_path(scenario: Scenario) -> Path:
    return app_paths().store or Path(scenario.data.store)


@st.cache_data(show_spinner=False, max_entries=16)
def _store_has_history(path: str, stamp: int) -> bool:
    with Store(path) as store:
        return store.counts()["history"] > 0


def ensure_demo_store(path: Path, seed: int) -> bool:
    """
    Build the demo world into the store when the store has no history at all (a fresh
    clone): the same as ``wfm demo`` (:meth:`Store.ingest_demo` of the demo world).
    A store that holds other history is left alone. Returns True when it built.
    """
    if path.exists() and _store_has_history(str(path), path.stat().st_mtime_ns):
        return False
    with st.spinner(f"First start: building the demo world into {path} (about 20 s)..."):
        world = pipeline.demo_world(seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        with Store(path) as store:
            store.ingest_demo(world)
    return True


@st.cache_resource(show_spinner=False, max_entries=4)
def _inputs_cached(source: str, path: str, seed: int, stamp: int,
                   _scenario: Scenario) -> pipeline.Inputs:
    return pipeline.load_inputs(_scenario, store_path=path or None)


def inputs_for(scenario: Scenario) -> LoadedInputs:
    """The scenario's history, agents and interactions (the store, or the in-memory demo
    world), with the session's uploaded history in place of the stored one."""
    data = scenario.data
    if data.source == "demo":
        with st.spinner("Building the demo world in memory (about 10 s the first time)..."):
            loaded = _inputs_cached("demo", "", data.demo_seed, 0, scenario)
        key = f"demo:{data.demo_seed}"
    else:
        path = store_path(scenario)
        ensure_demo_store(path, data.demo_seed)
        stamp = path.stat().st_mtime_ns
        with st.spinner(f"Reading {path}..."):
            loaded = _inputs_cached("store", str(path), data.demo_seed, stamp, scenario)
        key = f"store:{path.resolve()}:{stamp}"
    upload = st.session_state.get("uploaded_history")
    if upload is not None:
        loaded = dataclasses.replace(loaded, history=upload["frame"],
                                     source=f"upload {upload['name']}")
        key += f"|upload:{upload['sha256']}"
    return LoadedInputs(loaded, key)


# -- forecast, requirement, scorecards -------------------------------------------------------


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def forecast_key(scenario: Scenario, loaded: LoadedInputs) -> str:
    """What a forecast depends on: the inputs, markets, planning window and forecast
    settings (not the what-if, targets or roster, so what-ifs share one forecast)."""
    where = scenario.path if scenario.forecast.path else ""
    return _digest(loaded.key, scenario.markets, scenario.planning, scenario.forecast, where)


@st.cache_data(show_spinner=False, max_entries=8)
def _forecast_cached(key: str, folder: str, _scenario: Scenario,
                     _history: pd.DataFrame) -> forecast_mod.ScenarioForecast:
    return forecast_mod.for_scenario(_scenario, _history, folder=folder)


def forecast_for(scenario: Scenario, loaded: LoadedInputs) -> tuple[forecast_mod.ScenarioForecast,
                                                                   str]:
    """The scenario's forecast (a matching file in the forecasts folder, else made now)
    and its cache key."""
    key = forecast_key(scenario, loaded)
    with st.spinner("Forecasting every series (about 10 s the first time)..."):
        result = _forecast_cached(key, str(app_paths().forecasts), scenario,
                                  loaded.inputs.history)
    return result, key


def planning_window(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The rows of a time frame inside the scenario's planning window."""
    start, end = scenario.planning.start_utc, scenario.planning.end_utc
    ts = frame["interval_start"]
    return frame[(ts >= start) & (ts < end)].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=64)
def _requirement_cached(fingerprint: str, forecast_key: str, _scenario: Scenario,
                        _forecast: pd.DataFrame) -> pd.DataFrame:
    return staffing.requirements(planning_window(_forecast, _scenario), _scenario)


def requirement_for(scenario: Scenario, fc: forecast_mod.ScenarioForecast,
                    fc_key: str) -> pd.DataFrame:
    """Agents and headcount per queue and interval (:func:`wfm.staffing.requirements`),
    cached on the scenario's fingerprint and the forecast."""
    return _requirement_cached(scenario.fingerprint, fc_key, scenario, fc.frame)


@dataclass(frozen=True)
class Plan:
    """A scenario with its inputs, forecast and requirement: what most pages show."""

    scenario: Scenario
    loaded: LoadedInputs
    forecast: forecast_mod.ScenarioForecast
    forecast_key: str
    requirement: pd.DataFrame
    seconds: float


def plan_for(scenario: Scenario) -> Plan:
    """Inputs, forecast and requirement of ``scenario`` (cached; ``seconds`` is the wall
    time of this call, the recompute when only the what-if changed)."""
    t0 = time.perf_counter()
    loaded = inputs_for(scenario)
    fc, key = forecast_for(scenario, loaded)
    req = requirement_for(scenario, fc, key)
    return Plan(scenario, loaded, fc, key, req, time.perf_counter() - t0)


@st.cache_data(show_spinner=False, max_entries=4)
def _scorecards_cached(key: str, _inputs: pipeline.Inputs,
                       _settings: fairness.ScorecardSettings) -> fairness.ScorecardResult:
    return fairness.scorecards(_inputs.interactions, _inputs.agents, settings=_settings,
                               shifts=_inputs.shifts)


def scorecards_for(scenario: Scenario, loaded: LoadedInputs) -> fairness.ScorecardResult:
    """Shift-adjusted scorecards of the inputs' interactions (:func:`wfm.fairness.scorecards`)."""
    inputs = loaded.inputs
    if inputs.interactions is None or inputs.interactions.empty:
        raise InputError(f"{inputs.source}: no interaction records, so no scorecards; ingest "
                         "some with `wfm ingest FILE --format interactions` (or run `wfm demo`)")
    settings = fairness.settings_for(scenario)
    key = _digest(loaded.key, repr(settings))
    with st.spinner("Scoring every agent (about 10 s the first time)..."):
        return _scorecards_cached(key, inputs, settings)


# -- time zones -------------------------------------------------------------------------------


def zone_options(scenario: Scenario) -> dict[str, str]:
    """Label -> IANA zone: UTC, every site, every market."""
    options = {"UTC": "UTC"}
    for site in scenario.sites:
        options[f"site {site.name} ({site.timezone})"] = site.timezone
    for market in scenario.markets:
        options[f"market {market.code} ({market.timezone})"] = market.timezone
    return options


def display_zone() -> str:
    """The IANA zone charts and tables show times in (the sidebar's selector)."""
    return st.session_state.get("display_zone", "UTC")


def zone_selector(scenario: Scenario, where=None) -> str:
    """The display time-zone selector (UTC, any site, any market); returns the zone."""
    where = where or st.sidebar
    options = zone_options(scenario)
    labels = list(options)
    current = display_zone()
    index = next((i for i, label in enumerate(labels) if options[label] == current), 0)
    label = where.selectbox("Display time zone", labels, index=index, key="display_zone_label",
                            help="Every chart and table shows times in this zone.")
    st.session_state["display_zone"] = options[label]
    return options[label]


def to_display(ts: pd.Series, zone: str | None = None) -> pd.Series:
    """UTC timestamps as wall-clock times of the display zone (naive, for charts)."""
    zone = zone or display_zone()
    return pd.to_datetime(ts, utc=True).dt.tz_convert(zone).dt.tz_localize(None)


def time_title(zone: str | None = None) -> str:
    return f"time ({zone or display_zone()})"


# -- the sidebar ------------------------------------------------------------------------------


def switch_scenario(file_name: str, message: str = "") -> None:
    """Make ``file_name`` (in the scenarios folder) the sidebar's pick and rerun; the
    message is shown once at the top of the next run."""
    st.session_state["scenario_next"] = file_name
    if message:
        st.session_state["flash"] = message
    st.rerun()


def sidebar():
    """Scenario picker, display time zone and the place of the what-if status, on every
    page; and the message a step left for this run (:func:`switch_scenario`). Returns
    that place for :func:`whatif_status` (None when the scenario could not be read)."""
    st.session_state["run_started_s"] = time.perf_counter()  # pages may report their time
    flash = st.session_state.pop("flash", None)
    if flash:
        st.success(flash, icon=":material/check:")
    slot = None
    with guard("Scenario"):
        files = scenario_files()
        names = [p.name for p in files]
        if not names:
            raise InputError(f"{app_paths().scenarios}: no scenario files (*.toml)")
        pending = st.session_state.pop("scenario_next", None)
        if pending in names:
            st.session_state["scenario_pick"] = pending
        elif st.session_state.get("scenario_pick") not in names:
            st.session_state["scenario_pick"] = names[0]
        st.session_state["scenario_file"] = st.sidebar.selectbox(
            "Scenario", names, key="scenario_pick",
            help="Files of the scenarios folder; edit and save them on the Scenarios page.")
        base = active_scenario()
        # filled by whatif_status() once the page has run: the What-if page changes the
        # knobs during its run, and a status drawn before it would lag one change behind
        slot = st.sidebar.container()
        zone_selector(base)
        upload = st.session_state.get("uploaded_history")
        if upload is not None:
            st.sidebar.caption(f"History from the upload {upload['name']} "
                               f"({len(upload['frame']):,} rows)")
    return slot


def whatif_status(slot) -> None:
    """The sidebar's what-if line (and its Clear button), drawn after the page has run
    into ``slot``, the place :func:`sidebar` kept for it, so it shows this run's knobs."""
    if slot is None:
        return
    with guard("What-if status"):
        base = active_scenario()
        words = describe_knobs(session_knobs(base))
        if words:
            slot.caption(f"What-if on top: {words}")
            if slot.button("Clear the what-if", key="clear_whatif"):
                set_session_knobs(base, WhatIfKnobs())
                clear_knob_widgets()
                st.rerun()
        else:
            slot.caption(base.description or base.name)


# -- library parts still to come ------------------------------------------------------------


def library_part(module: str, names: tuple[str, ...]):
    """The module when it is installed and has ``names``; None otherwise (a page then
    says what is missing instead of showing a made-up result)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return mod if all(hasattr(mod, n) for n in names) else None


def missing_part(what: str, module: str) -> None:
    st.info(f"{what} needs `{module}`, which this installation does not have yet; "
            "nothing is shown rather than a made-up result.", icon=":material/construction:")


# -- rosters solved in this session -----------------------------------------------------------


@dataclass(frozen=True)
class SolvedRoster:
    """A roster solved on the Roster page, with what it was solved from."""

    label: str
    #: unique in the process (the caches are shared by every session)
    key: str
    scenario: Scenario
    #: :class:`wfm.roster.RosterResult` (roster, allocation, report)
    result: object
    requirement: pd.DataFrame
    forecast: pd.DataFrame
    agents: pd.DataFrame
    #: the roster published for the week before (rest rules reach back into it), or None
    previous: pd.DataFrame | None = None


def session_rosters() -> dict[str, SolvedRoster]:
    """The rosters solved in this session, oldest first (label -> roster)."""
    return st.session_state.setdefault("rosters", {})


def add_session_roster(solved: SolvedRoster) -> None:
    rosters = session_rosters()
    rosters[solved.label] = solved
    while len(rosters) > 6:  # keep the session small
        rosters.pop(next(iter(rosters)))


@st.cache_data(show_spinner=False, max_entries=16)
def _coverage_cached(key: str, _solved: SolvedRoster):
    from wfm import coverage

    r = _solved.result
    return coverage.coverage(r.roster, r.allocation, _solved.requirement, _solved.scenario,
                             forecast=_solved.forecast)


def coverage_of(solved: SolvedRoster):
    """Coverage vs SLA of a session roster (:func:`wfm.coverage.coverage`), cached."""
    return _coverage_cached(solved.key, solved)
