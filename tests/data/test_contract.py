"""The contract as code agrees with the written contract (docs/data-contract.md and the shared one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesinsight.data import contract as C
from tests._reference import shared_file

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "data-contract.md"


def parse_tables(markdown: str) -> dict[str, dict]:
    """Parse the '## Tables' section: per table, whether required and its column rows."""
    section = markdown.split("## Tables", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, dict] = {}
    current = None
    for line in section.splitlines():
        heading = re.match(r"^### (\w+) \(([^)]*)\)", line)
        if heading:
            current = heading.group(1)
            tables[current] = {"required": heading.group(2) == "required", "columns": []}
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if current and line.startswith("|") and cells[0] not in ("column", "---"):
            tables[current]["columns"].append(cells)
    return tables


DOC_TABLES = parse_tables(DOC.read_text(encoding="utf-8"))


def test_same_tables_in_same_order():
    assert list(DOC_TABLES) == list(C.TABLE_NAMES)
    for name, doc in DOC_TABLES.items():
        assert C.table(name).required == doc["required"], name


@pytest.mark.parametrize("name", C.TABLE_NAMES)
def test_columns_types_required_keys_and_allowed_values(name):
    spec = C.table(name)
    doc_cols = DOC_TABLES[name]["columns"]
    assert [c[0] for c in doc_cols] == list(spec.column_names)
    keys = []
    for col_name, typ, required, *_ in doc_cols:
        col = spec.column(col_name)
        assert col.required == (required == "yes"), (name, col_name)
        allowed = tuple(re.findall(r"`([a-z_]+)`", typ))
        if typ.startswith("date"):
            assert col.kind == C.DATE, (name, col_name)
        elif typ.startswith("number"):
            assert col.kind == C.NUMBER, (name, col_name)
        elif allowed and " / " in typ:
            assert col.kind == C.STR and col.allowed == allowed, (name, col_name)
        else:
            assert typ.startswith(("str", "quarter label")), (name, col_name, typ)
            assert col.kind in (C.ID, C.STR) and col.allowed is None, (name, col_name)
        if "unique" in typ:
            keys.append(col_name)
        fk = re.match(r"str → (\w+)$", typ)
        if fk:
            parent = C.table(fk.group(1))
            assert col.references == C.ForeignKey(parent.name, parent.key[0]), (name, col_name)
        else:
            assert col.references is None, (name, col_name)
    assert list(spec.key) == keys


def test_doc_tables_agree_with_the_shared_contract():
    shared = shared_file("DATA_CONTRACT.md")
    assert parse_tables(shared.read_text(encoding="utf-8")) == DOC_TABLES


def test_csat_scale_default_and_quarter_pattern():
    assert C.table("csat").column("scale").default == 5.0
    pattern = re.compile(C.QUARTER_PATTERN)
    assert pattern.match("2026Q3") and not pattern.match("2026Q5") and not pattern.match("FY2027Q1")


def test_lookup_errors_are_clear():
    with pytest.raises(KeyError, match="not a contract table"):
        C.table("leads")
    with pytest.raises(KeyError, match="no contract column"):
        C.table("reps").column("email")
