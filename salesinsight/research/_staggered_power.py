"""Power of a staggered rollout by simulation through the CRM simulator.

Each replication simulates a whole CRM (``salesinsight.simulate.crm``) in which the staggered
training program ``P_TRAIN`` enrolls sellers in ``cohorts`` waves (one per quarter start from the
second quarter; in every team the manager nominates about ``share_per_cohort`` of the sellers,
weighted toward the weakest) with a known effect on the win probability, and evaluates it with
:func:`salesinsight.evaluation.evaluate`, i.e. the Callaway & Sant'Anna DiD that the quarterly
evaluation uses for staggered programs, with its required checks and verdict. A replication
*detects* the effect when the verdict is *worked* (or *harmed*, for a negative effect). The same is
done with the effect set to zero: the share of *worked* / *harmed* verdicts there is the false-positive
rate. Every share comes with its Monte Carlo standard error ``sqrt(p (1 - p) / n)``.

The simulator is calibrated to the user's data before the replications (``calibrate=True``): from one
pilot folder at the simulator's defaults, the baseline win log-odds is shifted to the data's win rate,
and the SDs of the team effect and of persistent seller ability are solved so that the
sellers-within-team ICC and the correlation of a seller's win rate with the previous quarter match
the data's (``research.design`` measures them, on the data and on the pilot; see ``_solve_sds``).
One step, so the match is approximate: ``calibration`` reports the data, the pilot and the first
null replication side by side.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.data import Dataset
from salesinsight.results import ResultMixin, Summary

from ._design import design
from ._display import fmt

__all__ = ["StaggeredPower", "staggered_power"]

#: simulator defaults the calibration starts from (``salesinsight.simulate.SimConfig``)
_DEFAULT_TEAM_SD = 0.10
_DEFAULT_ABILITY_SD = 0.35
_DEFAULT_BASE_LOGODDS = -1.75
_PROGRAM = "P_TRAIN"


@dataclass(frozen=True, eq=False)
class StaggeredPower(ResultMixin):
    """Result of :func:`staggered_power` (shares in [0, 1], effects in win-rate points).

    Attributes
    ----------
    power, power_se : float
        Share of planted replications whose verdict detects the effect, and its Monte Carlo SE.
    false_positive, false_positive_se : float
        Share of null replications (effect 0) with a *worked* or *harmed* verdict.
    mean_estimate, mean_estimate_se : float
        Mean of the planted replications' estimates (truth: ``effect``), and its MC SE.
    coverage, coverage_se : float
        Share of planted replications whose interval covers ``effect``.
    null_coverage, null_coverage_se : float
        Share of null replications whose interval covers 0.
    replications : DataFrame
        One row per replication: ``kind`` (planted / null), ``replication``, ``seed``, ``truth``,
        ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``verdict``, ``detected``
        (the verdict detects the effect), ``rejects`` (the interval excludes zero), ``covers``
        (the interval covers ``truth``).
    calibration : DataFrame
        ``quantity`` (win rate, team ICC, previous-quarter correlation, SD of seller win rate) on
        the ``data``, the ``pilot`` at simulator defaults and the first null ``replication``.
    spec : dict
    """

    power: float
    power_se: float
    false_positive: float
    false_positive_se: float
    mean_estimate: float
    mean_estimate_se: float
    coverage: float
    coverage_se: float
    null_coverage: float
    null_coverage_se: float
    replications: pd.DataFrame
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    spec: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: ``term``, ``value``, ``mc_se``, ``n`` (replications behind it).

        ``rejection_rate`` / ``null_rejection_rate``: the share whose interval excludes zero,
        whatever the required checks say (the verdict's ``power`` needs both).
        """
        r = self.replications
        planted, null = r[r["kind"] == "planted"], r[r["kind"] == "null"]
        n_p, n_0 = len(planted), len(null)
        rows = [
            ("power", self.power, self.power_se, n_p),
            ("false_positive_rate", self.false_positive, self.false_positive_se, n_0),
            ("mean_estimate", self.mean_estimate, self.mean_estimate_se, n_p),
            ("true_effect", self.spec["effect"], 0.0, n_p),
            ("coverage", self.coverage, self.coverage_se, n_p),
            ("rejection_rate", *_share(planted["rejects"]), n_p),
            ("null_rejection_rate", *_share(null["rejects"]), n_0),
            ("null_coverage", self.null_coverage, self.null_coverage_se, n_0),
        ]
        return pd.DataFrame(rows, columns=["term", "value", "mc_se", "n"])

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: the quantities with their MC SEs, calibration, replications, spec."""
        out: dict[str, Any] = {
            str(r.term): {"value": _num(r.value), "mc_se": _num(r.mc_se), "n": int(r.n)}
            for r in self.to_frame().itertuples(index=False)
        }
        out["calibration"] = [
            {k: _num(v) for k, v in row.items()} for row in self.calibration.to_dict("records")
        ]
        out["replications"] = [
            {k: _num(v) for k, v in row.items()} for row in self.replications.to_dict("records")
        ]
        out["spec"] = dict(self.spec)
        return out

    def _summary(self) -> Summary:
        """Summarise power, false positives, bias and coverage with their Monte Carlo SEs."""
        s = self.spec
        n_p = int((self.replications["kind"] == "planted").sum())
        n_0 = int((self.replications["kind"] == "null").sum())
        rows = [
            (
                "rollout",
                f"{s['n_teams']} teams of {s['team_size']} sellers, {s['cohorts']} cohort(s) of "
                f"~{100 * s['share_per_cohort']:g}% of each team, {s['quarters']} quarters, effect "
                f"ramping in over {s['ramp_weeks']} weeks",
            ),
            ("power", f"{fmt(self.power)} (MC SE {fmt(self.power_se)}; {n_p} replications)"),
            (
                "not estimable",
                f"{int((self.replications['verdict'] == 'not estimable').sum())} replication(s) "
                "(no seller enrolled, or no data; counted as not detected)",
            ),
            (
                "false positives",
                f"{fmt(self.false_positive)} (MC SE {fmt(self.false_positive_se)}; {n_0} "
                f"replications with effect 0; nominal {s['alpha']:g})",
            ),
            (
                "estimate",
                f"mean {fmt(self.mean_estimate)} (MC SE {fmt(self.mean_estimate_se)}) against "
                f"the planted {fmt(s['effect'])}",
            ),
            (
                "coverage",
                f"{fmt(self.coverage)} (MC SE {fmt(self.coverage_se)}) planted, "
                f"{fmt(self.null_coverage)} (MC SE {fmt(self.null_coverage_se)}) null; nominal "
                f"{1 - s['alpha']:g}",
            ),
            (
                "detected means",
                "the evaluation's verdict is 'worked' ('harmed' for a negative effect): the "
                "interval excludes zero and the required pre-trend check passes",
            ),
        ]
        return Summary(
            title=f"Power of a staggered rollout by simulation ({s['outcome']}, alpha {s['alpha']:g})",
            rows=rows,
            tables=[("calibration to the data", self.calibration)] if len(self.calibration) else [],
            notes=[
                "simulated through salesinsight.simulate with the effect planted on the win "
                "probability; the estimator is evaluate()'s staggered DiD (Callaway & Sant'Anna)",
            ],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Estimates of the planted and null replications with the truths; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.5))
        r = self.replications
        for kind, truth, color in (
            ("null", 0.0, "#4c72b0"),
            ("planted", self.spec["effect"], "#dd8452"),
        ):
            d = r[r["kind"] == kind]
            ax.hist(d["estimate"].dropna(), bins=20, alpha=0.6, color=color, label=f"{kind}")
            ax.axvline(truth, color=color, ls="--", lw=1.5)
        ax.set_xlabel(f"estimated effect on {self.spec['outcome']}")
        ax.set_ylabel("replications")
        ax.set_title(f"Power {fmt(self.power)}, false positives {fmt(self.false_positive)}")
        ax.legend(frameon=False)
        return ax


def staggered_power(
    data: str | Path | Dataset | None = None,
    *,
    effect: float = 0.025,
    n_teams: int | None = None,
    team_size: int | None = None,
    cohorts: int = 3,
    quarters: int = 6,
    share_per_cohort: float = 0.12,
    ramp_weeks: int = 0,
    outcome: str = "win_rate",
    n_sims: int = 100,
    alpha: float = 0.05,
    seed: int = 0,
    calibrate: bool = True,
) -> StaggeredPower:
    """Power, false-positive rate, bias and coverage of a staggered rollout, by simulation.

    Parameters
    ----------
    data : path or Dataset, optional
        The user's data folder: gives the default ``n_teams`` and ``team_size`` and, with
        ``calibrate``, the win rate, ICC and previous-quarter correlation the simulator is tuned
        to. Without data the simulator's defaults are used and ``n_teams`` is required.
    effect : float, default 0.025
        Planted effect on the win probability (probability points, e.g. 0.025 = +2.5 pp).
    n_teams : int, optional
        Teams in the simulated organisation (at least 2); default the data's teams in its last
        quarter.
    team_size : int, optional
        Seller seats per team (at least 3); default the data's mean team size (rounded).
    cohorts : int, default 3
        Enrolment waves, one per quarter start from the second quarter.
    quarters : int, default 6
        Quarters simulated; at least ``cohorts + 2`` (a pre-period and a post-period around every
        wave).
    share_per_cohort : float, default 0.12
        Share of each team's sellers a wave enrolls (the managers nominate the weakest).
    ramp_weeks : int, default 0
        Weeks over which the effect ramps in linearly after a seller's start (0 = at once; a ramp
        makes the quarterly estimate smaller than ``effect``).
    outcome : {"win_rate"}
        The outcome the effect is planted on and estimated for.
    n_sims : int, default 100
        Replications with the effect, and as many with effect 0 (each one simulates a CRM and
        evaluates it: about 10-20 s each at 100-200 sellers).
    alpha : float, default 0.05
        Test level of the evaluation.
    seed : int, default 0
        Seed of everything: the same arguments give byte-identical results.
    calibrate : bool, default True
        Tune the simulator to ``data`` (ignored without data).

    Returns
    -------
    StaggeredPower
    """
    spec: dict[str, Any] = {
        "outcome": outcome,
        "effect": effect,
        "n_teams": n_teams,
        "team_size": team_size,
        "cohorts": cohorts,
        "quarters": quarters,
        "share_per_cohort": share_per_cohort,
        "ramp_weeks": ramp_weeks,
        "n_sims": n_sims,
        "alpha": alpha,
        "seed": seed,
    }
    ds = _check(data, spec)
    need = calibrate or n_teams is None or team_size is None
    target = _variance(ds) if ds is not None and need else None
    if n_teams is None:
        assert target is not None
        spec["n_teams"] = int(target["teams"])
    if team_size is None:
        spec["team_size"] = max(3, round(target["team_size"])) if target is not None else 9
    if spec["n_teams"] * spec["team_size"] < 20:
        raise ValueError(
            "staggered_power: n_teams x team_size must be at least 20 sellers (the simulator's "
            f"minimum), got {spec['n_teams']} x {spec['team_size']}"
        )
    base = {
        "n_reps": spec["n_teams"] * spec["team_size"],
        "team_size": spec["team_size"],
        "quarters": quarters,
        "train_cohorts": cohorts,
        "train_share_per_cohort": share_per_cohort,
        "train_ramp_weeks": ramp_weeks,
    }
    reps, params, calib = _run(spec, base, target, calibrate and ds is not None)
    spec["calibrated"] = calib is not None
    spec["program"] = _PROGRAM
    spec["simulator"] = {k: v for k, v in params.items() if k not in base}
    return _assemble(reps, calib, spec)


_COLUMNS = (
    "kind",
    "replication",
    "seed",
    "truth",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "verdict",
    "detected",
    "rejects",
    "covers",
)


def _run(
    spec: dict[str, Any], base: dict[str, Any], target: dict[str, float] | None, calibrate: bool
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame | None]:
    """Calibrate, then ``n_sims`` planted and ``n_sims`` null replications in a temporary folder."""
    n_sims = spec["n_sims"]
    with tempfile.TemporaryDirectory(prefix="salesinsight-power-") as tmp:
        root = Path(tmp)
        params, calib = _calibrate(root, base, target, _seed(spec["seed"], 2, 0), calibrate)
        rows = []
        for i in range(2 * n_sims):
            kind = "planted" if i < n_sims else "null"
            truth = spec["effect"] if kind == "planted" else 0.0
            folder, seed = root / f"r{i}", _seed(spec["seed"], int(kind == "null"), i % n_sims)
            rows.append(_replicate(folder, params, truth, seed, spec["alpha"], kind))
            rows[-1]["replication"] = i % n_sims
            if i == n_sims and calib is not None:
                calib["replication"] = list(_measure(folder).values())
            _cleanup(folder)
    return pd.DataFrame(rows)[list(_COLUMNS)], params, calib


def _assemble(
    reps: pd.DataFrame, calib: pd.DataFrame | None, spec: dict[str, Any]
) -> StaggeredPower:
    """Build the result: the shares with their Monte Carlo SEs and the mean estimate."""
    planted, null = reps[reps["kind"] == "planted"], reps[reps["kind"] == "null"]
    p, fp = _share(planted["detected"]), _share(null["detected"])
    cov, cov0 = _share(planted["covers"]), _share(null["covers"])
    est = planted["estimate"].dropna()
    return StaggeredPower(
        power=p[0],
        power_se=p[1],
        false_positive=fp[0],
        false_positive_se=fp[1],
        mean_estimate=float(est.mean()) if len(est) else math.nan,
        mean_estimate_se=float(est.std(ddof=1) / math.sqrt(len(est))) if len(est) > 1 else math.nan,
        coverage=cov[0],
        coverage_se=cov[1],
        null_coverage=cov0[0],
        null_coverage_se=cov0[1],
        replications=reps.reset_index(drop=True),
        calibration=calib if calib is not None else pd.DataFrame(),
        spec=spec,
    )


def _check(data: Any, spec: dict[str, Any]) -> Dataset | None:
    """Every problem with the arguments at once, naming argument and value; the data loaded."""
    from ._frames import as_dataset

    effect, n_teams, team_size = spec["effect"], spec["n_teams"], spec["team_size"]
    cohorts, quarters, share = spec["cohorts"], spec["quarters"], spec["share_per_cohort"]
    ramp_weeks, n_sims, alpha = spec["ramp_weeks"], spec["n_sims"], spec["alpha"]
    outcome = spec["outcome"]
    problems = []
    if outcome != "win_rate":
        problems.append(
            f"outcome must be 'win_rate' (the effect the simulator plants), got {outcome!r}"
        )
    if not math.isfinite(effect) or abs(effect) >= 0.5:
        problems.append(f"effect must be a win-probability change in (-0.5, 0.5), got {effect!r}")
    if n_teams is not None and not (_whole(n_teams) and n_teams >= 2):
        problems.append(f"n_teams must be a whole number >= 2, got {n_teams!r}")
    if team_size is not None and not (_whole(team_size) and team_size >= 3):
        problems.append(f"team_size must be a whole number >= 3, got {team_size!r}")
    if not (_whole(cohorts) and cohorts >= 1):
        problems.append(f"cohorts must be a whole number >= 1, got {cohorts!r}")
    elif not (_whole(quarters) and quarters >= cohorts + 2):
        problems.append(
            f"quarters must be a whole number >= cohorts + 2 = {cohorts + 2} (a quarter before the "
            f"first wave and after the last), got {quarters!r}"
        )
    if not 0 < share < 1:
        problems.append(f"share_per_cohort must be in (0, 1), got {share!r}")
    if not (_whole(ramp_weeks) and ramp_weeks >= 0):
        problems.append(f"ramp_weeks must be a whole number >= 0, got {ramp_weeks!r}")
    if not (_whole(n_sims) and n_sims >= 2):
        problems.append(f"n_sims must be a whole number >= 2, got {n_sims!r}")
    if not 0 < alpha < 1:
        problems.append(f"alpha must be in (0, 1), got {alpha!r}")
    if data is None and n_teams is None:
        problems.append("n_teams is required without data (nothing to take the team count from)")
    if problems:
        raise ValueError("staggered_power: " + "; ".join(problems))
    return None if data is None else as_dataset(data)


def _whole(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _variance(ds: Dataset | Path) -> dict[str, float]:
    """Win rate, team ICC, team count and size, seller previous-quarter correlation and SD."""
    team = design(ds, unit="team", outcome="win_rate")
    rep = design(ds, unit="rep", outcome="win_rate")
    uo = rep.unit_outcomes
    return {
        "win_rate": float(uo["y"].mean()),
        "icc": float(team.icc) if team.icc is not None else math.nan,
        "rho_pre": rep.rho_pre,
        "sigma": rep.sigma,
        "teams": float(team.spec["n_available"]),
        "team_size": float(team.cluster_size) if team.cluster_size is not None else 9.0,
    }


_QUANTITIES = {
    "win_rate": "win rate (seller-quarters, mean)",
    "icc": "sellers-within-team ICC of the win rate",
    "rho_pre": "seller win rate: correlation with the previous quarter",
    "sigma": "seller win rate: SD within a quarter",
}


def _measure(folder: Path) -> dict[str, float]:
    v = _variance(folder)
    return {k: v[k] for k in _QUANTITIES}


def _seed(seed: int, stream: int, i: int) -> int:
    """Seed of replication ``i`` of ``stream`` (0 planted, 1 null, 2 pilot): independent of n_sims."""
    return int(np.random.SeedSequence([seed, stream, i]).generate_state(1)[0])


def _calibrate(
    root: Path, base: dict[str, Any], target: dict[str, float] | None, seed: int, on: bool
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Return simulator parameters tuned in one step (from a pilot folder) to the data's variance.

    The win log-odds are shifted by the logit difference of the win rates; the team-effect and
    ability SDs are solved from the pilot's variance decomposition (:func:`_solve_sds`).
    """
    params = dict(base)
    if not on or target is None:
        return params, None
    from salesinsight.simulate import crm

    pilot_dir = crm(root / "pilot", seed=seed, effects={_PROGRAM: {"win_rate": 0.0}}, **base)
    pilot = _measure(pilot_dir)
    _cleanup(pilot_dir)
    params["base_logodds"] = (
        _DEFAULT_BASE_LOGODDS + _logit(target["win_rate"]) - _logit(pilot["win_rate"])
    )
    params["team_sd"], params["ability_sd"] = _solve_sds(pilot, target)
    calib = pd.DataFrame(
        {
            "quantity": list(_QUANTITIES.values()),
            "data": [target[k] for k in _QUANTITIES],
            "pilot": [pilot[k] for k in _QUANTITIES],
            "replication": math.nan,
        }
    )
    return params, calib


