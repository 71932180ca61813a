"""The library's integrity: `check` (quick_check, every row with its file, no file without its
row, stored files the app could not open again) and its repairs of what a crash left. The
catalogue's `Library.check` is the way in; `recovery.py` restores and rebuilds beyond that."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.library.metadata_chunks import OversizedText, png_text_of_file
from desktop.library.models import AuditLog, Pattern


def check(lib, repair: bool = False) -> dict[str, Any]:
    """Integrity: quick_check, every row has its file, and no file without its row.

    With `repair`, half-written temp files (a write cut off by a crash) are removed and
    stored images that lost their row are registered again, so nothing is lost.
    """
    quick, rows, missing = _rows_and_missing(lib)
    known = set(rows.values())
    files = [p for p in lib.files.rglob("*") if p.is_file()] if lib.files.is_dir() else []
    partial = sorted(p for p in files if p.name.startswith(".") and p.name.endswith(".tmp"))
    stray = sorted(p for p in files if p not in partial and str(p.relative_to(lib.files)) not in known)
    if stray:  # a pattern deleted for good whose file outlived its row (a crash between the two)
        purged = purged_files(lib)
        leftover = [p for p in stray if str(p.relative_to(lib.files)) in purged]
        stray = [p for p in stray if p not in leftover]
    else:
        leftover = []
    actions: list[str] = []
    if repair:
        for path in partial:
            path.unlink(missing_ok=True)
            actions.append(f"removed the half-written {path.name}")
        for path in leftover:
            path.unlink(missing_ok=True)
            actions.append(f"removed {path.name}, whose pattern was deleted for good")
        leftover = []
        for path in stray:  # already at its content address: only the row is missing
            changes = lib.import_file(path)
            actions += [f"registered {path.name} again as pattern {pid}" for pid in changes.added]
            actions += [f"could not register {path.name}: {q['reason']}" for q in changes.quarantined]
        stray = []
    unreadable = unreadable_files(lib, rows)
    return {"quick_check": quick, "patterns": len(rows), "missing_files": missing,
            "stray_files": [str(p.relative_to(lib.files)) for p in stray],
            "partial_files": [] if repair else [p.name for p in partial],
            "purged_files": [str(p.relative_to(lib.files)) for p in leftover], "repairs": actions,
            "unreadable_files": unreadable, "ok": quick == "ok" and not missing and not unreadable}


def _rows_and_missing(lib) -> tuple[str, dict[int, str], list[int]]:
    with lib.engine.connect() as conn:
        quick = conn.exec_driver_sql("PRAGMA quick_check").scalar()
        rows = dict(conn.execute(select(Pattern.id, Pattern.file)).all())
    return quick, rows, [pid for pid, rel in rows.items() if not (lib.files / rel).is_file()]


def health(lib) -> dict[str, Any]:
    """The quick part of `check` (SQLite's quick_check, and every row's file there), for `tessera doctor`:
    one stat a pattern, nothing read, nothing repaired."""
    quick, rows, missing = _rows_and_missing(lib)
    return {"quick_check": quick, "patterns": len(rows), "missing_files": missing,
            "ok": quick == "ok" and not missing}


def unreadable_files(lib, rows: dict[int, str]) -> list[dict[str, Any]]:
    """Stored PNGs the app could not open again (a text chunk past Pillow's limits): found by reading
    their text chunks only, the pixels sought over."""
    found = []
    for pid, rel in rows.items():
        path = lib.files / rel
        if path.suffix.lower() != ".png" or not path.is_file():
            continue
        try:
            png_text_of_file(path)
        except OversizedText as exc:
            found.append({"id": pid, "file": rel, "reason": str(exc)})
        except OSError:
            continue  # missing or unreadable now: the missing-files list says so
    return found


def purged_files(lib) -> set[str]:
    """Store paths (relative) of patterns deleted for good: `check` removes such a file rather
    than register it again (left by a crash between a purge's commit and its unlink)."""
    with Session(lib.reader) as session:
        details = session.scalars(select(AuditLog.detail).where(AuditLog.action == "purge"))
        return {d.get("file") for d in details if isinstance(d, dict) and d.get("file")}
