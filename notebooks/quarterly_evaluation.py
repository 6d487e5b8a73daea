# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
# Parameters (names and defaults are those of salesinsight.report.params.RunParams).
quarter = "2026Q4"
data_dir = "../data/demo"
title = "Quarterly sales program evaluation"
programs = None
outcomes = ["win_rate", "revenue", "follow_ups", "csat", "attrition"]
min_effect = {
    "win_rate": 0.01,
    "revenue": "3%",
    "follow_ups": "5%",
    "csat": 0.01,
    "attrition": 0.02,
}
alpha = 0.05
correction = "holm"
grain = "week"
history_quarters = 4
seed = 0
mask_names = False
fiscal_year_start_month = 1
warning_as_of = None
warning_fdr = 0.1
attrition_risk_threshold = 0.3
top_n = 10
language = "en"
currency = None
min_cell_size = 10
non_selling_roles = ["manager"]
engine = "duckdb"

# %%
from IPython.display import HTML, display

from salesinsight.report import quarterly, sections
from salesinsight.report.params import RunParams

params = RunParams.model_validate({name: globals()[name] for name in RunParams.model_fields})
report = quarterly.build_quarter(params)
report.save(".")  # results.json and CSV result tables beside the executed notebook
display(HTML(sections.first_screen_html(report)))

# %%
display(HTML(sections.heading_html(report, "programs")))
for program_id in report.program_ids:
    display(HTML(sections.program_section_html(report, program_id)))
    sections.plot_program(report, program_id)

# %%
display(HTML(sections.heading_html(report, "kpis")))
display(HTML(sections.kpi_overview_html(report)))
sections.plot_kpi_trends(report)

# %%
display(HTML(sections.heading_html(report, "drivers")))
display(HTML(sections.attribution_html(report)))
sections.plot_attribution(report)

# %%
display(HTML(sections.heading_html(report, "people")))
display(HTML(sections.people_html(report)))

# %%
display(HTML(sections.heading_html(report, "forecast")))
display(HTML(sections.forecast_html(report)))

# %%
display(HTML(sections.heading_html(report, "actions")))
display(HTML(sections.actions_html(report)))

# %%
display(HTML(sections.heading_html(report, "appendix")))
display(HTML(sections.appendix_html(report)))
