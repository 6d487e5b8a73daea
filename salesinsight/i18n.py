"""The report languages: message catalogs (gettext via Babel) and locale formatting.

Every word the report (and a :class:`~salesinsight.results.Summary` in a report language) shows
comes from :meth:`Lang.tr`; the English text is the message id and the translations live in
``salesinsight/locale/<locale>/LC_MESSAGES/messages.po``. The ``.po``
sources are compiled in memory when first used (Babel's ``read_po`` + ``write_mo``), so a fresh
checkout or ``pip install -e .`` needs no build step. Numbers, percentages, money and dates are
formatted for the language's locale by Babel.

Marking strings: call ``lang.tr("text with {name}", name=value)`` in the report modules (or here, or in
``salesinsight/results.py``), or wrap a
module-level constant in :func:`N_`; ``tests/report/test_i18n.py`` extracts every such message with
Babel and fails when one lacks a translation.
"""

from __future__ import annotations

import gettext
import io
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from salesinsight.kpis import KpiName
from salesinsight.notes import Note

__all__ = [
    "EXTRACT_KEYWORDS",
    "LANGUAGES",
    "LOCALE_DIR",
    "Lang",
    "N_",
    "Note",
    "catalog_path",
    "translations",
]

#: report languages (the ``language`` run parameter) -> Babel locale.
LANGUAGES: dict[str, str] = {"en": "en", "zh-CN": "zh_Hans_CN"}
#: folder of the ``.po`` sources.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: the marker functions Babel's extractor looks for (``pybabel extract -k tr -k N_``).
EXTRACT_KEYWORDS: dict[str, None] = {"tr": None, "N_": None, "Note": None}
_CATALOG_LOCALE = {"zh-CN": "zh_CN"}


def N_(message: str) -> str:
    """Mark a module-level string for extraction; it is translated where it is shown."""
    return message


