"""Delta Lake tables as table sources, read with delta-rs (the ``deltalake`` package, no JVM).

A Delta table is a directory of Parquet files plus a transaction log (``_delta_log/``) saying which
of those files make up the current version; files of older versions stay in the directory until
vacuumed, so reading the directory as plain Parquet would count removed rows again. Here the log is
resolved by delta-rs:

* for DuckDB, :func:`delta_dataset` gives a ``pyarrow.dataset.Dataset`` of the current version's
  files (partition columns included) that DuckDB scans in batches, with column and filter
  push-down; nothing is read whole into memory;
* for a Spark session without the Delta Lake jars, :func:`delta_snapshot` gives the current files,
  the table's schema (Delta stores it in Spark's own JSON form) and its partition columns, and
  Spark reads those Parquet files itself.

Reading the files directly is only right for tables whose protocol has no reader features that
change what the files mean: deletion vectors (rows deleted without rewriting the file), column
mapping (physical column names differ from the logical ones), type widening. Such tables are refused
with the reason (:class:`DeltaUnsupported`), never read wrongly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DeltaUnsupported",
    "DeltaSnapshot",
    "is_delta_table",
    "delta_dataset",
    "delta_snapshot",
    "delta_log_fingerprint",
]

#: reader features that do not change how the Parquet files are read
_SAFE_READER_FEATURES = frozenset({"timestampNtz", "vacuumProtocolCheck"})

INSTALL_HINT = 'pip install "salesinsight[delta]" (the deltalake package)'


class DeltaUnsupported(Exception):
    """A Delta table that cannot be read here; the message says why and what to do."""


def is_delta_table(path: Path) -> bool:
    """Tell whether ``path`` is a local directory holding a Delta transaction log."""
    return path.is_dir() and (path / "_delta_log").is_dir()


def _open(location: str) -> Any:
    try:
        from deltalake import DeltaTable
    except ImportError:
        raise DeltaUnsupported(f"reading a Delta table needs delta-rs: {INSTALL_HINT}") from None
    try:
        table = DeltaTable(location)
    except Exception as exc:  # a corrupt or unreachable log: delta-rs says which
        raise DeltaUnsupported(f"not a readable Delta table: {_first_line(exc)}") from None
    _check_protocol(table)
    return table


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _check_protocol(table: Any) -> None:
    proto = table.protocol()
    features = set(proto.reader_features or ())
    mode = (table.metadata().configuration or {}).get("delta.columnMapping.mode", "none")
    reasons = []
    if proto.min_reader_version == 2 or mode not in ("none", None):
        reasons.append(f"column mapping (mode {mode})")
    reasons += sorted(features - _SAFE_READER_FEATURES)
    if proto.min_reader_version > 3:
        reasons.append(f"reader version {proto.min_reader_version}")
    if reasons:
        raise DeltaUnsupported(
            "the Delta table uses reader feature(s) this reader cannot apply: "
            f"{', '.join(reasons)}; read it on a Spark session with Delta Lake "
            "(--engine spark with the delta-spark jars), or rewrite the table without them"
        )


def delta_dataset(location: str | Path) -> Any:
    """Open the current version of a Delta table as a ``pyarrow.dataset.Dataset`` (scanned lazily).

    Raises
    ------
    DeltaUnsupported
        When delta-rs is not installed, the log cannot be read, or the table needs a reader
        feature that plain Parquet reading would get wrong.
    """
    table = _open(str(location))
    try:
        return table.to_pyarrow_dataset()
    except Exception as exc:
        raise DeltaUnsupported(f"cannot read the Delta table: {_first_line(exc)}") from None


@dataclass(frozen=True)
class DeltaSnapshot:
    """What Spark needs to read one version of a Delta table as Parquet.

    Attributes
    ----------
    version : the table version read.
    files : URIs of the version's data files.
    schema_json : the table schema in Spark's JSON form (Delta stores it so).
    partition_columns : partition column names (values in the ``col=value`` directories).
    """

    version: int
    files: tuple[str, ...]
    schema_json: str
    partition_columns: tuple[str, ...]


def delta_snapshot(location: str | Path) -> DeltaSnapshot:
    """Describe the current version's files, schema and partition columns (:class:`DeltaSnapshot`).

    Raises
    ------
    DeltaUnsupported
        As :func:`delta_dataset`, and when a partitioned table's files are not laid out in
        ``col=value`` directories (the partition values could then not be read from the paths).
    """
    table = _open(str(location))
    parts = tuple(table.metadata().partition_columns)
    files = tuple(table.file_uris())
    for f in files:
        segments = set(f.replace("\\", "/").split("/"))
        missing = [p for p in parts if not any(s.startswith(f"{p}=") for s in segments)]
        if missing:
            raise DeltaUnsupported(
                f"data file {f} is not in a {missing[0]}=<value> directory, so its partition "
                "values cannot be read from its path; read the table on a Spark session with "
                "Delta Lake"
            )
    return DeltaSnapshot(int(table.version()), files, table.schema().to_json(), parts)


def delta_log_fingerprint(path: Path) -> str:
    """sha256 over the transaction log's files (names and contents): it fixes the table version."""
    h = hashlib.sha256()
    log = path / "_delta_log"
    for f in sorted(p for p in log.rglob("*") if p.is_file()):
        h.update(f.relative_to(log).as_posix().encode() + b"\0")
        with f.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()
