"""Sentences that stay English where they are stored and can be translated where they are shown.

A :class:`Note` is a ``str`` (the English sentence, as results.json and the CSV tables keep it) that
remembers its message id and the values filled into it, so the report can show it in its own
language (:meth:`salesinsight.i18n.Lang.note`). It lives below every layer that writes notes
(mentoring, actions, the report) so none of them has to import the report.
"""

from __future__ import annotations

__all__ = ["Note"]


class Note(str):
    """A sentence in English that remembers its message id and values.

    ``str`` gives the English (e.g. in results.json); the report shows it in its own language.

    Parameters
    ----------
    msgid : str
        The English sentence with ``{name}`` placeholders (format specs such as ``{share:.0%}``
        are allowed; a translation must use the same placeholders).
    **values
        The values of the placeholders (numbers are kept as numbers, so the report can format
        them for its locale).

    Notes
    -----
    The message id is marked for extraction by the ``Note("...")`` call itself (``pybabel
    extract -k Note``).
    """

    msgid: str
    values: dict[str, object]

    def __new__(cls, msgid: str, /, **values: object) -> Note:
        """Format ``msgid`` with ``values`` and keep both."""
        note = super().__new__(cls, msgid.format(**values) if values else msgid)
        note.msgid = msgid
        note.values = values
        return note

    def __reduce__(self) -> tuple:  # keep msgid and values through pickling (kernels, caches)
        return (_make_note, (self.msgid, self.values))


def _make_note(msgid: str, values: dict[str, object]) -> Note:
    return Note(msgid, **values)
