"""The stored notebooks: clean, thin, with a parameters cell that matches RunParams."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest
import yaml

from salesinsight.report.params import RunParams

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


#: notebooks whose parameters are not RunParams (their own test checks the parameters cell).
OTHER_PARAMS = {"incentive_research"}


def test_both_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == {
        "quarterly_evaluation",
        "program_deep_dive",
        "incentive_research",
    }


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.stem not in OTHER_PARAMS], ids=lambda p: p.stem
)
def test_parameters_cell_names_match_the_pydantic_model(path):
    nb = jupytext.read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    tree = ast.parse(tagged[0].source)
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    assert sorted(names) == sorted(RunParams.model_fields)
    # and the values written in the cell form a valid parameter set
    values = {}
    for node in tree.body:
        values[node.targets[0].id] = ast.literal_eval(node.value)
    RunParams.model_validate(values)


@pytest.mark.parametrize(
    "path", [p for p in NOTEBOOKS if p.stem not in OTHER_PARAMS], ids=lambda p: p.stem
)
def test_parameters_cell_values_are_the_run_params_defaults(path):
    """Value for value: every optional field holds RunParams' default (papermill overrides them
    all in a run; opened in JupyterLab the notebook runs with the defaults), and the two
    required ones point at the demo of params/demo.yaml."""
    nb = jupytext.read(path)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    values = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell.source).body}
    written = RunParams.model_validate(values)
    for name, field in RunParams.model_fields.items():
        if field.is_required():
            continue
        default = field.default_factory() if field.default_factory else field.default
        assert getattr(written, name) == default, name
    demo = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    assert values["quarter"] == demo["quarter"]
    # data_dir is relative to the notebook's folder, as demo.yaml's is to params/
    assert (path.parent / values["data_dir"]).resolve() == (
        ROOT / "params" / demo["data_dir"]
    ).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin_and_clean(path):
    nb = jupytext.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in code)
    # thin: no function or class definitions, and short cells: the logic lives in the package
    for cell in code:
        tree = ast.parse(cell.source)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.walk(tree))
        # the parameters cell lists every RunParams field (checked above); logic cells stay short
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            assert len(cell.source.splitlines()) <= 25
