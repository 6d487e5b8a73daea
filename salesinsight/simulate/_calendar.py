"""Day arithmetic of the simulator: integer day offsets from the start date (periods: ``calendar``)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from salesinsight.calendar import period_end, quarter_label


def quarters(start: dt.date, n: int) -> list[tuple[int, int, str]]:
    """``n`` consecutive calendar quarters from ``start`` as (first, last, label) day offsets.

    The first quarter begins on ``start`` itself (it may be shorter than a calendar quarter).
    """
    out = []
    lo = start
    for _ in range(n):
        hi = period_end(lo, "quarter")
        out.append(((lo - start).days, (hi - start).days, quarter_label(lo)))
        lo = hi + dt.timedelta(days=1)
    return out


def day_features(start: dt.date, first: int, last: int) -> dict[str, np.ndarray]:
    """Per-day arrays for offsets ``first..last``: weekday (0 = Monday), calendar quarter (0-3)."""
    offsets = np.arange(first, last + 1)
    days = np.datetime64(start.isoformat(), "D") + offsets
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    return {"offset": offsets, "weekday": weekday, "cal_quarter": month // 3}


def to_iso(start: dt.date, offsets: np.ndarray) -> np.ndarray:
    """ISO date strings of integer day offsets from ``start`` (object array)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(offsets) == 0:
        return np.array([], dtype=object)
    lo = int(offsets.min())
    span = np.datetime64(start.isoformat(), "D") + np.arange(lo, int(offsets.max()) + 1)
    table = np.datetime_as_string(span, unit="D").astype(object)
    return table[offsets - lo]
