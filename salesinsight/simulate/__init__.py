"""CRM simulator with known ground truth: ``crm(out_dir, seed=...)`` writes a contract folder.

The generative model and its parameters are documented in ``docs/simulator.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from salesinsight.folders import SIMULATE_MARKER, DestinationError, check_replaceable, write_marker
from salesinsight.kpis import ACTIVITY_TYPES

from ._config import EFFECT_SCALE, PROGRAMS, SimConfig, merge_effects
from ._engine import simulate
from ._programs import OBSERVATIONAL_SELECTIONS
from ._tables import build_tables, truth, write

__all__ = [
    "ACTIVITY_TYPES",
    "EFFECT_SCALE",
    "PROGRAMS",
    "SCENARIOS",
    "SimConfig",
    "crm",
    "default_effects",
]

#: selection scenarios of the observational program (``crm(scenario=...)``)
SCENARIOS: tuple[str, ...] = OBSERVATIONAL_SELECTIONS

#: other parameters a scenario implies: in ``growth`` new hires are on a learning curve in the win
#: rate (0.6 log-odds below par at hire, closing over the ramp), which is what makes them improve
SCENARIO_PARAMS: dict[str, dict[str, Any]] = {"growth": {"ramp_logodds_penalty": 0.6}}


def default_effects() -> dict[str, dict[str, float]]:
    """Return the default true effect of every planted program, ``{program_id: {kpi: value}}``."""
    return merge_effects(None)


def crm(
    out_dir: str | Path,
    *,
    seed: int = 0,
    n_reps: int = 360,
    start: str | dt.date = "2025-01-06",
    quarters: int = 8,
    effects: Mapping[str, Mapping[str, float]] | None = None,
    scenario: str | None = None,
    force: bool = False,
    **params: Any,
) -> Path:
    """Simulate a CRM and write a contract-valid data folder plus ``truth.json``.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write: created if missing; an existing folder must be empty or one the
        simulator wrote (it holds the marker file ``.salesinsight-simulated``), else ``force``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments give byte-identical files.
    n_reps : int
        Account-executive seats (head count at any time; leavers are replaced). Managers come on top,
        one per team of about ``team_size`` (9) seats.
    start : str or date
        First day of the data (ISO date). The first quarter runs from it to its calendar-quarter end.
    quarters : int
        Number of calendar quarters to simulate (at least 3).
    effects : mapping, optional
        Overrides of the default true effects, ``{"P_COACH": {"win_rate": 0.05}}``; KPIs are those
        of ``EFFECT_SCALE`` (win_rate and csat absolute, revenue and follow_ups relative).
    scenario : str, optional
        Selection scenario of the observational program ``P_PLACEBO`` (one of ``SCENARIOS``:
        ``recent``, ``level``, ``streak``, ``dip``, ``growth``, ``mix``); ``growth`` also gives
        new hires a learning curve in the win rate. Its effect is set with ``effects``.
    force : bool
        Write the tables into an existing folder the simulator did not write (its table files
        with the same names are overwritten).
    **params
        Any other field of ``SimConfig`` (e.g. ``team_size=8``, ``quota_factor=0.9``).

    Returns
    -------
    Path
        The data folder.

    Raises
    ------
    salesinsight.folders.DestinationError
        ``out_dir`` is a file, or a folder holding other files (without ``force``); checked
        before anything is simulated.
    ValueError
        Invalid sizes or start date.
    """
    folder = Path(out_dir)
    _check_out_dir(folder, force=force)
    if quarters < 3:
        raise ValueError(f"quarters must be at least 3, got {quarters}")
    if n_reps < 20:
        raise ValueError(f"n_reps must be at least 20 (two teams with a control arm), got {n_reps}")
    start_s = start.isoformat() if isinstance(start, dt.date) else str(start)
    try:
        dt.date.fromisoformat(start_s)
    except ValueError:
        raise ValueError(f"start: expected an ISO date like 2025-01-06, got {start_s!r}") from None
    unknown = sorted(set(params) - {f.name for f in dataclasses.fields(SimConfig)})
    if unknown:
        raise TypeError(f"crm() got unknown parameters: {', '.join(unknown)}")
    if scenario is not None:
        if scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
        params = {**SCENARIO_PARAMS.get(scenario, {}), **params}
        params["observational_selection"] = scenario
    eff = merge_effects(effects)
    cfg = SimConfig(n_reps=n_reps, start=start_s, quarters=quarters, effects=eff, **params)
    raw = simulate(cfg, eff, seed)
    tables = build_tables(raw)
    write(folder, tables, truth(raw, cfg, seed, tables))
    write_marker(folder, SIMULATE_MARKER)
    return folder


def _check_out_dir(folder: Path, *, force: bool) -> None:
    if force:
        if folder.exists() and not folder.is_dir():
            raise DestinationError(f"{folder} is a file, not a folder; choose another --out")
        return
    try:
        check_replaceable(
            folder, marker=SIMULATE_MARKER, recognise=_simulated_before_markers, what="data folder"
        )
    except DestinationError as exc:
        raise DestinationError(
            f"{exc}. salesinsight simulate writes only into a new or empty folder or one it "
            "wrote; pass --force (force=True) to write its tables into this one anyway"
        ) from None


def _simulated_before_markers(folder: Path) -> bool:
    """Tell a folder the simulator wrote before it marked them: truth.json and contract tables only."""
    from salesinsight.data.contract import TABLE_NAMES

    allowed = {f"{t}.csv" for t in TABLE_NAMES} | {"truth.json"}
    names = {p.name for p in folder.iterdir()}
    return "truth.json" in names and names <= allowed
