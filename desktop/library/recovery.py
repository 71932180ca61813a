"""Getting a damaged library back: the newest backup put in place, or, with none, the catalogue made
again from the stored files (`tessera library check --restore` / `--rebuild`)."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any

from desktop.library.backups import oldest_first as backups_oldest_first
from desktop.library.catalogue import Library, LibraryError
from desktop.library.locks import FolderLock


def restore_latest_backup(root: str | Path) -> Path:
    """Put the newest backup in place of a damaged database; the damaged file is kept aside."""
    root = Path(root).expanduser()
    backups = backups_oldest_first(root / "backups")
    if not backups:
        raise LibraryError(f"no backup to restore in {root / 'backups'}")
    lock = FolderLock(root / "library.lock")
    try:
        db = root / "library.db"
        if db.exists():
            db.replace(root / f"library.db.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (root / f"library.db{suffix}").unlink()
        shutil.copy2(backups[-1], db)
    finally:
        lock.release()
    return backups[-1]


# what `library check --rebuild` makes again of each table, and what it cannot (the files do not hold it);
# a table a migration adds is named here too (tests/test_library_rebuild.py holds that every table is)
REBUILT_FROM_FILES = {
    "pattern": "every stored image, its size and sha256, titled as on import",
    "provenance": "engine, model, style, seed and prompt from each PNG's Tessera and A1111 chunks",
    "palette": "the palette a Tessera PNG names",
    "embedding_outbox": "every pattern queued for the search index again",
}
LOST_IN_A_REBUILD = {
    "tag": "tags", "collection": "collections", "collection_member": "collections' members",
    "audit_log": "the history of changes", "publication": "what was published and where",
    "qa_report": "QA reports (run QA again)",
    "listing": "reviewed listings (each is drafted again from its pattern)",
}


def rebuild_catalogue(root: str | Path) -> dict[str, Any]:
    """A new catalogue made from the stored files alone, for a damaged database with no backup to
    restore (as digiKam and darktable rebuild theirs): the damaged database is kept aside, a fresh one
    made, and every file in files/ registered again with what its PNG chunks say (provenance, repeat,
    palette). Statuses, ratings and what LOST_IN_A_REBUILD names are not in the files: they are lost."""
    root = Path(root).expanduser()
    db = root / "library.db"
    aside = None
    lock = FolderLock(root / "library.lock")
    try:
        if db.exists():
            aside = root / f"library.db.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
            db.replace(aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                (root / f"library.db{suffix}").unlink()
    finally:
        lock.release()
    with Library(root) as lib:
        result = lib.check(repair=True)  # every stored file is a stray one now: registered again
    return {"kept_aside": str(aside) if aside else None, "patterns": result["patterns"] or
            sum(1 for a in result["repairs"] if a.startswith("registered")),
            "repairs": result["repairs"], "rebuilt": REBUILT_FROM_FILES,
            "lost": sorted(set(LOST_IN_A_REBUILD.values()) | {"statuses and ratings", "the trash (restored)"})}
