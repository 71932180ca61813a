"""The trash: patterns put aside, and brought back or deleted for good.

Moving a pattern to the trash keeps everything about it (its file, provenance, QA, tags,
collections, publication record) and only takes it out of every listing, search, duplicate
check and training set: its vector rows leave the index, and come back from the embedding
outbox when it is restored. Emptying the trash deletes the rows (their children go with them)
and then the files; each deletion is in the audit log first, so a crash between the commit
and the unlink leaves a file that `check --repair` removes instead of registering it again.
An id is never given to another pattern (see Library._insert_rows).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from desktop.library.catalogue import ChangeSet, Library, LibraryError
from desktop.library.models import AuditLog, EmbeddingOutbox, Pattern, Publication, now


def _ids(ids: Iterable[int]) -> list[int]:
    return sorted({int(i) for i in ids})


def in_trash(lib: Library, ids: Iterable[int] | None = None) -> list[int]:
    """Which of `ids` (or of all patterns) are in the trash."""
    query = select(Pattern.id).where(Pattern.trashed.is_not(None))
    if ids is not None:
        query = query.where(Pattern.id.in_(_ids(ids)))
    with Session(lib.reader) as session:
        return sorted(session.scalars(query))


def summary(lib: Library, ids: Iterable[int] | None = None) -> dict[str, Any]:
    """How many patterns are in the trash (or of `ids`, those in it), since when the oldest, and
    how many of them are listed on the marketplace (deleting them here leaves their listings)."""
    where = [Pattern.trashed.is_not(None)] + ([Pattern.id.in_(_ids(ids))] if ids is not None else [])
    with Session(lib.reader) as session:
        count, oldest = session.execute(select(func.count(), func.min(Pattern.trashed)).where(*where)).one()
        listed = session.scalar(select(func.count()).select_from(Pattern).join(
            Publication, Publication.pattern_id == Pattern.id).where(*where, Publication.state == "published"))
    return {"patterns": count, "oldest": oldest.isoformat() if oldest else None, "published": listed}


def _trashed_since(session: Session, ids: list[int]) -> dict[int, Any]:
    """id -> when it was trashed (None: not in the trash), for every one of `ids`; an unknown id
    is refused."""
    found = dict(session.execute(select(Pattern.id, Pattern.trashed).where(Pattern.id.in_(ids))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        raise LibraryError(f"no pattern {missing[0]} in this library")
    return found


def trash(lib: Library, ids: Iterable[int]) -> ChangeSet:
    """Move patterns to the trash, in one transaction, and take them out of the index. Those
    already there are passed over. ChangeSet.trashed: the ids moved."""
    ids = _ids(ids)
    with Session(lib.engine) as session, session.begin():
        moving = [i for i, since in _trashed_since(session, ids).items() if since is None]
        if moving:
            stamp = now()
            session.execute(update(Pattern).where(Pattern.id.in_(moving)).values(trashed=stamp))
            session.execute(delete(EmbeddingOutbox).where(EmbeddingOutbox.pattern_id.in_(moving)))
            session.add_all(AuditLog(action="trash", pattern_id=i, detail={}) for i in moving)
    _forget(lib, moving)
    return ChangeSet(trashed=sorted(moving))


def _forget(lib: Library, ids: list[int]) -> None:
    """Take patterns out of the vector index (a failure here is mended by the next reconcile,
    which drops every id SQLite does not list)."""
    if ids:
        from desktop.library import search

        with contextlib.suppress(Exception):
            search.index(lib).delete(ids)


def restore(lib: Library, ids: Iterable[int]) -> ChangeSet:
    """Bring patterns back from the trash, as they were. Their vectors are queued in the same
    transaction (search.embed_pending makes them). ChangeSet.restored: the ids brought back."""
    ids = _ids(ids)
    with Session(lib.engine) as session, session.begin():
        back = sorted(i for i, since in _trashed_since(session, ids).items() if since is not None)
        if back:
            session.execute(update(Pattern).where(Pattern.id.in_(back)).values(trashed=None))
            queued = set(session.scalars(select(EmbeddingOutbox.pattern_id).where(EmbeddingOutbox.pattern_id.in_(back))))
            session.add_all(EmbeddingOutbox(pattern_id=i) for i in back if i not in queued)
            session.add_all(AuditLog(action="restore", pattern_id=i, detail={}) for i in back)
    return ChangeSet(restored=back)


def _doomed(ids: Iterable[int] | None, older_than: timedelta | None):
    query = select(Pattern.id, Pattern.sha256, Pattern.file).where(Pattern.trashed.is_not(None))
    if ids is not None:
        query = query.where(Pattern.id.in_(_ids(ids)))
    if older_than is not None:
        query = query.where(Pattern.trashed < now() - older_than)
    return query.order_by(Pattern.id)


def would_empty(lib: Library, ids: Iterable[int] | None = None, older_than: timedelta | None = None) -> list[int]:
    """The ids `empty` would delete, deleting nothing."""
    with Session(lib.reader) as session:
        return [row[0] for row in session.execute(_doomed(ids, older_than))]


def empty(lib: Library, ids: Iterable[int] | None = None, older_than: timedelta | None = None,
          ctx=None) -> ChangeSet:
    """Delete patterns in the trash for good: all of it, or those of `ids`, or those trashed
    more than `older_than` ago. Patterns outside the trash are never touched. The rows go in one
    transaction, with one 'purge' audit row each (its file's sha256); then the files and their
    thumbnails. ChangeSet.removed: the ids deleted."""
    with Session(lib.reader) as session:
        if session.execute(_doomed(ids, older_than)).first() is not None:
            lib.backup("before-empty-trash")  # the one operation no undo reverses: a copy first
    with Session(lib.engine) as session, session.begin():
        doomed = session.execute(_doomed(ids, older_than)).all()
        if doomed:
            session.add_all(AuditLog(action="purge", pattern_id=pid, detail={"sha256": digest, "file": rel})
                            for pid, digest, rel in doomed)
            for start in range(0, len(doomed), 500):
                session.execute(delete(Pattern).where(Pattern.id.in_([d[0] for d in doomed[start:start + 500]])))
    for done, (_, digest, rel) in enumerate(doomed, start=1):
        _unlink(lib, digest, rel)
        if ctx is not None:
            ctx.progress(done, len(doomed), "Deleting")
    _forget(lib, [d[0] for d in doomed])
    return ChangeSet(removed=[d[0] for d in doomed])


def _unlink(lib: Library, digest: str, relative: str) -> None:
    with contextlib.suppress(OSError):
        (lib.files / relative).unlink()
    for thumb in (lib.root / "thumbs").glob(f"{digest}-*.png"):
        with contextlib.suppress(OSError):
            thumb.unlink()


def purged_files(lib: Library) -> set[str]:
    """Store paths (relative) of patterns deleted for good: `check` removes such a file rather
    than register it again (left by a crash between a purge's commit and its unlink)."""
    with Session(lib.reader) as session:
        details = session.scalars(select(AuditLog.detail).where(AuditLog.action == "purge"))
        return {d.get("file") for d in details if isinstance(d, dict) and d.get("file")}
