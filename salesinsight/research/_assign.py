"""Stratified (re-)randomized assignment of units to a new program.

Enrollment rows ready for ``enrollments.csv`` and the balance table that goes with them.

Units (teams, or sellers) active on the start date are split into strata (region, team for sellers,
or above/below the median of a pre-period KPI); within each stratum a seeded shuffle treats
``round(share * n)`` units, the odd unit going to a random arm. With ``max_draws > 1`` the draw is
repeated until every balance covariate has ``|SMD| < balance_threshold`` (re-randomization, Morgan and
Rubin 2012); analyse such a design with randomization inference that applies the same acceptance rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesinsight.calendar import next_period_start
from salesinsight.causal._balance import smd_table
from salesinsight.data import Dataset
from salesinsight.results import ResultMixin, Summary

from ._design import unit_outcomes
from ._frames import as_dataset

__all__ = ["Assignment", "assign"]

ENROLLMENT_COLUMNS: tuple[str, ...] = ("program_id", "unit_id", "arm", "start_date")


@dataclass(frozen=True, eq=False)
class Assignment(ResultMixin):
    """Result of :func:`assign`.

    Attributes
    ----------
    rows : DataFrame
        ``program_id, unit_id, arm, start_date`` (+ ``stratum``): one row per unit.
    balance : DataFrame
        Per covariate: mean treated, mean control, SMD, balanced.
    draws : int
        Draws made until the balance criterion held (1 without re-randomization).
    spec : dict
    """

    rows: pd.DataFrame
    balance: pd.DataFrame
    draws: int
    spec: dict[str, Any] = field(default_factory=dict)

    def enrollments(self) -> pd.DataFrame:
        """Return the rows in the column order of the data contract's ``enrollments`` table."""
        return self.rows[list(ENROLLMENT_COLUMNS)].copy()

    def write(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the enrollment rows as CSV; refuses to replace an existing file unless ``force``."""
        from salesinsight.export import write_csv

        path = Path(path)
        if path.exists() and not force:
            raise FileExistsError(
                f"{path} exists; append the rows to your enrollments.csv yourself or pass force=True"
            )
        tmp = path.with_name(f".{path.name}.tmp")
        write_csv(self.enrollments(), tmp)
        tmp.replace(path)
        return path

    def to_frame(self) -> pd.DataFrame:
        """Return the balance table."""
        return self.balance.copy()

    def _summary(self) -> Summary:
        """Summarise how many units went where, the strata and the balance reached."""
        s = self.spec
        n_t = int((self.rows["arm"] == "treatment").sum())
        rows = [
            (
                "strata",
                f"{', '.join(s['strata']) or 'none'} ({self.rows['stratum'].nunique()} strata)",
            ),
            ("draws", f"{self.draws} (accept when every |SMD| < {s['balance_threshold']:g})"),
        ]
        balance = self.balance[["covariate", "mean_treated", "mean_control", "smd_before"]]
        return Summary(
            title=(
                f"Assignment for {s['program_id']}: {n_t} treated and {len(self.rows) - n_t} "
                f"control {s['unit']}s from {s['start_date']} (seed {s['seed']})"
            ),
            rows=rows,
            tables=[("Balance", balance.rename(columns={"smd_before": "SMD"}))],
        )

    def plot(self, *, ax: Any = None) -> Any:
        """Standardized mean differences per covariate (love plot); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 0.5 + 0.4 * len(self.balance)))
        b = self.balance
        ax.scatter(b["smd_before"], np.arange(len(b)), color="#4c72b0")
        ax.set_yticks(np.arange(len(b)), b["covariate"])
        t = self.spec["balance_threshold"]
        for x in (-t, 0, t):
            ax.axvline(x, color="grey", ls="--" if x else "-", lw=0.8)
        ax.set_xlabel("standardized mean difference (treated - control)")
        return ax


