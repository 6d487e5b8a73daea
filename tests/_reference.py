"""Where the shared reference data lives: ``../shared/reference-data`` beside the repository.

CI clones the repository into a fresh folder with a copy of ``shared/`` beside it, so the path is
resolved relative to this checkout first. A missing folder is an error, never a silent skip: the
reference tests are the proof that the estimators reproduce published numbers.
"""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[1].parent / "shared" / "reference-data",
    Path("/work/shared/reference-data"),
)


def reference_dir() -> Path:
    """The reference-data folder; raises FileNotFoundError naming the places looked at."""
    for path in _CANDIDATES:
        if path.is_dir():
            return path
    raise FileNotFoundError(
        "reference data not found; looked in " + ", ".join(str(p) for p in _CANDIDATES)
    )


REFERENCE_DIR = reference_dir()
