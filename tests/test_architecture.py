"""ARCHITECTURE.md is the map of the package: every module is on it and everything on it exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _modules() -> list[Path]:
    pkg = ROOT / "salesinsight"
    return sorted(
        p.relative_to(ROOT)
        for p in pkg.rglob("*.py")
        if p.name != "__init__.py" and "templates" not in p.parts
    )


def test_every_module_is_on_the_map():
    """A module is on the map when its path, or its file name in a row that names its folder,
    appears in ARCHITECTURE.md."""
    missing = []
    for rel in _modules():
        path = rel.as_posix()
        folder = rel.parent.as_posix()
        if f"`{path}`" in MAP or path in MAP:
            continue
        rows = [line for line in MAP.splitlines() if f"`{folder}/" in line or f"{folder}/`" in line]
        if any(rel.name in row or f"`{rel.stem}`" in row for row in rows):
            continue
        missing.append(path)
    assert not missing, f"modules missing from ARCHITECTURE.md: {missing}"


def test_every_path_on_the_map_exists():
    paths = set(re.findall(r"`(salesinsight/[\w/.-]+)`", MAP))
    gone = [p for p in sorted(paths) if not (ROOT / p.rstrip("/")).exists()]
    assert not gone, f"ARCHITECTURE.md names paths that do not exist: {gone}"
