"""
Coverage vs SLA: the gap between scheduled and required agents per day and hour, per
queue and per market; SLA attainment per market; two runs or scenarios side by side.
"""

from __future__ import annotations

import streamlit as st

from wfm.ui import common


def render() -> None:
    st.title("Coverage vs SLA")
    with common.guard("Coverage"):
        coverage = common.library_part("wfm.coverage", ("coverage",))
        if coverage is None:
            common.missing_part("Coverage against the SLA", "wfm.coverage")
            return


if __name__ == "__main__":
    render()
