"""The library database's backups: consistent copies in backups/, made by SQLite's online backup (readers
and the writer carry on), before migrations and risky operations and on a schedule, the newest few kept."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

KEEP = 6  # the newest kept; older ones go as new ones come
EVERY_S = 24 * 3600  # a scheduled backup when the newest is older than this (checked on open)


def oldest_first(folder: Path) -> list[Path]:
    """The backups in `folder`, by when they were made (two in one second: by name)."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob("library-*.db"), key=lambda p: (p.stat().st_mtime_ns, p.name))


def latest(folder: Path) -> Path | None:
    found = oldest_first(folder)
    return found[-1] if found else None


def take(db_path: Path, folder: Path, reason: str, keep: int = KEEP) -> Path:
    """A consistent copy of the database at `db_path` in `folder`, named for when and why; the newest
    `keep` are kept. A copy cut off by a crash is left as a hidden .tmp, never taken for a whole one."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"{now % 1:.3f}"[1:]  # to the millisecond
    target = folder / f"library-{stamp}-{reason}.db"
    n = 1
    while target.exists():  # two in one second (an operation right after the scheduled one)
        n += 1
        target = folder / f"library-{stamp}-{n}-{reason}.db"
    partial = target.with_name("." + target.name + ".tmp")
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.replace(partial, target)
    for old in oldest_first(folder)[:-keep]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target
