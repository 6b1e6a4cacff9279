"""The wfm Streamlit app: ``streamlit run app.py`` (or ``make app``). Pages are in wfm/ui/."""

import streamlit as st

from wfm.ui import PAGES, common

st.set_page_config(page_title="wfm planner", page_icon=":material/support_agent:",
                   layout="wide")
page = st.navigation([st.Page(path, title=title, url_path=url, icon=icon,
                              default=(i == 0))
                      for i, (path, title, url, icon) in enumerate(PAGES)])
status_slot = common.sidebar()
page.run()
common.whatif_status(status_slot)
