"""Tests for salesinsight.causal.synth (synthetic control)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from salesinsight.causal.effect import Effect
from salesinsight.causal.synth import PRE_FIT_THRESHOLD, simplex_weights, synthetic_control
from tests._reference import reference_file

TREATED = "Basque Country (Pais Vasco)"
SECTORS = [
    "sec.agriculture",
    "sec.energy",
    "sec.industry",
    "sec.construction",
    "sec.services.venta",
    "sec.services.nonventa",
]
SCHOOL = ["school.illit", "school.prim", "school.med", "school.high", "school.post.high", "invest"]


@pytest.fixture(scope="module")
def basque() -> pd.DataFrame:
    df = pd.read_csv(reference_file("basque.csv"))
    return df[df["regionno"] != 1].reset_index(drop=True)  # drop Spain (the aggregate)


def _basque_predictors() -> list:
    odd = list(range(1961, 1970, 2))
    return (
        SCHOOL
        + [("gdpcap", list(range(1960, 1970)))]
        + [(c, odd) for c in SECTORS]
        + [("popdens", [1969])]
    )


def test_basque_weights_reproduce_abadie_gardeazabal(basque: pd.DataFrame) -> None:
    # Reference: README of ../shared/reference-data (pysyncon 1.7 / R Synth on the same file):
    # Cataluna ~ 0.851, Madrid ~ 0.149, every other region ~ 0.
    e = synthetic_control(
        basque,
        outcome="gdpcap",
        unit="regionname",
        time="year",
        treated=TREATED,
        treatment_time=1975,
        predictors=_basque_predictors(),
        predictor_windows=list(range(1964, 1970)),
        fit_window=list(range(1960, 1970)),
        placebo=False,
        augmented=False,
    )
    assert isinstance(e, Effect)
    w = e.extras["weights"][TREATED]
    assert_allclose(w["Cataluna"], 0.851, atol=0.01)
    assert_allclose(w["Madrid (Comunidad De)"], 0.149, atol=0.01)
    others = w.drop(["Cataluna", "Madrid (Comunidad De)"])
    assert_allclose(others.to_numpy(), 0.0, atol=0.01)
    assert_allclose(w.sum(), 1.0, atol=1e-9)
    # the estimate is the mean post-period gap of the returned path
    post = e.path[e.path["time"] >= 1975]
    assert_allclose(
        e.estimate, (post["observed"] - post["counterfactual"]).mean(), rtol=0, atol=1e-12
    )
    # terrorism lowered GDP per capita in the Basque Country (Abadie & Gardeazabal: about -10%)
    assert -1.2 < e.estimate < -0.3
    assert e.diagnostics[0].name == "pre_fit" and e.diagnostics[0].passed


def test_basque_outcome_fit_placebo_inference(basque: pd.DataFrame) -> None:
    e = synthetic_control(
        basque,
        outcome="gdpcap",
        unit="regionname",
        time="year",
        treated=TREATED,
        treatment_time=1975,
    )
    n_donors = 16
    placebos = e.extras["placebos"]
    assert len(placebos) == n_donors
    # Abadie p-value: rank of the treated post/pre RMSPE ratio among all 17 regions
    ratio = e.extras["post_rmspe"][TREATED] / e.extras["pre_rmspe"][TREATED]
    expected = (1 + (placebos["ratio"] >= ratio).sum()) / (n_donors + 1)
    assert_allclose(e.p_value, expected, rtol=0, atol=1e-12)
    # with 16 donors the test cannot reach 5%: the interval must be unbounded, not made up
    assert e.p_value >= 1 / 17
    assert np.isinf(e.ci_low) and np.isinf(e.ci_high)
    assert e.verdict().label == "inconclusive"
    # weights close to the predictor-based solution: Cataluna and Madrid dominate
    w = e.extras["weights"][TREATED]
    assert w[["Cataluna", "Madrid (Comunidad De)"]].sum() > 0.9
    names = [d.name for d in e.diagnostics]
    assert names[:2] == ["pre_fit", "placebo_time"]


def test_simplex_weights_exact_on_hand_example() -> None:
    # target is exactly 0.3 * a + 0.7 * b; a third donor is useless
    X0 = np.array([[1.0, 3.0, 10.0], [2.0, 0.0, -5.0], [0.0, 1.0, 4.0]])
    x1 = 0.3 * X0[:, 0] + 0.7 * X0[:, 1]
    w = simplex_weights(X0, x1)
    assert_allclose(w, [0.3, 0.7, 0.0], atol=1e-9)
    # target outside the hull: projection onto the segment between donors 0 and 1
    # min_t |(1-t) a + t b - x|^2 with a=(0,0), b=(2,0), x=(1,1) -> t = 0.5
    w2 = simplex_weights(np.array([[0.0, 2.0], [0.0, 0.0]]), np.array([1.0, 1.0]))
    assert_allclose(w2, [0.5, 0.5], atol=1e-9)


def _factor_panel(
    seed: int, *, n_units: int = 40, t_pre: int = 30, t_post: int = 8, effect: float = 0.0
) -> tuple[pd.DataFrame, float]:
    """y_it = a_i + l_i f_t + e_it; unit 0 is a convex mix of units 1-3 plus noise, then treated."""
    rng = np.random.default_rng(seed)
    T = t_pre + t_post
    f = np.cumsum(rng.normal(0, 1, T))
    a = rng.normal(10, 2, n_units)
    lam = rng.uniform(0.5, 1.5, n_units)
    mix = np.array([0.5, 0.3, 0.2])
    a[0] = mix @ a[1:4]
    lam[0] = mix @ lam[1:4]
    y = a[:, None] + lam[:, None] * f[None, :] + rng.normal(0, 0.3, (n_units, T))
    y[0, t_pre:] += effect
    rows = [(f"u{i:02d}", t, y[i, t]) for i in range(n_units) for t in range(T)]
    return pd.DataFrame(rows, columns=["team", "week", "revenue"]), effect


def test_recovers_planted_effect_and_rejects() -> None:
    df, effect = _factor_panel(1, effect=3.0)
    e = synthetic_control(
        df, outcome="revenue", unit="team", time="week", treated="u00", treatment_time=30
    )
    assert_allclose(e.estimate, effect, atol=0.5)
    assert e.p_value <= 1 / 40 + 1e-12  # the treated ratio is the most extreme of 40
    assert e.ci_low < effect < e.ci_high
    assert e.ci_low > 0
    assert e.verdict().label == "worked"
    # per-period terms average to the estimate; bands exist with 39 placebos
    assert_allclose(e.terms["estimate"].mean(), e.estimate, rtol=0, atol=1e-12)
    assert e.path[["cf_low", "cf_high"]].notna().all().all()


def test_interval_inverts_the_standardised_gap_test() -> None:
    # recompute the interval from the placebo table by hand: statistic |mean gap| / pre-RMSPE,
    # 39 placebos, k = floor(0.05 * 40) = 2 -> critical value = 2nd largest placebo statistic
    df, _ = _factor_panel(7, effect=1.0)
    e = synthetic_control(
        df, outcome="revenue", unit="team", time="week", treated="u00", treatment_time=30
    )
    pl = e.extras["placebos"]
    stat = (pl["estimate"].abs() / pl["pre_rmspe"]).sort_values(ascending=False).to_numpy()
    crit = stat[1]
    pre = e.extras["pre_rmspe"]["u00"]
    assert_allclose(
        [e.ci_low, e.ci_high],
        [e.estimate - crit * pre, e.estimate + crit * pre],
        rtol=1e-12,
        atol=0,
    )
    p_gap = (1 + np.sum(stat >= abs(e.estimate) / pre)) / 40
    assert_allclose(e.extras["p_value_mean_gap"], p_gap, rtol=0, atol=1e-12)


def test_null_effect_interval_covers_zero() -> None:
    df, _ = _factor_panel(2, effect=0.0)
    e = synthetic_control(
        df, outcome="revenue", unit="team", time="week", treated="u00", treatment_time=30
    )
    assert e.ci_low < 0 < e.ci_high
    assert e.p_value > 0.05
    assert e.verdict().label != "worked"


def test_several_treated_units_average() -> None:
    df, _ = _factor_panel(3, effect=2.0)
    # unit 1 becomes a second treated unit with the same planted effect
    df.loc[(df["team"] == "u01") & (df["week"] >= 30), "revenue"] += 2.0
    e = synthetic_control(
        df,
        outcome="revenue",
        unit="team",
        time="week",
        treated=["u00", "u01"],
        treatment_time=30,
        placebo=False,
    )
    assert_allclose(e.estimate, e.extras["unit_estimates"].mean(), rtol=0, atol=1e-12)
    assert list(e.extras["weights"].columns) == ["u00", "u01"]
    assert "u01" not in e.extras["weights"].index  # treated units are never donors


def test_poor_pre_fit_fails_and_augmentation_helps() -> None:
    # treated unit far above every donor: outside the convex hull
    df, _ = _factor_panel(4, effect=0.0)
    df.loc[df["team"] == "u00", "revenue"] += 25.0
    plain = synthetic_control(
        df,
        outcome="revenue",
        unit="team",
        time="week",
        treated="u00",
        treatment_time=30,
        augmented=False,
        placebo=False,
    )
    pre_fit = plain.diagnostics[0]
    assert pre_fit.name == "pre_fit" and pre_fit.passed is False
    assert pre_fit.statistic > PRE_FIT_THRESHOLD
    assert plain.verdict().label == "inconclusive"
    auto = synthetic_control(
        df,
        outcome="revenue",
        unit="team",
        time="week",
        treated="u00",
        treatment_time=30,
        augmented="auto",
        placebo=False,
    )
    assert auto.extras["augmented"] is True
    assert abs(auto.estimate) < abs(plain.estimate) / 5  # truth is 0; plain SC is off by ~25
    assert auto.extras["pre_rmspe"]["u00"] < plain.extras["pre_rmspe"]["u00"]


def test_deterministic() -> None:
    df, _ = _factor_panel(5, effect=1.0, n_units=12)
    kw = dict(outcome="revenue", unit="team", time="week", treated="u00", treatment_time=30)
    a, b = synthetic_control(df, **kw), synthetic_control(df, **kw)
    assert a.estimate == b.estimate and a.p_value == b.p_value
    pd.testing.assert_frame_equal(a.extras["weights"], b.extras["weights"])


def test_bad_input_lists_all_problems() -> None:
    df, _ = _factor_panel(6, n_units=5)
    df = df.rename(columns={"revenue": "rev"})
    with pytest.raises(ValueError) as err:
        synthetic_control(
            df, outcome="revenue", unit="teams", time="week", treated="u00", treatment_time=30
        )
    msg = str(err.value)
    assert "'revenue'" in msg and "'teams'" in msg and "2 problem(s)" in msg
    df2, _ = _factor_panel(6, n_units=5)
    with pytest.raises(ValueError, match="treated unit 'nope' not found"):
        synthetic_control(
            df2, outcome="revenue", unit="team", time="week", treated="nope", treatment_time=30
        )


@pytest.mark.parametrize("as_dates", [False, True])
def test_path_keeps_the_time_dtype_and_the_plot_renders(as_dates) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df, _ = _factor_panel(2, effect=3.0)
    start = 30
    if as_dates:  # weeks as dates, as evaluate's panels have them
        df = df.assign(week=pd.Timestamp("2025-01-06") + pd.to_timedelta(7 * df["week"], "D"))
        start = pd.Timestamp("2025-01-06") + pd.Timedelta(7 * 30, "D")
    e = synthetic_control(
        df, outcome="revenue", unit="team", time="week", treated="u00", treatment_time=start
    )
    # an object-typed time column made fill_between fail: blank chart, error text in the report
    assert e.path["time"].dtype != object
    assert e.path["time"].dtype == df["week"].dtype
    fig, ax = plt.subplots()
    try:
        e.plot(ax=ax)
        fig.canvas.draw()
        assert len(ax.lines) >= 2 and ax.collections  # observed, counterfactual and the band
    finally:
        plt.close(fig)


def test_placebo_sets_are_refitted_without_each_other(monkeypatch) -> None:
    """With several treated units and many donors, each placebo unit's synthetic control is fitted
    from the donors outside its placebo set (as the treated units never use one another)."""
    import salesinsight.causal.synth_inference as si

    calls: list[tuple[int, frozenset[int]]] = []
    real = si.fit_target

    def spy(target, donors, *args, **kwargs):
        calls.append((int(target), frozenset(int(d) for d in donors)))
        return real(target, donors, *args, **kwargs)

    monkeypatch.setattr(si, "fit_target", spy)
    monkeypatch.setattr(si, "EXCLUSIVE_SUBSETS", 30)
    rng = np.random.default_rng(0)
    n, n_t = 25, 24  # 22 donors: C(22, 3) = 1540 placebo sets, enough to sample
    y = rng.normal(0, 1, (n, n_t)).cumsum(axis=1)
    df = pd.DataFrame(
        {"u": np.repeat(np.arange(n), n_t), "t": np.tile(np.arange(n_t), n), "y": y.ravel()}
    )
    e = synthetic_control(
        df, outcome="y", unit="u", time="t", treated=[0, 1, 2], treatment_time=18, augmented=False
    )
    assert "refitted from the donors outside its set" in e.spec["inference"]
    # the exclusive calls come in sets of three whose donor pools exclude all three targets
    excl = [c for c in calls if len(c[1]) == n - 3 - 3]
    assert len(excl) == 30 * 3
    for k in range(0, len(excl), 3):
        targets = {t for t, _ in excl[k : k + 3]}
        assert len(targets) == 3
        assert all(not (pool & targets) for _, pool in excl[k : k + 3])
