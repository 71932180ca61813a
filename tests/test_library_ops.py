"""Library operations shared by the window and the commands (desktop/library/ops.py)."""

import numpy as np

from desktop.library import Library, collections
from desktop.library.ops import store_tiles


def _tile(value: int) -> np.ndarray:
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, ::4] = value
    img[::4] = 255 - value
    return img


def test_store_tiles_stores_indexes_and_gathers_with_the_parent(tmp_path):
    with Library(tmp_path / "lib") as lib:
        parent = store_tiles(lib, [(_tile(10), {"style": "stripes", "repeat": "basic"})]).ids[0]
        made = [(_tile(v), {"style": "stripes", "repeat": "basic", "parents": [parent]}) for v in (60, 120)]
        stored = store_tiles(lib, made, source="colourway", collection="Set", parent=parent)
        assert len(stored.ids) == 2 and None not in stored.ids and stored.new == stored.ids
        assert sorted(collections.member_ids(lib, "Set")) == sorted([parent, *stored.ids])
        assert set(stored.changes.changed) >= set(stored.ids)  # the collection's change is in the same set
        # indexed as they were stored: the embedding outbox holds none of them
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from desktop.library.models import EmbeddingOutbox

        with Session(lib.reader) as session:
            queued = set(session.scalars(select(EmbeddingOutbox.pattern_id)))
        assert queued.isdisjoint(stored.ids)
        # storing the same pixels again: the library's copy, and nothing new to undo
        again = store_tiles(lib, made[:1])
        assert again.ids == stored.ids[:1] and again.new == []
