"""A first mapping for free: :func:`suggest_mapping` drafts one from an export folder.

It reads the headers and a sample of the values of every file in an export folder and writes a
draft mapping (YAML text with comments) for the analyst to check and edit: which file feeds which
contract table, which header feeds which column (English and Chinese synonyms), date formats and
decimal marks sniffed from the values, and value maps for ``status`` and activity ``type``
guessed from the distinct values.

It is a draft, never run as is: every guess is a line the analyst can read, required columns with
no plausible header are ``TODO`` comments, and ``salesinsight import --check`` then says what is
still wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from salesinsight.data import contract as C
from salesinsight.data.encoding import guess_encoding
from salesinsight.data.importers.excel import EXCEL_SUFFIXES, sheet_names, sheet_to_csv

__all__ = ["suggest_mapping", "SYNONYMS"]

#: Header synonyms per table and contract column (compared after :func:`_norm`).
SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "reps": {
        "rep_id": (
            "rep_id",
            "sales_agent",
            "agent",
            "user id",
            "userid",
            "employee id",
            "id",
            "工号",
            "员工编号",
            "销售员id",
            "职员编码",
            "用户id",
            "sales rep",
            "full name",
            "姓名",
            "职员名称",
            "销售员",
        ),
        "team_id": (
            "team_id",
            "team",
            "sales team",
            "group",
            "department",
            "团队",
            "组别",
            "部门",
            "主属部门",
            "所属部门",
            "regional_office",
            "region team",
        ),
        "hire_date": (
            "hire_date",
            "hire date",
            "hiredate",
            "start date",
            "入职日期",
            "入职时间",
            "joined",
        ),
        "termination_date": ("termination_date", "termination date", "end date", "离职日期"),
        "name": ("name", "full name", "姓名", "名称", "sales_agent"),
        "region": ("region", "regional_office", "office", "区域", "地区", "大区"),
        "role": ("role", "title", "职位", "角色", "岗位"),
        "manager_id": (
            "manager_id",
            "manager",
            "managerid",
            "reporting to",
            "上级",
            "上级id",
            "直属上级",
            "汇报对象",
        ),
    },
    "opportunities": {
        "opp_id": (
            "opp_id",
            "opportunity_id",
            "opportunity id",
            "deal id",
            "record id",
            "id",
            "商机id",
            "商机编号",
            "机会编号",
            "单据编号",
        ),
        "rep_id": (
            "rep_id",
            "owner",
            "ownerid",
            "sales_agent",
            "deal owner",
            "opportunity owner",
            "负责人",
            "销售员",
            "销售员id",
            "业务员",
            "归属人",
        ),
        "created_date": (
            "created_date",
            "createddate",
            "created time",
            "created",
            "engage_date",
            "create date",
            "创建日期",
            "创建时间",
            "立项日期",
            "单据日期",
        ),
        "status": (
            "status",
            "deal_stage",
            "outcome",
            "won lost",
            "状态",
            "阶段状态",
            "商机状态",
            "赢单状态",
            "stage",
            "销售阶段",
        ),
        "close_date": (
            "close_date",
            "closedate",
            "closing date",
            "closed date",
            "结单日期",
            "结束日期",
            "成交日期",
            "关闭日期",
        ),
        "amount": (
            "amount",
            "close_value",
            "value",
            "deal value",
            "金额",
            "商机金额",
            "成交金额",
            "价税合计",
            "销售金额",
        ),
        "account_id": (
            "account_id",
            "account",
            "accountid",
            "account name",
            "customer",
            "客户",
            "客户名称",
            "客户id",
        ),
        "stage": (
            "stage",
            "stagename",
            "deal_stage",
            "sales stage",
            "销售阶段",
            "商机阶段",
            "阶段",
        ),
        "source": ("source", "leadsource", "lead source", "来源", "商机来源", "线索来源"),
        "discount": ("discount", "折扣"),
    },
    "activities": {
        "activity_id": (
            "activity_id",
            "activity id",
            "record id",
            "id",
            "跟进记录id",
            "活动记录id",
            "记录编号",
            "编号",
        ),
        "rep_id": (
            "rep_id",
            "owner",
            "ownerid",
            "assigned to",
            "负责人",
            "创建人",
            "销售员id",
            "跟进人",
        ),
        "activity_date": (
            "activity_date",
            "activitydate",
            "date",
            "start time",
            "跟进日期",
            "跟进时间",
            "活动时间",
            "拜访时间",
            "签到时间",
            "创建时间",
        ),
        "type": ("type", "activity type", "call type", "跟进方式", "活动类型", "类型", "方式"),
        "opp_id": (
            "opp_id",
            "opportunity",
            "whatid",
            "related to",
            "商机id",
            "关联商机",
            "所属商机",
        ),
        "account_id": ("account_id", "account", "accountid", "客户", "客户id"),
    },
    "quotas": {
        "rep_id": ("rep_id", "owner", "销售员id", "工号", "负责人"),
        "period_start": ("period_start", "start date", "开始日期"),
        "period_end": ("period_end", "end date", "结束日期"),
        "quota_amount": ("quota_amount", "quota", "target", "目标金额", "目标", "指标"),
    },
}

#: File-name words that point at a table.
_FILE_HINTS: dict[str, tuple[str, ...]] = {
    "reps": (
        "user",
        "rep",
        "team",
        "employee",
        "staff",
        "agent",
        "员工",
        "人员",
        "销售员",
        "职员",
        "用户",
    ),
    "opportunities": ("opportunit", "deal", "pipeline", "order", "商机", "机会", "订单"),
    "activities": (
        "task",
        "event",
        "activit",
        "call",
        "meeting",
        "跟进",
        "活动",
        "拜访",
        "销售记录",
    ),
    "quotas": ("quota", "target", "目标", "指标"),
}

_WON = ("won", "closed won", "win", "赢单", "成交", "已成交", "签约", "已签约")
_LOST = ("lost", "closed lost", "lose", "输单", "丢单", "失败", "已丢单", "无效")
_TYPES = {
    "call": ("call", "phone", "电话"),
    "visit": ("visit", "on-site", "onsite", "拜访", "签到", "面访"),
    "email": ("email", "e-mail", "mail", "邮件"),
    "meeting": ("meeting", "会议"),
    "demo": ("demo", "演示"),
    "follow_up": ("follow", "回访", "跟进"),
}
_DATE_FORMATS = (
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%Y年%m月%d日",
    "%Y%m%d",
)
_SAMPLE_ROWS = 20_000  # rows read per file for values (distinct values, formats)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.()（）]+", "", str(text).strip().casefold())


@dataclass
class _Source:
    """One sheet or CSV file: its headers and a sample of values per header."""

    file: str
    sheet: str | None
    headers: list[str]
    values: dict[str, list[str]] = field(default_factory=dict)
    encoding: str | None = None

    @property
    def label(self) -> str:
        return self.file + (f" [{self.sheet}]" if self.sheet else "")


def _read_csv(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    with path.open(
        encoding="utf-8-sig" if encoding.startswith("utf-8") else encoding, newline=""
    ) as fh:
        first = fh.readline()
        counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
        delim = max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","
        rows = list(csv.reader([first], delimiter=delim))
        reader = csv.reader(fh, delimiter=delim)
        for i, row in enumerate(reader):
            if i >= _SAMPLE_ROWS:
                break
            rows.append(row)
    return ([h.strip() for h in rows[0]] if rows else []), rows[1:]


def _sources(folder: Path, tmp: Path) -> list[_Source]:
    out: list[_Source] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        suffix = path.suffix.lower()
        if suffix in EXCEL_SUFFIXES:
            try:
                names = sheet_names(path)
            except Exception:  # an unreadable workbook is simply not suggested
                continue
            for k, name in enumerate(names, start=1):
                csv_path = sheet_to_csv(path, tmp / f"{len(out)}.csv", k, header_row=None)
                headers, rows = _read_csv(csv_path, "utf-8")
                out.append(_make(path.name, name if len(names) > 1 else None, headers, rows, None))
        elif suffix in (".csv", ".txt", ".tsv"):
            guess = guess_encoding(path)
            if guess.encoding is None:
                continue
            headers, rows = _read_csv(path, guess.encoding)
            enc = None if guess.encoding.startswith("utf-8") else guess.encoding
            out.append(_make(path.name, None, headers, rows, enc))
    return out


def _make(
    file: str, sheet: str | None, headers: list[str], rows: list[list[str]], enc: str | None
) -> _Source:
    values = {
        h: [r[i].strip() for r in rows if i < len(r) and r[i].strip()]
        for i, h in enumerate(headers)
    }
    return _Source(file, sheet, headers, values, enc)


def _header_score(header: str, synonyms: Iterable[str]) -> float:
    h = _norm(header)
    best = 0.0
    for rank, s in enumerate(synonyms):
        n = _norm(s)
        if not n:
            continue
        if h == n:
            best = max(best, 3.0 - rank * 0.01)
        elif len(n) >= 2 and (n in h or (len(h) >= 2 and h in n)):
            best = max(best, 1.0 - rank * 0.01)
    return best


def _match_columns(src: _Source, table: str) -> dict[str, tuple[str, float]]:
    """Contract column -> (header, score), each header used once, best matches first."""
    pairs = []
    for col, syns in SYNONYMS[table].items():
        for h in src.headers:
            score = _header_score(h, syns)
            if score > 0:
                pairs.append((score, col, h))
    chosen: dict[str, tuple[str, float]] = {}
    used: set[str] = set()
    for score, col, h in sorted(pairs, key=lambda x: -x[0]):
        if col in chosen or h in used:
            continue
        chosen[col] = (h, score)
        used.add(h)
    # `name` and `stage` may share the header of rep_id / status (e.g. Maven's sales_agent)
    for extra, base in (("name", "rep_id"), ("stage", "status")):
        if extra in SYNONYMS[table] and extra not in chosen and base in chosen:
            h = chosen[base][0]
            if _header_score(h, SYNONYMS[table][extra]) > 0:
                chosen[extra] = (h, 0.5)
    return chosen


def _table_score(src: _Source, table: str) -> float:
    cols = _match_columns(src, table)
    spec = C.table(table)
    score = sum(s * (2 if spec.column(c).required else 1) for c, (_, s) in cols.items())
    if any(
        w in src.file.casefold() or w in (src.sheet or "").casefold() for w in _FILE_HINTS[table]
    ):
        score += 6
    return score


def _assign(sources: list[_Source]) -> dict[str, _Source]:
    scored = sorted(
        ((_table_score(s, t), t, i) for i, s in enumerate(sources) for t in SYNONYMS),
        reverse=True,
    )
    out: dict[str, _Source] = {}
    used: set[int] = set()
    for score, table, i in scored:
        if score < 8 or table in out or i in used:
            continue
        out[table] = sources[i]
        used.add(i)
    return out


def _date_formats(values: list[str]) -> tuple[list[str], str | None]:
    """Return the formats (beyond ISO) that parse every sampled value, and a warning if ambiguous."""
    vals = [v.split(" ")[0].split("T")[0] for v in values[:_SAMPLE_ROWS]]
    non_iso = [v for v in vals if not re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", v)]
    if not non_iso:
        return [], None
    fitting = []
    for fmt in _DATE_FORMATS:
        try:
            for v in non_iso:
                dt.datetime.strptime(v, fmt)
        except ValueError:
            continue
        fitting.append(fmt)
    if "%m/%d/%Y" in fitting and "%d/%m/%Y" in fitting:
        return ["%m/%d/%Y"], (
            "month-first and day-first both fit every sampled date: check which your export uses"
        )
    if not fitting and all(re.fullmatch(r"\d{5}(\.\d+)?", v) for v in non_iso):
        return ["excel"], None
    return fitting[:1], None if fitting else "no known format fits; add yours"


def _decimal_comma(values: list[str]) -> bool:
    """Return True when numbers look European: 1.234,56 or 12,5 (comma then 1-2 digits at the end)."""
    hits = [v for v in values if re.fullmatch(r"[^\d-]*-?[\d.]*\d,\d{1,2}[^\d]*", v)]
    return len(hits) > 0 and len(hits) >= len(values) / 2


def _status_values(values: list[str]) -> dict[str, str]:
    out = {}
    allowed = C.table("opportunities").column("status").allowed or ()
    for v in sorted(set(values)):
        n = v.strip().casefold()
        if n in allowed:
            continue
        if any(w == n or w in n for w in _WON):
            out[v] = "won"
        elif any(w == n or w in n for w in _LOST):
            out[v] = "lost"
        else:
            out[v] = "open"
    return out


def _type_values(values: list[str]) -> dict[str, str]:
    out = {}
    for v in sorted(set(values)):
        n = v.casefold()
        for target, words in _TYPES.items():
            if any(w in n for w in words):
                out[v] = target
                break
    return out


def _q(text: object) -> str:
    return json.dumps(str(text), ensure_ascii=False)


def _find(src: _Source, *names: str) -> str | None:
    """Return the header among ``names`` (normalised comparison), if the file has one."""
    wanted = {_norm(n) for n in names}
    return next((h for h in src.headers if _norm(h) in wanted), None)


def _special_columns(src: _Source, table: str) -> dict[str, list[str]]:
    """Return the column specs recognised as a whole rather than header by header.

    A won/closed flag pair for status (Salesforce IsClosed + IsWon), first + last name, an amount
    with a currency code column.
    """
    out: dict[str, list[str]] = {}
    if table == "opportunities":
        closed, won = _find(src, "IsClosed", "Closed"), _find(src, "IsWon", "Won")
        if closed and won:
            pairs = {
                "|".join(p): v
                for p, v in (
                    (("true", "true"), "won"),
                    (("true", "false"), "lost"),
                    (("false", "false"), "open"),
                    (("1", "1"), "won"),
                    (("1", "0"), "lost"),
                    (("0", "0"), "open"),
                )
            }
            out["status"] = [
                "      status:   # from the closed and won flags",
                f"        from: [{_q(closed)}, {_q(won)}]",
                "        values:",
                *(f"          {_q(k)}: {v}" for k, v in pairs.items()),
            ]
        amount = _match_columns(src, table).get("amount")
        code = _find(src, "CurrencyIsoCode", "Currency", "币种", "货币")
        if amount and code:
            codes = sorted({v.upper() for v in src.values.get(code, [])})
            note = (
                f"   # {len(codes)} currencies ({', '.join(codes[:6])}): add `fx:` rates"
                if len(codes) > 1
                else ""
            )
            out["amount"] = [
                f"      amount:{note}",
                f"        from: {_q(amount[0])}",
                f"        currency_column: {_q(code)}",
            ]
    if table == "reps":
        first, last = _find(src, "FirstName", "First Name"), _find(src, "LastName", "Last Name")
        if first and last:
            out["name"] = [f'      name: {{from: [{_q(first)}, {_q(last)}], join: " "}}']
    return out


def _table_yaml(table: str, src: _Source) -> list[str]:
    lines = [f"  {table}:", f"    file: {_q(src.file)}"]
    if src.sheet:
        lines.append(f"    sheet: {_q(src.sheet)}")
    if src.encoding:
        lines.append(f"    encoding: {src.encoding}   # guessed from the content: check accents")
    cols = _match_columns(src, table)
    spec = C.table(table)
    date_fmts: set[str] = set()
    notes: list[str] = []
    numbers: list[str] = []
    lines.append("    columns:")
    special = _special_columns(src, table)
    for col in spec.columns:
        if col.name in special:
            lines += special[col.name]
            continue
        if col.name not in cols:
            if col.required:
                lines.append(
                    f"      # TODO {col.name}: <header>   (required; no header looked like it)"
                )
            continue
        h, score = cols[col.name]
        sure = "" if score >= 2.5 else "   # guess: check"
        values = src.values.get(h, [])
        if col.kind == C.DATE:
            fmts, warn = _date_formats(values)
            date_fmts.update(f for f in fmts if f != "excel")
            if "excel" in fmts:
                notes.append("excel_dates")
            if warn:
                sure += f"   # {col.name}: {warn}"
        if col.kind == C.NUMBER:
            numbers += values
        if table == "opportunities" and col.name == "status" and values:
            mapped = _status_values(values)
            lines.append(f"      status:{sure}")
            lines.append(f"        from: {_q(h)}")
            if mapped:
                lines.append("        values:   # guessed from the values: won / lost / open")
                lines += [f"          {_q(k)}: {v}" for k, v in mapped.items()]
            continue
        if table == "opportunities" and col.name == "close_date":
            lines.append(f"      close_date:{sure}")
            lines.append(f"        from: {_q(h)}")
            lines.append("        only_when: {status: [won, lost]}")
            continue
        if table == "activities" and col.name == "type" and values:
            mapped = _type_values(values)
            lines.append(f"      type:{sure}")
            lines.append(f"        from: {_q(h)}")
            if mapped:
                lines.append("        values:")
                lines += [f"          {_q(k)}: {v}" for k, v in mapped.items()]
            lines.append(
                "        unmapped: other   # values matched by nothing (listed as a warning)"
            )
            continue
        lines.append(f"      {col.name}: {_q(h)}{sure}")
    if date_fmts:
        lines.append(f"    date_formats: [{', '.join(_q(f) for f in sorted(date_fmts))}]")
    if "excel_dates" in notes:
        lines.append("    excel_dates: true   # 5-digit numbers in date columns: Excel serials")
    if numbers and _decimal_comma(numbers):
        lines.append('    decimal: ","   # numbers look like 1.234,56')
        lines.append('    thousands: "."')
    used = {v[0] for v in cols.values()} | {
        h for h in src.headers if any(_q(h) in line for lines in special.values() for line in lines)
    }
    unused = [h for h in src.headers if h not in used]
    if unused:
        lines.append(f"    # not mapped: {', '.join(unused)}   (keep any with `extra:`)")
    return lines


def suggest_mapping(folder: str | Path) -> str:
    """Return a draft mapping (YAML text) for the export files in ``folder``.

    Parameters
    ----------
    folder : the export folder (only read): CSV files and workbooks (every sheet) are considered.

    Returns
    -------
    str
        YAML with comments: a table per recognised file, a line per mapped column, ``TODO``
        comments for required columns with no plausible header. Check it, then run
        ``salesinsight import --check --mapping draft.yaml``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"export folder {folder} does not exist")
    with tempfile.TemporaryDirectory(prefix="salesinsight-suggest-") as tmp:
        sources = _sources(folder, Path(tmp))
    assigned = _assign(sources)
    lines = [
        f"# Draft mapping for {folder.name}, written by `salesinsight import --suggest` from the",
        "# headers and sampled values. Every line is a guess: check it, fill the TODOs, then",
        f"# `salesinsight import {folder} --mapping THIS.yaml --check`. Format: docs/importers.md.",
        f"name: {_q(folder.name)}",
        "tables:",
    ]
    for table in C.TABLE_NAMES:
        if table in assigned:
            lines += _table_yaml(table, assigned[table])
        elif table in ("reps", "opportunities"):
            lines.append(f"  # TODO {table}: no file looked like it (required)")
    others = [s.label for s in sources if s not in assigned.values()]
    if others:
        lines.append(f"# files not used: {', '.join(others)}")
    return "\n".join(lines) + "\n"
