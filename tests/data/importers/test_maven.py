"""The shared real data (Maven Analytics "CRM Sales Opportunities") through import -> validate ->
metrics with ``params/mappings/maven-crm.yaml``.

Reference values are computed here with pandas straight from the raw ``sales_pipeline.csv``, never
by the importer or the metrics code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.data import validate
from salesinsight.data.importers import import_folder
from salesinsight.metrics import panel
from tests._reference import shared_file

REPO = Path(__file__).resolve().parents[3]
MAVEN_PARTS = ("real-data", "maven-crm-sales-opportunities")
MAPPING = REPO / "params" / "mappings" / "maven-crm.yaml"


@pytest.fixture(scope="module")
def maven() -> Path:
    """The export folder (fails when ../shared is there without it; see tests/_reference.py)."""
    return shared_file(*MAVEN_PARTS, "sales_pipeline.csv").parent


@pytest.fixture(scope="module")
def imported(maven: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("maven") / "data"
    result = import_folder(maven, out, MAPPING)
    assert result.ok, result.summary()
    return out


@pytest.fixture(scope="module")
def raw(maven: Path) -> pd.DataFrame:
    return pd.read_csv(maven / "sales_pipeline.csv", dtype=str, keep_default_na=False)


def test_import_counts_and_validation(maven: Path, imported: Path, raw: pd.DataFrame) -> None:
    report = validate(imported)
    assert report.ok, str(report)
    opps = pd.read_csv(imported / "opportunities.csv", dtype=str, keep_default_na=False)
    # the 500 Prospecting rows have no date at all and are left out (counted in a note)
    dated = raw[raw["deal_stage"] != "Prospecting"]
    assert len(opps) == len(dated) == 8300
    expect = dated["deal_stage"].map({"Won": "won", "Lost": "lost", "Engaging": "open"})
    assert opps["status"].value_counts().to_dict() == expect.value_counts().to_dict()
    reps = pd.read_csv(imported / "reps.csv", dtype=str)
    teams = pd.read_csv(maven / "sales_teams.csv", dtype=str)
    assert sorted(reps["rep_id"]) == sorted(teams["sales_agent"])
    assert dict(zip(reps["rep_id"], reps["team_id"], strict=True)) == dict(
        zip(teams["sales_agent"], teams["manager"], strict=True)
    )


def test_revenue_per_quarter_is_won_close_value(imported: Path, raw: pd.DataFrame) -> None:
    won = raw[raw["deal_stage"] == "Won"].copy()
    won["quarter"] = pd.PeriodIndex(pd.to_datetime(won["close_date"]), freq="Q").astype(str)
    won["value"] = won["close_value"].astype(float)
    expected = won.groupby("quarter")["value"].agg(["sum", "size"])
    lost = raw[raw["deal_stage"] == "Lost"].copy()
    lost["quarter"] = pd.PeriodIndex(pd.to_datetime(lost["close_date"]), freq="Q").astype(str)
    n_lost = lost.groupby("quarter").size()

    df = panel(imported, grain="quarter", by="company").set_index("period")
    got = df.loc[expected.index]
    assert_allclose(got["revenue"].to_numpy(), expected["sum"].to_numpy(), rtol=0, atol=1e-6)
    assert got["opps_won"].tolist() == expected["size"].tolist()
    assert df.loc[n_lost.index, "opps_lost"].tolist() == n_lost.tolist()
    # a quarter before the first close (2016Q4: deals engaged, none closed) has no revenue
    assert df.loc["2016Q4", "revenue"] == 0 and df.loc["2016Q4", "opps_won"] == 0
    assert df["revenue"].sum() == pytest.approx(won["value"].sum(), abs=1e-6)


def test_revenue_per_rep_matches(imported: Path, raw: pd.DataFrame) -> None:
    won = raw[raw["deal_stage"] == "Won"]
    expected = won.groupby("sales_agent")["close_value"].apply(lambda s: s.astype(float).sum())
    df = panel(imported, grain="quarter", by="rep")
    got = df.groupby("rep_id")["revenue"].sum()
    assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(), atol=1e-6)
    # agents with no deal are kept (0 revenue), not dropped
    no_deals = sorted(set(got.index) - set(raw["sales_agent"]))
    assert len(no_deals) == 5 and (got.loc[no_deals] == 0).all()


def test_kpis_needing_absent_tables_say_why(imported: Path) -> None:
    df = panel(imported, grain="quarter", by="company")
    reasons = df.attrs["not_available"]
    for kpi in ("activities", "calls", "follow_ups", "follow_ups_per_open_opp"):
        assert reasons[kpi] == "not available: needs the activities table"
        assert df[kpi].isna().all()
    assert reasons["attainment"] == "not available: needs the quotas table"
    # what the opportunities give is a number, not "not available"
    for kpi in ("win_rate", "revenue", "opps_created", "pipeline_value", "cycle_days"):
        assert kpi not in reasons
    assert df["win_rate"].notna().sum() == 4  # 2017Q1..Q4 have closed deals
