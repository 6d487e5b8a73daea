"""Mix versus rate: how much of a ratio-of-sums change comes from segment weights shifting.

`mix_rate` splits the change of a company-level rate (win rate = won / closed, attainment = revenue /
quota) across segments (team, region, source) into the part due to the segments' weights shifting
(mix) and the part due to the rates within segments changing (rate), Kitagawa/Shapley style, summing
exactly to the total change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.attribution.shapley import _fmt, _new_ax, waterfall
from salesinsight.results import ResultMixin, Summary

__all__ = ["MixRate", "mix_rate"]


@dataclass(frozen=True, eq=False)
class MixRate(ResultMixin):
    """Mix-versus-rate decomposition of the change of a ratio of sums across segments.

    Attributes
    ----------
    rate_num, rate_den, segment : str
        Column names of the numerator, denominator and segment.
    base, current : str
        Period labels.
    rate_base, rate_current : float
        Overall rate ``sum(num) / sum(den)`` in each period.
    mix_effect, rate_effect : float
        Parts of ``rate_current - rate_base`` due to the segment mix and to within-segment rates;
        they sum exactly to the total change.
    frame : DataFrame
        One row per segment (see `to_frame`).
    notes : tuple of str
    """

    rate_num: str
    rate_den: str
    segment: str
    base: str
    current: str
    rate_base: float
    rate_current: float
    mix_effect: float
    rate_effect: float
    frame: pd.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def total_change(self) -> float:
        """``rate_current - rate_base``."""
        return self.rate_current - self.rate_base

    def to_frame(self) -> pd.DataFrame:
        """One row per segment.

        Columns: the segment key, ``num_base``, ``den_base``, ``num_current``, ``den_current``,
        ``weight_base``, ``weight_current`` (segment's share of the denominator), ``rate_base``,
        ``rate_current`` (segment rate, NaN where the denominator is 0), ``mix_contribution``,
        ``rate_contribution``, ``contribution`` (their sum).
        """
        return self.frame.copy()

    def _summary(self) -> Summary:
        """Summarise in words: the overall change and its mix and rate parts."""
        name = f"{self.rate_num}/{self.rate_den}"
        lines = [
            f"{name} (ratio of sums over {self.segment}) went from {self.rate_base:.4g} in "
            f"{self.base} to {self.rate_current:.4g} in {self.current} "
            f"(change {self.total_change:+.4g}): mix of {self.segment} {self.mix_effect:+.4g}, "
            f"rates within {self.segment} {self.rate_effect:+.4g} (Shapley/Kitagawa, exact).",
        ]
        top = self.frame.reindex(
            self.frame["contribution"].abs().sort_values(ascending=False).index
        ).head(5)
        for r in top.itertuples():
            lines.append(
                f"- {self.segment}={getattr(r, self.segment)}: weight "
                f"{r.weight_base:.3f} -> {r.weight_current:.3f}, rate {_fmt(r.rate_base)} -> "
                f"{_fmt(r.rate_current)}; mix {r.mix_contribution:+.4g}, "
                f"rate {r.rate_contribution:+.4g}"
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return Summary.from_lines(lines)

    def plot(self, *, ax: Any = None) -> Any:
        """Waterfall: base rate, mix effect, rate effect, current rate. Returns the Axes."""
        ax = _new_ax(ax)
        waterfall(
            ax,
            start_label=self.base,
            start=self.rate_base,
            labels=[f"mix ({self.segment})", "within-segment rate"],
            deltas=[self.mix_effect, self.rate_effect],
            end_label=self.current,
            end=self.rate_current,
        )
        ax.set_ylabel(f"{self.rate_num} / {self.rate_den}")
        ax.set_title(f"Mix vs rate: {self.base} -> {self.current}")
        return ax


def mix_rate(
    df: pd.DataFrame,
    *,
    rate_num: str,
    rate_den: str,
    segment: str,
    base: str,
    current: str,
    period_col: str = "period",
) -> MixRate:
    """Split the change of an overall rate (ratio of sums) into segment mix and within-segment rate.

    With segment weights ``w_s = den_s / sum(den)`` and rates ``r_s = num_s / den_s``, the overall rate
    is ``R = sum_s w_s r_s`` and its change is split with the two-factor Shapley (Kitagawa) rule::

        mix  = sum_s (w1_s - w0_s) * ((r0_s + r1_s) / 2 - (R0 + R1) / 2)
        rate = sum_s (r1_s - r0_s) * (w0_s + w1_s) / 2

    which sum exactly to ``R1 - R0``. (Centring the mix term on the average overall rate does not
    change its total, because the weight changes sum to 0, but makes a segment's mix contribution
    negative when weight moves into a segment with a below-average rate.)

    Parameters
    ----------
    df : DataFrame
        Rows with ``period_col``, ``segment``, ``rate_num`` and ``rate_den``; several rows per segment
        and period (e.g. a rep panel segmented by team) are summed first.
    rate_num, rate_den : str
        Numerator and denominator columns (``opps_won``/``opps_closed`` for win rate,
        ``revenue``/``quota`` for attainment).
    segment : str
        Segment column (team, region, source...).
    base, current : str
        Period labels.
    period_col : str

    Returns
    -------
    MixRate

    Notes
    -----
    Rows where the numerator or denominator is missing are left out of both sums (a note says how
    many). A segment with zero denominator in one period (absent there) has weight 0 there; its rate
    is taken as unchanged, so all of its effect is mix.
    """
    sub, notes = _select_rows(df, segment, rate_num, rate_den, base, current, period_col)
    segments, nb, db, nc, dc = _segment_sums(
        sub, segment, rate_num, rate_den, base, current, period_col
    )
    if db.sum() <= 0 or dc.sum() <= 0:
        raise ValueError(
            f"total {rate_den} is 0 in {base if db.sum() <= 0 else current}: the rate is undefined"
        )
    R0, R1 = nb.sum() / db.sum(), nc.sum() / dc.sum()
    w0, w1 = db / db.sum(), dc / dc.sum()
    r0, r1 = _segment_rates(segments, nb, db, nc, dc, segment, rate_num, rate_den)
    r0f = np.where(np.isnan(r0), r1, r0)
    r1f = np.where(np.isnan(r1), r0, r1)
    for s, a, b_ in zip(segments, db, dc, strict=True):
        if a == 0:
            notes.append(f"{segment}={s} has no {rate_den} in {base}: all of its effect is mix")
        elif b_ == 0:
            notes.append(f"{segment}={s} has no {rate_den} in {current}: all of its effect is mix")
    mix = (w1 - w0) * ((r0f + r1f) / 2 - (R0 + R1) / 2)
    rate = (r1f - r0f) * (w0 + w1) / 2
    frame = pd.DataFrame(
        {
            segment: segments.to_numpy(),
            "num_base": nb,
            "den_base": db,
            "num_current": nc,
            "den_current": dc,
            "weight_base": w0,
            "weight_current": w1,
            "rate_base": r0,
            "rate_current": r1,
            "mix_contribution": mix,
            "rate_contribution": rate,
            "contribution": mix + rate,
        }
    )
    return MixRate(
        rate_num=rate_num,
        rate_den=rate_den,
        segment=segment,
        base=base,
        current=current,
        rate_base=float(R0),
        rate_current=float(R1),
        mix_effect=float(mix.sum()),
        rate_effect=float(rate.sum()),
        frame=frame,
        notes=tuple(notes),
    )


def _select_rows(
    df: pd.DataFrame,
    segment: str,
    rate_num: str,
    rate_den: str,
    base: str,
    current: str,
    period_col: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Check the columns and periods; return the complete rows of both periods and notes."""
    needed = [period_col, segment, rate_num, rate_den]
    missing_cols = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing_cols:
        raise ValueError(f"df is missing column(s) {missing_cols}; it has {list(df.columns)}")
    sub = df.loc[:, needed].copy()
    sub[period_col] = sub[period_col].astype(str)
    periods = set(sub[period_col])
    absent = [p for p in (base, current) if p not in periods]
    if absent:
        raise ValueError(
            f"period(s) {absent} not found in column {period_col!r}; available: {sorted(periods)}"
        )
    sub = sub[sub[period_col].isin([base, current])]
    for col in (rate_num, rate_den):
        sub[col] = pd.to_numeric(sub[col], errors="coerce").astype(float)
    notes: list[str] = []
    bad = sub[rate_num].isna() | sub[rate_den].isna()
    if bad.any():
        notes.append(
            f"{int(bad.sum())} row(s) with a missing {rate_num} or {rate_den} left out of both sums"
        )
        sub = sub[~bad]
    neg = sub[rate_den] < 0
    if neg.any():
        rows = sub.loc[neg, [period_col, segment, rate_den]].head(10).to_dict("records")
        raise ValueError(f"negative {rate_den} in {int(neg.sum())} row(s): {rows}")
    return sub, notes


def _segment_sums(
    sub: pd.DataFrame,
    segment: str,
    rate_num: str,
    rate_den: str,
    base: str,
    current: str,
    period_col: str,
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum numerator and denominator per segment: base num, base den, current num, current den."""
    agg = sub.groupby([segment, period_col], sort=True)[[rate_num, rate_den]].sum()
    wide = agg.unstack(period_col).fillna(0.0)

    def column(col: str, label: str) -> np.ndarray:
        return wide[(col, label)].to_numpy() if (col, label) in wide else np.zeros(len(wide))

    return (
        wide.index,
        column(rate_num, base),
        column(rate_den, base),
        column(rate_num, current),
        column(rate_den, current),
    )


def _segment_rates(
    segments: pd.Index,
    nb: np.ndarray,
    db: np.ndarray,
    nc: np.ndarray,
    dc: np.ndarray,
    segment: str,
    rate_num: str,
    rate_den: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute each segment's base and current rate (NaN without a denominator)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r0 = np.where(db > 0, nb / np.where(db > 0, db, 1.0), np.nan)
        r1 = np.where(dc > 0, nc / np.where(dc > 0, dc, 1.0), np.nan)
    zero_num_no_den = ((db == 0) & (nb != 0)) | ((dc == 0) & (nc != 0))
    if zero_num_no_den.any():
        segs = list(segments[zero_num_no_den])
        raise ValueError(
            f"{rate_num} is non-zero where {rate_den} is 0 for {segment} {segs}: "
            f"the ratio-of-sums identity cannot hold"
        )
    return r0, r1
