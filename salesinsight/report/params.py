"""Run parameters: one YAML file per quarterly run, validated before anything executes.

The pydantic model :class:`RunParams` is the single definition of the parameters; the notebooks'
``parameters`` cells use exactly its field names (a test checks they agree).
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesinsight.kpis import DEFAULT_OUTCOMES, OUTCOMES
from salesinsight.min_effect import parse_min_effect, resolve_min_effect
from salesinsight.safe_yaml import ECHO_CHARS, load_yaml_file, short_repr, shorten

__all__ = [
    "DEFAULT_MIN_EFFECT",
    "EngineParams",
    "DEFAULT_OUTCOMES",
    "KNOWN_OUTCOMES",
    "ParamsError",
    "RunParams",
    "did_you_mean",
    "load_params",
    "params_schema_text",
]

#: outcomes a program can be evaluated on, and the default ones (``salesinsight.kpis``)
KNOWN_OUTCOMES: tuple[str, ...] = OUTCOMES
#: smallest effect worth acting on, per outcome: a number in the outcome's units, or "N%" of the
#: untreated baseline.
DEFAULT_MIN_EFFECT: dict[str, float | str] = {
    "win_rate": 0.01,
    "revenue": "3%",
    "follow_ups": "5%",
    "csat": 0.01,
    "attrition": 0.02,
}

#: a quarter label, matched in full (no trailing newline, ASCII digits only)
_QUARTER = re.compile(r"(?P<fy>FY)?(?P<year>[0-9]{4})Q(?P<q>[1-4])")


class ParamsError(ValueError):
    """Raised when a params file is unreadable or invalid; the message lists every problem."""


class EngineParams(BaseModel):
    """Who runs the metric layer (validation and KPI panels): ``engine: spark`` or a mapping.

    ``engine: duckdb`` (default) queries the local data folder in place; ``engine: spark`` runs
    the same queries on Spark, e.g.::

        engine:
          name: spark
          master: spark://spark-master:7077      # default: the active session, else local[*]
          conf: {spark.executor.memory: 8g}
          tables: {activities: crm.activities}   # catalog table names, paths or URIs
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["duckdb", "spark"] = Field("duckdb", description="Engine name.")
    master: str | None = Field(None, description="Spark master URL (Spark only).")
    conf: dict[str, str] = Field(default_factory=dict, description="Spark settings (Spark only).")
    tables: dict[str, str] = Field(
        default_factory=dict,
        description="Per-table location overriding data_dir: catalog name, path or URI (Spark only).",
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _spark_only(self) -> EngineParams:
        if self.name == "duckdb" and (self.master or self.conf or self.tables):
            raise ValueError("master, conf and tables only apply to engine 'spark'")
        return self

    def build(self) -> Any:
        """Return the :class:`~salesinsight.engines.Engine` these parameters describe."""
        from salesinsight.engines import get_engine

        if self.name == "duckdb":
            return get_engine("duckdb")
        return get_engine("spark", master=self.master, conf=self.conf, tables=self.tables)


class RunParams(BaseModel):
    """Parameters of one quarterly evaluation run (``params/<name>.yaml``).

    A relative ``data_dir`` is resolved against the folder of the params file (not the working
    directory), so a params file and its data travel together.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    quarter: str = Field(
        description="Quarter to evaluate: '2026Q2' (calendar) or 'FY2027Q1' when "
        "fiscal_year_start_month is not 1 (labelled by the fiscal year in which it ends)."
    )
    data_dir: Path = Field(description="Canonical data folder (see docs/data-contract.md).")
    title: str = Field("Quarterly sales program evaluation", description="Report title.")
    programs: list[str] | None = Field(
        None, description="program_ids to evaluate; default: every program in programs.csv."
    )
    outcomes: list[str] | dict[str, list[str]] = Field(
        default_factory=lambda: list(DEFAULT_OUTCOMES),
        description="Outcomes for every program (a list), or per program_id (a mapping).",
    )
    min_effect: dict[str, float | str] = Field(
        default_factory=lambda: dict(DEFAULT_MIN_EFFECT),
        description="Smallest meaningful effect per outcome, in the outcome's units or as 'N%' of "
        "the untreated baseline; used by the verdicts. Outcomes not listed use 0.",
    )
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Significance level of the verdicts.")
    correction: Literal["holm", "bh"] = Field(
        "holm", description="Multiple-testing correction across one program's outcomes."
    )
    grain: Literal["week", "month"] = Field("week", description="Panel grain for the models.")
    history_quarters: int = Field(
        4, ge=1, le=12, description="Previous quarters shown in the KPI overview."
    )
    seed: int = Field(0, ge=0, description="Seed for every random step (bootstrap, permutations).")
    mask_names: bool = Field(
        False, description="Replace rep names and ids by stable pseudonyms in the report."
    )
    fiscal_year_start_month: int = Field(
        1, ge=1, le=12, description="First month of the fiscal year (1 = calendar quarters)."
    )
    warning_as_of: date | None = Field(
        None,
        description="Date of the early-warning snapshot; default: the quarter's midpoint.",
    )
    warning_fdr: float = Field(
        0.1, gt=0, lt=1, description="False-discovery rate of early-warning alerts across reps."
    )
    attrition_risk_threshold: float = Field(
        0.3, gt=0, lt=1, description="Attrition probability above which a rep is listed."
    )
    top_n: int = Field(10, ge=1, le=200, description="Rows shown in the report's top-N tables.")
    language: Literal["en", "zh-CN"] = Field(
        "en", description="Language of the report: 'en' (English) or 'zh-CN' (简体中文)."
    )
    currency: str | None = Field(
        None,
        description="ISO 4217 code of the data's reporting currency (e.g. 'CNY', 'USD'); money "
        "is shown with its symbol. Default: plain numbers.",
    )
    min_cell_size: int = Field(
        10, ge=1, description="Smallest group of reps a rating gap is shown for (privacy)."
    )
    non_selling_roles: list[str] = Field(
        default_factory=lambda: ["manager"],
        description="reps.role values (any case) that are not sellers: they count in totals but "
        "not in sellers_active, the denominator of per-rep figures and attrition.",
    )
    engine: EngineParams = Field(
        default_factory=EngineParams,
        description="Who runs validation and the KPI panels: 'duckdb' (embedded, default) or "
        "'spark', or a mapping with name, master, conf and tables (see docs/engines.md).",
    )

    @field_validator("quarter")
    @classmethod
    def _quarter_label(cls, value: str) -> str:
        if not _QUARTER.fullmatch(value):
            raise ValueError(f"quarter {value!r} is not a label like '2026Q2' or 'FY2027Q1'")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from babel.numbers import list_currencies

        if value not in list_currencies():
            raise ValueError(f"currency {value!r} is not an ISO 4217 code like 'CNY' or 'USD'")
        return value

    @field_validator("outcomes")
    @classmethod
    def _known_outcomes(cls, value: list[str] | dict[str, list[str]]) -> Any:
        lists = value.values() if isinstance(value, dict) else [value]
        bad = sorted({o for lst in lists for o in lst if o not in KNOWN_OUTCOMES})
        if bad:
            raise ValueError(
                f"unknown outcome(s) {bad}{did_you_mean(bad, KNOWN_OUTCOMES)}; "
                f"known: {list(KNOWN_OUTCOMES)}"
            )
        if any(len(lst) == 0 for lst in lists):
            raise ValueError("an outcome list is empty")
        return value

    @field_validator("min_effect")
    @classmethod
    def _min_effect(cls, value: dict[str, float | str]) -> dict[str, float | str]:
        problems = []
        for outcome, spec in value.items():
            if outcome not in KNOWN_OUTCOMES:
                problems.append(
                    f"min_effect for unknown outcome {outcome!r}"
                    + did_you_mean([outcome], KNOWN_OUTCOMES)
                )
                continue
            try:
                parse_min_effect(spec)
            except ValueError as exc:
                problems.append(f"min_effect[{outcome!r}]: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> RunParams:
        fiscal = self.quarter.startswith("FY")
        if fiscal and self.fiscal_year_start_month == 1:
            raise ValueError(
                f"quarter {self.quarter!r} is a fiscal label but fiscal_year_start_month is 1; "
                "use a calendar label like '2026Q2' or set fiscal_year_start_month"
            )
        if not fiscal and self.fiscal_year_start_month != 1:
            raise ValueError(
                f"fiscal_year_start_month is {self.fiscal_year_start_month}, so quarter must be a "
                f"fiscal label like 'FY2027Q1', not {self.quarter!r}"
            )
        if self.warning_as_of is not None:
            first, last = self.quarter_bounds()
            if not first <= self.warning_as_of <= last:
                raise ValueError(
                    f"warning_as_of {self.warning_as_of} is outside quarter {self.quarter} "
                    f"({first} to {last})"
                )
        return self

    # -- derived values -------------------------------------------------------------------
    def quarter_bounds(self) -> tuple[date, date]:
        """First and last day (inclusive) of :attr:`quarter`."""
        from salesinsight.calendar import quarter_bounds

        return quarter_bounds(self.quarter, fiscal_year_start_month=self.fiscal_year_start_month)

    def outcomes_for(self, program_id: str) -> list[str]:
        """Outcomes to evaluate for one program."""
        if isinstance(self.outcomes, dict):
            return list(self.outcomes.get(program_id, DEFAULT_OUTCOMES))
        return list(self.outcomes)

    def min_effect_for(self, outcome: str, baseline: float | None) -> float:
        """Absolute minimum meaningful effect for ``outcome`` given the untreated ``baseline``.

        A relative spec ("3%") needs a baseline; without one it resolves to 0.
        """
        return resolve_min_effect(self.min_effect.get(outcome, 0.0), baseline)

    def notebook_parameters(self) -> dict[str, Any]:
        """Return the parameters as plain JSON-able values for papermill (names = field names)."""
        return self.model_dump(mode="json")


#: most problems listed in one message (the count says how many there are)
_MAX_LISTED = 50


def did_you_mean(names: list[str] | tuple[str, ...], known: Any) -> str:
    """`` (did you mean 'x'?)`` for the first of ``names`` close to a known name, else ``""``."""
    known = [str(k) for k in known]
    for name in names:
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]!r}?)"
    return ""


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} problem(s) in the run parameters:"]
    errors = exc.errors()
    for err in errors[:_MAX_LISTED]:
        where = shorten(".".join(str(p) for p in err["loc"]) or "(file)")
        msg = shorten(err["msg"].removeprefix("Value error, "), 2 * ECHO_CHARS)
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            msg = "unknown parameter" + did_you_mean([str(err["loc"][0])], RunParams.model_fields)
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {short_repr(value)})"
        lines.append(f"  - {where}: {msg}{shown}")
    if len(errors) > _MAX_LISTED:
        lines.append(f"  ... and {len(errors) - _MAX_LISTED} more")
    return "\n".join(lines)


def load_params(path: str | Path, *, check_data_dir: bool = True) -> RunParams:
    """Read and validate a params YAML file.

    Parameters
    ----------
    path
        The YAML file. A relative ``data_dir`` inside it is resolved against the file's folder.
    check_data_dir
        Also require that ``data_dir`` exists.

    Raises
    ------
    ParamsError
        Listing every problem at once (unknown keys, wrong types, bad dates, cross-checks).
    """
    path = Path(path)
    try:
        raw = load_yaml_file(path, encoding="utf-8")
    except FileNotFoundError as exc:
        raise ParamsError(f"params file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise ParamsError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the params file as UTF-8"
        ) from None
    except IsADirectoryError:
        raise ParamsError(f"params file {path} is a folder, not a YAML file") from None
    except OSError as exc:
        raise ParamsError(f"params file {path} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {shorten(str(exc), 4 * ECHO_CHARS)}") from exc
    except ValueError as exc:  # e.g. an impossible date such as 2026-02-30
        raise ParamsError(
            f"{path}: a value cannot be read: {shorten(str(exc), 2 * ECHO_CHARS)}"
        ) from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of parameter names to values")
    data_dir = raw.get("data_dir")
    if isinstance(data_dir, str) and not Path(data_dir).is_absolute():
        raw["data_dir"] = str((path.parent / data_dir).resolve())
    try:
        params = RunParams.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_format_errors(exc, str(path))) from None
    if check_data_dir and not params.data_dir.is_dir():
        raise ParamsError(f"{path}: data_dir {shorten(str(params.data_dir))} is not a folder")
    return params


def params_schema_text() -> str:
    """Human-readable schema of :class:`RunParams`: name, type, default and help per field."""
    lines = ["Run parameters (params/<name>.yaml); unknown keys are rejected.", ""]
    for name, field in RunParams.model_fields.items():
        ann = getattr(field.annotation, "__name__", None) or str(field.annotation)
        ann = ann.replace("typing.", "").replace("pathlib.", "").replace("datetime.", "")
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = f"default {field.default_factory()!r}"  # type: ignore[call-arg]
        else:
            default = f"default {field.default!r}"
        lines.append(f"{name}: {ann}  ({default})")
        lines.append(f"    {field.description}")
    return "\n".join(lines)
