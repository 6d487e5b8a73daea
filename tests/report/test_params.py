"""Run parameters: validation before anything executes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from salesinsight.report.params import ParamsError, RunParams, load_params, params_schema_text


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    p = tmp_path / "p.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_file_gets_defaults_and_relative_data_dir_resolves_against_file(tmp_path):
    p = _write(tmp_path, "quarter: 2026Q2\ndata_dir: data\n")
    params = load_params(p)
    assert params.data_dir == (tmp_path / "data").resolve()
    assert params.alpha == 0.05
    assert params.outcomes_for("ANY") == ["win_rate", "revenue", "follow_ups", "csat", "attrition"]
    assert params.quarter_bounds() == (date(2026, 4, 1), date(2026, 6, 30))


def test_every_problem_is_reported_at_once(tmp_path):
    p = _write(
        tmp_path,
        "quarter: 2026Q5\ndata_dir: data\nalpha: 2\nbogus_key: 1\noutcomes: [win_rate, sales]\n",
    )
    with pytest.raises(ParamsError) as err:
        load_params(p)
    msg = str(err.value)
    assert "4 problem(s)" in msg
    assert "quarter" in msg and "2026Q5" in msg
    assert "alpha" in msg
    assert "bogus_key" in msg
    assert "sales" in msg


def test_dates_parsed_and_cross_checked_against_quarter(tmp_path):
    ok = load_params(
        _write(tmp_path, "quarter: 2026Q2\ndata_dir: data\nwarning_as_of: 2026-05-15\n")
    )
    assert ok.warning_as_of == date(2026, 5, 15)
    with pytest.raises(ParamsError, match="outside quarter 2026Q2"):
        load_params(
            _write(tmp_path, "quarter: 2026Q2\ndata_dir: data\nwarning_as_of: 2026-07-01\n")
        )
    with pytest.raises(ParamsError, match="warning_as_of"):
        load_params(_write(tmp_path, "quarter: 2026Q2\ndata_dir: data\nwarning_as_of: soon\n"))


def test_fiscal_label_must_agree_with_fiscal_start(tmp_path):
    with pytest.raises(ParamsError, match="fiscal label"):
        load_params(_write(tmp_path, "quarter: FY2027Q1\ndata_dir: data\n"))
    with pytest.raises(ParamsError, match="FY2027Q1"):
        load_params(
            _write(tmp_path, "quarter: 2026Q1\ndata_dir: data\nfiscal_year_start_month: 2\n")
        )
    fy = load_params(
        _write(tmp_path, "quarter: FY2027Q1\ndata_dir: data\nfiscal_year_start_month: 2\n")
    )
    # fiscal year starting in February, labelled by the year in which it ends: Feb-Apr 2026
    assert fy.quarter_bounds() == (date(2026, 2, 1), date(2026, 4, 30))


def test_min_effect_absolute_and_relative():
    params = RunParams(quarter="2026Q2", data_dir=Path("."), min_effect={"revenue": "3%"})
    assert params.min_effect_for("revenue", baseline=2000.0) == pytest.approx(
        60.0, rel=0, abs=1e-12
    )
    assert params.min_effect_for("win_rate", baseline=0.2) == 0.0  # not listed -> 0
    with pytest.raises(ValueError, match="neither a number nor"):
        RunParams(quarter="2026Q2", data_dir=Path("."), min_effect={"revenue": "three"})


def test_missing_data_dir_and_bad_yaml(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("quarter: 2026Q2\ndata_dir: nowhere\n")
    with pytest.raises(ParamsError, match="is not a folder"):
        load_params(p)
    p.write_text("quarter: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(p)
    with pytest.raises(ParamsError, match="does not exist"):
        load_params(tmp_path / "missing.yaml")


def test_shipped_params_files_are_valid():
    root = Path(__file__).resolve().parents[2] / "params"
    files = sorted(root.glob("*.yaml"))
    assert {f.name for f in files} >= {"demo.yaml", "example-2026Q3.yaml"}
    for f in files:
        if f.name == "hypotheses.yaml":  # the research registry, not run parameters
            from salesinsight.research.registry import load_registry

            load_registry(f, check_data_dir=False)
        else:
            load_params(f, check_data_dir=False)


def test_schema_text_lists_every_field_with_default():
    text = params_schema_text()
    for name in RunParams.model_fields:
        assert f"\n{name}:" in text
    assert "alpha: float  (default 0.05)" in text


def test_engine_defaults_to_duckdb_and_accepts_a_name_or_a_mapping(tmp_path):
    base = {"quarter": "2026Q2", "data_dir": str(tmp_path)}
    assert RunParams.model_validate(base).engine.name == "duckdb"
    assert RunParams.model_validate({**base, "engine": "spark"}).engine.name == "spark"
    spec = {"name": "spark", "master": "local[2]", "tables": {"activities": "crm.activities"}}
    p = RunParams.model_validate({**base, "engine": spec})
    assert p.engine.master == "local[2]" and p.engine.tables == {"activities": "crm.activities"}
    assert RunParams.model_validate(p.notebook_parameters()) == p  # round trip through papermill


def test_engine_errors_are_listed(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        f"quarter: 2026Q2\ndata_dir: {tmp_path}\nengine: {{name: duckdb, master: local}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ParamsError, match="only apply to engine 'spark'"):
        load_params(path)
    path.write_text(f"quarter: 2026Q2\ndata_dir: {tmp_path}\nengine: oracle\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="engine"):
        load_params(path)
