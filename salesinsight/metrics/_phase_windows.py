"""Same-phase windows of the current and previous quarters, shared by the early-warning parts.

Window 0 runs from the start of the quarter containing ``as_of`` to ``as_of``; window ``k`` (1..K) runs
over the same number of days from the start of the ``k``-th previous quarter. Used by the drop alerts
(:mod:`salesinsight.metrics.drop_alerts`) and the chance of reaching quota
(:mod:`salesinsight.metrics.quota_chance`).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def _windows(as_of: dt.date, n_history: int, m: int) -> tuple[str, pd.DataFrame]:
    from salesinsight.calendar import quarter_bounds, quarter_label

    label = quarter_label(as_of, m)
    qs, qe = quarter_bounds(label, m)
    phase = (as_of - qs).days
    rows = [{"window": 0, "quarter": label, "s": qs, "e": as_of, "qe": qe}]
    lab = label
    from salesinsight.calendar import previous_quarter

    for k in range(1, n_history + 1):
        lab = previous_quarter(lab, m)
        s, e = quarter_bounds(lab, m)
        rows.append(
            {
                "window": k,
                "quarter": lab,
                "s": s,
                "e": min(s + dt.timedelta(days=phase), e),
                "qe": e,
            }
        )
    return label, pd.DataFrame(rows)


def _values_sql(w: pd.DataFrame) -> str:
    vals = ", ".join(
        f"({int(r.window)}, DATE '{r.s.isoformat()}', DATE '{r.e.isoformat()}', "
        f"DATE '{r.qe.isoformat()}')"
        for r in w.itertuples()
    )
    return f"(VALUES {vals}) AS w(k, s, e, qe)"
