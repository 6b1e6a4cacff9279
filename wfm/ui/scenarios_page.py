"""
Scenarios: pick a scenario file, edit it, validate it (:func:`wfm.scenario.loads`),
save it under scenarios/ with a safe name (:func:`wfm.scenario.safe_scenario_path`),
and run it through every stage (:func:`wfm.pipeline.run`) into runs/<name>/.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from wfm import pipeline
from wfm import scenario as scenario_mod
from wfm.errors import InputError
from wfm.ui import common


def describe(scenario: scenario_mod.Scenario) -> str:
    """A scenario in a few lines of Markdown."""
    p = scenario.planning
    lines = [
        f"**{scenario.name}**: {scenario.description or 'no description'}",
        f"- planning: {p.days} days from {p.week_start} 00:00 UTC, {p.interval_min}-minute "
        "intervals",
        f"- data: {scenario.data.source}"
        + (f" ({scenario.data.store})" if scenario.data.source == "store" else ""),
        f"- {len(scenario.markets)} markets, {len(scenario.languages)} languages, "
        f"{len(scenario.sites)} sites ({', '.join(s.name for s in scenario.sites)})",
        f"- shrinkage {scenario.targets.shrinkage:.0%}, occupancy cap "
        f"{scenario.targets.max_occupancy:.0%}, {len(scenario.targets.overrides)} target "
        "overrides",
        f"- what-if: {len(scenario.whatif.volume)} volume and {len(scenario.whatif.aht)} AHT "
        "adjustments",
        f"- roster: {len(scenario.roster.templates)} shift templates, time limit "
        f"{scenario.roster.time_limit_s:g} s",
        f"- fingerprint `{scenario.fingerprint}`",
    ]
    return "\n".join(lines)


def render() -> None:
    st.title("Scenarios")
    with common.guard("Scenarios"):
        _render()


def _render() -> None:
    paths = common.app_paths()
    path = common.active_path()
    name = path.name
    st.caption(f"Editing **{name}** of {paths.scenarios}/ (pick another file in the sidebar).")
    original = path.read_text(encoding="utf-8")
    text_key = f"sc_text_{name}"
    reset = st.session_state.pop("sc_reset", None)
    if reset is not None:
        st.session_state.pop(reset, None)
    if text_key not in st.session_state:
        st.session_state[text_key] = original
    text = st.text_area("TOML (what-ifs start with base = \"baseline.toml\" and override "
                        "only what changes)", height=420, key=text_key)
    if st.button("Discard my edits", key="sc_discard"):
        del st.session_state[text_key]
        st.rerun()
    edited = text != original
    stem = Path(name).stem
    try:
        scenario = common.scenario_from_text(text, stem, paths.scenarios)
    except InputError as exc:
        common.show_error(exc, "Not a valid scenario")
        return
    if edited:
        st.success("Edited and valid; save it to use it.", icon=":material/check:")
    st.markdown(describe(scenario))
    st.subheader("Save")
    s1, s2 = st.columns([2, 1])
    save_as = s1.text_input("Save as (lower-case letters, digits, _ and -)", value=stem,
                            key=f"sc_name_{name}")
    overwrite = s2.checkbox("Replace an existing file", key="sc_overwrite")
    if st.button("Save scenario", key="sc_save", type="primary"):
        with common.guard("Save"):
            target = scenario_mod.safe_scenario_path(save_as, paths.scenarios)
            if target.exists() and not overwrite:
                raise InputError(f"{target.name} exists already; tick 'Replace an existing "
                                 "file' or pick another name")
            common.scenario_from_text(text, target.stem, target.parent)  # validate again
            target.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
            if target.name != name:  # the edits now live in the new file
                st.session_state["sc_reset"] = text_key
            common.switch_scenario(target.name, f"Saved {target.name}; it is now the "
                                   "scenario of every page.")
    st.subheader("Run")
    st.caption(f"Runs the saved file {name} through every stage into "
               f"{paths.runs}/{stem}/ (forecast, staffing, roster, coverage, scorecards).")
    if st.button("Run it", key="sc_run", disabled=edited,
                 help="Save your edits first." if edited else None):
        with common.guard("Run"):
            _run(common.load_scenario(path), paths.runs / stem)


def _run(scenario: scenario_mod.Scenario, out_dir: Path) -> None:
    loaded = common.inputs_for(scenario)
    bar = st.progress(0.0, text="starting")

    def progress(done: int, total: int, label: str = "") -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"{label} ({done}/{total})")

    result = pipeline.run(scenario, out_dir, store_path=common.store_path(scenario),
                          progress=progress, inputs=loaded.inputs)
    bar.progress(1.0, text="done")
    st.success(f"Run {result.run_id}: outputs in {out_dir}/ "
               f"({', '.join(sorted(result.outputs.values()))})")
    for line in result.summary.get("headline", []):
        st.text(line.strip())
    for warning in result.warnings:
        st.warning(warning)


if __name__ == "__main__":
    render()
