"""Apache Spark engine: the metric layer (validation and KPI panels) where the data live.

The queries are the DuckDB SQL of the metric and validation layers, transpiled by
:mod:`salesinsight.engines.transpile`; Spark scans and aggregates, and only the result (the
panel, or a validation aggregate) is collected on the driver, as Arrow.
"""

from __future__ import annotations

import tempfile
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from salesinsight.data import contract as C
from salesinsight.data._load import RAW_SCHEMA, Source, connect, open_folder, typed_select
from salesinsight.data.problems import ERROR, DataError, Problem, QueryError, ValidationReport
from salesinsight.engines.spark_tables import (
    TableLocation,
    discover_uri,
    next_prefix,
    parse_location,
    read_location,
    read_source,
    with_row_numbers,
)
from salesinsight.engines.transpile import TranspileError, to_spark

__all__ = ["SparkEngine", "SparkDataset", "spark_session", "spark_available"]

#: settings every session gets unless the caller's session or ``conf`` says otherwise
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
}


def spark_available() -> str | None:
    """``None`` when PySpark and a Java runtime are installed, else the reason they are not."""
    import os
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        return 'PySpark is not installed (pip install "salesinsight[spark]")'
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java on PATH or JAVA_HOME) for Spark"
    return None


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """Return a SparkSession: the active one when ``master`` is None and one exists, else a new one.

    Parameters
    ----------
    master : str, optional
        Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``, ``k8s://...``); default
        ``local[*]`` when no session is active.
    conf : mapping, optional
        Extra Spark settings (e.g. ``spark.executor.memory``), applied to a new session.
    """
    reason = spark_available()
    if reason is not None:
        raise RuntimeError(f"the Spark engine is unavailable: {reason}")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    builder = SparkSession.builder.appName("salesinsight").master(master or "local[*]")
    for key, value in {**DEFAULT_CONF, **dict(conf or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_error(exc: Exception) -> QueryError:
    text = str(exc).split("\n\nJVM stacktrace:")[0]
    return QueryError("; ".join(line.strip() for line in text.splitlines()[:6] if line.strip()))


class _Result:
    """What ``SparkConnection.execute`` returns: ``fetchall()``, ``df()``, ``arrow()``."""

    def __init__(self, frame: Any) -> None:
        self._frame = frame

    def arrow(self) -> Any:
        try:
            return self._frame.toArrow()
        except Exception as exc:  # py4j / pyspark errors surface here, at execution
            raise _spark_error(exc) from None

    def fetchall(self) -> list[tuple]:
        try:
            return [tuple(row) for row in self._frame.collect()]
        except Exception as exc:
            raise _spark_error(exc) from None

    def df(self) -> pd.DataFrame:
        """Return the result as pandas, converted exactly as DuckDB converts its own results."""
        import duckdb

        table = self.arrow()
        con = duckdb.connect()
        try:
            return con.from_arrow(table).df()
        finally:
            con.close()


class SparkConnection:
    """DuckDB-connection look-alike over a SparkSession: ``execute(duckdb_sql)`` runs on Spark."""

    def __init__(self, spark: Any, names: dict[str, str]) -> None:
        self.spark = spark
        self.names = names  # DuckDB table name -> Spark view name

    def translate(self, sql: str) -> str:
        """Return the Spark SQL that :meth:`execute` runs for ``sql``."""
        return to_spark(sql, self.names)

    def execute(self, sql: str, params: Any = None) -> _Result:
        """Run DuckDB ``sql`` on Spark; ``params`` bind ``?`` (a sequence) or ``$name`` (a mapping)."""
        args = None
        if params:
            args = dict(params) if isinstance(params, Mapping) else list(params)
        try:
            frame = self.spark.sql(self.translate(sql), args=args)
        except TranspileError as exc:
            raise QueryError(str(exc)) from None
        except Exception as exc:  # analysis errors (unknown column, type mismatch)
            raise _spark_error(exc) from None
        return _Result(frame)


class SparkDataset:
    """A data folder or set of table locations opened on Spark (same interface as ``Dataset``).

    Attributes
    ----------
    folder : the location it was opened from.
    con : :class:`SparkConnection`; ``con.execute(sql)`` runs DuckDB SQL on Spark.
    tables : names of the present tables.
    report : the validation report (``None`` when opened with ``validate=False``).

    Its temporary files (UTF-8 copies of non-UTF-8 CSV files) are removed by :meth:`close` (also at
    the end of a ``with`` block) or, at the latest, when the dataset is garbage-collected.
    """

    dialect = "spark"

    def __init__(
        self,
        folder: str | Path,
        con: SparkConnection,
        tables: frozenset[str],
        sources: dict[str, Source],
        report: ValidationReport | None = None,
        tmpdir: tempfile.TemporaryDirectory[str] | None = None,
        frames: dict[str, Any] | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.folder = folder
        self.con = con
        self.tables = tables
        self.sources = sources
        self.report = report
        self._tmpdir = tmpdir
        # the temporary files (transcoded copies) go with the dataset: at close(), else when it is
        # garbage-collected; only this temporary directory, never the folder the data came from
        self._cleanup = weakref.finalize(self, tmpdir.cleanup) if tmpdir is not None else None
        self._frames = dict(frames or {})  # table -> DataFrame as read (for row-numbered views)
        self._problems = list(problems or [])  # problems found while locating the tables

    def has(self, name: str) -> bool:
        """Tell whether table ``name`` is present."""
        return name in self.tables

    def sql(self, query: str, params: Any = None) -> pd.DataFrame:
        """Run DuckDB SQL (transpiled) on Spark; only the result comes back, as pandas."""
        return self.con.execute(query, params).df()

    def arrow(self, query: str) -> Any:
        """Run DuckDB SQL (transpiled) on Spark; the result as a ``pyarrow.Table``."""
        return self.con.execute(query).arrow()

    def table(self, name: str) -> pd.DataFrame:
        """Return the whole table as a DataFrame (small tables only: it is collected on the driver)."""
        if name not in self.tables:
            raise KeyError(f"table {name!r} is not present in {self.folder}")
        return self.sql(f'SELECT * FROM "{name}"')

    def close(self) -> None:
        """Drop this dataset's views and temporary files (the session itself is left running)."""
        catalog = self.con.spark.catalog
        for view in set(self.con.names.values()):
            catalog.dropTempView(view)
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> SparkDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SparkDataset(folder={str(self.folder)!r}, tables={sorted(self.tables)})"


def _is_local_folder(location: str | Path) -> bool:
    text = str(location)
    return "://" not in text and not text.startswith("file:")


class SparkEngine:
    """The metric layer on Apache Spark.

    Parameters
    ----------
    master : str, optional
        Spark master URL; default: the active session, else ``local[*]``.
    session : pyspark.sql.SparkSession, optional
        An existing session to use (e.g. on Databricks); ``master`` and ``conf`` are then ignored.
    conf : mapping, optional
        Spark settings for a new session.
    tables : mapping, optional
        Per-table location overriding the folder: ``{"activities": "crm.activities"}`` (catalog
        table), ``{"reps": "s3a://lake/crm/reps.parquet"}``, ``{"opportunities": "delta:/lake/opps"}``.
    """

    name = "spark"

    def __init__(
        self,
        master: str | None = None,
        *,
        session: Any = None,
        conf: Mapping[str, str] | None = None,
        tables: Mapping[str, str] | None = None,
    ) -> None:
        self.master = master
        self.conf = dict(conf or {})
        self.tables = dict(tables or {})
        unknown = sorted(set(self.tables) - set(C.TABLE_NAMES))
        if unknown:
            raise ValueError(
                f"unknown table(s) in the Spark table locations: {', '.join(unknown)} "
                f"(tables: {', '.join(C.TABLE_NAMES)})"
            )
        self._session = session
        self._owned = False  # True when this engine started the session (and so may stop it)

    @property
    def spark(self) -> Any:
        """The SparkSession (created on first use)."""
        if self._session is None:
            reason = spark_available()
            if reason is not None:
                raise RuntimeError(f"the Spark engine is unavailable: {reason}")
            from pyspark.sql import SparkSession

            before = SparkSession.getActiveSession()
            self._session = spark_session(self.master, self.conf)
            self._owned = before is None
        return self._session

    # -- opening ----------------------------------------------------------------------------
    def _open(self, location: str | Path | None) -> SparkDataset:
        spark = self.spark
        prefix = next_prefix()
        names: dict[str, str] = {}
        sources: dict[str, Source] = {}
        frames: dict[str, Any] = {}
        problems: list[Problem] = []
        tmp = tempfile.TemporaryDirectory(prefix="salesinsight-spark-")
        given = {t: parse_location(w) for t, w in self.tables.items()}
        if location is not None and _is_local_folder(location):
            # the same discovery as DuckDB (headers, Parquet schemas, encodings, duplicates)
            con = connect(Path(tmp.name))
            try:
                found, problems = open_folder(con, Path(location), Path(tmp.name))
            finally:
                con.close()
            for t, src in found.items():
                if t in given:
                    continue
                if src.fmt == "delta":  # typed as Spark reads it (read_source below)
                    given[t] = TableLocation("delta", str(src.path.resolve()))
                    continue
                kind = "csv" if src.fmt == "csv" else "parquet"
                loc = TableLocation(kind, str(src.read_path.resolve()))
                sources[t] = src
                frames[t] = read_location(spark, loc, src.columns if kind == "csv" else None)
        elif location is not None:
            found_locs, problems = discover_uri(spark, str(location))
            given = {**found_locs, **given}
        for t, loc in given.items():
            try:
                sources[t], frames[t] = read_source(spark, t, loc)
            except Exception as exc:
                problems.append(Problem(ERROR, t, None, "unreadable", str(_spark_error(exc))))
        for t, frame in frames.items():
            view = f"{prefix}{t}"
            frame.createOrReplaceTempView(f"{view}__src")
            names[f"{RAW_SCHEMA}.{t}"] = f"{view}__raw"  # created on demand by _raw_views
            names[t] = view
        conn = SparkConnection(spark, names)
        for t, src in sources.items():  # typed views: the DuckDB typing, transpiled
            spec = C.table(t)
            sql = f'SELECT {typed_select(spec, src)} FROM "{names[t]}__src"'
            spark.sql(conn.translate(sql)).createOrReplaceTempView(names[t])
        folder = location or "<tables>"
        return SparkDataset(folder, conn, frozenset(sources), sources, None, tmp, frames, problems)

    def _raw_views(self, ds: SparkDataset) -> None:
        for t, frame in ds._frames.items():
            with_row_numbers(frame).createOrReplaceTempView(ds.con.names[f"{RAW_SCHEMA}.{t}"])

    def _check(self, ds: SparkDataset) -> ValidationReport:
        from salesinsight.data._validate import run_checks

        self._raw_views(ds)
        problems = list(ds._problems)
        folder = Path(str(ds.folder))
        return run_checks(ds.con, folder, ds.sources, problems)  # type: ignore[arg-type]

    def validate(self, location: str | Path | None = None) -> ValidationReport:
        """Check every contract rule on Spark; same report as :func:`salesinsight.data.validate`.

        ``location`` is a local folder, a folder URI, or ``None`` when every table location is
        given in ``tables``.
        """
        with self._open(location) as ds:
            return self._check(ds)

    def load(self, location: str | Path | None = None, validate: bool = True) -> SparkDataset:
        """Open the tables on Spark as a :class:`SparkDataset` (validated first by default).

        Raises
        ------
        DataError
            When ``validate`` and the data break the contract.
        """
        ds = self._open(location)
        try:
            if validate:
                ds.report = self._check(ds)
                if not ds.report.ok:
                    raise DataError(ds.report)
            else:
                fatal = [p for p in ds._problems if p.severity == ERROR and p.table is None]
                if fatal:
                    raise DataError(ValidationReport(Path(str(ds.folder)), tuple(fatal)))
        except BaseException:
            ds.close()
            raise
        return ds

    def close(self) -> None:
        """Stop the session if this engine started it (a session passed in is left running)."""
        if self._session is not None and self._owned:
            self._session.stop()
        self._session, self._owned = None, False

    def __repr__(self) -> str:
        return f"SparkEngine(master={self.master!r}, tables={self.tables!r})"
