"""Collections: saved briefs (prompt template, palette, repeat, QA profile) and their patterns:
create, add, remove, rename, delete (the patterns always stay in the library)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from desktop.library.changeset import ChangeSet, LibraryError
from desktop.library.models import AuditLog, Collection, CollectionMember, Pattern

if TYPE_CHECKING:
    from desktop.library.catalogue import Library


def create(lib: Library, name: str, brief: dict[str, Any] | None = None) -> int:
    from desktop.engine.briefs import palette_colours

    brief = dict(brief or {})
    name = name.strip()
    if not name:
        raise LibraryError("a collection needs a name")
    with Session(lib.engine) as session, session.begin():
        if session.scalar(select(Collection.id).where(Collection.name == name)) is not None:
            raise LibraryError(f"there is already a collection called '{name}'")
        row = Collection(name=name, prompt_template=brief.get("prompt", ""),
                         palette=palette_colours(brief.get("palette") or []),
                         repeat=brief.get("repeat", "basic"), qa_profile=brief.get("qa_profile", "default"),
                         brief=brief)
        session.add(row)
        session.flush()
        session.add(AuditLog(action="collection", detail={"created": name}))
        return row.id


def _id(session: Session, name: str) -> int:
    cid = session.scalar(select(Collection.id).where(Collection.name == name))
    if cid is None:
        raise LibraryError(f"no collection called '{name}'")
    return cid


def add(lib: Library, name: str, pattern_ids: Iterable[int], make_missing: bool = False) -> ChangeSet:
    """Add patterns to a collection (made first, with `make_missing`, when there is none of that name)."""
    ids = sorted({int(i) for i in pattern_ids})
    name = name.strip()
    if make_missing and name not in {c["name"] for c in all_collections(lib)}:
        create(lib, name)
    with Session(lib.engine) as session, session.begin():
        cid = _id(session, name)
        known = set(session.scalars(select(Pattern.id).where(Pattern.id.in_(ids))))
        if known != set(ids):
            raise LibraryError(f"no pattern {sorted(set(ids) - known)[0]} in this library")
        have = set(session.scalars(select(CollectionMember.pattern_id).where(CollectionMember.collection_id == cid)))
        added = [i for i in ids if i not in have]
        session.add_all(CollectionMember(collection_id=cid, pattern_id=i) for i in added)
        session.add(AuditLog(action="collection", detail={"name": name, "added": added}))
    return ChangeSet(changed=added)


def remove(lib: Library, name: str, pattern_ids: Iterable[int]) -> ChangeSet:
    """Take patterns out of a collection (the patterns stay in the library). ChangeSet.changed:
    those that were in it."""
    ids = sorted({int(i) for i in pattern_ids})
    with Session(lib.engine) as session, session.begin():
        cid = _id(session, name.strip())
        had = sorted(set(session.scalars(select(CollectionMember.pattern_id).where(
            CollectionMember.collection_id == cid, CollectionMember.pattern_id.in_(ids)))))
        if had:
            session.execute(delete(CollectionMember).where(CollectionMember.collection_id == cid,
                                                           CollectionMember.pattern_id.in_(had)))
            session.add(AuditLog(action="collection", detail={"name": name.strip(), "removed": had}))
    return ChangeSet(changed=had)


def rename(lib: Library, name: str, new_name: str) -> None:
    new_name = new_name.strip()
    if not new_name:
        raise LibraryError("a collection needs a name")
    with Session(lib.engine) as session, session.begin():
        row = session.get(Collection, _id(session, name.strip()))
        if new_name != row.name and session.scalar(select(Collection.id).where(Collection.name == new_name)):
            raise LibraryError(f"there is already a collection called '{new_name}'")
        session.add(AuditLog(action="collection", detail={"renamed": [row.name, new_name]}))
        row.name = new_name


def delete_collection(lib: Library, name: str) -> list[int]:
    """Delete a collection (its brief and its list); its patterns stay in the library. Returns
    the ids it held."""
    with Session(lib.engine) as session, session.begin():
        cid = _id(session, name.strip())
        held = sorted(session.scalars(select(CollectionMember.pattern_id).where(CollectionMember.collection_id == cid)))
        session.execute(delete(Collection).where(Collection.id == cid))  # its members go with it (cascade)
        session.add(AuditLog(action="collection", detail={"deleted": name.strip(), "held": held}))
    return held


def all_collections(lib: Library) -> list[dict[str, Any]]:
    with Session(lib.reader) as session:
        counts = dict(session.execute(select(CollectionMember.collection_id, func.count())
                                      .join(Pattern, Pattern.id == CollectionMember.pattern_id)
                                      .where(Pattern.trashed.is_(None))  # the trash is not counted
                                      .group_by(CollectionMember.collection_id)).all())
        return [{"id": c.id, "name": c.name, "repeat": c.repeat, "qa_profile": c.qa_profile, "palette": _colours(c),
                 "prompt_template": c.prompt_template, "patterns": counts.get(c.id, 0), "has_brief": bool(c.brief)}
                for c in session.scalars(select(Collection).order_by(Collection.name))]


def _colours(row: Collection) -> list[str]:
    """A collection's palette as hex colours (one saved from a palette's name before 2026-12-06 kept
    the name's letters: its brief still has the name)."""
    if all(str(colour).startswith("#") for colour in row.palette or []):
        return list(row.palette or [])
    from desktop.engine.briefs import palette_colours
    from desktop.errors import UserError

    try:
        return palette_colours((row.brief or {}).get("palette") or [])
    except UserError:  # a palette this machine does not have
        return []


def saved_brief(lib: Library, name: str) -> dict[str, Any]:
    """The brief a collection keeps (`desktop.engine.briefs`); a collection made without one
    (`library collection create`) gives what it has: its prompt, palette, repeat and QA profile."""
    with Session(lib.reader) as session:
        row = session.get(Collection, _id(session, name))
        brief = dict(row.brief or {})
        for key, value in (("prompt", row.prompt_template), ("palette", row.palette), ("repeat", row.repeat),
                           ("qa_profile", row.qa_profile)):
            if value and key not in brief:
                brief[key] = value
        return brief


def member_ids(lib: Library, name: str) -> list[int]:
    with Session(lib.reader) as session:
        cid = _id(session, name)
        return list(session.scalars(select(CollectionMember.pattern_id).where(CollectionMember.collection_id == cid)))
