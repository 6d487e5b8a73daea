"""Where the shared data lives: ``../shared`` beside this checkout, as CI lays it out.

CI clones the repository into a fresh folder with a copy of ``shared/`` beside it, and a developer's
worktree has it beside too, so every path is relative to this checkout, never absolute. The shared
files are the proof that the estimators reproduce published numbers (``reference-data/``) and that
the importer reads a real export (``real-data/``): when ``../shared`` is there, or under CI, a
missing file fails the test that needs it. Only a checkout with no ``../shared`` at all (a clone
elsewhere, an sdist) skips those tests, and says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE_DIR = SHARED / "reference-data"


def shared_file(*parts: str) -> Path:
    """The path of ``../shared/<parts>``: fails when it is missing, skips when ``../shared`` is.

    Call it inside a test or fixture (it raises pytest's fail or skip outcome).
    """
    path = SHARED.joinpath(*parts)
    if path.exists():
        return path
    if SHARED.is_dir() or os.environ.get("CI"):
        pytest.fail(
            f"shared file missing: {path} (../shared is "
            f"{'there' if SHARED.is_dir() else 'missing under CI'}; CI lays it beside the checkout)",
            pytrace=False,
        )
    pytest.skip(f"no ../shared beside this checkout ({SHARED}): shared data tests not run")


def reference_file(name: str) -> Path:
    """A file of ``../shared/reference-data`` (see :func:`shared_file`)."""
    return shared_file("reference-data", name)
