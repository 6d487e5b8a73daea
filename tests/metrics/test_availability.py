"""KPIs that a folder cannot give are "not available" with the reason, never a number."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesinsight.data.importers import ImporterError, import_folder
from salesinsight.metrics import panel
from salesinsight.metrics.availability import not_available


def _ledger(src: Path) -> None:
    src.mkdir()
    (src / "reps.csv").write_text(
        "rep_id,team_id,hire_date\nR1,T1,2026-01-01\nR2,T1,2026-01-01\n", encoding="utf-8"
    )
    # a sales-order ledger: every row is a won order, dated once
    (src / "orders.csv").write_text(
        "no,seller,date,amount\nA1,R1,2026-02-03,100\nA2,R1,2026-02-10,50\nA3,R2,2026-04-01,70\n",
        encoding="utf-8",
    )


def _mapping(lacks: object) -> dict:
    m = {
        "tables": {
            "reps": {"file": "reps.csv"},
            "opportunities": {
                "file": "orders.csv",
                "columns": {
                    "opp_id": "no",
                    "rep_id": "seller",
                    "created_date": "date",
                    "close_date": "date",
                    "amount": "amount",
                },
                "constants": {"status": "won"},
            },
        }
    }
    if lacks is not None:
        m["lacks"] = lacks
    return m


def test_declared_lacks_make_kpis_unavailable(tmp_path: Path) -> None:
    _ledger(tmp_path / "src")
    lacks = {"lost_deals": "a sales-order ledger records won orders only", "open_deals": None}
    import_folder(tmp_path / "src", tmp_path / "out", _mapping(lacks))
    df = panel(tmp_path / "out", grain="quarter", by="company").set_index("period")
    # without the declaration the win rate of a ledger is 1.0 by construction
    assert df["win_rate"].isna().all()
    assert df.attrs["not_available"]["win_rate"] == (
        "not available: needs lost deals (a sales-order ledger records won orders only)"
    )
    assert df.attrs["not_available"]["pipeline_value"] == "not available: needs open deals"
    assert df.loc["2026Q1", "revenue"] == 150 and df.loc["2026Q2", "revenue"] == 70
    assert df.loc["2026Q1", "opps_won"] == 2


def test_without_declaration_win_rate_is_computed(tmp_path: Path) -> None:
    _ledger(tmp_path / "src")
    import_folder(tmp_path / "src", tmp_path / "out", _mapping(None))
    df = panel(tmp_path / "out", grain="quarter", by="company").set_index("period")
    assert df.loc["2026Q1", "win_rate"] == 1.0  # what the declaration is there to prevent
    assert "win_rate" not in df.attrs["not_available"]
    assert not (tmp_path / "out" / "availability.json").exists()
    assert not_available(tmp_path / "out")["calls"] == "not available: needs the activities table"


def test_unknown_lack_is_a_mapping_error(tmp_path: Path) -> None:
    _ledger(tmp_path / "src")
    with pytest.raises(ImporterError, match=r"'lost_deal' is unknown \(did you mean 'lost_deals'"):
        import_folder(tmp_path / "src", tmp_path / "out", _mapping(["lost_deal"]))
    assert not (tmp_path / "out").exists()
