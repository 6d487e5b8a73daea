"""The result of :func:`salesinsight.causal.did.staggered_did` and its pre-trend tests.

:class:`StaggeredDiD` holds the group-time ATT table with the cells' influence functions and turns
them into :class:`~salesinsight.causal.effect.Effect` objects (:meth:`StaggeredDiD.aggregate`);
:func:`pretrend_diagnostic` builds its ``pre_trends`` diagnostic (R did's Wald test or a
finite-sample event-study F test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from salesinsight.causal.did_aggregate import (
    SE_ZERO,
    UnitInfo,
    aggregate_cells,
    column_se,
    f_pretest,
    multiplier_crit,
    wald_pretest,
)
from salesinsight.causal.effect import Diagnostic, Effect
from salesinsight.causal.inference import wald_p_value, wald_p_values, z_critical
from salesinsight.results import ResultMixin, Summary

__all__ = ["StaggeredDiD", "pretrend_diagnostic"]

AggKind = Literal["simple", "group", "dynamic", "calendar"]


# ---------------------------------------------------------------------- pre-trend tests
def pretrend_diagnostic(
    tab: pd.DataFrame, inf: np.ndarray, units: UnitInfo, kind: str = "wald"
) -> Diagnostic:
    """Pre-trend test as a required Diagnostic: ``wald`` (R did) or ``event_f`` (finite sample)."""
    pre = (tab["group"] > tab["time"]).to_numpy() & np.isfinite(tab["att"].to_numpy())
    if not pre.any():
        return Diagnostic(
            "pre_trends", None, note="no pre-treatment periods to test parallel trends"
        )
    if kind == "event_f":
        return _pretrend_event_f(tab, inf, units)
    res = wald_pretest(tab["att"].to_numpy()[pre], inf[:, pre], units)
    if res is None:
        return Diagnostic(
            "pre_trends",
            None,
            note="pre-trend Wald test not computable (singular covariance of pre-period ATTs)",
        )
    w, pval, q = res
    passed = bool(pval >= 0.05)
    verdict = "no evidence against" if passed else "evidence against"
    return Diagnostic(
        "pre_trends",
        passed,
        statistic=w,
        p_value=pval,
        value=float(q),
        note=f"Wald test that all {q} pre-treatment ATT(g,t) are zero: {verdict} parallel trends",
    )


def _pretrend_event_f(tab: pd.DataFrame, inf: np.ndarray, units: UnitInfo) -> Diagnostic:
    """Joint F test that the pre-treatment event-study effects (event times < 0) are zero.

    The pre-treatment ATT(g, t) are pooled across cohorts by event time with cohort-size weights
    (the ``dynamic`` aggregation), so each restriction rests on every cohort observed at that event
    time, and the test uses :func:`f_pretest` (finite-sample F with Nel-van der Merwe degrees of
    freedom) instead of the chi-square approximation.
    """
    ok = np.isfinite(tab["att"].to_numpy())
    agg = aggregate_cells(
        "dynamic",
        group=tab["group"].to_numpy(dtype=float)[ok],
        time=tab["time"].to_numpy(dtype=float)[ok],
        att=tab["att"].to_numpy(dtype=float)[ok],
        inf=inf[:, ok],
        units=units,
    )
    pre = agg.term_labels < 0
    if not pre.any():
        return Diagnostic(
            "pre_trends", None, note="no pre-treatment event times to test parallel trends"
        )
    res = f_pretest(agg.term_att[pre], agg.term_inf[:, pre], units)
    if res is None:
        return Diagnostic(
            "pre_trends",
            None,
            note="pre-trend F test not computable (singular covariance, or too few units for "
            f"{int(pre.sum())} pre-treatment event times)",
        )
    f, pval, q, df2 = res
    passed = bool(pval >= 0.05)
    verdict = "no evidence against" if passed else "evidence against"
    return Diagnostic(
        "pre_trends",
        passed,
        statistic=f,
        p_value=pval,
        value=float(q),
        note=(
            f"F test (finite-sample, F({q}, {df2:.1f})) that the {q} pre-treatment event-study "
            f"effects are zero: {verdict} parallel trends"
        ),
    )


# ---------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class StaggeredDiD(ResultMixin):
    """Group-time ATTs of a staggered adoption design, with aggregations.

    Attributes
    ----------
    att_gt : DataFrame
        One row per (cohort, period): ``group, time, event_time, base_period, post, att, se,
        ci_low, ci_high, n_treated, n_control, n_units, status``; intervals pointwise at
        ``1 - alpha``.
    outcome : str
    spec : Mapping
        Every argument, sample-construction counts and notes, library versions.
    n_units, n_obs, n_clusters : int
    higher_is_better : bool
    pre_trends : Diagnostic
        The pre-trend Wald test (see :meth:`pretrend_test`).
    """

    att_gt: pd.DataFrame
    outcome: str
    spec: Mapping[str, Any]
    n_units: int
    n_obs: int
    n_clusters: int
    higher_is_better: bool = True
    pre_trends: Diagnostic = field(default_factory=lambda: Diagnostic("pre_trends", None))
    _inf: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    _units: UnitInfo | None = field(repr=False, default=None)

    # ------------------------------------------------------------------ pre-trends
    def pretrend_test(self) -> Diagnostic:
        """Test that the pre-treatment effects are zero (parallel trends before treatment).

        ``pretrend="wald"`` (default): chi-square Wald test that every pre-treatment ATT(g, t)
        (t < g) is zero with the analytic influence-function covariance (R did's ``W``/``Wpval``,
        clustered when ``cluster`` is given). ``pretrend="event_f"``: finite-sample F test of the
        pre-treatment event-study effects (see :func:`staggered_did`). Passes when ``p >= 0.05``.
        Returns a required :class:`Diagnostic` named ``"pre_trends"`` with ``value`` = number of
        restrictions.
        """
        return self.pre_trends

    # ------------------------------------------------------------------ aggregation
    def aggregate(
        self,
        kind: AggKind = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
        uniform: bool = True,
    ) -> Effect:
        """Aggregate the ATT(g, t) into one :class:`Effect`.

        Parameters
        ----------
        kind : {"simple", "group", "dynamic", "calendar"}
            ``simple``: post-treatment cells weighted by cohort size; ``group``: average by cohort,
            then cohort-size weighted; ``dynamic``: event study by time since treatment (overall =
            mean over event times >= 0); ``calendar``: by period, then averaged.
        min_e, max_e : float
            Event-time window (``dynamic``); ``max_e`` also caps ``simple``/``group`` cells.
        balance_e : int, optional
            ``dynamic`` only: balance the cohorts in event time up to ``balance_e``.
        uniform : bool, default True
            ``terms`` intervals are a simultaneous (sup-t) band from the multiplier bootstrap
            (``bstrap_iters`` draws, seeded); pointwise intervals are kept in
            ``ci_low_pointwise``/``ci_high_pointwise``.

        Returns
        -------
        Effect
            ``estimate``/``se``: overall aggregate and its analytic standard error; ``terms``: per
            cohort / event time / period; ``baseline``: the treated units' counterfactual mean
            with the same weights; diagnostics: the ``pre_trends`` Wald test.
        """
        if kind not in ("simple", "group", "dynamic", "calendar"):
            raise ValueError(
                f"kind must be one of 'simple', 'group', 'dynamic', 'calendar', got {kind!r}"
            )
        if balance_e is not None and kind != "dynamic":
            raise ValueError("balance_e applies only to kind='dynamic'")
        assert self._units is not None
        t_ok, agg = self._cells(kind, min_e=min_e, max_e=max_e, balance_e=balance_e)
        alpha = float(self.spec["alpha"])
        z = z_critical(alpha)
        se = float(column_se(agg.overall_inf, self._units))
        if not se > SE_ZERO:
            se = math.nan
        est = agg.overall
        pval = wald_p_value(est, se)
        cf = (t_ok["treated_mean"] - t_ok["att"]).to_numpy(dtype=float)
        baseline = (
            float(agg.overall_weights @ cf) if np.all(np.isfinite(agg.overall_weights)) else None
        )
        terms, crit = self._terms(agg, cf, alpha=alpha, z=z, uniform=uniform)
        spec = self._aggregate_spec(
            kind, min_e=min_e, max_e=max_e, balance_e=balance_e, uniform=uniform,
            banded=terms is not None and uniform and int(self.spec["bstrap_iters"]) > 0, crit=crit,
        )  # fmt: skip
        return Effect(
            estimate=float(est),
            se=se,
            ci_low=float(est - z * se),
            ci_high=float(est + z * se),
            p_value=pval,
            n_units=self.n_clusters if spec.get("cluster") else self.n_units,
            n_obs=self.n_obs,
            method=f"staggered_did ({spec['method']}, {spec['control_group']}, {kind})",
            outcome=self.outcome,
            spec=spec,
            diagnostics=(self.pretrend_test(),),
            baseline=baseline,
            higher_is_better=self.higher_is_better,
            terms=terms,
            extras={"critical_value": crit, "notes": list(self.spec.get("notes", []))},
        )

    def _cells(
        self, kind: AggKind, *, min_e: float, max_e: float, balance_e: int | None
    ) -> tuple[pd.DataFrame, Any]:
        """Return the estimable ATT(g, t) cells and their aggregation of ``kind``."""
        assert self._units is not None
        tab = self.att_gt
        ok = np.isfinite(tab["att"].to_numpy())
        t_ok = tab.loc[ok] if not ok.all() else tab
        agg = aggregate_cells(
            kind,
            group=t_ok["group"].to_numpy(dtype=float),
            time=t_ok["time"].to_numpy(dtype=float),
            att=t_ok["att"].to_numpy(dtype=float),
            inf=self._inf[:, ok] if not ok.all() else self._inf,
            units=self._units,
            min_e=min_e,
            max_e=max_e,
            balance_e=balance_e,
        )
        return t_ok, agg

    def _terms(
        self, agg: Any, cf: np.ndarray, *, alpha: float, z: float, uniform: bool
    ) -> tuple[pd.DataFrame | None, float]:
        """Per-term table (cohort, event time or period) and the critical value of its band."""
        assert self._units is not None
        if not agg.term_labels.size:
            return None, z
        crit = z
        tse = column_se(agg.term_inf, self._units)
        tse = np.where(tse > SE_ZERO, tse, np.nan)
        iters = int(self.spec["bstrap_iters"])
        if uniform and iters > 0:
            crit = multiplier_crit(
                agg.term_inf,
                tse,
                self._units,
                alpha=alpha,
                iters=iters,
                seed=int(self.spec["seed"]),
            )
        labels = agg.term_labels
        if np.all(labels == np.round(labels)):
            labels = labels.astype(int)
        terms = pd.DataFrame(
            {
                "term": labels,
                "estimate": agg.term_att,
                "se": tse,
                "ci_low": agg.term_att - crit * tse,
                "ci_high": agg.term_att + crit * tse,
                "p_value": wald_p_values(agg.term_att, tse),
                "ci_low_pointwise": agg.term_att - z * tse,
                "ci_high_pointwise": agg.term_att + z * tse,
                "crit_value": crit,
                "n_cells": agg.term_cells,
                "baseline": agg.term_weights @ cf,
            }
        )
        return terms, crit

    def _aggregate_spec(
        self,
        kind: AggKind,
        *,
        min_e: float,
        max_e: float,
        balance_e: int | None,
        uniform: bool,
        banded: bool,
        crit: float,
    ) -> dict[str, Any]:
        """Return the fit's spec with the aggregation and its inference in words."""
        alpha = float(self.spec["alpha"])
        what = {
            "simple": "average of post-treatment ATT(g,t) weighted by cohort size",
            "group": "cohort-size weighted average of per-cohort average effects",
            "dynamic": "average of event-time effects at event times >= 0",
            "calendar": "average of per-period effects",
        }[kind]
        band = (
            f"terms: simultaneous {100 * (1 - alpha):g}% band (sup-t critical value {crit:.3f} "
            f"from {self.spec['bstrap_iters']} Gaussian multiplier draws, seed {self.spec['seed']})"
            if banded
            else "terms: pointwise intervals"
        )
        spec = dict(self.spec)
        spec.update(
            aggregation=kind,
            aggregation_target=what,
            min_e=min_e,
            max_e=max_e,
            balance_e=balance_e,
            uniform=uniform,
            ci_level=1 - alpha,
            inference=(
                "analytic influence-function standard errors"
                + (f" clustered by {spec['cluster']!r}" if spec.get("cluster") else "")
                + "; "
                + band
            ),
        )
        return spec

    # ------------------------------------------------------------------ rendering
    def to_frame(self) -> pd.DataFrame:
        """Return the ATT(g, t) table (a copy)."""
        return self.att_gt.copy()

    def _summary(self) -> Summary:
        """Design, ATT(g, t) table, pre-trend test, overall and event-study aggregations."""
        s = self.spec
        rows: list[tuple[str, Any]] = [
            ("method", s["method"]),
            ("comparison", s["control_group"]),
            ("base period", s["base_period"]),
            ("anticipation", s["anticipation"]),
            ("covariates", ", ".join(s["covariates"]) if s["covariates"] else "none"),
            ("units", self.n_units),
            ("periods", len(s["periods"])),
            ("cohorts", ", ".join(f"{g:g}" for g in s["cohorts"])),
        ]
        if s.get("cluster"):
            rows.append(("clusters", f"{self.n_clusters} ({s['cluster']})"))
        rows.append(("pre-trends", self.pretrend_test().describe()))
        for kind in ("simple", "dynamic"):
            eff = self.aggregate(kind)
            rows.append(
                (
                    f"overall ({kind})",
                    f"{eff.estimate:.4g} (SE {eff.se:.4g}), {100 * eff.ci_level:g}% CI "
                    f"[{eff.ci_low:.4g}, {eff.ci_high:.4g}], p = {eff.p_value:.4g}",
                )
            )
        cols = ["group", "time", "att", "se", "ci_low", "ci_high", "n_treated", "n_control"]
        return Summary(
            title=f"Staggered DiD (Callaway & Sant'Anna 2021) on {self.outcome}",
            rows=rows,
            tables=[("Group-time ATTs", self.att_gt[cols])],
            notes=list(s.get("notes", [])),
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Event-study plot (dynamic aggregation with its uniform band) on ``ax``; returns the Axes."""
        ax = self.aggregate("dynamic").plot(ax=ax)
        ax.set_title(f"{self.outcome}: event study (Callaway & Sant'Anna)")
        return ax
