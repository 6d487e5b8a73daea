"""Stage history from dated snapshots.

When an export only has each opportunity's *current* stage (a weekly Salesforce Data Export, a
list export saved every Monday), the stage history is rebuilt by comparing the snapshots in date
order.

A row ``(opp_id, stage, entered_date)`` is written the first time an opportunity is seen and every
time its stage differs from the previous snapshot; ``entered_date`` is the date of the snapshot that
first shows the stage. The true change happened between that snapshot and the previous one, so the
dates are upper bounds, exact to the snapshot interval (a week for weekly exports), and a stage
entered and left between two snapshots is not seen at all.

Mapping (a ``stage_history`` entry)::

    stage_history:
      snapshots: "snapshots/*/Opportunity.csv"   # glob relative to the export folder
      opp_id: Id                                 # headers in the snapshot files
      stage: StageName

The snapshot date is read from the file's path: the last ``2026-07-13``, ``2026_07_13`` or
``20260713`` in it (folder or file name).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import duckdb

from salesinsight.data.encoding import guess_encoding, transcode_to_utf8
from salesinsight.data.importers.delimiter import sniff_delimiter
from salesinsight.data.importers.excel import EXCEL_SUFFIXES, ExcelError, sheet_to_csv
from salesinsight.data.importers.sql import _lit
from salesinsight.data.problems import ERROR, INFO, WARNING

__all__ = ["snapshot_date", "history_from_snapshots"]

_DATE = re.compile(r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")


def snapshot_date(path: str | Path) -> dt.date | None:
    """Return the last calendar date written in ``path`` (``2026-07-13``, ``2026_07_13``, ``20260713``)."""
    for match in reversed(list(_DATE.finditer(str(path)))):
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            continue
    return None


def _as_utf8_csv(path: Path, target: Path) -> Path:
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return sheet_to_csv(path, target, header_row=None)
    guess = guess_encoding(path)
    if guess.encoding is None:
        raise UnicodeError(f"{path.name}: unknown text encoding")
    if guess.encoding.replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
        return path
    return transcode_to_utf8(path, target, guess.encoding)


def history_from_snapshots(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    pattern: str,
    opp_id: str,
    stage: str,
    out: Path,
    problem: Callable[[str, str, str], None],
) -> Path | None:
    """Write ``stage_history`` rows (opp_id, stage, entered_date) diffed from the snapshots.

    The snapshot files match ``pattern`` under ``root``; the rows go to the CSV ``out``. Returns
    ``None`` (problems reported) on failure.
    """
    files = sorted(p for p in root.glob(pattern) if p.is_file())
    if not files:
        problem(ERROR, "missing_file", f"no snapshot file matches {pattern!r} under {root}")
        return None
    dated: dict[dt.date, Path] = {}
    for f in files:
        d = snapshot_date(f.relative_to(root))
        if d is None:
            problem(ERROR, "snapshot", f"{f.relative_to(root)}: no date (YYYY-MM-DD) in its path")
            return None
        if d in dated:
            problem(
                ERROR,
                "snapshot",
                f"two snapshots dated {d}: {dated[d].relative_to(root)}, {f.relative_to(root)}",
            )
            return None
        dated[d] = f
    if len(dated) < 2:
        problem(WARNING, "snapshot", "one snapshot only: every stage is dated by that snapshot")
    parts = []
    for i, (d, f) in enumerate(sorted(dated.items())):
        try:
            path = _as_utf8_csv(f, out.with_name(f"snap{i}.csv"))
        except (ExcelError, UnicodeError) as exc:
            problem(ERROR, "snapshot", str(exc))
            return None
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first_line = fh.readline()
        delim = sniff_delimiter(first_line)
        headers = [h.strip() for h in next(csv.reader([first_line], delimiter=delim), [])]
        missing = [h for h in (opp_id, stage) if h not in headers]
        if missing:
            problem(
                ERROR,
                "missing_header",
                f"snapshot {f.relative_to(root)} has no column {', '.join(map(repr, missing))} "
                f"(headers: {', '.join(headers)})",
            )
            return None
        i_id, i_stage = headers.index(opp_id), headers.index(stage)
        cols = ", ".join(f"'c{k}': 'VARCHAR'" for k in range(len(headers)))
        read = (
            f"read_csv({_lit(str(path))}, header=true, auto_detect=false, delim={_lit(delim)}, "
            f"quote='\"', escape='\"', columns={{{cols}}})"
        )
        parts.append(
            f"SELECT DATE '{d.isoformat()}' AS d, NULLIF(trim(c{i_id}), '') AS opp, "
            f"NULLIF(trim(c{i_stage}), '') AS stage FROM {read}"
        )
    sql = f"""
        WITH s AS ({" UNION ALL ".join(parts)}),
        o AS (SELECT d, opp, stage, lag(stage) OVER (PARTITION BY opp ORDER BY d) AS prev
              FROM s WHERE opp IS NOT NULL AND stage IS NOT NULL)
        SELECT opp AS opp_id, stage, strftime(d, '%Y-%m-%d') AS entered_date FROM o
        WHERE prev IS NULL OR prev <> stage ORDER BY opp, d
    """
    con.execute(f"COPY ({sql}) TO {_lit(str(out))} (FORMAT csv, HEADER true)")
    first, last = min(dated), max(dated)
    problem(
        INFO,
        "snapshot",
        f"stage history rebuilt from {len(dated)} snapshots ({first} to {last}); entered dates "
        "are the first snapshot showing each stage",
    )
    return out
