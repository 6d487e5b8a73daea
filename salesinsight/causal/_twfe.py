"""Two-way fixed effects (TWFE) regression ``y ~ d | unit + time`` via pyfixest.

Shown beside the heterogeneity-robust staggered DiD so that users see when TWFE is biased: with
staggered adoption and effects that vary by cohort or over time, the TWFE coefficient is a weighted
average of 2x2 comparisons, some of which use already-treated units as controls (Goodman-Bacon 2021,
de Chaisemartin & D'Haultfoeuille 2020), and can even take the wrong sign.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Diagnostic, Effect, library_versions

__all__ = ["twfe"]

TWFE_NOTE = (
    "TWFE is biased when treatment timing is staggered and effects differ across cohorts or "
    "grow over time (already-treated units serve as controls); prefer staggered_did then."
)


def twfe(
    df: pd.DataFrame,
    *,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    cluster: str | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> Effect:
    """Two-way fixed-effects estimate of a binary treatment's effect.

    Parameters
    ----------
    df : DataFrame
        Long panel, one row per unit and period.
    outcome, unit, time, treatment : str
        Column names; ``treatment`` is 0/1 (1 in treated unit-periods).
    cluster : str, optional
        Cluster column for CR1 (pyfixest ``CRV1``) standard errors; defaults to ``unit``.
    alpha : float, default 0.05
    higher_is_better : bool, default True

    Returns
    -------
    Effect
        ``method="twfe"``; ``n_units`` = distinct units, ``n_obs`` = rows used; one informational
        diagnostic ``staggered_timing`` says whether adoption dates differ across units.
    """
    cluster = cluster or unit
    _validate(df, outcome, unit, time, treatment, cluster, alpha)
    data = pd.DataFrame(
        {
            "y": df[outcome].astype(float).to_numpy(),
            "d": df[treatment].astype(float).to_numpy(),
            "u": df[unit].to_numpy(),
            "t": df[time].to_numpy(),
            "g": df[cluster].to_numpy(),
        }
    ).dropna()
    fit = _fit(data)
    ci = fit.confint(alpha=alpha).loc["d"]
    n_clusters = int(data["g"].nunique())
    diag, n_cohorts = _timing(data)
    notes = [TWFE_NOTE]
    treated_clusters = int(data.loc[data["d"] == 1, "g"].nunique())
    if treated_clusters < 5:
        notes.append(
            f"only {treated_clusters} treated cluster(s): cluster-robust standard errors are "
            "unreliable with so few treated clusters (MacKinnon & Webb 2017); read the interval "
            "with caution"
        )
    spec = {
        "outcome": outcome,
        "unit": unit,
        "time": time,
        "treatment": treatment,
        "cluster": cluster,
        "alpha": alpha,
        "higher_is_better": higher_is_better,
        "formula": f"{outcome} ~ {treatment} | {unit} + {time}",
        "vcov": "CR1 (pyfixest CRV1)",
        "ci_level": 1.0 - alpha,
        "inference": f"CR1 clustered by {cluster} ({n_clusters} clusters), t({n_clusters - 1})",
        "notes": tuple(notes),
        "versions": library_versions(),
    }
    baseline = _baseline(data)
    return Effect(
        estimate=float(fit.coef()["d"]),
        se=float(fit.se()["d"]),
        ci_low=float(ci.iloc[0]),
        ci_high=float(ci.iloc[1]),
        p_value=float(fit.pvalue()["d"]),
        n_units=int(data["u"].nunique()),
        n_obs=int(fit._N),
        method="twfe",
        outcome=outcome,
        spec=spec,
        diagnostics=(diag,),
        baseline=baseline if np.isfinite(baseline) else None,
        higher_is_better=higher_is_better,
        extras={
            "n_clusters": n_clusters,
            "n_treated_clusters": treated_clusters,
            "n_cohorts": n_cohorts,
        },
    )


def _validate(
    df: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    treatment: str,
    cluster: str,
    alpha: float,
) -> None:
    """Check columns, ``alpha``, a 0/1 treatment and a numeric outcome."""
    needed = list(dict.fromkeys([outcome, unit, time, treatment, cluster]))
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"twfe: missing column(s) {missing}; available: {list(df.columns)}")
    if not 0 < alpha < 1:
        raise ValueError(f"twfe: alpha must be in (0, 1), got {alpha!r}")
    problems = []
    d_col = df[treatment]
    bad = d_col[~d_col.isin([0, 1, True, False])]
    if len(bad):
        problems.append(
            f"treatment column {treatment!r} must be 0/1; row(s) {bad.index[:5].tolist()} have "
            f"{pd.unique(bad)[:5].tolist()}"
        )
    if not pd.api.types.is_numeric_dtype(df[outcome]):
        problems.append(
            f"outcome column {outcome!r} must be numeric, has dtype {df[outcome].dtype}"
        )
    if problems:
        raise ValueError("twfe: invalid input:\n  - " + "\n  - ".join(problems))


def _fit(data: pd.DataFrame) -> Any:
    """``y ~ d | u + t`` by pyfixest, CR1 clustered by ``g``."""
    import pyfixest as pf

    with warnings.catch_warnings():
        # pyfixest's own pandas-deprecation warnings (inplace=...) are not about the user's data
        warnings.filterwarnings("ignore", module=r"pyfixest(\..*)?$")
        return pf.feols("y ~ d | u + t", data=data, vcov={"CRV1": "g"})


def _timing(data: pd.DataFrame) -> tuple[Diagnostic, int]:
    """Adoption timing among ever-treated units: the staggered-timing check and cohort count."""
    first = data.loc[data["d"] == 1].groupby("u")["t"].min()
    n_cohorts = int(first.nunique())
    staggered = n_cohorts > 1
    diag = Diagnostic(
        name="staggered_timing",
        passed=not staggered,
        value=float(n_cohorts),
        required=False,
        note=(
            f"{n_cohorts} distinct adoption periods: " + TWFE_NOTE
            if staggered
            else "one adoption period: TWFE is the standard 2x2 / block DiD"
        ),
    )
    return diag, n_cohorts


def _baseline(data: pd.DataFrame) -> float:
    """Mean outcome of ever-treated units before treatment (all rows if there are none)."""
    first = data.loc[data["d"] == 1].groupby("u")["t"].min()
    ever = data["u"].isin(first.index)
    pre_treated = data.loc[ever & (data["d"] == 0), "y"]
    return float(pre_treated.mean()) if len(pre_treated) else float(data["y"].mean())