def assign(
    data: str | Path | Dataset,
    program_id: str,
    *,
    unit: str = "team",
    start_date: str | dt.date,
    strata: tuple[str, ...] | list[str] = ("region",),
    balance_on: tuple[str, ...] | list[str] = ("win_rate", "revenue"),
    treated_share: float = 0.5,
    seed: int = 0,
    max_draws: int = 1000,
    balance_threshold: float = 0.1,
) -> Assignment:
    """Stratified, seeded (re-)randomization of the units active on ``start_date``.

    Parameters
    ----------
    data : path or Dataset
    program_id : str
        The new program's id (must not be in ``programs`` already).
    unit : {"team", "rep"}, default "team"
    start_date : str or date
        Randomization date (written as every row's ``start_date``).
    strata : sequence of str, default ("region",)
        ``"region"``, ``"team"`` (sellers only), or a KPI of ``balance_on``-style names, split at its
        median over the last full quarter before ``start_date``.
    balance_on : sequence of str, default ("win_rate", "revenue")
        Pre-period KPIs (last full quarter before ``start_date``, per seller for team counts).
    treated_share : float, default 0.5
    seed : int, default 0
    max_draws : int, default 1000
        Re-randomization draws at most; 1 means a single stratified draw.
    balance_threshold : float, default 0.1
        Accept a draw when every ``|SMD|`` is below this.

    Returns
    -------
    Assignment

    Raises
    ------
    ValueError
        Naming every bad argument at once (unknown stratum, program id already used, ...).
    """
    ds = as_dataset(data)
    start = pd.Timestamp(str(start_date))
    problems = []
    if unit not in ("team", "rep"):
        problems.append(f"unit must be 'team' or 'rep', got {unit!r}")
    if not 0 < treated_share < 1:
        problems.append(f"treated_share must be in (0, 1), got {treated_share!r}")
    if max_draws < 1:
        problems.append(f"max_draws must be >= 1, got {max_draws!r}")
    if ds.has("programs"):
        used = set(ds.table("programs")["program_id"].astype(str))
        if program_id in used:
            problems.append(f"program_id {program_id!r} is already in programs.csv")
    allowed = {"region", "team", *balance_on}
    bad = [s for s in strata if s not in allowed or (s == "team" and unit == "team")]
    if bad:
        problems.append(
            f"unknown strata {', '.join(map(repr, bad))} (use region, team for sellers, or a "
            "balance_on KPI)"
        )
    if problems:
        raise ValueError("assign: " + "; ".join(problems))
    units = _units(ds, unit, start)
    if len(units) < 4:
        raise ValueError(f"assign: only {len(units)} {unit}s active on {start.date()}; need 4")
    for kpi in balance_on:
        uo = unit_outcomes(ds, unit=unit, outcome=kpi, grain="quarter")
        pre = uo[_quarter_after(uo["period_start"]) <= start]
        if pre.empty:
            raise ValueError(f"assign: no full quarter of {kpi} before {start.date()}")
        last = pre[pre["period_start"] == pre["period_start"].max()].set_index("unit_id")["y"]
        units[kpi] = units["unit_id"].map(last)
        units[kpi] = units[kpi].fillna(units[kpi].median())
    keys = []
    for s in strata:
        if s in balance_on:
            keys.append(np.where(units[s] >= units[s].median(), f"{s}:high", f"{s}:low"))
        else:
            keys.append(units[s].astype(str).to_numpy())
    units["stratum"] = [" | ".join(k) for k in zip(*keys, strict=True)] if keys else "all"
    rng = np.random.default_rng(seed)
    X = units[list(balance_on)]
    best = None
    for draw in range(1, max_draws + 1):
        treated = _draw(units["stratum"].to_numpy(), treated_share, rng)
        bal = smd_table(X, treated, threshold=balance_threshold) if len(balance_on) else None
        worst = float(bal["smd_before"].abs().max()) if bal is not None else 0.0
        if best is None or worst < best[0]:
            best = (worst, treated, bal, draw)
        if worst < balance_threshold:
            break
    assert best is not None  # max_draws >= 1 was checked above
    _, treated, bal, _ = best
    rows = pd.DataFrame(
        {
            "program_id": program_id,
            "unit_id": units["unit_id"],
            "arm": np.where(treated, "treatment", "control"),
            "start_date": start.date().isoformat(),
            "stratum": units["stratum"],
        }
    )
    spec = {
        "program_id": program_id,
        "unit": unit,
        "start_date": start.date().isoformat(),
        "strata": list(strata),
        "balance_on": list(balance_on),
        "treated_share": treated_share,
        "seed": seed,
        "max_draws": max_draws,
        "balance_threshold": balance_threshold,
    }
    balance = bal if bal is not None else pd.DataFrame(columns=["covariate", "smd_before"])
    return Assignment(rows=rows, balance=balance, draws=draw, spec=spec)


def _quarter_after(starts: pd.Series) -> pd.Series:
    """First day of the quarter after each quarter start (``calendar.next_period_start``)."""
    return pd.to_datetime(starts.map(lambda s: next_period_start(s, "quarter")))


def _units(ds: Dataset, unit: str, start: pd.Timestamp) -> pd.DataFrame:
    reps = ds.table("reps")
    for c in ("hire_date", "termination_date"):
        if c in reps:
            reps[c] = pd.to_datetime(reps[c])
    role = reps["role"].fillna("ae") if "role" in reps else pd.Series("ae", index=reps.index)
    active = (reps["hire_date"] <= start) & (
        reps["termination_date"].isna() | (reps["termination_date"] >= start)
        if "termination_date" in reps
        else True
    )
    sellers = reps[active & (role != "manager")].copy()
    sellers["region"] = sellers["region"].fillna("") if "region" in sellers else ""
    if unit == "rep":
        out = sellers.rename(columns={"rep_id": "unit_id", "team_id": "team"})
        return out[["unit_id", "team", "region"]].sort_values("unit_id").reset_index(drop=True)
    region = sellers.groupby("team_id")["region"].agg(lambda s: s.mode().iloc[0])
    out = region.reset_index().rename(columns={"team_id": "unit_id"})
    return out.sort_values("unit_id").reset_index(drop=True)


def _draw(strata: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Treat ``share`` of each stratum (the fractional unit by a coin with that probability)."""
    treated = np.zeros(len(strata), dtype=bool)
    for s in sorted(set(strata.tolist())):
        idx = np.flatnonzero(strata == s)
        k = share * len(idx)
        n = int(np.floor(k)) + int(rng.random() < k - np.floor(k))
        treated[rng.permutation(idx)[:n]] = True
    return treated
