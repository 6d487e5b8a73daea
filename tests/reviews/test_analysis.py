"""The CLI and the bundle: JSON keys, reviewer defaulting to the manager, clear errors."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from salesinsight.cli import main


def test_cli_json_has_reviewers_and_validity(rev_folder, capsys):
    assert main(["reviews", str(rev_folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    r = out["reviewers"][0]
    assert {"reviewer_id", "leniency", "ci_low", "ci_high"} <= set(r)
    assert {"estimate", "ci_low", "ci_high"} <= set(out["validity"])
    assert len(out["reviewers"]) == 20


def test_reviewer_defaults_to_manager(rev_folder, tmp_path, capsys):
    folder = tmp_path / "nocol"
    shutil.copytree(rev_folder, folder)
    rv = pd.read_csv(folder / "reviews.csv", dtype=str)
    rv.drop(columns="reviewer_id").to_csv(folder / "reviews.csv", index=False)
    before = (folder / "reviews.csv").read_bytes()
    assert main(["reviews", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["leniency_design"] == "between teams"
    assert any("rep's manager is used" in n for n in out["notes"])
    assert (folder / "reviews.csv").read_bytes() == before  # nothing written


def test_cli_without_reviews_table_is_a_clear_error(rev_folder, tmp_path, capsys):
    folder = tmp_path / "noreviews"
    shutil.copytree(rev_folder, folder)
    (folder / "reviews.csv").unlink()
    assert main(["reviews", str(folder)]) == 2
    assert "no reviews table" in capsys.readouterr().out


def test_through_ignores_later_quarters(rev_folder):
    from salesinsight.data import load
    from salesinsight.reviews import review_data

    with load(rev_folder) as ds:
        full = review_data(ds).frame
        cut = review_data(ds, through="2025Q4").frame
    assert cut["period"].max() == "2025Q4" < full["period"].max()
    # the last kept quarter has no next-quarter outcome: it would come from after the cut
    assert cut.loc[cut["period"] == "2025Q4", "next_attainment"].isna().all()


def test_result_objects_follow_the_package_contract(rev_folder):
    import matplotlib

    matplotlib.use("Agg")
    from salesinsight.reviews import analyze_reviews

    res = analyze_reviews(rev_folder, n_boot=99, min_cell_size=10)
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    for obj in (res, res.agreement, res.leniency, res.validity, res.gaps):
        assert isinstance(obj.to_frame(), pd.DataFrame) and len(obj.to_frame())
        assert str(obj) and str(obj) == obj.summary().to_text()
        assert "<table" in obj._repr_html_()
        fig, given = plt.subplots()
        assert obj.plot(ax=given) is given
        plt.close(fig)

    # each plot draws its result's numbers (not merely some figure)
    def drawn(obj) -> list[float]:
        fig, ax = plt.subplots()
        obj.plot(ax=ax)
        points = [c for c in ax.collections if isinstance(c, PathCollection)]
        if ax.patches:  # bars
            out = [p.get_height() for p in ax.patches]
        elif points:  # scatter points
            out = [float(x) for x, _ in points[0].get_offsets()]
        else:  # error-bar markers
            out = [float(x) for x in ax.get_lines()[0].get_xdata()]
        plt.close(fig)
        return out

    lenient = res.leniency.frame.sort_values("leniency")["leniency"].tolist()
    assert drawn(res) == pytest.approx(lenient)
    assert drawn(res.leniency) == pytest.approx(lenient)
    rho = res.agreement.frame.dropna(subset=["rho"]).sort_values("rho")["rho"].tolist()
    assert drawn(res.agreement) == pytest.approx(rho)
    v = res.validity
    assert drawn(v) == pytest.approx([v.r2_kpis, v.r2_with_score])
    shown = res.gaps.frame[~res.gaps.frame["suppressed"]]["unexplained"].tolist()
    assert drawn(res.gaps) == pytest.approx(shown)
