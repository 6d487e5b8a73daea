"""The stored notebooks: clean, thin, with a parameters cell that matches RunParams."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest

from salesinsight.report.params import RunParams

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.py"))


def test_both_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == {"quarterly_evaluation", "program_deep_dive"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_names_match_the_pydantic_model(path):
    nb = jupytext.read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    tree = ast.parse(tagged[0].source)
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    assert sorted(names) == sorted(RunParams.model_fields)
    # and the defaults written in the cell form a valid parameter set apart from the quarter/data
    values = {}
    for node in tree.body:
        values[node.targets[0].id] = ast.literal_eval(node.value)
    RunParams.model_validate(values)


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
