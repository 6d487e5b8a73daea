"""The data contract as code: tables, columns, types, keys and allowed values.

This module is the single source of truth for the shape of a salesinsight data folder; it mirrors
``docs/data-contract.md``. Everything that reads or checks a data folder derives from :data:`TABLES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesinsight.kpis import ACTIVITY_TYPES

__all__ = [
    "ID",
    "STR",
    "DATE",
    "NUMBER",
    "Column",
    "ForeignKey",
    "Table",
    "TABLES",
    "TABLE_NAMES",
    "SQL_TYPES",
    "ISO_DATE_PATTERN",
    "DATE_RANGE",
    "EVENT_DATES",
    "EXTENSIONS",
    "table",
    "with_extensions",
]

#: Logical column kinds. ``id`` and ``str`` are strings compared exactly, ``date`` is a calendar date
#: (a timestamp is accepted and its date part used), ``number`` is a float.
ID = "id"
STR = "str"
DATE = "date"
NUMBER = "number"

#: DuckDB type of each logical kind in the typed views.
SQL_TYPES: dict[str, str] = {ID: "VARCHAR", STR: "VARCHAR", DATE: "DATE", NUMBER: "DOUBLE"}


@dataclass(frozen=True)
class ForeignKey:
    """A reference from a column to ``table.column`` (``distinct=True``: any distinct value there)."""

    table: str
    column: str


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    Parameters
    ----------
    name : column name, exactly as in the file header.
    kind : one of ``"id"``, ``"str"``, ``"date"``, ``"number"``.
    required : whether the column must be present (and, for required columns, non-empty in every row).
    allowed : allowed values (lower case) for categorical columns, else ``None``.
    references : foreign key, else ``None``.
    default : value used in the typed view where the cell is empty (e.g. ``csat.scale`` = 5).
    description : one line of meaning.
    """

    name: str
    kind: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    references: ForeignKey | None = None
    default: float | None = None
    description: str = ""

    @property
    def sql_type(self) -> str:
        """DuckDB type of the column in the typed view."""
        return SQL_TYPES[self.kind]


