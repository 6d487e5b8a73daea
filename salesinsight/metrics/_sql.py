"""SQL text of the KPI panel (DuckDB), built from small pieces.

The query aggregates each table once per (rep, period), joins the aggregates onto the balanced
rep x period grid, and rolls the grid up to the requested level by summing numerators and
denominators. Only the final panel (one row per entity and period) leaves DuckDB.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from salesinsight.calendar import (
    sql_in_last_days_of_quarter,
    sql_period_start,
    sql_quarter_index,
)
from salesinsight.kpis import ACTIVITY_COLUMNS

#: bits per activity type in the packed count: 7 x 18 = 126 bits fit a HUGEINT; exact while a
#: rep has fewer than 262,144 activities in one period
PACKED_FIELD_BITS = 18


_WON, _CLOSED = "status = 'won'", "status IN ('won', 'lost')"
#: an opportunity that can be in the pipeline: open, or closed on/after its creation
_PIPELINE_ELIGIBLE = f"(status = 'open' OR ({_CLOSED} AND close_date >= created_date))"


@dataclass(frozen=True)
class PanelQuery:
    """Everything the SQL depends on.

    Attributes
    ----------
    grain, fiscal_year_start_month : the calendar.
    level : ``"rep"``, ``"team"`` or ``"company"``.
    periods : ``(period_start, period_end, quarter_start, quarter_end, label)`` of every period,
        in order; the quarter is the (fiscal) quarter containing ``period_start``.
    has_activities, has_quotas, has_csat : optional tables present.
    activity_field_bits : int or None
        Bits per activity type in the packed per-type count (see ``_activities_cte``); ``None``
        counts each type with its own filtered aggregate (slower, no limit).
    non_selling_roles : roles (compared lower case) that are not sellers: they count in totals
        but not in ``sellers_active`` (see the data contract's KPI definitions).
    """

    grain: str
    fiscal_year_start_month: int
    level: str
    periods: tuple[tuple[dt.date, dt.date, dt.date, dt.date, str], ...]
    has_activities: bool
    has_quotas: bool
    has_csat: bool
    activity_field_bits: int | None = PACKED_FIELD_BITS
    non_selling_roles: tuple[str, ...] = ("manager",)

    @property
    def lo(self) -> dt.date:
        """First day of the first period."""
        return self.periods[0][0]

    @property
    def hi(self) -> dt.date:
        """Last day of the last period."""
        return self.periods[-1][1]

    @property
    def quarter_lo(self) -> dt.date:
        """First day of the quarter containing the first period's start."""
        return self.periods[0][2]

    @property
    def quarter_hi(self) -> dt.date:
        """Last day of the last quarter touched by a period."""
        return max(self.hi, self.periods[-1][3])

    def p(self, column: str) -> str:
        """Period start of a DATE column."""
        return sql_period_start(column, self.grain, self.fiscal_year_start_month)

    def q(self, column: str) -> str:
        """(Fiscal) quarter of a DATE column, as the month index of its first month."""
        return sql_quarter_index(column, self.fiscal_year_start_month)

    def in_last_14_days(self, column: str) -> str:
        """Return True when a DATE column falls in the last 14 days of its (fiscal) quarter."""
        return sql_in_last_days_of_quarter(column, 14, self.fiscal_year_start_month)


#: exact type that floating-point sums are carried out in (see :func:`exact_sum`)
EXACT_DECIMAL = "DECIMAL(38, 12)"


def exact_sum(expr: str, where: str | None = None) -> str:
    """Return SQL for a sum of a floating-point expression that does not depend on DuckDB's threads.

    DuckDB adds doubles in whatever order its threads combine partial aggregates, so a float
    ``sum`` can differ in the last digits from run to run. Each value is rounded to 1e-12 and
    added as a 128-bit decimal (exact, hence order-free), then returned as a DOUBLE.
    """
    filt = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(sum(CAST({expr} AS {EXACT_DECIMAL})){filt} AS DOUBLE)"


def _date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"


def _round_money(expr: str) -> str:
    # Pipeline balances are running sums of additions and removals in floating point; rounding to
    # 1e-6 of the currency unit removes the representation residue (0.1 + 0.2 - 0.3 = 5.6e-17) so
    # that an empty pipeline is exactly 0.
    return f"round({expr}, 6)"


def _keys(level: str) -> list[str]:
    return {"rep": ["rep_id", "team_id"], "team": ["team_id"], "company": []}[level]


def _periods_cte(pq: PanelQuery) -> str:
    rows = ",\n    ".join(
        f"({_date(s)}, {_date(e)}, {q.year * 12 + q.month - 1}, '{label}')"
        for s, e, q, _, label in pq.periods
    )
    return f"periods(period_start, period_end, q_idx, period) AS (VALUES\n    {rows})"


def _seller_expr(pq: PanelQuery) -> str:
    roles = [r.strip().lower() for r in pq.non_selling_roles if r.strip()]
    if not roles:
        return "TRUE"
    listed = ", ".join("'" + r.replace("'", "''") + "'" for r in roles)
    return f"COALESCE(lower(trim(r.role)) NOT IN ({listed}), TRUE)"


def _grid_cte(pq: PanelQuery) -> str:
    return f"""grid AS (
  SELECT r.rep_id, r.team_id, p.period_start, p.period_end, p.q_idx,
         COALESCE(r.hire_date <= p.period_end, TRUE)
           AND (r.termination_date IS NULL OR r.termination_date >= p.period_start) AS active,
         COALESCE(r.termination_date BETWEEN p.period_start AND p.period_end, FALSE) AS terminated,
         {_seller_expr(pq)} AS seller
  FROM reps AS r CROSS JOIN periods AS p)"""


def _activities_cte(pq: PanelQuery) -> str:
    where = f"activity_date BETWEEN {_date(pq.lo)} AND {_date(pq.hi)}"
    bits = pq.activity_field_bits
    if bits is None:
        counts = ",\n         ".join(
            f"count(*) FILTER (WHERE type = '{t}') AS {col}" for t, col in ACTIVITY_COLUMNS.items()
        )
        return f"""act AS MATERIALIZED (
  SELECT rep_id, {pq.p("activity_date")} AS period_start, count(*) AS activities,
         {counts},
         false AS act_overflow
  FROM activities
  WHERE {where}
  GROUP BY ALL)"""
    # Packed counting: one HUGEINT sum per (rep, period) whose bit field i counts type i. One
    # aggregate instead of seven filtered ones makes the 50-million-row scan ~25% cheaper. A field
    # can only overflow when the group has >= 2**bits activities; such groups are flagged and the
    # caller reruns with exact per-type aggregates (activity_field_bits=None).
    when = " ".join(
        f"WHEN '{t}' THEN CAST(1 AS HUGEINT) << {bits * i}" for i, t in enumerate(ACTIVITY_COLUMNS)
    )
    mask = (1 << bits) - 1
    unpack = ",\n         ".join(
        f"CAST((packed >> {bits * i}) & {mask} AS BIGINT) AS {col}"
        for i, col in enumerate(ACTIVITY_COLUMNS.values())
    )
    return f"""act_packed AS MATERIALIZED (
  SELECT rep_id, {pq.p("activity_date")} AS period_start, count(*) AS activities,
         COALESCE(sum(CASE type {when} END), 0) AS packed
  FROM activities
  WHERE {where}
  GROUP BY ALL),
act AS (
  SELECT rep_id, period_start, activities,
         {unpack},
         activities >= {1 << bits} AS act_overflow
  FROM act_packed)"""


def _opportunity_ctes(pq: PanelQuery) -> list[str]:
    lo, hi = _date(pq.lo), _date(pq.hi)
    qlo, qhi = _date(pq.quarter_lo), _date(pq.quarter_hi)
    amount = "COALESCE(amount, 0)"
    created = f"""created AS MATERIALIZED (
  SELECT rep_id, {pq.p("created_date")} AS period_start, count(*) AS opps_created,
         {exact_sum(amount, _PIPELINE_ELIGIBLE)} AS pipe_add_value,
         count(*) FILTER (WHERE {_PIPELINE_ELIGIBLE}) AS pipe_add_n
  FROM opportunities
  WHERE created_date BETWEEN {lo} AND {hi}
  GROUP BY ALL)"""
    median = (
        f"median(amount) FILTER (WHERE {_WON}) AS median_deal_size"
        if pq.level == "rep"
        else "CAST(NULL AS DOUBLE) AS median_deal_size"  # pooled over the team: see _median_cte
    )
    closed = f"""closed AS MATERIALIZED (
  SELECT rep_id, {pq.p("close_date")} AS period_start,
         count(*) FILTER (WHERE {_WON}) AS opps_won,
         count(*) FILTER (WHERE status = 'lost') AS opps_lost,
         {exact_sum("amount", _WON)} AS revenue,
         sum(close_date - created_date) FILTER (WHERE {_WON}) AS cycle_sum,
         {exact_sum(amount, "close_date >= created_date")} AS pipe_rm_value,
         count(*) FILTER (WHERE close_date >= created_date) AS pipe_rm_n,
         {median}
  FROM opportunities
  WHERE {_CLOSED} AND close_date BETWEEN {lo} AND {hi}
  GROUP BY ALL)"""
    # Quarter-end concentration needs whole quarters, so won deals are read from the first day of
    # the first quarter to the last day of the last one, whatever the panel range.
    quarterly = f"""quarterly AS (
  SELECT rep_id, {pq.q("close_date")} AS q_idx, {exact_sum("amount")} AS q_revenue,
         COALESCE({exact_sum("amount", pq.in_last_14_days("close_date"))}, 0)
           AS q_rev_last14
  FROM opportunities
  WHERE {_WON} AND close_date BETWEEN {qlo} AND {qhi}
  GROUP BY ALL)"""
    opening = f"""opening AS (
  SELECT rep_id, {exact_sum(amount)} AS open_value, count(*) AS open_n
  FROM opportunities
  WHERE created_date < {lo} AND {_PIPELINE_ELIGIBLE}
    AND (status = 'open' OR close_date >= {lo})
  GROUP BY ALL)"""
    return [created, closed, quarterly, opening]


def _csat_cte(pq: PanelQuery) -> str:
    ratio = "score / NULLIF(scale, 0)"
    return f"""csat_agg AS (
  SELECT rep_id, {pq.p("response_date")} AS period_start,
         {exact_sum(ratio)} AS csat_sum, count({ratio}) AS csat_n
  FROM csat
  WHERE response_date BETWEEN {_date(pq.lo)} AND {_date(pq.hi)}
  GROUP BY ALL)"""


def _quota_cte() -> str:
    overlap = "(least(q.period_end, p.period_end) - greatest(q.period_start, p.period_start) + 1)"
    return f"""quota_agg AS (
  SELECT q.rep_id, p.period_start,
         {exact_sum(f"q.quota_amount * {overlap} / (q.period_end - q.period_start + 1)")}
           AS quota
  FROM quotas AS q JOIN periods AS p
    ON q.period_start <= p.period_end AND q.period_end >= p.period_start
  WHERE q.period_end >= q.period_start
  GROUP BY ALL)"""


def _running_cte() -> str:
    # Running pipeline balance per rep: the opening balance (open on the day before the first
    # period) plus every (created - closed) change up to the period's end. Computed on a narrow
    # table so that the window operator sorts four columns, not the whole grid.
    return f"""pipe_delta AS (
  SELECT rep_id, period_start, {exact_sum("dv")} AS dv, sum(dn) AS dn
  FROM (SELECT rep_id, period_start, pipe_add_value AS dv, pipe_add_n AS dn FROM created
        UNION ALL
        SELECT rep_id, period_start, -pipe_rm_value, -pipe_rm_n FROM closed)
  GROUP BY ALL),
running AS (
  SELECT g.rep_id, g.period_start, COALESCE(d.dv, 0) AS pipe_delta_value,
         COALESCE(o.open_value, 0)
           + CAST(sum(CAST(COALESCE(d.dv, 0) AS {EXACT_DECIMAL})) OVER w AS DOUBLE) AS pipeline_end,
         COALESCE(o.open_n, 0) + sum(COALESCE(d.dn, 0)) OVER w AS n_open_end
  FROM grid AS g
  LEFT JOIN pipe_delta AS d ON d.rep_id = g.rep_id AND d.period_start = g.period_start
  LEFT JOIN opening AS o ON o.rep_id = g.rep_id
  WINDOW w AS (PARTITION BY g.rep_id ORDER BY g.period_start
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))"""


def _base_cte(pq: PanelQuery) -> str:
    def count(src: str, col: str, present: bool = True) -> str:
        return f"COALESCE({src}.{col}, 0)" if present else "CAST(NULL AS BIGINT)"

    cols = ["g.rep_id", "g.team_id", "g.period_start", "g.active", "g.terminated", "g.seller"]
    cols.append(f"{count('a', 'activities', pq.has_activities)} AS activities")
    cols += [f"{count('a', c, pq.has_activities)} AS {c}" for c in ACTIVITY_COLUMNS.values()]
    cols += [
        "COALESCE(c.opps_created, 0) AS opps_created",
        "COALESCE(cl.opps_won, 0) AS opps_won",
        "COALESCE(cl.opps_lost, 0) AS opps_lost",
        "COALESCE(cl.revenue, 0) AS revenue",
        "cl.cycle_sum AS cycle_sum",
        "cl.median_deal_size",
        "qa.quota AS quota" if pq.has_quotas else "CAST(NULL AS DOUBLE) AS quota",
        "cs.csat_sum AS csat_sum" if pq.has_csat else "CAST(NULL AS DOUBLE) AS csat_sum",
        "COALESCE(cs.csat_n, 0) AS csat_n" if pq.has_csat else "CAST(NULL AS BIGINT) AS csat_n",
        "qr.q_revenue AS q_revenue",
        "qr.q_rev_last14 AS q_rev_last14",
        "ru.pipeline_end",
        # pipeline open at the period's start = end balance minus this period's net change
        "ru.pipeline_end - ru.pipe_delta_value AS pipeline_start",
        "ru.n_open_end",
        "COALESCE(a.act_overflow, false) AS act_overflow"
        if pq.has_activities
        else "false AS act_overflow",
    ]
    joins = [
        "LEFT JOIN created AS c ON c.rep_id = g.rep_id AND c.period_start = g.period_start",
        "LEFT JOIN closed AS cl ON cl.rep_id = g.rep_id AND cl.period_start = g.period_start",
        "LEFT JOIN quarterly AS qr ON qr.rep_id = g.rep_id AND qr.q_idx = g.q_idx",
        "LEFT JOIN running AS ru ON ru.rep_id = g.rep_id AND ru.period_start = g.period_start",
    ]
    if pq.has_activities:
        joins.append(
            "LEFT JOIN act AS a ON a.rep_id = g.rep_id AND a.period_start = g.period_start"
        )
    if pq.has_quotas:
        joins.append(
            "LEFT JOIN quota_agg AS qa ON qa.rep_id = g.rep_id AND qa.period_start = g.period_start"
        )
    if pq.has_csat:
        joins.append(
            "LEFT JOIN csat_agg AS cs ON cs.rep_id = g.rep_id AND cs.period_start = g.period_start"
        )
    joined = "\n  ".join(joins)
    select = ",\n         ".join(cols)
    return f"""base AS (
  SELECT {select}
  FROM grid AS g
  {joined})"""


#: columns summed from reps to teams / the company
_SUMMED = ("activities", *ACTIVITY_COLUMNS.values(), "opps_created", "opps_won", "opps_lost")
_SUMMED += ("revenue", "cycle_sum", "quota", "csat_sum", "csat_n", "q_revenue", "q_rev_last14")
#: the floating-point ones among them, summed exactly (see :func:`exact_sum`)
_FLOAT_SUMMED = frozenset({"revenue", "quota", "csat_sum", "q_revenue", "q_rev_last14"})


def _level_cte(pq: PanelQuery) -> str:
    keys = _keys(pq.level)
    with_quota = "quota IS NOT NULL"
    at_quota = "active AND quota > 0 AND revenue >= quota"
    if pq.level == "rep":  # one grid row per rep and period already: no aggregation
        cols = [*keys, "period_start", *_SUMMED, "median_deal_size"]
        cols += [
            f"{_round_money('pipeline_end')} AS pipeline_value",
            "n_open_end",
            f"CASE WHEN {with_quota} THEN revenue END AS revenue_with_quota",
            f"CASE WHEN {with_quota} THEN {_round_money('pipeline_start')} END"
            " AS pipeline_start_with_quota",
            "active",
            "CAST(active AS BIGINT) AS n_active_reps",
            "CAST(terminated AS BIGINT) AS terminations",
            "CAST(active AND seller AS BIGINT) AS sellers_active",
            "CAST(terminated AND seller AS BIGINT) AS seller_terminations",
            "CAST(active AND quota > 0 AS BIGINT) AS n_with_quota",
            f"CAST({at_quota} AS BIGINT) AS n_at_quota",
            "act_overflow",
        ]
        select = ",\n         ".join(cols)
        return f"""lvl AS (
  SELECT {select}
  FROM base)"""
    group = ", ".join([*keys, "period_start"])
    start_with_quota = exact_sum("pipeline_start", with_quota)
    cols = [f"{exact_sum(c) if c in _FLOAT_SUMMED else f'sum({c})'} AS {c}" for c in _SUMMED]
    cols += [
        f"{_round_money(exact_sum('pipeline_end'))} AS pipeline_value",
        "sum(n_open_end) AS n_open_end",
        f"{exact_sum('revenue', with_quota)} AS revenue_with_quota",
        f"{_round_money(start_with_quota)} AS pipeline_start_with_quota",
        "bool_or(active) AS active",
        "count(*) FILTER (WHERE active) AS n_active_reps",
        "count(*) FILTER (WHERE terminated) AS terminations",
        "count(*) FILTER (WHERE active AND seller) AS sellers_active",
        "count(*) FILTER (WHERE terminated AND seller) AS seller_terminations",
        "count(*) FILTER (WHERE active AND quota > 0) AS n_with_quota",
        f"count(*) FILTER (WHERE {at_quota}) AS n_at_quota",
        "bool_or(act_overflow) AS act_overflow",
    ]
    select = ",\n         ".join(cols)
    return f"""lvl AS (
  SELECT {group},
         {select}
  FROM base
  GROUP BY {group})"""


def _median_cte(pq: PanelQuery) -> str:
    keys = [f"r.{k}" for k in _keys(pq.level)]
    sel = ", ".join([*keys, f"{pq.p('o.close_date')} AS period_start"])
    return f"""med AS (
  SELECT {sel}, median(o.amount) AS median_deal_size
  FROM opportunities AS o JOIN reps AS r ON r.rep_id = o.rep_id
  WHERE o.{_WON} AND o.close_date BETWEEN {_date(pq.lo)} AND {_date(pq.hi)}
  GROUP BY ALL)"""


def _final_select(pq: PanelQuery) -> str:
    keys = _keys(pq.level)
    win_rate = "opps_won / NULLIF(opps_won + opps_lost, 0)"
    avg_deal = "revenue / NULLIF(opps_won, 0)"
    cycle = "cycle_sum / NULLIF(opps_won, 0)"
    cols = ["l.period_start", "p.period", *[f"l.{k}" for k in keys]]
    cols += ["activities", *ACTIVITY_COLUMNS.values()]
    cols += [
        "opps_created",
        "opps_won",
        "opps_lost",
        "opps_won + opps_lost AS opps_closed",
        f"{win_rate} AS win_rate",
        "revenue",
        f"{avg_deal} AS avg_deal_size",
        "median_deal_size",
        f"{cycle} AS cycle_days",
        "quota",
        "revenue_with_quota / NULLIF(quota, 0) AS attainment",
        "pipeline_value",
        "csat_sum / NULLIF(csat_n, 0) AS csat",
        "csat_n AS csat_responses",
    ]
    if pq.level == "rep":
        cols += ["active", "sellers_active", "terminations", "seller_terminations"]
    else:
        cols += [
            "n_active_reps",
            "sellers_active",
            "terminations",
            "seller_terminations",
            "seller_terminations / NULLIF(sellers_active, 0) AS attrition",
        ]
    cols += [
        "follow_ups / NULLIF(n_open_end, 0) AS follow_ups_per_open_opp",
        "pipeline_start_with_quota / NULLIF(quota, 0) AS pipeline_coverage",
        f"n_open_end * ({win_rate}) * ({avg_deal}) / NULLIF({cycle}, 0) AS pipeline_velocity",
        "q_rev_last14 / NULLIF(q_revenue, 0) AS quarter_end_concentration",
        "n_at_quota / NULLIF(n_with_quota, 0) AS share_at_quota",
        "act_overflow AS _act_overflow",
    ]
    order = ", ".join([*[f"l.{k}" for k in keys], "l.period_start"])
    select = ",\n       ".join(cols)
    source = "lvl AS l JOIN periods AS p ON p.period_start = l.period_start"
    if pq.level != "rep":  # a rep's median comes with its closed-deal aggregates
        on = " AND ".join(f"m.{k} IS NOT DISTINCT FROM l.{k}" for k in [*keys, "period_start"])
        source += f" LEFT JOIN med AS m ON {on}"
    return f"""SELECT {select}
FROM {source}
ORDER BY {order}"""


def panel_sql(pq: PanelQuery) -> str:
    """Return the whole panel query for ``pq`` (one statement)."""
    ctes = [_periods_cte(pq), _grid_cte(pq)]
    if pq.has_activities:
        ctes.append(_activities_cte(pq))
    ctes += _opportunity_ctes(pq)
    if pq.has_csat:
        ctes.append(_csat_cte(pq))
    if pq.has_quotas:
        ctes.append(_quota_cte())
    ctes += [_running_cte(), _base_cte(pq), _level_cte(pq)]
    if pq.level != "rep":
        ctes.append(_median_cte(pq))
    return "WITH " + ",\n".join(ctes) + "\n" + _final_select(pq)


def data_range_sql(has_activities: bool, has_csat: bool) -> str:
    """Earliest and latest event date: activities, opportunities created/closed, CSAT responses."""
    parts = [
        "SELECT least(min(created_date), min(close_date) FILTER (WHERE "
        f"{_CLOSED})) AS lo, greatest(max(created_date), max(close_date) FILTER (WHERE {_CLOSED})) "
        "AS hi FROM opportunities"
    ]
    if has_activities:
        parts.append("SELECT min(activity_date), max(activity_date) FROM activities")
    if has_csat:
        parts.append("SELECT min(response_date), max(response_date) FROM csat")
    union = "\n  UNION ALL ".join(parts)
    return f"SELECT min(lo) AS lo, max(hi) AS hi FROM (\n  {union})"
