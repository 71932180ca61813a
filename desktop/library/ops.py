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

    @property
    def new(self) -> list[int]:
        """The patterns this made or brought back from the trash (not copies the library held): an undo's share."""
        return [] if self.changes is None else [*self.changes.added, *self.changes.restored]


def store_tiles(lib: Library, tiles: Iterable[tuple[np.ndarray, dict[str, Any]]], source: str = "generate",
                collection: str | None = None, parent: int | None = None) -> Stored:
    """Store made tiles (pixels, Tessera metadata), index what was stored (not the outbox's backlog),
    and gather them, with the pattern they were made from, in `collection` (made when missing)."""
    from desktop.library import collections, search
    from desktop.library.catalogue import ChangeSet

    stored = Stored(changes=ChangeSet())
    for pixels, metadata in tiles:
        changes = lib.add_tile(pixels[..., :3], metadata, source=source)
        stored.ids.append(changes.pattern_id)
        stored.changes.merge(changes)
    kept = [i for i in stored.ids if i is not None]
    search.embed_pending(lib, ids=kept)
    if collection:
        members = kept + ([parent] if parent else [])
        stored.changes.merge(collections.add(lib, collection, members, make_missing=True))
    return stored
