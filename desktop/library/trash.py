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
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from desktop.library.catalogue import trashed_since
from desktop.library.changeset import ChangeSet
from desktop.library.models import AuditLog, EmbeddingOutbox, Pattern, Publication, now

if TYPE_CHECKING:
    from desktop.library.catalogue import Library


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


def trash(lib: Library, ids: Iterable[int]) -> ChangeSet:
    """Move patterns to the trash, in one transaction, and take them out of the index. Those
    already there are passed over. ChangeSet.trashed: the ids moved."""
    ids = _ids(ids)
    with Session(lib.engine) as session, session.begin():
        moving = [i for i, since in trashed_since(session, ids).items() if since is None]
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
    return ChangeSet(restored=lib.restore_from_trash(ids))


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
