"""Detect the text encoding of a CSV file cheaply and transcode non-UTF-8 files to a temporary copy.

Chinese CRM exports are often GBK; GB18030 is a superset of GBK and GB2312, so it is what we decode
with. Files are streamed in chunks: nothing is loaded whole, and the input file is never modified.
"""

from __future__ import annotations

import codecs
from pathlib import Path

__all__ = ["detect_encoding", "transcode_to_utf8"]

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
    """Return the encoding of a text file, or ``None`` when it is neither UTF-8 nor GB18030.

    Parameters
    ----------
    path : the file to inspect.

    Returns
    -------
    ``"utf-8"``, ``"utf-8-sig"`` (UTF-8 with a byte-order mark), ``"utf-16"`` (with a byte-order
    mark, as Excel's "Unicode text" writes), ``"gb18030"`` (GBK/GB2312/GB18030) or ``None``.
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
    if _decodes(path, GB18030):
        return GB18030
    return None


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
