"""The minimum meaningful effect: a number in the outcome's units, or ``"N%"`` of the baseline.

One parser for the run parameters (``min_effect:`` in params YAML), the Python API
(``evaluate(..., min_effect="3%")``) and the command line (``--min-effect 3%``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["MinEffect", "min_effect_specs", "parse_min_effect", "resolve_min_effect"]

#: a relative minimum effect: a non-negative percentage of the untreated baseline
_RELATIVE = re.compile(r"\s*(?P<pct>[0-9]+(\.[0-9]+)?)\s*%\s*")

#: what a caller may pass: a number, "N%", or a mapping outcome -> either
MinEffect = float | str | Mapping[str, float | str] | None


def parse_min_effect(spec: float | int | str) -> tuple[float, bool]:
    """``(value, relative)`` of one minimum-effect specification.

    Parameters
    ----------
    spec : float or str
        A non-negative number in the outcome's units (``0.01``, ``"0.01"``), or ``"N%"`` of the
        untreated baseline (``"3%"``, ``"2.5 %"``).

    Returns
    -------
    (float, bool)
        The number (the percentage itself when relative, e.g. 3.0 for ``"3%"``) and whether it
        is relative.

    Raises
    ------
    ValueError
        For anything else (negative, not finite, ``"3 percent"``, ``True``), naming the value.
    """
    if isinstance(spec, bool):
        raise ValueError(f"min_effect {spec!r} is neither a number nor 'N%'")
    if isinstance(spec, str):
        m = _RELATIVE.fullmatch(spec)
        if m:
            return float(m.group("pct")), True
        try:
            value = float(spec)
        except ValueError:
            raise ValueError(f"min_effect {spec!r} is neither a number nor 'N%'") from None
    elif isinstance(spec, int | float):
        value = float(spec)
    else:
        raise ValueError(f"min_effect {spec!r} is neither a number nor 'N%'")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"min_effect {spec!r} must be a finite number >= 0 (or 'N%')")
    return value, False


def resolve_min_effect(spec: float | int | str | None, baseline: float | None) -> float:
    """Return the absolute minimum effect: ``spec`` itself, or its percentage of ``|baseline|``.

    A relative spec without a (finite) baseline resolves to 0.
    """
    if spec is None:
        return 0.0
    value, relative = parse_min_effect(spec)
    if not relative:
        return value
    if baseline is None or not math.isfinite(float(baseline)):
        return 0.0
    return abs(float(baseline)) * value / 100


def min_effect_specs(spec: MinEffect, outcomes: tuple[str, ...]) -> dict[str, float | str]:
    """Per outcome, the validated specification (unlisted outcomes: 0)."""
    if spec is None:
        return dict.fromkeys(outcomes, 0.0)
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(outcomes))
        if unknown:
            raise ValueError(f"min_effect given for outcome(s) not evaluated: {unknown}")
        out: dict[str, float | str] = {}
        for o in outcomes:
            s = spec.get(o, 0.0)
            parse_min_effect(s)
            out[o] = s if isinstance(s, str) else float(s)
        return out
    parse_min_effect(spec)
    return dict.fromkeys(outcomes, spec if isinstance(spec, str) else float(spec))
