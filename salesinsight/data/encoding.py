"""Detect the text encoding of a CSV file cheaply and transcode non-UTF-8 files to a temporary copy.

Chinese CRM exports are often GBK; GB18030 is a superset of GBK and GB2312, so it is what we decode
with. Files are streamed in chunks: nothing is loaded whole, and the input file is never modified.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EncodingGuess", "detect_encoding", "guess_encoding", "transcode_to_utf8"]

_CHUNK = 1 << 20  # 1 MiB

UTF8 = "utf-8"
UTF8_SIG = "utf-8-sig"
GB18030 = "gb18030"
UTF16 = "utf-16"


def _decodes(path: Path, encoding: str) -> bool:
    """Return True when the whole file decodes strictly with ``encoding`` (streamed in chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk, final=False)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: str | Path) -> str | None:
    """Return the encoding of a text file, or ``None`` when no candidate decodes it.

    Parameters
    ----------
    path : the file to inspect.

    Returns
    -------
    ``"utf-8"``, ``"utf-8-sig"`` (UTF-8 with a byte-order mark), ``"utf-16"`` (with a byte-order
    mark, as Excel's "Unicode text" writes), else the content-based guess of
    :func:`guess_encoding` among ``CANDIDATES`` (``"gb18030"`` for GBK/GB2312/GB18030, ``"cp1252"``
    for Windows-1252, ``"big5"``), or ``None``. Use :func:`guess_encoding` to know whether the guess
    is certain.
    """
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return UTF8_SIG if _decodes(path, UTF8_SIG) else None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16 if _decodes(path, UTF16) else None
    if _decodes(path, UTF8):
        return UTF8
    return guess_encoding(path).encoding


#: Legacy encodings an export is told apart between by content (after BOMs and strict UTF-8):
#: Chinese (GB18030 covers GBK and GB2312; Big5) and Western European Windows (Spanish, French,
#: German, Portuguese exports of Windows Excel). Others: set `encoding:` in the mapping.
CANDIDATES: tuple[str, ...] = ("gb18030", "cp1252", "big5")
_NAMES = {
    "gb18030": "GB18030",
    "gbk": "GBK",
    "cp1252": "Windows-1252",
    "big5": "Big5",
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "iso8859-1": "Latin-1",
}
_SAMPLE = 2 << 20  # bytes read for a content-based guess


def encoding_label(encoding: str) -> str:
    """Human name of a codec (``cp1252`` and ``windows-1252`` -> ``Windows-1252``)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    return _NAMES.get(name, name.upper())


@dataclass(frozen=True)
class EncodingGuess:
    """The encoding of a text file and how sure the guess is.

    Attributes
    ----------
    encoding : codec name (``"utf-8"``, ``"gb18030"``, ``"cp1252"``, ...), ``None`` if none fits.
    certain : True for a byte-order mark, strict UTF-8, or when content fits one candidate only.
    alternatives : other candidates that also decode the file, most plausible first.
    """

    encoding: str | None
    certain: bool
    alternatives: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Human name of the guessed encoding."""
        return "unknown" if self.encoding is None else encoding_label(self.encoding)


def guess_encoding(path: str | Path, candidates: tuple[str, ...] = CANDIDATES) -> EncodingGuess:
    """Guess a text file's encoding: byte-order marks, strict UTF-8, then by content.

    Content is judged by charset-normalizer (how plausible the decoded text is), restricted to
    ``candidates``: Windows-1252 text such as ``Negociación`` also decodes as GB18030
    (``Negociaci髇``) byte for byte, so "it decodes" alone cannot tell them apart. The guess is
    then checked by decoding the whole file strictly; a candidate that fails is dropped.

    Parameters
    ----------
    path : the file.
    candidates : legacy encodings considered after UTF-8.

    Returns
    -------
    EncodingGuess
    """
    from charset_normalizer import from_bytes

    path = Path(path)
    first = detect_encoding(path) if _has_bom_or_utf8(path) else None
    if first is not None:
        return EncodingGuess(first, True)
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE)
        truncated = bool(fh.read(1))
    if truncated and b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    matches = from_bytes(sample, cp_isolation=list(candidates), preemptive_behaviour=False)
    ranked: list[str] = []
    texts: dict[str, str] = {}
    for m in matches:
        enc = codecs.lookup(m.encoding).name
        if enc not in ranked:
            ranked.append(enc)
            texts[enc] = str(m)
    fitting = [e for e in ranked if _decodes(path, e)]
    if not fitting:  # no plausible text: anything that decodes at all, never certain
        anyway = [codecs.lookup(e).name for e in candidates if _decodes(path, e)]
        return (
            EncodingGuess(anyway[0], False, tuple(anyway[1:]))
            if anyway
            else EncodingGuess(None, False)
        )
    best, rest = fitting[0], fitting[1:]
    differing = tuple(e for e in rest if texts.get(e) != texts.get(best))
    return EncodingGuess(best, not differing, differing)


def _has_bom_or_utf8(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    return _decodes(path, UTF8)


def transcode_to_utf8(source: str | Path, target: str | Path, encoding: str) -> Path:
    """Write a UTF-8 (no BOM) copy of ``source`` decoded with ``encoding`` to ``target``.

    Streams in chunks; ``source`` is only read. Returns the ``target`` path.
    """
    source, target = Path(source), Path(target)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with source.open("rb") as src, target.open("w", encoding=UTF8, newline="") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(decoder.decode(chunk, final=False))
        dst.write(decoder.decode(b"", final=True))
    return target
