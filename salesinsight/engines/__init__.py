"""Engines for the metric layer: DuckDB (embedded default) and Apache Spark.

The validation rules and KPI panels are written once, in DuckDB SQL; the Spark engine runs the
same text transpiled by SQLGlot (:mod:`salesinsight.engines.transpile`) where the data live and
brings back only the small result as Arrow.

>>> from salesinsight.engines import get_engine
>>> engine = get_engine("spark", master="local[2]")              # doctest: +SKIP
>>> with engine.load("data/demo") as ds:                        # doctest: +SKIP
...     panel(ds, grain="week", by="team")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesinsight.engines.base import DuckDBEngine, Engine

__all__ = ["ENGINE_NAMES", "DuckDBEngine", "Engine", "get_engine"]

#: engine names accepted by ``--engine`` and the run params' ``engine:``
ENGINE_NAMES: tuple[str, ...] = ("duckdb", "spark")


def get_engine(
    engine: str | Engine | None = None,
    *,
    master: str | None = None,
    session: Any = None,
    conf: Mapping[str, str] | None = None,
    tables: Mapping[str, str] | None = None,
) -> Engine:
    """Return an engine by name (``None`` = DuckDB), or ``engine`` itself when it already is one.

    Parameters
    ----------
    engine : {"duckdb", "spark"} or Engine, optional
    master, session, conf, tables
        Spark only: see :class:`salesinsight.engines.spark.SparkEngine`.
    """
    if engine is None or engine == "duckdb":
        spark_only = {"master": master, "session": session, "conf": conf, "tables": tables}
        given = sorted(k for k, v in spark_only.items() if v)
        if given:
            raise ValueError(f"{', '.join(given)} only apply to the Spark engine")
        return DuckDBEngine()
    if engine == "spark":
        from salesinsight.engines.spark import SparkEngine

        return SparkEngine(master, session=session, conf=conf, tables=tables)
    if isinstance(engine, str):
        raise ValueError(f"engine must be one of {', '.join(ENGINE_NAMES)}; got {engine!r}")
    return engine
