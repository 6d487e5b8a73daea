"""The import: :func:`import_folder`, :func:`check_import` and :class:`ImportResult`.

:func:`import_folder` turns CRM export files into a new canonical data folder;
:func:`check_import` is its dry run.

The transformation runs in DuckDB SQL over the files read as text, so large activity exports stream
and are never loaded into pandas. Every problem (missing files or headers, unmapped required
columns, unknown categorical values, unparseable dates and numbers) is collected and reported at
once, naming the source file, column, rows and values, **before anything is written**. Output goes
to a new folder (written to a staging folder beside it, then renamed); the input files are only read.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from salesinsight.data import contract as C
from salesinsight.data.importers.cascade import cascade
from salesinsight.data.importers.checks import _run_checks
from salesinsight.data.importers.currency import check_currencies, load_rates
from salesinsight.data.importers.plan import _open_source, _Plan
from salesinsight.data.importers.presets import load_mapping
from salesinsight.data.importers.problems import ImporterError, import_problem
from salesinsight.data.importers.spec import AVAILABILITY_FILE, ImportMapping
from salesinsight.data.importers.transform import _build
from salesinsight.data.importers.write import _write
from salesinsight.data.problems import ERROR, Problem, ValidationReport
from salesinsight.data.sources import connect

__all__ = [
    "ImportResult",
    "check_import",
    "import_folder",
]


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote.

    Attributes
    ----------
    folder : the new data folder.
    source : the folder the CRM export was read from (unchanged).
    mapping : name of the mapping or preset used.
    rows : rows written per table, in contract order.
    files : source file(s) read per table.
    problems : warnings and notes of the import (no errors: those stop it).
    report : validation report of the written folder (``None`` if validation was skipped).
    """

    folder: Path
    source: Path
    mapping: str
    rows: dict[str, int]
    files: dict[str, tuple[str, ...]]
    problems: tuple[Problem, ...] = ()
    report: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        """True when the written folder passed validation (or validation was skipped)."""
        return self.report is None or self.report.ok

    def to_frame(self) -> pd.DataFrame:
        """One row per table written: table, rows, source files."""
        return pd.DataFrame(
            [
                {"table": t, "rows": n, "files": ", ".join(self.files.get(t, ()))}
                for t, n in self.rows.items()
            ],
            columns=["table", "rows", "files"],
        )

    def summary(self) -> str:
        """Human-readable text: tables written, import notes, validation verdict."""
        lines = [f"Imported {self.source} with mapping {self.mapping!r} into {self.folder}"]
        for t, n in self.rows.items():
            lines.append(f"  {t}: {n} rows from {', '.join(self.files.get(t, ()))}")
        if self.problems:
            lines.append("Import notes:")
            lines += [f"  - {p}" for p in self.problems]
        if self.report is not None:
            lines.append("")
            lines.append(str(self.report))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _plan_all(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    mapping: ImportMapping,
    tmpdir: Path,
    problems: list[Problem],
) -> dict[str, list[_Plan]]:
    plans: dict[str, list[_Plan]] = {}
    rates = None if mapping.fx is None else load_rates(source, mapping.fx, problems, tmpdir, con)
    k = 0
    for table_name, specs in mapping.tables:
        for spec in specs:
            k += 1
            plan = _open_source(con, source, spec, tmpdir, k, problems)
            if plan is None:
                continue
            _build(plan, problems, rates)
            plans.setdefault(table_name, []).append(plan)
    if not any(p.severity == ERROR for p in problems):
        for table_plans in plans.values():
            for plan in table_plans:
                _run_checks(con, plan, problems)
        check_currencies(con, plans, mapping.fx, rates, problems)
    if not any(p.severity == ERROR for p in problems):
        cascade(con, plans, problems)
    return plans


