"""One problem type for a data folder and a CRM export (salesinsight.data.problems.Problem)."""

from __future__ import annotations

import json

from salesinsight.data import Problem
from salesinsight.data.importers import ImporterError, ImportProblem
from salesinsight.data.importers.problems import import_problem


def test_import_problems_are_problems():
    p = import_problem("error", "date", "not a date", "opportunities", "close_date", "deals.csv")
    assert ImportProblem is Problem and isinstance(p, Problem)
    assert (p.stage, p.table, p.column, p.file) == (
        "import",
        "opportunities",
        "close_date",
        "deals.csv",
    )


def test_a_validation_problem_names_table_column_rows_and_values():
    # the wording of `salesinsight validate` (hand-written)
    p = Problem(
        "error",
        "activities",
        "rep_id",
        "foreign_key",
        "rep_id not in reps",
        (3, 9),
        7,
        ("R9", None),
    )
    assert str(p) == (
        "ERROR activities.rep_id [foreign_key]: rep_id not in reps; 7 rows (first 2 shown): "
        "rows 3, 9; values 'R9', <empty>"
    )
    assert Problem("warning", None, None, "no_activities", "no activity log").location == "<folder>"
    assert json.loads(json.dumps(p.to_dict())) == {
        "severity": "error",
        "table": "activities",
        "column": "rep_id",
        "rule": "foreign_key",
        "message": "rep_id not in reps",
        "rows": [3, 9],
        "n_rows": 7,
        "values": ["R9", None],
    }


def test_an_import_problem_names_file_header_table_column_rows_and_values():
    # the wording of `salesinsight import` (hand-written)
    p = import_problem(
        "error",
        "unknown_value",
        "not a known status",
        "opportunities",
        "status",
        "deals.csv",
        "Stage",
        4,
        (("待定", 3, (2, 4, 6)), (None, 1, (9,))),
        3,
        (2, 4, 6),
    )
    assert str(p) == (
        "ERROR deals.csv [Stage] -> opportunities.status [unknown_value]: not a known status; "
        "4 rows (row 2, 4, 6, ...)\n"
        "      '待定': 3 rows (row 2, 4, 6)\n"
        "      <empty>: 1 row (row 9)\n"
        "      ... and 1 more distinct value(s)"
    )
    assert import_problem("error", "source", "no such folder").location == "<mapping>"
    assert p.to_dict()["values"] == [
        {"value": "待定", "count": 3, "rows": [2, 4, 6]},
        {"value": None, "count": 1, "rows": [9]},
    ]
    assert p.to_dict()["file"] == "deals.csv" and p.to_dict()["source_column"] == "Stage"
    err = ImporterError([p])
    assert str(err).startswith("import failed: 1 error(s); nothing was written.")
    assert err.errors == (p,)
