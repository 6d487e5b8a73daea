"""Open a data folder as a :class:`Dataset`: one typed DuckDB VIEW per table, nothing loaded into pandas.

The files are found and typed by :mod:`salesinsight.data.sources` and checked by
:mod:`salesinsight.data.validate` before the dataset is handed out.
"""

from __future__ import annotations

import tempfile
import weakref
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from salesinsight.data._validate import run_checks
from salesinsight.data.problems import ERROR, DataError, ValidationReport
from salesinsight.data.sources import (  # re-exported: the engines and importers use them from here
    RAW_SCHEMA,
    Source,
    connect,
    open_folder,
    quote_ident,
    typed_expr,
    typed_select,
)

__all__ = [
    "RAW_SCHEMA",
    "Dataset",
    "Source",
    "connect",
    "load",
    "open_folder",
    "quote_ident",
    "typed_expr",
    "typed_select",
]


class Dataset:
    """A data folder opened through DuckDB, one typed view per present table.

    Attributes
    ----------
    folder : the data folder.
    con : DuckDB connection with one view per present table (``reps``, ``opportunities``, ...).
    tables : names of the present tables.
    report : the validation report (``None`` when loaded with ``validate=False``).
    non_selling_roles : ``reps.role`` values (any case) that are not sellers; the KPI panels'
        default for ``sellers_active`` (data contract).

    :meth:`close` (or ``with load(folder) as ds:``) closes the connection and removes the
    temporary files (transcoded copies, spill); a dataset that is not closed has its temporary
    files removed when it is garbage-collected.
    """

    non_selling_roles: tuple[str, ...] = ("manager",)

    def __init__(
        self,
        folder: Path,
        con: duckdb.DuckDBPyConnection,
        tables: frozenset[str],
        report: ValidationReport | None = None,
        tmpdir: tempfile.TemporaryDirectory[str] | None = None,
        sources: dict[str, Source] | None = None,
    ) -> None:
        self.folder = folder
        self.con = con
        self.tables = tables
        self.report = report
        self.sources = dict(sources or {})
        self._tmpdir = tmpdir  # keeps transcoded copies alive as long as the dataset
        # the temporary files go with the dataset: at close(), else when it is garbage-collected
        # (a dataset opened from a path inside evaluate() or panel() is never closed explicitly)
        self._cleanup = weakref.finalize(self, tmpdir.cleanup) if tmpdir is not None else None

    #: SQL dialect of :meth:`sql` (every engine's dataset takes DuckDB SQL; this says who runs it)
    dialect = "duckdb"

    def has(self, name: str) -> bool:
        """Return True when table ``name`` is present in the folder."""
        return name in self.tables

    def table(self, name: str) -> pd.DataFrame:
        """Return the whole table as a DataFrame (fine for small tables; never for activities)."""
        if name not in self.tables:
            raise KeyError(f"table {name!r} is not present in {self.folder}")
        return self.con.execute(f"SELECT * FROM {quote_ident(name)}").df()

    def sql(self, query: str, params: Any = None) -> pd.DataFrame:
        """Run SQL against the table views; returns a DataFrame."""
        return self.con.execute(query, params).df()

    def close(self) -> None:
        """Close the connection and remove temporary files."""
        self.con.close()
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Dataset(folder={str(self.folder)!r}, tables={sorted(self.tables)})"


def load(
    folder: str | Path,
    validate: bool = True,
    *,
    non_selling_roles: tuple[str, ...] | list[str] = ("manager",),
) -> Dataset:
    """Open a data folder as a typed :class:`Dataset`.

    Parameters
    ----------
    folder : folder with one ``<table>.csv``, ``<table>.parquet`` or Delta table ``<table>/`` per
        table.
    validate : check every contract rule first and raise :class:`DataError` on errors.
    non_selling_roles : ``reps.role`` values (any case) that are not sellers (default manager);
        they count in totals but not in ``sellers_active`` (per-rep denominators, attrition).

    Raises
    ------
    DataError
        When the folder breaks the contract (the message is the full report; ``.report`` has it).
    """
    folder = Path(folder)
    tmp = tempfile.TemporaryDirectory(prefix="salesinsight-")
    con = connect(Path(tmp.name))
    try:
        sources, problems = open_folder(con, folder, Path(tmp.name))
        report: ValidationReport | None
        if validate:
            report = run_checks(con, folder, sources, problems)
        else:
            fatal = [p for p in problems if p.severity == ERROR and p.table is None]
            report = ValidationReport(folder, tuple(fatal), tuple(sources)) if fatal else None
            if report is not None:
                raise DataError(report)
        if report is not None and not report.ok:
            raise DataError(report)
    except BaseException:
        con.close()
        tmp.cleanup()
        raise
    ds = Dataset(folder, con, frozenset(sources), report, tmp, sources)
    ds.non_selling_roles = tuple(non_selling_roles)
    return ds