def check_import(source: str | Path, mapping: ImportMapping) -> tuple[Problem, ...]:
    """Dry run: every problem an import of ``source`` with ``mapping`` would meet; writes nothing.

    Returns all problems (errors, warnings and notes); the import would fail if any is an error.
    """
    source = Path(source)
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="salesinsight-import-") as tmp:
        con = connect(Path(tmp))
        try:
            _plan_all(con, source, mapping, Path(tmp), problems)
        finally:
            con.close()
    return tuple(problems)


def _sidecar_files(mapping: ImportMapping) -> dict[str, str]:
    """``availability.json`` with the mapping's declared lacks (none when it declares none)."""
    if not mapping.lacks:
        return {}
    body = {"mapping": mapping.name, "lacks": dict(mapping.lacks)}
    return {AVAILABILITY_FILE: json.dumps(body, indent=2, ensure_ascii=False) + "\n"}


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
    except ValueError:
        return False
    return True


def import_folder(
    source: str | Path,
    out: str | Path,
    mapping: ImportMapping | str | Path | dict[str, Any] | None = None,
    *,
    preset: str | None = None,
    force: bool = False,
    fmt: str = "csv",
    validate: bool = True,
) -> ImportResult:
    """Import a CRM export folder into a new canonical data folder.

    Parameters
    ----------
    source : folder holding the export files (only read, never modified).
    out : the data folder to create. Must not exist unless ``force`` (then it is replaced, once the
        new folder is complete); must not be inside ``source``.
    mapping : parsed mapping, mapping dict or YAML file; merged onto ``preset`` when both are given.
    preset : bundled preset name, e.g. ``"salesforce"`` or ``"jiandaoyun"``.
    force : replace an existing ``out``.
    fmt : ``"csv"`` (UTF-8, ISO dates) or ``"parquet"``.
    validate : run :func:`salesinsight.data.validate` on the written folder.

    Returns
    -------
    ImportResult
        Rows written per table, import notes and the validation report.

    Raises
    ------
    ImporterError
        Before anything is written, listing every problem found at once.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    if not isinstance(mapping, ImportMapping):
        mapping = load_mapping(mapping, preset=preset)
    elif preset is not None:
        raise ValueError("pass either a parsed ImportMapping or a preset, not both")
    source, out = Path(source), Path(out)
    problems: list[Problem] = []
    src_abs, out_abs = source.resolve(), out.resolve()
    if not source.is_dir():
        problems.append(import_problem(ERROR, "source", f"source folder {source} does not exist"))
    elif _inside(out_abs, src_abs) or _inside(src_abs, out_abs):
        problems.append(
            import_problem(
                ERROR,
                "output",
                f"output folder {out} overlaps the source folder {source}; "
                "write the data folder somewhere else (the input is never modified)",
            )
        )
    if out.exists() and not force:
        problems.append(
            import_problem(
                ERROR,
                "output",
                f"output folder {out} already exists; choose a new folder or pass force=True "
                "(--force) to replace it",
            )
        )
    if problems:
        raise ImporterError(problems)
    with tempfile.TemporaryDirectory(prefix="salesinsight-import-") as tmp:
        con = connect(Path(tmp))
        try:
            plans = _plan_all(con, source, mapping, Path(tmp), problems)
            for req in (t for t in C.TABLES if t.required):
                if req.name in mapping.table_names and req.name not in plans:
                    if not any(p.severity == ERROR and p.table == req.name for p in problems):
                        problems.append(
                            import_problem(
                                ERROR,
                                "missing_table",
                                f"no source of {req.name} was read",
                                req.name,
                            )
                        )
            if any(p.severity == ERROR for p in problems):
                raise ImporterError(problems)
            rows = _write(con, plans, out_abs, fmt, force, _sidecar_files(mapping))
        finally:
            con.close()
    report = None
    if validate:
        from salesinsight.data._validate import validate as run_validate

        report = run_validate(out)
    files = {t: tuple(p.spec.file for p in ps) for t, ps in plans.items()}
    return ImportResult(out, source, mapping.name, rows, files, tuple(problems), report)
