"""The field delimiter of a delimited text export, guessed from its header line."""

from __future__ import annotations

__all__ = ["sniff_delimiter"]

#: Delimiters CRM exports use, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")


def sniff_delimiter(header_line: str) -> str:
    """Guess the delimiter of a header line.

    Parameters
    ----------
    header_line : str
        The first line of the file, decoded.

    Returns
    -------
    str
        The most frequent of ``,``, ``;``, tab and ``|`` in the line (the first of them on a tie);
        ``,`` when the line holds none of them (a one-column file).
    """
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","
