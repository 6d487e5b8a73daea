"""Execute a quarterly run: params -> validation -> fingerprint -> papermill -> HTML -> run folder.

The run folder is built in a staging folder beside its destination and moved into place only when
everything succeeded. A failed run never replaces the last good report: its staging folder is kept
as ``<destination>-FAILED`` for inspection, and the error says which cell failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from salesinsight.data.memory import duckdb_memory_limit
from salesinsight.folders import (
    RUN_MARKER,
    DestinationError,
    check_replaceable,
    claim,
    remove_stale_staging,
    staging_name,
    write_marker,
)
from salesinsight.report.params import ParamsError, RunParams, load_params
from salesinsight.report.preflight import check_params_against_data

__all__ = [
    "EXIT_BAD_DATA",
    "EXIT_BAD_PARAMS",
    "EXIT_NOTEBOOK_ERROR",
    "EXIT_OS_ERROR",
    "EXIT_TIMEOUT",
    "NotebookError",
    "NotebookTimeout",
    "RunError",
    "RunResult",
    "data_fingerprint",
    "execute_run",
    "notebook_path",
    "render_html",
]

#: exit codes of ``salesinsight run`` (0 = success).
EXIT_BAD_PARAMS = 2
EXIT_BAD_DATA = 3
EXIT_NOTEBOOK_ERROR = 4
EXIT_TIMEOUT = 5
EXIT_OS_ERROR = 6

#: the repository's notebooks/ folder (the package is installed editable from the repository).
NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
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
    """A run could not be carried out; the last good report is untouched."""

    exit_code = EXIT_BAD_DATA


class NotebookError(RunError):
    """A notebook cell raised; the partial run is kept as a ``-FAILED`` folder."""

    exit_code = EXIT_NOTEBOOK_ERROR


class NotebookTimeout(RunError):
    """A notebook cell ran longer than the allowed timeout."""

    exit_code = EXIT_TIMEOUT


@dataclass(frozen=True)
class RunResult:
    """Where a finished run landed and what it holds."""

    run_dir: Path
    run_id: str
    report_html: Path
    results_json: Path
    manifest: dict[str, Any]


def notebook_path(name: str = "quarterly_evaluation") -> Path:
    """Path of a notebook (jupytext percent ``.py`` under ``notebooks/``) by name."""
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


def data_fingerprint(folder: str | Path) -> dict[str, str]:
    """Return the sha256 of every file in the data folder, by file name.

    A Delta table ``<table>/`` is fingerprinted by its transaction log (``<table>/_delta_log``:
    which files make up its version). Other sub-folders are ignored.
    """
    from salesinsight.data.delta import delta_log_fingerprint, is_delta_table

    out = {}
    for p in sorted(Path(folder).iterdir()):
        if p.is_file():
            out[p.name] = _sha256(p)
        elif is_delta_table(p):
            out[f"{p.name}/_delta_log"] = delta_log_fingerprint(p)
    return out


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional
            out[name] = "not installed"
    return out


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(NOTEBOOK_DIR.parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _params_hash(params: RunParams) -> str:
    payload = json.dumps(params.notebook_parameters(), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _run_id(params: RunParams, fingerprint: dict[str, str], notebook: str) -> str:
    payload = json.dumps(
        {"params": _params_hash(params), "data": fingerprint, "notebook": notebook},
        sort_keys=True,
    )
    return "run-" + hashlib.sha256(payload.encode()).hexdigest()[:12]


def _to_ipynb(py_path: Path, dest: Path) -> None:
    import jupytext
    import nbformat

    nb = jupytext.read(py_path)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, dest)


def render_html(
    executed: str | Path, dest: str | Path, *, title: str, language: str = "en"
) -> None:
    """Render an executed notebook to a self-contained, script-free HTML page without code.

    Uses the package's ``salesinsight`` nbconvert template (JupyterLab styling inlined, no
    JavaScript, no external URLs, charts with alt text).
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    nb.metadata["title"] = title
    # drop papermill's injected-parameters cell and the parameters cell entirely, and the
    # warnings printed on stderr (they stay in the executed notebook for analysts)
    nb.cells = [
        c
        for c in nb.cells
        if not {"parameters", "injected-parameters"} & set(c.metadata.get("tags", []))
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # jupytext and papermill draw random ids; the page must not vary
        if cell.cell_type == "code":
            cell.outputs = [
                o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="salesinsight",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.language_code = language.split("-")[0]  # nbconvert accepts ISO 639-1 only
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r'<html lang="[^"]*"', f'<html lang="{language}"', body, count=1)
    Path(dest).write_text(_strip_css_comments(body), encoding="utf-8")


def _strip_css_comments(page: str) -> str:
    """Remove comments inside <style> blocks (the theme CSS cites URLs in its comments)."""

    def clean(match: re.Match[str]) -> str:
        return re.sub(r"/\*.*?\*/", "", match.group(0), flags=re.S)

    return re.sub(r"<style[^>]*>.*?</style>", clean, page, flags=re.S | re.I)


def _with_engine(params: RunParams, engine: str | None, master: str | None) -> RunParams:
    """``params`` with the engine chosen on the command line (Spark settings kept when Spark)."""
    from salesinsight.report.params import EngineParams, ParamsError

    current = params.engine.model_dump()
    name = engine or current["name"]
    spec = current if name == current["name"] else {"name": name}
    if master is not None:
        spec = {**spec, "master": master}
    try:
        return params.model_copy(update={"engine": EngineParams.model_validate(spec)})
    except ValueError as exc:
        raise ParamsError(f"--engine/--spark-master: {exc}") from None


def execute_run(
    params_path: str | Path,
    *,
    out: str | Path | None = None,
    force: bool = False,
    timeout: float | None = None,
    notebook: str = "quarterly_evaluation",
    reports_root: str | Path = "reports",
    progress: bool | None = None,
    load: Callable[[str | Path], Any] = load_params,
    engine: str | None = None,
    spark_master: str | None = None,
    language: str | None = None,
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
        Notebook name: ``quarterly_evaluation`` or ``program_deep_dive``.
    reports_root
        Root of the default destinations.
    progress
        Show a progress bar of executing cells; default: when stderr is a terminal.
    load
        Reads and validates the params file; any object with ``data_dir``, ``quarter`` (the
        sub-folder of ``reports_root``), ``seed``, ``title`` and ``notebook_parameters()`` will do
        (the research registry uses ``salesinsight.research.registry.load_registry``).
    engine, spark_master
        Override the params' ``engine`` (``"duckdb"`` or ``"spark"``) and its Spark master URL.
    language
        Report language (``en`` or ``zh-CN``) overriding the params file's ``language``.

    Returns
    -------
    RunResult

    Raises
    ------
    ParamsError
        Invalid params (nothing runs, nothing is written).
    RunError
        Invalid data folder or existing destination (nothing is written).
    NotebookError, NotebookTimeout
        A cell failed or timed out; the partial run is kept as ``<destination>-FAILED``.
    """
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    params = load(params_path)
    if language is not None and language != getattr(params, "language", language):
        params = _with_language(params, language, params_path)
    try:  # a bad SALESINSIGHT_MEMORY_LIMIT stops the run here, before any work
        duckdb_memory_limit()
    except ValueError as exc:
        raise ParamsError(str(exc)) from None
    if engine is not None or spark_master is not None:
        params = _with_engine(params, engine, spark_master)
    engine_params = getattr(params, "engine", None)
    if engine_params is not None:
        report = engine_params.build().validate(params.data_dir)
    else:  # the research registry: DuckDB
        from salesinsight.data import validate

        report = validate(params.data_dir)
    if not report.ok:
        raise RunError(f"data folder {params.data_dir} is not valid:\n{report}")
    if isinstance(params, RunParams):  # unknown programs, a quarter without data
        check_params_against_data(params, params_path)
    nb_src = notebook_path(notebook)
    fingerprint = data_fingerprint(params.data_dir)
    run_id = _run_id(params, fingerprint, notebook)
    t_checks = time.perf_counter() - t0

    if out is not None:
        dest = Path(out)
        latest = None
    else:
        quarter_dir = Path(reports_root) / params.quarter
        dest = quarter_dir / run_id
        latest = quarter_dir / "LATEST"
    protect = {
        "data folder": params.data_dir,
        "params file": params_path,
        "working folder": Path.cwd(),
    }
    with contextlib.ExitStack() as claimed:
        try:
            claimed.enter_context(claim(dest))
            if dest.exists() and not force:
                raise RunError(f"{dest} exists already; pass --force to replace it")
            _check_replaceable(dest, protect)
        except DestinationError as exc:
            raise RunError(str(exc)) from None
        remove_stale_staging(dest.parent, marker=RUN_MARKER)
        return _execute_claimed(
            dest=dest,
            latest=latest,
            protect=protect,
            params=params,
            params_path=params_path,
            nb_src=nb_src,
            notebook=notebook,
            report=report,
            fingerprint=fingerprint,
            run_id=run_id,
            started=started,
            t_checks=t_checks,
            timeout=timeout,
            progress=progress,
        )


def _check_replaceable(dest: Path, protect: dict[str, Any]) -> None:
    check_replaceable(
        dest, marker=RUN_MARKER, protect=protect, recognise=_legacy_run_folder, what="run folder"
    )


def _legacy_run_folder(folder: Path) -> bool:
    """Tell whether ``folder`` is a run folder written before run folders were marked.

    Such a folder's manifest lists every file in it.
    """
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        listed = set(manifest["outputs_sha256"]) | {"manifest.json", "report.pdf"}
        run_id = manifest["run_id"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not (isinstance(run_id, str) and run_id.startswith("run-")):
        return False
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
    return files <= listed


def _execute_claimed(
    *,
    dest: Path,
    latest: Path | None,
    protect: dict[str, Any],
    params: RunParams,
    params_path: str | Path,
    nb_src: Path,
    notebook: str,
    report: Any,
    fingerprint: dict[str, str],
    run_id: str,
    started: datetime,
    t_checks: float,
    timeout: float | None,
    progress: bool | None,
) -> RunResult:
    """Do the run proper, while this process holds the claim on ``dest``."""
    staging = dest.parent / staging_name("staging", run_id)
    staging.mkdir()
    write_marker(staging, RUN_MARKER, run_id=run_id)
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "status": "running",
        "notebook": notebook,
        "params_file": str(Path(params_path).resolve()),
        "params": params.notebook_parameters(),
        "params_sha256": _params_hash(params),
        "seed": params.seed,
        "data_dir": str(params.data_dir),
        "data_sha256": fingerprint,
        "validation": {"errors": len(report.errors), "warnings": len(report.warnings)},
        "versions": _versions(),
        "git_commit": _git_commit(),
        "platform": platform.platform(),
        "argv": sys.argv,
        "started_utc": started.isoformat(),
    }
    if progress is None:
        progress = sys.stderr.isatty()
    try:
        timings = _execute_into(staging, params, nb_src, timeout=timeout, progress=progress)
    except (NotebookError, NotebookTimeout) as exc:
        manifest |= {"status": "failed", "error": str(exc)}
        _finish_manifest(staging, manifest, started, {"checks": t_checks})
        failed = dest.parent / f"{dest.name}-FAILED"
        try:
            _check_replaceable(failed, protect)
        except DestinationError:  # not ours: keep it, and the failed run beside it
            failed = dest.parent / f"{dest.name}-FAILED-{uuid.uuid4().hex[:8]}"
        if failed.exists():
            shutil.rmtree(failed)
        os.replace(staging, failed)
        msg = f"{exc}\n(partial run kept in {failed}; the last good report is untouched)"
        raise type(exc)(msg) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    manifest["status"] = "succeeded"
    _finish_manifest(staging, manifest, started, {"checks": t_checks, **timings})
    if dest.exists():
        trash = dest.parent / staging_name("replaced", run_id)
        os.replace(dest, trash)
        shutil.rmtree(trash)
    os.replace(staging, dest)
    if latest is not None:
        latest.write_text(run_id + "\n")
    return RunResult(
        run_dir=dest,
        run_id=run_id,
        report_html=dest / "report.html",
        results_json=dest / "results.json",
        manifest=manifest,
    )


def _with_language(params: RunParams, language: str, source: str | Path) -> RunParams:
    """Return the params with another report language (validated like the file's own value)."""
    from pydantic import ValidationError

    from salesinsight.report.params import ParamsError

    try:
        return RunParams.model_validate({**params.model_dump(), "language": language})
    except ValidationError:
        raise ParamsError(
            f"{source}: --language {language!r} is not one of 'en', 'zh-CN'"
        ) from None


def _finish_manifest(
    staging: Path, manifest: dict[str, Any], started: datetime, timings: dict[str, float]
) -> None:
    manifest["finished_utc"] = datetime.now(UTC).isoformat()
    manifest["timings_seconds"] = {k: round(v, 2) for k, v in timings.items()}
    manifest["outputs_sha256"] = {
        p.relative_to(staging).as_posix(): _sha256(p)
        for p in sorted(staging.rglob("*"))
        if p.is_file()
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


#: the notebook kernel's string-hash seed. With several covariates, pyfixest's estimates differ in
#: their last bits with Python's hash seed, which differs between processes unless fixed (measured:
#: the single-rollout DiD with other programs' exposure as covariates), so without it two runs of
#: the same params on the same data could write different results.json.
KERNEL_HASH_SEED = "0"


@contextlib.contextmanager
def fixed_hash_seed() -> Any:
    """Start child processes (the notebook kernel) with ``PYTHONHASHSEED`` fixed, then restore it."""
    before = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = KERNEL_HASH_SEED
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = before


def _execute_into(
    staging: Path, params: RunParams, nb_src: Path, *, timeout: float | None, progress: bool
) -> dict[str, float]:
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError

    source = staging / "_input.ipynb"
    _to_ipynb(nb_src, source)
    executed = staging / "notebook.ipynb"
    t0 = time.perf_counter()
    try:
        with fixed_hash_seed():
            pm.execute_notebook(
                str(source),
                str(executed),
                parameters=params.notebook_parameters(),
                cwd=str(staging),
                kernel_name="python3",
                execution_timeout=timeout,
                progress_bar=progress,
                log_output=False,
            )
    except pm.PapermillExecutionError as exc:
        last = exc.traceback[-1] if exc.traceback else ""
        raise NotebookError(
            f"the notebook failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
            + (f"\n  {_strip_ansi(last)}" if last and exc.evalue not in last else "")
        ) from exc
    except (CellTimeoutError, TimeoutError) as exc:
        raise NotebookTimeout(f"a notebook cell ran longer than {timeout} s: {exc}") from exc
    finally:
        source.unlink(missing_ok=True)
    t_notebook = time.perf_counter() - t0
    t1 = time.perf_counter()
    # the program deep dive is written in English only (see docs/report.md)
    language = params.language if nb_src.stem == "quarterly_evaluation" else "en"
    render_html(executed, staging / "report.html", title=params.title, language=language)
    return {"notebook": t_notebook, "render": time.perf_counter() - t1}


def _strip_ansi(text: str) -> str:

    return re.sub(r"\x1b\[[0-9;]*m", "", text)
