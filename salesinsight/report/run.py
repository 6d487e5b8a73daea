"""Execute a quarterly run: params -> validation -> fingerprint -> papermill -> HTML -> run folder.

The run folder is built in a staging folder beside its destination and moved into place only when
everything succeeded, so a failed run leaves nothing behind but the error message.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from salesinsight.report.params import RunParams, load_params

__all__ = ["RunError", "RunResult", "data_fingerprint", "execute_run", "notebook_path"]

#: the repository's notebooks/ folder (the package is installed editable from the repository).
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
_VERSIONED = (
    "salesinsight",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "duckdb",
    "pyarrow",
    "pyfixest",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "pydantic",
)


class RunError(RuntimeError):
    """A run could not be carried out; nothing was written to the destination."""


@dataclass(frozen=True)
class RunResult:
    """Where a finished run landed and what it holds."""

    run_dir: Path
    run_id: str
    report_html: Path
    results_json: Path
    manifest: dict[str, Any]


def notebook_path(name: str = "quarterly_evaluation") -> Path:
    """Path of a packaged notebook (jupytext percent ``.py``) by name."""
    path = NOTEBOOK_DIR / f"{name}.py"
    if not path.is_file():
        known = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.py"))
        raise RunError(f"no notebook named {name!r}; known: {known}")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(folder: Path) -> dict[str, str]:
    """sha256 of every file in the data folder (sorted by name; sub-folders ignored)."""
    return {p.name: _sha256(p) for p in sorted(Path(folder).iterdir()) if p.is_file()}


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional
            out[name] = "not installed"
    return out


def _run_id(params: RunParams, fingerprint: dict[str, str], notebook: str) -> str:
    payload = json.dumps(
        {"params": params.notebook_parameters(), "data": fingerprint, "notebook": notebook},
        sort_keys=True,
    )
    return "run-" + hashlib.sha256(payload.encode()).hexdigest()[:12]


def _to_ipynb(py_path: Path, dest: Path) -> None:
    import jupytext
    import nbformat

    nb = jupytext.read(py_path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, dest)


def render_html(executed: Path, dest: Path, *, title: str) -> None:
    """Render an executed notebook to a self-contained HTML page without code."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = title
    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nb)
    dest.write_text(body, encoding="utf-8")


def execute_run(
    params_path: str | Path,
    *,
    out: str | Path | None = None,
    force: bool = False,
    timeout: float | None = None,
    notebook: str = "quarterly_evaluation",
    reports_root: str | Path = "reports",
) -> RunResult:
    """Run one parameterized notebook and put its outputs in a run folder.

    Parameters
    ----------
    params_path
        The params YAML file (validated first; nothing runs when it is invalid).
    out
        Destination folder; default ``<reports_root>/<quarter>/<run id>/`` plus a ``LATEST`` file.
    force
        Replace an existing destination (otherwise an existing one is an error).
    timeout
        Seconds allowed per notebook cell (None: no limit).
    notebook
        Packaged notebook name: ``quarterly_evaluation`` or ``program_deep_dive``.
    reports_root
        Root of the default destinations.

    Returns
    -------
    RunResult
    """
    from salesinsight.data import validate

    started = datetime.now(UTC)
    params = load_params(params_path)
    report = validate(params.data_dir)
    if not report.ok:
        raise RunError(f"data folder {params.data_dir} is not valid:\n{report}")
    nb_src = notebook_path(notebook)
    fingerprint = data_fingerprint(params.data_dir)
    run_id = _run_id(params, fingerprint, notebook)

    if out is not None:
        dest = Path(out)
        latest = None
    else:
        quarter_dir = Path(reports_root) / params.quarter
        dest = quarter_dir / run_id
        latest = quarter_dir / "LATEST"
    if dest.exists() and not force:
        raise RunError(f"{dest} exists already; pass --force to replace it")

    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".staging-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        seconds = _execute_into(staging, params, nb_src, timeout=timeout)
        manifest = {
            "run_id": run_id,
            "notebook": notebook,
            "params_file": str(Path(params_path).resolve()),
            "params": params.notebook_parameters(),
            "data_dir": str(params.data_dir),
            "data_sha256": fingerprint,
            "validation": {"errors": len(report.errors), "warnings": len(report.warnings)},
            "versions": _versions(),
            "platform": platform.platform(),
            "argv": sys.argv,
            "started_utc": started.isoformat(),
            "finished_utc": datetime.now(UTC).isoformat(),
            "notebook_seconds": round(seconds, 1),
        }
        manifest["outputs_sha256"] = {
            p.relative_to(staging).as_posix(): _sha256(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if dest.exists():
            trash = dest.parent / f".replaced-{uuid.uuid4().hex[:8]}"
            os.replace(dest, trash)
            shutil.rmtree(trash)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if latest is not None:
        latest.write_text(run_id + "\n")
    return RunResult(
        run_dir=dest,
        run_id=run_id,
        report_html=dest / "report.html",
        results_json=dest / "results.json",
        manifest=manifest,
    )


def _execute_into(
    staging: Path, params: RunParams, nb_src: Path, *, timeout: float | None
) -> float:
    import papermill as pm

    source = staging / "_input.ipynb"
    _to_ipynb(nb_src, source)
    executed = staging / "notebook.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(source),
            str(executed),
            parameters=params.notebook_parameters(),
            cwd=str(staging),
            kernel_name="python3",
            execution_timeout=timeout,
            progress_bar=False,
            log_output=False,
        )
    except pm.PapermillExecutionError as exc:
        raise RunError(
            f"the notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        ) from exc
    finally:
        source.unlink(missing_ok=True)
    elapsed = time.perf_counter() - t0
    render_html(executed, staging / "report.html", title=params.title)
    return elapsed
