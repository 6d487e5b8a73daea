"""Where the data live, on Spark: table locations (paths, URIs, catalog names) -> Spark views.

A table is found in one of three ways:

* a local data folder: the files are found and checked exactly as on DuckDB
  (:func:`salesinsight.data.sources.open_folder` reads only headers and Parquet schemas), then
  Spark reads them;
* a folder URI (``s3a://lake/crm``, ``hdfs:///crm``, ``file:///data/crm``): ``<table>.parquet``,
  ``<table>.csv`` or a directory ``<table>/`` (Parquet part files, or a Delta table when it has
  a ``_delta_log``) under it, listed through Hadoop's file system API;
* an explicit location per table: a path or URI (format by extension, ``delta:`` prefix for
  Delta) or a catalog table name (``crm.activities``, ``main.crm.activities``).

A Delta table is read with Spark's Delta Lake data source when the session has it (the delta-spark
jars, as on Databricks); otherwise its transaction log is resolved on the driver by delta-rs
(:mod:`salesinsight.data.delta`) and Spark reads the current version's Parquet files, so that files
of older versions still in the directory are never counted.

Each table becomes a raw view (the columns as read) and, for validation, a view with ``_row`` (the
1-based row number in read order, computed on the executors: a per-partition count, then offsets).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salesinsight.data import contract as C
from salesinsight.data._load import Source
from salesinsight.data.problems import ERROR, Problem

__all__ = ["TableLocation", "parse_location", "spark_type_name", "read_source", "with_row_numbers"]

_counter = itertools.count(1)


def next_prefix() -> str:
    """Return a view-name prefix unique in this process (``si1_``, ``si2_``...)."""
    return f"si{next(_counter)}_"


@dataclass(frozen=True)
class TableLocation:
    """Where one table lives: ``kind`` is ``"csv"``, ``"parquet"``, ``"delta"`` or ``"catalog"``."""

    kind: str
    where: str


def _is_uri(text: str) -> bool:
    return "://" in text or text.startswith(("file:", "/", "./", "../"))


def parse_location(text: str) -> TableLocation:
    """Read a table location: ``x.csv``, ``x.parquet``, ``delta:path``, a directory, or ``db.table``."""
    text = text.strip()
    if text.startswith("delta:"):
        return TableLocation("delta", text.removeprefix("delta:"))
    lower = text.lower().rstrip("/")
    if lower.endswith(".csv"):
        return TableLocation("csv", text)
    if lower.endswith((".parquet", ".pq")) or _is_uri(text) or Path(text).exists():
        return TableLocation("parquet", text)
    return TableLocation("catalog", text)


def spark_type_name(dtype: Any) -> str:
    """DuckDB-style type name of a Spark data type (what :func:`typed_expr` dispatches on)."""
    name = type(dtype).__name__
    return {
        "StringType": "VARCHAR",
        "VarcharType": "VARCHAR",
        "CharType": "VARCHAR",
        "DateType": "DATE",
        "TimestampType": "TIMESTAMP WITH TIME ZONE",
        "TimestampNTZType": "TIMESTAMP",
        "ByteType": "TINYINT",
        "ShortType": "SMALLINT",
        "IntegerType": "INTEGER",
        "LongType": "BIGINT",
        "FloatType": "FLOAT",
        "DoubleType": "DOUBLE",
        "DecimalType": "DECIMAL",
        "BooleanType": "BOOLEAN",
    }.get(name, name.removesuffix("Type").upper())


def _no_delta_source(exc: Exception) -> bool:
    """Tell whether ``exc`` says the session has no ``delta`` data source (no Delta Lake jars)."""
    text = str(exc)
    return "DATA_SOURCE_NOT_FOUND" in text or "Failed to find data source: delta" in text


def read_delta(spark: Any, where: str) -> Any:
    """Read the current version of the Delta table at ``where`` as a Spark DataFrame.

    With Spark's Delta Lake data source when the session has it; else the files of the current
    version, found by delta-rs on the driver, read as Parquet with the table's schema (partition
    columns from the ``col=value`` directories). Tables needing deletion vectors or column mapping
    are refused then (:class:`~salesinsight.data.delta.DeltaUnsupported`).
    """
    try:
        return spark.read.format("delta").load(where)
    except Exception as exc:
        if not _no_delta_source(exc):
            raise
    from pyspark.sql.types import StructType

    from salesinsight.data.delta import delta_snapshot

    snap = delta_snapshot(where)
    schema = StructType.fromJson(json.loads(snap.schema_json))
    if not snap.files:  # an empty table: no file to read, the schema alone
        return spark.createDataFrame([], schema)
    reader = spark.read.schema(schema)
    if snap.partition_columns:
        reader = reader.option("basePath", where)
    return reader.parquet(*snap.files)


def read_location(spark: Any, loc: TableLocation, columns: tuple[str, ...] | None = None) -> Any:
    """Spark DataFrame of one table location, columns as stored (CSV: all text)."""
    if loc.kind == "catalog":
        return spark.table(loc.where)
    if loc.kind == "delta":
        return read_delta(spark, loc.where)
    if loc.kind == "csv":
        reader = (
            spark.read.option("header", True)
            .option("quote", '"')
            .option("escape", '"')
            .option("multiLine", True)
            .option("mode", "FAILFAST")
        )
        if columns is not None:  # names exactly as the header (already checked for duplicates)
            from pyspark.sql.types import StringType, StructField, StructType

            schema = StructType([StructField(c, StringType()) for c in columns])
            reader = reader.schema(schema).option("enforceSchema", True)
        return reader.csv(loc.where)
    return spark.read.format(loc.kind).load(loc.where)


def read_source(spark: Any, table: str, loc: TableLocation) -> tuple[Source, Any]:
    """Return the :class:`Source` (columns, types) and DataFrame of a table given by location."""
    df = read_location(spark, loc)
    cols = tuple(f.name for f in df.schema.fields)
    types = tuple(spark_type_name(f.dataType) for f in df.schema.fields)
    fmt = "csv" if loc.kind == "csv" else "parquet"  # parquet: typed columns, like Delta/catalog
    return Source(table, Path(loc.where), fmt, Path(loc.where), None, cols, types), df


def _hadoop_exists(spark: Any, uri: str) -> tuple[bool, bool]:
    """(exists, is a directory) of ``uri`` through Hadoop's file system API."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return False, False
    return True, fs.getFileStatus(path).isDirectory()


