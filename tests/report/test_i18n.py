"""Message catalogs and locale formatting of the report (salesinsight.i18n)."""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

import salesinsight.report as report_pkg
from salesinsight.i18n import EXTRACT_KEYWORDS, LANGUAGES, Lang, catalog_path
from salesinsight.report.params import RunParams

PACKAGE = Path(report_pkg.__file__).parents[1]
#: the report's modules, the languages and the results contract (a ``Summary`` says its own words in
#: the report's language), and every module that writes translatable notes (``Note("...")``).
REPORT_MODULES = sorted(
    set(Path(report_pkg.__file__).parent.glob("*.py"))
    | {PACKAGE / "i18n.py", PACKAGE / "results.py"}
    | {
        p
        for p in PACKAGE.rglob("*.py")
        if "from salesinsight.notes import Note" in p.read_text(encoding="utf-8")
    }
)
PLACEHOLDER = re.compile(r"\{(\w*)(?::[^{}]*)?\}")  # the name, without a format spec


def _babel_messages() -> dict[str, Path]:
    """What `pybabel extract -k tr -k N_ salesinsight/report` finds."""
    out: dict[str, Path] = {}
    for path in REPORT_MODULES:
        for _line, msg, _c, _ctx in extract_from_file("python", path, keywords=EXTRACT_KEYWORDS):
            out.setdefault(msg, path)
    return out


def _ast_messages() -> set[str]:
    """Every literal passed to ``.tr(...)`` or ``N_(...)``, wherever it sits (f-strings too)."""
    out = set()
    for path in REPORT_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if name in EXTRACT_KEYWORDS and isinstance(first, ast.Constant):
                out.add(first.value)
    return out


def _catalog():
    with catalog_path("zh-CN").open("rb") as fh:
        return read_po(fh)


def test_babel_extraction_sees_every_marked_message():
    """A message hidden from pybabel (e.g. inside an f-string on Python 3.11) would never be
    translated; the AST sees them all, so the two lists must agree."""
    babel = set(_babel_messages())
    assert len(babel) > 100
    assert _ast_messages() == babel


def test_every_message_has_a_chinese_translation():
    catalog = _catalog()
    missing, fuzzy, bad_placeholders = [], [], []
    for msg in _babel_messages():
        entry = catalog.get(msg)
        if entry is None or not entry.string:
            missing.append(msg)
            continue
        if entry.fuzzy:
            fuzzy.append(msg)
        if set(PLACEHOLDER.findall(msg)) != set(PLACEHOLDER.findall(entry.string)):
            bad_placeholders.append(msg)
    assert not missing, f"{len(missing)} message(s) without a zh-CN translation: {missing[:5]}"
    assert not fuzzy, fuzzy
    assert not bad_placeholders, bad_placeholders


def test_catalog_holds_no_stale_messages():
    in_code = set(_babel_messages())
    stale = [m.id for m in _catalog() if m.id and m.id not in in_code]
    assert not stale, f"messages no longer in the code: {stale[:5]}"


def test_chinese_words_come_from_the_catalog():
    zh = Lang("zh-CN")
    assert zh.tr("worked") == "有效"
    assert zh.tr("mentoring") == "师徒制"
    assert zh.tr("Capability profiles and early warnings") == "能力画像与智能预警"
    assert zh.tr("{name} worked: {effects}.", name="周度辅导", effects="赢单率+3.5个百分点") == (
        "周度辅导有效：赢单率+3.5个百分点。"
    )
    assert Lang("en").tr("worked") == "worked"


def test_locale_formatting_of_money_percent_points_and_dates():
    # reference strings: CLDR conventions (万 = 10^4 in Chinese compact numbers)
    zh, en = Lang("zh-CN", "CNY"), Lang("en", "CNY")
    assert zh.money(970_000, compact=True) == "¥97万"
    assert en.money(970_000, compact=True) == "¥970K"
    assert en.money(1847.4) == "¥1,847"
    assert en.money(1847.4, signed=True) == "+\u2060¥1,847"  # the sign stays with its symbol
    assert zh.percent(0.143, signed=True) == "+14%"
    assert en.points(0.035) == "+3.5 pp"
    assert zh.points(0.035) == "+3.5个百分点"
    assert zh.date(date(2026, 10, 1)) == "2026年10月1日"
    assert en.date(date(2026, 10, 1)) == "Oct 1, 2026"
    assert Lang("en", "USD").money(-2510) == "\u2212\u2060$2,510"  # a true minus sign
    assert Lang("en").money(2510) == "2,510"  # no currency given: a plain number


def test_numbers_never_use_scientific_notation():
    en = Lang("en")
    for value in (6.63e-05, 3.177e04, 1.2e9, -4.5e-7):
        text = en.sig(value)
        assert "e" not in text.lower(), text
    assert en.sig(31770) == "31,770"
    assert en.sig(0.000663) == "0.001"


def test_languages_are_checked():
    assert set(LANGUAGES) == {"en", "zh-CN"}
    with pytest.raises(ValueError, match="zh"):
        Lang("zh")
    base = {"quarter": "2026Q2", "data_dir": "."}
    assert RunParams.model_validate({**base, "language": "zh-CN"}).language == "zh-CN"
    with pytest.raises(ValueError, match="language"):
        RunParams.model_validate({**base, "language": "zh"})
    with pytest.raises(ValueError, match="ISO 4217"):
        RunParams.model_validate({**base, "currency": "RMB"})


def test_run_notes_stay_english_in_results_and_are_translated_in_the_report():
    import json
    import pickle

    from salesinsight.i18n import Note

    note = Note("Program {pid} starts after {quarter}; not evaluated.", pid="P_X", quarter="2026Q4")
    assert json.dumps([note]) == '["Program P_X starts after 2026Q4; not evaluated."]'
    again = pickle.loads(pickle.dumps(note))  # the notebook kernel may pickle the report
    assert Lang("zh-CN").note(again) == "项目 P_X 在2026Q4之后才开始，未评估。"
    assert Lang("zh-CN").note("a plain string") == "a plain string"


def test_every_check_and_archetype_the_models_produce_has_plain_words():
    """Names produced by the estimators and the profiles must not reach the reader as
    identifiers; the source is scanned so a new check cannot slip through."""
    import salesinsight
    from salesinsight.metrics._profiles import ARCHETYPES
    from salesinsight.report.vocabulary import ARCHETYPE_NAMES, CHECK_NAMES

    names = set()
    root = Path(salesinsight.__file__).parent
    for folder in (root / "causal", root / "evaluation"):
        for path in folder.glob("*.py"):
            text = path.read_text(encoding="utf-8")
            names |= set(re.findall(r'Diagnostic\(\s*"([a-z_]+)"', text))
            names |= set(re.findall(r'Diagnostic\(\s*name="([a-z_]+)"', text))
            names |= set(re.findall(r'd\.name == "([a-z_]+)"', text))
    assert {"balance", "pre_trends", "placebo_date", "randomization_check"} <= names
    assert names <= set(CHECK_NAMES), sorted(names - set(CHECK_NAMES))
    assert set(ARCHETYPES) <= set(ARCHETYPE_NAMES)
