"""Checks of the run parameters against the data, before any work: nothing runs when one fails.

The params file on its own can be valid and still name a program the data do not have, or a
quarter with no data at all; a run would then take minutes and report nothing (or verdicts over
all-zero KPIs). :func:`check_params_against_data` finds every such problem at once.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from salesinsight.report.params import ParamsError, RunParams, did_you_mean

__all__ = ["check_params_against_data"]


def check_params_against_data(params: RunParams, source: str | Path | None = None) -> None:
    """Raise :class:`ParamsError` listing every mismatch between ``params`` and its data folder.

    Parameters
    ----------
    params : RunParams
        Validated parameters whose ``data_dir`` holds a valid data folder.
    source : str or Path, optional
        The params file, named in the message.

    Raises
    ------
    ParamsError
        Program ids (``programs``, keys of a per-program ``outcomes`` mapping) that are not in the
        programs table, with "did you mean" for near misses; a quarter without any opportunity
        created or closed and any activity in it.
    """
    from salesinsight.data import load

    with load(params.data_dir, validate=False) as ds:
        problems = _program_problems(params, ds) + _quarter_problems(params, ds)
    if problems:
        head = f"{source or 'run parameters'}: {len(problems)} problem(s) with data_dir "
        head += f"{params.data_dir}:"
        raise ParamsError("\n".join([head, *(f"  - {p}" for p in problems)]))


def _program_ids(ds: Any) -> list[str]:
    if not ds.has("programs"):
        return []
    return sorted(ds.sql("SELECT DISTINCT program_id FROM programs")["program_id"].astype(str))


def _program_problems(params: RunParams, ds: Any) -> list[str]:
    named: list[tuple[str, str]] = [("programs", p) for p in params.programs or []]
    if isinstance(params.outcomes, dict):
        named += [("outcomes", p) for p in params.outcomes]
    if not named:
        return []
    known = _program_ids(ds)
    problems = []
    for key, pid in named:
        if pid in known:
            continue
        if not known:
            problems.append(f"{key}: {pid!r} is not a program: the data folder has no programs")
            continue
        listed = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        problems.append(
            f"{key}: {pid!r} is not a program_id in programs{did_you_mean([pid], known)}; "
            f"program_ids: {listed}"
        )
    return problems


def _quarter_problems(params: RunParams, ds: Any) -> list[str]:
    first, last = params.quarter_bounds()
    n = ds.con.execute(
        "SELECT count(*) FROM opportunities "
        "WHERE created_date BETWEEN $1 AND $2 OR close_date BETWEEN $1 AND $2",
        [first, last],
    ).fetchone()[0]
    if ds.has("activities"):
        n += ds.con.execute(
            "SELECT count(*) FROM activities WHERE activity_date BETWEEN $1 AND $2", [first, last]
        ).fetchone()[0]
    if n > 0:
        return []
    lo, hi = _data_range(ds)
    span = f"the data run from {lo} to {hi}" if lo is not None else "the data have no dated events"
    return [
        f"quarter: {params.quarter} ({first} to {last}) has no data (no opportunity created or "
        f"closed and no activity in it); {span}"
    ]


def _data_range(ds: Any) -> tuple[date | None, date | None]:
    q = (
        "SELECT least(min(created_date), min(close_date)), "
        "greatest(max(created_date), max(close_date)) FROM opportunities"
    )
    lo, hi = ds.con.execute(q).fetchone()
    if ds.has("activities"):
        a_lo, a_hi = ds.con.execute(
            "SELECT min(activity_date), max(activity_date) FROM activities"
        ).fetchone()
        lo = min((d for d in (lo, a_lo) if d is not None), default=None)
        hi = max((d for d in (hi, a_hi) if d is not None), default=None)
    return lo, hi
