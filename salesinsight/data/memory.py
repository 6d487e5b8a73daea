"""How much memory DuckDB may use: a share of the machine's memory, overridable.

Every DuckDB connection salesinsight opens (:func:`salesinsight.data.sources.connect`) gets a
``memory_limit`` and a ``temp_directory`` to spill to, so a large data folder makes a query slower
(it spills) instead of getting the process killed for running out of memory.

The limit is, in order of precedence: the ``memory_limit`` argument, the environment variable
``SALESINSIGHT_MEMORY_LIMIT``, or :data:`DEFAULT_LIMIT` (half the machine's memory). Each may be
a share (``"50%"``) of the machine's memory - the smaller of the physical memory and a Linux
control-group limit, so a container's limit counts - or a size (``"4GB"``, ``"512MiB"``,
``"2000000000"`` bytes).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["DEFAULT_LIMIT", "ENV_VAR", "duckdb_memory_limit", "machine_memory_bytes"]

#: environment variable overriding the limit
ENV_VAR = "SALESINSIGHT_MEMORY_LIMIT"
#: limit used when neither an argument nor the environment variable sets one
DEFAULT_LIMIT = "50%"

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*|%)\s*", re.IGNORECASE)
_CGROUP_FILES = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)
#: cgroup v1 reports "no limit" as a huge number (about 2**63)
_NO_LIMIT = 2**60


def machine_memory_bytes() -> int | None:
    """Memory available to this process in bytes: physical memory, capped by a cgroup limit.

    None when it cannot be determined (then DuckDB's own default applies).
    """
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX
        pass
    for path in _CGROUP_FILES:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < _NO_LIMIT:
            sizes.append(int(text))
    sizes = [s for s in sizes if s > 0]
    return min(sizes) if sizes else None


def duckdb_memory_limit(value: str | None = None) -> str | None:
    """Return the ``memory_limit`` setting for a new DuckDB connection, as ``"<bytes>B"``.

    Parameters
    ----------
    value
        ``"50%"`` (a share of :func:`machine_memory_bytes`) or a size (``"4GB"``, ``"512MiB"``,
        bytes). Default: the environment variable ``SALESINSIGHT_MEMORY_LIMIT``, else
        :data:`DEFAULT_LIMIT`.

    Returns
    -------
    str or None
        None when a share is asked for but the machine's memory is unknown.

    Raises
    ------
    ValueError
        An unreadable value, naming where it came from.
    """
    source = "memory_limit"
    if value is None:
        env = os.environ.get(ENV_VAR)
        value, source = (env, ENV_VAR) if env else (DEFAULT_LIMIT, "default")
    match = _SIZE.fullmatch(str(value))
    unit = match.group(2).lower() if match else ""
    if match is None or (unit != "%" and unit not in _UNITS):
        raise ValueError(
            f"{source}: {str(value)[:100]!r} is not a memory size; use a share like '50%' or a "
            "size like '4GB' or '512MiB'"
        )
    number = float(match.group(1))
    if unit == "%":
        if not 0 < number <= 100:
            raise ValueError(f"{source}: {value!r}: a share must be above 0% and at most 100%")
        total = machine_memory_bytes()
        if total is None:
            return None
        return f"{int(total * number / 100)}B"
    size = int(number * _UNITS[unit])
    if size < 2**20:
        raise ValueError(f"{source}: {value!r} is less than 1 MiB; DuckDB needs more to run")
    return f"{size}B"
