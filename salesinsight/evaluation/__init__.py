"""Program evaluation: program -> design -> panel -> estimators -> diagnostics -> verdicts.

``evaluate(data, program_id)`` reads the program's design and unit from ``programs`` and
``enrollments``, builds a rep- or team-level KPI panel, runs the design(s) the enrolment allows,
applies a multiplicity correction across the program's outcomes and returns a
:class:`ProgramEvaluation`:

* ``randomized`` -> :func:`salesinsight.causal.experiment` per enrolled unit (ratio of sums, the
  pre-period ratio as Lin covariate, clustered by the unit of assignment);
* ``staggered`` -> :func:`salesinsight.causal.staggered_did` (Callaway & Sant'Anna), TWFE alongside;
* ``single_rollout`` with never-enrolled units -> block DiD clustered by unit (primary from 5
  treated and 5 untreated units on) and synthetic control per treated team averaged, side by side;
  with fewer treated units synthetic control is primary; every unit enrolled at once ->
  structural time series (:func:`salesinsight.causal.impact`) of the company series;
* ``observational`` -> matched DiD on the pre-period outcome trajectory (primary) and AIPW on
  pre-period covariates alongside, with E-values.

Modules: :mod:`.panel` (unit panels, windows, KPI numerator / denominator, linearization; its
public helpers ``program_info``, ``unit_panel``, ``unit_starts``, ``analysis_window``, ``num_den``
and ``randomized_units`` rebuild what an evaluation ran on, e.g. for the report's deep dive),
:mod:`.designs` (randomized and staggered designs), :mod:`.rollout` (single rollout: DiD,
synthetic control, company-wide impact), :mod:`.observational` (matched DiD, AIPW),
:mod:`.comparison` (panel of enrolled vs comparison units), :mod:`.checks` (design agreement,
placebo outcome, E-value), :mod:`.design_run` (``DesignRun``), :mod:`.naive`, :mod:`.result`
(:class:`ProgramEvaluation`), :mod:`.core` (:func:`evaluate`).
"""

from __future__ import annotations

from salesinsight.evaluation.core import evaluate
from salesinsight.evaluation.design_run import DesignRun
from salesinsight.evaluation.panel import (
    DEFAULT_OUTCOMES,
    KPI_DEFINITIONS,
    LOWER_IS_BETTER,
    UNSUPPORTED,
)
from salesinsight.evaluation.result import ProgramEvaluation

__all__ = [
    "DEFAULT_OUTCOMES",
    "KPI_DEFINITIONS",
    "LOWER_IS_BETTER",
    "UNSUPPORTED",
    "DesignRun",
    "ProgramEvaluation",
    "evaluate",
]
