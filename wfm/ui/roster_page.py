"""
Roster: solve the week's roster (:func:`wfm.roster.solve_roster`) with a progress
display, show it per site in local time, check the rules, show the nights/weekends
fairness, and offer downloads (CSV, XLSX, ICS).
"""

from __future__ import annotations

import streamlit as st

from wfm.ui import common


def render() -> None:
    st.title("Roster")
    with common.guard("Roster"):
        roster = common.library_part("wfm.roster", ("solve_roster", "check_roster"))
        if roster is None:
            common.missing_part("Solving a roster", "wfm.roster")
            return


if __name__ == "__main__":
    render()
