"""The public names of ``salesinsight.causal`` and its modules do not hide one another."""

from __future__ import annotations

import importlib
import pkgutil
import types

import salesinsight.causal as causal


def _submodules() -> set[str]:
    return {m.name for m in pkgutil.iter_modules(causal.__path__)}


def test_no_attribute_shadows_a_submodule():
    # ``from salesinsight.causal.x import ...`` after ``salesinsight.causal.x`` became the
    # function x would reach a different object than the attribute: scikit-learn avoids this by
    # keeping the module private (``_x``) and exporting the function from the package.
    for name in _submodules():
        importlib.import_module(f"salesinsight.causal.{name}")
    shadowed = sorted(
        name
        for name in _submodules()
        if not isinstance(getattr(causal, name, None), types.ModuleType)
    )
    assert shadowed == [], f"attributes of salesinsight.causal that hide a module: {shadowed}"


def test_public_names_come_from_private_modules_unchanged():
    for name in ("aipw", "experiment", "heterogeneity", "impact", "matched_did", "twfe"):
        func = getattr(causal, name)
        assert callable(func) and not isinstance(func, types.ModuleType)
        assert func.__module__ == f"salesinsight.causal._{name}"
        assert name in causal.__all__
    assert {"dr_learner", "ConditionalEffects"} <= set(causal.__all__)
