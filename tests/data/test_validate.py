"""One deliberately broken folder per contract rule; the report must name table, column, rows, value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesinsight.cli import main
from salesinsight.data import ValidationReport, validate
from salesinsight.data import contract as C
from tests.data.conftest import drop_column, folder_hashes, set_cell, valid_tables

# (id, edits [(table, row, column, value)]; row -1 appends a copy of row 1, table, column, rule, rows, value shown in the message)
ROW_CASES = [
    ("required", [("reps", 2, "team_id", "")], "reps", "team_id", "required", [2], None),
    (
        "date",
        [("reps", 3, "hire_date", "2023-13-01")],
        "reps",
        "hire_date",
        "date",
        [3],
        "2023-13-01",
    ),
    (
        "date_format",
        [("activities", 4, "activity_date", "14/01/2025")],
        "activities",
        "activity_date",
        "date",
        [4],
        "14/01/2025",
    ),
    (
        "number",
        [("opportunities", 1, "amount", "1,000")],
        "opportunities",
        "amount",
        "number",
        [1],
        "1,000",
    ),
    ("number_nan", [("csat", 2, "score", "nan")], "csat", "score", "number", [2], "nan"),
    (
        "status",
        [("opportunities", 2, "status", "Lost")],
        "opportunities",
        "status",
        "allowed_values",
        [2],
        "Lost",
    ),
    (
        "activity_type",
        [("activities", 1, "type", "Call"), ("activities", 5, "type", "webinar")],
        "activities",
        "type",
        "allowed_values",
        [1, 5],
        "webinar",
    ),
    (
        "kind",
        [("programs", 1, "kind", "workshop")],
        "programs",
        "kind",
        "allowed_values",
        [1],
        "workshop",
    ),
    (
        "design",
        [("programs", 3, "design", "matched")],
        "programs",
        "design",
        "allowed_values",
        [3],
        "matched",
    ),
    (
        "unit",
        [("programs", 1, "unit", "region")],
        "programs",
        "unit",
        "allowed_values",
        [1],
        "region",
    ),
    (
        "arm",
        [("enrollments", 1, "arm", "treated")],
        "enrollments",
        "arm",
        "allowed_values",
        [1],
        "treated",
    ),
    ("unique_rep", [("reps", -1, "name", "Ann again")], "reps", "rep_id", "unique", [1, 5], "R001"),
    (
        "unique_opp",
        [("opportunities", 4, "opp_id", "O2")],
        "opportunities",
        "opp_id",
        "unique",
        [2, 4],
        "O2",
    ),
    (
        "unique_activity",
        [("activities", 7, "activity_id", "AC1")],
        "activities",
        "activity_id",
        "unique",
        [1, 7],
        "AC1",
    ),
    (
        "unique_program",
        [("programs", -1, "name", "Copy")],
        "programs",
        "program_id",
        "unique",
        [1, 4],
        "P_TRAIN",
    ),
    (
        "unique_csat",
        [("csat", 3, "response_id", "C1")],
        "csat",
        "response_id",
        "unique",
        [1, 3],
        "C1",
    ),
    (
        "fk_opp_rep",
        [("opportunities", 3, "rep_id", "7")],
        "opportunities",
        "rep_id",
        "foreign_key",
        [3],
        "7",
    ),
    (
        "fk_activity_rep",
        [("activities", 2, "rep_id", "R999")],
        "activities",
        "rep_id",
        "foreign_key",
        [2],
        "R999",
    ),
    (
        "fk_activity_opp",
        [("activities", 6, "opp_id", "O9")],
        "activities",
        "opp_id",
        "foreign_key",
        [6],
        "O9",
    ),
    (
        "fk_stage_opp",
        [("stage_history", 2, "opp_id", "O77")],
        "stage_history",
        "opp_id",
        "foreign_key",
        [2],
        "O77",
    ),
    ("fk_quota_rep", [("quotas", 3, "rep_id", "07")], "quotas", "rep_id", "foreign_key", [3], "07"),
    ("fk_csat_rep", [("csat", 1, "rep_id", "X1")], "csat", "rep_id", "foreign_key", [1], "X1"),
    (
        "fk_review_rep",
        [("reviews", 2, "rep_id", "R9")],
        "reviews",
        "rep_id",
        "foreign_key",
        [2],
        "R9",
    ),
    (
        "fk_program",
        [("enrollments", 3, "program_id", "P_NOPE")],
        "enrollments",
        "program_id",
        "foreign_key",
        [3],
        "P_NOPE",
    ),
    (
        "fk_mentor",
        [("enrollments", 5, "mentor_id", "R404")],
        "enrollments",
        "mentor_id",
        "foreign_key",
        [5],
        "R404",
    ),
    (
        "fk_unit_rep",
        [("enrollments", 2, "unit_id", "T1")],
        "enrollments",
        "unit_id",
        "foreign_key",
        [2],
        "T1",
    ),
    (
        "fk_unit_team",
        [("enrollments", 3, "unit_id", "R001")],
        "enrollments",
        "unit_id",
        "foreign_key",
        [3],
        "R001",
    ),
    (
        "close_before_created",
        [("opportunities", 2, "close_date", "2025-01-11")],
        "opportunities",
        "close_date",
        "close_before_created",
        [2],
        "2025-01-11",
    ),
    (
        "close_required",
        [("opportunities", 1, "close_date", "")],
        "opportunities",
        "close_date",
        "close_date_required",
        [1],
        "won",
    ),
    (
        "won_amount",
        [("opportunities", 4, "amount", "")],
        "opportunities",
        "amount",
        "won_amount_required",
        [4],
        "won",
    ),
    (
        "negative_amount",
        [("opportunities", 3, "amount", "-5")],
        "opportunities",
        "amount",
        "non_negative",
        [3],
        "-5",
    ),
    (
        "discount",
        [("opportunities", 1, "discount", "15")],
        "opportunities",
        "discount",
        "discount_range",
        [1],
        "15",
    ),
    (
        "quota_positive",
        [("quotas", 2, "quota_amount", "0")],
        "quotas",
        "quota_amount",
        "positive",
        [2],
        "0",
    ),
    ("score_above_scale", [("csat", 1, "score", "6")], "csat", "score", "score_range", [1], "6"),
    ("score_default_scale", [("csat", 3, "score", "7")], "csat", "score", "score_range", [3], "7"),
    ("score_negative", [("csat", 2, "score", "-1")], "csat", "score", "score_range", [2], "-1"),
    (
        "scale_positive",
        [("csat", 2, "scale", "0"), ("csat", 2, "score", "0")],
        "csat",
        "scale",
        "positive",
        [2],
        "0",
    ),
    (
        "termination_before_hire",
        [("reps", 2, "termination_date", "2024-02-01")],
        "reps",
        "termination_date",
        "termination_before_hire",
        [2],
        "2024-02-01",
    ),
    (
        "period_end_before_start",
        [("quotas", 1, "period_end", "2024-12-31")],
        "quotas",
        "period_end",
        "period_end_before_start",
        [1],
        "2024-12-31",
    ),
    (
        "quarter_label",
        [("reviews", 1, "period", "2025-Q1")],
        "reviews",
        "period",
        "quarter_label",
        [1],
        "2025-Q1",
    ),
    (
        "control_not_randomized",
        [("enrollments", 2, "arm", "control")],
        "enrollments",
        "arm",
        "control_not_randomized",
        [2],
        "P_TRAIN",
    ),
    (
        "randomized_without_control",
        [("enrollments", 4, "arm", "treatment")],
        "programs",
        "design",
        "randomized_without_control",
        [2],
        "P_COACH",
    ),
]


@pytest.mark.parametrize("case", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_row_rule_is_reported_with_table_column_rows_and_value(case, tables, make_folder):
    _, edits, table, column, rule, rows, value = case
    for t, row, col, val in edits:
        if row == -1:  # append a copy of data row 1, then edit it
            tables[t].append(list(tables[t][1]))
            row = len(tables[t]) - 1
        set_cell(tables, t, row, col, val)
    report = validate(make_folder(tables))
    assert not report.ok
    hits = [p for p in report.errors if p.rule == rule and p.table == table and p.column == column]
    assert len(hits) == 1, str(report)
    problem = hits[0]
    assert list(problem.rows) == rows
    assert problem.n_rows == len(rows)
    text = str(report)
    assert f"{table}.{column}" in text
    row_text = ", ".join(str(r) for r in rows)
    assert f"row{'s' if len(rows) > 1 else ''} {row_text}" in str(problem)
    if value is None:
        assert "<empty>" in str(problem)
    else:
        assert value in str(problem)
    # nothing else is wrong with the folder: the only errors are the ones planted
    assert all(p.rule == rule for p in report.errors), str(report)


def test_valid_folder_has_no_problems(make_folder):
    report = validate(make_folder())
    assert report.ok, str(report)
    assert report.problems == (), str(report)
    assert "OK (0 error(s), 0 warning(s))" in str(report)


def test_missing_required_table_is_an_error(make_folder):
    t = valid_tables()
    del t["opportunities"]
    report = validate(make_folder(t))
    (p,) = [p for p in report.errors if p.rule == "missing_table"]
    assert p.table == "opportunities"
    assert "opportunities.csv" in str(report)


def test_missing_optional_table_is_only_a_warning(make_folder):
    t = valid_tables()
    del t["stage_history"], t["reviews"]
    report = validate(make_folder(t))
    assert report.ok
    assert {(p.table, p.rule) for p in report.warnings} == {
        ("stage_history", "missing_table"),
        ("reviews", "missing_table"),
    }


def test_missing_required_column_is_an_error(tables, make_folder):
    drop_column(tables, "activities", "type")
    report = validate(make_folder(tables))
    (p,) = report.errors
    assert (p.table, p.column, p.rule) == ("activities", "type", "missing_column")
    assert "required column type is missing from activities.csv" in str(p)


def test_missing_optional_and_extra_columns_are_warnings(tables, make_folder):
    drop_column(tables, "reps", "region")
    drop_column(
        tables, "csat", "scale"
    )  # then every scale is 5: C2's score 9 would be out of range
    set_cell(tables, "csat", 2, "score", "4")
    tables["opportunities"][0].append("crm_owner")
    for row in tables["opportunities"][1:]:
        row.append("x")
    report = validate(make_folder(tables))
    assert report.ok, str(report)
    rules = {(p.table, p.rule) for p in report.warnings}
    assert rules == {
        ("reps", "missing_optional_column"),
        ("csat", "missing_optional_column"),
        ("opportunities", "extra_column"),
    }
    assert "region" in str(report) and "crm_owner" in str(report)


def _with_budget(tables, values: list[str]):
    tables["programs"][0].append("budget")
    for row, value in zip(tables["programs"][1:], values, strict=True):
        row.append(value)
    return tables


def test_programs_budget_is_a_known_extension_not_an_extra_column(tables, make_folder):
    """``programs.budget`` (a salesinsight extension, not in the shared contract) is neither an
    extra column when present nor a missing optional column when absent."""
    assert "budget" not in C.table("programs").column_names  # the shared contract is untouched
    plain = validate(make_folder(valid_tables(), name="plain"))
    assert plain.ok and not [p for p in plain.warnings if p.table == "programs"], str(plain)
    report = validate(make_folder(_with_budget(tables, ["80000", "", "1250.5"])))
    assert report.ok, str(report)
    assert not [p for p in report.problems if p.table == "programs"], str(report)


def test_bad_budgets_are_reported_all_at_once_with_row_and_value(tables, make_folder):
    report = validate(make_folder(_with_budget(tables, ["80,000", "-5", "n/a"])))
    found = {(p.rule, tuple(p.rows)) for p in report.errors if p.column == "budget"}
    assert found == {("number", (1, 3)), ("non_negative", (2,))}, str(report)
    text = str(report)
    assert "programs.budget" in text and "80,000" in text and "-5" in text and "n/a" in text
    assert {p.table for p in report.errors} == {"programs"}


def test_programs_without_enrollments_is_an_error(make_folder):
    t = valid_tables()
    del t["enrollments"]
    report = validate(make_folder(t))
    (p,) = report.errors
    assert (p.table, p.rule) == ("enrollments", "required_with_programs")


def test_malformed_csv_lines_are_all_reported(make_folder):
    folder = make_folder()
    path = folder / "activities.csv"
    lines = path.read_text().splitlines()
    lines[2] += ",surplus"  # data row 2
    lines[5] = "AC5,007"  # data row 5
    path.write_text("\n".join(lines) + "\n")
    report = validate(folder)
    (p,) = report.errors
    assert (p.table, p.rule) == ("activities", "malformed_csv")
    assert p.rows == (2, 5) and p.n_rows == 2
    assert "surplus" in str(p)


def test_unknown_files_are_warned_about(make_folder):
    folder = make_folder()
    (folder / "leads.csv").write_text("a,b\n1,2\n")
    (folder / "truth.json").write_text("{}")
    report = validate(folder)
    assert report.ok
    (p,) = report.warnings
    assert p.rule == "unknown_file" and "leads.csv" in p.message


def test_missing_folder(tmp_path):
    report = validate(tmp_path / "nope")
    assert not report.ok
    assert report.errors[0].rule == "folder"


def test_several_problems_reported_at_once(tables, make_folder):
    set_cell(tables, "reps", 1, "hire_date", "yesterday")
    set_cell(tables, "opportunities", 2, "status", "closed")
    set_cell(tables, "activities", 3, "rep_id", "R404")
    set_cell(tables, "csat", 1, "score", "11")
    drop_column(tables, "quotas", "quota_amount")
    report = validate(make_folder(tables))
    got = {(p.table, p.column, p.rule) for p in report.errors}
    assert got == {
        ("reps", "hire_date", "date"),
        ("opportunities", "status", "allowed_values"),
        ("activities", "rep_id", "foreign_key"),
        ("csat", "score", "score_range"),
        ("quotas", "quota_amount", "missing_column"),
    }
    frame = report.to_frame()
    assert len(frame) == len(report.problems)
    assert set(frame.columns) >= {"severity", "table", "column", "rule", "rows", "n_rows", "values"}


def test_first_five_rows_and_total_count(tables, make_folder):
    header = tables["activities"][0]
    for i in range(8, 20):  # 12 extra activities, all with an unknown type
        tables["activities"].append([f"AC{i}", "R001", "2025-01-20", "sms", "", ""])
        assert len(header) == 6
    report = validate(make_folder(tables))
    (p,) = report.errors
    assert p.rows == (8, 9, 10, 11, 12)
    assert p.n_rows == 12
    assert "12 rows (first 5 shown)" in str(p)


def test_cli_exit_codes_and_json(make_folder, tables, capsys):
    good = make_folder(name="good")
    t = valid_tables()
    del t["reviews"]
    warn_only = make_folder(t, name="warn")
    set_cell(tables, "opportunities", 2, "rep_id", "R404")
    bad = make_folder(tables, name="bad")
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(warn_only)]) == 0
    capsys.readouterr()
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "opportunities.rep_id" in out and "row 2" in out and "'R404'" in out
    assert main(["validate", str(bad), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    (p,) = [p for p in data["problems"] if p["severity"] == "error"]
    assert (p["table"], p["column"], p["rows"], p["values"]) == (
        "opportunities",
        "rep_id",
        [2],
        ["R404"],
    )


def test_validation_never_modifies_the_input_folder(tables, make_folder, tmp_path):
    set_cell(tables, "reps", 1, "name", "张伟")
    set_cell(tables, "opportunities", 1, "amount", "-1")
    folder = make_folder(tables, encoding="gbk")
    (folder / "activities.csv").unlink()
    pq = tmp_path / "a.parquet"
    import duckdb

    duckdb.connect().sql(f"COPY (SELECT 'AC1' AS activity_id, 'R001' AS rep_id) TO '{pq}'")
    (folder / "activities.parquet").write_bytes(pq.read_bytes())
    before = folder_hashes(folder)
    report = validate(folder)
    assert isinstance(report, ValidationReport) and not report.ok
    assert main(["validate", str(folder)]) == 1
    assert main(["validate", str(folder), "--json"]) == 1
    assert folder_hashes(folder) == before
    assert sorted(p.name for p in Path(folder).iterdir()) == sorted(before)
