"""The package root is lazy: importing a light module loads no modelling library.

Each check runs in a fresh interpreter (``sys.modules`` of the test process already holds
everything the other tests imported).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.data.conftest import valid_tables, write_folder

ROOT = Path(__file__).resolve().parents[1]

#: Libraries that only the estimators, the models and the plots need.
HEAVY = ("sklearn", "statsmodels", "scipy", "matplotlib", "pyfixest", "seaborn", "duckdb")


def _loaded_after(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; return the top-level modules loaded and ``result``."""
    script = (
        "import json, sys\n"
        "result = None\n"
        f"{code}\n"
        "mods = sorted({m.split('.')[0] for m in sys.modules} | "
        "{m for m in sys.modules if m.startswith('salesinsight')})\n"
        "print(json.dumps({'modules': mods, 'result': result}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "", "MPLBACKEND": "Agg"},
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["salesinsight", "salesinsight.calendar"])
def test_light_imports_load_no_modelling_library(module):
    got = _loaded_after(f"import {module}")
    mods = set(got["modules"])
    assert not mods & set(HEAVY), sorted(mods & set(HEAVY))
    # and no sub-package beyond the one asked for
    assert {m for m in mods if m.startswith("salesinsight")} <= {"salesinsight", module}


def test_the_data_layer_loads_no_estimator_library():
    mods = set(_loaded_after("import salesinsight.data")["modules"])
    assert "duckdb" in mods  # the data layer is DuckDB
    assert not mods & {"sklearn", "statsmodels", "scipy", "matplotlib", "pyfixest", "seaborn"}
    assert not any(m.startswith(("salesinsight.metrics", "salesinsight.causal")) for m in mods)


def test_sub_packages_are_attributes_of_the_root(tmp_path):
    folder = write_folder(tmp_path / "data", valid_tables())
    got = _loaded_after(
        "import salesinsight\n"
        f"ds = salesinsight.data.load({str(folder)!r})\n"
        "result = [sorted(ds.tables), type(salesinsight.evaluation).__name__,\n"
        "          salesinsight.ProgramEvaluation.__name__]\n"
        "ds.close()\n"
    )
    assert got["result"] == [sorted(valid_tables()), "module", "ProgramEvaluation"]


def test_evaluate_is_the_function_and_evaluation_the_package():
    """``salesinsight.evaluate`` stays the function after a sub-module of the package is imported
    (a sub-package of the same name would have been rebound by the import system)."""
    got = _loaded_after(
        "import salesinsight\n"
        "first = salesinsight.evaluate\n"
        "import salesinsight.evaluation.panel\n"
        "from salesinsight.evaluation import evaluate\n"
        "result = [type(first).__name__, first is salesinsight.evaluate, first is evaluate,\n"
        "          type(salesinsight.evaluation).__name__, salesinsight.evaluation.__name__]\n"
    )
    assert got["result"] == ["function", True, True, "module", "salesinsight.evaluation"]


def test_unknown_attribute_is_an_attribute_error():
    import salesinsight

    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        salesinsight.nonsense  # noqa: B018
    assert {"data", "metrics", "causal", "evaluate", "evaluation", "report"} <= set(
        dir(salesinsight)
    )


def test_all_names_the_lazy_sub_packages():
    import salesinsight

    assert set(salesinsight.__all__) == set(salesinsight._SUBMODULES) | {
        "ProgramEvaluation",
        "evaluate",
        "__version__",
    }
