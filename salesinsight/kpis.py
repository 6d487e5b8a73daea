"""The KPI registry: one definition of every KPI the package computes, evaluates or reports.

Each :class:`KPI` says what the KPI is a ratio of (numerator and denominator, summed over units and
periods: the data contract's "ratio of sums"), which direction is good, whether it adds up over
reps, whether it is a *process* metric (what sellers do) or an *outcome* (what they get), its unit,
and its name in every report language. The KPI panels (``salesinsight.metrics.panel``), the
outcomes a program can be evaluated on (``salesinsight.evaluation``), the run parameters
(``salesinsight.report.params``) and the report's words (``salesinsight.report.vocabulary``) all
derive from :data:`KPIS`; nothing else lists KPIs.

The definitions are those of the data contract (``docs/data-contract.md``, "KPI definitions"), and of
``docs/metrics.md`` for the panel's further KPIs (``contract=False``). Per-rep figures are per
seller: a count's denominator is :data:`SELLERS` (``sellers_active``, the active sellers of the
unit-period), never every ``reps`` row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "ACTIVITY_COLUMNS",
    "ACTIVITY_TYPES",
    "DEFAULT_OUTCOMES",
    "KPI",
    "KPIS",
    "KpiName",
    "LANGUAGES",
    "LEVELS",
    "OUTCOMES",
    "SELLERS",
    "display_name",
    "kpi",
]

Direction = Literal["higher", "lower"]
Kind = Literal["process", "outcome"]
#: ``count``: integer count; ``money``: the reporting currency; ``share``: a proportion in [0, 1]
#: (shown in %, differences in percentage points); ``days``; ``ratio``: a plain quotient;
#: ``money per day``; ``flag``: true/false.
Unit = Literal["count", "money", "share", "days", "ratio", "money per day", "flag"]

#: report languages every KPI is named in (the ``language`` run parameter)
LANGUAGES: tuple[str, ...] = ("en", "zh-CN")
#: panel levels (``metrics.panel(by=...)``)
LEVELS: tuple[str, ...] = ("rep", "team", "company")
#: the denominator of per-rep figures: active sellers of the unit-period (data contract)
SELLERS = "sellers_active"

#: activity types of the data contract (``activities.type``), in this fixed order
ACTIVITY_TYPES: tuple[str, ...] = (
    "call",
    "visit",
    "email",
    "meeting",
    "demo",
    "follow_up",
    "other",
)
#: activity type -> its KPI (panel column): the count of activities of that type
ACTIVITY_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "call": "calls",
        "visit": "visits",
        "email": "emails",
        "meeting": "meetings",
        "demo": "demos",
        "follow_up": "follow_ups",
        "other": "other",
    }
)


@dataclass(frozen=True)
class KPI:
    """One KPI: its definition as a ratio of sums, direction, additivity, kind, unit and names.

    Attributes
    ----------
    name : str
        The panel column and outcome name (``win_rate``).
    numerator, denominator : str or None
        The KPI is ``sum(numerator) / sum(denominator)`` over units and periods (a ratio of sums);
        ``numerator`` is a panel column or a sum named here (``csat_sum``: score / scale summed
        over responses; ``cycle_days_sum``: days from creation to close summed over won deals).
        ``denominator`` :data:`SELLERS` makes a per-seller figure. ``None`` for KPIs that are not
        a ratio of two additive quantities (medians, flags, products; see ``docs/metrics.md``).
    direction : {"higher", "lower"} or None
        Which way is good; ``None`` when neither is (``opps_lost``: more lost deals can mean more
        deals brought to a decision) or the KPI is bookkeeping (``quota``, headcounts).
    additive : bool
        Sums over reps and periods (counts and money): a team's value is the sum of its reps'.
    kind : {"process", "outcome"} or None
        What sellers do (activities, follow-ups, pipeline created) or what they get (revenue, win
        rate, attainment, CSAT); ``None`` for neither.
    unit : str
        See :data:`Unit`.
    flow : bool
        Accumulates over time, so an effect per week is ``52 / 12`` times smaller than per month
        (counts and revenue in a period; not stocks such as the open pipeline or headcount).
    table : str or None
        The optional table the KPI needs (``activities``, ``quotas``, ``csat``).
    levels : tuple of str
        Panel levels that have the column.
    contract : bool
        Defined in the data contract (else in ``docs/metrics.md`` only).
    names : mapping of str to str
        The KPI's name for a reader, per report language (:data:`LANGUAGES`).
    """

    name: str
    numerator: str | None
    denominator: str | None
    direction: Direction | None
    additive: bool
    kind: Kind | None
    unit: Unit
    flow: bool
    table: str | None
    levels: tuple[str, ...]
    contract: bool
    names: Mapping[str, str]

    @property
    def is_outcome(self) -> bool:
        """Whether a program can be evaluated on it (see :data:`OUTCOMES`)."""
        return (
            self.contract
            and self.numerator is not None
            and self.denominator is not None
            and self.direction is not None
        )

    def defined_for(self, unit: str | None) -> bool:
        """Return whether a program assigned per ``unit`` can be evaluated on this KPI.

        A program per rep is evaluated on the rep panel, any other (per team) on the team panel;
        the KPI must be in that panel (:attr:`levels`): ``attrition`` is not defined for one rep.
        """
        return ("rep" if unit == "rep" else "team") in self.levels

    @property
    def higher_is_better(self) -> bool:
        """Whether an increase is good (``False`` also for KPIs without a good direction)."""
        return self.direction == "higher"


_ALL = LEVELS
_TEAM_UP = ("team", "company")


def _k(
    name: str,
    numerator: str | None,
    denominator: str | None,
    direction: Direction | None,
    kind: Kind | None,
    unit: Unit,
    en: str,
    zh: str,
    *,
    additive: bool = False,
    flow: bool = False,
    table: str | None = None,
    levels: tuple[str, ...] = _ALL,
    contract: bool = True,
) -> KPI:
    return KPI(
        name=name,
        numerator=numerator,
        denominator=denominator,
        direction=direction,
        additive=additive,
        kind=kind,
        unit=unit,
        flow=flow,
        table=table,
        levels=levels,
        contract=contract,
        names=MappingProxyType({"en": en, "zh-CN": zh}),
    )


def _count(
    name: str, direction: Direction | None, kind: Kind | None, en: str, zh: str, **kw: Any
) -> KPI:
    """Define a count per seller and period (additive, accumulating over time)."""
    return _k(name, name, SELLERS, direction, kind, "count", en, zh, additive=True, flow=True, **kw)


_ACTIVITY_NAMES: dict[str, tuple[str, str]] = {
    "calls": ("calls", "电话数"),
    "visits": ("customer visits", "客户拜访数"),
    "emails": ("emails", "邮件数"),
    "meetings": ("meetings", "会议数"),
    "demos": ("product demos", "产品演示数"),
    "follow_ups": ("follow-ups", "跟进次数"),
    "other": ("other activities", "其他活动数"),
}

_REGISTRY: tuple[KPI, ...] = (
    _count("activities", "higher", "process", "sales activities", "销售活动数", table="activities"),
    *(
        _count(col, "higher", "process", *_ACTIVITY_NAMES[col], table="activities")
        for col in ACTIVITY_COLUMNS.values()
    ),
    _count("opps_created", "higher", "process", "opportunities created", "新建商机数"),
    _count("opps_won", "higher", "outcome", "deals won", "赢单数"),
    _count("opps_lost", None, None, "deals lost", "输单数"),
    _count("opps_closed", None, None, "deals closed", "结单数"),
    _k("win_rate", "opps_won", "opps_closed", "higher", "outcome", "share", "win rate", "赢单率"),
    _k(
        "revenue",
        "revenue",
        SELLERS,
        "higher",
        "outcome",
        "money",
        "revenue",
        "营收",
        additive=True,
        flow=True,
    ),
    _k(
        "avg_deal_size",
        "revenue",
        "opps_won",
        "higher",
        "outcome",
        "money",
        "average deal size",
        "平均客单价",
    ),
    _k(
        "median_deal_size",
        None,
        None,
        "higher",
        "outcome",
        "money",
        "median deal size",
        "客单价中位数",
        contract=False,
    ),
    _k(
        "cycle_days",
        "cycle_days_sum",
        "opps_won",
        "lower",
        "outcome",
        "days",
        "sales cycle",
        "销售周期",
    ),
    _k(
        "quota",
        "quota",
        SELLERS,
        None,
        None,
        "money",
        "quota",
        "配额",
        additive=True,
        flow=True,
        table="quotas",
    ),
    _k(
        "attainment",
        "revenue",
        "quota",
        "higher",
        "outcome",
        "share",
        "quota attainment",
        "业绩达成率",
        table="quotas",
    ),
    _k(
        "pipeline_value",
        "pipeline_value",
        SELLERS,
        "higher",
        "process",
        "money",
        "open pipeline",
        "在途商机金额",
        additive=True,
    ),
    _k(
        "csat",
        "csat_sum",
        "csat_responses",
        "higher",
        "outcome",
        "share",
        "customer satisfaction",
        "客户满意度",
        table="csat",
    ),
    _k(
        "csat_responses",
        "csat_responses",
        SELLERS,
        None,
        None,
        "count",
        "satisfaction responses",
        "满意度回复数",
        additive=True,
        flow=True,
        table="csat",
        contract=False,
    ),
    _k("active", None, None, None, None, "flag", "active", "在岗", levels=("rep",)),
    _k(
        "n_active_reps",
        None,
        None,
        None,
        None,
        "count",
        "active reps",
        "在岗人数",
        levels=_TEAM_UP,
        contract=False,
    ),
    _k(SELLERS, None, None, None, None, "count", "active sellers", "在岗销售人数"),
    _k(
        "terminations",
        "terminations",
        SELLERS,
        "lower",
        None,
        "count",
        "departures",
        "离职人数",
        additive=True,
        flow=True,
        contract=False,
    ),
    _k(
        "seller_terminations",
        "seller_terminations",
        SELLERS,
        "lower",
        None,
        "count",
        "seller departures",
        "销售离职人数",
        additive=True,
        flow=True,
        contract=False,
    ),
    _k(
        "attrition",
        "seller_terminations",
        SELLERS,
        "lower",
        "outcome",
        "share",
        "attrition",
        "离职率",
        levels=_TEAM_UP,
    ),
    _k(
        "follow_ups_per_open_opp",
        None,
        None,
        "higher",
        "process",
        "ratio",
        "follow-ups per open opportunity",
        "每个在途商机的跟进次数",
        table="activities",
        contract=False,
    ),
    _k(
        "pipeline_coverage",
        None,
        None,
        "higher",
        "process",
        "ratio",
        "pipeline coverage",
        "商机覆盖率",
        table="quotas",
        contract=False,
    ),
    _k(
        "pipeline_velocity",
        None,
        None,
        "higher",
        None,
        "money per day",
        "pipeline velocity",
        "商机流速",
        contract=False,
    ),
    _k(
        "quarter_end_concentration",
        None,
        None,
        None,
        None,
        "share",
        "revenue in the quarter's last 14 days",
        "季末14天营收占比",
        contract=False,
    ),
    _k(
        "share_at_quota",
        None,
        None,
        "higher",
        "outcome",
        "share",
        "sellers at quota",
        "完成配额的销售占比",
        table="quotas",
        contract=False,
    ),
)

#: every KPI by name, in the panels' column order
KPIS: Mapping[str, KPI] = MappingProxyType({k.name: k for k in _REGISTRY})

#: KPIs a program can be evaluated on: the data contract's KPIs that are a ratio of sums and have a
#: good direction. Not ``quota`` (a program cannot move it: the placebo outcome), headcounts
#: (``active``, ``sellers_active``: denominators), ``opps_lost`` and ``opps_closed`` (no good
#: direction on their own; ``win_rate`` is their outcome).
OUTCOMES: tuple[str, ...] = tuple(k.name for k in _REGISTRY if k.is_outcome)

#: outcomes evaluated when none are named (run parameters, ``evaluate``, the command line)
DEFAULT_OUTCOMES: tuple[str, ...] = ("win_rate", "revenue", "follow_ups", "csat", "attrition")


def kpi(name: str) -> KPI:
    """Return the KPI called ``name``.

    Raises
    ------
    KeyError
        Naming the unknown KPI and the known ones.
    """
    try:
        return KPIS[name]
    except KeyError:
        raise KeyError(f"unknown KPI {name!r}; known: {list(KPIS)}") from None


def display_name(name: str, language: str = "en") -> str:
    """Return a KPI's name for a reader in a report language.

    Parameters
    ----------
    name : str
        The KPI (panel column, outcome) name, e.g. ``win_rate``.
    language : {"en", "zh-CN"}
        A report language (:data:`LANGUAGES`).

    Returns
    -------
    str
        The registry's name (``win rate`` / ``赢单率``); a name the registry does not know is shown
        with spaces for underscores.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {list(LANGUAGES)}")
    known = KPIS.get(name)
    return known.names[language] if known is not None else name.replace("_", " ")


@dataclass(frozen=True)
class KpiName:
    """A KPI named for a reader: :func:`display_name` in ``language`` when formatted.

    Put one in a :class:`~salesinsight.notes.Note` or a :class:`~salesinsight.results.Summary`
    cell and the report shows the KPI's name in its own language; ``str`` gives this one's. The
    format spec ``cap`` starts the name with a capital letter (``{outcome:cap}`` at the start of a
    sentence).

    Parameters
    ----------
    name : str
        The KPI name (``win_rate``).
    language : {"en", "zh-CN"}
        The language of the name.
    """

    name: str
    language: str = "en"

    def __str__(self) -> str:
        return display_name(self.name, self.language)

    def __format__(self, spec: str) -> str:
        text = str(self)
        if spec == "cap":
            return text[:1].upper() + text[1:]
        return format(text, spec)

    def in_language(self, language: str) -> KpiName:
        """Return the same KPI named in ``language``."""
        return KpiName(self.name, language)
