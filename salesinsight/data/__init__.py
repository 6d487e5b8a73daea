"""The data layer: the contract as code, the loader (files -> typed DuckDB views) and the validator.

>>> from salesinsight.data import load
>>> ds = load("data/demo")                       # doctest: +SKIP
>>> ds.sql("SELECT count(*) AS n FROM reps")     # doctest: +SKIP
"""

from salesinsight.data._load import Dataset, load
from salesinsight.data._validate import validate
from salesinsight.data.problems import DataError, Problem, ValidationReport

__all__ = ["load", "Dataset", "validate", "ValidationReport", "DataError", "Problem"]
