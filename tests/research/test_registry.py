"""research.registry: validation, verdicts, multiplicity across the registry, the run folder."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import jupytext
import numpy as np
import pytest
import yaml

from salesinsight.research.registry import RegistryError, load_registry, run_registry

H_PULL = {
    "id": "H_pull",
    "statement": "Behind-quota sellers pull won deals into the quarter's last days.",
    "outcome": "pulled_deals",
    "population": "sellers",
    "direction": "increase",
    "min_effect": 20,
    "design": "pull_in",
    "registered": "2024-06-01",
}


def _write(folder: Path, data: Path, hypotheses: list[dict], **top) -> Path:
    path = folder / "h.yaml"
    doc = {"data_dir": str(data), "n_boot": 199, "hypotheses": hypotheses, **top}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_every_problem_is_listed(tmp_path, planted_pull):
    bad = [
        {**H_PULL, "outcome": "happiness"},
        {**H_PULL, "design": "program"},
        H_PULL,
    ]
    with pytest.raises(RegistryError) as exc:
        load_registry(_write(tmp_path, planted_pull, bad))
    msg = str(exc.value)
    assert "happiness" in msg and "exactly one program" in msg and "duplicate id 'H_pull'" in msg
    with pytest.raises(RegistryError, match="hypotheses.0.colour"):
        load_registry(_write(tmp_path, planted_pull, [{**H_PULL, "colour": "red"}]))


def test_verdicts_multiplicity_and_predating_flag(tmp_path, planted_pull):
    hyps = [
        H_PULL,
        {**H_PULL, "id": "H_wrong_way", "direction": "decrease", "registered": "2030-01-01"},
        {**H_PULL, "id": "H_premium", "outcome": "discount_premium", "min_effect": 0.01},
        {**H_PULL, "id": "H_short", "min_effect": 400},
        {**H_PULL, "id": "H_tiny", "min_effect": 10_000},
    ]
    res = run_registry(load_registry(_write(tmp_path, planted_pull, hyps)))
    t = res.to_frame().set_index("id")
    assert t.loc["H_pull", "verdict"] == "supported"
    assert t.loc["H_premium", "verdict"] == "supported"
    assert t.loc["H_wrong_way", "verdict"] == "contradicted"
    # planted: ~380 won deals pulled in (estimate ~390, interval ~[330, 460])
    assert t.loc["H_short", "verdict"] == "inconclusive"  # significant, below 400, could exceed it
    assert (
        t.loc["H_tiny", "verdict"] == "contradicted"
    )  # interval inside +-10000: too small to matter
    # Holm by hand: sorted p times (m - rank), running max, capped at 1
    p = t["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    holm = np.minimum(1, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    expected = np.empty(m)
    expected[order] = holm
    np.testing.assert_allclose(t["p_holm"].to_numpy(), expected, rtol=1e-12)
    # BH by hand: p * m / rank, running min from the top, capped at 1
    bh = np.minimum(1, np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1])
    expected[order] = bh
    np.testing.assert_allclose(t["p_bh"].to_numpy(), expected, rtol=1e-12)
    # Romano-Wolf: all five share one seller bootstrap (same design, same resampling); the strongly
    # planted pull-in is rejected, and the step-down never rejects what a single-step max-t test on
    # the same draws would not (p_rw >= the smallest possible bootstrap p-value 1 / (B + 1))
    assert t["joint_bootstrap"].all()
    assert (t["p_rw"] >= 1 / 200).all() and (t["p_rw"] <= 1).all()
    assert t.loc["H_pull", "p_rw"] < 0.05 and t.loc["H_premium", "p_rw"] < 0.05
    assert "step-down" in res.spec["romano_wolf"]
    # the data run 2025-2026: registered 2024 -> confirmatory, registered 2030 -> flagged
    assert not t.loc["H_pull", "data_predate_registration"]
    assert t.loc["H_pull", "share_of_data_before_registration"] == 0
    assert t.loc["H_wrong_way", "data_predate_registration"]
    assert t.loc["H_wrong_way", "share_of_data_before_registration"] == 1
    d = res.to_dict()
    assert d["counts"] == {"supported": 2, "contradicted": 2, "inconclusive": 1}
    assert len(d["registry"]["registry_sha256"]) == 64


def test_notebook_parameters_match_the_registry():
    path = Path(__file__).resolve().parents[2] / "notebooks" / "incentive_research.py"
    nb = jupytext.read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {t.id for n in ast.parse(tagged[0].source).body for t in n.targets}
    assert names == {"registry_path", "registry_sha256"}


def test_starter_registry_is_valid():
    path = Path(__file__).resolve().parents[2] / "params" / "hypotheses.yaml"
    reg = load_registry(path, check_data_dir=False)
    assert {h.design for h in reg.hypotheses} >= {"pull_in", "bunching", "rd", "program"}


def test_research_run_writes_a_run_folder(tmp_path, planted_pull):
    from salesinsight.cli import main

    reg = _write(tmp_path, planted_pull, [H_PULL], n_boot=99)
    out = tmp_path / "run"
    assert main(["research", "run", str(reg), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["params"]["registry_sha256"] == hashlib.sha256(reg.read_bytes()).hexdigest()
    results = json.loads((out / "results.json").read_text())
    assert results["hypotheses"][0]["verdict"] == "supported"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "H_pull" in html and "<script" not in html.lower()
    assert (out / "tables" / "hypotheses.csv").is_file()
    # an invalid registry: exit 2 and nothing written
    bad = (
        _write(tmp_path / "x", planted_pull, [{**H_PULL, "design": "astrology"}])
        if (tmp_path / "x").mkdir() is None
        else None
    )
    assert main(["research", "run", str(bad), "--out", str(tmp_path / "run2")]) == 2
    assert not (tmp_path / "run2").exists()


def test_program_outcomes_are_the_kpi_registry_outcomes(tmp_path, planted_pull):
    """A program hypothesis takes every outcome evaluate accepts, and nothing else."""
    from salesinsight.kpis import OUTCOMES

    h = {**H_PULL, "design": "program", "programs": ["P_TRAIN"], "min_effect": 0.01}
    hyps = [{**h, "id": f"H_{o}", "outcome": o} for o in ("attainment", "win_rate", "attrition")]
    reg = load_registry(_write(tmp_path, planted_pull, hyps))
    assert [x.outcome for x in reg.hypotheses] == ["attainment", "win_rate", "attrition"]
    assert "opps_lost" not in OUTCOMES  # no good direction alone (see salesinsight.kpis)
    with pytest.raises(RegistryError, match="opps_lost"):
        load_registry(_write(tmp_path, planted_pull, [{**h, "outcome": "opps_lost"}]))
