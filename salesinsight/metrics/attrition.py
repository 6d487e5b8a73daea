"""Attrition risk (智能预警, part 3): logistic model of leaving in the next quarter.

Logistic regression (scikit-learn, standardised, median-imputed) of "leaves in the next quarter" on
rep-quarter features, evaluated on a time split (train on earlier quarters, test on the latest
``test_quarters``) with AUC and Brier score (and the Brier of always predicting the training base rate),
then refitted on all labelled quarters to score the last complete quarter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ATTRITION_FEATURES", "attrition_model"]

ATTRITION_FEATURES = (
    "attainment",
    "attainment_change",
    "activity_log_ratio",
    "win_rate",
    "log_revenue",
    "tenure_quarters",
    "team_attrition",
)


# ----------------------------------------------------------------------------------------------------------
# Attrition model (pure, on a rep-quarter feature frame)
# ----------------------------------------------------------------------------------------------------------
def attrition_model(
    features: pd.DataFrame,
    *,
    label: str = "left_next",
    time: str = "period",
    feature_names: tuple[str, ...] = ATTRITION_FEATURES,
    test_quarters: int = 2,
    seed: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """Fit and evaluate a logistic attrition model on a time split.

    Parameters
    ----------
    features : DataFrame
        One row per rep-quarter with ``time`` (sortable label), the ``feature_names`` and a 0/1
        ``label`` (rows whose label is unknown are NaN and ignored).
    test_quarters : int
        The latest ``test_quarters`` labelled quarters form the test set.

    Returns
    -------
    (model, evaluation) : the pipeline refitted on all labelled rows (None when it cannot be fitted)
        and a dict with ``auc, brier, brier_base_rate, n_train, n_test, positives_train,
        positives_test, train_quarters, test_quarters, note``.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lab = features[features[label].notna()].copy()
    times = sorted(lab[time].astype(str).unique())
    ev: dict[str, Any] = {
        "auc": np.nan,
        "brier": np.nan,
        "brier_base_rate": np.nan,
        "n_train": 0,
        "n_test": 0,
        "positives_train": 0,
        "positives_test": 0,
        "train_quarters": [],
        "test_quarters": [],
        "note": "",
    }

    def make() -> Any:
        return make_pipeline(
            SimpleImputer(strategy="median"),
            StandardScaler(),
            LogisticRegression(C=1.0, max_iter=1000, random_state=seed),
        )

    x_all = lab[list(feature_names)].to_numpy(float)
    y_all = lab[label].to_numpy(int)
    if len(times) <= test_quarters or y_all.sum() < 5 or y_all.sum() == len(y_all):
        ev["note"] = "too few labelled quarters or leavers to fit and evaluate"
        return None, ev
    test_t = times[-test_quarters:]
    is_test = lab[time].astype(str).isin(test_t).to_numpy()
    ytr, yte = y_all[~is_test], y_all[is_test]
    ev.update(
        n_train=int((~is_test).sum()),
        n_test=int(is_test.sum()),
        positives_train=int(ytr.sum()),
        positives_test=int(yte.sum()),
        train_quarters=times[:-test_quarters],
        test_quarters=test_t,
    )
    if ytr.sum() >= 2 and ytr.sum() < len(ytr):
        model = make().fit(x_all[~is_test], ytr)
        p = model.predict_proba(x_all[is_test])[:, 1]
        ev["brier"] = float(brier_score_loss(yte, p))
        ev["brier_base_rate"] = float(brier_score_loss(yte, np.full(len(yte), ytr.mean())))
        ev["mean_predicted_test"] = float(p.mean())
        ev["observed_rate_test"] = float(yte.mean())
        if 0 < yte.sum() < len(yte):
            ev["auc"] = float(roc_auc_score(yte, p))
        else:
            ev["note"] = "test quarters have no leavers (or only leavers): AUC undefined"
    else:
        ev["note"] = "training quarters have too few leavers"
    final = make().fit(x_all, y_all)
    return final, ev


# ----------------------------------------------------------------------------------------------------------
# Gathering from a dataset (panel)
# ----------------------------------------------------------------------------------------------------------
def _attrition_features(data: Any, reps: pd.DataFrame, m: int, current: str) -> pd.DataFrame:
    """Rep-quarter features and the next-quarter-leaver label from the quarter panel."""
    from salesinsight.calendar import next_quarter, quarter_bounds
    from salesinsight.metrics._forecast import observed_periods
    from salesinsight.metrics._panel import panel

    full = panel(data, grain="quarter", by="rep", fiscal_year_start_month=m)
    full["period"] = full["period"].astype(str)
    full = full[full["period"].isin(set(observed_periods(full)))]
    p = full[full["active"].astype(bool)].copy()
    p = p.sort_values(["rep_id", "period_start"])
    bounds = {q: quarter_bounds(q, m) for q in p["period"].unique()}
    p["q_end"] = p["period"].map(lambda q: bounds[q][1])
    r = reps.set_index("rep_id")
    term = pd.to_datetime(p["rep_id"].map(r["termination_date"]))
    hire = pd.to_datetime(p["rep_id"].map(r["hire_date"]))
    q_end = pd.to_datetime(p["q_end"])
    # drop quarters in which the rep already left
    p = p[~(term <= q_end)].copy()
    term, hire, q_end = term[p.index], hire[p.index], q_end[p.index]
    nxt = {q: quarter_bounds(next_quarter(q, m), m) for q in p["period"].unique()}
    nxt_end = pd.to_datetime(p["period"].map(lambda q: nxt[q][1]))
    cur_start = pd.Timestamp(quarter_bounds(current, m)[0])
    observable = nxt_end < cur_start
    p["left_next"] = np.where(observable, (term <= nxt_end).astype(float), np.nan)
    g = p.groupby("rep_id")
    att = pd.to_numeric(p["attainment"], errors="coerce").clip(upper=5)
    p["attainment"] = att
    p["attainment_change"] = att - g["attainment"].shift(1).clip(upper=5)
    acts = pd.to_numeric(p["activities"], errors="coerce").astype(float)
    p["activity_log_ratio"] = np.log1p(acts) - np.log1p(g["activities"].shift(1).astype(float))
    p["win_rate"] = pd.to_numeric(p["win_rate"], errors="coerce")
    p["log_revenue"] = np.log1p(pd.to_numeric(p["revenue"], errors="coerce").astype(float))
    p["tenure_quarters"] = (q_end - hire).dt.days / 91.3
    # team attrition in the quarter (leavers among the team's reps active that quarter), from reps
    all_rows = full[full["active"].astype(bool)].copy()
    s_e = all_rows["period"].map(lambda q: bounds.get(q, quarter_bounds(q, m)))
    t_all = pd.to_datetime(all_rows["rep_id"].map(r["termination_date"]))
    left = (t_all >= pd.to_datetime(s_e.map(lambda b: b[0]))) & (
        t_all <= pd.to_datetime(s_e.map(lambda b: b[1]))
    )
    all_rows["left"] = left.astype(float)
    team = all_rows.groupby(["team_id", "period"])["left"].mean()
    p["team_attrition"] = [
        team.get((t, q), np.nan) for t, q in zip(p["team_id"], p["period"], strict=True)
    ]
    return p[["rep_id", "team_id", "period", "period_start", *ATTRITION_FEATURES, "left_next"]]
