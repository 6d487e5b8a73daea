"""The multiplicity correction and the adjusted verdict (one rule for evaluate and the report)."""

from __future__ import annotations

import pytest

from salesinsight.causal.effect import Effect
from salesinsight.evaluation.verdicts import adjust_p_values, adjusted_verdict

P = {"win_rate": 0.01, "revenue": 0.04, "csat": 0.03}


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04; running max 0.03, 0.06, 0.06
    got = adjust_p_values(P, alpha=0.05, correction="holm")
    assert list(got) == list(P)  # the program's outcome order is kept
    assert got == pytest.approx({"win_rate": 0.03, "revenue": 0.06, "csat": 0.06}, abs=1e-12)


def test_benjamini_hochberg_by_hand():
    # sorted 0.01, 0.03, 0.04 times 3/1, 3/2, 3/3 = 0.03, 0.045, 0.04; running min from the top
    got = adjust_p_values(P, alpha=0.05, correction="bh")
    assert got == pytest.approx({"win_rate": 0.03, "revenue": 0.04, "csat": 0.04}, abs=1e-12)


def test_adjusting_nothing_and_an_unknown_correction():
    assert adjust_p_values({}, alpha=0.05) == {}
    with pytest.raises(ValueError, match="correction must be 'holm' or 'bh', got 'bonferroni'"):
        adjust_p_values(P, alpha=0.05, correction="bonferroni")


def _effect(estimate: float, lo: float, hi: float, p: float) -> Effect:
    return Effect(
        estimate=estimate,
        se=(hi - lo) / 3.92,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        n_units=40,
        n_obs=400,
        method="test",
        outcome="win_rate",
        spec={"ci_level": 0.95},
    )


WIN = _effect(0.02, 0.001, 0.039, 0.04)
HARM = _effect(-0.02, -0.039, -0.001, 0.04)
NULL = _effect(0.0, -0.004, 0.004, 0.9)


def test_a_win_that_survives_the_correction_stands():
    v = adjusted_verdict(WIN, min_effect=0.0, alpha=0.05, p_adjusted=0.049)
    assert v == WIN.verdict(min_effect=0.0, alpha=0.05)
    assert v.label == "worked"
    # no adjusted p-value (the outcome was not in the family): the verdict is left as is
    assert adjusted_verdict(WIN, min_effect=0.0, alpha=0.05, p_adjusted=None).label == "worked"


@pytest.mark.parametrize(("effect", "label"), [(WIN, "worked"), (HARM, "harmed")])
def test_a_win_or_harm_that_does_not_survive_is_inconclusive(effect, label):
    raw = effect.verdict(min_effect=0.0, alpha=0.05)
    assert raw.label == label
    v = adjusted_verdict(effect, min_effect=0.0, alpha=0.05, p_adjusted=0.05, correction="bh")
    assert v.label == "inconclusive"
    assert v.reason == (
        f"{raw.reason[:-1]}, but the Benjamini-Hochberg-adjusted p-value 0.05 across the "
        "program's outcomes is not below 0.05."
    )
    holm = adjusted_verdict(effect, min_effect=0.0, alpha=0.05, p_adjusted=0.12)
    assert "the Holm-adjusted p-value 0.12 across" in holm.reason


def test_the_plain_wording_of_the_quarterly_report():
    raw = WIN.verdict(min_effect=0.0, alpha=0.05)
    v = adjusted_verdict(WIN, min_effect=0.0, alpha=0.05, p_adjusted=0.0612, wording="plain")
    assert v.label == "inconclusive"
    assert v.reason == (
        f"{raw.reason} But after correcting for testing several outcomes the p-value is 0.0612, "
        "not below 0.05, so it may be chance."
    )


def test_other_verdicts_are_not_touched():
    for p_adj in (0.01, 0.99):
        v = adjusted_verdict(NULL, min_effect=0.01, alpha=0.05, p_adjusted=p_adj)
        assert v == NULL.verdict(min_effect=0.01, alpha=0.05)
        assert v.label == "no detectable effect"
