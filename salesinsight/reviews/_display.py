"""One display mixin for the review and mentoring result objects: text and HTML from one source."""

from __future__ import annotations

import html

import pandas as pd


class SummaryMixin:
    """``__str__`` and ``_repr_html_`` built from ``summary()`` and ``to_frame()``."""

    def summary(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        text = html.escape(self.summary())
        table = self.to_frame().to_html(index=False, escape=True, float_format=lambda x: f"{x:.4g}")
        return f"<div><pre>{text}</pre>{table}</div>"