def discover_uri(spark: Any, folder: str) -> tuple[dict[str, TableLocation], list[Problem]]:
    """Table locations under a folder URI: ``<t>.parquet``, ``<t>.csv`` or ``<t>/`` per table."""
    base = folder.rstrip("/")
    found: dict[str, TableLocation] = {}
    problems: list[Problem] = []
    exists, is_dir = _hadoop_exists(spark, base)
    if not (exists and is_dir):
        problems.append(
            Problem(ERROR, None, None, "folder", f"data folder {folder} does not exist")
        )
        return found, problems
    for name in C.TABLE_NAMES:
        hits = []
        for suffix, kind in ((".parquet", "parquet"), (".csv", "csv"), ("", "parquet")):
            uri = f"{base}/{name}{suffix}"
            there, is_dir = _hadoop_exists(spark, uri)
            if not there:
                continue
            if is_dir and _hadoop_exists(spark, f"{uri}/_delta_log")[0]:
                kind = "delta"
            hits.append(TableLocation(kind, uri))
        if len(hits) > 1:
            problems.append(
                Problem(
                    ERROR,
                    name,
                    None,
                    "duplicate_file",
                    f"{', '.join(h.where for h in hits)} all exist; keep exactly one per table",
                )
            )
        elif hits:
            found[name] = hits[0]
    return found, problems


def with_row_numbers(df: Any) -> Any:
    """``df`` plus ``_row``: 1-based row number in read order, computed on the executors.

    ``monotonically_increasing_id`` is the partition index times 2**33 plus the row's position in
    its partition; one small aggregate counts the rows per partition, and the offsets turn the ids
    into consecutive numbers (a single partition needs no count). File scans are split the same way
    every time in a session, so the numbering is stable; for a single file it is the file's data-row
    number.
    """
    from pyspark.sql import functions as F

    cols = [F.col(f"`{c}`") for c in df.columns]
    if df.rdd.getNumPartitions() == 1:  # one split (a small or unsplittable file): no count needed
        return df.select(*cols, (F.monotonically_increasing_id() + F.lit(1)).alias("_row"))
    tagged = df.select(
        *cols,
        F.spark_partition_id().alias("_pid"),
        F.monotonically_increasing_id().alias("_mid"),
    )
    counts = sorted(tagged.groupBy("_pid").count().collect())
    offsets, total = [], 0
    for pid, n in counts:
        offsets += [F.lit(int(pid)), F.lit(total)]
        total += int(n)
    offset = F.create_map(*offsets)[F.col("_pid")] if offsets else F.lit(0)
    within = F.col("_mid") - F.col("_pid").cast("long") * F.lit(2**33)
    return tagged.select(*cols, (within + offset + F.lit(1)).cast("long").alias("_row"))