@dataclass(frozen=True)
class Table:
    """One contract table: its columns, unique key and whether the table must be present."""

    name: str
    columns: tuple[Column, ...]
    required: bool = False
    key: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of all contract columns, in contract order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        """Return the contract column called ``name`` (``KeyError`` if none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no contract column {name!r}")


def _fk(table_name: str, column: str) -> ForeignKey:
    return ForeignKey(table_name, column)


_REPS_FK = _fk("reps", "rep_id")
_OPPS_FK = _fk("opportunities", "opp_id")

STATUS_VALUES = ("open", "won", "lost")
PROGRAM_KINDS = ("training", "coaching", "mentoring", "incentive", "other")
PROGRAM_DESIGNS = ("randomized", "staggered", "single_rollout", "observational")
PROGRAM_UNITS = ("rep", "team")
ARMS = ("treatment", "control")

#: Default of ``csat.scale`` where absent or empty.
CSAT_DEFAULT_SCALE = 5.0

#: A date cell: ISO ``YYYY-MM-DD``, optionally followed by a time (``T`` or space, ``HH:MM``,
#: seconds, fraction, ``Z`` or an offset) whose date part is used. Matched in full.
ISO_DATE_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)

#: Plausible dates, inclusive: anything outside is reported as not a valid date.
DATE_RANGE: tuple[str, str] = ("1900-01-01", "2100-12-31")

#: Date columns of events that cannot lie in the future (a later date is a warning).
EVENT_DATES: dict[str, tuple[str, ...]] = {
    "reps": ("hire_date",),
    "opportunities": ("created_date", "close_date"),
    "stage_history": ("entered_date",),
    "activities": ("activity_date",),
    "csat": ("response_date",),
}

#: Regular expression a ``reviews.period`` must match in full.
QUARTER_PATTERN = r"^[0-9]{4}Q[1-4]$"

TABLES: tuple[Table, ...] = (
    Table(
        "reps",
        required=True,
        key=("rep_id",),
        description="sales representatives",
        columns=(
            Column("rep_id", ID, True, description="sales representative"),
            Column("team_id", ID, True, description="team the rep belongs to"),
            Column("hire_date", DATE, True, description="first day employed"),
            Column("termination_date", DATE, description="last day employed"),
            Column("name", STR, description="display name"),
            Column("region", STR),
            Column("role", STR, description="e.g. ae, sdr, manager"),
            Column("manager_id", ID, description="rep_id of the manager"),
        ),
    ),
    Table(
        "opportunities",
        required=True,
        key=("opp_id",),
        description="leads and deals, one row each",
        columns=(
            Column("opp_id", ID, True),
            Column("rep_id", ID, True, references=_REPS_FK, description="owner"),
            Column("created_date", DATE, True),
            Column("status", STR, True, allowed=STATUS_VALUES),
            Column("close_date", DATE, description="won or lost date; required unless open"),
            Column(
                "amount", NUMBER, description="booked (won) or expected amount; required if won"
            ),
            Column("account_id", ID),
            Column("stage", STR),
            Column("source", STR),
            Column("discount", NUMBER, description="discount in [0, 1]"),
        ),
    ),
    Table(
        "stage_history",
        key=(),
        columns=(
            Column("opp_id", ID, True, references=_OPPS_FK),
            Column("stage", STR, True),
            Column("entered_date", DATE, True),
        ),
    ),
    Table(
        "activities",
        key=("activity_id",),
        description="process behaviour",
        columns=(
            Column("activity_id", ID, True),
            Column("rep_id", ID, True, references=_REPS_FK),
            Column("activity_date", DATE, True),
            Column("type", STR, True, allowed=ACTIVITY_TYPES),
            Column("opp_id", ID, references=_OPPS_FK),
            Column("account_id", ID),
        ),
    ),
    Table(
        "quotas",
        columns=(
            Column("rep_id", ID, True, references=_REPS_FK),
            Column("period_start", DATE, True),
            Column("period_end", DATE, True, description="inclusive"),
            Column("quota_amount", NUMBER, True, description="> 0"),
        ),
    ),
    Table(
        "programs",
        key=("program_id",),
        description="the interventions to evaluate",
        columns=(
            Column("program_id", ID, True),
            Column("name", STR, True),
            Column("kind", STR, True, allowed=PROGRAM_KINDS),
            Column("design", STR, True, allowed=PROGRAM_DESIGNS),
            Column("unit", STR, True, allowed=PROGRAM_UNITS),
            Column("start_date", DATE, True),
            Column("end_date", DATE),
            Column("description", STR),
        ),
    ),
    Table(
        "enrollments",
        columns=(
            Column("program_id", ID, True, references=_fk("programs", "program_id")),
            Column("unit_id", ID, True, description="rep_id or team_id per the program's unit"),
            Column("arm", STR, True, allowed=ARMS),
            Column("start_date", DATE, True),
            Column("mentor_id", ID, references=_REPS_FK),
        ),
    ),
    Table(
        "csat",
        key=("response_id",),
        description="customer satisfaction",
        columns=(
            Column("response_id", ID, True),
            Column("rep_id", ID, True, references=_REPS_FK),
            Column("response_date", DATE, True),
            Column("score", NUMBER, True, description="between 0 and scale"),
            Column("scale", NUMBER, default=CSAT_DEFAULT_SCALE, description="5 when absent"),
            Column("account_id", ID),
            Column("opp_id", ID),
        ),
    ),
    Table(
        "reviews",
        description="performance-evaluation results",
        columns=(
            Column("rep_id", ID, True, references=_REPS_FK),
            Column("period", STR, True, description="quarter label YYYYQn"),
            Column("score", NUMBER, True),
            Column("rating", STR),
            Column(
                "reviewer_id",
                ID,
                references=_REPS_FK,
                description="who gave the score; when absent, the rep's manager_id",
            ),
        ),
    ),
)

#: Table names in contract order.
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)

_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """Return the contract :class:`Table` called ``name`` (``KeyError`` if it is not a contract table)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is not a contract table; tables: {', '.join(TABLE_NAMES)}"
        ) from None


#: salesinsight's own optional columns beyond the shared contract ("salesinsight extensions" in
#: ``docs/data-contract.md``): never required, checked when present (a number, not negative),
#: not reported as extra columns. Not part of :data:`TABLES`, which mirrors the shared contract.
EXTENSIONS: dict[str, tuple[Column, ...]] = {
    "programs": (
        Column(
            "budget",
            NUMBER,
            description="money spent on the program per quarter, in the reporting currency",
        ),
    ),
}


def with_extensions(spec: Table) -> Table:
    """``spec`` with salesinsight's extension columns of that table (:data:`EXTENSIONS`) added."""
    extra = EXTENSIONS.get(spec.name, ())
    if not extra:
        return spec
    return Table(spec.name, spec.columns + extra, spec.required, spec.key, spec.description)