def catalog_path(language: str) -> Path:
    """Return the ``.po`` file of a language (English is the source language and has none)."""
    return LOCALE_DIR / _CATALOG_LOCALE[language] / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Return the compiled catalog of ``language`` (compiled in memory from its ``.po``)."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {sorted(LANGUAGES)}")
    if language == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(language).open("rb") as fh:
        catalog = read_po(fh, locale=_CATALOG_LOCALE[language])
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _minus(text: str) -> str:
    """Replace hyphens by the minus sign U+2212 (it never breaks from its number at a line end)."""
    return text.replace("-", "\u2212")


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Lang:
    """Translation and locale formatting for one report language.

    Parameters
    ----------
    language : {"en", "zh-CN"}
    currency : str or None
        ISO 4217 code of the data's reporting currency (``CNY``, ``USD``...); None shows money
        as plain numbers.
    """

    language: str = "en"
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"language {self.language!r} is not one of {sorted(LANGUAGES)}")

    @property
    def locale(self) -> str:
        """The Babel locale name."""
        return LANGUAGES[self.language]

    @property
    def zh(self) -> bool:
        """Whether the report is in Chinese (for punctuation and word order choices)."""
        return self.language.startswith("zh")

    # -- words ------------------------------------------------------------------------------
    def tr(self, message: str, /, **values: object) -> str:
        """Translate ``message`` and fill its ``{name}`` placeholders from ``values``."""
        text = translations(self.language).gettext(message)
        return text.format(**values) if values else text

    def note(self, note: object) -> str:
        """Render a run note in this language (plain text when it is not a :class:`Note`).

        A :class:`~salesinsight.kpis.KpiName` value is named in this language.
        """
        if isinstance(note, Note):
            values = {
                k: v.in_language(self.language) if isinstance(v, KpiName) else v
                for k, v in note.values.items()
            }
            return self.tr(note.msgid, **values)
        return str(note)

    def join(self, items: list[str]) -> str:
        """Join a list in words: ``a, b and c`` / ``a、b和c``."""
        items = [i for i in items if i]
        if len(items) <= 1:
            return "".join(items)
        if self.zh:
            return "、".join(items[:-1]) + "和" + items[-1]
        return ", ".join(items[:-1]) + " and " + items[-1]

    # -- numbers ----------------------------------------------------------------------------
    def number(self, value: object, *, digits: int = 0, signed: bool = False) -> str:
        """Format a number with the locale's grouping, ``digits`` decimals; "–" when missing."""
        from babel.numbers import format_decimal

        if _missing(value):
            return "–"
        v = float(value)  # type: ignore[arg-type]
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        if signed:
            pattern = f"+{pattern};-{pattern}"
        text = format_decimal(round(v, digits) + 0.0, format=pattern, locale=self.locale)
        return _minus(text)

    def tick(self, value: object, *, signed: bool = False) -> str:
        """Format a chart tick: at most two decimals, none when they are zero (``4``, ``12.5``)."""
        from babel.numbers import format_decimal

        if _missing(value):
            return "–"
        pattern = "#,##0.##"
        if signed:
            pattern = f"+{pattern};-{pattern}"
        v = round(float(value), 2) + 0.0  # type: ignore[arg-type]
        return _minus(format_decimal(v, format=pattern, locale=self.locale))

    def sig(self, value: object, *, signed: bool = False) -> str:
        """Format a number with about three significant digits, never in scientific notation."""
        if _missing(value):
            return "–"
        v = float(value)  # type: ignore[arg-type]
        mag = abs(v)
        digits = 0 if mag >= 100 or mag == 0 else (1 if mag >= 10 else (2 if mag >= 1 else 3))
        return self.number(v, digits=digits, signed=signed)

    def percent(self, value: object, *, digits: int = 0, signed: bool = False) -> str:
        """Format a share (0.143) as a percentage (``14%``)."""
        from babel.numbers import format_percent

        if _missing(value):
            return "–"
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        if signed:
            pattern = f"+{pattern};-{pattern}"
        v = float(value)  # type: ignore[arg-type]
        return _minus(format_percent(v, format=pattern, locale=self.locale))

    def points(self, value: object, *, digits: int = 1, signed: bool = True) -> str:
        """Format a difference of two shares in percentage points.

        For example 0.035 -> ``+3.5 pp`` / ``+3.5个百分点``.
        """
        if _missing(value):
            return "–"
        return self.tr("{n} pp", n=self.number(100 * float(value), digits=digits, signed=signed))  # type: ignore[arg-type]

    def money(self, value: object, *, signed: bool = False, compact: bool = False) -> str:
        """Format an amount in the reporting currency (``¥1,847`` / ``¥97万`` when compact)."""
        from babel.numbers import format_compact_currency, format_compact_decimal, format_currency

        if _missing(value):
            return "–"
        v = float(value)  # type: ignore[arg-type]
        sign = "+" if signed and v > 0 else ""
        if compact and abs(v) >= 10_000:

            def fmt(digits: int) -> str:
                if self.currency:
                    return format_compact_currency(
                        v, self.currency, locale=self.locale, fraction_digits=digits
                    )
                return format_compact_decimal(v, locale=self.locale, fraction_digits=digits)

            # one decimal while the leading number is below 100 (¥4.7M, ¥97万), none above (¥470万)
            text = fmt(0)
            lead = re.search(r"\d[\d,]*", text)
            if lead is not None and int(lead.group(0).replace(",", "")) < 100:
                text = fmt(1)
        elif self.currency:
            text = format_currency(
                round(v), self.currency, locale=self.locale, format="¤#,##0", currency_digits=False
            )
        else:
            text = self.number(v)
        text = _minus(sign + text.replace("CN¥", "¥"))
        # keep a sign with its currency symbol at a line end (U+2060 WORD JOINER, invisible)
        return re.sub(r"^([+\u2212])(?=\D)", "\\1\u2060", text)

    def date(self, value: date) -> str:
        """Format a date in the locale's medium form (``Oct 1, 2026`` / ``2026年10月1日``)."""
        from babel.dates import format_date

        return format_date(value, "long" if self.zh else "medium", locale=self.locale)
