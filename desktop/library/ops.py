"""Library operations that several callers share, each returning what changed.

The window runs them on its writer lane, the commands in their own process; both get the same
`ChangeSet` back, so what changed is said one way. The catalogue (`Library`) holds the single
writes; an operation here is a workflow made of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from desktop.library.catalogue import ChangeSet, Library


@dataclass
class Stored:
    """What `store_tiles` did: each tile's pattern (None where the library refused it) and the changes."""

    ids: list[int | None] = field(default_factory=list)
    changes: ChangeSet | None = None
    files: list[str | None] = field(default_factory=list)  # each tile's file in the library

    @property
    def new(self) -> list[int]:
        """The patterns this made or brought back from the trash (not copies the library held): an undo's share."""
        return [] if self.changes is None else [*self.changes.added, *self.changes.restored]


def store_tiles(lib: Library, tiles: Iterable[tuple[np.ndarray, dict[str, Any]]], source: str = "generate",
                collection: str | None = None, parent: int | None = None) -> Stored:
    """Store made tiles (pixels, Tessera metadata), index what was stored (not the outbox's backlog),
    and gather them, with the pattern they were made from, in `collection` (made when missing)."""
    from desktop.library import search
    from desktop.library.catalogue import ChangeSet

    stored = Stored(changes=ChangeSet())
    for pixels, metadata in tiles:
        changes = lib.add_tile(pixels[..., :3], metadata, source=source)
        stored.ids.append(changes.pattern_id)
        stored.changes.merge(changes)
    kept = [i for i in stored.ids if i is not None]
    stored.files = [lib.get(i)["file"] if i is not None else None for i in stored.ids]
    search.embed_pending(lib, ids=kept)
    if collection:
        members = kept + ([parent] if parent else [])
        stored.changes.merge(add_to_collection(lib, collection, members))
    return stored


# -- what a view needs to show a change without reading the library again ----------------------

def _with_states(lib: Library, changes: ChangeSet, ids: Iterable[int]) -> ChangeSet:
    """Push the new curation of `ids` into the search index, and say it in `changes.states`."""
    from desktop.library import search

    ids = sorted({int(i) for i in ids})
    search.refresh_fields(lib, ids)
    changes.states.update(lib.curation(ids) if ids else {})
    return changes


def _with_collections(lib: Library, changes: ChangeSet, *names: str) -> ChangeSet:
    from desktop.library import collections

    changes.collections.extend(n for n in names if n not in changes.collections)
    changes.collection_names = [c["name"] for c in collections.all_collections(lib)]
    return changes


def _with_trash_count(lib: Library, changes: ChangeSet) -> ChangeSet:
    from desktop.library import trash

    changes.trash_count = trash.summary(lib)["patterns"]
    return changes


# -- curation -------------------------------------------------------------------------------------

def curate(lib: Library, ids: Iterable[int], *, status: str | None = None, rating: int | None = None,
           add_tags: Iterable[str] = (), remove_tags: Iterable[str] = (), title: str | None = None) -> ChangeSet:
    """The same status, rating, tags or title for several patterns, in one transaction."""
    changes = lib.update_many(ids, status=status, rating=rating, add_tags=add_tags, remove_tags=remove_tags,
                              title=title)
    return _with_states(lib, changes, changes.changed)


def set_curation(lib: Library, states: dict[int, dict[str, Any]]) -> ChangeSet:
    """Put back exactly these curation states (`Library.curation`'s): undo and redo."""
    changes = lib.set_curation(states)
    return _with_states(lib, changes, changes.changed)


# -- the trash ------------------------------------------------------------------------------------

def trash(lib: Library, ids: Iterable[int]) -> ChangeSet:
    from desktop.library import trash as bin_

    return _with_trash_count(lib, bin_.trash(lib, ids))


def restore(lib: Library, ids: Iterable[int]) -> ChangeSet:
    """Out of the trash, indexed again (what came back, not another backlog)."""
    from desktop.library import search
    from desktop.library import trash as bin_

    changes = bin_.restore(lib, ids)
    search.embed_pending(lib, ids=changes.restored)
    return _with_trash_count(lib, changes)


