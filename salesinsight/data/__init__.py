"""The data layer: the contract as code, the loader (files -> typed DuckDB views) and the validator.

>>> from salesinsight.data import load
>>> ds = load("data/demo")                       # doctest: +SKIP
>>> ds.sql("SELECT count(*) AS n FROM reps")     # doctest: +SKIP
"""

from salesinsight.data.load import Dataset, load
from salesinsight.data.problems import DataError, Problem, ValidationReport
from salesinsight.data.validate import validate

__all__ = ["load", "Dataset", "validate", "ValidationReport", "DataError", "Problem"]
