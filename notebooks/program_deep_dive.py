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
# Program deep dive: one program, every estimate and every check (the main design's estimate for
# each outcome with its diagnostics and sub-estimates, the alternative estimators beside it, and the
# naive comparisons with the reason they mislead). Every word the rendered page shows comes from
# salesinsight.report.deep_dive_sections in the run's `language`.
#
# Parameters (names and defaults are those of salesinsight.report.params.RunParams).
quarter = "2026Q4"
data_dir = "../data/demo"
title = "Quarterly sales program evaluation"
programs = None  # the first program listed is examined (None: the first of the programs table)
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

from salesinsight.report import deep_dive, deep_dive_sections
from salesinsight.report.params import RunParams

params = RunParams.model_validate({name: globals()[name] for name in RunParams.model_fields})
dive = deep_dive.build_deep_dive(params)
dive.save(".")  # results.json and CSV tables beside the executed notebook
display(HTML(deep_dive_sections.header_html(dive)))

# %%
display(HTML(deep_dive_sections.heading_html(dive, "estimates")))
for outcome in dive.outcomes:
    display(HTML(deep_dive_sections.outcome_html(dive, outcome)))
    deep_dive_sections.plot_outcome(dive, outcome)

# %%
display(HTML(deep_dive_sections.heading_html(dive, "naive")))
display(HTML(deep_dive_sections.naive_html(dive)))

# %%
display(HTML(deep_dive_sections.heading_html(dive, "appendix")))
display(HTML(deep_dive_sections.appendix_html(dive)))
