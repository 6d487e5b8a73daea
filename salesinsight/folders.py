"""Folders salesinsight writes: ownership markers, safe replacement, claims, stale staging clean-up.

Nothing the user owns is replaced or deleted:

* every folder salesinsight creates carries a marker file (:data:`RUN_MARKER` in run folders,
  :data:`SIMULATE_MARKER` in simulated data folders); ``--force`` replaces only marked folders
  (:func:`check_replaceable`), and never one that is, or contains, a protected path such as the
  data folder or the params file (symbolic links resolved);
* a destination is claimed for the length of a run with an exclusive lock file beside it
  (:func:`claim`): a second run to the same destination fails at once. The lock is an OS lock
  (``flock``), so a process killed with ``kill -9`` releases it;
* hidden staging folders left by a killed run are removed by later runs once their owner
  process is gone and they are older than :data:`STALE_AFTER_SECONDS`
  (:func:`remove_stale_staging`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

__all__ = [
    "RUN_MARKER",
    "SIMULATE_MARKER",
    "STALE_AFTER_SECONDS",
    "DestinationError",
    "check_replaceable",
    "claim",
    "is_marked",
    "pid_alive",
    "remove_stale_staging",
    "staging_name",
    "write_marker",
]

#: marker file in every run folder ``salesinsight run`` creates
RUN_MARKER = ".salesinsight-run"
#: marker file in every data folder ``salesinsight simulate`` creates
SIMULATE_MARKER = ".salesinsight-simulated"
#: age after which a staging folder whose owner process is gone is removed
STALE_AFTER_SECONDS = 6 * 3600

_STAGING_PREFIXES = (".staging-", ".replaced-")


class DestinationError(ValueError):
    """A destination may not be written or replaced (the message says why and what to do)."""


def write_marker(folder: str | Path, marker: str, **info: str) -> None:
    """Mark ``folder`` as created by salesinsight (deterministic content: no times, no pids)."""
    payload = {"created_by": "salesinsight", **info}
    (Path(folder) / marker).write_text(json.dumps(payload, sort_keys=True) + "\n", encoding="utf-8")


def is_marked(folder: str | Path, marker: str) -> bool:
    """Return True when ``folder`` holds the regular file ``marker`` (a symbolic link does not count)."""
    path = Path(folder) / marker
    try:
        return path.is_file() and not path.is_symlink()
    except OSError:  # e.g. another user's folder we may not look into
        return False


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_replaceable(
    dest: str | Path,
    *,
    marker: str,
    protect: Mapping[str, str | Path | None] | None = None,
    recognise: Callable[[Path], bool] | None = None,
    what: str = "folder",
) -> None:
    """Raise :class:`DestinationError` unless ``dest`` may be replaced as a whole.

    ``dest`` may be replaced when it does not exist, or when it is a real folder (not a symbolic
    link) that is empty, holds ``marker``, or satisfies ``recognise``; and in every case only
    when it neither is nor contains any path of ``protect`` (label -> path, compared after
    resolving symbolic links).

    Parameters
    ----------
    dest
        The folder about to be replaced.
    marker
        File name that marks folders salesinsight created (:data:`RUN_MARKER`, ...).
    protect
        Paths that must survive, by label (``{"data_dir": ..., "params file": ...}``).
    recognise
        Extra test for folders created before markers existed.
    what
        Name of the folder kind in messages ("run folder", "data folder").
    """
    dest = Path(dest)
    if dest.is_symlink():
        raise DestinationError(
            f"{dest} is a symbolic link; salesinsight does not replace links (remove it or "
            "choose another destination)"
        )
    if not dest.exists():
        return
    if not dest.is_dir():
        raise DestinationError(f"{dest} is a file, not a folder; choose another destination")
    resolved = dest.resolve()
    for label, path in (protect or {}).items():
        if path is None:
            continue
        target = Path(path).resolve()
        if _contains(resolved, target):
            relation = "is" if target == resolved else "contains"
            raise DestinationError(
                f"{dest} {relation} the {label} ({target}); salesinsight never replaces its "
                "inputs, choose another destination"
            )
    empty = not any(dest.iterdir())
    if empty or is_marked(dest, marker) or (recognise is not None and recognise(dest)):
        return
    raise DestinationError(
        f"{dest} exists and was not created by salesinsight (no {marker} file in it); --force "
        f"replaces only {what}s salesinsight created. Move or delete it yourself, or choose "
        "another destination"
    )


def pid_alive(pid: int) -> bool:
    """Return True when a process ``pid`` exists on this machine (``os.kill(pid, 0)``)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OSError, OverflowError):  # not a pid this machine can have
        return False
    return True


def _lock_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.salesinsight-lock"


def _owner_text(lock: Path) -> str:
    try:
        info = json.loads(lock.read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']}, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "owner unknown"


@contextlib.contextmanager
def claim(dest: str | Path) -> Iterator[Path]:
    """Hold an exclusive claim on ``dest`` (a lock file beside it) for the ``with`` block.

    Raises
    ------
    DestinationError
        Another process holds the claim; the message names it.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(dest)
    fd = _acquire(lock, dest)
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode())
        yield lock
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()
        os.close(fd)  # closing releases the OS lock


def _acquire(lock: Path, dest: Path) -> int:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: an exclusive create (no stale detection)
        try:
            return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        except FileExistsError:
            raise DestinationError(_busy(dest, lock)) from None
    for _ in range(5):
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DestinationError(_busy(dest, lock)) from None
        try:  # the holder may have removed the file between our open and our lock: retry
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    raise DestinationError(_busy(dest, lock))


def _busy(dest: Path, lock: Path) -> str:
    return (
        f"another salesinsight run is writing {dest} ({_owner_text(lock)}); wait for it to "
        "finish or choose another destination"
    )


def staging_name(kind: str, tag: str) -> str:
    """Hidden name of a staging folder: ``.<kind>-<tag>-<pid>-<random>`` (pid = owner)."""
    if f".{kind}-" not in _STAGING_PREFIXES:
        raise ValueError(f"unknown staging kind {kind!r}")
    return f".{kind}-{tag}-{os.getpid()}-{os.urandom(4).hex()}"


def remove_stale_staging(
    parent: str | Path, *, marker: str, max_age: float = STALE_AFTER_SECONDS
) -> list[Path]:
    """Remove staging folders in ``parent`` left by runs that died (e.g. ``kill -9``).

    A folder is removed only when all hold: its name is a staging name (:func:`staging_name`),
    it holds ``marker``, its owner process (the pid in its name) no longer exists, and it was
    last modified more than ``max_age`` seconds ago.

    Returns
    -------
    list of Path
        The folders removed.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return []
    removed = []
    now = time.time()
    for path in sorted(parent.iterdir()):
        if not path.name.startswith(_STAGING_PREFIXES) or path.is_symlink() or not path.is_dir():
            continue
        try:
            pid = int(path.name.rsplit("-", 2)[-2])
        except (ValueError, IndexError):
            continue
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        if age > max_age and is_marked(path, marker) and not pid_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
