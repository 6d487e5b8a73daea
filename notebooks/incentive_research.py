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

# %% [markdown]
# # Incentive research: registered hypotheses
#
# Every hypothesis of the registry, tested with the design it names, with the p-values corrected
# across the whole registry (Holm for the verdicts unless the registry says otherwise;
# Benjamini-Hochberg and Romano-Wolf, from the designs' joint seller bootstrap, beside it). *Supported*: the
# corrected p-value is below alpha, the estimate has the expected sign and clears the smallest effect
# that matters. *Contradicted*: the opposite sign is significant, or the interval lies within that
# smallest effect. *Inconclusive*: anything else, or a failed check of the design. Hypotheses tested
# on data that predate their registration are flagged as exploratory. See docs/research.md.

# %% tags=["parameters"]
# Parameters (names are those of Registry.notebook_parameters() in salesinsight.research.registry).
registry_path = "../params/hypotheses.yaml"
registry_sha256 = ""

# %%
from IPython.display import HTML, display

from salesinsight.report.outputs import save_outputs
from salesinsight.research.registry import load_registry, run_registry

registry = load_registry(registry_path)
if registry_sha256 and registry.sha256 != registry_sha256:
    raise RuntimeError("the registry file changed after the run started")
result = run_registry(registry)
save_outputs(".", result.to_dict(), {"hypotheses": result.to_frame()})
display(HTML(result._repr_html_()))

# %% [markdown]
# ## Estimates against the smallest effect that matters

# %%
ax = result.plot()

# %% [markdown]
# ## Verdicts in words

# %%
print(result.summary())
