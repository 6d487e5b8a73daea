"""Amounts in several currencies: converted to one reporting currency with FX rates from the
mapping or a rates file; mixed currencies without rates are an error listing them.

Expected amounts are multiplied out by hand in the comments (e.g. 20000 MXN at 0.05 = 1000 USD).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesinsight.data.importers import ImporterError, import_folder

OPPS = (
    "Id,OwnerId,CreatedDate,CloseDate,IsClosed,IsWon,Amount,CurrencyIsoCode\n"
    "0061,0051,2026-01-05,2026-02-01,true,true,20000,MXN\n"  # 20000 MXN
    "0062,0051,2026-01-06,2026-02-03,true,true,4000000,COP\n"  # 4,000,000 COP
    "0063,0052,2026-01-07,2026-02-04,true,true,500,USD\n"
    "0064,0052,2026-01-08,2026-02-05,true,false,1000,PEN\n"
    "0065,0052,2026-01-09,,false,false,,PEN\n"  # no amount: no currency needed
    "0066,0051,2026-01-10,2026-02-06,true,true,3000,PEN\n"
)
USERS = "Id,Team,HireDate\n0051,T1,2025-01-01\n0052,T2,2025-01-01\n"


def _export(tmp_path: Path, opps: str = OPPS) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Opportunity.csv").write_text(opps, encoding="utf-8")
    (src / "User.csv").write_text(USERS, encoding="utf-8")
    return src


def _mapping(fx: dict | None = None, currency_column: str = "CurrencyIsoCode") -> dict:
    m: dict = {
        "tables": {
            "reps": {
                "file": "User.csv",
                "columns": {"rep_id": "Id", "team_id": "Team", "hire_date": "HireDate"},
            },
            "opportunities": {
                "file": "Opportunity.csv",
                "columns": {
                    "opp_id": "Id",
                    "rep_id": "OwnerId",
                    "created_date": "CreatedDate",
                    "close_date": {"from": "CloseDate", "only_when": {"status": ["won", "lost"]}},
                    "status": {
                        "from": ["IsClosed", "IsWon"],
                        "values": {"true|true": "won", "true|false": "lost", "false|false": "open"},
                    },
                    "amount": {"from": "Amount", "currency_column": currency_column},
                },
            },
        }
    }
    if fx is not None:
        m["fx"] = fx
    return m


def test_mixed_currencies_without_rates_is_an_error_listing_them(tmp_path: Path) -> None:
    src = _export(tmp_path)
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "out", _mapping())
    (err,) = [p for p in info.value.errors if p.rule == "currency"]
    assert "mixes currencies (COP, MXN, PEN, USD)" in err.message
    assert err.file == "Opportunity.csv" and err.source_column == "CurrencyIsoCode"
    # counts per currency over rows with an amount (the open deal without amount is not counted)
    assert {v: n for v, n, _ in err.values} == {"PEN": 2, "MXN": 1, "COP": 1, "USD": 1}
    assert dict((v, r) for v, _, r in err.values)["PEN"] == (4, 6)
    assert not (tmp_path / "out").exists()


def test_rates_in_the_mapping_convert_amounts(tmp_path: Path) -> None:
    src = _export(tmp_path)
    fx = {"to": "usd", "rates": {"MXN": "0.05", "COP": "0.00025", "PEN": "0.25"}}
    result = import_folder(src, tmp_path / "out", _mapping(fx))
    assert result.ok, result.summary()
    opps = pd.read_csv(tmp_path / "out" / "opportunities.csv", dtype={"opp_id": str})
    # 20000*0.05 = 1000; 4e6*0.00025 = 1000; 500*1 = 500; 1000*0.25 = 250; empty; 3000*0.25 = 750
    assert opps["amount"].tolist()[:4] == [1000.0, 1000.0, 500.0, 250.0]
    assert pd.isna(opps["amount"][4]) and opps["amount"][5] == 750.0
    assert opps["amount_currency"].tolist() == ["MXN", "COP", "USD", "PEN", "PEN", "PEN"]
    assert any("converted to USD from COP, MXN, PEN, USD" in str(p) for p in result.problems)


def test_salesforce_currency_type_file(tmp_path: Path) -> None:
    src = _export(tmp_path)
    # Salesforce's CurrencyType: ConversionRate = units of the currency per 1 corporate unit
    (src / "CurrencyType.csv").write_text(
        "IsoCode,ConversionRate,IsCorporate\nUSD,1,true\nMXN,20,false\nCOP,4000,false\n"
        "PEN,4,false\n",
        encoding="utf-8",
    )
    fx = {
        "to": "USD",
        "file": "CurrencyType.csv",
        "code": "IsoCode",
        "rate": "ConversionRate",
        "quote": "per_reporting",
    }
    import_folder(src, tmp_path / "out", _mapping(fx))
    opps = pd.read_csv(tmp_path / "out" / "opportunities.csv")
    # 20000/20 = 1000; 4e6/4000 = 1000; 500; 1000/4 = 250; 3000/4 = 750
    assert opps["amount"].fillna(-1).tolist() == [1000.0, 1000.0, 500.0, 250.0, -1.0, 750.0]


def test_a_currency_without_rate_is_named(tmp_path: Path) -> None:
    src = _export(tmp_path)
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "out", _mapping({"to": "USD", "rates": {"MXN": 0.05}}))
    (err,) = [p for p in info.value.errors if p.rule == "currency"]
    assert "no FX rate to USD for PEN, COP" in err.message
    assert err.n_rows == 3 and [v for v, _, _ in err.values] == ["PEN", "COP"]


def test_one_currency_needs_no_rates(tmp_path: Path) -> None:
    opps = "\n".join(
        line.rsplit(",", 1)[0] + ("," + "MXN" if i else ",CurrencyIsoCode")
        for i, line in enumerate(OPPS.strip().splitlines())
    )
    src = _export(tmp_path, opps + "\n")
    result = import_folder(src, tmp_path / "out", _mapping())
    assert any("all amounts are in MXN (one currency)" in str(p) for p in result.problems)
    assert pd.read_csv(tmp_path / "out" / "opportunities.csv")["amount"][0] == 20000.0


def test_bad_fx_blocks_are_mapping_errors(tmp_path: Path) -> None:
    src = _export(tmp_path)
    with pytest.raises(ImporterError) as info:
        import_folder(
            src, tmp_path / "o", _mapping({"to": "USD", "rates": {"MXN": "-1"}, "qoute": "x"})
        )
    text = str(info.value)
    assert "fx.rates.MXN: rate must be a positive number, got '-1'" in text
    assert "'qoute' (did you mean 'quote'?)" in text
    m = _mapping()
    m["tables"]["reps"]["columns"]["hire_date"] = {"from": "HireDate", "currency": "USD"}
    with pytest.raises(ImporterError, match="hire_date is not a number"):
        import_folder(src, tmp_path / "o", m)


def test_a_rate_per_row(tmp_path: Path) -> None:
    """Zoho-style: each row carries its own rate (units of its currency per reporting unit)."""
    opps = (
        "Id,OwnerId,CreatedDate,CloseDate,IsClosed,IsWon,Amount,CurrencyIsoCode,Rate\n"
        "0061,0051,2026-01-05,2026-02-01,true,true,20000,MXN,20\n"  # 20000 / 20 = 1000
        "0062,0051,2026-01-06,2026-02-03,true,true,300,USD,1\n"  # 300
        "0063,0052,2026-01-07,2026-02-04,true,true,1000,PEN,\n"  # no rate: an error
    )
    src = _export(tmp_path, opps)
    m = _mapping()
    m["tables"]["opportunities"]["columns"]["amount"].update(
        rate_column="Rate", rate_quote="per_reporting"
    )
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "out", m)
    (err,) = [p for p in info.value.errors if p.rule == "currency"]
    assert err.message == "amount without a positive exchange rate in its row"
    assert err.values == ((None, 1, (3,)),)  # row 3, empty rate
    (src / "Opportunity.csv").write_text(opps.replace("PEN,\n", "PEN,4\n"), encoding="utf-8")
    result = import_folder(src, tmp_path / "out", m)  # three currencies, each row converted
    assert result.ok, result.summary()
    amounts = pd.read_csv(tmp_path / "out" / "opportunities.csv")["amount"].tolist()
    assert amounts == [1000.0, 300.0, 250.0]  # 1000 PEN / 4 = 250


def test_dated_rates_use_the_rate_in_force_on_the_close_date(tmp_path: Path) -> None:
    """Salesforce advanced currency management: DatedConversionRate (units per corporate unit)."""
    opps = (
        "Id,OwnerId,CreatedDate,CloseDate,IsClosed,IsWon,Amount,CurrencyIsoCode\n"
        "0061,0051,2026-01-05,2026-01-20,true,true,20000,MXN\n"  # rate from 01-01: 20000/20 = 1000
        "0062,0051,2026-01-06,2026-02-10,true,true,20000,MXN\n"  # rate from 02-01: 20000/16 = 1250
        "0063,0052,2026-01-07,2026-02-04,true,true,500,USD\n"  # reporting currency: 500
        "0064,0052,2025-11-02,2025-12-15,true,true,4000000,COP\n"  # COP rates start 2026: error
    )
    src = _export(tmp_path, opps)
    (src / "DatedConversionRate.csv").write_text(
        "Id,IsoCode,ConversionRate,StartDate,NextStartDate\n"
        "04w1,MXN,20,2026-01-01,2026-02-01\n04w2,MXN,16,2026-02-01,9999-12-31\n"
        "04w3,COP,4000,2026-01-01,9999-12-31\n",
        encoding="utf-8",
    )
    fx = {
        "to": "USD",
        "file": "DatedConversionRate.csv",
        "code": "IsoCode",
        "rate": "ConversionRate",
        "start": "StartDate",
        "quote": "per_reporting",
    }
    with pytest.raises(ImporterError) as info:
        import_folder(src, tmp_path / "out", _mapping(fx))
    (err,) = [p for p in info.value.errors if p.rule == "currency"]
    assert "no FX rate in force on the row's date" in err.message
    assert err.values == (("COP on 2025-12-15", 1, (4,)),)
    (src / "Opportunity.csv").write_text(opps.replace("2025-12-15", "2026-01-15"), encoding="utf-8")
    result = import_folder(src, tmp_path / "out", _mapping(fx))
    assert result.ok, result.summary()
    amounts = pd.read_csv(tmp_path / "out" / "opportunities.csv")["amount"].tolist()
    assert amounts == [1000.0, 1250.0, 500.0, 1000.0]  # 4,000,000 COP / 4000 = 1000
