"""compare(): effects side by side, the table checked cell by cell against the effects themselves."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pandas as pd
import pytest

from salesinsight.causal import Diagnostic, Effect, EffectComparison, compare, experiment

matplotlib.use("Agg")


def _effect(
    est: float, se: float, method: str, *, outcome: str = "revenue", level: float = 0.95
) -> Effect:
    z = {0.95: 1.959963984540054, 0.9: 1.6448536269514722}[level]
    return Effect(
        estimate=est,
        se=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        p_value=0.01,
        n_units=40,
        n_obs=400,
        method=method,
        outcome=outcome,
        spec={"ci_level": level, "inference": "HC2"},
        diagnostics=(Diagnostic("balance", passed=True),),
    )


@pytest.fixture(scope="module")
def two_real_effects() -> tuple[Effect, Effect]:
    """A difference in means and an ANCOVA on one simulated experiment (true effect 2)."""
    rng = np.random.default_rng(7)
    n = 400
    x = rng.normal(size=n)
    d = rng.permutation(np.repeat([0, 1], n // 2))
    y = 1.0 + 2.0 * d + 1.5 * x + rng.normal(size=n)
    df = pd.DataFrame({"y": y, "d": d, "x": x})
    dim = experiment(df, outcome="y", treatment="d")
    ancova = experiment(df, outcome="y", treatment="d", covariates=["x"])
    return dim, ancova


def test_table_is_the_effects_numbers_side_by_side(two_real_effects: tuple[Effect, Effect]) -> None:
    a, b = two_real_effects
    cmp = compare(a, b, names=["difference in means", "ANCOVA"])
    got = cmp.table()
    # built by hand from the Effect attributes, one column per effect
    for name, e in (("difference in means", a), ("ANCOVA", b)):
        col = got[name]
        assert col["estimate"] == e.estimate and col["se"] == e.se
        assert (col["ci_low"], col["ci_high"]) == (e.ci_low, e.ci_high)
        assert col["p_value"] == e.p_value and col["ci_level"] == e.ci_level
        assert col["design"] == e.method and col["outcome"] == "y"
        assert (col["n_units"], col["n_obs"]) == (e.n_units, e.n_obs)
    # ANCOVA on a prognostic covariate is the tighter estimate of the same effect (true value 2)
    assert got.loc["se", "ANCOVA"] < got.loc["se", "difference in means"]
    assert got.loc["ci_low", "ANCOVA"] < 2.0 < got.loc["ci_high", "ANCOVA"]
    tidy = cmp.to_frame()
    assert list(tidy["name"]) == ["difference in means", "ANCOVA"]
    assert tidy["estimate"].tolist() == [a.estimate, b.estimate]


def test_summary_html_and_plot_show_the_same_numbers() -> None:
    a, b = _effect(1.5, 0.5, "fe_did"), _effect(-0.25, 0.1, "synthetic DiD", level=0.9)
    cmp = compare(a, b)
    assert isinstance(cmp, EffectComparison)
    text, page = str(cmp), cmp._repr_html_()
    assert text == cmp.summary().to_text()
    for number in ("1.5", "-0.25", "0.5", "0.1", "0.9", "0.95", "fe_did", "synthetic DiD"):
        assert number in text and number in page
    assert "different levels" in text
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    assert cmp.plot(ax=ax) is ax
    labels = {
        float(y): t.get_text() for y, t in zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    }
    assert labels == {1.0: "fe_did", 0.0: "synthetic DiD"}  # first effect on top
    plt.close("all")


def test_default_names_are_numbered_when_repeated() -> None:
    a = _effect(1.0, 0.5, "aipw")
    assert compare(a, dataclasses.replace(a, estimate=2.0)).names == ("aipw (1)", "aipw (2)")


def test_bad_input_is_named() -> None:
    a = _effect(1.0, 0.5, "aipw")
    with pytest.raises(ValueError, match="at least one"):
        compare()
    with pytest.raises(TypeError, match="#2 \\(float\\)"):
        compare(a, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="2 effects but 1 names"):
        compare(a, a, names=["x"])
    with pytest.raises(ValueError, match="repeated: 'x'"):
        compare(a, a, names=["x", "x"])
