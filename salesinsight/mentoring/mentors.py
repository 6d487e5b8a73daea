"""Which mentors' mentees do better: each mentor's relative revenue effect, shrunk, with intervals.

For mentee ``i`` the expected revenue after the start is its own prior revenue per day, times the
change its matched comparison sellers saw, times its employed days. A mentor's raw effect is the ratio
of their mentees' actual to expected revenue, minus one (ratio of sums). Its variance uses the
dispersion of all mentees (a constant coefficient of variation), because one mentor's two or three
mentees cannot estimate their own. Effects are shrunk towards the average by normal-normal empirical
Bayes (``metrics.shrinkage``); a mentor's verdict uses the posterior interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.causal.effect import Effect
from salesinsight.causal.inference import z_critical
from salesinsight.mentoring.matched import balance, set_sums
from salesinsight.metrics.shrinkage import fit_normal_normal
from salesinsight.reviews._display import SummaryMixin

__all__ = ["MentorEffects", "mentor_effects"]


@dataclass(frozen=True, eq=False)
class MentorEffects(SummaryMixin):
    """Per-mentor relative revenue effect on their mentees.

    Attributes
    ----------
    frame : DataFrame
        ``mentor_id``, ``n_mentees``, ``raw`` and ``raw_se`` (relative), shrunk ``effect`` with its
        posterior interval ``ci_low``/``ci_high``, ``verdict`` (via ``Effect.verdict``).
    mean, tau : float
        Average mentor effect and the estimated spread (sd) of true mentor effects.
    """

    frame: pd.DataFrame
    mean: float
    tau: float
    alpha: float
    min_effect: float
    balanced: bool | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return the per-mentor table (a copy)."""
        return self.frame.copy()

    def summary(self) -> str:
        """Words: spread of mentor effects and who stands out."""
        f = self.frame
        lines = [
            f"Mentor effects on mentee revenue: {len(f)} mentors, average {self.mean:+.1%}, true "
            f"spread (sd) {self.tau:.1%}; shrunk towards the average, {1 - self.alpha:.0%} "
            "posterior intervals.",
        ]
        if self.balanced is False:
            lines.append(
                "Matched comparison sellers are not balanced on prior attainment and tenure: every "
                "mentor's verdict is inconclusive."
            )
        for r in f[f["verdict"].isin(["worked", "harmed"])].itertuples():
            lines.append(
                f"  {r.mentor_id}: {r.effect:+.1%} [{r.ci_low:+.1%}, {r.ci_high:+.1%}] over "
                f"{r.n_mentees} mentee(s): {r.verdict}"
            )
        return "\n".join(lines)

    def plot(self, *, ax: Any = None) -> Any:
        """Shrunk mentor effects with intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(2.0, 0.2 * len(self.frame))))
        f = self.frame.sort_values("effect")
        y = np.arange(len(f))
        ax.errorbar(
            f["effect"],
            y,
            xerr=[f["effect"] - f["ci_low"], f["ci_high"] - f["effect"]],
            fmt="o",
            ms=3,
        )
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, f["mentor_id"].astype(str), fontsize=6)
        ax.set_xlabel("relative effect on mentee revenue (shrunk)")
        return ax


def mentor_effects(
    sets: pd.DataFrame, *, alpha: float = 0.05, min_effect: float = 0.05
) -> MentorEffects:
    """Shrunk per-mentor effects from mentee matched sets (``sets`` must carry ``mentor_id``)."""
    s = sets[(sets["pre_days"] > 0) & (sets["post_days"] > 0)]
    check = balance(s)  # a failed balance check makes every mentor's verdict inconclusive
    cols = ["post_revenue", "post_days", "pre_revenue", "pre_days"]
    t, c = set_sums(s, cols)
    ids = np.sort(s["set_id"].unique())
    mentor = s[s["role"] == "treated"].set_index("set_id").loc[ids, "mentor_id"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = (c[:, 0] / c[:, 1]) / (c[:, 2] / c[:, 3])
        expected = t[:, 1] * (t[:, 2] / t[:, 3]) * growth
    ok = np.isfinite(expected) & (expected > 0)
    actual, expected, mentor = t[ok, 0], expected[ok], mentor[ok]
    overall = actual.sum() / expected.sum()
    phi = float(np.mean(((actual - overall * expected) / expected) ** 2))
    df = pd.DataFrame({"mentor_id": mentor, "a": actual, "e": expected, "e2": expected**2})
    g = df.groupby("mentor_id", sort=True).agg(
        n_mentees=("a", "size"), a=("a", "sum"), e=("e", "sum"), e2=("e2", "sum")
    )
    raw = g["a"] / g["e"] - 1.0
    var = phi * g["e2"] / g["e"] ** 2
    mu, tau2 = fit_normal_normal(raw.to_numpy(), var.to_numpy())
    w = tau2 / (tau2 + var)
    post = mu + w * (raw - mu)
    # posterior variance including the uncertainty of the estimated average (Morris 1983)
    var_mu = 1.0 / np.sum(1.0 / (tau2 + var))
    post_sd = np.sqrt(w * var + (1 - w) ** 2 * var_mu)
    z = z_critical(alpha)
    lo, hi = post - z * post_sd, post + z * post_sd
    verdicts = []
    for m in g.index:
        e = Effect(
            estimate=float(post[m]),
            se=float(post_sd[m]),
            ci_low=float(lo[m]),
            ci_high=float(hi[m]),
            p_value=float("nan"),
            n_units=int(g.loc[m, "n_mentees"]),
            n_obs=int(g.loc[m, "n_mentees"]),
            method="empirical-Bayes mentor effect",
            outcome="revenue",
            spec={"ci_level": 1 - alpha},
            diagnostics=(check,),
        )
        verdicts.append(e.verdict(min_effect=min_effect, alpha=alpha).label)
    frame = pd.DataFrame(
        {
            "mentor_id": g.index.astype(str),
            "n_mentees": g["n_mentees"].to_numpy(),
            "raw": raw.to_numpy(),
            "raw_se": np.sqrt(var.to_numpy()),
            "effect": post.to_numpy(),
            "ci_low": lo.to_numpy(),
            "ci_high": hi.to_numpy(),
            "verdict": verdicts,
        }
    )
    return MentorEffects(frame, float(mu), float(np.sqrt(tau2)), alpha, min_effect, check.passed)