def _solve_sds(pilot: dict[str, float], target: dict[str, float]) -> tuple[float, float]:
    """Team-effect and ability SDs (win log-odds) that move the pilot's ICC and rho to the data's.

    On the win-rate scale (delta method, ``g = (p (1 - p))^2``) the pilot's seller variance
    ``V = sigma^2`` holds a team part ``x = g team_sd^2`` and an ability part ``y = g ability_sd^2``,
    both persistent; the team part is the only one shared within teams. Holding the rest
    ``R = V - x - y`` and the other shared / persistent parts fixed, the new ``x, y`` solve
    ``ICC_t (R + x + y) = (ICC_p V - x0) + x`` and ``rho_t (R + x + y) = (rho_p V - x0 - y0) + x + y``.
    Negative solutions are floored at 0 (the data vary less than the rest of the simulator allows)
    and each SD is kept within [0, 4 x default].
    """
    p = pilot["win_rate"]
    g = (p * (1 - p)) ** 2
    v, icc_p, rho_p = pilot["sigma"] ** 2, pilot["icc"], pilot["rho_pre"]
    icc_t, rho_t = target["icc"], target["rho_pre"]
    if not all(math.isfinite(z) for z in (g, v, icc_p, rho_p, icc_t, rho_t)) or g <= 0:
        return _DEFAULT_TEAM_SD, _DEFAULT_ABILITY_SD
    icc_t, rho_t = min(max(icc_t, 0.0), 0.95), min(max(rho_t, 0.0), 0.95)
    x0, y0 = g * _DEFAULT_TEAM_SD**2, g * _DEFAULT_ABILITY_SD**2
    rest = max(v - x0 - y0, 0.0)
    both = max((rho_t * rest - (rho_p * v - x0 - y0)) / (1 - rho_t), 0.0)  # x + y
    x = min(max(icc_t * (rest + both) - (icc_p * v - x0), 0.0), both)
    team_sd = min(math.sqrt(x / g), 4 * _DEFAULT_TEAM_SD)
    ability_sd = min(math.sqrt((both - x) / g), 4 * _DEFAULT_ABILITY_SD)
    return team_sd, ability_sd


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def _replicate(
    folder: Path, params: dict[str, Any], truth: float, seed: int, alpha: float, kind: str
) -> dict[str, Any]:
    """Simulate one CRM with ``truth`` planted and evaluate the staggered program on it."""
    from salesinsight.data import DataError
    from salesinsight.evaluation import evaluate
    from salesinsight.simulate import crm

    crm(folder, seed=seed, effects={_PROGRAM: {"win_rate": truth}}, **params)
    row: dict[str, Any] = {"kind": kind, "seed": seed, "truth": truth}
    try:
        ev = evaluate(folder, _PROGRAM, outcomes=["win_rate"], alpha=alpha, seed=seed)
    except (DataError, ValueError):
        # e.g. a small organisation in which no manager nominated anyone: nothing to evaluate
        ev = None
    e = ev.effects.get("win_rate") if ev is not None else None
    row["verdict"] = ev.verdicts["win_rate"].label if ev is not None else "not estimable"
    for k in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        row[k] = float(getattr(e, k)) if e is not None else math.nan
    wanted = ("worked", "harmed") if truth == 0 else (("worked",) if truth > 0 else ("harmed",))
    row["detected"] = row["verdict"] in wanted
    row["rejects"] = bool(e is not None and (e.ci_low > 0 or e.ci_high < 0))
    row["covers"] = bool(e is not None and e.ci_low <= truth <= e.ci_high)
    return row


def _cleanup(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _share(x: pd.Series) -> tuple[float, float]:
    """Share of True and its Monte Carlo SE ``sqrt(p (1 - p) / n)``."""
    n = len(x)
    if n == 0:
        return math.nan, math.nan
    p = float(np.mean(x.astype(bool)))
    return p, math.sqrt(p * (1 - p) / n)


def _num(x: Any) -> Any:
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    try:
        f = float(x)
    except (TypeError, ValueError):
        return x
    return f if math.isfinite(f) else None
