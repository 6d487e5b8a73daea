"""The engine protocol: who runs the metric layer's SQL (validation and KPI panels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from salesinsight.data.problems import ValidationReport

__all__ = ["Engine", "DuckDBEngine"]


@runtime_checkable
class Engine(Protocol):
    """Runs the metric layer (DuckDB SQL, one definition) somewhere.

    ``load`` returns a dataset (``has``, ``tables``, ``sql``, ``table``, ``close``, ``dialect``)
    that :func:`salesinsight.metrics.panel` and the rest of the package read through; ``validate``
    returns the same :class:`~salesinsight.data.ValidationReport` whatever the engine.
    """

    name: str

    def load(self, location: Any = None, validate: bool = True) -> Any:
        """Open the tables (validated by default)."""
        ...

    def validate(self, location: Any = None) -> ValidationReport:
        """Check every contract rule; all problems at once."""
        ...

    def close(self) -> None:
        """Release what the engine holds."""
        ...


class DuckDBEngine:
    """The embedded default: DuckDB views over a local data folder (nothing to set up)."""

    name = "duckdb"

    def load(self, location: str | Path | None = None, validate: bool = True) -> Any:
        """:func:`salesinsight.data.load` (a typed :class:`~salesinsight.data.Dataset`)."""
        from salesinsight.data import load

        if location is None:
            raise ValueError("the DuckDB engine reads a data folder; give its path")
        return load(location, validate=validate)

    def validate(self, location: str | Path | None = None) -> ValidationReport:
        """:func:`salesinsight.data.validate`."""
        from salesinsight.data import validate

        if location is None:
            raise ValueError("the DuckDB engine reads a data folder; give its path")
        return validate(location)

    def close(self) -> None:
        """Nothing to release (each dataset owns its connection)."""

    def __repr__(self) -> str:
        return "DuckDBEngine()"
