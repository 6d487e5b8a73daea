"""Optional PDF of the report through headless Chromium's print-to-PDF."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "print_pdf"]


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_args(user_data_dir: str) -> list[str]:
    """Return flags for a headless Chromium that stays off the network."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_data_dir}",
    ]


def print_pdf(html_path: str | Path, *, timeout: float = 120) -> Path | None:
    """Print ``html_path`` to a PDF beside it; returns its path, or None without Chromium."""
    chromium = find_chromium()
    if chromium is None:
        return None
    html_path = Path(html_path).resolve()
    pdf = html_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, *chromium_args(profile), f"--print-to-pdf={pdf}", html_path.as_uri()],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    return pdf