def empty_trash(lib: Library, ids: Iterable[int] | None = None, older_than=None, ctx=None) -> ChangeSet:
    from desktop.library import trash as bin_

    return _with_trash_count(lib, bin_.empty(lib, ids, older_than, ctx=ctx))


# -- collections ----------------------------------------------------------------------------------

def add_to_collection(lib: Library, name: str, ids: Iterable[int], make_missing: bool = True) -> ChangeSet:
    from desktop.library import collections

    name = name.strip()
    return _with_collections(lib, collections.add(lib, name, ids, make_missing=make_missing), name)


def take_out_of_collection(lib: Library, name: str, ids: Iterable[int], delete_if_empty: bool = False) -> ChangeSet:
    """Out of a collection (the patterns stay); with `delete_if_empty`, a collection left empty goes
    too (undoing the add that made it)."""
    from desktop.library import collections

    name = name.strip()
    changes = collections.remove(lib, name, ids)
    if delete_if_empty and not collections.member_ids(lib, name):
        collections.delete_collection(lib, name)
    return _with_collections(lib, changes, name)


def delete_collection(lib: Library, name: str) -> ChangeSet:
    """The collection goes; its patterns stay. ChangeSet.changed: the patterns it held."""
    from desktop.library import collections
    from desktop.library.catalogue import ChangeSet

    return _with_collections(lib, ChangeSet(changed=collections.delete_collection(lib, name)), name.strip())


def save_brief(lib: Library, name: str, brief: dict[str, Any]) -> ChangeSet:
    """A new collection keeping a brief."""
    from desktop.library import collections
    from desktop.library.catalogue import ChangeSet

    collections.create(lib, name.strip(), brief)
    return _with_collections(lib, ChangeSet(), name.strip())


# -- bringing patterns in, sending them out ------------------------------------------------------

def import_files(lib: Library, paths: Iterable[str], ctx=None) -> ChangeSet:
    """Files and folders of images into the library, indexed as they come."""
    from desktop.library import search

    return _with_trash_count(lib, search.import_into(lib, list(paths), ctx))  # (a copy may come back from the trash)


def queue_for_marketplace(lib: Library, ids: Iterable[int], profile: str = "generic") -> ChangeSet:
    """Queue approved patterns for the marketplace, each with a listing within the profile's limits.
    ChangeSet.changed: those queued; ChangeSet.skipped: the others, each with its reason."""
    from desktop.library import publishing
    from desktop.library.catalogue import ChangeSet

    result = publishing.queue(lib, list(ids), profile)
    return ChangeSet(changed=[q["id"] for q in result["queued"]], skipped=result["skipped"])


def save_listing(lib: Library, listing, profile) -> ChangeSet:
    """Keep a reviewed listing (desktop/library/listings.py: refused, with each broken limit, if it breaks any).
    ChangeSet.changed: its pattern."""
    from desktop.library import listings
    from desktop.library.catalogue import ChangeSet

    listings.save(lib, listing, profile)
    return ChangeSet(changed=[listing.pattern_id])


@dataclass
class Sent:
    """What `publish_queued` did: publishing.sync's account, and the changes (the published patterns' states)."""

    result: dict[str, Any] | None
    changes: ChangeSet | None = None


def publish_queued(lib: Library, market, ctx=None, mockups: Iterable[str] = (), default_dpi: float = 150,
                   profile: str = "generic") -> Sent:
    """Send the marketplace's queue; None as the result when nothing waits."""
    from desktop.library import publishing
    from desktop.library.catalogue import ChangeSet

    if not publishing.outbox(lib, "queued"):
        return Sent(None, ChangeSet())
    result = publishing.sync(lib, market, ctx, mockups=list(mockups), default_dpi=default_dpi, profile=profile)
    sent = [row["id"] for row in result["published"]]
    touched = sent + [row["id"] for row in result["failed"] if "id" in row]
    changes = _with_states(lib, ChangeSet(changed=touched), sent)
    return Sent(result, changes)
